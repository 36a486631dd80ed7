"""Relevance and latency of kb.search on the seed corpus and data/eval/search_dev.jsonl.

Prints nDCG@10 and recall@10 for keyword-only, semantic-only and fused ranking (overall and per
query kind), and warm end-to-end query latency (query encoding included). With ``--tune`` it
grid-searches the fusion knobs and reports both the in-sample best and a two-fold
cross-validated figure (tuned on one half of the queries, scored on the other), so the gain is
not only the grid's fit to 40 queries.

    PYTHONPATH=. HF_HUB_OFFLINE=1 python benchmarks/bench_search.py [--db PATH] [--tune] \
        [--priors] [--oracle] [--dev PATH ...] [--heldout PATH ... | --no-heldout]

``--oracle`` prints, for the first development file, ceilings that use the judgments per query
(so no ranker can reach them by choosing per query): the better of keyword-only and
semantic-only per query, the best of the three rankings per query, and the best convex mix
``lam * keyword + (1 - lam) * semantic`` of the two single rankings' scaled scores per query
(``lam`` on a 21-point grid). They say how much of issue 5's margin any per-query choice
between the two single rankings could buy.

Relevance grades are 2 (about exactly this) and 1 (partly); nDCG uses gain 2^g - 1, recall@10
counts grade >= 1 papers found in the top 10 over all relevant ones, and judged@10 is the share
of the top 10 that has a grade at all (0 included; unjudged papers count as not relevant, so a
low share means the figures may undersell a ranking: see benchmarks/pool_search.py).
"""

from __future__ import annotations

import argparse
import dataclasses
import itertools
import json
import os
import statistics
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks._corpus import load_seeds  # noqa: E402
from ingest.claims import EXTRACTOR_VERSION, extract_store  # noqa: E402
from ingest.pipeline import ingest_paths  # noqa: E402
from kb.index import build_index  # noqa: E402
from kb.ranking import FEATURES, ndcg_at, scale_bm25, scale_cosine  # noqa: E402
from kb.records import Paper  # noqa: E402
from kb.search import Searcher, Tuning, top_k  # noqa: E402
from kb.store import Store  # noqa: E402

DEV = ROOT / "data" / "eval" / "search_dev.jsonl"
HELDOUT = ROOT / "data" / "eval" / "search_heldout.jsonl"  # scored read-only, never tuned on
SEEDS = Path(os.environ.get("KB_SHARED", ROOT.parent / "shared")) / "seeds"  # as tests/conftest


def recall_at(ranked: list[str], relevant: dict[str, int], k: int = 10) -> float:
    """Share of the relevant papers found in the top k."""
    return len(set(ranked[:k]) & set(relevant)) / len(relevant)


def evaluate(searcher: Searcher, queries: list[dict], mode: str) -> dict[str, float]:
    """Mean nDCG@10 and recall@10 over ``queries``, also per kind."""
    out: dict[str, list[float]] = {}
    for q in queries:
        ids = [h.paper_id for h in searcher.search(q["query"], k=10, mode=mode)]  # type: ignore[arg-type]
        graded = set(q["relevant"]) | set(q.get("not_relevant", []))
        for key, value in (
            ("judged", sum(i in graded for i in ids) / max(len(ids), 1)),
            ("ndcg", ndcg_at(ids, q["relevant"])),
            ("recall", recall_at(ids, q["relevant"])),
            (f"ndcg_{q['kind']}", ndcg_at(ids, q["relevant"])),
        ):
            out.setdefault(key, []).append(value)
    return {k: statistics.fmean(v) for k, v in out.items()}


