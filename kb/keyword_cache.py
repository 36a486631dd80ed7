"""The keyword index saved beside the store, so opening a searcher need not rebuild it.

``kb index`` writes ``<db>.keyword.npz`` (:func:`write_keyword_cache`): the BM25 score matrices,
vocabularies and document tokens of the searcher's :class:`kb.keyword.KeywordIndex`, as plain
numpy arrays (``np.load(..., allow_pickle=False)``), and the digest of the exact texts it was
built from (every paper's title, abstract and claim evidence, in the searcher's order) and of
the tokenizer (:data:`kb.keyword.TOKENIZER_VERSION`). :func:`open_keyword_index` loads it when
the digest matches the texts in the store now. ``kb ingest`` and ``kb extract`` rewrite an
existing file in the same staged write (:func:`refresh_keyword_cache`); after any other edit
it does not match, and the index is built in memory instead, with a log line saying why.
A missing, unreadable or inconsistent file is the same: built in memory, never a crash.
At 100,000 papers tokenising and indexing take about 17 s, and `kb index` writes a 120 MB file
that loads in 0.2 s (benchmarks/bench_search_scale.py: Searcher.open 22.5 -> 6.3 s).
"""

from __future__ import annotations

import hashlib
import logging
import os
import zipfile
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from kb.keyword import TOKENIZER_VERSION, KeywordIndex
from kb.plotfile import atomic_file
from kb.records import Claim, Paper
from kb.store import Store

__all__ = [
    "claim_evidence",
    "fields_digest",
    "keyword_cache_current",
    "keyword_cache_path",
    "keyword_fields",
    "keyword_texts_digest",
    "load_keyword_index",
    "open_keyword_index",
    "refresh_keyword_cache",
    "write_keyword_cache",
]

logger = logging.getLogger(__name__)

_DIGEST = "digest"
# What np.load and the array checks raise on a truncated, foreign or hand-edited file.
_UNREADABLE = (OSError, ValueError, KeyError, EOFError, zipfile.BadZipFile, UnicodeDecodeError)


def keyword_cache_path(db_path: str | os.PathLike[str]) -> Path:
    """The companion file of the store at ``db_path`` holding its saved keyword index."""
    return Path(f"{db_path}.keyword.npz")


def keyword_fields(papers: Sequence[Paper], evidence: dict[str, list[str]]) -> dict[str, list[str]]:
    """The searcher's BM25 fields: title, abstract and the claims' evidence text per paper.

    ``evidence`` maps a paper id to its claims' evidence sentences in ``Store.select(Claim)``
    order (claim id), joined by spaces here.
    """
    return {
        "title": [p.title for p in papers],
        "abstract": [p.abstract for p in papers],
        "claims": [" ".join(evidence.get(p.paper_id, [])) for p in papers],
    }


def claim_evidence(store: Store) -> dict[str, list[str]]:
    """Paper id -> evidence sentences of its claims, in claim-id order (as the searcher reads)."""
    out: dict[str, list[str]] = {}
    for c in store.select(Claim, validate=False):
        out.setdefault(c.paper_id, []).append(c.evidence)
    return out


def fields_digest(fields: dict[str, list[str]]) -> str:
    """SHA-256 of the tokenizer version and every text of every field, unambiguously framed."""
    h = hashlib.sha256(TOKENIZER_VERSION.encode("utf-8"))
    for name, texts in fields.items():
        encoded = [t.encode("utf-8") for t in texts]
        h.update(f"\x00{name}\x00{len(encoded)}\x00".encode())
        h.update(np.array([len(b) for b in encoded], dtype=np.int64).tobytes())
        h.update(b"".join(encoded))
    return h.hexdigest()


def _stored_digest(path: Path) -> str | None:
    """The digest a cache file was written for; None if the file is absent or unreadable."""
    if not path.exists():
        return None
    try:
        with np.load(path, allow_pickle=False) as npz:
            return bytes(npz[_DIGEST]).decode("ascii")
    except _UNREADABLE:
        return None


