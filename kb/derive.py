"""Comparable quantities derived from reported laws and stored fits.

Papers report different things: Hoffmann et al. (arXiv:2203.15556) fit
``L = E + A/N^α + B/D^β`` and report α, β and the allocation exponents a, b; Kaplan et al.
(arXiv:2001.08361) fit ``L = [(N_c/N)^(α_N/α_D) + D_c/D]^α_D`` and report ``N_opt ∝ C^0.73`` from
a different analysis. To put them on one axis we derive, for every law and fit, whichever of these
quantities its form determines:

- ``a``, ``b``: compute-optimal allocation, ``N_opt ∝ C^a`` and ``D_opt ∝ C^b`` with ``C ∝ N·D``;
- ``alpha``, ``beta``: the model-size and data exponents of the (reducible) loss;
- ``loss_compute``: the exponent of the (reducible) loss along the compute-optimal frontier,
  ``L*(C) − E ∝ C^-loss_compute``.

For the Chinchilla form, minimising ``A/N^α + B/D^β`` subject to ``N·D = C/6`` gives
``a = β/(α+β)``, ``b = α/(α+β)`` and ``loss_compute = αβ/(α+β)`` (Hoffmann et al. 2022, App. D.2).
Kaplan's L(N, D) form gives the same three expressions with α_N, α_D in place of α, β, but for a
loss *without* an irreducible term. Every :class:`Derived` says how it was obtained.
"""

from __future__ import annotations

import logging
import math
import re
from collections.abc import Callable, Mapping, Sequence
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from kb.records import FitRecord, ReportedLaw

logger = logging.getLogger(__name__)

__all__ = [
    "QUANTITIES",
    "Derived",
    "LawView",
    "derive",
    "derive_all",
    "interval_kind",
    "view_of_fit",
    "view_of_law",
]

Quantity = Literal["a", "b", "alpha", "beta", "loss_compute"]
QUANTITIES: tuple[Quantity, ...] = ("a", "b", "alpha", "beta", "loss_compute")
QUANTITY_LABELS: dict[str, str] = {
    "a": "N_opt ∝ C^a",
    "b": "D_opt ∝ C^b",
    "alpha": "model-size exponent of the loss (L ∝ N^-alpha)",
    "beta": "data exponent of the loss (L ∝ D^-beta)",
    "loss_compute": "loss-vs-compute exponent along the optimum (L ∝ C^-x)",
}
Interval = tuple[float, float]

# Parameter names as papers and kb.laws spell them, per role.
PARAM_ALIASES: dict[str, tuple[str, ...]] = {
    "alpha": ("alpha", "α", "alpha_N", "alpha_n"),
    "beta": ("beta", "β", "alpha_D", "alpha_d"),
    "a": ("a", "a_N", "exponent_N"),
    "b": ("b", "b_D", "exponent_D"),
    "loss_compute": ("alpha_C_min", "alpha_c_min", "alpha_C", "alpha_c", "loss_compute"),
}
# Forms whose loss includes an irreducible term E (their alpha/beta are reducible-loss exponents).
WITH_IRREDUCIBLE = frozenset(
    {"chinchilla", "chinchilla_tied", "power_law_plus_constant", "data_constrained"}
)
WITHOUT_IRREDUCIBLE = frozenset({"kaplan_nd", "power_law"})
# Two-variable forms with a loss term A/N^α + B/D^β (data_constrained reduces to it for unique
# data: D' = D, N' = N when nothing is repeated).
_TWO_VARIABLE = frozenset({"chinchilla", "chinchilla_tied", "kaplan_nd", "data_constrained"})
# Words in a law's metric that say its response is not a loss or error (hyperparameter laws).
EXPONENT_NAME = re.compile(r"^(alpha|beta|gamma|α|β|γ)(_|$)", re.IGNORECASE)
NOT_PERFORMANCE = ("not applicable", "hyperparameter", "learning rate", "batch size")


