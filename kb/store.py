"""The DuckDB store: schema, migrations, and typed reads and writes.

``Store(path)`` opens (and if needed creates) one DuckDB file; ``Store(":memory:")`` is for tests.
Every table has a record model in ``kb.records``; the DDL below must match the models' fields
(``tests/test_store.py`` checks). SQL takes ``?`` parameters; identifiers only ever come from the
record models. Writers use :func:`staged` so that readers (the app) keep serving the old file
until a build finishes, and a failed build leaves the old file untouched.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import functools
import json
import logging
import os
import re
import shutil
import signal
import threading
import time
import types
import typing
import uuid
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path
from typing import Any, TypeVar

import duckdb
import pyarrow as pa

from kb.errors import BadInputError, KBError
from kb.records import (
    Appearance,
    Claim,
    Dataset,
    Exponent,
    FitRecord,
    Paper,
    Point,
    Record,
    ReportedLaw,
)

logger = logging.getLogger(__name__)

R = TypeVar("R", bound=Record)

MODELS: tuple[type[Record], ...] = (
    Paper, Appearance, Claim, Exponent, Dataset, Point, ReportedLaw, FitRecord,
)  # fmt: skip

# Numbered migrations: each is a list of statements, applied once, recorded in _meta.
MIGRATIONS: list[list[str]] = [
    [
        """CREATE TABLE papers (
            paper_id VARCHAR PRIMARY KEY, arxiv_id VARCHAR, title VARCHAR NOT NULL,
            abstract VARCHAR NOT NULL, authors VARCHAR[], n_authors INTEGER, published DATE,
            upvotes INTEGER, organization VARCHAR, categories VARCHAR[],
            studies_scaling_law BOOLEAN, domain VARCHAR, extractor_version VARCHAR)""",
        """CREATE TABLE appearances (
            paper_id VARCHAR NOT NULL, source VARCHAR NOT NULL, position INTEGER NOT NULL,
            line INTEGER NOT NULL, format VARCHAR NOT NULL, raw_date VARCHAR,
            PRIMARY KEY (source, position))""",
        """CREATE TABLE claims (
            claim_id VARCHAR PRIMARY KEY, paper_id VARCHAR NOT NULL, response VARCHAR NOT NULL,
            variables VARCHAR[], form VARCHAR NOT NULL, direction VARCHAR NOT NULL,
            evidence VARCHAR NOT NULL, span_start INTEGER NOT NULL, span_end INTEGER NOT NULL,
            extractor_version VARCHAR NOT NULL)""",
        """CREATE TABLE exponents (
            exponent_id VARCHAR PRIMARY KEY, paper_id VARCHAR NOT NULL, claim_id VARCHAR,
            symbol VARCHAR, value DOUBLE NOT NULL, variable VARCHAR NOT NULL,
            text VARCHAR NOT NULL, span_start INTEGER NOT NULL, span_end INTEGER NOT NULL,
            extractor_version VARCHAR NOT NULL)""",
        """CREATE TABLE datasets (
            name VARCHAR PRIMARY KEY, arxiv_id VARCHAR, paper_title VARCHAR,
            source_repo VARCHAR, source_commit VARCHAR, source_paths VARCHAR[],
            license VARCHAR, caveats VARCHAR NOT NULL, n_points INTEGER NOT NULL,
            path VARCHAR NOT NULL, adapter_version VARCHAR NOT NULL)""",
        """CREATE TABLE points (
            point_id VARCHAR PRIMARY KEY, dataset VARCHAR NOT NULL, run_key VARCHAR,
            n_params DOUBLE, n_params_kind VARCHAR, n_tokens DOUBLE, compute_flops DOUBLE,
            compute_method VARCHAR, metric VARCHAR NOT NULL, value DOUBLE NOT NULL,
            unit VARCHAR NOT NULL, step BIGINT, derived VARCHAR[], source_file VARCHAR NOT NULL,
            source_row INTEGER NOT NULL, extras VARCHAR)""",
        """CREATE TABLE laws (
            law_id VARCHAR PRIMARY KEY, arxiv_id VARCHAR NOT NULL, title VARCHAR NOT NULL,
            year INTEGER NOT NULL, name VARCHAR NOT NULL, form VARCHAR, formula VARCHAR NOT NULL,
            params VARCHAR, intervals VARCHAR, derived VARCHAR, conventions VARCHAR,
            dataset VARCHAR, source VARCHAR NOT NULL, verified BOOLEAN NOT NULL,
            notes VARCHAR NOT NULL)""",
        """CREATE TABLE fits (
            fit_id VARCHAR PRIMARY KEY, dataset VARCHAR NOT NULL, law VARCHAR NOT NULL,
            recipe VARCHAR NOT NULL, metric VARCHAR, options VARCHAR, params VARCHAR,
            intervals VARCHAR, derived VARCHAR, objective DOUBLE NOT NULL,
            n_points INTEGER NOT NULL, n_starts INTEGER NOT NULL, n_converged INTEGER NOT NULL,
            seed INTEGER NOT NULL, holdout VARCHAR, version VARCHAR NOT NULL,
            created_at TIMESTAMP NOT NULL)""",
        "CREATE INDEX appearances_paper ON appearances (paper_id)",
        "CREATE INDEX claims_paper ON claims (paper_id)",
        "CREATE INDEX exponents_paper ON exponents (paper_id)",
        "CREATE INDEX points_dataset ON points (dataset)",
    ],
    # 2: the search index's side tables (kb.embed, kb.index). Not record tables: they are
    # derived caches, rebuilt by `kb index --rebuild`; the index's own metadata is the
    # JSON value of `index_meta` in _meta (and its file's length, `index_file_bytes`).
    [
        """CREATE TABLE embeddings (
            content_sha VARCHAR NOT NULL, model VARCHAR NOT NULL, dim INTEGER NOT NULL,
            vector FLOAT[] NOT NULL, PRIMARY KEY (content_sha, model))""",
        """CREATE TABLE index_rows (
            row_id INTEGER PRIMARY KEY, paper_id VARCHAR NOT NULL, field VARCHAR NOT NULL,
            span_start INTEGER NOT NULL, span_end INTEGER NOT NULL)""",
    ],
    # 3: the extrapolation scoreboard (record model: kb.scoreboard.Score).
    [
        """CREATE TABLE scores (
            score_id VARCHAR PRIMARY KEY, dataset VARCHAR NOT NULL, metric VARCHAR NOT NULL,
            law VARCHAR NOT NULL, recipe VARCHAR NOT NULL, x VARCHAR, setting VARCHAR,
            holdout_axis VARCHAR NOT NULL, holdout_fraction DOUBLE NOT NULL, n_train INTEGER,
            n_test INTEGER, rmse DOUBLE, mean_rel_error DOUBLE, max_rel_error DOUBLE,
            status VARCHAR NOT NULL, message VARCHAR NOT NULL, version VARCHAR NOT NULL,
            created_at TIMESTAMP NOT NULL)""",
        "CREATE INDEX scores_dataset ON scores (dataset)",
    ],
]


def _is_json_field(annotation: Any) -> bool:
    """Fields stored as JSON text: dicts, and lists of anything but strings."""
    origin = typing.get_origin(annotation)
    if origin in (typing.Union, types.UnionType):
        return any(_is_json_field(a) for a in typing.get_args(annotation) if a is not type(None))
    if origin is dict:
        return True
    if origin is list:
        return typing.get_args(annotation) != (str,)
    return False


@functools.cache
def json_columns(model: type[Record]) -> frozenset[str]:
    """Names of the model's fields that the store keeps as JSON text."""
    return frozenset(n for n, f in model.model_fields.items() if _is_json_field(f.annotation))


