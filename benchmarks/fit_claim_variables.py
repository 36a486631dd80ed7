"""Fit and choose the per-(paper, variable) claim decision on dev + external tuning papers.

Every scale quantity the lexicon finds in a scaling paper's title or abstract is a candidate with
the features of ``ingest.claims.variables.FEATURES``; its label is whether the paper's annotator
lists it. The papers are the dev positives of ``data/eval/claims_dev.jsonl`` (annotator 1) and,
when the external texts are given (``--external-texts`` / ``$KB_EXTERNAL_TEXTS``), the external
positives of ``data/eval/claims_external.jsonl`` outside ``ext-test`` (another annotator with
other habits). Held-out and ``ext-test`` papers are never read.

Approaches, declared before any score was seen:

- ``rules``: the union of the claim sentences' variables (``claims-rules-3``);
- ``logreg``: logistic regression on the 19 original features;
- ``logreg-new``: the same plus the four general features added for the pooled data
  (``number_sentence``, ``first_sentence``, ``last_sentence``, ``sentences``);
- ``logreg-no-rules``: ``logreg-new`` without the two features that restate the rules' output
  (``rules``, ``fallback``), so it must decide from the abstract alone;
- ``logreg-no-family``: ``logreg-new`` without the family indicators;
- ``logreg-small``: seven features (``rules``, ``claim``, ``main_claim``, ``title``,
  ``background_only``, ``law_sentence``, ``mentions``);
- ``logreg-dev-only``: ``logreg`` trained on the dev papers of the training folds only (does the
  external data help at all?);
- ``logreg-embed`` (only with ``--embed``): ``logreg-new`` plus three principal components
  (fitted on the training candidates) of the shipped all-MiniLM-L6-v2 embedding of each
  candidate's best sentence (first claim sentence naming it, else first own sentence, else first
  sentence, else the title).

Declared before their first run (``--embed`` as well; claims7 round, a decision that reads the
sentence rather than the lexicon), each on that same best-sentence embedding (one encode call per
run, cached in memory), every embedding statistic computed on the training candidates only:

- ``logreg-embed-full``: ``logreg-new`` plus the full 384-d L2-normalised embedding of the
  candidate's best sentence (unmasked: the sentence as written, not with the variable's words
  masked; chosen before running because the candidates do not carry the matched spans and
  the variable is already in the lexicon features). Every column, the 384 embedding dimensions
  included, is standardised on the training candidates; ``C`` comes from the same inner CV on a
  grid extended downward (``C_GRID_EMBED``: 0.0001, 0.0003, 0.001 added);
- ``proto``: ``logreg-new`` plus two features per candidate: the cosine of its best-sentence
  embedding to the mean embedding of the training candidates of the same variable that are
  labelled positive (``proto_pos``), and to the mean of those labelled negative (``proto_neg``).
  A training candidate's own embedding is left out of the means it is compared with (leave one
  out), so training and held-out features have the same meaning; a variable with no training
  positive (negative) gets cosine 0;
- ``knn``: ``logreg-new`` plus one feature: among the k=10 nearest training candidates of the
  same variable (cosine of best-sentence embeddings; a training candidate is not its own
  neighbour), the similarity-weighted share labelled positive, weights max(cosine, 0); with no
  neighbour or zero total weight, 0.5.

Ship rule, fixed before the run: one of these becomes the extractor's default decision only if
its CV mean per-paper variables F1 beats ``rules`` by >= +0.01 on BOTH the dev folds (annotator
1) and the external folds with ``--shuffles 3``.

Figures of that run (2026-12-02, ``claims-rules-4``; ``--shuffles 3 --embed``, 78 dev + 107
external positives, 77 + 87 found by the rules; 78 s on 2 CPU cores, one encode call; mean
per-paper variables F1 ± sd over shuffles):

    approach            dev a1          dev a2          ext
    rules               0.911           0.864           0.573
    logreg-new          0.893 ± 0.010   0.851 ± 0.006   0.578 ± 0.003
    logreg-embed        0.897 ± 0.002   0.852 ± 0.003   0.574 ± 0.005
    logreg-embed-full   0.856 ± 0.005   0.822 ± 0.004   0.590 ± 0.001
    proto               0.895 ± 0.010   0.856 ± 0.009   0.578 ± 0.001
    knn                 0.888 ± 0.010   0.847 ± 0.014   0.574 ± 0.005
    selection           0.897 ± 0.007   0.854 ± 0.005   0.575 ± 0.005

Against ``rules``: ``logreg-embed-full`` -0.055 dev / +0.017 external (C 0.001-0.003 on 12 of
15 outer folds, the 0.0001 edge on 2), ``proto`` -0.016 / +0.005, ``knn`` -0.023 / +0.001; the
selection picked ``rules`` 5, ``logreg`` 3, ``logreg-no-family`` 3, ``proto`` 2, ``logreg-embed``
1, ``logreg-new`` 1 of 15 times. None clears +0.01 on both sources, so nothing is shipped: the
variables stay the rules' union. The full embedding is the only decision that moves the external
folds beyond noise, and it does so by trading dev for external: what it learns from the sentence
is the pooled annotators' habits (mostly the external ones: 87 of the 164 found positives), not
a reading both annotators share.

Each logistic approach picks its L2 strength ``C`` and keep-threshold by an inner 5-fold
cross-validation on its training papers; the inner objective is the mean of the per-source mean
per-paper variables F1 (dev and external weigh the same). The outer loop is 5 folds x
``--shuffles`` shuffles with papers as the unit, folds dealt within each source so every fold
holds both; each positive is predicted once per shuffle. Figures are reported per source: the
mean per-paper variables F1 over the dev positives (against annotator 1, and against annotator
2 of ``data/eval/claims_second_annotator.jsonl``, never trained on) and over the external
positives (a positive the rules miss scores 0). The ``selection`` row picks the approach itself
(not ``logreg-dev-only``) by the inner cross-validation on each outer training set, so it
estimates the whole procedure.

    PYTHONPATH=. python benchmarks/fit_claim_variables.py --external-texts A.jsonl \\
        --external-texts B.jsonl [--shuffles 5]
    PYTHONPATH=. python benchmarks/fit_claim_variables.py ... --no-cv --write  # refit, write
    PYTHONPATH=. python benchmarks/fit_claim_variables.py ... --recall  # rescue conditions

``--embed-rescue`` (declared before its first run; claims8 round, issue 4: the rules miss
external positives outright, and a missed positive scores 0 on variables) tests a PAPER-level
rescue read from the shipped all-MiniLM-L6-v2 embedding of the whole abstract
(``kb.index.paper_text``: "title. abstract"; one encode call per run), on every dev and
``ext-tune`` paper (negatives included; held-out and ``ext-test`` are never read):

- the classifier: L2 logistic regression on the L2-normalised 384-d embedding alone (no lexical
  feature, no standardisation, intercept fitted) predicting ``studies_scaling_law``;
- the rescue: a paper the rules (``claims-rules-4``) call negative becomes positive when
  P(positive) >= t AND one of its own sentences (not background, not a release note: the
  filter of ``--recall``) names a scale quantity; its variables are the sorted union of the
  lexicon's scale quantities in those own sentences (``RESCUE_VARIABLES``). A rules positive
  keeps the rules' variables;
- ``C`` from ``RESCUE_C_GRID`` (0.3, 1, 3, 10, 30, 100) and ``t`` from ``RESCUE_T_GRID`` (0.5,
  0.6, 0.7, 0.8, 0.9, and 1.01 = never rescue) by an inner 5-fold CV on each outer training set;
  the inner objective is the mean over the two sources of the paper F1 of rules + rescue (ties
  go to the higher ``t``, then the smaller ``C``);
- the outer CV is the ``--recall`` one: all papers dealt within each source into 5 folds, x
  ``--shuffles`` (3 for the reported run). Per source: paper precision / recall / F1 (pooled
  over the folds of a shuffle, mean over shuffles) and the mean per-paper variables F1 over the
  positives, rules vs rules + rescue; per outer fold, how many papers were rescued and how many
  of those are labelled positive;
- no veto (rules positive, P very low -> negative) is tested: dev paper precision is already
  1.000 and the ship rule forbids it falling below 0.97.

Ship rule, fixed before the run: ship only if paper F1 rises >= +0.01 on BOTH dev and external
folds, mean variables F1 does not fall on either, and dev paper precision stays >= 0.97.

Figures of that run (2026-12-02, ``claims-rules-4``; ``--embed-rescue --shuffles 3``: 193 dev
papers (78 positive) + 156 ``ext-tune`` papers (107 positive); 25 s on 2 CPU cores, one encode
call; means over shuffles, paper figures pooled over the 5 folds of a shuffle):

    source  decision    precision  recall     F1   variables F1
    dev     rules           1.000   0.987  0.994          0.911
    dev     + rescue        0.967   1.000  0.983          0.924
    ext     rules           0.946   0.813  0.874          0.573
    ext     + rescue        0.946   0.879  0.911          0.623

Rescued papers (true / all) summed over the 5 outer folds of each shuffle: dev 1/3, 1/5, 1/3;
external 7/7, 7/8, 7/7 (0-3 per fold). The inner CV chose C 0.3-30 and t 0.6-0.9 (C=3, t=0.7
most often, 4 of 15; never "no rescue"). Against the ship rule: external paper F1 +0.037 and
variables F1 +0.050 (7 of the 20 missed external positives recovered, one negative added), dev
variables F1 +0.013, but dev paper F1 -0.011 and dev precision 0.967 < 0.97 (2-4 dev negatives
rescued per shuffle for its one missed positive). Not shipped. The dev half of the rule cannot
be met by any rescue: the rules' dev paper F1 is 0.994, so +0.01 would need F1 above 1.

``--embed-rescue --write-rescue`` (claims9 round, fifth session, written down before any run of
it): the claims8 rescue, unchanged (same grids, same decision, same variables), gets one
confirmation on papers no rescue was ever fitted or read on. The external texts were recovered
from the stored public pages after the first copy was lost with a machine; the claims8 CV is
rerun on them first and reported (a check that the texts match, not a gate). Then (C, t) is
chosen by ``tune_rescue`` on all dev + ``ext-tune`` papers (seed "final"), the classifier is fitted
on all of them and written to ``data/claims_rescue.npz`` (``ingest.claims.rescue``), and
``bench_claims.py --rescue`` scores the extractor with and without it, once, on ``ext-test`` (78
papers) and held-out (77 seed papers). Ship rule, fixed now:

1. ``ext-test``: paper F1 +0.01 or more AND variables F1 +0.01 or more, response F1 not lower by
   more than 0.01;
2. held-out: paper F1 >= 0.90 (issue 4's target) AND variables F1 not lower;
3. exponent precision 1.000 on every set.

Dev (fitted on) is printed but is no gate. If any part fails, the rescue is not wired into
``kb ingest`` and the round is documented.

Amended before any run, once the rebuild was done: 196 of the 234 texts were recovered (the
rest have URLs that name no title, or only cut-off copies survive), so every external figure of
this round is on the papers with a text (``--skip-missing-texts``): ``ext-tune`` 131 of 156,
``ext-test`` 65 of 78. Rule 1 applies to those 65 ``ext-test`` papers.

Result (claims-rules-5; the CV rerun: external folds paper F1 0.893 -> 0.913, variables 0.560 ->
0.586; dev 0.994 -> 0.990, 0.907 -> 0.920): the fitted model (C=1, t=0.7) raises ``ext-test``
paper F1 0.857 -> 0.886 and variables F1 0.563 -> 0.608 (rule 1 passes), exponent precision stays
1.0, but held-out paper F1 falls 0.912 -> 0.897 (one false positive), below 0.90: rule 2 fails,
not shipped (data/eval/README.md).
A check with ``--shuffles 5`` (after the decision) gives the same picture: dev precision 0.961,
F1 0.980, variables 0.924; external recall 0.884, F1 0.914, variables 0.628.

``--recall`` instead counts, on the dev and external tuning papers the rules call negative, how
many positives and negatives each declared rescue condition (``RESCUES``: an own sentence naming a
scale quantity with a relation cue, "predict", an optimal setting, or any support cue) would make
positive.
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

from bench_claims import (  # noqa: E402
    DEFAULT_SEEDS,
    EXTERNAL_LABELS,
    LABELS,
    add_external_texts_option,
    add_skip_missing_option,
    external_texts_from_env,
    read_external,
    read_seed_papers,
    set_f1,
)

from ingest.claims.extract import SentenceReading, explain, read_paper  # noqa: E402
from ingest.claims.rescue import (  # noqa: E402
    DEFAULT_RESCUE,
    RescueMeta,
    RescueModel,
    rescue_sentences,
)
from ingest.claims.variables import (  # noqa: E402
    DEFAULT_WEIGHTS,
    FEATURES,
    Candidate,
    VariableModel,
)
from kb.plotfile import write_atomic  # noqa: E402
from kb.records import Paper  # noqa: E402

SECOND = ROOT / "data" / "eval" / "claims_second_annotator.jsonl"
C_GRID = (0.003, 0.01, 0.03, 0.1, 0.3, 1.0, 3.0)
THRESHOLDS = (0.3, 0.4, 0.5, 0.6, 0.7)
NEW_FEATURES = ("number_sentence", "first_sentence", "last_sentence", "sentences")
ORIGINAL = tuple(f for f in FEATURES if f not in NEW_FEATURES)
VARIANTS: dict[str, tuple[str, ...]] = {
    "logreg": ORIGINAL,
    "logreg-new": FEATURES,
    "logreg-no-rules": tuple(f for f in FEATURES if f not in ("rules", "fallback")),
    "logreg-no-family": tuple(
        f for f in FEATURES if f not in ("model_size", "data_size", "compute")
    ),
    "logreg-small": (
        "rules", "claim", "main_claim", "title", "background_only", "law_sentence", "mentions",
    ),
    "logreg-dev-only": ORIGINAL,
}  # fmt: skip
DEV_ONLY = frozenset({"logreg-dev-only"})
APPROACHES = ("rules", *VARIANTS)
EMBED = "logreg-embed"
"""With ``--embed``: ``logreg-new`` plus EMBED_DIMS principal components of each candidate's
best-sentence embedding (shipped all-MiniLM-L6-v2), fitted on the training candidates."""
EMBED_DIMS = 3
EMBED_FULL = "logreg-embed-full"
PROTO = "proto"
KNN = "knn"
SENTENCE_APPROACHES = (EMBED_FULL, PROTO, KNN)
"""With ``--embed``: the approaches that read the best sentence's embedding more fully."""
EMBED_APPROACHES = (EMBED, *SENTENCE_APPROACHES)
KNN_K = 10
C_GRID_EMBED = (0.0001, 0.0003, 0.001, *C_GRID)
"""The C grid of ``logreg-embed-full`` (384 more columns: stronger regularisation allowed)."""
SOURCES = ("dev", "ext")


