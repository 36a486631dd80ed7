"""Learned fusion: a few explainable features per (query, paper), combined linearly.

:class:`kb.search.Searcher` computes, for one query and every paper, the columns named in
:data:`FEATURES` (each scaled to about [0, 1] within the query, so one weight fits all queries)
and ranks by their weighted sum. The shipped weights (``Tuning.weights``) are fitted on the
development queries by :func:`fit_pairwise` (L2-regularised pairwise logistic regression);
:func:`fit_weights` (coordinate ascent on mean nDCG@10) is the alternative, which overfits 40
queries. ``benchmarks/fit_search_weights.py`` runs either and reports leave-one-query-out and
2-fold figures.

Features:

- ``title``, ``abstract``, ``claims``: BM25 of the query's own words in that field.
- ``expansion``: BM25 (title + abstract) of the scaling-vocabulary words the query implies
  (:func:`kb.vocabulary.expand_query`) that the query does not already contain.
- ``coverage``: IDF-weighted share of the query's words found in the title or abstract.
- ``sem_paper``, ``sem_sentence``: cosine of the query to the paper's whole text, and to its
  best-matching abstract sentence.
- ``sem_title``: cosine of the query to the paper's title alone (titles name the topic in few
  words, which the whole-text vector dilutes).
- ``sem_no_expansion``, ``sem_weak_keyword``: query-adaptive fusion (:func:`query_adaptive`).
  The semantic evidence (mean of ``sem_paper`` and ``sem_sentence``) times a query-level
  predictor that keyword evidence is weak: no scaling vocabulary was recognised in the query
  (so the keyword side has no expansion to lean on), and one minus the best paper's
  ``coverage`` (the query's words are not the papers' words). A positive weight on them moves
  weight from BM25 to the embeddings for exactly those queries.
- ``sem_expansion``: BM25 (title + abstract) of the corpus terms whose embedding is nearest to
  the query's (:class:`kb.expansion.TermExpansion`), each weighted by its cosine; the query's
  own words excluded. Reaches papers whose words a paraphrased query avoids.
- ``prf``: cosine to a pseudo-relevance-feedback query vector (Rocchio: the query vector plus
  the mean whole-text vector of the first-stage top papers).
- ``rm3``: BM25 of the words most typical of the first-stage top papers (RM3-style keyword
  feedback), the query's own words excluded.
- ``facet``: share of the query's scale variables (:func:`kb.vocabulary.query_variables`) that
  the paper's extracted claims or exponents concern.
- ``response``: a claim of the paper concerns what the query asks to see scale
  (:func:`kb.vocabulary.query_responses`, e.g. the compute-optimal model size).
- ``domain``: the paper's domain is one the query names (:func:`kb.vocabulary.query_domains`).
- ``direction``: a claim of the paper goes the way the query asks (e.g. "worsens").
- ``scaling``: the paper is labelled ``studies_scaling_law`` and the query asks about scaling.
- ``sem_lay``, ``kw_tech``, ``kw_exact``: the query-kind gate (:func:`kind_gate`). The
  classifier :class:`kb.query_kind.QueryKindModel` gives P(kind | query) from the query's
  wording; ``sem_lay`` is P(paraphrase) times the semantic evidence, ``kw_tech`` is
  (1 - P(paraphrase)) times the keyword evidence (BM25 title and abstract), ``kw_exact`` is
  P(exact) times the keyword evidence. Lay-worded queries lean on the embeddings, technical
  ones on BM25.
- ``lay_view``: P(paraphrase) times the scaled cosine of the query to the paper's lay view
  (:func:`kb.lay_view.lay_view`: its extracted claims restated in plain words, e.g. "with
  bigger models ... the loss gets better"); 0 for papers without claims. Lay queries meet the
  papers' findings in their own register.
- ``kw_translation``: BM25 (title + abstract) of the document terms the query's words translate
  to (:meth:`kb.translation.TermTranslation.translate`: P(doc term | query term), IBM Model 1
  fitted on queries written for abstracts outside the seed corpus), the query's own words
  excluded; times P(paraphrase) when ``Tuning.translation_gated``. Lay words reach the papers'
  vocabulary on the keyword side.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
from numpy.typing import NDArray
from scipy import optimize  # type: ignore[import-untyped]

__all__ = [
    "ADAPTIVE_FEATURES",
    "FACET_FEATURES",
    "FEATURES",
    "KIND_FEATURES",
    "LAY_FEATURES",
    "TRANSLATION_FEATURES",
    "FeatureMatrix",
    "PaperFacets",
    "fit_pairwise",
    "fit_weights",
    "kind_gate",
    "lay_similarity",
    "mean_ndcg",
    "ndcg_at",
    "query_adaptive",
    "scale_bm25",
    "scale_cosine",
]

FeatureMatrix = NDArray[np.float32]

FEATURES: tuple[str, ...] = (
    "title", "abstract", "claims", "expansion", "coverage", "sem_paper", "sem_sentence",
    "prf", "rm3", "facet", "response", "domain", "direction", "scaling",
    "sem_title", "sem_no_expansion", "sem_weak_keyword", "sem_expansion",
    "sem_lay", "kw_tech", "kw_exact", "lay_view", "kw_translation",
)  # fmt: skip
# The query-adaptive interaction columns (see :func:`query_adaptive`).
ADAPTIVE_FEATURES: tuple[str, ...] = ("sem_no_expansion", "sem_weak_keyword")
# The query-kind gate columns (see :func:`kind_gate`).
KIND_FEATURES: tuple[str, ...] = ("sem_lay", "kw_tech", "kw_exact")
# The lay-view column (see :func:`lay_similarity`).
LAY_FEATURES: tuple[str, ...] = ("lay_view",)
# The learned term-translation column (see :mod:`kb.translation`).
TRANSLATION_FEATURES: tuple[str, ...] = ("kw_translation",)

# Values coordinate ascent tries for each weight.
WEIGHT_GRID: tuple[float, ...] = (0.0, 0.05, 0.1, 0.15, 0.2, 0.3, 0.4, 0.5, 0.7, 1.0)


def scale_bm25(scores: NDArray[np.float32]) -> NDArray[np.float32]:
    """BM25 scores divided by the query's best score (all zeros stay zeros)."""
    top = float(scores.max()) if scores.size else 0.0
    out: NDArray[np.float32] = (scores / top if top > 0 else scores * 0).astype(np.float32)
    return out


