"""Fit the learned-fusion weights (kb.search LEARNED_WEIGHTS) and cross-validate them.

For every development query, ``Searcher.features`` gives a (papers x kb.ranking.FEATURES)
matrix. Two fitters: ``--method pairwise`` (default, shipped) is L2-regularised pairwise
logistic regression (:func:`kb.ranking.fit_pairwise`); ``--method ascent`` is coordinate ascent
on mean nDCG@10 (:func:`kb.ranking.fit_weights`). Fitting runs in two stages because the
feedback columns (``prf``, ``rm3``) depend on the first-stage ranking: stage 1 fits every weight
but those (held at 0), the feedback columns are recomputed with the stage-1 weights, stage 2
fits all weights.

It prints the in-sample fit, leave-one-query-out (LOQO) and two-fold (even/odd queries, both
ways) cross-validated nDCG@10, each fold re-running both stages on its training queries only,
and ablations (one feature group dropped, refit, LOQO; the title cosine and the query-adaptive
columns ``sem_no_expansion`` / ``sem_weak_keyword`` are groups too). Paste the printed weights into
``LEARNED_WEIGHTS`` in kb/search.py. It never reads data/eval/search_heldout.jsonl;
``--queries`` fits on another development file of the same format (e.g. one with pooled
judgments).

The query-kind gate columns (kb.ranking.KIND_FEATURES) and the lay-view column
(kb.ranking.LAY_FEATURES) get their own, weaker L2 penalty (``--gate-l2``, default 0.03: chosen
by dev LOQO and 2-fold with benchmarks/kind_search.py and benchmarks/rewrite_search.py).

The term-translation column ``kw_translation`` (kb.translation) has the ordinary L2 penalty
(``--weak-translation``: the gate's) and is ungated (``--translation-gated``: times
P(paraphrase)); round 9 compared those three variants (data/eval/README.md "Term translation")
and shipped the default. ``--drop ... kw_translation`` gives the round-8 baseline.

    PYTHONPATH=. HF_HUB_OFFLINE=1 python benchmarks/fit_search_weights.py \
        [--db PATH] [--queries PATH] [--method pairwise|ascent] [--l2 0.1] [--gate-l2 0.03] \
        [--quick | --no-ablations]
"""

from __future__ import annotations

import argparse
import dataclasses
import statistics
import sys
from collections.abc import Sequence
from pathlib import Path

import numpy as np
from numpy.typing import NDArray

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks.bench_search import DEV, ensure_store, load_queries  # noqa: E402
from kb.ranking import (  # noqa: E402
    FEATURES,
    KIND_FEATURES,
    LAY_FEATURES,
    TRANSLATION_FEATURES,
    FeatureMatrix,
    fit_pairwise,
    fit_weights,
    mean_ndcg,
)
from kb.search import Searcher, Tuning  # noqa: E402

PRF = (FEATURES.index("prf"), FEATURES.index("rm3"))
# Start of the ascent: roughly the previous fixed fusion (keyword and semantic halves).
START = np.array(
    [{"title": 0.5, "abstract": 0.5, "expansion": 0.25, "sem_paper": 0.35,
      "sem_sentence": 0.15}.get(f, 0.0) for f in FEATURES]
)  # fmt: skip


def gains_of(searcher: Searcher, queries: Sequence[dict]) -> list[NDArray[np.float32]]:
    """``2**grade - 1`` per paper (searcher order) for every query."""
    out = []
    for q in queries:
        g = np.zeros(len(searcher.papers), dtype=np.float32)
        for pid, grade in q["relevant"].items():
            if pid in searcher._pos:
                g[searcher._pos[pid]] = 2**grade - 1
        out.append(g)
    return out


def features_of(
    searcher: Searcher, queries: Sequence[dict], weights: NDArray[np.float64]
) -> list[FeatureMatrix]:
    """Feature matrices of ``queries`` with ``prf`` computed from a first stage of ``weights``."""
    saved = searcher.tuning
    searcher.tuning = dataclasses.replace(saved, weights=tuple(float(w) for w in weights))
    try:
        return [searcher.features(q["query"]) for q in queries]
    finally:
        searcher.tuning = saved


METHOD: dict[str, object] = {
    "method": "pairwise", "l2": 0.1, "gate_l2": 0.03, "weak_translation": False,
}  # fmt: skip  # set from the command line


