"""Issue 4's exponent rows, the misreadings ``claims-rules-12`` left (``claims-rules-13``): the
sign of a symbol's value (``N^{-alpha}`` with ``alpha = 1`` was stored +1 beside ``N^{-1}``
stored -1), a theory's predicted exponent, a tuple of symbols holding a further Greek letter
(``(gamma, delta) = (0.1, 0.2)`` with ``D^{-delta}``), and "respectively" lists of symbols with
vulgar fractions, hedges, uncertainties or "respectively" first. Every sentence here is written
for this file, decided by the labelling guide of data/eval/README.md: an exponent row is a value
printed as the exponent or slope of a law; the value stored is the power of the quantity (as
``N^{-0.076}`` is stored -0.076 and ``(N_c/N)^{0.076}`` too), the row's text the printed one;
the benchmark compares magnitudes."""

from __future__ import annotations

import re
import time

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ingest.claims import exponents as ex
from ingest.claims import extract
from ingest.claims.exponents import find_exponents
from ingest.claims.prefilter import finditer, fold, matches, may_match
from tests.claims_cases import check, check_prefilter_agrees, paper, sentences_of

Expected = list[tuple[float, str | None]]


# -- 1. the sign of a symbol's value -----------------------------------------------------------
# A symbol written as a negative power stores the power of its quantity: ``N^{-alpha}`` with
# ``alpha = 1`` is the ``N^{-1}`` law, so both rows agree (-1).
@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "Our fits give L ∝ N^{-alpha} with alpha = 0.076, that is L ∝ N^{-0.076}.",
            [(-0.076, "model_size"), (-0.076, "model_size")],
        ),
        (
            "We observe a different scaling law, L ∝ N^{-alpha} with alpha = 1. We trace the "
            "N^{-1} law to averaging.",
            [(-1.0, "model_size"), (-1.0, "model_size")],
        ),
        ("The validation loss decays as D^{−β} with β ≈ 0.28.", [(-0.28, "data_size")]),
        ("We find that error falls as C⁻ᵞ, a power law with γ = 0.05.", [(-0.05, "compute")]),
        # a positive power keeps the printed sign, whatever it is
        ("The loss grows as N^{alpha} with alpha = 0.3 in this regime.", [(0.3, "model_size")]),
        ("We fit L ∝ N^{alpha} and obtain alpha = -0.07.", [(-0.07, "model_size")]),
        # a parenthesised base: the quantity's side and the power's sign both count
        ("Our law reads L = (N_c/N)^{alpha_N} with alpha_N = 0.08.", [(-0.08, "model_size")]),
        ("Our law reads L = (N/N_0)^{-alpha} with alpha = 0.08.", [(-0.08, "model_size")]),
        (
            "Our law reads L = (D/D_0)^{beta} with beta = 0.2 in the scaling law.",
            [(0.2, "data_size")],
        ),
        # a list and a tuple of symbols, each with the sign of its own power
        (
            "We fit L = E + A N^{-alpha} + B D^{beta}; alpha and beta are 0.3 and 0.1, "
            "respectively.",
            [(-0.3, "model_size"), (0.1, "data_size")],
        ),
        (
            "We fit L = E + A N^{-alpha} + B D^{-beta} and get (alpha, beta) = (0.3, 0.25).",
            [(-0.3, "model_size"), (-0.25, "data_size")],
        ),
        # a symbol used as no power keeps its printed value (no sign to read)
        ("Our scaling law has alpha = 0.3 across model families.", [(0.3, None)]),
        # an exponent in words keeps its printed value too (nothing says which power it is)
        (
            "We fit L ∝ N^{-alpha}. The fitted scaling exponent is 0.3 for our models.",
            [(0.3, None)],
        ),
    ],
)
def test_a_symbols_value_is_stored_as_the_power_of_its_quantity(
    text: str, expected: Expected
) -> None:
    check(text, expected)


# A divisor's power is negative: ``A/N^{0.076}`` is ``A N^{-0.076}`` (the old reading stored
# +0.076 for it and for ``A / N^{alpha}``, against the rule above).
@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("We find that the loss follows L = A/N^{0.076} + E.", [(-0.076, "model_size")]),
        ("The loss follows L ∝ 1 / D^{0.28} over three decades.", [(-0.28, "data_size")]),
        (
            "The loss follows a power law L = A / N^{alpha} with alpha = 0.076.",
            [(-0.076, "model_size")],
        ),
        ("The loss follows the power law L = A/N^{-0.5} here.", [(0.5, "model_size")]),
        # a ratio's power is read from the ratio, not from its slash
        ("Our law reads L = (N_c/N)^{0.076} for every width.", [(-0.076, "model_size")]),
    ],
)
def test_a_divisors_power_is_negative(text: str, expected: Expected) -> None:
    check(text, expected)


