"""Search: FAISS against brute force, the embedding cache, stale-index detection, filters, CLI.

Fast tests use ``HashEmbedder``, a deterministic bag-of-words hashing encoder implementing the
``kb.embed.Embedder`` protocol; tests needing the real sentence-transformers model are ``slow``.
Papers here are invented for the tests.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import itertools
import json
import re
import threading
import time
from collections.abc import Sequence
from pathlib import Path

import faiss
import numpy as np
import pytest
from click.testing import CliRunner
from hypothesis import given
from hypothesis import strategies as st
from numpy.typing import NDArray

from kb.cli import cli
from kb.embed import EmbedCache, content_sha
from kb.errors import BadInputError, IndexMismatchError, NotFoundError
from kb.index import (
    APPROX_MIN_ROWS,
    INDEX_LAYOUT,
    build_index,
    current_index,
    get_meta,
    index_kind,
    index_path,
    ivf_nlist,
    ivf_nprobe,
    make_faiss_index,
    open_index,
    search_params,
    sentence_spans,
)
from kb.records import Claim, Exponent, Paper, ReportedLaw, paper_id_for
from kb.search import Searcher, SearchFilters, tokenize
from kb.store import Store, staged
from kb.vocabulary import expand_query, query_variables


class HashEmbedder:
    """Signed feature hashing of word tokens, L2-normalised; counts the texts it encodes."""

    def __init__(self, name: str = "hash-test", dim: int = 64):
        self.name = name
        self.dim = dim
        self.n_texts = 0

    def encode(self, texts: Sequence[str]) -> NDArray[np.float32]:
        self.n_texts += len(texts)
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        for i, text in enumerate(texts):
            for word in re.findall(r"\w+", text.lower()):
                h = int.from_bytes(hashlib.sha256(word.encode()).digest()[:4], "little")
                out[i, h % self.dim] += 1.0 if (h >> 16) & 1 else -1.0
        norms = np.linalg.norm(out, axis=1, keepdims=True)
        return out / np.where(norms == 0, 1, norms)


def _paper(title: str, abstract: str, **kw: object) -> Paper:
    return Paper(paper_id=paper_id_for(title), title=title, abstract=abstract, **kw)  # type: ignore[arg-type]


PAPERS = [
    _paper("Loss Curves of Tiny Transformers", "We train tiny transformers. The loss falls as a "
           "power law in model size. Larger models need fewer steps.", domain="language",
           studies_scaling_law=True, published=dt.date(2021, 3, 1)),
    _paper("Robot Grasping with Many Demonstrations", "We collect demonstrations in many homes. "
           "Success grows with the number of environments. A policy generalises to new objects.",
           domain="robotics", studies_scaling_law=True, published=dt.date(2024, 6, 2)),
    _paper("A Faster Tokenizer", "We make tokenization fast. It is written in a systems "
           "language.", domain="language", studies_scaling_law=False,
           published=dt.date(2023, 1, 5)),
    _paper("Pixels at Scale", "Image classifiers improve with more pixels and data. Accuracy "
           "saturates for the largest datasets.", domain="vision", studies_scaling_law=True,
           published=dt.date(2022, 7, 9)),
    _paper("Inverse Trends in Arithmetic", "Some tasks get worse as models grow. We call this "
           "inverse scaling and study four such tasks.", domain="language",
           studies_scaling_law=True),
]  # fmt: skip


def _claims_and_exponents() -> list[Claim | Exponent]:
    p = PAPERS[0]
    sentence = "The loss falls as a power law in model size."
    start = p.abstract.index(sentence)
    return [
        Claim(claim_id="c1", paper_id=p.paper_id, response="loss", variables=["model_size"],
              form="power_law", direction="improves", evidence=sentence, span_start=start,
              span_end=start + len(sentence), extractor_version="t"),
        Exponent(exponent_id="e1", paper_id=p.paper_id, claim_id="c1", value=0.07,
                 variable="model_size", text="power law", span_start=start,
                 span_end=start + 9, extractor_version="t"),
        Claim(claim_id="c2", paper_id=PAPERS[1].paper_id, response="accuracy",
              variables=["data_size"], form="unspecified", direction="improves",
              evidence="Success grows with the number of environments.", span_start=0,
              span_end=10, extractor_version="t"),
    ]  # fmt: skip


def store_with_laws(path: Path, laws: Sequence[ReportedLaw]) -> tuple[Path, HashEmbedder]:
    """A store at ``path`` with the invented papers, their claims and exponent, the registry
    ``laws`` beside them and an index built by a fresh HashEmbedder (the filter tests that count
    registry laws: tests/test_researcher4.py, tests/test_cli14.py)."""
    embedder = HashEmbedder()
    with Store(path) as s:
        s.upsert([*PAPERS, *_claims_and_exponents(), *laws])
        build_index(s, path, model=embedder)
    return path, embedder


def filtered_ids(searcher: Searcher, filters: SearchFilters) -> set[str]:
    """The papers a broad query returns under ``filters``."""
    return {h.paper_id for h in searcher.search("models scale data", k=10, filters=filters)}


@pytest.fixture
def db(tmp_path: Path) -> Path:
    """A store file with the invented papers, claims and an exponent (no index yet)."""
    path = tmp_path / "kb.duckdb"
    with Store(path) as s:
        s.upsert([*PAPERS, *_claims_and_exponents()])
    return path


@pytest.fixture
def indexed(db: Path) -> tuple[Path, HashEmbedder]:
    """The store above with an index built by a fresh HashEmbedder."""
    embedder = HashEmbedder()
    with Store(db) as s:
        build_index(s, db, model=embedder)
    return db, embedder


# -- the index --------------------------------------------------------------------------------
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_flat_index_equals_brute_force_top_k(seed: int) -> None:
    rng = np.random.default_rng(seed)
    data = rng.standard_normal((500, 32)).astype(np.float32)
    data /= np.linalg.norm(data, axis=1, keepdims=True)
    queries = data[:20] + 0.1 * rng.standard_normal((20, 32)).astype(np.float32)
    index = make_faiss_index(data, "flat")
    _, ids = index.search(queries, 10)
    brute = np.argsort(-(queries @ data.T), axis=1, kind="stable")[:, :10]
    assert [set(r) for r in ids] == [set(r) for r in brute]


def test_hnsw_recall_against_exact_on_random_vectors() -> None:
    rng = np.random.default_rng(3)
    data = rng.standard_normal((2000, 32)).astype(np.float32)
    data /= np.linalg.norm(data, axis=1, keepdims=True)
    queries = rng.standard_normal((50, 32)).astype(np.float32)
    hnsw = make_faiss_index(data, "hnsw")
    _, approx = hnsw.search(queries, 10)
    exact = np.argsort(-(queries @ data.T), axis=1)[:, :10]
    recall = np.mean([len(set(a) & set(e)) / 10 for a, e in zip(approx, exact, strict=True)])
    assert recall >= 0.95


def _clustered(n: int, dim: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Unit vectors around 50 centres (as embeddings are), and 50 queries from the same law."""
    rng = np.random.default_rng(seed)
    centres = rng.standard_normal((50, dim)).astype(np.float32)
    data = centres[rng.integers(0, 50, n)] + 0.6 * rng.standard_normal((n, dim)).astype(np.float32)
    queries = centres[rng.integers(0, 50, 50)] + 0.6 * rng.standard_normal((50, dim)).astype(
        np.float32
    )
    data /= np.linalg.norm(data, axis=1, keepdims=True)
    queries /= np.linalg.norm(queries, axis=1, keepdims=True)
    return data, queries


