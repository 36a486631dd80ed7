"""Cross-paper comparison: every law and fit on one axis per quantity, with verdicts and notes.

``compare(store)`` returns one :class:`ComparisonRow` per (law or fit, quantity) that the law's
form allows (see :mod:`kb.derive`), each with a verdict against a reference row (see
:mod:`kb.verdicts`) and notes that explain known convention effects, e.g. why Kaplan et al.'s
``N_opt ∝ C^0.73`` differs from Hoffmann et al.'s ``≈ C^0.5``. ``disagreements(rows)`` lists the
pairs of comparable rows whose intervals do not overlap.
"""

from __future__ import annotations

import importlib
import json
import logging
import math
from collections import Counter
from collections.abc import Mapping, Sequence
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from kb.derive import (
    AT_BUDGET,
    DEFAULT_BUDGET_FLOPS,
    QUANTITIES,
    Derived,
    LawView,
    derive,
    derive_all,
    interval_kind,
    no_tokens_per_param,
    pinned,
    rounding_range,
    view_of_fit,
    view_of_law,
)
from kb.errors import BadInputError, NotFoundError, did_you_mean
from kb.optima import OPTIMUM_METRICS, setting_of
from kb.records import Dataset, FitRecord, Paper, Point, ReportedLaw, paper_id_for
from kb.store import Store
from kb.verdicts import PEARCE_SONG, PORIAN, Profile, Verdict, profile_of, verdict

logger = logging.getLogger(__name__)

__all__ = [
    "ComparisonRow",
    "Coverage",
    "Disagreement",
    "Unavailable",
    "compare",
    "coverage",
    "dataset_conventions",
    "disagreements",
    "unavailable",
]


class ComparisonRow(BaseModel):
    """One quantity of one reported law or stored fit, with its verdict against a reference."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    source_id: str = Field(description="law_id of a registry law, fit_id of a stored fit")
    arxiv_id: str | None = Field(description="the paper; None for our own fits")
    title: str
    dataset: str | None = Field(description="our dataset it was fitted on, if any")
    quantity: str
    value: float
    interval: list[float] | None = Field(description="[low, high] when known")
    interval_kind: str | None = Field(
        None, description="what the interval is, as the source gives it (10th-90th percentile "
        "bootstrap, estimate ± 1 standard error, our fits' bootstrap percentiles); None "
        "without an interval. Intervals of different kinds are no like-for-like test"
    )  # fmt: skip
    at_flops: float | None = Field(
        None, description="the compute budget (FLOPs) a value at a budget is evaluated at "
        "(tokens_per_param); None for exponents, which are the same at every budget"
    )  # fmt: skip
    beyond_data_decades: float | None = Field(
        None, description="for a value at a budget (tokens_per_param): how many decades "
        "at_flops lies above the largest training budget in the law's released data, when "
        "it does by at least one (an extrapolation; the note says so too); None otherwise"
    )  # fmt: skip
    derivation: str = Field(description="how the value was derived")
    method: Literal["reported", "parameter", "formula", "conversion"] = Field(
        description="where the value comes from: stated by the source ('reported'), a fitted "
        "parameter of its law ('parameter'), or computed here from its parameters by a formula "
        "of the form, or from the paper's statement where the registry marks a value as derived "
        "here (conventions.derivation; 'formula'), or by a convention conversion such as "
        "b = 1 − a ('conversion')"
    )
    notes: str = Field(description="convention effects that explain differences")
    kind: Literal["reported", "fit"]
    domain: str | None
    form: str | None
    year: int | None
    verdict: Literal["reference", "direct", "converted", "not_comparable"] = Field(
        description="comparability with the reference row of this quantity"
    )
    reference: str = Field(description="source_id of the reference row")
    reasons: list[str] = Field(default_factory=list, description="why (not) comparable")
    view: LawView = Field(exclude=True, description="the law or fit itself (not serialised)")
    derived: Derived = Field(exclude=True)


class Unavailable(BaseModel):
    """A law that has a compute-optimal allocation but cannot give a quantity, and why."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    source_id: str
    title: str
    quantity: str
    reason: str


