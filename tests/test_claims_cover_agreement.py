"""``agreement_claims.py --cover``: the cover sample's two annotations, read and compared."""

from __future__ import annotations

import importlib
import json
import math
import sys
from pathlib import Path
from typing import Any

import pytest

from kb.records import DOMAINS, RESPONSES, VARIABLES

ROOT = Path(__file__).resolve().parent.parent
EVAL = ROOT / "data" / "eval"


def _module(name: str) -> Any:
    sys.path.insert(0, str(ROOT / "benchmarks"))
    try:
        return importlib.import_module(name)
    finally:
        sys.path.remove(str(ROOT / "benchmarks"))


def _row(ext_id: str, positive: bool, **fields: Any) -> dict[str, Any]:
    row: dict[str, Any] = {
        "ext_id": ext_id,
        "studies_scaling_law": positive,
        "domain": "language",
        "variables": ["model_size"] if positive else [],
        "responses": ["loss"] if positive else [],
        "exponents": [],
    }
    row.update(fields)
    return row


def _write(path: Path, rows: list[dict[str, Any]]) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    return path


# k001 and k003 fall in cover-test under the sha256 rule, k002 and k005 in cover-tune.
FIRST = [
    _row("k001", True, variables=["model_size", "compute"], split="cover-test"),
    _row("k002", True, exponents=[0.5], split="cover-tune"),
    _row("k003", False, split="cover-test"),
    _row("k005", True, responses=["accuracy"], split="cover-tune"),
]
SECOND = [
    _row("k001", True, variables=["model_size"]),
    _row("k002", True, exponents=[-0.5]),
    _row("k003", False),
    _row("k005", False, domain="vision"),
]


def test_fixture_ids_fall_in_the_splits_the_comments_say() -> None:
    bench = _module("bench_claims")
    assert [bench.cover_split(f"k00{n}") for n in (1, 2, 3, 5)] == [
        "cover-test",
        "cover-tune",
        "cover-test",
        "cover-tune",
    ]


def test_reader_sets_the_split_and_keys_by_ext_id(tmp_path: Path) -> None:
    mod = _module("agreement_claims")
    first, second = mod.read_cover_annotations(
        _write(tmp_path / "a1.jsonl", FIRST), _write(tmp_path / "a2.jsonl", SECOND)
    )
    assert list(first) == list(second) == ["k001", "k002", "k003", "k005"]
    assert second["k001"]["split"] == "cover-test"
    assert second["k005"]["split"] == "cover-tune"


@pytest.mark.parametrize(
    ("bad", "message"),
    [
        (_row("k001", True, variables=["params"]), r"a2\.jsonl, line 1: variables \['params'\]"),
        (_row("k001", True, domain="biology"), r"line 1: domain 'biology'"),
        (_row("k001", False, variables=["model_size"]), r"line 1: variables must be non-empty"),
        (_row("k001", True, split="cover-tune"), r"line 1: split 'cover-tune' is not 'cover-test'"),
        (_row("k001", True, exponents=["0.5"]), r"line 1: exponents must be numbers"),
        ({"ext_id": "k001"}, r"line 1: missing field"),
    ],
)
def test_reader_names_file_and_line_of_a_bad_label(
    tmp_path: Path, bad: dict[str, Any], message: str
) -> None:
    mod = _module("agreement_claims")
    first = _write(tmp_path / "a1.jsonl", FIRST)
    second = _write(tmp_path / "a2.jsonl", [bad, *SECOND[1:]])
    with pytest.raises(SystemExit, match=message):
        mod.read_cover_annotations(first, second)


def test_reader_refuses_files_labelling_different_papers(tmp_path: Path) -> None:
    mod = _module("agreement_claims")
    first = _write(tmp_path / "a1.jsonl", FIRST)
    second = _write(tmp_path / "a2.jsonl", SECOND[:3])
    with pytest.raises(SystemExit, match=r"same papers .* missing \['k005'\]"):
        mod.read_cover_annotations(first, second)
    twice = _write(tmp_path / "a3.jsonl", [*SECOND, SECOND[0]])
    with pytest.raises(SystemExit, match=r"a3\.jsonl, line 5: k001 is labelled twice"):
        mod.read_cover_annotations(first, twice)


def test_cover_agreement_known_values(tmp_path: Path) -> None:
    mod = _module("agreement_claims")
    first, second = mod.read_cover_annotations(
        _write(tmp_path / "a1.jsonl", FIRST), _write(tmp_path / "a2.jsonl", SECOND)
    )
    out = mod.cover_agreement(first, second, ["k001", "k002", "k003", "k005"])
    assert out["paper_disagreements"] == 1.0
    # Observed 3/4; annotator 1 says positive 3/4, annotator 2 2/4: expected 3/8 + 1/8 = 1/2.
    assert out["paper_kappa"] == pytest.approx(0.5)
    assert (out["both_positive"], out["either_positive"]) == (2.0, 3.0)
    # k001: {model_size, compute} vs {model_size} -> 2/3; k002 identical -> 1; k005 missed -> 0.
    assert out["variables_f1_both"] == pytest.approx((2 / 3 + 1) / 2)
    assert out["variables_f1_either"] == pytest.approx((2 / 3 + 1 + 0) / 3)
    assert out["variables_exact_both"] == pytest.approx(0.5)
    assert out["responses_f1_both"] == 1.0
    assert out["domain_same"] == pytest.approx(3 / 4)
    # 0.5 and -0.5 are one magnitude, as the benchmark compares them.
    assert out["exponents_same_either"] == 1.0

    tune = mod.cover_agreement(first, second, ["k002", "k005"])
    assert tune["paper_disagreements"] == 1.0
    assert math.isnan(mod.cover_agreement(first, second, ["k003"])["variables_f1_both"])


def test_cover_option_prints_splits_and_only_tune_disagreements(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    mod = _module("agreement_claims")
    first = _write(tmp_path / "a1.jsonl", FIRST)
    second = _write(tmp_path / "a2.jsonl", SECOND)
    argv = ["agreement_claims.py", "--cover", "--disagreements"]
    argv += ["--cover-labels", str(first), "--cover-second", str(second)]
    monkeypatch.setattr(sys, "argv", argv)
    mod.main()
    out = capsys.readouterr().out
    header = next(line for line in out.splitlines() if line.startswith("figure"))
    assert header.split() == ["figure", "cover-tune", "cover-test", "all"]
    kappa = next(line for line in out.splitlines() if line.startswith("paper_kappa"))
    # cover-tune: k002 agrees, k005 differs: chance 1/2, observed 1/2; cover-test agrees fully.
    assert kappa.split() == ["paper_kappa", "0.000", "1.000", "0.500"]
    listed = out.split("cover-tune papers the annotators label differently")[1]
    assert "k005" in listed
    assert "studies_scaling_law: True | False" in listed
    assert "k001" not in listed, "cover-test disagreements must never be listed"


def test_shipped_second_cover_annotation_matches_the_first_papers() -> None:
    mod = _module("agreement_claims")
    _first, second = mod.read_cover_annotations(
        EVAL / "claims_cover.jsonl", EVAL / "claims_cover_second.jsonl"
    )
    assert len(second) == 84
    for row in second.values():
        assert set(row) == {*mod.COVER_FIELDS, "split"}, "no title or text in the second file"
        assert row["domain"] in DOMAINS
        assert set(row["variables"]) <= set(VARIABLES)
        assert set(row["responses"]) <= set(RESPONSES)