_OPTIMA = frozenset({"optimal_hyperparameter", "optimal_model_size"})
RESCUES: dict[str, Callable[[SentenceReading], bool]] = {
    "relation": lambda r: bool(r.first_person and r.variables and r.relations),
    "predict": lambda r: bool(r.first_person and r.variables and "predicts" in r.support),
    "optimal": lambda r: bool(r.first_person and r.variables and _OPTIMA & set(r.responses)),
    "any support": lambda r: bool(r.first_person and r.variables and r.support),
}


@dataclass(frozen=True)
class Labelled:
    """The labelled papers the fit may read: label rows (with ``paper_id``) and their texts."""

    rows: list[dict[str, Any]]
    papers: dict[str, Paper]
    second: dict[str, frozenset[str]]


def load_labelled(
    seeds_dir: Path,
    labels: Path,
    second: Path,
    external_labels: Path,
    external_texts: Sequence[Path] | None,
    *,
    skip_missing: bool = False,
) -> Labelled:
    """Dev rows of ``labels`` and external rows outside ``ext-test``, each with ``source``."""
    rows = [
        {**r, "source": "dev"}
        for r in (json.loads(line) for line in labels.read_text().splitlines() if line.strip())
        if r["split"] == "dev"  # held-out papers are never read
    ]
    papers = dict(read_seed_papers(seeds_dir))
    if external_texts:
        ext_rows, ext_papers = read_external(
            external_labels, external_texts, skip_missing=skip_missing
        )
        rows += [{**r, "source": "ext"} for r in ext_rows if r["split"] != "ext-test"]
        papers.update(ext_papers)
    else:
        print("no external texts given: dev papers only (--external-texts / KB_EXTERNAL_TEXTS)")
    ann2 = {
        r["paper_id"]: frozenset(r["variables"])
        for r in (json.loads(line) for line in second.read_text().splitlines() if line.strip())
    }
    return Labelled(rows=rows, papers=papers, second=ann2)


