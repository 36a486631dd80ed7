"""Search QA: defects a researcher met with the seed store, each pinned on invented papers.

Uses ``HashEmbedder`` from ``tests.test_search`` (no model); papers are invented for the tests.
"""

from __future__ import annotations

import itertools
import json
import textwrap
from pathlib import Path

import pytest
from click.testing import CliRunner

from kb.cli import cli
from kb.index import build_index
from kb.records import Paper, paper_id_for
from kb.search import Searcher, SearchFilters, whole_sentence
from kb.store import Store
from tests.test_search import PAPERS, HashEmbedder

CITING = (
    "We revisit compute-optimal training. With three factors corrected, we obtain agreement "
    'with the Hoffmann et al. (i.e., "Chinchilla") scaling law. Counter to Smith et al. '
    "(2021a), decay is not essential (e.g. cosine or linear). We release code."
)


def _paper(title: str, abstract: str) -> Paper:
    return Paper(paper_id=paper_id_for(title), title=title, abstract=abstract, domain="language")


@pytest.fixture
def searcher(tmp_path: Path) -> Searcher:
    db = tmp_path / "kb.duckdb"
    embedder = HashEmbedder()
    with Store(db) as s:
        s.upsert(
            [
                _paper("Resolving Optimal Scaling", CITING),
                _paper("A Faster Tokenizer", "We make tokenization fast. It is a small library."),
            ]
        )
        build_index(s, db, model=embedder)
    return Searcher.open(Store(db, read_only=True), db, model=embedder)


@pytest.mark.parametrize("mode", ["keyword", "fused", "semantic"])
def test_snippet_is_a_whole_sentence_not_the_part_after_et_al(
    searcher: Searcher, mode: str
) -> None:
    """The index's rows break after "et al." and "e.g.", so the snippet for "Chinchilla" was
    once '(i.e., "Chinchilla") scaling law.' (and "(2021a)." for a stop-word query)."""
    hit = searcher.search("Chinchilla scaling law", k=1, mode=mode)[0]  # type: ignore[arg-type]
    assert hit.snippet == (
        "With three factors corrected, we obtain agreement with the Hoffmann et al. (i.e., "
        '"Chinchilla") scaling law.'
    )
    start, end = hit.snippet_span
    assert CITING[start:end] == hit.snippet


def test_whole_sentence_widens_a_row_to_the_sentences_it_overlaps() -> None:
    start = CITING.index("(2021a)")
    end = CITING.index("(e.g.")
    s, e = whole_sentence(CITING, start, end)
    assert CITING[s:e] == (
        "Counter to Smith et al. (2021a), decay is not essential (e.g. cosine or linear)."
    )
    first = CITING.index("We revisit")
    assert whole_sentence(CITING, first, first + 10) == (0, CITING.index(" With"))


@pytest.fixture
def dated(tmp_path: Path) -> Searcher:
    """tests.test_search's papers: four dated 2021-2024, one ("Inverse Trends") undated."""
    db = tmp_path / "kb.duckdb"
    embedder = HashEmbedder()
    with Store(db) as s:
        s.upsert(PAPERS)
        build_index(s, db, model=embedder)
    return Searcher.open(Store(db, read_only=True), db, model=embedder)


def test_undated_papers_left_out_by_a_year_filter_are_counted(dated: Searcher) -> None:
    """A year filter silently dropped every paper without a date (207 of 270 in the seed
    store); the CLI and the app now say how many, from this count."""
    assert dated.undated_left_out(None) == 0
    assert dated.undated_left_out(SearchFilters(domain="language")) == 0  # no year filter
    assert dated.undated_left_out(SearchFilters(year_min=2022)) == 1
    assert dated.undated_left_out(SearchFilters(year_max=2030, domain="language")) == 1
    assert dated.undated_left_out(SearchFilters(year_min=2000, domain="vision")) == 0
    hits = dated.search("inverse scaling tasks", k=10, filters=SearchFilters(year_min=2000))
    assert "Inverse Trends in Arithmetic" not in [h.title for h in hits]


@pytest.mark.slow
def test_cli_says_on_stderr_how_many_undated_papers_a_year_filter_hid(tmp_path: Path) -> None:
    db = tmp_path / "kb.duckdb"
    with Store(db) as s:
        s.upsert(PAPERS)
        build_index(s, db)  # the packaged model, as `kb search` loads it
    result = CliRunner().invoke(
        cli, ["search", "model size", "--year-min", "2020", "--json", "--db", str(db)]
    )
    assert result.exit_code == 0, result.output
    note = "note: 1 paper with no publication date is left out by --year-min/--year-max"
    assert note in result.stderr
    assert note not in result.stdout
    assert all(json.loads(line)["year"] for line in result.stdout.splitlines())
    plain = CliRunner().invoke(cli, ["search", "model size", "--json", "--db", str(db)])
    assert "note:" not in plain.stderr
    assert "no results" not in plain.stderr
    # nothing passes: an empty table said nothing about why
    none = CliRunner().invoke(cli, ["search", "model size", "--year-min", "2090", "--db", str(db)])
    assert none.exit_code == 0, none.output
    assert "no results: no paper matches these filters" in none.stderr


