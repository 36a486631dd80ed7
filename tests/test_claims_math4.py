"""Issue 4's mathematics as listings print it, the shapes ``claims-rules-11`` left
(``claims-rules-12``): a vulgar fraction as a symbol's value or in words (``alpha = ½``, "an
exponent of ½"), a vulgar fraction with an uncertainty in a power (``N^{-½ ± ¼}``), a second
tuple of values in one sentence ("(alpha, beta) = (0.34, 0.28) for C4 and (0.31, 0.29) for
RedPajama"), and bare "data" first in a list of quantities ("the exponents for data and model
size are 0.28 and 0.34"). Every sentence here is written for this file, from the labelling guide
of data/eval/README.md: a fraction of numbers is a value (stored as its decimal, the printed text
kept); a fraction of something ("½ of the runs", "a ½-day budget") is not an exponent."""

from __future__ import annotations

import pytest

from ingest.claims import extract
from tests.claims_cases import check, check_prefilter_agrees, found, paper, sentences_of


# -- 1. a vulgar fraction as a symbol's value or in words --------------------------------------
# A fraction of numbers is a value (``alpha = 1/2`` is read), whatever glyph prints it.
@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("We fit L = A N^{-alpha} and find alpha = ½.", [(-0.5, "model_size")]),
        ("Our scaling law gives α ≈ ⅓ in every fit.", [(1 / 3, None)]),
        ("We write L ∝ D^{-beta}, and the scaling law gives beta = −¾.", [(0.75, "data_size")]),
        ("Our scaling law fit gives alpha_D = ½ across runs.", [(0.5, "data_size")]),
        (
            "The loss follows a power law with an exponent of ½ in model size.",
            [(0.5, "model_size")],
        ),
        ("The error decays as a power law with an exponent of ¼.", [(0.25, None)]),
        ("The test error scales with data size with an exponent of ⅔.", [(2 / 3, "data_size")]),
        ("The fitted scaling exponent ≈ ⅓ in all runs.", [(1 / 3, None)]),
        (
            "The loss follows power laws with exponents of ½ and ¼ for model size and data "
            "size, respectively.",
            [(0.5, "model_size"), (0.25, "data_size")],
        ),
        ("The exponent of model size is ½ in our fits.", [(0.5, "model_size")]),
        # a tuple of values, as ``(alpha, beta) = (0.34, 0.28)`` is read
        ("Our scaling law fit gives (alpha, beta) = (½, ¼).", [(0.5, None), (0.25, None)]),
    ],
)
def test_vulgar_fraction_values_are_read(
    text: str, expected: list[tuple[float, str | None]]
) -> None:
    check(text, expected)


def test_vulgar_fraction_value_rows_keep_their_printed_text() -> None:
    text = "We fit L = A N^{-alpha} and find alpha = ½. The data-size exponent is ¼ in our fits."
    got = [(e.text, e.value, e.variable) for e in extract(paper(text)).exponents]
    assert got == [("alpha = ½", -0.5, "model_size"), ("exponent is ¼", 0.25, "data_size")]


@pytest.mark.parametrize(
    "text",
    [
        # a fraction of something, in prose
        "We train on ½ of the runs and fit a scaling law to them.",
        "Our scaling law runs use a ½-day budget per model.",
        "In our scaling law fits, alpha = ½ of the compute budget goes to data.",
        "The scaling exponent of ½ of the runs is unstable.",
        "The scaling-law exponent at ½-day intervals drifts.",
        # a power of ten, a mixed number (not 1)
        "The prefactor 10^{½} appears in our scaling law.",
        "Our scaling law gives alpha = 1½ in every fit.",
        "The loss follows a power law with an exponent of 2¼ in our fits.",
        # hyperparameters set, statistics, another "exponent"
        "We use Adam with beta = ½ in our scaling-law runs.",
        "We mix the datasets with alpha = ⅓ in our scaling law runs.",
        "Dropout with gamma = ½ is used in our scaling-law runs.",
        "The Hurst exponent of ½ marks a random walk in our scaling study.",
        # no law in the sentence and the symbol used as no exponent
        "We set alpha = ½ for all runs.",
        # a unit after the fraction
        "The scaling law exponent of ½ bits per weight is fixed.",
        # Adam's betas as a tuple of fractions
        "In our scaling-law runs, (beta_1, beta_2) = (½, ¾) throughout.",
    ],
)
def test_vulgar_fraction_look_alikes_are_not_values(text: str) -> None:
    assert found(text) == []