class Store:
    """One DuckDB file holding the whole knowledge base.

    Args:
        path: a file path, or ":memory:".
        read_only: open without write access (the app); the file must exist.
    """

    def __init__(self, path: str | os.PathLike[str] = ":memory:", *, read_only: bool = False):
        self.path = str(path)
        if read_only and (self.path == ":memory:" or not Path(self.path).exists()):
            raise KBError(
                f"{self.path}: no knowledge base here; build one with "
                f"`kb ingest ../shared/seeds ../shared/datasets --db {self.path}`"
            )
        if self.path != ":memory:":
            Path(self.path).parent.mkdir(parents=True, exist_ok=True)
        self.con = _connect(self.path, read_only=read_only)
        self.read_only = read_only
        self._in_transaction = False
        if not read_only:
            self._migrate()
        elif not self._has_tables("_meta", "papers"):
            self.close()
            raise KBError(
                f"{self.path}: a DuckDB file but not a scaling-kb knowledge base (no papers "
                f"table); point --db at a store built by `kb ingest`"
            )

    def _has_tables(self, *names: str) -> bool:
        found = self.con.execute(
            "SELECT count(DISTINCT table_name) FROM information_schema.tables "
            "WHERE table_schema = 'main' AND table_name IN (SELECT unnest(?))",
            [list(names)],
        ).fetchone()
        return found is not None and int(found[0]) == len(names)

    # -- lifecycle -------------------------------------------------------------------------
    def close(self) -> None:
        """Close the connection (idempotent)."""
        with contextlib.suppress(duckdb.Error):
            self.con.close()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _migrate(self) -> None:
        self.con.execute(
            "CREATE TABLE IF NOT EXISTS _meta (key VARCHAR PRIMARY KEY, value VARCHAR)"
        )
        row = self.con.execute("SELECT value FROM _meta WHERE key = 'schema_version'").fetchone()
        version = int(row[0]) if row else 0
        for number, statements in enumerate(MIGRATIONS[version:], start=version + 1):
            with self.transaction():
                for sql in statements:
                    self.con.execute(sql)
                self.set_meta("schema_version", str(number))
            logger.debug("applied migration %d", number)

    @property
    def schema_version(self) -> int:
        """The number of migrations applied."""
        value = self.get_meta("schema_version")
        return int(value) if value else 0

    # -- meta ------------------------------------------------------------------------------
    def get_meta(self, key: str) -> str | None:
        """A value from the key/value meta table, or None."""
        row = self.con.execute("SELECT value FROM _meta WHERE key = ?", [key]).fetchone()
        return None if row is None else str(row[0])

    def set_meta(self, key: str, value: str) -> None:
        """Set a value in the key/value meta table (both statements or neither: see
        :meth:`_atomic`)."""
        with self._atomic():
            self.con.execute("DELETE FROM _meta WHERE key = ?", [key])
            self.con.execute("INSERT INTO _meta VALUES (?, ?)", [key, value])

    # -- transactions ----------------------------------------------------------------------
    @contextlib.contextmanager
    def transaction(self) -> Iterator[Store]:
        """All writes inside commit together, or none do (the exception propagates)."""
        self.con.execute("BEGIN TRANSACTION")
        self._in_transaction = True
        try:
            yield self
        except BaseException:
            self.con.execute("ROLLBACK")
            raise
        finally:
            self._in_transaction = False
        self.con.execute("COMMIT")

    @contextlib.contextmanager
    def _atomic(self) -> Iterator[None]:
        """A write of several statements (a DELETE then an INSERT) done whole or not at all:
        its own transaction, unless it is already inside :meth:`transaction` (whose commit
        then covers it). A writer using ``Store(path)`` directly, killed between the two,
        lost the row: DuckDB commits each statement on its own outside a transaction."""
        if self._in_transaction:
            yield
            return
        with self.transaction():
            yield

    def cursor(self) -> duckdb.DuckDBPyConnection:
        """A cursor for one thread (DuckDB connections are not thread-safe).

        Inside ``transaction()`` this is the transaction's own connection, so reads (``select``,
        ``count``) see the transaction's uncommitted writes; a fresh cursor would not.
        """
        if self._in_transaction:
            return self.con
        return self.con.cursor()

    # -- typed I/O -------------------------------------------------------------------------
    def upsert(self, records: Iterable[Record]) -> int:
        """Insert records, replacing rows with the same key. Returns the number written.

        Records may be of several models; each model's rows are written in one batch.
        """
        by_model: dict[type[Record], list[Record]] = {}
        for rec in records:
            by_model.setdefault(type(rec), []).append(rec)
        total = 0
        for model, recs in by_model.items():
            total += self._upsert_model(model, recs)
        return total

    def _upsert_model(self, model: type[Record], recs: Sequence[Record]) -> int:
        # Last one wins within a batch, as it would across batches.
        unique = list({tuple(getattr(r, k) for k in model.key): r for r in recs}.values())
        jcols = json_columns(model)
        fields = list(model.model_fields)
        columns: dict[str, list[Any]] = {f: [] for f in fields}
        for rec in unique:
            for f in fields:
                value = getattr(rec, f)
                columns[f].append(json.dumps(value, sort_keys=True) if f in jcols else value)
        batch = pa.table(columns)  # noqa: F841  (read by DuckDB's replacement scan)
        cols = ", ".join(fields)
        keys = " AND ".join(f"t.{k} = b.{k}" for k in model.key)
        with self._atomic():
            self.con.execute(
                f"DELETE FROM {model.table} t WHERE EXISTS (SELECT 1 FROM batch b WHERE {keys})"
            )
            self.con.execute(f"INSERT INTO {model.table} ({cols}) SELECT {cols} FROM batch")
        return len(unique)

    def select(
        self,
        model: type[R],
        where: str = "",
        params: Sequence[Any] = (),
        *,
        order_by: str | None = None,
        limit: int | None = None,
        validate: bool = True,
    ) -> list[R]:
        """Rows of ``model``'s table as records. ``where`` is SQL with ``?`` parameters.

        ``validate=False`` builds the records with ``model_construct``, skipping pydantic's
        validators: every row was validated when it was written, and DuckDB hands back the
        types the validated model holds (dates, datetimes, floats, lists; JSON columns are
        decoded here), so the records compare equal (``tests/test_store_construct.py``). It
        is for hot read paths such as ``Searcher.open`` (8 s of 100,000 papers re-validated).
        """
        fields = list(model.model_fields)
        sql = f"SELECT {', '.join(fields)} FROM {model.table}"
        if where:
            sql += f" WHERE {where}"
        sql += f" ORDER BY {order_by or ', '.join(model.key)}"
        if limit is not None:
            sql += f" LIMIT {int(limit)}"
        cur = self.cursor()
        rows = cur.execute(sql, list(params)).fetchall()
        return [self._to_record(model, fields, row, validate) for row in rows]

    @staticmethod
    def _to_record(
        model: type[R], fields: list[str], row: Sequence[Any], validate: bool = True
    ) -> R:
        jcols = json_columns(model)
        data = {
            f: (json.loads(v) if f in jcols and v is not None else v)
            for f, v in zip(fields, row, strict=True)
        }
        for f, info in model.model_fields.items():
            if data[f] is None and typing.get_origin(info.annotation) is list:
                data[f] = []
        if validate:
            return model.model_validate(data)
        # pydantic's mypy plugin types model_construct on a type[R] as the bound, Record
        return typing.cast(R, model.model_construct(**data))

    def get(self, model: type[R], *key: Any) -> R | None:
        """The record with this primary key, or None."""
        where = " AND ".join(f"{k} = ?" for k in model.key)
        rows = self.select(model, where, key, limit=1)
        return rows[0] if rows else None

    def count(self, model: type[Record], where: str = "", params: Sequence[Any] = ()) -> int:
        """Number of rows in ``model``'s table (optionally matching ``where``)."""
        sql = f"SELECT count(*) FROM {model.table}" + (f" WHERE {where}" if where else "")
        row = self.cursor().execute(sql, list(params)).fetchone()
        return int(row[0]) if row else 0

    def delete(self, model: type[Record], where: str, params: Sequence[Any] = ()) -> None:
        """Delete rows of ``model``'s table matching ``where`` (required: no accidental wipes)."""
        if not where:
            raise BadInputError("delete needs a WHERE clause")
        self.con.execute(f"DELETE FROM {model.table} WHERE {where}", list(params))


