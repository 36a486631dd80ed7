"""Search round 5: do score regularisation, phrase matches or claim-sentence cosines pay?

Candidate feature columns for the learned fusion (kb.ranking), appended to the shipped
kb.ranking.FEATURES matrix and fitted with the same two-stage pairwise fit as
``benchmarks/fit_search_weights.py`` (stage 1 with the feedback columns held at 0, feedback
recomputed from the stage-1 weights, stage 2 with all), scored by in-sample, leave-one-query-out
(LOQO) and 2-fold (even/odd, both ways) nDCG@10 on the development queries only. It never
reads a held-out file.

- Score regularisation over the paper-similarity graph (the cluster hypothesis; Diaz 2005,
  "Regularizing ad hoc retrieval scores"): every paper's ``k`` nearest papers by whole-text
  cosine (at least ``floor``), and the similarity-weighted mean over them of a score column:
  ``g_first`` of the first-stage fused score (the shipped weights without feedback columns, as
  ``rm3`` uses; a feedback column itself), ``g_sem`` of ``sem_paper``, ``g_bm25`` of the mean
  of the ``title`` and ``abstract`` BM25 columns. Each is max-scaled within the query.
- ``phrase``: IDF-weighted share of the query's adjacent token pairs (kb.keyword.tokenize:
  stop-words out, stemmed) that occur adjacent in the paper's title or abstract.
- ``claim_sem``: the query's best cosine to a sentence of the paper that an extracted claim
  cites as evidence (kb.ranking.scale_cosine; papers without claims get the floor).

Two baselines, computed with the same code: the shipped features refitted on the pooled
judgments (``base``), and refitted on the judgments as first written but scored on the pooled
ones (``base-first``, ``--first PATH``: the round-3 situation).

``--condensed`` scores on condensed lists (unjudged papers left out of every ranking, Sakai
2007), ``--pool PATH`` writes the unjudged top-10 papers of every ranking scored in the format
of ``pool_search.py pool``, for a judge. Round-5 figures and verdict: data/eval/README.md.

    PYTHONPATH=. HF_HUB_OFFLINE=1 python benchmarks/graph_search.py [--db PATH] \\
        [--queries PATH] [--first PATH [--fit-first]] [--condensed] [--pool PATH] \\
        [--variants NAME ...]
"""

from __future__ import annotations

import argparse
import itertools
import math
import statistics
import sys
import time
from collections import Counter
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks._jsonl import write_jsonl  # noqa: E402
from benchmarks.bench_search import DEV, ensure_store, load_queries  # noqa: E402
from benchmarks.fit_search_weights import DROPPED, START, gains_of  # noqa: E402
from kb.index import IndexRow  # noqa: E402
from kb.keyword import tokenize  # noqa: E402
from kb.ranking import FEATURES, FeatureMatrix, fit_pairwise, mean_ndcg, scale_cosine  # noqa: E402
from kb.records import Claim  # noqa: E402
from kb.search import Searcher  # noqa: E402

Vector = NDArray[np.float32]
COL = {f: i for i, f in enumerate(FEATURES)}
EXTRA = ("g_first", "g_first_max", "g_sem", "g_bm25", "phrase", "claim_sem")
FEEDBACK = (
    "prf",
    "rm3",
    "g_first",
    "g_first_max",
)  # columns that depend on the first-stage weights
L2 = 0.1


def neighbour_weights(vectors: Vector, k: int, floor: float) -> NDArray[np.float32]:
    """Row-normalised (n x n) matrix: each paper's ``k`` nearest others with cosine >= floor,
    weighted by cosine (only positive cosines count; a paper with none has an all-zero row)."""
    sims = vectors @ vectors.T
    np.fill_diagonal(sims, -np.inf)
    out = np.zeros_like(sims)
    near = np.argsort(-sims, axis=1, kind="stable")[:, :k]
    rows = np.arange(len(sims))[:, None]
    keep = (sims[rows, near] >= floor) & (sims[rows, near] > 0)
    out[np.broadcast_to(rows, near.shape)[keep], near[keep]] = sims[rows, near][keep]
    total = out.sum(axis=1, keepdims=True)
    return (out / np.where(total > 0, total, 1.0)).astype(np.float32)


