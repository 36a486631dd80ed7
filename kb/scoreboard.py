"""Extrapolation scoreboard: every applicable law form × recipe, judged on held-out scale.

For each dataset (its default metric), each form in ``kb.laws.FORMS`` that the data's columns
allow, and each recipe in ``kb.recipes.RECIPES``, the law is fitted on the smaller scales and
scored on the largest ``fraction`` of points along the compute axis (or model size, or tokens,
whichever the data has first), as ``kb.fit``'s holdout check does. The scores are stored in
their own table (``scores``, migration 2 in ``kb.store``) so ``kb scoreboard`` lists them
without refitting.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable, Sequence
from typing import Any, ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field

from kb.datasets import unknown_dataset
from kb.errors import KBError, UnknownLawError
from kb.optima import OPTIMUM_METRICS, settings
from kb.records import Dataset, Point, Record, stable_id
from kb.store import Store

logger = logging.getLogger(__name__)

__all__ = ["SCOREBOARD_VERSION", "Score", "build_scoreboard", "plan_scoreboard", "scoreboard"]

# scoreboard-2: the held-out refit uses the recipe's own estimator (the epoch recipe's likelihood
# fit, not the grid fit); rows of scoreboard-1 stay until `kb scoreboard --build`.
SCOREBOARD_VERSION = "scoreboard-2"
Progress = Callable[[int, int], None]
# Holdout axes in order of preference, with the point column each reads.
_AXES: tuple[tuple[str, str], ...] = (
    ("compute", "compute_flops"),
    ("n_params", "n_params"),
    ("n_tokens", "n_tokens"),
)
_COLUMNS = ("n_params", "n_tokens", "compute_flops")


class Score(Record):
    """How well one law form, fitted by one recipe, extrapolates one dataset's largest scale."""

    table: ClassVar[str] = "scores"
    key: ClassVar[tuple[str, ...]] = ("score_id",)

    score_id: str = Field(description="derived from dataset, metric, law, recipe, x and holdout")
    dataset: str
    metric: str
    law: str = Field(description="kb.laws form name")
    recipe: str = Field(description="kb.recipes recipe name")
    x: str | None = Field(None, description="the input column of a one-variable form")
    setting: str | None = Field(
        None, description="the experimental setting fitted alone (JSON of text extras), if any"
    )
    holdout_axis: str = Field(description="'compute', 'n_params' or 'n_tokens'")
    holdout_fraction: float = Field(description="share of points held out at the largest scale")
    n_train: int | None = None
    n_test: int | None = None
    rmse: float | None = Field(None, description="RMS held-out residual (log units for losses)")
    mean_rel_error: float | None = Field(None, description="mean |pred − actual| / actual")
    max_rel_error: float | None = None
    status: Literal["ok", "failed"]
    message: str = Field("", description="why the fit failed, if it did")
    version: str
    created_at: dt.datetime


