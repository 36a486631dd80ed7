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


# ---- the paper-level abstract-embedding rescue (``--embed-rescue``) ----


def _paper(fit: Any, pid: str, source: str, label: bool, found: bool, **kw: Any) -> Any:
    return fit.RescuePaper(
        paper_id=pid,
        source=source,
        label=label,
        gold=frozenset(kw.get("gold", ())),
        found=found,
        rule_variables=kw.get("rule", []),
        own_variables=kw.get("own", []),
    )


def test_rescue_decision_needs_probability_and_an_own_quantity(fit: Any) -> None:
    rules_pos = _paper(fit, "a", "dev", True, True, rule=["compute"], own=["model_size"])
    missed = _paper(fit, "b", "ext", True, False, own=["data_size", "model_size"])
    bare = _paper(fit, "c", "ext", True, False)
    assert fit.rescue_decision(rules_pos, 0.0, 0.5) == (True, ["compute"])
    assert fit.rescue_decision(missed, 0.7, 0.7) == (True, ["data_size", "model_size"])
    assert fit.rescue_decision(missed, 0.69, 0.7) == (False, [])
    assert fit.rescue_decision(bare, 1.0, 0.5) == (False, [])
    assert fit.rescue_decision(missed, 1.0, 1.01) == (False, [])  # the "never" threshold


def test_paper_scores_count_a_missed_positive_as_zero_variables(fit: Any) -> None:
    papers = [
        _paper(fit, "tp", "dev", True, True, gold={"compute"}),
        _paper(fit, "fn", "dev", True, False, gold={"model_size"}),
        _paper(fit, "fp", "dev", False, True),
        _paper(fit, "tn", "dev", False, False),
    ]
    decided = {
        "tp": (True, ["compute", "data_size"]),
        "fn": (False, []),
        "fp": (True, ["compute"]),
        "tn": (False, []),
    }
    s = fit.paper_scores(papers, decided)
    assert (s.precision, s.recall, s.f1) == (0.5, 0.5, 0.5)
    assert s.variables_f1 == pytest.approx((2 / 3 + 0.0) / 2)


def test_rescue_variables_are_own_sentences_only(fit: Any) -> None:
    from kb.records import Paper

    paper = Paper(
        paper_id="t:r",
        title="A study",
        abstract="Prior work found that loss falls as a power law in model size. "
        "We train transformers on 300B tokens of text.",
    )
    own = fit.rescue_variables(paper)
    assert "data_size" in own
    assert "model_size" not in own  # named only in a background sentence


def test_tuned_rescue_finds_separable_missed_positives(fit: Any) -> None:
    rng = np.random.default_rng(0)
    papers: list[Any] = []
    embeddings: dict[str, Any] = {}
    for source in ("dev", "ext"):
        for i in range(40):
            label = i % 2 == 0
            found = label and i % 4 == 0  # the rules miss half the positives
            pid = f"{source}{i}"
            papers.append(_paper(fit, pid, source, label, found, own=["compute"], gold={"compute"}))
            v = rng.normal(size=6) * 0.1
            v[0] += 1.0 if label else -1.0
            embeddings[pid] = v / np.linalg.norm(v)
    c, t, inner = fit.tune_rescue(papers, embeddings, "test")
    assert c in fit.RESCUE_C_GRID
    assert t < 1.01  # rescuing pays on both sources
    assert inner == pytest.approx(1.0)
    probs = fit.fit_paper_classifier(papers, embeddings, c)(papers)
    assert all((q >= t) == p.label for p, q in zip(papers, probs, strict=True))
