"""One ingest run: files and folders in, papers and appearances out, in one transaction.

``ingest_paths`` walks the given paths (folders recursively, in sorted order), reads every
input file it recognises (``ingest.formats``) and merges what it reads into the store:

* a paper is identified by ``kb.records.paper_id_for`` (the arXiv id when known, else a hash of
  the normalised title), so the same paper in several listings is one row; a title-only entry
  (a listing page) whose normalised title is that of a paper known by arXiv id (an Atom feed,
  the arXiv snapshot) is that paper, whichever was ingested first;
* every entry is an ``Appearance`` (file, position, line); re-reading a file replaces that
  file's appearances, so ingesting the same input twice changes nothing;
* a field a paper lacks (date, author count, upvotes, ...) is filled from another appearance;
  values already stored, then earlier appearances, win over later ones (except that when a
  title-only paper meets its arXiv record, the arXiv record's values win); a paper whose
  title or abstract changed this way is labelled again by the claim extractor.

Folders holding a ``MANIFEST.md`` are released datasets, not listings; they are set aside for
``ingest.released.ingest_datasets``. Then the registry of reported laws
(``data/laws.toml``) is synced, so every law can be linked to the papers now in the corpus,
and the claim extractor (``ingest.claims``) labels every paper it has not labelled yet (new
papers, changed papers, or all of them after the extractor's version changed).
Everything runs in one ``store.transaction()``: if anything fails, the store is exactly as
before and the error propagates.
"""

from __future__ import annotations

import contextlib
import logging
import os
import typing
from collections.abc import Callable, Iterable, Iterator
from itertools import islice
from pathlib import Path
from typing import Any

import pyarrow as pa
from pydantic import BaseModel, ConfigDict, Field

from ingest.claims import EXTRACTOR_VERSION, extract_into
from ingest.formats import ReadPosition, iter_papers
from ingest.listings import ParsedEntry
from ingest.released import ingest_datasets
from kb.errors import BadInputError
from kb.records import Appearance, Paper, normalize_title, paper_id_for
from kb.registry import sync_registry
from kb.store import Store

__all__ = [
    "INPUT_EXTENSIONS",
    "STAGES",
    "FileReport",
    "IngestReport",
    "StageProgress",
    "collect_inputs",
    "ingest_paths",
    "merge_papers",
]

logger = logging.getLogger(__name__)

Progress = Callable[[int, int], None]
# on_progress(stage, done, total): stage is one of STAGES, reported in that order.
StageProgress = Callable[[str, int, int], None]
STAGES = ("listings", "datasets", "claims")
BATCH_SIZE = 5000
INGEST_MEMORY_LIMIT_MB = 512
"""DuckDB's memory limit (MB) while ``ingest_paths`` writes a store kept in a file. A transaction's
uncommitted rows stay in DuckDB's memory until the commit, beyond the limit they go to
temporary files beside the store: without it, ingesting 1,000,000 arXiv records held about
1.5 GB of them in memory (DuckDB's default limit is 80% of the machine's RAM)."""
MANIFEST = "MANIFEST.md"
# Files inside folders that are read; a file named explicitly is always read.
INPUT_EXTENSIONS = frozenset({".txt", ".xml", ".atom", ".csv", ".jsonl", ".ndjson", ".json"})


class FileReport(BaseModel):
    """What one input file gave."""

    model_config = ConfigDict(extra="forbid")

    path: str
    format: str = Field(description="the format it was read as")
    entries: int


class IngestReport(BaseModel):
    """The outcome of one ``ingest_paths`` run."""

    model_config = ConfigDict(extra="forbid")

    files: list[FileReport] = Field(default_factory=list)
    entries: int = Field(0, description="entries read (= appearances written)")
    papers_seen: int = Field(0, description="distinct papers among the entries")
    new_papers: int = 0
    updated_papers: int = Field(0, description="papers already stored that gained data")
    unchanged_papers: int = 0
    removed_papers: list[str] = Field(
        default_factory=list,
        description="papers no input lists any more: a re-read file no longer holds them (an "
        "edited title gives a new id) and no other file does; removed with their claims",
    )
    skipped_files: list[str] = Field(default_factory=list, description="not an input format")
    datasets: dict[str, int] = Field(
        default_factory=dict, description="dataset folder -> points written this run"
    )
    unchanged_datasets: list[str] = Field(
        default_factory=list, description="dataset folders skipped: content unchanged"
    )
    laws: int = Field(0, description="reported laws in the registry, synced this run")
    papers_labelled: int = Field(0, description="papers the claim extractor (re)read this run")
    claims: int = Field(0, description="claims written for those papers")
    warnings: list[str] = Field(default_factory=list)


