"""The second annotator's claim labels are well-formed, and the agreement figures are sound."""

from __future__ import annotations

import importlib
import json
import sys
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from kb.records import RESPONSES, VARIABLES

ROOT = Path(__file__).resolve().parent.parent
EVAL = ROOT / "data" / "eval"


def _rows(name: str) -> list[dict[str, Any]]:
    lines = (EVAL / name).read_text(encoding="utf-8").splitlines()
    return [json.loads(line) for line in lines if line.strip()]


def _agreement_module() -> Any:
    sys.path.insert(0, str(ROOT / "benchmarks"))
    try:
        return importlib.import_module("agreement_claims")
    finally:
        sys.path.remove(str(ROOT / "benchmarks"))


def test_second_annotation_covers_exactly_the_positives() -> None:
    first = _rows("claims_dev.jsonl")
    second = _rows("claims_second_annotator.jsonl")
    ids = [r["paper_id"] for r in second]
    assert len(ids) == len(set(ids)), "a paper is labelled twice"
    positives = {r["paper_id"] for r in first if r["studies_scaling_law"]}
    assert set(ids) == positives


def test_second_annotation_values_are_in_the_vocabularies() -> None:
    for number, row in enumerate(_rows("claims_second_annotator.jsonl"), start=1):
        assert set(row) == {"paper_id", "variables", "responses"}, f"line {number}"
        assert row["variables"], f"line {number}: a positive paper needs a variable"
        assert row["responses"], f"line {number}: a positive paper needs a response"
        for field, vocabulary in (("variables", VARIABLES), ("responses", RESPONSES)):
            values = row[field]
            assert len(values) == len(set(values)), f"line {number}: {field} repeats a value"
            unknown = [v for v in values if v not in vocabulary]
            assert not unknown, f"line {number}: {field} {unknown} not in the vocabulary"


def test_kappa_known_values() -> None:
    mod = _agreement_module()
    assert mod.cohen_kappa([True, False, True, False], [True, False, True, False]) == 1.0
    # Observed 0.5, expected 0.5: no agreement beyond chance.
    assert mod.cohen_kappa([True, True, False, False], [True, False, True, False]) == 0.0
    assert mod.cohen_kappa([True, True], [True, True]) is None
    with pytest.raises(ValueError, match="length"):
        mod.cohen_kappa([True], [True, False])


@given(st.lists(st.tuples(st.booleans(), st.booleans()), min_size=1, max_size=40))
def test_kappa_is_symmetric_and_bounded(pairs: list[tuple[bool, bool]]) -> None:
    mod = _agreement_module()
    a = [x for x, _ in pairs]
    b = [y for _, y in pairs]
    k = mod.cohen_kappa(a, b)
    assert k == mod.cohen_kappa(b, a)
    if k is not None:
        assert -1.0 - 1e-9 <= k <= 1.0 + 1e-9


def test_agreement_of_identical_labels_is_perfect() -> None:
    mod = _agreement_module()
    rows = {
        "p1": {"variables": ["model_size"], "responses": ["loss"]},
        "p2": {"variables": ["data_size", "compute"], "responses": ["error"]},
    }
    out = mod.agreement(rows, rows, ["p1", "p2"])
    assert out["variables_f1"] == out["responses_f1"] == 1.0
    assert out["variables_exact"] == 1.0
    assert out["variables_kappa"] == 1.0
