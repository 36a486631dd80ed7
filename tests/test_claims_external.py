"""The external claims sample (labels only) and the ``claims-rules-4`` pattern families.

``data/eval/claims_external.jsonl`` labels abstracts from outside the seed corpus; their texts
are not in the repository, so these tests check the labels and the benchmark's reader on a small
fixture of our own sentences. The pattern tests use sentences written from the labelling guide.
"""

from __future__ import annotations

import hashlib
import importlib
import json
import sys
from pathlib import Path
from typing import Any

import pytest

from ingest.claims import EXTRACTOR_VERSION, explain, extract, extract_store
from ingest.claims import lexicon as lx
from kb.records import DOMAINS, RESPONSES, VARIABLES, Claim, Paper
from kb.store import Store

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


def paper(abstract: str, title: str = "A Study") -> Paper:
    return Paper(paper_id="t:external", title=title, abstract=abstract)


def variables_of(abstract: str, title: str = "A Study") -> set[str]:
    return {v for c in extract(paper(abstract, title)).claims for v in c.variables}


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


def test_read_external_names_a_broken_text_line(tmp_path: Path) -> None:
    bench = _bench()
    path = tmp_path / "texts.jsonl"
    path.write_text('{"ext_id": "e001", "title": "T"}\n', encoding="utf-8")
    with pytest.raises(SystemExit, match=r"texts.jsonl, line 1: expected a JSON object"):
        bench.read_external(EXTERNAL, path)


# -- claims-rules-4 pattern families ---------------------------------------------------------
def test_version_is_claims_rules_4() -> None:
    assert EXTRACTOR_VERSION == "claims-rules-4"


@pytest.mark.parametrize(
    "abstract",
    [
        # biology's allometric scaling is another field's power law (the guide: outside ML)
        "Metabolic rate follows a power law in body mass across 300 species, with an exponent "
        "of 0.75. We compare published allometric exponents.",
        # a belief the paper questions is not its finding
        "We challenge the assumption that more training data always improves performance.",
    ],
)
def test_new_negatives(abstract: str) -> None:
    result = extract(paper(abstract))
    assert not result.studies_scaling_law
    assert result.claims == []
    assert result.exponents == []


def test_title_fallback_skips_sentences_citing_others() -> None:
    cited = (
        "Pruning can beat the power law in data size, as Smith et al. showed. We propose a new "
        "curation method and evaluate it on image classification."
    )
    title = "Data Curation and Neural Scaling Laws"
    assert not extract(paper(cited, title)).studies_scaling_law
    own = "Pruning beats the power law in data size. We evaluate it on image classification."
    assert extract(paper(own, title)).studies_scaling_law


@pytest.mark.parametrize(
    ("sentence", "cue", "variables"),
    [
        ("We study how model size and training data affect translation quality.",
         "how_affects", {"model_size", "data_size"}),
        ("Scaling inference compute consistently improves accuracy on math problems.",
         "trend", {"inference_compute"}),
        ("We measure memorization and its relation to model size.", "function_of",
         {"model_size"}),
        ("We call an ability emergent if it appears only in larger models.", "emergence",
         {"model_size"}),
    ],
)  # fmt: skip
def test_new_weak_relation_cues(sentence: str, cue: str, variables: set[str]) -> None:
    (reading,) = explain(paper(sentence))
    assert cue in reading.relations
    assert reading.is_claim
    assert set(reading.variables) == variables


@pytest.mark.parametrize(
    "sentence",
    [
        # a weak cue needs a scale quantity
        "We study how the prompt format affects the answers.",
        # emergence only defined or cited, not in the paper's own voice
        "Emergent abilities are often described as absent in smaller models.",
        # "the ability to scale with" is a boast, not a trend
        "Our system can easily scale with more users.",
    ],
)
def test_new_cues_hold_back(sentence: str) -> None:
    (reading,) = explain(paper(sentence))
    assert not reading.is_claim


@pytest.mark.parametrize(
    ("sentence", "variable"),
    [
        ("We find accuracy follows a power law in the number of classes.", "other"),
        ("We find loss follows a power law in vocabulary size.", "other"),
        ("We find loss follows a power law in the amount of available data.", "data_size"),
        ("We find loss follows a power law in the token budget.", "data_size"),
        ("We find memorization follows a power law in the capacity of a model.", "model_size"),
    ],
)
def test_new_synonyms(sentence: str, variable: str) -> None:
    (reading,) = explain(paper(sentence))
    assert reading.is_claim
    assert variable in reading.variables


@pytest.mark.parametrize(
    ("sentence", "absent"),
    [
        ("We find loss follows a power law in model size across many data modalities.",
         "data_size"),
        ("We derive a power law in data size with no free parameters.", "model_size"),
        # samples drawn at inference are test-time compute, not training data
        ("We find coverage follows a power law in the number of samples drawn at inference.",
         "data_size"),
    ],
)  # fmt: skip
def test_new_look_alikes(sentence: str, absent: str) -> None:
    (reading,) = explain(paper(sentence))
    assert reading.is_claim
    assert absent not in reading.variables


def test_training_samples_beside_inference_samples_stay_data() -> None:
    sentence = (
        "We find loss follows a power law in the number of training samples and in the number "
        "of generated samples."
    )
    (reading,) = explain(paper(sentence))
    assert {"data_size", "inference_compute"} <= set(reading.variables)


@pytest.mark.parametrize(
    ("support", "variable"),
    [
        ("Our findings unveil that the batch size matters.", "batch_size"),
        ("Our compute-optimal analysis indicates that depth matters.", "depth"),
        ("We ran sweeps, finding that the training steps matter most.", "training_steps"),
    ],
)
def test_new_finding_phrases(support: str, variable: str) -> None:
    text = f"We find that test loss follows a power law in model size. {support}"
    assert "finding" in explain(paper(text))[1].support
    assert variable in variables_of(text)


def test_gap_statement_is_background() -> None:
    (reading,) = explain(
        paper("Scaling laws of vision transformers in data size are less explored.")
    )
    assert reading.background
    assert not reading.is_claim


def test_citation_pattern() -> None:
    assert lx.CITATION.search("as shown before (Smith et al., 2022)")
    assert lx.CITATION.search("as shown before (Guo and Bai, 2022)")
    assert not lx.CITATION.search("models from 2022 to 2024 (about 300)")


def test_extract_store_restamps_old_rows() -> None:
    store = Store(":memory:")
    old = Paper(
        paper_id="t:old",
        title="A Study",
        abstract="We find that test loss follows a power law in model size.",
        studies_scaling_law=True,
        domain="other",
        extractor_version="claims-rules-3",
    )
    store.upsert([old])
    extract_store(store)
    again = store.get(Paper, "t:old")
    assert again is not None
    assert again.extractor_version == EXTRACTOR_VERSION
    assert {c.extractor_version for c in store.select(Claim)} == {EXTRACTOR_VERSION}