#: How long opening a store waits for a DuckDB file lock held by another process (a build's
#: ``CHECKPOINT`` holds one for a moment) before saying who holds it.
LOCK_WAIT_SECONDS = 3.0
#: How long a writer (``staged``) waits for another kb process writing the same store.
WRITER_WAIT_SECONDS = 600.0
_LOCK_HOLDER = re.compile(r"Conflicting lock is held in (?P<exe>.*?) \(PID (?P<pid>\d+)\)")


def _connect(path: str, *, read_only: bool) -> duckdb.DuckDBPyConnection:
    """``duckdb.connect``, retried while another process holds the file's lock for a moment;
    a lock held longer, or a file we may not open, is a ``KBError`` saying who or why."""
    deadline = time.monotonic() + LOCK_WAIT_SECONDS
    while True:
        try:
            con = duckdb.connect(path, read_only=read_only)
        except duckdb.IOException as err:
            holder = _LOCK_HOLDER.search(str(err))
            if holder is None:
                if "Permission denied" in str(err):
                    raise KBError(
                        f"{path}: cannot open the knowledge base for "
                        f"{'reading' if read_only else 'writing'}: permission denied"
                    ) from err
                raise KBError(f"{path}: cannot open the knowledge base: {err}") from err
            if time.monotonic() >= deadline:
                who = describe_process(int(holder["pid"]), holder["exe"])
                raise KBError(
                    f"{path}: the knowledge base is locked by another program writing it "
                    f"({who}); wait for it to finish or close it, then try again"
                ) from err
            time.sleep(0.1)
            continue
        _quiet(con)
        return con


