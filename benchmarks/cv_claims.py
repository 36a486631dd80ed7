"""Choose the claim extractor's support cues by k-fold cross-validation within the dev split.

The extractor's rules are written by hand, but one choice is made from the labels: which
``ingest.claims.lexicon.SUPPORT_PATTERNS`` make a sentence of a paper that already has a claim a
further finding (``ingest.claims.extract.SUPPORT_CUES``). This script scores the declared
candidate approaches (``CANDIDATES``; or, with ``--subsets``, every subset of the patterns) on the
dev split only (held-out papers are never read), then runs the selection under k-fold
cross-validation: on each fold the candidate with the best mean variables F1 on the other folds
(then the best response F1, then the fewest cues) is picked and scored on the fold left out. The
mean of those scores estimates how the selection itself generalises; the candidate the full dev
split picks is the one to ship.

    PYTHONPATH=. python benchmarks/cv_claims.py [--folds 5] [--seed 0] [--subsets] [--seeds DIR]
    PYTHONPATH=. python benchmarks/cv_claims.py --families   # which relation families matter
"""

from __future__ import annotations

import argparse
import importlib
import itertools
import json
import random
import re
import statistics
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

from bench_claims import DEFAULT_SEEDS, LABELS, evaluate, read_seed_papers  # noqa: E402

from ingest.claims import Extraction, explain, extract  # noqa: E402
from ingest.claims.lexicon import RELATION_PATTERNS, SUPPORT_PATTERNS  # noqa: E402

# The module, not the package's ``extract`` function of the same name.
extract_module: Any = importlib.import_module("ingest.claims.extract")
# The approaches compared, declared before looking at any score: no further findings; only
# reported results ("we find"); only stated links (every other pattern); both.
_LINKS = tuple(sorted(n for n in SUPPORT_PATTERNS if n != "finding"))
CANDIDATES: dict[str, tuple[str, ...]] = {
    "none": (),
    "finding": ("finding",),
    "links": _LINKS,
    "finding+links": tuple(sorted(SUPPORT_PATTERNS)),
}
FIGURES = ("variables_f1", "response_f1", "paper_f1")


def folds_of(rows: list[dict[str, Any]], k: int, seed: int) -> list[list[dict[str, Any]]]:
    """``rows`` in ``k`` folds, shuffled with ``seed`` and stratified by the paper label."""
    rng = random.Random(seed)
    folds: list[list[dict[str, Any]]] = [[] for _ in range(k)]
    for label in (True, False):
        group = [r for r in rows if bool(r["studies_scaling_law"]) is label]
        rng.shuffle(group)
        for i, row in enumerate(group):
            folds[i % k].append(row)
    return folds


def predictions(papers: dict[str, Any], cues: tuple[str, ...]) -> dict[str, Extraction]:
    """Every dev paper extracted with ``SUPPORT_CUES`` set to ``cues``."""
    saved = extract_module.SUPPORT_CUES
    extract_module.SUPPORT_CUES = cues
    try:
        return {pid: extract(p) for pid, p in papers.items()}
    finally:
        extract_module.SUPPORT_CUES = saved


def relation_families(dev: list[dict[str, Any]], papers: dict[str, Any]) -> None:
    """Print, per ``lexicon.RELATION_PATTERNS`` family, how it bears on the dev paper labels.

    ``fires_neg``: dev negatives with a sentence where the family fires (the precision risk that
    the background, release and variable conditions have to hold back);
    ``lost_tp``/``lost_fp``: dev papers that stop being positive when the family is switched off.
    """
    gold = {r["paper_id"]: bool(r["studies_scaling_law"]) for r in dev}
    base = {pid: extract(p).studies_scaling_law for pid, p in papers.items()}
    print(f"{'family':<20}{'strong':>8}{'fires_neg':>11}{'lost_tp':>9}{'lost_fp':>9}")
    never = re.compile(r"(?!x)x")
    for name, (rx, strong) in list(RELATION_PATTERNS.items()):
        fires = sum(
            1
            for pid, p in papers.items()
            if not gold[pid] and any(name in r.relations for r in explain(p))
        )
        RELATION_PATTERNS[name] = (never, strong)
        try:
            off = {pid: extract(p).studies_scaling_law for pid, p in papers.items()}
        finally:
            RELATION_PATTERNS[name] = (rx, strong)
        lost_tp = sum(base[p] and not off[p] and gold[p] for p in papers)
        lost_fp = sum(base[p] and not off[p] and not gold[p] for p in papers)
        print(f"{name:<20}{strong!s:>8}{fires:>11}{lost_tp:>9}{lost_fp:>9}")


