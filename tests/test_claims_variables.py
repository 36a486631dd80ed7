"""The per-(paper, variable) decision of ``ingest.claims.variables``: features, weights, choice."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ingest.claims import EXTRACTOR_VERSION, extract
from ingest.claims.extract import VARIABLE_MODEL_TAG, read_paper
from ingest.claims.variables import (
    DEFAULT_WEIGHTS,
    FEATURES,
    Candidate,
    VariableModel,
    assign_variables,
    default_model,
    load_variable_model,
)
from kb.errors import BadInputError
from kb.records import VARIABLES, Paper


def features_of(abstract: str, title: str = "A Study") -> dict[str, dict[str, float]]:
    reading = read_paper(
        Paper(paper_id="t:v", title=title, abstract=abstract), with_candidates=True
    )
    return {c.variable: c.as_dict() for c in reading.candidates}


def model(
    weights: dict[str, float], intercept: float = 0.0, threshold: float = 0.5
) -> VariableModel:
    k = len(FEATURES)
    return VariableModel(
        features=list(FEATURES),
        coefficients=[weights.get(f, 0.0) for f in FEATURES],
        means=[0.0] * k,
        scales=[1.0] * k,
        intercept=intercept,
        threshold=threshold,
        trained_on="test",
    )


ABSTRACT = (
    "Recent work has shown that loss improves with more compute. "
    "We find that test loss follows a power law in model size. "
    "We train models ranging from 10M to 1B parameters at a fixed compute budget."
)


def test_features_of_a_claim_a_background_and_a_setup_sentence() -> None:
    found = features_of(ABSTRACT)
    assert set(found) == {"compute", "model_size"}
    size, compute = found["model_size"], found["compute"]
    # model size: named in the main (strong) claim, beside a law cue, and in the setup
    assert size["claim"] == size["main_claim"] == size["strong_claim"] == 1.0
    assert size["law_sentence"] == size["setup"] == size["alone"] == size["rules"] == 1.0
    assert size["first_position"] == pytest.approx(1 / 3)
    # compute: background and a setup sentence where it is held fixed; in no claim
    assert compute["claim"] == compute["main_claim"] == compute["rules"] == 0.0
    assert compute["background_only"] == 0.0  # also named in our own (setup) sentence
    assert compute["fixed_only"] == 0.0  # the background sentence does not hold it fixed
    assert compute["first_position"] == 0.0
    assert compute["mentions"] == pytest.approx(0.6931, abs=1e-3)  # log(1 + 1)


def test_title_background_only_and_optimal_only() -> None:
    found = features_of(
        "Prior work has shown that loss improves with more training data. "
        "We find that loss follows a power law in model size for compute-optimal models.",
        title="Width Matters",
    )
    assert found["width"]["title"] == 1.0
    assert found["width"]["first_position"] == 0.0
    assert found["data_size"]["background_only"] == 1.0
    assert found["compute"]["optimal_only"] == 1.0  # named only inside "compute-optimal"
    assert found["model_size"]["optimal_only"] == 0.0


def test_no_candidates_for_a_paper_without_a_claim() -> None:
    assert features_of("We propose a new optimizer for image classification.") == {}


def test_shipped_weights_load_and_are_explainable() -> None:
    shipped = default_model()
    assert shipped.features == list(FEATURES)
    assert 0.0 <= shipped.threshold <= 1.0
    assert "dev split" in shipped.trained_on
    cand = Candidate("model_size", tuple(1.0 for _ in FEATURES))
    contributions = shipped.contributions(cand)
    assert set(contributions) == set(FEATURES)
    assert 0.0 <= shipped.probability(cand) <= 1.0


def test_bad_json_names_the_line(tmp_path: Path) -> None:
    path = tmp_path / "w.json"
    path.write_text('{\n "features": [,]\n}\n')
    with pytest.raises(BadInputError, match=r"w\.json:2: not valid JSON"):
        load_variable_model(path)


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(BadInputError, match="cannot read the claim-variable weights"):
        load_variable_model(tmp_path / "absent.json")


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"features": ["rules"]}, "features must be"),
        ({"coefficients": [1.0]}, "coefficients must have"),
        ({"threshold": 1.5}, "field threshold"),
        ({"scales": [0.0] * len(FEATURES)}, "scales must be positive"),
        ({"extra": 1}, "field extra"),
    ],
)
def test_inconsistent_weights_are_refused(
    tmp_path: Path, change: dict[str, object], message: str
) -> None:
    raw = json.loads(DEFAULT_WEIGHTS.read_text())
    raw.update(change)
    path = tmp_path / "w.json"
    path.write_text(json.dumps(raw))
    with pytest.raises(BadInputError, match=message):
        load_variable_model(path)


def test_choose_keeps_the_most_probable_when_none_reaches_the_threshold() -> None:
    m = model({"claim": 2.0}, intercept=-5.0)
    low = Candidate("compute", tuple(0.0 for _ in FEATURES))
    high = Candidate("model_size", tuple(1.0 if f == "claim" else 0.0 for f in FEATURES))
    assert m.choose([low, high]) == ["model_size"]
    assert m.choose([]) == []
    assert model({"claim": 10.0}, intercept=-1.0).choose([low, high]) == ["model_size"]
    assert model({}, intercept=1.0).choose([low, high]) == ["compute", "model_size"]


def test_a_model_that_keeps_the_rules_set_reproduces_the_rules() -> None:
    paper = Paper(paper_id="t:v", title="A Study", abstract=ABSTRACT)
    rules = extract(paper)
    same = extract(paper, model=model({"rules": 10.0}, intercept=-5.0))
    assert [c.variables for c in same.claims] == [c.variables for c in rules.claims]
    assert same.extractor_version == EXTRACTOR_VERSION + VARIABLE_MODEL_TAG
    assert {c.extractor_version for c in same.claims} == {EXTRACTOR_VERSION + VARIABLE_MODEL_TAG}
    assert rules.extractor_version == EXTRACTOR_VERSION


def test_a_model_can_add_a_quantity_the_claims_do_not_name() -> None:
    paper = Paper(paper_id="t:v", title="A Study", abstract=ABSTRACT)
    keep_all = extract(paper, model=model({}, intercept=5.0))
    assert {v for c in keep_all.claims for v in c.variables} == {"compute", "model_size"}


variable_sets = st.lists(st.sampled_from(VARIABLES), max_size=4, unique=True)


@given(st.lists(variable_sets, min_size=1, max_size=4), variable_sets)
def test_assigned_variables_union_is_the_choice(
    claim_variables: list[list[str]], chosen: list[str]
) -> None:
    out = assign_variables(claim_variables, chosen)
    assert len(out) == len(claim_variables)
    assert {v for vs in out for v in vs} == set(chosen)
    for before, after in zip(claim_variables, out, strict=True):
        kept = set(before) & set(chosen)
        if kept:
            assert kept <= set(after)


def test_number_first_last_and_all_sentence_features() -> None:
    found = features_of(
        "Larger models are known to do better. "
        "We find that test loss follows a power law in model size. "
        "Doubling the training data lowers loss by 3% (Figure 2). "
        "Our results suggest more data and larger models."
    )
    size, data = found["model_size"], found["data_size"]
    # model size: first (background) and last sentences, never beside a number
    assert size["first_sentence"] == size["last_sentence"] == 1.0
    assert size["number_sentence"] == 0.0
    assert size["sentences"] == pytest.approx(1.3863, abs=1e-3)  # log(1 + 3): all sentences
    # data: named in a sentence with a number and a figure, and in the last sentence
    assert data["number_sentence"] == 1.0
    assert data["first_sentence"] == 0.0
    assert data["last_sentence"] == 1.0


def test_a_number_only_in_background_does_not_count() -> None:
    found = features_of(
        "Prior work trained models with 175B parameters. "
        "We find that loss follows a power law in model size."
    )
    assert found["model_size"]["number_sentence"] == 0.0
