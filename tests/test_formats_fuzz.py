"""Truncated and garbled input files: a ParseError naming the file and line, never a traceback."""

from __future__ import annotations

import json
import re
import time
from pathlib import Path

import pytest
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ingest.formats import FORMATS, _entry_starts, read_papers
from ingest.listings import MAX_COUNT
from kb.cli import cli
from kb.errors import ParseError
from tests.conftest import FIXTURES

SAMPLES = sorted((FIXTURES / "formats").iterdir()) + sorted((FIXTURES / "listings").iterdir())
JUNK = [
    b"\x00", b"\xff", b"\xef\xbb\xbf", b"<", b"&eacute;", b"{", b"}", b'"', b",", b";", b"\t",
    b"\n", b"\r\n", b"\\", b"\xe2\x80", b"<entry>", b"</entry>", b"null", b"[]", b"Infinity",
    b'"n_authors": 1e999, ', b'"versions": [{"created": 5}], ', b"Mar 99, 2021 1",
    "\u2022 99999999999 authors".encode(), "\u00b7".encode(), b"Subscribe",
]  # fmt: skip
EDITS = st.lists(
    st.tuples(
        st.sampled_from(["cut", "insert", "drop_line", "repeat_line"]), st.integers(0, 10**6)
    ),
    min_size=1,
    max_size=4,
)


def garble(data: bytes, edits: list[tuple[str, int]], junk: list[bytes]) -> bytes:
    for (op, at), piece in zip(edits, junk, strict=False):
        i = at % (len(data) + 1)
        lines = data.split(b"\n")
        j = at % len(lines)
        if op == "cut":
            data = data[:i]
        elif op == "insert":
            data = data[:i] + piece + data[i:]
        elif op == "drop":
            data = b"\n".join(lines[:j] + lines[j + 1 :])
        else:
            data = b"\n".join(lines[: j + 1] + lines[j:])
    return data


@settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    st.sampled_from(SAMPLES),
    EDITS,
    st.lists(st.sampled_from(JUNK), min_size=4, max_size=4),
    st.sampled_from([None, *FORMATS]),
    st.sampled_from([".txt", ".xml", ".csv", ".jsonl", ".dat"]),
)
def test_garbled_files_parse_or_name_file_and_line(
    tmp_path: Path,
    sample: Path,
    edits: list[tuple[str, int]],
    junk: list[bytes],
    fmt: str | None,
    suffix: str,
) -> None:
    path = tmp_path / f"garbled{suffix}"
    path.write_bytes(garble(sample.read_bytes(), edits, junk))
    try:
        entries = read_papers(path, fmt=fmt)
    except ParseError as err:
        message = str(err)
    else:
        assert all(e.paper.title for e in entries)
        return
    assert re.match(re.escape(str(path.resolve())) + r":\d+: \S", message), message


@pytest.mark.parametrize(
    ("name", "content", "match"),
    [
        ("inf.jsonl", '{"title": "T", "abstract": "A", "n_authors": Infinity}\n', "inf is not"),
        ("bool.jsonl", '{"title": "T", "abstract": "A", "upvotes": true}\n', "True is not"),
        ("frac.jsonl", '{"title": "T", "abstract": "A", "n_authors": 2.5}\n', "2.5 is not"),
        ("neg.jsonl", '{"title": "T", "abstract": "A", "upvotes": -1}\n', "-1 is out of range"),
        ("big.jsonl", '{"title": "T", "abstract": "A", "n_authors": 1e40}\n', "out of range"),
        ("neg.csv", "title,abstract,n_authors\nT,A,-3\n", "'-3' is out of range"),
        ("big.csv", "title,abstract,upvotes\nT,A,3000000000\n", "out of range"),
    ],
)
def test_counts_must_fit_the_store(tmp_path: Path, name: str, content: str, match: str) -> None:
    # were read as 1 (true), 2 (2.5), -1, an OverflowError traceback (Infinity), or failed in
    # DuckDB at the end of kb ingest (beyond 32 bits)
    path = tmp_path / name
    path.write_text(content, encoding="utf-8")
    line = 2 if name.endswith(".csv") else 1
    with pytest.raises(ParseError, match=rf"{re.escape(name)}:{line}: .*{re.escape(match)}"):
        read_papers(path)


@pytest.mark.parametrize(
    ("meta", "line", "what"),
    [
        ("  \u2022 99999999999 authors\n\u00b7\nMay 12, 2025 1\n", 5, "author count"),
        ("  \u2022 4 authors\n\u00b7\nMay 12, 2025 99999999999\n", 7, "upvote number"),
    ],
)
def test_listing_counts_must_fit_the_store(tmp_path: Path, meta: str, line: int, what: str) -> None:
    path = tmp_path / "huge.txt"
    path.write_text(f"A Title\n\nThe abstract of the paper, long enough.\n\n{meta}", "utf-8")
    with pytest.raises(ParseError, match=rf"huge.txt:{line}: {what} 99999999999 is too large"):
        read_papers(path)
    assert MAX_COUNT == 2**31 - 1  # DuckDB INTEGER


def test_kb_ingest_reports_a_bad_file_in_one_line(tmp_path: Path) -> None:
    bad = tmp_path / "bad.jsonl"
    bad.write_text(
        json.dumps({"title": "T", "abstract": "A"}) + '\n{"title": "U", "n_authors": Infinity}\n'
    )
    db = tmp_path / "kb.duckdb"
    result = CliRunner().invoke(cli, ["ingest", "--db", str(db), str(bad)])
    assert result.exit_code == 1
    assert "Traceback" not in result.output
    assert f"{bad}:2: column 'n_authors'" in result.output
    assert not db.exists()  # nothing half-written


def test_entry_lines_count_each_newline_once() -> None:
    data = b"<feed>\n" + b"<entry>x</entry>\n\n" * 3 + b"<a:entry >\n</feed>"
    assert [line for line, _ in _entry_starts(data)] == [2, 4, 6, 8]
    big = (b"<entry>" + b"x" * 200 + b"</entry>\n") * 50_000  # 10 MB, 50,000 entries
    started = time.process_time()
    lines = [line for line, _ in _entry_starts(big)]
    assert time.process_time() - started < 2.0  # was quadratic: minutes
    assert lines[-1] == 50_000
