"""Learned fusion: feature scaling, nDCG, the two weight fitters, facets, query understanding,
and the Searcher's feature matrix on the invented papers of test_search.py (hashing encoder)."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from numpy.typing import NDArray

from kb.embed import EmbedCache
from kb.errors import BadInputError
from kb.index import build_index
from kb.lay_view import LAY_DIRECTIONS, LAY_DOMAINS, LAY_RESPONSES, LAY_VARIABLES, lay_view
from kb.query_kind import KINDS, LEXICAL, QueryKindModel
from kb.ranking import (
    ADAPTIVE_FEATURES,
    FACET_FEATURES,
    FEATURES,
    KIND_FEATURES,
    PaperFacets,
    fit_pairwise,
    fit_weights,
    kind_gate,
    lay_similarity,
    mean_ndcg,
    ndcg_at,
    query_adaptive,
    scale_bm25,
    scale_cosine,
)
from kb.records import DIRECTIONS, DOMAINS, RESPONSES, VARIABLES, Claim
from kb.search import LEARNED_WEIGHTS, Searcher, SearchFilters, Tuning
from kb.store import Store
from kb.vocabulary import expand_query, query_directions, query_domains, query_responses
from tests.test_search import PAPERS, HashEmbedder, _claims_and_exponents


@pytest.fixture
def indexed(tmp_path: Path) -> tuple[Path, HashEmbedder]:
    """test_search.py's invented papers, claims and exponent, indexed with a hashing encoder."""
    path = tmp_path / "kb.duckdb"
    embedder = HashEmbedder()
    with Store(path) as s:
        s.upsert([*PAPERS, *_claims_and_exponents()])
        build_index(s, path, model=embedder)
    return path, embedder


# -- scaling and metrics ----------------------------------------------------------------------
@given(st.lists(st.floats(0, 50, width=32), min_size=1, max_size=30))
def test_scaled_bm25_is_within_unit_interval_and_keeps_order(values: list[float]) -> None:
    x = np.array(values, dtype=np.float32)
    y = scale_bm25(x)
    assert y.min() >= 0
    assert y.max() <= 1 + 1e-6
    # monotone: a higher score never scales below a lower one (float rounding may tie two
    # scores, e.g. a subnormal next to 0, so the order is kept weakly, not strictly)
    order = np.argsort(x, kind="stable")
    assert (np.diff(y[order]) >= 0).all()


def test_scaled_cosine_puts_median_at_zero_and_best_at_one() -> None:
    y = scale_cosine(np.array([0.1, 0.2, 0.3, 0.5, 0.9], dtype=np.float32))
    assert y.tolist() == pytest.approx([0, 0, 0, 1 / 3, 1])
    assert scale_cosine(np.full(4, 0.3, dtype=np.float32)).tolist() == [0, 0, 0, 0]
    assert scale_bm25(np.zeros(3, dtype=np.float32)).tolist() == [0, 0, 0]


def test_ndcg_of_perfect_and_reversed_rankings() -> None:
    relevant = {"a": 2, "b": 1}
    assert ndcg_at(["a", "b", "c"], relevant) == pytest.approx(1.0)
    worse = ndcg_at(["c", "b", "a"], relevant)
    assert 0 < worse < ndcg_at(["b", "a", "c"], relevant) < 1
    assert ndcg_at(["c"], {}) == 0.0


def _synthetic(seed: int, n_queries: int = 12, n_papers: int = 60) -> tuple[list, list]:
    """Relevance decided by feature 0 (2x) plus feature 2; features 1 and 3 are noise."""
    rng = np.random.default_rng(seed)
    feats, gains = [], []
    for _ in range(n_queries):
        f = rng.random((n_papers, 4)).astype(np.float32)
        signal = 2 * f[:, 0] + f[:, 2]
        grade = np.zeros(n_papers, dtype=np.float32)
        grade[np.argsort(-signal)[:3]] = 3.0  # 2**2 - 1
        grade[np.argsort(-signal)[3:6]] = 1.0
        feats.append(f)
        gains.append(grade)
    return feats, gains


