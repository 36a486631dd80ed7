"""Late interaction from the encoder's own token vectors (issue 5, round 12): does MaxSim pay?

ColBERT-style MaxSim (Khattab & Zaharia, SIGIR 2020) without a ColBERT model: the query is run
through MiniLM anyway (kb.embed.LeanQueryEmbedder) and mean-pooled; its token outputs before
pooling cost nothing extra at query time. Every paper's title + abstract is run through the same
encoder (abstracts longer than the encoder's 256 word pieces in windows overlapping by 64, each
piece kept once), and its token vectors are kept, L2-normalised, as float16. Only content
pieces count on both sides: [CLS], [SEP], padding, punctuation, single characters and the
keyword index's stop-words (``kb.keyword``'s list) are dropped; "##" continuation pieces of a
kept word stay. A query with no content piece falls back to all its non-special pieces.

Per (query, paper): for every query content piece the max cosine to the paper's content
pieces, then the mean over query pieces; each column is scaled within the query by
kb.ranking.scale_cosine (median paper 0, best 1), as the other cosine columns are.

Variants, declared before the first run (the new columns have the ordinary L2 0.1, lower
bound 0; every other column as shipped: the 18 round-3 columns, the query-kind gate at L2 0.03,
``kw_translation`` at L2 0.1, ``prf``, ``sem_title``, ``lay_view`` held at 0):

- A ``maxsim``: plain mean over query pieces, paper pieces from title + abstract.
- B ``maxsim_idf``: the mean weighted by each query piece's IDF over the papers' content pieces
  (BM25's ``log(1 + (N - df + 0.5) / (df + 0.5))``, N papers, df papers holding the piece).
- C ``maxsim_title``: plain, paper pieces from the title alone (the title encoded by itself).
- D ``maxsim_idf`` + ``maxsim_title``: B's and C's columns together.

Ship rule (the project's, fixed before this run): LOQO and 2-fold (even/odd) each >= +0.005
over the same code's baseline (the shipped configuration refitted here). 2-fold over 5 random
halvings is reported beside them. Fitting is benchmarks/kind_search.py's ``Experiment`` (the
two-stage pairwise fit of fit_search_weights.py with RM3 recomputed per fold), reused as
benchmarks/rewrite_search.py reuses it: the new columns are appended to the gate columns and
``kw_translation``. Development queries only; it never reads a held-out file. Unjudged papers
count as not relevant; ``--pool PATH`` writes the unjudged (query, paper) pairs of every
ranking scored (in-sample, LOQO, both 2-folds) in ``pool_search.py pool``'s format, for blind
judging. It also prints the storage per paper and the extra query time of the MaxSim columns.
Figures and verdict: data/eval/README.md, "Round 12" (2026-12-03): D passed on the judgments
of its first run, and no variant passes once its 40 unjudged top-10 pairs were judged blind, so
nothing ships; the wiring into kb (branch tokensim, kb.late) was not merged.

    PYTHONPATH=. HF_HUB_OFFLINE=1 KB_SHARED=/work/shared python benchmarks/tokensim_search.py \\
        --db /tmp/tokensim/kb.duckdb [--queries PATH] [--seeds 5] [--pool PATH] [--only A B]
"""

from __future__ import annotations

import argparse
import re
import statistics
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks._jsonl import write_jsonl  # noqa: E402
from benchmarks.bench_search import DEV, load_queries  # noqa: E402
from benchmarks.kind_search import OLD, Experiment, Variant, _gate, by_kind, load  # noqa: E402
from benchmarks.pool_search import judged  # noqa: E402
from kb.embed import LeanQueryEmbedder  # noqa: E402
from kb.index import paper_text  # noqa: E402
from kb.keyword import _STOP  # noqa: E402
from kb.query_kind import QueryKindModel  # noqa: E402
from kb.ranking import KIND_FEATURES, FeatureMatrix, scale_cosine  # noqa: E402
from kb.search import Searcher, top_k  # noqa: E402

Vector = NDArray[np.float32]
WINDOW_STRIDE = 64
_WORD = re.compile(r"\w\w+")


@dataclass
class TokenSet:
    """Content-piece vectors of a list of texts, stacked, with each text's start offset."""

    ids: NDArray[np.int64]  # word-piece ids, one per row
    vectors: NDArray[np.float16]  # (rows, dim), L2-normalised
    offsets: NDArray[np.int64]  # text t's rows are offsets[t]:offsets[t + 1]

    def owner(self) -> NDArray[np.int64]:
        """The text each row belongs to."""
        return np.repeat(np.arange(len(self.offsets) - 1), np.diff(self.offsets))


def content_mask(tokenizer: Any, ids: Sequence[int]) -> NDArray[np.bool_]:
    """True for content pieces: not special, not punctuation or one character, not a stop-word
    (a "##" piece is kept: it continues a word that was)."""
    special = set(tokenizer.all_special_ids)
    out = []
    for i, piece in zip(ids, tokenizer.convert_ids_to_tokens(list(ids)), strict=True):
        if i in special:
            out.append(False)
        elif piece.startswith("##"):
            out.append(True)
        else:
            out.append(bool(_WORD.fullmatch(piece)) and piece.lower() not in _STOP)
    return np.array(out, dtype=bool)


