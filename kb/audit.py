"""Reported vs refit: check a paper's numbers against its own data, refitted here.

For every registry law whose ``dataset`` is one of ours and whose form ``kb.laws`` can fit, the
data is refitted twice: with the paper's own recipe (the ``kb.recipes`` recipe whose source is
that paper, if any) and with the ``standard`` one. Each reported parameter (and each reported
derived quantity, e.g. a and b) becomes one :class:`AuditRow` per recipe, with the refit value,
its bootstrap interval and whether the reported value lies inside it. On ``epoch_chinchilla``,
Hoffmann et al.'s approach-3 estimates fall outside the refit intervals and Besiroglu et al.'s
inside, which is the finding of Besiroglu et al. 2024 (arXiv:2404.10102).

A law naming the runs its paper fitted (``conventions.fit_runs``: Gadre et al.'s 5 of the 34-35
runs of each training set) is refitted on those runs by default, which redoes the paper's fit
on its own points; ``all_points=True`` refits every point of the law's metric and setting.
"""

from __future__ import annotations

import json
import logging
import math
from collections.abc import Callable, Mapping, Sequence
from typing import Protocol

from pydantic import BaseModel, ConfigDict, Field

from kb.derive import (
    EXPONENT_NAME,
    PARAM_ALIASES,
    exponents_tied,
    interval_kind,
    is_performance,
    power_law_variable,
    view_of_fit,
    view_of_law,
)
from kb.errors import FitError, KBError, NotFoundError
from kb.optima import last_points
from kb.records import Dataset, FitRecord, Point, ReportedLaw
from kb.registry import FIT_RUNS_SOURCE, law_fit_runs, law_metric, law_points, law_setting
from kb.store import Store

logger = logging.getLogger(__name__)

__all__ = ["AuditRow", "audit", "audit_law", "last_points", "paper_recipe", "setting_points"]

Progress = Callable[[int, int], None]


class Refit(Protocol):
    """What the audit needs to refit a law: ``kb.fit.fit_dataset``'s signature, as a record.

    ``runs`` (the runs the paper fitted) is passed only for a law that names them, so a refit
    written before it keeps working for the other laws.
    """

    def __call__(
        self,
        store: Store,
        dataset: str,
        *,
        law: str,
        recipe: str,
        metric: str,
        x: str | None,
        n_boot: int,
        seed: int,
        setting: Mapping[str, str] | None,
        last_per_run: bool,
        runs: Sequence[str] | None = None,
    ) -> FitRecord: ...


class AuditRow(BaseModel):
    """One reported parameter of one law, next to its refit under one recipe."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    arxiv_id: str
    law: str = Field(description="registry law_id")
    dataset: str
    param: str = Field(description="parameter (or derived quantity) as the registry names it")
    reported: float
    reported_interval: list[float] | None = Field(description="interval the paper gives, if any")
    refit: float | None = Field(description="the refit's value; None if it has no such parameter")
    interval: list[float] | None = Field(description="the refit's bootstrap interval")
    inside: bool | None = Field(description="reported value within the refit interval")
    recipe: str
    paper_recipe: bool = Field(description="the recipe is the paper's own")
    metric: str = Field(description="the dataset metric refitted")
    fit_id: str | None = Field(description="id of the refit (not saved); None if it failed")
    n_points: int | None = Field(
        None,
        description="points the refit used (the law's metric, setting and points); None if it "
        "failed. Compare it with the points the paper fitted (`kb laws`, conventions.data)",
    )
    error: str | None = Field(None, description="why the refit failed, if it did")
    note: str = Field("", description="conversions made before comparing, e.g. a sign")
    selection: str = Field(
        "all",
        description="which points were refitted: 'paper_runs', the runs the paper fitted "
        "(conventions.fit_runs); 'all', every point of the law's metric, setting and points",
    )
    n_points_all: int | None = Field(
        None,
        description="points of the law's metric, setting and points before the paper's "
        "selection (n_points when selection is 'all'); None if the refit failed",
    )
    selection_source: str | None = Field(
        None, description="where the paper's selection is stated (conventions.fit_runs_source)"
    )
    interval_kind: str | None = Field(
        None,
        description="what kind of interval `interval` is (kb compare's interval_kind): the "
        "refit's bootstrap percentile interval, with its level and resamples; None without one",
    )
    reported_interval_kind: str | None = Field(
        None,
        description="what kind of interval `reported_interval` is: the paper's own, as "
        "conventions.intervals says (e.g. '10th-90th percentile bootstrap'); None without one",
    )


def paper_recipe(law: ReportedLaw, recipes: Mapping[str, str]) -> str | None:
    """The recipe whose source names the law's paper (``recipes``: name -> source text)."""
    named = law.conventions.get("recipe")
    if named and named in recipes:
        return named
    for name, source in recipes.items():
        if law.arxiv_id and law.arxiv_id in source:
            return name
    return None