def _unreadable_folder(err: OSError) -> None:
    """``os.walk`` skips a folder it cannot list; that would lose its files silently."""
    raise BadInputError(
        f"{err.filename}: cannot read this folder: {err.strerror}; fix its permissions or "
        "leave it out of the paths"
    ) from err


def collect_inputs(
    paths: Iterable[str | os.PathLike[str]],
) -> tuple[list[Path], list[Path], list[Path]]:
    """Split ``paths`` into (input files, dataset folders, skipped files), all sorted.

    Folders are walked recursively; a folder holding ``MANIFEST.md`` is a dataset folder and is
    not descended into. Hidden files and folders are ignored; files in folders whose extension
    is not in ``INPUT_EXTENSIONS`` are skipped. A folder that cannot be listed raises
    ``BadInputError`` (its files would otherwise be lost without a word).
    """
    files: list[Path] = []
    folders: list[Path] = []
    skipped: list[Path] = []
    for raw in paths:
        path = Path(raw).resolve()
        if path.is_file():
            files.append(path)
        elif path.is_dir():
            for dirpath, dirnames, filenames in os.walk(path, onerror=_unreadable_folder):
                here = Path(dirpath)
                if MANIFEST in filenames:
                    folders.append(here)
                    dirnames.clear()
                    continue
                dirnames[:] = sorted(d for d in dirnames if not d.startswith("."))
                for name in sorted(filenames):
                    if name.startswith("."):
                        continue
                    target = files if Path(name).suffix.lower() in INPUT_EXTENSIONS else skipped
                    target.append(here / name)
        else:
            raise BadInputError(f"{raw}: no such file or folder")

    def unique(items: list[Path]) -> list[Path]:
        return sorted(dict.fromkeys(items))

    return unique(files), unique(folders), unique(skipped)


def _nothing_to_ingest(paths: list[str | os.PathLike[str]], skipped: list[Path]) -> None:
    names = ", ".join(str(p) for p in paths[:3]) + (
        f" and {len(paths) - 3} more" if len(paths) > 3 else ""
    )
    found = ""
    if skipped:
        some = ", ".join(p.name for p in skipped[:3]) + (" ..." if len(skipped) > 3 else "")
        found = f"; {len(skipped)} file(s) of no input format ({some})"
    raise BadInputError(
        f"{names}: nothing to ingest{found}; expected input files "
        f"({', '.join(sorted(INPUT_EXTENSIONS))}) or dataset folders (with a {MANIFEST})"
    )


def _size(path: Path) -> int:
    try:
        return path.stat().st_size
    except OSError:
        return 0  # the reader names the file and the reason


def _is_empty(value: Any) -> bool:
    return value is None or value == "" or value == []


def merge_papers(base: Paper, other: Paper) -> Paper:
    """``base`` with each empty field filled from ``other`` (base wins where both have one)."""
    fills = {
        name: getattr(other, name)
        for name in Paper.model_fields
        if name != "paper_id"
        and _is_empty(getattr(base, name))
        and not _is_empty(getattr(other, name))
    }
    return base.model_copy(update=fills) if fills else base


def _batches(items: Iterator[ParsedEntry], size: int) -> Iterator[list[ParsedEntry]]:
    while batch := list(islice(items, size)):
        yield batch


class _Tally:
    def __init__(self) -> None:
        self.seen: set[str] = set()
        self.new: set[str] = set()
        self.updated: set[str] = set()


_PAPER_FIELDS = list(Paper.model_fields)
_LIST_FIELDS = [n for n, f in Paper.model_fields.items() if typing.get_origin(f.annotation) is list]


