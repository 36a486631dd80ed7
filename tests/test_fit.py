"""Tests for kb.laws, kb.recipes and kb.fit: recovery, reproduction, errors, determinism, CLI."""

from __future__ import annotations

import csv
import json
import math
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

import kb.fit as fitmod
from kb.cli import cli
from kb.errors import BadInputError, FitError, UnknownLawError
from kb.fit import Holdout, compare_forms, fit_arrays, fit_dataset, fit_points
from kb.laws import FORMS
from kb.records import FitRecord, Point
from kb.recipes import RECIPES
from kb.store import Store

RNG_SEED = 1234


def _noisy(y: np.ndarray, rel: float, seed: int = RNG_SEED) -> np.ndarray:
    return y * np.exp(np.random.default_rng(seed).normal(0.0, rel, y.shape))


def _grid2(n_lo: float, n_hi: float, d_lo: float, d_hi: float, k: int = 9):
    N, D = np.meshgrid(np.logspace(n_lo, n_hi, k), np.logspace(d_lo, d_hi, k))
    return N.ravel(), D.ravel()


# Each case: law, inputs, true values (published names), noise, tolerances (relative).
def _cases():
    x = np.logspace(15, 21, 30)
    yield "power_law", {"x": x}, {"A": 50.0, "alpha": 0.1}, 0.01, 0.05
    x = np.logspace(6, 10, 40)
    yield "power_law_plus_constant", {"x": x}, {"E": 1.7, "A": 400.0, "alpha": 0.3}, 0.003, 0.1
    N, D = _grid2(7, 10, 9, 12)
    true = {"E": 1.69, "A": 406.4, "B": 410.7, "alpha": 0.34, "beta": 0.28}
    yield "chinchilla", {"n_params": N, "n_tokens": D}, true, 0.003, 0.15
    N, D = _grid2(6, 9, 8, 11)
    true = {"alpha_N": 0.076, "alpha_D": 0.103, "N_c": 8.8e13, "D_c": 5.4e13}
    yield "kaplan_nd", {"n_params": N, "n_tokens": D}, true, 0.002, 0.25
    x = np.logspace(1, 8, 60)
    true = {"a": 0.5, "b": 10.0, "c0": 0.1, "c1": 0.4, "d1": 1e4, "f1": 0.5}
    yield "broken_power_law", {"x": x}, true, 0.002, 0.25
    C = np.logspace(18, 24, 12)
    yield "compute_optimal", {"compute_flops": C}, {"k": 0.1, "exponent": 0.5}, 0.02, 0.3


@pytest.mark.parametrize(("law", "X", "true", "noise", "tol"), list(_cases()), ids=lambda v: str(v)[:24])
def test_recovers_known_parameters_log_space(law, X, true, noise, tol) -> None:
    form = FORMS[law]
    theta = _fit_space(form, true)
    y = _noisy(form.predict(theta, X), noise)
    res = fit_arrays(X, y, law=law)
    for name, value in true.items():
        assert res.params[name] == pytest.approx(value, rel=tol), (name, res.params)


def _fit_space(form, true):
    """Invert the published map by fitting nothing: search the published names' transform."""
    out = []
    for p, pub in zip(form.params, form.published_names, strict=True):
        v = true[pub]
        out.append(math.log(v) if p.name.startswith(("log", "e", "a", "b")) and p.name not in ("alpha", "alpha_N", "alpha_D", "beta", "exponent") and pub != p.name else v)
    theta = np.array(out)
    assert form.published(theta) == pytest.approx(true)
    return theta
