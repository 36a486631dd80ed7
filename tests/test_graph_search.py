"""benchmarks/graph_search.py (search round 5): the neighbour graph, phrase and claim-sentence
columns, and the experiment's fit on the invented papers of test_search.py (hashing encoder)."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from benchmarks.fit_search_weights import gains_of
from benchmarks.graph_search import (
    EXTRA,
    VARIANTS,
    Corpus,
    bigram_idf,
    bigrams,
    claim_sentence_rows,
    cross_validate,
    judged_at_10,
    max_scale,
    neighbour_weights,
    phrase_scores,
    write_pool,
)
from kb.index import IndexRow, build_index
from kb.keyword import tokenize
from kb.ranking import FEATURES
from kb.search import Searcher
from kb.store import Store
from tests.test_search import PAPERS, HashEmbedder, _claims_and_exponents


# -- the neighbour graph ----------------------------------------------------------------------
def _unit(rows: np.ndarray) -> np.ndarray:
    norms = np.linalg.norm(rows, axis=1, keepdims=True)
    return (rows / np.where(norms > 0, norms, 1.0)).astype(np.float32)


@settings(max_examples=40, deadline=None)
@given(
    arrays(np.float32, (9, 5), elements=st.floats(-1, 1, width=32)),
    st.integers(1, 8),
    st.sampled_from([-1.0, 0.0, 0.5]),
)
def test_neighbour_weights_are_the_k_nearest_others_by_brute_force(
    raw: np.ndarray, k: int, floor: float
) -> None:
    vectors = _unit(raw)
    w = neighbour_weights(vectors, k, floor)
    sims = vectors @ vectors.T
    assert np.allclose(np.diag(w), 0)  # a paper is never its own neighbour
    for i in range(len(w)):
        near = np.flatnonzero(w[i])
        assert len(near) <= k
        assert (sims[i, near] >= floor - 1e-6).all()
        assert (sims[i, near] > 0).all()
        if near.size:
            assert w[i].sum() == pytest.approx(1.0, abs=1e-5)
            # every neighbour is at least as similar as every non-neighbour above the floor
            others = [j for j in range(len(w)) if j != i and j not in near]
            if others and len(near) == k and floor <= 0:
                assert sims[i, near].min() >= sims[i, others].max() - 1e-5


def test_neighbour_weights_floor_can_leave_a_paper_isolated() -> None:
    vectors = _unit(np.array([[1, 0], [0.9, 0.1], [0, 1]], dtype=np.float32))
    w = neighbour_weights(vectors, 2, 0.5)
    assert np.flatnonzero(w[0]).tolist() == [1]
    assert w[0, 1] == pytest.approx(1.0)
    assert not w[2].any()  # nothing within cosine 0.5 of the third paper


def test_max_scale() -> None:
    assert max_scale(np.array([0, 2, 1], np.float32)).tolist() == [0, 1, 0.5]
    assert not max_scale(np.zeros(3, np.float32)).any()
    assert max_scale(np.zeros(0, np.float32)).size == 0


# -- phrases and claim sentences ----------------------------------------------------------------
def test_bigrams_are_adjacent_tokens_after_stop_words_and_stemming() -> None:
    assert bigrams(tokenize("laws of scaling")) == {("law", "scale")}
    assert bigrams(tokenize("scaling")) == set()


def test_phrase_scores_reward_adjacent_words_only() -> None:
    papers = [
        bigrams(tokenize("a study of mixture models for experts")),  # words apart
        bigrams(tokenize("a sparse mixture of experts model")),  # "mixture experts" adjacent
        bigrams(tokenize("nothing relevant here")),
    ]
    idf = bigram_idf(papers)
    scores = phrase_scores("mixture of experts", papers, idf)
    assert scores.tolist() == [0.0, 1.0, 0.0]
    assert not phrase_scores("experts", papers, idf).any()  # one word: no pair


def test_phrase_scores_weigh_rare_pairs_more() -> None:
    papers = [
        bigrams(tokenize("model size matters")),
        bigrams(tokenize("model size, then compute budget")),
        bigrams(tokenize("compute budget")),
        bigrams(tokenize("model size again")),
    ]
    idf = bigram_idf(papers)
    assert idf[("comput", "budget")] > idf[("model", "size")]
    scores = phrase_scores("model size compute budget", papers, idf)
    unseen = math.log1p(len(papers))  # ("size", "comput") is adjacent in no paper
    total = idf[("model", "size")] + unseen + idf[("comput", "budget")]
    assert scores[1] == pytest.approx(1 - unseen / total)
    assert scores[2] > scores[0]  # the rarer pair counts for more


def test_claim_sentence_rows_overlap_the_evidence_span() -> None:
    rows = [
        IndexRow("p", "paper", 0, 40),
        IndexRow("p", "sentence", 0, 10),
        IndexRow("p", "sentence", 11, 25),
        IndexRow("q", "sentence", 0, 10),
    ]
    assert claim_sentence_rows(rows, {"p": [(12, 20)]}).tolist() == [2]
    assert claim_sentence_rows(rows, {"p": [(10, 11)]}).tolist() == []  # touches, no overlap
    assert claim_sentence_rows(rows, {}).size == 0


# -- the experiment on the invented papers ------------------------------------------------------
QUERIES = [
    {"qid": "t1", "kind": "exact", "query": "power law in model size",
     "relevant": {PAPERS[0].paper_id: 2}, "not_relevant": [PAPERS[2].paper_id]},
    {"qid": "t2", "kind": "paraphrase", "query": "robots learning from many homes",
     "relevant": {PAPERS[1].paper_id: 2}},
    {"qid": "t3", "kind": "conceptual", "query": "tasks that get worse as models grow",
     "relevant": {PAPERS[4].paper_id: 2, PAPERS[0].paper_id: 1}},
    {"qid": "t4", "kind": "exact", "query": "image classifiers and pixels",
     "relevant": {PAPERS[3].paper_id: 2}},
]  # fmt: skip


@pytest.fixture
def corpus(tmp_path: Path) -> Corpus:
    path = tmp_path / "kb.duckdb"
    embedder = HashEmbedder()
    with Store(path) as s:
        s.upsert([*PAPERS, *_claims_and_exponents()])
        build_index(s, path, model=embedder)
    store = Store(path, read_only=True)
    return Corpus(Searcher.open(store, path, model=embedder), QUERIES)


def test_corpus_columns(corpus: Corpus) -> None:
    n = len(PAPERS)
    assert len(corpus.claim_rows) == 2  # each claim's evidence overlaps one abstract sentence
    corpus.set_graph(2, 0.0)
    w = np.ones(len(FEATURES) + len(EXTRA)) / 10
    m = corpus.matrix(0, w, EXTRA)
    assert m.shape == (n, len(FEATURES) + len(EXTRA))
    assert np.isfinite(m).all()
    extra = m[:, len(FEATURES) :]
    assert extra.min() >= 0
    assert extra.max() <= 1 + 1e-6
    phrase = extra[:, EXTRA.index("phrase")]
    first = corpus.searcher._pos[PAPERS[0].paper_id]
    assert phrase[first] == 1.0  # "power law", "law model", "model size" all adjacent in it
    claim = extra[:, EXTRA.index("claim_sem")]
    assert claim[first] == claim.max() > 0  # its claim sentence is the query's words
    with pytest.raises(SystemExit, match="unknown extra column"):
        corpus.matrix(0, w, ("nope",))


def test_cross_validation_and_judged_share_run_on_every_variant(corpus: Corpus) -> None:
    gains = gains_of(corpus.searcher, QUERIES)
    for name in ("base", "g_first k3", "g_sem+bm25 k3", "phrase"):
        extras, k, floor = VARIANTS[name]
        if k:
            corpus.set_graph(k, floor)
        ins, loqo, two, w = cross_validate(corpus, gains, gains, extras)
        assert len(ins) == len(loqo) == len(two) == len(QUERIES)
        assert all(0 <= s <= 1 for s in (*ins, *loqo, *two))
        assert w.shape == (len(FEATURES) + len(extras),)
        assert w.sum() == pytest.approx(1.0)
        share = judged_at_10(corpus, corpus.judged, w, extras)
        assert 0 < share <= 1
    corpus.condensed = True  # unjudged papers left out: only judged ones can be ranked
    ins, *_ = cross_validate(corpus, gains, gains, ())
    assert ins[0] == pytest.approx(1.0)  # the one relevant judged paper beats the judged miss


def test_pool_lists_unjudged_top_papers_in_id_order(corpus: Corpus, tmp_path: Path) -> None:
    gains = gains_of(corpus.searcher, QUERIES)
    cross_validate(corpus, gains, gains, ())
    out = tmp_path / "pool.jsonl"
    write_pool(out, corpus)
    rows = [json.loads(line) for line in out.read_text().splitlines()]
    assert [r["qid"] for r in rows] == [q["qid"] for q in QUERIES]
    for row, q in zip(rows, QUERIES, strict=True):
        assert row["to_judge"] == sorted(row["to_judge"])
        graded = {*q["relevant"], *q.get("not_relevant", [])}
        assert not graded & set(row["to_judge"])
        # five papers, all in every top 10: everything not graded is to be judged
        assert len(row["to_judge"]) == len(PAPERS) - len(graded)
