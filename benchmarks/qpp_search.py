"""Query-dependent fusion weights for kb.search (query performance prediction): does it pay?

The learned fusion (kb.ranking) gives every query the same weights. Some dev queries are
answered by one side (keyword or semantic) while the other is noise, so this script asks
whether cheap per-query predictors of each side's reliability can move weight between them:

- predictors: overlap@10 of the keyword (mean of the ``title`` and ``abstract`` columns) and
  semantic (mean of ``sem_paper`` and ``sem_sentence``) top lists (``ov``); the keyword top
  list's drop from rank 1 to rank 10 (``kgap``) and 1 to 2 (``kgap2``); the same for the raw
  paper cosines, relative to the median (``sgap``, ``sgap2``); the top raw cosine (``stop``);
  the best paper's IDF coverage (``cov``); scaling-vocabulary expansion fired (``exp``); query
  length (``len``);
- their correlation with semantic minus keyword nDCG@10 per query;
- an upper bound: the shipped score plus ``lam * (semantic - keyword)`` with ``lam`` chosen per
  query with the judgments (an oracle no predictor can beat);
- interaction columns: ``(semantic - keyword) * (predictor - its mean)`` appended to the
  feature matrix, weight of either sign, fitted with the rest by kb.ranking.fit_pairwise;
- with ``--gate``: ``lam = a + b * predictor``, (a, b) grid-searched on training nDCG@10
  after refitting the weights on the training queries;
- with ``--norms``: other per-query score normalisations (z-score, min-max, reciprocal rank).

Every variant reports in-sample, leave-one-query-out (LOQO) and 2-fold (even/odd) nDCG@10 on
the development queries only; it never reads a held-out file. The feedback column ``rm3`` is
computed once with the shipped weights (kb.search.LEARNED_WEIGHTS) rather than refitted per
fold as fit_search_weights.py does, so figures differ from that script's by about 0.005;
compare a variant with this script's own baseline line.

    PYTHONPATH=. HF_HUB_OFFLINE=1 python benchmarks/qpp_search.py [--db PATH] \\
        [--queries PATH] [--gate] [--norms]
"""

from __future__ import annotations

import argparse
import statistics
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from numpy.typing import NDArray

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks.bench_search import DEV, ensure_store, load_queries  # noqa: E402
from benchmarks.fit_search_weights import DROPPED, gains_of  # noqa: E402
from kb.keyword import tokenize  # noqa: E402
from kb.ranking import FEATURES, FeatureMatrix, fit_pairwise, mean_ndcg  # noqa: E402
from kb.search import LEARNED_WEIGHTS, Searcher  # noqa: E402
from kb.vocabulary import expand_query  # noqa: E402

Vector = NDArray[np.float32]
COL = {f: i for i, f in enumerate(FEATURES)}
FIXED = tuple(COL[f] for f in DROPPED)
SHIPPED = np.array(LEARNED_WEIGHTS, dtype=np.float64)


@dataclass
class Query:
    """One dev query's feature matrix, raw paper cosines, gains and facts about its words."""

    kind: str
    features: FeatureMatrix
    paper_sim: Vector
    gains: Vector
    expanded: bool
    n_tokens: int


def sides(x: FeatureMatrix) -> tuple[Vector, Vector]:
    """Keyword evidence (mean of the BM25 title and abstract columns) and semantic evidence."""
    keyword = (x[:, COL["title"]] + x[:, COL["abstract"]]) / 2
    semantic = (x[:, COL["sem_paper"]] + x[:, COL["sem_sentence"]]) / 2
    return keyword, semantic


def predictors(q: Query) -> dict[str, float]:
    """Query-level reliability predictors of the two sides (see the module docstring)."""
    keyword, semantic = sides(q.features)
    top_k = set(np.argsort(-keyword, kind="stable")[:10].tolist())
    top_s = set(np.argsort(-semantic, kind="stable")[:10].tolist())
    k_sorted = np.sort(keyword)[::-1] / (keyword.max() or 1.0)
    cos = np.sort(q.paper_sim)[::-1]
    spread = float(cos[0] - np.median(q.paper_sim)) or 1.0
    return {
        "ov": len(top_k & top_s) / 10,
        "kgap": float(1 - k_sorted[9]),
        "kgap2": float(1 - k_sorted[1]),
        "sgap": float(cos[0] - cos[9]) / spread,
        "sgap2": float(cos[0] - cos[1]) / spread,
        "stop": float(cos[0]),
        "cov": float(q.features[:, COL["coverage"]].max()),
        "exp": float(q.expanded),
        "len": min(q.n_tokens / 8, 1.0),
    }