def encode_tokens(enc: LeanQueryEmbedder, texts: Sequence[str], *, batch: int = 16) -> TokenSet:
    """Normalised content-piece vectors of every text (windows of the encoder's length)."""
    import torch

    tok, model, max_len = enc._tokenizer, enc._model, enc._max_len
    ids_out: list[NDArray[np.int64]] = []
    vec_out: list[NDArray[np.float16]] = []
    with torch.inference_mode():
        for start in range(0, len(texts), batch):
            chunk = list(texts[start : start + batch])
            feats = tok(chunk, padding=True, truncation=True, max_length=max_len,
                        stride=WINDOW_STRIDE, return_overflowing_tokens=True,
                        return_tensors="pt")  # fmt: skip
            owner = feats.pop("overflow_to_sample_mapping").numpy()
            hidden = model(**feats)[0]
            hidden = torch.nn.functional.normalize(hidden, p=2, dim=-1).numpy()
            ids = feats["input_ids"].numpy()
            mask = feats["attention_mask"].numpy().astype(bool)
            for t in range(len(chunk)):
                rows_i, rows_v = [], []
                for k, w in enumerate(np.flatnonzero(owner == t)):
                    keep = mask[w] & content_mask(tok, ids[w].tolist())
                    if k:  # a later window repeats the previous one's last pieces: count once
                        keep[1 : 1 + WINDOW_STRIDE] = False
                    if not keep.any():  # all stop-words: fall back to every real piece
                        keep = mask[w] & ~np.isin(ids[w], tok.all_special_ids)
                    rows_i.append(ids[w][keep])
                    rows_v.append(hidden[w][keep])
                ids_out.append(np.concatenate(rows_i).astype(np.int64))
                vec_out.append(np.concatenate(rows_v).astype(np.float16))
    offsets = np.concatenate([[0], np.cumsum([len(i) for i in ids_out])]).astype(np.int64)
    return TokenSet(np.concatenate(ids_out), np.concatenate(vec_out), offsets)


def piece_idf(papers: TokenSet, vocab_size: int) -> NDArray[np.float32]:
    """BM25 IDF of every word-piece id over the papers' content pieces."""
    n = len(papers.offsets) - 1
    pairs = np.unique(np.stack([papers.owner(), papers.ids]), axis=1)
    df = np.bincount(pairs[1], minlength=vocab_size).astype(np.float64)
    return np.log1p((n - df + 0.5) / (df + 0.5)).astype(np.float32)


class MaxSim:
    """MaxSim of a query's pieces against every paper's (float32 copy of the stored vectors)."""

    def __init__(self, papers: TokenSet):
        self.vectors = papers.vectors.astype(np.float32)
        self.starts = papers.offsets[:-1]

    def per_piece(self, query: Vector) -> Vector:
        """(query pieces, papers): each piece's best cosine in each paper."""
        sims = query @ self.vectors.T
        out: Vector = np.maximum.reduceat(sims, self.starts, axis=1)
        return out

    def column(self, query: Vector, weights: Vector | None = None) -> Vector:
        """The scaled MaxSim column: (weighted) mean over the query's pieces."""
        best = self.per_piece(query)
        w = np.full(len(query), 1.0 / len(query)) if weights is None else weights / weights.sum()
        return scale_cosine((w @ best).astype(np.float32))


@dataclass
class Columns:
    """The candidate columns of one query (papers long each)."""

    maxsim: Vector
    maxsim_idf: Vector
    maxsim_title: Vector


Pick = Callable[[Columns], list[Vector]]
VARIANTS: dict[str, Pick] = {
    "A maxsim": lambda c: [c.maxsim],
    "B maxsim_idf": lambda c: [c.maxsim_idf],
    "C maxsim_title": lambda c: [c.maxsim_title],
    "D maxsim_idf + maxsim_title": lambda c: [c.maxsim_idf, c.maxsim_title],
}


