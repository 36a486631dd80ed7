"""The chinchilla form with alpha = beta tied, and what Compare says about a = b = 0.5 then.

Gadre et al. 2024, Muennighoff et al. 2023's C4 fit and the (Mis)Fitting survey's "alpha = beta"
fit impose one exponent for N and D. Refitting them with the free form answers a different model,
and their a = b = 0.5 is a property of the form, not a measurement to set beside Chinchilla's.
"""

from __future__ import annotations

import numpy as np
import pytest

from kb.derive import derive, exponents_tied, view_of_law
from kb.fit import fit_arrays
from kb.laws import FORMS
from kb.records import ReportedLaw
from kb.registry import LAW_FORMS, load_registry
from kb.verdicts import verdict

TRUE = {"E": 1.5, "A": 120.0, "B": 190.0, "alpha": 0.25}


def _data(noise: float = 0.0, seed: int = 3) -> tuple[dict[str, np.ndarray], np.ndarray]:
    N, D = np.meshgrid(np.logspace(7, 9.5, 8), np.logspace(9, 11.5, 8))
    X = {"n_params": N.ravel(), "n_tokens": D.ravel()}
    theta = [np.log(TRUE["E"]), np.log(TRUE["A"]), np.log(TRUE["B"]), TRUE["alpha"]]
    y = FORMS["chinchilla_tied"].predict(theta, X)
    if noise:
        y = y * np.exp(np.random.default_rng(seed).normal(0.0, noise, y.shape))
    return X, y


def test_tied_form_is_the_chinchilla_form_with_beta_equal_to_alpha() -> None:
    X, y = _data()
    free = FORMS["chinchilla"].predict([np.log(1.5), np.log(120.0), np.log(190.0), 0.25, 0.25], X)
    assert np.allclose(y, free, rtol=1e-12)
    assert FORMS["chinchilla_tied"].param_names == ("e", "a", "b", "alpha")
    assert FORMS["chinchilla_tied"].published_names == ("E", "A", "B", "alpha", "beta")
    assert "chinchilla_tied" in LAW_FORMS


def test_tied_refit_recovers_one_exponent_and_reports_beta_equal() -> None:
    X, y = _data()
    res = fit_arrays(X, y, law="chinchilla_tied")
    for name, value in TRUE.items():
        assert res.params[name] == pytest.approx(value, rel=1e-5), res.params
    assert res.params["beta"] == res.params["alpha"]
    # The frontier of a tied law: a = b = 0.5 and one tokens-per-parameter ratio at every budget.
    assert res.derived["a"] == pytest.approx(0.5)
    assert res.derived["b"] == pytest.approx(0.5)
    ratios = [v for k, v in res.derived.items() if k.startswith("tokens_per_param@")]
    assert ratios
    assert np.allclose(ratios, ratios[0], rtol=1e-9)


def test_tied_refit_with_noise_beats_the_truth_and_stays_close() -> None:
    X, y = _data(noise=0.01)
    res = fit_arrays(X, y, law="chinchilla_tied")
    assert res.params["alpha"] == pytest.approx(TRUE["alpha"], rel=0.1)
    free = fit_arrays(X, y, law="chinchilla")
    # One parameter fewer: never a better fit than the free form, and close to it here.
    assert res.objective >= free.objective * (1 - 1e-6)


def _laws() -> dict[str, ReportedLaw]:
    return {law.law_id: law for law in load_registry()}


def test_registry_names_the_tied_form_for_the_laws_that_tie() -> None:
    laws = _laws()
    for law_id in (
        "gadre2024_loss_c4",
        "gadre2024_loss_rpj",
        "gadre2024_loss_rw",
        "li2025_misfitting_equal_exponents",
    ):
        law = laws[law_id]
        assert law.form == "chinchilla_tied", law_id
        assert law.params["alpha"] == law.params["beta"]
        assert exponents_tied(view_of_law(law))
    # Muennighoff et al.'s C4 coefficients tie them inside the data-constrained form.
    assert exponents_tied(view_of_law(laws["muennighoff2023_data_constrained"]))
    for law_id in ("hoffmann2022_approach3", "besiroglu2024_refit", "kaplan2020_l_nd"):
        assert not exponents_tied(view_of_law(laws[law_id])), law_id


def test_compare_says_a_half_is_imposed_not_estimated() -> None:
    laws = _laws()
    hoffmann = view_of_law(laws["hoffmann2022_approach3"])
    gadre = view_of_law(laws["gadre2024_loss_c4"])
    for quantity in ("a", "b"):
        (left,) = derive(hoffmann, quantity)
        (right,) = derive(gadre, quantity)
        assert right.value == pytest.approx(0.5)
        v = verdict(quantity, hoffmann, left, gadre, right)
        assert v.kind == "not_comparable"
        assert any("imposed by its form (alpha = beta tied)" in r for r in v.reasons), v.reasons
        assert any(r.startswith("gadre2024_loss_c4:") for r in v.reasons)
        assert not any(r.startswith("hoffmann2022_approach3:") for r in v.reasons)
    # The tied exponent itself is an estimate: no such reason for alpha.
    (left,) = derive(hoffmann, "alpha")
    (right,) = derive(gadre, "alpha")
    v = verdict("alpha", hoffmann, left, gadre, right)
    assert not any("imposed" in r for r in v.reasons)
    assert not any("do not determine" in r for r in v.reasons)
    tie = "gadre2024_loss_c4: alpha = beta tied, one exponent fitted for both N and D"
    assert v.caveats.count(tie) == 1
