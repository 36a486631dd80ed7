"""kb.curves: the drawn frontier agrees with the closed form, the band brackets the fit."""

from __future__ import annotations

import numpy as np
import pytest

from kb.curves import curve_axis, fitted_curve, observed_frame
from kb.fit import fit_arrays
from kb.frontier import derived_quantities


@pytest.fixture(scope="module")
def chinchilla_fit():  # type: ignore[no-untyped-def]
    rng = np.random.default_rng(0)
    n = 10 ** rng.uniform(7.5, 10, 60)
    d = 10 ** rng.uniform(9, 11.5, 60)
    y = (1.8 + 400 / n**0.34 + 2000 / d**0.36) * np.exp(rng.normal(0, 0.01, 60))
    X = {"n_params": n, "n_tokens": d, "compute_flops": 6 * n * d}
    return fit_arrays(X, y, law="chinchilla", n_boot=40, seed=1), X, y


def test_frontier_matches_the_closed_form_loss_at_a_budget(chinchilla_fit) -> None:  # type: ignore[no-untyped-def]
    result, X, _ = chinchilla_fit
    assert curve_axis(result) == "compute_flops"
    curve = fitted_curve(result, X, n=12)
    pub = result.form.to_published(result.theta[None, :])
    closed = derived_quantities(result.form, pub, list(curve["x"]))
    expected = [closed[k][0] for k in closed if k.startswith("loss@")]
    assert curve["fit"] == pytest.approx(expected, rel=1e-3)
    assert curve["extrapolated"][-1]
    assert not curve["extrapolated"][0]


def test_band_brackets_the_fit_and_residuals_are_small(chinchilla_fit) -> None:  # type: ignore[no-untyped-def]
    result, X, y = chinchilla_fit
    curve = fitted_curve(result, X, n=12)
    assert np.all(curve["low"] <= curve["fit"] * 1.001)
    assert np.all(curve["high"] >= curve["fit"] * 0.999)
    obs = observed_frame(result, X, y)
    assert np.abs(obs["residual"]).max() < 0.05
