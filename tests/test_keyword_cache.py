"""The saved keyword index (``<db>.keyword.npz``): same scores as building it, never stale.

``kb index`` saves the searcher's BM25 side; ``Searcher.open`` loads it when the digest of the
texts matches. Checked here: a save/load round trip scores every term identically; a searcher
with the file finds exactly what one without it finds; new claims or papers make it stale (and
the searcher says so and rebuilds); a damaged file falls back to building, with a warning.
"""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from benchmarks.bench_search_scale import HashEmbedder
from kb.index import build_index, current_index, index_path
from kb.keyword import KeywordIndex, tokenize
from kb.keyword_cache import (
    claim_evidence,
    fields_digest,
    keyword_cache_path,
    keyword_fields,
    load_keyword_index,
    refresh_keyword_cache,
    save_keyword_index,
)
from kb.records import Claim, Paper, paper_id_for
from kb.search import Searcher
from kb.store import Store

# Invented texts (no copied abstracts), with a claim per paper for the claims field.
TEXTS = [
    ("Invented scaling of toy transformers", "Loss falls as a power law in model size. Toy."),
    ("Data repetition in small models", "Repeating tokens four times costs little loss."),
    ("A broken curve for tiny networks", "A smoothly broken power law fits the curves well."),
    ("Compute budgets for pretend runs", "We split compute between parameters and tokens."),
    ("An unrelated sorting method", "Sorting is fast. Nothing scales here."),
]
QUERIES = ["power law model size", "repeating tokens", "compute parameters tokens", "sorting"]
MODES = ("fused", "keyword", "semantic")
EMBEDDER = HashEmbedder(dim=32)


def _papers() -> list[Paper]:
    return [Paper(paper_id=paper_id_for(t), title=t, abstract=a) for t, a in TEXTS]


def _claim(paper: Paper, n: int) -> Claim:
    sentence = paper.abstract.split(". ")[0]
    return Claim(claim_id=f"c{n}", paper_id=paper.paper_id, response="loss",
                 variables=["model_size"], form="power_law", direction="improves",
                 evidence=sentence, span_start=0, span_end=len(sentence),
                 extractor_version="t")  # fmt: skip


@pytest.fixture
def db(tmp_path: Path) -> Path:
    """A small indexed store whose first three papers have a claim."""
    path = tmp_path / "kb.duckdb"
    papers = _papers()
    with Store(path) as store:
        store.upsert([*papers, *(_claim(p, i) for i, p in enumerate(papers[:3]))])
        build_index(store, path, model=EMBEDDER)
    return path


def _results(db: Path) -> list[object]:
    with Store(db, read_only=True) as store:
        s = Searcher.open(store, db, model=EMBEDDER)
        return [s.search(q, k=5, mode=m) for m in MODES for q in QUERIES]  # type: ignore[arg-type]


def _assert_same_index(a: KeywordIndex, b: KeywordIndex) -> None:
    assert a.size == b.size
    assert set(a.fields) == set(b.fields)
    for name, r in a.fields.items():
        assert r.vocab_dict == b.fields[name].vocab_dict
        for term in (t for t in r.vocab_dict if t):  # "" is bm25s's padding, never queried
            np.testing.assert_array_equal(a.term_scores(name, term), b.term_scores(name, term))
    assert [a._doc(i) for i in range(a.size)] == [b._doc(i) for i in range(b.size)]
    assert a.vocabulary(1) == b.vocabulary(1)
    assert a.vocabulary(2) == b.vocabulary(2)
    top = np.arange(min(3, a.size), dtype=np.intp)
    if a.size:
        np.testing.assert_array_equal(a.rm3("power law", top, 5), b.rm3("power law", top, 5))
        fa, fb = (
            a.query_features("power law tokens", expand=True),
            b.query_features("power law tokens", expand=True),
        )
        for col in fa:
            np.testing.assert_array_equal(fa[col], fb[col])


def test_round_trip_scores_every_term_identically(tmp_path: Path) -> None:
    fields = {
        "title": [t for t, _ in TEXTS],
        "abstract": [a for _, a in TEXTS],
        "claims": ["", "repeating tokens", "", "", ""],
    }
    built = KeywordIndex(fields)
    path = tmp_path / "k.npz"
    save_keyword_index(path, built, fields_digest(fields))
    loaded = load_keyword_index(path, fields_digest(fields))
    assert loaded is not None
    _assert_same_index(built, loaded)


