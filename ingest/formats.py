"""Every input format we read, and format detection: ``read_papers(path, fmt=None)``.

Formats (``FORMATS``):

* ``listing``: paper-listing text dumps (``ingest.listings``).
* ``atom``: an arXiv API response (Atom feed; one ``<entry>`` per paper).
* ``arxiv-jsonl``: the arXiv metadata snapshot, one JSON object per line with ``id``, ``title``,
  ``abstract``, ``authors`` (a string) or ``authors_parsed``, ``categories`` (space-separated),
  ``versions`` (``created`` of v1 is the publication date) and ``update_date``.
* ``csv`` / ``jsonl``: a table with at least ``title`` and ``abstract`` columns (header names are
  case-insensitive; a CSV may be separated by ``;`` or tabs instead of commas, as its header
  shows); optional ``arxiv_id`` (or ``id``), ``authors`` (list, or a string separated
  by ``;``), ``n_authors``, ``published`` (or ``date``; ISO ``YYYY-MM-DD``), ``upvotes``,
  ``organization``, ``categories``.

Detection looks at the extension, then at the first bytes (``<`` -> atom, ``{`` -> JSON lines,
an arXiv-looking object -> arxiv-jsonl); anything else is read as a listing. Every record keeps
its file, 1-based position and line, so errors and appearances name them.
"""

from __future__ import annotations

import csv
import datetime as dt
import email.utils
import itertools
import json
import re
import xml.etree.ElementTree as ET
from collections import deque
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any, cast

from ingest.listings import (
    MAX_COUNT,
    ParsedEntry,
    iter_listing,
    not_text_error,
    text_lines,
)
from kb.csvtext import header_delimiter
from kb.errors import ParseError
from kb.records import Appearance, Paper, normalize_arxiv_id, normalize_whitespace, paper_id_for

__all__ = ["FORMATS", "ReadPosition", "detect_format", "iter_papers", "read_papers"]

FORMATS = ("listing", "atom", "arxiv-jsonl", "csv", "jsonl")
_EXTENSIONS = {
    ".txt": "listing",
    ".xml": "atom",
    ".atom": "atom",
    ".csv": "csv",
    ".jsonl": "jsonl",
    ".ndjson": "jsonl",
    ".json": "jsonl",
}
_ARXIV_KEYS = frozenset({"authors_parsed", "versions", "update_date", "submitter", "journal-ref"})
_ATOM = "{http://www.w3.org/2005/Atom}"
_ARXIV_NS = "{http://arxiv.org/schemas/atom}"
_TRUNCATED = frozenset({"no element found", "unclosed token"})  # expat, at the end of a cut file
_HTML = re.compile(rb"(?:<!--.*?-->\s*)*<(?:!doctype\s+html|html[\s>])", re.IGNORECASE | re.DOTALL)
_ENTRY_TAG = re.compile(rb"<(?:[\w.-]+:)?entry[\s>]")
ATOM_CHUNK = 1 << 16
"""Bytes of an Atom feed read at a time (the feed is parsed as it is read, never whole)."""
_AND = re.compile(r",\s*(?:and\s+)?|\s+and\s+")
_JSON_TYPES = {bool: "boolean", int: "number", float: "number", list: "array", dict: "object"}
_TEXT = "a string"
_TEXT_OR_LIST = "a string or a list of strings"
# Fields of a JSON record whose type is checked: (column, accepted types, what is expected).
_FIELD_TYPES: tuple[tuple[str, tuple[type, ...], str], ...] = (
    ("title", (str, int, float), _TEXT),
    ("abstract", (str,), _TEXT),
    ("summary", (str,), _TEXT),
    ("arxiv_id", (str, int, float), _TEXT),
    ("id", (str, int, float), _TEXT),
    ("authors", (str, list), _TEXT_OR_LIST),
    ("categories", (str, list), _TEXT_OR_LIST),
    ("organization", (str,), _TEXT),
)


def _source(path: str | Path) -> str:
    return str(Path(path).resolve())


