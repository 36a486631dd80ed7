"""Claims QA on abstracts a user writes (not the seed corpus): each defect found by a pass of
~100 hand-written abstracts over the issue's pattern families, pinned. Every sentence here is
written for this file."""

from __future__ import annotations

import pytest

from ingest.claims import extract
from ingest.claims.exponents import find_exponents
from ingest.claims.sentences import sentence_spans
from kb.records import Paper


def paper(abstract: str, title: str = "A Study", pid: str = "t:own") -> Paper:
    return Paper(paper_id=pid, title=title, abstract=abstract)


def exponents(text: str) -> list[tuple[float, str | None]]:
    """(value, variable from the rule) of every exponent of ``text`` read as one abstract."""
    return [
        (e.value, e.variable)
        for s, e_ in sentence_spans(text)
        for e in find_exponents(text, (s, e_))
    ]


def values(text: str) -> list[float]:
    return [v for v, _ in exponents(text)]


# -- precision: numbers that are not exponents of a law ------------------------------------
@pytest.mark.parametrize(
    "text",
    [
        # a whole power >= 2 is a polynomial term or a count of pairs, whatever its base
        "We fit the loss with a quadratic in log N, L = a + b x + c x^{2}, a scaling law.",
        "Accuracy follows a scaling law in data, and the number of shots grows as k^{2}.",
        "The number of pairwise comparisons scales as N^{2}, while loss follows a scaling law.",
        # e^{...} is a constant factor, not a power of a scale quantity
        "The loss decays as a scaling law in steps, with a warmup multiplier e^{-2} at first.",
        # a Greek symbol set as a hyperparameter or naming a statistic, in a law sentence
        "Using Adam with beta = 0.95 we find the loss follows a scaling law in tokens.",
        "We mix the datasets with alpha = 0.3 and find loss follows a scaling law in the ratio.",
        "We test whether loss follows a power law at significance level alpha = 0.05.",
        "Judges agree with humans (Cohen's kappa = 0.81); accuracy scales with model size.",
        "With discount factor gamma = 0.99, returns follow a power law in environment steps.",
        "With Dirichlet alpha = 0.5, federated loss follows a power law in the client count.",
        # "exponent" of something else: a series statistic, a schedule, a float format's field
        "Loss follows a power law in model size; series with a Hurst exponent of 0.7 are hard.",
        "An inverse square root schedule with decay exponent 0.5 gives a power law in tokens.",
        "We fit scaling laws for FP8 formats with exponent 4 and mantissa 3 at each precision.",
        # a power inside exp(...), and a learning-rate schedule's power, are not laws found
        "We fit a kernel exp(-x^{0.5}) to each learning curve.",
        "With a learning rate schedule eta_t = eta_0 t^{-0.5}, loss follows a power law in data.",
        "With square-root decay eta propto t^{-0.5}, the loss follows a scaling law in size.",
    ],
)
def test_look_alikes_are_not_exponents(text: str) -> None:
    assert values(text) == []


# -- recall: ranges, uncertainties, fits ---------------------------------------------------
@pytest.mark.parametrize(
    ("text", "expected"),
    [
        # an uncertainty inside the braces of a power
        ("We find that the loss scales as L propto N^{-0.076 pm 0.003} in parameters.", [-0.076]),
        ("Loss follows L ∝ D^{−0.095 ± 0.01}, a power law in data.", [-0.095]),
        # "exponent as 0.34" (and its uncertainty is not a second value)
        ("We estimate the data scaling exponent as 0.34 ± 0.02 from 50 runs.", [0.34]),
        # ranges: a dash or "to" after a symbol's value, "between/from ... and/to" after exponent
        ("We fit power laws to loss versus parameters and find α ≈ 0.5-0.7.", [0.5, 0.7]),
        ("The scaling exponent alpha = 0.3 to 0.5 across our power law fits.", [0.3, 0.5]),
        (
            "The scaling exponent for model size lies between 0.2 and 0.3 in the power law.",
            [0.2, 0.3],
        ),
        ("The scaling exponent of error with data size ranges from 0.1 to 0.4.", [0.1, 0.4]),
        # a fitted formula with no law word is still a law's power
        ("We fit L(N, D) = E + A N^{-0.34} + B D^{-0.28} to 400 training runs.", [-0.34, -0.28]),
    ],
)
def test_ranges_uncertainties_and_fits(text: str, expected: list[float]) -> None:
    assert values(text) == pytest.approx(expected)