def test_ivf_recall_against_exact_and_filters() -> None:
    data, queries = _clustered(6000, 32, seed=4)
    ivf = make_faiss_index(data, "ivf")
    assert index_kind(ivf) == "ivf"
    _, approx = ivf.search(queries, 10)
    exact = np.argsort(-(queries @ data.T), axis=1)[:, :10]
    recall = np.mean([len(set(a) & set(e)) / 10 for a, e in zip(approx, exact, strict=True)])
    assert recall >= 0.95
    # A filter on the approximate path: only allowed ids come back, nearly all of the true ones.
    allowed = np.arange(0, len(data), 3, dtype=np.int64)
    sel = faiss.IDSelectorBatch(allowed)
    _, ids = ivf.search(queries, 10, params=search_params(ivf, "ivf", sel))
    assert set(ids.ravel()) <= set(allowed.tolist())
    sub = np.argsort(-(queries @ data[allowed].T), axis=1)[:, :10]
    exact_allowed = allowed[sub]
    recall = np.mean([len(set(a) & set(e)) / 10 for a, e in zip(ids, exact_allowed, strict=True)])
    assert recall >= 0.95


def test_automatic_kind_by_size() -> None:
    rng = np.random.default_rng(5)
    small = rng.standard_normal((100, 8)).astype(np.float32)
    assert index_kind(make_faiss_index(small)) == "flat"
    assert ivf_nlist(1_000_000) == 8192
    assert ivf_nprobe(8192) == 384
    assert 1 <= ivf_nprobe(ivf_nlist(APPROX_MIN_ROWS)) <= ivf_nlist(APPROX_MIN_ROWS)


