"""Fit and choose the claim extractor's per-(paper, variable) decision on the dev split only.

Every scale quantity the lexicon finds in a dev scaling paper's title or abstract is a candidate
with the features of ``ingest.claims.variables.FEATURES``; its label is whether annotator 1
(``data/eval/claims_dev.jsonl``) lists it. Held-out papers are never read.

Approaches, declared before any score was seen:

- ``rules``: the union of the claim sentences' variables (``claims-rules-3``);
- ``logreg``: logistic regression on every feature;
- ``logreg-no-rules``: the same without the two features that restate the rules' output
  (``rules``, ``fallback``), so it must decide from the abstract alone;
- ``logreg-small``: seven features (``rules``, ``claim``, ``main_claim``, ``title``,
  ``background_only``, ``law_sentence``, ``mentions``).

Each logistic approach picks its L2 strength ``C`` and keep-threshold by an inner 5-fold
cross-validation on its training papers (mean per-paper variables F1 against annotator 1). The
outer loop is 5 folds x ``--shuffles`` shuffles, papers as the unit; each dev positive is
predicted once per shuffle, and the figure is the mean per-paper variables F1 over all 78 dev
positives (a positive the rules miss scores 0), against annotator 1 (the labels trained on) and
annotator 2 (``data/eval/claims_second_annotator.jsonl``, blind, never trained on). The
``selection`` row picks the approach itself by inner cross-validation on each outer training
set, so it estimates the whole procedure.

    PYTHONPATH=. python benchmarks/fit_claim_variables.py [--shuffles 5]
    PYTHONPATH=. python benchmarks/fit_claim_variables.py --write   # refit, write the weights
    PYTHONPATH=. python benchmarks/fit_claim_variables.py --recall  # rescue conditions, counted

``--recall`` instead counts, on dev papers the rules call negative, how many positives and
negatives each declared rescue condition (``RESCUES``: an own sentence naming a scale quantity
with a relation cue, "predict", an optimal setting, or any support cue) would make positive.
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from sklearn.linear_model import LogisticRegression  # type: ignore[import-untyped]

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

from bench_claims import DEFAULT_SEEDS, LABELS, read_seed_papers, set_f1  # noqa: E402

from ingest.claims.extract import SentenceReading, explain, read_paper  # noqa: E402
from ingest.claims.variables import (  # noqa: E402
    DEFAULT_WEIGHTS,
    FEATURES,
    Candidate,
    VariableModel,
)

SECOND = ROOT / "data" / "eval" / "claims_second_annotator.jsonl"
C_GRID = (0.003, 0.01, 0.03, 0.1, 0.3, 1.0, 3.0)
THRESHOLDS = (0.3, 0.4, 0.5, 0.6, 0.7)
VARIANTS: dict[str, tuple[str, ...]] = {
    "logreg": FEATURES,
    "logreg-no-rules": tuple(f for f in FEATURES if f not in ("rules", "fallback")),
    "logreg-no-family": tuple(
        f for f in FEATURES if f not in ("model_size", "data_size", "compute")
    ),
    "logreg-small": (
        "rules", "claim", "main_claim", "title", "background_only", "law_sentence", "mentions",
    ),
}  # fmt: skip
APPROACHES = ("rules", *VARIANTS)


_OPTIMA = frozenset({"optimal_hyperparameter", "optimal_model_size"})
RESCUES: dict[str, Callable[[SentenceReading], bool]] = {
    "relation": lambda r: bool(r.first_person and r.variables and r.relations),
    "predict": lambda r: bool(r.first_person and r.variables and "predicts" in r.support),
    "optimal": lambda r: bool(r.first_person and r.variables and _OPTIMA & set(r.responses)),
    "any support": lambda r: bool(r.first_person and r.variables and r.support),
}


def recall_probe(seeds_dir: Path, labels: Path) -> None:
    """Print what each rescue condition would add on the dev papers the rules call negative."""
    rows = [json.loads(line) for line in labels.read_text().splitlines() if line.strip()]
    seeds = read_seed_papers(seeds_dir)
    missed = [
        (r, explain(seeds[r["paper_id"]]))
        for r in rows
        if r["split"] == "dev" and not read_paper(seeds[r["paper_id"]]).studies
    ]
    print(f"dev papers the rules call negative: {len(missed)} "
          f"({sum(r['studies_scaling_law'] for r, _ in missed)} labelled positive)")  # fmt: skip
    for name, condition in RESCUES.items():
        fired = [
            r for r, readings in missed
            if any(condition(s) for s in readings if not s.background and not s.release)
        ]  # fmt: skip
        gained = sum(r["studies_scaling_law"] for r in fired)
        print(f"  {name:<12} rescues {gained} positives, adds {len(fired) - gained} negatives")


@dataclass(frozen=True)
class DevPaper:
    """A dev positive: what the rules read, and both annotators' variables."""

    paper_id: str
    found: bool
    candidates: list[Candidate]
    rule_variables: list[str]
    gold: frozenset[str]
    gold2: frozenset[str]


