"""Published scaling-law forms: data plus one pure, vectorised prediction function each.

A :class:`LawForm` knows its formula, its parameters (in the space it is fitted in, with bounds
and a starting grid), its inputs, and how to predict and differentiate. Fitting lives in
``kb.fit``; a form is never mutated by a fit.

Conventions:

- Every input is a positive scale quantity and enters through its natural log.
- ``space == "log"``: the form predicts ``log y`` (losses; residuals are taken in log space, as
  Hoffmann et al. and Besiroglu et al. do). ``space == "linear"``: it predicts ``y`` itself
  (accuracy-type metrics, log-linear fits).
- Fit-space parameters follow the source paper (Chinchilla: ``e = log E``, ``a = log A``,
  ``b = log B`` with a log-sum-exp prediction). :meth:`LawForm.published` maps them back to the
  published form (``E, A, B, alpha, beta``) so comparisons compare like with like.
- ``jacobian(theta, X)`` takes ``theta`` of shape ``(S, p)`` (S starts or bootstrap samples at
  once) and returns the prediction ``(S, n)`` and its derivative ``(S, n, p)``; ``kb.fit`` turns
  that into the objective's analytic gradient.

Single-input forms (``power_law`` and friends) take the generic input ``x``; ``kb.fit`` maps a
dataset column (compute by default) onto it.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from numpy.typing import NDArray

from kb.errors import BadInputError, UnknownLawError

__all__ = ["FORMS", "LawForm", "Param", "get_form"]

FloatArray = NDArray[np.float64]
Inputs = Mapping[str, FloatArray]
JacobianFn = Callable[[FloatArray, Mapping[str, FloatArray]], tuple[FloatArray, FloatArray]]
GridFn = Callable[[Mapping[str, FloatArray], FloatArray], FloatArray]
# (theta, logX) -> (pred, vjp) with vjp(u (S, n)) = sum_n u * d pred / d theta, shape (S, p).
VjpFn = Callable[
    [FloatArray, Mapping[str, FloatArray]],
    tuple[FloatArray, Callable[[FloatArray], FloatArray]],
]


@dataclass(frozen=True)
class Param:
    """One fit-space parameter: name, bounds, and the starting values a grid search tries."""

    name: str
    lower: float
    upper: float
    grid: tuple[float, ...]
    description: str = ""


@dataclass(frozen=True)
class LawForm:
    """A law form: formula text, parameters, inputs, and a pure vectorised prediction.

    Attributes:
        name: registry key, e.g. ``"chinchilla"``.
        formula: the published formula, shown verbatim.
        inputs: log-transformed inputs by column name, e.g. ``("n_params", "n_tokens")``.
        params: fit-space parameters.
        space: ``"log"`` (predicts log y) or ``"linear"`` (predicts y).
        source: the paper and equation, e.g. ``"arXiv:2203.15556, eq. 2"``.
        published_names: names of the published-form parameters ``published`` returns.
        jacobian: ``(theta (S, p), logX) -> (pred (S, n), d pred / d theta (S, n, p))``, where
            ``logX`` maps each input name to the natural log of the input.
        to_published: fit-space vector ``(p,)`` or ``(S, p)`` -> published values, one row each.
        start_grid: optional data-dependent starting grid ``(logX, target) -> (S, p)``, where
            ``target`` is y in the form's space (log y for log-space forms); when absent
            the product of the parameters' grids is used.
        kind: ``"loss_nd"`` for E + A/N^α + B/D^β-type forms that have a compute-optimal
            frontier, else ``"generic"``.
    """

    name: str
    formula: str
    inputs: tuple[str, ...]
    params: tuple[Param, ...]
    space: str
    source: str
    published_names: tuple[str, ...]
    jacobian: JacobianFn = field(repr=False)
    to_published: Callable[[FloatArray], FloatArray] = field(repr=False)
    start_grid: GridFn | None = field(default=None, repr=False)
    kind: str = "generic"
    notes: str = ""
    fast_vjp: VjpFn | None = field(default=None, repr=False)

    def value_and_vjp(
        self, theta: FloatArray, logX: Mapping[str, FloatArray]
    ) -> tuple[FloatArray, Callable[[FloatArray], FloatArray]]:
        """Prediction ``(S, n)`` and a function mapping ``u (S, n)`` to ``u · J`` ``(S, p)``.

        Forms with a hand-written product (``chinchilla``) skip building the ``(S, n, p)``
        Jacobian, which is what makes 4,500 starts × 240 points cheap.
        """
        if self.fast_vjp is not None:
            return self.fast_vjp(theta, logX)
        pred, jac = self.jacobian(theta, logX)
        return pred, lambda u: np.einsum("sn,snp->sp", u, jac)

    @property
    def param_names(self) -> tuple[str, ...]:
        """Fit-space parameter names, in order."""
        return tuple(p.name for p in self.params)

    @property
    def lower(self) -> FloatArray:
        """Lower bounds of the fit-space parameters."""
        return np.array([p.lower for p in self.params], dtype=float)

    @property
    def upper(self) -> FloatArray:
        """Upper bounds of the fit-space parameters."""
        return np.array([p.upper for p in self.params], dtype=float)

    def applicable(self, columns: Sequence[str] | set[str]) -> bool:
        """True when every input of the form is among ``columns`` (``x`` matches any column)."""
        have = set(columns)
        return all((name == "x" and bool(have)) or name in have for name in self.inputs)

    def grid(
        self,
        logX: Mapping[str, FloatArray],
        y: FloatArray,
        override: Mapping[str, Sequence[float]] | None = None,
    ) -> FloatArray:
        """Starting points ``(S, p)``: ``override`` grids if given, else the form's own grid."""
        if override:
            axes = [tuple(override.get(p.name, p.grid)) for p in self.params]
            return np.array(list(itertools.product(*axes)), dtype=float)
        if self.start_grid is not None:
            return self.start_grid(logX, y)
        return np.array(list(itertools.product(*(p.grid for p in self.params))), dtype=float)

    def theta_from(self, theta: Mapping[str, float] | Sequence[float] | FloatArray) -> FloatArray:
        """A fit-space vector from a dict (fit-space or published names) or a sequence."""
        if isinstance(theta, Mapping):
            names = self.param_names
            if all(n in theta for n in names):
                return np.array([float(theta[n]) for n in names], dtype=float)
            raise BadInputError(
                f"law {self.name!r}: parameters {sorted(theta)} do not name all of "
                f"{list(names)} (fit-space names)"
            )
        vec = np.asarray(theta, dtype=float)
        if vec.shape != (len(self.params),):
            raise BadInputError(f"law {self.name!r} takes {len(self.params)} parameters")
        return vec

    def log_inputs(self, X: Mapping[str, Any]) -> dict[str, FloatArray]:
        """Natural logs of the form's inputs from ``X`` (which must hold them, all > 0)."""
        out: dict[str, FloatArray] = {}
        for name in self.inputs:
            if name not in X:
                raise BadInputError(f"law {self.name!r} needs input {name!r}; got {sorted(X)}")
            arr = np.asarray(X[name], dtype=float)
            if np.any(~np.isfinite(arr)) or np.any(arr <= 0):
                raise BadInputError(f"law {self.name!r}: input {name!r} must be finite and > 0")
            out[name] = np.log(arr)
        return out

    def predict_fit_space(self, theta: FloatArray, logX: Mapping[str, FloatArray]) -> FloatArray:
        """Prediction in the residual space (log y or y) for ``theta`` ``(p,)`` or ``(S, p)``."""
        th = np.atleast_2d(theta)
        pred, _ = self.jacobian(th, logX)
        return pred[0] if np.ndim(theta) == 1 else pred

    def predict(
        self, theta: Mapping[str, float] | Sequence[float] | FloatArray, X: Mapping[str, Any]
    ) -> FloatArray:
        """Predicted y (natural units) at inputs ``X`` for fit-space parameters ``theta``."""
        pred = self.predict_fit_space(self.theta_from(theta), self.log_inputs(X))
        return np.exp(pred) if self.space == "log" else pred

    def with_fixed(self, fixed: Mapping[str, float]) -> LawForm:
        """A form over the remaining parameters, with ``fixed`` (fit-space names) held constant.

        Used for two-stage procedures, e.g. Muennighoff et al. fit R*_D and R*_N with the
        Chinchilla coefficients fixed. Predictions and published values are those of the full form.
        """
        unknown = sorted(set(fixed) - set(self.param_names))
        if unknown:
            raise BadInputError(
                f"law {self.name!r} has no parameter(s) {unknown}; fit-space names are "
                f"{list(self.param_names)}"
            )
        free = [i for i, n in enumerate(self.param_names) if n not in fixed]
        if not free:
            raise BadInputError(f"law {self.name!r}: every parameter is fixed; nothing to fit")
        full0 = np.array([float(fixed.get(n, 0.0)) for n in self.param_names])

        def full(theta: FloatArray) -> FloatArray:
            out = np.repeat(full0[None, :], theta.shape[0], axis=0)
            out[:, free] = theta
            return out

        def jacobian(
            theta: FloatArray, logX: Mapping[str, FloatArray]
        ) -> tuple[FloatArray, FloatArray]:
            pred, jac = self.jacobian(full(theta), logX)
            return pred, jac[:, :, free]

        def vjp(
            theta: FloatArray, logX: Mapping[str, FloatArray]
        ) -> tuple[FloatArray, Callable[[FloatArray], FloatArray]]:
            pred, back = self.value_and_vjp(full(theta), logX)
            return pred, lambda u: back(u)[:, free]

        base_grid = self.start_grid

        def grid(logX: Mapping[str, FloatArray], target: FloatArray) -> FloatArray:
            rows = (
                base_grid(logX, target)
                if base_grid is not None
                else np.array(list(itertools.product(*(p.grid for p in self.params))))
            )
            return np.unique(rows[:, free], axis=0)

        return LawForm(
            name=f"{self.name}[fixed:{','.join(sorted(fixed))}]",
            formula=self.formula,
            inputs=self.inputs,
            params=tuple(self.params[i] for i in free),
            space=self.space,
            source=self.source,
            published_names=self.published_names,
            jacobian=jacobian,
            to_published=lambda theta: self.to_published(full(np.atleast_2d(theta))),
            start_grid=grid,
            kind=self.kind,
            notes=f"{self.notes} Fixed: {dict(fixed)}".strip(),
            fast_vjp=vjp,
        )

    def published(self, theta: FloatArray) -> dict[str, float]:
        """The published-form parameters of one fit-space vector."""
        values = self.to_published(np.atleast_2d(theta))[0]
        return {n: float(v) for n, v in zip(self.published_names, values, strict=True)}