@given(
    st.lists(
        st.tuples(
            st.text(alphabet="ab cdé\n", max_size=30), st.text(alphabet="ab cdé.", max_size=60)
        ),
        min_size=1,
        max_size=8,
    )
)
def test_round_trip_on_arbitrary_texts(pairs: list[tuple[str, str]]) -> None:
    fields = {"title": [t for t, _ in pairs], "abstract": [a for _, a in pairs]}
    built = KeywordIndex(fields)
    _assert_same_index(built, KeywordIndex.from_arrays(built.to_arrays()))


@given(
    st.lists(
        st.tuples(
            st.text(alphabet="ab cdé\n-Éx's", max_size=30),
            st.text(alphabet="ab cdé.-Éx's", max_size=60),
        ),
        min_size=1,
        max_size=8,
    )
)
def test_document_is_the_tokens_of_title_and_abstract(pairs: list[tuple[str, str]]) -> None:
    """Searcher.words_found reads a paper's words from the index (``document``), where it
    tokenised ``title + " " + abstract`` again: the same tokens, built or loaded."""
    fields = {"title": [t for t, _ in pairs], "abstract": [a for _, a in pairs]}
    built = KeywordIndex(fields)
    loaded = KeywordIndex.from_arrays(built.to_arrays())
    for i, (title, abstract) in enumerate(pairs):
        expected = tokenize(f"{title} {abstract}")
        assert built.document(i) == expected
        assert loaded.document(i) == expected


def test_kb_index_saves_it_and_the_searcher_uses_it(
    db: Path, caplog: pytest.LogCaptureFixture
) -> None:
    path = keyword_cache_path(db)
    assert path.exists()
    with caplog.at_level(logging.INFO, logger="kb.keyword_cache"):
        cached = _results(db)
    assert not caplog.records  # loaded silently
    path.unlink()
    with caplog.at_level(logging.INFO, logger="kb.keyword_cache"):
        built = _results(db)
    assert "building it in memory" in caplog.text
    assert cached == built
    assert any(hits for hits in built)


def test_new_claims_make_it_stale_until_kb_index(
    db: Path, caplog: pytest.LogCaptureFixture
) -> None:
    before = keyword_cache_path(db).read_bytes()
    with Store(db) as store:
        store.upsert([_claim(_papers()[4], 9)])  # what `kb extract` does; FAISS stays current
    with caplog.at_level(logging.WARNING, logger="kb.keyword_cache"):
        stale = _results(db)
    assert "is stale" in caplog.text
    keyword_cache_path(db).unlink()
    assert stale == _results(db)  # the in-memory rebuild saw the new claim
    with Store(db) as store:
        assert build_index(store, db, model=EMBEDDER).up_to_date  # FAISS untouched ...
    assert keyword_cache_path(db).read_bytes() != before  # ... the keyword side rewritten
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="kb.keyword_cache"):
        assert _results(db) == stale
    assert not caplog.records


def test_current_index_is_what_build_index_would_report_without_work(db: Path) -> None:
    """`kb index` asks ``current_index`` on the read-only store first and stages a copy only
    when it says None: the FAISS file and the keyword side must both be current."""
    with Store(db) as store:
        report = build_index(store, db, model=EMBEDDER)
        assert report.up_to_date
    with Store(db, read_only=True) as store:
        assert current_index(store, db, model=EMBEDDER) == report.model_copy(
            update={"keyword_saved": False}
        )
        assert current_index(store, db, model=HashEmbedder(name="other", dim=32)) is None
    with Store(db) as store:
        store.upsert([_claim(_papers()[4], 9)])  # the keyword side is stale, FAISS is not
        assert current_index(store, db, model=EMBEDDER) is None
        assert build_index(store, db, model=EMBEDDER).keyword_saved
        assert current_index(store, db, model=EMBEDDER) is not None
    faiss_file = index_path(db)
    faiss_file.write_bytes(faiss_file.read_bytes()[:-4])  # truncated: not current
    with Store(db, read_only=True) as store:
        assert current_index(store, db, model=EMBEDDER) is None