@given(st.lists(st.sampled_from(["Alpha beta.", "Gamma?", "Delta 3.5 holds!", " ", "(Eps)"]),
                max_size=8))  # fmt: skip
def test_sentence_spans_cover_sentences_in_order(parts: list[str]) -> None:
    text = " ".join(parts)
    spans = sentence_spans(text)
    assert all(0 <= s < e <= len(text) for s, e in spans)
    assert all(e1 <= s2 for (_, e1), (s2, _) in itertools.pairwise(spans))
    assert all(text[s:e] == text[s:e].strip() and text[s:e] for s, e in spans)
    assert "".join(text[s:e] for s, e in spans).replace(" ", "") == text.replace(" ", "")


# -- the embedding cache ----------------------------------------------------------------------
def test_cache_layer_encodes_each_text_once(store: Store) -> None:
    embedder = HashEmbedder()
    cache = EmbedCache(store, embedder)
    first = cache.embed(["one text", "two text", "one text"])
    assert embedder.n_texts == 2  # the repeated text is encoded once
    again = EmbedCache(store, embedder).embed(["two text", "one text"])
    assert embedder.n_texts == 2
    np.testing.assert_allclose(again, first[[1, 0]])
    other = HashEmbedder(name="another-model")
    EmbedCache(store, other).embed(["one text"])
    assert other.n_texts == 1  # the key is (text hash, model name)
    n = store.con.execute("SELECT count(*) FROM embeddings WHERE content_sha = ?",
                          [content_sha("one text")]).fetchone()  # fmt: skip
    assert n == (2,)


def test_reindexing_embeds_nothing_and_new_papers_only_theirs(db: Path) -> None:
    embedder = HashEmbedder()
    with Store(db) as s:
        first = build_index(s, db, model=embedder)
        assert first.n_embedded == first.n_rows
        assert first.n_terms_embedded > 0  # kb.expansion's corpus terms, cached too
        assert embedder.n_texts == first.n_rows + first.n_terms_embedded
        again = build_index(s, db, model=embedder)
        assert again.up_to_date
        assert again.n_embedded == 0
        forced = build_index(s, db, model=embedder, rebuild=True)
        assert not forced.up_to_date
        assert forced.n_embedded == forced.n_terms_embedded == 0
        s.upsert([_paper("A New Paper", "First sentence here. Second one there.")])
        grown = build_index(s, db, model=embedder)
    assert grown.n_embedded == 3  # the paper row and its two sentences
    assert grown.n_papers == len(PAPERS) + 1


def test_index_from_an_older_layout_is_brought_up_to_date(db: Path) -> None:
    """An index built before the term vectors were cached is not 'up to date' for `kb index`."""
    embedder = HashEmbedder()
    with Store(db) as s:
        build_index(s, db, model=embedder)
        old = get_meta(s)
        assert old is not None
        assert old.layout == INDEX_LAYOUT
        s.set_meta("index_meta", old.model_copy(update={"layout": 1}).model_dump_json())
        s.con.execute("DELETE FROM embeddings")  # nothing cached, as in an older store
        again = build_index(s, db, model=embedder)
        assert not again.up_to_date
        assert again.n_terms_embedded > 0
        assert build_index(s, db, model=embedder).up_to_date


def test_progress_is_reported_while_embedding(db: Path) -> None:
    calls: list[tuple[int, int]] = []
    with Store(db) as s:
        build_index(s, db, model=HashEmbedder(), on_progress=lambda d, t: calls.append((d, t)))
    assert calls
    assert calls[-1][0] == calls[-1][1]