def ndcg(scores: NDArray[np.float64] | Vector, gains: Vector) -> float:
    """nDCG@10 of one query ranked by ``scores``."""
    return mean_ndcg([np.asarray(scores, np.float32)[:, None]], [gains], np.ones(1))


Fitter = Callable[[Sequence[int]], Callable[[int], float]]


def figures(n: int, fitter: Fitter) -> str:
    """In-sample / LOQO / 2-fold mean nDCG@10, formatted."""
    return " / ".join(f"{x:.3f}" for x in cross_validate(n, fitter))


def cross_validate(n: int, fitter: Fitter) -> tuple[float, float, float]:
    """(in-sample, LOQO, 2-fold) mean nDCG@10; ``fitter(train)`` returns a per-query scorer."""
    everyone = list(range(n))
    score_all = fitter(everyone)
    in_sample = statistics.fmean(score_all(i) for i in everyone)
    loqo = statistics.fmean(fitter([j for j in everyone if j != i])(i) for i in everyone)
    two_fold = [0.0] * n
    for test in (everyone[0::2], everyone[1::2]):
        score = fitter([j for j in everyone if j not in test])
        for i in test:
            two_fold[i] = score(i)
    return in_sample, loqo, statistics.fmean(two_fold)


def linear_fitter(matrices: list[FeatureMatrix], queries: list[Query]) -> Fitter:
    """Pairwise logistic fit (L2 0.1, as shipped) of every column of ``matrices``."""
    extra = matrices[0].shape[1] - len(FEATURES)
    start = np.concatenate([SHIPPED, np.zeros(extra)])

    def fitter(train: Sequence[int]) -> Callable[[int], float]:
        feats = [matrices[i] for i in train]
        w = fit_pairwise(feats, [queries[i].gains for i in train], start=start, l2=0.1, fixed=FIXED)
        return lambda i: ndcg(matrices[i] @ w, queries[i].gains)

    return fitter


def interaction(queries: list[Query], preds: list[dict[str, float]], name: str) -> Fitter:
    """Columns +-(semantic - keyword) * (predictor - mean): a weight of either sign."""
    mean = statistics.fmean(p[name] for p in preds)
    matrices = []
    for q, p in zip(queries, preds, strict=True):
        keyword, semantic = sides(q.features)
        col = ((semantic - keyword) * (p[name] - mean))[:, None]
        matrices.append(np.hstack([q.features, col, -col]).astype(np.float32))
    return linear_fitter(matrices, queries)


LAMBDAS = np.round(np.arange(-0.4, 0.401, 0.05), 3)


def lambda_table(queries: list[Query], w: NDArray[np.float64]) -> NDArray[np.float64]:
    """nDCG@10 of every query (rows) ranked by ``features @ w + lam * (sem - kw)``, per lam."""
    out = np.zeros((len(queries), len(LAMBDAS)))
    for i, q in enumerate(queries):
        keyword, semantic = sides(q.features)
        base = q.features @ w
        for j, lam in enumerate(LAMBDAS):
            out[i, j] = ndcg(base + lam * (semantic - keyword), q.gains)
    return out


def gate(queries: list[Query], values: NDArray[np.float64] | None) -> Fitter:
    """Weights refitted on the training queries, then ``lam = a + b * z(predictor)`` (clipped
    to the table's range; z standardised on the training queries), (a, b) the grid point best
    on training nDCG@10. ``values`` None: ``b`` = 0 (one shift for every query)."""
    b_grid = np.linspace(-0.3, 0.3, 13) if values is not None else np.zeros(1)
    grid = [(a, b) for a in np.linspace(-0.3, 0.3, 13) for b in b_grid]
    v = np.zeros(len(queries)) if values is None else values

    def fitter(train: Sequence[int]) -> Callable[[int], float]:
        feats, gains = [queries[i].features for i in train], [queries[i].gains for i in train]
        w = fit_pairwise(feats, gains, start=SHIPPED, l2=0.1, fixed=FIXED)
        table = lambda_table(queries, w)
        mean, sd = float(v[list(train)].mean()), float(v[list(train)].std()) or 1.0

        def column(a: float, b: float, i: int) -> int:
            lam = float(np.clip(a + b * (v[i] - mean) / sd, LAMBDAS[0], LAMBDAS[-1]))
            return int(np.argmin(np.abs(LAMBDAS - lam)))

        def fit_score(ab: tuple[float, float]) -> tuple[float, float]:
            fit = statistics.fmean(table[i, column(*ab, i)] for i in train)
            return round(fit, 9), -abs(ab[0]) - abs(ab[1])  # ties: the smaller gate

        a, b = max(grid, key=fit_score)
        return lambda i: float(table[i, column(a, b, i)])

    return fitter


