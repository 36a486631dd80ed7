"""Paper-listing text dumps (pages of titles and abstracts) -> papers and appearances.

Two layouts are read, both seen in ``../shared/seeds``:

* **blocks**: entries separated by blank lines. An entry is a one-line title, an abstract
  (one or more lines, joined), and optionally a metadata block of up to three lines::

        • 5 authors          (or an organisation line, e.g. "moonshotai Moonshot AI")
        ·
        Mar 11, 2021 1       ("Mon D, YYYY [upvotes]" or, without the year, "Mon D [upvotes]")

* **compact**: no blank lines at all; every line is one unit (title, abstract, metadata line),
  and the page header's last word is glued to the first title (``SubscribeAdaSCALE: ...``).

Page chrome before the first entry (the subscribe banner, "Daily Papers", the page's own date
header such as ``Aug 20``) is not a paper. An organisation line is recognised only by the ``·``
line that follows it.

**Year-less dates.** The pages print ``Mon D`` without a year for papers of the page's current
year, but no page states which year that is (its own date header has no year either), so the
year cannot be honestly inferred: such an entry keeps ``raw_date`` (e.g. ``"May 15"``) and gets
``published=None``. When the same paper appears elsewhere with a full date, the merge in
``ingest.pipeline`` fills ``published`` from that appearance.

**Limits.** A title must be one line of at most ``TITLE_MAX_CHARS`` characters; a longer line
where a title is expected is reported as an abstract without a title. A short abstract with no
title before it cannot be told from a title and is not detected.
"""

from __future__ import annotations

import datetime as dt
import itertools
import re
from collections import deque
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from pydantic import BaseModel, ConfigDict, Field

from kb.errors import ParseError
from kb.records import Appearance, Paper, normalize_whitespace, paper_id_for
from kb.textfile import not_text

__all__ = [
    "CHROME_LINES",
    "MAX_COUNT",
    "TITLE_MAX_CHARS",
    "ListingEntry",
    "ParsedEntry",
    "decode_text",
    "is_metadata_line",
    "iter_listing",
    "not_text_error",
    "parse_listing",
    "parse_listing_text",
    "render_listing",
    "text_lines",
]

TITLE_MAX_CHARS = 300
MAX_COUNT = 2**31 - 1
"""Largest author count or upvote number read: the store keeps them as 32-bit integers."""
FORMAT = "listing"

# Exact lines of page chrome (banners and headings); never paper titles.
CHROME_LINES = frozenset(
    {
        "new",
        "Get trending papers in your email inbox!",
        "Get trending papers in your email inbox once a day!",
        "Subscribe",
        "Daily Papers",
        "byAK and the research community",
    }
)
_GLUED_PREFIX = "Subscribe"  # compact layout: the banner's last word glued to the first title

_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
_DATE = re.compile(
    rf"^(?P<mon>{'|'.join(_MONTHS)}) (?P<day>\d{{1,2}})(?:, (?P<year>\d{{4}}))?(?: (?P<up>\d+))?$"
)
_AUTHORS = re.compile(r"^•\s*(?P<n>\d+)\s+authors?$")
_DOT = "·"


class ParsedEntry(BaseModel):
    """One entry read from an input file: the paper as that entry describes it, and where."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    paper: Paper
    appearance: Appearance
    warnings: list[str] = Field(default_factory=list, description="non-fatal oddities")


class ListingEntry(BaseModel):
    """The fields one listing entry can carry (what ``render_listing`` writes)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    title: str
    abstract: str
    n_authors: int | None = None
    organization: str | None = None
    raw_date: str | None = None
    upvotes: int | None = None


class _Position(Protocol):
    done: int


@dataclass(frozen=True)
class _Unit:
    line: int  # 1-based line of the unit's first line
    text: str  # whitespace-normalised
    n_lines: int


def not_text_error(source: str, head: bytes) -> ParseError | None:
    """A ``ParseError`` for a file that ``not_text`` recognises, naming what it is."""
    found = not_text(head)
    if found is None:
        return None
    what, fix = found
    return ParseError(f"{source}:1: {what}; expected a UTF-8 text file{': ' + fix if fix else ''}")