def detect_format(path: str | Path) -> str:
    """The format of ``path``, from its extension and first bytes (see module docstring)."""
    p = Path(path)
    try:
        with p.open("rb") as fh:
            head = fh.read(65536)
            stripped = head.lstrip(b"\xef\xbb\xbf \t\r\n")
            first = stripped.split(b"\n", 1)[0]
            if first == stripped and len(head) == 65536:
                first += fh.readline()  # a first record longer than the head (a huge abstract)
    except OSError as err:
        raise ParseError(f"{_source(p)}: cannot read: {err.strerror}") from err
    guess = _EXTENSIONS.get(p.suffix.lower())
    if head.startswith((b"\xff\xfe<\x00", b"\xfe\xff\x00<")):
        return "atom"  # a UTF-16 feed: expat reads it
    if (bad := not_text_error(_source(p), head)) is not None:
        raise bad
    if _HTML.match(stripped):
        raise ParseError(  # was read as an Atom feed: "mismatched tag" at some <br>
            f"{_source(p)}:1: root element is 'html'; expected an Atom <feed> (this is an HTML "
            "page: save a listing page as text, or fetch the feed from export.arxiv.org/api/query)"
        )
    if stripped.startswith(b"<"):
        return "atom"
    if stripped.startswith(b"{") or guess == "jsonl":
        try:
            obj = json.loads(first)
        except ValueError:
            return "jsonl"  # the reader reports the bad line
        if isinstance(obj, dict) and "id" in obj and _ARXIV_KEYS & obj.keys():
            return "arxiv-jsonl"
        return "jsonl"
    return guess or "listing"


class ReadPosition:
    """How far ``iter_papers`` has read into its file, in bytes (``done``), for a progress bar.

    JSON lines, CSV files and listings advance it line by line, Atom feeds entry by entry.
    Reading it costs the reader one addition per line or record, not a callback.
    """

    __slots__ = ("done",)

    def __init__(self) -> None:
        self.done = 0


def read_papers(path: str | Path, *, fmt: str | None = None) -> list[ParsedEntry]:
    """Every entry of one file, as papers with their appearances. ``fmt`` forces a format."""
    return list(iter_papers(path, fmt=fmt))


def iter_papers(
    path: str | Path, *, fmt: str | None = None, position: ReadPosition | None = None
) -> Iterator[ParsedEntry]:
    """Like ``read_papers`` but streaming: no format reads its file whole (JSON lines, CSV
    files and listings are read line by line, Atom feeds ``ATOM_CHUNK`` bytes at a time).

    ``position``, if given, follows the bytes read (see ``ReadPosition``).
    """
    if fmt is not None and fmt not in FORMATS:
        raise ParseError(f"unknown format {fmt!r}; expected one of {', '.join(FORMATS)}")
    fmt = fmt or detect_format(path)
    source = _source(path)
    pos = position if position is not None else ReadPosition()
    if fmt == "listing":
        yield from iter_listing(source, pos)
    elif fmt == "atom":
        yield from _read_atom(source, pos)
    elif fmt == "csv":
        yield from _read_csv(source, pos)
    else:
        yield from _read_jsonl(source, fmt, pos)


# -- records from mappings (JSON lines, CSV) ---------------------------------------------------
def _split_authors(value: Any) -> list[str]:
    if isinstance(value, list):
        return [normalize_whitespace(str(a)) for a in value if str(a).strip()]
    text = normalize_whitespace(str(value or ""))
    if not text:
        return []
    parts = text.split(";") if ";" in text else _AND.split(text)
    return [p.strip() for p in parts if p.strip()]


def _parse_iso_date(value: Any, where: str, column: str) -> dt.date | None:
    if value is None or value == "":
        return None
    try:
        return dt.date.fromisoformat(str(value).strip()[:10])
    except ValueError as err:
        raise ParseError(
            f"{where}: column {column!r}: {value!r} is not a date; expected YYYY-MM-DD"
        ) from err


