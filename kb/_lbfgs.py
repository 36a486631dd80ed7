"""A batched L-BFGS: many independent small problems minimised in lock-step with numpy.

Used by ``kb.fit`` to run thousands of starts (or bootstrap resamples) at once: one objective
call evaluates every active problem together, so the per-iteration Python overhead is paid once
per batch instead of once per problem. The algorithm is textbook L-BFGS (Nocedal & Wright,
algorithm 7.4, two-loop recursion, history ``m``) with a backtracking Armijo line search and, when
bounds are given, projection onto the box (a simplification of L-BFGS-B's Cauchy-point step;
``kb.fit`` polishes the best results with scipy's L-BFGS-B, so the final answer is scipy's).

Stopping rules mirror scipy's L-BFGS-B defaults: relative reduction of the objective below
``ftol`` or largest projected-gradient component below ``gtol``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.intp]
# fun(x (k, p), rows (k,)) -> (f (k,), g (k, p)); rows say which problems x belongs to.
BatchFun = Callable[[FloatArray, IntArray], tuple[FloatArray, FloatArray]]

FTOL = 2.220446049250313e-09  # scipy's L-BFGS-B default (factr 1e7 × machine epsilon)
GTOL = 1e-05


@dataclass(frozen=True)
class BatchResult:
    """Per-problem end state of :func:`minimize_batch`."""

    x: FloatArray  # (B, p)
    fun: FloatArray  # (B,)
    converged: NDArray[np.bool_]  # (B,) met ftol or gtol (not just ran out of iterations)
    n_iter: IntArray  # (B,)


def _project(x: FloatArray, lower: FloatArray | None, upper: FloatArray | None) -> FloatArray:
    if lower is None or upper is None:
        return x
    return np.clip(x, lower, upper)


def _projected_grad(
    x: FloatArray, g: FloatArray, lower: FloatArray | None, upper: FloatArray | None
) -> FloatArray:
    if lower is None or upper is None:
        return g
    pg = g.copy()
    pg[(x <= lower) & (g > 0)] = 0.0
    pg[(x >= upper) & (g < 0)] = 0.0
    return pg


def minimize_batch(
    fun: BatchFun,
    x0: FloatArray,
    *,
    lower: FloatArray | None = None,
    upper: FloatArray | None = None,
    m: int = 10,
    max_iter: int = 500,
    ftol: float = FTOL,
    gtol: float = GTOL,
    f_floor: float = 1.0,
    max_backtracks: int = 40,
    prune_at: int = 0,
    prune_keep: float = 1.0,
) -> BatchResult:
    """Minimise B independent problems from starts ``x0`` ``(B, p)`` with batched L-BFGS.

    A problem stops when an iteration reduces its objective by at most
    ``ftol * max(|f_old|, |f_new|, f_floor)`` (scipy's rule with ``f_floor = 1``; pass
    ``f_floor = 0`` for a purely relative test, needed when the objective is much smaller than 1,
    as a Huber objective with δ = 1e-3 is) or its largest projected-gradient component is at most
    ``gtol``. Problems whose objective is not finite at the start are left where they are and
    reported as not converged.

    With ``prune_at > 0``, after that many iterations only the best ``prune_keep`` fraction of
    the still-running problems (by current objective) keeps going; the rest stop where they are
    and count as not converged (successive-halving style, for multi-start searches).
    """
    x = _project(np.array(x0, dtype=float), lower, upper)
    n_prob, n_par = x.shape
    rows_all = np.arange(n_prob)
    with np.errstate(all="ignore"):
        f, g = fun(x, rows_all)
    ok = np.isfinite(f) & np.all(np.isfinite(g), axis=1)
    active = ok.copy()
    converged = np.zeros(n_prob, dtype=bool)
    n_iter = np.zeros(n_prob, dtype=np.intp)
    S = np.zeros((n_prob, m, n_par))
    Y = np.zeros((n_prob, m, n_par))
    rho = np.zeros((n_prob, m))
    gamma = np.ones(n_prob)
    first = np.ones(n_prob, dtype=bool)
    for it in range(max_iter):
        if prune_at and it == prune_at:
            running = np.flatnonzero(active)
            if running.size > 1:
                cut = np.quantile(f[running], prune_keep)
                active[running[f[running] > cut]] = False
        rows = np.flatnonzero(active)
        if rows.size == 0:
            break
        xa, fa, ga = x[rows], f[rows], g[rows]
        d = _direction(ga, S[rows], Y[rows], rho[rows], gamma[rows], it, m)
        # First step (no curvature yet): scipy-like, unit length along −g.
        gnorm = np.linalg.norm(ga, axis=1)
        fr = first[rows]
        d[fr] = -ga[fr] / np.maximum(gnorm[fr], 1e-300)[:, None]
        d = np.where(_blocked(xa, d, lower, upper), 0.0, d)
        slope = np.sum(ga * d, axis=1)
        bad = ~(slope < 0)
        if np.any(bad):  # not a descent direction: restart from steepest descent
            d[bad] = -ga[bad] / np.maximum(gnorm[bad], 1e-300)[:, None]
            rho[rows[bad]] = 0.0
            slope[bad] = np.sum(ga[bad] * d[bad], axis=1)
        xn, fn, gn, found = _line_search(fun, rows, xa, fa, ga, d, lower, upper, max_backtracks)
        n_iter[rows] += 1
        step = xn - xa
        yv = gn - ga
        sy = np.sum(step * yv, axis=1)
        yy = np.sum(yv * yv, axis=1)
        # Curvature pair kept only when y'y is a normal positive number: with yy underflowing to
        # 0 (flat Huber tails, saturated sigmoids) sy / yy is inf, and gamma = inf then makes
        # the next direction inf · 0 = nan.
        keep = found & (yy > np.finfo(float).tiny) & np.isfinite(yy) & (sy > 1e-10 * yy)
        slot = it % m
        S[rows, slot] = np.where(keep[:, None], step, 0.0)
        Y[rows, slot] = np.where(keep[:, None], yv, 0.0)
        rho[rows, slot] = np.where(keep, 1.0 / np.where(keep, sy, 1.0), 0.0)
        gamma[rows] = np.where(keep, sy / np.where(keep, yy, 1.0), gamma[rows])
        first[rows] = first[rows] & ~keep
        upd = found
        x[rows[upd]], f[rows[upd]], g[rows[upd]] = xn[upd], fn[upd], gn[upd]
        small_f = (fa - fn) <= ftol * np.maximum(np.maximum(np.abs(fa), np.abs(fn)), f_floor)
        pg = _projected_grad(xn, gn, lower, upper)
        small_g = np.max(np.abs(pg), axis=1) <= gtol
        done_ok = found & (small_f | small_g)
        converged[rows[done_ok]] = True
        # A failed line search ends the run: converged only if the gradient is already tiny.
        stalled = ~found
        converged[rows[stalled]] = small_g[stalled] | (
            np.max(np.abs(_projected_grad(xa, ga, lower, upper)), axis=1)[stalled] <= gtol
        )
        active[rows[done_ok | stalled]] = False
    return BatchResult(x=x, fun=np.where(ok, f, np.inf), converged=converged, n_iter=n_iter)


def _blocked(
    x: FloatArray, d: FloatArray, lower: FloatArray | None, upper: FloatArray | None
) -> NDArray[np.bool_]:
    if lower is None or upper is None:
        return np.zeros_like(d, dtype=bool)
    return ((x <= lower) & (d < 0)) | ((x >= upper) & (d > 0))


def _direction(
    g: FloatArray,
    S: FloatArray,
    Y: FloatArray,
    rho: FloatArray,
    gamma: FloatArray,
    it: int,
    m: int,
) -> FloatArray:
    """Two-loop recursion, newest pair first; empty slots have rho = 0 and drop out."""
    q = g.copy()
    order = [(it - 1 - j) % m for j in range(min(it, m))]
    alphas = []
    for j in order:
        a = rho[:, j] * np.sum(S[:, j] * q, axis=1)
        q -= a[:, None] * Y[:, j]
        alphas.append(a)
    r = gamma[:, None] * q
    for j, a in zip(reversed(order), reversed(alphas), strict=True):
        b = rho[:, j] * np.sum(Y[:, j] * r, axis=1)
        r += S[:, j] * (a - b)[:, None]
    return -r


def _line_search(
    fun: BatchFun,
    rows: IntArray,
    x: FloatArray,
    f: FloatArray,
    g: FloatArray,
    d: FloatArray,
    lower: FloatArray | None,
    upper: FloatArray | None,
    max_backtracks: int,
) -> tuple[FloatArray, FloatArray, FloatArray, NDArray[np.bool_]]:
    """Backtracking (halving) from a unit step until the Armijo condition holds."""
    k = rows.size
    t = np.ones(k)
    xn = x.copy()
    fn = f.copy()
    gn = np.zeros_like(x)
    found = np.zeros(k, dtype=bool)
    todo = np.arange(k)
    for _ in range(max_backtracks):
        if todo.size == 0:
            break
        cand = _project(x[todo] + t[todo, None] * d[todo], lower, upper)
        with np.errstate(all="ignore"):
            fc, gc = fun(cand, rows[todo])
        # Armijo on the projected step (g · step < 0 for a descent step).
        expected = np.sum((cand - x[todo]) * g[todo], axis=1)
        accept = (
            np.isfinite(fc)
            & np.all(np.isfinite(gc), axis=1)
            & (fc <= f[todo] + 1e-4 * expected)
            & (fc < f[todo])
        )
        acc = todo[accept]
        xn[acc], fn[acc], gn[acc] = cand[accept], fc[accept], gc[accept]
        found[acc] = True
        todo = todo[~accept]
        t[todo] *= 0.5
    return xn, fn, gn, found