def _stored_papers(store: Store, ids: list[str]) -> dict[str, Paper]:
    """The stored papers among ``ids``, built without re-validation (the rows were validated
    when written; re-validating 100k abstracts doubles the cost of a re-ingest)."""
    sql = f"SELECT {', '.join(_PAPER_FIELDS)} FROM papers WHERE paper_id IN (SELECT unnest(?))"
    found: dict[str, Paper] = {}
    for row in store.cursor().execute(sql, [ids]).fetchall():
        data = dict(zip(_PAPER_FIELDS, row, strict=True))
        for name in _LIST_FIELDS:
            data[name] = data[name] or []
        found[data["paper_id"]] = Paper.model_construct(**data)
    return found


# What the claim extractor reads, and what it writes back onto a paper.
_EXTRACTOR_INPUTS = ("title", "abstract")
_UNLABELLED = {"studies_scaling_law": None, "domain": None, "extractor_version": None}


def _relabel_if_changed(old: Paper, merged: Paper) -> Paper:
    """``merged``, unlabelled if the extractor's inputs changed (e.g. an abstract that the
    first appearance lacked), so that ``_extract_claims`` reads it again."""
    if any(getattr(old, f) != getattr(merged, f) for f in _EXTRACTOR_INPUTS):
        return merged.model_copy(update=_UNLABELLED)
    return merged


_ANY_TITLE_ONLY = "SELECT 1 FROM papers WHERE arxiv_id IS NULL LIMIT 1"


class _ArxivTitles:
    """Title-only ids (``t:<hash>``) -> the arXiv papers with that normalised title.

    A listing page names a paper by its title only; an Atom feed or the arXiv snapshot names
    it by its arXiv id too. This map makes both one paper. It is built the first time a
    title-only entry needs it (a bulk arXiv import never does), once per run, as a temporary
    DuckDB table: the keys of ASCII titles (nearly all of arXiv) are computed by DuckDB itself,
    where ``normalize_title`` reduces to lower-casing and turning every run of characters
    outside ``[a-z0-9]`` into one space; only the other titles are hashed in Python. Then the
    arXiv entries of every batch are added. A title shared by several arXiv papers maps to
    all of them; callers take the lowest id and warn.
    """

    TABLE = "_ingest_arxiv_titles"
    _ASCII_KEYS = (
        "SELECT 't:' || left(sha256(trim(regexp_replace(lower(title), '[^a-z0-9]+', ' ', 'g'))),"
        " 16) AS title_id, paper_id FROM papers "
        "WHERE arxiv_id IS NOT NULL AND strlen(title) = length(title)"  # bytes == chars: ASCII
    )
    _OTHER_TITLES = (
        "SELECT paper_id, title FROM papers "
        "WHERE arxiv_id IS NOT NULL AND strlen(title) <> length(title)"
    )

    def __init__(self, store: Store) -> None:
        self.store = store
        self.built = False
        # Every statement on the store's own connection: a TEMP table lives on the connection
        # that made it, and ``Store.cursor()`` outside a transaction is a fresh one each time.

    def ensure(self) -> None:
        """Build the map from the store's arXiv papers, unless built already."""
        if self.built:
            return
        cur = self.store.con
        cur.execute(f"CREATE OR REPLACE TEMP TABLE {self.TABLE} AS {self._ASCII_KEYS}")
        rows = cur.execute(self._OTHER_TITLES).fetchall()
        self.built = True
        self._insert([(paper_id_for(title), pid) for pid, title in rows])

    def _insert(self, pairs: list[tuple[str, str]]) -> None:
        if not pairs:
            return
        batch = pa.table(  # noqa: F841  (read by DuckDB's replacement scan)
            {"title_id": [t for t, _ in pairs], "paper_id": [p for _, p in pairs]}
        )
        self.store.con.execute(f"INSERT INTO {self.TABLE} SELECT * FROM batch")

    def add(self, papers: list[tuple[str, str]]) -> None:
        """Note (title, arXiv paper id) pairs written this run (once the map is built)."""
        if self.built:
            self._insert([(paper_id_for(title), pid) for title, pid in papers])

    def lookup(self, title_ids: Iterable[str]) -> dict[str, list[str]]:
        """Title-only id -> the arXiv paper ids with that title, sorted (only ids that have)."""
        wanted = sorted(set(title_ids))
        if not wanted:
            return {}
        self.ensure()
        sql = (
            f"SELECT DISTINCT title_id, paper_id FROM {self.TABLE} "
            "WHERE title_id IN (SELECT unnest(?)) ORDER BY 1, 2"
        )
        found: dict[str, list[str]] = {}
        for tid, pid in self.store.con.execute(sql, [wanted]).fetchall():
            found.setdefault(tid, []).append(pid)
        return found

    def close(self) -> None:
        if self.built:
            self.store.con.execute(f"DROP TABLE IF EXISTS {self.TABLE}")
            self.built = False