class LawView(BaseModel):
    """A reported law or a stored fit, seen through what comparison needs."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    source_id: str = Field(description="law_id of a registry law, fit_id of a stored fit")
    kind: Literal["reported", "fit"]
    arxiv_id: str | None = Field(None, description="the paper; None for our own fits")
    title: str
    name: str = Field("", description="short human name, e.g. 'Loss vs compute'")
    year: int | None = None
    dataset: str | None = Field(None, description="our dataset it was fitted on, if any")
    form: str | None = Field(None, description="kb.laws form name, e.g. 'chinchilla'")
    params: dict[str, float] = Field(default_factory=dict)
    intervals: dict[str, list[float]] = Field(default_factory=dict)
    derived: dict[str, float] = Field(default_factory=dict)
    conventions: dict[str, str] = Field(default_factory=dict)
    inputs: tuple[str, ...] = Field((), description="the form's inputs, e.g. ('compute_flops',)")
    verified: bool = True
    notes: str = ""


class Derived(BaseModel):
    """One comparable quantity of one law or fit, with how it was obtained."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    quantity: str = Field(description=f"one of {', '.join(QUANTITIES)}")
    value: float
    interval: tuple[float, float] | None = Field(None, description="[low, high], if known")
    derivation: str = Field(description="how the value (and interval) were obtained")
    method: Literal["reported", "parameter", "formula", "conversion"] = Field(
        description="stated by the source, a fitted parameter, a formula of the form, "
        "or a convention conversion (e.g. b = 1 − a)"
    )
    conversion: str | None = Field(None, description="the conversion used, if any")


def view_of_law(law: ReportedLaw) -> LawView:
    """A registry law as a :class:`LawView`."""
    return LawView(
        source_id=law.law_id, kind="reported", arxiv_id=law.arxiv_id, title=law.title,
        name=law.name, year=law.year, dataset=law.dataset, form=law.form, params=law.params,
        intervals=law.intervals, derived=law.derived, conventions=law.conventions,
        verified=law.verified, notes=law.notes,
    )  # fmt: skip


def view_of_fit(
    fit: FitRecord, conventions: Mapping[str, str], inputs: Sequence[str] = ()
) -> LawView:
    """A stored fit as a :class:`LawView`; ``conventions`` describe its dataset's columns."""
    title = f"refit of {fit.law} ({fit.recipe} recipe) on {fit.dataset}"
    setting = fit.options.get("setting")
    if isinstance(setting, dict) and setting:
        label = setting.get("setting") or ", ".join(f"{k}={v}" for k, v in setting.items())
        rest = [f"{k}={v}" for k, v in setting.items() if k != "setting"]
        title += f": {label}" + (f" ({', '.join(rest)})" if "setting" in setting and rest else "")
    x = fit.options.get("x")
    inputs = (*inputs, str(x)) if x else tuple(inputs)
    return LawView(
        source_id=fit.fit_id, kind="fit", arxiv_id=None, title=title, name=title,
        dataset=fit.dataset,
        form=fit.law, params=fit.params, intervals=fit.intervals, derived=fit.derived,
        conventions=dict(conventions), inputs=tuple(inputs),
        notes=f"recipe {fit.recipe}, {fit.n_points} points, seed {fit.seed}",
    )  # fmt: skip


def _lookup(values: Mapping[str, float], role: str) -> tuple[str, float] | None:
    for name in PARAM_ALIASES[role]:
        if name in values and math.isfinite(values[name]):
            return name, float(values[name])
    return None


def _interval(view: LawView, name: str) -> Interval | None:
    raw = view.intervals.get(name)
    if raw is None or len(raw) != 2 or not all(math.isfinite(v) for v in raw):
        return None
    lo, hi = float(raw[0]), float(raw[1])
    return (lo, hi) if lo <= hi else (hi, lo)


def interval_kind(view: LawView) -> str:
    """What kind of interval ``view``'s intervals are, in words (from ``conventions.intervals``
    for a reported law; a bootstrap percentile interval for our fits)."""
    if view.kind == "fit":
        return "bootstrap percentile interval"
    kind = view.conventions.get("intervals")
    return f"interval as reported ({kind})" if kind else "interval as reported"


def allocation_a(alpha: float, beta: float) -> float:
    """``a = β/(α+β)``: exponent of N_opt(C) for ``A/N^α + B/D^β`` with ``C ∝ N·D``."""
    return beta / (alpha + beta)


def allocation_b(alpha: float, beta: float) -> float:
    """``b = α/(α+β)``: exponent of D_opt(C) for ``A/N^α + B/D^β`` with ``C ∝ N·D``."""
    return alpha / (alpha + beta)