class Tracked(Experiment):
    """kind_search.Experiment that remembers the top 10 of every ranking it scores."""

    def __init__(self, *args: Any, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self.tops: list[tuple[int, tuple[int, ...]]] = []

    def score(self, i: int, w: NDArray[np.float64]) -> float:
        x = self.matrix(i, w)
        self.tops.append((i, tuple(int(t) for t in top_k(x @ w, 10))))
        return super().score(i, w)


def judged_at_10(searcher: Searcher, raw: list[dict], tops: list[tuple[int, tuple[int, ...]]]
                 ) -> float:  # fmt: skip
    """Mean share of judged papers in the recorded top 10s."""
    ids = [p.paper_id for p in searcher.papers]
    return statistics.fmean(
        sum(ids[t] in judged(raw[i]) for t in top) / len(top) for i, top in tops
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--db", type=Path, default=Path("/tmp/tokensim/kb.duckdb"))
    parser.add_argument("--queries", type=Path, default=DEV, metavar="PATH")
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument("--only", nargs="*", default=None, help="variant letters to run")
    parser.add_argument("--pool", type=Path, default=None, metavar="PATH")
    args = parser.parse_args()
    searcher, queries = load(args.db, args.queries)
    raw = load_queries(args.queries)
    enc = searcher.embedder
    if not isinstance(enc, LeanQueryEmbedder):
        enc = LeanQueryEmbedder()
    model = QueryKindModel.load()
    probs = [model.predict(q.text, searcher._encode(q.text)) for q in queries]
    translation = [
        searcher.keyword.expansion_scores(searcher.term_translation.translate(q.text))
        for q in queries
    ]
    t0 = time.perf_counter()
    whole = encode_tokens(enc, [paper_text(p) for p in searcher.papers])
    titles = encode_tokens(enc, [p.title for p in searcher.papers])
    n = len(searcher.papers)
    print(f"paper pieces encoded in {time.perf_counter() - t0:.0f} s: {len(whole.ids)} content "
          f"pieces in title + abstract ({len(whole.ids) / n:.0f} per paper), {len(titles.ids)} in "
          f"titles")  # fmt: skip
    per_paper = (whole.vectors.nbytes + whole.ids.size * 2 + titles.vectors.nbytes) / n
    print(f"storage: {per_paper / 1024:.0f} KiB per paper (float16 vectors + 2-byte piece ids) "
          f"-> {per_paper * 100_000 / 1e9:.1f} GB at 100,000 papers")  # fmt: skip
    idf = piece_idf(whole, enc._tokenizer.vocab_size)
    big, small = MaxSim(whole), MaxSim(titles)
    qtok = [encode_tokens(enc, [q.text]) for q in queries]
    cols: list[Columns] = []
    times = []
    for qt in qtok:
        qv = qt.vectors.astype(np.float32)
        s = time.perf_counter()
        plain = big.column(qv)
        times.append((time.perf_counter() - s) * 1000)
        cols.append(Columns(plain, big.column(qv, idf[qt.ids]), small.column(qv)))
    times.sort()
    print(f"query pieces: {statistics.fmean(len(q.ids) for q in qtok):.1f} per query; one MaxSim "
          f"column over {n} papers: p50 {times[len(times) // 2]:.2f} ms, p95 "
          f"{times[int(len(times) * 0.95)]:.2f} ms")  # fmt: skip
    gate = _gate(KIND_FEATURES)
    slot = {id(q.base): i for i, q in enumerate(queries)}
    pool: dict[int, set[int]] = {}

    def run(name: str, pick: Pick | None) -> None:
        def extra(x: FeatureMatrix, p: dict[str, float]) -> FeatureMatrix:
            i = slot[id(x)]
            new = [translation[i], *(pick(cols[i]) if pick else [])]
            return np.hstack([gate(x, p), np.stack(new, axis=1)]).astype(np.float32)

        n_new = 0 if pick is None else len(pick(cols[0]))
        variant = Variant(name, extra, len(KIND_FEATURES) + 1 + n_new)
        exp = Tracked(searcher, queries, probs, variant)
        exp.l2 = np.array([0.1] * len(OLD) + [0.03] * len(KIND_FEATURES) + [0.1] * (1 + n_new))
        res = exp.run(args.seeds)
        print(f"  {name}")
        for label, scores in res.items():
            mean = statistics.fmean(scores)
            print(f"    {label:11s} {by_kind(queries, scores)}; mean {mean:.4f}")
        extra_w = ", ".join(f"{w:.4f}" for w in exp.weights[len(OLD) :])
        print(f"    gate, kw_translation{', new' if n_new else ''} weights (all queries): "
              f"{extra_w}")  # fmt: skip
        everyone = range(len(queries))
        insample = [(i, tuple(int(t) for t in top_k(exp.matrix(i, exp.weights) @ exp.weights,
                                                   10))) for i in everyone]  # fmt: skip
        print(
            f"    judged@10: in-sample {judged_at_10(searcher, raw, insample):.3f}, every "
            f"ranking scored {judged_at_10(searcher, raw, exp.tops):.3f}",
            flush=True,
        )
        if pick is not None:
            for i, top in exp.tops:
                pool.setdefault(i, set()).update(top)

    print(f"{args.queries.name}: {len(queries)} queries; nDCG@10 (exact / paraphrase / conceptual)")
    run("baseline: shipped configuration (18 + gate + kw_translation) refitted", None)
    for name, pick in VARIANTS.items():
        if args.only and name.split()[0] not in args.only:
            continue
        run(name, pick)
    if args.pool is not None:
        ids = [p.paper_id for p in searcher.papers]
        rows, total = [], 0
        for i, q in enumerate(raw):
            todo = sorted({ids[t] for t in pool.get(i, set())} - judged(q))
            total += len(todo)
            rows.append({"qid": q["qid"], "kind": q["kind"], "query": q["query"],
                         "judged": q["relevant"], "to_judge": todo})  # fmt: skip
        write_jsonl(args.pool, rows)
        print(f"{args.pool}: {len(rows)} queries, {total} papers to judge")


if __name__ == "__main__":
    main()