def _quiet(con: duckdb.DuckDBPyConnection) -> None:
    """Turn off DuckDB's own progress bar (its cursors inherit the setting). It printed
    ``100% ▕███▏`` to stdout for any statement over 2 s (a 100k-paper ingest), whatever ``-q``
    said, and ahead of ``--json``'s first object, so the output no longer parsed."""
    con.execute("SET enable_progress_bar = false")


def describe_process(pid: int, fallback: str = "") -> str:
    """``PID n of user u: its command line`` (from /proc where there is one), for lock
    messages; the user is left out when it is the one running us, the command when unknown."""
    try:
        raw = Path(f"/proc/{pid}/cmdline").read_bytes()
        command = " ".join(a.decode(errors="replace") for a in raw.split(b"\0") if a)
    except OSError:
        command = fallback
    command = " ".join(command.split())  # one line, even for `python -c "..."`
    if len(command) > 160:
        command = command[:159] + "…"
    who = f"PID {pid}"
    try:
        uid = os.stat(f"/proc/{pid}").st_uid
        if uid != os.getuid():
            import pwd

            who += f" of user {pwd.getpwuid(uid).pw_name}"
    except (OSError, KeyError):
        pass
    return f"{who}: {command}" if command else who


def companion_files(db_path: Path) -> list[Path]:
    """Files that live beside a store and are swapped with it (e.g. the search index)."""
    return sorted(db_path.parent.glob(db_path.name + ".*"))


