"""Sentence spans of an abstract: ``(start, end)`` offsets such that ``text[start:end]`` is exact.

Abstracts in listings are single paragraphs with their LaTeX backslashes stripped, so a
sentence ends at ``.``, ``!`` or ``?`` followed by whitespace and an upper-case letter, digit or
opening bracket, except after common abbreviations (``e.g.``, ``et al.``, ``Fig.``) and inside
decimals. Spans exclude surrounding whitespace.

The claim extractor (``ingest.claims``) reads these sentences, and search snippets
(``kb.search``) are widened to them. The search index's own rows are cut by the simpler
``kb.index.sentence_spans``, which breaks after abbreviations too; it is kept as it is because
the index's sentence vectors, and the ranking weights fitted on them, depend on it.
"""

from __future__ import annotations

import re

__all__ = ["MAX_SENTENCE_CHARS", "sentence_spans"]

MAX_SENTENCE_CHARS = 2000
"""Longer runs without a sentence break are cut, so one sentence never swallows a huge text."""

_BREAK = re.compile(r"[.!?](?=[\"')\]]*\s+[\"'(\[]*[A-Z0-9])")
_ABBREV = re.compile(
    r"(?:\b(?:e\.g|i\.e|et al|etc|vs|v\.s|Fig|Figs|Eq|Eqs|Sec|cf|approx|resp|No|Dr|Mr|Ms|St)"
    r"|\b[A-Z])$",
)
_ABBREV_WIDTH = 6  # the longest text _ABBREV matches ("approx"); tests check it against the pattern


def sentence_spans(text: str) -> list[tuple[int, int]]:
    """Offsets of the sentences of ``text``, in order, never empty, whitespace trimmed."""
    spans: list[tuple[int, int]] = []
    start = 0
    for match in _BREAK.finditer(text):
        end = match.end()
        if _ends_in_abbreviation(text, start, match.start()):
            continue
        _add(text, start, end, spans)
        start = end
    _add(text, start, len(text), spans)
    return spans


def _ends_in_abbreviation(text: str, start: int, end: int) -> bool:
    """``_ABBREV.search(text[start:end])``, trying only the last ``_ABBREV_WIDTH + 1`` positions.

    Searching the whole slice at every candidate break was quadratic: 20 kB of "A. A. A. ..."
    (no break is ever taken, so the slice grows) took seconds. Every match of the end-anchored
    pattern lies that close to ``end``; ``\\b`` there sees the same characters as in the slice.
    """
    if end - start <= _ABBREV_WIDTH + 1:
        return _ABBREV.search(text[start:end]) is not None
    return _ABBREV.search(text, end - _ABBREV_WIDTH - 1, end) is not None


def _add(text: str, start: int, end: int, spans: list[tuple[int, int]]) -> None:
    while start < end and text[start].isspace():
        start += 1
    while end > start and text[end - 1].isspace():
        end -= 1
    while end - start > MAX_SENTENCE_CHARS:
        cut = text.rfind(" ", start, start + MAX_SENTENCE_CHARS)
        cut = cut if cut > start else start + MAX_SENTENCE_CHARS
        spans.append((start, cut))
        start = cut
        while start < end and text[start].isspace():
            start += 1
    if end > start:
        spans.append((start, end))
