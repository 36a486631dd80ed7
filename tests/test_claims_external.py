"""The external claims sample: labels only, split by a fixed rule, read by the benchmark.

``data/eval/claims_external.jsonl`` labels abstracts from outside the seed corpus; their texts
are not in the repository, so these tests check the labels and the benchmark's reader on a small
fixture of our own sentences.
"""

from __future__ import annotations

import hashlib
import importlib
import json
import os
import sys
from pathlib import Path
from typing import Any

import pytest

from kb.records import DOMAINS, RESPONSES, VARIABLES

ROOT = Path(__file__).resolve().parent.parent
EXTERNAL = ROOT / "data" / "eval" / "claims_external.jsonl"
FIELDS = {
    "ext_id", "url", "split", "studies_scaling_law", "domain", "variables", "responses",
    "exponents",
}  # fmt: skip


def _rows() -> list[dict[str, Any]]:
    lines = EXTERNAL.read_text(encoding="utf-8").splitlines()
    return [json.loads(line) for line in lines if line.strip()]


def _bench() -> Any:
    sys.path.insert(0, str(ROOT / "benchmarks"))
    try:
        return importlib.import_module("bench_claims")
    finally:
        sys.path.remove(str(ROOT / "benchmarks"))


# -- the external labels ---------------------------------------------------------------------
def test_external_labels_are_labels_only() -> None:
    rows = _rows()
    assert len(rows) >= 60
    ids = [r["ext_id"] for r in rows]
    assert len(ids) == len(set(ids))
    for number, row in enumerate(rows, start=1):
        # no title, abstract or annotator note: the texts are not redistributed
        assert set(row) == FIELDS, f"line {number}"
        assert row["url"].startswith(("https://", "http://")), f"line {number}"
        assert row["domain"] in DOMAINS, f"line {number}"
        assert set(row["variables"]) <= set(VARIABLES), f"line {number}"
        assert set(row["responses"]) <= set(RESPONSES), f"line {number}"
        if row["studies_scaling_law"]:
            assert row["variables"], f"line {number}"
            assert row["responses"], f"line {number}"
        else:
            assert row["variables"] == row["responses"] == row["exponents"] == [], f"line {number}"


def test_external_split_is_the_sha256_rule() -> None:
    bench = _bench()
    for row in _rows():
        digest = hashlib.sha256(row["ext_id"].encode()).hexdigest()
        expected = "ext-test" if int(digest[:8], 16) % 3 == 0 else "ext-tune"
        assert row["split"] == expected == bench.external_split(row["ext_id"])
    splits = {r["split"] for r in _rows()}
    assert splits == {"ext-tune", "ext-test"}


def _texts(tmp_path: Path, ids: list[str]) -> Path:
    path = tmp_path / "texts.jsonl"
    lines = [
        json.dumps({"ext_id": i, "title": f"Paper {i}", "abstract": "We find loss falls."})
        for i in ids
    ]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def test_read_external_joins_labels_and_texts(tmp_path: Path) -> None:
    bench = _bench()
    ids = [r["ext_id"] for r in _rows()]
    rows, papers = bench.read_external(EXTERNAL, _texts(tmp_path, ids))
    assert len(rows) == len(ids)
    assert {r["paper_id"] for r in rows} == set(papers) == {f"ext:{i}" for i in ids}


def test_read_external_names_a_missing_text(tmp_path: Path) -> None:
    bench = _bench()
    ids = [r["ext_id"] for r in _rows()]
    with pytest.raises(SystemExit, match=rf"line 1: no text for {ids[0]}"):
        bench.read_external(EXTERNAL, _texts(tmp_path, ids[1:]))


