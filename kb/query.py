"""Read-side queries over the store: papers with their appearances, and counts.

Search lives in ``kb.search``, cross-paper comparison in ``kb.compare``; these are the plain
look-ups that the CLI and the app share.
"""

from __future__ import annotations

import csv
import io
import json
import logging
import re
from collections.abc import Mapping, Sequence
from typing import Any

from kb.errors import NotFoundError
from kb.records import Appearance, Claim, Dataset, Exponent, FitRecord, Paper, Point, ReportedLaw
from kb.store import Store

logger = logging.getLogger(__name__)

__all__ = [
    "claims_export",
    "constant_units",
    "get_paper",
    "highlight_segments",
    "hits_export",
    "law_card",
    "list_papers",
    "paper_claims",
    "paper_record",
    "stats",
]


def paper_record(paper: Paper, appearances: list[Appearance]) -> dict[str, Any]:
    """A paper as the CLI's JSON object: its fields plus ``appearances`` (source, position)."""
    row = paper.model_dump(mode="json")
    row["appearances"] = [
        {"source": a.source, "position": a.position, "line": a.line, "format": a.format}
        for a in appearances
    ]
    return row


def _appearances_by_paper(
    store: Store, paper_ids: list[str] | None = None
) -> dict[str, list[Appearance]]:
    if paper_ids is None:
        rows = store.select(Appearance, order_by="paper_id, source, position")
    else:
        rows = store.select(
            Appearance,
            "paper_id IN (SELECT unnest(?))",
            [paper_ids],
            order_by="paper_id, source, position",
        )
    grouped: dict[str, list[Appearance]] = {}
    for a in rows:
        grouped.setdefault(a.paper_id, []).append(a)
    return grouped


def list_papers(store: Store, *, limit: int | None = None) -> list[dict[str, Any]]:
    """Every paper (ordered by title) as a JSON-ready dict with its appearances."""
    papers = store.select(Paper, order_by="lower(title), paper_id", limit=limit)
    apps = _appearances_by_paper(store, None if limit is None else [p.paper_id for p in papers])
    return [paper_record(p, apps.get(p.paper_id, [])) for p in papers]


def get_paper(store: Store, paper_id: str) -> dict[str, Any]:
    """One paper with its appearances; raises ``NotFoundError`` naming the id."""
    paper = store.get(Paper, paper_id)
    if paper is None:
        raise NotFoundError(f"no paper with id {paper_id!r}; list ids with `kb papers --json`")
    return paper_record(paper, _appearances_by_paper(store, [paper_id]).get(paper_id, []))


def stats(store: Store) -> dict[str, int]:
    """Row counts: listing entries, distinct papers, and every other table."""
    counts = {
        "listing_entries": store.count(Appearance),
        "listing_files": int(
            store.cursor().execute("SELECT count(DISTINCT source) FROM appearances").fetchone()[0]  # type: ignore[index]
        ),
        "papers": store.count(Paper),
    }
    for model in (Claim, Exponent, Dataset, Point, ReportedLaw, FitRecord):
        counts[model.table] = store.count(model)
    # Tables with no record model: the scoreboard (`kb scoreboard --build`), then the search
    # index's embedding cache and row map (`kb index`); 0 in a store read (read-only) before
    # the migration that made the table.
    for table in ("scores", "embeddings", "index_rows"):
        row = (
            store.cursor().execute(f"SELECT count(*) FROM {table}").fetchone()
            if store._has_tables(table)
            else None
        )
        counts[table] = int(row[0]) if row else 0
    return counts


def paper_claims(store: Store, paper_id: str) -> tuple[list[Claim], list[Exponent]]:
    """The claims and exponents extracted from one paper, in abstract order."""
    claims = store.select(Claim, "paper_id = ?", [paper_id], order_by="span_start, claim_id")
    exps = store.select(Exponent, "paper_id = ?", [paper_id], order_by="span_start, exponent_id")
    return claims, exps


def highlight_segments(text: str, spans: list[tuple[int, int]]) -> list[tuple[str, bool]]:
    """Split ``text`` into (segment, highlighted) pieces; overlapping spans are merged.

    Spans outside the text are clipped; an empty span list gives one plain segment.
    """
    merged: list[list[int]] = []
    for start, end in sorted((max(0, s), min(len(text), e)) for s, e in spans):
        if start >= end:
            continue
        if merged and start <= merged[-1][1]:
            merged[-1][1] = max(merged[-1][1], end)
        else:
            merged.append([start, end])
    pieces: list[tuple[str, bool]] = []
    cursor = 0
    for start, end in merged:
        if start > cursor:
            pieces.append((text[cursor:start], False))
        pieces.append((text[start:end], True))
        cursor = end
    if cursor < len(text) or not pieces:
        pieces.append((text[cursor:], False))
    return pieces


