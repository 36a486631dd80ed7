"""Embedding-based query expansion: the corpus vocabulary, nearest terms against brute force,
and the searcher's ``sem_expansion`` column on test_search.py's invented papers (hashing
encoder, no model)."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from kb.embed import EmbedCache
from kb.errors import BadInputError
from kb.expansion import TermExpansion
from kb.index import TERM_MIN_DF, build_index
from kb.keyword import tokenize, vocabulary
from kb.ranking import FEATURES
from kb.search import Searcher, Tuning
from kb.store import Store
from tests.test_search import PAPERS, HashEmbedder


@pytest.fixture
def indexed(tmp_path: Path) -> tuple[Path, HashEmbedder]:
    """test_search.py's invented papers indexed (and their terms embedded) by a hashing encoder."""
    path = tmp_path / "kb.duckdb"
    embedder = HashEmbedder()
    with Store(path) as s:
        s.upsert(PAPERS)
        build_index(s, path, model=embedder)
    return path, embedder


def _searcher(s: Store, db: Path, embedder: HashEmbedder, **tuning: object) -> Searcher:
    return Searcher.open(s, db, model=embedder, tuning=dataclasses.replace(Tuning(), **tuning))  # type: ignore[arg-type]


# -- vocabulary -----------------------------------------------------------------------------------
def test_vocabulary_keeps_terms_in_enough_documents_with_their_commonest_form() -> None:
    docs = ["Scaling the models.", "One model scales; models grow.", "Grasping robots."]
    terms, surfaces = vocabulary(docs, min_df=2)
    assert terms == ["model", "scale"]  # "grow" and "robot" are in one document only
    assert surfaces == ["models", "scales"]  # "models" 2x vs "model" 1x; tie goes to "scales"
    assert vocabulary(docs, min_df=1)[0] == sorted(set(tokenize(" ".join(docs))))
    assert vocabulary([], min_df=1) == ([], [])


@given(st.lists(st.text(alphabet="abcdefgh ", max_size=40), max_size=8), st.integers(1, 3))
def test_every_surface_form_tokenizes_to_its_term(docs: list[str], min_df: int) -> None:
    terms, surfaces = vocabulary(docs, min_df)
    assert terms == sorted(set(terms))
    for term, surface in zip(terms, surfaces, strict=True):
        assert tokenize(surface) == [term]
        assert sum(term in tokenize(d) for d in docs) >= min_df


# -- nearest terms --------------------------------------------------------------------------------
@given(st.integers(0, 2**32 - 1), st.integers(1, 8), st.floats(-1, 1))
def test_nearest_terms_equal_brute_force_top_k(seed: int, top: int, floor: float) -> None:
    rng = np.random.default_rng(seed)
    vectors = rng.normal(size=(30, 16)).astype(np.float32)
    terms = [f"t{i}" for i in range(30)]
    vocab = TermExpansion(terms, terms, vectors)
    q = rng.normal(size=16).astype(np.float32)
    exclude = {"t0", "t3"}
    got = vocab.nearest(q, top=top, floor=floor, exclude=exclude)
    unit = vectors / np.linalg.norm(vectors, axis=1, keepdims=True)
    sims = unit @ (q / np.linalg.norm(q))
    ranked = [i for i in np.argsort(-sims) if terms[i] not in exclude and sims[i] >= floor]
    assert list(got) == [terms[i] for i in ranked[:top]]
    assert list(got.values()) == pytest.approx([float(sims[i]) for i in ranked[:top]], abs=1e-5)


def test_nearest_to_words_skips_the_word_itself_and_unknown_words() -> None:
    vectors = np.array([[1, 0], [0.9, 0.1], [0, 1]], dtype=np.float32)
    vocab = TermExpansion(["big", "larg", "tini"], ["big", "large", "tiny"], vectors)
    near = vocab.nearest_to_words(["big", "unknown"], top=2, floor=0.5)
    assert list(near) == ["larg"]
    assert near["larg"] == pytest.approx(0.9 / np.hypot(0.9, 0.1))
    assert vocab.nearest(vectors[0], top=0, floor=0.0) == {}
    assert (
        TermExpansion([], [], np.zeros((0, 2), np.float32)).nearest(vectors[0], top=3, floor=0)
        == {}
    )