@contextlib.contextmanager
def staged(path: str | os.PathLike[str]) -> Iterator[Store]:
    """Open a copy of the store at ``path`` for writing; swap it in only on success.

    Readers that already have the old file open keep reading it; new readers see the new one.
    If the body raises, the copy is deleted and ``path`` is exactly as it was. Companion files
    named ``<db>.<suffix>`` (the search index) written as ``<tmp>.<suffix>`` are swapped too.
    The copy and its companions are flushed to disk (fsync) before they are renamed in and the
    folder after, so a power cut leaves whole files; the renames are one after the other, so
    each swap stamps one generation token into the store and its FAISS file
    (:data:`GENERATION_KEY`), and a pair cut apart by a ``kill -9`` or a power cut between two
    renames is named when the index is opened (``kb.index.open_index``).

    One writer at a time: a second ``staged`` on the same path (another ``kb ingest``, a
    ``kb fit`` storing its fit) waits for the first to swap, then copies its result, so neither
    write is lost (``WRITER_WAIT_SECONDS``). A read-only file or folder, or another program
    holding the file open for writing, is a ``KBError`` before anything is copied.
    """
    if str(path) == ":memory:":
        with Store(":memory:") as store:
            yield store
        return
    target = store_file(path)
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
    except OSError as err:
        raise KBError(f"{target}: cannot create its folder: {err.strerror}") from err
    check_writable(target)
    with _writer_lock(target):
        # pid plus a random part: pids repeat across hosts and containers sharing a volume.
        token = f"{os.getpid()}-{uuid.uuid4().hex[:12]}"
        tmp = target.with_name(f".{target.name}.building-{token}")
        lock = _lock_copy(tmp)  # held until the copy is swapped in or removed
        _LIVE_TOKENS.add(token)
        try:
            _remove_abandoned_copies(target)
            with _build_copy(target, tmp) as store:
                yield store
        finally:
            _LIVE_TOKENS.discard(token)
            _unlock_copy(tmp, lock)


@contextlib.contextmanager
def _build_copy(target: Path, tmp: Path) -> Iterator[Store]:
    """The body of :func:`staged`: copy ``target`` to ``tmp``, yield it, swap it in."""
    if target.exists():
        _refuse_foreign(target)
        _refuse_other_writer(target)
        with contextlib.suppress(duckdb.Error), duckdb.connect(str(target)) as con:
            _quiet(con)
            con.execute("CHECKPOINT")  # fold any WAL into the file before copying it
        try:
            shutil.copy2(target, tmp)
            for comp in companion_files(target):
                shutil.copy2(comp, tmp.with_name(tmp.name + comp.name[len(target.name) :]))
        except BaseException as err:  # a Ctrl-C mid-copy too: no half copy left behind
            _remove_with_companions(tmp)
            if isinstance(err, OSError):
                raise KBError(
                    f"{target}: cannot make the working copy to write into: {err}"
                ) from err
            raise
    try:
        store = Store(tmp)
    except BaseException as err:
        _remove_with_companions(tmp)  # no half-written copy left beside the store
        if isinstance(err, KBError):  # name the user's file, not the staging copy
            raise KBError(str(err).replace(str(tmp), str(target))) from err
        raise
    try:
        yield store
        # One token into the store and every companion that can hold it (the FAISS index):
        # a store and an index from two different swaps are then told apart for certain.
        generation = uuid.uuid4().hex
        for comp in companion_files(tmp):
            stamp_generation(comp, generation)
        store.set_meta(GENERATION_KEY, generation)
        store.con.execute("CHECKPOINT")
        store.close()
        moves = [
            (comp, target.with_name(target.name + comp.name[len(tmp.name) :]))
            for comp in companion_files(tmp)
            if comp.suffix not in (".wal", ".lock")
        ]
        # On disk before renamed in: after a power cut a renamed file may otherwise be empty.
        _fsync_files([tmp, *(src for src, _ in moves)], target)
    except BaseException:
        store.close()
        _remove_with_companions(tmp)
        raise
    global _SWAPS
    # The store and its index are replaced one file after the other: a Ctrl-C between two
    # replaces would pair a new index with the old store, so signals wait until both are done.
    # A kill -9 or a power cut between them still can; the generation token names that pair
    # (kb.index.open_index).
    renamed: list[Path] = []
    with signals_deferred():
        for src, dest in [*moves, (tmp, target)]:
            try:
                os.replace(src, dest)
            except OSError as err:
                _remove_with_companions(tmp)
                raise KBError(_swap_failed(target, dest, renamed, err)) from err
            renamed.append(dest)
        _SWAPS += 1
    _fsync_folder(target.parent)  # the renames themselves on disk
    _remove_with_companions(tmp)


def _swap_failed(target: Path, failed: Path, renamed: list[Path], err: OSError) -> str:
    """The message for a rename of the swap that failed (``failed``) after ``renamed``."""
    what = f"{target}: cannot swap the new version in ({failed.name}: {err.strerror})"
    if not renamed:
        return f"{what}; the knowledge base is unchanged"
    return (
        f"{what} after replacing {', '.join(p.name for p in renamed)}: the store is as it "
        f"was, but those files are the new version's; once the cause is fixed, run "
        f"`kb index --rebuild --db {target}` to rebuild them from the store"
    )