Predictor = Callable[[DevPaper], list[str]]


def load_dev(seeds_dir: Path, labels: Path, second: Path) -> list[DevPaper]:
    """Every dev paper annotator 1 labels positive, read by the rules."""
    rows = [json.loads(line) for line in labels.read_text().splitlines() if line.strip()]
    ann2 = {
        r["paper_id"]: r
        for r in (json.loads(line) for line in second.read_text().splitlines() if line.strip())
    }
    seeds = read_seed_papers(seeds_dir)
    out: list[DevPaper] = []
    for row in rows:
        if row["split"] != "dev" or not row["studies_scaling_law"]:
            continue  # held-out papers are never read; negatives have no variables to score
        reading = read_paper(seeds[row["paper_id"]], with_candidates=True)
        out.append(
            DevPaper(
                paper_id=row["paper_id"],
                found=reading.studies,
                candidates=reading.candidates,
                rule_variables=reading.rule_variables,
                gold=frozenset(row["variables"]),
                gold2=frozenset(ann2[row["paper_id"]]["variables"]),
            )
        )
    return out


def fit_model(
    papers: Sequence[DevPaper], features: Sequence[str], c: float, threshold: float, note: str
) -> VariableModel:
    """L2 logistic regression on standardised ``features`` (the others get weight 0)."""
    cols = [FEATURES.index(f) for f in features]
    rows = [(cand, cand.variable in p.gold) for p in papers if p.found for cand in p.candidates]
    x = np.array([[cand.values[i] for i in cols] for cand, _ in rows], dtype=float)
    y = np.array([label for _, label in rows], dtype=int)
    means = x.mean(axis=0)
    scales = x.std(axis=0)
    scales[scales == 0] = 1.0
    clf = LogisticRegression(C=c, max_iter=1000)
    clf.fit((x - means) / scales, y)
    coef = [0.0] * len(FEATURES)
    mean_all = [0.0] * len(FEATURES)
    scale_all = [1.0] * len(FEATURES)
    for j, i in enumerate(cols):
        coef[i] = float(clf.coef_[0][j])
        mean_all[i] = float(means[j])
        scale_all[i] = float(scales[j])
    return VariableModel(
        features=list(FEATURES),
        coefficients=coef,
        means=mean_all,
        scales=scale_all,
        intercept=float(clf.intercept_[0]),
        threshold=threshold,
        trained_on=note,
    )


def model_predictor(model: VariableModel) -> Predictor:
    """The extractor's decision with ``model``: empty for a positive the rules miss."""
    return lambda p: model.choose(p.candidates) if p.found else []


def rules_predictor(p: DevPaper) -> list[str]:
    """``claims-rules-3``: the union of the claim sentences' variables."""
    return p.rule_variables if p.found else []


def score(predict: Predictor, papers: Sequence[DevPaper], second: bool = False) -> float:
    """Mean per-paper variables F1 against annotator 1 (or 2 with ``second``)."""
    if not papers:
        return 1.0
    return statistics.fmean(set_f1(predict(p), p.gold2 if second else p.gold) for p in papers)


def folds_of(papers: Sequence[DevPaper], k: int, seed: int) -> list[list[DevPaper]]:
    """``papers`` shuffled with ``seed`` and dealt into ``k`` folds."""
    order = list(papers)
    random.Random(seed).shuffle(order)
    return [order[i::k] for i in range(k)]


def tuned(
    train: Sequence[DevPaper], features: Sequence[str], seed: int
) -> tuple[float, float, float]:
    """The (C, threshold) best by inner 5-fold CV on ``train``, and its inner score."""
    inner = folds_of(train, 5, seed)
    best: tuple[float, float, float] | None = None
    for c in C_GRID:
        for threshold in THRESHOLDS:
            preds: list[float] = []
            for i, held in enumerate(inner):
                rest = [p for j, fold in enumerate(inner) if j != i for p in fold]
                model = fit_model(rest, features, c, threshold, "inner")
                preds.extend(set_f1(model_predictor(model)(p), p.gold) for p in held)
            value = statistics.fmean(preds)
            if best is None or value > best[2] + 1e-12:
                best = (c, threshold, value)
    assert best is not None
    return best


def train_approach(name: str, train: Sequence[DevPaper], seed: int) -> tuple[Predictor, float, str]:
    """Predictor of approach ``name`` fitted on ``train``, its inner-CV score, its settings."""
    if name == "rules":
        return rules_predictor, score(rules_predictor, train), "-"
    c, threshold, inner = tuned(train, VARIANTS[name], seed)
    model = fit_model(train, VARIANTS[name], c, threshold, name)
    return model_predictor(model), inner, f"C={c} t={threshold}"