def _nul_error(source: str, line: int) -> ParseError:
    return ParseError(f"{source}:{line}: binary data (NUL byte); expected a UTF-8 text file")


def decode_text(data: bytes, source: str) -> str:
    """UTF-8 text of a file, or ``ParseError`` naming the file and line of the bad bytes."""
    if (bad := not_text_error(source, data[:64])) is not None:
        raise bad
    if b"\x00" in data:
        raise _nul_error(source, data[: data.index(b"\x00")].count(b"\n") + 1)
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as err:
        line = data[: err.start].count(b"\n") + 1
        raise ParseError(
            f"{source}:{line}: not UTF-8 (byte 0x{data[err.start]:02x} at offset {err.start}); "
            "re-save the file as UTF-8"
        ) from err
    return text.removeprefix("\ufeff")


def text_lines(source: str, position: _Position | None = None) -> Iterator[str]:
    """The lines of a UTF-8 text file, read one at a time, split at ``\\n`` with their ends
    (a byte-order mark at the start dropped); the file is never held whole.

    Raises ``ParseError`` naming the file and line as ``decode_text`` does: a NUL byte, bytes
    that are not UTF-8, a file that cannot be opened. ``position.done``, if given, follows the
    bytes read.
    """
    try:
        fh = open(source, "rb")  # noqa: SIM115  (closed below; streaming)
    except OSError as err:
        raise ParseError(f"{source}: cannot read: {err.strerror}") from err
    offset = 0
    with fh:
        if (bad := not_text_error(source, fh.peek(64)[:64])) is not None:
            raise bad
        for line, raw in enumerate(fh, start=1):
            if b"\x00" in raw:
                raise _nul_error(source, line)
            try:
                text = raw.decode("utf-8")
            except UnicodeDecodeError as err:
                raise ParseError(
                    f"{source}:{line}: not UTF-8 (byte 0x{raw[err.start]:02x} at offset "
                    f"{offset + err.start}); re-save the file as UTF-8"
                ) from err
            offset += len(raw)
            if position is not None:
                position.done = offset
            yield text.removeprefix("\ufeff") if line == 1 else text


def is_metadata_line(text: str) -> bool:
    """Whether a (stripped) line is an author-count, '·' or date line."""
    return text == _DOT or bool(_AUTHORS.match(text) or _DATE.match(text))


def _is_compact(lines: Iterable[str]) -> bool:
    """Whether no blank line lies between the first and the last text line (compact layout)."""
    seen = gap = False
    for ln in lines:
        if ln.strip():
            if gap:
                return False
            seen = True
        elif seen:
            gap = True
    return seen


def _units(lines: Iterable[str], compact: bool) -> Iterator[_Unit]:
    """Split lines into units: a title, an abstract, or one metadata line.

    Compact layout (``_is_compact``): one unit per line. Blocks layout: one unit per
    blank-line-separated block, except that a metadata block (starting with a metadata line,
    or whose second line is '·') gives one unit per line. Lines are read as they come.
    """
    block: list[tuple[int, str]] = []
    for i, ln in enumerate(itertools.chain(lines, [""]), start=1):
        t = ln.strip()
        if compact:
            if t:
                yield _Unit(i, normalize_whitespace(t), 1)
            continue
        if t:
            block.append((i, t))
            continue
        if not block:
            continue
        texts = [b[1] for b in block]
        if is_metadata_line(texts[0]) or (len(texts) > 1 and texts[1] == _DOT):
            yield from (_Unit(j, normalize_whitespace(s), 1) for j, s in block)
        else:
            yield _Unit(block[0][0], normalize_whitespace(" ".join(texts)), len(block))
        block = []


class _Window:
    """Units read lazily, addressed by their index in the whole sequence; ``forget(k)``
    drops those before ``k`` (the parser looks at most a few units back or ahead)."""

    def __init__(self, units: Iterable[_Unit]) -> None:
        self._units = iter(units)
        self._buffer: deque[_Unit] = deque()
        self._base = 0  # index of the buffer's first unit

    def get(self, k: int) -> _Unit | None:
        """Unit ``k``, or None past the end."""
        while k - self._base >= len(self._buffer):
            unit = next(self._units, None)
            if unit is None:
                return None
            self._buffer.append(unit)
        return self._buffer[k - self._base]

    def forget(self, k: int) -> None:
        while self._base < k and self._buffer:
            self._buffer.popleft()
            self._base += 1


