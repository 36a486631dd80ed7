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
import re._constants as sre_c  # type: ignore[import-not-found]
import re._parser as sre_p  # type: ignore[import-not-found]

__all__ = ["MAX_SENTENCES", "MAX_SENTENCE_CHARS", "search_end", "sentence_spans", "widest"]

MAX_SENTENCE_CHARS = 2000
"""Longer runs without a sentence break are cut, so one sentence never swallows a huge text."""

MAX_SENTENCES = 200
"""Sentences read per abstract, at most: by the claim extractor (``ingest.claims.extract``) and
as sentence rows of the search index (``kb.index``). An arXiv abstract (at most 1,920
characters) has a few dozen at most (the seed corpus at most 14). Without a cap, 20,000
characters of one-word sentences ("1. 1. 1. ...", ~6,000 of them) took the extractor seconds
(every cue is tried on every sentence), and a pasted 1 MB "A. A. ..." abstract became 333,333
index rows to embed."""

_BREAK = re.compile(r"[.!?](?=[\"')\]]*\s+[\"'(\[]*[A-Z0-9])")
_ABBREV = re.compile(
    r"(?:\b(?:e\.g|i\.e|et al|etc|vs|v\.s|Fig|Figs|Eq|Eqs|Sec|cf|approx|resp|No|Dr|Mr|Ms|St)"
    r"|\b[A-Z])$",
)


_WORD_ABBREV = re.compile(
    r"\b(?:e\.g|i\.e|et al|etc|vs|v\.s|Fig|Figs|Eq|Eqs|Sec|cf|approx|resp|No|Dr|Mr|Ms|St)$"
)
# A name's initial: a capital letter after a capitalised word or another initial ("John F.",
# "J. R."), or before another initial; not a variable after a lower-case word ("batch size B.
# Recent work ...").
_NAME_INITIAL = re.compile(r"(?:\b[A-Z][a-z]{0,20}|\b[A-Z]\.)\s{1,3}[A-Z]$")
_ONE_LETTER = re.compile(r"\b[A-Z]\.$")
_NEXT_INITIAL = re.compile(r"\s{1,3}[A-Z]\.\s")  # "J. R. Tolkien": "J." is an initial too


def sentence_spans(text: str, *, variables: bool = False) -> list[tuple[int, int]]:
    """Offsets of the sentences of ``text``, in order, never empty, whitespace trimmed.

    By default any single capital letter before a full stop is taken for an initial (the claim
    extractor's sentences, which its tests and figures pin). ``variables=True`` (search snippets)
    breaks after one unless it looks like a name's initial: "model size N. We show ..." is two
    sentences, and a snippet widened to the first no longer runs on over four.
    """
    spans: list[tuple[int, int]] = []
    start = 0
    for match in _BREAK.finditer(text):
        end = match.end()
        if variables:
            if (
                search_end(_WORD_ABBREV, text, start, match.start())
                or search_end(_NAME_INITIAL, text, start, match.start())
                or (
                    search_end(_ONE_LETTER, text, start, match.end())
                    and _NEXT_INITIAL.match(text, end) is not None
                )
            ):
                continue
        elif search_end(_ABBREV, text, start, match.start()):
            continue
        _add(text, start, end, spans)
        start = end
    _add(text, start, len(text), spans)
    return spans


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


def widest(pattern: re.Pattern[str]) -> int:
    """The longest match ``pattern`` can have; ValueError if that is unbounded or the pattern
    has a look-behind (which reads text before its match, so no window around it is safe)."""
    if "(?<" in pattern.pattern:
        raise ValueError(f"{pattern.pattern!r} has a look-behind")
    longest = int(sre_p.parse(pattern.pattern, pattern.flags).getwidth()[1])
    if longest >= sre_c.MAXREPEAT:
        raise ValueError(f"{pattern.pattern!r} has no longest match")
    return longest


def search_end(pattern: re.Pattern[str], text: str, start: int, end: int) -> bool:
    """``pattern.search(text[start:end]) is not None`` for a pattern anchored by ``$`` at its
    end and of bounded width (``widest``), in time independent of ``end - start``.

    Searching a slice for an end-anchored pattern tries every position of the slice: called
    once per candidate sentence break with a growing slice, that was quadratic (20 kB of
    "A. A. A. ..." took seconds). Every match lies within ``widest + 1`` characters of ``end``
    (``$`` also matches before a final newline), so only those positions are tried; a ``\\b``
    there sees the same characters as in the slice, because ``pos`` does not hide the text
    before it. The sentence splitter's abbreviation check and the claim extractor's
    (``ingest.claims.prefilter`` re-exports it) both use it.
    """
    width = _width(pattern)
    if end - start <= width + 1:
        return pattern.search(text[start:end]) is not None
    return pattern.search(text, end - width - 1, end) is not None


_WIDTHS: dict[int, tuple[re.Pattern[str], int]] = {}


def _width(pattern: re.Pattern[str]) -> int:
    known = _WIDTHS.get(id(pattern))
    if known is None:
        known = _WIDTHS[id(pattern)] = (pattern, widest(pattern))
    return known[1]