def _ambiguous(where: str, title: str, ids: list[str]) -> str:
    return (
        f"{where}: the title {title!r} is that of {len(ids)} arXiv papers "
        f"({', '.join(ids)}); merged into {ids[0]}, the lowest id"
    )


def _with_paper_id(entry: ParsedEntry, pid: str) -> ParsedEntry:
    return entry.model_copy(
        update={
            "paper": entry.paper.model_copy(update={"paper_id": pid}),
            "appearance": entry.appearance.model_copy(update={"paper_id": pid}),
        }
    )


def _note_listed(store: Store, source: str) -> None:
    """Keep the ids of the papers ``source`` lists now, for :func:`_remove_unlisted` (SQL only:
    a million-entry file must not become a million-element parameter)."""
    cur = store.cursor()
    cur.execute("DROP TABLE IF EXISTS _listed_before")
    cur.execute(
        "CREATE TEMP TABLE _listed_before AS "
        "SELECT DISTINCT paper_id FROM appearances WHERE source = ?",
        [source],
    )


def _remove_unlisted(store: Store, tally: _Tally) -> list[str]:
    """Remove the papers :func:`_note_listed` kept that no file lists any more, with their claims.

    Re-reading a file replaces its appearances; a paper only that file listed, and which it no
    longer holds (the entry was deleted, or its title edited so its id changed), would stay as
    a row nothing lists, found by search and counted twice beside its new id. Returns the ids.
    """
    cur = store.cursor()
    cur.execute(
        "CREATE OR REPLACE TEMP TABLE _unlisted AS SELECT l.paper_id FROM _listed_before l "
        "WHERE NOT EXISTS (SELECT 1 FROM appearances a WHERE a.paper_id = l.paper_id)"
    )
    gone = [r[0] for r in cur.execute("SELECT paper_id FROM _unlisted ORDER BY 1").fetchall()]
    if gone:
        for table in ("claims", "exponents", "papers"):
            cur.execute(f"DELETE FROM {table} WHERE paper_id IN (SELECT paper_id FROM _unlisted)")
        for ids in (tally.seen, tally.new, tally.updated):
            ids.difference_update(gone)
    cur.execute("DROP TABLE _unlisted")
    cur.execute("DROP TABLE _listed_before")
    return gone


def _resolve_titles(
    batch: list[ParsedEntry], titles: _ArxivTitles, warnings: list[str]
) -> tuple[list[ParsedEntry], list[tuple[str | None, str, str]]]:
    """Title-only entries of papers known by arXiv id take that id (the lowest, with a
    warning naming every candidate, if several arXiv papers have that title).

    Returns the entries and what ``_absorb_title_only`` may fold together: (title-only id,
    title, arXiv id) for an entry that took an arXiv id; (None, title, arXiv id) for an arXiv
    entry (its title-only id is only computed if the store holds any title-only paper).
    """
    arxiv = [(e.paper.title, e.paper.paper_id) for e in batch if e.paper.arxiv_id is not None]
    title_only = [e.paper.paper_id for e in batch if e.paper.arxiv_id is None]
    if title_only:
        titles.ensure()  # from the store as it was before this batch
    titles.add(arxiv)  # so an arXiv record anywhere in this batch counts too
    found = titles.lookup(title_only)
    out: list[ParsedEntry] = []
    pairs: list[tuple[str | None, str, str]] = []
    for entry in batch:
        paper = entry.paper
        if paper.arxiv_id is None:
            targets = found.get(paper.paper_id)
            if targets:
                app = entry.appearance
                if len(targets) > 1:
                    warnings.append(_ambiguous(f"{app.source}:{app.line}", paper.title, targets))
                pairs.append((paper.paper_id, paper.title, targets[0]))
                entry = _with_paper_id(entry, targets[0])
        else:
            pairs.append((None, paper.title, paper.paper_id))
        out.append(entry)
    return out, pairs


