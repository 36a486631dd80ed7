"""Term translation (kb.translation): the table file, TermTranslation.translate(), the
``kw_translation`` column of the learned fusion, and the IBM Model 1 fitter of
benchmarks/fit_term_translation.py."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import numpy as np
import pytest

from benchmarks.fit_term_translation import NULL, fit_model1
from kb.errors import BadInputError
from kb.keyword import tokenize
from kb.ranking import FEATURES, TRANSLATION_FEATURES
from kb.search import LEARNED_WEIGHTS, Searcher, Tuning
from kb.store import Store
from kb.translation import DEFAULT_TRANSLATION, TermTranslation, TranslationMeta
from kb.vocabulary import expand_query
from tests.test_search import PAPERS, HashEmbedder
from tests.test_search_ranking import indexed  # noqa: F401  (pytest fixture)

META = TranslationMeta(method="test", trained_on="test", top_k=5, floor=0.01, min_queries=2)


def _table(tmp_path: Path, table: dict[str, dict[str, float]]) -> Path:
    path = tmp_path / "translation.json"
    TermTranslation(meta=META, table=table).save(path)
    return path


# -- the file ----------------------------------------------------------------------------------
def test_round_trip_and_shipped_table_loads(tmp_path: Path) -> None:
    path = _table(tmp_path, {"robot": {"grasp": 0.4, "demonstr": 0.2}})
    loaded = TermTranslation.load(path)
    assert loaded.table == {"robot": {"grasp": 0.4, "demonstr": 0.2}}
    shipped = TermTranslation.load(DEFAULT_TRANSLATION)
    assert shipped.table
    assert shipped.meta.min_queries >= 2
    assert all(0 < p <= 1 for targets in shipped.table.values() for p in targets.values())
    assert all(len(t) <= shipped.meta.top_k for t in shipped.table.values())


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("not json", "not a term translation table"),
        (json.dumps({"table": {}}), "meta"),
        (json.dumps({"meta": META.model_dump(), "table": {"a": {"b": 2.0}}}), "expected (0, 1]"),
        (json.dumps({"meta": META.model_dump(), "table": {"a": {"a": 0.5}}}), "to itself"),
        (json.dumps({"meta": META.model_dump(), "table": {"a": {"b": "x"}}}), "table.a.b"),
    ],
)
def test_bad_files_name_the_file_and_the_problem(
    tmp_path: Path, content: str, message: str
) -> None:
    path = tmp_path / "bad.json"
    path.write_text(content, encoding="utf-8")
    with pytest.raises(BadInputError, match=r"bad\.json") as err:
        TermTranslation.load(path)
    assert message in str(err.value)


def test_missing_file_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(BadInputError, match=r"missing\.json: term translation table not found"):
        TermTranslation.load(tmp_path / "missing.json")


# -- translate ---------------------------------------------------------------------------------
def test_translate_sums_over_tokens_and_excludes_the_query_s_own_tokens(tmp_path: Path) -> None:
    path = _table(
        tmp_path,
        {"listen": {"speech": 0.3, "audio": 0.2, "bigger": 0.1}, "bigger": {"speech": 0.1}},
    )
    out = TermTranslation.load(path).translate("a bigger listening machine")
    assert out == {"speech": pytest.approx(0.4), "audio": pytest.approx(0.2)}
    assert not set(out) & set(tokenize("a bigger listening machine"))
    assert TermTranslation.load(path).translate("unrelated words only") == {}


def test_translate_leaves_out_the_scaling_vocabulary_expansion(tmp_path: Path) -> None:
    query = "bigger models"
    implied = tokenize(" ".join(expand_query(query)))
    assert implied, "the vocabulary expands this query"
    path = _table(tmp_path, {tokenize("bigger")[0]: {implied[0]: 0.5, "zebra": 0.2}})
    assert TermTranslation.load(path).translate(query) == {"zebra": pytest.approx(0.2)}


# -- the learned-fusion column -----------------------------------------------------------------
def test_column_is_last_and_weighted_when_shipped() -> None:
    assert FEATURES[-1] == "kw_translation"
    assert TRANSLATION_FEATURES == ("kw_translation",)
    assert len(LEARNED_WEIGHTS) == len(FEATURES)
    assert LEARNED_WEIGHTS[-1] > 0  # round 9: cleared its ship rule (LOQO and 2-fold +0.005)


def _searcher(s: Store, db: Path, embedder: HashEmbedder, **tuning: object) -> Searcher:
    return Searcher.open(s, db, model=embedder, tuning=dataclasses.replace(Tuning(), **tuning))  # type: ignore[arg-type]


def test_column_is_bm25_of_the_translation_and_zero_when_unweighted(
    indexed: tuple[Path, HashEmbedder],  # noqa: F811
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    path, embedder = indexed
    table = _table(tmp_path, {"hand": {"grasp": 0.5}})  # "hand" appears in no paper
    col = FEATURES.index("kw_translation")
    with Store(path, read_only=True) as s:
        sr = _searcher(s, path, embedder, term_translation=str(table))
        robot = [p.paper_id for p in sr.papers].index(PAPERS[1].paper_id)
        m = sr.features("a robotic hand")
        assert m[robot, col] == pytest.approx(1.0)  # only the grasping paper says "grasp"
        assert np.count_nonzero(m[:, col]) == 1
        # the learned fusion computes it only when it has a weight
        calls: list[str] = []
        monkeypatch.setattr(
            TermTranslation, "translate", lambda self, q: calls.append(q) or {"grasp": 1.0}
        )
        weights = tuple(0.0 if f == "kw_translation" else 1.0 for f in FEATURES)
        unweighted = _searcher(s, path, embedder, term_translation=str(table), weights=weights)
        assert unweighted.search("a robotic hand")
        assert calls == []
        only = tuple(1.0 if f == "kw_translation" else 0.0 for f in FEATURES)
        hits = _searcher(s, path, embedder, term_translation=str(table), weights=only).search(
            "a robotic hand", k=1
        )
        assert calls == ["a robotic hand"]
        assert hits[0].paper_id == PAPERS[1].paper_id


def test_gated_column_is_scaled_by_p_paraphrase(
    indexed: tuple[Path, HashEmbedder],  # noqa: F811
    tmp_path: Path,
) -> None:
    path, embedder = indexed  # the shipped classifier does not fit the hashing encoder: 1/3
    table = _table(tmp_path, {"hand": {"grasp": 0.5}})
    col = FEATURES.index("kw_translation")
    with Store(path, read_only=True) as s:
        plain = _searcher(s, path, embedder, term_translation=str(table)).features("a hand")
        gated = _searcher(
            s, path, embedder, term_translation=str(table), translation_gated=True
        ).features("a hand")
    np.testing.assert_allclose(gated[:, col], plain[:, col] / 3, rtol=1e-5)


# -- the fitter --------------------------------------------------------------------------------
def test_model1_learns_a_planted_association() -> None:
    """'listening' always comes with 'speech' abstracts; background words are everywhere."""
    background = ["model", "scale", "train", "result"]
    pairs = []
    for i in range(12):
        filler = [f"topic{i}"] * 2
        if i % 2 == 0:
            pairs.append((["listen", f"q{i}"], [*background, "speech", "acoust", *filler]))
        else:
            pairs.append((["pictur", f"q{i}"], [*background, "imag", "pixel", *filler]))
    model = fit_model1(pairs, iters=15)
    assert model.sources[0] == NULL
    table = model.table(k=3, floor=0.01, min_queries=2)
    assert set(table) == {"listen", "pictur"}  # the q{i} terms are in one query each
    assert set(table["listen"]) >= {"speech", "acoust"}
    assert set(table["pictur"]) >= {"imag", "pixel"}
    assert "imag" not in table["listen"]
    # the null word takes the background words over the specific ones
    null = model.t[0]
    assert null[model.targets.index("model")] > null[model.targets.index("speech")]
    np.testing.assert_allclose(model.t.sum(axis=1), 1.0)