def scale_cosine(sims: NDArray[np.float32]) -> NDArray[np.float32]:
    """Cosines mapped so the query's median paper is 0 and its best is 1 (below median: 0)."""
    if not sims.size:
        return sims
    lo, hi = float(np.median(sims)), float(sims.max())
    if hi <= lo:
        return np.zeros_like(sims)
    out: NDArray[np.float32] = np.clip((sims - lo) / (hi - lo), 0, None).astype(np.float32)
    return out


def query_adaptive(
    sem_paper: NDArray[np.float32],
    sem_sentence: NDArray[np.float32],
    coverage: NDArray[np.float32],
    *,
    expanded: bool,
) -> dict[str, NDArray[np.float32]]:
    """The :data:`ADAPTIVE_FEATURES` columns: semantic evidence where keyword evidence is weak.

    Args:
        sem_paper, sem_sentence: the query's scaled cosine columns (:func:`scale_cosine`).
        coverage: the query's ``coverage`` column (IDF-weighted share of its words per paper).
        expanded: whether scaling-vocabulary expansion added words to the keyword query.

    Returns ``sem_no_expansion`` = (0 if ``expanded`` else 1) * semantic and
    ``sem_weak_keyword`` = (1 - max coverage) * semantic, semantic being the mean of the two
    cosine columns. Both are constant multiples of one column within a query, so they only
    change how much the query trusts the embeddings relative to BM25.
    """
    semantic = ((sem_paper + sem_sentence) / 2).astype(np.float32)
    best = float(coverage.max()) if coverage.size else 0.0
    return {
        "sem_no_expansion": semantic * np.float32(0.0 if expanded else 1.0),
        "sem_weak_keyword": semantic * np.float32(1.0 - min(max(best, 0.0), 1.0)),
    }


def kind_gate(
    title: NDArray[np.float32],
    abstract: NDArray[np.float32],
    sem_paper: NDArray[np.float32],
    sem_sentence: NDArray[np.float32],
    kinds: dict[str, float],
) -> dict[str, NDArray[np.float32]]:
    """The :data:`KIND_FEATURES` columns: evidence weighed by what kind of query this is.

    Args:
        title, abstract: the query's scaled BM25 columns; their mean is the keyword evidence.
        sem_paper, sem_sentence: the scaled cosine columns; their mean is the semantic evidence.
        kinds: P(kind | query) for ``exact``, ``paraphrase``, ``conceptual``
            (:meth:`kb.query_kind.QueryKindModel.predict`).

    Returns ``sem_lay`` = P(paraphrase) * semantic, ``kw_tech`` = (1 - P(paraphrase)) *
    keyword and ``kw_exact`` = P(exact) * keyword. Like :func:`query_adaptive`, each is a
    constant multiple of one column within a query: they move trust between the two sides.
    """
    keyword = ((title + abstract) / 2).astype(np.float32)
    semantic = ((sem_paper + sem_sentence) / 2).astype(np.float32)
    lay = min(max(kinds["paraphrase"], 0.0), 1.0)
    return {
        "sem_lay": semantic * np.float32(lay),
        "kw_tech": keyword * np.float32(1.0 - lay),
        "kw_exact": keyword * np.float32(min(max(kinds["exact"], 0.0), 1.0)),
    }


