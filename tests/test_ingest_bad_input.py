"""Bad files fed to ``kb ingest``: each is named for what it is (a UTF-16 export, an image, a
compressed snapshot, an HTML page, an empty folder), the store is left as it was, and two
records of one paper with different abstracts are not merged without a word.

Every input is invented and written by the test; no third-party text.
"""

from __future__ import annotations

import gzip
import hashlib
import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from ingest.formats import read_papers
from ingest.listings import ListingEntry, render_listing
from ingest.pipeline import ingest_paths
from kb.cli import cli
from kb.errors import BadInputError, ParseError
from kb.records import Paper
from kb.store import Store

ABSTRACT = "Invented: the loss of our models falls as a power law in their size."
OTHER = "Invented: a revised abstract, in which the loss falls with data instead."


def _jsonl(*records: dict[str, str]) -> str:
    return "".join(json.dumps(r) + "\n" for r in records)


def _csv() -> str:
    return f"title,abstract\nAn Invented Paper,{ABSTRACT}\n"


def _listing() -> str:
    return render_listing([ListingEntry(title="An Invented Paper", abstract=ABSTRACT)])


# -- the same paper twice, with two abstracts ---------------------------------------------------
def test_one_id_with_two_abstracts_in_one_file_is_warned_about(
    tmp_path: Path, store: Store
) -> None:
    """The second abstract was dropped silently (the first one read is kept)."""
    path = tmp_path / "papers.jsonl"
    path.write_text(
        _jsonl(
            {"title": "An Invented Paper", "abstract": ABSTRACT, "arxiv_id": "2501.00007"},
            {"title": "An Invented Paper", "abstract": OTHER, "arxiv_id": "2501.00007"},
        )
    )
    report = ingest_paths(store, [path], extract=False)
    (warning,) = report.warnings
    assert warning.startswith(f"{path}:2: arxiv:2501.00007 has another abstract here than the ")
    assert "first differing at character 11" in warning
    assert warning.endswith("keeping the one read before")
    paper = store.get(Paper, "arxiv:2501.00007")
    assert paper is not None
    assert paper.abstract == ABSTRACT


def test_a_corrected_abstract_reingested_is_not_reported_unchanged_without_a_word(
    tmp_path: Path, store: Store
) -> None:
    """Re-ingesting a file whose abstract was edited printed '1 unchanged' and nothing else."""
    path = tmp_path / "papers.csv"
    path.write_text(_csv())
    ingest_paths(store, [path], extract=False)
    path.write_text(_csv().replace("size.", "size and data."))
    report = ingest_paths(store, [path], extract=False)
    (warning,) = report.warnings
    assert warning.startswith(f"{path}:2: t:")
    assert "first differing at character 68: ' and data.' vs '.'" in warning


def test_the_same_abstract_spaced_or_cased_otherwise_is_no_conflict(
    tmp_path: Path, store: Store
) -> None:
    path = tmp_path / "papers.jsonl"
    path.write_text(
        _jsonl(
            {"title": "An Invented Paper", "abstract": ABSTRACT, "arxiv_id": "2501.00007"},
            {"title": "An Invented Paper", "abstract": "  " + ABSTRACT.upper().replace(" ", "\n")},
        )
    )
    listing = tmp_path / "listing.txt"
    listing.write_text(_listing())
    assert ingest_paths(store, [path, listing], extract=False).warnings == []


