"""Issue 4's mathematics as listings print it (``claims-rules-9``): Unicode superscript
exponents, a base letter defined in words, and the variable a words-rule exponent is tied to by
the grammar of its sentence. Every sentence here is written for this file, from the labelling
guide of data/eval/README.md (what is and is not an exponent)."""

from __future__ import annotations

import pytest

from ingest.claims import extract
from kb.records import Paper
from tests.claims_cases import found as exponents
from tests.claims_cases import rows


def paper(abstract: str, title: str = "A Study") -> Paper:
    return Paper(paper_id="t:unicode", title=title, abstract=abstract)


# -- 1. superscript and other Unicode powers -----------------------------------------------
@pytest.mark.parametrize(
    ("text", "expected"),
    [
        # superscript digits with a superscript minus and a middle dot as decimal point
        (
            "We find that the loss follows L ∝ N⁻⁰·⁰⁷⁶ in the parameter count.",
            [(-0.076, "model_size")],
        ),
        (
            "Loss falls as a power law, L ∝ D⁻⁰.⁰⁹⁵, in the number of tokens.",
            [(-0.095, "data_size")],
        ),
        ("The compute-optimal model size grows as N_opt ∝ C⁰·⁵ in our fits.", [(0.5, "compute")]),
        ("The optimal batch size follows a power law B ∝ C⁰˙³ in compute.", [(0.3, "compute")]),
        # U+2212 minus in an unbraced power, after a cue or inside a fitted formula
        ("The test loss scales as N^−0.5 over three orders of magnitude.", [(-0.5, "model_size")]),
        (
            "We fit L = E + A N^−0.34 + B D^−0.28 to 400 training runs.",
            [(-0.34, "model_size"), (-0.28, "data_size")],
        ),
        (
            "We fit L = E + A/N^0.34 + B/D^0.28 to our runs.",
            [(-0.34, "model_size"), (-0.28, "data_size")],  # divisors: negative powers
        ),
        # an en dash for a minus, and an uncertainty after a superscript value
        ("Loss follows L ∝ N^\u20130.07, a power law in model size.", [(-0.07, "model_size")]),
        ("Loss follows a power law N⁻⁰·⁰⁵±⁰·⁰¹ in model size.", [(-0.05, "model_size")]),
        # a parenthesised power
        ("Test loss follows a power law L ∝ D^(−0.28) in dataset size.", [(-0.28, "data_size")]),
        ("The optimal learning rate scales as B^(0.5) with the batch size.", [(0.5, "batch_size")]),
        # a symbol used as the exponent: its value elsewhere in the abstract is the law's
        ("We find L ∝ N^{−α} with α ≈ 0.34 across model sizes.", [(-0.34, "model_size")]),
        (
            "Loss follows L ∝ N⁻ᵅ, a power law in model size, with α = 0.07.",
            [(-0.07, "model_size")],
        ),
        ("We find L ∝ D^−β; the fitted power law has β = 0.28.", [(-0.28, "data_size")]),
    ],
)
def test_unicode_powers_are_read(text: str, expected: list[tuple[float, str]]) -> None:
    found = exponents(text)
    assert [v for v, _ in found] == pytest.approx([v for v, _ in expected])
    assert [var for _, var in found] == [var for _, var in expected]


@pytest.mark.parametrize(
    "text",
    [
        # a symbolic exponent has no value
        "Loss follows L ∝ N⁻ᵅ, a power law in model size.",
        "The loss scales as a power law L ∝ C⁻ᵝ in compute.",
        # powers of ten and units
        "Training used 10²³ FLOPs, and the loss follows a power law in compute.",
        "A learning rate of 3×10⁻⁴ is used; loss follows a scaling law in data.",
        "Quasars emit 10³⁸ erg s⁻¹, a luminosity that scales as a power law in mass.",
        "Throughput reaches 4000 tokens s⁻¹ and loss follows a power law in model size.",
        "The memory footprint grows with the area in m², a power law in model size.",
        "Throughput (s⁻¹) of every model follows a power law in model size.",
        # an unbraced whole power is read only right after ∝ or "scales as" (as before)
        "The error rate follows a power law; we use p^-1 weighting of the samples.",
        # a whole power >= 2 is a polynomial term or a count
        "We fit a quadratic c x² + b x + a to the scaling law of log loss.",
        "Pairwise comparisons scale as N² while the loss follows a power law in N.",
        "Attention costs O(N²) in sequence length, and loss follows a power law in model size.",
        # a statistic and footnote markers
        "The fit of the scaling law reaches R² = 0.99 on held-out runs.",
        "Scaling laws¹ predict that loss follows a power law in model size.",
        "Kaplan et al.¹ found that loss follows a power law in the parameter count N.",
        "Loss follows a power law in model size (see footnote²), with a fitted curve.",
        "Our power law¹ fits the loss of models from 10M to 1B parameters.",
        "We compare model A¹ and model B², and loss follows a power law in model size.",
        # citations, and a layer's index in parentheses
        "Loss follows a power law in model size [12], as found before [3, 4].",
        "The first-layer weights W^(1) grow as a power law in width during training.",
        # a superscript inside exp(..) or a schedule being set
        "We fit the learning curve with a kernel exp(−t⁰·⁵) at every scale.",
        "With a learning rate schedule η ∝ t⁻⁰·⁵, the loss follows a power law in data.",
    ],
)
def test_unicode_look_alikes_are_not_exponents(text: str) -> None:
    assert exponents(text) == []