def loss_compute_exponent(alpha: float, beta: float) -> float:
    """``αβ/(α+β)``: the reducible loss along the optimum falls as ``C^-(αβ/(α+β))``."""
    return alpha * beta / (alpha + beta)


# Each formula's monotonicity gives which interval ends bound it (box propagation).
_FORMULAS: dict[str, tuple[Callable[[float, float], float], str, str, str]] = {
    # quantity: (function, text, which end of alpha gives the lower bound, of beta)
    "a": (allocation_a, "β/(α+β)", "hi", "lo"),
    "b": (allocation_b, "α/(α+β)", "lo", "hi"),
    "loss_compute": (loss_compute_exponent, "αβ/(α+β)", "lo", "lo"),
}


def _propagate(
    quantity: str, alpha: float, beta: float, ia: Interval | None, ib: Interval | None
) -> Interval | None:
    """Interval of a formula of (α, β) from intervals of α and β, by monotonicity.

    All three formulas are monotone in each argument on α, β > 0, so the extreme values over the
    box ``ia × ib`` sit at its corners. This ignores the correlation of α and β (strong in
    Chinchilla-type fits), so the interval is conservative; a missing interval counts as exact.
    """
    if ia is None and ib is None:
        return None
    fn, _, a_low, b_low = _FORMULAS[quantity]
    ia = ia or (alpha, alpha)
    ib = ib or (beta, beta)
    if min(ia[0], ib[0]) <= 0:
        return None
    lo_a, hi_a = (ia[0], ia[1]) if a_low == "lo" else (ia[1], ia[0])
    lo_b, hi_b = (ib[0], ib[1]) if b_low == "lo" else (ib[1], ib[0])
    return (fn(lo_a, lo_b), fn(hi_a, hi_b))


def _from_exponents(view: LawView) -> list[Derived]:
    """a, b, alpha, beta, loss_compute from a two-variable form's α and β."""
    alpha_p = _lookup(view.params, "alpha")
    beta_p = _lookup(view.params, "beta")
    if alpha_p is None or beta_p is None or alpha_p[1] <= 0 or beta_p[1] <= 0:
        return []
    (na, alpha), (nb, beta) = alpha_p, beta_p
    ia, ib = _interval(view, na), _interval(view, nb)
    loss_kind = "reducible loss" if view.form in WITH_IRREDUCIBLE else "loss (no irreducible term)"
    out = [
        Derived(quantity="alpha", value=alpha, interval=ia, method="parameter",
                derivation=f"fitted parameter {na} of the {view.form} form ({loss_kind})"
                + (f"; {interval_kind(view)}" if ia else "")),
        Derived(quantity="beta", value=beta, interval=ib, method="parameter",
                derivation=f"fitted parameter {nb} of the {view.form} form ({loss_kind})"
                + (f"; {interval_kind(view)}" if ib else "")),
    ]  # fmt: skip
    for quantity, (fn, text, _, _) in _FORMULAS.items():
        own = _interval(view, quantity)
        interval: Interval | None
        if own is not None:
            interval, how = own, f"; {interval_kind(view)} for {quantity} itself"
        else:
            interval = _propagate(quantity, alpha, beta, ia, ib)
            how = (
                f"; interval propagated from those of {na}, {nb} by monotonicity "
                "(ignores their correlation, so conservative; theirs: "
                f"{interval_kind(view)})"
                if interval
                else ""
            )
        out.append(
            Derived(
                quantity=quantity, value=fn(alpha, beta), interval=interval, method="formula",
                derivation=f"{text} with {na}={alpha:.4g}, {nb}={beta:.4g}: minimising the "
                f"{view.form} form at fixed C ∝ N·D{how}",
            )
        )  # fmt: skip
    return out


def power_law_variable(view: LawView) -> str | None:
    """Which quantity a one-variable power law's exponent is: alpha (N), beta (D) or compute.

    Looked for in the parameter names (alpha_N, alpha_D, alpha_C), then the form's inputs
    (n_params, n_tokens, compute_flops), then the law's stated variable or its name ("... vs
    training set size").
    """
    sources = [
        " ".join(view.params).lower(),
        " ".join(view.inputs).lower(),
        (view.conventions.get("variable", "") + " " + view.name.split(" vs ")[-1]).lower(),
    ]
    for text in sources:
        if "compute" in text or "flop" in text or "alpha_c" in text:
            return "loss_compute"
        if any(w in text for w in ("n_tokens", "alpha_d", "data", "training set", "tokens")):
            return "beta"
        if any(w in text for w in ("n_params", "alpha_n", "parameters", "model size")):
            return "alpha"
    return None


