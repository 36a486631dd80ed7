"""The FAISS semantic index: built from the store's papers, persisted beside the DuckDB file.

The index file is the companion ``<db>.faiss`` (``kb.store.staged`` swaps it with the store).
Rows are L2-normalised vectors, so inner product is cosine. Each paper contributes one row for
its whole text (title and abstract) and one row per abstract sentence, so a question matching
one sentence of a long abstract is still found, and the best row gives the snippet.

The row -> paper map lives in the ``index_rows`` table; the model name, dimension, index kind
and a digest of the indexed texts live in ``_meta['index_meta']``. :func:`open_index` compares
them with the store and the requested model and raises ``IndexMismatchError`` explaining what
differs and to run ``kb index --rebuild``. A staged write stamps the FAISS file and the store
with one generation token (``kb.store.GENERATION_KEY``), so a file swapped in with another
version of the store is told apart even when it has the same size and row count.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import logging
import math
import os
import re
import struct
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import faiss
import numpy as np
import pyarrow as pa
from pydantic import BaseModel, ConfigDict, Field

from kb.embed import (
    EmbedCache,
    Embedder,
    FloatMatrix,
    content_sha,
    load_embedder,
    model_name,
    require_model_folder,
)
from kb.embed_journal import EmbedJournal
from kb.errors import BadInputError, IndexMismatchError
from kb.keyword import vocabulary
from kb.keyword_cache import keyword_cache_current, keyword_texts_digest, write_keyword_cache
from kb.records import Paper
from kb.sentences import MAX_SENTENCES
from kb.store import GENERATION_KEY, Store, generation_of, store_file

logger = logging.getLogger(__name__)
# faiss's bundled stubs lack the SWIG search-parameter classes and downcast results used below.
_faiss: Any = faiss

__all__ = [
    "APPROX_MIN_ROWS",
    "HNSW_MIN_ROWS",
    "EmbeddingInterrupted",
    "IndexCheck",
    "IndexMeta",
    "IndexReport",
    "IndexRow",
    "LoadedIndex",
    "build_index",
    "check_index",
    "corpus_digest",
    "current_index",
    "file_stamp",
    "index_kind",
    "index_path",
    "ivf_nlist",
    "ivf_nprobe",
    "make_faiss_index",
    "open_index",
    "paper_text",
    "search_params",
    "sentence_spans",
]

Progress = Callable[[int, int], None]
IndexKind = Literal["flat", "hnsw", "ivf"]

# Above this many rows the index is approximate (IVF, below) instead of exact: bench_ann.py
# measured exact single-query search (384-d, one thread, busy 2-core machine) at p95 0.6-8 ms
# for 10k rows, 12-22 ms for 100k and 361 ms for 1M (less busy: 0.56, 8.0 and 80 ms), so past
# ~100k rows the exact scan alone would eat most of the 50 ms end-to-end budget.
APPROX_MIN_ROWS = 100_000
# Bumped when build_index caches more than before: `kb index` then brings an older index up to
# date (embedding only what is missing) instead of reporting it up to date.
INDEX_LAYOUT = 2
# Corpus terms whose vectors kb.expansion uses: those in at least this many papers.
TERM_MIN_DF = 2
HNSW_MIN_ROWS = APPROX_MIN_ROWS  # the name callers used before IVF became the default
HNSW_M = 32
HNSW_EF_CONSTRUCTION = 80
# bench_ann.py, 1M spectrum-matched synthetic vectors (M=32, efConstruction=80): efSearch 512 ->
# recall@10 0.869 at p95 9.9 ms, 1024 -> 0.923 at 21.7 ms (100k vectors: 256 -> 0.937, 5.4 ms).
# Recall comes first here; the query still fits the 50 ms end-to-end budget.
HNSW_EF_SEARCH = 1024
# The automatic approximate index: IVF over 8-bit scalar-quantised codes (a quarter of the bytes
# to scan), then the IVF_K_FACTOR * k best candidates re-ranked exactly against the full vectors
# (faiss.IndexRefineFlat). nlist ~ 8 sqrt(n) as a power of two (8192 at 1M); the share of lists
# probed is what holds recall, so nprobe scales with nlist. benchmarks/bench_ann.py, 1M
# spectrum-matched vectors, one thread, one query per call, 300 queries:
#   nlist 8192, refine x4: nprobe 256 -> recall@10 0.940 at p95 8.1 ms, 320 -> 0.959 at 8.1 ms,
#   384 -> 0.974 at 9.8 ms; build 214 s (k-means on 120k), +1955 MB (codes + full vectors).
#   make_faiss_index itself (`bench_ann.py --auto`, quieter machine): nlist 8192, nprobe 384,
#   recall@10 0.968, p95 9.7 ms (CPU 9.7 ms), build 86 s, +1955 MB.
#   nlist 4096, refine x4 (machine under load 4-6): nprobe 192 -> 0.949 at 20.0 ms, 256 -> 0.969
#   at 23.2 ms. HNSW M=32 efSearch 1024 was 0.923 at 21.7 ms; IVF-Flat 2048 0.954 at 24.7 ms.
IVF_PROBE_SHARE = 3 / 64  # 384 of 8192 lists
# Smaller stores have fewer vectors per list, so the same share finds less: 120k vectors (2048
# lists) gave 0.923 at nprobe 96, 0.954 at 128, 0.990 at 256 (p95 3.1 ms); hence a floor.
IVF_MIN_NPROBE = 256
IVF_K_FACTOR = 4
# k-means sample per list: 15 (faiss warns below 39) measured as above; 40 costs 2.7x the time.
IVF_TRAIN_PER_LIST = 15

_SENTENCE_END = re.compile(r"(?<=[.!?])\s+(?=[A-Z0-9(\"'])")
_META_KEY = "index_meta"
# The length of the FAISS file as written, so `kb index` can confirm the file is whole from its
# header and length instead of reading it all (~1 s at 1M vectors). A key of its own rather
# than an IndexMeta field: IndexMeta forbids unknown fields, so code from before this key
# still reads the metadata of an index written now.
_FILE_BYTES_KEY = "index_file_bytes"


class IndexMeta(BaseModel):
    """What an index was built from; stored as JSON in ``_meta['index_meta']``."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    model: str = Field(description="embedding model name (folder name plus config digest)")
    dim: int = Field(description="vector width")
    kind: IndexKind = Field(
        description="'flat' (exact), 'ivf' (IVF-SQ8 + exact re-rank) or 'hnsw' (approximate)"
    )
    n_rows: int = Field(description="vectors in the FAISS file")
    n_papers: int = Field(description="papers indexed")
    digest: str = Field(description="sha256 over the sorted (paper_id, text hash) pairs")
    built_at: dt.datetime
    # 1: paper and sentence vectors; 2: the corpus terms' vectors (kb.expansion) are cached
    # too. Indexes written before this field existed read as 1.
    layout: int = Field(default=1, description="what build_index cached besides the index")