def test_coordinate_ascent_finds_the_informative_features() -> None:
    feats, gains = _synthetic(0)
    start = np.full(4, 0.1)
    w, score = fit_weights(feats, gains, start=start)
    assert score == pytest.approx(mean_ndcg(feats, gains, w))
    assert score > mean_ndcg(feats, gains, start)
    assert w[0] > w[1]
    assert w[0] > w[3]
    assert w[2] > w[3]
    held_f, held_g = _synthetic(1)
    assert mean_ndcg(held_f, held_g, w) > 0.9


def test_pairwise_fit_finds_the_informative_features_and_respects_fixed() -> None:
    feats, gains = _synthetic(2)
    w = fit_pairwise(feats, gains, start=np.ones(4), l2=0.01)
    assert w.sum() == pytest.approx(1.0)
    assert (w >= 0).all()
    assert w[0] > w[2] > max(w[1], w[3])
    fixed = fit_pairwise(feats, gains, start=np.ones(4), l2=0.01, fixed=(0,))
    assert fixed[0] == 0
    assert fixed[2] > 0


def test_fixed_weights_keep_their_start_value() -> None:
    feats, gains = _synthetic(3)
    start = np.array([0.0, 0.2, 0.1, 0.3])
    w, _ = fit_weights(feats, gains, start=start, fixed=(1, 3))
    assert w[1] == 0.2
    assert w[3] == 0.3


# -- facets and query understanding ----------------------------------------------------------
def test_paper_facets_match_what_the_query_asks() -> None:
    facets = PaperFacets(
        variables=[{"model_size", "data_size"}, {"compute"}, set()],
        directions=[{"worsens"}, {"improves"}, set()],
        responses=[{"loss"}, {"optimal_model_size"}, set()],
        domains=["language", "vision", None],
        studies_law=[True, False, True],
    )
    cols = facets.match(["model_size", "compute"], ["optimal_model_size"], ["vision"],
                        ["worsens"], True)  # fmt: skip
    assert set(cols) == set(FACET_FEATURES)
    assert cols["facet"].tolist() == [0.5, 0.5, 0.0]
    assert cols["response"].tolist() == [0, 1, 0]
    assert cols["domain"].tolist() == [0, 1, 0]
    assert cols["direction"].tolist() == [1, 0, 0]
    assert cols["scaling"].tolist() == [1, 0, 1]
    none = facets.match([], [], [], [], False)
    assert all(not c.any() for c in none.values())


def test_query_understanding_of_domains_directions_and_responses() -> None:
    assert query_domains("scaling of speech recognition") == ["speech"]
    assert "robotics" in query_domains("robot manipulation from demonstrations")
    assert query_domains("forecasting demand") == ["time_series"]
    assert query_domains("a faster tokenizer") == []
    assert query_directions("when does more data hurt?") == ["worsens"]
    assert query_directions("returns plateau at scale") == ["saturates"]
    assert query_directions("bigger is better") == []
    assert query_responses("the compute-optimal number of parameters") == ["optimal_model_size"]
    assert query_responses("how to set the learning rate") == ["optimal_hyperparameter"]
    assert "loss" in query_responses("does perplexity keep falling")


# -- the searcher's features ------------------------------------------------------------------
def _searcher(s: Store, db: Path, embedder: HashEmbedder, **tuning: object) -> Searcher:
    return Searcher.open(s, db, model=embedder, tuning=dataclasses.replace(Tuning(), **tuning))  # type: ignore[arg-type]


def _col(matrix: NDArray[np.float32], name: str) -> NDArray[np.float32]:
    return matrix[:, FEATURES.index(name)]