def recall_probe(data: Labelled) -> None:
    """Print what each rescue condition would add on the papers the rules call negative."""
    for source in SOURCES:
        rows = [r for r in data.rows if r["source"] == source]
        missed = [
            (r, explain(data.papers[r["paper_id"]]))
            for r in rows
            if not read_paper(data.papers[r["paper_id"]]).studies
        ]
        positives = sum(r["studies_scaling_law"] for r in rows)
        print(f"{source}: {len(rows)} papers ({positives} positive); the rules call "
              f"{len(missed)} negative ({sum(r['studies_scaling_law'] for r, _ in missed)} "
              "labelled positive)")  # fmt: skip
        for name, condition in RESCUES.items():
            fired = [
                r for r, readings in missed
                if any(condition(s) for s in readings if not s.background and not s.release)
            ]  # fmt: skip
            gained = sum(r["studies_scaling_law"] for r in fired)
            print(f"  {name:<12} rescues {gained} positives, adds {len(fired) - gained} negatives")


def paper_f1(tp: int, fp: int, fn: int) -> float:
    """Paper-level F1 (1.0 when there is nothing to find and nothing found)."""
    return 1.0 if tp + fp + fn == 0 else 2 * tp / (2 * tp + fp + fn)


def recall_cv(data: Labelled, shuffles: int) -> None:
    """Choose a rescue (or none) by 5-fold CV, papers as the unit, folds dealt per source.

    On each outer training set the option with the best balanced paper F1 (mean over the two
    sources; ties go to ``none``, then to the declared order) is picked and applied to the
    held-out papers; the printed figures are the held-out paper F1 per source.
    """
    options = ("none", *RESCUES)
    fired: dict[str, set[str]] = {o: set() for o in options}
    found: dict[str, bool] = {}
    for r in data.rows:
        paper = data.papers[r["paper_id"]]
        found[r["paper_id"]] = read_paper(paper).studies
        if found[r["paper_id"]]:
            continue
        readings = [s for s in explain(paper) if not s.background and not s.release]
        for name, condition in RESCUES.items():
            if any(condition(s) for s in readings):
                fired[name].add(r["paper_id"])

    def predict(option: str, pid: str) -> bool:
        return found[pid] or pid in fired[option]

    def f1_of(option: str, rows: Sequence[dict[str, Any]], source: str) -> float:
        mine = [r for r in rows if r["source"] == source]
        tp = sum(predict(option, r["paper_id"]) and r["studies_scaling_law"] for r in mine)
        fp = sum(predict(option, r["paper_id"]) and not r["studies_scaling_law"] for r in mine)
        fn = sum(not predict(option, r["paper_id"]) and r["studies_scaling_law"] for r in mine)
        return paper_f1(tp, fp, fn)

    results: dict[str, list[float]] = {s: [] for s in SOURCES}
    base: dict[str, float] = {s: f1_of("none", data.rows, s) for s in SOURCES}
    picks: dict[str, int] = {}
    for seed in range(shuffles):
        folds: list[list[dict[str, Any]]] = [[] for _ in range(5)]
        for source in SOURCES:
            order = [r for r in data.rows if r["source"] == source]
            random.Random(f"{2000 + seed}:{source}").shuffle(order)
            for i, r in enumerate(order):
                folds[i % 5].append(r)
        chosen: dict[str, str] = {}
        for i, held in enumerate(folds):
            train = [r for j, fold in enumerate(folds) if j != i for r in fold]
            pick = max(
                options,
                key=lambda o: statistics.fmean(f1_of(o, train, s) for s in SOURCES),
            )
            picks[pick] = picks.get(pick, 0) + 1
            chosen.update({r["paper_id"]: pick for r in held})
        for source in SOURCES:
            mine = [r for r in data.rows if r["source"] == source]
            tp = sum(predict(chosen[r["paper_id"]], r["paper_id"]) and r["studies_scaling_law"]
                     for r in mine)  # fmt: skip
            fp = sum(predict(chosen[r["paper_id"]], r["paper_id"])
                     and not r["studies_scaling_law"] for r in mine)  # fmt: skip
            fn = sum(r["studies_scaling_law"] for r in mine) - tp
            results[source].append(paper_f1(tp, fp, fn))
    print(f"rescue chosen by 5-fold CV x {shuffles} shuffles (picks {picks})")
    for source in SOURCES:
        print(
            f"  {source}: paper F1 {statistics.fmean(results[source]):.3f} "
            f"(rules alone {base[source]:.3f}; each option in-sample: "
            + ", ".join(f"{o} {f1_of(o, data.rows, source):.3f}" for o in options)
            + ")"
        )


