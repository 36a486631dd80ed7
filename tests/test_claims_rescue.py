"""The paper-level embedding rescue (``ingest.claims.rescue``): file, decision and rows."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from ingest.claims import EXTRACTOR_VERSION, extract
from ingest.claims.rescue import (
    DEFAULT_RESCUE,
    RescueMeta,
    RescueModel,
    apply_rescue,
    needs_vector,
    rescue_sentences,
)
from kb.errors import BadInputError
from kb.records import Paper, paper_id_for

DIM = 8

MISSED = (
    "A study of code models",
    "We train language models with 100M to 10B parameters on source code. Our new benchmark "
    "evaluates code completion in twelve languages. Code is available online.",
)
FOUND = (
    "Scaling laws for X",
    "We find that the loss follows a power law in model size with exponent 0.07.",
)
UNRELATED = ("A new optimizer", "We propose a fast optimizer. It converges quickly.")


def paper(title: str, abstract: str) -> Paper:
    return Paper(paper_id=paper_id_for(title), title=title, abstract=abstract)


def model(
    intercept: float, threshold: float = 0.5, weights: np.ndarray | None = None
) -> RescueModel:
    meta = RescueMeta(
        encoder="enc:1234", dim=DIM, intercept=intercept, threshold=threshold, trained_on="test"
    )
    return RescueModel(meta, np.zeros(DIM) if weights is None else weights)


VECTOR = np.ones(DIM, dtype=np.float32)


def test_rescues_a_missed_paper_from_its_own_sentences() -> None:
    p = paper(*MISSED)
    rules = extract(p)
    assert not rules.studies_scaling_law
    assert needs_vector(p, rules)
    m = model(intercept=5.0)
    out = apply_rescue(p, rules, VECTOR, m)
    assert out.studies_scaling_law
    assert out.extractor_version == EXTRACTOR_VERSION + m.tag
    assert [c.variables for c in out.claims] == [["model_size"]]
    claim = out.claims[0]
    assert claim.evidence == p.abstract[claim.span_start : claim.span_end]
    assert claim.evidence.startswith("We train language models with 100M to 10B parameters")
    assert claim.extractor_version == out.extractor_version
    assert claim.response == "downstream_performance"  # no measure named: the guide's default
    assert out.domain == rules.domain


def test_below_the_threshold_only_restamps() -> None:
    p = paper(*MISSED)
    rules = extract(p)
    m = model(intercept=-5.0)
    out = apply_rescue(p, rules, VECTOR, m)
    assert not out.studies_scaling_law
    assert out.claims == []
    assert out.extractor_version == EXTRACTOR_VERSION + m.tag


def test_rules_positives_and_papers_naming_no_quantity_are_left_alone() -> None:
    m = model(intercept=5.0)
    for title, abstract in (FOUND, UNRELATED):
        p = paper(title, abstract)
        rules = extract(p)
        assert not needs_vector(p, rules)
        out = apply_rescue(p, rules, None, m)  # no vector needed
        assert out.studies_scaling_law == rules.studies_scaling_law
        assert [c.model_copy(update={"extractor_version": ""}) for c in out.claims] == [
            c.model_copy(update={"extractor_version": ""}) for c in rules.claims
        ]
        assert {c.extractor_version for c in out.claims} <= {EXTRACTOR_VERSION + m.tag}
        assert {e.extractor_version for e in out.exponents} <= {EXTRACTOR_VERSION + m.tag}
        assert len(out.exponents) == len(rules.exponents)


def test_a_needed_vector_must_be_given() -> None:
    p = paper(*MISSED)
    with pytest.raises(ValueError, match="needs its embedding"):
        apply_rescue(p, extract(p), None, model(5.0))


def test_background_sentences_are_not_rescued() -> None:
    p = paper(
        "Notes on training",
        "Prior work has shown that larger models trained on more data perform better. "
        "We describe our optimizer.",
    )
    assert rescue_sentences(p) == []
    assert not needs_vector(p, extract(p))


def test_probability_is_a_logistic_on_the_unit_vector() -> None:
    w = np.zeros(DIM)
    w[0] = 2.0
    m = model(intercept=-1.0, weights=w)
    v = np.zeros(DIM)
    v[0] = 10.0  # normalised to a unit vector first
    assert m.probability(v) == pytest.approx(1 / (1 + np.exp(-1.0)))
    with pytest.raises(BadInputError, match="8-d vectors"):
        m.probability(np.ones(3))


def test_shipped_file_loads() -> None:
    shipped = RescueModel.load(DEFAULT_RESCUE)
    assert shipped.meta.dim == 384
    assert 0.5 <= shipped.meta.threshold <= 0.9
    assert "claims_dev.jsonl" in shipped.meta.trained_on


def test_save_load_round_trip_and_tag(tmp_path: Path) -> None:
    m = model(intercept=0.25, threshold=0.7, weights=np.arange(DIM, dtype=float))
    path = tmp_path / "rescue.npz"
    m.save(path)
    back = RescueModel.load(path)
    assert back.meta == m.meta
    np.testing.assert_array_equal(back.weights, m.weights)
    assert back.tag == m.tag
    assert m.tag.startswith("+rescue-")
    assert model(intercept=0.25, threshold=0.8, weights=np.arange(DIM, dtype=float)).tag != m.tag
    assert back.fits("enc:1234", DIM)
    assert not back.fits("other:1", DIM)


def test_bad_files_are_named(tmp_path: Path) -> None:
    with pytest.raises(BadInputError, match="not found"):
        RescueModel.load(tmp_path / "missing.npz")
    bad = tmp_path / "bad.npz"
    bad.write_text("not a zip")
    with pytest.raises(BadInputError, match=r"bad\.npz: not a claims rescue model"):
        RescueModel.load(bad)
    wrong = tmp_path / "wrong.npz"
    np.savez(wrong, weights=np.zeros(DIM))
    with pytest.raises(BadInputError, match=r"wrong\.npz"):
        RescueModel.load(wrong)
    with pytest.raises(BadInputError, match="expected"):
        RescueModel(model(0.0).meta, np.zeros(DIM + 1))
    with pytest.raises(BadInputError, match="NaN"):
        RescueModel(model(0.0).meta, np.full(DIM, np.nan))
