"""The shape of a stated trend: its functional ``form`` and its ``direction``.

Both are read from the claim's own sentence by small named tables (first match wins), so
``explain()`` can say which phrase decided them:

* **form**: a named law shape ("power law plus a constant", "broken power law", "log-linear",
  "exponential", "sigmoidal", "S-shaped") or a printed power (``N^{-0.07}``, ``∝``).
* **direction**: first the phrases that say it outright (U-shaped, plateaus, inverse scaling,
  "benefits from"); then the polarity of the measure: with the clause naming the scale quantity
  ("as model size grows", "with more data") set aside, "lower loss" or "error decreases" is an
  improvement and "accuracy decreases" a worsening. A measure the sentence does not name leaves
  the direction unspecified.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from ingest.claims.prefilter import fold, matches, register, sub

__all__ = ["DIRECTION_PATTERNS", "FORM_PATTERNS", "read_direction", "read_form"]


def _rx(pattern: str) -> re.Pattern[str]:
    return re.compile(pattern, re.IGNORECASE)


FORM_PATTERNS: tuple[tuple[str, re.Pattern[str]], ...] = (
    (
        "power_law_plus_constant",
        _rx(
            r"power[- ]law plus (?:a )?constant|L_0 \+|\bE \+|\+ ?E\b"
            r"|irreducible (?:loss|error|term)|entropy floor"
            r"|(?:non-?zero|constant) (?:loss )?(?:floor|offset|asymptote)"
        ),
    ),
    (
        "broken_power_law",
        _rx(
            r"broken power[- ]law|break (?:of|in) the power[- ]law|universal break"
            r"|(?:two|multiple|distinct) power[- ]law regimes"
        ),
    ),
    (
        "power_law",
        _rx(
            # a vulgar fraction is a number too (``N^{-½}``)
            r"power[- ]?laws?|\bpropto\b|∝|\^\{?[-−]?(?:\d|[\u00bc-\u00be\u2150-\u215e]|alpha|beta)"
            r"|inversely proportional"
            r"|log-log (?:linear|plot|space)|linear (?:in|on) (?:a )?log-log|scales as a power"
        ),
    ),
    (
        "log_linear",
        _rx(r"log-linear|logarithmic|log-law|linear(?:ly)? (?:in|with) (?:the )?log(?:arithm)?\b"),
    ),
    ("exponential", _rx(r"\bexponential(?:ly)?\b(?! linear)")),
    ("sigmoidal", _rx(r"sigmoid|S-shaped|S-curve|\blogistic (?:curve|function|law)")),
    ("other", _rx(r"U-shaped|inverted-U|double descent|\blinear(?:ly)?\b|quadratic")),
)

# Phrases that state the direction outright, whatever the measure.
DIRECTION_PATTERNS: tuple[tuple[str, re.Pattern[str]], ...] = (
    (
        "non_monotonic",
        _rx(
            r"U-shaped|inverted-U|non-?monotonic|fluctuat|crossover|reverses|double descent"
            r"|first (?:improves?|increases?|decreases?|rises?) (?:and )?then"
        ),
    ),
    (
        "saturates",
        _rx(
            r"plateau|saturat|levels? off|diminish|stops improving|bottleneck"
            r"|does not result in a significant|marginal (?:gains|returns|improvements?)"
            r"|no (?:further|additional|significant) (?:gains?|improvements?|benefits?)"
        ),
    ),
    (
        "worsens",
        _rx(
            r"inverse scaling|negative scaling|\bworse\b|degrad|\bhurts?\b|deteriorat"
            r"|rises with|increases more rapidly"
        ),
    ),
    (
        "improves",
        _rx(
            r"improv|\bbetter\b|gains?\b|hallucinate less|benefits? (?:from|with)|positive scaling"
            r"|increases? (?:the )?(?:performance|accuracy)|predictably increases|outperform"
            r"|superior"
        ),
    ),
)

# The clause naming the scale quantity is set aside before the measure's polarity is read:
# "increases" in "as model size increases" moves the quantity, not the measure.
_SCALE_CLAUSE = _rx(
    r"\bas\s+(?:the\s+)?[\w\s-]{0,40}?(?:increases|grows|scales|is scaled|rises)\b"
    r"|\bwith\s+(?:increas\w+|more|larger|bigger|longer|growing|additional)\b[\w\s-]{0,30}"
    r"|\b(?:increas\w+|scal\w+ up|more|larger|bigger)\s+(?:the\s+)?(?:model|data|compute|"
    r"parameters|tokens|training|number|amount|size|budget)\w*"
)
# "more than seven orders of magnitude", "fewer than 10 examples", "higher than 90%" size a
# range or a level; they say nothing about which way the measure moves.
_AMOUNT = (
    r"(?!\s+than\s+(?:\d|(?:one|two|three|four|five|six|seven|eight|nine|ten|twice|half"
    r"|an? (?:few|dozen|hundred|thousand|million|billion|factor|order))\b|orders\b))"
)
_UP = _rx(r"\b(?:increas\w*|grow\w*|rises?|higher|larger|greater|more)\b" + _AMOUNT)
_DOWN = _rx(
    r"\b(?:decreas\w*|declin\w*|drops?|reduc\w*|lower\w*|fewer|smaller|decay\w*|falls?)\b" + _AMOUNT
)
register(
    *(rx for _, rx in FORM_PATTERNS),
    *(rx for _, rx in DIRECTION_PATTERNS),
    _SCALE_CLAUSE,
    _UP,
    _DOWN,
)
_LOWER_IS_BETTER = frozenset({"loss", "error"})
# Measures with a better end; an optimal setting or "other" (sparsity) has none.
_POLAR = _LOWER_IS_BETTER | {"accuracy", "downstream_performance", "performance", "efficiency"}


def read_form(body: str, *, folded: str | None = None) -> str:
    """The first form whose phrase the sentence uses, else ``unspecified``.

    ``folded``, if given, is ``prefilter.fold(body)`` (saves computing it again).
    """
    folded = fold(body) if folded is None else folded
    for name, rx in FORM_PATTERNS:
        if matches(rx, body, folded):
            return name
    return "unspecified"


def read_direction(body: str, responses: Sequence[str], *, folded: str | None = None) -> str:
    """The direction the sentence states for its measure (see the module docstring).

    ``folded``, if given, is ``prefilter.fold(body)`` (saves computing it again).
    """
    folded = fold(body) if folded is None else folded
    for name, rx in DIRECTION_PATTERNS:
        if matches(rx, body, folded):
            return name
    measures = [r for r in responses if r in _POLAR]
    if not measures:
        return "unspecified"
    rest = sub(_SCALE_CLAUSE, " ", body, folded)
    rest_folded = folded if rest == body else fold(rest, scan=False)
    up, down = matches(_UP, rest, rest_folded), matches(_DOWN, rest, rest_folded)
    if up == down:
        return "unspecified"  # neither, or both ("fewer errors but higher cost"): not decidable
    lower_better = {r in _LOWER_IS_BETTER for r in measures}
    if len(lower_better) != 1:
        return "unspecified"  # a loss and an accuracy in one sentence: no single polarity
    return "improves" if down == lower_better.pop() else "worsens"