def _reciprocal_rank(col: Vector, k: int) -> Vector:
    ranks = np.empty(len(col))
    ranks[np.argsort(-col, kind="stable")] = np.arange(1, len(col) + 1)
    return np.where(col > 0, (k + 1) / (k + ranks), 0.0).astype(np.float32)


def _zscore(col: Vector) -> Vector:
    sd = float(col.std())
    return np.clip((col - col.mean()) / (4 * sd), 0, None).astype(np.float32) if sd else col * 0


def normalisations(q: Query) -> dict[str, FeatureMatrix]:
    """Feature matrices with other per-query normalisations of the keyword / semantic sides."""
    x = q.features
    keyword, semantic = sides(x)
    rr10 = np.stack([_reciprocal_rank(keyword, 10), _reciprocal_rank(semantic, 10)], 1)
    rr60 = np.stack([_reciprocal_rank(keyword, 60), _reciprocal_rank(semantic, 60)], 1)
    z_sem = x.copy()
    z_sem[:, COL["sem_paper"]] = _zscore(q.paper_sim)
    minmax = x.copy()
    lo, hi = float(q.paper_sim.min()), float(q.paper_sim.max())
    minmax[:, COL["sem_paper"]] = (q.paper_sim - lo) / (hi - lo) if hi > lo else 0.0
    z_kw = x.copy()
    for f in ("title", "abstract", "expansion", "sem_expansion", "rm3"):
        z_kw[:, COL[f]] = _zscore(x[:, COL[f]])
    rank_kw = x.copy()
    for f in ("title", "abstract"):
        rank_kw[:, COL[f]] = _reciprocal_rank(x[:, COL[f]], 10)
    return {
        "+ reciprocal-rank columns (k=10)": np.hstack([x, rr10]),
        "+ reciprocal-rank columns (k=60)": np.hstack([x, rr60]),
        "z-score paper cosine (not median..max)": z_sem,
        "min-max paper cosine (not median..max)": minmax,
        "z-score BM25 columns (not /max)": z_kw,
        "reciprocal rank for BM25 title/abstract": rank_kw,
    }


def load(db: Path, path: Path) -> list[Query]:
    """Feature matrices (feedback from the shipped weights) of every query in ``path``."""
    raw = load_queries(path)
    searcher = Searcher.open(ensure_store(db), str(db))
    out = []
    for q, g in zip(raw, gains_of(searcher, raw), strict=True):
        paper_sim, _ = searcher._semantic_parts(searcher._encode(q["query"]), None)
        out.append(
            Query(q["kind"], searcher.features(q["query"]), paper_sim, g,
                  bool(expand_query(q["query"])), len(tokenize(q["query"])))
        )  # fmt: skip
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--db", type=Path, default=Path("/tmp/kb_bench_search_ingested.duckdb"))
    parser.add_argument("--queries", type=Path, default=DEV, metavar="PATH")
    parser.add_argument("--gate", action="store_true", help="grid-searched gate per predictor")
    parser.add_argument("--norms", action="store_true", help="other score normalisations")
    args = parser.parse_args()
    queries = load(args.db, args.queries)
    preds = [predictors(q) for q in queries]
    n = len(queries)
    table = lambda_table(queries, SHIPPED)
    centre = int(np.argmin(np.abs(LAMBDAS)))
    print(f"{args.queries.name}: {n} queries; nDCG@10 (in-sample / LOQO / 2-fold)")
    base = figures(n, linear_fitter([q.features for q in queries], queries))
    print(f"  baseline (shipped features, refitted): {base}")
    print(
        f"  shipped weights {table[:, centre].mean():.3f}; per-query oracle lam "
        f"{table.max(axis=1).mean():.3f} (upper bound of any semantic-vs-keyword gate)"
    )
    kw = np.array([ndcg(sides(q.features)[0], q.gains) for q in queries])
    sem = np.array([ndcg(sides(q.features)[1], q.gains) for q in queries])
    if args.gate:
        print(f"  gate without a predictor (one shift for all): {figures(n, gate(queries, None))}")
    for name in preds[0]:
        values = np.array([p[name] for p in preds])
        corr = float(np.corrcoef(values, sem - kw)[0, 1])
        line = figures(n, interaction(queries, preds, name))
        if args.gate:
            line += f"; gate {figures(n, gate(queries, values))}"
        print(f"  {name:5s} corr(sem - kw) {corr:+.2f}  interaction {line}")
    if args.norms:
        variants = [normalisations(q) for q in queries]
        for label in variants[0]:
            matrices = [v[label] for v in variants]
            print(f"  {label}: {figures(n, linear_fitter(matrices, queries))}")


if __name__ == "__main__":
    main()