def _fit(
    feats: list[FeatureMatrix], gains: Sequence[NDArray[np.float32]],
    start: NDArray[np.float64], fixed: tuple[int, ...],
) -> NDArray[np.float64]:  # fmt: skip
    if METHOD["method"] == "pairwise":
        weak = (*KIND_FEATURES, *LAY_FEATURES)
        if METHOD["weak_translation"]:
            weak = (*weak, *TRANSLATION_FEATURES)
        l2 = [float(METHOD["gate_l2" if f in weak else "l2"]) for f in FEATURES]
        return fit_pairwise(feats, gains, start=start, l2=l2, fixed=fixed)
    return fit_weights(feats, gains, start=start, fixed=fixed)[0]


def fit_two_stage(
    searcher: Searcher,
    queries: Sequence[dict],
    gains: Sequence[NDArray[np.float32]],
    drop: Sequence[int] = (),
) -> NDArray[np.float64]:
    """Stage 1 without ``prf``, recompute ``prf``, stage 2 with it; ``drop``: weights held at 0."""
    start = START.copy()
    start[list(drop)] = 0.0
    first = features_of(searcher, queries, start)
    w1 = _fit(first, gains, start, (*drop, *PRF))
    if set(PRF) <= set(drop):
        return w1
    second = features_of(searcher, queries, w1)
    w2 = _fit(second, gains, w1, tuple(drop))
    return w2


def evaluate(
    searcher: Searcher, queries: Sequence[dict], gains: Sequence[NDArray[np.float32]],
    weights: NDArray[np.float64],
) -> list[float]:  # fmt: skip
    """Per-query nDCG@10 of the learned fusion with ``weights`` (prf from the same weights)."""
    feats = features_of(searcher, queries, weights)
    return [mean_ndcg([f], [g], weights) for f, g in zip(feats, gains, strict=True)]


def cross_validate(
    searcher: Searcher, queries: list[dict], gains: list[NDArray[np.float32]],
    folds: list[list[int]], drop: Sequence[int] = (),
) -> list[float]:  # fmt: skip
    """Per-query held-out nDCG@10: each fold's queries scored with weights fitted on the rest."""
    scores = [0.0] * len(queries)
    for test in folds:
        train = [i for i in range(len(queries)) if i not in test]
        w = fit_two_stage(searcher, [queries[i] for i in train], [gains[i] for i in train], drop)
        held = evaluate(searcher, [queries[i] for i in test], [gains[i] for i in test], w)
        for i, s in zip(test, held, strict=True):
            scores[i] = s
    return scores


def by_kind(queries: list[dict], scores: list[float]) -> str:
    """Mean score overall and per query kind, as one line."""
    kinds = sorted({q["kind"] for q in queries})
    pairs = list(zip(queries, scores, strict=True))
    parts = [f"{k}={statistics.fmean(s for q, s in pairs if q['kind'] == k):.3f}" for k in kinds]
    return f"{statistics.fmean(scores):.3f} ({' '.join(parts)})"


# Held at 0 by default (the ablations this script prints, pairwise fitter, LOQO nDCG@10):
# round 1: 0.781 with all features, 0.804 without the embedding-Rocchio column ``prf``;
# round 2 (vocabulary without dev-query phrases): 0.764 with the title cosine, 0.792 without.
DROPPED: tuple[str, ...] = ("prf", "sem_title", "lay_view")