def main() -> None:
    """Print per-subset dev-CV figures and the nested-CV estimate of the selection."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=Path, default=DEFAULT_SEEDS, help="seed listings folder")
    parser.add_argument("--labels", type=Path, default=LABELS)
    parser.add_argument("--folds", type=int, default=5)
    parser.add_argument("--seed", type=int, default=0, help="shuffle seed of the folds")
    parser.add_argument(
        "--families",
        action="store_true",
        help="instead: per relation family, what switching it off changes on dev",
    )
    parser.add_argument(
        "--subsets",
        action="store_true",
        help="search every subset of the patterns instead of the declared candidates",
    )
    args = parser.parse_args()

    rows = [json.loads(line) for line in args.labels.read_text().splitlines() if line.strip()]
    dev = [r for r in rows if r["split"] == "dev"]  # held-out papers are never read here
    seeds = read_seed_papers(args.seeds)
    papers = {r["paper_id"]: seeds[r["paper_id"]] for r in dev}
    if args.families:
        relation_families(dev, papers)
        return
    folds = folds_of(dev, args.folds, args.seed)
    names = sorted(SUPPORT_PATTERNS)
    if args.subsets:
        subsets = [c for n in range(len(names) + 1) for c in itertools.combinations(names, n)]
    else:
        subsets = list(CANDIDATES.values())
    # scores[subset][fold] = figures of that fold
    scores: dict[tuple[str, ...], list[dict[str, float]]] = {}
    for cues in subsets:
        preds = predictions(papers, cues)
        scores[cues] = [evaluate(fold, preds) for fold in folds]

    def mean(cues: tuple[str, ...], figure: str, fold_ids: list[int]) -> float:
        return statistics.fmean(scores[cues][i][figure] for i in fold_ids)

    every = list(range(args.folds))
    print(f"dev papers {len(dev)} in {args.folds} folds (seed {args.seed}); {len(subsets)} subsets")
    print(f"shipped SUPPORT_CUES = {extract_module.SUPPORT_CUES}")

    def key(cues: tuple[str, ...], fold_ids: list[int]) -> tuple[float, float, int]:
        """Best variables F1, then best response F1, then fewest cues."""
        return (
            -mean(cues, "variables_f1", fold_ids),
            -mean(cues, "response_f1", fold_ids),
            len(cues),
        )

    ranked = sorted(subsets, key=lambda c: key(c, every))
    print(f"{'support cues':<58}" + "".join(f"{f:>22}" for f in FIGURES))
    shown = [*ranked[:8], ()]
    for cues in dict.fromkeys(shown):
        cells = "".join(
            f"{mean(cues, f, every):>14.3f} ± {statistics.pstdev(s[f] for s in scores[cues]):.3f}"
            for f in FIGURES
        )
        print(f"{', '.join(cues) or '(none)':<58}{cells}")
    print("\nnested selection (pick on the other folds, score on the fold left out):")
    picked_scores: dict[str, list[float]] = {f: [] for f in FIGURES}
    for k in every:
        train = [i for i in every if i != k]
        best = min(subsets, key=lambda c: key(c, train))
        for f in FIGURES:
            picked_scores[f].append(scores[best][k][f])
        print(f"  fold {k}: picked {', '.join(best) or '(none)'}; "
              f"variables_f1 {scores[best][k]['variables_f1']:.3f} "
              f"(none: {scores[()][k]['variables_f1']:.3f})")  # fmt: skip
    for f in FIGURES:
        base = statistics.fmean(scores[()][i][f] for i in every)
        print(
            f"  {f}: selection {statistics.fmean(picked_scores[f]):.3f}  no support cues {base:.3f}"
        )
    best_all = min(subsets, key=lambda c: key(c, every))
    print(f"picked on all dev folds: {', '.join(best_all) or '(none)'}")


if __name__ == "__main__":
    main()