# -- numerical helpers ----------------------------------------------------------------------


def _lse(terms: Sequence[FloatArray]) -> tuple[FloatArray, list[FloatArray]]:
    """log(sum(exp(terms))) and the softmax weights (the derivative w.r.t. each term)."""
    m = terms[0]
    for t in terms[1:]:
        m = np.maximum(m, t)
    exps = [np.exp(t - m) for t in terms]
    total = exps[0]
    for e in exps[1:]:
        total = total + e
    return m + np.log(total), [e / total for e in exps]


def _col(theta: FloatArray, i: int) -> FloatArray:
    return theta[:, i : i + 1]


def _x(logX: Mapping[str, FloatArray], name: str) -> FloatArray:
    return logX[name][None, :]


def _quantiles(v: FloatArray, qs: Sequence[float]) -> tuple[float, ...]:
    return tuple(float(q) for q in np.quantile(v, qs))


# -- power_law: y = A x^-alpha -----------------------------------------------------------------


def _power_law(theta: FloatArray, logX: Mapping[str, FloatArray]) -> tuple[FloatArray, FloatArray]:
    lx = _x(logX, "x")
    a, alpha = _col(theta, 0), _col(theta, 1)
    pred = a - alpha * lx
    ones = np.ones_like(pred)
    return pred, np.stack([ones, -lx * ones], axis=-1)