class Entry(BaseModel):
    """One planned scoreboard fit (not stored)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    dataset: str
    metric: str
    law: str
    recipe: str
    x: str | None
    setting: str | None = None
    holdout_axis: str


def _columns(store: Store, dataset: str, metric: str) -> set[str]:
    """Point columns filled for every point of ``dataset``/``metric``."""
    sql = (
        f"SELECT count(*), count(n_params), count(n_tokens), count(compute_flops) "
        f"FROM {Point.table} WHERE dataset = ? AND metric = ?"
    )
    row = store.cursor().execute(sql, [dataset, metric]).fetchone()
    if row is None or not row[0]:
        return set()
    total, *filled = row
    return {c for c, n in zip(_COLUMNS, filled, strict=True) if n == total}


def plan_scoreboard(
    store: Store,
    datasets: Sequence[str] | None = None,
    *,
    forms: Sequence[str] | None = None,
    recipes: Sequence[str] | None = None,
) -> list[Entry]:
    """The (dataset, metric, form, recipe, x, axis) fits the scoreboard runs.

    ``forms`` and ``recipes`` restrict the board (default: every form and recipe).
    """
    from kb.datasets import default_metric
    from kb.laws import FORMS
    from kb.recipes import RECIPES

    unknown = sorted(set(forms or ()) - set(FORMS)) + sorted(set(recipes or ()) - set(RECIPES))
    if unknown:
        raise UnknownLawError(f"unknown form or recipe: {', '.join(unknown)}")
    form_list = [FORMS[f] for f in forms] if forms else list(FORMS.values())
    recipe_list = list(recipes) if recipes else list(RECIPES)
    names = [d.name for d in store.select(Dataset)]
    if datasets:
        missing = sorted(set(datasets) - set(names))
        if missing:
            raise unknown_dataset(store, missing[0], names)
        names = [n for n in names if n in datasets]
    plan: list[Entry] = []
    for name in names:
        metric = default_metric(store, name)
        cols = _columns(store, name, metric)
        axis = next((a for a, c in _AXES if c in cols), None)
        if axis is None:
            logger.info("scoreboard: %s has no scale column filled for every point", name)
            continue
        scale = dict(_AXES)[axis]
        if metric in OPTIMUM_METRICS:
            # Optimal sizes vs compute: only compute_optimal means anything, one setting at a
            # time (settings differ in how N and C are counted; never pool them).
            pts = store.select(Point, "dataset = ? AND metric = ?", [name, metric])
            if "compute_optimal" not in [f.name for f in form_list]:
                continue
            for key in settings(pts):
                for recipe in recipe_list:
                    plan.append(
                        Entry(dataset=name, metric=metric, law="compute_optimal", recipe=recipe,
                              x=None, setting=key, holdout_axis=axis)
                    )  # fmt: skip
            continue
        for form in form_list:
            if form.name == "compute_optimal":
                continue  # fits optimal sizes, not a loss or score
            if "x" in form.inputs:
                x: str | None = scale
            elif form.applicable(cols):
                x = None
            else:
                continue
            for recipe in recipe_list:
                plan.append(
                    Entry(dataset=name, metric=metric, law=form.name, recipe=recipe, x=x,
                          holdout_axis=axis)
                )  # fmt: skip
    return plan


def _score(store: Store, entry: Entry, fraction: float, seed: int) -> Score:
    from kb.fit import SINGLE_INPUT_DEFAULT, FitResult, Holdout, fit_dataset, fit_points

    base: dict[str, Any] = {
        **entry.model_dump(),
        "holdout_fraction": fraction,
        "score_id": stable_id(
            entry.dataset, entry.metric, entry.law, entry.recipe, str(entry.x),
            str(entry.setting), entry.holdout_axis, f"{fraction:g}", str(seed),
        ),
        "version": SCOREBOARD_VERSION,
        "created_at": dt.datetime.now(dt.UTC).replace(tzinfo=None),
    }  # fmt: skip
    holdout = Holdout(entry.holdout_axis, fraction)
    try:
        result: FitResult
        if entry.setting is not None:
            pts = store.select(Point, "dataset = ? AND metric = ?", [entry.dataset, entry.metric])
            group = settings(pts)[entry.setting]
            result = fit_points(
                group, law=entry.law, recipe=entry.recipe, seed=seed, holdout=holdout
            )
        else:
            result = fit_dataset(
                store, entry.dataset, law=entry.law, recipe=entry.recipe, metric=entry.metric,
                x=entry.x or SINGLE_INPUT_DEFAULT, seed=seed, holdout=holdout, save=False,
            )  # fmt: skip
    except KBError as err:
        return Score(**base, status="failed", message=str(err))
    hold = result.holdout or {}
    return Score(
        **base, status="ok", n_train=hold.get("n_train"), n_test=hold.get("n_test"),
        rmse=hold.get("rmse"), mean_rel_error=hold.get("mean_rel_error"),
        max_rel_error=hold.get("max_rel_error"),
    )  # fmt: skip


def build_scoreboard(
    store: Store,
    *,
    datasets: Sequence[str] | None = None,
    forms: Sequence[str] | None = None,
    recipes: Sequence[str] | None = None,
    fraction: float = 0.2,
    seed: int = 0,
    on_progress: Progress | None = None,
) -> list[Score]:
    """Fit and score every planned entry, store the scores (replacing old ones), return them.

    A fit that fails (too few points, no start converged) is stored with status 'failed' and
    the reason, so the board shows what could not be scored instead of hiding it.
    """
    plan = plan_scoreboard(store, datasets, forms=forms, recipes=recipes)
    scores: list[Score] = []
    for done, entry in enumerate(plan, start=1):
        scores.append(_score(store, entry, fraction, seed))
        if on_progress is not None:
            on_progress(done, len(plan))
    with store.transaction():
        if not forms and not recipes:
            # A full rebuild of these datasets: drop scores of forms or recipes that are gone.
            for name in {e.dataset for e in plan}:
                store.delete(Score, "dataset = ?", [name])
        store.upsert(scores)
    logger.info("scoreboard: %d scores, %d failed", len(scores),
                sum(s.status == "failed" for s in scores))  # fmt: skip
    return scores


def scoreboard(store: Store, *, dataset: str | None = None) -> list[Score]:
    """Stored scores, best (lowest held-out RMSE) first within each dataset; failures last."""
    where, params = ("dataset = ?", [dataset]) if dataset else ("", [])
    return store.select(
        Score, where, params, order_by="dataset, status DESC, rmse NULLS LAST, law, recipe"
    )