def test_feature_matrix_columns_say_what_matches(indexed: tuple[Path, HashEmbedder]) -> None:
    path, embedder = indexed
    with Store(path, read_only=True) as s:
        sr = _searcher(s, path, embedder)
        m = sr.features("robot demonstrations in many environments")
        assert m.shape == (len(PAPERS), len(FEATURES))
        assert m.dtype == np.float32
        assert np.isfinite(m).all()
        robot = sr._pos[PAPERS[1].paper_id]
        assert _col(m, "domain")[robot] == 1
        assert _col(m, "domain").sum() == 1
        assert _col(m, "abstract").argmax() == robot
        assert _col(m, "sem_paper").argmax() == robot
        assert 0 < _col(m, "coverage")[robot] <= 1
        bigger = sr.features("bigger models")
        tiny = sr._pos[PAPERS[0].paper_id]
        assert _col(bigger, "facet")[tiny] == 1  # its claim concerns model_size
        assert _col(bigger, "expansion")[tiny] > 0  # "model size" is in its abstract
        worse = sr.features("tasks that get worse")
        assert _col(worse, "direction").sum() == 0  # no claim says "worsens" here


def test_feedback_features_reflect_the_first_stage(indexed: tuple[Path, HashEmbedder]) -> None:
    path, embedder = indexed
    with Store(path, read_only=True) as s:
        sr = _searcher(s, path, embedder, prf_depth=1)
        m = sr.features("robot grasping")
        robot = sr._pos[PAPERS[1].paper_id]
        assert _col(m, "prf").argmax() == robot
        assert _col(m, "rm3").argmax() == robot  # its own words, the query's excluded
        off = _searcher(s, path, embedder, prf_depth=0).features("robot grasping")
        assert not _col(off, "prf").any()
        assert not _col(off, "rm3").any()


def test_learned_fusion_ranks_and_filters(indexed: tuple[Path, HashEmbedder]) -> None:
    path, embedder = indexed
    with Store(path, read_only=True) as s:
        sr = _searcher(s, path, embedder)
        assert sr.tuning.fusion == "learned"
        assert sr.tuning.weights == LEARNED_WEIGHTS
        hits = sr.search("inverse scaling tasks", k=3)
        assert hits[0].title == "Inverse Trends in Arithmetic"
        assert [h.score for h in hits] == sorted((h.score for h in hits), reverse=True)
        filtered = sr.search("inverse scaling tasks", filters=SearchFilters(domain="vision"))
        assert {h.paper_id for h in filtered} == {PAPERS[3].paper_id}


def test_wrong_number_of_weights_is_explained(indexed: tuple[Path, HashEmbedder]) -> None:
    path, embedder = indexed
    with Store(path, read_only=True) as s:
        sr = _searcher(s, path, embedder, weights=(1.0, 2.0))
        with pytest.raises(BadInputError, match="expected one per feature"):
            sr.search("loss")


def test_shipped_weights_have_one_value_per_feature() -> None:
    assert len(LEARNED_WEIGHTS) == len(FEATURES)
    assert all(w >= 0 for w in LEARNED_WEIGHTS)
    assert any(LEARNED_WEIGHTS)


def test_unweighted_feedback_columns_are_not_computed(
    indexed: tuple[Path, HashEmbedder], monkeypatch: pytest.MonkeyPatch
) -> None:
    path, embedder = indexed
    calls: list[str] = []
    monkeypatch.setattr(Searcher, "_feedback", lambda *a: calls.append("prf") or np.zeros(5))
    weights = tuple(0.0 if f == "prf" else 1.0 for f in FEATURES)
    with Store(path, read_only=True) as s:
        assert _searcher(s, path, embedder, weights=weights).search("robot grasping")
        assert calls == []
        assert _searcher(s, path, embedder, weights=(1.0,) * len(FEATURES)).search("robot")
        assert calls == ["prf"]


