"""The literal gate in front of the claim extractor's patterns never changes an answer."""

from __future__ import annotations

import re

from hypothesis import given, settings
from hypothesis import strategies as st

from ingest.claims import exponents, trends
from ingest.claims import lexicon as lx
from ingest.claims.prefilter import (
    finditer,
    fold,
    matches,
    may_match,
    required_literals,
    required_sets,
    split_alternatives,
    sub,
)

PATTERNS: list[re.Pattern[str]] = [
    *(rx for rx, _ in lx.RELATION_PATTERNS.values()),
    *lx.VARIABLE_PATTERNS.values(),
    *lx.RESPONSE_PATTERNS.values(),
    *(rx for _, rx in lx.DOMAIN_PATTERNS),
    lx.BACKGROUND, lx.RELEASE, lx.NOT_A_LAW, lx.HEARSAY, lx.COMPLEXITY, lx.SETUP,
    lx.FIRST_PERSON, lx.PREDICTION_ACCURACY, lx.DOWNSTREAM_EXPLICIT, lx.TITLE_LAW,
    *(rx for _, rx in trends.FORM_PATTERNS), *(rx for _, rx in trends.DIRECTION_PATTERNS),
    exponents._POWER, exponents._POWER_BARE, exponents._SYMBOL, exponents._WORDS,
    exponents._POWER_PAREN, exponents._SYMBOL_PAREN, exponents._SYMBOL_LIST,
    exponents._SYMBOL_TUPLE, exponents._OWNED, exponents._POWER_UNBRACED,
]  # fmt: skip

# Words and symbols the patterns look for, and the characters that trap case folding.
PIECES = [
    "scaling law", "Scaling Laws", "power-law", "∝", "propto", "N^{-0.07}", "alpha=0.3", "β ≈ 0.2",
    "loss", "LOSS", "accuracy", "model size", "data", "tokens", "compute", "FLOPs", "we", "Our",
    "improves as", "with more data", "plateaus", "exponent of 0.5", "Zipf's law", "Moore's law",
    "test-time compute", "fine-tuning data", "batch size", "optimal learning rate", "depth",
    "width", "precision", "8-bit", "experts", "\u0131mproves", "\u0130NCREASES", "\u017fcaling",
    "\u212aV",
    "ϐ", "Σ", "ß", ", ", ". ", " ", "-", "the", "as a function of", "log-linear", "1B to 7B",
    "Recent work", "et al.", "speech", "ImageNet", "protein", "O(n^{2})", "10^{38} erg",
    "(N_c/N)^{0.076}", "left(frac{N_c}{N}right)^{", "(D_c / D)^{alpha_D}", "alpha and beta are",
    "0.34 and 0.28", "respectively", "RESPECTIVELY",
    "(alpha, beta) = (0.34, 0.28)", "(", ")", "EXPONENTS of N and D are ", "Exponent of ",
    "(C_c^{min}/C_min)^{0.050}", "N^{-½}", "N^½", "⅓",
]  # fmt: skip


def test_fold_covers_every_ascii_look_alike() -> None:
    """The look-alikes ``fold`` maps are exactly those IGNORECASE matches to an ASCII letter."""
    letter = re.compile("[a-z]", re.IGNORECASE)
    look_alikes = [chr(c) for c in range(128, 0x110000) if letter.fullmatch(chr(c))]
    assert [fold(c) for c in look_alikes] == ["i", "i", "s", "k"]


def test_split_alternatives() -> None:
    assert split_alternatives(r"a|(b|c)") == ["a", "(b|c)"]
    assert split_alternatives(r"[|]x|\|y|[^]|]z") == ["[|]x", r"\|y", "[^]|]z"]
    assert split_alternatives(r"(?:a|b)c") == ["(?:a|b)c"]


def test_required_literals() -> None:
    assert required_literals(re.compile(r"scaling[- ]laws?", re.I)) == frozenset({"scaling"})
    assert required_literals(re.compile(r"\bloss\b|perplexity", re.I)) == frozenset(
        {"loss", "perplexity"}
    )
    assert required_literals(re.compile(r"a?b*|c", re.I)) is None  # a branch needs nothing
    assert required_literals(re.compile(r"Scal(?:es|ing)", re.I)) == frozenset({"scal"})


def test_required_sets_are_a_conjunction() -> None:
    rx = re.compile(r"size of (?:the )?training data", re.I)
    assert required_sets(rx) == [frozenset({"training data"}), frozenset({"size of "})]
    assert required_sets(re.compile(r"\d+", re.I)) == []


@settings(max_examples=300, deadline=None)
@given(st.lists(st.sampled_from(PIECES), max_size=14).map("".join))
def test_gate_agrees_with_every_pattern(text: str) -> None:
    folded = fold(text)
    plain = fold(text, scan=False)
    for rx in PATTERNS:
        expected = rx.search(text) is not None
        assert matches(rx, text, folded) is expected, rx.pattern
        assert matches(rx, text, plain) is expected, rx.pattern
        assert may_match(rx, folded) or not expected
        assert sub(rx, " ", text, folded) == rx.sub(" ", text)
        spans = [m.span() for m in finditer(rx, text, folded)]
        assert spans == [m.span() for m in rx.finditer(text)]