def max_scale(x: Vector) -> Vector:
    """``x`` divided by its maximum (all zeros, or an empty or non-positive ``x``: zeros)."""
    top = float(x.max()) if x.size else 0.0
    return (x / top if top > 0 else x * 0).astype(np.float32)


def bigrams(tokens: Sequence[str]) -> set[tuple[str, str]]:
    """Adjacent token pairs of ``tokens``."""
    return set(itertools.pairwise(tokens))


def phrase_scores(
    query: str, paper_bigrams: Sequence[set[tuple[str, str]]], idf: dict[tuple[str, str], float]
) -> Vector:
    """Per paper, the IDF-weighted share of the query's adjacent token pairs it contains.

    A pair absent from ``idf`` (in no paper) counts with the largest IDF, log(1 + n).
    """
    wanted = bigrams(tokenize(query))
    n = len(paper_bigrams)
    if not wanted:
        return np.zeros(n, dtype=np.float32)
    weight = {b: idf.get(b, math.log1p(n)) for b in wanted}
    total = sum(weight.values())
    return np.array(
        [sum(weight[b] for b in wanted & have) / total for have in paper_bigrams],
        dtype=np.float32,
    )


def bigram_idf(paper_bigrams: Sequence[set[tuple[str, str]]]) -> dict[tuple[str, str], float]:
    """log(1 + n / (1 + df)) of every adjacent pair found in some paper."""
    n = len(paper_bigrams)
    df = Counter(b for s in paper_bigrams for b in s)
    return {b: math.log1p(n / (1 + c)) for b, c in df.items()}


def claim_sentence_rows(
    rows: Sequence[IndexRow], spans: dict[str, list[tuple[int, int]]]
) -> NDArray[np.int64]:
    """Index rows of abstract sentences that overlap a claim's evidence span of their paper."""
    return np.array(
        [
            i
            for i, r in enumerate(rows)
            if r.field == "sentence"
            and any(s < r.span_end and r.span_start < e for s, e in spans.get(r.paper_id, []))
        ],
        dtype=np.int64,
    )


