"""Curves to draw a fit: the fitted law over the data's range and beyond, with a band.

Pure functions over a ``kb.fit.FitResult`` and the fitted inputs, so the app (and notebooks)
can plot a fit without knowing each form's algebra:

* single-input forms (``x``, ``compute_flops``): the law over a log-spaced grid from the
  smallest observed x to ``extend`` times the largest;
* two-input loss forms (``n_params``, ``n_tokens``): the compute-optimal frontier
  L*(C) = min over N of L(N, C / 6N), found on a dense grid of N, against compute C = 6ND;
* forms with more inputs are drawn at their observed points only (no curve).

The band is the percentile range of the same curve under every bootstrap refit (at most
``MAX_BAND_SAMPLES``), at the level of the fit's parameter intervals (``FitResult.level``, 95%
by default), so it widens where the law is extrapolated.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
from numpy.typing import NDArray

from kb.fit import FitResult

__all__ = ["curve_axis", "fitted_curve", "observed_frame"]

FloatArray = NDArray[np.float64]
N_GRID = 400  # model sizes tried per budget when tracing the compute-optimal frontier
MAX_BAND_SAMPLES = 200


def curve_axis(result: FitResult) -> str | None:
    """The input the fit is drawn against, or None when it has no curve."""
    inputs = result.form.inputs
    if len(inputs) == 1:
        return str(result.options.get("x", "compute_flops")) if inputs[0] == "x" else inputs[0]
    if set(inputs) == {"n_params", "n_tokens"}:
        return "compute_flops"
    return None


def _axis_data(result: FitResult, X: Mapping[str, Any], axis: str) -> FloatArray:
    """The values of ``axis`` in ``X``; a single-input form's ``x`` when X has no such column
    (an ``extras`` axis such as train_set_size is only in X as ``x``)."""
    if axis not in X and "x" in result.form.inputs:
        axis = "x"
    return np.asarray(X[axis], dtype=float)


def _values(result: FitResult, theta: FloatArray, x: FloatArray) -> FloatArray:
    inputs = result.form.inputs
    if len(inputs) == 1:
        return np.asarray(result.form.predict(theta, {inputs[0]: x}), dtype=float).ravel()
    # Frontier: for each budget C, try model sizes spread over eight decades around the
    # balanced point N = D = sqrt(C/6), so the grid follows the budget instead of a fixed range.
    c = x[:, None]
    n = np.sqrt(c / 6.0) * np.logspace(-4.0, 4.0, N_GRID)[None, :]
    d = c / (6.0 * n)
    pred = np.asarray(
        result.form.predict(theta, {"n_params": n.ravel(), "n_tokens": d.ravel()}), dtype=float
    ).reshape(x.size, N_GRID)
    best: FloatArray = np.nanmin(np.where(np.isfinite(pred), pred, np.nan), axis=1)
    return best


def fitted_curve(
    result: FitResult,
    X: Mapping[str, Any],
    *,
    extend: float = 10.0,
    n: int = 80,
    level: float | None = None,
) -> dict[str, FloatArray]:
    """The fitted law along its axis: arrays ``x``, ``fit``, ``low``, ``high``, ``extrapolated``.

    ``X`` are the fitted inputs (as given to ``fit_arrays``); the grid runs from the smallest
    observed value of the axis to ``extend`` times the largest. ``low``/``high`` are NaN
    without a bootstrap; they are the central ``level`` percentile range of the refits' curves
    (default: the fit's own interval level, ``result.level``).
    """
    level = result.level if level is None else level
    axis = curve_axis(result)
    if axis is None:
        empty = np.empty(0)
        return {"x": empty, "fit": empty, "low": empty, "high": empty, "extrapolated": empty}
    observed = _axis_data(result, X, axis)
    lo, hi = float(np.min(observed)), float(np.max(observed))
    grid = np.logspace(np.log10(lo), np.log10(hi * extend), n)
    fit = _values(result, result.theta, grid)
    low = high = np.full(n, np.nan)
    if result.boot_params is not None and len(result.boot_params):
        samples = result.boot_params[:MAX_BAND_SAMPLES]
        curves = np.vstack([_values(result, th, grid) for th in samples])
        q = 50 * (1 - level), 50 * (1 + level)
        low, high = np.nanpercentile(curves, q[0], axis=0), np.nanpercentile(curves, q[1], axis=0)
    return {"x": grid, "fit": fit, "low": low, "high": high, "extrapolated": grid > hi}


def observed_frame(result: FitResult, X: Mapping[str, Any], y: Any) -> dict[str, FloatArray]:
    """The fitted points: axis value, measured value, prediction and residual (fit space)."""
    axis = curve_axis(result) or result.form.inputs[0]
    values = np.asarray(y, dtype=float)
    inputs = {k: np.asarray(X[k], dtype=float) for k in result.form.inputs}
    pred = np.asarray(result.predict(inputs), dtype=float).ravel()
    resid = np.log(values) - np.log(pred) if result.form.space == "log" else values - pred
    frame = {"x": _axis_data(result, X, axis), "value": values, "predicted": pred,
             "residual": resid}  # fmt: skip
    if "n_params" in X:
        frame["n_params"] = np.asarray(X["n_params"], dtype=float)
    return frame
