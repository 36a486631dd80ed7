"""Embedding-based query expansion for the keyword side: corpus words nearest to the query.

Paraphrased queries avoid the papers' words, so BM25 of the query's own words finds little.
``TermExpansion`` holds the corpus's BM25 vocabulary (stemmed terms found in at least
``min_df`` papers, each with its most frequent surface form, from
``kb.keyword.KeywordIndex.vocabulary``) and one embedding per surface form, made with the
search model through the store's embedding cache (content hash + model, as ``kb.index`` does),
so the corpus is embedded once. For a query, ``nearest`` returns the terms whose embedding is
nearest to the query vector (one matrix product), weighted by cosine above a floor;
``kb.search.Searcher`` searches them with BM25 as the ``sem_expansion`` column of
``kb.ranking.FEATURES``.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence

import numpy as np
from threadpoolctl import ThreadpoolController

from kb.embed import FloatMatrix
from kb.errors import BadInputError

__all__ = ["TermExpansion"]

# One query's product is a 0.03 ms matrix-vector product; handed to OpenBLAS's threads it is
# no faster, and the idle threads then spin: measured on the seed corpus, CPU per query 38 ms
# against 21 ms wall (20 ms with one thread), time a busy machine's other work pays for.
_BLAS = ThreadpoolController()


class TermExpansion:
    """Corpus terms with unit-norm embeddings of their surface forms.

    Args:
        terms: stemmed BM25 terms (``kb.keyword.tokenize`` output), one per row.
        surfaces: the surface form embedded for each term (same order).
        vectors: (len(terms), dim) embeddings of ``surfaces``; rows are L2-normalised here.

    Raises:
        BadInputError: lengths disagree, or ``vectors`` is not two-dimensional.
    """

    def __init__(self, terms: Sequence[str], surfaces: Sequence[str], vectors: FloatMatrix):
        if len(terms) != len(surfaces) or vectors.ndim != 2 or len(vectors) != len(terms):
            raise BadInputError(
                f"term expansion needs one surface form and one vector row per term; got "
                f"{len(terms)} terms, {len(surfaces)} surface forms, vectors {vectors.shape}"
            )
        self.terms = list(terms)
        self.surfaces = list(surfaces)
        norms = np.linalg.norm(vectors, axis=1, keepdims=True)
        self.vectors: FloatMatrix = (vectors / np.where(norms > 0, norms, 1.0)).astype(np.float32)
        self._row = {t: i for i, t in enumerate(self.terms)}

    def __len__(self) -> int:
        return len(self.terms)

    def nearest(
        self,
        qvec: FloatMatrix,
        *,
        top: int,
        floor: float,
        exclude: Collection[str] = (),
    ) -> dict[str, float]:
        """The ``top`` terms nearest to ``qvec`` (cosine >= ``floor``), term -> cosine.

        Terms in ``exclude`` (the query's own words) are skipped. Empty when ``top`` < 1 or the
        vocabulary is empty.
        """
        if top < 1 or not self.terms:
            return {}
        norm = float(np.linalg.norm(qvec)) or 1.0
        with _BLAS.limit(limits=1, user_api="blas"):
            sims = self.vectors @ (qvec / norm).astype(np.float32)
        return self._pick(sims, top, floor, exclude)

    def nearest_to_words(
        self,
        words: Sequence[str],
        *,
        top: int,
        floor: float,
        exclude: Collection[str] = (),
    ) -> dict[str, float]:
        """Per query word in the vocabulary, its ``top`` nearest other terms; best cosine kept.

        ``words`` are stemmed terms; words outside the vocabulary are skipped (no model call).
        """
        out: dict[str, float] = {}
        for word in words:
            row = self._row.get(word)
            if row is None:
                continue
            for term, sim in self.nearest(
                self.vectors[row], top=top, floor=floor, exclude={*exclude, word}
            ).items():
                out[term] = max(sim, out.get(term, 0.0))
        return out

    def _pick(
        self, sims: FloatMatrix, top: int, floor: float, exclude: Collection[str]
    ) -> dict[str, float]:
        # Take a few extra candidates so excluded terms do not shrink the result.
        depth = min(len(sims), top + len(exclude))
        best = np.argpartition(-sims, depth - 1)[:depth]
        best = best[np.argsort(-sims[best], kind="stable")]
        out: dict[str, float] = {}
        for i in best.tolist():
            if len(out) == top or float(sims[i]) < floor:
                break
            if self.terms[i] not in exclude:
                out[self.terms[i]] = float(sims[i])
        return out