class Corpus:
    """Per-query static columns and the pieces the extra columns are computed from."""

    def __init__(self, searcher: Searcher, queries: list[dict[str, Any]]):
        self.searcher = searcher
        self.queries = queries
        self.condensed = False  # score on condensed lists (judged papers only)
        # Every paper some scored ranking put in a query's top 10 (the pool to judge).
        self.seen_top: list[set[int]] = [set() for _ in queries]
        self.judged: list[NDArray[np.bool_]] = []
        for q in queries:
            mask = np.zeros(len(searcher.papers), dtype=bool)
            for pid in [*q["relevant"], *q.get("not_relevant", [])]:
                if pid in searcher._pos:
                    mask[searcher._pos[pid]] = True
            self.judged.append(mask)
        sem = searcher.semantic
        index = sem.index.faiss_index
        n = len(searcher.papers)
        self.vectors = np.stack([index.reconstruct(int(sem.paper_row[i])) for i in range(n)])
        self.paper_bigrams = [
            bigrams(tokenize(p.title)) | bigrams(tokenize(p.abstract)) for p in searcher.papers
        ]
        self.bigram_idf = bigram_idf(self.paper_bigrams)
        # Sentence rows an extracted claim cites (its evidence span overlaps the sentence).
        spans: dict[str, list[tuple[int, int]]] = {}
        for c in searcher.store.select(Claim):
            spans.setdefault(c.paper_id, []).append((c.span_start, c.span_end))
        self.claim_rows = claim_sentence_rows(sem.index.rows, spans)
        claim_vecs = np.stack([index.reconstruct(int(r)) for r in self.claim_rows])
        self.static: list[FeatureMatrix] = []
        self.phrase: list[Vector] = []
        self.claim_sem: list[Vector] = []
        for q in queries:
            qvec = searcher._encode(q["query"])
            self.static.append(
                searcher._features(q["query"], qvec, None, feedback=frozenset(), title=True,
                                   terms=True)
            )  # fmt: skip
            self.phrase.append(phrase_scores(q["query"], self.paper_bigrams, self.bigram_idf))
            sims = np.full(n, -1.0, dtype=np.float32)
            np.maximum.at(sims, sem.row_paper[self.claim_rows], claim_vecs @ qvec)
            lo = float(sims[sims > -1].min()) if (sims > -1).any() else 0.0
            self.claim_sem.append(scale_cosine(np.where(sims > -1, sims, lo).astype(np.float32)))
        self._rm3: dict[tuple[int, tuple[int, ...]], Vector] = {}
        self.graph: NDArray[np.float32] | None = None

    def set_graph(self, k: int, floor: float) -> None:
        self.graph = neighbour_weights(self.vectors, k, floor)

    def matrix(self, qi: int, w: NDArray[np.float64], extras: Sequence[str]) -> FeatureMatrix:
        """Query ``qi``'s FEATURES + ``extras`` columns, feedback from first-stage ``w``."""
        base = self.static[qi].copy()
        first = base @ w[: len(FEATURES)].astype(np.float32)  # prf, rm3 are 0 in static
        top = tuple(np.argsort(-first, kind="stable")[: self.searcher.tuning.prf_depth].tolist())
        key = (qi, top)
        if key not in self._rm3:
            self._rm3[key] = self.searcher.keyword.rm3(
                self.queries[qi]["query"], np.array(top, dtype=np.intp),
                self.searcher.tuning.prf_terms,
            )  # fmt: skip
        base[:, COL["rm3"]] = self._rm3[key]
        cols = [base]
        for name in extras:
            if name == "g_first":
                col = max_scale(self._graph() @ max_scale(first))
            elif name == "g_first_max":
                col = max_scale((self._graph() * max_scale(first)[None, :]).max(axis=1))
            elif name == "g_sem":
                col = max_scale((self._graph() @ base[:, COL["sem_paper"]]).astype(np.float32))
            elif name == "g_bm25":
                kw = (base[:, COL["title"]] + base[:, COL["abstract"]]) / 2
                col = max_scale((self._graph() @ kw).astype(np.float32))
            elif name == "phrase":
                col = self.phrase[qi]
            elif name == "claim_sem":
                col = self.claim_sem[qi]
            else:
                raise SystemExit(f"unknown extra column {name!r}; expected one of {EXTRA}")
            cols.append(col[:, None])
        return np.concatenate(cols, axis=1).astype(np.float32)

    def _graph(self) -> NDArray[np.float32]:
        if self.graph is None:
            raise SystemExit("set_graph first")
        return self.graph


def fit_two_stage(
    corpus: Corpus, train: Sequence[int], gains: Sequence[Vector], extras: Sequence[str]
) -> NDArray[np.float64]:
    """fit_search_weights.fit_two_stage with ``extras`` appended (start weight 0)."""
    names = (*FEATURES, *extras)
    start = np.concatenate([START, np.zeros(len(extras))])
    dropped = tuple(names.index(f) for f in DROPPED)
    feedback = tuple(names.index(f) for f in FEEDBACK if f in names)
    g = [gains[i] for i in train]
    first = [corpus.matrix(i, start, extras) for i in train]
    w1 = fit_pairwise(first, g, start=start, l2=L2, fixed=(*dropped, *feedback))
    second = [corpus.matrix(i, w1, extras) for i in train]
    return fit_pairwise(second, g, start=w1, l2=L2, fixed=dropped)


