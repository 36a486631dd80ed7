"""Fit the query adapter (kb.query_adapter) on queries written for abstracts outside the seeds.

Training data: ``data/eval/adapter_queries.jsonl`` (our own queries, 4 per abstract: 1 exact,
2 paraphrases that avoid the abstract's words, 1 conceptual; written by reading the abstract,
never by running the search) for the external abstracts of the claims sample
(``data/eval/claims_external.jsonl``: ids and URLs only; the texts are third-party and are read
from ``--external-texts`` / ``$KB_EXTERNAL_TEXTS``). No seed paper, dev or held-out search query
is read, so the seed-corpus search figures measure how the adapter transfers.

Each query is encoded with the shipped model, each abstract as its index row would be
(``kb.index.paper_text``); the adapter ``q' = normalise(q + (q @ down) @ up)`` is fitted with a
softmax over all abstracts (temperature ``--tau``) plus ``--l2`` x ||down @ up||^2, full batch,
Adam, a fixed number of steps (torch, which sentence-transformers brings).

Without ``--write`` it cross-validates: 5 folds with the abstracts as the unit (a held-out
abstract's queries are scored against all abstracts, its own never a training positive),
printing MRR, recall@1 and recall@10 of the query's own abstract, raw and adapted, overall and
per kind, for each setting of the grid (``--ranks`` x ``--l2s``). The grid was fixed before the
first run; the setting is chosen by CV MRR on the external queries, never by a seed-corpus
search figure. ``--write`` fits the chosen setting on all queries and saves
``data/query_adapter.npz``.

    PYTHONPATH=. HF_HUB_OFFLINE=1 python benchmarks/fit_query_adapter.py \\
        --external-texts A.jsonl --external-texts B.jsonl [--ranks 16 64] [--l2s 0.1 1]
    PYTHONPATH=. HF_HUB_OFFLINE=1 python benchmarks/fit_query_adapter.py ... \\
        --rank 16 --l2 1 --write
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks._jsonl import read_jsonl_lines  # noqa: E402
from benchmarks.bench_claims import (  # noqa: E402
    add_external_texts_option,
    external_paper_id,
    external_texts_from_env,
    read_external_texts,
)
from kb.embed import load_embedder  # noqa: E402
from kb.index import paper_text  # noqa: E402
from kb.query_adapter import DEFAULT_ADAPTER, AdapterMeta, QueryAdapter  # noqa: E402

QUERIES = ROOT / "data" / "eval" / "adapter_queries.jsonl"
KINDS = ("exact", "paraphrase", "conceptual")
Matrix = NDArray[np.float32]


@dataclass(frozen=True)
class Data:
    """Encoded training material: one row per query, its abstract's row in ``docs``."""

    queries: list[dict[str, Any]]
    q: Matrix  # (n_queries, d)
    docs: Matrix  # (n_abstracts, d)
    doc_ids: list[str]
    pos: NDArray[np.int64]  # abstract row of each query
    encoder: str  # kb.embed model name of the encoder


def read_queries(path: Path, known: set[str]) -> list[dict[str, Any]]:
    """The training queries; SystemExit naming the line for a bad kind or unknown ext_id."""
    out = []
    for item, where in read_jsonl_lines(path):
        if item.get("kind") not in KINDS or not str(item.get("query", "")).strip():
            raise SystemExit(f"{where}: expected kind in {KINDS} and a non-empty query")
        if external_paper_id(str(item.get("ext_id"))) not in known:
            raise SystemExit(f"{where}: ext_id {item.get('ext_id')!r} is not in the external texts")
        out.append(item)
    return out


def encode(queries_paths: list[Path], texts: list[Path]) -> Data:
    papers = read_external_texts(texts)
    queries = [q for path in queries_paths for q in read_queries(path, set(papers))]
    doc_ids = sorted({external_paper_id(q["ext_id"]) for q in queries})
    embedder = load_embedder()
    docs = embedder.encode([paper_text(papers[i]) for i in doc_ids])
    q = embedder.encode([q["query"] for q in queries])
    row = {d: i for i, d in enumerate(doc_ids)}
    pos = np.array([row[external_paper_id(x["ext_id"])] for x in queries], dtype=np.int64)
    return Data(queries, q, docs, doc_ids, pos, embedder.name)


def fit(
    q: Matrix, docs: Matrix, pos: NDArray[np.int64], *, rank: int, l2: float, tau: float,
    steps: int, lr: float, seed: int = 0,
) -> tuple[Matrix, Matrix]:  # fmt: skip
    """``down`` (d x rank) and ``up`` (rank x d) minimising softmax loss + l2 ||down @ up||^2."""
    import torch

    torch.manual_seed(seed)
    d = q.shape[1]
    qt, dt = torch.from_numpy(q), torch.from_numpy(docs)
    target = torch.from_numpy(pos)
    down = torch.nn.Parameter(torch.randn(d, rank) * 0.01)
    up = torch.nn.Parameter(torch.zeros(rank, d))
    opt = torch.optim.Adam([down, up], lr=lr)
    for _ in range(steps):
        opt.zero_grad()
        adapted = torch.nn.functional.normalize(qt + qt @ down @ up, dim=1)
        loss = torch.nn.functional.cross_entropy(adapted @ dt.T / tau, target)
        loss = loss + l2 * ((down @ up) ** 2).sum()
        loss.backward()  # type: ignore[no-untyped-call]
        opt.step()
    return down.detach().numpy().copy(), up.detach().numpy().copy()


