"""A durable side log of the vectors a ``kb index`` run has encoded, so a ``kill -9`` keeps them.

``kb index`` writes into a staged copy of the store (``kb.store.staged``) and swaps it in at
the end; a process killed outright (``kill -9``, the OOM killer, a power cut) never swaps, and
the copy is removed by the next writer. Every vector computed so far went with it: half an hour
of the model's time on 100,000 papers. The journal keeps them beside the store instead.

The journal is a folder ``.<db>.embed-journal`` beside the store file (a dot name outside
``<db>.*``, so it is neither copied nor swapped as a companion file). Vectors are appended in
memory and written as one chunk file every ``FLUSH_TEXTS`` texts or ``FLUSH_SECONDS`` seconds,
whichever comes first, and when embedding ends: each chunk is written to a ``.tmp`` name,
fsynced, renamed to its ``.npz`` name and the folder fsynced, so a chunk is read back whole or
not at all (a ``.tmp`` left by a kill is deleted unread). The next build reads every chunk into
its copy's ``embeddings`` table before looking up the cache (:meth:`EmbedJournal.recover`), so
it encodes only what no chunk holds; once the copy holding them is swapped in, the chunks are
deleted (:meth:`EmbedJournal.clear`).

Chunks hold content hashes and vectors only (no text). A chunk that cannot be read (a damaged
disk) is reported and deleted: its texts are embedded again.
"""

from __future__ import annotations

import contextlib
import logging
import os
import time
import zipfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa

from kb.store import Store, store_file

logger = logging.getLogger(__name__)

__all__ = ["FLUSH_SECONDS", "FLUSH_TEXTS", "EmbedJournal", "journal_folder"]

# A chunk is written after this many texts or this many seconds since the last one, whichever
# first: a kill loses at most that much of the model's work. One chunk of 1,024 384-d vectors is
# 1.6 MB; writing and fsyncing it took a few ms against ~10 s of encoding on 2 cores (the
# overhead measured on a clean build of 1,000 papers is in the README's interrupts paragraph).
FLUSH_TEXTS = 1024
FLUSH_SECONDS = 5.0
_SUFFIX = ".npz"
_TMP_SUFFIX = ".npz.tmp"
# Recovered vectors are inserted this many at a time: one INSERT per chunk would pay the
# conflict check against the whole table per chunk (kb.embed.WRITE_BATCH).
_INSERT_ROWS = 65536


def journal_folder(db_path: str | os.PathLike[str]) -> Path:
    """The journal folder of the store at ``db_path`` (beside the file a symlink names)."""
    target = store_file(db_path)
    return target.with_name(f".{target.name}.embed-journal")


