"""Comparable quantities derived from reported laws and stored fits.

Papers report different things: Hoffmann et al. (arXiv:2203.15556) fit
``L = E + A/N^α + B/D^β`` and report α, β and the allocation exponents a, b; Kaplan et al.
(arXiv:2001.08361) fit ``L = [(N_c/N)^(α_N/α_D) + D_c/D]^α_D`` and report ``N_opt ∝ C^0.73`` from
a different analysis. To put them on one axis we derive, for every law and fit, whichever of these
quantities its form determines:

- ``a``, ``b``: compute-optimal allocation, ``N_opt ∝ C^a`` and ``D_opt ∝ C^b`` with ``C ∝ N·D``;
- ``alpha``, ``beta``: the model-size and data exponents of the (reducible) loss;
- ``loss_compute``: the exponent of the (reducible) loss along the compute-optimal frontier,
  ``L*(C) − E ∝ C^-loss_compute``;
- ``tokens_per_param``: ``D_opt(C)/N_opt(C)`` at one compute budget (``at_flops``, default
  :data:`DEFAULT_BUDGET_FLOPS`), for laws that fix both optimal sizes, not only their exponents.

For the Chinchilla form, minimising ``A/N^α + B/D^β`` subject to ``N·D = C/6`` gives
``a = β/(α+β)``, ``b = α/(α+β)`` and ``loss_compute = αβ/(α+β)`` (Hoffmann et al. 2022, App. D.2).
Kaplan's L(N, D) form gives the same three expressions with α_N, α_D in place of α, β, but for a
loss *without* an irreducible term. The ratio D_opt/N_opt follows from Hoffmann et al.'s eq. (4),
``(C/6)^(b−a) / G²`` with ``G = (αA/(βB))^(1/(α+β))``, and from a compute-optimal law that gives
the coefficients of both N_opt(C) and D_opt(C). Every :class:`Derived` says how it was obtained.
"""

from __future__ import annotations

import logging
import math
import re
from collections.abc import Callable, Mapping, Sequence
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from kb.frontier import budget_key, optimal_sizes
from kb.records import FitRecord, ReportedLaw

logger = logging.getLogger(__name__)

__all__ = [
    "DEFAULT_BUDGET_FLOPS",
    "QUANTITIES",
    "Derived",
    "LawView",
    "derive",
    "derive_all",
    "derived_here",
    "interval_kind",
    "no_tokens_per_param",
    "pinned",
    "rounding_range",
    "view_of_fit",
    "view_of_law",
]

Quantity = Literal["a", "b", "alpha", "beta", "loss_compute", "tokens_per_param"]
QUANTITIES: tuple[Quantity, ...] = ("a", "b", "alpha", "beta", "loss_compute", "tokens_per_param")
QUANTITY_LABELS: dict[str, str] = {
    "a": "N_opt ∝ C^a",
    "b": "D_opt ∝ C^b",
    "alpha": "model-size exponent of the loss (L ∝ N^-alpha)",
    "beta": "data exponent of the loss (L ∝ D^-beta)",
    "loss_compute": "loss-vs-compute exponent along the optimum (L ∝ C^-x)",
    "tokens_per_param": "compute-optimal tokens per parameter, D_opt/N_opt at a compute budget",
}
# Quantities evaluated at a compute budget (the others are exponents, the same at every budget).
AT_BUDGET = frozenset({"tokens_per_param"})
# The budget tokens_per_param is evaluated at unless one is given: 1e24 FLOPs, the scale of
# today's large training runs and within a factor of two of Chinchilla's and Gopher's 5.76e23.
DEFAULT_BUDGET_FLOPS = 1e24
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
    formula: str = Field("", description="the law as the registry writes it (empty for a fit)")
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
        description="stated by the source, a fitted parameter, a formula (of the form's "
        "parameters, or of the paper's statement for a value the registry marks as derived "
        "here), or a convention conversion (e.g. b = 1 − a)"
    )
    conversion: str | None = Field(None, description="the conversion used, if any")