# The CSV's columns: `kb claims --json`'s fields and the paper's title, the span as two numbers.
_CLAIM_COLUMNS = ("paper_id", "title", "claim_id", "response", "variables", "form", "direction",
                  "evidence", "span_start", "span_end", "extractor_version")  # fmt: skip


def claims_export(paper: Mapping[str, Any], claims: Sequence[Claim]) -> tuple[str, str]:
    """One paper's claims to share: ``(csv_text, json_lines)``.

    The JSON lines are what ``kb claims --paper ID --json`` prints (each claim with its evidence
    sentence, ``span`` and the paper's ``title``); the CSV has one row per claim, variables
    joined with ``;`` and the span as ``span_start``, ``span_end`` (character offsets into the
    abstract, end exclusive).
    """
    from kb.claims import claim_record

    records = [{**claim_record(c), "title": paper["title"]} for c in claims]
    lines = "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records)
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=_CLAIM_COLUMNS, lineterminator="\n")
    writer.writeheader()
    for r, c in zip(records, claims, strict=True):
        writer.writerow(
            {**{k: r[k] for k in _CLAIM_COLUMNS if k in r}, "variables": ";".join(c.variables),
             "span_start": c.span_start, "span_end": c.span_end}
        )  # fmt: skip
    return out.getvalue(), lines


_HIT_COLUMNS = ("rank", "query", "filters", "paper_id", "title", "score", "year", "year_source",
                "domain", "snippet", "exact_match", "weak_match", "notice")  # fmt: skip


def hits_export(
    query: str, hits: Sequence[Any], match_fields: Mapping[str, Any], filters: str = ""
) -> tuple[str, str]:
    """One search's results to share: ``(csv_text, json_lines)``.

    ``hits`` are ``kb.search.Hit`` records, best first; ``match_fields`` the results' notice
    fields (``SearchResults.match_fields()``). The JSON lines are what ``kb search QUERY --json``
    prints (every hit's fields plus those four); the CSV adds the rank, the query and the
    ``filters`` that restricted the results, in words ("has an exponent, years 2020 to …"):
    without them, a file of 12 results for "scaling law" read as all the corpus holds.
    """
    records = [{**h.model_dump(mode="json"), **match_fields} for h in hits]
    lines = "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records)
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=_HIT_COLUMNS, lineterminator="\n",
                            extrasaction="ignore")  # fmt: skip
    writer.writeheader()
    for rank, r in enumerate(records, start=1):
        writer.writerow({**r, "rank": rank, "query": query, "filters": filters})
    return out.getvalue(), lines


# A law's conventions shown beside its numbers (what N counts, the units of C and of the loss).
_CARD_CONVENTIONS = (("response", "response"), ("n_counts", "N counts"), ("compute", "compute"),
                     ("loss_units", "loss"), ("batch_units", "batch in"))  # fmt: skip


# The registry's keys for what N counts, which comparisons match on, as the card says them.
_N_COUNTS_WORDS = {"non_embedding": "non-embedding parameters", "total": "total parameters"}


def _card_value(key: str, value: str) -> str:
    """A convention as a reader reads it: ``n_counts = "non_embedding (Kaplan counting)"`` is
    "non-embedding parameters (Kaplan counting)"; a value in words of its own stays as written."""
    if key != "n_counts":
        return value
    head, sep, rest = value.partition(" (")
    words = _N_COUNTS_WORDS.get(head)
    return f"{words}{sep}{rest}" if words else value


def _with_interval(name: str, value: float, intervals: Mapping[str, list[float]]) -> str:
    iv = intervals.get(name)
    return f"{name} = {value:g}" + (f" ({iv[0]:g} to {iv[1]:g})" if iv else "")


# A scale constant: the value of a scale quantity a law is written against (Kaplan et al.'s
# N_c, D_c, C_c_min, S_c, B_star), in that quantity's units.
_SCALE_CONSTANT = re.compile(r"^([NDCSB])_(?:c(?:_\w+)?|star|crit)$")
# Compute units as the conventions write them, most specific first (C_c_min: "C_min in PF-days
# (1 PF-day = 8.64e19 FLOP)" is in PF-days, not FLOP).
_COMPUTE_UNITS = ("PF-days", "TPUv3 core-days", "GFLOPs", "GMACs", "FLOP")
# A loss unit inside conventions.loss_units ("nats/token, WebText2 test"; "bits per byte of ...").
_LOSS_UNIT = re.compile(r"\b(?:nats|bits)(?:/| per )(?:token|byte|word)s?\b")


def _n_unit(conv: Mapping[str, str]) -> str | None:
    counts = conv.get("n_counts", "").lower()
    if counts.startswith(("non_embedding", "non-embedding")):
        return "non-embedding parameters"
    return "parameters (total count)" if counts.startswith("total") else None