RESCUE_C_GRID = (0.3, 1.0, 3.0, 10.0, 30.0, 100.0)
"""``--embed-rescue``: the L2 strengths tried for the paper classifier."""
RESCUE_T_GRID = (0.5, 0.6, 0.7, 0.8, 0.9, 1.01)
"""``--embed-rescue``: the rescue thresholds tried (1.01: never rescue)."""


@dataclass(frozen=True)
class RescuePaper:
    """A labelled paper (either label) as the embedding rescue sees it."""

    paper_id: str
    source: str
    label: bool
    gold: frozenset[str]
    found: bool
    """Whether the rules call it positive."""
    rule_variables: list[str]
    own_variables: list[str]
    """``RESCUE_VARIABLES``: the scale quantities its own sentences name."""


def rescue_variables(paper: Paper) -> list[str]:
    """The scale quantities named in the paper's own sentences (not background, not release),
    sorted: what a rescued paper reports (``RESCUE_VARIABLES`` in the docstring); the same
    sentences ``ingest.claims.rescue.apply_rescue`` turns into claims."""
    return sorted({v for r in rescue_sentences(paper) for v in r.variables})


RESCUE_VARIABLES = rescue_variables


def rescue_papers(data: Labelled) -> list[RescuePaper]:
    """Every labelled paper of ``data`` read by the rules."""
    out: list[RescuePaper] = []
    for row in data.rows:
        paper = data.papers[row["paper_id"]]
        reading = read_paper(paper)
        out.append(
            RescuePaper(
                paper_id=row["paper_id"],
                source=row["source"],
                label=bool(row["studies_scaling_law"]),
                gold=frozenset(row.get("variables") or ()),
                found=reading.studies,
                rule_variables=reading.rule_variables,
                own_variables=rescue_variables(paper),
            )
        )
    return out


def rescue_decision(p: RescuePaper, probability: float, t: float) -> tuple[bool, list[str]]:
    """Rules + rescue: (positive?, variables) for ``p`` with classifier ``probability``."""
    if p.found:
        return True, p.rule_variables
    if probability >= t and p.own_variables:
        return True, p.own_variables
    return False, []


@dataclass(frozen=True)
class PaperScores:
    """Paper-level precision / recall / F1 and mean per-paper variables F1 over positives."""

    precision: float
    recall: float
    f1: float
    variables_f1: float


def paper_scores(
    papers: Sequence[RescuePaper], decided: dict[str, tuple[bool, list[str]]]
) -> PaperScores:
    """Score the decisions ``decided`` (by paper id) on ``papers``; a missed positive scores
    0 on variables; with no positive, recall and variables F1 are 1."""
    tp = sum(decided[p.paper_id][0] and p.label for p in papers)
    fp = sum(decided[p.paper_id][0] and not p.label for p in papers)
    fn = sum(not decided[p.paper_id][0] and p.label for p in papers)
    positives_ = [p for p in papers if p.label]
    variables = (
        statistics.fmean(set_f1(decided[p.paper_id][1], p.gold) for p in positives_)
        if positives_
        else 1.0
    )
    return PaperScores(
        precision=tp / (tp + fp) if tp + fp else 1.0,
        recall=tp / (tp + fn) if tp + fn else 1.0,
        f1=paper_f1(tp, fp, fn),
        variables_f1=variables,
    )


PaperProbability = Callable[[Sequence[RescuePaper]], np.ndarray[Any, Any]]


def fit_paper_classifier(
    train: Sequence[RescuePaper], embeddings: Embeddings, c: float
) -> PaperProbability:
    """L2 logistic regression on the unit abstract embeddings of ``train`` (their labels)."""
    x = np.vstack([embeddings[p.paper_id] for p in train])
    y = np.array([p.label for p in train], dtype=int)
    if len(set(y.tolist())) < 2:
        share = float(y.mean()) if len(y) else 0.0
        return lambda ps: np.full(len(ps), share)
    clf = LogisticRegression(C=c, max_iter=2000).fit(x, y)

    def probability(ps: Sequence[RescuePaper]) -> np.ndarray[Any, Any]:
        if not ps:
            return np.zeros(0)
        z = np.vstack([embeddings[p.paper_id] for p in ps])
        return np.asarray(clf.predict_proba(z)[:, 1], dtype=float)

    return probability


def deal(papers: Sequence[RescuePaper], k: int, seed: str) -> list[list[RescuePaper]]:
    """``papers`` shuffled and dealt into ``k`` folds within each source (as ``--recall``)."""
    folds: list[list[RescuePaper]] = [[] for _ in range(k)]
    for source in SOURCES:
        order = [p for p in papers if p.source == source]
        random.Random(f"{seed}:{source}").shuffle(order)
        for i, p in enumerate(order):
            folds[i % k].append(p)
    return folds


def _balanced_paper_f1(
    papers: Sequence[RescuePaper], decided: dict[str, tuple[bool, list[str]]]
) -> float:
    present = [s for s in SOURCES if any(p.source == s for p in papers)]
    return statistics.fmean(
        paper_scores([p for p in papers if p.source == s], decided).f1 for s in present
    )


def tune_rescue(
    train: Sequence[RescuePaper], embeddings: Embeddings, seed: str
) -> tuple[float, float, float]:
    """(C, t) best by inner 5-fold CV on ``train`` (mean over sources of the paper F1 of rules
    + rescue; ties to the higher ``t``, then the smaller ``C``), and that inner score."""
    probs: dict[float, dict[str, float]] = {c: {} for c in RESCUE_C_GRID}
    for i, held in enumerate(inner := deal(train, 5, f"inner:{seed}")):
        rest = [p for j, fold in enumerate(inner) if j != i for p in fold]
        for c in RESCUE_C_GRID:
            values = fit_paper_classifier(rest, embeddings, c)(held)
            probs[c].update({p.paper_id: float(q) for p, q in zip(held, values, strict=True)})
    best: tuple[float, float, float] | None = None
    for t in sorted(RESCUE_T_GRID, reverse=True):
        for c in RESCUE_C_GRID:
            decided = {p.paper_id: rescue_decision(p, probs[c][p.paper_id], t) for p in train}
            value = _balanced_paper_f1(train, decided)
            if best is None or value > best[2] + 1e-12:
                best = (c, t, value)
    assert best is not None
    return best


