"""A cheap substring gate in front of the extractor's case-insensitive regular expressions.

Most cue patterns match nothing in most sentences, yet ``re`` spends tens of microseconds per
pattern per sentence finding that out (an ``IGNORECASE`` alternation gets no literal-prefix
scan). Every match of a pattern must contain one of a few literal strings ("scaling law" needs
``"scaling"`` or ``"law"``), so a plain substring test on the sentence's folded text can prove
a pattern cannot match and skip it. The literals are derived mechanically from the compiled
pattern's parse tree (:func:`required_literals`), never written by hand, so the gate cannot
drift from the rules; a pattern with no such literal is always run.

Where only the existence of a match matters (:func:`matches`), a pattern ``A|B|C`` is split
into its top-level alternatives, each with its own gate, and only the alternatives whose
literals occur are searched: ``A|B`` has a match exactly when ``A`` or ``B`` has one.
:func:`sub` and :func:`finditer` keep the whole pattern (which match wins matters there) and
only skip it when no match is possible. So every answer equals running every pattern.

Case folding: the gate compares lower-cased literals with :func:`fold` of the text. Under
``re.IGNORECASE`` four non-ASCII characters also match ASCII letters (U+0130, U+0131, U+017F,
U+212A); ``fold`` maps them to those letters first, so a match the regex would find is never
hidden. Literal runs keep only characters without case variants (ASCII, or caseless symbols
such as ``∝``), so Greek letters (``β`` also matches ``ϐ``) never enter a literal.
"""

from __future__ import annotations

import re
import re._constants as sre_c  # type: ignore[import-not-found]
import re._parser as sre_p  # type: ignore[import-not-found]
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any

from kb.sentences import search_end, widest  # re-exported: one windowed search for both

__all__ = [
    "Folded",
    "finditer",
    "fold",
    "matches",
    "may_match",
    "register",
    "required_literals",
    "required_sets",
    "search_end",
    "split_alternatives",
    "sub",
    "widest",
]

# Non-ASCII characters that ``re.IGNORECASE`` matches to an ASCII letter (tests recheck the list).
_TO_ASCII = str.maketrans({"\u0130": "i", "\u0131": "i", "\u017f": "s", "\u212a": "k"})

Literals = frozenset[str]


class Folded(str):
    """A text as the gate compares it, with the registered literals it contains (``present``)."""

    present: frozenset[str]
    version: int


def fold(text: str, *, scan: bool = True) -> Folded:
    """``text`` with the IGNORECASE look-alikes made ASCII and lower-cased.

    With ``scan``, the result also records which literals of the registered patterns it
    contains, so a text searched by many patterns pays for the substring tests once and each
    gate is a set operation; without, each gate tests its own literals.
    """
    lowered = text.translate(_TO_ASCII).lower()
    folded = Folded(lowered)
    folded.present = frozenset(filter(lowered.__contains__, _universe)) if scan else frozenset()
    folded.version = len(_universe) if scan else -1
    return folded


def _caseless(char: int) -> bool:
    c = chr(char)
    if c.isascii():
        return True
    return c.lower() == c == c.upper() and not c.isalpha()


def _minimal(literals: Literals) -> Literals:
    """``literals`` without those containing another one (which is then present too)."""
    return frozenset(a for a in literals if not any(b != a and b in a for b in literals))


def _best(candidates: list[Literals]) -> Literals | None:
    """The most selective of several necessary literal sets (any one of them is a valid gate)."""
    if not candidates:
        return None
    return max(candidates, key=lambda c: (min(map(len, c)), -len(c)))


def _sequence(items: Any) -> Literals | None:
    """Literals one of which every match of the concatenation ``items`` contains."""
    return _best(_candidates(items))


def _candidates(items: Any) -> list[Literals]:
    """Literal sets each of which every match of ``items`` meets (contains one literal of)."""
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
    return candidates


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
    return None if found is None else _minimal(found)


def required_sets(pattern: re.Pattern[str]) -> list[Literals]:
    """Literal sets every match meets *each* of, most selective first (``required_literals``
    is the first); empty if none is known. ``a[- ]b c`` needs ``a`` and ``b c``."""
    if pattern.flags & ~(re.IGNORECASE | re.UNICODE):
        return []
    sets = {_minimal(c) for c in _candidates(sre_p.parse(pattern.pattern, pattern.flags))}
    return sorted(sets, key=lambda c: (min(map(len, c)), -len(c), sorted(c)), reverse=True)