class IndexReport(BaseModel):
    """What :func:`build_index` did."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    path: str
    up_to_date: bool = Field(description="nothing changed, the index was left as it was")
    n_papers: int
    n_rows: int
    n_embedded: int = Field(description="texts sent to the model (cache misses)")
    n_terms_embedded: int = Field(
        default=0, description="corpus terms (kb.expansion) sent to the model (cache misses)"
    )
    n_recovered: int = Field(
        default=0,
        description="vectors read back from the embedding journal of a build that was killed "
        "(kb.embed_journal), so not sent to the model again",
    )
    kind: IndexKind
    model: str
    dim: int
    keyword_saved: bool = Field(
        default=False,
        description="the keyword (BM25) side was saved anew beside the store (kb.keyword_cache)",
    )


@dataclass(frozen=True)
class IndexRow:
    """One vector of the index: its paper and which text it embeds."""

    paper_id: str
    field: str  # 'paper' (title + abstract) or 'sentence' (one abstract sentence)
    span_start: int
    span_end: int


def index_path(db_path: str | os.PathLike[str]) -> Path:
    """The companion file holding the FAISS index of the store at ``db_path``: beside the file a
    symbolic link names, where a writer builds it (``kb.store.store_file``)."""
    if str(db_path) == ":memory:":
        raise BadInputError(
            "an in-memory store has no file to keep a search index beside; use a file path"
        )
    return Path(f"{store_file(db_path)}.faiss")


def paper_text(paper: Paper) -> str:
    """The text embedded for a paper as a whole: title, then abstract."""
    return f"{paper.title}. {paper.abstract}" if paper.abstract else paper.title


def sentence_spans(text: str) -> list[tuple[int, int]]:
    """(start, end) character offsets of the sentences of ``text`` (whitespace excluded).

    The index's rows: a break after any ``.``/``!``/``?`` before an upper-case letter, digit or
    opening bracket, so "Hoffmann et al. (2022)" is two rows. Kept so that built indexes and the
    weights fitted on their sentence vectors stay valid; snippets are widened to the
    abbreviation-aware sentences of ``kb.sentences`` (``kb.search``).
    """
    spans: list[tuple[int, int]] = []
    start = 0
    for end in [m.start() for m in _SENTENCE_END.finditer(text)] + [len(text)]:
        piece = text[start:end]
        if piece.strip():
            lead = len(piece) - len(piece.lstrip())
            spans.append((start + lead, start + len(piece.rstrip())))
        start = end
    return spans


def _rows_and_texts(papers: list[Paper]) -> tuple[list[IndexRow], list[str]]:
    rows: list[IndexRow] = []
    texts: list[str] = []
    for p in papers:
        rows.append(IndexRow(p.paper_id, "paper", 0, len(p.abstract)))
        texts.append(paper_text(p))
        spans = sentence_spans(p.abstract)[:MAX_SENTENCES]  # the extractor reads as many
        if len(spans) > 1:  # a one-sentence abstract is already the paper row
            for s, e in spans:
                rows.append(IndexRow(p.paper_id, "sentence", s, e))
                texts.append(p.abstract[s:e])
    return rows, texts


def corpus_digest(papers: list[Paper]) -> str:
    """A digest of what would be indexed: changes when a paper is added, removed or edited."""
    digest = hashlib.sha256()
    for p in sorted(papers, key=lambda p: p.paper_id):
        digest.update(f"{p.paper_id}\x1f{content_sha(paper_text(p))}\n".encode())
    return digest.hexdigest()


def ivf_nlist(n: int) -> int:
    """Inverted lists for ``n`` vectors: ~8 sqrt(n) as a power of two, at least 16, at most n."""
    return max(1, min(n, max(16, 1 << round(math.log2(8 * max(n, 1) ** 0.5)))))


def ivf_nprobe(nlist: int) -> int:
    """Lists scanned per query: IVF_PROBE_SHARE of ``nlist``, at least IVF_MIN_NPROBE."""
    return max(1, min(nlist, max(IVF_MIN_NPROBE, round(nlist * IVF_PROBE_SHARE))))


def make_faiss_index(vectors: FloatMatrix, kind: IndexKind | None = None) -> Any:
    """An inner-product FAISS index holding ``vectors``.

    Exact (IndexFlatIP) below APPROX_MIN_ROWS, else IVF-SQ8 with exact re-ranking (``"ivf"``,
    see IVF_PROBE_SHARE); ``"hnsw"`` on request only.
    """
    n, dim = vectors.shape
    chosen: IndexKind = kind or ("ivf" if n >= APPROX_MIN_ROWS else "flat")
    data = np.ascontiguousarray(vectors, dtype=np.float32)
    index: Any
    if chosen == "flat":
        index = faiss.IndexFlatIP(dim)
    elif chosen == "hnsw":
        index = faiss.IndexHNSWFlat(dim, HNSW_M, faiss.METRIC_INNER_PRODUCT)
        index.hnsw.efConstruction = HNSW_EF_CONSTRUCTION
        index.hnsw.efSearch = HNSW_EF_SEARCH
    else:
        nlist = ivf_nlist(n)
        ivf = faiss.IndexIVFScalarQuantizer(
            faiss.IndexFlatIP(dim), dim, nlist, faiss.ScalarQuantizer.QT_8bit,
            faiss.METRIC_INNER_PRODUCT,
        )  # fmt: skip
        ivf.nprobe = ivf_nprobe(nlist)
        train = min(n, IVF_TRAIN_PER_LIST * nlist)
        sample = np.random.default_rng(0).choice(n, train, replace=False) if train < n else None
        ivf.train(data if sample is None else data[np.sort(sample)])
        index = faiss.IndexRefineFlat(ivf)
        index.k_factor = IVF_K_FACTOR
        # faiss's Python constructor keeps a reference to ``ivf``, so it lives as long as index.
    if n:
        index.add(data)
    return index


def index_kind(index: Any) -> IndexKind:
    """The :data:`IndexKind` of a FAISS index made by :func:`make_faiss_index`."""
    if isinstance(index, faiss.IndexHNSWFlat):
        return "hnsw"
    if isinstance(index, faiss.IndexRefine):
        return "ivf"
    return "flat"


def search_params(index: Any, kind: IndexKind, sel: Any = None) -> Any:
    """FAISS search parameters for ``index`` restricted to the ids ``sel`` lets through.

    The approximate kinds keep their tuned breadth (efSearch, nprobe and k_factor) under a filter.
    """
    if kind == "hnsw":
        return _faiss.SearchParametersHNSW(sel=sel, efSearch=index.hnsw.efSearch)
    if kind == "ivf":
        base = _faiss.downcast_index(index.base_index)
        params = _faiss.IndexRefineSearchParameters(
            k_factor=index.k_factor,
            base_index_params=_faiss.SearchParametersIVF(sel=sel, nprobe=base.nprobe),
        )
        params.sel = sel
        return params
    return _faiss.SearchParameters(sel=sel)


def get_meta(store: Store) -> IndexMeta | None:
    """The stored index metadata, or None if no index was ever built."""
    raw = store.get_meta(_META_KEY)
    return None if raw is None else IndexMeta.model_validate_json(raw)


def build_index(
    store: Store,
    db_path: str | os.PathLike[str] | None = None,
    *,
    rebuild: bool = False,
    model: str | os.PathLike[str] | Embedder | None = None,
    on_progress: Progress | None = None,
    digest: str | None = None,
    keyword_digest: str | None = None,
    journal: EmbedJournal | None = None,
) -> IndexReport:
    """Embed every paper (through the cache) and write ``<db_path>.faiss``.

    Args:
        store: a writable store (inside ``kb.store.staged`` pass ``store.path`` as db_path, so
            the index is swapped in with the store).
        db_path: the DuckDB file the index sits beside; default ``store.path``.
        rebuild: rebuild even if the index matches the store and model.
        model: a local sentence-transformers folder or an :class:`Embedder`; default the
            packaged model (or ``$KB_MODEL``).
        on_progress: ``(done, total)`` while embedding cache misses.
        digest: the :func:`corpus_digest` of this store's papers if the caller has it already
            (``kb index`` checks the store first: :func:`check_index`); computed if None.
        keyword_digest: the :func:`kb.keyword_cache.keyword_texts_digest` of the same, likewise.
        journal: an embedding journal (``kb index``: the one beside the store it stages): its
            chunks, left by a build that was killed, are read into ``store``'s cache first, and
            every vector encoded is saved to it as it goes. The caller clears it once
            ``store`` is kept (:meth:`kb.embed_journal.EmbedJournal.clear`).

    Returns:
        An :class:`IndexReport`; ``up_to_date`` is True when nothing had to be done.
    """
    path = index_path(db_path if db_path is not None else store.path)
    papers = store.select(Paper, validate=False)  # validated when written; 25 s at 300k
    if digest is None:
        digest = corpus_digest(papers)
    meta = get_meta(store)
    up_to_date = _up_to_date(store, path, digest, model) is not None
    # The searcher's BM25 side, saved beside the store (kb.keyword_cache); rewritten only
    # when papers or claims changed (`kb extract` leaves the FAISS index current).
    keyword = write_keyword_cache(
        store, db_path if db_path is not None else store.path, papers, keyword_digest
    )
    if not rebuild and meta is not None and up_to_date:
        logger.info("index %s is up to date (%d papers)", path, meta.n_papers)
        if _file_bytes(store) is None:  # read whole this once; the length spares that next time
            store.set_meta(_FILE_BYTES_KEY, str(generation_of(path)[1]))
        return IndexReport(path=str(path), up_to_date=True, n_papers=meta.n_papers,
                           n_rows=meta.n_rows, n_embedded=0, kind=meta.kind, model=meta.model,
                           dim=meta.dim, keyword_saved=keyword is not None)  # fmt: skip
    embedder = load_embedder(model)
    rows, texts = _rows_and_texts(papers)
    recovered = journal.recover(store) if journal is not None else 0
    cache = EmbedCache(store, embedder, journal)
    terms = EmbedCache(store, embedder, journal)
    # No transaction of our own: the caller's (ingest's, or the CLI's staged copy) wraps it.
    try:
        vectors = cache.embed(texts, on_progress=on_progress)
        # The corpus terms' vectors (kb.expansion) are cached now too, so searching a read-only
        # store never has to embed them.
        # The keyword index just built holds the same title + abstract tokens; reuse them.
        _, surfaces = (
            keyword.vocabulary(TERM_MIN_DF)
            if keyword is not None
            else vocabulary([f"{p.title} {p.abstract}" for p in papers], TERM_MIN_DF)
        )
        done = cache.n_encoded  # the term batches continue the same progress count
        terms.embed(
            surfaces,
            on_progress=None
            if on_progress is None
            else lambda d, t: on_progress(done + d, done + t),
        )
    except BaseException as err:
        if not _is_interrupt(err):
            raise
        raise EmbeddingInterrupted(cache.n_written + terms.n_written) from err
    index = make_faiss_index(vectors)
    tmp = path.with_name(path.name + ".tmp")
    try:
        faiss.write_index(index, str(tmp))  # first, so the metadata records its length
        meta = IndexMeta(model=embedder.name, dim=embedder.dim, kind=index_kind(index),
                         n_rows=len(rows), n_papers=len(papers), digest=digest,
                         built_at=dt.datetime.now(dt.UTC).replace(microsecond=0),
                         layout=INDEX_LAYOUT)  # fmt: skip
        _write_rows(store, rows)
        store.set_meta(_META_KEY, meta.model_dump_json())
        store.set_meta(_FILE_BYTES_KEY, str(tmp.stat().st_size))
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    os.replace(tmp, path)
    logger.info("indexed %d papers (%d rows, %d embedded)", len(papers), len(rows),
                cache.n_encoded)  # fmt: skip
    return IndexReport(path=str(path), up_to_date=False, n_papers=len(papers), n_rows=len(rows),
                       n_embedded=cache.n_encoded, n_terms_embedded=terms.n_encoded,
                       n_recovered=recovered, kind=meta.kind, model=meta.model, dim=meta.dim,
                       keyword_saved=keyword is not None)  # fmt: skip


class EmbeddingInterrupted(KeyboardInterrupt):
    """:func:`build_index` was interrupted (Ctrl-C) while it embedded texts.

    Nothing of the index was written yet: the FAISS file, its row map and its metadata are as
    they were. The vectors embedded so far are in the ``embeddings`` table (``n_cached`` of
    them), so a caller writing outside a transaction may keep the store (``kb index`` swaps
    its staged copy in) and the next build embeds only the rest.
    """

    def __init__(self, n_cached: int):
        super().__init__(n_cached)
        self.n_cached = n_cached


def _is_interrupt(err: BaseException) -> bool:
    """A Ctrl-C: Python's ``KeyboardInterrupt``, or DuckDB's error for a statement a signal
    cut short (it reports the interrupt as ``RuntimeError('Query interrupted')``)."""
    return isinstance(err, KeyboardInterrupt) or (
        isinstance(err, RuntimeError) and "interrupted" in str(err).lower()
    )


def _up_to_date(
    store: Store, path: Path, digest: str, model: str | os.PathLike[str] | Embedder | None
) -> IndexMeta | None:
    """The stored metadata if ``path`` is a whole index, in the current layout, of the papers
    whose :func:`corpus_digest` is ``digest``, embedded by ``model``; else None."""
    meta = get_meta(store)
    if (
        meta is None
        or meta.layout < INDEX_LAYOUT
        or meta.digest != digest
        or meta.model != model_name(model)
        or not path.exists()
    ):
        return None
    try:
        trailer: tuple[str | None, int] | None = generation_of(path)  # read once for both checks
    except OSError:  # unreadable, or a folder of that name: not an index to trust
        return None
    if (
        _readable(path, meta, _file_bytes(store), trailer)  # not truncated or overwritten
        and _generation_clash(store, path, trailer) is None  # nor swapped in with another store
    ):
        return meta
    return None


@dataclass(frozen=True)
class IndexCheck:
    """What :func:`check_index` found: ``report`` (None when :func:`build_index` has work to
    do), the :func:`corpus_digest` it computed, and the store file's :func:`file_stamp` when it
    ran. A build into a copy of the same, unchanged file passes ``digest`` on instead of hashing
    every paper again. The store was opened before ``stamp`` was taken, so the caller compares
    ``stamp`` with one it took before opening the store too: a file swapped in between has the
    new stamp while the digest is of the papers of the file that was open (``kb index``)."""

    report: IndexReport | None
    digest: str
    stamp: tuple[int, int, int] | None
    keyword_digest: str | None = None  # kb.keyword_cache.keyword_texts_digest, when it was computed


def file_stamp(path: str | os.PathLike[str]) -> tuple[int, int, int] | None:
    """(inode, size, modification time in ns) of ``path``, None if it cannot be read: equal
    stamps mean an unchanged file (the store is only ever replaced, by ``os.replace``)."""
    try:
        st = os.stat(path)
    except OSError:
        return None
    return st.st_ino, st.st_size, st.st_mtime_ns


def current_index(
    store: Store,
    db_path: str | os.PathLike[str] | None = None,
    *,
    model: str | os.PathLike[str] | Embedder | None = None,
) -> IndexReport | None:
    """What :func:`build_index` would report if it had nothing to do, found without writing
    (``store`` may be read-only): the FAISS index and the saved keyword index both match the
    store and ``model``. None when ``build_index`` has work to do, or when the file's length
    was never recorded (an older index: ``build_index`` records it, so the next check is cheap).

    `kb index` asks this first (as :func:`check_index`), so an index that is up to date costs
    no staged copy of the store and its companion files (~2 GB at 1M vectors).
    """
    return check_index(store, db_path, model=model).report


def check_index(
    store: Store,
    db_path: str | os.PathLike[str] | None = None,
    *,
    model: str | os.PathLike[str] | Embedder | None = None,
) -> IndexCheck:
    """:func:`current_index`, keeping the corpus digest it computed (see :class:`IndexCheck`)."""
    db = db_path if db_path is not None else store.path
    path = index_path(db)
    stamp = None if str(db) == ":memory:" else file_stamp(db)
    papers = store.select(Paper, validate=False)  # validated when written
    digest = corpus_digest(papers)
    meta = _up_to_date(store, path, digest, model)
    if meta is None or _file_bytes(store) is None:
        return IndexCheck(report=None, digest=digest, stamp=stamp)
    keyword = keyword_texts_digest(store, papers)
    if not keyword_cache_current(store, db, papers, keyword):
        return IndexCheck(report=None, digest=digest, stamp=stamp, keyword_digest=keyword)
    report = IndexReport(path=str(path), up_to_date=True, n_papers=meta.n_papers,
                         n_rows=meta.n_rows, n_embedded=0, kind=meta.kind, model=meta.model,
                         dim=meta.dim, keyword_saved=False)  # fmt: skip
    return IndexCheck(report=report, digest=digest, stamp=stamp, keyword_digest=keyword)


def _write_rows(store: Store, rows: list[IndexRow]) -> None:
    store.con.execute("DELETE FROM index_rows")
    batch = pa.table(  # noqa: F841  (read by DuckDB's replacement scan)
        {
            "row_id": list(range(len(rows))),
            "paper_id": [r.paper_id for r in rows],
            "field": [r.field for r in rows],
            "span_start": [r.span_start for r in rows],
            "span_end": [r.span_end for r in rows],
        }
    )
    store.con.execute("INSERT INTO index_rows SELECT * FROM batch")


@dataclass(frozen=True)
class LoadedIndex:
    """An index checked against its store: the FAISS object, its rows and metadata."""

    faiss_index: Any
    rows: list[IndexRow]
    meta: IndexMeta
    path: Path
    # The store's papers as read for the staleness check (``Store.select(Paper)`` order), so
    # the searcher need not read and validate them a second time; None: read them yourself.
    papers: list[Paper] | None = None


# Every FAISS index file starts with a four-character code, then the dimension (int32) and the
# vector count (int64), little-endian (faiss/impl/index_write.cpp, write_index_header).
_FAISS_HEADER = struct.Struct("<4siq")


def _file_bytes(store: Store) -> int | None:
    """The length of the FAISS file as :func:`build_index` wrote it; None if not recorded."""
    raw = store.get_meta(_FILE_BYTES_KEY)
    return None if raw is None else int(raw)


def _readable(
    path: Path,
    meta: IndexMeta,
    file_bytes: int | None,
    trailer: tuple[str | None, int] | None = None,
) -> bool:
    """True if ``path`` is the whole FAISS index ``meta`` describes (``meta.n_rows`` vectors of
    dimension ``meta.dim``) and ``file_bytes`` long.

    The header must give that count and dimension and the length must be the one written (the
    generation trailer a swap appends aside: ``kb.store.generation_of``), so a truncated,
    extended or replaced file is caught without reading the vectors. With no
    length recorded (an index written before it was) the file is read in full, and
    :func:`build_index` then records the length. ``trailer``: :func:`kb.store.generation_of`
    of ``path`` when the caller read it already (one read serves this and the generation check).
    """
    if file_bytes is None:
        try:
            index: Any = faiss.read_index(str(path))
        except RuntimeError:
            return False
        return bool(index.ntotal == meta.n_rows and index.d == meta.dim)
    try:
        with path.open("rb") as fh:
            head = fh.read(_FAISS_HEADER.size)
        # the length as written, before a swap stamped it
        size = (trailer if trailer is not None else generation_of(path))[1]
    except OSError:  # unreadable, or a folder of that name: not an index to trust
        return False
    if len(head) < _FAISS_HEADER.size:
        return False
    _, dim, n_rows = _FAISS_HEADER.unpack(head)
    return dim == meta.dim and n_rows == meta.n_rows and size == file_bytes


def _generation_clash(
    store: Store, path: Path, trailer: tuple[str | None, int] | None = None
) -> str | None:
    """Why the index file ``path`` is not the one swapped in with ``store``, or None.

    ``kb.store.staged`` writes one random token (the generation) into the store and into the
    index file each time it swaps them in, one file after the other; a ``kill -9`` or a power
    cut between the two renames leaves an index of one generation beside a store of another,
    which may have the same size and row count (another model of the same width, an edited
    abstract). A store or index from before the token existed has none: it is judged as before
    (header, length, row count). An index written since by a direct (unstaged) build has none
    either, and is the store's own. ``trailer``: :func:`kb.store.generation_of` of ``path``
    when the caller read it already.
    """
    try:
        stamped = (trailer if trailer is not None else generation_of(path))[0]
    except OSError:
        return None  # unreadable: reading it as an index says so
    if stamped is None:
        return None
    held = store.get_meta(GENERATION_KEY)
    if stamped == held:
        return None
    return (
        f"{path} was swapped in with another version of the knowledge base than {store.path} "
        f"(the index is of generation {stamped[:12]}, the store of "
        f"{held[:12] if held else 'none'}): a write that replaces both was cut short (killed, "
        "or a power cut)"
    )


def open_index(
    store: Store,
    db_path: str | os.PathLike[str] | None = None,
    *,
    model: str | os.PathLike[str] | Embedder | None = None,
) -> LoadedIndex:
    """Load ``<db_path>.faiss`` and check it against the store and the model.

    Raises:
        IndexMismatchError: no index, another model, an index swapped in with another
            version of the store (its generation token differs: a write killed between
            renaming the index and the store), another dimension, a row count that disagrees,
            or papers added/changed since it was built; the message says which and to run
            ``kb index --rebuild`` (``kb index`` where none is built or papers were added or
            changed: it embeds only what the store has no vectors for).
    """
    path = index_path(db_path if db_path is not None else store.path)
    fix = f"run `kb index --rebuild --db {db_path or store.path}`"
    # A missing or stale index needs no --rebuild: a plain `kb index` builds it, embedding only
    # the texts whose vectors the store has not cached (new or edited papers).
    update = (
        f"run `kb index --db {db_path or store.path}` (it embeds only new or edited papers' texts)"
    )
    meta = get_meta(store)
    if meta is None or not path.exists():
        what = "no search index has been built" if meta is None else f"{path} is missing"
        raise IndexMismatchError(f"{store.path}: {what}; {update}")
    wanted = model_name(model)
    if meta.model != wanted:
        if not isinstance(model, Embedder):
            require_model_folder(model)  # a mistyped path is named, not called another model
        raise IndexMismatchError(
            f"{path}: built with model {meta.model!r} but {wanted!r} was asked for; "
            f"query with the same model, or {fix}"
        )
    clash = _generation_clash(store, path)
    if clash is not None:
        raise IndexMismatchError(
            f"{clash}; {fix} (it rebuilds the index from the vectors the store has cached, "
            "embedding only texts it lacks); if a kb command was writing the knowledge base "
            "just then, run this again instead"
        )
    try:
        index: Any = faiss.read_index(str(path))
    except RuntimeError as err:  # truncated or not a FAISS file
        reason = re.sub(r"^Error in .*? at \S+:\d+: ", "", str(err).strip()) or "unreadable"
        raise IndexMismatchError(
            f"{path}: cannot be read as a FAISS index ({reason}); {fix}"
        ) from err
    rows = [
        IndexRow(*r)
        for r in store.cursor()
        .execute("SELECT paper_id, field, span_start, span_end FROM index_rows ORDER BY row_id")
        .fetchall()
    ]
    if index.d != meta.dim or index.ntotal != meta.n_rows or len(rows) != meta.n_rows:
        raise IndexMismatchError(
            f"{path}: holds {index.ntotal} vectors of dimension {index.d}, but the store "
            f"records {meta.n_rows} rows of dimension {meta.dim} ({len(rows)} mapped); {fix}"
        )
    papers = store.select(Paper, validate=False)  # validated when written; 8 s at 100k
    if corpus_digest(papers) != meta.digest:
        indexed = {r.paper_id for r in rows}
        new = sum(p.paper_id not in indexed for p in papers)
        raise IndexMismatchError(
            f"{path}: stale, built for {meta.n_papers} papers on {meta.built_at:%Y-%m-%d %H:%M}; "
            f"the store now has {len(papers)} ({new} not indexed, the rest possibly edited); "
            f"{update}"
        )
    if meta.kind == "hnsw":
        index.hnsw.efSearch = HNSW_EF_SEARCH
    elif meta.kind == "ivf":  # read_index returns the IndexRefineFlat itself
        base = _faiss.downcast_index(index.base_index)
        base.nprobe = ivf_nprobe(base.nlist)
        index.k_factor = IVF_K_FACTOR
    return LoadedIndex(faiss_index=index, rows=rows, meta=meta, path=path, papers=papers)