def embed_papers(data: Labelled, papers: Sequence[RescuePaper]) -> Embeddings:
    """The unit MiniLM embedding of each paper's ``paper_text`` (one encode call)."""
    from kb.embed import load_embedder
    from kb.index import paper_text

    texts = [paper_text(data.papers[p.paper_id]) for p in papers]
    vectors = _unit(np.asarray(load_embedder(None).encode(texts), dtype=float))
    return {p.paper_id: vectors[i] for i, p in enumerate(papers)}


def embed_rescue_cv(
    papers: Sequence[RescuePaper], embeddings: Embeddings, shuffles: int
) -> dict[str, dict[str, list[PaperScores]]]:
    """Outer CV of rules vs rules + embedding rescue; prints and returns the figures
    (``{"rules"|"rescue": {source: [scores per shuffle]}}``)."""
    figures: dict[str, dict[str, list[PaperScores]]] = {
        n: {s: [] for s in SOURCES} for n in ("rules", "rescue")
    }
    rules = {p.paper_id: rescue_decision(p, 0.0, 2.0) for p in papers}
    settings: dict[str, int] = {}
    for seed in range(shuffles):
        decided: dict[str, tuple[bool, list[str]]] = {}
        per_fold: list[str] = []
        for i, held in enumerate(outer := deal(papers, 5, str(2000 + seed))):
            train = [p for j, fold in enumerate(outer) if j != i for p in fold]
            c, t, _ = tune_rescue(train, embeddings, f"{seed}:{i}")
            settings[f"C={c} t={t}"] = settings.get(f"C={c} t={t}", 0) + 1
            values = fit_paper_classifier(train, embeddings, c)(held)
            rescued: dict[str, list[bool]] = {s: [] for s in SOURCES}
            for p, q in zip(held, values, strict=True):
                decided[p.paper_id] = rescue_decision(p, float(q), t)
                if decided[p.paper_id][0] and not p.found:
                    rescued[p.source].append(p.label)
            per_fold.append(" ".join(f"{s} {sum(r)}/{len(r)}" for s, r in rescued.items()))
        print(f"shuffle {seed}: rescued true/all per outer fold: " + "; ".join(per_fold))
        for s in SOURCES:
            mine = [p for p in papers if p.source == s]
            if mine:
                figures["rules"][s].append(paper_scores(mine, rules))
                figures["rescue"][s].append(paper_scores(mine, decided))
    print(f"settings chosen by the inner CV: {settings}")
    print(f"{'source':<8}{'decision':<10}{'precision':>10}{'recall':>8}{'F1':>8}{'vars F1':>9}")
    for s in SOURCES:
        for n in ("rules", "rescue"):
            rows = figures[n][s]
            if not rows:
                continue
            cells = [
                statistics.fmean(getattr(r, f) for r in rows)
                for f in ("precision", "recall", "f1", "variables_f1")
            ]
            print(
                f"{s:<8}{n:<10}"
                + "".join(f"{v:>{w}.3f}" for v, w in zip(cells, (10, 8, 8, 9), strict=True))
            )
    return figures


def write_rescue(papers: Sequence[RescuePaper], embeddings: Embeddings, out: Path) -> RescueModel:
    """Choose (C, t) by ``tune_rescue`` on all ``papers`` (seed "final"), fit the classifier on
    all of them and write it to ``out`` (``ingest.claims.rescue``); returns the model."""
    from kb.embed import model_name

    c, t, inner = tune_rescue(papers, embeddings, "final")
    if t > 1.0:
        raise SystemExit(f"the inner CV chose never to rescue (C={c}); nothing written")
    x = np.vstack([embeddings[p.paper_id] for p in papers])
    y = np.array([p.label for p in papers], dtype=int)
    clf = LogisticRegression(C=c, max_iter=2000).fit(x, y)
    counts = {s: sum(p.source == s for p in papers) for s in SOURCES}
    meta = RescueMeta(
        encoder=model_name(None),
        dim=x.shape[1],
        intercept=float(clf.intercept_[0]),
        threshold=t,
        trained_on=(
            f"dev split of data/eval/claims_dev.jsonl ({counts['dev']} papers) + "
            f"data/eval/claims_external.jsonl outside ext-test ({counts['ext']} papers), "
            f"studies_scaling_law labels; C={c}, threshold={t} by 5-fold CV (inner balanced "
            f"paper F1 {inner:.3f}); "
            "benchmarks/fit_claim_variables.py --embed-rescue --write-rescue"
        ),
    )
    model = RescueModel(meta, clf.coef_[0])
    model.save(out)
    rescued = [
        p for p in papers if not p.found and p.own_variables
        and model.probability(embeddings[p.paper_id]) >= t
    ]  # fmt: skip
    print(
        f"wrote {out}: C={c} t={t} (inner CV {inner:.3f}); in-sample it rescues "
        f"{sum(p.label for p in rescued)} positives and {sum(not p.label for p in rescued)} "
        f"negatives of {len(papers)} papers; tag {model.tag}"
    )
    return model


@dataclass(frozen=True)
class PositivePaper:
    """A labelled positive: what the rules read, its source, and its annotators' variables."""

    paper_id: str
    source: str
    found: bool
    candidates: list[Candidate]
    rule_variables: list[str]
    gold: frozenset[str]
    gold2: frozenset[str] | None
    sentences: list[str]
    """Per candidate, its best sentence: the first claim sentence naming it, else the first own
    (non-background) sentence, else the first sentence, else the title."""


Predictor = Callable[[PositivePaper], list[str]]


def positives(data: Labelled) -> list[PositivePaper]:
    """Every positive of ``data``, read by the rules with its candidates."""
    out: list[PositivePaper] = []
    for row in data.rows:
        if not row["studies_scaling_law"]:
            continue  # negatives have no variables to score
        paper = data.papers[row["paper_id"]]
        reading = read_paper(paper, with_candidates=True)
        out.append(
            PositivePaper(
                paper_id=row["paper_id"],
                source=row["source"],
                found=reading.studies,
                candidates=reading.candidates,
                rule_variables=reading.rule_variables,
                gold=frozenset(row["variables"]),
                gold2=data.second.get(row["paper_id"]),
                sentences=[
                    best_sentence(paper, reading.claim_readings, c.variable)
                    for c in reading.candidates
                ],
            )
        )
    return out


