"""Reported vs refit: check a paper's numbers against its own data, refitted here.

For every registry law whose ``dataset`` is one of ours and whose form ``kb.laws`` can fit, the
data is refitted twice: with the paper's own recipe (the ``kb.recipes`` recipe whose source is
that paper, if any) and with the ``standard`` one. Each reported parameter (and each reported
derived quantity, e.g. a and b) becomes one :class:`AuditRow` per recipe, with the refit value,
its bootstrap interval and whether the reported value lies inside it. On ``epoch_chinchilla``,
Hoffmann et al.'s approach-3 estimates fall outside the refit intervals and Besiroglu et al.'s
inside, which is the finding of Besiroglu et al. 2024 (arXiv:2404.10102).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from typing import Protocol

from pydantic import BaseModel, ConfigDict, Field

from kb.derive import PARAM_ALIASES
from kb.errors import NotFoundError
from kb.records import Dataset, FitRecord, ReportedLaw
from kb.store import Store

logger = logging.getLogger(__name__)

__all__ = ["AuditRow", "audit", "audit_law", "paper_recipe"]

Progress = Callable[[int, int], None]


class Refit(Protocol):
    """What the audit needs to refit a law: ``kb.fit.fit_dataset``'s signature, as a record."""

    def __call__(
        self, store: Store, dataset: str, *, law: str, recipe: str, n_boot: int, seed: int
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
    fit_id: str


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


def audit_law(law: ReportedLaw, fit: FitRecord, *, is_paper_recipe: bool) -> list[AuditRow]:
    """Rows for one law against one refit: every reported parameter, then every derived one.

    ``inside`` is None when the refit has no interval for the parameter (no bootstrap) or no
    such parameter; otherwise ``low <= reported <= high``.
    """
    rows: list[AuditRow] = []
    reported: list[tuple[str, float, Mapping[str, float]]] = [
        *((k, v, fit.params) for k, v in law.params.items()),
        *((k, v, {**fit.derived, **fit.params}) for k, v in law.derived.items()),
    ]
    seen: set[str] = set()
    for name, value, pool in reported:
        if name in seen:
            continue
        seen.add(name)
        key = _match(name, pool)
        refit = float(pool[key]) if key is not None else None
        interval = fit.intervals.get(key) if key is not None else None
        inside = None
        if interval is not None and len(interval) == 2:
            inside = bool(min(interval) <= value <= max(interval))
        rows.append(
            AuditRow(
                arxiv_id=law.arxiv_id, law=law.law_id, dataset=fit.dataset, param=name,
                reported=value, reported_interval=law.intervals.get(name), refit=refit,
                interval=list(interval) if interval is not None else None, inside=inside,
                recipe=fit.recipe, paper_recipe=is_paper_recipe, fit_id=fit.fit_id,
            )
        )  # fmt: skip
    return rows


def _fit_dataset(
    store: Store, dataset: str, *, law: str, recipe: str, n_boot: int, seed: int
) -> FitRecord:
    from kb.fit import fit_dataset

    result = fit_dataset(
        store, dataset, law=law, recipe=recipe, n_boot=n_boot, seed=seed, save=False
    )
    return result.to_record(dataset)


def audit(
    store: Store,
    dataset: str | None = None,
    *,
    n_boot: int = 200,
    seed: int = 0,
    refit: Refit | None = None,
    on_progress: Progress | None = None,
) -> list[AuditRow]:
    """Audit every registry law fitted on one of our datasets (or only on ``dataset``).

    Args:
        store: the knowledge base (read-only is enough: refits are not saved).
        dataset: only laws on this dataset.
        n_boot: bootstrap resamples per refit (intervals need n_boot > 0).
        seed: the refits' seed.
        refit: how to refit (default ``kb.fit.fit_dataset``); tests pass their own.
        on_progress: ``(done, total)`` over refits.

    Raises:
        NotFoundError: ``dataset`` is not in the store, or no registry law is fitted on it.
    """
    from kb.laws import FORMS
    from kb.recipes import RECIPES

    refit = refit or _fit_dataset
    ours = {d.name for d in store.select(Dataset)}
    if dataset is not None and dataset not in ours:
        raise NotFoundError(f"no dataset {dataset!r}; list them with `kb datasets`")
    laws = [
        law
        for law in store.select(ReportedLaw)
        if law.dataset in ours
        and (dataset is None or law.dataset == dataset)
        and law.form in FORMS
        and law.params
    ]
    if dataset is not None and not laws:
        raise NotFoundError(
            f"no registry law with parameters is fitted on {dataset!r}; see `kb laws`"
        )
    sources = {name: r.source for name, r in RECIPES.items()}
    plan: list[tuple[ReportedLaw, str, bool]] = []
    for law in laws:
        own = paper_recipe(law, sources)
        if own is not None:
            plan.append((law, own, True))
        if own != "standard":
            plan.append((law, "standard", False))
    cache: dict[tuple[str, str, str], FitRecord] = {}
    rows: list[AuditRow] = []
    for done, (law, recipe, own_recipe) in enumerate(plan, start=1):
        assert law.dataset is not None  # filtered above
        assert law.form is not None
        key = (law.dataset, law.form, recipe)
        if key not in cache:
            logger.info("audit: refitting %s on %s with %s", law.form, law.dataset, recipe)
            cache[key] = refit(
                store, law.dataset, law=law.form, recipe=recipe, n_boot=n_boot, seed=seed
            )
        rows += audit_law(law, cache[key], is_paper_recipe=own_recipe)
        if on_progress is not None:
            on_progress(done, len(plan))
    return rows