# -- stale and mismatched indexes -------------------------------------------------------------
def test_missing_index_says_how_to_build_it(db: Path) -> None:
    with Store(db) as s, pytest.raises(IndexMismatchError, match=r"run `kb index --db "):
        open_index(s, db, model=HashEmbedder())


def test_stale_index_is_detected_and_rebuild_fixes_it(indexed: tuple[Path, HashEmbedder]) -> None:
    db, embedder = indexed
    with Store(db) as s:
        s.upsert([_paper("Added Later", "Nothing indexed yet.")])
        with pytest.raises(IndexMismatchError, match=r"stale.*1 not indexed.*run `kb index --db "):
            Searcher.open(s, db, model=embedder)
        # the plain `kb index` the message names is enough: no --rebuild needed
        assert not build_index(s, db, model=embedder).up_to_date
        assert Searcher.open(s, db, model=embedder).search("added later", mode="keyword")


def test_edited_abstract_makes_the_index_stale(indexed: tuple[Path, HashEmbedder]) -> None:
    db, embedder = indexed
    with Store(db) as s:
        s.upsert([PAPERS[2].model_copy(update={"abstract": "Changed text."})])
        with pytest.raises(IndexMismatchError, match="stale"):
            Searcher.open(s, db, model=embedder)


def test_other_model_is_refused(indexed: tuple[Path, HashEmbedder]) -> None:
    db, _ = indexed
    with Store(db) as s, pytest.raises(IndexMismatchError, match="built with model 'hash-test'"):
        Searcher.open(s, db, model=HashEmbedder(name="other"))


def test_corrupt_index_file_is_detected(indexed: tuple[Path, HashEmbedder]) -> None:
    db, embedder = indexed
    import faiss

    faiss.write_index(make_faiss_index(np.eye(3, 16, dtype=np.float32), "flat"),
                      str(index_path(db)))  # fmt: skip
    with Store(db) as s, pytest.raises(IndexMismatchError, match="dimension 16"):
        Searcher.open(s, db, model=embedder)


@pytest.mark.parametrize("keep", [0, 1000])
def test_truncated_or_foreign_index_file_is_explained(
    indexed: tuple[Path, HashEmbedder], keep: int
) -> None:
    db, embedder = indexed
    path = index_path(db)
    path.write_bytes(path.read_bytes()[:keep] if keep else b"garbage")
    with Store(db) as s, pytest.raises(IndexMismatchError, match="cannot be read as a FAISS"):
        Searcher.open(s, db, model=embedder)
    result = CliRunner().invoke(cli, ["search", "loss", "--db", str(db)])
    assert result.exit_code == 1, result.output
    assert "kb index --rebuild" in result.output
    with Store(db) as s:  # a plain `kb index` must not call the broken file up to date
        assert not build_index(s, db, model=embedder).up_to_date
        Searcher.open(s, db, model=embedder)
    assert "Traceback" not in result.output


def test_an_unreadable_index_path_is_not_up_to_date(indexed: tuple[Path, HashEmbedder]) -> None:
    """A folder where the .faiss file should be (or a file that cannot be opened) is an index
    to rebuild, not an OSError out of the up-to-date check."""
    db, embedder = indexed
    path = index_path(db)
    path.unlink()
    path.mkdir()
    with Store(db, read_only=True) as s:
        assert current_index(s, db, model=embedder) is None


@pytest.mark.parametrize("recorded", [True, False], ids=["length-recorded", "older-index"])
@pytest.mark.parametrize("change", ["last-byte-cut", "byte-appended", "other-index"])
def test_up_to_date_check_catches_a_damaged_file(
    indexed: tuple[Path, HashEmbedder], recorded: bool, change: str
) -> None:
    """`kb index` checks the file's header and recorded length (an index written before the
    length was recorded: reads it whole) before calling it up to date."""
    db, embedder = indexed
    path = index_path(db)
    whole = path.read_bytes()
    with Store(db) as s:
        meta = get_meta(s)
        assert meta is not None
        assert s.get_meta("index_file_bytes") == str(len(whole))
        if not recorded:
            s.con.execute("DELETE FROM _meta WHERE key = 'index_file_bytes'")
        if change == "last-byte-cut":
            path.write_bytes(whole[:-1])
        elif change == "byte-appended":
            path.write_bytes(whole + b"\0")
        else:  # a whole index of another store: another row count, same dimension
            faiss.write_index(make_faiss_index(np.eye(3, meta.dim, dtype=np.float32), "flat"),
                              str(path))  # fmt: skip
        assert current_index(s, db, model=embedder) is None
        report = build_index(s, db, model=embedder)
        # faiss reads a file with bytes appended without complaint; the recorded length does not
        assert report.up_to_date == (change == "byte-appended" and not recorded)
        assert s.get_meta("index_file_bytes") == str(path.stat().st_size)
        Searcher.open(s, db, model=embedder)