class EmbedJournal:
    """Chunks of (content hash, model, vector) written durably while a build encodes.

    Args:
        folder: where the chunks live (:func:`journal_folder`); created at the first chunk.
        flush_texts, flush_seconds: write a chunk after this many texts or seconds.

    Attributes:
        n_saved: texts this journal has written in chunks.
        n_recovered: texts :meth:`recover` read back (new to the store it read them into).
    """

    def __init__(
        self,
        folder: str | os.PathLike[str],
        *,
        flush_texts: int | None = None,
        flush_seconds: float | None = None,
    ):
        self.folder = Path(folder)
        self.flush_texts = FLUSH_TEXTS if flush_texts is None else flush_texts
        self.flush_seconds = FLUSH_SECONDS if flush_seconds is None else flush_seconds
        self.n_saved = 0
        self.n_recovered = 0
        self._pending: dict[tuple[str, int], list[tuple[list[str], np.ndarray]]] = {}
        self._n_pending = 0
        self._last_flush = time.monotonic()
        self._seq = 0
        self._mine: set[Path] = set()  # chunks read or written: deleted by clear()
        self.broken: str | None = None  # why chunks can no longer be written, once they cannot

    def append(self, model: str, shas: Sequence[str], vectors: np.ndarray) -> None:
        """Add encoded vectors (one row per hash); writes a chunk when one is due."""
        if not len(shas) or self.broken is not None:
            return
        key = (model, int(vectors.shape[1]))
        self._pending.setdefault(key, []).append((list(shas), vectors))
        self._n_pending += len(shas)
        if (
            self._n_pending >= self.flush_texts
            or time.monotonic() - self._last_flush >= self.flush_seconds
        ):
            self.flush()

    def flush(self) -> None:
        """Write what was appended since the last chunk as one chunk per model (if anything)."""
        pending, self._pending, self._n_pending = self._pending, {}, 0
        for (model, dim), parts in pending.items():
            if self.broken is not None:
                break
            shas = [s for part, _ in parts for s in part]
            vectors = np.concatenate([v for _, v in parts]).astype(np.float32, copy=False)
            try:
                self._write_chunk(model, dim, shas, vectors)
            except OSError as err:
                # A safety net, not the build: a full disk or a read-only folder here stops
                # the journal, and the build goes on as before the journal existed.
                self.broken = f"{err.strerror or err}"
                logger.warning(
                    "embedding journal: cannot write in %s (%s); going on without it, so a "
                    "kill -9 from now on loses the vectors embedded by this run",
                    self.folder, self.broken,
                )  # fmt: skip
                break
            self.n_saved += len(shas)
            logger.info(
                "embedding journal: %d texts saved (%d so far) in %s",
                len(shas), self.n_saved, self.folder,
            )  # fmt: skip
        self._last_flush = time.monotonic()

    def _write_chunk(self, model: str, dim: int, shas: list[str], vectors: np.ndarray) -> None:
        self.folder.mkdir(parents=True, exist_ok=True)
        self._seq += 1
        stem = f"{time.time_ns():020d}-{os.getpid()}-{self._seq:06d}"
        final = self.folder / (stem + _SUFFIX)
        tmp = self.folder / (stem + _TMP_SUFFIX)
        try:
            with tmp.open("xb") as fh:
                np.savez(
                    fh,
                    model=np.array(model),
                    dim=np.array(dim, dtype=np.int64),
                    shas=np.array(shas, dtype="S64"),
                    vectors=np.ascontiguousarray(vectors, dtype=np.float32),
                )
                fh.flush()
                os.fsync(fh.fileno())
            os.replace(tmp, final)
        except BaseException:
            tmp.unlink(missing_ok=True)
            raise
        _fsync_folder(self.folder)
        self._mine.add(final)

    def chunks(self) -> list[Path]:
        """The whole chunks in the folder, oldest first."""
        if not self.folder.is_dir():
            return []
        return sorted(p for p in self.folder.iterdir() if p.name.endswith(_SUFFIX))

    def recover(self, store: Store) -> int:
        """Insert every chunk's vectors into ``store``'s ``embeddings`` table (a writable copy);
        returns how many were new to it. Half-written ``.tmp`` files (left by a kill) are
        deleted; a chunk that cannot be read is deleted with a warning."""
        if not self.folder.is_dir():
            return 0
        try:
            for leftover in self.folder.glob("*" + _TMP_SUFFIX):
                logger.info("removing %s: a chunk a stopped build did not finish writing", leftover)
                leftover.unlink(missing_ok=True)
            paths = self.chunks()
        except OSError as err:
            logger.warning("embedding journal: cannot read %s (%s)", self.folder, err)
            return 0
        added = 0
        batch: list[tuple[str, int, list[str], np.ndarray]] = []
        for path in paths:
            try:
                batch.append(_read_chunk(path))
            except (OSError, ValueError, KeyError, EOFError, zipfile.BadZipFile) as err:
                logger.warning("%s: unreadable embedding journal chunk (%s); deleted", path, err)
                path.unlink(missing_ok=True)
                continue
            self._mine.add(path)
            if sum(len(shas) for _, _, shas, _ in batch) >= _INSERT_ROWS:
                added += _insert(store, batch)
                batch = []
        added += _insert(store, batch)
        if added:
            logger.info("embedding journal: %d texts recovered from %s", added, self.folder)
        self.n_recovered += added
        return added

    def clear(self) -> None:
        """Delete the chunks this journal read or wrote (call once the store holding their
        vectors has been swapped in), and the folder if nothing else is left in it."""
        for path in sorted(self._mine):
            with contextlib.suppress(OSError):  # left for the next build, which reads it again
                path.unlink(missing_ok=True)
        self._mine.clear()
        with contextlib.suppress(OSError):  # not empty: another build's chunks, or missing
            self.folder.rmdir()


def _read_chunk(path: Path) -> tuple[str, int, list[str], np.ndarray]:
    with np.load(path, allow_pickle=False) as data:
        model = str(data["model"])
        dim = int(data["dim"])
        shas = [s.decode("ascii") for s in data["shas"]]
        vectors: np.ndarray = data["vectors"]
    if vectors.dtype != np.float32 or vectors.shape != (len(shas), dim) or not model:
        raise ValueError(
            f"vectors of shape {vectors.shape} ({vectors.dtype}) for {len(shas)} texts"
        )
    if not np.isfinite(vectors).all():
        raise ValueError("vectors hold NaN or infinity")
    return model, dim, shas, vectors


def _insert(store: Store, chunks: list[tuple[str, int, list[str], np.ndarray]]) -> int:
    """Insert the chunks' vectors in one statement; returns how many were new to the table."""
    if not chunks:
        return 0
    con = store.con
    before = _count(con)
    batch = pa.table(  # noqa: F841  (read by DuckDB's replacement scan)
        {
            "content_sha": [s for _, _, shas, _ in chunks for s in shas],
            "model": [m for m, _, shas, _ in chunks for _ in shas],
            "dim": [d for _, d, shas, _ in chunks for _ in shas],
            "vector": pa.array(
                [row for _, _, _, vectors in chunks for row in vectors],
                type=pa.list_(pa.float32()),
            ),
        }
    )
    con.execute(
        "INSERT INTO embeddings SELECT * FROM batch ON CONFLICT (content_sha, model) DO NOTHING"
    )
    return _count(con) - before


def _count(con: Any) -> int:
    row = con.execute("SELECT count(*) FROM embeddings").fetchone()
    return int(row[0]) if row else 0


def _fsync_folder(folder: Path) -> None:
    """Make a rename in ``folder`` durable (a power cut after it keeps the new name)."""
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:  # some filesystems refuse fsync on a folder; the rename is still atomic
        pass
    finally:
        os.close(fd)
