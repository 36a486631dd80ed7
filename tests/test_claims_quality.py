"""Pattern families added for claims quality (issue 4, ``claims-rules-3``): variable synonyms of
the labelling guide, further findings of a paper that already has a claim (support cues), and
the guide's negatives (scaling factors, power-law tools, data properties, other fields, a
quantity that merely "has a significant impact")."""

from __future__ import annotations

import importlib
import sys
from pathlib import Path
from typing import Any

import pytest

from ingest.claims import EXTRACTOR_VERSION, explain, extract
from ingest.claims import lexicon as lx
from kb.records import Paper

ROOT = Path(__file__).resolve().parent.parent
extract_module: Any = importlib.import_module("ingest.claims.extract")


def paper(abstract: str, title: str = "A Study") -> Paper:
    return Paper(paper_id="t:quality", title=title, abstract=abstract)


def variables_of(abstract: str, title: str = "A Study") -> set[str]:
    result = extract(paper(abstract, title))
    return {v for c in result.claims for v in c.variables}


def test_version_is_bumped() -> None:
    assert EXTRACTOR_VERSION == "claims-rules-14"


# -- variable synonyms from the labelling guide ----------------------------------------------
@pytest.mark.parametrize(
    ("sentence", "variable"),
    [
        ("We find test error follows a power law in the epochs of pre-training.", "training_steps"),
        ("We find loss follows a power law as weights go from 16 to 4 bits.", "precision"),
        ("We find accuracy follows a power law given more compute and data.", "data_size"),
        ("We find accuracy follows a power law in parameters, or data.", "data_size"),
        ("We find accuracy follows a power law in model size and image resolution.", "other"),
    ],
)  # fmt: skip
def test_guide_synonyms(sentence: str, variable: str) -> None:
    (reading,) = explain(paper(sentence))
    assert reading.is_claim
    assert variable in reading.variables


@pytest.mark.parametrize(
    ("sentence", "absent"),
    [
        # bits per byte is a loss, not a precision
        ("We find loss in bits per byte follows a power law in model size, 8 bits per byte.",
         "precision"),
        # quality or curation of the training data is not its amount
        ("We find accuracy follows a power law in model size, whatever the training data quality.",
         "data_size"),
        ("We find loss follows a power law in model size under training data filtering.",
         "data_size"),
        # a training setup or setting is not a training set (claims-rules-5)
        ("We find loss follows a power law in model size whatever the training setup.",
         "data_size"),
        ("We find loss follows a power law in model size across training settings.",
         "data_size"),
    ],
)  # fmt: skip
def test_guide_synonym_look_alikes(sentence: str, absent: str) -> None:
    (reading,) = explain(paper(sentence))
    assert absent not in reading.variables


# -- further findings of a paper that has a claim (support cues) ----------------------------
@pytest.mark.parametrize(
    ("support", "variable", "cue"),
    [
        ("We also discovered that diversity is directly related to model width.", "width",
         "related"),
        ("Our findings indicate equal quality for equivalent compute budgets.", "compute",
         "finding"),
        ("We use the number of training tokens to predict the task loss.", "data_size",
         "predicts"),
        ("Robustness is negatively correlated with the depth of the network.", "depth",
         "correlated"),
        ("The best schedule depends on the batch size.", "batch_size", "depends_on"),
        ("Training is cheaper for a fixed number of training steps.", "training_steps",
         "fixed_budget"),
        ("The gap narrows given more inference compute.", "inference_compute", "given_more"),
    ],
)  # fmt: skip
def test_support_sentence_adds_its_quantity(support: str, variable: str, cue: str) -> None:
    claim = "We find that test loss follows a power law in model size."
    readings = explain(paper(f"{claim} {support}"))
    assert cue in readings[1].support
    assert not readings[1].is_claim  # a further finding, not a claim on its own
    assert variable in variables_of(f"{claim} {support}")
    result = extract(paper(f"{claim} {support}"))
    assert [c.evidence for c in result.claims if c.evidence == support]


def test_support_sentences_never_make_a_paper_positive() -> None:
    text = (
        "We propose a new tokenizer. We also discovered that speed is directly related to model "
        "width. Our results show gains for a fixed compute budget."
    )
    assert not extract(paper(text)).studies_scaling_law


def test_background_support_sentence_is_not_a_finding() -> None:
    text = (
        "We find that test loss follows a power law in model size. Prior work has shown that "
        "accuracy is related to the batch size."
    )
    assert variables_of(text) == {"model_size"}


def test_support_cues_in_use_are_lexicon_entries() -> None:
    assert set(extract_module.SUPPORT_CUES) <= set(lx.SUPPORT_PATTERNS)


def test_no_support_cues_restores_claims_only(monkeypatch: pytest.MonkeyPatch) -> None:
    text = (
        "We find that test loss follows a power law in model size. We also discovered that "
        "diversity is directly related to model width."
    )
    monkeypatch.setattr(extract_module, "SUPPORT_CUES", ())
    assert variables_of(text) == {"model_size"}


# -- the guide's negatives ------------------------------------------------------------------
@pytest.mark.parametrize(
    "abstract",
    [
        # "scaling" as a multiplicative factor
        "We learn per-channel scaling coefficients for quantized weights, which improve accuracy "
        "on ImageNet.",
        "Our learnable scaling function rescales activations and improves performance.",
        "We study the effect of temperature scaling effects on calibration of our classifier.",
        # a power law as a tool, not a finding
        "We use a power-law learning rate schedule and train ResNets on CIFAR-10.",
        "We place a power-law prior on the weights and report accuracy.",
        # one quantity matters, with no relationship across scale
        "The number of parameters has a significant impact on the performance of the detector.",
        # a data property, not an amount of data
        "We study the relationship between training data quality and model performance.",
        # another field's power law
        "Galaxy cluster luminosity follows a power law in mass with an exponent of 1.5. We "
        "measure it with X-ray data.",
    ],
)
def test_guide_negatives(abstract: str) -> None:
    result = extract(paper(abstract))
    assert not result.studies_scaling_law
    assert result.claims == []
    assert result.exponents == []