def scores_of(
    corpus: Corpus, test: Sequence[int], gains: Sequence[Vector], w: NDArray[np.float64],
    extras: Sequence[str],
) -> list[float]:  # fmt: skip
    """Per-query nDCG@10 with weights ``w``; with ``corpus.condensed`` the unjudged papers are
    left out of the ranking (Sakai's condensed lists) instead of counting as not relevant."""
    out = []
    for i in test:
        score = corpus.matrix(i, w, extras) @ w.astype(np.float32)
        corpus.seen_top[i].update(np.argsort(-score, kind="stable")[:10].tolist())
        if corpus.condensed:
            score = np.where(corpus.judged[i], score, -np.inf).astype(np.float32)
        out.append(mean_ndcg([score[:, None]], [gains[i]], np.ones(1)))
    return out


def judged_at_10(
    corpus: Corpus, judged: Sequence[NDArray[np.bool_]], w: NDArray[np.float64],
    extras: Sequence[str],
) -> float:  # fmt: skip
    """Mean share of each query's top 10 (ranked with ``w``) that has a grade (0 included)."""
    shares = []
    for i, mask in enumerate(judged):
        top = np.argsort(-(corpus.matrix(i, w, extras) @ w), kind="stable")[:10]
        shares.append(float(mask[top].mean()))
    return statistics.fmean(shares)


def cross_validate(
    corpus: Corpus, fit_gains: Sequence[Vector], score_gains: Sequence[Vector],
    extras: Sequence[str],
) -> tuple[list[float], list[float], list[float], NDArray[np.float64]]:  # fmt: skip
    """Per-query in-sample, LOQO and 2-fold nDCG@10, and the weights fitted on every query."""
    n = len(corpus.queries)
    everyone = list(range(n))
    w_all = fit_two_stage(corpus, everyone, fit_gains, extras)
    in_sample = scores_of(corpus, everyone, score_gains, w_all, extras)

    def held(folds: list[list[int]]) -> list[float]:
        out = [0.0] * n
        for test in folds:
            w = fit_two_stage(corpus, [i for i in everyone if i not in test], fit_gains, extras)
            for i, s in zip(test, scores_of(corpus, test, score_gains, w, extras), strict=True):
                out[i] = s
        return out

    return in_sample, held([[i] for i in everyone]), held([everyone[0::2], everyone[1::2]]), w_all


def by_kind(queries: list[dict[str, Any]], scores: list[float]) -> str:
    kinds = sorted({q["kind"] for q in queries})
    pairs = list(zip(queries, scores, strict=True))
    parts = [
        f"{k[:4]}={statistics.fmean(s for q, s in pairs if q['kind'] == k):.3f}" for k in kinds
    ]
    return f"{statistics.fmean(scores):.3f} ({' '.join(parts)})"


