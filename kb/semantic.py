"""The semantic side of paper search: FAISS rows mapped to papers, cosines and Rocchio feedback.

A ``kb.index.LoadedIndex`` holds, per paper, one whole-text ("paper") row and one row per
abstract sentence. ``SemanticIndex`` maps those rows to paper positions (the searcher's order)
and answers the questions ``kb.search.Searcher`` asks of it: per-paper cosines to a query
vector (whole text and best row, optionally restricted to some papers), the Rocchio
pseudo-relevance-feedback cosines, and the papers nearest to one paper (``kb search
--related``).
"""

from __future__ import annotations

from typing import Any

import faiss as _faiss
import numpy as np
from numpy.typing import NDArray

from kb.embed import FloatMatrix
from kb.index import LoadedIndex, search_params

# faiss's bundled stubs lack the SWIG search-parameter classes used for filtered search.
faiss: Any = _faiss

__all__ = ["SemanticIndex"]


class SemanticIndex:
    """The FAISS index of a store's papers, with its rows mapped to paper positions.

    ``positions`` maps every indexed paper id to its position among the ``n_papers`` papers.
    """

    def __init__(self, index: LoadedIndex, positions: dict[str, int], n_papers: int):
        self.index = index
        self.n_papers = n_papers
        self.row_paper = np.array([positions[r.paper_id] for r in index.rows], dtype=np.int64)
        self.is_paper_row = np.array([r.field == "paper" for r in index.rows], dtype=bool)
        self.paper_row = np.full(n_papers, -1, dtype=np.int64)  # whole-text row of each paper
        for paper_row in np.flatnonzero(self.is_paper_row).tolist():
            self.paper_row[self.row_paper[paper_row]] = paper_row
        self.rows_of: dict[int, list[int]] = {}  # paper position -> its rows, in index order
        for row_id, r in enumerate(index.rows):
            self.rows_of.setdefault(positions[r.paper_id], []).append(row_id)

    def params(self, sel: Any) -> Any:
        """FAISS search parameters restricting a search to the rows ``sel`` selects."""
        return search_params(self.index.faiss_index, self.index.meta.kind, sel)

    def parts(
        self, qvec: FloatMatrix, allowed: list[int] | None, depth: int
    ) -> tuple[FloatMatrix, FloatMatrix]:
        """Per paper: cosine to its whole-text row, and to its best row (sentence or whole).

        ``depth`` index rows are fetched (capped at the index size); papers not reached, or
        not in ``allowed`` (positions; None: all), get the lowest cosine fetched.
        """
        index = self.index.faiss_index
        n = self.n_papers
        if index.ntotal == 0:
            return np.zeros(n, dtype=np.float32), np.zeros(n, dtype=np.float32)
        params = None
        if allowed is not None:
            rows = [r for i in allowed for r in self.rows_of[i]]
            params = self.params(faiss.IDSelectorBatch(np.array(rows, dtype=np.int64)))
        depth = min(depth, index.ntotal)
        # One query gains nothing from OpenMP threads, whose spinning costs ~10x on a busy
        # machine (benchmarks/bench_ann.py: 60 ms vs 0.6 ms p95 at 10k rows, load 8, 2 cores).
        threads = faiss.omp_get_max_threads()
        faiss.omp_set_num_threads(1)
        try:
            sims, ids = index.search(qvec[None, :], depth, params=params)
        finally:
            faiss.omp_set_num_threads(threads)
        sims, ids = sims[0], ids[0]
        keep = ids >= 0
        sims, ids = sims[keep], ids[keep]
        floor = float(sims.min()) if sims.size else 0.0
        paper_sim = np.full(n, floor, dtype=np.float32)
        sent_sim = np.full(n, floor, dtype=np.float32)
        owners = self.row_paper[ids]
        is_paper = self.is_paper_row[ids]
        paper_sim[owners[is_paper]] = sims[is_paper]
        np.maximum.at(sent_sim, owners, sims)  # a paper row counts as its best "sentence" too
        return paper_sim, sent_sim

    def above(self, qvec: FloatMatrix, radius: float) -> FloatMatrix | None:
        """Per paper: the cosine of its best row when above ``radius``, else -inf, looking at
        every row (a range search: cheaper than a deep top-k when few rows are that close).
        None for the approximate index kinds, whose range search is not offered here."""
        index = self.index.faiss_index
        if self.index.meta.kind != "flat":
            return None
        out = np.full(self.n_papers, -np.inf, dtype=np.float32)
        if index.ntotal == 0:
            return out
        threads = faiss.omp_get_max_threads()  # one query: no OpenMP threads (see parts)
        faiss.omp_set_num_threads(1)
        try:
            _, sims, ids = index.range_search(qvec[None, :], radius)
        finally:
            faiss.omp_set_num_threads(threads)
        np.maximum.at(out, self.row_paper[ids], sims)
        return out

    def rocchio(
        self,
        qvec: FloatMatrix,
        top: NDArray[np.intp],
        allowed: list[int] | None,
        *,
        beta: float,
        depth: int,
    ) -> FloatMatrix | None:
        """Rocchio: per-paper whole-text cosine to the query plus ``beta`` times the mean
        whole-text vector of the ``top`` papers (None: none of them has a whole-text row)."""
        rows = [int(self.paper_row[i]) for i in top if self.paper_row[i] >= 0]
        if not rows:
            return None
        index = self.index.faiss_index
        centroid = np.mean([index.reconstruct(r) for r in rows], axis=0)
        vec = qvec + beta * centroid
        vec = (vec / (np.linalg.norm(vec) or 1.0)).astype(np.float32)
        paper_sim, _ = self.parts(vec, allowed, depth)
        return paper_sim

    def nearest_papers(self, pos: int, k: int) -> tuple[FloatMatrix, list[tuple[int, float]]]:
        """The whole-text vector of paper ``pos`` and the (position, cosine) of the papers whose
        whole-text vectors are nearest to it, best first, itself excluded (at most ``k``)."""
        index = self.index.faiss_index
        row = next(r for r in self.rows_of[pos] if self.is_paper_row[r])
        qvec: FloatMatrix = index.reconstruct(row)
        sel = faiss.IDSelectorBatch(np.flatnonzero(self.is_paper_row).astype(np.int64))
        depth = min(k + 1, index.ntotal)
        scores, ids = index.search(qvec[None, :], depth, params=self.params(sel))
        near = [
            (int(self.row_paper[r]), float(s))
            for s, r in zip(scores[0], ids[0], strict=True)
            if r >= 0 and int(self.row_paper[r]) != pos
        ]
        return qvec, near[:k]