def _parse_date(match: re.Match[str], where: str) -> dt.date | None:
    month = _MONTHS.index(match["mon"]) + 1
    day = int(match["day"])
    year = match["year"]
    try:
        # Year-less: check the day exists in some year (2000 is a leap year), publish nothing.
        date = dt.date(int(year) if year else 2000, month, day)
    except ValueError as err:
        raise ParseError(f"{where}: {match.group(0)!r} is not a calendar date") from err
    return date if year else None


def parse_listing_text(text: str, source: str) -> Iterator[ParsedEntry]:
    """Parse listing text; ``source`` names the file in appearances and errors.

    Raises ``ParseError`` (naming ``source:line``) for an entry without a title or abstract,
    a metadata line in the wrong place, a truncated entry, or a page with no entries.
    """
    lines = text.splitlines()
    return _parse_units(lines, _is_compact(lines), source)


def iter_listing(source: str, position: _Position | None = None) -> Iterator[ParsedEntry]:
    """The entries of one listing file, read line by line (twice: the first pass finds the
    layout and checks the encoding), never whole. ``position.done`` follows the bytes read."""
    compact = _is_compact(ln for text in text_lines(source) for ln in text.splitlines())
    lines = (ln for text in text_lines(source, position) for ln in text.splitlines())
    yield from _parse_units(lines, compact, source)


def _parse_units(lines: Iterable[str], compact: bool, source: str) -> Iterator[ParsedEntry]:
    units = _Window(_units(lines, compact))
    pos = 0
    seen_entry = False
    position = 0
    at = units.get

    while (unit := at(pos)) is not None:
        units.forget(pos - 1)  # _read_meta looks one unit back
        where = f"{source}:{unit.line}"
        if unit.text in CHROME_LINES:
            pos += 1
            continue
        if not seen_entry and _DATE.match(unit.text):
            pos += 1  # the page's own date header
            continue
        title = unit.text
        glued = compact and not seen_entry and len(title) > len(_GLUED_PREFIX)
        if glued and title.startswith(_GLUED_PREFIX):
            title = title[len(_GLUED_PREFIX) :].strip()
        if is_metadata_line(title):
            raise ParseError(
                f"{where}: metadata line {title!r} in the wrong place; expected a paper title "
                "(metadata lines follow an entry's abstract)"
            )
        if len(title) > TITLE_MAX_CHARS:
            raise ParseError(
                f"{where}: a {len(title)}-character paragraph where a title was expected "
                f"(titles are one line of at most {TITLE_MAX_CHARS} characters): "
                "an abstract without a title?"
            )
        if unit.n_lines > 1:
            raise ParseError(
                f"{where}: expected a one-line title followed by a blank line, found "
                f"{unit.n_lines} lines (missing blank line between title and abstract?)"
            )
        abstract_unit = at(pos + 1)
        if abstract_unit is None:
            raise ParseError(f"{where}: title {title!r} has no abstract (truncated file?)")
        if is_metadata_line(abstract_unit.text):
            raise ParseError(
                f"{source}:{abstract_unit.line}: metadata line {abstract_unit.text!r} in the "
                f"wrong place: the entry titled {title!r} (line {unit.line}) has no abstract"
            )
        seen_entry = True
        position += 1
        pos += 2
        entry, published, pos = _read_meta(units, pos, title, abstract_unit.text, source)
        yield _to_parsed(entry, published, source, position, unit.line)
    if position == 0:
        raise ParseError(f"{source}:1: no paper entries found (empty file or only page chrome)")