def test_a_symbol_row_keeps_its_printed_text() -> None:
    text = "Our fits give L ∝ N^{-alpha} with alpha = 0.076 for every width."
    got = [(e.text, e.value, e.symbol, e.variable) for e in extract(paper(text)).exponents]
    assert got == [("alpha = 0.076", -0.076, "alpha", "model_size")]


def test_both_shapes_of_one_law_have_one_magnitude_and_one_sign() -> None:
    # the seed shape that was misread: a reader saw +1 and -1 for the same law
    text = (
        "We measure a new scaling law (alpha=1) where loss decays as N^{-alpha}. "
        "We attribute the N^{-1} scaling law to ensembling."
    )
    assert sorted({e.value for e in extract(paper(text)).exponents}) == [-1.0]


@pytest.mark.parametrize(
    "text",
    [
        # ``e^{-alpha}`` and a power inside ``exp(..)`` make alpha no exponent symbol, so a
        # value set in a sentence with no law is nothing (as ``e^{-2}`` and ``exp(-x^{0.5})``)
        "The weights decay as e^{-alpha t} over training. We set alpha = 0.5.",
        "The kernel is exp(-x^{alpha}) here. We set alpha = 0.5.",
        # a symbol used as a power, but its value a hyperparameter set in a list
        "We set alpha and beta to 0.3 and 0.5, respectively, in N^{-alpha} D^{-beta}.",
        # a whole number ties nothing in a tuple, whatever the sign
        "We fit N^{-alpha} D^{-beta} with (alpha, beta) = (1, 2).",
    ],
)
def test_signs_invent_no_exponent(text: str) -> None:
    check(text, [])


# -- 2. a theory's predicted exponent ----------------------------------------------------------
# By the guide an exponent row is a value printed as the exponent of a law; a law a theory
# predicts is a law (the dev labels list the seed's "predictions (alpha=4)" as 4.0). The issue's
# ``alpha=4/d`` is refused for its letter (a symbolic exponent), not for being a theory's.
@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "Approximation theory predicts that the loss decays as N^{-alpha} with alpha = 4 "
            "for one-dimensional inputs.",
            [(-4.0, "model_size")],
        ),
        ("Our theory predicts a scaling law with alpha = 0.5 for smooth targets.", [(0.5, None)]),
        (
            "Kernel theory predicts a power law with an exponent of 0.25 in data size.",
            [(0.25, "data_size")],
        ),
        (
            "A theory predicts N^{-alpha}, alpha = 4/d, while we measure alpha = 1.",
            [(-1.0, "model_size")],
        ),
    ],
)
def test_a_predicted_exponent_is_an_exponent(text: str, expected: Expected) -> None:
    check(text, expected)


@pytest.mark.parametrize(
    "text",
    [
        "Theory predicts that the loss decays as N^{-alpha} with alpha = 4/d.",
        "Theory predicts the error falls as N^{-2/d} for intrinsic dimension d.",
        "Our theory predicts a 4-fold drop in loss per decade of compute in this scaling law.",
        "Theory predicts that 4 of the 10 tasks improve with scale.",
    ],
)
def test_a_predicted_symbolic_exponent_or_count_is_not(text: str) -> None:
    check(text, [])


# -- 3. a tuple holding a further Greek letter ---------------------------------------------------
# ``delta``, ``epsilon``, ``eta``, ``lambda``, ``mu``... are exponent symbols only where the
# abstract shows each of them as the power of a letter (``D^{-delta}``); a tuple or list holding
# one is read only when every symbol in it is shown so.
@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "We fit L = E + A N^{-gamma} + B D^{-delta} and find (gamma, delta) = (0.1, 0.2).",
            [(-0.1, "model_size"), (-0.2, "data_size")],
        ),
        (
            "The loss follows L ∝ N^{-alpha} D^{-delta}, with (alpha, delta) ≈ (0.34, 0.28).",
            [(-0.34, "model_size"), (-0.28, "data_size")],
        ),
        (
            "We write L ∝ N^{−γ} D^{−δ} and estimate (γ, δ) = (0.12, 0.31) on the Pile.",
            [(-0.12, "model_size"), (-0.31, "data_size")],
        ),
        (
            "Risk scales as C^{-epsilon} and D^{-delta}; we find (epsilon, delta) = (0.05, 0.3).",
            [(-0.05, "compute"), (-0.3, "data_size")],
        ),
        # the same letter alone, or in a "respectively" list, when shown as a power
        ("The loss falls as D^{-delta} with delta = 0.3 in our runs.", [(-0.3, "data_size")]),
        (
            "We fit L = A N^{-gamma} + B D^{-delta}, where gamma and delta are 0.1 and 0.2, "
            "respectively.",
            [(-0.1, "model_size"), (-0.2, "data_size")],
        ),
        # unbraced, as listings print it
        ("The error falls as D^-delta with delta = 0.3 in our fits.", [(-0.3, "data_size")]),
    ],
)
def test_a_tuple_of_symbols_shown_as_powers_is_read(text: str, expected: Expected) -> None:
    check(text, expected)


