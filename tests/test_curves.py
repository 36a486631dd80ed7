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


def test_band_is_drawn_at_the_level_of_the_parameter_intervals(chinchilla_fit) -> None:  # type: ignore[no-untyped-def]
    """The chart's band was a 90% range beside the table's 95% intervals: at the compute budget
    of the derived loss, the band's ends are that loss's interval, and the caption says 95%."""
    from kb.charts import fit_caption
    from kb.fit import INTERVAL_LEVEL

    result, X, _ = chinchilla_fit
    assert result.level == INTERVAL_LEVEL == 0.95
    budget = 5.76e23
    curve = fitted_curve(result, X, n=12, extend=budget / X["compute_flops"].max())
    assert curve["x"][-1] == pytest.approx(budget)
    low, high = result.intervals["loss@5.76e+23"]
    assert curve["low"][-1] == pytest.approx(low, rel=1e-5)
    assert curve["high"][-1] == pytest.approx(high, rel=1e-5)
    assert "band: 95% bootstrap percentile range" in fit_caption(result)