def save_keyword_index(path: Path, index: KeywordIndex, digest: str) -> None:
    """Write ``index`` and ``digest`` to ``path`` (atomically: a temp file then a rename)."""
    arrays = index.to_arrays()
    arrays[_DIGEST] = np.frombuffer(digest.encode("ascii"), dtype=np.uint8)
    with atomic_file(path, "the keyword index") as fh:
        np.savez(fh, allow_pickle=False, **arrays)


def load_keyword_index(path: Path, digest: str) -> KeywordIndex | None:
    """The index saved at ``path`` if it was built from texts with ``digest``, else None.

    Logs why when it returns None for a file that exists (stale or unreadable).
    """
    if not path.exists():
        logger.info("no saved keyword index at %s; building it in memory", path)
        return None
    try:
        with np.load(path, allow_pickle=False) as npz:
            if bytes(npz[_DIGEST]).decode("ascii") != digest:
                logger.warning(
                    "saved keyword index %s is stale (papers or claims changed since `kb "
                    "index`); building it in memory; run `kb index` to refresh it",
                    path,
                )
                return None
            return KeywordIndex.from_arrays({k: npz[k] for k in npz.files if k != _DIGEST})
    except _UNREADABLE as err:
        logger.warning(
            "saved keyword index %s is unreadable (%s: %s); building it in memory; run "
            "`kb index` to rewrite it",
            path,
            type(err).__name__,
            err,
        )
        return None


def open_keyword_index(
    fields: dict[str, list[str]], db_path: str | os.PathLike[str] | None
) -> KeywordIndex:
    """The keyword index of ``fields``: loaded from beside ``db_path`` when it is current,
    else built in memory (``db_path`` None, e.g. an in-memory store: always built)."""
    if db_path is not None and str(db_path) != ":memory:":
        loaded = load_keyword_index(keyword_cache_path(db_path), fields_digest(fields))
        if loaded is not None:
            return loaded
    return KeywordIndex(fields)


def keyword_texts_digest(store: Store, papers: Sequence[Paper]) -> str:
    """The digest :func:`write_keyword_cache` saves for ``papers`` and their claims (it reads
    every claim and hashes every text: worth computing once per ``kb index``)."""
    return fields_digest(keyword_fields(papers, claim_evidence(store)))


def keyword_cache_current(
    store: Store,
    db_path: str | os.PathLike[str],
    papers: Sequence[Paper],
    digest: str | None = None,
) -> bool:
    """True if the keyword index saved beside ``db_path`` is that of ``papers`` (as
    :func:`write_keyword_cache` takes them) and their claims: writing it would change nothing.
    ``digest``: their :func:`keyword_texts_digest` if the caller has it already."""
    if digest is None:
        digest = keyword_texts_digest(store, papers)
    return _stored_digest(keyword_cache_path(db_path)) == digest


def write_keyword_cache(
    store: Store,
    db_path: str | os.PathLike[str],
    papers: Sequence[Paper],
    digest: str | None = None,
) -> KeywordIndex | None:
    """Save the keyword index of ``papers`` (the store's, in ``Store.select(Paper)`` order)
    and their claims beside ``db_path``: the index built and saved, or None when the file
    was already current (nothing built). ``digest``: their :func:`keyword_texts_digest` if the
    caller has it already (`kb index` checks first: :func:`kb.index.check_index`)."""
    path = keyword_cache_path(db_path)
    fields = None
    if digest is None:
        fields = keyword_fields(papers, claim_evidence(store))
        digest = fields_digest(fields)
    if _stored_digest(path) == digest:
        return None
    if fields is None:
        fields = keyword_fields(papers, claim_evidence(store))
    index = KeywordIndex(fields)
    save_keyword_index(path, index, digest)
    logger.info("saved the keyword index of %d papers to %s", len(papers), path)
    return index


def refresh_keyword_cache(store: Store) -> bool:
    """After papers or claims changed (``kb ingest``, ``kb extract``): rewrite the keyword
    index saved beside ``store`` if it has one, so searches do not fall back to building it
    (a store never indexed has none; ``kb index`` writes it). True when it was rewritten."""
    if str(store.path) == ":memory:" or not keyword_cache_path(store.path).exists():
        return False
    papers = store.select(Paper, validate=False)
    return write_keyword_cache(store, store.path, papers) is not None