def lay_similarity(
    sims: NDArray[np.float32], has_view: NDArray[np.bool_], paraphrase: float
) -> NDArray[np.float32]:
    """The ``lay_view`` column: P(paraphrase) times the scaled lay-view cosine.

    Args:
        sims: per paper, the query's cosine to the paper's lay view (any value where the
            paper has none).
        has_view: which papers have a lay view; only they are scaled (:func:`scale_cosine`,
            among themselves) and the rest get 0.
        paraphrase: P(paraphrase | query) from the query-kind classifier (clipped to [0, 1]).
    """
    out = np.zeros(len(sims), dtype=np.float32)
    if has_view.any():
        out[has_view] = scale_cosine(sims[has_view].astype(np.float32))
    scaled: NDArray[np.float32] = out * np.float32(min(max(paraphrase, 0.0), 1.0))
    return scaled


def ndcg_at(ranked: Sequence[str], relevant: dict[str, int], k: int = 10) -> float:
    """Normalised discounted cumulative gain of the top ``k``, gain ``2**grade - 1``."""
    dcg = sum((2 ** relevant.get(p, 0) - 1) / math.log2(i + 2) for i, p in enumerate(ranked[:k]))
    ideal = sorted(relevant.values(), reverse=True)[:k]
    idcg = sum((2**g - 1) / math.log2(i + 2) for i, g in enumerate(ideal))
    return dcg / idcg if idcg else 0.0


def _query_ndcg(
    scores: NDArray[np.floating[Any]], gains: NDArray[np.float32], ideal: float
) -> float:
    top = np.argsort(-scores, kind="stable")[:10]
    discounts = 1.0 / np.log2(np.arange(2, len(top) + 2))
    return float((gains[top] * discounts).sum() / ideal) if ideal else 0.0


def _ideal(gains: NDArray[np.float32]) -> float:
    best = np.sort(gains)[::-1][:10]
    return float((best / np.log2(np.arange(2, len(best) + 2))).sum())


def mean_ndcg(
    features: Sequence[FeatureMatrix],
    gains: Sequence[NDArray[np.float32]],
    weights: NDArray[np.float64],
) -> float:
    """Mean nDCG@10 of ranking each query's papers by ``features @ weights``.

    ``features[q]`` is (papers, len(FEATURES)); ``gains[q]`` is ``2**grade - 1`` per paper.
    """
    return float(
        np.mean(
            [_query_ndcg(f @ weights, g, _ideal(g)) for f, g in zip(features, gains, strict=True)]
        )
    )


def fit_weights(
    features: Sequence[FeatureMatrix],
    gains: Sequence[NDArray[np.float32]],
    *,
    start: NDArray[np.float64] | None = None,
    sweeps: int = 4,
    grid: Sequence[float] = WEIGHT_GRID,
    fixed: Sequence[int] = (),
    on_sweep: Callable[[int, float], None] | None = None,
) -> tuple[NDArray[np.float64], float]:
    """Weights maximising mean nDCG@10 by coordinate ascent over ``grid``; returns (w, nDCG).

    Each sweep tries every grid value for each weight in turn (others held) and keeps the best,
    ties going to the smaller weight; it stops early when a sweep changes nothing. Weights at
    the indices in ``fixed`` keep their ``start`` value. Deterministic for given inputs.
    """
    n_feat = features[0].shape[1]
    w = np.zeros(n_feat) if start is None else np.array(start, dtype=np.float64)
    ideals = [_ideal(g) for g in gains]

    def score(weights: NDArray[np.float64]) -> float:
        return float(
            np.mean(
                [
                    _query_ndcg(f @ weights, g, i)
                    for f, g, i in zip(features, gains, ideals, strict=True)
                ]
            )
        )

    best = score(w)
    for sweep in range(sweeps):
        changed = False
        for j in range(n_feat):
            if j in fixed:
                continue
            for value in sorted(grid):
                if value == w[j]:
                    continue
                trial = w.copy()
                trial[j] = value
                s = score(trial)
                if s > best + 1e-9:
                    best, w, changed = s, trial, True
        if on_sweep is not None:
            on_sweep(sweep, best)
        if not changed:
            break
    return w, best


