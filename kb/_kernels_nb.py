"""numba kernels, imported only by ``kb._kernels`` (so ``import kb`` never loads numba).

Kept at module level: numba re-enters a nested (closure) kernel on every call, which costs
tens of milliseconds; top-level functions dispatch in microseconds.
"""

# mypy: ignore-errors
# numba ships no type information; the kernel's types are checked by its tests instead.

from __future__ import annotations

import math
import types
from typing import Any

import numpy as np
from numba import config, njit, prange

# The workqueue layer sleeps between parallel regions; OpenMP's default spin-wait burns the
# second core while the optimiser's numpy bookkeeping runs, which halves throughput on a busy
# machine. workqueue is not re-entrant, so kb._kernels serialises parallel calls with a lock.
if config.THREADING_LAYER == "default":
    config.THREADING_LAYER = "workqueue"

_FLAGS = {"contract", "arcp", "reassoc"}  # no "nnan"/"ninf": the kernel tests for inf/NaN


def _chinchilla(
    theta: Any, ln: Any, ld: Any, y: Any, w: Any, delta: float, huber: bool
) -> tuple[Any, Any]:
    n_rows = theta.shape[0]
    n = y.shape[0]
    f_out = np.empty(n_rows)
    g_out = np.zeros((n_rows, 5))
    stride = 0 if w.shape[0] == 1 else 1  # one weight row shared by all, or one each
    for s in prange(n_rows):
        e = theta[s, 0]
        a = theta[s, 1]
        b = theta[s, 2]
        al = theta[s, 3]
        be = theta[s, 4]
        ws = s * stride
        e0 = math.exp(e)
        f = 0.0
        g0 = 0.0
        g1 = 0.0
        g2 = 0.0
        g3 = 0.0
        g4 = 0.0
        for i in range(n):
            wi = w[ws, i]
            if wi == 0.0:
                continue
            t1 = a - al * ln[i]
            t2 = b - be * ld[i]
            # exp(e) is constant per row, so two exps and one log per point; fall back to
            # the max-shifted (overflow-safe) form only when a term over- or underflows.
            x0 = e0
            x1 = math.exp(t1)
            x2 = math.exp(t2)
            tot = x0 + x1 + x2
            m = 0.0
            if not (tot > 1e-300 and tot < 1e300):
                m = max(e, max(t1, t2))
                x0 = math.exp(e - m)
                x1 = math.exp(t1 - m)
                x2 = math.exp(t2 - m)
                tot = x0 + x1 + x2
            r = y[i] - (m + math.log(tot))
            if huber:
                ar = abs(r)
                if ar <= delta:
                    f += wi * 0.5 * r * r
                    psi = r
                else:
                    f += wi * delta * (ar - 0.5 * delta)
                    psi = delta if r > 0 else -delta
            else:
                f += wi * 0.5 * r * r
                psi = r
            u = -wi * psi / tot
            g0 += u * x0
            g1 += u * x1
            g2 += u * x2
            g3 -= u * x1 * ln[i]
            g4 -= u * x2 * ld[i]
        if math.isfinite(f) and math.isfinite(g0 + g1 + g2 + g3 + g4):
            f_out[s] = f
            g_out[s, 0] = g0
            g_out[s, 1] = g1
            g_out[s, 2] = g2
            g_out[s, 3] = g3
            g_out[s, 4] = g4
        else:
            f_out[s] = np.inf
    return f_out, g_out


def _named(fn, name):
    """A copy of ``fn`` under another name. numba's on-disk cache names a kernel by its
    function's qualified name and line, not by ``parallel``: compiled from one function, the
    serial kernel loaded the parallel one's machine code, ran outside kb._kernels' lock, and two
    fits at once (two app sessions) aborted the whole process in numba's workqueue layer."""
    copy = types.FunctionType(fn.__code__, fn.__globals__, name, fn.__defaults__, fn.__closure__)
    copy.__qualname__ = name
    return copy


chinchilla_serial = njit(parallel=False, cache=True, fastmath=_FLAGS)(
    _named(_chinchilla, "_chinchilla_serial")
)
chinchilla_parallel = njit(parallel=True, cache=True, fastmath=_FLAGS)(
    _named(_chinchilla, "_chinchilla_parallel")
)