# -- query-adaptive fusion and the title cosine -------------------------------------------------
def test_query_adaptive_columns_follow_the_keyword_evidence() -> None:
    paper = np.array([1.0, 0.5, 0.0], dtype=np.float32)
    sentence = np.array([0.0, 0.5, 1.0], dtype=np.float32)
    semantic = (paper + sentence) / 2
    weak = query_adaptive(paper, sentence, np.array([0.25, 0.0, 0.1], np.float32), expanded=False)
    assert set(weak) == set(ADAPTIVE_FEATURES) <= set(FEATURES)
    np.testing.assert_allclose(weak["sem_no_expansion"], semantic)
    np.testing.assert_allclose(weak["sem_weak_keyword"], 0.75 * semantic)
    strong = query_adaptive(paper, sentence, np.array([1.0, 0.2, 0.0], np.float32), expanded=True)
    assert not strong["sem_no_expansion"].any()  # expansion fired: keyword side has vocabulary
    assert not strong["sem_weak_keyword"].any()  # a paper has every query word


@given(
    st.lists(st.floats(0, 1, width=32), min_size=1, max_size=20),
    st.floats(0, 1, width=32),
    st.booleans(),
)
def test_query_adaptive_columns_scale_one_column_within_unit_interval(
    values: list[float], best: float, expanded: bool
) -> None:
    sem = np.array(values, dtype=np.float32)
    coverage = np.full(len(values), best, dtype=np.float32)
    cols = query_adaptive(sem, sem, coverage, expanded=expanded)
    for col in cols.values():
        assert col.dtype == np.float32
        assert ((col >= 0) & (col <= 1)).all()
        big = sem > 1e-3
        ratio = col[big] / sem[big]
        assert np.allclose(ratio, ratio[0] if ratio.size else 0, atol=1e-5)  # same factor


def test_searcher_shifts_weight_to_semantic_for_unrecognised_wording(
    indexed: tuple[Path, HashEmbedder],
) -> None:
    path, embedder = indexed
    with Store(path, read_only=True) as s:
        sr = _searcher(s, path, embedder)
        assert expand_query("bigger models")
        known = sr.features("bigger models")
        assert not _col(known, "sem_no_expansion").any()
        assert not expand_query("arithmetic puzzles humans solve")
        odd = sr.features("arithmetic puzzles humans solve")
        sem = (_col(odd, "sem_paper") + _col(odd, "sem_sentence")) / 2
        np.testing.assert_allclose(_col(odd, "sem_no_expansion"), sem, rtol=1e-6)
        best = float(_col(odd, "coverage").max())
        assert 0 < best < 1  # "arithmetic" is in a title, the other words nowhere
        np.testing.assert_allclose(_col(odd, "sem_weak_keyword"), (1 - best) * sem, rtol=1e-5)


def test_title_cosine_ranks_the_matching_title_first_and_is_cached(
    indexed: tuple[Path, HashEmbedder],
) -> None:
    path, embedder = indexed
    with Store(path) as s:  # writable: the title vectors go into the embedding cache
        sr = _searcher(s, path, embedder)
        m = sr.features("robot grasping demonstrations")
        robot = sr._pos[PAPERS[1].paper_id]
        assert _col(m, "sem_title").argmax() == robot
        assert _col(m, "sem_title")[robot] == 1
        cache = EmbedCache(s, embedder)
        cache.embed([p.title for p in sr.papers])
        assert cache.n_encoded == 0  # every title was cached by the searcher
        filtered = sr._title_similarity(sr._encode("robot"), [robot])
        assert np.count_nonzero(filtered) <= 1


@pytest.mark.parametrize(
    ("feature", "method"), [("sem_title", "_title_similarity"), ("lay_view", "_lay_similarity")]
)
def test_unweighted_cosine_column_is_not_computed(
    indexed: tuple[Path, HashEmbedder], monkeypatch: pytest.MonkeyPatch, feature: str, method: str
) -> None:
    """The title cosine and the lay-view cosine cost an extra product: skipped at weight 0."""
    path, embedder = indexed
    calls: list[str] = []
    monkeypatch.setattr(
        Searcher, method, lambda *a: calls.append(feature) or np.zeros(5, np.float32)
    )
    weights = tuple(0.0 if f == feature else 1.0 for f in FEATURES)
    with Store(path, read_only=True) as s:
        assert _searcher(s, path, embedder, weights=weights).search("robot grasping")
        assert calls == []
        assert _searcher(s, path, embedder, weights=(1.0,) * len(FEATURES)).search("robot")
        assert calls == [feature]