def test_an_older_index_is_read_whole_once_then_its_length_is_recorded(
    indexed: tuple[Path, HashEmbedder],
) -> None:
    db, embedder = indexed
    with Store(db) as s:
        s.con.execute("DELETE FROM _meta WHERE key = 'index_file_bytes'")
        assert current_index(s, db, model=embedder) is None  # `kb index` stages a copy once,
        assert build_index(s, db, model=embedder).up_to_date  # reads the file whole,
        assert s.get_meta("index_file_bytes") == str(index_path(db).stat().st_size)  # records
        assert current_index(s, db, model=embedder) is not None  # its length: cheap from now on


def test_index_travels_with_a_staged_store(tmp_path: Path) -> None:
    db = tmp_path / "kb.duckdb"
    embedder = HashEmbedder()
    with staged(db) as s:
        s.upsert(PAPERS)
        build_index(s, s.path, model=embedder)
    assert index_path(db).exists()
    with Store(db, read_only=True) as s:
        assert Searcher.open(s, db, model=embedder).search("tokenizer", mode="keyword")


# -- ranking, snippets, filters ---------------------------------------------------------------
def test_keyword_search_finds_the_exact_term_with_its_sentence(
    indexed: tuple[Path, HashEmbedder],
) -> None:
    db, embedder = indexed
    with Store(db, read_only=True) as s:
        hits = Searcher.open(s, db, model=embedder).search("inverse scaling", mode="keyword")
    assert hits[0].title == "Inverse Trends in Arithmetic"
    abstract = PAPERS[4].abstract
    start, end = hits[0].snippet_span
    assert abstract[start:end] == hits[0].snippet
    assert "inverse scaling" in hits[0].snippet


@pytest.mark.parametrize("mode", ["fused", "semantic", "keyword"])
def test_every_mode_ranks_the_obvious_paper_first(
    indexed: tuple[Path, HashEmbedder], mode: str
) -> None:
    db, embedder = indexed
    with Store(db, read_only=True) as s:
        hits = Searcher.open(s, db, model=embedder).search(
            "robot grasping demonstrations",
            k=3,
            mode=mode,  # type: ignore[arg-type]
        )
    assert hits[0].title == "Robot Grasping with Many Demonstrations"
    assert len(hits) <= 3
    assert [h.score for h in hits] == sorted((h.score for h in hits), reverse=True)


def _ids(searcher: Searcher, filters: SearchFilters) -> set[str]:
    return {h.paper_id for h in searcher.search("models scale data", k=10, filters=filters)}