def _match(name: str, values: Mapping[str, float]) -> str | None:
    """The key of ``values`` that means the registry's parameter ``name`` (E, alpha, alpha_N…)."""
    if name in values:
        return name
    lower = {k.lower(): k for k in values}
    if name.lower() in lower:
        return lower[name.lower()]
    for aliases in PARAM_ALIASES.values():
        if name in aliases:
            for alias in aliases:
                if alias in values:
                    return alias
    return None


def failed_rows(
    law: ReportedLaw,
    recipe: str,
    metric: str,
    error: str,
    *,
    is_paper_recipe: bool,
    only: Mapping[str, str] | None = None,
    selection: str = "all",
) -> list[AuditRow]:
    """Rows for a law whose refit failed: reported values, no refit, the reason.

    ``only``: the parameters this refit was for (a compute_optimal law's a or b side);
    ``selection``: the points it was to refit ('paper_runs' or 'all').
    """
    return [
        AuditRow(
            arxiv_id=law.arxiv_id, law=law.law_id, dataset=law.dataset or "", param=name,
            reported=value, reported_interval=law.intervals.get(name), refit=None, interval=None,
            inside=None, recipe=recipe, paper_recipe=is_paper_recipe, metric=metric,
            fit_id=None, error=error, selection=selection,
            selection_source=_selection_source(law, selection),
            reported_interval_kind=_reported_interval_kind(law, name),
        )
        for name, value in {**law.params, **law.derived}.items()
        if only is None or name in only
    ]  # fmt: skip


def _reported_interval_kind(law: ReportedLaw, name: str) -> str | None:
    """``AuditRow.reported_interval_kind``: kb compare's wording of the paper's interval."""
    return interval_kind(view_of_law(law)) if name in law.intervals else None


def _refit_interval_kind(fit: FitRecord) -> str:
    """``AuditRow.interval_kind`` of a refit's interval: kb compare's wording of a fit's
    interval, with the coverage and resamples the fit records (``options``)."""
    level, n_boot = fit.options.get("level"), fit.options.get("n_boot")
    extra = [
        f"{float(level):.0%}" if level is not None else "",
        f"{n_boot} resamples" if n_boot else "",
    ]
    shown = ", ".join(e for e in extra if e)
    return interval_kind(view_of_fit(fit, {})) + (f" ({shown})" if shown else "")


def _selection_source(law: ReportedLaw, selection: str) -> str | None:
    """Where the paper states the runs it fitted, when the refit used them."""
    return law.conventions.get(FIT_RUNS_SOURCE) if selection == "paper_runs" else None


def _opposite_sign_convention(law: ReportedLaw, name: str, reported: float, refit: float) -> bool:
    """A one-input power-law exponent reported negative where kb.laws fits a positive decay."""
    return (
        law.form in ("power_law", "power_law_plus_constant")
        and EXPONENT_NAME.match(name) is not None
        and reported < 0 < refit
    )


# A compute_optimal refit of one optimum metric reports ``k`` and ``exponent``; the registry
# names them by the optimum (a, k_N for N_opt; b, k_D for D_opt; Porian et al.'s k is N_opt's).
_OPTIMUM_NAMES = {
    "n_opt": {"a": "exponent", "k": "k", "k_N": "k"},
    "n_tokens_opt": {"b": "exponent", "k_D": "k"},
}


def _tied_exponents(law: ReportedLaw, fit: FitRecord) -> str:
    """A note when the paper imposed alpha = beta and the refit fitted them freely, else ''.

    Gadre et al.'s and Muennighoff et al.'s forms (and the survey's 'equal exponents' fit) tie
    the exponents, so a = b = 0.5 by construction; a free refit answers a different model and
    its a, b say nothing against theirs.
    """
    if not exponents_tied(view_of_law(law)):
        return ""
    if math.isclose(fit.params.get("alpha", 0.0), fit.params.get("beta", 1.0), rel_tol=1e-6):
        return ""
    return "the paper tied alpha = beta; this refit fits them freely"