def best_sentence(paper: Paper, claims: Sequence[SentenceReading], variable: str) -> str:
    """The sentence that best shows what ``paper`` says about ``variable``."""
    readings = explain(paper)
    ranked = [
        *(r for r in claims if variable in r.variables),
        *(r for r in readings if variable in r.variables and not r.background),
        *(r for r in readings if variable in r.variables),
    ]
    return paper.abstract[ranked[0].start : ranked[0].end] if ranked else paper.title


Embeddings = dict[str, np.ndarray[Any, Any]]


def embed_candidates(papers: Sequence[PositivePaper]) -> Embeddings:
    """Per paper, the shipped MiniLM embedding of each candidate's best sentence (rows)."""
    from kb.embed import load_embedder

    embedder = load_embedder(None)
    texts = [s for p in papers for s in p.sentences]
    vectors = embedder.encode(texts) if texts else np.zeros((0, 1))
    out: Embeddings = {}
    at = 0
    for p in papers:
        out[p.paper_id] = np.asarray(vectors[at : at + len(p.sentences)], dtype=float)
        at += len(p.sentences)
    return out


def _design(
    papers: Sequence[PositivePaper], features: Sequence[str]
) -> tuple[np.ndarray[Any, Any], np.ndarray[Any, Any]]:
    cols = [FEATURES.index(f) for f in features]
    rows = [(cand, cand.variable in p.gold) for p in papers if p.found for cand in p.candidates]
    x = np.array([[cand.values[i] for i in cols] for cand, _ in rows], dtype=float)
    y = np.array([label for _, label in rows], dtype=int)
    return x, y


def fit_model(
    papers: Sequence[PositivePaper],
    features: Sequence[str],
    c: float,
    threshold: float,
    note: str,
) -> VariableModel:
    """L2 logistic regression on standardised ``features`` (the others get weight 0)."""
    cols = [FEATURES.index(f) for f in features]
    x, y = _design(papers, features)
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


def rules_predictor(p: PositivePaper) -> list[str]:
    """``claims-rules-3``: the union of the claim sentences' variables."""
    return p.rule_variables if p.found else []


def balanced(values: dict[str, float], papers: Sequence[PositivePaper]) -> float:
    """Mean over the sources present of the mean per-paper F1 (``values`` by paper id)."""
    means = [
        statistics.fmean(values[p.paper_id] for p in papers if p.source == s)
        for s in SOURCES
        if any(p.source == s for p in papers)
    ]
    return statistics.fmean(means) if means else 1.0


def score(predict: Predictor, papers: Sequence[PositivePaper], second: bool = False) -> float:
    """Mean per-paper variables F1 (against annotator 2 with ``second``, where labelled)."""
    scored = [p for p in papers if not second or p.gold2 is not None]
    if not scored:
        return 1.0
    return statistics.fmean(
        set_f1(predict(p), (p.gold2 if second else p.gold) or frozenset()) for p in scored
    )


def folds_of(papers: Sequence[PositivePaper], k: int, seed: int) -> list[list[PositivePaper]]:
    """``papers`` shuffled with ``seed`` and dealt into ``k`` folds within each source."""
    folds: list[list[PositivePaper]] = [[] for _ in range(k)]
    offset = 0
    for source in SOURCES:
        order = [p for p in papers if p.source == source]
        random.Random(f"{seed}:{source}").shuffle(order)
        for i, p in enumerate(order):
            folds[(i + offset) % k].append(p)
        offset += len(order)
    return folds


Scorer = Callable[[PositivePaper], list[tuple[float, str]]]
"""A fitted decision: each candidate's probability and variable."""
Fitter = Callable[[Sequence[PositivePaper], float], Scorer]
"""Fits a decision with L2 strength ``C`` on some papers."""


def keep(probs: Sequence[tuple[float, str]], threshold: float) -> list[str]:
    """The variables at or above ``threshold``; the most probable one if none is."""
    return sorted(v for q, v in probs if q >= threshold) or ([max(probs)[1]] if probs else [])


def scorer_predictor(scorer: Scorer, threshold: float) -> Predictor:
    """The decision of ``scorer`` at ``threshold``: empty for a positive the rules miss."""
    return lambda p: keep(scorer(p), threshold) if p.found else []


def feature_fitter(features: Sequence[str]) -> Fitter:
    """Logistic regression on ``features`` (:func:`fit_model`)."""

    def fit(papers: Sequence[PositivePaper], c: float) -> Scorer:
        model = fit_model(papers, features, c, 0.5, "inner")
        return lambda p: [(model.probability(cand), cand.variable) for cand in p.candidates]

    return fit


Block = Callable[[np.ndarray[Any, Any], Sequence[str]], np.ndarray[Any, Any]]
"""Extra columns for candidates not in the training set: (embeddings, variables) -> rows."""
BlockMaker = Callable[
    [np.ndarray[Any, Any], np.ndarray[Any, Any], Sequence[str]],
    tuple[np.ndarray[Any, Any], Block],
]
"""From the training candidates' (embeddings, labels, variables): their own extra columns and
the function giving the extra columns of other candidates."""


def pca_block(dims: int) -> BlockMaker:
    """The first ``dims`` principal components of the training embeddings (``logreg-embed``)."""

    def make(
        e: np.ndarray[Any, Any], y: np.ndarray[Any, Any], variables: Sequence[str]
    ) -> tuple[np.ndarray[Any, Any], Block]:
        centre = e.mean(axis=0)
        _, _, vt = np.linalg.svd(e - centre, full_matrices=False)
        basis = vt[:dims].T
        return (e - centre) @ basis, lambda z, _v: (z - centre) @ basis

    return make


def full_block(
    e: np.ndarray[Any, Any], y: np.ndarray[Any, Any], variables: Sequence[str]
) -> tuple[np.ndarray[Any, Any], Block]:
    """The whole L2-normalised embedding (``logreg-embed-full``)."""
    return _unit(e), lambda z, _v: _unit(z)


def _unit(e: np.ndarray[Any, Any]) -> np.ndarray[Any, Any]:
    """Rows of ``e`` scaled to unit length (a zero row stays zero)."""
    norms = np.linalg.norm(e, axis=1, keepdims=True)
    norms[norms == 0] = 1.0
    return np.asarray(e / norms, dtype=float)


def _cosine_to(vectors: np.ndarray[Any, Any], centre: np.ndarray[Any, Any]) -> np.ndarray[Any, Any]:
    """Cosine of each unit row of ``vectors`` to ``centre`` (0 when ``centre`` is zero)."""
    norm = float(np.linalg.norm(centre))
    return vectors @ centre / norm if norm > 0 else np.zeros(len(vectors))


