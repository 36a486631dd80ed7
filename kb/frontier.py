"""Quantities derived from a fitted law: the compute-optimal frontier and loss at a budget.

For laws of the form L(N, D) = E + A/N^α + B/D^β with compute C = 6ND, minimising L at fixed C
gives (Hoffmann et al. 2022, arXiv:2203.15556, eq. 4 and appendix D.2)

    N_opt(C) = G (C/6)^a,  D_opt(C) = G^(−1) (C/6)^b,  a = β/(α+β),  b = α/(α+β),
    G = (αA / (βB))^(1/(α+β)).

All functions are vectorised over rows of published parameters (one row per bootstrap sample),
so intervals on derived quantities come from the same resamples as those on the parameters.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from numpy.typing import NDArray

from kb.laws import LawForm

__all__ = ["AXES", "budget_key", "derived_quantities", "optimal_sizes"]

AXES = ("compute", "n_params", "n_tokens")
FloatArray = NDArray[np.float64]


def budget_key(name: str, flops: float) -> str:
    """Key of a derived quantity at a compute budget, e.g. ``N_opt@5.76e+23``."""
    return f"{name}@{flops:.3g}"


def optimal_sizes(
    A: FloatArray | float,
    B: FloatArray | float,
    alpha: FloatArray | float,
    beta: FloatArray | float,
    flops: float,
) -> tuple[FloatArray, FloatArray]:
    """``(N_opt, D_opt)`` minimising ``A/N^α + B/D^β`` subject to ``6ND = flops`` (eq. 4).

    Vectorised over arrays of parameters; E does not move the optimum. Returns NaN where the
    parameters are not positive.
    """
    A, B = np.asarray(A, dtype=float), np.asarray(B, dtype=float)
    alpha, beta = np.asarray(alpha, dtype=float), np.asarray(beta, dtype=float)
    with np.errstate(all="ignore"):
        a = beta / (alpha + beta)
        b = alpha / (alpha + beta)
        G = (alpha * A / (beta * B)) ** (1.0 / (alpha + beta))
        return G * (flops / 6.0) ** a, (flops / 6.0) ** b / G


def derived_quantities(
    form: LawForm, published: FloatArray, budgets: Sequence[float]
) -> dict[str, FloatArray]:
    """Derived quantities for each row of ``published`` (``(S, k)``, the form's published names).

    Forms without a compute-optimal frontier get an empty dict.
    """
    if form.kind != "loss_nd":
        return {}
    col = {n: published[:, i] for i, n in enumerate(form.published_names)}
    E, A, B, alpha, beta = col["E"], col["A"], col["B"], col["alpha"], col["beta"]
    with np.errstate(all="ignore"):
        a = beta / (alpha + beta)
        b = alpha / (alpha + beta)
        G = (alpha * A / (beta * B)) ** (1.0 / (alpha + beta))
        out: dict[str, FloatArray] = {"a": a, "b": b, "G": G}
        for c in budgets:
            n_opt, d_opt = optimal_sizes(A, B, alpha, beta, c)
            out[budget_key("N_opt", c)] = n_opt
            out[budget_key("D_opt", c)] = d_opt
            out[budget_key("tokens_per_param", c)] = d_opt / n_opt
            out[budget_key("loss", c)] = E + A / n_opt**alpha + B / d_opt**beta
    return out
