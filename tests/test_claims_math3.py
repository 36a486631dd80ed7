"""Issue 4's mathematics as listings print it, the shapes ``claims-rules-10`` left
(``claims-rules-11``): a tuple of symbols given a tuple of values (``(alpha, beta) = (0.34,
0.28)``), quantities named before a list of values ("the exponents of N and D are 0.34 and 0.28,
respectively"), Kaplan et al.'s nested constant (``(C_c^{min}/C_min)^{0.050}``) and vulgar
fractions as powers (``N^{-½}``). Every sentence here is written for this file, from the
labelling guide of data/eval/README.md (what is and is not an exponent)."""

from __future__ import annotations

import pytest

from ingest.claims import extract
from ingest.claims.exponents import parse_number
from tests.claims_cases import check, check_prefilter_agrees, found, paper, sentences_of


# -- 1. a tuple of exponent symbols given a tuple of values ----------------------------------
# Each symbol is checked as ``alpha = 0.34`` is: used as an exponent in the abstract, or in a
# sentence that speaks of a law, and not a hyperparameter being set.
@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "We fit L = E + A N^{-alpha} + B D^{-beta} and find (alpha, beta) = (0.34, 0.28).",
            [(-0.34, "model_size"), (-0.28, "data_size")],
        ),
        (
            "Our scaling law fits give (α, β) ≈ (0.34, 0.28) across scales.",
            [(0.34, None), (0.28, None)],
        ),
        (
            "The power-law exponents are (alpha_N, alpha_D) = (0.076, 0.095) in our sweep.",
            [(0.076, "model_size"), (0.095, "data_size")],
        ),
        (
            "Our scaling law has (alpha, beta, gamma) = (0.3, 0.2, 0.1) for all runs.",
            [(0.3, None), (0.2, None), (0.1, None)],
        ),
        # backslashes kept, a Unicode minus, spaces inside the brackets
        (
            "The scaling law gives (\\alpha, \\beta) = (0.34, 0.28) in our fits.",
            [(0.34, None), (0.28, None)],
        ),
        (
            "The scaling law gives (α, β) = (−0.34, −0.28) in our fits.",
            [(-0.34, None), (-0.28, None)],
        ),
        (
            "The scaling law gives ( alpha , beta ) ≃ ( 0.34 , 0.28 ) here.",
            [(0.34, None), (0.28, None)],
        ),
        # an uncertainty after each value is not a value
        (
            "Our scaling law fit gives (alpha, beta) = (0.34 ± 0.02, 0.28 ± 0.03).",
            [(0.34, None), (0.28, None)],
        ),
        # the symbols' use as exponents marks them, with no law word in the sentence
        (
            "We write L = A N^{-alpha} + B D^{-beta}. We estimate (alpha, beta) = (0.34, 0.28).",
            [(-0.34, "model_size"), (-0.28, "data_size")],
        ),
    ],
)
def test_tuples_are_read(text: str, expected: list[tuple[float, str | None]]) -> None:
    check(text, expected)


def test_tuple_rows_keep_their_symbols_and_text() -> None:
    text = "We fit L = E + A N^{-alpha} + B D^{-beta} and find (alpha, beta) = (0.34, 0.28)."
    got = [(e.symbol, e.value, e.variable) for e in extract(paper(text)).exponents]
    assert got == [("alpha", -0.34, "model_size"), ("beta", -0.28, "data_size")]
    texts = [e.text for e in extract(paper(text)).exponents]
    assert texts == ["(alpha, beta) = (0.34", "0.28"]