def audit_law(law: ReportedLaw, fit: FitRecord, *, is_paper_recipe: bool) -> list[AuditRow]:
    """Rows for one law against one refit: every reported parameter, then every derived one.

    ``inside`` is None when the refit has no interval for the parameter (no bootstrap) or no
    such parameter; otherwise ``low <= reported <= high``. A compute_optimal refit of one
    optimum (``n_opt`` or ``n_tokens_opt``) gives rows for that optimum's parameters only.
    """
    rows: list[AuditRow] = []
    reported: list[tuple[str, float, Mapping[str, float]]] = [
        *((k, v, fit.params) for k, v in law.params.items()),
        *((k, v, {**fit.derived, **fit.params}) for k, v in law.derived.items()),
    ]
    optimum = _OPTIMUM_NAMES.get(fit.metric or "") if fit.law == "compute_optimal" else None
    tied = _tied_exponents(law, fit)
    selection = "paper_runs" if fit.options.get("runs") else "all"
    n_all = fit.options.get("n_points_all", fit.n_points)
    both_tied = fit.law == "chinchilla_tied" and law.form == "chinchilla_tied"
    seen: set[str] = set()
    for name, value, pool in reported:
        if name in seen or (optimum is not None and name not in optimum):
            continue
        seen.add(name)
        key = optimum[name] if optimum is not None else _match(name, pool)
        key = key if key in pool else None
        refit = float(pool[key]) if key is not None else None
        interval = fit.intervals.get(key) if key is not None else None
        compared, note = value, tied
        if refit is not None and _opposite_sign_convention(law, name, value, refit):
            # kb.laws writes power laws as x^(−α); a paper writing x^α reports −α.
            compared = -value
            note = f"sign flipped: the paper writes x^{name}, kb.laws x^(−{name})"
        elif refit is None:
            note = f"the refit has no parameter {name!r} (it fits {', '.join(fit.params)})"
        inside = None
        if both_tied and name in ("a", "b"):
            note = "a = b = 0.5 by the tied form on both sides (alpha = beta): not a test"
        elif interval is not None and len(interval) == 2:
            inside = bool(min(interval) <= compared <= max(interval))
        rows.append(
            AuditRow(
                arxiv_id=law.arxiv_id, law=law.law_id, dataset=fit.dataset, param=name,
                reported=value, reported_interval=law.intervals.get(name), refit=refit,
                interval=list(interval) if interval is not None else None, inside=inside,
                recipe=fit.recipe, paper_recipe=is_paper_recipe, metric=fit.metric or "",
                fit_id=fit.fit_id, n_points=fit.n_points, note=note, selection=selection,
                n_points_all=n_all, selection_source=_selection_source(law, selection),
                interval_kind=_refit_interval_kind(fit) if interval is not None else None,
                reported_interval_kind=_reported_interval_kind(law, name),
            )
        )  # fmt: skip
    return rows


def _fit_dataset(
    store: Store,
    dataset: str,
    *,
    law: str,
    recipe: str,
    metric: str,
    x: str | None,
    n_boot: int,
    seed: int,
    setting: Mapping[str, str] | None,
    last_per_run: bool,
    runs: Sequence[str] | None = None,
) -> FitRecord:
    """``kb.fit.fit_dataset`` on the law's metric, setting and points, not saved, as a record.

    A law naming a metric the dataset does not hold (one of several) is refused first, in the
    law's terms. With ``runs`` (the runs the paper fitted), only their points are fitted
    (``fit_dataset``'s ``runs``).
    """
    from kb.datasets import metrics as dataset_metrics
    from kb.fit import SINGLE_INPUT_DEFAULT, fit_dataset

    held = dataset_metrics(store, dataset)
    if metric not in held and len(held) > 1:
        raise FitError(
            f"the law was fitted to {metric!r}, which dataset {dataset!r} does not hold as one "
            f"metric (its {len(held)} are listed by `kb points {dataset} --metric '*'`)"
        )
    selection = "last_per_run" if last_per_run else "all"
    result = fit_dataset(
        store, dataset, law=law, recipe=recipe, metric=metric, x=x or SINGLE_INPUT_DEFAULT,
        n_boot=n_boot, seed=seed, save=False, setting=setting or None, selection=selection,
        runs=runs,
    )  # fmt: skip
    return result.to_record(dataset, metric=str(result.options["metric"]))


def setting_points(points: Sequence[Point], setting: Mapping[str, str]) -> list[Point]:
    """The points whose text-valued extras hold every field of ``setting`` (a law's setting).

    A subset match: Gadre et al.'s runs each carry their own ``name``, and a law fitted on the
    C4 runs names only ``train_dataset``.
    """
    from kb.optima import matching

    return matching(points, setting)


# The point column a one-input law reads, by the quantity its exponent is.
_X_BY_QUANTITY = {"loss_compute": "compute_flops", "alpha": "n_params", "beta": "n_tokens"}


def auditable(law: ReportedLaw, forms: Mapping[str, object]) -> str | None:
    """Why a registry law cannot be audited, or None if it can."""
    if not law.params:
        return "no parameters recorded"
    if law.form not in forms:
        return f"form {law.form!r} is not one kb.laws can fit"
    if not is_performance(view_of_law(law)):
        return "it predicts a hyperparameter, not the dataset's measured metric"
    return None


