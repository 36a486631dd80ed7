"""Query-kind gate for the learned fusion (issue 5, round 6): does it pay?

On paraphrase queries (lay wording that avoids the papers' words) the fused ranking is below
semantic-only: BM25 matches the wrong papers and the fixed weights still listen to it. Kind is
visible in the query's text, so this script asks whether P(kind | query) can gate the fusion:

- gate columns appended to the kb.ranking.FEATURES matrix, each a query-level probability
  times per-paper evidence: ``sem_lay`` = P(paraphrase) x semantic (mean of ``sem_paper`` and
  ``sem_sentence``), ``kw_tech`` = (1 - P(paraphrase)) x keyword (mean of the BM25 ``title``
  and ``abstract`` columns), ``kw_exact`` = P(exact) x keyword; non-negative weights; and a
  signed variant (``sem_lay`` and ``kw_lay`` = P(paraphrase) x keyword, any sign);
- a mixture: score = sum_k P(k|q) (w + d_k) . x, i.e. columns P(k|q) x for every kind with
  weights d_k of any sign, L2 ``--mix-l2`` toward the shared w;
- the gate's probabilities from the TRUE dev kinds (``--gate true``: the upper bound), or from
  the shipped classifier (``--gate classifier``: kb.query_kind, trained on
  data/eval/query_kinds.jsonl, never on dev or held-out queries).

Fitting reproduces benchmarks/fit_search_weights.py exactly (pairwise logistic, L2 0.1, two
stages with the RM3 feedback column recomputed from the stage-1 weights on each fold's
training queries, ``prf`` and ``sem_title`` held at 0), but from one feature matrix per query
with the RM3 column cached by first-stage top papers, so a LOQO run takes seconds. It prints
in-sample, leave-one-query-out (LOQO) and 2-fold (even/odd) nDCG@10 per kind, on the
development queries only; it never reads a held-out file.

    PYTHONPATH=. HF_HUB_OFFLINE=1 python benchmarks/kind_search.py [--db PATH] \\
        [--queries PATH] [--gate true|classifier] [--gate-l2 0.1] [--mix-l2 1.0] \\
        [--seeds 5] [--only NAME-PREFIX ...]

Figures (2026-12-02, 70 dev queries with pooled judgments, store built by ``kb ingest``;
nDCG@10 in-sample / LOQO / 2-fold): round 3's weights 0.763; the 18 features refitted without a
gate 0.760 / 0.754 / 0.751 (as fit_search_weights.py prints). Upper bound, TRUE kinds:
``sem_lay`` 0.773 / 0.768 / 0.758, ``kw_tech`` 0.775 / 0.775 / 0.754, ``sem_lay + kw_tech``
0.782 / 0.774 / 0.760, + ``kw_exact`` 0.784 / 0.774 / 0.760, signed 0.772 / 0.758 / 0.758,
mixture (deltas L2 1) 0.773 / 0.759 / 0.750 (L2 0.1: 0.769 / 0.763 / 0.754), all with gate L2
0.1; with gate L2 0.03 the three gates give 0.779 / 0.778 / 0.780, with 0.01 0.783 / 0.782 /
0.774. Classifier gate (kb.query_kind, 63/70 dev kinds right), L2 0.03: ``sem_lay + kw_tech``
0.775 / 0.772 / 0.764, + ``kw_exact`` 0.779 / 0.774 / 0.765 (2-fold over 5 random halvings
0.765; no gate 0.755): shipped; L2 0.01: 0.772 / 0.772 / 0.763; L2 0.1 (classifier fitted
before k041 was dropped): 0.761 / 0.759 / 0.760.
Per kind (LOQO, exact / paraphrase / conceptual): no gate 0.90 / 0.59 / 0.76, shipped gate
0.91 / 0.60 / 0.80. Chosen among about 15 variants by dev LOQO and 2-fold: slightly optimistic.
"""

from __future__ import annotations

import argparse
import statistics
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from numpy.typing import NDArray

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks.bench_search import DEV, ensure_store, load_queries  # noqa: E402
from benchmarks.fit_search_weights import DROPPED, START, gains_of  # noqa: E402
from kb.query_kind import KINDS, QueryKindModel  # noqa: E402
from kb.ranking import (  # noqa: E402
    FEATURES,
    KIND_FEATURES,
    LAY_FEATURES,
    TRANSLATION_FEATURES,
    FeatureMatrix,
    fit_pairwise,
    mean_ndcg,
)
from kb.search import LEARNED_WEIGHTS, Searcher, top_k  # noqa: E402