def test_mismatched_term_vectors_are_explained() -> None:
    with pytest.raises(BadInputError, match="one vector row per term; got 2 terms, 2 surface"):
        TermExpansion(["a", "b"], ["a", "b"], np.zeros((3, 4), np.float32))


# -- the searcher's column ------------------------------------------------------------------------
def test_index_build_caches_the_term_vectors(indexed: tuple[Path, HashEmbedder]) -> None:
    path, embedder = indexed
    with Store(path, read_only=True) as s:
        sr = _searcher(s, path, embedder)
        terms, surfaces = sr.keyword.vocabulary(TERM_MIN_DF)
        assert terms  # "model", "scale", ... appear in several invented abstracts
        cache = EmbedCache(s, embedder)
        cache.embed(surfaces)
        assert cache.n_encoded == 0
        before = embedder.n_texts
        assert len(sr.term_expansion) == len(terms)
        assert embedder.n_texts == before  # read from the cache, nothing encoded


def test_expansion_column_searches_the_terms_nearest_to_the_query(
    indexed: tuple[Path, HashEmbedder],
) -> None:
    path, embedder = indexed
    with Store(path, read_only=True) as s:
        sr = _searcher(s, path, embedder, embed_terms=3, embed_floor=0.5)
        qvec = sr._encode("machines that pick things up")
        # A hand-made vocabulary: "grasp" sits where the query does, "tokenizer" far away.
        sr._terms = TermExpansion(
            ["grasp", "token", "machin"], ["grasping", "tokenizer", "machines"],
            np.stack([qvec, -qvec, qvec]),
        )  # fmt: skip
        assert sr.expansion_terms("machines that pick things up") == {
            "grasp": pytest.approx(1.0)
        }  # "machin" is the query's own word; "token" is below the floor
        m = sr.features("machines that pick things up")
        col = m[:, FEATURES.index("sem_expansion")]
        robot = sr._pos[PAPERS[1].paper_id]
        assert col[robot] == 1
        assert np.count_nonzero(col) == 1
        words = _searcher(s, path, embedder, embed_mode="word", embed_floor=0.5)
        words._terms = sr._terms
        assert words.expansion_terms("machines that pick things up") == {
            "grasp": pytest.approx(1.0)
        }  # nearest to the query word "machin", which itself is excluded


def test_unweighted_expansion_column_is_not_computed(
    indexed: tuple[Path, HashEmbedder], monkeypatch: pytest.MonkeyPatch
) -> None:
    path, embedder = indexed
    calls: list[str] = []
    monkeypatch.setattr(Searcher, "expansion_terms", lambda *a: calls.append("x") or {})
    weights = tuple(0.0 if f == "sem_expansion" else 1.0 for f in FEATURES)
    with Store(path, read_only=True) as s:
        assert _searcher(s, path, embedder, weights=weights).search("robot grasping")
        assert calls == []
        assert _searcher(s, path, embedder, weights=(1.0,) * len(FEATURES)).search("robot")
        assert calls == ["x"]


def test_corpus_without_shared_terms_gives_an_empty_column(tmp_path: Path) -> None:
    path = tmp_path / "one.duckdb"
    embedder = HashEmbedder()
    with Store(path) as s:
        s.upsert(PAPERS[:1])
        build_index(s, path, model=embedder)
        sr = _searcher(s, path, embedder, weights=(1.0,) * len(FEATURES))
        assert len(sr.term_expansion) == 0
        assert not sr.features("robots")[:, FEATURES.index("sem_expansion")].any()
        assert sr.search("tiny transformers")


def test_read_only_store_without_term_vectors_says_how_to_cache_them(
    indexed: tuple[Path, HashEmbedder], caplog: pytest.LogCaptureFixture
) -> None:
    path, embedder = indexed
    with Store(path) as s:  # as built before term vectors were cached at index time
        s.con.execute("DELETE FROM embeddings")
    with Store(path, read_only=True) as s:
        sr = _searcher(s, path, embedder)
        assert len(sr.term_expansion) > 0
    assert "kb index --rebuild" in caplog.text