def nested(papers: Sequence[DevPaper], shuffles: int) -> None:
    """Print the outer-CV figures of each approach and of the selection among them."""
    names = [*APPROACHES, "selection"]
    figures: dict[str, dict[str, list[float]]] = {n: {"a1": [], "a2": []} for n in names}
    picks: dict[str, int] = {}
    for seed in range(shuffles):
        outer = folds_of(papers, 5, 1000 + seed)
        predicted: dict[str, dict[str, list[str]]] = {n: {} for n in names}
        for i, held in enumerate(outer):
            train = [p for j, fold in enumerate(outer) if j != i for p in fold]
            trained = {n: train_approach(n, train, seed) for n in APPROACHES}
            # the selection: the best inner-CV score (rules: its training score, nothing fitted)
            pick = max(APPROACHES, key=lambda n: trained[n][1])
            picks[pick] = picks.get(pick, 0) + 1
            for p in held:
                for n in APPROACHES:
                    predicted[n][p.paper_id] = trained[n][0](p)
                predicted["selection"][p.paper_id] = predicted[pick][p.paper_id]
        for n in names:
            for who, gold in (("a1", "gold"), ("a2", "gold2")):
                figures[n][who].append(
                    statistics.fmean(
                        set_f1(predicted[n][p.paper_id], getattr(p, gold)) for p in papers
                    )
                )
    print(f"nested CV: {len(papers)} dev positives, 5 outer folds x {shuffles} shuffles")
    print(f"{'approach':<18}{'vs annotator 1':>22}{'vs annotator 2':>22}")
    for n in names:
        cells = "".join(
            f"{statistics.fmean(v):>14.3f} ± {statistics.pstdev(v):.3f}"
            for v in figures[n].values()
        )
        print(f"{n:<18}{cells}")
    print(f"selection picked: {picks}")


def coefficient_table(model: VariableModel) -> None:
    """Print the weights, largest first (log-odds per standard deviation of the feature)."""
    print(f"intercept {model.intercept:+.3f}; keep when P >= {model.threshold}")
    order = sorted(range(len(FEATURES)), key=lambda i: -abs(model.coefficients[i]))
    for i in order:
        print(f"  {FEATURES[i]:<16}{model.coefficients[i]:+.3f}")


def main() -> None:
    """Run the nested comparison; with ``--write``, refit the shipped approach on all of dev."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=Path, default=DEFAULT_SEEDS, help="seed listings folder")
    parser.add_argument("--labels", type=Path, default=LABELS)
    parser.add_argument("--second", type=Path, default=SECOND)
    parser.add_argument("--shuffles", type=int, default=5, help="outer CV repetitions")
    parser.add_argument("--approach", choices=list(VARIANTS), default="logreg")
    parser.add_argument("--write", action="store_true", help=f"write {DEFAULT_WEIGHTS.name}")
    parser.add_argument("--no-cv", action="store_true", help="skip the nested comparison")
    parser.add_argument("--recall", action="store_true", help="count the rescue conditions")
    args = parser.parse_args()
    if args.recall:
        recall_probe(args.seeds, args.labels)
        return

    papers = load_dev(args.seeds, args.labels, args.second)
    print(f"dev positives {len(papers)}, found by the rules {sum(p.found for p in papers)}")
    if not args.no_cv:
        nested(papers, args.shuffles)
    c, threshold, inner = tuned(papers, VARIANTS[args.approach], 0)
    note = (
        f"{args.approach}; dev split of data/eval/claims_dev.jsonl (annotator 1), "
        f"{sum(p.found for p in papers)} papers; C={c}, threshold={threshold} by 5-fold CV "
        f"(inner F1 {inner:.3f}); benchmarks/fit_claim_variables.py"
    )
    model = fit_model(papers, VARIANTS[args.approach], c, threshold, note)
    print(f"\n{args.approach} on all dev: C={c} threshold={threshold} (inner CV {inner:.3f})")
    coefficient_table(model)
    print(
        f"in-sample vs annotator 1 {score(model_predictor(model), papers):.3f}, "
        f"vs annotator 2 {score(model_predictor(model), papers, second=True):.3f} "
        f"(rules {score(rules_predictor, papers):.3f} / "
        f"{score(rules_predictor, papers, second=True):.3f})"
    )
    if args.write:
        payload: dict[str, Any] = model.model_dump()
        DEFAULT_WEIGHTS.write_text(json.dumps(payload, indent=1) + "\n", encoding="utf-8")
        print(f"wrote {DEFAULT_WEIGHTS.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
