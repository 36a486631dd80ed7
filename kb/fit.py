"""Fit law forms to scaling data: multi-start L-BFGS, bootstrap intervals, held-out checks.

How a fit runs (``fit_arrays``; ``fit_points`` and ``fit_dataset`` only gather the arrays):

1. The recipe's point filter (e.g. Epoch's "drop the five highest-loss points") is applied.
2. **Every start of the grid** (the product of the parameters' starting values, 4,500 for the
   Chinchilla/Hoffmann grid) is minimised at once by a batched L-BFGS (``kb._lbfgs``): one
   vectorised (for Chinchilla, compiled: ``kb._kernels``) evaluation of the objective and its
   analytic gradient serves all starts. For grids of 500+ starts, after 20 iterations only the
   best 10% of the starts still running carry on, for at most 150 iterations.
3. The ``N_POLISH`` best distinct end points are polished with ``scipy.optimize.minimize``
   (L-BFGS-B, ``jac=True``) on the objective in δ units (``objective_scale``: scipy's stopping
   tests are absolute below 1, and a Huber loss with δ = 1e-3 is tiny); the best polished point
   is the fit. ``benchmarks/bench_fit.py
   --check-full`` runs scipy from every one of the 4,500 starts on epoch_chinchilla and reaches
   the same optimum (objectives agree to 1e-12, parameters to 5 digits).
4. Recipes with ``estimator='huber_likelihood'`` (``epoch``) then compute the source paper's
   published estimate: the maximum of a Huber likelihood with a free scale sigma
   (``_likelihood_fit``, scipy BFGS with the exact gradient, from the recipe's start). The grid
   optimum is kept in ``FitResult.options['grid_fit']``.
5. Bootstrap: resamples (of points, or of runs when points are curves) are expressed as integer
   weights on the points, and all refits run as one batch from the full-data optimum (or the
   recipe's start). Percentile intervals are given for every parameter and derived quantity,
   and bootstrap standard deviations in ``FitResult.options['boot_sd']``.

The objective is ``sum_i w_i huber(r_i)`` with ``r_i`` the residual in the form's space (log y
for losses) and Huber's loss with the recipe's δ (or ½r² for least squares). Everything is
deterministic given ``seed``; no global random state is touched.
"""

from __future__ import annotations

import json
import logging
import math
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from numpy.typing import NDArray
from scipy.optimize import minimize  # type: ignore[import-untyped]
from scipy.stats import norm  # type: ignore[import-untyped]

from kb._kernels import fused_objective
from kb._lbfgs import minimize_batch
from kb.datasets import DEFAULT_METRIC_KEY, dataset_hint, point_value
from kb.errors import BadInputError, FitError
from kb.frontier import AXES, derived_quantities
from kb.laws import LawForm, get_form
from kb.recipes import RECIPES, Recipe, get_recipe
from kb.records import Dataset, FitRecord, Point, ReportedLaw, stable_id
from kb.store import Store

logger = logging.getLogger(__name__)

__all__ = [
    "FIT_VERSION",
    "INTERVAL_LEVEL",
    "SELECT_ALL",
    "SELECT_PAPER_RUNS",
    "FitResult",
    "Holdout",
    "PaperRuns",
    "compare_forms",
    "fit_arrays",
    "fit_dataset",
    "fit_points",
    "fit_upload",
    "huber_nll_and_grad",
    "mixed_conventions",
    "objective_and_grad",
    "objective_scale",
    "paper_runs",
    "points_to_arrays",
    "select_points",
    "selection_fields",
    "upload_points",
]

FIT_VERSION = "fit-1"
# Coverage of the bootstrap percentile intervals (the parameter table) and of the fit chart's
# band (kb.curves.fitted_curve reads a result's own level): one number, so the band drawn is the
# interval printed. The chart's band was 90% beside 95% intervals.
INTERVAL_LEVEL = 0.95
N_POLISH = 8
BOOT_FTOL = 1e-10
# The batched grid stage stops after this many iterations; the best N_POLISH distinct end points
# are then run to convergence by scipy. Starts still moving at this point are far behind the
# leaders (benchmarks/bench_fit.py --check-full compares with scipy from every start).
GRID_MAX_ITER = 150
# After GRID_PRUNE_AT iterations only the best GRID_PRUNE_KEEP of the starts still running carry
# on (starts that have already converged are kept too); see kb._lbfgs.minimize_batch. Pruned
# starts count as not converged in FitResult.n_converged.
GRID_PRUNE_AT = 20
GRID_PRUNE_KEEP = 0.1
GRID_PRUNE_MIN = 500  # smaller grids run every start to the end
USE_KERNELS = True  # tests switch this off to check the numpy path gives the same fit
Progress = Callable[[int, int], None]
FloatArray = NDArray[np.float64]


@dataclass(frozen=True)
class Holdout:
    """Fit on the smaller scales, predict the largest ``fraction`` of points along ``axis``."""

    axis: str = "compute"
    fraction: float = 0.2

    def __post_init__(self) -> None:
        if self.axis not in AXES:
            raise BadInputError(f"holdout axis {self.axis!r}: expected one of {', '.join(AXES)}")
        if not 0.0 < self.fraction < 1.0:
            raise BadInputError(f"holdout fraction {self.fraction}: expected 0 < fraction < 1")

    @classmethod
    def parse(cls, text: str) -> Holdout:
        """``"compute:0.2"`` -> ``Holdout("compute", 0.2)``."""
        axis, _, frac = text.partition(":")
        try:
            return cls(axis.strip(), float(frac) if frac else 0.2)
        except ValueError:
            raise BadInputError(
                f"holdout {text!r}: expected AXIS:FRACTION, e.g. compute:0.2"
            ) from None