@pytest.mark.parametrize(
    "text",
    [
        # Adam's betas, with or without the optimiser named, even in a law sentence
        "In our scaling-law runs we use (beta_1, beta_2) = (0.9, 0.95) throughout.",
        "We train with Adam and (beta_1, beta_2) = (0.9, 0.95) for every scaling law fit.",
        "For the scaling law sweep, (β₁, β₂) = (0.9, 0.95) and the weight decay is 0.1.",
        # a coordinate, or letters that are not exponent symbols
        "The scaling law curve passes through (x, y) = (1, 2) in our plot.",
        "The scaling law curve passes through (N, L) = (0.5, 0.3) in our plot.",
        # whole numbers index or count something
        "Our scaling law holds with (alpha, beta) = (1, 2) for the two indices.",
        # lengths that differ
        "The scaling law gives (alpha, beta) = (0.34, 0.28, 0.1) in our fits.",
        "The scaling law gives (alpha, beta, gamma) = (0.34, 0.28) in our fits.",
        # a symbol named twice
        "The scaling law gives (alpha, alpha) = (0.34, 0.28) in our fits.",
        # hyperparameters set, or no law in the sentence and no symbol used as an exponent
        "We mix the two datasets with (alpha, beta) = (0.3, 0.7) in our scaling law runs.",
        "The Dirichlet prior of the scaling law fit has (alpha, beta) = (0.5, 0.5).",
        "The mixing weights are (alpha, beta) = (0.3, 0.7) in all runs.",
        # a unit after a value
        "The scaling law holds for (alpha, beta) = (30%, 50%) of the runs.",
        "The scaling law holds for (alpha, beta) = (0.3 B, 0.5 B) parameters.",
        # a value out of an exponent's range, or zero
        "The scaling law gives (alpha, beta) = (0.34, 280.5) in our fits.",
        "The scaling law gives (alpha, beta) = (0.0, 0.28) in our fits.",
        # a significance level and a power, set for a test
        "Our scaling-law test sets significance and power (alpha, beta) = (0.05, 0.2).",
        # not a tuple of symbols: one symbol, or a word
        "The scaling law gives (alpha) = (0.34) in our fits.",
        "The scaling law gives (alphabet, beta) = (0.34, 0.28) in our fits.",
        # Adam's beta_2 given alone, in a law sentence
        "In our scaling-law runs beta_2 = 0.95 throughout.",
    ],
)
def test_tuple_look_alikes_are_not_exponents(text: str) -> None:
    assert found(text) == []


# -- 2. quantities named before a list of values ----------------------------------------------
# "the exponents of N and D are 0.34 and 0.28": the quantities own the exponents, in order.
@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "The exponents of N and D are 0.34 and 0.28, respectively, in our power-law fit.",
            [(0.34, "model_size"), (0.28, "data_size")],
        ),
        (
            "In our fits the N- and D-exponents are 0.34 and 0.28, respectively.",
            [(0.34, "model_size"), (0.28, "data_size")],
        ),
        (
            "The fitted exponents for model size and data are 0.34 and 0.28.",
            [(0.34, "model_size"), (0.28, "data_size")],
        ),
        (
            "The exponents for model size and data size were 0.34 and 0.28, respectively.",
            [(0.34, "model_size"), (0.28, "data_size")],
        ),
        (
            "The exponents of N, D and C are 0.34, 0.28 and 0.05, respectively.",
            [(0.34, "model_size"), (0.28, "data_size"), (0.05, "compute")],
        ),
        (
            "The scaling exponents with respect to N and D are 0.34 and 0.28.",
            [(0.34, "model_size"), (0.28, "data_size")],
        ),
        (
            "The N- and D-exponents are 0.34 and 0.28, close to earlier estimates.",
            [(0.34, "model_size"), (0.28, "data_size")],
        ),
        (
            "Given the number of experts E, the exponents of N and E are 0.3 and 0.2.",
            [(0.3, "model_size"), (0.2, "num_experts")],
        ),
        (
            "The exponents of the model size and the data size are 0.34 and 0.28, respectively.",
            [(0.34, "model_size"), (0.28, "data_size")],
        ),
        # one quantity, one value: tied whatever follows
        ("The exponent of N is 0.34 in our power-law fit.", [(0.34, "model_size")]),
        ("The exponent of model size is 0.3.", [(0.3, "model_size")]),
        # uncertainties after the values, and "are estimated as"
        (
            "The exponents of N and D are 0.34 ± 0.02 and 0.28 ± 0.03, respectively.",
            [(0.34, "model_size"), (0.28, "data_size")],
        ),
        (
            "The exponents of N and D are estimated as 0.34 and 0.28.",
            [(0.34, "model_size"), (0.28, "data_size")],
        ),
    ],
)
def test_quantities_before_values_are_read(
    text: str, expected: list[tuple[float, str | None]]
) -> None:
    check(text, expected)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        # the lists before the values that ``claims-rules-10`` paired with "respectively" also
        # pair at the end of the clause
        ("The N and D exponents are 0.34 and 0.28.", [(0.34, "model_size"), (0.28, "data_size")]),
        (
            "Loss scales with N and D with exponents of 0.34 and 0.28.",
            [(0.34, "model_size"), (0.28, "data_size")],
        ),
        # "data" alone listed after another quantity is the data size (as the lexicon reads it)
        (
            "The loss follows power laws with exponents of 0.34 and 0.28 for model size and data, "
            "respectively.",
            [(0.34, "model_size"), (0.28, "data_size")],
        ),
    ],
)
def test_lists_before_values_pair_at_the_clause_end(
    text: str, expected: list[tuple[float, str | None]]
) -> None:
    check(text, expected)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        # lists of different lengths, a quantity twice, or values that do not end the clause
        # ("for the two tasks" may be what they pair with): the values, but no pairing
        ("The exponents of N and D are 0.34, 0.28 and 0.1, respectively.", [0.34, 0.28, 0.1]),
        ("The exponents of N and N are 0.34 and 0.28, respectively.", [0.34, 0.28]),
        ("The exponents of N and D are 0.34 and 0.28 for the two tasks.", [0.34, 0.28]),
    ],
)
def test_quantities_before_values_pair_only_when_said(text: str, expected: list[float]) -> None:
    got = found(text)
    assert [v for v, _ in got] == pytest.approx(expected), got
    assert {var for _, var in got} == {None}, got