# -- the query-kind gate -----------------------------------------------------------------------
def test_kind_gate_weighs_each_side_by_the_query_kind() -> None:
    title = np.array([1.0, 0.0, 0.5], dtype=np.float32)
    abstract = np.array([0.0, 1.0, 0.5], dtype=np.float32)
    paper = np.array([0.2, 0.4, 1.0], dtype=np.float32)
    sentence = np.array([0.0, 0.4, 1.0], dtype=np.float32)
    kinds = {"exact": 0.2, "paraphrase": 0.7, "conceptual": 0.1}
    cols = kind_gate(title, abstract, paper, sentence, kinds)
    assert set(cols) == set(KIND_FEATURES) <= set(FEATURES)
    np.testing.assert_allclose(cols["sem_lay"], 0.7 * (paper + sentence) / 2, rtol=1e-6)
    np.testing.assert_allclose(cols["kw_tech"], 0.3 * (title + abstract) / 2, rtol=1e-6)
    np.testing.assert_allclose(cols["kw_exact"], 0.2 * (title + abstract) / 2, rtol=1e-6)
    lay = kind_gate(title, abstract, paper, sentence, {**kinds, "paraphrase": 1.0})
    assert not lay["kw_tech"].any()  # a sure paraphrase gets no technical keyword credit


def _kind_model(tmp_path: Path, embedder: HashEmbedder) -> Path:
    """A toy classifier on the hashing encoder: 'paraphrase' rises with the stop-word share."""
    width = len(LEXICAL) + embedder.dim
    coef = [[0.0] * width for _ in KINDS]
    coef[KINDS.index("paraphrase")][LEXICAL.index("stop_share")] = 8.0
    model = QueryKindModel(
        kinds=KINDS, lexical=LEXICAL, encoder=embedder.name, embedding_dim=embedder.dim,
        mean=(0.0,) * width, scale=(1.0,) * width, coef=tuple(tuple(r) for r in coef),
        intercept=(0.0, 0.0, 0.0), trained_on="test",
    )  # fmt: skip
    path = tmp_path / "kinds.json"
    path.write_text(model.model_dump_json(), "utf-8")
    return path


def test_searcher_gate_columns_use_the_kind_classifier(
    indexed: tuple[Path, HashEmbedder], tmp_path: Path
) -> None:
    path, embedder = indexed
    model = _kind_model(tmp_path, embedder)
    with Store(path, read_only=True) as s:
        sr = _searcher(s, path, embedder, kind_model=str(model))
        query = "why do the bigger ones of them get worse at it"
        kinds = sr.query_kinds(query)
        assert kinds["paraphrase"] > 0.9
        assert sr.query_kinds("robot grasping")["paraphrase"] == pytest.approx(1 / 3)
        m = sr.features(query)
        expected = kind_gate(_col(m, "title"), _col(m, "abstract"), _col(m, "sem_paper"),
                             _col(m, "sem_sentence"), kinds)  # fmt: skip
        for name in KIND_FEATURES:
            np.testing.assert_allclose(_col(m, name), expected[name], rtol=1e-6)
        # gate weights move the ranking toward the embeddings for the lay query only
        only_lay = tuple(1.0 if f == "sem_lay" else 0.0 for f in FEATURES)
        lay = _searcher(s, path, embedder, kind_model=str(model), weights=only_lay)
        assert [h.paper_id for h in lay.search(query, k=3)] == [
            h.paper_id for h in sr.search(query, k=3, mode="semantic")
        ]