@dataclass(frozen=True)
class FitResult:
    """The outcome of one fit. Parameters are reported in the published form (E, A, B, α, β)."""

    law: str
    recipe: str
    theta: FloatArray = field(repr=False)
    params: dict[str, float]
    intervals: dict[str, list[float]]
    derived: dict[str, float]
    objective: float
    n_points: int
    # Starts of the point fit's multi-start grid (not bootstrap refits).
    n_starts: int
    # How many of those grid starts converged (batch-stage starts that converged with a finite
    # objective; pruned starts count as not converged, and a polished start scipy reports
    # converged counts). Nothing to do with the bootstrap: see n_boot and n_boot_failed.
    n_converged: int
    seed: int
    # Bootstrap resamples asked for (each is one refit).
    n_boot: int
    residuals: FloatArray = field(repr=False)
    # Bootstrap refits that did not converge (left out of the intervals and boot_sd).
    n_boot_failed: int = 0
    holdout: dict[str, Any] | None = None
    options: dict[str, Any] = field(default_factory=dict)
    boot_params: FloatArray | None = field(default=None, repr=False)

    @property
    def form(self) -> LawForm:
        """The law form that was fitted."""
        return get_form(self.law)

    @property
    def level(self) -> float:
        """Coverage of the bootstrap intervals (and of the chart's band), e.g. 0.95."""
        return float(self.options.get("level", INTERVAL_LEVEL))

    @property
    def fit_params(self) -> dict[str, float]:
        """Parameters in fit space (e.g. e = log E), as the optimiser saw them."""
        return dict(zip(self.form.param_names, map(float, self.theta), strict=True))

    def predict(self, X: Mapping[str, Any]) -> FloatArray:
        """Predicted values (natural units) at inputs ``X`` (the form's input names)."""
        return self.form.predict(self.theta, X)

    def to_json(self) -> dict[str, Any]:
        """A plain-JSON summary (what ``kb fit --json`` prints).

        ``n_starts`` / ``n_converged`` count the point fit's grid starts and those that converged;
        ``n_starts_converged`` repeats ``n_converged`` under a name that says so. ``n_boot`` /
        ``n_boot_failed`` / ``n_boot_converged`` count the bootstrap refits.
        """
        return {
            "law": self.law,
            "recipe": self.recipe,
            "params": self.params,
            "intervals": self.intervals,
            "derived": self.derived,
            "objective": self.objective,
            "n_points": self.n_points,
            "n_starts": self.n_starts,
            "n_converged": self.n_converged,
            "n_starts_converged": self.n_converged,
            "n_boot": self.n_boot,
            "n_boot_failed": self.n_boot_failed,
            "n_boot_converged": self.n_boot - self.n_boot_failed,
            "seed": self.seed,
            "holdout": self.holdout,
            "options": self.options,
            "setting": self.options.get("setting"),
        }

    def fit_id(self, dataset: str, metric: str | None = None) -> str:
        """Stable id from dataset, law, recipe, options and seed."""
        opts = json.dumps({**self.options, "metric": metric}, sort_keys=True, default=str)
        return stable_id(dataset, self.law, self.recipe, opts, str(self.seed))

    def to_record(self, dataset: str, *, metric: str | None = None) -> FitRecord:
        """The ``fits`` table row for this result."""
        import datetime as dt

        return FitRecord(
            fit_id=self.fit_id(dataset, metric),
            dataset=dataset,
            law=self.law,
            recipe=self.recipe,
            metric=metric,
            options=self.options,
            params=self.params,
            intervals=self.intervals,
            derived={k: v for k, v in self.derived.items() if math.isfinite(v)},
            objective=self.objective,
            n_points=self.n_points,
            n_starts=self.n_starts,
            n_converged=self.n_converged,
            seed=self.seed,
            holdout=self.holdout,
            version=FIT_VERSION,
            created_at=dt.datetime.now(dt.UTC).replace(tzinfo=None),
        )


# -- objective --------------------------------------------------------------------------------


def objective_and_grad(
    form: LawForm,
    theta: FloatArray,
    logX: Mapping[str, FloatArray],
    target: FloatArray,
    weights: FloatArray,
    recipe: Recipe,
) -> tuple[FloatArray, FloatArray]:
    """Objective ``(S,)`` and its analytic gradient ``(S, p)`` for ``theta`` ``(S, p)``.

    ``weights`` is ``(n,)`` or ``(S, n)`` (bootstrap counts). Non-finite predictions give inf.
    Uses a compiled kernel for the form when one exists (``kb._kernels``), else numpy.
    """
    if USE_KERNELS:
        fused = fused_objective(form.name, theta, logX, target, weights, recipe.loss, recipe.delta)
        if fused is not None:
            return fused
    return _objective_numpy(form, theta, logX, target, weights, recipe)


def _objective_numpy(
    form: LawForm,
    theta: FloatArray,
    logX: Mapping[str, FloatArray],
    target: FloatArray,
    weights: FloatArray,
    recipe: Recipe,
) -> tuple[FloatArray, FloatArray]:
    pred, vjp = form.value_and_vjp(theta, logX)
    r = target[None, :] - pred
    if recipe.loss == "huber":
        a = np.abs(r)
        rho = np.where(a <= recipe.delta, 0.5 * r * r, recipe.delta * (a - 0.5 * recipe.delta))
        psi = np.clip(r, -recipe.delta, recipe.delta)
    else:
        rho, psi = 0.5 * r * r, r
    f = np.sum(weights * rho, axis=1)
    g = -vjp(weights * psi)
    bad = ~np.isfinite(f) | ~np.all(np.isfinite(g), axis=1)
    f[bad] = np.inf
    g[bad] = 0.0
    return f, g


# -- the fit ----------------------------------------------------------------------------------


def _prepare(
    X: Mapping[str, Any], y: Any, form: LawForm
) -> tuple[dict[str, FloatArray], dict[str, FloatArray], FloatArray]:
    """Validated inputs: raw arrays, log inputs and the target in the form's space."""
    missing = [name for name in form.inputs if name not in X]
    if missing:
        raise FitError(
            f"law {form.name!r} needs input(s) {', '.join(missing)} but the data has "
            f"{', '.join(sorted(X)) or 'none'}; pick a law whose inputs the data has "
            "(`kb laws-forms` lists them)"
        )
    yv = np.asarray(y, dtype=float).ravel()
    raw = {name: np.asarray(X[name], dtype=float).ravel() for name in form.inputs}
    for name, arr in raw.items():
        if arr.shape != yv.shape:
            raise FitError(f"input {name!r} has {arr.size} values but y has {yv.size}")
        bad = np.flatnonzero(~np.isfinite(arr) | (arr <= 0))
        if bad.size:
            raise FitError(
                f"input {name!r} must be finite and > 0 (it enters through its log); "
                f"{bad.size} bad value(s), first at index {bad[0]} ({float(arr[bad[0]]):g}); "
                "drop or fix those rows"
            )
    bad = np.flatnonzero(~np.isfinite(yv) | ((yv <= 0) if form.space == "log" else False))
    if bad.size:
        need = "finite and > 0 (log-space fit)" if form.space == "log" else "finite"
        raise FitError(
            f"values must be {need}; {bad.size} bad value(s), first at index {bad[0]} "
            f"({float(yv[bad[0]]):g}); drop those rows or use a linear-space law (log_linear, "
            "sigmoid_log)"
        )
    logX = {name: np.log(arr) for name, arr in raw.items()}
    target = np.log(yv) if form.space == "log" else yv
    return raw, logX, target


def _apply_filters(
    raw: dict[str, FloatArray], y: FloatArray, groups: FloatArray | None, recipe: Recipe
) -> tuple[dict[str, FloatArray], FloatArray, FloatArray | None, NDArray[np.intp]]:
    keep = np.arange(y.size)
    if recipe.drop_highest:
        keep = np.sort(np.argsort(y, kind="stable")[: max(y.size - recipe.drop_highest, 0)])
    sub = {k: v[keep] for k, v in raw.items()}
    return sub, y[keep], None if groups is None else groups[keep], keep


def objective_scale(recipe: Recipe) -> float:
    """Factor the optimisers see the objective multiplied by: ``1 / δ²``.

    With it the objective is ``sum_i w_i huber_1(r_i / δ)`` (or ``½ (r_i / δ)²``): residuals in
    units of δ. The stopping rules of scipy's L-BFGS-B (and of ``kb._lbfgs``) are absolute for
    objectives below 1 (``ftol · max(|f|, 1)``, ``pgtol`` on the raw gradient); a Huber loss
    with δ = 1e-3 is ~1e-3 times the residuals and ~0 on exact data, so unscaled, the
    optimisers stop long before the optimum (e.g. exponent 0.51 for exact ``C^0.5`` data, or
    Porian et al.'s "Cosine decay (attention FLOPs)" a = 0.69 where the optimum is 0.58).
    Reported objectives are unscaled.
    """
    return 1.0 / (recipe.delta * recipe.delta)


