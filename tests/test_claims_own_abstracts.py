"""Claims QA on abstracts a user writes (not the seed corpus): each defect found by a pass of
~100 hand-written abstracts over the issue's pattern families, pinned. Every sentence here is
written for this file."""

from __future__ import annotations

import pytest

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


def test_law_powers_next_to_settings_are_kept() -> None:
    # a loss that decays as a power of steps, and a width rule of a parametrization, are laws
    assert values("The loss decays as t^{-0.5} over training, a power law in steps.") == [-0.5]
    assert values("Learning rates scale as d^{-1} in width, a scaling law we verify.") == [-1.0]
    assert values("The optimal learning rate scales as B^{0.5} with batch size B.") == [0.5]


def test_symbol_used_as_exponent_keeps_its_value_after_a_setting_word() -> None:
    # the setting check only applies to a symbol the abstract does not use as an exponent
    text = "Our law L propto N^{-alpha} fits with learning rate sweeps giving alpha = 0.34."
    assert exponents(text) == [(0.34, "model_size")]