GROUPS = {
    "claims field": ["claims"],
    "expansion": ["expansion"],
    "coverage": ["coverage"],
    "prf (embedding Rocchio)": ["prf"],
    "rm3 (keyword feedback)": ["rm3"],
    "facets (facet, response, domain, direction, scaling)": [
        "facet",
        "response",
        "domain",
        "direction",
        "scaling",
    ],
    "response facet": ["response"],
    "domain facet": ["domain"],
    "sentence cosine": ["sem_sentence"],
    "title cosine": ["sem_title"],
    "embedding expansion (sem_expansion)": ["sem_expansion"],
    "query-adaptive (sem_no_expansion, sem_weak_keyword)": ["sem_no_expansion", "sem_weak_keyword"],
    "sem_no_expansion": ["sem_no_expansion"],
    "sem_weak_keyword": ["sem_weak_keyword"],
    "query-kind gate (sem_lay, kw_tech, kw_exact)": list(KIND_FEATURES),
    "lay view": list(LAY_FEATURES),
    "term translation (kw_translation)": list(TRANSLATION_FEATURES),
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--db", type=Path, default=Path("/tmp/kb_bench_search_ingested.duckdb"))
    parser.add_argument("--quick", action="store_true", help="skip LOQO and ablations")
    parser.add_argument(
        "--method", choices=("ascent", "pairwise"), default="pairwise",
        help="coordinate ascent on nDCG@10, or pairwise logistic regression",
    )  # fmt: skip
    parser.add_argument("--l2", type=float, default=0.1, help="pairwise: L2 penalty")
    parser.add_argument(
        "--gate-l2", type=float, default=0.03,
        help="pairwise: L2 penalty of the gate and lay-view columns (KIND_, LAY_FEATURES)",
    )  # fmt: skip
    parser.add_argument(
        "--queries", type=Path, default=DEV, metavar="PATH",
        help="development query file fitted and cross-validated on (default: %(default)s)",
    )  # fmt: skip
    parser.add_argument("--no-ablations", action="store_true", help="LOQO of the full model only")
    parser.add_argument(
        "--drop", nargs="*", default=list(DROPPED), choices=FEATURES, metavar="FEATURE",
        help=f"features whose weight stays 0 (default: {' '.join(DROPPED)})",
    )  # fmt: skip
    parser.add_argument(
        "--embed-terms",
        type=int,
        default=Tuning.embed_terms,
        help="sem_expansion: nearest corpus terms taken",
    )
    parser.add_argument(
        "--embed-floor",
        type=float,
        default=Tuning.embed_floor,
        help="sem_expansion: lowest cosine of a term taken",
    )
    parser.add_argument(
        "--embed-mode",
        choices=("query", "word", "both"),
        default=Tuning.embed_mode,
        help="sem_expansion: nearest to what",
    )
    parser.add_argument(
        "--query-adapter", default=None, metavar="PATH",
        help="query adapter file (kb.query_adapter; '' for none; default: the shipped setting)",
    )  # fmt: skip
    parser.add_argument(
        "--term-translation", default=None, metavar="PATH",
        help="term-translation table (kb.translation; default: the shipped one)",
    )  # fmt: skip
    parser.add_argument(
        "--translation-gated", action="store_true",
        help="kw_translation times P(paraphrase) (Tuning.translation_gated)",
    )  # fmt: skip
    parser.add_argument(
        "--weak-translation", action="store_true",
        help="pairwise: kw_translation gets the --gate-l2 penalty instead of --l2",
    )  # fmt: skip
    args = parser.parse_args()
    base = [FEATURES.index(f) for f in args.drop]
    print(f"features held at weight 0: {', '.join(args.drop) or 'none'}")
    METHOD.update(
        method=args.method, l2=args.l2, gate_l2=args.gate_l2,
        weak_translation=args.weak_translation,
    )  # fmt: skip
    queries = load_queries(args.queries)
    print(f"queries: {args.queries} ({len(queries)})")
    tuning = Tuning(
        embed_terms=args.embed_terms, embed_floor=args.embed_floor, embed_mode=args.embed_mode,
        translation_gated=args.translation_gated,
    )  # fmt: skip
    if args.query_adapter is not None:
        tuning = dataclasses.replace(tuning, query_adapter=args.query_adapter)
    print(f"query adapter: {tuning.query_adapter or 'none'}")
    if args.term_translation is not None:
        tuning = dataclasses.replace(tuning, term_translation=args.term_translation)
    print(f"term translation: {tuning.term_translation}")
    print(f"sem_expansion: {args.embed_mode}, top {args.embed_terms}, floor {args.embed_floor}")
    searcher = Searcher.open(ensure_store(args.db), str(args.db), tuning=tuning)
    gains = gains_of(searcher, queries)
    weights = fit_two_stage(searcher, queries, gains, base)
    print("fitted weights (all dev queries):")
    print("  " + ", ".join(f"{f}={w:g}" for f, w in zip(FEATURES, weights, strict=True)))
    print(f"  LEARNED_WEIGHTS = {tuple(float(w) for w in weights)}")
    print(
        f"in-sample fused nDCG@10 {by_kind(queries, evaluate(searcher, queries, gains, weights))}"
    )
    halves = [list(range(0, len(queries), 2)), list(range(1, len(queries), 2))]
    two_fold = cross_validate(searcher, queries, gains, halves, base)
    print(f"2-fold CV (even/odd, both ways) {by_kind(queries, two_fold)}")
    if args.quick:
        return
    loqo = [[i] for i in range(len(queries))]
    loqo_scores = cross_validate(searcher, queries, gains, loqo, base)
    print(f"leave-one-query-out CV {by_kind(queries, loqo_scores)}")
    for name, group in ({} if args.no_ablations else GROUPS).items():
        drop = sorted({*base, *(FEATURES.index(f) for f in group)})
        if set(drop) == set(base):
            continue
        scores = cross_validate(searcher, queries, gains, loqo, drop)
        print(f"  without {name}: LOQO {by_kind(queries, scores)}")


if __name__ == "__main__":
    main()
