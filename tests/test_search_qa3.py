"""Search QA, third round: query length, the pinned hit's score, titles cited with authors.

Papers are invented for the tests; ``HashEmbedder`` (from ``tests.test_search``) stands in for
the model.
"""

from __future__ import annotations

import datetime as dt
import time
from pathlib import Path

import pytest
from click.testing import CliRunner

from kb.cli import cli
from kb.errors import BadInputError
from kb.index import build_index
from kb.records import Paper, paper_id_for
from kb.search import MAX_QUERY_CHARS, Searcher
from kb.store import Store
from tests.test_search import HashEmbedder

KAPLAN = "Scaling Laws for Neural Language Models"


def _paper(title: str, abstract: str, **extra: object) -> Paper:
    return Paper(
        paper_id=paper_id_for(title), title=title, abstract=abstract, domain="language", **extra
    )


@pytest.fixture
def searcher(tmp_path: Path) -> Searcher:
    db = tmp_path / "kb.duckdb"
    embedder = HashEmbedder()
    with Store(db) as s:
        s.upsert(
            [
                # The title's words fill the other papers; its own abstract has none of them, so
                # its own score is below theirs when its title is pasted.
                _paper(KAPLAN, "Cross-entropy falls smoothly with compute."),
                _paper(
                    "Neural Language Models Scale",
                    "Scaling laws for neural language models: language models scale, and "
                    "neural scaling laws hold for language models.",
                ),
                _paper(
                    "Laws of Neural Scaling for Language",
                    "Scaling laws for neural language models and neural scaling laws for "
                    "language models.",
                ),
                _paper(
                    "Training Compute-Optimal Large Language Models",
                    "We train many models on more tokens.",
                    authors=["Jordan Hoffmann", "Sebastian Borgeaud"],
                    published=dt.date(2022, 3, 29),
                ),
            ]
        )
        build_index(s, db, model=embedder)
    return Searcher.open(Store(db, read_only=True), db, model=embedder)


# -- 1. query length -------------------------------------------------------------------------


@pytest.mark.parametrize("mode", ["fused", "keyword", "semantic"])
def test_a_query_over_the_limit_is_refused_at_once(searcher: Searcher, mode: str) -> None:
    # Before: a 1,600,000-character paste was searched, 6-11 s warm on the seed store, every
    # step linear in its length for nothing the model could read.
    query = ("scaling laws for language models " * 50_000)[:1_600_000]
    start = time.perf_counter()
    with pytest.raises(BadInputError, match=r"1,600,000 characters long; at most 4,000"):
        searcher.search(query, k=3, mode=mode)  # type: ignore[arg-type]
    assert time.perf_counter() - start < 0.5


def test_a_query_at_the_limit_is_searched(searcher: Searcher) -> None:
    query = ("neural language models " * 400)[:MAX_QUERY_CHARS]
    assert len(query) == MAX_QUERY_CHARS
    assert searcher.search(query, k=2)


def test_the_limit_counts_the_query_as_it_is_searched(searcher: Searcher) -> None:
    # U+FDFA is one character that NFKC (the form searched) turns into 18.
    query = "\ufdfa " * 300
    assert len(query) <= MAX_QUERY_CHARS
    with pytest.raises(BadInputError, match=r"5,700 characters long"):
        searcher.search(query, k=2)


def test_kb_search_refuses_a_long_query_before_loading_anything(tmp_path: Path) -> None:
    result = CliRunner().invoke(cli, ["search", "x" * 5000, "--db", str(tmp_path / "none")])
    assert result.exit_code == 1, result.output
    assert "5,000 characters long; at most 4,000 are searched" in result.output
    assert "Traceback" not in result.output


def test_kb_search_batch_names_the_long_line_and_answers_none(tmp_path: Path) -> None:
    queries = tmp_path / "queries.txt"
    queries.write_text("scaling laws\n\n" + "loss " * 1000 + "\nchinchilla\n")
    result = CliRunner().invoke(
        cli, ["search", "--batch", str(queries), "--db", str(tmp_path / "none")]
    )
    assert result.exit_code == 1, result.output
    assert f"{queries}: line 3: search query is 4,999 characters long" in result.output
    assert "{" not in result.stdout


# -- 2. the pinned hit's score ---------------------------------------------------------------


