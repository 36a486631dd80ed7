"""Pooled relevance judgments for the search query sets (TREC-style pooling).

A query set graded by reading the corpus leaves papers unjudged; a ranker that puts an
unjudged but relevant paper in its top 10 is scored as if it were wrong. Pooling closes that
gap: every paper that any evaluated ranking (keyword, semantic, fused) puts in its top k is
judged, blind to which ranking found it, and the grades are folded back into the query file.

    # 1. the unjudged pool: one JSON line per query (qid, kind, query, judged, to_judge)
    PYTHONPATH=. HF_HUB_OFFLINE=1 python benchmarks/pool_search.py pool \
        data/eval/search_dev.jsonl --out /tmp/pool_dev.jsonl [--db PATH] [--k 10]
    # 2. a judge writes one line per candidate: {"qid": ..., "paper_id": ..., "grade": 0|1|2}
    # 3. fold the grades in: 1 and 2 join `relevant`, 0 joins `not_relevant`
    python benchmarks/pool_search.py merge data/eval/search_dev.jsonl /tmp/grades.jsonl
    # coverage: the share of each ranking's top k that is judged
    PYTHONPATH=. HF_HUB_OFFLINE=1 python benchmarks/pool_search.py coverage \
        data/eval/search_dev.jsonl

``to_judge`` lists candidates in paper-id order, so the judge cannot tell which ranking found
which paper. The store is the one ``bench_search.py`` builds (``--db``).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks._jsonl import read_jsonl, write_jsonl  # noqa: E402

MODES = ("keyword", "semantic", "fused")
DEFAULT_DB = Path("/tmp/kb_bench_search_ingested.duckdb")


def judged(query: dict[str, Any]) -> set[str]:
    """Paper ids with a grade for ``query`` (relevant or judged not relevant)."""
    return set(query["relevant"]) | set(query.get("not_relevant", []))


def merge(queries: list[dict[str, Any]], grades: list[dict[str, Any]], source: str) -> int:
    """Fold ``grades`` into ``queries`` in place; the number of grades added.

    Raises SystemExit naming the grade line for an unknown qid, a bad grade, a paper graded
    twice, or a paper the query file already grades.
    """
    by_qid = {q["qid"]: q for q in queries}
    seen: set[tuple[str, str]] = set()
    for n, g in enumerate(grades, start=1):
        where = f"{source} grade {n}"
        q = by_qid.get(g.get("qid", ""))
        if q is None:
            raise SystemExit(f"{where}: unknown qid {g.get('qid')!r}")
        pid, grade = g.get("paper_id"), g.get("grade")
        if not isinstance(pid, str) or not pid.startswith("t:"):
            raise SystemExit(f"{where}: expected a paper id 't:...', got {pid!r}")
        if grade not in (0, 1, 2):
            raise SystemExit(f"{where}: expected grade 0, 1 or 2, got {grade!r}")
        if (q["qid"], pid) in seen or pid in judged(q):
            raise SystemExit(f"{where}: {q['qid']} {pid} is graded already")
        seen.add((q["qid"], pid))
        if grade:
            q["relevant"][pid] = grade
        else:
            q.setdefault("not_relevant", []).append(pid)
    for q in queries:
        if "not_relevant" in q:
            q["not_relevant"] = sorted(q["not_relevant"])
    return len(seen)


def _searchers(db: Path, adapters: list[str] | None) -> list[Any]:
    """One searcher per query-adapter setting (None: the shipped setting only)."""
    import dataclasses

    from benchmarks.bench_search import ensure_store
    from kb.search import Searcher, Tuning

    store = ensure_store(db)
    if adapters is None:
        return [Searcher.open(store, str(db))]
    tunings = [dataclasses.replace(Tuning(), query_adapter=a) for a in adapters]
    return [Searcher.open(store, str(db), tuning=t) for t in tunings]


def _pooled_tops(searchers: list[Any], query: str, k: int) -> dict[str, list[str]]:
    """The top ``k`` of every ranking of every searcher, keyed "<mode>" or "<mode>@<n>"."""
    out: dict[str, list[str]] = {}
    for n, searcher in enumerate(searchers):
        for mode, ids in _tops(searcher, query, k).items():
            out[mode if n == 0 else f"{mode}@{n}"] = ids
    return out


def _tops(searcher: Any, query: str, k: int) -> dict[str, list[str]]:
    return {m: [h.paper_id for h in searcher.search(query, k=k, mode=m)] for m in MODES}


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    sub = parser.add_subparsers(dest="cmd", required=True)
    p_pool = sub.add_parser("pool", help="write the unjudged top-k pool of a query file")
    p_pool.add_argument("queries", type=Path)
    p_pool.add_argument("--out", type=Path, required=True)
    p_merge = sub.add_parser("merge", help="fold a judge's grades into a query file")
    p_merge.add_argument("queries", type=Path)
    p_merge.add_argument("grades", type=Path, nargs="+")
    p_cov = sub.add_parser("coverage", help="share of each ranking's top k that is judged")
    p_cov.add_argument("queries", type=Path)
    for p in (p_pool, p_cov):
        p.add_argument("--db", type=Path, default=DEFAULT_DB)
        p.add_argument("--k", type=int, default=10)
        p.add_argument(
            "--query-adapter", action="append", default=None, metavar="PATH",
            help="pool (or cover) the rankings with this query adapter ('' for none); "
            "repeat to pool several settings (default: the shipped setting)",
        )  # fmt: skip
    args = parser.parse_args()

    queries = read_jsonl(args.queries)
    if args.cmd == "merge":
        added = sum(merge(queries, read_jsonl(g), str(g)) for g in args.grades)
        write_jsonl(args.queries, queries)
        print(f"{args.queries}: {added} grades folded in")
        return
    searchers = _searchers(args.db, args.query_adapter)
    if args.cmd == "pool":
        rows, total = [], 0
        for q in queries:
            tops = _pooled_tops(searchers, q["query"], args.k)
            todo = sorted(set().union(*tops.values()) - judged(q))
            total += len(todo)
            rows.append({"qid": q["qid"], "kind": q["kind"], "query": q["query"],
                         "judged": q["relevant"], "to_judge": todo})  # fmt: skip
        write_jsonl(args.out, rows)
        print(f"{args.out}: {len(rows)} queries, {total} papers to judge")
        return
    share: dict[str, float] = {}
    for q in queries:
        for m, ids in _pooled_tops(searchers, q["query"], args.k).items():
            got = sum(i in judged(q) for i in ids) / max(len(ids), 1) / len(queries)
            share[m] = share.get(m, 0.0) + got
    print(f"{args.queries.name}: judged share of the top {args.k} per query: "
          + ", ".join(f"{m} {v:.2f}" for m, v in share.items()))  # fmt: skip


if __name__ == "__main__":
    main()