Vector = NDArray[np.float32]
# The columns before the gate (round 3's 18); the gates are appended by each variant (round 7's
# lay-view column and round 9's term-translation column are left out: this script measures the
# gate as round 6 did).
LATER = (*KIND_FEATURES, *LAY_FEATURES, *TRANSLATION_FEATURES)
OLD = tuple(f for f in FEATURES if f not in LATER)
OLD_INDEX = [FEATURES.index(f) for f in OLD]
COL = {f: i for i, f in enumerate(OLD)}
BASE_FIXED = tuple(COL[f] for f in DROPPED if f in COL)
PRF = (COL["prf"], COL["rm3"])
# Round 3's weights (the shipped ones before this round) on the old columns.
ROUND3 = np.array(
    (0.1260, 0.1116, 0.0717, 0.0307, 0.0903, 0.1205, 0.0983, 0.0000, 0.1412,
     0.0256, 0.0146, 0.0754, 0.0082, 0.0000, 0.0000, 0.0363, 0.0131, 0.0363)
)  # fmt: skip
SHIPPED = np.array(LEARNED_WEIGHTS, dtype=np.float64)


@dataclass
class Query:
    """One dev query: its feature matrix without feedback columns, gains, kind and text."""

    qid: str
    kind: str
    text: str
    base: FeatureMatrix
    gains: Vector
    rm3: dict[tuple[int, ...], Vector] = field(default_factory=dict)


def sides(x: FeatureMatrix) -> tuple[Vector, Vector]:
    """Keyword evidence (mean BM25 title and abstract) and semantic evidence (mean cosines)."""
    keyword = (x[:, COL["title"]] + x[:, COL["abstract"]]) / 2
    semantic = (x[:, COL["sem_paper"]] + x[:, COL["sem_sentence"]]) / 2
    return keyword.astype(np.float32), semantic.astype(np.float32)


# A variant: extra columns from (base matrix, P(kind)), their lower bounds and L2 penalties.
Extra = Callable[[FeatureMatrix, dict[str, float]], FeatureMatrix]


@dataclass(frozen=True)
class Variant:
    """Extra columns appended to the features, with their weights' lower bound and L2."""

    name: str
    extra: Extra
    n_extra: int
    lower: float = 0.0
    l2: float = 0.1


def _gate(names: Sequence[str]) -> Extra:
    def extra(x: FeatureMatrix, p: dict[str, float]) -> FeatureMatrix:
        keyword, semantic = sides(x)
        cols = {
            "sem_lay": p["paraphrase"] * semantic,
            "kw_tech": (1 - p["paraphrase"]) * keyword,
            "kw_exact": p["exact"] * keyword,
            "kw_lay": p["paraphrase"] * keyword,
            "sem_concept": p["conceptual"] * semantic,
        }
        return np.stack([cols[n] for n in names], axis=1).astype(np.float32)

    return extra


def _mixture(x: FeatureMatrix, p: dict[str, float]) -> FeatureMatrix:
    return np.hstack([p[k] * x for k in KINDS]).astype(np.float32)


def variants(mix_l2: float, gate_l2: float = 0.1) -> list[Variant]:
    """The gates compared (see the module docstring); ``gate_l2``: L2 of the gate weights."""
    n = len(OLD)
    out = [Variant("baseline (18 features refitted)", lambda x, p: x[:, :0], 0)]
    for names in (
        ("sem_lay",),
        ("kw_tech",),
        ("sem_lay", "kw_tech"),
        ("sem_lay", "kw_tech", "kw_exact"),
        ("sem_lay", "kw_tech", "sem_concept"),
    ):
        out.append(Variant(" + ".join(names), _gate(names), len(names), l2=gate_l2))
    out.append(
        Variant("signed sem_lay + kw_lay", _gate(("sem_lay", "kw_lay")), 2, lower=-np.inf,
                l2=gate_l2)
    )  # fmt: skip
    out.append(Variant(f"mixture (per-kind deltas, L2 {mix_l2:g})", _mixture, 3 * n,
                       lower=-np.inf, l2=mix_l2))  # fmt: skip
    return out


