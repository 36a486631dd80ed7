"""The embedding blocks of ``benchmarks/fit_claim_variables.py`` (``proto``, ``knn``, full)."""

from __future__ import annotations

import importlib
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def fit() -> Any:
    sys.path.insert(0, str(ROOT / "benchmarks"))
    try:
        return importlib.import_module("fit_claim_variables")
    finally:
        sys.path.remove(str(ROOT / "benchmarks"))


def _unit_rows(*rows: list[float]) -> np.ndarray[Any, Any]:
    e = np.array(rows, dtype=float)
    return np.asarray(e / np.linalg.norm(e, axis=1, keepdims=True))


def test_full_block_is_the_unit_embedding(fit: Any) -> None:
    e = np.array([[3.0, 4.0], [0.0, 0.0]])
    own, apply = fit.full_block(e, np.array([1, 0]), ["compute", "compute"])
    assert np.allclose(own, [[0.6, 0.8], [0.0, 0.0]])
    assert np.allclose(apply(np.array([[0.0, 2.0]]), ["compute"]), [[0.0, 1.0]])


def test_proto_leaves_a_training_candidate_out_of_its_own_prototype(fit: Any) -> None:
    e = _unit_rows([1, 0], [1, 0.1], [0, 1], [1, 0])
    y = np.array([1, 1, 0, 1])
    variables = ["model_size", "model_size", "model_size", "compute"]
    own, apply = fit.proto_block(e, y, variables)
    # candidate 0: positives of model_size without itself = candidate 1 only
    assert own[0, 0] == pytest.approx(float(e[0] @ e[1]))
    assert own[0, 1] == pytest.approx(float(e[0] @ e[2]))
    # candidate 2 (the only negative): no other negative is left, so cosine 0
    assert own[2, 1] == 0.0
    # compute: its only positive is itself; no negative at all
    assert own[3].tolist() == [0.0, 0.0]
    # a held-out candidate sees every training candidate of its variable
    held = apply(_unit_rows([1, 0]), ["model_size"])
    mean_pos = (e[0] + e[1]) / np.linalg.norm(e[0] + e[1])
    assert held[0, 0] == pytest.approx(float(np.array([1.0, 0.0]) @ mean_pos))
    # a variable never seen in training gets 0 for both
    assert apply(_unit_rows([1, 0]), ["depth"]).tolist() == [[0.0, 0.0]]


def test_knn_excludes_itself_and_other_variables(fit: Any) -> None:
    e = _unit_rows([1, 0], [1, 0.05], [0, 1], [1, 0])
    y = np.array([1, 0, 1, 1])
    variables = ["width", "width", "width", "depth"]
    own, apply = fit.knn_block(e, y, variables)
    # candidate 0's neighbours: 1 (label 0, cosine ~1) and 2 (label 1, cosine 0 -> weight 0)
    assert own[0, 0] == pytest.approx(0.0)
    # depth's only candidate has no neighbour: 0.5
    assert own[3, 0] == 0.5
    # held out: all three width candidates; weights cos to [1,0]
    w = np.clip(e[:3] @ np.array([1.0, 0.0]), 0, None)
    assert apply(_unit_rows([1, 0]), ["width"])[0, 0] == pytest.approx(float(w @ y[:3] / w.sum()))
    assert apply(_unit_rows([1, 0]), ["batch_size"])[0, 0] == 0.5


@settings(max_examples=30, deadline=None)
@given(
    n=st.integers(min_value=1, max_value=25),
    seed=st.integers(min_value=0, max_value=10_000),
)
def test_knn_share_is_a_share(fit: Any, n: int, seed: int) -> None:
    rng = np.random.default_rng(seed)
    e = rng.normal(size=(n, 8))
    y = rng.integers(0, 2, size=n)
    variables = [str(v) for v in rng.choice(["a", "b"], size=n)]
    own, apply = fit.knn_block(e, y, variables)
    held = apply(rng.normal(size=(3, 8)), ["a", "b", "c"])
    assert own.shape == (n, 1)
    assert held.shape == (3, 1)
    for share in (*own[:, 0], *held[:, 0]):
        assert -1e-12 <= share <= 1 + 1e-12