def proto_block(
    e: np.ndarray[Any, Any], y: np.ndarray[Any, Any], variables: Sequence[str]
) -> tuple[np.ndarray[Any, Any], Block]:
    """Cosine to the same variable's mean positive and mean negative training embedding
    (``proto``); a training candidate is left out of the means it is compared with."""
    u = _unit(e)
    var = np.array(variables)
    sums: dict[tuple[str, int], np.ndarray[Any, Any]] = {}
    for v in set(variables):
        for label in (1, 0):
            mask = (var == v) & (y == label)
            sums[(v, label)] = u[mask].sum(axis=0) if mask.any() else np.zeros(u.shape[1])
    own = np.zeros((len(u), 2))
    for i, v in enumerate(variables):
        for col, label in enumerate((1, 0)):
            total = sums[(v, label)] - (u[i] if y[i] == label else 0.0)
            own[i, col] = _cosine_to(u[i : i + 1], total)[0]

    def apply(z: np.ndarray[Any, Any], zvars: Sequence[str]) -> np.ndarray[Any, Any]:
        uz = _unit(z)
        zero = np.zeros(u.shape[1])
        return np.array(
            [
                [_cosine_to(uz[i : i + 1], sums.get((v, label), zero))[0] for label in (1, 0)]
                for i, v in enumerate(zvars)
            ]
        ).reshape(len(zvars), 2)

    return own, apply


def knn_block(
    e: np.ndarray[Any, Any], y: np.ndarray[Any, Any], variables: Sequence[str]
) -> tuple[np.ndarray[Any, Any], Block]:
    """Similarity-weighted positive share among the ``KNN_K`` nearest training candidates of
    the same variable (``knn``); a training candidate is not its own neighbour."""
    u = _unit(e)
    var = np.array(variables)

    def share(query: np.ndarray[Any, Any], v: str, exclude: int | None) -> float:
        idx = np.flatnonzero(var == v)
        if exclude is not None:
            idx = idx[idx != exclude]
        if len(idx) == 0:
            return 0.5
        sims = u[idx] @ query
        top = np.argsort(-sims, kind="stable")[:KNN_K]
        weights = np.clip(sims[top], 0.0, None)
        total = float(weights.sum())
        return float(weights @ y[idx][top] / total) if total > 0 else 0.5

    own = np.array([[share(u[i], v, i)] for i, v in enumerate(variables)]).reshape(len(u), 1)

    def apply(z: np.ndarray[Any, Any], zvars: Sequence[str]) -> np.ndarray[Any, Any]:
        uz = _unit(z)
        return np.array([[share(uz[i], v, None)] for i, v in enumerate(zvars)]).reshape(
            len(zvars), 1
        )

    return own, apply


def embed_fitter(features: Sequence[str], embeddings: Embeddings, block: BlockMaker) -> Fitter:
    """Logistic regression on ``features`` plus the extra columns ``block`` derives from each
    candidate's best-sentence embedding, fitted on the training candidates only; every column
    is standardised on the training candidates."""
    cols = [FEATURES.index(f) for f in features]

    def rows(p: PositivePaper) -> np.ndarray[Any, Any]:
        return np.array([[cand.values[i] for i in cols] for cand in p.candidates], dtype=float)

    def fit(papers: Sequence[PositivePaper], c: float) -> Scorer:
        found = [p for p in papers if p.found and p.candidates]
        x = np.vstack([rows(p) for p in found])
        e = np.vstack([embeddings[p.paper_id] for p in found])
        y = np.array([cand.variable in p.gold for p in found for cand in p.candidates], dtype=int)
        variables = [cand.variable for p in found for cand in p.candidates]
        extra, apply = block(e, y, variables)
        full = np.hstack([x, extra])
        means = full.mean(axis=0)
        scales = full.std(axis=0)
        scales[scales == 0] = 1.0
        clf = LogisticRegression(C=c, max_iter=2000).fit((full - means) / scales, y)

        def score_paper(p: PositivePaper) -> list[tuple[float, str]]:
            if not p.candidates:
                return []
            names = [cand.variable for cand in p.candidates]
            z = np.hstack([rows(p), apply(embeddings[p.paper_id], names)])
            probs = clf.predict_proba((z - means) / scales)[:, 1]
            return [(float(q), cand.variable) for q, cand in zip(probs, p.candidates, strict=True)]

        return score_paper

    return fit


BLOCKS: dict[str, BlockMaker] = {
    EMBED: pca_block(EMBED_DIMS),
    EMBED_FULL: full_block,
    PROTO: proto_block,
    KNN: knn_block,
}


def tuned(
    train: Sequence[PositivePaper], fitter: Fitter, seed: int, grid: Sequence[float] = C_GRID
) -> tuple[float, float, float]:
    """The (C, threshold) best by inner 5-fold CV on ``train``, and its inner score."""
    inner = folds_of(train, 5, seed)
    f1: dict[tuple[float, float], dict[str, float]] = {(c, t): {} for c in grid for t in THRESHOLDS}
    for i, held in enumerate(inner):
        rest = [p for j, fold in enumerate(inner) if j != i for p in fold]
        for c in grid:
            scorer = fitter(rest, c)
            for p in held:
                probs = scorer(p)
                for t in THRESHOLDS:
                    kept = keep(probs, t) if p.found else []
                    f1[(c, t)][p.paper_id] = set_f1(kept, p.gold)
    best: tuple[float, float, float] | None = None
    for (c, t), values in f1.items():
        value = balanced(values, train)
        if best is None or value > best[2] + 1e-12:
            best = (c, t, value)
    assert best is not None
    return best


def train_approach(
    name: str, train: Sequence[PositivePaper], seed: int, embeddings: Embeddings | None = None
) -> tuple[Predictor, float, str]:
    """Predictor of approach ``name`` fitted on ``train``, its inner-CV score, its settings."""
    if name == "rules":
        values = {p.paper_id: set_f1(rules_predictor(p), p.gold) for p in train}
        return rules_predictor, balanced(values, train), "-"
    if name in DEV_ONLY:
        train = [p for p in train if p.source == "dev"]
    grid = C_GRID_EMBED if name == EMBED_FULL else C_GRID
    if name in BLOCKS:
        assert embeddings is not None
        fitter = embed_fitter(FEATURES, embeddings, BLOCKS[name])
    else:
        fitter = feature_fitter(VARIANTS[name])
    c, threshold, inner = tuned(train, fitter, seed, grid)
    return scorer_predictor(fitter(train, c), threshold), inner, f"C={c} t={threshold}"


def _lookup(predicted: dict[str, list[str]]) -> Predictor:
    """A predictor that returns the stored prediction of each paper."""
    return lambda p: predicted[p.paper_id]