def _pub_exp(k: int) -> Callable[[FloatArray], FloatArray]:
    """Published form of a fit vector whose first ``k`` entries are logs (e = log E, ...)."""

    def to_published(theta: FloatArray) -> FloatArray:
        out = theta.copy()
        out[:, :k] = np.exp(theta[:, :k])
        return out

    return to_published


# -- power_law_plus_constant: y = E + A x^-alpha ---------------------------------------------


def _power_const(
    theta: FloatArray, logX: Mapping[str, FloatArray]
) -> tuple[FloatArray, FloatArray]:
    lx = _x(logX, "x")
    e, a, alpha = _col(theta, 0), _col(theta, 1), _col(theta, 2)
    pred, (s0, s1) = _lse([e + 0 * lx, a - alpha * lx])
    return pred, np.stack([s0, s1, -s1 * lx], axis=-1)


def _power_const_grid(logX: Mapping[str, FloatArray], target: FloatArray) -> FloatArray:
    """Data-scaled starts plus the fixed grid, for any scale of E and A.

    E is tried at fractions of the smallest value; for each (E, α), log A is the median of
    ``log(y − E) + α log x``, so the power term matches the data wherever the data lies (fixed
    values of log A miss it by orders of magnitude when x ~ 1e20 or y ~ 1e3).
    """
    params = FORMS["power_law_plus_constant"].params
    fixed = np.array(list(itertools.product(*(p.grid for p in params))), dtype=float)
    lx, y = logX["x"], np.exp(target)
    rows = []
    for frac, alpha in itertools.product((0.01, 0.3, 0.7, 0.95), params[2].grid):
        e = float(np.log(frac * np.min(y)))
        rest = y - np.exp(e)
        a = float(np.median(np.log(rest) + alpha * lx))
        rows.append((e, a, alpha))
    found = np.clip(np.array(rows), [p.lower for p in params], [p.upper for p in params])
    return np.vstack([found, fixed])