# -- files that are no UTF-8 text -----------------------------------------------------------
@pytest.mark.parametrize("name", ["papers.csv", "papers.jsonl", "papers.txt"])
@pytest.mark.parametrize(
    ("encode", "expected"),
    [
        (lambda t: t.encode("utf-16"), r"UTF-16 text \(byte-order mark FF FE\)"),
        (lambda t: t.encode("utf-16-le"), r"UTF-16 text \(little-endian, no byte-order mark\)"),
        (lambda t: t.encode("utf-16-be"), r"UTF-16 text \(big-endian, no byte-order mark\)"),
        (lambda t: gzip.compress(t.encode()), r"gzip-compressed data; .*: decompress it first"),
        (lambda t: b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", "a PNG image"),
        (lambda t: b"PK\x03\x04\x14\x00\x06\x00", r"a ZIP archive \(or \.xlsx/\.docx\)"),
    ],
)  # fmt: skip
def test_a_file_that_is_no_utf8_text_is_named_for_what_it_is(
    tmp_path: Path, name: str, encode: object, expected: str
) -> None:
    """Were: 'binary data (NUL byte)', 'not UTF-8 (byte 0x89 ...)', 'not a JSON object
    (Expecting property name ...)', none of which names the cause."""
    text = {".csv": _csv(), ".jsonl": _jsonl({"title": "T", "abstract": ABSTRACT})}.get(
        Path(name).suffix, _listing()
    )
    path = tmp_path / name
    path.write_bytes(encode(text))  # type: ignore[operator]
    with pytest.raises(ParseError, match=rf"^{path}:1: {expected}") as err:
        read_papers(path)
    assert "expected a UTF-8 text file" in str(err.value)
    for fmt in ("csv", "jsonl", "listing"):  # a forced format says the same
        with pytest.raises(ParseError, match=rf"^{path}:1: {expected}"):
            read_papers(path, fmt=fmt)


def test_a_utf16_atom_feed_is_still_read(tmp_path: Path) -> None:
    feed = (
        '<?xml version="1.0" encoding="UTF-16"?>\n<feed xmlns="http://www.w3.org/2005/Atom">'
        "<entry><id>http://arxiv.org/abs/2501.00007v1</id><title>An Invented Paper</title>"
        f"<summary>{ABSTRACT}</summary></entry></feed>\n"
    )
    path = tmp_path / "feed.atom"
    path.write_bytes(feed.encode("utf-16"))
    (entry,) = read_papers(path)
    assert entry.paper.arxiv_id == "2501.00007"


@pytest.mark.parametrize("name", ["page.html", "saved.xml", "papers.jsonl", "papers.csv"])
def test_an_html_page_is_named_as_one(tmp_path: Path, name: str) -> None:
    """Was read as an Atom feed: 'root element is html' or 'mismatched tag' at some column."""
    path = tmp_path / name
    path.write_text("<!-- saved -->\n<!DOCTYPE html>\n<html><body><p>Papers<br></body></html>\n")
    expected = r"root element is 'html'; expected an Atom <feed> \(this is an HTML page"
    with pytest.raises(ParseError, match=rf"^{path}:1: {expected}"):
        read_papers(path)


def test_a_nul_byte_in_json_lines_is_binary_data_not_a_truncated_file(tmp_path: Path) -> None:
    path = tmp_path / "papers.jsonl"
    text = _jsonl({"title": "T", "abstract": ABSTRACT}, {"title": "U", "abstract": ABSTRACT})
    path.write_bytes(text.encode().replace(b"U", b"\x00U"))
    with pytest.raises(ParseError, match=rf"^{path}:2: binary data \(NUL byte at column 12\)"):
        read_papers(path)


# -- nothing to read -------------------------------------------------------------------------
def test_an_empty_folder_is_an_error_and_the_store_is_left_alone(tmp_path: Path) -> None:
    """Was '0 files, 0 entries ...' and exit 0, after writing the store (the registry sync)."""
    db = tmp_path / "kb.duckdb"
    runner = CliRunner()
    seeded = tmp_path / "seeded.csv"
    seeded.write_text(_csv())
    assert (
        runner.invoke(cli, ["-q", "ingest", str(seeded), "--no-extract", "--db", str(db)]).exit_code
        == 0
    )
    before = hashlib.sha256(db.read_bytes()).hexdigest()
    empty = tmp_path / "empty"
    empty.mkdir()
    result = runner.invoke(cli, ["-q", "ingest", str(empty), "--db", str(db)])
    assert result.exit_code == 1
    assert f"{empty}: nothing to ingest; expected input files (.atom, .csv" in result.output
    assert hashlib.sha256(db.read_bytes()).hexdigest() == before


def test_a_folder_of_only_other_files_names_them(tmp_path: Path, store: Store) -> None:
    folder = tmp_path / "downloads"
    folder.mkdir()
    (folder / "figure.png").write_bytes(b"\x89PNG\r\n\x1a\n")
    with pytest.raises(
        BadInputError, match=r"nothing to ingest; 1 file\(s\) of no input format \(figure\.png\)"
    ):
        ingest_paths(store, [folder])
