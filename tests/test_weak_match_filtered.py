"""The "no close match" notice under a filter (kb.match.MatchRule.filtered_weak,
kb.search.SearchResults.filtered): its own threshold, and a notice that names the papers the
filters leave and how many outside them are closer.

The hashing encoder of tests/test_search.py and its five invented papers (three of domain
language, one robotics, one vision), with rule files written for it.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from kb.cli import cli
from kb.index import build_index
from kb.match import DEFAULT_MATCH_RULE, FilteredMatch, MatchRule, match_notice
from kb.search import Searcher, SearchFilters, SearchResults, Tuning
from kb.semantic import SemanticIndex
from kb.store import Store
from tests.test_search import HashEmbedder
from tests.test_weak_match import _store_file

LANGUAGE = SearchFilters(domain="language")  # 3 of the 5 papers; robotics and vision outside
QUERY = "robot grasping demonstrations"  # the robotics paper's words


@pytest.fixture
def indexed(tmp_path: Path) -> tuple[Path, HashEmbedder]:
    path, embedder = _store_file(tmp_path), HashEmbedder()
    with Store(path) as s:
        build_index(s, path, model=embedder)
    return path, embedder


def _search(
    db: Path, embedder: HashEmbedder, tmp_path: Path, query: str, filters: SearchFilters | None,
    depth: int = 2000, **rule: float,
) -> SearchResults:  # fmt: skip
    path = tmp_path / "rule.json"
    MatchRule(encoder=embedder.name, dim=embedder.dim, **rule).save(path)  # type: ignore[arg-type]
    with Store(db, read_only=True) as s:
        tuning = Tuning(match_rule=str(path), semantic_depth=depth)
        return Searcher.open(s, db, model=embedder, tuning=tuning).search(
            query, k=3, filters=filters
        )


def _scores(db: Path, embedder: HashEmbedder, tmp_path: Path) -> dict[str, float]:
    """The query's best sentence cosine over every paper and within each domain."""
    out = {}
    for name, f in (("all", None), ("language", LANGUAGE),
                    ("robotics", SearchFilters(domain="robotics")),
                    ("vision", SearchFilters(domain="vision"))):  # fmt: skip
        score = _search(db, embedder, tmp_path, QUERY, f, threshold=0.0).match_score
        assert score is not None
        out[name] = score
    assert out["all"] == max(out["robotics"], out["vision"], out["language"])
    assert out["robotics"] > out["language"]  # the filter left out the paper the query is about
    return out


# -- the rule ---------------------------------------------------------------------------------
def test_without_a_filtered_threshold_the_rule_is_the_unfiltered_threshold() -> None:
    rule = MatchRule(encoder="m", dim=4, threshold=0.3)
    assert rule.filtered_weak(0.25, 0.5) == 0.3
    assert rule.filtered_weak(0.35, 0.5) is None
    assert rule.filtered_weak(0.25, 0.28) == 0.3
    assert rule.filtered_ceiling == 0.3


def test_a_filtered_threshold_and_gap_decide_filtered_searches() -> None:
    low = MatchRule(encoder="m", dim=4, threshold=0.3, filtered_threshold=0.2)
    assert low.filtered_weak(0.25, 0.5) is None  # the shipped rule's false alarm
    assert low.filtered_weak(0.15, 0.5) == 0.2  # the filter left nothing close
    assert low.filtered_weak(0.25, 0.28) == 0.3  # nothing anywhere is close
    assert low.filtered_ceiling == 0.3
    gap = MatchRule(encoder="m", dim=4, threshold=0.3, filtered_threshold=0.4, filtered_gap=0.1)
    assert gap.filtered_weak(0.35, 0.40) is None  # papers outside are not much closer
    assert gap.filtered_weak(0.35, 0.50) == 0.4
    assert gap.filtered_ceiling == 0.4