@pytest.mark.parametrize(
    "abstract",
    [
        # a flat trend across scale is still a finding
        "We find that model size has little impact on performance with many training tasks.",
        # the same law in a machine-learning paper is one
        "We train neural networks on galaxy images and find that the loss follows a power law "
        "in model size.",
        # a scaling law stays a law next to a scaling factor
        "We find that loss follows a power law in model size once per-channel scaling factors "
        "are learned.",
    ],
)
def test_guide_positives_kept(abstract: str) -> None:
    assert extract(paper(abstract)).studies_scaling_law


def test_cv_folds_are_stratified_and_cover_dev() -> None:
    sys.path.insert(0, str(ROOT / "benchmarks"))
    try:
        cv = importlib.import_module("cv_claims")
    finally:
        sys.path.remove(str(ROOT / "benchmarks"))
    rows: list[dict[str, Any]] = [
        {"paper_id": f"p{i}", "studies_scaling_law": i % 3 == 0} for i in range(30)
    ]
    folds: list[list[dict[str, Any]]] = cv.folds_of(rows, 5, seed=0)
    ids = sorted(str(r["paper_id"]) for f in folds for r in f)
    assert ids == sorted(str(r["paper_id"]) for r in rows)
    assert [sum(r["studies_scaling_law"] for r in f) for f in folds] == [2] * 5


# -- words that only contain a lexicon word (claims-rules-6) ---------------------------------
# Each row: a look-alike that must not read as the entry, and the genuine phrase that still must.
@pytest.mark.parametrize(
    ("look_alike", "genuine", "variable"),
    [
        ("an in-depth study of depth-wise convolutions", "the depth", "depth"),
        ("8-bit bit-width", "the width", "width"),
        ("tuned hyper-parameters", "the parameters", "model_size"),
        ("hyperparameter scaling", "parameter scaling", "model_size"),
        ("the timescale of the model", "the scale of the model", "model_size"),
        ("the size of the datastore", "the size of the data", "data_size"),
        ("the size of the training setup", "the size of the training set", "data_size"),
        ("lossless data compression", "less data", "data_size"),
        ("1,000 context tokens", "1,000 text tokens", "data_size"),
        ("metadata size", "data size", "data_size"),
        ("rescaling the data", "scaling the data", "data_size"),
    ],
)  # fmt: skip
def test_variable_look_alikes(look_alike: str, genuine: str, variable: str) -> None:
    (bad,) = explain(paper(f"We find accuracy follows a power law, with {look_alike}."))
    assert variable not in bad.variables
    (good,) = explain(paper(f"We find accuracy follows a power law in {genuine}."))
    assert variable in good.variables


@pytest.mark.parametrize(
    ("look_alike", "genuine", "response"),
    [
        ("its scalability and stability", "its ability", "downstream_performance"),
        ("successive layers, trained successfully", "the success rate", "downstream_performance"),
        ("the inequality", "the quality", "downstream_performance"),
        ("a suboptimal learning rate", "the optimal learning rate", "optimal_hyperparameter"),
        ("spectral normalization", "the spectral norm", "optimal_hyperparameter"),
        ("a suboptimal model size", "the optimal model size", "optimal_model_size"),
    ],
)  # fmt: skip
def test_response_look_alikes(look_alike: str, genuine: str, response: str) -> None:
    # a performance measure the sentence does not call downstream is read as "performance"
    names = {response, "performance"} if response == "downstream_performance" else {response}
    (bad,) = explain(paper(f"We find {look_alike} follows a power law in model size."))
    assert not names & set(bad.responses)
    (good,) = explain(paper(f"We find {genuine} follows a power law in model size."))
    assert names & set(good.responses)


@pytest.mark.parametrize(
    ("look_alike", "genuine", "relation"),
    [
        ("Accuracy scales without retraining in model size.",
         "Accuracy scales with model size.", "scales_as"),
        ("We report downscaling effects of model size.",
         "We report scaling effects of model size.", "scaling_behavior"),
        ("Whereas functions of model size are fixed, loss is not.",
         "Loss is given as a function of model size.", "function_of"),
        ("Loss is compared against baselines with more data.",
         "Loss gains with more data.", "trend"),
    ],
)  # fmt: skip
def test_relation_look_alikes(look_alike: str, genuine: str, relation: str) -> None:
    (bad,) = explain(paper(look_alike))
    assert relation not in bad.relations
    (good,) = explain(paper(genuine))
    assert relation in good.relations


def test_prefix_words_are_not_background() -> None:
    claim = "loss follows a power law in model size."
    assert not explain(paper(f"Prioritizing data, {claim}"))[0].background
    assert not explain(paper(f"Mostly, {claim}"))[0].background
    assert explain(paper(f"Prior work shows {claim}"))[0].background


def test_catastrophic_is_not_astrophysics() -> None:
    assert not extract_module._other_field("Catastrophic forgetting", "It grows with depth.")
    assert extract_module._other_field("Astrophysical jets", "Their power grows with mass.")
    assert not lx.OTHER_FIELD.search("catastrophic forgetting")
    assert lx.OTHER_FIELD.search("astrophysical jets")
    science = dict(lx.DOMAIN_PATTERNS)["science"]
    assert not science.search("catastrophic forgetting")
    assert science.search("astronomy")
