"""Big inputs are read as they stream: memory does not grow with the file, and an error late
in a big file still names the file, the line and what was expected."""

from __future__ import annotations

import csv
import tracemalloc
from collections.abc import Callable
from pathlib import Path
from xml.sax.saxutils import escape

import pytest

import ingest.formats
from ingest.formats import read_papers
from ingest.listings import (
    ListingEntry,
    ParsedEntry,
    decode_text,
    parse_listing,
    parse_listing_text,
    render_listing,
)
from kb.errors import ParseError
from tests.conftest import FIXTURES

N = 5_000  # entries in a "big" file: 2-3 MB
ABSTRACT = "Loss falls as a power law in model size and data; " * 8


def _feed(n: int, *, bad: int | None = None, cut: bool = False) -> str:
    """An Atom feed of ``n`` entries, one field per line; entry ``bad`` has no title."""
    parts = [
        '<?xml version="1.0" encoding="UTF-8"?>\n',
        '<feed xmlns="http://www.w3.org/2005/Atom">\n<title>big</title>\n',
    ]
    for i in range(1, n + 1):
        title = "" if i == bad else f"<title>Paper {i} &amp; its law</title>\n"
        parts.append(
            f"<entry>\n<id>http://arxiv.org/abs/2301.{i:05d}v1</id>\n{title}"
            f"<summary>{escape(ABSTRACT)}</summary>\n<published>2023-01-02T00:00:00Z</published>\n"
            "<author><name>A. Author</name></author>\n</entry>\n"
        )
    text = "".join(parts) + "</feed>\n"
    return text[: text.rindex("<summary>")] if cut else text


def _table(n: int, *, short: int | None = None) -> str:
    rows = [["title", "abstract", "arxiv_id", "published"]]
    rows += [[f"Paper {i}", ABSTRACT, f"2301.{i:05d}", "2023-01-02"] for i in range(1, n + 1)]
    if short is not None:
        rows[short] = rows[short][:2]
    with_quotes = [",".join(f'"{v}"' if "," in v else v for v in row) for row in rows]
    return "\n".join(with_quotes) + "\n"


def _page(n: int) -> str:
    entries = [
        ListingEntry(title=f"Paper {i}", abstract=ABSTRACT, n_authors=3, raw_date="Mar 1, 2024")
        for i in range(1, n + 1)
    ]
    return render_listing(entries)


def _peak(read: Callable[[], object]) -> int:
    tracemalloc.start()
    try:
        for _ in read():  # type: ignore[attr-defined]
            pass
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


@pytest.mark.parametrize(
    ("name", "make"),
    [("big.xml", _feed), ("big.csv", _table), ("big.txt", _page)],
)
def test_big_file_is_read_in_bounded_memory(
    tmp_path: Path, name: str, make: Callable[[int], str]
) -> None:
    path = tmp_path / name
    path.write_text(make(N), encoding="utf-8")
    size = path.stat().st_size
    assert size > 2_000_000
    count = 0

    def entries() -> object:
        nonlocal count
        for entry in ingest.formats.iter_papers(path):
            count += 1
            yield entry

    peak = _peak(entries)
    assert count == N
    # Read whole, the file took 3.5 times its size; streaming: a chunk and one entry.
    assert peak < size / 2, f"{name}: peak {peak / 1e6:.1f} MB for a {size / 1e6:.1f} MB file"


