"""Other inputs: arXiv Atom feeds, the arXiv metadata snapshot, CSV and JSON lines."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest

from ingest.formats import detect_format, read_papers
from kb.errors import ParseError
from kb.records import paper_id_for
from tests.conftest import FIXTURES

FORMATS = FIXTURES / "formats"
LISTINGS = FIXTURES / "listings"


@pytest.mark.parametrize(
    ("path", "fmt"),
    [
        (FORMATS / "arxiv_api.xml", "atom"),
        (FORMATS / "arxiv_snapshot.jsonl", "arxiv-jsonl"),
        (FORMATS / "papers.csv", "csv"),
        (FORMATS / "papers.jsonl", "jsonl"),
        (LISTINGS / "compact.txt", "listing"),
    ],
)
def test_detect_format(path: Path, fmt: str) -> None:
    assert detect_format(path) == fmt


def test_detect_by_content_not_name(tmp_path: Path) -> None:
    feed = tmp_path / "feed.txt"
    feed.write_bytes((FORMATS / "arxiv_api.xml").read_bytes())
    assert detect_format(feed) == "atom"
    snap = tmp_path / "snapshot.data"
    snap.write_bytes((FORMATS / "arxiv_snapshot.jsonl").read_bytes())
    assert detect_format(snap) == "arxiv-jsonl"


def test_atom_feed() -> None:
    a, b = read_papers(FORMATS / "arxiv_api.xml")
    assert a.paper.paper_id == "arxiv:2203.15556"
    assert a.paper.title == "Training Compute-Optimal Large Language Models"
    assert a.paper.abstract.startswith("We investigate the optimal model size")
    assert a.paper.authors == ["Jordan Hoffmann", "Sebastian Borgeaud"]
    assert a.paper.published == dt.date(2022, 3, 29)
    assert a.paper.categories == ["cs.CL", "cs.LG"]  # primary category first
    assert (a.appearance.format, a.appearance.position, a.appearance.line) == ("atom", 1, 8)
    assert (b.appearance.position, b.appearance.line) == (2, 24)


def test_arxiv_snapshot_jsonl() -> None:
    a, b = read_papers(FORMATS / "arxiv_snapshot.jsonl")
    assert a.paper.paper_id == "arxiv:2203.15556"
    assert a.paper.authors == ["Jordan Hoffmann", "Sebastian Borgeaud", "Arthur Mensch"]
    assert a.paper.n_authors == 3
    assert a.paper.published == dt.date(2022, 3, 29)  # v1 created, not update_date
    assert a.paper.categories == ["cs.CL", "cs.LG"]
    assert a.paper.title == "Training Compute-Optimal Large Language Models"
    assert b.paper.paper_id == "arxiv:hep-th/9901001"
    assert b.paper.authors == ["A. Physicist"]
    assert (b.appearance.position, b.appearance.line) == (2, 3)  # blank line 2 skipped


def test_csv_and_jsonl_tables() -> None:
    c1, c2 = read_papers(FORMATS / "papers.csv")
    assert c1.paper.paper_id == paper_id_for("Scaling Laws for Tiny Test Models")
    assert c1.paper.authors == ["Ada Lovelace", "Alan Turing"]
    assert (c1.paper.published, c1.paper.upvotes) == (dt.date(2025, 5, 12), 7)
    assert c2.paper.title == "A Title, With a Comma"
    assert c2.paper.abstract == "An abstract spanning two lines."
    assert c2.paper.paper_id == "arxiv:2001.08361"
    assert [c1.appearance.line, c2.appearance.line] == [2, 3]
    j1, j2 = read_papers(FORMATS / "papers.jsonl")
    assert j1.paper.paper_id == c1.paper.paper_id
    assert (j2.paper.title, j2.paper.n_authors) == ("Upper-Case Column Names", 12)


@pytest.mark.parametrize("sep", [",", ";", "\t"])
def test_csv_summary_column_is_the_abstract(tmp_path: Path, sep: str) -> None:
    """As in JSON lines (and arXiv's Atom <summary>), a CSV 'summary' column is the abstract."""
    path = tmp_path / "papers.csv"
    path.write_text(f"Title{sep}Summary\nA title{sep}Loss falls with size.\n", encoding="utf-8")
    (entry,) = read_papers(path)
    assert (entry.paper.title, entry.paper.abstract) == ("A title", "Loss falls with size.")


def test_csv_abstract_column_wins_over_summary(tmp_path: Path) -> None:
    path = tmp_path / "papers.csv"
    path.write_text("title,summary,abstract\nT,short,the abstract\n", encoding="utf-8")
    (entry,) = read_papers(path)
    assert entry.paper.abstract == "the abstract"


def test_forced_format_overrides_detection(tmp_path: Path) -> None:
    path = tmp_path / "listing.csv"
    path.write_text("Title\n\nAbstract text.\n", encoding="utf-8")
    with pytest.raises(ParseError, match="lacks column"):
        read_papers(path)
    (entry,) = read_papers(path, fmt="listing")
    assert entry.paper.title == "Title"
    with pytest.raises(ParseError, match="unknown format 'pdf'"):
        read_papers(path, fmt="pdf")


@pytest.mark.parametrize(
    ("name", "content", "fmt", "match"),
    [
        (
            "bad.jsonl",
            '{"title": "A", "abstract": "B"}\n{"title": "C", "abs',
            None,
            r"bad.jsonl:2: not a JSON",
        ),
        (
            "list.jsonl",
            '{"title": "A", "abstract": "B"}\n[1, 2]\n',
            None,
            r"list.jsonl:2: expected a JSON object",
        ),
        ("notitle.jsonl", '{"abstract": "B"}\n', None, r"notitle.jsonl:1: record 1 has no title"),
        (
            "snap.jsonl",
            '{"id": "nope", "title": "T", "abstract": "A", "update_date": "2020-01-01"}\n',
            None,
            r"snap.jsonl:1: 'id' 'nope' is not an arXiv id",
        ),
        (
            "cols.csv",
            "title,body\nA,B\n",
            None,
            r"cols.csv:1: CSV header lacks column\(s\) abstract \(or summary\)",
        ),
        (
            "short.csv",
            "title,abstract,published\nA,B,2020-01-01\nC,D\n",
            None,
            r"short.csv:3: 2 fields, expected 3",
        ),
        (
            "date.csv",
            "title,abstract,published\nA,B,yesterday\n",
            None,
            r"date.csv:2: column 'published': 'yesterday' is not a date",
        ),
        ("empty.csv", "", "csv", r"empty.csv:1: empty CSV"),
        ("empty.jsonl", "\n\n", "jsonl", r"empty.jsonl:1: no records"),
        (
            "cut.xml",
            "<?xml version='1.0'?>\n<feed xmlns='http://www.w3.org/2005/Atom'>\n<entry><title>T",
            None,
            r"cut.xml:3: not well-formed XML",
        ),
        (
            "err.xml",
            "<feed xmlns='http://www.w3.org/2005/Atom'><entry>"
            "<id>http://arxiv.org/api/errors#x</id><summary>bad query</summary></entry></feed>",
            None,
            r"err.xml:1: the arXiv API returned an error: bad query",
        ),
    ],
)
def test_bad_inputs_name_file_and_line(
    tmp_path: Path, name: str, content: str, fmt: str | None, match: str
) -> None:
    path = tmp_path / name
    path.write_text(content, encoding="utf-8")
    with pytest.raises(ParseError, match=match):
        read_papers(path, fmt=fmt)


def test_non_utf8_jsonl_names_line(tmp_path: Path) -> None:
    path = tmp_path / "latin.jsonl"
    good = json.dumps({"title": "A", "abstract": "B"}).encode()
    path.write_bytes(good + b"\n" + '{"title": "Caf\u00e9", "abstract": "x"}'.encode("latin-1"))
    with pytest.raises(ParseError, match=r"latin.jsonl:2: not UTF-8"):
        read_papers(path)


@pytest.mark.parametrize("fmt", [None, "atom"])
def test_atom_with_an_unknown_declared_encoding_names_file_and_line(
    tmp_path: Path, fmt: str | None
) -> None:
    # Found by tests/test_formats_fuzz.py: expat's LookupError escaped as a traceback.
    path = tmp_path / "feed.xml"
    path.write_bytes(
        b'<?xml version="1.0" encoding="SubscribeUTF-8"?>\n'
        b'<feed xmlns="http://www.w3.org/2005/Atom"><entry><title>T</title></entry></feed>\n'
    )
    with pytest.raises(ParseError, match=r"feed\.xml:1: the XML declaration names an encoding"):
        read_papers(path, fmt=fmt)
