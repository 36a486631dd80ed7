"""The search query sets in data/eval: well-formed, judged against real seed papers, and the
held-out set independent of the development set the ranker is tuned on."""

from __future__ import annotations

import json
import re
from collections import Counter
from pathlib import Path
from typing import Any, Literal

import pytest
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)

EVAL = Path(__file__).resolve().parent.parent / "data" / "eval"
DEV = EVAL / "search_dev.jsonl"
HELDOUT = EVAL / "search_heldout.jsonl"
PAPER_ID = re.compile(r"^t:[0-9a-f]{16}$")


class SearchQuery(BaseModel):
    """One line of a search query set (see data/eval/README.md)."""

    model_config = ConfigDict(extra="forbid")

    qid: str
    kind: Literal["exact", "paraphrase", "conceptual"]
    query: str = Field(min_length=3)
    relevant: dict[str, Literal[1, 2]] = Field(min_length=1)
    # Papers judged and found not relevant (grade 0), from pooling (benchmarks/pool_search.py).
    not_relevant: list[str] = Field(default_factory=list)

    @field_validator("relevant", "not_relevant")
    @classmethod
    def _ids_look_like_paper_ids(cls, value: Any) -> Any:
        bad = [pid for pid in value if not PAPER_ID.match(pid)]
        if bad:
            raise ValueError(f"not paper ids (expected 't:' + 16 hex digits): {bad}")
        return value

    @model_validator(mode="after")
    def _graded_once(self) -> SearchQuery:
        both = sorted(set(self.relevant) & set(self.not_relevant))
        if both or len(set(self.not_relevant)) != len(self.not_relevant):
            raise ValueError(f"a paper is graded twice: {both or self.not_relevant}")
        return self


def load(path: Path) -> list[SearchQuery]:
    """Every query of ``path``; a bad line fails naming the file and line."""
    out = []
    for n, line in enumerate(path.read_text("utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        try:
            out.append(SearchQuery.model_validate(json.loads(line)))
        except (ValueError, ValidationError) as exc:
            pytest.fail(f"{path.name} line {n}: {exc}")
    return out


def words(text: str) -> set[str]:
    return set(re.findall(r"[a-z0-9]+", text.lower()))


@pytest.mark.parametrize("path", [DEV, HELDOUT], ids=["dev", "heldout"])
def test_query_file_is_well_formed(path: Path) -> None:
    queries = load(path)
    qids = [q.qid for q in queries]
    assert len(set(qids)) == len(qids), "qids repeat"
    prefix = "q" if path == DEV else "h"
    assert qids == [f"{prefix}{i:02d}" for i in range(1, len(qids) + 1)]
    assert len({q.query.lower() for q in queries}) == len(queries), "a query repeats"
    assert {q.kind for q in queries} == {"exact", "paraphrase", "conceptual"}
    for q in queries:
        assert 2 in q.relevant.values(), f"{q.qid} has no paper graded 2"


def test_heldout_has_eight_queries_of_each_kind() -> None:
    kinds = Counter(q.kind for q in load(HELDOUT))
    assert kinds == {"exact": 8, "paraphrase": 8, "conceptual": 8}


def test_heldout_queries_are_not_dev_queries_reworded() -> None:
    """No held-out query shares most of its words with a dev query (Jaccard below 0.5)."""
    dev = load(DEV)
    for h in load(HELDOUT):
        hw = words(h.query)
        for d in dev:
            dw = words(d.query)
            overlap = len(hw & dw) / len(hw | dw)
            assert overlap < 0.5, f"{h.qid} {h.query!r} is close to {d.qid} {d.query!r}"


@pytest.mark.parametrize("path", [DEV, HELDOUT], ids=["dev", "heldout"])
def test_every_judged_paper_is_in_the_seed_corpus(path: Path, shared: Path) -> None:
    """Paper ids resolve against the seed listings read with the real parser."""
    from benchmarks.bench_claims import read_seed_papers

    seeds = read_seed_papers(shared / "seeds")
    for q in load(path):
        missing = sorted((set(q.relevant) | set(q.not_relevant)) - set(seeds))
        assert not missing, f"{path.name} {q.qid}: ids not in the seed corpus: {missing}"


def _queries() -> list[dict[str, Any]]:
    return [{"qid": "q01", "kind": "exact", "query": "inverse scaling", "relevant": {"t:a": 2}}]


def test_pool_merge_folds_grades_into_relevant_and_not_relevant() -> None:
    from benchmarks.pool_search import merge

    queries = _queries()
    grades = [
        {"qid": "q01", "paper_id": "t:c", "grade": 0},
        {"qid": "q01", "paper_id": "t:b", "grade": 1},
        {"qid": "q01", "paper_id": "t:0", "grade": 0},
    ]
    assert merge(queries, grades, "g.jsonl") == 3
    assert queries[0]["relevant"] == {"t:a": 2, "t:b": 1}
    assert queries[0]["not_relevant"] == ["t:0", "t:c"]


@pytest.mark.parametrize(
    ("grade", "message"),
    [
        ({"qid": "q99", "paper_id": "t:b", "grade": 1}, "unknown qid"),
        ({"qid": "q01", "paper_id": "t:b", "grade": 3}, "expected grade 0, 1 or 2"),
        ({"qid": "q01", "paper_id": "b", "grade": 1}, "expected a paper id"),
        ({"qid": "q01", "paper_id": "t:a", "grade": 0}, "graded already"),
    ],
)
def test_pool_merge_rejects_bad_grades_naming_the_line(grade: dict[str, Any], message: str) -> None:
    from benchmarks.pool_search import merge

    with pytest.raises(SystemExit, match=rf"g.jsonl grade 1: .*{message}"):
        merge(_queries(), [grade], "g.jsonl")


def test_pool_merge_rejects_a_paper_graded_twice() -> None:
    from benchmarks.pool_search import merge

    twice = [{"qid": "q01", "paper_id": "t:b", "grade": 1}] * 2
    with pytest.raises(SystemExit, match=r"grade 2: .*graded already"):
        merge(_queries(), twice, "g.jsonl")