@pytest.mark.parametrize(
    "text",
    [
        # the "exponent" of something else
        "The Hurst exponents of N and D are 0.34 and 0.28, respectively.",
        # whole numbers count or index something
        "The exponents of N and D are 1 and 2, respectively, in our notation.",
        # a unit after a value
        "The exponents of N and D are 34% and 28%, respectively.",
        # not quantities: the list names no scale quantity
        "The exponents of the two laws and their fits are 0.34 and 0.28.",
        # a floating-point format's exponent and mantissa
        "The exponent bits of N and D are 0.5 and 0.25 of the mantissa width.",
        "The exponents of N and D in E4M3 are 0.5 and 0.25 of the range.",
        # a count's unit after the values
        "The exponents of N and D are 0.34 and 0.28 B tokens.",
        # the owner is a schedule, not a scale quantity
        "The exponent of the learning rate schedule is 0.5.",
        # a quantity followed by other words before the verb
        "The exponents of N and D on the held-out tasks are 0.34 and 0.28.",
    ],
)
def test_quantities_before_values_look_alikes(text: str) -> None:
    assert found(text) == []


# -- 3. Kaplan et al.'s nested constant: (C_c^{min}/C_min)^{0.050} ----------------------------
# The constant carries the scale quantity's own subscript as a superscript; stored as C's power,
# as ``(C_c/C_min)^{0.050}`` is (-0.050).
@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("On the frontier the loss follows L = (C_c^{min}/C_min)^{0.050}.", [(-0.05, "compute")]),
        ("On the frontier the loss follows L = (C_c^min / C_min)^{0.050}.", [(-0.05, "compute")]),
        ("On the frontier the loss follows L = (C_c^{min}/C_{min})^{0.050}.", [(-0.05, "compute")]),
        ("The loss follows L = left(frac{C_c^{min}}{C_min}right)^{0.050}.", [(-0.05, "compute")]),
        ("The loss follows L = (C_c^{min}/C_min)^0.050 in our sweep.", [(-0.05, "compute")]),
        ("The loss follows L = (C_c^{min}/C_min)⁰·⁰⁵⁰ in our sweep.", [(-0.05, "compute")]),
        # the quantity in the numerator keeps the printed sign
        ("The loss follows L = (C_min/C_c^{min})^{-0.050} here.", [(-0.05, "compute")]),
        # a symbol as the power, its value given elsewhere
        (
            "The loss follows L = (C_c^{min}/C_min)^{alpha_C}, with alpha_C = 0.050.",
            [(-0.05, "compute")],
        ),
    ],
)
def test_nested_constants_are_read(text: str, expected: list[tuple[float, str]]) -> None:
    check(text, expected)


def test_nested_constant_row_keeps_its_printed_text() -> None:
    text = "We observe that the loss follows L = (C_c^{min}/C_min)^{0.050} on the frontier."
    result = extract(paper(text))
    (row,) = result.exponents
    assert row.text == "(C_c^{min}/C_min)^{0.050}"
    assert (row.value, row.variable, row.symbol) == (-0.05, "compute", None)
    assert [c.form for c in result.claims] == ["power_law"]


@pytest.mark.parametrize(
    "text",
    [
        # the superscript names another quantity than the scale letter's subscript
        "The loss follows L = (C_c^{max}/C_min)^{0.050} in our sweep.",
        # a number, not a name, as the constant's superscript
        "The loss follows L = (C_c^{2}/C_min)^{0.050} in our sweep.",
        # two different letters, or a letter no rule names
        "The loss follows L = (N_c^{min}/D_min)^{0.050} in our sweep.",
        "The rate follows a law (T_c^{min}/T_min)^{0.5} in the temperature.",
        # whole powers, exponentials, complexity orders
        "The loss follows a law with a term (C_c^{min}/C_min)^{2} in our sweep.",
        "The loss follows a law exp((C_c^{min}/C_min)^{0.5}) in our sweep.",
        "The cost follows O((C_c^{min}/C_min)^{0.5}) in our analysis of scaling.",
        # nothing related outside the power
        "The term (C_c^{min}/C_min)^{0.050} appears in our appendix.",
        # the superscript on the scale quantity, not on its constant
        "The loss follows L = (C_c/C_min^{min})^{0.050} in our sweep.",
        # a superscript on both sides
        "The loss follows L = (C_c^{min}/C_min^{min})^{0.050} in our sweep.",
    ],
)
def test_nested_constant_look_alikes_are_not_exponents(text: str) -> None:
    assert found(text) == []


