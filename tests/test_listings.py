"""The listing parser: one example per layout, the real seeds, bad input, and properties."""

from __future__ import annotations

import contextlib
import datetime as dt
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ingest.listings import (
    CHROME_LINES,
    ListingEntry,
    ParsedEntry,
    decode_text,
    is_metadata_line,
    parse_listing,
    parse_listing_text,
    render_listing,
)
from kb.errors import ParseError
from kb.records import clean_title, normalize_title, normalize_whitespace, paper_id_for
from tests.conftest import FIXTURES

LISTINGS = FIXTURES / "listings"
TINY = "Scaling Laws for Tiny Test Models"
TINY_ABSTRACT = (
    "We fit a power law to the loss of tiny models. It works remarkably well across three "
    "orders of magnitude."
)


def titles(path: Path) -> list[str]:
    return [e.paper.title for e in parse_listing(path)]


def test_blocks_layout_without_metadata_skips_chrome_and_joins_wrapped_abstracts() -> None:
    entries = parse_listing(LISTINGS / "blocks_plain.txt")
    assert [e.paper.title for e in entries] == [TINY, "Another Paper About Data", TINY]
    first = entries[0]
    assert first.paper.abstract == TINY_ABSTRACT  # two lines joined, runs of spaces collapsed
    assert first.paper.published is None
    assert first.paper.n_authors is None
    assert [(e.appearance.position, e.appearance.line) for e in entries] == [
        (1, 13),
        (2, 18),
        (3, 22),
    ]
    assert entries[0].paper.paper_id == entries[2].paper.paper_id == paper_id_for(TINY)
    assert entries[0].appearance.source == str((LISTINGS / "blocks_plain.txt").resolve())
    assert {e.appearance.format for e in entries} == {"listing"}


def test_blocks_layout_with_metadata_lines() -> None:
    a, b, c = parse_listing(LISTINGS / "blocks_meta.txt")
    assert (a.paper.n_authors, a.paper.published, a.paper.upvotes) == (4, dt.date(2025, 5, 12), 2)
    assert a.appearance.raw_date == "May 12, 2025"
    assert (b.paper.title, b.paper.n_authors, b.paper.published) == (
        "An Entry Without Metadata",
        None,
        None,
    )
    assert (c.paper.n_authors, c.paper.published, c.paper.upvotes) == (
        1,
        dt.date(2017, 12, 1),
        None,
    )


def test_yearless_dates_keep_raw_date_and_organisation_lines() -> None:
    a, b, c = parse_listing(LISTINGS / "blocks_yearless.txt")
    assert (a.paper.n_authors, a.paper.published, a.appearance.raw_date) == (3, None, "May 15")
    assert b.paper.organization == "moonshotai Moonshot AI"
    assert (b.paper.n_authors, b.paper.upvotes, b.appearance.raw_date) == (None, 6, "Jan 21")
    assert c.paper.title == "The Last Entry Has No Metadata"
    assert c.paper.abstract == "And the file ends without a newline."


def test_compact_layout_with_title_glued_to_header() -> None:
    entries = parse_listing(LISTINGS / "compact.txt")
    assert [e.paper.title for e in entries] == [
        "AdaToy: Adaptive Scaling for Toy Detection",
        TINY,
        "Mixture of Toy Experts",
    ]
    assert [e.appearance.line for e in entries] == [3, 5, 7]
    assert entries[1].paper.abstract == TINY_ABSTRACT


# Counted by reading each file: entries are the title+abstract pairs after the page header
# (000: 65 blank-separated, no metadata; 001: 42, all but "Robust Layerwise Scaling Rules..."
# with metadata; 002: 89, no metadata; 003: 62, 59 with metadata, one an organisation line,
# 18 year-less dates; 004: 119 in the compact layout, lines 3-240 alternating).
SEED_COUNTS = {
    "000_6c6ac8076e1b8bac.txt": 65,
    "001_888fb95347ef9609.txt": 42,
    "002_6eefaf244a5f5343.txt": 89,
    "003_3f20e5d48a6b468c.txt": 62,
    "004_dd8bb85a95335188.txt": 119,
}
SEED_DISTINCT_PAPERS = 270