def _absorb_title_only(
    store: Store,
    found: list[tuple[str | None, str, str]],
    tally: _Tally,
    titles: _ArxivTitles,
    warnings: list[str],
) -> None:
    """Fold stored title-only papers into the arXiv papers with the same title (``found``:
    from ``_resolve_titles``), e.g. a listing ingested before the feed, or a store built
    before title-only and arXiv entries were one paper.

    The arXiv record's fields win, the listing's fill its gaps (upvotes, organisation, a
    date), so the result does not depend on which was ingested first. The title-only paper's
    appearances move to the arXiv id; its claims go (the merged paper is labelled again if
    its title or abstract changed, and anyway under its new id). A title shared by several
    arXiv papers goes to the lowest id, with a warning naming them all.
    """
    if not found or store.cursor().execute(_ANY_TITLE_ONLY).fetchone() is None:
        return  # the common bulk case: every stored paper has an arXiv id
    pairs: dict[str, set[str]] = {}
    for title_id, title, xid in found:
        pairs.setdefault(title_id or paper_id_for(title), set()).add(xid)
    olds = _stored_papers(store, list(pairs))
    if not olds:
        return
    known = titles.lookup(olds)  # every arXiv paper with these titles, stored or in this batch
    choices = {tid: sorted(pairs[tid].union(known.get(tid, []))) for tid in olds}
    targets = _stored_papers(store, [ids[0] for ids in choices.values()])
    for tid, old in olds.items():
        xid = choices[tid][0]
        if len(choices[tid]) > 1:
            warnings.append(_ambiguous(tid, old.title, choices[tid]))
        target = targets[xid]
        # The title-only paper's labels describe the id that goes away: never carry them over.
        merged = merge_papers(target, old.model_copy(update=_UNLABELLED))
        store.upsert([_relabel_if_changed(target, merged)])
        cur = store.cursor()
        cur.execute("UPDATE appearances SET paper_id = ? WHERE paper_id = ?", [xid, tid])
        for table in ("claims", "exponents", "papers"):
            cur.execute(f"DELETE FROM {table} WHERE paper_id = ?", [tid])
        stored_before = tid not in tally.new or xid not in tally.new
        for ids in (tally.seen, tally.new, tally.updated):
            ids.discard(tid)
        tally.seen.add(xid)
        if stored_before:
            tally.new.discard(xid)
            tally.updated.add(xid)
        logger.info("%s: the same title as %s; merged into it", tid, xid)


def _other_abstract(abstract: str, kept: str) -> bool:
    """Whether ``abstract`` is another text than ``kept`` (both non-empty), beyond case,
    punctuation and spacing. The same id with two abstracts kept the first without a word."""
    return bool(abstract and kept) and (
        abstract != kept and normalize_title(abstract) != normalize_title(kept)
    )


def _abstract_conflict(where: str, pid: str, entry: ParsedEntry, kept: str) -> str:
    here = entry.paper.abstract
    at = next((i for i, (a, b) in enumerate(zip(here, kept, strict=False)) if a != b), None)
    at = min(len(here), len(kept)) if at is None else at
    return (
        f"{where}: {pid} has another abstract here than the one read before "
        f"({len(here):,} vs {len(kept):,} characters, first differing at character {at + 1:,}: "
        f"{here[at : at + 30]!r} vs {kept[at : at + 30]!r}); one paper, keeping the one read "
        "before"
    )