def ranks_of(q: Matrix, docs: Matrix, pos: NDArray[np.int64]) -> NDArray[np.int64]:
    """1-based rank of each query's own abstract among all abstracts."""
    sims = q @ docs.T
    own = sims[np.arange(len(pos)), pos]
    ranks: NDArray[np.int64] = (sims > own[:, None]).sum(axis=1) + 1
    return ranks


def summary(ranks: NDArray[np.int64], kinds: list[str]) -> str:
    def line(r: NDArray[np.int64]) -> str:
        return f"MRR {np.mean(1 / r):.3f} R@1 {np.mean(r <= 1):.3f} R@10 {np.mean(r <= 10):.3f}"

    per = " | ".join(
        f"{k} MRR {np.mean(1 / ranks[[i for i, x in enumerate(kinds) if x == k]]):.3f}"
        for k in KINDS
    )
    return f"{line(ranks)} ({per})"


def folds_of(n_docs: int, k: int, seed: int) -> list[list[int]]:
    order = list(range(n_docs))
    random.Random(seed).shuffle(order)
    return [sorted(order[i::k]) for i in range(k)]


def cross_validate(data: Data, args: argparse.Namespace) -> None:
    kinds = [q["kind"] for q in data.queries]
    print(f"raw encoder: {summary(ranks_of(data.q, data.docs, data.pos), kinds)}")
    for rank in args.ranks:
        for l2 in args.l2s:
            mrrs = []
            all_ranks = np.zeros(len(data.pos), dtype=np.int64)
            raw_ranks = np.zeros(len(data.pos), dtype=np.int64)
            for seed in range(args.shuffles):
                for test_docs in folds_of(len(data.doc_ids), 5, seed):
                    test = np.isin(data.pos, test_docs)
                    down, up = fit(
                        data.q[~test], data.docs, data.pos[~test], rank=rank, l2=l2,
                        tau=args.tau, steps=args.steps, lr=args.lr, seed=seed,
                    )  # fmt: skip
                    adapted = QueryAdapter(_meta(data, rank, "cv"), down, up).apply(data.q[test])
                    # Ranked among the held-out abstracts only: the seed corpus the adapter
                    # serves holds none of its training abstracts either.
                    local = {d: i for i, d in enumerate(test_docs)}
                    own = np.array([local[int(p)] for p in data.pos[test]], dtype=np.int64)
                    all_ranks[test] = ranks_of(adapted, data.docs[test_docs], own)
                    raw_ranks[test] = ranks_of(data.q[test], data.docs[test_docs], own)
                mrrs.append(float(np.mean(1 / all_ranks)))
                last = all_ranks.copy()
            spread = f" (MRR over {args.shuffles} shuffles {statistics.mean(mrrs):.3f})"
            print(f"  raw, same folds: {summary(raw_ranks, kinds)}")
            print(f"rank {rank:3d} l2 {l2:g}: {summary(last, kinds)}{spread}", flush=True)


def _meta(data: Data, rank: int, trained_on: str) -> AdapterMeta:
    return AdapterMeta(encoder=data.encoder, dim=data.q.shape[1], rank=rank, trained_on=trained_on)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_external_texts_option(parser)
    parser.add_argument(
        "--queries", type=Path, nargs="+", default=[QUERIES],
        help="training query files (JSONL; default: %(default)s)",
    )  # fmt: skip
    parser.add_argument("--ranks", type=int, nargs="+", default=[16, 64])
    parser.add_argument("--l2s", type=float, nargs="+", default=[0.1, 1.0, 10.0])
    parser.add_argument("--tau", type=float, default=0.05, help="softmax temperature")
    parser.add_argument("--steps", type=int, default=300, help="full-batch Adam steps")
    parser.add_argument("--lr", type=float, default=0.005, help="Adam learning rate")
    parser.add_argument("--shuffles", type=int, default=1, help="CV repetitions")
    parser.add_argument("--write", action="store_true", help="fit on all queries and save")
    parser.add_argument("--rank", type=int, default=16, help="--write: rank")
    parser.add_argument("--l2", type=float, default=1.0, help="--write: L2 strength")
    parser.add_argument("--out", type=Path, default=DEFAULT_ADAPTER, help="--write: file")
    args = parser.parse_args()
    texts = args.external_texts or external_texts_from_env()
    if not texts:
        parser.error("the external abstracts are needed: --external-texts or $KB_EXTERNAL_TEXTS")
    data = encode(args.queries, texts)
    print(f"{len(data.queries)} queries for {len(data.doc_ids)} external abstracts")
    if not args.write:
        cross_validate(data, args)
        return
    down, up = fit(
        data.q, data.docs, data.pos, rank=args.rank, l2=args.l2, tau=args.tau, steps=args.steps,
        lr=args.lr,
    )  # fmt: skip
    how = (
        f"{', '.join(p.name for p in args.queries)}: {len(data.queries)} queries for "
        f"{len(data.doc_ids)} abstracts "
        f"outside the seed corpus; rank {args.rank}, l2 {args.l2:g}, tau {args.tau:g}, "
        f"{args.steps} Adam steps at lr {args.lr:g}, chosen by 5-fold CV MRR over the abstracts "
        "(benchmarks/fit_query_adapter.py)"
    )
    adapter = QueryAdapter(_meta(data, args.rank, how), down, up)
    adapter.save(args.out)
    kinds = [q["kind"] for q in data.queries]
    print(f"in-sample: {summary(ranks_of(adapter.apply(data.q), data.docs, data.pos), kinds)}")
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
