"""Search QA, second round: queries as researchers type them (ids, long pastes, odd text).

Papers are invented for the tests; ``HashEmbedder`` (from ``tests.test_search``) stands in for
the model.
"""

from __future__ import annotations

import re
import time
from pathlib import Path

import pytest
from click.testing import CliRunner
from hypothesis import given, settings
from hypothesis import strategies as st

from kb.cli import cli
from kb.cli.search import _batch_row
from kb.index import build_index
from kb.records import Paper, normalize_arxiv_id, paper_id_for
from kb.search import Searcher, SearchFilters
from kb.store import Store
from tests.test_search import HashEmbedder

# kb.records._ARXIV before it was made linear: the reference for what an id is.
_ARXIV_BEFORE = re.compile(
    r"(?:arxiv:|https?://arxiv\.org/(?:abs|pdf)/)?"
    r"(?P<id>\d{4}\.\d{4,5}|[a-z\-]+(?:\.[A-Z]{2})?/\d{7})(?:v\d+)?(?:\.pdf)?$",
    re.IGNORECASE,
)


def _paper(title: str, abstract: str) -> Paper:
    return Paper(paper_id=paper_id_for(title), title=title, abstract=abstract, domain="language")


def _full_width(text: str) -> str:
    """``text`` in full-width forms (U+FF01..U+FF5E; the space as U+3000)."""
    return "".join("\u3000" if c == " " else chr(ord(c) + 0xFEE0) for c in text)


def _before(raw: str) -> str | None:
    match = _ARXIV_BEFORE.search(raw.strip())
    return match.group("id") if match else None


def test_a_long_word_is_not_read_as_an_arxiv_id_in_quadratic_time() -> None:
    # A pasted 16,000-letter token (a hash, base64, a long URL) took 30-56 s per `kb search`
    # query: the old-style id pattern ``[a-z-]+/\d{7}`` was retried from every letter.
    for word in ("a" * 20_000, "ab-" * 7_000 + "_/1234567", "x" * 20_000 + "/12"):
        start = time.perf_counter()
        assert normalize_arxiv_id(word) is None
        assert time.perf_counter() - start < 0.5, word[:10]


def test_arxiv_id_forms_read_as_before() -> None:
    for raw, expected in [
        ("2203.15556", "2203.15556"),
        ("arXiv:2203.15556v3", "2203.15556"),
        ("https://arxiv.org/pdf/2001.08361v1.pdf", "2001.08361"),
        ("10.48550/arXiv.2001.08361", "2001.08361"),
        ("hep-th/9901001", "hep-th/9901001"),
        ("arxiv:math.AG/0309136v2", "math.AG/0309136"),
        ("xarxiv:hep-th/9901001", "hep-th/9901001"),
        ("http://arxiv.org/abs/cond-mat/0102536", "cond-mat/0102536"),
        ("scaling laws", None),
    ]:
        assert normalize_arxiv_id(raw) == expected == _before(raw), raw


@settings(max_examples=400, deadline=None)
@given(
    st.text(alphabet="aAhpz-.:/_ 0123456789vxivrXfdst", max_size=40)
    | st.from_regex(_ARXIV_BEFORE)
    | st.from_regex(r"[a-zA-Z\-:./]{0,12}[a-z\-]{1,8}(\.[A-Z]{2})?/\d{7}(v\d)?(\.pdf)?\n?")
)
def test_arxiv_ids_are_read_as_the_reference_pattern_reads_them(raw: str) -> None:
    assert normalize_arxiv_id(raw) == _before(raw)


@pytest.fixture
def searcher(tmp_path: Path) -> Searcher:
    db = tmp_path / "kb.duckdb"
    embedder = HashEmbedder()
    with Store(db) as s:
        s.upsert(
            [
                _paper("Efficient Fine-Tuning Laws", "Fine-tuning is efficient at every scale."),
                _paper("A Faster Tokenizer", "We make tokenization fast. It is a small library."),
                _paper("Chinchilla Revisited", "We refit the Chinchilla law to released data."),
            ]
        )
        build_index(s, db, model=embedder)
    return Searcher.open(Store(db, read_only=True), db, model=embedder)


@pytest.mark.parametrize(
    ("query", "title"),
    [
        ("eﬃcient ﬁne", "Efficient Fine-Tuning Laws"),  # ligatures pasted from a PDF
        (_full_width("Chinchilla"), "Chinchilla Revisited"),  # typed on a CJK keyboard
        (_full_width("tokenization library"), "A Faster Tokenizer"),
    ],
)
def test_compatibility_characters_in_a_query_match_the_plain_words(
    searcher: Searcher, query: str, title: str
) -> None:
    # Before: these queries had no keyword tokens in common with any paper (keyword mode: no
    # hits at all) and the seed store's fused search flagged them as not English.
    hits = searcher.search(query, k=1, mode="keyword")
    assert [h.title for h in hits] == [title]
    assert searcher.search(query, k=1)[0].title == title