def _parse_int(value: Any, where: str, column: str) -> int | None:
    """A count (authors, upvotes): a whole number from 0 to ``MAX_COUNT``, else ParseError.

    JSON ``true``, ``2.5``, ``-1`` and ``Infinity`` were read as 1, 2, -1 and an OverflowError
    traceback; a number beyond 32 bits failed in DuckDB at the end of ``kb ingest``.
    """
    if value is None or value == "":
        return None
    expected = f"expected a whole number from 0 to {MAX_COUNT}"
    if isinstance(value, bool) or (isinstance(value, float) and not value.is_integer()):
        raise ParseError(f"{where}: column {column!r}: {value!r} is not an integer; {expected}")
    try:
        number = int(value)
    except (TypeError, ValueError, OverflowError) as err:
        raise ParseError(
            f"{where}: column {column!r}: {value!r:.60} is not an integer; {expected}"
        ) from err
    if not 0 <= number <= MAX_COUNT:
        raise ParseError(f"{where}: column {column!r}: {value!r:.60} is out of range; {expected}")
    return number


def _arxiv_published(obj: Mapping[str, Any], where: str) -> tuple[dt.date | None, str | None]:
    versions = obj.get("versions")
    if isinstance(versions, list) and versions and isinstance(versions[0], dict):
        created = versions[0].get("created")
        if created:
            try:
                return email.utils.parsedate_to_datetime(str(created)).date(), str(created)
            except (TypeError, ValueError) as err:
                raise ParseError(
                    f"{where}: versions[0].created {created!r} is not an RFC 2822 date"
                ) from err
    return None, None


def _check_types(row: Mapping[str, Any], where: str) -> None:
    """Raise ``ParseError`` for a field whose JSON type cannot be read (e.g. a list abstract)."""
    for column, allowed, expected in _FIELD_TYPES:
        value = row.get(column)
        if value is not None and not isinstance(value, allowed):
            raise ParseError(
                f"{where}: column {column!r}: {value!r:.60} is a JSON "
                f"{_JSON_TYPES.get(type(value), type(value).__name__)}; expected {expected}"
            )


def _entry_from_mapping(
    obj: Mapping[str, Any], *, source: str, position: int, line: int, fmt: str
) -> ParsedEntry:
    where = f"{source}:{line}"
    row = {str(k).strip().lower(): v for k, v in obj.items()}
    _check_types(row, where)
    title = str(row.get("title") or "")  # Paper normalises whitespace
    if not title.strip():
        raise ParseError(f"{where}: record {position} has no title (column 'title')")
    abstract = row.get("abstract", row.get("summary"))
    warnings = [] if abstract else [f"{where}: record {position} has an empty abstract"]
    raw_id = row.get("arxiv_id") or row.get("id")
    arxiv_id = normalize_arxiv_id(str(raw_id)) if raw_id else None
    if fmt == "arxiv-jsonl" and arxiv_id is None:
        raise ParseError(f"{where}: 'id' {raw_id!r} is not an arXiv id (e.g. '2203.15556')")
    if isinstance(row.get("authors_parsed"), list):
        # [last, first, suffix] -> "first last suffix"
        authors = [
            " ".join(" ".join(str(x) for x in (*a[1:2], a[0], *a[2:]) if x).split())
            for a in row["authors_parsed"]
            if isinstance(a, list) and a
        ]
    else:
        authors = _split_authors(row.get("authors"))
    published, raw_date = _arxiv_published(row, where)
    if published is None:
        for col in ("published", "date"):
            if row.get(col):
                published = _parse_iso_date(row[col], where, col)
                raw_date = str(row[col])
                break
    cats = row.get("categories") or []
    categories = cats.split() if isinstance(cats, str) else [str(c) for c in cats]
    n_authors = _parse_int(row.get("n_authors"), where, "n_authors")
    org = row.get("organization")
    pid = paper_id_for(title, arxiv_id)
    paper = Paper(
        paper_id=pid,
        arxiv_id=arxiv_id,
        title=title,
        abstract=str(abstract or ""),
        authors=authors,
        n_authors=n_authors if n_authors is not None else (len(authors) or None),
        published=published,
        upvotes=_parse_int(row.get("upvotes"), where, "upvotes"),
        organization=normalize_whitespace(str(org)) if org else None,
        categories=categories,
    )
    app = Appearance(
        paper_id=pid, source=source, position=position, line=line, format=fmt, raw_date=raw_date
    )
    return ParsedEntry(paper=paper, appearance=app, warnings=warnings)