@pytest.mark.parametrize("approximate", [False, True])
def test_filters_restrict_results(
    db: Path, approximate: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    if approximate:  # the IVF path (IVF-SQ8 + refine) that large stores get automatically
        monkeypatch.setattr("kb.index.APPROX_MIN_ROWS", 1)
    embedder = HashEmbedder()
    with Store(db) as s:
        assert build_index(s, db, model=embedder).kind == ("ivf" if approximate else "flat")
    pid = [p.paper_id for p in PAPERS]
    with Store(db, read_only=True) as s:
        sr = Searcher.open(s, db, model=embedder)
        assert sr.index.meta.kind == ("ivf" if approximate else "flat")
        assert _ids(sr, SearchFilters(year_min=2022)) <= {pid[1], pid[2], pid[3]}
        assert _ids(sr, SearchFilters(year_min=2022, year_max=2023)) <= {pid[2], pid[3]}
        assert _ids(sr, SearchFilters(domain="robotics")) == {pid[1]}
        assert pid[2] not in _ids(sr, SearchFilters(studies_scaling_law=True))
        assert _ids(sr, SearchFilters(variable="model_size")) == {pid[0]}
        assert _ids(sr, SearchFilters(variable="data_size")) == {pid[1]}
        assert _ids(sr, SearchFilters(has_exponent=True)) == {pid[0]}
        assert pid[0] not in _ids(sr, SearchFilters(has_exponent=False))
        assert _ids(sr, SearchFilters(domain="speech")) == set()


def test_an_empty_knowledge_base_finds_nothing(tmp_path: Path) -> None:
    db = tmp_path / "empty.duckdb"
    embedder = HashEmbedder()
    with Store(db) as s:
        assert build_index(s, db, model=embedder).n_rows == 0
        assert Searcher.open(s, db, model=embedder).search("anything") == []


def test_unknown_filter_values_name_the_choices() -> None:
    with pytest.raises(ValueError, match="expected one of language"):
        SearchFilters(domain="poetry")
    with pytest.raises(ValueError, match="model_size"):
        SearchFilters(variable="vibes")


def test_bad_queries_are_explained(indexed: tuple[Path, HashEmbedder]) -> None:
    db, embedder = indexed
    with Store(db, read_only=True) as s:
        sr = Searcher.open(s, db, model=embedder)
        with pytest.raises(BadInputError, match="empty search query"):
            sr.search("  ")
        with pytest.raises(BadInputError, match="k must be"):
            sr.search("loss", k=0)
        with pytest.raises(NotFoundError, match="no paper with id"):
            sr.related("t:nope")


def test_related_excludes_the_paper_itself(indexed: tuple[Path, HashEmbedder]) -> None:
    db, embedder = indexed
    with Store(db, read_only=True) as s:
        hits = Searcher.open(s, db, model=embedder).related(PAPERS[0].paper_id, k=3)
    assert 0 < len(hits) <= 3
    assert PAPERS[0].paper_id not in {h.paper_id for h in hits}


def test_scaling_vocabulary_is_understood() -> None:
    assert "model size parameters" in expand_query("Do bigger models do worse?")
    assert "inverse scaling worse degrade" in expand_query("Do bigger models do worse?")
    assert query_variables("more data or more compute?") == ["data_size", "compute"]
    assert expand_query("a faster tokenizer") == []
    assert tokenize("Scaling the Models") == ["scale", "model"]


# -- CLI --------------------------------------------------------------------------------------
def test_cli_search_without_index_explains(db: Path) -> None:
    result = CliRunner().invoke(cli, ["search", "loss", "--db", str(db)])
    assert result.exit_code == 1
    assert f"run `kb index --db {db}`" in result.output


def test_cli_needs_a_query_or_a_batch(db: Path) -> None:
    result = CliRunner().invoke(cli, ["search", "--db", str(db)])
    assert result.exit_code == 2


@pytest.mark.slow
def test_cli_index_and_batch_search_with_the_real_model(db: Path, tmp_path: Path) -> None:
    runner = CliRunner()
    built = runner.invoke(cli, ["-q", "index", "--db", str(db), "--json"])
    assert built.exit_code == 0, built.output
    assert json.loads(built.stdout)["n_embedded"] > 0
    again = runner.invoke(cli, ["-q", "index", "--db", str(db), "--json"])
    assert json.loads(again.stdout)["up_to_date"] is True
    queries = tmp_path / "queries.txt"
    queries.write_text("robots picking up objects\n\nwhen larger networks get worse\n")
    result = runner.invoke(cli, ["search", "--batch", str(queries), "--k", "2", "--db", str(db)])
    assert result.exit_code == 0, result.output
    lines = [json.loads(line) for line in result.stdout.splitlines() if line.startswith("{")]
    assert [line["query"] for line in lines] == ["robots picking up objects",
                                                 "when larger networks get worse"]  # fmt: skip
    for line in lines:  # the contract's fields, plus the weak-match ones (kb.match)
        assert set(line) == {"query", "hits", "weak_match", "match_score", "not_english", "notice"}
        assert len(line["hits"]) == 2
        assert all(set(h) == {"paper_id", "title", "score", "snippet"} for h in line["hits"])
    assert lines[0]["hits"][0]["title"] == "Robot Grasping with Many Demonstrations"
    assert lines[1]["hits"][0]["title"] == "Inverse Trends in Arithmetic"
    one = runner.invoke(cli, ["search", "tiny transformer loss", "--json", "--db", str(db),
                              "--has-exponent"])  # fmt: skip
    assert one.exit_code == 0, one.output
    assert [json.loads(x)["title"] for x in one.stdout.splitlines() if x.startswith("{")] == [
        "Loss Curves of Tiny Transformers"
    ]


def test_warm_loads_the_encoder_once_across_threads(
    indexed: tuple[Path, HashEmbedder], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The app warms the encoder in a background thread while a first query may arrive: the
    model is loaded once, and the query gets that same model."""
    db, embedder = indexed
    calls: list[object] = []

    def slow_load(model: object) -> HashEmbedder:
        calls.append(model)
        time.sleep(0.2)
        return embedder

    monkeypatch.setattr("kb.search.load_query_embedder", slow_load)
    with Store(db, read_only=True) as s:
        sr = Searcher.open(s, db, model=embedder)
        assert sr.encoder_loaded
        sr._embedder = None  # as opened from a model path: nothing loaded yet
        assert not sr.encoder_loaded
        warm = threading.Thread(target=sr.warm)
        warm.start()
        hits = sr.search("power law", k=3)  # arrives while warm() is loading
        warm.join()
    assert len(calls) == 1
    assert sr.encoder_loaded
    assert sr.embedder is embedder
    assert hits


def test_index_rows_cap_sentences_per_paper() -> None:
    """A pasted 1 MB "A. A. ..." abstract is not 333,333 sentence rows to embed."""
    from kb.index import _rows_and_texts
    from kb.sentences import MAX_SENTENCES

    paper = Paper(paper_id=paper_id_for(title="Long one"), title="Long one", abstract="A. " * 5000)
    rows, texts = _rows_and_texts([paper])
    assert len(rows) == len(texts) == 1 + MAX_SENTENCES
    assert sum(r.field == "sentence" for r in rows) == MAX_SENTENCES


def test_sentence_cap_is_one_constant() -> None:
    """The index's sentence rows and the claim extractor read the same documented cap
    (kb.sentences.MAX_SENTENCES): it is assigned once, and both modules use that one."""
    import ast
    import importlib

    import kb.index as index
    import kb.sentences as sentences

    extract = importlib.import_module("ingest.claims.extract")  # the package's name is a function

    root = Path(__file__).resolve().parent.parent
    assigned = [
        f"{path.relative_to(root)}:{node.lineno}"
        for path in [*(root / "kb").rglob("*.py"), *(root / "ingest").rglob("*.py")]
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8")))
        if isinstance(node, ast.Assign)
        and any(isinstance(t, ast.Name) and "MAX_" in t.id and "SENTENCES" in t.id
                for t in node.targets)
    ]  # fmt: skip
    assert [a.split(":")[0] for a in assigned] == ["kb/sentences.py"], assigned
    assert index.MAX_SENTENCES == extract.MAX_SENTENCES == sentences.MAX_SENTENCES


@pytest.mark.parametrize("changed_between", [False, True])
def test_cli_index_hashes_the_corpus_once_when_it_builds(
    db: Path, monkeypatch: pytest.MonkeyPatch, changed_between: bool
) -> None:
    import kb.index as index

    embedder = HashEmbedder()
    monkeypatch.setattr(index, "load_embedder", lambda model=None: embedder)
    monkeypatch.setattr(index, "model_name", lambda model=None: embedder.name)
    real = index.corpus_digest
    calls: list[int] = []

    def counted(papers: list[Paper]) -> str:
        calls.append(len(papers))
        return real(papers)

    monkeypatch.setattr(index, "corpus_digest", counted)
    if changed_between:  # the store file is not the one checked: the build hashes it again
        stamps = itertools.count()
        monkeypatch.setattr(index, "file_stamp", lambda path: (next(stamps), 0, 0))
    runner = CliRunner()
    built = runner.invoke(cli, ["-q", "index", "--db", str(db), "--json"])
    assert built.exit_code == 0, built.output
    assert json.loads(built.stdout)["up_to_date"] is False
    assert calls == [len(PAPERS)] * (2 if changed_between else 1)
    calls.clear()
    again = runner.invoke(cli, ["-q", "index", "--db", str(db), "--json"])
    assert json.loads(again.stdout)["up_to_date"] is True
    assert calls == [len(PAPERS)]
    with Store(db, read_only=True) as s:  # the digest recorded is the store's
        assert open_index(s, db, model=embedder).meta.digest == real(s.select(Paper))


def test_cli_index_does_not_reuse_a_digest_of_a_store_replaced_while_it_was_open(
    db: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`kb index` opens the store read-only before it checks it; if another build swaps a new
    file in between, the check hashes the old papers (the open handle) but stamps the new file,
    and the build of a copy of the new file must not take that digest as the new file's: it
    recorded the old corpus's digest for the new papers (and could call a stale index current)."""
    import os
    import shutil

    import kb.index as index

    embedder = HashEmbedder()
    monkeypatch.setattr(index, "load_embedder", lambda model=None: embedder)
    monkeypatch.setattr(index, "model_name", lambda model=None: embedder.name)
    real_check = index.check_index
    newer = db.with_name("newer.duckdb")
    shutil.copy2(db, newer)
    with Store(newer) as s:
        s.upsert([_paper("An Added Paper", "Swapped in while kb index was reading.")])

    def swapped_then_checked(store: Store, *args: object, **kwargs: object) -> index.IndexCheck:
        os.replace(newer, db)  # a concurrent `kb ingest` finishing after the store was opened
        return real_check(store, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(index, "check_index", swapped_then_checked)
    built = CliRunner().invoke(cli, ["-q", "index", "--db", str(db), "--json"])
    assert built.exit_code == 0, built.output
    with Store(db, read_only=True) as s:
        papers = s.select(Paper)
        assert len(papers) == len(PAPERS) + 1
        assert open_index(s, db, model=embedder).meta.digest == index.corpus_digest(papers)


@pytest.mark.parametrize("make", ["missing", "empty folder"])
@pytest.mark.parametrize("via_env", [False, True])
def test_a_model_path_that_is_no_model_is_named_not_called_a_mismatch(
    indexed: tuple[Path, HashEmbedder],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    make: str,
    via_env: bool,
) -> None:
    # KB_MODEL=/typo (or a folder without a model) was reported as "built with model X but
    # 'typo:e3b0c442' was asked for ... run kb index --rebuild", and that rebuild cannot work.
    db, _ = indexed
    folder = tmp_path / "my-model"
    if make == "empty folder":
        folder.mkdir()
    if via_env:
        monkeypatch.setenv("KB_MODEL", str(folder))
    with Store(db) as s, pytest.raises(BadInputError) as err:
        Searcher.open(s, db, model=None if via_env else folder)
    assert str(folder) in str(err.value)
    assert "not a sentence-transformers model folder" in str(err.value)
    assert "was asked for" not in str(err.value)
    assert str(err.value).startswith(f"KB_MODEL={folder}") is via_env


def test_snippet_sentence_ends_after_a_variable_letter() -> None:
    """A search snippet is one sentence even when sentences end in a variable ("batch size B.
    Recent ..."): the whole-sentence widening took every capital letter for an initial and
    highlighted four sentences of a real abstract as one. Names' initials still hold."""
    from kb.search import whole_sentence
    from kb.sentences import sentence_spans as kb_sentences

    text = (
        "We study scaling laws for HPs as we scale model size N, dataset size D, and batch "
        "size B. Recent work suggests that the timescale stays constant for a fixed N,D. "
        "However, as N,D scale, the optimum follows a power law in the ratio D/N. "
        "This agrees with J. R. Smith and with John F. Doe (e.g. Fig. 3)."
    )
    start = text.index("Recent")
    s, e = whole_sentence(text, start, start + 6)
    assert text[s:e] == "Recent work suggests that the timescale stays constant for a fixed N,D."
    spans = [text[s:e] for s, e in kb_sentences(text, variables=True)]
    assert len(spans) == 4
    assert spans[-1].startswith("This agrees with J. R. Smith and with John F. Doe")
    # the claim extractor's sentences (the default) are unchanged: one run-on sentence here
    assert len(kb_sentences(text)) == 1