def test_atom_lines_do_not_depend_on_chunk_boundaries(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "feed.xml"
    path.write_text(_feed(300), encoding="utf-8")
    whole = read_papers(path)
    for chunk in (1, 7, 64, 4096):
        monkeypatch.setattr(ingest.formats, "ATOM_CHUNK", chunk)
        assert read_papers(path) == whole, chunk
    lines = [e.appearance.line for e in whole]
    assert lines[:2] == [4, 11]
    assert lines[-1] == 4 + 7 * 299
    assert read_papers(FIXTURES / "formats" / "arxiv_api.xml")[1].appearance.line == 24


def test_atom_error_late_in_a_big_feed_names_its_line(tmp_path: Path) -> None:
    path = tmp_path / "late.xml"
    path.write_text(_feed(N, bad=N - 1), encoding="utf-8")
    line = 4 + 7 * (N - 2)
    with pytest.raises(ParseError, match=rf"late.xml:{line}: <entry> {N - 1} has no <title>"):
        read_papers(path)
    path.write_text(_feed(N, cut=True), encoding="utf-8")
    with pytest.raises(ParseError) as err:
        read_papers(path)
    assert f"late.xml:{4 + 7 * (N - 1) + 3}: not well-formed XML" in str(err.value)  # at EOF
    assert "expected an arXiv API Atom feed (truncated file?)" in str(err.value)


def test_atom_wrong_root_and_empty_file(tmp_path: Path) -> None:
    path = tmp_path / "page.xml"
    path.write_text("<html><body>" + "<p>x</p>\n" * 1000 + "</body></html>\n", encoding="utf-8")
    with pytest.raises(ParseError, match=r"page.xml:1: root element is 'html'; expected an Atom"):
        read_papers(path)
    path.write_text("  \n\n", encoding="utf-8")
    with pytest.raises(ParseError, match=r"page.xml:1: empty file; expected an Atom feed"):
        read_papers(path, fmt="atom")


def test_csv_error_late_in_a_big_table_names_its_line(tmp_path: Path) -> None:
    path = tmp_path / "late.csv"
    path.write_text(_table(N, short=N - 5), encoding="utf-8")
    with pytest.raises(ParseError, match=rf"late.csv:{N - 4}: 2 fields, expected 4"):
        read_papers(path)
    text = _table(N).replace(f"Paper {N - 3},", f'"Paper {N - 3},', 1)  # a quote never closed
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ParseError, match=rf"late.csv:{N - 2}: .*runs from line {N - 2} to line"):
        read_papers(path)


def test_csv_bad_bytes_late_in_the_file_name_line_and_offset(tmp_path: Path) -> None:
    path = tmp_path / "bytes.csv"
    head = _table(3).encode()
    path.write_bytes(head + "Caf\u00e9,x\n".encode("latin-1"))
    offset = len(head) + 3
    with pytest.raises(ParseError, match=rf"bytes.csv:5: not UTF-8 \(byte 0xe9 at offset {offset}"):
        read_papers(path)
    path.write_bytes(head + b"A,B\x00,2301.00009,\n")
    with pytest.raises(ParseError, match=r"bytes.csv:5: binary data \(NUL byte\)"):
        read_papers(path)


@pytest.mark.parametrize("end", ["\r", "\r\n", "\n"])
def test_csv_line_ends_and_byte_order_mark(tmp_path: Path, end: str) -> None:
    path = tmp_path / "ends.csv"
    rows = [["title", "abstract"], ["A", "first, with a comma"], ["B", "two\nlines"]]
    with path.open("w", encoding="utf-8-sig", newline="") as fh:
        csv.writer(fh, lineterminator=end, quoting=csv.QUOTE_ALL).writerows(rows)
    a, b = read_papers(path)
    assert (a.paper.title, a.paper.abstract, a.appearance.line) == ("A", rows[1][1], 2)
    assert (b.paper.title, b.paper.abstract, b.appearance.line) == ("B", "two lines", 3)


def _read_whole(path: Path) -> list[ParsedEntry]:
    """A listing decoded whole, then parsed: what the reader did before it streamed."""
    source = str(path.resolve())
    return list(parse_listing_text(decode_text(path.read_bytes(), source), source))


def _outcome(read: Callable[[], list[ParsedEntry]]) -> list[ParsedEntry] | str:
    """What ``read`` returns, or the text of the ParseError it raises."""
    try:
        return read()
    except ParseError as err:
        return str(err)


@pytest.mark.parametrize("path", sorted((FIXTURES / "listings").glob("*.txt")), ids=str)
def test_listing_read_as_it_streams_equals_the_whole_text(path: Path) -> None:
    assert _outcome(lambda: parse_listing(path)) == _outcome(lambda: _read_whole(path))


def test_listing_error_late_in_a_big_page_names_its_line(tmp_path: Path) -> None:
    path = tmp_path / "late.txt"
    text = _page(N)
    cut = text.rindex("\u00b7")  # the last entry's date line is lost
    path.write_text(text[: cut + 1] + "\n", encoding="utf-8")
    line = text[:cut].count("\n") + 1
    with pytest.raises(ParseError, match=rf"late.txt:{line}: '·' must be followed by a date"):
        read_papers(path)
    path.write_bytes(text.encode() + b"A Title\n\nAn abstract \xff\n")
    with pytest.raises(ParseError, match=rf"late.txt:{text.count(chr(10)) + 3}: not UTF-8"):
        read_papers(path)