def split_alternatives(source: str) -> list[str]:
    """The top-level alternatives of a pattern's source: ``a|(b|c)`` gives ``a`` and ``(b|c)``.

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


@dataclass(frozen=True)
class _Gates:
    """One pattern's gates: its parts (top-level alternatives) and the literals each needs."""

    pattern: re.Pattern[str]  # kept alive: the table is keyed by its id
    whole: Literals | None
    parts: tuple[re.Pattern[str], ...]
    by_literal: dict[str, tuple[int, ...]]  # literal -> the parts needing it
    literals: frozenset[str]
    ungated: frozenset[int]  # parts needing no known literal: always searched
    also: tuple[tuple[Literals, ...], ...]  # per part: further sets it needs one literal of


# Keyed by id(): hashing a compiled pattern hashes its whole program, on every lookup.
_GATES: dict[int, _Gates] = {}
_universe: list[str] = []  # every literal of a registered pattern; only ever grows
_known: set[str] = set()


def _gates(pattern: re.Pattern[str]) -> _Gates:
    whole = required_literals(pattern)
    sources = split_alternatives(pattern.pattern) if not pattern.flags & re.VERBOSE else []
    if len(sources) < 2:
        gated = [(pattern, whole)]
    else:
        compiled = [re.compile(source, pattern.flags) for source in sources]
        gated = [(rx, required_literals(rx)) for rx in compiled]
    also = tuple(tuple(required_sets(rx)[1:]) for rx, _ in gated)
    by_literal: dict[str, list[int]] = {}
    for i, (_, literals) in enumerate(gated):
        for literal in literals or ():
            by_literal.setdefault(literal, []).append(i)
    return _Gates(
        pattern=pattern,
        whole=whole,
        parts=tuple(rx for rx, _ in gated),
        by_literal={k: tuple(v) for k, v in by_literal.items()},
        literals=frozenset(by_literal),
        ungated=frozenset(i for i, (_, literals) in enumerate(gated) if literals is None),
        also=also,
    )


def register(*patterns: re.Pattern[str]) -> None:
    """Derive the gates of ``patterns`` now, adding their literals to what ``fold`` scans for.

    Patterns met unregistered are registered on first use; a text folded before that is then
    gated by plain substring tests instead (its ``present`` set predates their literals).
    """
    for pattern in patterns:
        if id(pattern) in _GATES:
            continue
        gates = _gates(pattern)
        for literal in sorted(gates.literals | (gates.whole or frozenset())):
            if literal not in _known:
                _known.add(literal)
                _universe.append(literal)
        _GATES[id(pattern)] = gates


def _get(pattern: re.Pattern[str]) -> _Gates:
    gates = _GATES.get(id(pattern))
    if gates is None:
        register(pattern)
        gates = _GATES[id(pattern)]
    return gates


def _present(folded: str) -> frozenset[str] | None:
    """The scanned literals of ``folded``, if it was scanned against every registered one."""
    if type(folded) is Folded and folded.version == len(_universe):
        return folded.present
    return None


def may_match(pattern: re.Pattern[str], folded: str) -> bool:
    """False only if ``pattern`` certainly has no match in the text whose ``fold`` is ``folded``."""
    whole = _get(pattern).whole
    if whole is None:
        return True
    present = _present(folded)
    if present is not None:
        return not whole.isdisjoint(present)
    return any(literal in folded for literal in whole)


def matches(pattern: re.Pattern[str], text: str, folded: str) -> bool:
    """``pattern.search(text) is not None``, searching only the alternatives the gate allows."""
    gates = _GATES.get(id(pattern)) or _get(pattern)
    if type(folded) is Folded and folded.version == len(_universe):
        hits: Iterable[str] = gates.literals.intersection(folded.present)
    else:
        hits = [lit for lit in gates.literals if lit in folded]
    if not hits and not gates.ungated:
        return False
    todo = set(gates.ungated)
    for literal in hits:
        todo.update(gates.by_literal[literal])
    parts, also = gates.parts, gates.also
    for i in sorted(todo):
        # the further sets are tested directly: few parts get this far
        needs = also[i]
        if needs and not all(_meets(literals, folded) for literals in needs):
            continue
        if parts[i].search(text):
            return True
    return False


def _meets(literals: Literals, folded: str) -> bool:
    return any(literal in folded for literal in literals)


def sub(pattern: re.Pattern[str], repl: str, text: str, folded: str) -> str:
    """``pattern.sub(repl, text)``, skipped when the gate proves there is nothing to replace."""
    return pattern.sub(repl, text) if may_match(pattern, folded) else text


def finditer(pattern: re.Pattern[str], text: str, folded: str) -> Iterator[re.Match[str]]:
    """``pattern.finditer(text)``, empty when the gate proves there is no match."""
    return pattern.finditer(text) if may_match(pattern, folded) else iter(())