def _read_meta(
    units: _Window, pos: int, title: str, abstract: str, source: str
) -> tuple[ListingEntry, dt.date | None, int]:
    """Consume the optional metadata lines after an abstract: [authors|org] [·] [date]."""
    n_authors: int | None = None
    org: str | None = None
    raw_date: str | None = None
    upvotes: int | None = None
    published: dt.date | None = None
    start = pos

    def text(k: int) -> str | None:
        unit = units.get(k)
        return None if unit is None else unit.text

    def line(k: int) -> int:
        unit = units.get(k)
        assert unit is not None  # a unit already read
        return unit.line

    first = text(pos)
    if first is not None and (m := _AUTHORS.match(first)):
        n_authors = _count(m["n"], f"{source}:{line(pos)}", "author count")
        pos += 1
    elif first is not None and text(pos + 1) == _DOT and not is_metadata_line(first):
        org = first
        pos += 1
    if text(pos) == _DOT:
        pos += 1
        if text(pos) is None or not _DATE.match(text(pos) or ""):
            where_line = line(pos - 1)
            raise ParseError(
                f"{source}:{where_line}: '·' must be followed by a date line like 'Mar 11, 2021 1' "
                f"(found {text(pos)!r}; truncated file?)"
            )
    elif pos > start:
        where_line = line(pos - 1)
        raise ParseError(
            f"{source}:{where_line}: author/organisation line must be followed by a '·' line "
            f"(found {text(pos)!r}; truncated file?)"
        )
    if (d := text(pos)) is not None and (m := _DATE.match(d)):
        where = f"{source}:{line(pos)}"
        raw_date = f"{m['mon']} {m['day']}" + (f", {m['year']}" if m["year"] else "")
        upvotes = _count(m["up"], where, "upvote number") if m["up"] else None
        published = _parse_date(m, where)
        pos += 1
    entry = ListingEntry(
        title=title,
        abstract=abstract,
        n_authors=n_authors,
        organization=org,
        raw_date=raw_date,
        upvotes=upvotes,
    )
    return entry, published, pos


def _count(digits: str, where: str, what: str) -> int:
    """A count printed in a metadata line; larger than the store holds is an error, not a
    DuckDB conversion traceback at the end of ``kb ingest``."""
    value = int(digits)
    if value > MAX_COUNT:
        raise ParseError(f"{where}: {what} {digits} is too large; expected at most {MAX_COUNT}")
    return value


def _to_parsed(
    entry: ListingEntry, published: dt.date | None, source: str, position: int, line: int
) -> ParsedEntry:
    pid = paper_id_for(entry.title)
    paper = Paper(
        paper_id=pid,
        title=entry.title,
        abstract=entry.abstract,
        n_authors=entry.n_authors,
        published=published,
        upvotes=entry.upvotes,
        organization=entry.organization,
    )
    app = Appearance(
        paper_id=pid,
        source=source,
        position=position,
        line=line,
        format=FORMAT,
        raw_date=entry.raw_date,
    )
    return ParsedEntry(paper=paper, appearance=app)


def parse_listing(path: str | Path) -> list[ParsedEntry]:
    """Read one listing file; appearances name it by its absolute path."""
    p = Path(path)
    return list(iter_listing(str(p.resolve())))


def render_listing(entries: Sequence[ListingEntry], *, layout: str = "blocks") -> str:
    """Write entries as a listing page (with chrome) that ``parse_listing_text`` reads back."""
    units: list[list[str]] = []
    for e in entries:
        units.append([e.title])
        units.append([e.abstract])
        meta: list[str] = []
        if e.n_authors is not None:
            meta.append(f"  • {e.n_authors} authors")
        elif e.organization is not None:
            meta.append(e.organization)
        if e.raw_date is not None:  # authors/organisation lines are only printed with a date
            meta.extend([_DOT, e.raw_date + (f" {e.upvotes}" if e.upvotes is not None else "")])
        else:
            meta = []
        if meta:
            units.append(meta)
    if layout == "compact":
        lines = [ln for u in units for ln in u]
        if lines:
            lines[0] = _GLUED_PREFIX + lines[0]
        return "\n".join(["Get trending papers in your email inbox!", *lines]) + "\n"
    if layout != "blocks":
        raise ValueError(f"unknown layout {layout!r}; expected 'blocks' or 'compact'")
    header = ["new", "Get trending papers in your email inbox!", "Subscribe", "Daily Papers"]
    return "\n\n".join([*header, "Aug 20", *("\n".join(u) for u in units)]) + "\n"