def _bounds(form: LawForm, recipe: Recipe) -> tuple[FloatArray | None, FloatArray | None]:
    return (form.lower, form.upper) if recipe.bounded else (None, None)


def _multistart(
    form: LawForm,
    logX: Mapping[str, FloatArray],
    target: FloatArray,
    recipe: Recipe,
) -> tuple[FloatArray, float, int, int]:
    """Best fit-space vector, its objective, the number of starts, and how many converged."""
    starts = form.grid(logX, target, recipe.grids.get(form.name))
    w = np.ones(target.size)
    lower, upper = _bounds(form, recipe)
    scale = objective_scale(recipe)

    # The batch stage only screens the starts (unscaled, it stops early on small objectives,
    # which keeps 4,500 starts cheap); the polish below runs on the scaled objective.
    def batch(th: FloatArray, rows: NDArray[np.intp]) -> tuple[FloatArray, FloatArray]:
        return objective_and_grad(form, th, logX, target, w, recipe)

    res = minimize_batch(
        batch, starts, lower=lower, upper=upper, max_iter=GRID_MAX_ITER,
        prune_at=GRID_PRUNE_AT if starts.shape[0] >= GRID_PRUNE_MIN else 0,
        prune_keep=GRID_PRUNE_KEEP,
    )  # fmt: skip
    n_conv = int(np.sum(res.converged & np.isfinite(res.fun)))
    finite = np.flatnonzero(np.isfinite(res.fun))
    if finite.size == 0:
        raise FitError(
            f"law {form.name!r}: no start converged ({starts.shape[0]} starts, objective not "
            "finite anywhere); check the data's units and that the law suits this metric"
        )
    order = finite[np.argsort(res.fun[finite], kind="stable")]
    picked: list[FloatArray] = []
    for i in order:
        if all(np.max(np.abs(res.x[i] - p)) > 1e-3 for p in picked):
            picked.append(res.x[i])
        if len(picked) >= N_POLISH:
            break
    bounds = None if lower is None or upper is None else list(zip(lower, upper, strict=True))

    def one(th: FloatArray) -> tuple[float, FloatArray]:
        with np.errstate(all="ignore"):
            f, g = objective_and_grad(form, th[None, :], logX, target, w, recipe)
        return float(f[0]) * scale, g[0] * scale

    best_x, best_f = res.x[order[0]], float(res.fun[order[0]])
    for x0 in picked:
        out = minimize(one, x0, jac=True, method="L-BFGS-B", bounds=bounds)
        if np.isfinite(out.fun) and out.fun / scale <= best_f:
            best_x, best_f = out.x, float(out.fun) / scale
            # A polished start that scipy reports converged counts even if the batch stage ran
            # out of iterations on it.
            n_conv = max(n_conv, int(bool(out.success)))
    logger.debug(
        "%s: %d starts, %d converged in the batch stage, best objective %.6g",
        form.name, starts.shape[0], n_conv, best_f,
    )  # fmt: skip
    if n_conv == 0:
        raise FitError(
            f"law {form.name!r}: none of {starts.shape[0]} starts converged; try another "
            "recipe or law, or check for outliers (e.g. --recipe epoch drops the worst points)"
        )
    return best_x, best_f, int(starts.shape[0]), n_conv


def huber_log_norm(delta: float) -> float:
    """log of the normaliser of the density ∝ exp(−huber_δ(x)) (Epoch's normalizing factor)."""
    z = math.sqrt(2 * math.pi) * (1 - 2 * float(norm.sf(delta)))
    return math.log(z + 2 * math.exp(-0.5 * delta * delta) / delta)


def huber_nll_and_grad(
    form: LawForm,
    z: FloatArray,
    logX: Mapping[str, FloatArray],
    target: FloatArray,
    delta: float,
) -> tuple[float, FloatArray]:
    """Negative Huber log-likelihood with free log-scale ``z[-1]`` and its exact gradient.

    ``sum_i [huber_δ(r_i / sigma) + log sigma + log Z(δ)]`` with
    ``r_i = target_i − pred_i(z[:-1])`` and ``sigma = exp(z[-1])``: Epoch's ``objective``
    (``-sum(huber_logpdf(...))``).
    """
    theta, s = z[:-1], float(z[-1])
    with np.errstate(all="ignore"):
        pred, vjp = form.value_and_vjp(theta[None, :], logX)
        sigma = math.exp(s)
        x = (target[None, :] - pred) / sigma
        a = np.abs(x)
        rho = np.where(a <= delta, 0.5 * x * x, delta * (a - 0.5 * delta))
        psi = np.clip(x, -delta, delta)
        f = float(np.sum(rho)) + target.size * (s + huber_log_norm(delta))
        g = np.empty(z.size)
        g[:-1] = -vjp(psi / sigma)[0]
        g[-1] = target.size - float(np.sum(psi * x))
    if not np.isfinite(f) or not np.all(np.isfinite(g)):
        return math.inf, np.zeros(z.size)
    return f, g


def _likelihood_fit(
    form: LawForm,
    logX: Mapping[str, FloatArray],
    target: FloatArray,
    recipe: Recipe,
    x0: FloatArray,
) -> tuple[FloatArray, float, float]:
    """Epoch's published estimator: BFGS (exact gradient) on the Huber likelihood from ``x0``.

    Returns fit-space parameters, the scale sigma and the negative log-likelihood. Like their
    notebook, it takes wherever scipy's BFGS stops: with sigma → ~5e-6 the likelihood is nearly an
    L1 fit whose valley floor is flat, and BFGS ends with "precision loss" on it.
    """
    z0 = np.append(x0, 0.0)
    out = minimize(
        lambda z: huber_nll_and_grad(form, z, logX, target, recipe.delta), z0, jac=True,
        method="BFGS",
    )  # fmt: skip
    if not np.isfinite(out.fun):
        raise FitError(
            f"law {form.name!r}: the Huber likelihood fit of recipe {recipe.name!r} diverged "
            f"from its start; use --recipe standard for the plain Huber-loss fit"
        )
    return np.asarray(out.x[:-1], dtype=float), math.exp(float(out.x[-1])), float(out.fun)


def _point_estimate(
    form: LawForm,
    logX: Mapping[str, FloatArray],
    target: FloatArray,
    recipe: Recipe,
) -> tuple[FloatArray, float, int, int, dict[str, Any]]:
    """The recipe's point estimate: the grid fit, then (``huber_likelihood``) the likelihood fit.

    Returns fit-space parameters, their objective, the number of grid starts, how many of them
    converged, and options to report (``grid_fit`` and ``scale`` for the likelihood estimator).
    The main fit and the held-out refit both call this, so both use the same estimator.
    """
    theta, obj, n_starts, n_conv = _multistart(form, logX, target, recipe)
    extra: dict[str, Any] = {}
    if recipe.estimator == "huber_likelihood":
        extra["grid_fit"] = {"params": form.published(theta), "objective": obj}
        theta, sigma, obj = _likelihood_fit(
            form, logX, target, recipe, _recipe_start(form, recipe, theta)
        )
        extra["scale"] = sigma
    return theta, obj, n_starts, n_conv, extra