def exponents_tied(view: LawView) -> bool:
    """True when the law imposes alpha = beta, so a = b = 0.5 by its form, not by its data.

    The ``chinchilla_tied`` form ties them; a two-variable law whose reported exponents are
    equal to nine digits tied them too (Gadre et al. 2024, Muennighoff et al. 2023's C4 fit,
    the (Mis)Fitting survey's "alpha = beta" fit): two fitted exponents never agree that far.
    """
    if view.form == "chinchilla_tied":
        return True
    alpha, beta = view.params.get("alpha"), view.params.get("beta")
    return (
        view.form in _TWO_VARIABLE
        and alpha is not None
        and beta is not None
        and math.isclose(alpha, beta, rel_tol=1e-9)
    )


def is_performance(view: LawView) -> bool:
    """False for laws of a hyperparameter (optimal learning rate, batch size), not a loss."""
    text = " ".join(view.conventions.get(k, "") for k in ("loss_units", "loss", "metric")).lower()
    return not any(w in text for w in NOT_PERFORMANCE)


def _from_power_law(view: LawView) -> list[Derived]:
    quantity = power_law_variable(view)
    if quantity is None:
        return []
    hit = _lookup(view.params, "loss_compute" if quantity == "loss_compute" else quantity)
    hit = hit or _lookup(view.params, "alpha")
    if hit is None:
        # A single exponent-like parameter (Hestness et al.'s beta_g) is the exponent.
        named = [(k, v) for k, v in view.params.items() if EXPONENT_NAME.match(k)]
        hit = named[0] if len(named) == 1 else None
    if hit is None:
        return []
    name, value = hit
    # Some papers write the exponent as a negative slope (Hestness et al.'s beta_g = -0.066 in
    # eps = alpha m^beta_g); every quantity here is a decay exponent (L ∝ D^-beta), so the
    # magnitude is shown, and the derivation says the sign was the paper's.
    signed = (
        f"; the source writes {name} = {value:.4g}, a negative slope: shown as the decay "
        "exponent, its magnitude"
        if value < 0
        else ""
    )
    value = abs(value)
    interval = _interval(view, name)
    if interval is not None:
        interval = (
            min(abs(interval[0]), abs(interval[1])),
            max(abs(interval[0]), abs(interval[1])),
        )
    loss_kind = "reducible loss" if view.form in WITH_IRREDUCIBLE else "loss (no irreducible term)"
    return [
        Derived(
            quantity=quantity, value=value, interval=interval, method="parameter",
            derivation=f"exponent {name} of the one-variable {view.form} form ({loss_kind})"
            + signed
            + (f"; {interval_kind(view)}" if interval else ""),
        )
    ]  # fmt: skip


def _from_allocation(view: LawView, values: Mapping[str, float], method: str) -> list[Derived]:
    """a and b stated directly (compute_optimal form or reported derived values)."""
    out: list[Derived] = []
    found = {q: _lookup(values, q) for q in ("a", "b")}
    if method == "reported":
        where = "reported by the paper" if view.kind == "reported" else "computed by the fit"
    else:
        where = "fitted parameter"
    for q, hit in found.items():
        if hit is None:
            continue
        name, value = hit
        iv = _interval(view, name)
        out.append(
            Derived(
                quantity=q, value=value, interval=iv,
                method="reported" if method == "reported" else "parameter",
                derivation=f"{where}: {name} = {value:.4g} ({QUANTITY_LABELS[q]})"
                + (f"; {interval_kind(view)}" if iv else ""),
            )
        )  # fmt: skip
    # With C ∝ N·D, N_opt·D_opt ∝ C, so a + b = 1 and a missing one follows exactly. Our fits
    # of optimal sizes fit a and b separately (n_opt, n_tokens_opt), so they are not converted.
    if view.kind == "fit":
        return out
    for q, other in (("a", "b"), ("b", "a")):
        hit = found[other]
        if found[q] is None and hit is not None and _compute_is_nd(view):
            name, value = hit
            iv = _interval(view, name)
            conv = f"{q} = 1 − {other} (C ∝ N·D, so N_opt·D_opt ∝ C)"
            out.append(
                Derived(
                    quantity=q, value=1.0 - value,
                    interval=(1.0 - iv[1], 1.0 - iv[0]) if iv else None,
                    method="conversion", conversion=conv,
                    derivation=f"{conv}, from {where} {name} = {value:.4g}",
                )
            )  # fmt: skip
    return out