def view_of_law(law: ReportedLaw) -> LawView:
    """A registry law as a :class:`LawView`."""
    return LawView(
        source_id=law.law_id, kind="reported", arxiv_id=law.arxiv_id, title=law.title,
        name=law.name, year=law.year, dataset=law.dataset, form=law.form, params=law.params,
        intervals=law.intervals, derived=law.derived, conventions=law.conventions,
        formula=law.formula, verified=law.verified, notes=law.notes,
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


# A name before '=' in ``conventions.derivation``: "a = log10(2.5) ...", "a = b = 0.5: ...",
# "b = exp_B + exp_S since D = B·S" (only the names of ``derived`` count, so D is no match),
# also at a budget: "tokens_per_param@5.76e+23 = 1.5T / 67B = 22.4" (Hoffmann et al.'s Table 3).
_DERIVATION_NAME = re.compile(r"([A-Za-z_][A-Za-z_0-9]*(?:@[0-9.]+(?:e[+-]?[0-9]+)?)?)\s*=(?!=)")


def derived_here(view: LawView) -> frozenset[str]:
    """The names in a registry law's ``derived`` that we computed, not the paper: those its
    ``conventions.derivation`` names (``a = log10(2.5) = 0.398 from Sec. 4.1 ...``)."""
    text = view.conventions.get("derivation", "") if view.kind == "reported" else ""
    named = set(_DERIVATION_NAME.findall(text))
    return frozenset(k for k in view.derived if k in named)


def _stated(view: LawView, name: str) -> tuple[str, Literal["reported", "formula"], str]:
    """Where a value of ``derived`` comes from: (words, method, how) for ``name``.

    A value the registry marks as derived here (``derived_here``) is no value the paper states:
    it reads "derived here" with the registry's derivation, as a formula's value (Alabdulmohsin
    et al.'s a = log10(2.5), computed from "×2.5 parameters per ×10 compute", read "reported
    by the paper"). A law whose numbers were not checked in the paper says so. Every value one
    of our fits derived reads "computed by the fit" (the one wording: its alpha and beta read
    "derived by the fit" while its a and b read this).
    """
    if view.kind == "fit":
        return "computed by the fit", "reported", ""
    if name in derived_here(view):
        how = view.conventions["derivation"]
        return "derived here (the paper does not state it)", "formula", f"; how: {how}"
    if not view.verified:
        return "stated by the source (not checked against the paper)", "reported", ""
    return "reported by the paper", "reported", ""


def _from_allocation(view: LawView, values: Mapping[str, float], method: str) -> list[Derived]:
    """a and b stated directly (compute_optimal form or reported derived values)."""
    out: list[Derived] = []
    found = {q: _lookup(values, q) for q in ("a", "b")}
    words: dict[str, str] = {}
    for q, hit in found.items():
        if hit is None:
            continue
        name, value = hit
        how_method: Literal["reported", "parameter", "formula"]
        if method == "reported":
            where, how_method, how = _stated(view, name)
        else:
            where, how_method, how = "fitted parameter", "parameter", ""
        words[q] = where
        iv = _interval(view, name)
        out.append(
            Derived(
                quantity=q, value=value, interval=iv, method=how_method,
                derivation=f"{where}: {name} = {value:.4g} ({QUANTITY_LABELS[q]})"
                + (f"; {interval_kind(view)}" if iv else "") + how,
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
                    derivation=f"{conv}, from {words[other]} {name} = {value:.4g}",
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
        where, how_method, how = _stated(view, name)
        out.append(
            Derived(
                quantity=q, value=abs(value), interval=iv, method=how_method,
                derivation=f"{where}: {name} = {value:.4g} ({QUANTITY_LABELS[q]})"
                + (f"; {interval_kind(view)}" if iv else "") + how,
            )
        )  # fmt: skip
    # a + b = 1 conversions for stated allocations, after the direct ones.
    conv = [d for d in _from_allocation(view, view.derived, "reported") if d.method == "conversion"]
    return out + conv


# --- tokens per parameter at a budget ------------------------------------------------------------

# Coefficients of N_opt(C) = k_N·C^a and D_opt(C) = k_D·C^b as compute-optimal laws name them
# (DeepSeek's M_base, D_base; Li et al.'s k_N, k_D). Porian et al. write N*(C) = k C^a.
_N_COEFFICIENTS = ("k_N", "N_base", "M_base")
_D_COEFFICIENTS = ("k_D", "D_base")
_K_IS_N = re.compile(r"N\S*\(C\)\s*=\s*k\s*C\^a")
_SIX_ND = re.compile(r"6\s*N", re.IGNORECASE)  # "C = 6ND", "6 N_nonembed D"
TPP = "tokens_per_param"


def _printed_step(value: float) -> float | None:
    """Half a unit of the last decimal ``value`` is written with (0.34 -> 0.005), or None."""
    text = repr(float(value))
    if "e" in text or "." not in text:
        return None
    return 0.5 * 10.0 ** -len(text.split(".")[1])


def _ratio(A: float, B: float, alpha: float, beta: float, flops: float) -> tuple[float, float]:
    n_opt, d_opt = optimal_sizes(A, B, alpha, beta, flops)
    return float(n_opt), float(d_opt)


def _loss_terms(view: LawView) -> tuple[float, float, float, float, str] | None:
    """(A, B, α, β) of the loss's ``A/N^α + B/D^β`` part, with how they were read, or None."""
    p = view.params
    if view.form in ("chinchilla", "chinchilla_tied", "data_constrained"):
        alpha, beta = _lookup(p, "alpha"), _lookup(p, "beta")
        if alpha is None or beta is None or "A" not in p or "B" not in p:
            return None
        how = f"A={p['A']:.4g}, B={p['B']:.4g}, α={alpha[1]:.4g}, β={beta[1]:.4g}"
        if view.form == "data_constrained":
            how += " (unique data: nothing repeated, so D' = D and N' = N)"
        return float(p["A"]), float(p["B"]), alpha[1], beta[1], how
    if view.form == "kaplan_nd" and all(k in p for k in ("alpha_N", "alpha_D", "N_c", "D_c")):
        # [(N_c/N)^(α_N/α_D) + D_c/D]^α_D is smallest where the bracket is: A/N^α + B/D with
        # A = N_c^(α_N/α_D), α = α_N/α_D, B = D_c, β = 1.
        ratio = p["alpha_N"] / p["alpha_D"]
        how = (
            f"Kaplan's L(N, D) is smallest where its bracket is, A/N^α + B/D^β with "
            f"A = N_c^(α_N/α_D), α = α_N/α_D = {ratio:.4g}, B = D_c = {p['D_c']:.4g}, β = 1"
        )
        return float(p["N_c"]) ** ratio, float(p["D_c"]), ratio, 1.0, how
    return None


def _fit_budgets(view: LawView) -> list[str]:
    return [k.partition("@")[2] for k in view.intervals if k.startswith(f"{TPP}@")]


# A ratio is pinned by its law's printed digits when rounding them moves it by at most this
# share of its value (Hoffmann et al.'s α = 0.34, β = 0.28 leave 97.7 anywhere in 45.8-208).
ROUNDING_TOLERANCE = 0.1


def rounding_range(view: LawView, flops: float) -> tuple[float, float] | None:
    """[low, high] of a reported loss law's D_opt/N_opt at ``flops`` over α, β within half
    their printed last digit, or None (a fit, Kaplan's form, no loss terms, exponents written
    with an exponent)."""
    terms = _loss_terms(view)
    if view.kind != "reported" or view.form == "kaplan_nd" or terms is None:
        return None
    A, B, alpha, beta, _ = terms
    step_a, step_b = _printed_step(alpha), _printed_step(beta)
    if not (step_a and step_b) or min(A, B, alpha - step_a, beta - step_b) <= 0:
        return None
    corners = [
        (lambda nd: nd[1] / nd[0])(_ratio(A, B, alpha + da, beta + db, flops))
        for da in (-step_a, step_a)
        for db in (-step_b, step_b)
    ]
    return min(corners), max(corners)


def pinned(value: float, spread: tuple[float, float] | None) -> bool:
    """True unless rounding moves ``value`` over more than ROUNDING_TOLERANCE of it."""
    return spread is None or spread[1] - spread[0] <= ROUNDING_TOLERANCE * value


def _ratio_from_loss(view: LawView, flops: float) -> list[Derived]:
    """D_opt/N_opt of a two-variable loss law at ``flops`` (Hoffmann et al. 2022, eq. 4)."""
    terms = _loss_terms(view)
    if terms is None or min(terms[:4]) <= 0:
        return []
    A, B, alpha, beta, how = terms
    n_opt, d_opt = _ratio(A, B, alpha, beta, flops)
    value = d_opt / n_opt
    if not (math.isfinite(value) and value > 0):
        return []
    notes: list[str] = []
    interval = _interval(view, budget_key(TPP, flops)) if view.kind == "fit" else None
    if interval is not None:
        notes.append(f"{interval_kind(view)} at this budget")
    elif view.kind == "fit":
        stored = _fit_budgets(view)
        notes.append(
            "no interval: the fit's bootstrap intervals are stored at its own budgets only"
            + (f" (C = {', '.join(stored)} FLOPs)" if stored else "")
        )
    elif any(_interval(view, k) for k in ("A", "B", "alpha", "beta", "alpha_N", "alpha_D")):
        notes.append(
            "no interval: the ratio depends on A, B, α and β jointly, whose errors are strongly "
            "correlated in such fits, so a box over their separate intervals would mean nothing"
        )
    spread = rounding_range(view, flops)
    if spread is not None and not pinned(value, spread):
        lo, hi = spread
        notes.append(
            f"α, β as printed ({alpha:g}, {beta:g}) are rounded, and the ratio is sensitive "
            f"to them: within half their last digit it lies anywhere in [{lo:.3g}, {hi:.3g}]"
        )
    if exponents_tied(view):
        notes.append(
            "α = β (tied), so the ratio is (B/A)^(1/α), the same at every budget by the form"
        )
    return [
        Derived(
            quantity=TPP, value=value, interval=interval, method="formula",
            derivation=f"D_opt/N_opt = (C/6)^(b−a)/G², G = (αA/(βB))^(1/(α+β)), at C = "
            f"{flops:.3g} FLOPs with C = 6ND: N_opt = {n_opt:.3g}, D_opt = {d_opt:.3g}; {how} "
            "(Hoffmann et al. 2022, eq. 4)" + "".join(f"; {n}" for n in notes),
        )
    ]  # fmt: skip


def _coefficient(params: Mapping[str, float], names: Sequence[str]) -> tuple[str, float] | None:
    for name in names:
        if name in params and math.isfinite(params[name]) and params[name] > 0:
            return name, float(params[name])
    return None


def _ratio_from_allocation(view: LawView, flops: float) -> list[Derived]:
    """D_opt/N_opt of a compute-optimal law that gives N_opt(C) and D_opt(C) (or N_opt(C) with
    C = 6ND, which fixes D_opt = C/(6·N_opt))."""
    p = view.params
    a, b = _lookup(p, "a"), _lookup(p, "b")
    kn = _coefficient(p, _N_COEFFICIENTS)
    if kn is None and _K_IS_N.search(view.formula):
        kn = _coefficient(p, ("k",))
    kd = _coefficient(p, _D_COEFFICIENTS)
    if a is None or kn is None:
        return []
    n_opt = kn[1] * flops ** a[1]
    at = f"at C = {flops:.3g} FLOPs"
    if b is not None and kd is not None:
        d_opt = kd[1] * flops ** b[1]
        derivation = (
            f"D_opt/N_opt = ({kd[0]}·C^{b[0]})/({kn[0]}·C^{a[0]}) with {kd[0]} = {kd[1]:.4g}, "
            f"{b[0]} = {b[1]:.4g}, {kn[0]} = {kn[1]:.4g}, {a[0]} = {a[1]:.4g}, {at}: "
            f"N_opt = {n_opt:.3g}, D_opt = {d_opt:.3g}"
        )
        conversion = None
    elif _SIX_ND.search(view.conventions.get("compute", "")):
        d_opt = flops / (6.0 * n_opt)
        conversion = "D_opt = C/(6·N_opt) (C = 6ND)"
        derivation = (
            f"{conversion}: the law gives N_opt = {kn[0]}·C^{a[0]} ({kn[0]} = {kn[1]:.4g}, "
            f"{a[0]} = {a[1]:.4g}) but no coefficient of D_opt; {at}: N_opt = {n_opt:.3g}, "
            f"D_opt = {d_opt:.3g}"
        )
    else:
        return []
    value = d_opt / n_opt
    if "flops per token" in view.conventions.get("n_counts", "").lower():
        # DeepSeek's M is non-embedding FLOPs per token, about 6N (more with attention).
        value *= 6.0
        conversion = "N ≈ M/6: M counts FLOPs per token (about 6N, more with attention)"
        derivation += f"; {conversion}, so D_opt/N_opt ≈ 6·D_opt/M_opt"
    if not (math.isfinite(value) and value > 0):
        return []
    return [
        Derived(
            quantity=TPP, value=value, method="conversion" if conversion else "formula",
            conversion=conversion, derivation=derivation,
        )
    ]  # fmt: skip


def _reported_ratio(view: LawView, flops: float) -> list[Derived]:
    """A ratio the source states at this budget (``tokens_per_param@1e+24``) or at every one."""
    for name in (budget_key(TPP, flops), TPP):
        value = view.derived.get(name)
        if value is None or not math.isfinite(value):
            continue
        iv = _interval(view, name)
        where, how_method, how = _stated(view, name)
        at = f"at C = {flops:.3g} FLOPs" if "@" in name else "the same at every budget"
        return [
            Derived(
                quantity=TPP, value=value, interval=iv, method=how_method,
                derivation=f"{where}: {name} = {value:.4g} (D_opt/N_opt, {at})"
                + (f"; {interval_kind(view)}" if iv else "") + how,
            )
        ]  # fmt: skip
    return []


def no_tokens_per_param(view: LawView, at_flops: float = DEFAULT_BUDGET_FLOPS) -> str | None:
    """Why a law with a compute-optimal allocation (a or b) gives no tokens per parameter, or
    None (it gives one, or it has no allocation at all)."""
    found = {d.quantity for d in derive_all(view, at_flops)}
    if TPP in found or not found & {"a", "b"}:
        return None
    stated_at = sorted(float(k.partition("@")[2]) for k in view.derived if k.startswith(f"{TPP}@"))
    if stated_at:
        # Hoffmann et al.'s Table 3: sizes at nine budgets, the exponents without coefficients.
        return (
            f"it gives D_opt/N_opt only at C = {', '.join(f'{c:.3g}' for c in stated_at)} "
            f"FLOPs, not at {at_flops:.3g} (between them its N_opt ∝ C^a and D_opt ∝ C^b come "
            "without coefficients); evaluate at one of those budgets"
        )
    p = view.params
    has_n = _coefficient(p, _N_COEFFICIENTS) is not None or (
        "k" in p and bool(_K_IS_N.search(view.formula))
    )
    has_d = _coefficient(p, _D_COEFFICIENTS) is not None
    if view.form in _TWO_VARIABLE:
        return (
            "its loss law is recorded without both coefficients A and B, so the optimal sizes "
            "at a budget are not determined"
        )
    # Llama 3's D*(C) = A·C^α, a fit's k of k·C^exponent: one optimal size's coefficient.
    others = [k for k in p if k not in ("a", "b") and not k.startswith("exp")]
    others = [k for k in others if not EXPONENT_NAME.match(k)]
    if has_n or has_d or others:
        given = "N_opt(C)" if has_n else "D_opt(C)" if has_d else "one optimal size"
        return (
            f"it gives the coefficient of {given} only ({', '.join(others) or 'none other'}), "
            "and its compute is not stated as C = 6ND (which would fix the other size)"
        )
    return (
        "it states the exponents of N_opt ∝ C^a and D_opt ∝ C^b without their coefficients, "
        "so the optimal sizes at a budget are not determined"
    )


def derive_all(view: LawView, at_flops: float = DEFAULT_BUDGET_FLOPS) -> list[Derived]:
    """Every derivation of every quantity the law or fit allows, best first per quantity.

    Order of preference: what the source itself states (``derived``; for a fit these are
    computed from its parameters, with bootstrap intervals), then a fitted parameter, then a
    formula of the form's parameters, then a conversion (``b = 1 − a``). ``at_flops`` is the
    compute budget (FLOPs) of the quantities evaluated at one (``tokens_per_param``).
    """
    out = _from_reported(view)
    if not is_performance(view):
        return out
    out += _reported_ratio(view, at_flops)
    if view.form in _TWO_VARIABLE:
        out += _from_exponents(view)
        out += _ratio_from_loss(view, at_flops)
    elif view.form in ("power_law", "power_law_plus_constant"):
        out += _from_power_law(view)
    elif view.form == "compute_optimal":
        renamed = _as_allocation(view)
        out += _from_allocation(renamed, renamed.params, "parameter")
        out += _ratio_from_allocation(view, at_flops)
    rank = {"reported": 0, "parameter": 1, "formula": 2, "conversion": 3}
    order: dict[str, int] = {q: i for i, q in enumerate(QUANTITIES)}
    return sorted(out, key=lambda d: (order[d.quantity], rank[d.method]))


def derive(
    view: LawView, quantity: str | None = None, at_flops: float = DEFAULT_BUDGET_FLOPS
) -> list[Derived]:
    """The preferred derivation of each quantity (or only ``quantity``) the law allows;
    ``at_flops``: the compute budget (FLOPs) of ``tokens_per_param``."""
    found = [d for d in derive_all(view, at_flops) if quantity is None or d.quantity == quantity]
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
