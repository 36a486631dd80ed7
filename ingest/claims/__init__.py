"""Scaling-law claims and exponents extracted from abstracts, with the sentence as evidence.

``extract(paper)`` reads one paper; ``extract_into(store, papers)`` writes labels, claims and
exponents for some papers (inside the caller's transaction); ``extract_store(store)`` redoes every
paper after the rules change. Every row carries ``EXTRACTOR_VERSION``.
"""

from __future__ import annotations

import contextlib
import logging
import multiprocessing
import os
import signal
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool

from ingest.claims.extract import EXTRACTOR_VERSION, Extraction, SentenceReading, explain, extract
from kb.errors import KBError
from kb.records import Claim, Exponent, Paper, Record
from kb.store import Store

__all__ = [
    "EXTRACTOR_VERSION",
    "Extraction",
    "SentenceReading",
    "explain",
    "extract",
    "extract_into",
    "extract_store",
    "write_extractions",
]

logger = logging.getLogger(__name__)

Progress = Callable[[int, int], None]
# Below this many papers, starting worker processes (about a second each) costs more than it saves.
PARALLEL_MIN_PAPERS = 2000
# Papers a worker reads per task: a stopped run (Ctrl-C) waits for the tasks running, ~20 ms a
# paper on a busy 2-core machine, so 25 is half a second; the overhead per task is ~1 ms.
CHUNK = 25


def extract_into(
    store: Store,
    papers: Sequence[Paper],
    *,
    on_progress: Progress | None = None,
    workers: int = 1,
) -> int:
    """Label ``papers`` and replace their claims and exponents; returns the claims written.

    Writes the papers back with ``studies_scaling_law``, ``domain`` and ``extractor_version``
    set. Opens no transaction of its own: the caller's (``kb ingest``, ``kb extract``) makes the
    whole run atomic. With ``workers > 1`` and enough papers to pay for starting them, the
    (pure, CPU-bound) reading runs in that many processes; writing stays in this one.
    """
    total = len(papers)
    results: list[Extraction] = []
    if workers > 1 and total >= PARALLEL_MIN_PAPERS:
        ctx = multiprocessing.get_context("spawn")  # never fork a process holding DuckDB
        # Workers ignore SIGINT and SIGTERM from their start: a Ctrl-C reaches the whole
        # process group, and a worker that took it printed a KeyboardInterrupt (or, once the
        # parent had gone, EOFError) traceback; a worker SIGTERM killed left a broken pool whose
        # shutdown could hang (Python 3.11). This process handles both and stops them, and they
        # end with it anyway (_exit_with_parent).
        with _children_ignore_signals():
            pool = ProcessPoolExecutor(
                workers, mp_context=ctx, initializer=_worker_init, initargs=(os.getpid(),)
            )
            # Each submit starts a worker until there are `workers` (spawn context, CPython
            # 3.11+), so they all start here. Submitting every chunk in here too kept a
            # Ctrl-C or SIGTERM ignored, and lost, for 2.3 s at 100,000 papers (0.1 s at 5,000).
            for _ in range(workers):
                pool.submit(int)
        chunks = pool.map(extract, papers, chunksize=CHUNK)  # submits every chunk now
        try:
            for result in chunks:
                results.append(result)
                if on_progress is not None and len(results) % 250 == 0:
                    on_progress(len(results), total)
        except BaseException as err:
            # Not `with pool`: its exit waits for every chunk submitted, so a Ctrl-C at the
            # start of 100k papers waited for all of them. Only the chunks running finish
            # (hence small chunks: 250 papers took a worker about 5 s).
            died = _stop_pool(pool)
            if isinstance(err, BrokenProcessPool):
                raise KBError(
                    f"claim extraction stopped: a worker process {died}; nothing was stored. "
                    "Run it again, or ingest with --no-extract and run `kb extract` later"
                ) from err
            raise
        _stop_pool(pool)
    else:
        for done, paper in enumerate(papers, start=1):
            results.append(extract(paper))
            if on_progress is not None:
                on_progress(done, total)
    return write_extractions(store, papers, results)