def test_an_older_rule_file_without_the_filtered_fields_still_loads(tmp_path: Path) -> None:
    path = tmp_path / "old.json"
    path.write_text(json.dumps({"encoder": "m", "dim": 4, "threshold": 0.3}))
    rule = MatchRule.load(path)
    assert (rule.filtered_threshold, rule.filtered_gap) == (None, None)


def test_the_shipped_rule_has_a_filtered_threshold() -> None:
    rule = MatchRule.load(DEFAULT_MATCH_RULE)
    assert rule.filtered_threshold is not None
    assert 0.1 < rule.filtered_threshold < 0.6
    assert "filtered_threshold" in rule.chosen_by


def test_the_unfiltered_notice_keeps_its_words() -> None:
    assert match_notice(weak_match=True, not_english=False, score=0.2, threshold=0.31) == (
        "No close match: the best sentence in the knowledge base is only 0.20 similar to the "
        "query (below 0.31); these are the nearest papers, which may not be about it."
    )


@pytest.mark.parametrize(
    ("closer", "exact", "words"),
    [
        (0, True, "no paper outside the filters is closer."),
        (1, True, "1 paper outside the filters is closer (best 0.50)."),
        (7, True, "7 papers outside the filters are closer (best 0.50)."),
        (7, False, "at least 7 papers outside the filters are closer (best 0.50)."),
    ],
)
def test_the_filtered_notice_counts_the_closer_papers(closer: int, exact: bool, words: str) -> None:
    filtered = FilteredMatch(n_papers=1, overall_score=0.5, closer_outside=closer, exact=exact)
    notice = match_notice(
        weak_match=True, not_english=False, score=0.2, threshold=0.31, filtered=filtered
    )
    assert notice is not None
    assert notice.startswith(
        "No close match among the 1 paper the filters leave: the best sentence is only 0.20 "
        "similar to the query (below 0.31); "
    )
    assert words in notice


# -- searches ---------------------------------------------------------------------------------
def test_the_filtered_notice_is_true(indexed: tuple[Path, HashEmbedder], tmp_path: Path) -> None:
    db, embedder = indexed
    s = _scores(db, embedder, tmp_path)
    closer = sum(s[d] > s["language"] for d in ("robotics", "vision"))  # one paper each
    # t below every score: only the filtered threshold can fire
    result = _search(db, embedder, tmp_path, QUERY, LANGUAGE, threshold=-1.0,
                     filtered_threshold=s["language"] + 0.01)  # fmt: skip
    assert result.weak_match is True
    assert result.filtered == FilteredMatch(
        n_papers=3, overall_score=s["all"], closer_outside=closer, exact=True
    )
    assert result.notice is not None
    assert result.notice.startswith(
        f"No close match among the 3 papers the filters leave: the best sentence is only "
        f"{s['language']:.2f} similar to the query (below {s['language'] + 0.01:.2f}); "
        f"{closer} paper"
    )
    assert f"outside the filters {'is' if closer == 1 else 'are'} closer (best {s['all']:.2f})" in (
        result.notice
    )
    fields = result.match_fields()
    assert fields["filter_papers"] == 3
    assert fields["closer_outside"] == closer
    assert fields["closer_outside_exact"] is True
    assert fields["overall_match_score"] == round(s["all"], 4)
    unfiltered = _search(db, embedder, tmp_path, QUERY, None, threshold=s["all"] + 0.01)
    assert set(unfiltered.match_fields()) == {"weak_match", "match_score", "not_english", "notice"}
    assert unfiltered.filtered is None


def test_a_filtered_search_with_a_close_paper_outside_is_not_flagged_below_t(
    indexed: tuple[Path, HashEmbedder], tmp_path: Path
) -> None:
    """The false alarm: the filtered score is under the unfiltered threshold t, but above the
    filtered threshold, and the whole knowledge base holds something close."""
    db, embedder = indexed
    s = _scores(db, embedder, tmp_path)
    t = (s["language"] + s["all"]) / 2
    before = _search(db, embedder, tmp_path, QUERY, LANGUAGE, threshold=t)
    assert before.weak_match is True  # the rule before: t on the filtered score
    after = _search(db, embedder, tmp_path, QUERY, LANGUAGE, threshold=t,
                    filtered_threshold=s["language"] - 0.01)  # fmt: skip
    assert after.weak_match is False
    assert after.notice is None
    assert after.filtered is not None  # measured, as the score could have been weak


