"""How the words of an abstract tie an exponent to the quantity it belongs to.

Moved out of ``ingest.claims.exponents`` (which reads the numbers) unchanged: a base letter's
quantity as the abstract defines it in words ("the number of experts E", "with E experts",
"vocabulary size V") or as papers write it (N, D, C, B, d...), and the grammar that ties a
words-rule exponent to one quantity ("scales with data size with an exponent of 0.3", "the
data-size exponent is 0.3", "an exponent of 0.07 in N", "... 0.3 and 0.5 for data size and model
size, respectively", "the exponents of N and D are 0.34 and 0.28"). Bare "data" listed with
another quantity is the data size, after it or before it ("model size and data", "the exponents
for data and model size").
"""

from __future__ import annotations

import functools
import re

from ingest.claims import lexicon as lx

__all__ = [
    "BASE_VARIABLE",
    "CLAUSE_END",
    "RESPECTIVELY",
    "base_variable",
    "defined_letters",
    "list_end",
    "listed_starting",
    "respective",
    "tied_variable",
]

BASE_VARIABLE = {
    "N": "model_size",
    "D": "data_size",
    "C": "compute",
    "B": "batch_size",
    "d": "width",
    "width": "width",
    "depth": "depth",
    "S": "training_steps",
    "s": "training_steps",
    "t": "training_steps",
    "steps": "training_steps",
}


# A base letter the abstract defines in words ("the number of experts E", "vocabulary size V",
# "with E experts"): its powers are laws in that quantity, whatever the convention says. Each
# entry names the quantity; a letter defined as two quantities names none.
_DEFINED_BEFORE: dict[str, str] = {
    "num_experts": r"number of (?:activated |active |routed |total )?experts|expert count",
    "model_size": r"number of (?:model |non-embedding |trainable )?parameters|model size"
    r"|parameter count",
    # bare "number of samples k" is as often drawn at test time: only training samples count
    "data_size": r"number of (?:(?:training |unique |pre-?training )?(?:tokens|examples"
    r"|data points)|(?:training |pre-?training )samples)|(?:training )?data(?:set)? size"
    r"|training set size",
    "compute": r"(?:training )?compute budget|training compute|amount of compute",
    "batch_size": r"batch size",
    "width": r"width|hidden (?:size|dimension)|model dimension|embedding dimension",
    "depth": r"depth|number of layers",
    "training_steps": r"number of (?:training |optimi[sz]ation |gradient )?(?:steps|iterations"
    r"|updates|epochs)|training steps",
    "precision": r"bit[- ]?width|number of bits",
    "inference_compute": r"number of (?:samples|attempts|generations|votes) per (?:problem"
    r"|question|prompt|query)",
    "other": r"vocabulary size|number of (?:tasks|languages|environments|domains)"
    r"|(?:image |input )?resolution|intrinsic dimension",
}
_DEFINED_AFTER: dict[str, str] = {
    "inference_compute": r"(?:samples|attempts|generations) per (?:problem|question|prompt"
    r"|query)",
    "num_experts": r"experts",
    "model_size": r"parameters",
    "data_size": r"tokens|examples",
    "training_steps": r"steps|iterations|updates|epochs",
    "depth": r"layers",
    "precision": r"bits",
    "other": r"tasks|languages|environments|domains",
}
_LETTER = r"\(?\$?(?P<letter>[A-Za-z])\$?\)?(?![\w'\u2019-])(?!\.\w)"
_DEFINED = re.compile(
    r"\b(?i:"
    + "|".join(f"(?P<{name}>{rx})" for name, rx in _DEFINED_BEFORE.items())
    + rf")\s+{_LETTER}"
    # a letter before its plural noun, not a count's unit ("300 B tokens", "1.4T tokens")
    + r"|(?<![\w.\\])(?<!\d )\$?(?P<after>[A-Za-z])\$?\s+(?i:"
    + "|".join(f"(?P<a_{name}>{rx})" for name, rx in _DEFINED_AFTER.items())
    + r")\b"
)
_NOT_SYMBOLS = frozenset("aAI")  # an article or a pronoun, never a defined letter