#: ``_meta`` key of the store's generation: a random token written at each swap of a staged
#: copy (:func:`staged`) into the store and into its FAISS index file (:func:`stamp_generation`),
#: so an index swapped in with another store than this one is named (``kb.index.open_index``)
#: however alike the two files look. Stores and indexes from before it have none.
GENERATION_KEY = "generation"
# The token is appended to the FAISS file as a trailer of fixed length: faiss reads only the
# bytes its header announces and ignores what follows (``faiss.read_index``; tested).
_TRAILER_HEAD = b"\n#kb-generation "
_TRAILER = re.compile(rb"\n#kb-generation ([0-9a-f]{32})\n\Z")
TRAILER_BYTES = len(_TRAILER_HEAD) + 32 + 1
# Companions stamped: formats that tolerate bytes after their end. The keyword index (.npz, a
# zip) carries a digest of the texts it was built from and is checked against the store's
# texts (kb.keyword_cache), which already tells a mismatched one for certain.
_STAMPED_SUFFIXES = (".faiss",)


def generation_of(path: Path) -> tuple[str | None, int]:
    """(the generation token stamped on the companion file ``path``, or None if it has none;
    the file's length without the token's trailer). Raises OSError if it cannot be read."""
    with path.open("rb") as fh:
        size = os.fstat(fh.fileno()).st_size
        if size < TRAILER_BYTES:
            return None, size
        fh.seek(size - TRAILER_BYTES)
        found = _TRAILER.match(fh.read(TRAILER_BYTES))
    if found is None:
        return None, size
    return found[1].decode("ascii"), size - TRAILER_BYTES


def stamp_generation(path: Path, generation: str) -> bool:
    """Write ``generation`` (32 hex digits) into the companion file ``path`` if its format can
    hold it (a FAISS index: replacing the trailer of an earlier swap, else appended). True if
    stamped. A file that does not start as a FAISS index does (its four-character code begins
    with 'I') is left alone: it fails to open as an index anyway, and says so."""
    if not path.name.endswith(_STAMPED_SUFFIXES) or not path.is_file():
        return False
    trailer = _TRAILER_HEAD + generation.encode("ascii") + b"\n"
    if _TRAILER.fullmatch(trailer) is None:
        raise ValueError(f"a generation is 32 lower-case hex digits, not {generation!r}")
    _, payload = generation_of(path)
    with path.open("r+b") as fh:
        if fh.read(1) != b"I":
            return False
        fh.seek(payload)
        fh.write(trailer)
        fh.truncate()
    return True


def _fsync_files(paths: Sequence[Path], target: Path) -> None:
    """Flush ``paths`` (the staged copy and its companions) to disk before they are renamed
    over ``target`` and its companions; a failure leaves the knowledge base as it was."""
    for path in paths:
        try:
            fd = os.open(path, os.O_RDONLY)
            try:
                os.fsync(fd)
            finally:
                os.close(fd)
        except OSError as err:
            raise KBError(
                f"{target}: cannot write the new version to disk ({path.name}: {err.strerror}); "
                "the knowledge base is unchanged"
            ) from err


def _fsync_folder(folder: Path) -> None:
    """Flush ``folder``'s entries (the renames just made) to disk; a file system that cannot
    (some refuse fsync on a folder) is logged, not an error: the renames are done."""
    try:
        fd = os.open(folder, os.O_RDONLY | os.O_DIRECTORY)
    except OSError as err:
        logger.warning("%s: cannot open the folder to flush its renames: %s", folder, err)
        return
    try:
        os.fsync(fd)
    except OSError as err:
        logger.warning("%s: cannot flush the folder's renames to disk: %s", folder, err)
    finally:
        os.close(fd)


_SWAPS = 0
_DEFERRED_SIGNALS = {signal.SIGINT, signal.SIGTERM}


def swap_count() -> int:
    """How many staged copies this process has swapped in (the CLI compares the count before
    and after an interrupted command, to say whether the store changed)."""
    return _SWAPS