def _read_jsonl(source: str, fmt: str, pos: ReadPosition) -> Iterator[ParsedEntry]:
    position = 0
    try:
        fh = open(source, "rb")  # noqa: SIM115  (closed below; streaming)
    except OSError as err:
        raise ParseError(f"{source}: cannot read: {err.strerror}") from err
    with fh:
        if (bad := not_text_error(source, fh.peek(64)[:64])) is not None:
            raise bad
        for line_no, raw in enumerate(fh, start=1):
            pos.done += len(raw)
            if line_no == 1:
                raw = raw.removeprefix(b"\xef\xbb\xbf")  # a byte-order mark (Windows tools)
            if b"\x00" in raw:  # json.loads said "Invalid control character" (truncated file?)
                raise ParseError(
                    f"{source}:{line_no}: binary data (NUL byte at column {raw.index(0) + 1}); "
                    "expected one UTF-8 JSON object per line"
                )
            if not raw.strip():
                continue
            try:
                text = raw.decode("utf-8")
            except UnicodeDecodeError as err:
                raise ParseError(
                    f"{source}:{line_no}: not UTF-8 (byte 0x{raw[err.start]:02x} at column "
                    f"{err.start + 1}); re-save the file as UTF-8"
                ) from err
            try:
                obj = json.loads(text)
            except ValueError as err:
                raise ParseError(
                    f"{source}:{line_no}: not a JSON object ({err}); expected one JSON object "
                    "per line (truncated file?)"
                ) from err
            if not isinstance(obj, dict):
                raise ParseError(f"{source}:{line_no}: expected a JSON object, found {obj!r:.40}")
            position += 1
            yield _entry_from_mapping(obj, source=source, position=position, line=line_no, fmt=fmt)
    if position == 0:
        raise ParseError(f"{source}:1: no records found (empty file)")


_CSV_LINE = re.compile(r"[^\r\n]*(?:\r\n?|\n)|[^\r\n]+")


def _csv_lines(lines: Iterator[str]) -> Iterator[str]:
    """``lines`` (split at ``\\n``) split as ``open(newline="")`` splits a file, also at a lone
    ``\\r`` (old Mac files): what ``csv.reader`` counts as lines."""
    for text in lines:
        if "\r" in text.removesuffix("\r\n"):
            yield from _CSV_LINE.findall(text)
        else:
            yield text