# -- chinchilla: L = E + A/N^alpha + B/D^beta -------------------------------------------------


def _chinchilla(theta: FloatArray, logX: Mapping[str, FloatArray]) -> tuple[FloatArray, FloatArray]:
    ln, ld = _x(logX, "n_params"), _x(logX, "n_tokens")
    e, a, b = _col(theta, 0), _col(theta, 1), _col(theta, 2)
    alpha, beta = _col(theta, 3), _col(theta, 4)
    pred, (s0, s1, s2) = _lse([e + 0 * ln, a - alpha * ln, b - beta * ld])
    return pred, np.stack([s0, s1, s2, -s1 * ln, -s2 * ld], axis=-1)


def _chinchilla_vjp(
    theta: FloatArray, logX: Mapping[str, FloatArray]
) -> tuple[FloatArray, Callable[[FloatArray], FloatArray]]:
    ln, ld = logX["n_params"], logX["n_tokens"]
    e, a, b = theta[:, 0:1], theta[:, 1:2], theta[:, 2:3]
    t1 = a - theta[:, 3:4] * ln[None, :]
    t2 = b - theta[:, 4:5] * ld[None, :]
    m = np.maximum(np.maximum(t1, t2), e)
    x0, x1, x2 = np.exp(e - m), np.exp(t1 - m), np.exp(t2 - m)
    tot = x0 + x1 + x2
    pred = m + np.log(tot)

    def vjp(u: FloatArray) -> FloatArray:
        v = u / tot
        v1, v2 = v * x1, v * x2
        return np.stack(
            [np.sum(v * x0, axis=1), v1.sum(axis=1), v2.sum(axis=1), -(v1 @ ln), -(v2 @ ld)],
            axis=1,
        )

    return pred, vjp


# -- chinchilla_tied: L = E + A/N^alpha + B/D^alpha (one exponent for both) ----------------------


def _chinchilla_tied(
    theta: FloatArray, logX: Mapping[str, FloatArray]
) -> tuple[FloatArray, FloatArray]:
    ln, ld = _x(logX, "n_params"), _x(logX, "n_tokens")
    e, a, b, alpha = _col(theta, 0), _col(theta, 1), _col(theta, 2), _col(theta, 3)
    pred, (s0, s1, s2) = _lse([e + 0 * ln, a - alpha * ln, b - alpha * ld])
    return pred, np.stack([s0, s1, s2, -s1 * ln - s2 * ld], axis=-1)


def _pub_tied(theta: FloatArray) -> FloatArray:
    """E, A, B, alpha and beta (= alpha) from the fit vector (log E, log A, log B, alpha)."""
    theta = np.atleast_2d(theta)
    return np.concatenate([np.exp(theta[:, :3]), theta[:, 3:4], theta[:, 3:4]], axis=1)


# -- kaplan_nd: L = [(N_c/N)^(alpha_N/alpha_D) + D_c/D]^alpha_D ------------------------------


def _kaplan(theta: FloatArray, logX: Mapping[str, FloatArray]) -> tuple[FloatArray, FloatArray]:
    ln, ld = _x(logX, "n_params"), _x(logX, "n_tokens")
    an, ad = _col(theta, 0), _col(theta, 1)
    lnc, ldc = _col(theta, 2), _col(theta, 3)
    u = (an / ad) * (lnc - ln)
    v = ldc - ld + 0 * u
    s, (su, sv) = _lse([u, v])
    pred = ad * s
    jac = np.stack([su * (lnc - ln), s - su * u, su * an + 0 * s, ad * sv], axis=-1)
    return pred, jac


def _pub_kaplan(theta: FloatArray) -> FloatArray:
    out = theta.copy()
    out[:, 2:] = np.exp(theta[:, 2:])
    return out


# -- broken_power_law (Caballero et al. BNSL, one break) -------------------------------------


def _bnsl(theta: FloatArray, logX: Mapping[str, FloatArray]) -> tuple[FloatArray, FloatArray]:
    lx = _x(logX, "x")
    e, lb, c0, c1, ld, f = (_col(theta, i) for i in range(6))
    z = (lx - ld) / f
    sp = np.logaddexp(0.0, z)
    sig = np.exp(z - sp)  # sigmoid(z), stable for large |z|
    t1 = lb - c0 * lx - c1 * f * sp
    pred, (s0, s1) = _lse([e + 0 * lx, t1])
    jac = np.stack(
        [s0, s1, -s1 * lx, -s1 * f * sp, s1 * c1 * sig, s1 * (-c1 * sp + c1 * sig * z)], axis=-1
    )
    return pred, jac


