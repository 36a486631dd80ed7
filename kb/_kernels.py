"""Fused, compiled objective kernels (numba) for the forms fitted most often.

``kb.fit`` evaluates the objective for thousands of starts or bootstrap resamples at once. In
numpy that is ~35 passes over an ``(S, n)`` array per evaluation; the kernels here make one pass,
in parallel over rows, and are ~10× faster. They compute exactly what
``kb.fit.objective_and_grad``'s numpy path computes (``tests/test_fit.py`` checks the two agree)
and are used only when numba imports. Compilation is cached on disk (``cache=True``).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import Any

import numpy as np
from numpy.typing import NDArray

logger = logging.getLogger(__name__)

FloatArray = NDArray[np.float64]
Kernel = Callable[..., tuple[FloatArray, FloatArray]]
_CACHE: dict[str, Kernel | None] = {}
_PARALLEL_LOCK = threading.Lock()  # numba's workqueue layer must not be entered twice


# Below this many (row, point) pairs a call runs on one thread: waking the worker threads costs
# more than it saves, and on a busy machine a parallel region waits for a free core.
PARALLEL_MIN = 50_000


def chinchilla_kernel(parallel: bool) -> Kernel | None:
    """The compiled Chinchilla Huber/least-squares kernel, or None when numba is unavailable."""
    key = f"chinchilla-{parallel}"
    if key not in _CACHE:
        try:
            from kb import _kernels_nb
        except ImportError:  # numba is optional: the numpy path computes the same thing
            logger.debug("numba not available; using the numpy objective")
            _CACHE[key] = None
        else:
            _CACHE[key] = (
                _kernels_nb.chinchilla_parallel if parallel else _kernels_nb.chinchilla_serial
            )
    return _CACHE[key]


def fused_objective(
    form_name: str,
    theta: FloatArray,
    logX: dict[str, FloatArray] | Any,
    target: FloatArray,
    weights: FloatArray,
    loss: str,
    delta: float,
) -> tuple[FloatArray, FloatArray] | None:
    """Objective and gradient from a compiled kernel, or None if there is none for this form."""
    if form_name != "chinchilla":
        return None
    parallel = theta.shape[0] * target.shape[0] >= PARALLEL_MIN
    kernel = chinchilla_kernel(parallel)
    if kernel is None:
        return None
    args = (
        np.ascontiguousarray(theta, dtype=float),
        np.ascontiguousarray(logX["n_params"], dtype=float),
        np.ascontiguousarray(logX["n_tokens"], dtype=float),
        np.ascontiguousarray(target, dtype=float),
        np.ascontiguousarray(np.atleast_2d(weights), dtype=float),
        float(delta),
        loss == "huber",
    )
    if not parallel:
        return kernel(*args)
    with _PARALLEL_LOCK:
        return kernel(*args)