def _write_batch(
    store: Store,
    batch: list[ParsedEntry],
    tally: _Tally,
    titles: _ArxivTitles,
    warnings: list[str],
) -> list[ParsedEntry]:
    """Write one batch of entries; returns them with the paper ids they were stored under.

    An entry whose paper is already known under another title (one arXiv id, two titles) is
    added to ``warnings``: the first title is kept, the entry's appearance too.
    """
    batch, pairs = _resolve_titles(batch, titles, warnings)
    incoming: dict[str, Paper] = {}
    first: dict[str, ParsedEntry] = {}
    for entry in batch:
        pid = entry.paper.paper_id
        first.setdefault(pid, entry)
        incoming[pid] = merge_papers(incoming[pid], entry.paper) if pid in incoming else entry.paper
    existing = _stored_papers(store, list(incoming))
    for entry in batch:
        pid = entry.paper.paper_id
        kept = existing[pid] if pid in existing else first[pid].paper
        title = entry.paper.title
        app = entry.appearance
        if title != kept.title and normalize_title(title) != normalize_title(kept.title):
            warnings.append(
                f"{app.source}:{app.line}: {pid} is titled {title!r} here but "
                f"{kept.title!r} elsewhere; one paper, keeping the title {kept.title!r}"
            )
        kept_abstract = kept.abstract or incoming[pid].abstract  # what merge_papers keeps
        if _other_abstract(entry.paper.abstract, kept_abstract):
            where = f"{app.source}:{app.line}"
            warnings.append(_abstract_conflict(where, pid, entry, kept_abstract))
    changed: list[Paper] = []
    for pid, paper in incoming.items():
        tally.seen.add(pid)
        old = existing.get(pid)
        if old is None:
            tally.new.add(pid)
            changed.append(paper)
            continue
        merged = _relabel_if_changed(old, merge_papers(old, paper))
        if merged != old:
            changed.append(merged)
            if pid not in tally.new:
                tally.updated.add(pid)
    store.upsert(changed)
    store.upsert(e.appearance for e in batch)
    _absorb_title_only(store, pairs, tally, titles, warnings)
    return batch


def _stage(
    on_progress: StageProgress | None, stage: str, *, offset: int = 0, total: int | None = None
) -> Progress | None:
    """A ``(done, total)`` callback reporting ``stage`` to ``on_progress`` (None if it is None).

    ``offset`` and ``total`` turn a batch's own count into the stage's running count.
    """
    if on_progress is None:
        return None
    report = on_progress

    def progress(done: int, batch_total: int) -> None:
        report(stage, offset + done, batch_total if total is None else total)

    return progress


def _extract_claims(
    store: Store, workers: int, on_progress: StageProgress | None = None
) -> tuple[int, int]:
    """Run the claim extractor over papers it has not labelled in its current version.

    Returns (papers labelled, claims written). Papers are read and written in batches, so a
    100k-paper snapshot never sits in memory twice.
    """
    sql = "SELECT paper_id FROM papers WHERE extractor_version IS DISTINCT FROM ? ORDER BY 1"
    ids = [row[0] for row in store.cursor().execute(sql, [EXTRACTOR_VERSION]).fetchall()]
    claims = 0
    total = len(ids)
    for start in range(0, total, BATCH_SIZE):
        papers = list(_stored_papers(store, ids[start : start + BATCH_SIZE]).values())
        claims += extract_into(
            store,
            papers,
            workers=workers,
            on_progress=_stage(on_progress, "claims", offset=start, total=total),
        )
        if on_progress is not None:
            on_progress("claims", start + len(papers), total)
    return total, claims


@contextlib.contextmanager
def _memory_limit(store: Store, mb: int) -> Iterator[None]:
    """DuckDB's memory limit lowered to ``mb`` megabytes inside (unless already lower), then
    put back.

    Only for a store in a file: its temporary files go beside it. An in-memory store (tests)
    has nowhere of its own to put them, so it keeps its limit.
    """
    row = None if store.path == ":memory:" else store.con.execute(_LIMIT).fetchone()
    if row is None or _bytes(str(row[0])) <= mb * 1e6:
        yield
        return
    before = str(row[0])
    con = store.con
    con.execute(f"SET memory_limit = '{int(mb)}MB'")
    try:
        yield
    finally:
        con.execute("RESET memory_limit")  # the default, as a rule; else what it was
        row = con.execute(_LIMIT).fetchone()
        if row is None or str(row[0]) != before:
            con.execute(f"SET memory_limit = '{before}'")