def _pub_bnsl(theta: FloatArray) -> FloatArray:
    out = theta.copy()
    out[:, [0, 1, 4]] = np.exp(theta[:, [0, 1, 4]])
    return out


def _bnsl_grid(logX: Mapping[str, FloatArray], y: FloatArray) -> FloatArray:
    lx = logX["x"]
    ly = float(np.min(y))  # the target is already log y (a log-space form)
    axes = [
        (ly - 3.0, ly - 0.5, ly - 0.05),  # e = log a, below the smallest value
        (ly, ly + 2.0, ly + 5.0),  # log b
        (0.0, 0.3, 1.0),  # c0
        (0.1, 0.5, 1.5),  # c1
        _quantiles(lx, (0.25, 0.5, 0.75)),  # log d1: the break, inside the data
        (0.3, 1.0),  # f1
    ]
    return np.array(list(itertools.product(*axes)), dtype=float)


# -- log_linear: y = k + m ln x -----------------------------------------------------------------


def _log_linear(theta: FloatArray, logX: Mapping[str, FloatArray]) -> tuple[FloatArray, FloatArray]:
    lx = _x(logX, "x")
    k, m = _col(theta, 0), _col(theta, 1)
    pred = k + m * lx
    ones = np.ones_like(pred)
    return pred, np.stack([ones, lx * ones], axis=-1)


def _identity(theta: FloatArray) -> FloatArray:
    return theta.copy()


# -- sigmoid_log: y = lo + (hi - lo) / (1 + exp(-k (ln x - m))) ---------------------------------


def _sigmoid_log(
    theta: FloatArray, logX: Mapping[str, FloatArray]
) -> tuple[FloatArray, FloatArray]:
    lx = _x(logX, "x")
    lo, hi, k, m = (_col(theta, i) for i in range(4))
    z = k * (lx - m)
    sig = np.exp(-np.logaddexp(0.0, -z))
    pred = lo + (hi - lo) * sig
    ds = (hi - lo) * sig * (1.0 - sig)
    return pred, np.stack([1.0 - sig, sig, ds * (lx - m), -ds * k], axis=-1)


def _sigmoid_grid(logX: Mapping[str, FloatArray], y: FloatArray) -> FloatArray:
    lx = logX["x"]
    lo, hi = float(np.min(y)), float(np.max(y))
    span = max(hi - lo, 1e-6)
    # k >= 0 makes the parameters identifiable ((lo, hi, k) ~ (hi, lo, -k)); a falling curve
    # (error, loss) has lo > hi, so both orders are tried.
    axes = [
        (lo - 0.1 * span, hi),
        (hi + 0.1 * span, lo),
        (0.3, 1.0, 3.0),
        _quantiles(lx, (0.1, 0.3, 0.5, 0.7, 0.9)),
    ]
    return np.array(list(itertools.product(*axes)), dtype=float)


# -- data_constrained (Muennighoff et al. 2023) -------------------------------------------------


def _dc_predict(theta: FloatArray, logX: Mapping[str, FloatArray]) -> FloatArray:
    ln, ld, lu = _x(logX, "n_params"), _x(logX, "n_tokens"), _x(logX, "unique_tokens")
    e, a, b, alpha, beta, lrd, lrn = (_col(theta, i) for i in range(7))
    n, d, u_d = np.exp(ln), np.exp(ld), np.exp(lu)
    r_d = np.maximum(d / u_d - 1.0, 0.0)
    rs_d, rs_n = np.exp(lrd), np.exp(lrn)
    d_eff = u_d + u_d * rs_d * (-np.expm1(-r_d / rs_d))
    # U_N: the compute-optimal size for U_D tokens under the fitted Chinchilla frontier.
    ab = alpha + beta
    log_g = (np.log(alpha) + a - np.log(beta) - b) / ab
    # D_opt = (C/6)^b / G = U_D gives (C/6) = (G U_D)^(1/b); N_opt = G (C/6)^a, a/b = beta/alpha.
    log_n_opt = log_g + (beta / alpha) * (log_g + lu)
    u_n = np.minimum(np.exp(log_n_opt), n)
    r_n = np.maximum(n / u_n - 1.0, 0.0)
    n_eff = u_n + u_n * rs_n * (-np.expm1(-r_n / rs_n))
    pred, _ = _lse([e + 0 * ln, a - alpha * np.log(n_eff), b - beta * np.log(d_eff)])
    return pred