# -- 2. a vulgar fraction with an uncertainty in a power --------------------------------------
# The uncertainty is dropped, as in ``N^{-0.076 pm 0.003}``.
@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("The error falls as N^{-½ ± ¼} in our fits.", [(-0.5, "model_size")]),
        ("The error falls as N^{-½ pm ¼} in our fits.", [(-0.5, "model_size")]),
        ("The error falls as N^(−⅓ ± 0.05) in our fits.", [(-1 / 3, "model_size")]),
        ("The error falls as N^{-0.5 ± ¼} in our fits.", [(-0.5, "model_size")]),
        ("The error falls as D^{-⅔ +/- ⅛} with more data.", [(-2 / 3, "data_size")]),
        ("Error falls as (N_c/N)^{½ ± ¼} in our fits.", [(-0.5, "model_size")]),
    ],
)
def test_vulgar_fraction_with_an_uncertainty_is_read(
    text: str, expected: list[tuple[float, str | None]]
) -> None:
    check(text, expected)


def test_vulgar_fraction_with_an_uncertainty_row_keeps_its_printed_text() -> None:
    result = extract(paper("We find that the error falls as N^{-½ ± ¼} in model size."))
    (row,) = result.exponents
    assert (row.text, row.value, row.variable) == ("N^{-½ ± ¼}", -0.5, "model_size")
    assert [c.form for c in result.claims] == ["power_law"]


@pytest.mark.parametrize(
    "text",
    [
        # a symbolic or longer uncertainty, a mixed number as the uncertainty
        "The error falls as N^{-½ ± delta} in our fits.",
        "The error falls as N^{-½ ± ¼ + c} in our fits.",
        "The error falls as N^{½ ± 1½} in our fits.",
        # a power of ten, an exponential, a complexity order, a schedule
        "The prefactor 10^{½ ± ¼} appears in our scaling law.",
        "The loss follows a law exp(-N^{½ ± ¼}) in our sweep.",
        "The cost follows O(N^{½ ± ¼}) in our analysis of scaling.",
        "Our learning rate schedule eta_t = eta_0 t^{-½ ± ¼} follows the scaling law.",
        # a formula that relates nothing outside itself
        "The term N^{-½ ± ¼} appears in our appendix.",
    ],
)
def test_vulgar_fraction_uncertainty_look_alikes(text: str) -> None:
    assert found(text) == []


# -- 3. a second tuple of values in one sentence ----------------------------------------------
# The same symbols given a second tuple ("... for C4 and (0.31, 0.29) for RedPajama"), each
# symbol checked as ``alpha = 0.34`` is; a second tuple of symbols was already read.
@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "Our scaling law gives (alpha, beta) = (0.34, 0.28) for C4 and (0.31, 0.29) for "
            "RedPajama.",
            [(0.34, None), (0.28, None), (0.31, None), (0.29, None)],
        ),
        (
            "We fit L = E + A N^{-alpha} + B D^{-beta} and find (alpha, beta) = (0.34, 0.28) "
            "on C4 and (0.31, 0.29) on the Pile.",
            [
                (-0.34, "model_size"),
                (-0.28, "data_size"),
                (-0.31, "model_size"),
                (-0.29, "data_size"),
            ],
        ),
        (
            "The scaling law gives (α, β) ≈ (0.34, 0.28) and (0.31, 0.29) for C4 and RedPajama, "
            "respectively.",
            [(0.34, None), (0.28, None), (0.31, None), (0.29, None)],
        ),
        (
            "Our scaling law fits give (alpha, beta) = (0.34, 0.28) for C4, (0.31, 0.29) for "
            "RedPajama and (0.30, 0.27) for the Pile.",
            [(0.34, None), (0.28, None), (0.31, None), (0.29, None), (0.30, None), (0.27, None)],
        ),
        (
            "Our scaling law fit gives (alpha, beta) = (0.34 ± 0.02, 0.28 ± 0.03) for C4 and "
            "(0.31 ± 0.02, 0.29 ± 0.03) for RedPajama.",
            [(0.34, None), (0.28, None), (0.31, None), (0.29, None)],
        ),
        # a second tuple of symbols: each checked as today (nu is no exponent here)
        (
            "Our scaling law gives (alpha, beta) = (0.34, 0.28) and (gamma, kappa) = (0.1, 0.2).",
            [(0.34, None), (0.28, None), (0.1, None), (0.2, None)],
        ),
        (
            "We fit L = A N^{-alpha} + B D^{-beta} + C E^{-gamma}, with (alpha, beta) = "
            "(0.34, 0.28) and (gamma, nu) = (0.1, 0.2).",
            [(-0.34, "model_size"), (-0.28, "data_size"), (-0.1, None)],
        ),
    ],
)
def test_second_tuples_are_read(text: str, expected: list[tuple[float, str | None]]) -> None:
    check(text, expected)


def test_second_tuple_rows_keep_their_symbols_and_text() -> None:
    text = (
        "We fit L = E + A N^{-alpha} + B D^{-beta} and find (alpha, beta) = (0.34, 0.28) "
        "on C4 and (0.31, 0.29) on the Pile."
    )
    got = [(e.symbol, e.value, e.text) for e in extract(paper(text)).exponents]
    assert got == [
        ("alpha", -0.34, "(alpha, beta) = (0.34"),
        ("beta", -0.28, "0.28"),
        ("alpha", -0.31, "0.31"),
        ("beta", -0.29, "0.29"),
    ]


