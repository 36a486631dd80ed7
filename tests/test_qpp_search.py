"""benchmarks/qpp_search.py: query predictors, interaction columns, gate and cross-validation.

Synthetic feature matrices only: no store, no model.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from benchmarks.qpp_search import (
    COL,
    LAMBDAS,
    Query,
    cross_validate,
    gate,
    interaction,
    lambda_table,
    normalisations,
    predictors,
    sides,
)
from kb.ranking import FEATURES


def _query(keyword: np.ndarray, semantic: np.ndarray, gains: np.ndarray, **kw: object) -> Query:
    x = np.zeros((len(keyword), len(FEATURES)), dtype=np.float32)
    x[:, COL["title"]] = x[:, COL["abstract"]] = keyword
    x[:, COL["sem_paper"]] = x[:, COL["sem_sentence"]] = semantic
    x[:, COL["coverage"]] = kw.get("coverage", 0.5)
    return Query(
        kind="exact", features=x, paper_sim=(0.2 + 0.6 * semantic).astype(np.float32),
        gains=gains.astype(np.float32), expanded=bool(kw.get("expanded", False)),
        n_tokens=int(kw.get("n_tokens", 4)),  # type: ignore[call-overload]
    )  # fmt: skip


def test_sides_are_the_mean_keyword_and_semantic_columns() -> None:
    q = _query(np.linspace(1, 0, 20), np.linspace(0, 1, 20), np.zeros(20))
    keyword, semantic = sides(q.features)
    assert keyword == pytest.approx(np.linspace(1, 0, 20))
    assert semantic == pytest.approx(np.linspace(0, 1, 20))


def test_predictors_of_agreeing_and_disagreeing_sides() -> None:
    scores = np.linspace(1, 0, 30)
    same = predictors(_query(scores, scores, np.zeros(30), expanded=True, n_tokens=16))
    assert same["ov"] == 1.0
    assert same["exp"] == 1.0
    assert same["len"] == 1.0  # capped
    assert same["kgap"] == pytest.approx(1 - scores[9])
    apart = predictors(_query(scores, scores[::-1].copy(), np.zeros(30), n_tokens=2))
    assert apart["ov"] == 0.0
    assert apart["exp"] == 0.0
    assert apart["len"] == pytest.approx(0.25)


@settings(max_examples=30, deadline=None)
@given(st.lists(st.floats(0, 1), min_size=12, max_size=40), st.floats(0, 1))
def test_predictors_stay_in_range(values: list[float], coverage: float) -> None:
    col = np.array(values, dtype=np.float32)
    p = predictors(_query(col, col[::-1].copy(), np.zeros(len(col)), coverage=coverage))
    for name in ("ov", "kgap", "kgap2", "cov", "exp", "len"):
        assert 0.0 <= p[name] <= 1.0, name
    assert p["sgap"] >= 0.0
    assert p["sgap2"] >= 0.0


def _two_kinds(n: int = 8, papers: int = 30) -> list[Query]:
    """Half the queries answered by the keyword side, half by the semantic side."""
    rng = np.random.default_rng(0)
    out = []
    for i in range(n):
        good, noise = np.linspace(1, 0, papers), rng.random(papers)
        gains = np.zeros(papers)
        gains[:3] = 3
        keyword, semantic = (good, noise) if i % 2 else (noise, good)
        out.append(_query(keyword, semantic, gains, expanded=bool(i % 2)))
    return out


def test_lambda_table_moves_each_query_towards_one_side() -> None:
    queries = _two_kinds()
    w = np.zeros(len(FEATURES))
    w[COL["title"]] = w[COL["sem_paper"]] = 0.05  # both sides 0.1 (columns are doubled)
    table = lambda_table(queries, w)
    assert table.shape == (len(queries), len(LAMBDAS))
    # lam = -0.05 leaves the keyword side alone, +0.05 the semantic side: each query is
    # answered perfectly by its own side.
    kw_only, sem_only = np.flatnonzero(LAMBDAS == -0.05)[0], np.flatnonzero(LAMBDAS == 0.05)[0]
    assert table[1, kw_only] == pytest.approx(1.0)  # a keyword query
    assert table[0, sem_only] == pytest.approx(1.0)  # a semantic query
    assert table[1, sem_only] < 1.0


def test_gate_on_a_perfect_predictor_beats_one_shift_for_all() -> None:
    queries = _two_kinds()
    n = len(queries)
    which = np.array([float(q.expanded) for q in queries])  # 1 = the keyword side is right
    with_predictor = cross_validate(n, gate(queries, which))
    without = cross_validate(n, gate(queries, None))
    assert with_predictor[0] > without[0]
    assert with_predictor[1] > without[1]


def test_interaction_columns_have_both_signs_and_cross_validate() -> None:
    queries = _two_kinds()
    preds = [predictors(q) for q in queries]
    fitter = interaction(queries, preds, "exp")
    in_sample, loqo, two_fold = cross_validate(len(queries), fitter)
    for figure in (in_sample, loqo, two_fold):
        assert 0.0 <= figure <= 1.0


def test_normalisations_keep_the_paper_count() -> None:
    q = _two_kinds()[0]
    for label, matrix in normalisations(q).items():
        assert matrix.shape[0] == q.features.shape[0], label
        assert np.isfinite(matrix).all(), label