def _read_csv(source: str, pos: ReadPosition) -> Iterator[ParsedEntry]:
    lines = text_lines(source, pos)
    first = next(lines, "")  # the header line: it names the separator
    reader = csv.reader(
        _csv_lines(itertools.chain([first] if first else [], lines)),
        # the separator under which 'title' is a column (the abstract may be 'summary')
        delimiter=header_delimiter(first, ("title",)),
    )
    try:
        header = next(reader)
    except StopIteration:
        raise ParseError(f"{source}:1: empty CSV file; expected a header row") from None
    except csv.Error as err:
        raise ParseError(f"{source}:1: bad CSV header: {err}") from err
    columns = [h.strip().lower() for h in header]
    # 'summary' stands for the abstract, as in JSON lines and arXiv's Atom (<summary>)
    missing = [c for c in ("title", "abstract") if c not in columns]
    if "abstract" in missing and "summary" in columns:
        missing.remove("abstract")
    if missing:
        raise ParseError(
            f"{source}:1: CSV header lacks column(s) {', '.join(missing)}"
            f"{' (or summary)' if 'abstract' in missing else ''}; found {header}"
        )
    twice = sorted({c for c in columns if c and columns.count(c) > 1})
    if twice:
        raise ParseError(
            f"{source}:1: CSV header names column(s) {', '.join(twice)} more than once "
            "(header names are case-insensitive); expected each column once"
        )
    position = 0
    start = reader.line_num + 1
    try:
        for values in reader:
            line = start
            start = reader.line_num + 1
            if not any(v.strip() for v in values):
                continue
            if len(values) != len(columns):
                hint = "truncated or unquoted comma?"
                if reader.line_num > line:  # the row ran over several lines
                    hint = (
                        f"the row runs from line {line} to line {reader.line_num}: "
                        "a quote opened and never closed?"
                    )
                raise ParseError(
                    f"{source}:{line}: {len(values)} fields, expected {len(columns)} "
                    f"({', '.join(columns)}); {hint}"
                )
            position += 1
            row = dict(zip(columns, values, strict=True))
            yield _entry_from_mapping(row, source=source, position=position, line=line, fmt="csv")
    except csv.Error as err:
        raise ParseError(f"{source}:{reader.line_num}: bad CSV: {err}") from err
    if position == 0:
        raise ParseError(f"{source}:2: CSV has a header but no rows")


# -- arXiv API Atom feeds ----------------------------------------------------------------------
def _text(elem: ET.Element | None) -> str:
    return normalize_whitespace("".join(elem.itertext())) if elem is not None else ""


class _EntryStarts:
    """(1-based line, byte offset) of every ``<entry>`` start tag of a file read chunk by
    chunk, counting newlines once (counting from the start for each entry was quadratic: 129 s
    for a 10 MB feed of 8,000 entries).

    A tag cut by a chunk boundary is found in the next chunk: the bytes from the chunk's last
    ``<`` on are kept and scanned again with it.
    """

    def __init__(self) -> None:
        self.found: deque[tuple[int, int]] = deque()
        self._tail = b""
        self._offset = 0  # file offset of the tail's first byte
        self._line = 1  # line of the tail's first byte

    def feed(self, chunk: bytes, *, final: bool = False) -> None:
        data = self._tail + chunk
        cut = len(data) if final else max(data.rfind(b"<"), 0)
        line, last = self._line, 0
        for m in _ENTRY_TAG.finditer(data, 0, cut):
            line += data.count(b"\n", last, m.start())
            last = m.start()
            self.found.append((line, self._offset + last))
        self._line = line + data.count(b"\n", last, cut)
        self._offset += cut
        self._tail = data[cut:]


def _entry_starts(data: bytes) -> list[tuple[int, int]]:
    """(1-based line, byte offset) of every ``<entry>`` start tag in ``data``."""
    starts = _EntryStarts()
    starts.feed(data, final=True)
    return list(starts.found)


def _xml_error(err: ET.ParseError, source: str) -> ParseError:
    line, col = err.position
    reason = str(err).split(":", 1)[0]  # expat's words, e.g. 'undefined entity &eacute;'
    hint = " (truncated file?)" if reason in _TRUNCATED else ""
    if reason == "undefined entity":
        hint = " (HTML entities such as &eacute; are not XML: use the character or &#233;)"
    return ParseError(
        f"{source}:{line}: not well-formed XML at column {col} ({reason}); expected an "
        f"arXiv API Atom feed{hint}"
    )


