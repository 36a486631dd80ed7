"""Misreadings found on a fresh external sample (``claims-rules-14``, issue 4), each fixed by the
labelling guide's definitions: every sentence here is written for the test, none is copied from
an abstract."""

from __future__ import annotations

import pytest

from ingest.claims import explain, extract
from kb.records import Paper


def paper(abstract: str, title: str = "A Study") -> Paper:
    return Paper(paper_id="t:cover14", title=title, abstract=abstract)


def variables_of(abstract: str, title: str = "A Study") -> set[str]:
    result = extract(paper(abstract, title))
    return {v for c in result.claims for v in c.variables}


def responses_of(abstract: str, title: str = "A Study") -> set[str]:
    return {c.response for c in extract(paper(abstract, title)).claims}


# -- a measurement's depth is not a network's depth -----------------------------------------
@pytest.mark.parametrize(
    "sentence",
    [
        "We find that embedding quality follows a power law in the sequencing depth of each cell.",
        "We find that recall follows a power law in the sampling depth of the survey.",
        "We find that error follows a power law in read depth.",
        "We find that loss follows a power law in the colour depth of the images.",
        "We find that loss follows a power law in the bit depth of the audio.",
    ],
)
def test_measurement_depth_is_not_network_depth(sentence: str) -> None:
    (reading,) = explain(paper(sentence))
    assert "depth" not in reading.variables


def test_network_depth_still_read() -> None:
    (reading,) = explain(paper("We find that loss follows a power law in network depth."))
    assert "depth" in reading.variables


# -- "scales" as a noun is no "scales with" ------------------------------------------------------
@pytest.mark.parametrize(
    "sentence",
    [
        "Our method handles upsampling at various scales with one set of weights and fewer "
        "parameters.",
        "The detector finds objects at different scales with a shared backbone of parameters.",
        "We train one network for all scales with the same parameters.",
    ],
)
def test_noun_scales_is_no_relation(sentence: str) -> None:
    (reading,) = explain(paper(sentence))
    assert "scales_as" not in reading.relations
    assert not extract(paper(sentence)).studies_scaling_law


def test_verb_scales_with_still_read() -> None:
    (reading,) = explain(paper("We show that the loss scales with model size."))
    assert "scales_as" in reading.relations


# -- a field's laws stated in general are background ----------------------------------------------
@pytest.mark.parametrize(
    "sentence",
    [
        "Deep learning scaling laws predict how accuracy improves with more parameters.",
        "Neural language model scaling laws describe how loss falls with data size.",
        "Classical compute-optimal scaling laws prescribe the number of parameters.",
    ],
)
def test_general_statement_of_laws_is_background(sentence: str) -> None:
    (reading,) = explain(paper(sentence))
    assert reading.background


@pytest.mark.parametrize(
    "sentence",
    [
        "These scaling laws predict how accuracy improves with more parameters.",
        "Our scaling laws predict how accuracy improves with more parameters.",
        "The fitted scaling laws predict how loss falls with data size.",
    ],
)
def test_our_laws_are_not_background(sentence: str) -> None:
    (reading,) = explain(paper(sentence))
    assert not reading.background


# -- a power law outside ML ---------------------------------------------------------------------
# cover14 also wrote a rule dropping the power laws of papers with no ML term and no scale
# quantity (queues, cascades). Declared before the one held-out scoring: if held-out paper F1
# fell below 0.90, that rule alone would be taken out. It fell to 0.893 (one held-out positive
# lost), so it was taken out (data/eval/README.md, claims-rules-14). Only a named other field
# (astrophysics, CFT: ``lexicon.OTHER_FIELD``) drops a paper's power laws.
def test_ml_paper_without_a_scale_quantity_keeps_its_law() -> None:
    text = "We derive a power law for the test loss of transformers trained with SGD."
    assert extract(paper(text, "A power law for transformers")).studies_scaling_law


# -- guide synonyms: an autoencoder's latents, a statistical risk, listed axes, sampling steps ---
@pytest.mark.parametrize(
    ("sentence", "variable"),
    [
        ("We find reconstruction loss follows a power law in the number of latents.", "width"),
        ("We find the loss of the sparse autoencoder follows a power law in dictionary size.",
         "width"),
        ("We find that a power law in data and compute describes the loss.", "data_size"),
        ("We find that a power law in data and compute describes the loss.", "compute"),
        ("We fit power laws to the loss along the parameter, data, and compute axes.",
         "model_size"),
        ("We fit power laws to the loss along the parameter, data, and compute axes.",
         "data_size"),
        ("We find image quality follows a power law in the number of sampling steps.",
         "inference_compute"),
        ("We find sample quality saturates with more denoising steps.", "inference_compute"),
    ],
)  # fmt: skip
def test_guide_synonyms(sentence: str, variable: str) -> None:
    (reading,) = explain(paper(sentence))
    assert reading.is_claim
    assert variable in reading.variables


def test_sampling_steps_are_not_training_steps() -> None:
    (reading,) = explain(paper("We find image quality saturates with more sampling steps."))
    assert "training_steps" not in reading.variables


@pytest.mark.parametrize(
    "sentence",
    [
        "We derive a power law for the population risk in the number of parameters.",
        "We show the excess risk decays as a power law in the number of samples.",
        "We find the test risk follows a power law in model size.",
    ],
)
def test_statistical_risk_is_a_loss(sentence: str) -> None:
    assert responses_of(sentence) == {"loss"}