@contextlib.contextmanager
def signals_deferred() -> Iterator[None]:
    """SIGINT and SIGTERM held back inside and acted on when it ends, so that a few steps that
    must happen all or not at all (swapping a store and its companion files) are not cut in
    two.

    Python runs signal handlers in the main thread, whichever thread the kernel gave the
    signal to (DuckDB's and torch's threads take them too, so masking signals in this thread
    did not hold them back): inside, the handlers only note a signal; on leaving, the handlers
    are put back and the first signal noted goes to its own (a ``KeyboardInterrupt`` raised
    then, the process ended by a default action). Elsewhere than in the main thread, where
    handlers cannot be set, this does nothing.
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    noted: list[int] = []

    def note(signum: int, frame: types.FrameType | None) -> None:
        noted.append(signum)

    before = {int(s): signal.signal(s, note) for s in _DEFERRED_SIGNALS}
    try:
        yield
    finally:
        for s, handler in before.items():
            signal.signal(s, handler if handler is not None else signal.SIG_DFL)
        if noted:
            handler = before[noted[0]]
            if callable(handler):
                handler(noted[0], None)
            elif handler in (signal.SIG_DFL, None):
                signal.raise_signal(noted[0])


def store_file(path: str | os.PathLike[str]) -> Path:
    """The file a writer replaces: ``path``, or where it points when it is a symbolic link.

    The working copy is built beside that file and swapped in for it, so a link stays a link
    to the store it named (swapping at the link's path replaced the link with a copy and left
    the store it pointed to unchanged), and a link and its target share one writer lock.
    """
    target = Path(path)
    return Path(os.path.realpath(target)) if target.is_symlink() else target


def check_writable(target: Path) -> None:
    """Raise a ``KBError`` if a writer could not build beside ``target`` and swap it in: the
    folder must be writable (the working copy lives there) and so must an existing file (a
    file made read-only, chmod 444, is not replaced behind its owner's back). A symbolic link
    is judged by the file it points to (:func:`store_file`)."""
    target = store_file(target)
    folder = target.parent
    why = None
    if not os.access(folder, os.W_OK | os.X_OK):
        why = f"its folder {folder} is read-only"
    elif target.exists() and not os.access(target, os.W_OK):
        why = "the file is read-only"
    if why is not None:
        raise KBError(
            f"{target}: cannot write the knowledge base ({why}); reading commands (kb search, "
            f"kb papers, kb laws, ...) still work. To write, copy it to a writable folder "
            f"(cp {target}* DIR/) and pass --db DIR/{target.name}"
        )


# (writer lock path, thread) pairs holding a writer lock in this process.
_WRITER_LOCKS_HELD: set[tuple[str, int]] = set()


def _writer_lock_path(target: Path) -> Path:
    # A dot name not starting with "<db>.", so companion_files never copies or swaps it.
    return target.with_name(f".{target.name}.writer-lock")


@contextlib.contextmanager
def _writer_lock(target: Path) -> Iterator[None]:
    """Hold the store's writer lock (``flock`` on a file beside it, freed by the kernel if
    the process dies), waiting up to ``WRITER_WAIT_SECONDS`` for another writer and saying
    who it is. The lock file holds the holder's pid and start time and is removed on exit.

    A thread that already holds it (a ``staged`` inside another on the same path) goes on
    without waiting for itself; other threads and processes wait."""
    path = _writer_lock_path(target)
    key = (str(path.resolve()), threading.get_ident())
    if key in _WRITER_LOCKS_HELD:
        yield
        return
    deadline = time.monotonic() + WRITER_WAIT_SECONDS
    told = False
    while True:
        try:
            fd = _flock_at(path)
        except OSError as err:
            raise KBError(f"{target}: cannot create or lock {path}: {err.strerror}") from err
        if fd is not None:
            break
        holder = _lock_holder(path)
        if time.monotonic() >= deadline:
            raise KBError(
                f"{target}: another kb command is still writing the knowledge base "
                f"({holder}) after {WRITER_WAIT_SECONDS:.0f} s of waiting; run this again "
                "when it has finished"
            )
        if not told:
            logger.warning(
                "%s: waiting for another kb command writing it (%s) to finish", target, holder
            )
            told = True
        time.sleep(0.2)
    _WRITER_LOCKS_HELD.add(key)
    try:
        os.ftruncate(fd, 0)
        os.write(fd, f"{os.getpid()}\n{time.strftime('%Y-%m-%d %H:%M:%S')}\n".encode())
        yield
    finally:
        _WRITER_LOCKS_HELD.discard(key)
        with contextlib.suppress(FileNotFoundError):
            path.unlink()
        os.close(fd)


def _flock_at(path: Path) -> int | None:
    """Open ``path`` (creating it) and take its ``flock`` without waiting: the descriptor, or
    None when another process holds it or the file at ``path`` was replaced meanwhile (a
    holder removes its lock file on release, so an open file may be an unlinked one: only the
    file at the path counts). Raises OSError when the file cannot be opened or locked at all.
    The writer lock and the staging copies' locks both take their files this way."""
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError as err:
        os.close(fd)
        if err.errno in (errno.EWOULDBLOCK, errno.EAGAIN, errno.EACCES):
            return None
        raise
    with contextlib.suppress(FileNotFoundError):
        if os.stat(path).st_ino == os.fstat(fd).st_ino:
            return fd
    os.close(fd)
    return None


def _lock_holder(path: Path) -> str:
    """Who holds the writer lock at ``path``, from what it wrote there."""
    try:
        pid_text, _, started = path.read_text().partition("\n")
        pid = int(pid_text)
    except (OSError, ValueError):
        return "a process that has just started"
    return describe_process(pid) + (f", since {started.strip()}" if started.strip() else "")