def ensure_store(db: Path, *, papers_only: bool = False) -> Store:
    """The benchmark store, built unless it has papers already, and indexed.

    By default it is built as users build theirs, by the ingest pipeline (`kb ingest` of the
    seeds: claims, facets, domains, studies_scaling_law); ``papers_only`` loads only titles and
    abstracts with ``benchmarks._corpus.load_seeds``. Embeddings are cached in the store.
    """
    store = Store(db)
    if not store.count(Paper):
        if not SEEDS.is_dir():
            raise SystemExit(
                f"seed listings not found at {SEEDS}; set KB_SHARED to the shared folder"
            )
        if papers_only:
            load_seeds(store, SEEDS)
        else:
            ingest_paths(store, [SEEDS])
    elif not papers_only:
        # A store kept from an earlier run may hold claims (facets, claim text, lay views) of an
        # older extractor: re-extract, as `kb extract` does, so figures are those of this code.
        stamps = {p.extractor_version for p in store.select(Paper, validate=False)}
        if stamps != {EXTRACTOR_VERSION}:
            print(f"{db}: papers labelled by {sorted(map(str, stamps))}; re-extracting with "
                  f"{EXTRACTOR_VERSION}", file=sys.stderr)  # fmt: skip
            with store.transaction():
                extract_store(store)
    report = build_index(store, str(db))
    print(f"index: {report.n_papers} papers, {report.n_rows} rows, {report.kind}, "
          f"{report.n_embedded} texts embedded now", file=sys.stderr)  # fmt: skip
    return store


GRID = {
    "w_keyword": [0.2, 0.3, 0.4, 0.5, 0.6],
    "paper_vs_sentence": [0.3, 0.5, 0.7],
    "w_expansion": [0.0, 0.3, 0.5],
    "w_claims": [0.0, 0.5],
    "w_title": [1.0, 2.0],
}


def tune(searcher: Searcher, queries: list[dict]) -> tuple[Tuning, float]:
    """The grid point with the best fused nDCG@10 on ``queries``."""
    best, best_score = searcher.tuning, -1.0
    keys = list(GRID)
    for values in itertools.product(*(GRID[k] for k in keys)):
        searcher.tuning = dataclasses.replace(
            Tuning(fusion="weighted"), **dict(zip(keys, values, strict=True))
        )
        score = evaluate(searcher, queries, "fused")["ndcg"]
        if score > best_score:
            best, best_score = searcher.tuning, score
    return best, best_score


PRIOR_GRID = {
    "w_facet": [0.0, 0.05, 0.1, 0.2],
    "w_scaling_prior": [0.0, 0.05, 0.1, 0.2],
    "w_keyword": [0.4, 0.5, 0.6],
}


def priors(searcher: Searcher, queries: list[dict]) -> None:
    """Claim-facet and studies_scaling_law boosts: tuned on one half, scored on the other.

    Halves are the even and odd queries of the dev file; a knob that only fits its half shows
    up as a gain on the tuning half and a loss on the held-out one.
    """
    halves = {"A": queries[0::2], "B": queries[1::2]}
    original = searcher.tuning
    default = dataclasses.replace(original, fusion="weighted")
    rows = []
    keys = list(PRIOR_GRID)
    for values in itertools.product(*(PRIOR_GRID[k] for k in keys)):
        searcher.tuning = dataclasses.replace(default, **dict(zip(keys, values, strict=True)))
        rows.append(
            (values, {h: evaluate(searcher, q, "fused")["ndcg"] for h, q in halves.items()})
        )
    searcher.tuning = default
    base = {h: evaluate(searcher, q, "fused")["ndcg"] for h, q in halves.items()}
    print(f"priors: defaults fused nDCG@10 A={base['A']:.3f} B={base['B']:.3f}")
    for tuned, held in (("A", "B"), ("B", "A")):
        values, scores = max(rows, key=lambda r: r[1][tuned])
        knobs = ", ".join(f"{k}={v}" for k, v in zip(keys, values, strict=True))
        print(f"  tuned on {tuned} ({knobs}): {tuned} {scores[tuned]:.3f}, "
              f"held-out {held} {scores[held]:.3f} (defaults {base[held]:.3f})")  # fmt: skip
    searcher.tuning = original