@functools.lru_cache(maxsize=16)
def defined_letters(text: str) -> dict[str, str | None]:
    """Base letters the abstract defines in words (``_DEFINED``), mapped to their quantity;
    None for a letter defined as two different quantities. Cached like
    ``exponents._exponent_symbols``."""
    found: dict[str, str | None] = {}
    for m in _DEFINED.finditer(text):
        letter = m.group("letter") or m.group("after")
        if letter in _NOT_SYMBOLS:
            continue
        variable: str | None = next(
            name.removeprefix("a_")
            for name, value in m.groupdict().items()
            if value is not None and name not in ("letter", "after")
        )
        if found.get(letter, variable) != variable:
            variable = None
        found[letter] = variable
    return found


def base_variable(base: str, defined: dict[str, str | None]) -> tuple[str | None, str | None]:
    """(variable, rule) of a power's base: the abstract's own definition, else the convention."""
    if base in defined:
        variable = defined[base]
        return variable, "defined" if variable else None
    variable = BASE_VARIABLE.get(base)
    return variable, "convention" if variable else None


CLAUSE_END = re.compile(r"\s*(?:[,.;:)]|$)")


# The grammar tying a words-rule exponent to one quantity (``tied_variable``): "scales with
# data size with an exponent of 0.3", "the data-size exponent is 0.3", "an exponent of 0.3 in
# data size", "the exponent for model size lies between 0.2 and 0.3".
_GAP_WITH = re.compile(r"\s+(?:with|at|by)\s+(?:an?\s+|the\s+)?(?:[\w-]+\s+){0,2}$")
_GAP_BEFORE = re.compile(r"[\s-]+(?:scaling[\s-]+)?$")
_PREPOSITION_BEFORE = re.compile(
    r"\b(?:with|in|of|on|for|against|versus|vs\.?)\s+(?:the\s+)?(?:(?:increasing|growing)\s+)?$",
    re.IGNORECASE,
)
_LISTED_BEFORE = re.compile(r"\s*(?:\band|\bor|,|/)\s*(?:the\s+)?$", re.IGNORECASE)
_PREPOSITION_AFTER = re.compile(
    r"\s*(?:for|in|of|with respect to|w\.r\.t\.|along|on)\s+(?:the\s+)?", re.IGNORECASE
)
_LISTED_AFTER = re.compile(r"\s*(?:,|\band\b|\bor\b|/)\s*(?:the\s+)?", re.IGNORECASE)
_TIE_WIDTH = 60
_WORD_START = re.compile(r"\b\w")


# A bare scale letter in words ("an exponent of 0.07 in N", "for N and D, respectively"): the
# letter alone, then the end of the phrase (punctuation or a function word), not a count's or a
# dimension's letter ("in d dimensions"). Its quantity is the letter's (``base_variable``).
_BARE_LETTER = re.compile(
    r"(?<![\w'\u2019\\.^_-])\$?(?P<letter>[A-Za-z])\$?(?=\s*(?:[,.;:)]|$|(?:and|or|but|while"
    r"|whereas|with|for|at|when|across|over|respectively|in|on|from|as|is|are|was|were|than|which"
    r"|where|exponents?|scaling)\b)|-(?:\s+(?:and|or)|exponents?)\b)"
)
# Inside one phrase a list word means two quantities read as one ("model size and data").
_LIST_INSIDE = re.compile(r",|\b(?:and|or)\b", re.IGNORECASE)


def _letter_quantity(m: re.Match[str], defined: dict[str, str | None]) -> str | None:
    letter = m.group("letter")
    return None if letter in _NOT_SYMBOLS else base_variable(letter, defined)[0]


def _quantity_ending(body: str, end: int, defined: dict[str, str | None]) -> tuple[str, int] | None:
    """The scale quantity (``lexicon.VARIABLE_PATTERNS``, else a bare scale letter) named by the
    words ending at ``end``, with where they start: the longest such phrase without a list word
    in it, None if none or two tie."""
    starts = [w.start() for w in _WORD_START.finditer(body, max(0, end - _TIE_WIDTH), end)]
    found = {
        (name, at)
        for at in starts
        for name, rx in lx.VARIABLE_PATTERNS.items()
        if rx.fullmatch(body, at, end)
    }
    unlisted = {(n, at) for n, at in found if not _LIST_INSIDE.search(body, at, end)}
    if not found and end > 0:
        letter = _BARE_LETTER.match(body, end - 1 - (body[end - 1] == "$"))
        if letter is not None and (name := _letter_quantity(letter, defined)) is not None:
            return name, letter.start()
    return _longest(unlisted or found)