class Disagreement(BaseModel):
    """Two comparable rows of one quantity whose intervals do not overlap."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    quantity: str
    left: str
    left_title: str
    left_value: float
    left_interval: list[float]
    right: str
    right_title: str
    right_value: float
    right_interval: list[float]
    gap: float = Field(description="distance between the two intervals")
    verdict: Literal["direct", "converted"]
    conversions: list[str] = Field(default_factory=list)
    caveats: list[str] = Field(default_factory=list)


class Outside(BaseModel):
    """A value with no interval of its own outside a comparable paper's interval."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    source_id: str = Field(description="the row without an interval")
    value: float
    other: str = Field(description="the comparable row whose interval it lies outside")
    other_interval: list[float]


class Coverage(BaseModel):
    """What ``disagreements`` could test for one quantity: only rows with an interval can
    disagree, so an empty list of disagreements says little when few rows have one."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    quantity: str
    n_values: int = Field(description="rows considered (papers', and fits' with include_fits)")
    n_with_interval: int
    n_tested: int = Field(
        description="comparable pairs (two papers, or a paper and a fit) with both intervals"
    )
    outside: list[Outside] = Field(
        default_factory=list,
        description="comparable pairs not tested because one side has no interval, where its "
        "value lies outside the other's interval (Hoffmann et al.'s beta = 0.28 beside "
        "Besiroglu et al.'s 0.3458-0.3858): a hint, not a test, as its own spread is unknown",
    )


def _form_inputs(form: str) -> tuple[str, ...]:
    """The inputs of a kb.laws form (e.g. ('compute_flops',)), or () when unknown."""
    try:
        laws = importlib.import_module("kb.laws")
    except ModuleNotFoundError:
        return ()
    law = laws.FORMS.get(form)
    return tuple(getattr(law, "inputs", ())) if law is not None else ()


def dataset_conventions(
    store: Store,
    name: str,
    metric: str | None = None,
    setting: Mapping[str, str] | None = None,
) -> dict[str, str]:
    """A dataset's conventions from its points: how N and C were counted, metric, unit.

    ``setting`` restricts to the points of one experimental setting (text-valued extras), whose
    counting may differ from the rest of the dataset (Porian et al.'s param_count).
    """
    where = "dataset = ?" + (" AND metric = ?" if metric else "")
    params = [name, metric] if metric else [name]
    if setting:
        pts = [p for p in store.select(Point, where, params) if setting_of(p) == dict(setting)]
        tally = Counter((p.n_params_kind, p.compute_method, p.metric, p.unit) for p in pts)
        rows = [(*key, n) for key, n in tally.most_common(1)]
    else:
        rows = (
            store.cursor()
            .execute(
                f"SELECT n_params_kind, compute_method, metric, unit, count(*) AS n FROM "
                f"{Point.table} WHERE {where} GROUP BY ALL ORDER BY n DESC LIMIT 1",
                params,
            )
            .fetchall()
        )
    conv: dict[str, str] = {"data": name}
    ds = store.get(Dataset, name)
    if ds is not None and ds.arxiv_id:
        paper = store.get(Paper, f"arxiv:{ds.arxiv_id}")
        if paper is not None and paper.domain:
            conv["domain"] = paper.domain
    if rows:
        kind, method, metric_name, unit, _ = rows[0]
        if kind:
            conv["n_params"] = str(kind).replace("_", "-")
        if method:
            conv["compute"] = str(method)
        if metric_name in OPTIMUM_METRICS:
            # The fitted values are optimal sizes; the metric they optimise is the loss.
            conv["loss"] = "loss minimised at each compute budget"
            conv["target"] = str(metric_name)
        else:
            conv["loss"] = f"{metric_name} ({unit})"
    return conv


def _views(store: Store) -> list[LawView]:
    views: list[LawView] = []
    domains = {p.paper_id: p.domain for p in store.select(Paper) if p.domain}
    for law in store.select(ReportedLaw):
        view = view_of_law(law)
        conv = {k.lower(): v for k, v in law.conventions.items()}
        if "domain" not in conv and "modality" not in conv:
            domain = domains.get(f"arxiv:{law.arxiv_id}") or domains.get(paper_id_for(law.title))
            if domain:
                view = view.model_copy(
                    update={"conventions": {**law.conventions, "domain": domain}}
                )
        views.append(view)
    cache: dict[tuple[str, str | None, str], dict[str, str]] = {}
    for fit in store.select(FitRecord):
        setting = fit.options.get("setting")
        setting = setting if isinstance(setting, dict) else None
        key = (fit.dataset, fit.metric, json.dumps(setting, sort_keys=True))
        if key not in cache:
            cache[key] = dataset_conventions(store, fit.dataset, fit.metric, setting)
        views.append(view_of_fit(fit, cache[key], _form_inputs(fit.law)))
    return views


def _explain(
    view: LawView,
    profile: Profile,
    quantity: str,
    best: Derived,
    siblings: Sequence[LawView],
    at_flops: float = DEFAULT_BUDGET_FLOPS,
) -> list[str]:
    """Notes on convention effects known to move this quantity.

    Read from the law's own profile and from its paper's other laws (``siblings``): a
    compute-optimal law inherits the caveats of the loss laws it was derived with.
    """
    notes: list[str] = []
    # A ratio (tokens per parameter) differs in relative terms, an exponent in absolute ones.
    tolerance = 0.02 * abs(best.value) if quantity in AT_BUDGET else 0.02
    for alt in derive_all(view, at_flops):
        same = alt.quantity == quantity and alt.method != best.method
        if same and abs(alt.value - best.value) > tolerance:
            notes.append(
                f"the fitted form itself gives {quantity} = {alt.value:.3g} "
                f"({alt.derivation}); the value shown ({best.value:.3g}) is the one stated"
            )
    if best.interval is not None and not best.interval[0] <= best.value <= best.interval[1]:
        # Hoffmann et al.'s a = 0.46 (0.454, 0.455): the value is rounded, the interval not.
        notes.append(
            f"the value {best.value:.4g} lies outside its own interval ({best.interval[0]:.4g} "
            f"to {best.interval[1]:.4g}) as the source gives them: a rounded value beside an "
            "unrounded interval, or a transcription to check"
        )
    if quantity in ("a", "b", "loss_compute", "tokens_per_param"):
        notes += _allocation_notes(view, profile, siblings)
    if view.notes:
        notes.append(view.notes)
    return notes


def _allocation_notes(view: LawView, profile: Profile, siblings: Sequence[LawView]) -> list[str]:
    """Why a compute-optimal exponent may be biased: N counting, form, early-stopped runs."""
    notes: list[str] = []
    if profile.n_params == "non_embedding":
        notes.append(
            "N counts non-embedding parameters: at small scale embeddings are a large share "
            "of all parameters, which steepens N_opt(C) when C is also counted from "
            f"non-embedding N ({PEARCE_SONG})"
        )
    # The paper's own loss laws (not e.g. its critical-batch-size law) without a term E.
    without_e = [v.source_id for v in siblings if profile_of(v).irreducible is False and derive(v)]
    if profile.irreducible is False or without_e:
        where = "" if profile.irreducible is False else f" (as in {', '.join(without_e)})"
        notes.append(
            f"loss fitted without an irreducible term{where}: a pure power law has to bend "
            "the whole loss, so its exponents and the optimum they imply are effective values "
            "for the small scales fitted"
        )
    compute = view.conventions.get("compute", "").lower()
    early = "c_min" in compute.replace(" ", "_")
    if early:
        notes.append(
            "compute is C_min, read off intermediate points of training curves (early-stopped "
            "runs); with one long learning-rate schedule for every run, those losses are too "
            "high at small budgets, which favours larger models (Hoffmann et al. 2022's "
            "explanation)"
        )
    if profile.schedule and any(
        w in profile.schedule for w in ("fixed", "not matched", "single", "long")
    ):
        notes.append(
            f"learning-rate schedule: {profile.schedule}; losses read from runs cut short "
            "along one long schedule are too high at small budgets, which favours larger "
            "models (Hoffmann et al. 2022's explanation)"
        )
    if notes and (profile.n_params == "non_embedding" or without_e or early):
        notes.append(
            f"{PORIAN} reproduced Kaplan's exponent and recovered Hoffmann's ≈ 0.5 by "
            "counting last-layer FLOPs, shortening warmup and tuning the optimizer per "
            "scale; careful learning-rate decay was not needed"
        )
    return notes


def _interval_kind(view: LawView, value: Derived) -> str | None:
    """``ComparisonRow.interval_kind``: the source's kind of interval, or for a value computed
    from two parameters (a = β/(α+β)) that their intervals were propagated (kb.derive)."""
    if value.interval is None:
        return None
    if "interval propagated from" in value.derivation:
        return (
            "propagated from the parameters' intervals, ignoring their correlation "
            f"({interval_kind(view)})"
        )
    return interval_kind(view)


def _pick_reference(
    rows: Sequence[tuple[LawView, Derived]], quantity: str, at_flops: float = DEFAULT_BUDGET_FLOPS
) -> int:
    """Index of the reported law comparable (direct or converted) with the most others.

    A paper's law is preferred to our own fits, a stated value to a converted one, a law whose
    numbers were checked against the paper to an unchecked one, and a value its printed digits
    pin to one whose rounding leaves it loose (so the axis is anchored on a value we can vouch
    for); ties go to a law with an interval, then the earliest, then by id.

    The pinning matters for tokens_per_param: Hoffmann et al.'s approach 3, printed with
    α = 0.34, β = 0.28, gives 97.7 tokens per parameter at 1e24 FLOPs, but anywhere in 45.8-208
    within half those digits (the unrounded exponents give about 60 at Gopher's budget, as the
    paper's Figure 4 does). Anchored there, the axis's reference was a rounding artefact; the
    checked laws whose digits pin their ratio (Muennighoff et al.'s C4 fit, 19.6, exponents
    printed to seven digits) come first now, and approach 3 stays a row that says its range.
    """
    scores: list[tuple[int, int, int, int, int, int, str]] = []
    for i, (vi, di) in enumerate(rows):
        n_ok = sum(
            verdict(quantity, vi, di, vj, dj).kind != "not_comparable"
            for j, (vj, dj) in enumerate(rows)
            if j != i
        )
        pref = int(vi.verified) + int(di.interval is not None)
        secondhand = int(vi.kind != "reported") + int(di.method == "conversion")
        checked = int(vi.verified)
        loose = 0
        if quantity == "tokens_per_param" and di.method == "formula":
            loose = int(not pinned(di.value, rounding_range(vi, at_flops)))
        scores.append((secondhand, -checked, loose, -n_ok, -pref, vi.year or 9999, vi.source_id))
    return min(range(len(rows)), key=lambda i: scores[i])


def _largest_budgets(store: Store) -> dict[str, float]:
    """Per dataset, the largest training compute (FLOPs) among its points that state one."""
    rows = store.cursor().execute(
        "SELECT dataset, max(compute_flops) FROM points WHERE compute_flops > 0 GROUP BY dataset"
    )
    return {name: float(top) for name, top in rows.fetchall()}


def _beyond_data(at_flops: float, largest: float) -> tuple[float | None, str | None]:
    """Decades of ``at_flops`` above ``largest``, and a note, when it is one decade or more.

    The dataset's largest budget bounds what any law fitted to it saw (a law fitted to a subset
    saw less), so the distance is a lower bound of the extrapolation.
    """
    decades = math.log10(at_flops / largest)
    if decades < 1:
        return None, None
    return round(decades, 2), (
        f"evaluated at {at_flops:.3g} FLOPs, {decades:.1f} decades above the largest training "
        f"budget in its released data ({largest:.3g} FLOPs): an extrapolation of the law"
    )


def _check_budget(at_flops: float) -> None:
    if not (math.isfinite(at_flops) and at_flops > 0):
        raise BadInputError(
            f"compute budget {at_flops!r} FLOPs: expected a positive number, e.g. 1e24"
        )


def unavailable(
    store: Store,
    quantity: str = "tokens_per_param",
    *,
    at_flops: float = DEFAULT_BUDGET_FLOPS,
    domain: str | None = None,
) -> list[Unavailable]:
    """The laws and fits with a compute-optimal allocation (a or b) that cannot give
    ``quantity`` (only ``tokens_per_param`` can be missing so), each with its reason;
    ``domain``: only those of that domain (and of none stated), as ``compare``."""
    _check_budget(at_flops)
    if quantity != "tokens_per_param":
        return []
    out = []
    for view in _views(store):
        if domain is not None and profile_of(view).domain not in (domain, None):
            continue
        reason = no_tokens_per_param(view, at_flops)
        if reason:
            out.append(
                Unavailable(
                    source_id=view.source_id, title=view.title, quantity=quantity, reason=reason
                )
            )
    return out


def compare(
    store: Store,
    *,
    quantity: str | None = None,
    reference: str | None = None,
    at_flops: float = DEFAULT_BUDGET_FLOPS,
    domain: str | None = None,
) -> list[ComparisonRow]:
    """Every registry law and stored fit, one row per quantity its form allows.

    Args:
        store: the knowledge base.
        quantity: only this quantity (one of ``a, b, alpha, beta, loss_compute,
            tokens_per_param``).
        reference: source_id (law_id or fit_id) to judge the others against; by default the row
            comparable with the most others. With every quantity (``quantity`` None), only the
            quantities the reference has a value of are listed (a compute-optimal law has a
            and b, no alpha: one missing quantity refused them all).
        at_flops: the compute budget (FLOPs) ``tokens_per_param`` is evaluated at.
        domain: only laws and fits of this domain (and of none stated); the reference is
            then picked among them (over every domain, each vision law was "not comparable:
            different modality" with a language reference).

    Raises:
        BadInputError: an unknown quantity, or a budget that is not a positive number.
        NotFoundError: no law or fit has the id ``reference``, or it has no value of
            ``quantity`` (of any quantity, when ``quantity`` is None).
    """
    if quantity is not None and quantity not in QUANTITIES:
        raise BadInputError(
            f"unknown quantity {quantity!r}; expected one of {', '.join(QUANTITIES)}"
        )
    _check_budget(at_flops)
    views = _views(store)
    if domain is not None:
        views = [v for v in views if profile_of(v).domain in (domain, None)]
    if reference is not None and all(v.source_id != reference for v in views):
        raise NotFoundError(
            f"no reported law or stored fit {reference!r} to compare against; "
            f"{did_you_mean(reference, sorted({v.source_id for v in views}))}expected a "
            "law_id (`kb laws`) or a fit_id (source_id in `kb compare --json`)"
        )
    by_paper: dict[str | None, list[LawView]] = {}
    for view in views:
        if view.arxiv_id:
            by_paper.setdefault(view.arxiv_id, []).append(view)
    largest = _largest_budgets(store)
    out: list[ComparisonRow] = []
    for q in [quantity] if quantity else list(QUANTITIES):
        rows = [(v, d) for v in views for d in derive(v, q, at_flops)]
        if not rows:
            continue
        if reference is not None:
            idx = next((i for i, (v, _) in enumerate(rows) if v.source_id == reference), None)
            if idx is None and quantity is None:
                continue  # judged against the reference only where it has a value
            if idx is None:
                raise NotFoundError(
                    f"reference {reference!r} has no value of {q}; "
                    "see `kb compare --json` for the rows"
                )
        else:
            idx = _pick_reference(rows, q, at_flops)
        ref_view, ref_value = rows[idx]
        for i, (view, value) in enumerate(rows):
            v: Verdict | None = None if i == idx else verdict(q, view, value, ref_view, ref_value)
            notes = _explain(
                view, profile_of(view), q, value, by_paper.get(view.arxiv_id, []), at_flops
            )
            beyond = None
            if q in AT_BUDGET and view.dataset in largest:
                beyond, note = _beyond_data(at_flops, largest[view.dataset])
                notes = [note, *notes] if note else notes  # first: the table cuts notes short
            out.append(
                ComparisonRow(
                    source_id=view.source_id, arxiv_id=view.arxiv_id, title=view.title,
                    dataset=view.dataset, quantity=q, value=value.value,
                    interval=list(value.interval) if value.interval else None,
                    interval_kind=_interval_kind(view, value),
                    at_flops=at_flops if q in AT_BUDGET else None,
                    derivation=value.derivation, method=value.method,
                    beyond_data_decades=beyond, notes="; ".join(notes),
                    kind=view.kind, domain=profile_of(view).domain, form=view.form,
                    year=view.year, verdict="reference" if v is None else v.kind,
                    reference=ref_view.source_id,
                    reasons=[] if v is None else [*v.reasons, *v.conversions, *v.caveats],
                    view=view, derived=value,
                )
            )  # fmt: skip
    if reference is not None and not out:
        raise NotFoundError(
            f"reference {reference!r} has no value of {' or '.join(QUANTITIES)} to compare; "
            "see `kb compare --json` for the rows"
        )
    logger.info("compare: %d rows", len(out))
    return out


def disagreements(
    rows: Sequence[ComparisonRow], *, include_fits: bool = False
) -> list[Disagreement]:
    """Pairs of papers' rows of one quantity, comparable with each other, with disjoint intervals.

    Comparability is judged pairwise (not through the reference); rows without an interval
    cannot disagree, nor can two laws of the same paper. ``include_fits`` also pairs our own
    refits with the papers and with each other.
    """
    out: list[Disagreement] = []
    by_q: dict[str, list[ComparisonRow]] = {}
    for row in rows:
        if row.kind == "fit" and not include_fits:
            continue
        if row.interval is not None:
            by_q.setdefault(row.quantity, []).append(row)
    for q, group in by_q.items():
        for i, x in enumerate(group):
            for y in group[i + 1 :]:
                assert x.interval is not None
                assert y.interval is not None
                gap = max(x.interval[0], y.interval[0]) - min(x.interval[1], y.interval[1])
                if gap <= 0 or (x.view.arxiv_id and x.view.arxiv_id == y.view.arxiv_id):
                    continue
                v = verdict(q, x.view, x.derived, y.view, y.derived)
                if v.kind == "not_comparable":
                    continue
                kinds = (x.interval_kind, y.interval_kind)
                unlike = (
                    [f"the two intervals are of different kinds ({kinds[0]}; {kinds[1]}): "
                     "their gap is not a like-for-like test"]
                    if kinds[0] != kinds[1] else []
                )  # fmt: skip
                out.append(
                    Disagreement(
                        quantity=q, left=x.source_id, left_title=x.title, left_value=x.value,
                        left_interval=x.interval, right=y.source_id, right_title=y.title,
                        right_value=y.value, right_interval=y.interval, gap=gap,
                        verdict=v.kind, conversions=v.conversions, caveats=[*v.caveats, *unlike],
                    )
                )  # fmt: skip
    counts = Counter(d.quantity for d in out)
    logger.info("disagreements: %s", dict(counts))
    return out


def coverage(rows: Sequence[ComparisonRow], *, include_fits: bool = False) -> list[Coverage]:
    """Per quantity, how many of the rows ``disagreements`` reads have an interval, how many
    comparable pairs it could test, and the untested pairs whose interval-less value lies
    outside the other's interval (same pairing rules: two papers, not ``not_comparable``)."""
    by_q: dict[str, list[ComparisonRow]] = {}
    for row in rows:
        if row.kind != "fit" or include_fits:
            by_q.setdefault(row.quantity, []).append(row)
    out: list[Coverage] = []
    for q, group in by_q.items():
        tested, outside = 0, []
        for i, x in enumerate(group):
            for y in group[i + 1 :]:
                if (x.interval is None and y.interval is None) or (
                    x.view.arxiv_id and x.view.arxiv_id == y.view.arxiv_id
                ):
                    continue
                if verdict(q, x.view, x.derived, y.view, y.derived).kind == "not_comparable":
                    continue
                if x.interval is not None and y.interval is not None:
                    tested += 1
                    continue
                bare, held = (x, y) if x.interval is None else (y, x)
                assert held.interval is not None
                if not held.interval[0] <= bare.value <= held.interval[1]:
                    outside.append(
                        Outside(source_id=bare.source_id, value=bare.value,
                                other=held.source_id, other_interval=held.interval)
                    )  # fmt: skip
        n_iv = sum(r.interval is not None for r in group)
        out.append(Coverage(quantity=q, n_values=len(group), n_with_interval=n_iv,
                            n_tested=tested, outside=outside))  # fmt: skip
    return out