def _stop_pool(pool: ProcessPoolExecutor) -> str:
    """Shut ``pool`` down, cancelling the chunks not started; returns how its workers that
    died ended ('was killed by SIGKILL', ...) if one did.

    When a worker dies (the out-of-memory killer, a crash), the pool stops the others with
    SIGTERM, which they ignore (``_worker_init``), then waits for them: `kb ingest` hung for
    good. The others are killed (SIGKILL) instead; they hold nothing to save.
    """
    # ProcessPoolExecutor has no public way to reach its processes (CPython 3.8-3.13: _broken,
    # _processes, a dict pid -> Process).
    processes = list((getattr(pool, "_processes", None) or {}).values())
    died = ""
    if getattr(pool, "_broken", False):
        ended = [p.exitcode for p in processes if p.exitcode is not None]
        died = ", ".join(sorted({_how_it_ended(code) for code in ended})) or "ended abruptly"
        for proc in processes:
            if proc.exitcode is None:
                proc.kill()
    pool.shutdown(wait=True, cancel_futures=True)
    return died


def _how_it_ended(exitcode: int) -> str:
    if exitcode < 0:
        try:
            name = signal.Signals(-exitcode).name
        except ValueError:
            name = f"signal {-exitcode}"
        hint = " (the out-of-memory killer?)" if exitcode == -signal.SIGKILL else ""
        return f"was killed by {name}{hint}"
    return f"exited with status {exitcode}"


_WORKER_IGNORES = (signal.SIGINT, signal.SIGTERM)


@contextlib.contextmanager
def _children_ignore_signals() -> Iterator[None]:
    """Processes started inside ignore SIGINT and SIGTERM from their first instruction: an
    ignored signal stays ignored across ``exec``, and the spawned interpreter imports for a
    second or more before an initializer could say so. This process ignores them meanwhile
    too, only while the workers are launched (milliseconds)."""
    if threading.current_thread() is not threading.main_thread():
        yield  # signal dispositions are the main thread's to set
        return
    before = {int(s): signal.signal(s, signal.SIG_IGN) for s in _WORKER_IGNORES}
    try:
        yield
    finally:
        for s, handler in before.items():
            signal.signal(s, handler if handler is not None else signal.SIG_DFL)


def _worker_init(parent: int) -> None:
    """Worker initializer: SIGINT and SIGTERM ignored (the parent stops the pool; inherited
    already when started by ``extract_into``), and the worker ends with its parent."""
    for s in _WORKER_IGNORES:
        signal.signal(s, signal.SIG_IGN)
    _exit_with_parent(parent)


def _exit_with_parent(parent: int) -> None:
    """End this worker once the process that started it is gone.

    A ``kill -9`` of ``kb ingest``/``kb extract`` during parallel extraction left its workers
    running for good (each ~90 MB, blocked on a queue nobody writes to any more).
    """

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(1.0)
        os._exit(1)

    threading.Thread(target=watch, name="kb-exit-with-parent", daemon=True).start()


def write_extractions(store: Store, papers: Sequence[Paper], results: Sequence[Extraction]) -> int:
    """Store what ``extract`` read from each of ``papers``; returns the claims written."""
    rows: list[Record] = []
    n_claims = 0
    for paper, result in zip(papers, results, strict=True):
        rows.append(
            paper.model_copy(
                update={
                    "studies_scaling_law": result.studies_scaling_law,
                    "domain": result.domain,
                    "extractor_version": result.extractor_version,
                }
            )
        )
        rows.extend(result.claims)
        rows.extend(result.exponents)
        n_claims += len(result.claims)
    ids = [p.paper_id for p in papers]
    if ids:
        for model in (Claim, Exponent):
            store.delete(model, "paper_id IN (SELECT unnest(?))", [ids])
    store.upsert(rows)
    logger.info("extracted %d claims from %d papers", n_claims, len(papers))
    return n_claims


def extract_store(store: Store, *, on_progress: Progress | None = None, workers: int = 1) -> int:
    """Re-extract every paper in the store (no transaction of its own); returns claims written."""
    return extract_into(store, store.select(Paper), on_progress=on_progress, workers=workers)