def _quantity_starting(
    body: str, start: int, defined: dict[str, str | None]
) -> tuple[str, int] | None:
    """The scale quantity named by the words starting at ``start`` (else a bare scale letter),
    with where they end: the longest phrase without a list word in it."""
    found = {
        (name, m.end())
        for name, rx in lx.VARIABLE_PATTERNS.items()
        if (m := rx.match(body, start, min(len(body), start + _TIE_WIDTH))) and m.end() > start
    }
    found = {(n, e) for n, e in found if not _LIST_INSIDE.search(body, start, e)} or found
    if not found:
        letter = _BARE_LETTER.match(body, start)
        if letter is not None and (name := _letter_quantity(letter, defined)) is not None:
            return name, letter.end()
        return None
    far = max(e for _, e in found)
    names = {n for n, e in found if e == far}
    return (names.pop(), far) if len(names) == 1 else None


def _longest(found: set[tuple[str, int]]) -> tuple[str, int] | None:
    if not found:
        return None
    first = min(s for _, s in found)
    names = {n for n, s in found if s == first}
    return (names.pop(), first) if len(names) == 1 else None


def tied_variable(
    body: str,
    kind_start: int,
    kind_end: int,
    numbers: list[tuple[int, int]],
    defined: dict[str, str | None],
) -> str | None:
    """The one quantity the grammar of the sentence ties an "exponent" to, else None.

    Four shapes: a quantity after a preposition right before "with an exponent" ("scales with
    data size with an exponent of 0.3"), a quantity naming the exponent ("the data-size
    exponent is 0.3"), one right after "exponent for/of/in" ("the exponent for model size lies
    between ..."), or right after the value, for a single value ("an exponent of 0.3 in data
    size"). A quantity listed with another ("data size and model size with an exponent of
    0.3") ties nothing; two shapes naming different quantities tie nothing.
    """
    tied: set[str] = set()
    lo = max(0, kind_start - _TIE_WIDTH)
    gap = _GAP_WITH.search(body, lo, kind_start)
    if gap is not None:
        before = _quantity_ending(body, gap.start(), defined)
        if before is not None and _PREPOSITION_BEFORE.search(
            body, max(0, before[1] - 30), before[1]
        ):
            tied.add(before[0])
    gap = _GAP_BEFORE.search(body, lo, kind_start)
    if gap is not None:
        before = _quantity_ending(body, gap.start(), defined)
        listed = None if before is None else _LISTED_BEFORE.search(body, lo, before[1])
        if before is not None and (
            listed is None
            or _listed_item_ending(body, len(body[: listed.start()].rstrip()), defined) is None
        ):
            tied.add(before[0])  # "the data-size exponent", not "data size and model size ..."
    after_at = [kind_end] + ([numbers[-1][1]] if len(numbers) == 1 else [])
    for at in after_at:
        prep = _PREPOSITION_AFTER.match(body, at)
        if prep is None:
            continue
        after = _quantity_starting(body, prep.end(), defined)
        if after is None:
            continue
        listed = _LISTED_AFTER.match(body, after[1])
        if listed is not None and _quantity_starting(body, listed.end(), defined) is not None:
            continue  # "in data size and model size"
        tied.add(after[0])
    return tied.pop() if len(tied) == 1 else None


RESPECTIVELY = re.compile(r"\s*,?\s*(?:\([^()]{0,40}\)\s*,?\s*)?respectively\b", re.IGNORECASE)


def _listed_ending(body: str, end: int, defined: dict[str, str | None]) -> list[str]:
    """The quantities of a list ending at ``end`` ("data size and model size"), in order."""
    found: list[str] = []
    while len(found) < 6:
        last = (
            _listed_item_ending(body, end, defined)
            if found
            else _quantity_ending(body, end, defined)
        )
        if last is None:
            return []
        found.insert(0, last[0])
        listed = _LISTED_BEFORE.search(body, max(0, last[1] - 12), last[1])
        if listed is None:
            return found
        # a suspended hyphen ends a list item: "the N- and D-exponents"
        end = len(body[: listed.start()].rstrip().removesuffix("-"))
    return []