def test_gate_is_neutral_for_an_encoder_the_classifier_was_not_fitted_with(
    indexed: tuple[Path, HashEmbedder],
) -> None:
    path, embedder = indexed  # the shipped classifier is fitted on MiniLM vectors
    with Store(path, read_only=True) as s:
        kinds = _searcher(s, path, embedder).query_kinds("does a chatbot get smarter")
        assert kinds == dict.fromkeys(KINDS, pytest.approx(1 / 3))


def test_fit_pairwise_takes_one_l2_per_weight() -> None:
    rng = np.random.default_rng(3)
    feats = [rng.random((12, 3)).astype(np.float32) for _ in range(4)]
    gains = [np.where(f[:, 0] + 0.2 * f[:, 1] > 0.8, 3.0, 0.0).astype(np.float32) for f in feats]
    start = np.ones(3)
    same = fit_pairwise(feats, gains, start=start, l2=0.1)
    np.testing.assert_allclose(fit_pairwise(feats, gains, start=start, l2=[0.1] * 3), same)
    loose = fit_pairwise(feats, gains, start=start, l2=[0.1, 0.001, 0.1])
    assert loose[1] / loose[0] > same[1] / same[0]  # a weaker penalty lets that weight grow


# -- lay document views (round 7) --------------------------------------------------------------
def test_every_vocabulary_value_has_a_lay_rendering() -> None:
    for rendering, vocabulary in (
        (LAY_VARIABLES, VARIABLES), (LAY_RESPONSES, RESPONSES), (LAY_DIRECTIONS, DIRECTIONS),
        (LAY_DOMAINS, DOMAINS),
    ):  # fmt: skip
        assert set(vocabulary) <= set(rendering)


def test_lay_view_states_each_distinct_finding_once_in_plain_words() -> None:
    claims = [c for c in _claims_and_exponents() if isinstance(c, Claim)]
    first = claims[0]
    view = lay_view([first, first.model_copy(update={"claim_id": "c9"})], "language")
    assert view == (
        "Scaling of language models: With bigger models with more parameters, the loss or "
        "error gets better."
    )
    worse = first.model_copy(update={"direction": "worsens", "variables": []})
    assert lay_view([worse], None) == "Scaling: With scale, the loss or error gets worse."
    assert lay_view([], "vision") == ""


def test_lay_similarity_scales_papers_with_a_view_and_weighs_by_paraphrase() -> None:
    sims = np.array([0.9, 0.1, 0.5, 0.3, 0.99], dtype=np.float32)
    has_view = np.array([True, True, True, True, False])
    col = lay_similarity(sims, has_view, 0.5)
    assert col[4] == 0  # no view, no credit, whatever the cosine
    np.testing.assert_allclose(col[:4], 0.5 * scale_cosine(sims[:4]), rtol=1e-6)
    assert not lay_similarity(sims, has_view, 0.0).any()
    assert not lay_similarity(sims, np.zeros(5, dtype=bool), 1.0).any()


def test_searcher_lay_view_column_is_the_cosine_to_the_views(
    indexed: tuple[Path, HashEmbedder], tmp_path: Path
) -> None:
    path, embedder = indexed
    model = _kind_model(tmp_path, embedder)
    with Store(path, read_only=True) as s:
        sr = _searcher(s, path, embedder, kind_model=str(model))
        texts = [t for t in sr.lay_texts if t]
        assert len(texts) == 2  # the two papers with claims
        query = "do the bigger ones of them get better at it"
        m = sr.features(query)
        col = _col(m, "lay_view")
        vectors, has_view = sr.lay_vectors
        expected = lay_similarity(
            vectors @ sr._encode(query), has_view, sr.query_kinds(query)["paraphrase"]
        )
        np.testing.assert_allclose(col, expected, rtol=1e-6)
        assert col.max() > 0
        assert not col[~has_view].any()
        # filtered to one paper with a view: only it is scaled (a single paper scales to 0)
        one = int(np.flatnonzero(has_view)[0])
        assert not sr._lay_similarity(sr._encode(query), [one], 1.0).any()
