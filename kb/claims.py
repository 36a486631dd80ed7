"""Read-side queries over extracted claims and exponents.

The extractor lives in ``ingest.claims``; this module only reads what it wrote, so the CLI and
the app share one way of filtering claims by paper, response or scale variable.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
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
    normalize_title,
    paper_id_for,
)
from kb.store import Store

__all__ = [
    "claim_record",
    "list_claims",
    "list_exponents",
    "paper_titles",
    "registry_laws_named",
    "registry_only_notice",
    "resolve_paper_id",
]


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
    """The stored id of the paper ``paper_id`` names: the id itself, ``arxiv:<id>`` for an
    arXiv id in any form ``normalize_arxiv_id`` reads (``2203.15556v2``, an abs URL), as
    ``kb search`` reads them (for an arXiv id the store lacks, the listed paper whose title a
    registry law of that id gives: ``2001.08361`` is Kaplan et al. in the seeds), or the
    ``t:<hash>`` id of a whole title (case and punctuation aside, as titles are compared; a paper
    stored under its arXiv id is not found by its title).

    Raises:
        BadInputError: ``paper_id`` is blank.
        NotFoundError: no paper has it (an arXiv id is named as read from a link).
    """
    text = paper_id.strip()
    if not text:
        raise BadInputError("blank paper id; expected arxiv:<id>, t:<hash> or a whole title")
    candidates = [text]
    norm = normalize_arxiv_id(text) if text.split() == [text] else None
    if norm:
        candidates.append(f"arxiv:{norm}")
        # A seed listing has no arXiv ids (Kaplan et al. is t:3ef1b1051e4d8bd3); the registry
        # knows which title an arXiv id is, and a listed paper's id is its title's hash.
        laws = store.select(ReportedLaw, "arxiv_id = ?", [norm])
        candidates += sorted({paper_id_for(law.title) for law in laws})
    elif normalize_title(text):
        candidates.append(paper_id_for(text))
    for candidate in candidates:
        if store.count(Paper, "paper_id = ?", [candidate]):
            return candidate
    laws = registry_laws_named(store.select(ReportedLaw), text)
    if laws:  # Hoffmann et al. 2022 is in the registry, not in the seeds: say where it is
        raise NotFoundError(registry_only_notice(laws[0], len(laws)))
    if norm:  # named as read: "no paper with id 'https://arxiv.org/abs/...'" hid that it was
        raise NotFoundError(
            f"no paper with arXiv id {norm} (read from {text!r}) in this knowledge base; ids "
            "are arxiv:<id> or t:<hash of the title> (papers listed without an arXiv id have "
            "the latter; a whole title is read too): list them with `kb papers --json`"
        )
    raise NotFoundError(
        f"no paper with id {paper_id!r}; ids are arxiv:<id> or t:<hash of the title> (a whole "
        "title is read too): list them with `kb papers --json`"
    )


def registry_laws_named(laws: Iterable[ReportedLaw], text: str) -> list[ReportedLaw]:
    """The laws among ``laws`` of the paper ``text`` names: by its arXiv id in any form (one
    word), else by its whole title (case and punctuation aside, as titles are compared)."""
    text = text.strip()
    norm = normalize_arxiv_id(text) if text.split() == [text] else None
    if norm:
        return [law for law in laws if law.arxiv_id == norm]
    wanted = normalize_title(text)
    return [law for law in laws if wanted and normalize_title(law.title) == wanted]


def registry_only_notice(law: ReportedLaw, n_laws: int | None = None) -> str:
    """Where to look for a paper the registry holds (``law`` is one of its laws) but the
    knowledge base lacks (Hoffmann et al. 2022 in a build from the seeds): no abstract, so no
    claims, exponents or search hit, while ``kb laws --paper`` lists what it reported."""
    count = f"{n_laws} reported law(s)" if n_laws is not None else "its published laws"
    return (
        f"'{law.title}' ({law.year}, arXiv {law.arxiv_id}) is not among the papers of this "
        f"knowledge base; the law registry holds {count}, with their values and source: "
        f"kb laws --paper {law.arxiv_id}"
    )


def paper_titles(store: Store, paper_ids: Sequence[str]) -> dict[str, str]:
    """The title of each of ``paper_ids`` that the store holds (paper id -> title)."""
    wanted = sorted(set(paper_ids))
    if not wanted:
        return {}
    papers = store.select(Paper, "list_contains(?, paper_id)", [wanted])
    return {p.paper_id: p.title for p in papers}


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