def test_read_external_can_skip_missing_texts(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bench = _bench()
    all_rows = _rows()
    ids = [r["ext_id"] for r in all_rows]
    rows, _ = bench.read_external(EXTERNAL, _texts(tmp_path, ids[2:]), skip_missing=True)
    assert [r["ext_id"] for r in rows] == ids[2:]
    out = capsys.readouterr().out
    tests = sum(r["split"] == "ext-test" for r in all_rows)
    kept = sum(r["split"] == "ext-test" for r in all_rows[2:])
    assert f"ext-test {kept} of {tests}" in out


def test_read_external_names_a_broken_text_line(tmp_path: Path) -> None:
    bench = _bench()
    path = tmp_path / "texts.jsonl"
    path.write_text('{"ext_id": "e001", "title": "T"}\n', encoding="utf-8")
    with pytest.raises(SystemExit, match=r"texts.jsonl, line 1: expected a JSON object"):
        bench.read_external(EXTERNAL, path)


def test_read_external_names_a_missing_text_file(tmp_path: Path) -> None:
    # `bench_claims.py --external-texts PATH` with a wrong PATH: a message, not a traceback
    bench = _bench()
    with pytest.raises(SystemExit, match=r"missing.jsonl: cannot read the external texts"):
        bench.read_external(EXTERNAL, tmp_path / "missing.jsonl")


def test_read_external_joins_several_text_files(tmp_path: Path) -> None:
    bench = _bench()
    ids = [r["ext_id"] for r in _rows()]
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    first = _texts(tmp_path / "a", ids[:10])
    second = _texts(tmp_path / "b", ids[10:])
    rows, papers = bench.read_external(EXTERNAL, [first, second])
    assert len(rows) == len(ids) == len(papers)


def test_read_external_names_an_id_given_twice(tmp_path: Path) -> None:
    bench = _bench()
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    first = _texts(tmp_path / "a", ["e001"])
    second = _texts(tmp_path / "b", ["e001"])
    with pytest.raises(SystemExit, match=r"line 1: e001 already read from .*texts.jsonl, line 1"):
        bench.read_external(EXTERNAL, [first, second])


def test_external_texts_from_env_splits_on_pathsep(monkeypatch: pytest.MonkeyPatch) -> None:
    bench = _bench()
    monkeypatch.setenv("KB_EXTERNAL_TEXTS", f"/x/a.jsonl{os.pathsep}/x/b.jsonl")
    assert bench.external_texts_from_env() == [Path("/x/a.jsonl"), Path("/x/b.jsonl")]
    monkeypatch.setenv("KB_EXTERNAL_TEXTS", "")
    assert bench.external_texts_from_env() is None


def _fold() -> Any:
    sys.path.insert(0, str(ROOT / "benchmarks"))
    try:
        return importlib.import_module("fold_claims_external")
    finally:
        sys.path.remove(str(ROOT / "benchmarks"))


def test_fold_keeps_labels_only_and_sets_the_split(tmp_path: Path) -> None:
    fold = _fold()
    stored = tmp_path / "external.jsonl"
    stored.write_text(EXTERNAL.read_text(encoding="utf-8"), encoding="utf-8")
    batch = tmp_path / "batch.jsonl"
    line = {
        "ext_id": "e901", "url": "https://example.org/p", "title": "A title", "note": "why",
        "studies_scaling_law": True, "domain": "language", "variables": ["model_size"],
        "responses": ["loss"], "exponents": [0.07],
    }  # fmt: skip
    batch.write_text(json.dumps(line) + "\n", encoding="utf-8")
    counts = fold.fold(stored, [batch])
    rows = [json.loads(x) for x in stored.read_text(encoding="utf-8").splitlines()]
    assert sum(counts.values()) == len(rows) == len(_rows()) + 1
    added = next(r for r in rows if r["ext_id"] == "e901")
    assert set(added) == FIELDS
    digest = hashlib.sha256(b"e901").hexdigest()
    assert added["split"] == ("ext-test" if int(digest[:8], 16) % 3 == 0 else "ext-tune")


def test_fold_names_a_bad_label(tmp_path: Path) -> None:
    fold = _fold()
    stored = tmp_path / "external.jsonl"
    stored.write_text("", encoding="utf-8")
    batch = tmp_path / "batch.jsonl"
    line = {
        "ext_id": "e901", "url": "https://example.org/p", "studies_scaling_law": True,
        "domain": "language", "variables": ["size"], "responses": ["loss"], "exponents": [],
    }  # fmt: skip
    batch.write_text(json.dumps(line) + "\n", encoding="utf-8")
    with pytest.raises(SystemExit, match=r"batch.jsonl, line 1: variables \['size'\] not in"):
        fold.fold(stored, [batch])


def test_fold_refuses_an_ext_id_given_twice_and_leaves_the_file_alone(tmp_path: Path) -> None:
    fold = _fold()
    stored = tmp_path / "external.jsonl"
    stored.write_text("", encoding="utf-8")
    line = {
        "ext_id": "e902", "url": "https://example.org/q", "studies_scaling_law": False,
        "domain": "vision", "variables": [], "responses": [], "exponents": [],
    }  # fmt: skip
    first, second = tmp_path / "a.jsonl", tmp_path / "b.jsonl"
    first.write_text(json.dumps(line) + "\n", encoding="utf-8")
    second.write_text(json.dumps(line) + "\n", encoding="utf-8")
    with pytest.raises(SystemExit, match=r"b.jsonl, line 1: e902 already in .*a.jsonl, line 1"):
        fold.fold(stored, [first, second])
    assert stored.read_text(encoding="utf-8") == ""  # nothing written
    assert fold.fold(stored, [first]) == {fold.external_split("e902"): 1}
    assert fold.fold(stored, [first]) == {fold.external_split("e902"): 1}  # re-folding is a no-op


def test_bootstrap_intervals_hold_the_figure_and_repeat() -> None:
    # `bench_claims.py --intervals N`: seeded percentile intervals around each split's figure.
    from ingest.claims import Extraction

    bench = _bench()
    rows = [
        {"paper_id": f"p{i}", "studies_scaling_law": i % 2 == 0, "domain": "language",
         "variables": ["model_size"] if i % 2 == 0 else [],
         "responses": ["loss"] if i % 2 == 0 else [], "exponents": []}
        for i in range(40)
    ]  # fmt: skip
    # Half the positives found at paper level (claims aside), no false positive: F1 2/3.
    preds = {
        r["paper_id"]: Extraction(
            paper_id=r["paper_id"], studies_scaling_law=i % 4 == 0, domain="language",
            claims=[], exponents=[],
        )
        for i, r in enumerate(rows)
    }  # fmt: skip
    figures = bench.evaluate(rows, preds)
    assert round(figures["paper_f1"], 3) == 0.667
    spans = bench.intervals(rows, preds, 300)
    assert set(spans) == set(bench.INTERVAL_FIGURES)
    low, high = spans["paper_f1"]
    assert low < figures["paper_f1"] < high
    assert high - low > 0.1
    assert spans["variables_f1"] == (0.0, 0.0)  # no claims: every positive scores 0
    assert spans["exponent_precision"] == (1.0, 1.0)
    assert bench.intervals(rows, preds, 300) == spans  # seeded: the same on a rerun


# -- the cover sample's reader (same reader, its own split rule and names) ----------------------
def test_read_external_reads_a_sample_with_its_own_split_rule(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bench = _bench()
    ids = [f"k{n:03d}" for n in range(1, 13)]
    labels = tmp_path / "cover.jsonl"
    rows = [
        {"ext_id": i, "split": bench.cover_split(i), "studies_scaling_law": False,
         "domain": "other", "variables": [], "responses": [], "exponents": []}
        for i in ids
    ]  # fmt: skip
    labels.write_text("\n".join(json.dumps(r) for r in rows) + "\n", encoding="utf-8")
    got, _papers = bench.read_external(
        labels,
        _texts(tmp_path, ids[1:]),
        skip_missing=True,
        split_rule=bench.cover_split,
        split_names=bench.COVER_SPLITS,
    )
    assert [r["ext_id"] for r in got] == ids[1:]
    assert {r["split"] for r in got} <= set(bench.COVER_SPLITS)
    assert "cover-tune" in capsys.readouterr().out
    # the cover rule is the external rule under other names
    for i in ids:
        assert bench.cover_split(i).split("-")[1] == bench.external_split(i).split("-")[1]
    # a label whose split breaks the rule is named with its line
    rows[0]["split"] = "cover-tune" if rows[0]["split"] == "cover-test" else "cover-test"
    labels.write_text("\n".join(json.dumps(r) for r in rows) + "\n", encoding="utf-8")
    with pytest.raises(SystemExit, match=r"cover.jsonl, line 1: split"):
        bench.read_external(
            labels, _texts(tmp_path, ids), split_rule=bench.cover_split,
            split_names=bench.COVER_SPLITS,
        )  # fmt: skip


def test_cover_labels_are_labels_only_and_follow_the_split_rule() -> None:
    bench = _bench()
    cover = ROOT / "data" / "eval" / "claims_cover.jsonl"
    rows = [json.loads(line) for line in cover.read_text(encoding="utf-8").splitlines() if line]
    assert len(rows) >= 60
    assert len({r["ext_id"] for r in rows}) == len(rows)
    external = {r["ext_id"] for r in _rows()}
    for number, row in enumerate(rows, start=1):
        # a title (bibliographic, for a rebuild) but never the abstract
        assert set(row) == FIELDS | {"title"}, f"line {number}"
        assert row["ext_id"] not in external, f"line {number}"
        assert row["split"] == bench.cover_split(row["ext_id"]), f"line {number}"
        assert row["url"].startswith(("https://", "http://")), f"line {number}"
        assert row["domain"] in DOMAINS, f"line {number}"
        assert set(row["variables"]) <= set(VARIABLES), f"line {number}"
        assert set(row["responses"]) <= set(RESPONSES), f"line {number}"
        if not row["studies_scaling_law"]:
            assert row["variables"] == row["responses"] == row["exponents"] == [], f"line {number}"


def test_cover_papers_are_not_seed_papers() -> None:
    bench = _bench()
    cover = ROOT / "data" / "eval" / "claims_cover.jsonl"
    rows = [json.loads(line) for line in cover.read_text(encoding="utf-8").splitlines() if line]

    def key(title: str) -> str:
        return "".join(ch for ch in title.lower() if ch.isalnum())

    seeds = {key(p.title) for p in bench.read_seed_papers(bench.DEFAULT_SEEDS).values()}
    assert len(seeds) >= 250
    assert [r["ext_id"] for r in rows if key(r["title"]) in seeds] == []


def test_read_external_needs_texts_only_for_the_splits_asked(tmp_path: Path) -> None:
    # scoring ext-tune needs no ext-test text (and the reverse)
    bench = _bench()
    rows = _rows()
    tune = [r["ext_id"] for r in rows if r["split"] == "ext-tune"]
    got, _ = bench.read_external(EXTERNAL, _texts(tmp_path, tune), only=["ext-tune"])
    assert [r["ext_id"] for r in got] == tune
    with pytest.raises(SystemExit, match="no text for"):
        bench.read_external(EXTERNAL, _texts(tmp_path, tune))