class PaperFacets:
    """What the claim extractor says about every paper, in the searcher's paper order."""

    def __init__(
        self,
        variables: Sequence[set[str]],
        directions: Sequence[set[str]],
        responses: Sequence[set[str]],
        domains: Sequence[str | None],
        studies_law: Sequence[bool],
    ):
        self.variables = list(variables)
        self.directions = list(directions)
        self.responses = list(responses)
        self.domains = np.array([d or "" for d in domains])
        self.studies_law = np.array(studies_law, dtype=np.float32)
        self._with_variables = [i for i, v in enumerate(self.variables) if v]
        self._with_responses = [i for i, r in enumerate(self.responses) if r]
        self._with_directions = [i for i, d in enumerate(self.directions) if d]

    def match(
        self, variables: Sequence[str], responses: Sequence[str], domains: Sequence[str],
        directions: Sequence[str], scaling: bool,
    ) -> dict[str, NDArray[np.float32]]:  # fmt: skip
        """The :data:`FACET_FEATURES` columns for what the query asks about."""
        n = len(self.variables)
        out = {name: np.zeros(n, dtype=np.float32) for name in FACET_FEATURES}
        # Only papers with any claim facet can match (most of a large corpus has none), so
        # only they are visited: a Python loop over 100,000 papers was 50 ms per query.
        if variables:
            wanted = set(variables)
            for i in self._with_variables:
                out["facet"][i] = len(self.variables[i] & wanted) / len(wanted)
        if responses:
            asked = set(responses)
            for i in self._with_responses:
                out["response"][i] = bool(self.responses[i] & asked)
        if domains:
            out["domain"] = np.isin(self.domains, list(domains)).astype(np.float32)
        if directions:
            wanted = set(directions)
            for i in self._with_directions:
                out["direction"][i] = bool(self.directions[i] & wanted)
        if scaling:
            out["scaling"] = self.studies_law.copy()
        return out


FACET_FEATURES: tuple[str, ...] = ("facet", "response", "domain", "direction", "scaling")


def fit_pairwise(
    features: Sequence[FeatureMatrix],
    gains: Sequence[NDArray[np.float32]],
    *,
    start: NDArray[np.float64],
    l2: float | Sequence[float] | NDArray[np.float64] = 1.0,
    depth: int = 50,
    fixed: Sequence[int] = (),
    lower: float | Sequence[float] | NDArray[np.float64] = 0.0,
) -> NDArray[np.float64]:
    """Weights from L2-regularised pairwise logistic regression (RankNet-style).

    Pairs per query: each paper against every less relevant one among the ``depth`` best
    papers by ``start`` plus all relevant papers; every query weighs the same. ``l2`` is one
    penalty for every weight or one per weight; ``lower`` is the lower bound of every weight
    or of each (0 by default, so weights are non-negative; ``-inf`` leaves a weight free to
    be negative). Weights at ``fixed`` indices are held at 0. Returns weights scaled to sum 1
    (ranking is scale-free), or as fitted when their sum is not positive.
    """
    diffs: list[NDArray[np.float64]] = []
    shares: list[NDArray[np.float64]] = []
    for f, g in zip(features, gains, strict=True):
        pool = np.union1d(np.argsort(-(f @ start), kind="stable")[:depth], np.flatnonzero(g))
        hi, lo = np.meshgrid(pool, pool, indexing="ij")
        keep = g[hi] > g[lo]
        if not keep.any():
            continue
        d = (f[hi[keep]] - f[lo[keep]]).astype(np.float64)
        diffs.append(d)
        shares.append(np.full(len(d), 1.0 / len(d)))
    x = np.concatenate(diffs)
    share = np.concatenate(shares) / len(diffs)
    free = np.array([j not in fixed for j in range(x.shape[1])])
    penalty = np.broadcast_to(np.asarray(l2, dtype=np.float64), (x.shape[1],))

    def loss(w: NDArray[np.float64]) -> tuple[float, NDArray[np.float64]]:
        margin = x @ w
        value = float(share @ np.logaddexp(0.0, -margin)) + float((penalty * w) @ w) / 2
        grad = -(x.T @ (share * _sigmoid(-margin))) + penalty * w
        return value, grad * free

    floor = np.broadcast_to(np.asarray(lower, dtype=np.float64), (x.shape[1],))
    bounds = [
        (float(lo) if np.isfinite(lo) else None, None) if ok else (0.0, 0.0)
        for lo, ok in zip(floor, free, strict=True)
    ]
    result = optimize.minimize(
        loss, np.zeros(x.shape[1]), jac=True, method="L-BFGS-B", bounds=bounds
    )
    w = np.asarray(result.x, dtype=np.float64)
    total = float(w.sum())
    return w / total if total > 0 else w


def _sigmoid(z: NDArray[np.float64]) -> NDArray[np.float64]:
    out: NDArray[np.float64] = 0.5 * (1.0 + np.tanh(z / 2))
    return out