# -- 4. vulgar fractions as powers ------------------------------------------------------------
# A fraction of numbers is a value printed as a power (the guide; ``N^{-1/2}`` is read): ½ ¼ ¾
# ⅓ ⅔ ⅕ ... are stored as their decimal, with the printed text.
@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("The error falls as N^{-½} in model size.", [(-0.5, "model_size")]),
        ("The error falls as N^{−¼} in model size.", [(-0.25, "model_size")]),
        ("The error falls as N^(−½) in model size.", [(-0.5, "model_size")]),
        ("The optimal model grows as D^{⅓} in our fits.", [(1 / 3, "data_size")]),
        ("The error falls as D^{-⅔} in our fits.", [(-2 / 3, "data_size")]),
        ("The error falls as D^{⅕} in our fits.", [(0.2, "data_size")]),
        # after a superscript minus, or unbraced (not whole, so read as ``A N^−0.34`` is)
        ("The error falls as N⁻½ in model size.", [(-0.5, "model_size")]),
        ("The loss falls as A N^-¾ in our fits.", [(-0.75, "model_size")]),
        ("The optimal model size grows as N_opt ∝ C^½.", [(0.5, "compute")]),
        # a parenthesised base
        ("Error falls as (N_c/N)^{½} in our fits.", [(-0.5, "model_size")]),
    ],
)
def test_vulgar_fraction_powers_are_read(text: str, expected: list[tuple[float, str]]) -> None:
    check(text, expected)


def test_vulgar_fraction_row_keeps_its_printed_text() -> None:
    result = extract(paper("We find that the error falls as N^{-½} in model size."))
    (row,) = result.exponents
    assert (row.text, row.value, row.variable) == ("N^{-½}", -0.5, "model_size")
    assert [c.form for c in result.claims] == ["power_law"]


@pytest.mark.parametrize(
    "text",
    [
        # no power sign: a letter beside a fraction
        "The error falls as N½ in model size.",
        # a mixed number
        "The error falls as N^{1½} in model size.",
        # a fraction that is part of a longer power
        "The error falls as N^{½ + delta} in model size.",
        # a unit's power, an exponential, a complexity order, a schedule, a power of ten or e
        "The flux follows a power law in erg s⁻½ units.",
        "The loss follows a law exp(-N^{½}) in our sweep.",
        "The cost follows O(N^{½}) in our analysis of scaling.",
        "Our learning rate schedule eta_t = eta_0 t^{-½} follows the scaling law.",
        "The loss follows a power law with a prefactor 10^{½} in our fits.",
        "The loss follows a power law with a prefactor e^{-½} in our fits.",
        # a fraction that is not a power
        "The loss drops by ½ as N doubles under our scaling law.",
        # a formula that relates nothing outside itself
        "The term N^{-½} appears in our appendix.",
        # (a vulgar fraction with an uncertainty, ``N^{-½ ± ¼}``, is read since claims-rules-12:
        # tests/test_claims_math4.py)
        # a superscript fraction on a word (a footnote) or a plus sign on a unit
        "Scaling laws⁻½ follow a power law.",
        "The flux follows a power law in erg s⁺½ units.",
    ],
)
def test_vulgar_fraction_look_alikes_are_not_exponents(text: str) -> None:
    assert found(text) == []


@pytest.mark.parametrize(
    ("printed", "value"),
    [("½", 0.5), ("-¼", -0.25), ("−¾", -0.75), ("⅓", 1 / 3), ("⅞", 0.875), ("1½", None)],
)
def test_parse_number_reads_vulgar_fractions(printed: str, value: float | None) -> None:
    assert parse_number(printed) == (pytest.approx(value) if value is not None else None)


def test_the_literal_prefilter_lets_every_shape_through(monkeypatch: pytest.MonkeyPatch) -> None:
    texts = sentences_of(globals())
    assert len(texts) > 90
    check_prefilter_agrees(texts, monkeypatch)