def _recipe_start(form: LawForm, recipe: Recipe, fallback: FloatArray) -> FloatArray:
    """The recipe's fit-space start for ``form`` (``Recipe.starts``), else ``fallback``."""
    start = recipe.starts.get(form.name)
    if not start:
        return fallback
    return np.array([start[name] for name in form.param_names], dtype=float)


def _resample_weights(
    n: int,
    groups: FloatArray | None,
    n_boot: int,
    rng: np.random.Generator,
    legacy_seed: int | None = None,
) -> FloatArray:
    """Bootstrap counts ``(n_boot, n)``: points drawn with replacement, or whole groups.

    With ``legacy_seed`` points are drawn as Epoch's notebook does (``np.random.seed(s)``, then
    ``np.random.choice(indices, size=n)`` per resample), from a private ``RandomState``.
    """
    if legacy_seed is not None and groups is None:
        legacy = np.random.RandomState(legacy_seed)
        idx = np.stack([legacy.choice(n, size=n, replace=True) for _ in range(n_boot)])
        return np.stack([np.bincount(r, minlength=n) for r in idx]).astype(float)
    if groups is None:
        idx = rng.integers(0, n, size=(n_boot, n))
        return np.stack([np.bincount(r, minlength=n) for r in idx]).astype(float)
    labels, inv = np.unique(groups, return_inverse=True)
    picks = rng.integers(0, labels.size, size=(n_boot, labels.size))
    counts = np.stack([np.bincount(r, minlength=labels.size) for r in picks]).astype(float)
    return counts[:, inv]