def audit(
    store: Store,
    dataset: str | None = None,
    *,
    n_boot: int = 200,
    seed: int = 0,
    refit: Refit | None = None,
    on_progress: Progress | None = None,
    all_points: bool = False,
) -> list[AuditRow]:
    """Audit every registry law fitted on one of our datasets (or only on ``dataset``).

    A law naming the runs its paper fitted (``conventions.fit_runs``) is refitted on those runs
    (rows say ``selection = 'paper_runs'``) unless ``all_points``.

    Args:
        store: the knowledge base (read-only is enough: refits are not saved).
        dataset: only laws on this dataset.
        n_boot: bootstrap resamples per refit (intervals need n_boot > 0).
        seed: the refits' seed.
        refit: how to refit (default ``kb.fit.fit_dataset``); tests pass their own.
        on_progress: ``(done, total)`` over refits.
        all_points: refit every point of each law's metric and setting, ignoring the runs
            its paper fitted (the audit before ``conventions.fit_runs``).

    Raises:
        NotFoundError: ``dataset`` is not in the store, or no registry law is fitted on it.
    """
    from kb.datasets import default_metric, unknown_dataset
    from kb.laws import FORMS
    from kb.recipes import RECIPES

    refit = refit or _fit_dataset
    ours = {d.name for d in store.select(Dataset)}
    if dataset is not None and dataset not in ours:
        raise unknown_dataset(store, dataset)
    laws: list[ReportedLaw] = []
    for law in store.select(ReportedLaw):
        if law.dataset not in ours or (dataset is not None and law.dataset != dataset):
            continue
        why = auditable(law, FORMS)
        if why is None:
            laws.append(law)
        else:
            logger.info("audit: %s not audited: %s", law.law_id, why)
    if dataset is not None and not laws:
        raise NotFoundError(
            f"no registry law on {dataset!r} can be refitted (none has parameters of a form "
            "kb.laws fits); see `kb laws`"
        )
    sources = {name: r.source for name, r in RECIPES.items()}
    plan: list[tuple[ReportedLaw, str, bool]] = []
    for law in laws:
        own = paper_recipe(law, sources)
        if own is not None:
            plan.append((law, own, True))
        if own != "standard":
            plan.append((law, "standard", False))
    cache: dict[
        tuple[str, str, str, str | None, str, str, bool, tuple[str, ...] | None], FitRecord | str
    ] = {}
    rows: list[AuditRow] = []
    for done, (law, recipe, own_recipe) in enumerate(plan, start=1):
        assert law.dataset is not None  # filtered above
        assert law.form is not None
        setting = law_setting(law)
        last = law_points(law) == "last_per_run"
        runs = None if all_points else law_fit_runs(law)
        selection = "paper_runs" if runs else "all"
        # Passed only when given: a refit written before runs existed still serves other laws.
        extra: dict[str, tuple[str, ...]] = {"runs": runs} if runs else {}
        x = law.conventions.get("dataset_x") or _X_BY_QUANTITY.get(
            power_law_variable(view_of_law(law)) or ""
        )
        for metric in _law_metrics(store, law, default_metric):
            key = (law.dataset, law.form, recipe, x, metric, json.dumps(setting), last, runs)
            if key not in cache:
                logger.info("audit: refitting %s on %s with %s", law.form, law.dataset, recipe)
                try:
                    cache[key] = refit(
                        store, law.dataset, law=law.form, recipe=recipe, metric=metric, x=x,
                        n_boot=n_boot, seed=seed, setting=setting, last_per_run=last, **extra,
                    )  # fmt: skip
                except KBError as err:
                    cache[key] = str(err)
            done_fit = cache[key]
            if isinstance(done_fit, str):
                only = _OPTIMUM_NAMES.get(metric) if law.form == "compute_optimal" else None
                rows += failed_rows(
                    law,
                    recipe,
                    metric,
                    done_fit,
                    is_paper_recipe=own_recipe,
                    only=only,
                    selection=selection,
                )
            else:
                rows += audit_law(law, done_fit, is_paper_recipe=own_recipe)
        if on_progress is not None:
            on_progress(done, len(plan))
    return rows


def _law_metrics(
    store: Store, law: ReportedLaw, default_metric: Callable[[Store, str], str]
) -> list[str]:
    """The dataset metrics a law's refit reads: the one it names, else the dataset's default.

    A compute_optimal law reporting both a and b is refitted twice, to ``n_opt`` and to
    ``n_tokens_opt`` (one exponent each), unless it names one metric.
    """
    assert law.dataset is not None
    named = law_metric(law)
    if named is not None:
        return [named]
    if law.form == "compute_optimal":
        wanted = [m for m, names in _OPTIMUM_NAMES.items() if set(names) & set(law.params)]
        if wanted:
            return wanted
    return [default_metric(store, law.dataset)]