def nested(
    papers: Sequence[PositivePaper], shuffles: int, embeddings: Embeddings | None = None
) -> None:
    """Print the outer-CV figures of each approach and of the selection, per source."""
    approaches = (*APPROACHES, *EMBED_APPROACHES) if embeddings is not None else APPROACHES
    names = [*approaches, "selection"]
    columns = ("dev a1", "dev a2", "ext")
    figures: dict[str, dict[str, list[float]]] = {n: {c: [] for c in columns} for n in names}
    picks: dict[str, int] = {}
    chosen_settings: dict[str, dict[str, int]] = {n: {} for n in approaches}
    dev = [p for p in papers if p.source == "dev"]
    ext = [p for p in papers if p.source == "ext"]
    for seed in range(shuffles):
        outer = folds_of(papers, 5, 1000 + seed)
        predicted: dict[str, dict[str, list[str]]] = {n: {} for n in names}
        for i, held in enumerate(outer):
            train = [p for j, fold in enumerate(outer) if j != i for p in fold]
            trained = {n: train_approach(n, train, seed, embeddings) for n in approaches}
            # the selection: the best inner-CV score (rules: its training score, nothing fitted)
            # (``logreg-dev-only`` is a diagnostic: its inner score covers dev papers only)
            pick = max((n for n in approaches if n not in DEV_ONLY), key=lambda n: trained[n][1])
            picks[pick] = picks.get(pick, 0) + 1
            for n in approaches:
                chosen_settings[n][trained[n][2]] = chosen_settings[n].get(trained[n][2], 0) + 1
            for p in held:
                for n in approaches:
                    predicted[n][p.paper_id] = trained[n][0](p)
                predicted["selection"][p.paper_id] = predicted[pick][p.paper_id]
        for n in names:
            lookup = _lookup(predicted[n])
            figures[n]["dev a1"].append(score(lookup, dev))
            figures[n]["dev a2"].append(score(lookup, dev, second=True))
            if ext:
                figures[n]["ext"].append(score(lookup, ext))
    print(
        f"nested CV: {len(dev)} dev + {len(ext)} external positives, 5 outer folds x "
        f"{shuffles} shuffles (folds dealt within each source)"
    )
    print(f"{'approach':<18}" + "".join(f"{c:>22}" for c in columns))
    for n in names:
        cells = "".join(
            f"{statistics.fmean(v):>14.3f} ± {statistics.pstdev(v):.3f}" if v else f"{'-':>22}"
            for v in figures[n].values()
        )
        print(f"{n:<18}{cells}")
    print(f"selection picked: {picks}")
    print("settings chosen by the inner CV (outer folds):")
    for n in approaches:
        if n != "rules":
            print(f"  {n:<18}" + ", ".join(f"{k} x{v}" for k, v in chosen_settings[n].items()))


def coefficient_table(model: VariableModel) -> None:
    """Print the weights, largest first (log-odds per standard deviation of the feature)."""
    print(f"intercept {model.intercept:+.3f}; keep when P >= {model.threshold}")
    order = sorted(range(len(FEATURES)), key=lambda i: -abs(model.coefficients[i]))
    for i in order:
        print(f"  {FEATURES[i]:<16}{model.coefficients[i]:+.3f}")


def main() -> None:
    """Run the nested comparison; with ``--write``, refit the chosen approach on all papers."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=Path, default=DEFAULT_SEEDS, help="seed listings folder")
    parser.add_argument("--labels", type=Path, default=LABELS)
    parser.add_argument("--second", type=Path, default=SECOND)
    parser.add_argument("--external-labels", type=Path, default=EXTERNAL_LABELS)
    add_external_texts_option(parser)
    add_skip_missing_option(parser)
    parser.add_argument("--shuffles", type=int, default=5, help="outer CV repetitions")
    parser.add_argument(
        "--approach", choices=[v for v in VARIANTS if v not in DEV_ONLY], default="logreg"
    )
    parser.add_argument("--write", action="store_true", help=f"write {DEFAULT_WEIGHTS.name}")
    parser.add_argument("--no-cv", action="store_true", help="skip the nested comparison")
    parser.add_argument("--recall", action="store_true", help="count the rescue conditions")
    parser.add_argument(
        "--embed-rescue",
        action="store_true",
        help="CV of the paper-level abstract-embedding rescue (loads the model)",
    )
    parser.add_argument(
        "--write-rescue",
        action="store_true",
        help="with --embed-rescue: choose (C, t) on all papers, fit, write --rescue-out",
    )
    parser.add_argument(
        "--rescue-out",
        type=Path,
        default=DEFAULT_RESCUE,
        help=f"where --write-rescue writes (default {DEFAULT_RESCUE.relative_to(ROOT)})",
    )
    parser.add_argument(
        "--embed",
        action="store_true",
        help=f"add the {', '.join(EMBED_APPROACHES)} approaches (loads the model)",
    )
    args = parser.parse_args()
    texts = args.external_texts or external_texts_from_env()
    data = load_labelled(
        args.seeds,
        args.labels,
        args.second,
        args.external_labels,
        texts,
        skip_missing=args.skip_missing_texts,
    )
    if args.write_rescue and not args.embed_rescue:
        parser.error("--write-rescue needs --embed-rescue")
    if args.embed_rescue:
        everyone = rescue_papers(data)
        embeddings = embed_papers(data, everyone)
        if args.shuffles > 0:
            embed_rescue_cv(everyone, embeddings, args.shuffles)
        if args.write_rescue:
            write_rescue(everyone, embeddings, args.rescue_out)
        return
    if args.recall:
        recall_probe(data)
        recall_cv(data, args.shuffles)
        return

    papers = positives(data)
    for source in SOURCES:
        mine = [p for p in papers if p.source == source]
        print(f"{source} positives {len(mine)}, found by the rules {sum(p.found for p in mine)}")
    if not args.no_cv:
        nested(papers, args.shuffles, embed_candidates(papers) if args.embed else None)
    c, threshold, inner = tuned(papers, feature_fitter(VARIANTS[args.approach]), 0)
    counts = {s: sum(p.found for p in papers if p.source == s) for s in SOURCES}
    note = (
        f"{args.approach}; dev split of data/eval/claims_dev.jsonl (annotator 1, "
        f"{counts['dev']} papers) + data/eval/claims_external.jsonl outside ext-test "
        f"({counts['ext']} papers); C={c}, threshold={threshold} by 5-fold CV "
        f"(inner F1 {inner:.3f}); benchmarks/fit_claim_variables.py"
    )
    model = fit_model(papers, VARIANTS[args.approach], c, threshold, note)
    print(f"\n{args.approach} on all papers: C={c} threshold={threshold} (inner CV {inner:.3f})")
    coefficient_table(model)
    for source in SOURCES:
        mine = [p for p in papers if p.source == source]
        print(
            f"in-sample {source}: {score(model_predictor(model), mine):.3f} "
            f"(rules {score(rules_predictor, mine):.3f})"
        )
    if args.write:
        payload: dict[str, Any] = model.model_dump()
        write_atomic(DEFAULT_WEIGHTS, json.dumps(payload, indent=1) + "\n", "the variable model")
        print(f"wrote {DEFAULT_WEIGHTS.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