def test_superscript_exponent_row_keeps_its_printed_text() -> None:
    text = (
        "We train 50 language models from 10M to 1B parameters. "
        "We find that the loss follows a power law, L ∝ N⁻⁰·⁰⁷⁶, in the parameter count."
    )
    (exp,) = extract(paper(text)).exponents
    assert (exp.value, exp.variable, exp.text) == (-0.076, "model_size", "N⁻⁰·⁰⁷⁶")


# -- 2. a base letter defined in words -----------------------------------------------------
@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "We train mixture-of-experts models, varying the number of experts E from 8 to 64. "
            "At fixed compute, the loss follows a power law L ∝ E^{-0.1}.",
            [(-0.1, "num_experts")],
        ),
        (
            "With E experts per layer, the loss follows a power law L ∝ E^{-0.12}, for models "
            "of every size.",
            [(-0.12, "num_experts")],
        ),
        (
            "We vary the number of experts (E) and find a scaling law L ∝ E⁻⁰·⁰⁸ at fixed "
            "model size.",
            [(-0.08, "num_experts")],
        ),
        (
            "We study the vocabulary size V of language models. The optimal loss follows a "
            "power law L ∝ V^{-0.05} in compute.",
            [(-0.05, "other")],
        ),
        (
            "We vary the number of tasks T in multitask training. Transfer accuracy scales "
            "as T^{0.3} at every model size.",
            [(0.3, "other")],
        ),
        # a definition beats the convention: here N counts training samples
        (
            "We vary the number of training samples N and find the test error decays as "
            "N^{-0.5} at every model size.",
            [(-0.5, "data_size")],
        ),
        # a symbol's variable follows its base's definition
        (
            "We vary the number of experts E. The loss follows L ∝ E^{-γ} at fixed compute, a "
            "power law with γ = 0.1.",
            [(-0.1, "num_experts")],
        ),
    ],
)
def test_defined_base_letter_names_the_variable(
    text: str, expected: list[tuple[float, str]]
) -> None:
    assert rows(text) == expected


def test_a_count_before_the_letter_is_not_a_definition() -> None:
    # "300 B tokens" counts tokens in billions: B stays the batch size
    text = (
        "We train on 300 B tokens. The optimal batch size follows a power law B ∝ C^{0.3} in "
        "compute, and grows as B^{0.5} with model size."
    )
    assert [(v, var) for v, var in exponents(text)] == [(0.3, "compute"), (0.5, "batch_size")]


def test_samples_defined_only_for_training_or_per_problem() -> None:
    # "the number of samples k" is as often drawn at test time: it defines nothing
    text = (
        "We vary the number of samples k drawn for each question. Coverage grows as "
        "k^{0.3} for every model size."
    )
    assert exponents(text) == [(0.3, None)]
    text = (
        "We draw k samples per problem. Coverage grows as a power law k^{0.3} for every model size."
    )
    assert exponents(text) == [(0.3, "inference_compute")]


def test_a_letter_defined_twice_differently_names_nothing() -> None:
    # S is both the number of tasks and the number of training steps: the rule does not guess
    # (nor falls back on S for steps), so the sentence's own quantity decides
    text = (
        "We vary the number of tasks S and the number of training steps S across runs. "
        "Accuracy scales as S^{0.3} in model size."
    )
    assert exponents(text) == [(0.3, None)]
    assert rows(text) == [(0.3, "model_size")]


# -- 3. the quantity a words-rule exponent is tied to --------------------------------------
@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "The loss scales with data size with an exponent of 0.3 and with model size with "
            "an exponent of 0.5.",
            [(0.3, "data_size"), (0.5, "model_size")],
        ),
        (
            "The data-size exponent is 0.3 and the model-size exponent is 0.5 in our scaling law.",
            [(0.3, "data_size"), (0.5, "model_size")],
        ),
        (
            "Loss follows a power law with an exponent of 0.3 in data size, while model size "
            "matters less.",
            [(0.3, "data_size")],
        ),
        (
            "The scaling exponent for model size lies between 0.2 and 0.3, smaller than the "
            "one for data size.",
            [(0.2, "model_size"), (0.3, "model_size")],
        ),
        # "respectively" pairs a list of values with a list of quantities, in order
        (
            "The data size and model size exponents are 0.3 and 0.5, respectively, in our "
            "scaling law.",
            [(0.3, "data_size"), (0.5, "model_size")],
        ),
        (
            "Loss scales with data size and model size with exponents of 0.3 and 0.5, "
            "respectively.",
            [(0.3, "data_size"), (0.5, "model_size")],
        ),
        (
            "The loss follows a power law with exponents of 0.3 and 0.5 for data size and "
            "model size, respectively.",
            [(0.3, "data_size"), (0.5, "model_size")],
        ),
        # one quantity for both values: "respectively" pairs them with something else
        (
            "Loss scales with model size with exponents of 0.3 and 0.5 for vision and "
            "language, respectively.",
            [(0.3, "model_size"), (0.5, "model_size")],
        ),
    ],
)
def test_words_exponent_takes_the_quantity_its_grammar_names(
    text: str, expected: list[tuple[float, str]]
) -> None:
    assert rows(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        # two quantities joined before one exponent: which one is not said
        "The loss scales with data size and model size with an exponent of 0.3.",
        "The data size and model size exponents are 0.3, a power law in both.",
        "Loss follows a power law with an exponent of 0.3 in data size and model size.",
        # without "respectively", or with lists of another length, no pairing is said
        "The data size and model size exponents are 0.3 and 0.5 in our power law fits.",
        "Loss follows a power law with exponents of 0.3 and 0.5 for data size, respectively, "
        "and for model size.",
    ],
)
def test_words_exponent_with_an_ambiguous_quantity_stays_other(text: str) -> None:
    assert {var for _, var in rows(text)} == {"other"}
