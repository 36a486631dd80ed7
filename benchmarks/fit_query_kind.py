"""Fit the query-kind classifier (kb.query_kind) and cross-validate it.

Training data: data/eval/query_kinds.jsonl (our own queries, 80 per kind; never the search dev
or held-out queries, so the ranker's dev cross-validation stays honest). Three feature sets
(lexical only, embedding only, both) times a grid of inverse L2 strengths ``C`` are compared by
stratified 10-fold CV accuracy (5 repeats) on the training file; the best is refitted on all of
it and saved as data/query_kind.json. It then prints the accuracy on the search dev queries'
``kind`` labels (a check only: nothing is chosen by it) and never reads the held-out file.

    PYTHONPATH=. HF_HUB_OFFLINE=1 python benchmarks/fit_query_kind.py \\
        [--train PATH] [--out PATH] [--dev PATH]
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
from pathlib import Path

import numpy as np
from numpy.typing import NDArray
from sklearn.linear_model import LogisticRegression  # type: ignore[import-untyped]
from sklearn.model_selection import RepeatedStratifiedKFold  # type: ignore[import-untyped]

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks.bench_search import DEV, load_queries  # noqa: E402
from kb.embed import load_embedder  # noqa: E402
from kb.plotfile import write_atomic  # noqa: E402
from kb.query_kind import DEFAULT_MODEL, KINDS, LEXICAL, QueryKindModel  # noqa: E402

TRAIN = ROOT / "data" / "eval" / "query_kinds.jsonl"
C_GRID = (0.001, 0.003, 0.01, 0.03, 0.1, 0.3, 1.0, 3.0, 10.0)
SETS = ("lexical", "embedding", "both")


def design(
    model: QueryKindModel, texts: list[str], vectors: NDArray[np.float32]
) -> NDArray[np.float64]:
    """Unstandardised feature rows of ``texts`` for the columns ``model`` declares."""
    return np.stack([model.columns(t, v) for t, v in zip(texts, vectors, strict=True)])


def shell(feature_set: str, dim: int, encoder: str) -> QueryKindModel:
    """A model with the right columns and neutral weights (used to build design rows)."""
    lexical = LEXICAL if feature_set != "embedding" else ()
    d = dim if feature_set != "lexical" else 0
    width = len(lexical) + d
    return QueryKindModel(
        kinds=KINDS, lexical=lexical, encoder=encoder if d else "", embedding_dim=d,
        mean=(0.0,) * width, scale=(1.0,) * width,
        coef=((0.0,) * width,) * len(KINDS), intercept=(0.0,) * len(KINDS), trained_on="",
    )  # fmt: skip


def fit(x: NDArray[np.float64], y: NDArray[np.int_], c: float) -> tuple[
    LogisticRegression, NDArray[np.float64], NDArray[np.float64]
]:  # fmt: skip
    """Standardise on ``x``, fit a multinomial L2 logistic regression; (clf, mean, scale)."""
    mean, scale = x.mean(axis=0), x.std(axis=0)
    scale[scale == 0] = 1.0
    clf = LogisticRegression(C=c, max_iter=5000)
    clf.fit((x - mean) / scale, y)
    return clf, mean, scale


def cv_accuracy(x: NDArray[np.float64], y: NDArray[np.int_], c: float) -> float:
    """Mean accuracy of stratified 10-fold CV, 5 repeats (seeded)."""
    scores = []
    for train, test in RepeatedStratifiedKFold(n_splits=10, n_repeats=5, random_state=0).split(
        x, y
    ):
        clf, mean, scale = fit(x[train], y[train], c)
        scores.append(float((clf.predict((x[test] - mean) / scale) == y[test]).mean()))
    return statistics.fmean(scores)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--train", type=Path, default=TRAIN)
    parser.add_argument("--out", type=Path, default=DEFAULT_MODEL)
    parser.add_argument("--dev", type=Path, default=DEV, help="accuracy check only")
    args = parser.parse_args()
    rows = [json.loads(line) for line in args.train.read_text("utf-8").splitlines() if line]
    texts = [r["query"] for r in rows]
    y = np.array([KINDS.index(r["kind"]) for r in rows])
    embedder = load_embedder()
    vectors = embedder.encode(texts)
    dev = load_queries(args.dev)
    dev_vectors = embedder.encode([q["query"] for q in dev])
    dev_y = np.array([KINDS.index(q["kind"]) for q in dev])
    print(f"{args.train}: {len(rows)} queries; stratified 10-fold CV accuracy (5 repeats)")
    best: tuple[float, str, float] = (-1.0, "", 0.0)
    for feature_set in SETS:
        x = design(shell(feature_set, embedder.dim, embedder.name), texts, vectors)
        accs = {c: cv_accuracy(x, y, c) for c in C_GRID}
        print(f"  {feature_set:9s} " + "  ".join(f"C={c:g}: {a:.3f}" for c, a in accs.items()))
        for c, a in accs.items():
            if a > best[0] + 1e-9:
                best = (a, feature_set, c)
    acc, feature_set, c = best
    base = shell(feature_set, embedder.dim, embedder.name)
    x = design(base, texts, vectors)
    clf, mean, scale = fit(x, y, c)
    order = [list(clf.classes_).index(i) for i in range(len(KINDS))]
    model = base.model_copy(
        update={
            "mean": tuple(float(v) for v in mean),
            "scale": tuple(float(v) for v in scale),
            "coef": tuple(tuple(float(v) for v in clf.coef_[i]) for i in order),
            "intercept": tuple(float(clf.intercept_[i]) for i in order),
            "trained_on": (
                f"{args.train.name}: {len(rows)} queries; features {feature_set}, C={c:g}, "
                f"chosen by stratified 10-fold CV accuracy {acc:.3f}"
            ),
        }
    )
    model = QueryKindModel.model_validate(model.model_dump())
    write_atomic(args.out, json.dumps(model.model_dump(), indent=1) + "\n", "the query-kind model")
    print(f"chosen: {feature_set}, C={c:g} (CV accuracy {acc:.3f}); saved {args.out}")
    pred = [
        KINDS.index(max(p, key=p.__getitem__))
        for p in (model.predict(q["query"], v) for q, v in zip(dev, dev_vectors, strict=True))
    ]
    hits = np.array(pred) == dev_y
    per = "  ".join(f"{k}={hits[dev_y == i].mean():.2f}" for i, k in enumerate(KINDS))
    print(
        f"accuracy on the {len(dev)} dev kinds (not used for choosing): {hits.mean():.3f} ({per})"
    )


if __name__ == "__main__":
    main()