def test_kb_extract_and_ingest_refresh_a_saved_index(
    db: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """`kb extract` and `kb ingest` call refresh_keyword_cache inside their staged write, so
    new claims never leave searches on a stale file."""
    with Store(db) as store:
        store.upsert([_claim(_papers()[4], 9)])
        assert refresh_keyword_cache(store)  # rewritten for the new claim
        assert not refresh_keyword_cache(store)  # and then current
    caplog.clear()
    with caplog.at_level(logging.DEBUG):
        fresh = _results(db)
    assert not [r for r in caplog.records if r.name == "kb.keyword_cache"]  # loaded as current
    assert "Building index" not in caplog.text  # bm25s built nothing: the file was used
    keyword_cache_path(db).unlink()
    assert _results(db) == fresh  # the same as building it in memory


def test_refresh_writes_nothing_for_a_store_never_indexed(tmp_path: Path) -> None:
    path = tmp_path / "kb.duckdb"
    with Store(path) as store:
        store.upsert(_papers())
        assert not refresh_keyword_cache(store)
    assert not keyword_cache_path(path).exists()


def test_a_new_paper_makes_it_stale(db: Path, caplog: pytest.LogCaptureFixture) -> None:
    extra = Paper(paper_id=paper_id_for("Another invented paper"),
                  title="Another invented paper", abstract="Power law again.")  # fmt: skip
    path = keyword_cache_path(db)
    with Store(db) as store:
        store.upsert([extra])
        fields = keyword_fields(store.select(Paper), claim_evidence(store))
        with caplog.at_level(logging.WARNING, logger="kb.keyword_cache"):
            assert load_keyword_index(path, fields_digest(fields)) is None
        assert "is stale" in caplog.text
        build_index(store, db, model=EMBEDDER)
    loaded = load_keyword_index(path, fields_digest(fields))
    assert loaded is not None
    assert loaded.size == len(TEXTS) + 1
    _assert_same_index(loaded, KeywordIndex(fields))


@pytest.mark.parametrize(
    "damage",
    [
        lambda b: b"not a zip file at all",
        lambda b: b[: len(b) // 2],
        lambda b: b"",
    ],
    ids=["garbage", "truncated", "empty"],
)
def test_a_damaged_file_falls_back_with_a_warning(
    db: Path, caplog: pytest.LogCaptureFixture, damage: object
) -> None:
    good = _results(db)
    path = keyword_cache_path(db)
    path.write_bytes(damage(path.read_bytes()))  # type: ignore[operator]
    with caplog.at_level(logging.WARNING, logger="kb.keyword_cache"):
        assert _results(db) == good
    assert "unreadable" in caplog.text
    assert str(path) in caplog.text


def test_inconsistent_arrays_are_refused(db: Path, caplog: pytest.LogCaptureFixture) -> None:
    path = keyword_cache_path(db)
    with np.load(path, allow_pickle=False) as npz:
        arrays = {k: npz[k] for k in npz.files}
    arrays["doc_offsets"] = arrays["doc_offsets"][:-1]
    with open(path, "wb") as fh:
        np.savez(fh, allow_pickle=False, **arrays)
    good_digest = bytes(arrays["digest"]).decode("ascii")
    with caplog.at_level(logging.WARNING, logger="kb.keyword_cache"):
        assert load_keyword_index(path, good_digest) is None
    assert "disagree in length" in caplog.text


@pytest.mark.parametrize("changed_between", [False, True])
def test_cli_index_hashes_the_keyword_texts_once(
    db: Path, monkeypatch: pytest.MonkeyPatch, changed_between: bool
) -> None:
    """`kb index` with a current FAISS index and a missing keyword file: the check's digest of
    the keyword texts is reused by the build of the copy (not hashed again), unless the store
    file changed between the two (then the build's own digest is the one that counts)."""
    import itertools

    from click.testing import CliRunner

    import kb.index as index
    import kb.keyword_cache as kc
    from kb.cli import cli

    monkeypatch.setattr(index, "load_embedder", lambda model=None: EMBEDDER)
    monkeypatch.setattr(index, "model_name", lambda model=None: EMBEDDER.name)
    real = kc.fields_digest
    calls: list[int] = []

    def counted(fields: dict[str, list[str]]) -> str:
        calls.append(1)
        return real(fields)

    monkeypatch.setattr(kc, "fields_digest", counted)
    if changed_between:
        stamps = itertools.count()
        monkeypatch.setattr(index, "file_stamp", lambda path: (next(stamps), 0, 0))
    keyword_cache_path(db).unlink()
    built = CliRunner().invoke(cli, ["-q", "index", "--db", str(db), "--json"])
    assert built.exit_code == 0, built.output
    assert '"keyword_saved": true' in built.stdout
    assert len(calls) == (2 if changed_between else 1)
    with Store(db, read_only=True) as store:  # the file saved is current for the store
        assert current_index(store, db, model=EMBEDDER) is not None