def _d_unit(conv: Mapping[str, str]) -> str | None:
    # D counts tokens where compute is counted per token of it ("6N per token") or the data
    # convention says tokens; nothing else in the conventions says what a data point is.
    said = f"{conv.get('compute', '')} {conv.get('data', '')}".lower()
    return "tokens" if "per token" in said or re.search(r"\btokens\b", said) else None


def _constant_unit(law: ReportedLaw, name: str) -> str | None:
    conv = law.conventions
    if name == "E" and re.search(r"(^|[=+]\s*)E\s*\+|\+\s*E\b", law.formula):
        found = _LOSS_UNIT.search(conv.get("loss_units", ""))  # the irreducible loss
        return found.group(0) if found else None
    scale = _SCALE_CONSTANT.match(name)
    letter = scale.group(1) if scale else None
    if letter == "N":
        return _n_unit(conv)
    if letter == "D":
        return _d_unit(conv)
    if letter == "C":
        return next((u for u in _COMPUTE_UNITS if u in conv.get("compute", "")), None)
    if letter == "S":
        return "steps" if any("steps" in v for v in conv.values()) else None
    if letter == "B":  # batch_units, or Kaplan et al.'s loss_units "...; B_crit in tokens"
        said = re.search(r"\bB\w* in (tokens|sequences|examples)\b", " ".join(conv.values()))
        return conv.get("batch_units") or (said.group(1) if said else None)
    return None


def constant_units(law: ReportedLaw) -> dict[str, str | None]:
    """The unit of each constant of a registry law (its parameters that are not exponents,
    ``kb.filters.law_exponents``), as its ``conventions`` record it, or None when they do not.

    Scale constants take their quantity's convention: N_c what ``n_counts`` counts
    ("non-embedding parameters"), D_c tokens where compute is counted per token, C_c the
    compute convention's unit (PF-days, FLOP, GMACs ...), S_c steps, B_star ``batch_units``
    (or "B_crit in tokens"); an additive E (the irreducible loss) the loss's unit (nats/token).
    Coefficients whose units mix quantities (Chinchilla's A and B) are None: nothing records
    them, and none is made up.
    """
    from kb.filters import law_exponents

    exponents = law_exponents(law)
    return {k: _constant_unit(law, k) for k in law.params if k not in exponents}


def law_card(law: ReportedLaw) -> list[str]:
    """The lines the Paper page shows under a registry law's formula: its fitted values (with
    the intervals it reports, and what kind they are), its derived values said as reported by
    the paper, stated by an unchecked source, or derived here (with how: Kaplan et al.'s b =
    exp_B + exp_S), the conventions that give its numbers their units (C_c_min = 3.1e8 is in
    PF-days), and whether it was checked against the paper. Each constant carries its unit
    where the conventions record it (:func:`constant_units`: "N_c = 8.8e+13 non-embedding
    parameters"); the constants they give none are named on a "units not recorded" line."""
    from kb.derive import derived_here, view_of_law

    units = constant_units(law)
    lines = [
        ", ".join(
            _with_interval(k, v, law.intervals) + (f" {units[k]}" if units.get(k) else "")
            for k, v in law.params.items()
        )
        or "no values recorded (the paper gives them per setting or only in figures)"
    ]
    if unrecorded := [k for k, u in units.items() if u is None]:
        lines.append(f"units not recorded: {', '.join(unrecorded)}")
    ours = derived_here(view_of_law(law))
    stated = [
        _with_interval(k, v, law.intervals)
        for k, v in law.derived.items()
        if k not in ours and law.params.get(k) != v  # Hoffmann et al.'s a, b: fitted and stated
    ]
    if stated:
        source = "reported by the paper" if law.verified else "stated by the source"
        lines.append(f"{source}: {', '.join(stated)}")
    if ours:
        here = ", ".join(f"{k} = {v:g}" for k, v in law.derived.items() if k in ours)
        lines.append(f"derived here (the paper does not state it): {here}; how: "
                     f"{law.conventions['derivation']}")  # fmt: skip
    if law.intervals:
        kind = law.conventions.get("intervals")
        lines.append(f"intervals: {kind}" if kind else "intervals as reported (kind not recorded)")
    conv = [f"{label}: {_card_value(k, str(law.conventions[k]))}" for k, label in _CARD_CONVENTIONS
            if law.conventions.get(k)]  # fmt: skip
    if conv:
        lines.append(" · ".join(conv))
    lines.append(
        ("checked against the paper" if law.verified else "not checked against the paper")
        + (f"; fitted on our dataset `{law.dataset}`" if law.dataset else "")
    )
    return lines