@pytest.mark.parametrize(
    "text",
    [
        # an interval, or a pair with no "and" before it: not a second tuple of the symbols
        "Our scaling law gives (alpha, beta) = (0.34, 0.28) with 95% intervals (0.30, 0.38).",
        "Our scaling law gives (alpha, beta) = (0.34, 0.28), (0.30, 0.38) in our fits.",
        "Our scaling law gives (alpha, beta) = (0.34, 0.28) and (0.30, 0.38) as 95% "
        "confidence intervals.",
        "Our scaling law gives (alpha, beta) = (0.34, 0.28) and (0.05, 0.95) quantiles over seeds.",
        # whole numbers, another length, a unit
        "Our scaling law gives (alpha, beta) = (0.34, 0.28) and (1, 2) for the two indices.",
        "Our scaling law gives (alpha, beta) = (0.34, 0.28) for C4 and (0.31, 0.29, 0.1) for "
        "RedPajama.",
        "Our scaling law gives (alpha, beta) = (0.34, 0.28) for C4 and (30%, 29%) for RedPajama.",
    ],
    ids=["interval", "no-and", "as-intervals", "quantiles", "whole", "length", "unit"],
)
def test_second_tuple_look_alikes_keep_only_the_first(text: str) -> None:
    check(text, [(0.34, None), (0.28, None)])


@pytest.mark.parametrize(
    "text",
    [
        # Adam's betas and mixing weights, twice
        "In our scaling-law runs, Adam uses (beta_1, beta_2) = (0.9, 0.95) for small models and "
        "(0.9, 0.99) for large ones.",
        "We mix the datasets with (alpha, beta) = (0.3, 0.7) for C4 and (0.5, 0.5) for the Pile "
        "in our scaling law runs.",
        # no law in the sentence and no symbol used as an exponent
        "The mixing weights are (alpha, beta) = (0.3, 0.7) and (0.5, 0.5) in all runs.",
        "The weights are (alpha, beta) = (0.3, 0.7) for C4 and (0.5, 0.5) for the Pile.",
        # only whole numbers, both times
        "Our scaling law holds with (alpha, beta) = (1, 2) for C4 and (3, 4) for the Pile.",
    ],
)
def test_second_tuple_look_alikes_are_not_exponents(text: str) -> None:
    assert found(text) == []


# -- 4. bare "data" first in a list of quantities ----------------------------------------------
# "data" listed before another scale quantity is the data size, as "model size and data" is.
@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "The exponents for data and model size are 0.28 and 0.34.",
            [(0.28, "data_size"), (0.34, "model_size")],
        ),
        (
            "The exponents for data and model size are 0.28 and 0.34, respectively.",
            [(0.28, "data_size"), (0.34, "model_size")],
        ),
        (
            "The exponents of data, model size and compute are 0.28, 0.34 and 0.05, respectively.",
            [(0.28, "data_size"), (0.34, "model_size"), (0.05, "compute")],
        ),
        (
            "Loss follows power laws with exponents of 0.28 and 0.34 for data and model size, "
            "respectively.",
            [(0.28, "data_size"), (0.34, "model_size")],
        ),
        (
            "The data and model size exponents are 0.28 and 0.34.",
            [(0.28, "data_size"), (0.34, "model_size")],
        ),
    ],
)
def test_data_first_in_a_list_is_the_data_size(
    text: str, expected: list[tuple[float, str | None]]
) -> None:
    check(text, expected)


@pytest.mark.parametrize(
    "text",
    [
        # "data" not listed with another scale quantity, or naming something else
        "The exponents for data and the two tasks are 0.28 and 0.34.",
        "The exponents for data alone are 0.28 and 0.34.",
        "The exponents for data sets and model size are 0.28 and 0.34.",
        "The exponents for data quality and model size are 0.28 and 0.34.",
        # another "exponent", whole numbers, units, owners that do not end at the verb
        "The Hurst exponents for data and model size are 0.28 and 0.34.",
        "The exponents for data and model size are 1 and 2, respectively.",
        "The exponents for data and model size are 28% and 34%.",
        "The exponents for data and model size on the held-out tasks are 0.28 and 0.34.",
    ],
)
def test_data_first_look_alikes_are_not_exponents(text: str) -> None:
    assert found(text) == []


@pytest.mark.parametrize(
    "text",
    [
        # "data" and a quantity, but values that do not pair: read with no variable
        "The exponents for data and model size are 0.28, 0.34 and 0.1, respectively.",
        "The data and model size exponents are 0.28, 0.34 and 0.1, respectively.",
    ],
)
def test_data_first_unpaired_values_name_no_variable(text: str) -> None:
    assert {var for _, var in found(text)} == {None}


def test_the_literal_prefilter_lets_every_shape_through(monkeypatch: pytest.MonkeyPatch) -> None:
    texts = sentences_of(globals())
    assert len(texts) > 60
    check_prefilter_agrees(texts, monkeypatch)
