"""The query-side adapter: its map, its file, its training queries, and how the searcher uses it
(only for the encoder it was fitted with)."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from kb.errors import BadInputError
from kb.query_adapter import AdapterMeta, QueryAdapter
from kb.search import Searcher, Tuning
from kb.store import Store
from tests import test_expansion
from tests.test_search import HashEmbedder

ROOT = Path(__file__).resolve().parent.parent
QUERIES = ROOT / "data" / "eval" / "adapter_queries.jsonl"


def _adapter(dim: int = 4, rank: int = 2, encoder: str = "enc", seed: int = 0) -> QueryAdapter:
    rng = np.random.default_rng(seed)
    meta = AdapterMeta(encoder=encoder, dim=dim, rank=rank, trained_on="test")
    return QueryAdapter(meta, rng.normal(size=(dim, rank)), rng.normal(size=(rank, dim)))


def test_apply_is_the_normalised_residual_low_rank_map() -> None:
    a = _adapter()
    q = np.array([1.0, 0.0, 0.0, 0.0], dtype=np.float32)
    expected = q + (q @ a.down) @ a.up
    np.testing.assert_allclose(a.apply(q), expected / np.linalg.norm(expected), rtol=1e-5)
    batch = a.apply(np.stack([q, q]))
    assert batch.shape == (2, 4)
    np.testing.assert_allclose(batch[0], batch[1])


def test_a_zero_correction_leaves_unit_vectors_unchanged() -> None:
    meta = AdapterMeta(encoder="enc", dim=3, rank=1, trained_on="test")
    a = QueryAdapter(meta, np.ones((3, 1)), np.zeros((1, 3)))
    q = np.array([0.6, 0.8, 0.0], dtype=np.float32)
    np.testing.assert_allclose(a.apply(q), q, rtol=1e-6)


@settings(max_examples=50, deadline=None)
@given(arrays(np.float32, 4, elements=st.floats(-10, 10, width=32)))
def test_apply_returns_unit_or_zero_vectors(q: np.ndarray) -> None:
    out = _adapter().apply(q)
    assert np.isfinite(out).all()
    norm = float(np.linalg.norm(out))
    assert norm == pytest.approx(1.0, abs=1e-4) or norm == pytest.approx(0.0, abs=1e-6)


def test_shapes_and_values_are_checked() -> None:
    meta = AdapterMeta(encoder="enc", dim=4, rank=2, trained_on="test")
    with pytest.raises(BadInputError, match=r"expected \(4, 2\) and \(2, 4\)"):
        QueryAdapter(meta, np.zeros((4, 3)), np.zeros((3, 4)))
    with pytest.raises(BadInputError, match="NaN"):
        QueryAdapter(meta, np.full((4, 2), np.nan), np.zeros((2, 4)))
    with pytest.raises(BadInputError, match="4-d vectors"):
        _adapter().apply(np.zeros(5, dtype=np.float32))


def test_save_and_load_round_trip(tmp_path: Path) -> None:
    a = _adapter(encoder="model:abc")
    path = tmp_path / "adapter.npz"
    a.save(path)
    b = QueryAdapter.load(path)
    assert b.meta == a.meta
    np.testing.assert_array_equal(b.down, a.down)
    np.testing.assert_array_equal(b.up, a.up)
    assert not list(tmp_path.glob("*.tmp"))  # written via a temporary file, then moved


def test_load_names_the_file_when_it_is_missing_or_bad(tmp_path: Path) -> None:
    with pytest.raises(BadInputError, match="not found"):
        QueryAdapter.load(tmp_path / "none.npz")
    junk = tmp_path / "junk.npz"
    junk.write_bytes(b"not a zip file")
    with pytest.raises(BadInputError, match=r"junk\.npz: not a query adapter"):
        QueryAdapter.load(junk)
    partial = tmp_path / "partial.npz"
    np.savez(partial, down=np.zeros((4, 2)))
    with pytest.raises(BadInputError, match=r"partial\.npz: not a query adapter"):
        QueryAdapter.load(partial)
    wrong_meta = tmp_path / "meta.npz"
    np.savez(wrong_meta, down=np.zeros((4, 2)), up=np.zeros((2, 4)), meta=np.array('{"dim": 4}'))
    with pytest.raises(BadInputError, match=r"meta\.npz: not a query adapter"):
        QueryAdapter.load(wrong_meta)


def test_fits_only_its_encoder() -> None:
    a = _adapter(encoder="model:abc")
    assert a.fits("model:abc", 4)
    assert not a.fits("model:xyz", 4)
    assert not a.fits("model:abc", 8)


# -- the training queries ----------------------------------------------------------------------
def _words(text: str) -> set[str]:
    return set(text.lower().replace("?", " ").split())


def test_training_queries_are_four_per_external_abstract_and_reword_no_search_query() -> None:
    rows = [
        json.loads(line)
        for path in (QUERIES, QUERIES.with_name("adapter_queries_extra.jsonl"))
        for line in path.read_text("utf-8").splitlines()
        if line
    ]
    per: dict[str, list[str]] = {}
    for r in rows:
        assert set(r) == {"ext_id", "kind", "query"}
        per.setdefault(r["ext_id"], []).append(r["kind"])
    kinds = ["conceptual", "exact", "paraphrase", "paraphrase"]
    assert all(sorted(k) == kinds for k in per.values())
    search = [
        json.loads(line)["query"]
        for name in ("search_dev.jsonl", "search_heldout.jsonl")
        for line in (ROOT / "data" / "eval" / name).read_text("utf-8").splitlines()
        if line
    ]
    for r in rows:
        mine = _words(r["query"])
        for other in search:
            theirs = _words(other)
            assert len(mine & theirs) / len(mine | theirs) < 0.5, (r["query"], other)


# -- in the searcher ---------------------------------------------------------------------------
indexed = test_expansion.indexed  # the fixture: test_search.py's invented papers, hashed


def _searcher(s: Store, db: Path, embedder: HashEmbedder, adapter: str) -> Searcher:
    tuning = dataclasses.replace(Tuning(), query_adapter=adapter)
    return Searcher.open(s, db, model=embedder, tuning=tuning)  # type: ignore[arg-type]


def test_searcher_applies_an_adapter_fitted_for_its_encoder(
    indexed: tuple[Path, HashEmbedder], tmp_path: Path
) -> None:
    path, embedder = indexed
    adapter = _adapter(dim=embedder.dim, rank=3, encoder=embedder.name, seed=1)
    file = tmp_path / "adapter.npz"
    adapter.save(file)
    with Store(path, read_only=True) as s:
        plain = _searcher(s, path, embedder, "")
        adapted = _searcher(s, path, embedder, str(file))
        q = plain._encode("robot grasping")
        np.testing.assert_array_equal(plain.semantic_query(q), q)
        np.testing.assert_allclose(adapted.semantic_query(q), adapter.apply(q), rtol=1e-6)
        got = adapted.features("robot grasping")
        want = plain.semantic.parts(adapter.apply(q), None, plain.tuning.semantic_depth)
        expected = adapted._semantic_parts(q, None)
        np.testing.assert_allclose(expected[0], want[0], rtol=1e-6)
        assert got.shape == plain.features("robot grasping").shape
        assert [h.paper_id for h in adapted.search("robot grasping", mode="semantic")]


def test_searcher_ignores_an_adapter_fitted_for_another_encoder(
    indexed: tuple[Path, HashEmbedder], tmp_path: Path
) -> None:
    path, embedder = indexed
    file = tmp_path / "adapter.npz"
    _adapter(dim=embedder.dim, rank=3, encoder="someone-else:00000000").save(file)
    with Store(path, read_only=True) as s:
        sr = _searcher(s, path, embedder, str(file))
        assert sr.query_adapter is None
        q = sr._encode("robot grasping")
        np.testing.assert_array_equal(sr.semantic_query(q), q)


def test_a_missing_adapter_file_is_a_clear_error(
    indexed: tuple[Path, HashEmbedder], tmp_path: Path
) -> None:
    path, embedder = indexed
    with Store(path, read_only=True) as s:
        sr = _searcher(s, path, embedder, str(tmp_path / "gone.npz"))
        with pytest.raises(BadInputError, match=r"gone\.npz: query adapter not found"):
            sr.search("robot grasping")


def test_fitting_learns_a_systematic_query_shift() -> None:
    """Queries are their documents plus one shared offset (a 'lay accent'); the fitted adapter
    must rank held-out documents better than the raw vectors do."""
    from benchmarks.fit_query_adapter import fit, ranks_of

    rng = np.random.default_rng(0)
    dim, n = 16, 120
    docs = rng.normal(size=(n, dim)).astype(np.float32)
    docs /= np.linalg.norm(docs, axis=1, keepdims=True)
    accent = rng.normal(size=dim).astype(np.float32) * 0.6
    noise = rng.normal(size=(n, dim)).astype(np.float32) * 0.35
    q = docs + accent + noise
    q /= np.linalg.norm(q, axis=1, keepdims=True)
    pos = np.arange(n, dtype=np.int64)
    train, test = pos[:80], pos[80:]
    down, up = fit(q[train], docs, train, rank=4, l2=0.01, tau=0.1, steps=200, lr=0.02)
    meta = AdapterMeta(encoder="toy", dim=dim, rank=4, trained_on="test")
    adapted = QueryAdapter(meta, down, up).apply(q[test])
    local = np.arange(len(test), dtype=np.int64)
    before = np.mean(1 / ranks_of(q[test], docs[test], local))
    after = np.mean(1 / ranks_of(adapted, docs[test], local))
    assert after > before + 0.05


def test_the_adapter_setting_follows_kb_query_adapter(monkeypatch: pytest.MonkeyPatch) -> None:
    from kb.query_adapter import DEFAULT_ADAPTER

    monkeypatch.delenv("KB_QUERY_ADAPTER", raising=False)
    assert Tuning().query_adapter == str(DEFAULT_ADAPTER)
    monkeypatch.setenv("KB_QUERY_ADAPTER", "")
    assert Tuning().query_adapter == ""  # off
    monkeypatch.setenv("KB_QUERY_ADAPTER", "/models/mine.npz")
    assert Tuning().query_adapter == "/models/mine.npz"