def test_nothing_close_anywhere_is_flagged_under_any_filtered_threshold(
    indexed: tuple[Path, HashEmbedder], tmp_path: Path
) -> None:
    db, embedder = indexed
    s = _scores(db, embedder, tmp_path)
    result = _search(db, embedder, tmp_path, QUERY, LANGUAGE, threshold=s["all"] + 0.01,
                     filtered_threshold=-1.0)  # fmt: skip
    assert result.weak_match is True
    assert result.notice is not None
    assert f"(below {s['all'] + 0.01:.2f})" in result.notice  # the threshold that fired


def test_a_high_filtered_score_skips_the_second_index_search(
    indexed: tuple[Path, HashEmbedder], tmp_path: Path
) -> None:
    db, embedder = indexed
    result = _search(db, embedder, tmp_path, QUERY, LANGUAGE, threshold=-1.0)
    assert result.weak_match is False
    assert result.filtered is None


def test_an_approximate_index_counts_from_its_top_rows(
    indexed: tuple[Path, HashEmbedder], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """HNSW and IVF indexes get no range search: the count comes from the usual top rows, the
    same as the range search's when those reach every row, a lower bound when they stop short."""
    db, embedder = indexed
    s = _scores(db, embedder, tmp_path)
    rule = {"threshold": -1.0, "filtered_threshold": s["language"] + 0.01}
    ranged = _search(db, embedder, tmp_path, QUERY, LANGUAGE, **rule)
    monkeypatch.setattr(SemanticIndex, "above", lambda self, qvec, radius: None)
    deep = _search(db, embedder, tmp_path, QUERY, LANGUAGE, **rule)
    assert deep.filtered is not None
    assert deep.filtered == ranged.filtered
    # One row fetched: the robotics paper's best; the count cannot see past it.
    shallow = _search(db, embedder, tmp_path, QUERY, LANGUAGE, depth=1, **rule)
    assert shallow.filtered is not None
    assert shallow.filtered.exact is False
    assert shallow.filtered.closer_outside == 1
    assert shallow.notice is not None
    assert "at least 1 paper outside the filters is closer" in shallow.notice


@pytest.mark.slow
def test_cli_names_the_filtered_papers_and_the_closer_ones(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The real model and the shipped rule: the robotics query under --domain language."""
    monkeypatch.delenv("KB_WEAK_MATCH", raising=False)
    db = _store_file(tmp_path)
    runner = CliRunner()
    assert runner.invoke(cli, ["-q", "index", "--db", str(db)]).exit_code == 0
    args = ["search", "robots grasping objects after many demonstrations", "--db", str(db)]
    plain = runner.invoke(cli, [*args, "--domain", "language"])
    assert plain.exit_code == 0, plain.output
    assert plain.stderr.splitlines()[0].startswith(
        "Note: No close match among the 3 papers the filters leave: the best sentence is only "
    )
    assert "1 paper outside the filters is closer" in plain.stderr  # the robotics paper
    rows = [json.loads(x) for x in runner.invoke(cli, [*args, "--domain", "language", "--json"])
            .stdout.splitlines() if x.startswith("{")]  # fmt: skip
    assert rows
    assert rows[0]["weak_match"] is True
    assert (rows[0]["filter_papers"], rows[0]["closer_outside"]) == (3, 1)
    assert rows[0]["overall_match_score"] > rows[0]["match_score"]
    unfiltered = runner.invoke(cli, [*args, "--json"])
    row = json.loads(unfiltered.stdout.splitlines()[0])
    assert row["notice"] is None
    assert "filter_papers" not in row