def test_other_risks_are_no_loss() -> None:
    (reading,) = explain(paper("We find the risk of misuse grows with model size."))
    assert "loss" not in reading.responses


# -- a scale quantity's growth with a plural or "number of" subject ----------------------------
@pytest.mark.parametrize(
    ("sentence", "variable"),
    [
        ("We measure how the benefit of extra reasoning changes as compute budgets increase.",
         "compute"),
        ("We show the gap between the two designs narrows as the number of parameters grows.",
         "model_size"),
        ("We find the accuracy gain shrinks as the amount of training data increases.",
         "data_size"),
    ],
)  # fmt: skip
def test_growth_of_a_quantity_is_a_trend(sentence: str, variable: str) -> None:
    (reading,) = explain(paper(sentence))
    assert "trend" in reading.relations
    assert reading.is_claim
    assert variable in reading.variables


def test_growth_of_something_else_is_no_claim() -> None:
    # the trend cue is weak: without a scale quantity it makes no claim
    assert not extract(paper("We retry as the number of failures increases.")).claims


# -- a question of dependence: "how X influences Y" ---------------------------------------------
@pytest.mark.parametrize(
    "sentence",
    [
        "We investigate how model size influences sampling efficiency across settings.",
        "We study how the number of parameters affects robustness.",
    ],
)
def test_how_a_quantity_influences_a_measure_is_a_claim(sentence: str) -> None:
    assert extract(paper(sentence)).studies_scaling_law


def test_how_something_else_influences_is_no_claim() -> None:
    text = "We study how prompt wording affects answers, using a fixed model."
    assert not extract(paper(text)).studies_scaling_law


# -- a title naming scaling laws: the abstract's own ranges of a scale quantity -----------------
def test_scaling_law_title_takes_the_varied_range() -> None:
    abstract = (
        "Foundation models for satellite images are popular. "
        "We pretrain encoders ranging from 40M to 300M parameters on three archives. "
        "Convolutional encoders remain competitive in the low-data setting."
    )
    result = extract(paper(abstract, title="Scaling Laws for Satellite Foundation Models"))
    assert result.studies_scaling_law
    assert {v for c in result.claims for v in c.variables} == {"model_size"}


def test_varied_range_without_a_law_title_is_no_claim() -> None:
    abstract = "We pretrain encoders ranging from 40M to 300M parameters on three archives."
    assert not extract(paper(abstract, title="Satellite Foundation Models")).studies_scaling_law


# -- depth of a task, size of a network of any kind, and the size of each input -----------------
@pytest.mark.parametrize(
    "sentence",
    [
        "We find that training compute follows a power law in the depth of the required proof.",
        "We find that compute follows a power law in reasoning depth.",
        "We find that solve rate follows a power law in search depth.",
    ],
)
def test_depth_of_a_task_is_not_network_depth(sentence: str) -> None:
    (reading,) = explain(paper(sentence))
    assert "depth" not in reading.variables


@pytest.mark.parametrize(
    ("sentence", "variable"),
    [
        ("We find accuracy improves with larger vision transformer backbones.",
         "model_size"),
        ("We find scaling laws that relate the size of language models to their loss.",
         "model_size"),
        ("We find loss follows a power law in the number of frames and tokens per frame.",
         "other"),
        ("We find tool-call accuracy follows a power law in context length.", "other"),
        ("We find error follows a power law in the number of visual tokens.", "other"),
    ],
)  # fmt: skip
def test_more_guide_synonyms(sentence: str, variable: str) -> None:
    (reading,) = explain(paper(sentence))
    assert reading.is_claim
    assert variable in reading.variables


# -- a conventional letter names its quantity only in an abstract that names it ----------------
def test_conventional_letter_in_an_abstract_naming_no_model_size_names_nothing() -> None:
    abstract = (
        "We fine-tune an assistant on instruction data about retinal photographs. "
        "We reveal a scaling law between annotation quality and diagnostic skill "
        "(L propto N^{0.068}), with N the photographs per disease."
    )
    result = extract(paper(abstract))
    (row,) = result.exponents
    assert row.value == pytest.approx(0.068)
    assert row.variable != "model_size"


def test_conventional_letter_kept_where_the_abstract_names_the_quantity() -> None:
    abstract = "We find the loss follows L propto N^{-0.07} as the number of parameters grows."
    (row,) = extract(paper(abstract)).exponents
    assert row.variable == "model_size"


# -- a dash range after an exponent in words gives both ends -------------------------------------
@pytest.mark.parametrize(
    ("sentence", "values"),
    [
        ("We find accuracy decays as a power law with an exponent in the range 0.12-0.27.",
         [0.12, 0.27]),
        ("We find the loss follows a power law with an exponent of 0.4\u20130.6.", [0.4, 0.6]),
        # a value and its error, printed high to low, is one value
        ("We find the loss follows a power law with an exponent of 0.30 - 0.02.", [0.3]),
        # whole numbers count something
        ("We find power laws whose exponents range from 1-2 across runs.", []),
    ],
)  # fmt: skip
def test_dash_range_after_an_exponent_in_words(sentence: str, values: list[float]) -> None:
    (reading,) = explain(paper(sentence))
    assert [m.value for m in reading.exponents] == pytest.approx(values)