def fit_pairwise_bounded(
    features: Sequence[FeatureMatrix],
    gains: Sequence[Vector],
    *,
    start: NDArray[np.float64],
    l2: NDArray[np.float64],
    lower: NDArray[np.float64],
    fixed: Sequence[int],
    depth: int = 50,
) -> NDArray[np.float64]:
    """kb.ranking.fit_pairwise with a per-weight L2 penalty and lower bound, scaled so the
    first len(OLD) weights sum to 1 (ranking is scale-free)."""
    w = fit_pairwise(features, gains, start=start, l2=l2, depth=depth, fixed=fixed, lower=lower)
    total = float(w[: len(OLD)].sum())
    return w / total if total > 0 else w


class Experiment:
    """Two-stage fits and cross-validation of one variant over the loaded queries."""

    def __init__(
        self, searcher: Searcher, queries: list[Query], probs: list[dict[str, float]],
        variant: Variant,
    ):  # fmt: skip
        self.searcher, self.queries, self.probs, self.variant = searcher, queries, probs, variant
        self.aug = [
            np.hstack([q.base, variant.extra(q.base, p)]).astype(np.float32)
            for q, p in zip(queries, probs, strict=True)
        ]
        n = self.aug[0].shape[1]
        self.start = np.concatenate([START[OLD_INDEX], np.zeros(variant.n_extra)])
        self.l2 = np.array([0.1] * len(OLD) + [variant.l2] * variant.n_extra)
        self.lower = np.array([0.0] * len(OLD) + [variant.lower] * variant.n_extra)
        self.n = n

    def matrix(self, i: int, w: NDArray[np.float64]) -> FeatureMatrix:
        """Query ``i``'s matrix with the RM3 column from a first stage ranked by ``w``."""
        q, x = self.queries[i], self.aug[i].copy()
        top = top_k(x @ w.astype(np.float32), self.searcher.tuning.prf_depth)
        key = tuple(int(t) for t in top)
        if key not in q.rm3:
            q.rm3[key] = self.searcher.keyword.rm3(q.text, top, self.searcher.tuning.prf_terms)
        x[:, COL["rm3"]] = q.rm3[key]
        return x

    def fit(self, train: Sequence[int]) -> NDArray[np.float64]:
        """Stage 1 with the feedback columns at 0, RM3 recomputed, stage 2 with every column."""
        gains = [self.queries[i].gains for i in train]
        first = [self.matrix(i, self.start) for i in train]
        w1 = fit_pairwise_bounded(first, gains, start=self.start, l2=self.l2,
                                  lower=self.lower, fixed=(*BASE_FIXED, *PRF))  # fmt: skip
        second = [self.matrix(i, w1) for i in train]
        return fit_pairwise_bounded(second, gains, start=w1, l2=self.l2, lower=self.lower,
                                    fixed=BASE_FIXED)  # fmt: skip

    def score(self, i: int, w: NDArray[np.float64]) -> float:
        """nDCG@10 of query ``i`` ranked with ``w`` (RM3 from the same weights)."""
        return mean_ndcg([self.matrix(i, w)], [self.queries[i].gains], w)

    def random_halves(self, seeds: int) -> list[float]:
        """Per-query nDCG@10 of 2-fold CV averaged over ``seeds`` random halvings (seeded)."""
        n = len(self.queries)
        total = np.zeros(n)
        for seed in range(seeds):
            order = np.random.default_rng(seed).permutation(n)
            for test in (order[: n // 2], order[n // 2 :]):
                w = self.fit([j for j in range(n) if j not in set(test.tolist())])
                for i in test.tolist():
                    total[i] += self.score(i, w)
        return list(total / seeds)

    def run(self, seeds: int = 0) -> dict[str, list[float]]:
        """Per-query nDCG@10: in-sample, LOQO, 2-fold (even/odd) and, when ``seeds``, 2-fold
        over that many random halvings."""
        everyone = list(range(len(self.queries)))
        w_all = self.fit(everyone)
        self.weights = w_all
        out = {"in-sample": [self.score(i, w_all) for i in everyone]}
        out["LOQO"] = [self.score(i, self.fit([j for j in everyone if j != i])) for i in everyone]
        two = [0.0] * len(everyone)
        for test in (everyone[0::2], everyone[1::2]):
            w = self.fit([j for j in everyone if j not in test])
            for i in test:
                two[i] = self.score(i, w)
        out["2-fold"] = two
        if seeds:
            out[f"2-fold x{seeds}"] = self.random_halves(seeds)
        return out


def by_kind(queries: Sequence[Query], scores: Sequence[float]) -> str:
    """Mean overall and per kind (exact / paraphrase / conceptual)."""
    parts = [
        statistics.fmean(s for q, s in zip(queries, scores, strict=True) if q.kind == k)
        for k in KINDS
    ]
    return f"{statistics.fmean(scores):.3f} ({' / '.join(f'{v:.3f}' for v in parts)})"


def load(db: Path, path: Path) -> tuple[Searcher, list[Query]]:
    """The searcher and every query's feature matrix (feedback columns left at 0)."""
    raw = load_queries(path)
    searcher = Searcher.open(ensure_store(db), str(db))
    out = []
    for q, g in zip(raw, gains_of(searcher, raw), strict=True):
        qvec = searcher._encode(q["query"])
        x = searcher._features(q["query"], qvec, None, feedback=frozenset(), title=False,
                               terms=True, kinds=False, lay=False)[:, OLD_INDEX]  # fmt: skip
        out.append(Query(q["qid"], q["kind"], q["query"], x, g))
    return searcher, out


def true_probs(queries: Sequence[Query]) -> list[dict[str, float]]:
    """One-hot P(kind) from the dev files' own ``kind`` labels (the upper bound)."""
    return [{k: float(q.kind == k) for k in KINDS} for q in queries]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--db", type=Path, default=Path("/tmp/kb_bench_search_ingested.duckdb"))
    parser.add_argument("--queries", type=Path, default=DEV, metavar="PATH")
    parser.add_argument("--gate", choices=("true", "classifier"), default="true")
    parser.add_argument("--mix-l2", type=float, default=1.0, help="mixture: L2 of the deltas")
    parser.add_argument("--gate-l2", type=float, default=0.1, help="L2 of the gate weights")
    parser.add_argument("--seeds", type=int, default=0, help="random 2-fold repeats")
    parser.add_argument("--only", nargs="*", default=None, help="variant name prefixes to run")
    args = parser.parse_args()
    searcher, queries = load(args.db, args.queries)
    if args.gate == "true":
        probs = true_probs(queries)
    else:
        model = QueryKindModel.load()
        probs = [model.predict(q.text, searcher._encode(q.text)) for q in queries]
        hits = sum(max(p, key=p.__getitem__) == q.kind for p, q in zip(probs, queries, strict=True))
        print(f"classifier accuracy on the dev kinds: {hits}/{len(queries)}")
    plain = Experiment(searcher, queries, probs, variants(1)[0])
    round3 = [plain.score(i, ROUND3) for i in range(len(queries))]
    print(f"{args.queries.name}: {len(queries)} queries; gate {args.gate}; nDCG@10 "
          f"(exact / paraphrase / conceptual)")  # fmt: skip
    print(f"  round-3 weights (shipped before this round): {by_kind(queries, round3)}")
    gated = [i for i, f in enumerate(FEATURES) if f in KIND_FEATURES]
    if SHIPPED[gated].any():
        three = next(v for v in variants(1) if v.name == " + ".join(KIND_FEATURES))
        ship = Experiment(searcher, queries, probs, three)
        w = np.concatenate([SHIPPED[OLD_INDEX], SHIPPED[gated]])
        print(f"  shipped weights (with the gate): "
              f"{by_kind(queries, [ship.score(i, w) for i in range(len(queries))])}")  # fmt: skip
    for v in variants(args.mix_l2, args.gate_l2):
        if args.only and not any(v.name.startswith(o) for o in args.only):
            continue
        exp = Experiment(searcher, queries, probs, v)
        res = exp.run(args.seeds)
        print(f"  {v.name}")
        for label, scores in res.items():
            print(f"    {label:11s} {by_kind(queries, scores)}")
        if v.n_extra and v.n_extra <= 3:
            extra = ", ".join(f"{w:.4f}" for w in exp.weights[len(OLD) :])
            print(f"    extra weights (all queries): {extra}")


if __name__ == "__main__":
    main()