@pytest.mark.parametrize("mode", ["fused", "keyword", "semantic"])
@pytest.mark.parametrize("how", ["title", "id"])
def test_scores_never_rise_down_the_list_under_a_pinned_hit(
    searcher: Searcher, mode: str, how: str
) -> None:
    query = KAPLAN if how == "title" else paper_id_for(KAPLAN)
    hits = searcher.search(query, k=4, mode=mode)  # type: ignore[arg-type]
    assert hits[0].title == KAPLAN
    scores = [h.score for h in hits]
    assert scores == sorted(scores, reverse=True), scores
    assert hits[0].exact_match
    assert not any(h.exact_match for h in hits[1:])


def test_the_pinned_hit_keeps_its_own_score_when_it_is_the_best(searcher: Searcher) -> None:
    title = "Training Compute-Optimal Large Language Models"
    plain = searcher.search("compute optimal training", k=4, mode="keyword")
    pinned = searcher.search(title, k=4, mode="keyword")
    assert pinned[0].title == title
    assert pinned[0].exact_match
    assert pinned[0].score > pinned[1].score
    assert not any(h.exact_match for h in plain)


# -- 3. a whole title with a citation --------------------------------------------------------


@pytest.mark.parametrize(
    "query",
    [
        f"Kaplan et al. 2020 {KAPLAN}",
        f"{KAPLAN} (Kaplan et al., 2020)",
        f'Kaplan et al., "{KAPLAN}"',
        f"“{KAPLAN}” — Kaplan and McCandlish 2020",
        f"2020 {KAPLAN.lower()}",
        f"kaplan et al {KAPLAN}",
        "Hoffmann et al. (2022) Training Compute-Optimal Large Language Models",
        "Training Compute-Optimal Large Language Models. Borgeaud 2023",
    ],
)
def test_a_whole_title_with_a_citation_is_pinned(searcher: Searcher, query: str) -> None:
    hits = searcher.search(query, k=3)
    assert hits[0].exact_match, query
    assert normalize(hits[0].title) in normalize(query)


@pytest.mark.parametrize(
    "query",
    [
        "scaling laws",  # part of a title
        "Kaplan et al. 2020 scaling laws",
        "neural language models 2020",
        f"Chinchilla {KAPLAN}",  # a word that is not a citation
        f"{KAPLAN} and more",
        # the paper records its authors and date: another author, or a year far off
        "Kaplan et al. 2022 Training Compute-Optimal Large Language Models",
        "Hoffmann et al. 2019 Training Compute-Optimal Large Language Models",
    ],
)
def test_no_pin_for_part_of_a_title_or_a_wrong_citation(searcher: Searcher, query: str) -> None:
    assert searcher.exact_match(query) is None, query
    assert not any(h.exact_match for h in searcher.search(query, k=4))


def normalize(text: str) -> str:
    return " ".join("".join(c if c.isalnum() else " " for c in text.casefold()).split())


# -- odd input -------------------------------------------------------------------------------


@pytest.mark.parametrize("query", ["\u200b", "\x00", " \u200b\u2060 ", "\ufeff", "\u3000\u00a0"])
def test_a_query_that_shows_nothing_is_blank(searcher: Searcher, query: str) -> None:
    # Before: a zero-width space or a NUL alone was searched (the papers nearest to nothing,
    # under a "no close match" notice).
    with pytest.raises(BadInputError, match="empty search query"):
        searcher.search(query, k=2)
    result = CliRunner().invoke(cli, ["search", query, "--db", "unused.duckdb"])
    assert result.exit_code == 2, result.output
    assert "is blank" in result.output


def test_invisible_batch_lines_are_skipped_as_blank(tmp_path: Path) -> None:
    queries = tmp_path / "queries.txt"
    queries.write_text("\u200b\n\n\x00\n", encoding="utf-8")
    result = CliRunner().invoke(
        cli, ["search", "--batch", str(queries), "--db", str(tmp_path / "none")]
    )
    assert "no queries (every line is blank)" in result.output
    assert "empty search query" not in result.output


@pytest.mark.parametrize("query", ["the of and", "?!...", "🤖🚀", "%"])
def test_keyword_search_says_when_a_query_has_no_word_it_reads(
    searcher: Searcher, query: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Before: "no paper matches this query; loosen a filter or rephrase", as if the words had
    # been looked for.
    db = searcher.index.path.with_name("kb.duckdb")
    monkeypatch.setattr(Searcher, "open", lambda *args, **kwargs: searcher)  # the hash model
    result = CliRunner().invoke(cli, ["search", query, "--mode", "keyword", "--db", str(db)])
    assert result.exit_code == 0, result.output
    assert "the query has no word the keyword search reads" in result.stderr
    assert "--mode fused" in result.stderr
    words = CliRunner().invoke(cli, ["search", "zebra", "--mode", "keyword", "--db", str(db)])
    assert "no paper matches this query" in words.stderr