@pytest.mark.parametrize("mode", ["fused", "keyword", "semantic"])
@pytest.mark.parametrize(
    ("query", "says"),
    [
        ("2001.08361v2", "arXiv id 2001.08361"),
        ("https://arxiv.org/pdf/2001.08361v1.pdf", "arXiv id 2001.08361"),
        ("10.48550/arXiv.2203.15556", "arXiv id 2203.15556"),
        ("t:0123456789abcdef", "the id t:0123456789abcdef"),
        ("https://doi.org/10.1038/nature14539", "does not record DOIs or web links"),
        ("10.1038/nature14539", "does not record DOIs or web links"),
        ("https://openreview.net/forum?id=abc", "does not record DOIs or web links"),
    ],
)
def test_an_identifier_that_names_no_paper_says_so(
    searcher: Searcher, query: str, says: str, mode: str
) -> None:
    # Before: the papers nearest to the id's characters, on the seed store often with no notice
    # at all (an arXiv PDF link, an arXiv DOI), as if the search had found the paper.
    hits = searcher.search(query, k=2, mode=mode)  # type: ignore[arg-type]
    assert hits.notice is not None
    assert says in hits.notice
    assert hits.match_fields()["notice"] == hits.notice


def test_no_identifier_notice_for_words_or_a_known_id(searcher: Searcher) -> None:
    known = searcher.papers[0].paper_id
    assert searcher.search(known, k=1).unknown_id is None
    # a known paper that a filter leaves out is not "no paper has this id"
    assert searcher.search(known, k=1, filters=SearchFilters(domain="vision")).unknown_id is None
    for query in ("Chinchilla", "loss of 2001.08361 models", "GPT-4", "1.5B", "x"):
        assert searcher.search(query, k=1).unknown_id is None, query


def test_a_batch_line_carries_the_identifier_notice_in_its_contract_fields(
    searcher: Searcher,
) -> None:
    row = _batch_row("arXiv:2203.15556", searcher.search("arXiv:2203.15556", k=2))
    assert set(row) == {"query", "hits", "weak_match", "match_score", "not_english", "notice"}
    assert "arXiv id 2203.15556" in str(row["notice"])


def test_the_snippet_is_not_the_code_link_sentence(tmp_path: Path) -> None:
    # On the seed store "LLM" showed "Code is available at: https://github.com/nbasyl/LLM-FP4."
    # for LLM-FP4, and "data pruning" a GitHub link: the link's words matched the query.
    db = tmp_path / "kb.duckdb"
    embedder = HashEmbedder()
    abstract = (
        "We quantize large language models to four bits with floating point formats. "
        "Code is available at: https://github.com/someone/LLM-FP4."
    )
    with Store(db) as s:
        s.upsert([_paper("LLM-FP4: Four-Bit Transformers", abstract)])
        build_index(s, db, model=embedder)
    searcher = Searcher.open(Store(db, read_only=True), db, model=embedder)
    for query in ("LLM FP4", "github LLM-FP4 code"):
        (hit,) = searcher.search(query, k=1)
        assert hit.snippet.startswith("We quantize"), query
    # an abstract of link sentences only still gets one
    other = tmp_path / "links.duckdb"
    with Store(other) as s:
        s.upsert(
            [_paper("Links Only", "Code: https://example.org/a. Data: https://example.org/b.")]
        )
        build_index(s, other, model=embedder)
    searcher = Searcher.open(Store(other, read_only=True), other, model=embedder)
    assert "https://example.org" in searcher.search("Links Only", k=1)[0].snippet


def test_a_query_starting_with_a_dash_is_told_to_go_after_double_dash(tmp_path: Path) -> None:
    # click read "-language models" as options -l, -a, ...: "No such option '-l'" alone.
    result = CliRunner().invoke(cli, ["search", "-language models", "--db", str(tmp_path / "x")])
    assert result.exit_code == 2
    assert "No such option" in result.output
    assert "kb search [OPTIONS] -- '-language models'" in result.output
    # a mistyped real option is not taken for a query
    typo = CliRunner().invoke(cli, ["search", "scaling", "--kk", "3"])
    assert typo.exit_code == 2
    assert " -- " not in typo.output


@pytest.mark.parametrize("mode", ["fused", "keyword", "semantic"])
@pytest.mark.parametrize(
    "query",
    [
        "Training Compute-Optimal Large Language Models",
        "training compute-optimal large language models.",
        "2203.15556",
        "https://arxiv.org/abs/2203.15556v1",
    ],
)
def test_a_registry_paper_outside_the_knowledge_base_points_to_its_laws(
    tmp_path: Path, query: str, mode: str
) -> None:
    """Searching the title or arXiv id of Hoffmann et al. 2022 (in the law registry, not in the
    seed corpus) listed other papers with no word that its laws are one command away (for the
    arXiv id, only "no paper has this id")."""
    from kb.registry import load_registry

    db = tmp_path / "kb.duckdb"
    embedder = HashEmbedder()
    laws = [law for law in load_registry() if law.arxiv_id == "2203.15556"]
    assert laws
    with Store(db) as s:
        s.upsert([_paper("Chinchilla Revisited", "We refit the Chinchilla law to released data.")])
        s.upsert(laws)
        build_index(s, db, model=embedder)
    searcher = Searcher.open(Store(db, read_only=True), db, model=embedder)
    hits = searcher.search(query, k=2, mode=mode)  # type: ignore[arg-type]
    assert hits.notice is not None
    assert "'Training Compute-Optimal Large Language Models' (2022, arXiv 2203.15556)" in (
        hits.notice
    )
    assert hits.notice.endswith("kb laws --paper 2203.15556")
    # words of the title, or a paper the knowledge base holds, get no such notice
    for other in ("compute-optimal language models", "Chinchilla Revisited"):
        assert searcher.search(other, k=1, mode=mode).unknown_id is None, other  # type: ignore[arg-type]