def _data_constrained(
    theta: FloatArray, logX: Mapping[str, FloatArray]
) -> tuple[FloatArray, FloatArray]:
    # U_N = min(N_opt(U_D), N) couples every parameter through a min(); the Jacobian is taken by
    # central differences (7 extra evaluations, vectorised over all starts), not analytically.
    pred = _dc_predict(theta, logX)
    cols = []
    for i in range(theta.shape[1]):
        h = 1e-6 * np.maximum(1.0, np.abs(theta[:, i : i + 1]))
        up, dn = theta.copy(), theta.copy()
        up[:, i : i + 1] += h
        dn[:, i : i + 1] -= h
        cols.append((_dc_predict(up, logX) - _dc_predict(dn, logX)) / (2 * h))
    return pred, np.stack(cols, axis=-1)


def _pub_dc(theta: FloatArray) -> FloatArray:
    out = theta.copy()
    out[:, [0, 1, 2, 5, 6]] = np.exp(theta[:, [0, 1, 2, 5, 6]])
    return out


def _dc_grid(logX: Mapping[str, FloatArray], y: FloatArray) -> FloatArray:
    axes = [
        (0.5,),
        (5.0, 7.0),
        (6.0, 8.0),
        (0.3, 0.4),
        (0.3, 0.4),
        (1.0, 2.7, 4.0),
        (0.5, 1.7, 3.0),
    ]
    return np.array(list(itertools.product(*axes)), dtype=float)


def _compute_optimal(
    theta: FloatArray, logX: Mapping[str, FloatArray]
) -> tuple[FloatArray, FloatArray]:
    lc = _x(logX, "compute_flops")
    k, ex = _col(theta, 0), _col(theta, 1)
    pred = k + ex * lc
    ones = np.ones_like(pred)
    return pred, np.stack([ones, lc * ones], axis=-1)


_BIG = 60.0  # bound on log-space coefficients: exp(60) ~ 1e26, far beyond any published A, B


def _linear_grid(column: str, sign: float, params: tuple[Param, ...]) -> GridFn:
    """Starts for ``target = c0 + sign · c1 · log x``: the least-squares line, then the grid.

    These forms are linear in their parameters, so the least-squares line is the exact fit of
    exact data and, for any residual loss, a start in the optimum's basin: the intercept is at
    x = 1, far outside the data (log C ~ 40), where fixed starting values of it sit in a
    long, narrow valley.
    """

    def grid(logX: Mapping[str, FloatArray], target: FloatArray) -> FloatArray:
        lx = logX[column]
        fixed = np.array(list(itertools.product(*(p.grid for p in params))), dtype=float)
        if lx.size < 2 or float(np.ptp(lx)) == 0.0:
            return fixed
        slope, icept = np.polyfit(lx, target, 1)
        lower = np.array([p.lower for p in params])
        upper = np.array([p.upper for p in params])
        ls = np.clip(np.array([icept, sign * slope]), lower, upper)
        return np.vstack([ls[None, :], fixed])

    return grid


_POWER_PARAMS = (
    Param("a", -_BIG, _BIG, (0.0, 2.0, 5.0, 10.0), "log A"),
    Param("alpha", -5.0, 5.0, (0.05, 0.2, 0.5, 1.0), "exponent"),
)
_LOGLIN_PARAMS = (
    Param("k", -1e6, 1e6, (0.0, 1.0), "intercept at x = 1"),
    Param("m", -1e3, 1e3, (-0.1, 0.1), "slope per e-fold of x"),
)
_OPTIMAL_PARAMS = (
    Param("log_k", -_BIG * 2, _BIG * 2, (0.0, -10.0), "log of the prefactor"),
    Param("exponent", -5.0, 5.0, (0.5,), "a (for N_opt) or b (for D_opt)"),
)

# -- the registry -----------------------------------------------------------------------------

# Our default Chinchilla grid (675 starts) spans the same region as Hoffmann et al.'s 4,500-start
# grid (kb.recipes 'hoffmann' and 'epoch' use theirs) at a coarser step; on epoch_chinchilla both
# reach the same optimum.
_CHIN_AB = (0.0, 5.0, 10.0, 15.0, 20.0)
_CHIN_EXP = (0.2, 0.5, 1.0)
_CHIN_E = (-1.0, 0.0, 1.0)

# log E, log A, log B: the fit-space start of the chinchilla form and of its tied variant.
_CHIN_LOGS = (
    Param("e", -20.0, 10.0, _CHIN_E, "log E"),
    Param("a", -_BIG, _BIG, _CHIN_AB, "log A"),
    Param("b", -_BIG, _BIG, _CHIN_AB, "log B"),
)