# "data" alone after a list word is the data size ("model size and data"), as the lexicon
# reads "data" listed beside another scale quantity; so is "data" before a list word and another
# quantity ("the exponents for data and model size", "the data and model size exponents").
_DATA_ITEM = re.compile(r"data\b(?![\s-]*(?:sets?|store|points?)\b)", re.IGNORECASE)
_DATA_ENDING = re.compile(r"(?<![\w-])data$", re.IGNORECASE)


def _listed_item_ending(
    body: str, end: int, defined: dict[str, str | None]
) -> tuple[str, int] | None:
    """``_quantity_ending`` for an item listed before another one, which may be bare "data"."""
    item = _quantity_ending(body, end, defined)
    if item is None and (data := _DATA_ENDING.search(body, max(0, end - 4), end)) is not None:
        return "data_size", data.start()
    return item


def _first_item(body: str, start: int, defined: dict[str, str | None]) -> tuple[str, int] | None:
    """The first item of a list starting at ``start``: a quantity, or bare "data" when a list
    word and another quantity follow it ("data and model size"; "data alone" is no list)."""
    item = _quantity_starting(body, start, defined)
    if item is not None:
        return item
    data = _DATA_ITEM.match(body, start)
    if data is None:
        return None
    listed = _LISTED_AFTER.match(body, data.end())
    if listed is None or _item_starting(body, listed.end(), defined, listed=True) is None:
        return None
    return "data_size", data.end()


def _item_starting(
    body: str, start: int, defined: dict[str, str | None], *, listed: bool
) -> tuple[str, int] | None:
    """``_quantity_starting``, and for an item after a list word also bare "data"."""
    item = _quantity_starting(body, start, defined)
    if item is None and listed and (data := _DATA_ITEM.match(body, start)) is not None:
        return "data_size", data.end()
    return item


def _list_item(
    body: str, start: int, defined: dict[str, str | None], *, first: bool
) -> tuple[str, int] | None:
    """The list item starting at ``start``: ``_first_item`` first, then ``_item_starting``."""
    if first:
        return _first_item(body, start, defined)
    return _item_starting(body, start, defined, listed=True)


def listed_starting(body: str, start: int, defined: dict[str, str | None]) -> list[str]:
    """The quantities of a list starting at ``start``, in order."""
    found: list[str] = []
    while len(found) < 6:
        first = _list_item(body, start, defined, first=not found)
        if first is None:
            return []
        found.append(first[0])
        listed = _LISTED_AFTER.match(body, first[1])
        if listed is None or _item_starting(body, listed.end(), defined, listed=True) is None:
            return found
        start = listed.end()
    return []


def respective(
    body: str, kind_start: int, numbers: list[tuple[int, int]], defined: dict[str, str | None]
) -> list[str] | None:
    """Per value, the quantity a "respectively" list pairs it with, else None: "the data size
    and model size exponents are 0.3 and 0.5, respectively", "scales with data size and model
    size with exponents of 0.3 and 0.5, respectively", "exponents of 0.3 and 0.5 for data size
    and model size, respectively". Exactly one list, as long as the values, must be named."""
    after = numbers[-1][1]
    prep = _PREPOSITION_AFTER.match(body, after)
    lists: list[list[str]] = []
    if prep is not None:
        listed = listed_starting(body, prep.end(), defined)
        if not listed or not RESPECTIVELY.match(body, list_end(body, prep.end(), defined)):
            return None
        lists.append(listed)
    elif not (RESPECTIVELY.match(body, after) or CLAUSE_END.match(body, after)):
        return None  # a list before the values pairs when "respectively" or the clause ends
    lo = max(0, kind_start - _TIE_WIDTH)
    for gap_rx in (_GAP_WITH, _GAP_BEFORE):
        gap = gap_rx.search(body, lo, kind_start)
        if gap is not None and (listed := _listed_ending(body, gap.start(), defined)):
            lists.append(listed)
    if len(lists) != 1 or len(lists[0]) != len(numbers) or len(set(lists[0])) != len(numbers):
        return None
    return lists[0]


def list_end(body: str, start: int, defined: dict[str, str | None]) -> int:
    """Where the list of quantities starting at ``start`` ends."""
    end = first_start = start
    while (first := _list_item(body, start, defined, first=start == first_start)) is not None:
        end = first[1]
        listed = _LISTED_AFTER.match(body, end)
        if listed is None:
            break
        start = listed.end()
    return end