def _as_allocation(view: LawView) -> LawView:
    """A compute_optimal law whose fitted 'exponent' is renamed a or b by what it predicts.

    kb.laws' compute_optimal form fits ``y = k·C^exponent``; the exponent is a when y is the
    optimal model size and b when y is the optimal number of tokens (the fit's metric says).
    """
    if "exponent" not in view.params or "a" in view.params or "b" in view.params:
        return view
    target = " ".join([view.conventions.get("loss", ""), view.conventions.get("target", "")])
    target = target.lower()
    if "token" in target or "d_opt" in target:
        name = "b"
    elif "n_opt" in target or "param" in target:
        name = "a"
    else:
        return view
    params = {(name if k == "exponent" else k): v for k, v in view.params.items()}
    intervals = {(name if k == "exponent" else k): v for k, v in view.intervals.items()}
    return view.model_copy(update={"params": params, "intervals": intervals})


def _compute_is_nd(view: LawView) -> bool:
    """True unless the conventions say compute is counted other than proportional to N·D."""
    text = view.conventions.get("compute", "").lower()
    return not any(w in text for w in ("attention", "counted", "exact", "per-layer"))


def _from_reported(view: LawView) -> list[Derived]:
    """Quantities the source states in ``derived`` (a, b, alpha, beta, loss exponents)."""
    out = [d for d in _from_allocation(view, view.derived, "reported") if d.method != "conversion"]
    for q in ("alpha", "beta", "loss_compute"):
        hit = _lookup(view.derived, q)
        if hit is None:
            continue
        name, value = hit
        iv = _interval(view, name)
        where = "reported by the paper" if view.kind == "reported" else "derived by the fit"
        out.append(
            Derived(
                quantity=q, value=abs(value), interval=iv, method="reported",
                derivation=f"{where}: {name} = {value:.4g} ({QUANTITY_LABELS[q]})"
                + (f"; {interval_kind(view)}" if iv else ""),
            )
        )  # fmt: skip
    # a + b = 1 conversions for stated allocations, after the direct ones.
    conv = [d for d in _from_allocation(view, view.derived, "reported") if d.method == "conversion"]
    return out + conv


def derive_all(view: LawView) -> list[Derived]:
    """Every derivation of every quantity the law or fit allows, best first per quantity.

    Order of preference: what the source itself states (``derived``; for a fit these are
    computed from its parameters, with bootstrap intervals), then a fitted parameter, then a
    formula of the form's parameters, then a conversion (``b = 1 − a``).
    """
    out = _from_reported(view)
    if not is_performance(view):
        return out
    if view.form in _TWO_VARIABLE:
        out += _from_exponents(view)
    elif view.form in ("power_law", "power_law_plus_constant"):
        out += _from_power_law(view)
    elif view.form == "compute_optimal":
        renamed = _as_allocation(view)
        out += _from_allocation(renamed, renamed.params, "parameter")
    rank = {"reported": 0, "parameter": 1, "formula": 2, "conversion": 3}
    order: dict[str, int] = {q: i for i, q in enumerate(QUANTITIES)}
    return sorted(out, key=lambda d: (order[d.quantity], rank[d.method]))


def derive(view: LawView, quantity: str | None = None) -> list[Derived]:
    """The preferred derivation of each quantity (or only ``quantity``) the law allows."""
    found = [d for d in derive_all(view) if quantity is None or d.quantity == quantity]
    best: dict[str, Derived] = {}
    for d in found:
        best.setdefault(d.quantity, d)
    for q, d in list(best.items()):
        if d.interval is not None:
            continue
        # A stated value without an interval borrows the propagated one of the same value.
        for alt in found:
            if alt.quantity == q and alt.interval and abs(alt.value - d.value) <= 0.01:
                best[q] = d.model_copy(
                    update={
                        "interval": alt.interval,
                        "derivation": f"{d.derivation}; interval from {alt.derivation}",
                    }
                )
                break
    return list(best.values())