def _bootstrap(
    form: LawForm,
    logX: Mapping[str, FloatArray],
    target: FloatArray,
    recipe: Recipe,
    theta: FloatArray,
    weights: FloatArray,
    on_progress: Progress | None,
) -> tuple[FloatArray, NDArray[np.bool_]]:
    """Refit every resample (rows of ``weights``) from ``theta``.

    Returns the refits ``(n_boot, p)`` and which of them converged (met the stopping test with
    a finite objective, not just ran out of iterations or started at a non-finite objective).
    """
    lower, upper = _bounds(form, recipe)
    n_boot = weights.shape[0]
    # Chunks pace the progress callback (the Refit page jumped from 0 to done for n_boot < 2000);
    # each row is refitted on its own, so the chunking does not change the results.
    chunks = np.array_split(np.arange(n_boot), max(1, min(20, n_boot // 25)))
    done = 0

    def run(rows: NDArray[np.intp]) -> tuple[FloatArray, NDArray[np.bool_]]:
        w = weights[rows]

        def batch(th: FloatArray, r: NDArray[np.intp]) -> tuple[FloatArray, FloatArray]:
            return objective_and_grad(form, th, logX, target, w[r], recipe)

        x0 = np.repeat(theta[None, :], rows.size, axis=0)
        # Relative stopping: the objective is O(1e-3), so scipy's absolute floor would stop the
        # refits right at the warm start (the loss-scale trap Besiroglu et al. describe).
        res = minimize_batch(
            batch, x0, lower=lower, upper=upper, ftol=BOOT_FTOL, f_floor=0.0, max_iter=1000
        )
        return res.x, res.converged & np.isfinite(res.fun)

    out = np.empty((n_boot, theta.size))
    ok = np.zeros(n_boot, dtype=bool)
    for rows in chunks:  # chunks only pace the progress callback; each runs as one batch
        out[rows], ok[rows] = run(rows)
        done += rows.size
        if on_progress is not None:
            on_progress(done, n_boot)
    return out, ok


def _summaries(
    form: LawForm, boot: FloatArray, budgets: Sequence[float], level: float
) -> dict[str, list[float]]:
    pub = form.to_published(boot)
    cols: dict[str, FloatArray] = {n: pub[:, i] for i, n in enumerate(form.published_names)}
    cols.update(derived_quantities(form, pub, budgets))
    lo, hi = 50 * (1 - level), 50 * (1 + level)
    out: dict[str, list[float]] = {}
    for name, vals in cols.items():
        v = vals[np.isfinite(vals)]
        if v.size:
            out[name] = [float(np.percentile(v, lo)), float(np.percentile(v, hi))]
    return out


def fit_arrays(
    X: Mapping[str, Any],
    y: Any,
    *,
    law: str,
    recipe: str | Recipe = "standard",
    n_boot: int = 0,
    seed: int = 0,
    holdout: Holdout | None = None,
    groups: Sequence[Any] | None = None,
    budgets: Sequence[float] = (5.76e23,),
    level: float = INTERVAL_LEVEL,
    fixed: Mapping[str, float] | None = None,
    on_progress: Progress | None = None,
) -> FitResult:
    """Fit law form ``law`` to inputs ``X`` (column name -> array) and values ``y``.

    Args:
        X: the form's inputs by name (``n_params``, ``n_tokens``, ``x`` ...), all > 0.
        y: measured values (> 0 for log-space forms).
        recipe: a name in ``kb.recipes.RECIPES``, or a ``Recipe`` (e.g. one with another δ).
        n_boot: bootstrap resamples (0: no intervals).
        holdout: also fit on the smaller scales and report the error on the largest.
        groups: run key per point; the bootstrap then resamples whole runs.
        budgets: compute budgets (FLOP) for derived N_opt, D_opt, loss at a budget.
        level: interval coverage (0.95: 2.5th and 97.5th percentiles).
        fixed: fit-space parameters held at given values (e.g. a two-stage procedure).

    Raises:
        FitError: too few points, bad values, missing inputs, or no start converged.
    """
    base = get_form(law)
    form = base.with_fixed(fixed) if fixed else base
    rec = recipe if isinstance(recipe, Recipe) else get_recipe(recipe)
    raw, _, _ = _prepare(X, y, form)
    yv = np.asarray(y, dtype=float).ravel()
    garr = None if groups is None else np.asarray([str(g) for g in groups], dtype=object)
    scales = {
        k: np.asarray(X[k], dtype=float).ravel()
        for k in ("compute_flops", "n_params", "n_tokens")
        if k in X and k not in raw and np.asarray(X[k]).size == yv.size
    }
    raw, yv, garr, keep = _apply_filters(raw, yv, garr, rec)
    scales = {k: v[keep] for k, v in scales.items()}
    n_par = len(form.params)
    if yv.size <= n_par:
        raise FitError(
            f"law {form.name!r} has {n_par} parameters but only {yv.size} point(s) remain"
            f"{' after the recipe drops ' + str(rec.drop_highest) if rec.drop_highest else ''}; "
            "it needs more points than parameters: add data or choose a law with fewer parameters"
        )
    _check_varies(raw, yv, form)
    _, logX, target = _prepare(raw, yv, form)
    theta, obj, n_starts, n_conv, extra = _point_estimate(form, logX, target, rec)
    pred = form.predict_fit_space(theta, logX)
    params = form.published(theta)
    derived = {
        k: float(v[0])
        for k, v in derived_quantities(form, form.to_published(theta[None, :]), budgets).items()
    }
    intervals: dict[str, list[float]] = {}
    boot = None
    n_boot_failed = 0
    if n_boot > 0:
        scheme = rec.bootstrap
        use_groups = garr if scheme in ("runs", "auto") else None
        if use_groups is not None and scheme == "auto" and np.unique(use_groups).size == yv.size:
            use_groups = None  # one point per run: resampling runs is resampling points
        if scheme == "runs" and use_groups is None:
            raise FitError("recipe bootstraps by run but the points carry no run_key")
        weights = _resample_weights(
            yv.size, use_groups, n_boot, np.random.default_rng(seed),
            legacy_seed=seed if rec.resampler == "legacy" else None,
        )  # fmt: skip
        start = _recipe_start(form, rec, theta) if rec.boot_start == "recipe" else theta
        boot, boot_ok = _bootstrap(form, logX, target, rec, start, weights, on_progress)
        if not boot_ok.all():
            # A refit that did not converge is not a draw from the estimator's distribution:
            # intervals and standard deviations use the refits that converged, and the count of
            # the others is reported (FitResult.n_boot_failed, options['boot_failed']).
            n_boot_failed = int(np.sum(~boot_ok))
            extra["boot_failed"] = n_boot_failed
            logger.warning(
                "%s: %d of %d bootstrap refits did not converge; %d converged%s",
                form.name, n_boot_failed, n_boot, n_boot - n_boot_failed,
                "" if n_boot - n_boot_failed >= 2 else ", too few for intervals",
            )  # fmt: skip
            boot = boot[boot_ok]
        intervals = _summaries(form, boot, budgets, level) if boot.shape[0] >= 2 else {}
        pub = form.to_published(boot)
        if boot.shape[0] >= 2:
            extra["boot_sd"] = {
                name: float(np.std(pub[np.isfinite(pub[:, i]), i], ddof=1))
                for i, name in enumerate(form.published_names)
            }
    hold = None
    if holdout is not None:
        hold = holdout_check(raw, yv, form=form, recipe=rec, holdout=holdout, scales=scales)
    return FitResult(
        law=base.name,
        recipe=rec.name,
        theta=theta if not fixed else _full_theta(base, theta, fixed),
        params=params,
        intervals=intervals,
        derived=derived,
        objective=obj,
        n_points=int(yv.size),
        n_starts=n_starts,
        n_converged=n_conv,
        seed=seed,
        n_boot=n_boot,
        n_boot_failed=n_boot_failed,
        residuals=target - pred,
        holdout=hold,
        options={
            "n_boot": n_boot,
            "level": level,
            "budgets": list(budgets),
            "holdout": None if holdout is None else [holdout.axis, holdout.fraction],
            **({"fixed": dict(fixed)} if fixed else {}),
            **_recipe_changes(rec),
            **extra,
        },
        boot_params=(
            boot
            if boot is None or not fixed
            else np.array([_full_theta(base, row, fixed) for row in boot])
        ),
    )


# Inputs a law's terms are identified from only if they vary (unique_tokens may be constant: the
# data-constrained form still learns its parameters from n_tokens / unique_tokens).
_MUST_VARY = ("x", "compute_flops", "n_params", "n_tokens")


def _check_varies(raw: Mapping[str, FloatArray], y: FloatArray, form: LawForm) -> None:
    """Refuse data a law cannot be identified from: a constant input, or all values equal.

    With one value of an input its term is a constant, indistinguishable from the others (or
    from E); with equal values there is no trend. The optimiser would still stop somewhere and
    the bootstrap would give a zero-width interval around an arbitrary point.
    """
    for name in _MUST_VARY:
        arr = raw.get(name)
        if arr is not None and np.unique(arr).size < 2:
            raise FitError(
                f"input {name!r} has the same value ({arr[0]:.6g}) at all {arr.size} points, so "
                f"law {form.name!r} cannot tell its effect from a constant; fit data that vary "
                f"{name} (or hold its term fixed)"
            )
    if np.unique(y).size < 2:
        raise FitError(
            f"all {y.size} values are equal ({y[0]:.6g}): there is no trend for law "
            f"{form.name!r} to fit; check the metric (--metric) and the points (`kb points`)"
        )


def _recipe_changes(rec: Recipe) -> dict[str, Any]:
    """Settings of a customised recipe that differ from the registered one of its name."""
    registered = RECIPES.get(rec.name)
    if registered is None or registered == rec:
        return {}
    mine, theirs = rec.model_dump(), registered.model_dump()
    return {f"recipe.{k}": v for k, v in mine.items() if theirs.get(k) != v}


def _full_theta(base: LawForm, theta: FloatArray, fixed: Mapping[str, float]) -> FloatArray:
    it = iter(theta)
    return np.array([fixed[n] if n in fixed else next(it) for n in base.param_names], dtype=float)


def _axis_values(raw: Mapping[str, FloatArray], axis: str) -> tuple[str, FloatArray]:
    """The column a holdout along ``axis`` splits on (``x``: a single-input form's own input,
    when the data has no compute), and its values."""
    if axis == "compute":
        if "compute_flops" in raw:
            return "compute_flops", raw["compute_flops"]
        if "n_params" in raw and "n_tokens" in raw:
            return "6ND", 6.0 * raw["n_params"] * raw["n_tokens"]
        if "x" in raw:
            return "x", raw["x"]
    elif axis in raw:
        return axis, raw[axis]
    raise FitError(f"holdout along {axis!r}: the data has no such column ({', '.join(raw)})")


def holdout_column(X: Mapping[str, Any], axis: str, x: str | None = None) -> str | None:
    """The column a holdout along ``axis`` splits ``X`` (as from :func:`points_to_arrays`) on.

    Named as a reader knows it: ``compute_flops``, ``6ND``, a single-input form's own x by its
    name (``x``: e.g. ``train_set_size`` for Caballero et al.'s data, which has no compute),
    or the axis itself; None when the data has no such column.
    """
    try:
        column, _ = _axis_values(X, axis)
    except FitError:
        return None
    return (x or "x") if column == "x" else column


def holdout_label(holdout: Mapping[str, Any], x: str | None = None) -> str:
    """``"compute:0.2"``, plus the column split on when it is not the axis's own.

    A split ``along compute`` of data without compute is along the law's x (``_axis_values``):
    ``"compute:0.2 (split on train_set_size, the law's x; the data has no compute)"``.
    """
    axis, column = holdout["axis"], holdout.get("column", holdout["axis"])
    text = f"{axis}:{holdout['fraction']}"
    if column == "x":
        return f"{text} (split on {x or 'x'}, the law's x; the data has no {axis})"
    if column not in (axis, "compute_flops", "6ND"):
        return f"{text} (split on {column})"
    return text


def holdout_sentence(holdout: Mapping[str, Any], x: str | None = None, recipe: str = "") -> str:
    """What a holdout held out and how its extrapolation did, in one sentence for people.

    ``"held out: the 48 points with compute_flops >= 5.596e+20 (the largest 20%); a refit of
    the other 192 (epoch recipe, huber_likelihood estimator) predicts them with mean relative
    error 1.01%, max 3.41%"``: ``kb fit``'s ``holdout`` line gave the counts and errors but not
    where the split fell nor what the training fit was.
    """
    column = holdout.get("column", holdout["axis"])
    name = (x or "x") if column == "x" else ("6·N·D" if column == "6ND" else column)
    how = ", ".join(
        part
        for part in (
            f"{recipe} recipe" if recipe else "",
            f"{holdout['estimator']} estimator" if holdout.get("estimator") else "",
        )
        if part
    )
    text = (
        f"held out: the {holdout['n_test']} points with {name} >= {holdout['threshold']:.4g} "
        f"(the largest {holdout['fraction']:.0%}); a refit of the other {holdout['n_train']}"
        + (f" ({how})" if how else "")
        + f" predicts them with mean relative error {holdout['mean_rel_error']:.2%}"
    )
    if "max_rel_error" in holdout:
        text += f", max {holdout['max_rel_error']:.2%}"
    return text


def holdout_check(
    raw: Mapping[str, FloatArray],
    y: FloatArray,
    *,
    form: LawForm,
    recipe: Recipe,
    holdout: Holdout,
    scales: Mapping[str, FloatArray] | None = None,
) -> dict[str, Any]:
    """Fit on points below the (1 − fraction) quantile of ``axis``; score the rest.

    The training points are fitted with the recipe's own point estimate (``_point_estimate``: the
    grid fit, then the likelihood fit for ``estimator = 'huber_likelihood'`` recipes such as
    epoch), the same estimator as the main fit. Returns axis, column (what was split on:
    compute_flops, 6ND, or ``x`` for a single-input form's input when the data has no compute),
    fraction, threshold, n_train, n_test, rmse (in the form's residual space: log units for
    losses), space, estimator (the recipe's), mean and max relative error of the predicted
    values.
    """
    column, vals = _axis_values({**(scales or {}), **raw}, holdout.axis)
    threshold = float(np.quantile(vals, 1.0 - holdout.fraction))
    test = vals >= threshold
    if test.all():
        test = vals > threshold
    n_test, n_train = int(test.sum()), int((~test).sum())
    if n_test == 0 or n_train <= len(form.params):
        raise FitError(
            f"holdout {holdout.axis}:{holdout.fraction}: {n_train} training and {n_test} test "
            "points; need more training points than parameters and at least one test point"
        )
    train = {k: v[~test] for k, v in raw.items()}
    _, logX, target = _prepare(train, y[~test], form)
    # ``raw`` and ``y`` have already been through the recipe's point filter; the training subset is
    # not filtered again, but it gets the recipe's own estimator (e.g. epoch's likelihood fit).
    plain = recipe.model_copy(update={"drop_highest": 0})
    theta, _, _, _, _ = _point_estimate(form, logX, target, plain)
    pred = form.predict(theta, {k: v[test] for k, v in raw.items()})
    actual = y[test]
    resid = np.log(actual) - np.log(pred) if form.space == "log" else actual - pred
    rel = np.abs(pred - actual) / np.abs(actual)
    return {
        "axis": holdout.axis,
        "column": column,
        "fraction": holdout.fraction,
        "threshold": threshold,
        "n_train": n_train,
        "n_test": n_test,
        "rmse": float(np.sqrt(np.mean(resid**2))),
        "space": form.space,
        "estimator": recipe.estimator,
        "mean_rel_error": float(np.mean(rel)),
        "max_rel_error": float(np.max(rel)),
    }


# -- points and the store --------------------------------------------------------------------

SINGLE_INPUT_DEFAULT = "compute_flops"


def points_to_arrays(
    points: Sequence[Point], form: LawForm, *, x: str = SINGLE_INPUT_DEFAULT
) -> tuple[dict[str, FloatArray], FloatArray, list[str] | None]:
    """The arrays a form needs from points: inputs, values and run keys (None if no run keys).

    ``n_tokens`` missing but compute present gives ``C / (6N)``, and compute missing gives
    ``6ND`` (the usual approximation; Epoch and Hoffmann et al. use it). Single-input forms read
    ``x`` (a point field, or a key of ``extras``). ``unique_tokens`` comes from ``extras``.
    """
    if not points:
        raise FitError("no points to fit; check the dataset name and --metric")
    cols: dict[str, list[float | None]] = {}
    for name in form.inputs:
        field_name = x if name == "x" else name
        cols[name] = [point_value(p, field_name) for p in points]
    for name, values in cols.items():
        missing = [i for i, v in enumerate(values) if v is None]
        if missing:
            p = points[missing[0]]
            raise FitError(
                f"law {form.name!r} needs {x if name == 'x' else name!r} for every point; "
                f"{len(missing)} of {len(points)} lack it (first: {p.source_file} row "
                f"{p.source_row}); "
                + (
                    "choose another x axis (kb fit --x) or another law"
                    if name == "x"
                    else "choose a law whose inputs every point has, e.g. a single-input law "
                    "such as power_law over an axis the points have"
                )
            )
    X = {k: np.array(v, dtype=float) for k, v in cols.items()}
    for axis in ("compute_flops", "n_params", "n_tokens"):  # for holdouts along other axes
        vals = [point_value(p, axis) for p in points]
        if axis not in X and all(v is not None for v in vals):
            X[axis] = np.array(vals, dtype=float)
    y = np.array([p.value for p in points], dtype=float)
    keys = [p.run_key for p in points]
    groups = (
        None if all(k is None for k in keys) else [k or f"point-{i}" for i, k in enumerate(keys)]
    )
    return X, y, groups


def fit_points(
    points: Sequence[Point],
    *,
    law: str,
    recipe: str | Recipe = "standard",
    x: str = SINGLE_INPUT_DEFAULT,
    n_boot: int = 0,
    seed: int = 0,
    holdout: Holdout | None = None,
    budgets: Sequence[float] = (5.76e23,),
    on_progress: Progress | None = None,
) -> FitResult:
    """Fit ``law`` to ``Point`` records (one metric); the bootstrap resamples by ``run_key``.

    ``x`` names the column single-input forms use (``compute_flops``, ``n_params``,
    ``n_tokens`` or an ``extras`` key).
    """
    metrics = sorted({p.metric for p in points})
    if len(metrics) > 1:
        raise FitError(f"points mix metrics {metrics}; fit one metric at a time (--metric)")
    form = get_form(law)
    _check_conventions(points, form, x)
    X, y, groups = points_to_arrays(points, form, x=x)
    if form.space == "log":
        bad = [p for p in points if not (math.isfinite(p.value) and p.value > 0)]
        if bad:
            raise FitError(
                f"law {form.name!r} fits log(value), so every value must be > 0; {len(bad)} of "
                f"{len(points)} are not (first: {bad[0].source_file} row {bad[0].source_row}, "
                f"column 'value' = {bad[0].value:g}); drop those rows or use a linear-space law "
                "(log_linear, sigmoid_log)"
            )
    result = fit_arrays(
        X, y, law=law, recipe=recipe, n_boot=n_boot, seed=seed, holdout=holdout,
        groups=groups, budgets=budgets, on_progress=on_progress,
    )  # fmt: skip
    if "x" in form.inputs:
        options = {**result.options, "x": x}
        return _replace(result, options=options)
    return result


def _check_conventions(points: Sequence[Point], form: LawForm, x: str) -> None:
    """Refuse to pool points whose N or compute are counted differently into one fit.

    An exponent in N or in C means something only under one counting (non-embedding vs total N,
    6ND vs FLOPs counted with attention): Porian et al.'s optima, e.g., come under three
    compute definitions, and one fit through all of them gives an exponent of none.
    """
    problem = mixed_conventions(points, form.name, x)
    if problem:
        raise FitError(problem)


def mixed_conventions(points: Sequence[Point], law: str, x: str = "compute_flops") -> str | None:
    """Why ``law`` may not pool ``points`` (they count N or compute in several ways), or None.

    Only the columns the law reads count: a power law in ``n_params`` may pool compute
    conventions. ``fit_points`` raises this message as a ``FitError``.
    """
    form = get_form(law)
    used = {x if name == "x" else name for name in form.inputs}
    for column, attr, what in (
        ("compute_flops", "compute_method", "compute is counted"),
        ("n_params", "n_params_kind", "N is counted"),
    ):
        if column not in used:
            continue
        kinds = sorted({str(v) for p in points if (v := getattr(p, attr)) is not None})
        if len(kinds) > 1:
            return (
                f"the points mix {len(kinds)} ways {what} ({'; '.join(kinds)}); one exponent "
                "through all of them has no single meaning: fit one setting at a time "
                "(`kb fit DATASET --setting LABEL`, or `kb optima DATASET` for compute-optimal "
                "data)"
            )
    return None


def _replace(result: FitResult, **changes: Any) -> FitResult:
    from dataclasses import replace

    return replace(result, **changes)


def dataset_points(
    store: Store, dataset: str, metric: str | None = None
) -> tuple[list[Point], str]:
    """The dataset's points for one metric (the only one, or ``loss``-like if several), in
    source order (file, row) like ``kb.datasets.points``: a bootstrap's resamples follow the
    point order, so `kb fit` and the app's Refit page draw the same ones for a seed.

    Only the chosen metric's points are read (Bhagia et al.'s ladder holds 111 metrics: reading
    its 143,949 points to keep 1,579 took 15 s of a `kb fit`).
    """
    rows = (
        store.cursor()
        .execute(f"SELECT DISTINCT metric FROM {Point.table} WHERE dataset = ?", [dataset])
        .fetchall()
    )
    metrics = sorted(str(r[0]) for r in rows)
    if not metrics:
        if store.get(Dataset, dataset) is not None:
            raise FitError(f"dataset {dataset!r} has no points in this knowledge base")
        raise FitError(
            f"dataset {dataset!r} has no points in this knowledge base; "
            + dataset_hint(dataset, _dataset_names(store))
        )
    recorded = store.get_meta(DEFAULT_METRIC_KEY.format(dataset)) if metric is None else None
    metric = _pick_metric(metrics, metric, recorded, f"dataset {dataset!r}")
    points = store.select(
        Point,
        "dataset = ? AND metric = ?",
        [dataset, metric],
        order_by="source_file, source_row, metric, point_id",
    )
    return points, metric


def _pick_metric(
    metrics: Sequence[str], metric: str | None, recorded: str | None, what: str
) -> str:
    """``metric`` if ``metrics`` (sorted) holds it; with none named, the only metric, else
    ``recorded`` (a dataset's default), else the one metric named like a loss.

    Raises:
        FitError: several metrics and none chosen, or ``metric`` is not one of them.
    """
    if metric is None:
        if len(metrics) == 1:
            return metrics[0]
        if recorded is not None and recorded in metrics:
            return recorded  # the dataset's default metric (`kb datasets`, `kb points`)
        lossy = [m for m in metrics if "loss" in m]
        if len(lossy) != 1:
            raise FitError(f"{what} has metrics {', '.join(metrics)}; choose one with --metric")
        return lossy[0]
    if metric not in metrics:
        raise FitError(f"{what} has no metric {metric!r}; it has {', '.join(metrics)}")
    return metric


def _of_metric(points: Sequence[Point], metric: str | None, what: str) -> tuple[list[Point], str]:
    """The points of one metric (``_pick_metric``) of points in memory (an uploaded file)."""
    metric = _pick_metric(sorted({p.metric for p in points}), metric, None, what)
    return [p for p in points if p.metric == metric], metric


# Which of a dataset's points a fit reads (``fit_dataset(selection=...)``, the registry's
# ``conventions.dataset_points``): every point, or each run's last one.
POINT_SELECTIONS = {
    "all": "every point",
    "last_per_run": "each run's last logged point (its final checkpoint), not intermediate ones",
}


def select_points(points: Sequence[Point], selection: str = "all") -> list[Point]:
    """The points a fit reads under ``selection`` (a key of ``POINT_SELECTIONS``).

    Raises:
        BadInputError: an unknown selection.
    """
    if selection == "all":
        return list(points)
    if selection == "last_per_run":
        from kb.optima import last_points

        return last_points(points)
    raise BadInputError(
        f"point selection {selection!r}: expected one of {', '.join(POINT_SELECTIONS)}"
    )


def _dataset_names(store: Store) -> list[str]:
    rows = store.cursor().execute(f"SELECT DISTINCT dataset FROM {Point.table}").fetchall()
    return sorted({str(r[0]) for r in rows} | {d.name for d in store.select(Dataset)})


def fit_dataset(
    store: Store,
    dataset: str,
    *,
    law: str,
    recipe: str | Recipe = "standard",
    metric: str | None = None,
    x: str = SINGLE_INPUT_DEFAULT,
    n_boot: int = 0,
    seed: int = 0,
    holdout: Holdout | None = None,
    save: bool = True,
    on_progress: Progress | None = None,
    setting: str | Mapping[str, str] | None = None,
    where: Mapping[str, str] | None = None,
    selection: str = "all",
    runs: Sequence[str] | None = None,
) -> FitResult:
    """Fit ``law`` to a stored dataset's points; with ``save`` upsert the ``fits`` row.

    The points are chosen in this order: ``metric``'s (``dataset_points``), then ``selection``
    (``select_points``: ``"all"``, or ``"last_per_run"``, each run's final checkpoint, recorded
    as ``options['points']``), then ``where``, then ``setting``.

    ``setting`` given as text restricts the fit to one experimental setting
    (``kb.optima.select_setting``: a ``setting_label`` or the setting's JSON); the result's
    ``options['setting']`` is then that setting (a dict, as ``kb optima`` records it), so it
    enters the ``fit_id``. Given as a mapping (a registry law's ``conventions.setting``, as
    ``kb audit`` passes it), it keeps the points whose text extras hold each of its fields (a
    subset match) and is recorded as given; no such point is a ``FitError``. ``where`` keeps
    the points whose text extras hold each ``field = value`` (``kb.optima.points_where``; it may
    pool settings, e.g. every RedPajama run of Gadre et al.), recorded as ``options['where']``.
    ``runs`` (a law's ``conventions.fit_runs``: the runs its paper fitted) keeps, last, the
    points of those runs only (a named run with no point is a ``FitError``), recorded as
    ``options['runs']`` with ``options['n_points_all']``, the points before they were chosen.
    """
    from kb.optima import matching, points_where, select_setting

    points, metric = dataset_points(store, dataset, metric)
    points = select_points(points, selection)
    if where:
        points = points_where(points, where, dataset=f"dataset {dataset!r} ({metric})")
    chosen: dict[str, str] | None = None
    if isinstance(setting, Mapping):
        if setting:
            chosen = dict(setting)
            points = matching(points, chosen)
            if not points:
                raise FitError(
                    f"no point of {metric!r} in dataset {dataset!r} has the law's setting "
                    f"{json.dumps(chosen, sort_keys=True)} (conventions.setting)"
                )
    elif setting is not None:
        chosen, points = select_setting(points, setting, dataset=f"dataset {dataset!r}")
    n_all = len(points)
    if runs:
        from kb.registry import run_points

        try:
            points = run_points(points, runs, dataset=dataset, where="the paper's runs")
        except BadInputError as err:
            raise FitError(str(err)) from err
    result = fit_points(
        points, law=law, recipe=recipe, x=x, n_boot=n_boot, seed=seed, holdout=holdout,
        on_progress=on_progress,
    )  # fmt: skip
    options = {**result.options, "dataset": dataset, "metric": metric}
    if chosen is not None:
        options["setting"] = chosen
    if where:
        options["where"] = dict(sorted(where.items()))
    if selection != "all":
        options["points"] = selection
    if runs:
        options.update(runs=list(runs), n_points_all=n_all)
    result = _replace(result, options=options)
    if save:
        store.upsert([result.to_record(dataset, metric=metric)])
    return result


# How a fit chose its points among those of its metric and setting, named as `kb audit --json`
# names them (kb.audit.AuditRow.selection): the runs a paper fitted, or every point.
SELECT_PAPER_RUNS = "paper_runs"
SELECT_ALL = "all"


@dataclass(frozen=True)
class PaperRuns:
    """The runs the papers of the laws beside a refit fitted (``conventions.fit_runs``)."""

    runs: tuple[str, ...]
    law_ids: tuple[str, ...]
    source: str | None  # conventions.fit_runs_source: where the selection is stated


def paper_runs(laws: Iterable[ReportedLaw]) -> PaperRuns | None:
    """The runs that the ``laws`` beside a refit (``kb.registry.laws_beside_refit``) were
    fitted on by their papers, or None when none names them (every point is then fitted).

    Gadre et al. fitted 5 of the 34-35 released runs of a training set; `kb fit` and the Refit
    page refit those by default, as `kb audit` does.

    Raises:
        FitError: two laws name different runs: no one selection redoes both papers' fits.
    """
    from kb.registry import FIT_RUNS_SOURCE, law_fit_runs

    named = [(law, runs) for law in laws if (runs := law_fit_runs(law)) is not None]
    if not named:
        return None
    first = named[0][1]
    other = [law.law_id for law, runs in named if set(runs) != set(first)]
    if other:
        raise FitError(
            f"the laws beside this fit name different runs their papers fitted "
            f"(conventions.fit_runs of {named[0][0].law_id} and {', '.join(other)}); "
            "expected one selection: fit one law's setting, or every point (--all-points)"
        )
    sources = [law.conventions.get(FIT_RUNS_SOURCE) for law, _ in named]
    return PaperRuns(
        runs=first,
        law_ids=tuple(law.law_id for law, _ in named),
        source=next((s for s in sources if s), None),
    )


def selection_fields(selection: str, n_points_all: int, source: str | None) -> dict[str, Any]:
    """A fit's point selection as `kb audit --json` gives it (``kb.audit.AuditRow``), for
    `kb fit --json` and the Refit page's download.

    ``selection``: ``SELECT_PAPER_RUNS`` or ``SELECT_ALL``; ``n_points_all``: the points before
    the paper's selection (the fit's own count when every point was fitted); ``source``: where
    the paper states its runs (kept only with ``SELECT_PAPER_RUNS``).
    """
    return {
        "selection": selection,
        "n_points_all": n_points_all,
        "selection_source": source if selection == SELECT_PAPER_RUNS else None,
    }


def upload_points(
    points: Sequence[Point],
    *,
    name: str,
    metric: str | None = None,
    where: Mapping[str, str] | None = None,
) -> tuple[list[Point], str]:
    """The points of an uploaded file (``kb.uploads.parse_upload``) that ``fit_upload`` fits:
    one metric (``metric``, else the only one, else the one named like a loss), then those
    whose text columns hold each ``where`` field = value.

    Raises:
        FitError: several metrics and none chosen, or none of ``metric``.
        BadInputError: no point matches ``where`` (the message lists the values found).
    """
    from kb.optima import points_where

    chosen, metric = _of_metric(points, metric, name)
    if where:
        chosen = points_where(chosen, where, dataset=f"{name} ({metric})")
    return chosen, metric


def fit_upload(
    points: Sequence[Point],
    *,
    name: str,
    law: str,
    recipe: str | Recipe = "standard",
    metric: str | None = None,
    x: str = SINGLE_INPUT_DEFAULT,
    n_boot: int = 0,
    seed: int = 0,
    holdout: Holdout | None = None,
    on_progress: Progress | None = None,
    where: Mapping[str, str] | None = None,
) -> FitResult:
    """Fit ``law`` to the points of an uploaded file ``name`` (``kb.uploads.parse_upload``).

    The same fit as ``fit_dataset`` on the same points, with the points chosen by
    ``upload_points``. Never stored: a user's file is not a released dataset of the knowledge
    base. ``options`` records ``dataset`` = None, ``data`` = ``name``, ``metric`` and ``where``.
    """
    chosen, metric = upload_points(points, name=name, metric=metric, where=where)
    result = fit_points(
        chosen, law=law, recipe=recipe, x=x, n_boot=n_boot, seed=seed, holdout=holdout,
        on_progress=on_progress,
    )  # fmt: skip
    options = {**result.options, "dataset": None, "data": name, "metric": metric}
    if where:
        options["where"] = dict(sorted(where.items()))
    return _replace(result, options=options)


def compare_forms(
    source: Store | Mapping[str, Any],
    *,
    dataset: str | None = None,
    y: Any = None,
    forms: Sequence[str] | None = None,
    recipe: str | Recipe = "standard",
    metric: str | None = None,
    x: str = SINGLE_INPUT_DEFAULT,
    holdout: Holdout | None = None,
    seed: int = 0,
) -> list[dict[str, Any]]:
    """Fit several forms to one dataset (a store + ``dataset``, or arrays + ``y``) and compare.

    Each row: law, n_params (fitted parameters), objective, train RMSE (residual space), and the
    holdout's n_train, n_test, rmse and relative errors. Forms whose inputs the data lacks are
    listed with ``skipped`` saying why. Rows are sorted by holdout RMSE (else train RMSE).
    """
    holdout = holdout or Holdout()
    rows: list[dict[str, Any]] = []
    for name in forms or list(get_form_names()):
        form = get_form(name)
        try:
            if isinstance(source, Store):
                if dataset is None:
                    raise BadInputError("compare_forms on a store needs dataset=")
                points, _ = dataset_points(source, dataset, metric)
                res = fit_points(points, law=name, recipe=recipe, x=x, seed=seed, holdout=holdout)
            else:
                res = fit_arrays(source, y, law=name, recipe=recipe, seed=seed, holdout=holdout)
        except FitError as err:
            rows.append({"law": name, "skipped": str(err)})
            continue
        rows.append(
            {
                "law": name,
                "n_fitted": len(form.params),
                "objective": res.objective,
                "train_rmse": float(np.sqrt(np.mean(res.residuals**2))),
                **{f"holdout_{k}": v for k, v in (res.holdout or {}).items()},
            }
        )
    rows.sort(
        key=lambda r: (r.get("skipped") is not None, r.get("holdout_rmse", r.get("train_rmse", 0)))
    )
    return rows


def get_form_names() -> list[str]:
    """Names of every registered form."""
    from kb.laws import FORMS

    return list(FORMS)