FORMS: dict[str, LawForm] = {
    "power_law": LawForm(
        name="power_law",
        formula="y = A · x^(−α)",
        inputs=("x",),
        params=_POWER_PARAMS,
        space="log",
        source="Kaplan et al. 2020, arXiv:2001.08361, eqs. 1.1-1.3",
        published_names=("A", "alpha"),
        jacobian=_power_law,
        to_published=_pub_exp(1),
        start_grid=_linear_grid("x", -1.0, _POWER_PARAMS),
    ),
    "power_law_plus_constant": LawForm(
        name="power_law_plus_constant",
        formula="y = E + A · x^(−α)",
        inputs=("x",),
        params=(
            Param("e", -20.0, 10.0, (-1.0, 0.0, 0.5, 1.0), "log E, the irreducible part"),
            Param("a", -_BIG, _BIG, (0.0, 2.0, 5.0, 10.0, 20.0), "log A"),
            Param("alpha", 0.0, 5.0, (0.05, 0.2, 0.5, 1.0), "exponent"),
        ),
        space="log",
        source="Henighan et al. 2020, arXiv:2010.14701, eq. 1.1",
        published_names=("E", "A", "alpha"),
        jacobian=_power_const,
        to_published=_pub_exp(2),
        start_grid=_power_const_grid,
    ),
    "chinchilla": LawForm(
        name="chinchilla",
        formula="L(N, D) = E + A / N^α + B / D^β",
        inputs=("n_params", "n_tokens"),
        params=(
            *_CHIN_LOGS,
            Param("alpha", 0.0, 5.0, _CHIN_EXP, "exponent of N"),
            Param("beta", 0.0, 5.0, _CHIN_EXP, "exponent of D"),
        ),
        space="log",
        source="Hoffmann et al. 2022, arXiv:2203.15556, eq. 2 and appendix D.2",
        published_names=("E", "A", "B", "alpha", "beta"),
        jacobian=_chinchilla,
        to_published=_pub_exp(3),
        kind="loss_nd",
        fast_vjp=_chinchilla_vjp,
    ),
    "chinchilla_tied": LawForm(
        name="chinchilla_tied",
        formula="L(N, D) = E + A / N^α + B / D^α  (β = α)",
        inputs=("n_params", "n_tokens"),
        params=(
            *_CHIN_LOGS,
            Param("alpha", 0.0, 5.0, _CHIN_EXP, "exponent of both N and D"),
        ),
        space="log",
        source=(
            "Muennighoff et al. 2023, arXiv:2305.16264, appendix (C4 coefficients, alpha = beta); "
            "Gadre et al. 2024, arXiv:2403.08540, eq. (4) with one exponent"
        ),
        published_names=("E", "A", "B", "alpha", "beta"),
        jacobian=_chinchilla_tied,
        to_published=_pub_tied,
        kind="loss_nd",
        notes=(
            "The chinchilla form with the two exponents tied, as Gadre et al., Muennighoff et "
            "al.'s C4 fit and the (Mis)Fitting survey's 'alpha = beta' fit impose; beta is "
            "reported equal to alpha, so a = b = 0.5 and D_opt/N_opt is the same at every budget."
        ),
    ),
    "kaplan_nd": LawForm(
        name="kaplan_nd",
        formula="L(N, D) = [(N_c / N)^(α_N / α_D) + D_c / D]^α_D",
        inputs=("n_params", "n_tokens"),
        params=(
            Param("alpha_N", 1e-4, 5.0, (0.05, 0.1, 0.3), "exponent of N"),
            Param("alpha_D", 1e-4, 5.0, (0.05, 0.1, 0.3), "exponent of D"),
            Param("log_Nc", -_BIG, _BIG, (20.0, 25.0, 30.0, 35.0), "log N_c"),
            Param("log_Dc", -_BIG, _BIG, (20.0, 25.0, 30.0, 35.0), "log D_c"),
        ),
        space="log",
        source="Kaplan et al. 2020, arXiv:2001.08361, eq. 1.5",
        published_names=("alpha_N", "alpha_D", "N_c", "D_c"),
        jacobian=_kaplan,
        to_published=_pub_kaplan,
    ),
    "broken_power_law": LawForm(
        name="broken_power_law",
        formula="y = a + b · x^(−c0) · (1 + (x / d1)^(1/f1))^(−c1 · f1)",
        inputs=("x",),
        params=(
            Param("e", -30.0, 10.0, (-1.0,), "log a, the limit"),
            Param("log_b", -_BIG, _BIG, (1.0,), "log b"),
            Param("c0", -5.0, 5.0, (0.1,), "exponent before the break"),
            Param("c1", -20.0, 20.0, (0.5,), "change of exponent at the break"),
            Param("log_d1", -_BIG, _BIG, (10.0,), "log of the break's location"),
            Param("f1", 1e-3, 10.0, (0.5,), "sharpness of the break (smaller: sharper)"),
        ),
        space="log",
        source="Caballero et al. 2022, arXiv:2210.14891, eq. 1 (n = 1 break)",
        published_names=("a", "b", "c0", "c1", "d1", "f1"),
        jacobian=_bnsl,
        to_published=_pub_bnsl,
        start_grid=_bnsl_grid,
    ),
    "log_linear": LawForm(
        name="log_linear",
        formula="y = k + m · ln x",
        inputs=("x",),
        params=_LOGLIN_PARAMS,
        space="linear",
        source="e.g. Ruan et al. 2024, arXiv:2405.10938 (downstream metrics linear in log compute)",
        published_names=("k", "m"),
        jacobian=_log_linear,
        to_published=_identity,
        start_grid=_linear_grid("x", 1.0, _LOGLIN_PARAMS),
    ),
    "sigmoid_log": LawForm(
        name="sigmoid_log",
        formula="y = lo + (hi − lo) / (1 + exp(−k · (ln x − m)))",
        inputs=("x",),
        params=(
            Param("lo", -1e6, 1e6, (0.0,), "asymptote at small x (e.g. chance accuracy)"),
            Param("hi", -1e6, 1e6, (1.0,), "asymptote at large x"),
            Param("k", 0.0, 50.0, (1.0,), "steepness per e-fold of x (>= 0)"),
            Param("m", -_BIG * 2, _BIG * 2, (20.0,), "ln x at the midpoint"),
        ),
        space="linear",
        source="Ruan et al. 2024, arXiv:2405.10938, eq. 7 (sigmoid of log scale)",
        published_names=("lo", "hi", "k", "m"),
        jacobian=_sigmoid_log,
        to_published=_identity,
        start_grid=_sigmoid_grid,
    ),
    "data_constrained": LawForm(
        name="data_constrained",
        formula=(
            "L = E + A / N'^α + B / D'^β;  D' = U_D + U_D R*_D (1 − e^(−R_D / R*_D)), "
            "R_D = D / U_D − 1;  N' = U_N + U_N R*_N (1 − e^(−R_N / R*_N)), "
            "U_N = min(N_opt(U_D), N), R_N = N / U_N − 1"
        ),
        inputs=("n_params", "n_tokens", "unique_tokens"),
        params=(
            Param("e", -20.0, 10.0, (0.5,), "log E"),
            Param("a", -_BIG, _BIG, (6.0,), "log A"),
            Param("b", -_BIG, _BIG, (7.0,), "log B"),
            Param("alpha", 1e-3, 5.0, (0.35,), "exponent of N'"),
            Param("beta", 1e-3, 5.0, (0.35,), "exponent of D'"),
            Param("log_RD", -10.0, 10.0, (2.7,), "log R*_D: repetitions of data worth having"),
            Param("log_RN", -10.0, 10.0, (1.7,), "log R*_N: excess parameters worth having"),
        ),
        space="log",
        source="Muennighoff et al. 2023, arXiv:2305.16264, eqs. 5-7",
        published_names=("E", "A", "B", "alpha", "beta", "R_D_star", "R_N_star"),
        jacobian=_data_constrained,
        to_published=_pub_dc,
        start_grid=_dc_grid,
        kind="loss_nd",
        notes="Jacobian by central differences (U_N's min() couples all parameters).",
    ),
    "compute_optimal": LawForm(
        name="compute_optimal",
        formula="N_opt = k · C^a  (or D_opt = k · C^b): a log-linear fit of optimal points",
        inputs=("compute_flops",),
        params=_OPTIMAL_PARAMS,
        space="log",
        source="Hoffmann et al. 2022, arXiv:2203.15556, Approaches 1-2 (eq. 4)",
        published_names=("k", "exponent"),
        jacobian=_compute_optimal,
        to_published=_pub_exp(1),
        start_grid=_linear_grid("compute_flops", 1.0, _OPTIMAL_PARAMS),
    ),
}


def get_form(name: str) -> LawForm:
    """The form called ``name``; ``UnknownLawError`` listing the known ones otherwise."""
    try:
        return FORMS[name]
    except KeyError:
        raise UnknownLawError(
            f"unknown law form {name!r}; known forms: {', '.join(FORMS)} (see `kb laws-forms`)"
        ) from None