def test_a_further_letter_row_keeps_its_symbol_and_text() -> None:
    text = (
        "The loss follows a scaling law L = E + A N^{-gamma} + B D^{-delta} with (gamma, delta) "
        "= (0.1, 0.2)."
    )
    got = [(e.symbol, e.value, e.text) for e in extract(paper(text)).exponents]
    assert got == [("gamma", -0.1, "(gamma, delta) = (0.1"), ("delta", -0.2, "0.2")]


@pytest.mark.parametrize(
    "text",
    [
        # delta shown as no power: the tuple is refused, gamma's value with it
        "We fit a scaling law with (gamma, delta) = (0.1, 0.2).",
        "The loss follows L ∝ N^{-gamma}; our scaling law fit gives (gamma, delta) = (0.1, 0.2).",
        # a tolerance, a gap, a learning rate, a mean: no power shows them
        "In our scaling-law fits, delta = 0.001 is the Huber loss threshold.",
        "Our scaling law holds up to a gap of epsilon = 0.05 in loss.",
        "We train with eta = 0.1 and fit a scaling law to the losses.",
        "The power law fit uses a prior with mu = 0.5 and sigma = 0.1.",
        "Our scaling-law fits report (delta, epsilon) = (0.01, 0.05) as interval bounds.",
        # Adam's betas beside a further letter
        "In our scaling-law runs, (beta_1, beta_2, epsilon) = (0.9, 0.95, 0.1).",
        # a further letter as the power of e or inside exp(..)
        "Our scaling law has a factor e^{-delta} and (gamma, delta) = (0.1, 0.2).",
        "The loss follows exp(-N^{delta}) in our law, with (alpha, delta) = (0.3, 0.2).",
        # shown as a power with more after it: ``D^{-delta t}`` is no power of D alone
        "The decay D^{-delta t} appears in our scaling law, with delta = 0.3.",
        # one letter of the tuple shown as a power, the other not
        "The loss falls as D^{-delta}; in our scaling law (delta, epsilon) = (0.3, 0.1).",
        # the letter as a base, not a power; a unit after the value
        "The loss grows as theta^{2} in our scaling law, with theta = 0.3.",
        "The loss falls as D^{-delta}, and delta = 3 GPUs ran each fit.",
    ],
)
def test_a_tuple_with_a_letter_shown_as_no_power_is_refused(text: str) -> None:
    check(text, [])


# -- 4. "respectively" lists of symbols ---------------------------------------------------------
@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "We fit L = E + A N^{-alpha} + B D^{-beta}; alpha and beta are ½ and ¼, respectively.",
            [(-0.5, "model_size"), (-0.25, "data_size")],
        ),
        ("The exponents alpha and beta are ⅓ and ¼, respectively.", [(1 / 3, None), (0.25, None)]),
        ("The exponents α and β are respectively 0.34 and 0.28.", [(0.34, None), (0.28, None)]),
        (
            "The scaling exponents alpha and beta are respectively ½ and ¼ in our fits.",
            [(0.5, None), (0.25, None)],
        ),
        (
            "The exponents alpha and beta are about 0.34 and 0.28, respectively.",
            [(0.34, None), (0.28, None)],
        ),
        (
            "The fitted exponents alpha and beta are 0.34 ± 0.02 and 0.28 ± 0.03, respectively.",
            [(0.34, None), (0.28, None)],
        ),
        (
            "Our scaling law has alpha and beta equal to 0.34 and 0.28, respectively.",
            [(0.34, None), (0.28, None)],
        ),
        (
            "We fit L ∝ N^{-alpha} D^{-beta}, with alpha and beta being ½ and ⅓, respectively.",
            [(-0.5, "model_size"), (-1 / 3, "data_size")],
        ),
    ],
)
def test_respectively_lists_of_symbols_are_read(text: str, expected: Expected) -> None:
    check(text, expected)