@pytest.mark.parametrize("mode", ["fused", "keyword", "semantic"])
def test_a_paper_id_as_the_query_finds_that_paper_first(dated: Searcher, mode: str) -> None:
    """Pasting a paper id (as `kb papers --json` and the app show them) returned ten unrelated
    papers: ids are not words, so no ranking found the paper."""
    target = PAPERS[2]  # "A Faster Tokenizer"
    hits = dated.search(target.paper_id, k=3, mode=mode)  # type: ignore[arg-type]
    assert hits[0].paper_id == target.paper_id
    assert len(hits) <= 3
    assert len({h.paper_id for h in hits}) == len(hits)
    hits = dated.search(f"  {target.paper_id} ", k=1, mode=mode)  # type: ignore[arg-type]
    assert [h.paper_id for h in hits] == [target.paper_id]
    # filters still apply: the paper is from 2023, in language
    assert target.paper_id not in [
        h.paper_id for h in dated.search(target.paper_id, filters=SearchFilters(domain="vision"))
    ]


def test_an_arxiv_id_in_any_form_finds_its_paper(tmp_path: Path) -> None:
    db = tmp_path / "kb.duckdb"
    embedder = HashEmbedder()
    paper = Paper(
        paper_id=paper_id_for("Compute Optimal Invented Models", "2203.15556"),
        arxiv_id="2203.15556",
        title="Compute Optimal Invented Models",
        abstract="We train many invented models. Tokens and parameters grow together.",
    )
    with Store(db) as s:
        s.upsert([paper, *PAPERS])
        build_index(s, db, model=embedder)
    searcher = Searcher.open(Store(db, read_only=True), db, model=embedder)
    for query in ("arxiv:2203.15556", "2203.15556", "https://arxiv.org/abs/2203.15556v2"):
        assert searcher.search(query, k=2)[0].paper_id == "arxiv:2203.15556", query
    assert searcher.exact_match("loss curves of 2203.15556") is None  # words around an id
    assert searcher.exact_match("tokenizer") is None


@pytest.mark.slow
def test_the_notebook_example_in_the_module_docstring_runs(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """kb.search's docstring shows the Python API; run it as written on a built store."""
    import kb.search

    db = tmp_path / "data" / "kb.duckdb"
    with Store(db) as s:
        s.upsert(PAPERS)
        build_index(s, db)
    lines = (kb.search.__doc__ or "").split("::", 1)[1].splitlines()
    code = "\n".join(itertools.takewhile(lambda line: not line or line[0] == " ", lines[1:]))
    monkeypatch.chdir(tmp_path)
    scope: dict[str, object] = {}
    exec(textwrap.dedent(code), scope)
    rows = scope["rows"]
    assert isinstance(rows, list)
    assert rows
    assert all(row["year"] >= 2022 for row in rows)


def test_a_pasted_title_finds_that_paper_first(tmp_path: Path) -> None:
    """ "Scaling Laws for Neural Language Models" pasted whole ranked that paper second, behind
    "Scaling Laws for Multilingual Neural Machine Translation", in the seed store."""
    db = tmp_path / "kb.duckdb"
    embedder = HashEmbedder()
    target = _paper("Invented Laws for Small Models", "We fit curves to a few runs.")
    louder = _paper(
        "Invented Laws for Small and Large Models",
        "Invented laws for small models hold. Small models follow invented laws; so do large.",
    )
    with Store(db) as s:
        s.upsert([target, louder, *PAPERS])
        build_index(s, db, model=embedder)
    searcher = Searcher.open(Store(db, read_only=True), db, model=embedder)
    assert searcher.search("laws for small models", k=1, mode="keyword")[0].title == louder.title
    for query in (target.title, target.title.upper(), f" {target.title}. "):
        for mode in ("keyword", "fused", "semantic"):
            hits = searcher.search(query, k=2, mode=mode)  # type: ignore[arg-type]
            assert hits[0].paper_id == target.paper_id, (query, mode)
    assert searcher.exact_match("Invented Laws") is None  # part of a title is a query


def test_a_title_two_papers_share_pins_neither(tmp_path: Path) -> None:
    db = tmp_path / "kb.duckdb"
    embedder = HashEmbedder()
    twins = [
        Paper(paper_id=f"arxiv:2101.0000{i}", arxiv_id=f"2101.0000{i}", title="Same Title",
              abstract=f"Version {i} of the same title.")
        for i in (1, 2)
    ]  # fmt: skip
    with Store(db) as s:
        s.upsert([*twins, *PAPERS])
        build_index(s, db, model=embedder)
    searcher = Searcher.open(Store(db, read_only=True), db, model=embedder)
    assert searcher.exact_match("Same Title") is None
    assert searcher.exact_match("a faster TOKENIZER") == searcher.exact_match(PAPERS[2].paper_id)
    assert searcher.exact_match("arxiv:2101.00002") == searcher.exact_match("2101.00002")