def test_real_seeds_entry_counts(shared: Path) -> None:
    seeds = shared / "seeds"
    counts = {p.name: len(parse_listing(p)) for p in sorted(seeds.glob("*.txt"))}
    assert counts == SEED_COUNTS
    ids = {e.paper.paper_id for p in seeds.glob("*.txt") for e in parse_listing(p)}
    assert len(ids) == SEED_DISTINCT_PAPERS
    compact = parse_listing(seeds / "004_dd8bb85a95335188.txt")
    assert compact[0].paper.title == "AdaSCALE: Adaptive Scaling for OOD Detection"
    meta = parse_listing(seeds / "003_3f20e5d48a6b468c.txt")
    kimi = next(e for e in meta if e.paper.title.startswith("Kimi k1.5"))
    assert (kimi.paper.organization, kimi.paper.upvotes, kimi.appearance.raw_date) == (
        "moonshotai Moonshot AI",
        6,
        "Jan 21",
    )
    assert sum(e.appearance.raw_date is not None for e in meta) == 59
    assert sum(e.paper.published is None and e.appearance.raw_date is not None for e in meta) == 18


@pytest.mark.parametrize(
    ("name", "line", "message"),
    [
        ("bad_abstract_without_title.txt", 5, "abstract without a title"),
        ("bad_meta_wrong_place.txt", 3, "wrong place"),
        ("truncated.txt", 6, "truncated"),
        ("empty.txt", 1, "no paper entries"),
    ],
)
def test_bad_listings_name_file_and_line(name: str, line: int, message: str) -> None:
    with pytest.raises(ParseError, match=rf"{name}:{line}: .*{message}"):
        parse_listing(LISTINGS / name)


def test_title_without_abstract_at_end_is_truncation(tmp_path: Path) -> None:
    path = tmp_path / "cut.txt"
    path.write_text("Title One\n\nAbstract one.\n\nTitle Two\n", encoding="utf-8")
    with pytest.raises(ParseError, match=r"cut.txt:5: title 'Title Two' has no abstract"):
        parse_listing(path)


def test_metadata_line_where_a_title_belongs(tmp_path: Path) -> None:
    path = tmp_path / "m.txt"
    path.write_text("Title\n\nAbstract.\n\n• 3 authors\n·\nMay 1, 2024\n\n·\n", encoding="utf-8")
    with pytest.raises(ParseError, match=r"m.txt:9: metadata line '·' in the wrong place"):
        parse_listing(path)


def test_impossible_date_is_an_error(tmp_path: Path) -> None:
    path = tmp_path / "d.txt"
    path.write_text("Title\n\nAbstract.\n\n• 3 authors\n·\nFeb 30, 2024 1\n", encoding="utf-8")
    with pytest.raises(ParseError, match=r"d.txt:7: 'Feb 30, 2024 1' is not a calendar date"):
        parse_listing(path)


def test_binary_and_non_utf8_files(tmp_path: Path) -> None:
    binary = tmp_path / "b.txt"
    binary.write_bytes(b"Title\n\nAbs\x00tract\n")
    with pytest.raises(ParseError, match=r"b.txt:3: binary data"):
        parse_listing(binary)
    latin = tmp_path / "l.txt"
    latin.write_bytes("Title\n\nCaf\u00e9 abstract\n".encode("latin-1"))
    with pytest.raises(ParseError, match=r"l.txt:3: not UTF-8"):
        parse_listing(latin)


# -- properties --------------------------------------------------------------------------------
def _parse_or_error(text: str) -> list[ParsedEntry] | ParseError:
    try:
        return list(parse_listing_text(text, "x.txt"))
    except ParseError as err:
        return err


@given(st.text(max_size=400))
def test_arbitrary_text_parses_or_raises_parse_error(text: str) -> None:
    result = _parse_or_error(text)
    if isinstance(result, ParseError):
        assert str(result).startswith("x.txt:")  # names the file and line
    else:
        assert result
        assert all(e.paper.title and e.paper.abstract for e in result)


