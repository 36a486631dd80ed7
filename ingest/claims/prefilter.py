"""A cheap substring gate in front of the extractor's case-insensitive regular expressions.

Most cue patterns match nothing in most sentences, yet ``re`` spends tens of microseconds per
pattern per sentence finding that out (an ``IGNORECASE`` alternation gets no literal-prefix
scan). Every match of a pattern must contain one of a few literal strings ("scaling law" needs
``"scaling"`` or ``"law"``), so a plain ``in`` test on the sentence's folded text can prove a
pattern cannot match and skip it. The literals are derived mechanically from the compiled
pattern's parse tree (:func:`required_literals`), never written by hand, so the gate cannot drift
from the rules; a pattern with no such literal is always run. The gate only ever skips a search
whose result is "no match": answers are byte-identical to running every pattern.

Case folding: the gate compares lower-cased literals with :func:`fold` of the text. Under
``re.IGNORECASE`` four non-ASCII characters also match ASCII letters (``İ ı ſ K``); ``fold``
maps them to those letters first, so a match the regex would find is never hidden. Literal runs
keep only characters without case variants (ASCII, or caseless symbols such as ``∝``), so Greek
letters (``β`` also matches ``ϐ``) never enter a literal.
"""

from __future__ import annotations

import re
import re._constants as sre_c
import re._parser as sre_p
from collections.abc import Iterator
from typing import Any

__all__ = [
    "finditer",
    "fold",
    "matches",
    "may_match",
    "required_literals",
    "split_alternatives",
    "sub",
]

# Non-ASCII characters that ``re.IGNORECASE`` matches to an ASCII letter (tests recheck the list).
_TO_ASCII = str.maketrans({"\u0130": "i", "\u0131": "i", "\u017f": "s", "\u212a": "k"})

Literals = frozenset[str]


def fold(text: str) -> str:
    """``text`` as the gate compares it: the IGNORECASE look-alikes made ASCII, then lower-cased."""
    return text.translate(_TO_ASCII).lower()


def _caseless(char: int) -> bool:
    c = chr(char)
    if c.isascii():
        return True
    return c.lower() == c == c.upper() and not c.isalpha()


def _best(candidates: list[Literals]) -> Literals | None:
    """The most selective of several necessary literal sets (any one of them is a valid gate)."""
    if not candidates:
        return None
    return max(candidates, key=lambda c: (min(map(len, c)), -len(c)))


def _sequence(items: Any) -> Literals | None:
    """Literals one of which every match of the concatenation ``items`` contains."""
    candidates: list[Literals] = []
    run: list[str] = []

    def close() -> None:
        if run:
            candidates.append(frozenset({"".join(run)}))
            run.clear()

    for op, arg in items:
        if op is sre_c.LITERAL and _caseless(arg):
            run.append(chr(arg).lower())
            continue
        close()
        if op is sre_c.SUBPATTERN:
            found = _sequence(arg[-1])
        elif op is sre_c.BRANCH:
            found = _branch(arg[1])
        elif op in (sre_c.MAX_REPEAT, sre_c.MIN_REPEAT) and arg[0] >= 1:
            found = _sequence(arg[2])
        else:
            found = None  # classes, optional parts, assertions: nothing they must contain
        if found is not None:
            candidates.append(found)
    close()
    return _best(candidates)


def _branch(alternatives: Any) -> Literals | None:
    out: set[str] = set()
    for alternative in alternatives:
        found = _sequence(alternative)
        if found is None:
            return None  # one alternative needs no literal, so the alternation needs none
        out |= found
    return frozenset(out)


def required_literals(pattern: re.Pattern[str]) -> Literals | None:
    """Lower-case strings at least one of which occurs in every match, or None if none is known.

    Derived from ``pattern``'s parse tree: a concatenation needs what any one of its parts
    needs (a run of literal characters, or a group or repetition of at least one), an
    alternation needs one of what each branch needs. Only compiled-``IGNORECASE`` patterns
    without other flags that change matching (VERBOSE aside) are supported.
    """
    if pattern.flags & ~(re.IGNORECASE | re.UNICODE):
        return None
    found = _sequence(sre_p.parse(pattern.pattern, pattern.flags))
    return found


def split_alternatives(source: str) -> list[str]:
    """The top-level alternatives of a regular expression's source (``a|(b|c)`` -> ``a``, ``(b|c)``).

    A pattern ``A|B`` has a match in a text exactly when ``A`` or ``B`` has one, so each part
    can be gated and searched on its own when only the existence of a match matters.
    """
    parts: list[str] = []
    depth, start, i, n = 0, 0, 0, len(source)
    while i < n:
        char = source[i]
        if char == "\\":
            i += 2
            continue
        if char == "[":
            i += 1
            if i < n and source[i] == "^":
                i += 1
            if i < n and source[i] == "]":
                i += 1  # a leading "]" is a literal member
            while i < n and source[i] != "]":
                i += 2 if source[i] == "\\" else 1
        elif char == "(":
            depth += 1
        elif char == ")":
            depth -= 1
        elif char == "|" and depth == 0:
            parts.append(source[start:i])
            start = i + 1
        i += 1
    parts.append(source[start:])
    return parts


_Gate = tuple[re.Pattern[str], Literals | None]
_CACHE: dict[re.Pattern[str], Literals | None] = {}
_PARTS: dict[re.Pattern[str], list[_Gate]] = {}


def may_match(pattern: re.Pattern[str], folded: str) -> bool:
    """False only if ``pattern`` certainly has no match in the text whose ``fold`` is ``folded``."""
    try:
        literals = _CACHE[pattern]
    except KeyError:
        literals = _CACHE[pattern] = required_literals(pattern)
    if literals is None:
        return True
    for literal in literals:
        if literal in folded:
            return True
    return False


def _parts(pattern: re.Pattern[str]) -> list[_Gate]:
    sources = split_alternatives(pattern.pattern) if pattern.flags & re.VERBOSE == 0 else []
    if len(sources) < 2:
        return [(pattern, required_literals(pattern))]
    compiled = [re.compile(source, pattern.flags) for source in sources]
    return [(rx, required_literals(rx)) for rx in compiled]


def matches(pattern: re.Pattern[str], text: str, folded: str) -> bool:
    """``pattern.search(text) is not None``, searching only the alternatives the gate allows."""
    try:
        parts = _PARTS[pattern]
    except KeyError:
        parts = _PARTS[pattern] = _parts(pattern)
    for rx, literals in parts:
        if literals is not None:
            for literal in literals:
                if literal in folded:
                    break
            else:
                continue
        if rx.search(text) is not None:
            return True
    return False


def sub(pattern: re.Pattern[str], repl: str, text: str, folded: str) -> str:
    """``pattern.sub(repl, text)``, skipped when the gate proves there is nothing to replace."""
    return pattern.sub(repl, text) if may_match(pattern, folded) else text


def finditer(pattern: re.Pattern[str], text: str, folded: str) -> Iterator[re.Match[str]]:
    """``pattern.finditer(text)``, empty when the gate proves there is no match."""
    return pattern.finditer(text) if may_match(pattern, folded) else iter(())