VARIANTS: dict[str, tuple[tuple[str, ...], int, float]] = {
    # name: (extra columns, k neighbours, similarity floor)
    "base": ((), 0, 0.0),
    "g_first k3": (("g_first",), 3, 0.0),
    "g_first k5": (("g_first",), 5, 0.0),
    "g_first k10": (("g_first",), 10, 0.0),
    "g_first k5 f0.5": (("g_first",), 5, 0.5),
    "g_first k5 f0.7": (("g_first",), 5, 0.7),
    "g_first_max k5": (("g_first_max",), 5, 0.0),
    "g_sem k5": (("g_sem",), 5, 0.0),
    "g_bm25 k5": (("g_bm25",), 5, 0.0),
    "g_all k5": (("g_first", "g_sem", "g_bm25"), 5, 0.0),
    "g_sem+bm25 k5": (("g_sem", "g_bm25"), 5, 0.0),
    "g_sem+bm25 k10": (("g_sem", "g_bm25"), 10, 0.0),
    "g_sem+bm25 k3": (("g_sem", "g_bm25"), 3, 0.0),
    "phrase": (("phrase",), 0, 0.0),
    "claim_sem": (("claim_sem",), 0, 0.0),
    "phrase+claim_sem": (("phrase", "claim_sem"), 0, 0.0),
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--db", type=Path, default=Path("/tmp/kb_bench_search_ingested.duckdb"))
    parser.add_argument("--queries", type=Path, default=DEV, metavar="PATH")
    parser.add_argument(
        "--first", type=Path, default=None, metavar="PATH",
        help="the same queries with the judgments as first written (baseline base-first)",
    )  # fmt: skip
    parser.add_argument("--variants", nargs="*", default=list(VARIANTS), choices=list(VARIANTS))
    parser.add_argument(
        "--pool", type=Path, default=None, metavar="PATH",
        help="write the unjudged papers of every scored ranking's top 10 (pool_search.py format)",
    )  # fmt: skip
    parser.add_argument(
        "--condensed", action="store_true",
        help="score on condensed lists: unjudged papers left out of every ranking",
    )  # fmt: skip
    parser.add_argument(
        "--fit-first", action="store_true",
        help="also fit every variant on the first judgments (--first), scored on the pooled ones",
    )  # fmt: skip
    args = parser.parse_args()
    queries = load_queries(args.queries)
    searcher = Searcher.open(ensure_store(args.db), str(args.db))
    t0 = time.perf_counter()
    corpus = Corpus(searcher, queries)
    gains = gains_of(searcher, queries)
    corpus.condensed = args.condensed
    took = time.perf_counter() - t0
    print(f"{len(queries)} queries from {args.queries}; columns in {took:.1f} s; "
          f"{len(corpus.claim_rows)} claim-evidence sentence rows")  # fmt: skip
    print("variant: in-sample / LOQO / 2-fold nDCG@10 (conceptual, exact, paraphrase); judged@10")
    runs: list[tuple[str, Sequence[Vector], tuple[str, ...], int, float]] = []
    first_gains: Sequence[Vector] = ()
    if args.first is not None:
        first = load_queries(args.first)
        if [q["qid"] for q in first] != [q["qid"] for q in queries]:
            raise SystemExit(f"{args.first} does not list the queries of {args.queries}")
        first_gains = gains_of(searcher, first)
    for name in args.variants:
        runs.append((name, gains, *VARIANTS[name]))
        if first_gains and (args.fit_first or name == "base"):
            runs.append((f"{name} [first]", first_gains, *VARIANTS[name]))
    report: Callable[[list[float]], str] = lambda s: by_kind(queries, s)  # noqa: E731
    for name, fit_gains, extras, k, floor in runs:
        if k:
            corpus.set_graph(k, floor)
        ins, loqo, two, w = cross_validate(corpus, fit_gains, gains, extras)
        cover = judged_at_10(corpus, corpus.judged, w, extras)
        print(f"{name:22s} {report(ins)} / {report(loqo)} / {report(two)}; {cover:.3f}")
        if extras:
            names = (*FEATURES, *extras)
            print("  weights: " + ", ".join(f"{f}={v:.3f}" for f, v in zip(names, w, strict=True)
                                            if v > 0.0005))  # fmt: skip

    if args.pool is not None:
        write_pool(args.pool, corpus)


def write_pool(path: Path, corpus: Corpus) -> None:
    """The unjudged top-10 papers of every ranking scored, one line per query, in the format of
    ``pool_search.py pool`` (paper-id order, so a judge cannot tell which ranking found one)."""
    rows, total = [], 0
    papers = corpus.searcher.papers
    for q, seen, judged in zip(corpus.queries, corpus.seen_top, corpus.judged, strict=True):
        todo = sorted(papers[i].paper_id for i in seen if not judged[i])
        total += len(todo)
        rows.append({"qid": q["qid"], "kind": q["kind"], "query": q["query"],
                     "judged": q["relevant"], "to_judge": todo})  # fmt: skip
    write_jsonl(path, rows)
    print(f"{path}: {len(rows)} queries, {total} papers to judge")


if __name__ == "__main__":
    main()