def latency(searcher: Searcher, queries: list[dict], rounds: int = 5) -> dict[str, float]:
    """Warm per-query wall time of ``search`` (fused, k=10, query encoding included), in ms."""
    for q in queries:
        searcher.search(q["query"])
    times, cpu = [], []
    for _ in range(rounds):
        for q in queries:
            searcher.clear_query_cache()  # time the model too, as a fresh query would
            t0, c0 = time.perf_counter(), time.process_time()
            searcher.search(q["query"])
            times.append((time.perf_counter() - t0) * 1000)
            cpu.append((time.process_time() - c0) * 1000)
    times.sort()
    cpu.sort()
    return {"p50_ms": times[len(times) // 2], "p95_ms": times[int(len(times) * 0.95)],
            "cpu_p50_ms": cpu[len(cpu) // 2], "cpu_p95_ms": cpu[int(len(cpu) * 0.95)],
            "n": len(times)}  # fmt: skip


def load_queries(path: Path) -> list[dict]:
    """The JSON-lines query file at ``path`` (qid, kind, query, relevant {paper_id: grade},
    optional not_relevant [paper_id]: judged grade 0 by pooling, see pool_search.py)."""
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def report(searcher: Searcher, queries: list[dict], label: str) -> dict[str, dict[str, float]]:
    """Print (and return) nDCG@10 / recall@10 per mode, overall and per kind, for ``queries``."""
    print(f"{label}: {len(queries)} queries, {len(searcher.papers)} papers")
    results = {m: evaluate(searcher, queries, m) for m in ("keyword", "semantic", "fused")}
    for mode, r in results.items():
        kinds = "  ".join(f"{k[5:]}={v:.3f}" for k, v in r.items() if k.startswith("ndcg_"))
        print(f"  {mode:9s} nDCG@10={r['ndcg']:.3f} recall@10={r['recall']:.3f}  ({kinds})"
              f"  judged@10={r['judged']:.2f}")  # fmt: skip
    default = searcher.tuning
    searcher.tuning = dataclasses.replace(default, expand=False)
    plain = evaluate(searcher, queries, "keyword")["ndcg"]
    searcher.tuning = dataclasses.replace(default, fusion="weighted")
    old = evaluate(searcher, queries, "fused")["ndcg"]
    searcher.tuning = default
    print(f"  keyword   without query expansion: nDCG@10={plain:.3f}")
    print(f"  fused as weighted keyword+semantic sum (fusion='weighted'): nDCG@10={old:.3f}")
    best_single = max(results["keyword"]["ndcg"], results["semantic"]["ndcg"], plain)
    print(f"  fused - best single (max of keyword with/without expansion, semantic) = "
          f"{results['fused']['ndcg'] - best_single:+.3f} (target +0.10)")  # fmt: skip
    return results


def oracle(searcher: Searcher, queries: list[dict]) -> dict[str, float]:
    """Per-query ceilings that peek at the judgments (see ``--oracle`` in the module doc)."""
    ids = [p.paper_id for p in searcher.papers]

    def ndcg(scores: np.ndarray, relevant: dict[str, int]) -> float:
        return ndcg_at([ids[i] for i in top_k(scores, 10)], relevant)

    rows: dict[str, list[float]] = {"single": [], "three": [], "mix": []}
    for q in queries:
        by_mode = {
            m: ndcg_at([h.paper_id for h in searcher.search(q["query"], k=10, mode=m)],  # type: ignore[arg-type]
                       q["relevant"])
            for m in ("keyword", "semantic", "fused")
        }  # fmt: skip
        kw = scale_bm25(searcher._keyword_scores(q["query"]))
        sem = scale_cosine(searcher._semantic_scores(searcher._encode(q["query"]), None))
        mixes = [ndcg(lam * kw + (1 - lam) * sem, q["relevant"]) for lam in np.linspace(0, 1, 21)]
        rows["single"].append(max(by_mode["keyword"], by_mode["semantic"]))
        rows["three"].append(max(by_mode.values()))
        rows["mix"].append(max(mixes))
    return {k: statistics.fmean(v) for k, v in rows.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--db", type=Path, default=Path("/tmp/kb_bench_search_ingested.duckdb"))
    parser.add_argument(
        "--papers-only", action="store_true",
        help="build the store from titles and abstracts only (no claims), as before",
    )  # fmt: skip
    parser.add_argument("--tune", action="store_true", help="grid-search the fusion knobs")
    parser.add_argument(
        "--priors", action="store_true", help="claim-facet / scaling-prior boosts, half by half"
    )
    parser.add_argument(
        "--dev", type=Path, nargs="+", default=[DEV], metavar="PATH",
        help="development query files, e.g. the same queries with other judgments (the first "
        "is the one --tune and --priors use; default: %(default)s)",
    )  # fmt: skip
    parser.add_argument(
        "--heldout", type=Path, nargs="+", default=[HELDOUT], metavar="PATH",
        help="held-out query files, scored only (default: %(default)s)",
    )  # fmt: skip
    parser.add_argument("--no-heldout", action="store_true", help="do not score held-out files")
    parser.add_argument(
        "--oracle", action="store_true",
        help="per-query ceilings of choosing between the single rankings (peek at judgments)",
    )  # fmt: skip
    parser.add_argument(
        "--query-adapter", default=None, metavar="PATH",
        help="query adapter file (kb.query_adapter; '' for none; default: the shipped setting)",
    )  # fmt: skip
    parser.add_argument(
        "--weights", default=None, metavar="W1,W2,...",
        help="learned-fusion weights, comma-separated, one per kb.ranking.FEATURES "
        "(default: LEARNED_WEIGHTS)",
    )  # fmt: skip
    args = parser.parse_args()
    queries = load_queries(args.dev[0])
    store = ensure_store(args.db, papers_only=args.papers_only)
    tuning = Tuning()
    if args.query_adapter is not None:
        tuning = dataclasses.replace(tuning, query_adapter=args.query_adapter)
    if args.weights is not None:
        try:
            weights = tuple(float(w) for w in args.weights.split(","))
        except ValueError:
            parser.error(f"--weights: expected comma-separated numbers, got {args.weights!r}")
        if len(weights) != len(FEATURES):
            parser.error(f"--weights: {len(weights)} values; expected {len(FEATURES)}, one per "
                         f"kb.ranking.FEATURES ({', '.join(FEATURES)})")  # fmt: skip
        tuning = dataclasses.replace(tuning, weights=weights)
    print(f"query adapter: {tuning.query_adapter or 'none'}")
    searcher = Searcher.open(store, str(args.db), tuning=tuning)
    for path in args.dev:
        label = f"development set {path.name} (tuning set; LEARNED_WEIGHTS fitted on all of it)"
        report(searcher, load_queries(path), label)
    for path in [] if args.no_heldout else args.heldout:
        if path.exists():
            report(searcher, load_queries(path), f"held-out set {path.name} (never tuned on)")
    default = searcher.tuning
    if args.tune:
        searcher.tuning = dataclasses.replace(default, fusion="weighted")
        best, score = tune(searcher, queries)
        print(f"in-sample best fused nDCG@10={score:.3f} with {best}")
        halves = (queries[0::2], queries[1::2])
        cv = []
        for train, test in (halves, halves[::-1]):
            searcher.tuning, _ = tune(searcher, train)
            cv.append(evaluate(searcher, test, "fused")["ndcg"])
        print(f"2-fold cross-validated fused nDCG@10={statistics.fmean(cv):.3f}")
        searcher.tuning = default
    if args.priors:
        priors(searcher, queries)
    if args.oracle:
        o = oracle(searcher, queries)
        print(f"per-query oracles on {args.dev[0].name} (use the judgments; not rankers): "
              f"better of keyword/semantic {o['single']:.3f}, best of keyword/semantic/fused "
              f"{o['three']:.3f}, best keyword-semantic mix {o['mix']:.3f}")  # fmt: skip
    lat = latency(searcher, queries)
    print(f"warm fused query latency: p50={lat['p50_ms']:.1f} ms p95={lat['p95_ms']:.1f} ms "
          f"over {lat['n']} queries (target p95 < 50 ms); CPU time per query "
          f"p50={lat['cpu_p50_ms']:.1f} ms p95={lat['cpu_p95_ms']:.1f} ms "
          f"(= wall time on an idle core; wall > CPU means the machine is busy)")  # fmt: skip


if __name__ == "__main__":
    main()
