"""The query-kind classifier (kb.query_kind) and its training file data/eval/query_kinds.jsonl."""

from __future__ import annotations

import json
import re
from collections import Counter
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from kb.errors import BadInputError
from kb.query_kind import DEFAULT_MODEL, KINDS, LEXICAL, QueryKindModel, lexical_features

EVAL = Path(__file__).resolve().parent.parent / "data" / "eval"
TRAIN = EVAL / "query_kinds.jsonl"


def _words(text: str) -> set[str]:
    return set(re.findall(r"[a-z0-9]+", text.lower()))


def _rows(path: Path) -> list[dict[str, str]]:
    return [json.loads(line) for line in path.read_text("utf-8").splitlines() if line.strip()]


def test_training_file_has_80_queries_of_each_kind_with_unique_ids() -> None:
    """240 written, k041 left out (it shares 3 of 5 words with a held-out query)."""
    rows = _rows(TRAIN)
    assert all(set(r) == {"id", "kind", "query"} for r in rows)
    assert Counter(r["kind"] for r in rows) == {"exact": 79, "paraphrase": 80, "conceptual": 80}
    assert [r["id"] for r in rows] == [f"k{i:03d}" for i in range(1, 241) if i != 41]


def test_training_queries_do_not_reword_search_queries() -> None:
    """Jaccard word overlap below 0.5 with every dev and held-out search query."""
    search = [q["query"] for f in ("search_dev.jsonl", "search_heldout.jsonl")
              for q in _rows(EVAL / f)]  # fmt: skip
    for r in _rows(TRAIN):
        mine = _words(r["query"])
        for other in search:
            theirs = _words(other)
            overlap = len(mine & theirs) / len(mine | theirs)
            assert overlap < 0.5, f"{r['id']} {r['query']!r} is close to {other!r}"


def test_lexical_features_of_typical_queries() -> None:
    q = lexical_features("Does the MoE routing loss depend on model size?")
    assert set(q) == set(LEXICAL)
    assert q["question"] == q["question_mark"] == q["acronym"] == 1.0
    assert q["variables"] > 0
    assert q["scaling"] == 1.0
    e = lexical_features("broken neural scaling law")
    assert e["question"] == e["acronym"] == e["stop_share"] == 0.0
    assert e["n_words"] == pytest.approx(4 / 20)
    f = lexical_features("find papers on 4-bit weights")
    assert f["imperative"] == f["digit"] == f["hyphen"] == 1.0


@given(st.text(max_size=200))
@settings(max_examples=200, deadline=None)
def test_lexical_features_stay_in_unit_range(text: str) -> None:
    assert all(0.0 <= v <= 1.0 for v in lexical_features(text).values())


def _toy(dim: int = 4) -> QueryKindModel:
    width = len(LEXICAL) + dim
    rng = np.random.default_rng(0)
    return QueryKindModel(
        kinds=KINDS, lexical=LEXICAL, encoder="toy", embedding_dim=dim,
        mean=(0.0,) * width, scale=(1.0,) * width,
        coef=tuple(tuple(float(v) for v in rng.normal(size=width)) for _ in KINDS),
        intercept=(0.0, 0.0, 0.0), trained_on="test",
    )  # fmt: skip


def test_predict_is_a_softmax_of_the_linear_scores() -> None:
    model = _toy()
    vec = np.array([3.0, 0.0, 4.0, 0.0], dtype=np.float32)
    p = model.predict("how do bigger networks behave", vec)
    x = model.columns("how do bigger networks behave", vec)
    assert np.allclose(x[-4:], [0.6, 0.0, 0.8, 0.0])  # the embedding is L2-normalised
    logits = np.array(model.coef) @ x
    expected = np.exp(logits) / np.exp(logits).sum()
    assert [p[k] for k in KINDS] == pytest.approx(list(expected))


def test_predict_needs_an_embedding_of_the_model_dimension() -> None:
    with pytest.raises(BadInputError, match="needs a 4-d query embedding, got None"):
        _toy().predict("scaling laws")
    with pytest.raises(BadInputError, match=r"got \(3,\)"):
        _toy().predict("scaling laws", np.ones(3, dtype=np.float32))


def test_model_shapes_are_validated() -> None:
    good = _toy().model_dump()
    with pytest.raises(ValueError, match="coef needs 3 rows"):
        QueryKindModel.model_validate({**good, "coef": good["coef"][:2]})
    with pytest.raises(ValueError, match="unknown lexical features"):
        QueryKindModel.model_validate({**good, "lexical": ("n_words", "nope", *LEXICAL[2:])})


def test_load_names_the_file_when_it_is_bad(tmp_path: Path) -> None:
    with pytest.raises(BadInputError, match="query-kind model not found"):
        QueryKindModel.load(tmp_path / "missing.json")
    bad = tmp_path / "bad.json"
    bad.write_text("{", "utf-8")
    with pytest.raises(BadInputError, match=f"{bad}: not a query-kind model"):
        QueryKindModel.load(bad)


def test_shipped_model_loads_and_predicts_probabilities() -> None:
    model = QueryKindModel.load(DEFAULT_MODEL)
    assert "query_kinds.jsonl" in model.trained_on
    vec = np.random.default_rng(1).normal(size=model.embedding_dim).astype(np.float32)
    p = model.predict("what happens when you give a chatbot more books to read", vec)
    assert set(p) == set(KINDS)
    assert sum(p.values()) == pytest.approx(1.0)
