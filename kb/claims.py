"""Read-side queries over extracted claims and exponents.

The extractor lives in ``ingest.claims``; this module only reads what it wrote, so the CLI and
the app share one way of filtering claims by paper, response or scale variable.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from kb.errors import BadInputError, NotFoundError
from kb.records import (
    RESPONSES,
    VARIABLES,
    Claim,
    Exponent,
    Paper,
    ReportedLaw,
    normalize_arxiv_id,
    paper_id_for,
)
from kb.store import Store

__all__ = ["claim_record", "list_claims", "list_exponents", "resolve_paper_id"]


def list_claims(
    store: Store,
    *,
    paper_id: str | None = None,
    response: str | None = None,
    variable: str | None = None,
) -> list[Claim]:
    """Claims, optionally of one paper, one response or one scale variable, in abstract order.

    Raises ``BadInputError`` for a response or variable outside the controlled vocabulary and
    ``NotFoundError`` for a paper id that is not in the store (a known paper may have no claims).
    """
    where: list[str] = []
    params: list[Any] = []
    if paper_id is not None:
        paper_id = resolve_paper_id(store, paper_id)
        where.append("paper_id = ?")
        params.append(paper_id)
    if response is not None:
        _require_known("response", response, RESPONSES)
        where.append("response = ?")
        params.append(response)
    if variable is not None:
        _require_known("variable", variable, VARIABLES)
        where.append("list_contains(variables, ?)")
        params.append(variable)
    return store.select(
        Claim, " AND ".join(where), params, order_by="paper_id, span_start, response, claim_id"
    )


def list_exponents(store: Store, *, paper_id: str | None = None) -> list[Exponent]:
    """Exponents, optionally of one paper, in abstract order.

    Raises ``NotFoundError`` for a paper id that is not in the store.
    """
    if paper_id is None:
        return store.select(Exponent, order_by="paper_id, span_start, exponent_id")
    paper_id = resolve_paper_id(store, paper_id)
    return store.select(Exponent, "paper_id = ?", [paper_id], order_by="span_start, exponent_id")


def _require_known(kind: str, value: str, known: Sequence[str]) -> None:
    if value not in known:
        raise BadInputError(f"unknown {kind} {value!r}; expected one of {', '.join(known)}")


def resolve_paper_id(store: Store, paper_id: str) -> str:
    """The stored id of the paper ``paper_id`` names: the id itself, or ``arxiv:<id>`` for an
    arXiv id in any form ``normalize_arxiv_id`` reads (``2203.15556v2``, an abs URL), as
    ``kb search`` reads them, or, for an arXiv id the store lacks, the listed paper whose title
    a registry law of that id gives (``2001.08361``: Kaplan et al. in the seeds). Raises
    ``NotFoundError`` naming the id when no paper has it."""
    text = paper_id.strip()
    candidates = [text]
    if text.split() == [text] and (norm := normalize_arxiv_id(text)):
        candidates.append(f"arxiv:{norm}")
    if len(candidates) == 2:
        # A seed listing has no arXiv ids (Kaplan et al. is t:3ef1b1051e4d8bd3); the registry
        # knows which title an arXiv id is, and a listed paper's id is its title's hash.
        laws = store.select(ReportedLaw, "arxiv_id = ?", [candidates[1].removeprefix("arxiv:")])
        candidates += sorted({paper_id_for(law.title) for law in laws})
    for candidate in candidates:
        if store.count(Paper, "paper_id = ?", [candidate]):
            return candidate
    raise NotFoundError(
        f"no paper with id {paper_id!r}; ids are arxiv:<id> or t:<hash of the title>: list "
        "them with `kb papers --json`"
    )


def claim_record(claim: Claim) -> dict[str, Any]:
    """A claim as the CLI's JSON object: the evidence text plus its ``[start, end]`` span."""
    return {
        "claim_id": claim.claim_id,
        "paper_id": claim.paper_id,
        "response": claim.response,
        "variables": list(claim.variables),
        "form": claim.form,
        "direction": claim.direction,
        "evidence": claim.evidence,
        "span": [claim.span_start, claim.span_end],
        "extractor_version": claim.extractor_version,
    }