def _atom_entries(source: str, pos: ReadPosition) -> Iterator[tuple[ET.Element, int]]:
    """The ``<entry>`` children of an Atom feed's root, with their lines, read
    ``ATOM_CHUNK`` bytes at a time; each is dropped from the tree once the caller is done with
    it, so memory holds one chunk and one entry, not the file (a 200,000-entry feed)."""
    try:
        fh = open(source, "rb")  # noqa: SIM115  (closed below; streaming)
    except OSError as err:
        raise ParseError(f"{source}: cannot read: {err.strerror}") from err
    parser: ET.XMLPullParser[ET.Element] = ET.XMLPullParser(events=("start", "end"))
    starts = _EntryStarts()
    root: ET.Element | None = None
    depth = 0
    blank = True
    with fh:
        while True:
            chunk = fh.read(ATOM_CHUNK)
            if blank and chunk.strip():
                blank = False
            elif blank and not chunk:
                raise ParseError(f"{source}:1: empty file; expected an Atom feed")
            starts.feed(chunk, final=not chunk)
            try:
                if chunk:
                    parser.feed(chunk)
                else:
                    parser.close()
                events = cast(list[tuple[str, ET.Element]], list(parser.read_events()))
            except ET.ParseError as err:
                raise _xml_error(err, source) from err
            except LookupError as err:  # expat's unknown encoding is Python's codec lookup
                # The XML declaration (line 1) names an encoding no codec has, e.g. a listing's
                # "Subscribe" glued to "UTF-8"; it escaped as a traceback.
                raise ParseError(
                    f"{source}:1: the XML declaration names an encoding Python does not know "
                    f"({err}); expected an Atom feed in UTF-8 or another known encoding"
                ) from err
            for event, elem in events:  # start and end events carry elements
                if event == "start":
                    if root is None:
                        if elem.tag != f"{_ATOM}feed":
                            raise ParseError(
                                f"{source}:1: root element is {elem.tag!r}; expected an Atom <feed>"
                            )
                        root = elem
                    depth += 1
                    continue
                depth -= 1
                if depth != 1 or root is None:
                    continue
                if elem.tag == f"{_ATOM}entry":
                    line, offset = starts.found.popleft() if starts.found else (1, 0)
                    pos.done = offset
                    yield elem, line
                root.remove(elem)  # a child of the feed, read: forget it
            if not chunk:
                break
        pos.done = fh.tell()


def _read_atom(source: str, pos: ReadPosition) -> Iterator[ParsedEntry]:
    for position, (entry, line) in enumerate(_atom_entries(source, pos), start=1):
        where = f"{source}:{line}"
        raw_id = _text(entry.find(f"{_ATOM}id"))
        if "/api/errors" in raw_id:
            msg = _text(entry.find(f"{_ATOM}summary"))
            raise ParseError(f"{where}: the arXiv API returned an error: {msg}")
        title = _text(entry.find(f"{_ATOM}title"))
        if not title:
            raise ParseError(f"{where}: <entry> {position} has no <title>")
        arxiv_id = normalize_arxiv_id(raw_id) if raw_id else None
        warnings = [] if arxiv_id else [f"{where}: <entry> {position} has no arXiv <id>"]
        if not _text(entry.find(f"{_ATOM}summary")):
            warnings.append(f"{where}: <entry> {position} has an empty <summary> (abstract)")
        published_text = _text(entry.find(f"{_ATOM}published")) or None
        published = _parse_iso_date(published_text, where, "published")
        authors = [_text(a.find(f"{_ATOM}name")) for a in entry.findall(f"{_ATOM}author")]
        authors = [a for a in authors if a]
        categories = [c.get("term", "") for c in entry.findall(f"{_ATOM}category") if c.get("term")]
        primary = entry.find(f"{_ARXIV_NS}primary_category")
        if primary is not None and primary.get("term") in categories:
            categories.remove(primary.get("term", ""))
            categories.insert(0, primary.get("term", ""))
        pid = paper_id_for(title, arxiv_id)
        paper = Paper(
            paper_id=pid,
            arxiv_id=arxiv_id,
            title=title,
            abstract=_text(entry.find(f"{_ATOM}summary")),
            authors=authors,
            n_authors=len(authors) or None,
            published=published,
            categories=categories,
        )
        app = Appearance(
            paper_id=pid,
            source=source,
            position=position,
            line=line,
            format="atom",
            raw_date=published_text,
        )
        yield ParsedEntry(paper=paper, appearance=app, warnings=warnings)
