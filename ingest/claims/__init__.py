"""Scaling-law claims and exponents extracted from abstracts, with the sentence as evidence.

``extract(paper)`` reads one paper; ``extract_into(store, papers)`` writes labels, claims and
exponents for some papers (inside the caller's transaction); ``extract_store(store)`` redoes every
paper after the rules change. Every row carries ``EXTRACTOR_VERSION``.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence

from ingest.claims.extract import EXTRACTOR_VERSION, Extraction, SentenceReading, explain, extract
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
]

logger = logging.getLogger(__name__)

Progress = Callable[[int, int], None]


def extract_into(
    store: Store, papers: Sequence[Paper], *, on_progress: Progress | None = None
) -> int:
    """Label ``papers`` and replace their claims and exponents; returns the claims written.

    Writes the papers back with ``studies_scaling_law``, ``domain`` and ``extractor_version``
    set. Opens no transaction of its own: the caller's (``kb ingest``, ``kb extract``) makes the
    whole run atomic.
    """
    total = len(papers)
    rows: list[Record] = []
    n_claims = 0
    for done, paper in enumerate(papers, start=1):
        result = extract(paper)
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
        if on_progress is not None:
            on_progress(done, total)
    ids = [p.paper_id for p in papers]
    if ids:
        for model in (Claim, Exponent):
            store.delete(model, "paper_id IN (SELECT unnest(?))", [ids])
    store.upsert(rows)
    logger.info("extracted %d claims from %d papers", n_claims, total)
    return n_claims


def extract_store(store: Store, *, on_progress: Progress | None = None) -> int:
    """Re-extract every paper in the store (no transaction of its own); returns claims written."""
    return extract_into(store, store.select(Paper), on_progress=on_progress)