@pytest.mark.parametrize(
    "text",
    [
        # a range of whole numbers, or one followed by a unit, counts something
        "We compare scaling exponents of models trained from 1 to 8 nodes in a power law study.",
        "The exponents of runs from 3 to 5 seeds agree in the scaling law.",
        "Scaling law exponents from 5 to 7 datasets are compared.",
        "The power law with alpha = 1-2 orders of magnitude of compute.",
        "The power law exponent was measured between 0.5 and 1.5 billion parameters.",
    ],
)
def test_counted_ranges_are_not_exponents(text: str) -> None:
    assert values(text) == []


def test_dash_after_a_value_is_a_range_only_when_it_grows() -> None:
    # "0.3 - 0.02" is a value and its error, not a range (a dash range grows: 0.5-0.7)
    assert values("The scaling law has alpha = 0.3 - 0.02 on the held-out runs.") == [0.3]


def test_range_of_years_or_percentages_is_not_exponents() -> None:
    assert values("Scaling exponents between 2020 and 2023 differ; loss follows a power law.") == []
    assert values("The scaling exponent improves from 10% to 20% in the power law.") == []


def test_subscript_names_the_variable() -> None:
    # ``alpha_D`` is the data exponent even when no ``D^{alpha}`` says so
    found = exponents(
        "We fit L(N) = (N_c/N)^{alpha_N} with alpha_N = 0.076 and L(D) = (D_c/D)^{alpha_D} "
        "with alpha_D = 0.095 in this scaling law."
    )
    assert found == [(-0.076, "model_size"), (-0.095, "data_size")]
    p = paper(
        "We show that retrieval loss scales as L(D) = (D_c / D)^{alpha_D} with alpha_D = 0.095. "
        "The fitted law extrapolates to 100B tokens."
    )
    (exp,) = extract(p).exponents
    assert (exp.value, exp.variable, exp.text) == (-0.095, "data_size", "alpha_D = 0.095")


def test_law_powers_next_to_settings_are_kept() -> None:
    # a loss that decays as a power of steps, and a width rule of a parametrization, are laws
    assert values("The loss decays as t^{-0.5} over training, a power law in steps.") == [-0.5]
    assert values("Learning rates scale as d^{-1} in width, a scaling law we verify.") == [-1.0]
    assert values("The optimal learning rate scales as B^{0.5} with batch size B.") == [0.5]


def test_symbol_used_as_exponent_keeps_its_value_after_a_setting_word() -> None:
    # the setting check only applies to a symbol the abstract does not use as an exponent
    text = "Our law L propto N^{-alpha} fits with learning rate sweeps giving alpha = 0.34."
    assert exponents(text) == [(-0.34, "model_size")]


# -- paper level ---------------------------------------------------------------------------
def test_following_a_named_law_is_background() -> None:
    p = paper(
        "Following the Chinchilla scaling laws, we train a 7B model on 1.4T tokens. "
        "Our model outperforms larger models on reasoning benchmarks."
    )
    result = extract(p)
    assert not result.studies_scaling_law
    assert result.claims == []


def test_named_law_spellings_are_background() -> None:
    openers = ("According to Kaplan et al.'s scaling laws", "Based on the Hoffmann scaling laws")
    for opener in openers:
        p = paper(f"{opener}, we train a 7B model on 1.4T tokens. It beats larger models.")
        assert not extract(p).studies_scaling_law, opener


def test_own_law_next_to_a_named_one_still_counts() -> None:
    p = paper(
        "Following the Chinchilla scaling laws, we train models from 100M to 7B parameters. "
        "We find that the loss follows a power law in model size with an exponent of 0.3."
    )
    result = extract(p)
    assert result.studies_scaling_law
    assert [(e.value, e.variable) for e in result.exponents] == [(0.3, "model_size")]