@given(st.binary(max_size=200))
def test_arbitrary_bytes_parse_or_raise_parse_error(data: bytes) -> None:
    with contextlib.suppress(ParseError):
        list(parse_listing_text(decode_text(data, "x.txt"), "x.txt"))


_chars = st.characters(blacklist_categories=("Cc", "Cs", "Zl", "Zp"))


def _line(max_size: int) -> st.SearchStrategy[str]:
    return (
        st.text(_chars, min_size=1, max_size=max_size)
        .map(normalize_whitespace)
        .filter(lambda t: bool(t) and t not in CHROME_LINES and t != "·")
        .filter(lambda t: clean_title(t) == t)  # font commands are dropped from titles
    )


@st.composite
def listing_entries(draw: st.DrawFn) -> ListingEntry:
    def plain(t: str) -> bool:
        return not is_metadata_line(t)

    title = draw(_line(120).filter(plain))
    abstract = draw(_line(400).filter(plain))
    date = draw(st.none() | st.dates(dt.date(1990, 1, 1), dt.date(2030, 12, 31)))
    if date is None:
        return ListingEntry(title=title, abstract=abstract)
    with_year = draw(st.booleans())
    raw = f"{date:%b} {date.day}" + (f", {date.year}" if with_year else "")
    who = draw(st.sampled_from(["none", "authors", "org"]))
    return ListingEntry(
        title=title,
        abstract=abstract,
        raw_date=raw,
        upvotes=draw(st.none() | st.integers(0, 5000)),
        n_authors=draw(st.integers(1, 3000)) if who == "authors" else None,
        organization=draw(_line(40).filter(plain)) if who == "org" else None,
    )


@given(st.lists(listing_entries(), min_size=1, max_size=6), st.sampled_from(["blocks", "compact"]))
def test_render_then_parse_round_trips(entries: list[ListingEntry], layout: str) -> None:
    text = render_listing(entries, layout=layout)
    parsed = list(parse_listing_text(text, "rt.txt"))
    back = [
        ListingEntry(
            title=p.paper.title,
            abstract=p.paper.abstract,
            n_authors=p.paper.n_authors,
            organization=p.paper.organization,
            raw_date=p.appearance.raw_date,
            upvotes=p.paper.upvotes,
        )
        for p in parsed
    ]
    assert back == entries
    assert [p.appearance.position for p in parsed] == list(range(1, len(entries) + 1))
    for p, e in zip(parsed, entries, strict=True):
        has_year = e.raw_date is not None and "," in e.raw_date
        assert (p.paper.published is not None) == has_year


def test_font_commands_are_dropped_from_titles_and_ids(tmp_path: Path) -> None:
    # A listing prints "{\\scriptsize F}Laws" as "scriptsizeFLaws" (a real seed title); the arXiv
    # API keeps the command. Both are the same paper, titled as it reads.
    listing = tmp_path / "l.txt"
    listing.write_text(
        "Inference Scaling scriptsizeFLaws: The Limits of Resampling\n\n"
        "We study resampling with imperfect verifiers.\n",
        encoding="utf-8",
    )
    (entry,) = parse_listing(listing)
    assert entry.paper.title == "Inference Scaling FLaws: The Limits of Resampling"
    arxiv_title = r"Inference Scaling {\scriptsize F}Laws: The Limits of Resampling"
    assert entry.paper.paper_id == paper_id_for(arxiv_title)
    assert normalize_title(arxiv_title) == "inference scaling flaws the limits of resampling"
    # English words are kept where no backslash marks them as commands.
    assert clean_title("Tiny Models Learn Large Tasks") == "Tiny Models Learn Large Tasks"
    bold = r"\textbf{Bold} Claims about \emph{Small} Models"
    assert clean_title(bold) == "Bold Claims about Small Models"
    assert clean_title(r"A {\em Small} Model") == "A Small Model"
    assert clean_title("textbf") == "textbf"  # nothing left: kept as it was


def test_no_seed_title_keeps_a_font_command(shared: Path) -> None:
    for path in sorted((shared / "seeds").glob("*.txt")):
        for entry in parse_listing(path):
            assert clean_title(entry.paper.title) == entry.paper.title
            assert "scriptsize" not in entry.paper.title