@pytest.mark.parametrize(
    "text",
    [
        # set, not found; hyperparameters and statistics
        "We set alpha and beta to ½ and ¼, respectively, in our scaling-law runs.",
        "In our scaling-law runs Adam's beta_1 and beta_2 are ½ and ¾, respectively.",
        "The mixing weights alpha and beta are ½ and ¼, respectively, in our scaling-law runs.",
        "The significance levels alpha and beta are 0.05 and 0.01, respectively, in our law.",
        # a fraction of something
        "In our scaling law alpha and beta are ½ and ¼ of the data, respectively.",
        "In our scaling law alpha and beta are respectively ½ and ¼ of the compute budget.",
        # no law and no power
        "We find that alpha and beta are ½ and ¼, respectively.",
        "Here alpha and beta are respectively 0.34 and 0.28.",
        # lists of different lengths, a mixed number, whole values with a unit
        "The exponents alpha and beta are ½, ¼ and ⅛, respectively.",
        "The exponents alpha and beta are 1½ and ¼, respectively.",
        "The scaling exponents alpha and beta are 2 and 3 bits, respectively.",
        # "respectively" first, and three values for two symbols
        "The exponents alpha and beta are respectively 0.3, 0.2 and 0.1.",
        # a temperature set in a list
        "The temperatures alpha and beta are ½ and ¼, respectively, in our scaling law.",
        # other "respectively" lists: quantities, not symbols
        "The learning rate and batch size are 0.3 and 0.5, respectively, in our scaling law.",
    ],
)
def test_other_respectively_lists_are_refused(text: str) -> None:
    check(text, [])


# -- the literal prefilter and time ---------------------------------------------------------------
def test_the_prefilter_changes_no_reading(monkeypatch: pytest.MonkeyPatch) -> None:
    check_prefilter_agrees(sentences_of(globals()), monkeypatch)


# The patterns this round adds or widens, gated as ``tests/test_claims_prefilter.py`` checks
# the others: the literal gate never hides a match.
_NEW_PATTERNS: list[re.Pattern[str]] = [
    ex._SYMBOL_LIST, ex._SYMBOL_LIST_BEFORE, ex._SYMBOL_LIST_ALL, ex._SYMBOL_LIST_BEFORE_ALL,
    ex._SYMBOL_ALL, ex._SYMBOL_TUPLE_ALL, ex._MORE_SYMBOL_POWER, ex._SYMBOL_POWER,
    ex._SYMBOL_PAREN,
]  # fmt: skip
_PIECES = [
    "alpha", "beta", "gamma", "delta", "DELTA", "δ", "ε", "epsilon", "eta", " and ", ", ", " ",
    " are ", " are respectively ", "respectively", "RESPECTIVELY", " about ", " equal to ",
    " being ", "½", "¼", "0.34", " ± 0.02", "(", ")", " = ", "D^{-", "D^-", "N^{", "}", "^",
    "exp(-", "e^{", "(N_c/N)^{", "_N", "\u0131", "\u017f", "\u212a", "ß",
]  # fmt: skip


@settings(max_examples=300, deadline=None)
@given(st.lists(st.sampled_from(_PIECES), max_size=14).map("".join))
def test_the_gate_agrees_with_the_new_patterns(text: str) -> None:
    folded = fold(text)
    for rx in _NEW_PATTERNS:
        expected = rx.search(text) is not None
        assert matches(rx, text, folded) is expected, rx.pattern
        assert may_match(rx, folded) or not expected
        assert [m.span() for m in finditer(rx, text, folded)] == [
            m.span() for m in rx.finditer(text)
        ]


def _cpu(text: str) -> float:
    started = time.process_time()
    find_exponents(text, (0, len(text)))
    return time.process_time() - started


_SHAPES = [
    ("We fit N^{-gamma} D^{-delta}; (gamma, delta) = (0.1, 0.2) law ", ""),
    ("D^{-delta} ", " delta = 0.3 law"),
    ("delta = 0.3 in our scaling law ", " D^{-delta}"),
    ("alpha and beta are respectively ½ and ¼ law ", ""),
    ("alpha and beta are about 0.34 ± 0.02 and 0.28, respectively ", ""),
    ("alpha, beta and ", " are respectively ½ and ¼"),
    ("gamma and delta are 0.1 and 0.2, respectively ", " D^{-delta}"),
]


@pytest.mark.parametrize(("unit", "tail"), _SHAPES)
def test_new_shapes_grow_linearly(unit: str, tail: str) -> None:
    # 4x the text in at most 12x the time (3x allows for the machine's noise)
    small, large = unit * 150 + tail, unit * 600 + tail
    t_small = min(_cpu(small) for _ in range(3))
    t_large = min(_cpu(large) for _ in range(3))
    assert t_large < 3 * 4 * max(t_small, 1e-3)


@pytest.mark.parametrize(
    "text",
    [
        "alpha and " * 2_000 + "beta are respectively " + "½ and " * 2_000 + "¼",
        "gamma, delta, " * 2_000 + "are 0.1 and 0.2, respectively D^{-delta}",
        "D^{-" + "delta " * 3_000,
        "(gamma, delta) = (0.1, " + "0.2, " * 3_000 + ") D^{-delta}",
        "alpha and beta are about " + "0.34 ± 0.02 and " * 1_000 + "0.28, respectively",
    ],
)
def test_new_shapes_are_fast(text: str) -> None:
    assert _cpu(text) < 0.5