def _refuse_other_writer(path: Path) -> None:
    """Raise if a program outside kb (a DuckDB shell, a notebook) holds ``path`` open for
    writing: swapping a new file in would lose what it writes. Readers (the app) are fine."""
    try:
        _connect(str(path), read_only=True).close()
    except KBError as err:
        if "locked by another program" in str(err):
            raise KBError(
                str(err).replace("wait for it to finish or close it", "close it")
                + "; nothing was written"
            ) from err


def _refuse_foreign(path: Path) -> None:
    """Raise if ``path`` is a DuckDB file holding tables but no knowledge base (no ``_meta``)."""
    try:
        with duckdb.connect(str(path), read_only=True) as con:
            tables = sorted(r[0] for r in con.execute("SHOW TABLES").fetchall())
    except duckdb.Error:
        return  # not DuckDB at all, or busy: Store() explains that
    if tables and "_meta" not in tables:
        raise KBError(
            f"{path}: a DuckDB file but not a scaling-kb knowledge base (tables: "
            f"{', '.join(tables[:5])}); refusing to write into it, choose another --db"
        )


# Tokens of this process's own staging copies: never judged abandoned, and their lock files
# never opened a second time here (closing that second descriptor would drop the lock where
# flock is emulated by POSIX locks, as on NFS).
_LIVE_TOKENS: set[str] = set()
# A copy named by a pid alone (written before lock files) is removed only when that pid is
# gone here and the copy has not been touched for this long: the pid may be another host's.
_LEGACY_AGE_S = 24 * 3600


def _lock_path(tmp: Path) -> Path:
    return tmp.with_name(tmp.name + ".lock")


def _lock_copy(tmp: Path) -> int | None:
    """Create and hold (``flock``) the lock file of the staging copy ``tmp``: while it is held
    the copy belongs to a live build, whatever host or pid namespace that build runs in.
    None if the file system refuses locks (the copy is then never judged abandoned)."""
    path = _lock_path(tmp)
    for _ in range(3):
        try:
            fd = _flock_at(path)
        except OSError as err:  # e.g. a read-only folder: the copy itself fails next, and says so
            logger.warning("%s: cannot create or lock (%s); not cleaned up if killed", path, err)
            return None
        if fd is not None:  # else a cleaner held or removed it for a moment: try again
            return fd
    logger.warning("%s: cannot lock; it will not be cleaned up if killed", path)
    return None


def _unlock_copy(tmp: Path, fd: int | None) -> None:
    with contextlib.suppress(FileNotFoundError):
        _lock_path(tmp).unlink()  # before unlocking, so no cleaner ever sees it free
    if fd is not None:
        os.close(fd)


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:
        return True  # exists but belongs to another user
    return True


def _abandoned(copy: Path, token: str) -> tuple[bool, int | None]:
    """(whether the staging copy with ``token`` is abandoned, the descriptor of its lock file
    if we now hold that lock: close it with ``_unlock_copy`` once the copy is removed)."""
    if token in _LIVE_TOKENS:
        return False, None
    if token.isdigit():  # an old-style name: the pid alone
        try:
            idle = time.time() - copy.stat().st_mtime
        except FileNotFoundError:
            return True, None
        return idle > _LEGACY_AGE_S and not _pid_alive(int(token)), None
    try:
        fd = os.open(_lock_path(copy), os.O_RDWR)
    except FileNotFoundError:
        return True, None  # the lock comes first and goes last: its build is over
    except OSError:
        return False, None
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        os.close(fd)
        return False, None  # held: a live build, here or on another host
    return True, fd


def _remove_abandoned_copies(target: Path) -> None:
    """Delete staging copies of ``target`` left by builds that were killed (``kill -9``, a
    crash, a power cut): nothing will ever swap or remove them, and each is a full copy of
    the store. A copy belongs to a live build while its lock file is locked (``flock``), which
    holds across hosts and pid namespaces sharing the folder, unlike a pid."""
    prefix = f".{target.name}.building-"
    tokens = {
        p.name[len(prefix) :].split(".", 1)[0]
        for p in target.parent.iterdir()
        if p.name.startswith(prefix)
    }
    for token in sorted(tokens):
        copy = target.with_name(prefix + token)
        abandoned, fd = _abandoned(copy, token)
        if abandoned:
            logger.info("removing %s: left by a build that did not finish", copy)
            _remove_with_companions(copy)
            _unlock_copy(copy, fd)


def _remove_with_companions(path: Path) -> None:
    """Remove a staging copy and its companions, but not its lock file (``_unlock_copy``)."""
    for p in [path, *companion_files(path)]:
        if p.suffix == ".lock":
            continue
        with contextlib.suppress(FileNotFoundError):
            p.unlink()