_LIMIT = "SELECT current_setting('memory_limit')"
_UNITS = {"bytes": 1, "B": 1, "KiB": 2**10, "MiB": 2**20, "GiB": 2**30, "TiB": 2**40}


def _bytes(setting: str) -> float:
    """DuckDB's spelling of a memory size (``'488.2 MiB'``, ``'19.2 GiB'``) in bytes."""
    number, _, unit = str(setting).strip().partition(" ")
    return float(number) * _UNITS.get(unit.strip(), 1)


def ingest_paths(
    store: Store,
    paths: Iterable[str | os.PathLike[str]],
    *,
    fmt: str | None = None,
    extract: bool = True,
    workers: int | None = None,
    on_progress: StageProgress | None = None,
) -> IngestReport:
    """Ingest files and folders into ``store`` in one transaction; see the module docstring.

    Args:
        store: an open, writable store.
        paths: files and folders (folders are walked recursively).
        fmt: force one input format for every file (default: detect per file).
        extract: run the claim extractor on papers it has not labelled (``kb extract`` can do
            it later; bulk imports of hundreds of thousands of papers may defer it).
        workers: processes for claim extraction (default: the machine's CPU count).
        on_progress: called as ``on_progress(stage, done, total)``, stage one of ``STAGES``:
            bytes of the input files read (after every batch of ``BATCH_SIZE`` entries, so a
            single 4 GB snapshot moves the bar too), dataset folders read, papers labelled by
            the extractor.

    Raises:
        ParseError / BadInputError naming the file and line; the store is then unchanged.
    """
    paths = list(paths)
    files, folders, skipped = collect_inputs(paths)
    if not files and not folders:  # an empty folder was "0 files, 0 entries" and exit 0
        _nothing_to_ingest(paths, skipped)
    report = IngestReport(skipped_files=[str(s) for s in skipped])
    tally = _Tally()
    titles = _ArxivTitles(store)
    sizes = [_size(path) for path in files]
    total_bytes = sum(sizes)
    with _memory_limit(store, INGEST_MEMORY_LIMIT_MB), store.transaction():
        for i, path in enumerate(files):
            source = str(path)
            _note_listed(store, source)
            store.delete(Appearance, "source = ?", [source])
            count = 0
            read_as = fmt
            before = sum(sizes[:i])
            position = ReadPosition()
            for batch in _batches(iter_papers(path, fmt=fmt, position=position), BATCH_SIZE):
                read_as = batch[0].appearance.format
                count += len(batch)
                for entry in batch:
                    report.warnings.extend(entry.warnings)
                _write_batch(store, batch, tally, titles, report.warnings)
                if on_progress is not None:  # within a big file too, batch by batch
                    on_progress("listings", before + min(position.done, sizes[i]), total_bytes)
            report.removed_papers.extend(_remove_unlisted(store, tally))
            report.files.append(FileReport(path=source, format=read_as or "?", entries=count))
            report.entries += count
            logger.info("%s: %d entries as %s", source, count, read_as)
            if on_progress is not None:
                on_progress("listings", before + sizes[i], total_bytes)
        titles.close()
        if on_progress is not None and folders:
            on_progress("datasets", 0, len(folders))  # the first folder can take seconds
        datasets = ingest_datasets(store, folders, on_progress=_stage(on_progress, "datasets"))
        report.datasets = datasets.ingested
        report.unchanged_datasets = datasets.unchanged
        report.laws = sync_registry(store)
        if extract:
            report.papers_labelled, report.claims = _extract_claims(
                store, workers or os.cpu_count() or 1, on_progress
            )
    report.papers_seen = len(tally.seen)
    report.new_papers = len(tally.new)
    report.updated_papers = len(tally.updated)
    report.unchanged_papers = len(tally.seen - tally.new - tally.updated)
    return report
