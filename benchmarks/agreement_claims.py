"""Inter-annotator agreement on the claim labels, and the extractor scored against each annotator.

Annotator 1 is ``data/eval/claims_dev.jsonl`` (every paper); annotator 2 is
``data/eval/claims_second_annotator.jsonl`` (the papers annotator 1 labelled positive, labelled
again blind to annotator 1 and to the extractor: ``variables`` and ``responses`` only). Prints,
for the dev, held-out and all positive papers:

- the mean per-paper F1 between the two annotators' variable sets and response sets (the
  per-paper F1 of ``bench_claims.set_f1``; F1 is symmetric, so neither annotator is the gold
  one), and the share of papers whose sets are identical;
- per label, Cohen's kappa of "the paper has this label" over the positive papers, and the
  macro mean over labels (labels no annotator uses in a split have no kappa and are skipped);
- unless ``--no-extractor``: the extractor's variables / response F1 (``bench_claims.evaluate``,
  so a positive paper the extractor misses scores 0) against annotator 1, against annotator 2,
  and against the closer of the two per paper; then the same over the positives the extractor
  finds (``_found_``), which separates wrong variable sets from missed papers.

    PYTHONPATH=. KB_SHARED=../shared python benchmarks/agreement_claims.py [--no-extractor]
    PYTHONPATH=. python benchmarks/agreement_claims.py --disagreements   # dev papers only

``--disagreements`` lists the dev papers where the annotators differ; held-out disagreements are
not listed, so the held-out split stays unread for whoever tunes the extractor next.
"""

from __future__ import annotations

import argparse
import statistics
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

from _jsonl import read_jsonl  # noqa: E402
from bench_claims import DEFAULT_SEEDS, LABELS, evaluate, read_seed_papers, set_f1  # noqa: E402

from kb.records import RESPONSES, VARIABLES  # noqa: E402

SECOND = ROOT / "data" / "eval" / "claims_second_annotator.jsonl"
SPLITS = ("dev", "heldout", "all")
FIELDS = {"variables": VARIABLES, "responses": RESPONSES}


def cohen_kappa(first: Sequence[bool], second: Sequence[bool]) -> float | None:
    """Cohen's kappa of two binary ratings of the same items; None when chance agreement is 1."""
    if len(first) != len(second):
        raise ValueError(f"ratings differ in length: {len(first)} and {len(second)}")
    n = len(first)
    if n == 0:
        return None
    observed = sum(a == b for a, b in zip(first, second, strict=True)) / n
    p1 = sum(first) / n
    p2 = sum(second) / n
    expected = p1 * p2 + (1 - p1) * (1 - p2)
    if expected >= 1.0:
        return None
    return (observed - expected) / (1 - expected)


def label_kappas(
    pairs: Sequence[tuple[Sequence[str], Sequence[str]]], vocabulary: Sequence[str]
) -> dict[str, tuple[int, int, float | None]]:
    """Per label: papers annotator 1 gives it, papers annotator 2 gives it, Cohen's kappa."""
    out: dict[str, tuple[int, int, float | None]] = {}
    for label in vocabulary:
        a = [label in first for first, _ in pairs]
        b = [label in second for _, second in pairs]
        out[label] = (sum(a), sum(b), cohen_kappa(a, b))
    return out


def agreement(
    first: dict[str, dict[str, Any]], second: dict[str, dict[str, Any]], ids: Sequence[str]
) -> dict[str, float]:
    """Mean per-paper F1, exact-match share and macro kappa per field over ``ids``."""
    out: dict[str, float] = {"papers": float(len(ids))}
    for field, vocabulary in FIELDS.items():
        pairs = [(first[pid][field], second[pid][field]) for pid in ids]
        f1s = [set_f1(a, b) for a, b in pairs]
        out[f"{field}_f1"] = statistics.fmean(f1s) if f1s else 1.0
        out[f"{field}_exact"] = (
            sum(set(a) == set(b) for a, b in pairs) / len(pairs) if pairs else 1.0
        )
        kappas = [k for _, _, k in label_kappas(pairs, vocabulary).values() if k is not None]
        out[f"{field}_kappa"] = statistics.fmean(kappas) if kappas else float("nan")
    return out


def _print_table(title: str, results: dict[str, dict[str, float]]) -> None:
    print(title)
    print(f"{'figure':<24}" + "".join(f"{s:>10}" for s in results))
    for key in next(iter(results.values())):
        cells = "".join(
            f"{results[s][key]:>10.0f}" if key in ("papers", "positives", "positives_found")
            else f"{results[s][key]:>10.3f}"
            for s in results
        )  # fmt: skip
        print(f"{key:<24}{cells}")
    print()


def main() -> None:
    """Print the agreement figures (and the extractor's, unless ``--no-extractor``)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=Path, default=DEFAULT_SEEDS, help="seed listings folder")
    parser.add_argument("--labels", type=Path, default=LABELS, help="annotator 1 (all papers)")
    parser.add_argument("--second", type=Path, default=SECOND, help="annotator 2 (positives)")
    parser.add_argument("--no-extractor", action="store_true", help="agreement figures only")
    parser.add_argument(
        "--disagreements", action="store_true", help="list dev papers the annotators differ on"
    )
    args = parser.parse_args()

    rows = read_jsonl(args.labels)
    first = {r["paper_id"]: r for r in rows}
    second = {r["paper_id"]: r for r in read_jsonl(args.second)}
    positives = [r["paper_id"] for r in rows if r["studies_scaling_law"]]
    missing = sorted(set(positives) - set(second))
    extra = sorted(set(second) - set(positives))
    if missing or extra:
        raise SystemExit(
            f"{args.second}: must hold exactly the {len(positives)} positives of {args.labels}; "
            f"missing {missing[:3]}, not positive there {extra[:3]}"
        )
    ids = {
        "dev": [p for p in positives if first[p]["split"] == "dev"],
        "heldout": [p for p in positives if first[p]["split"] == "heldout"],
        "all": positives,
    }

    _print_table(
        "annotator 1 vs annotator 2 (positive papers)",
        {s: agreement(first, second, ids[s]) for s in SPLITS},
    )
    for field, vocabulary in FIELDS.items():
        pairs = [(first[p][field], second[p][field]) for p in positives]
        print(f"per-label agreement on {field}, all {len(pairs)} positives")
        print(f"{'label':<24}{'ann. 1':>8}{'ann. 2':>8}{'kappa':>8}")
        for label, (n1, n2, kappa) in label_kappas(pairs, vocabulary).items():
            shown = "-" if kappa is None else f"{kappa:.2f}"
            print(f"{label:<24}{n1:>8}{n2:>8}{shown:>8}")
        print()

    if args.disagreements:
        seeds = read_seed_papers(args.seeds)
        print("dev papers where the annotators differ (annotator 1 | annotator 2)")
        for pid in ids["dev"]:
            a, b = first[pid], second[pid]
            if any(set(a[f]) != set(b[f]) for f in FIELDS):
                print(f"{pid} {seeds[pid].title[:70]}")
                for f in FIELDS:
                    if set(a[f]) != set(b[f]):
                        print(f"    {f}: {sorted(a[f])} | {sorted(b[f])}")
        print()

    if args.no_extractor:
        return
    from ingest.claims import EXTRACTOR_VERSION, extract

    seeds = read_seed_papers(args.seeds)
    preds = {r["paper_id"]: extract(seeds[r["paper_id"]]) for r in rows}
    relabelled = [{**r, **second[r["paper_id"]]} if r["paper_id"] in second else r for r in rows]
    split_rows: dict[str, dict[str, list[dict[str, Any]]]] = {
        "annotator 1": {s: [r for r in rows if s == "all" or r["split"] == s] for s in SPLITS},
        "annotator 2": {
            s: [r for r in relabelled if s == "all" or r["split"] == s] for s in SPLITS
        },
    }
    figures: dict[str, dict[str, float]] = {s: {} for s in SPLITS}
    for who, by_split in split_rows.items():
        for s in SPLITS:
            result = evaluate(by_split[s], preds)
            short = "a1" if who == "annotator 1" else "a2"
            figures[s][f"variables_f1_vs_{short}"] = result["variables_f1"]
            figures[s][f"response_f1_vs_{short}"] = result["response_f1"]
    for s in SPLITS:
        found = [pid for pid in ids[s] if preds[pid].studies_scaling_law]
        figures[s]["positives"] = float(len(ids[s]))
        figures[s]["positives_found"] = float(len(found))
        for field, key in (("variables", "variables_f1"), ("responses", "response_f1")):
            f1_a1: list[float] = []
            f1_a2: list[float] = []
            for pid in found:
                ex = preds[pid]
                pred = (
                    {v for c in ex.claims for v in c.variables}
                    if field == "variables"
                    else {c.response for c in ex.claims}
                )
                f1_a1.append(set_f1(pred, first[pid][field]))
                f1_a2.append(set_f1(pred, second[pid][field]))
            best = [max(a, b) for a, b in zip(f1_a1, f1_a2, strict=True)]
            # Papers the extractor misses score 0 against either annotator.
            misses = [0.0] * (len(ids[s]) - len(found))
            figures[s][f"{key}_vs_closer"] = statistics.fmean(best + misses) if ids[s] else 1.0
            for short, values in (("a1", f1_a1), ("a2", f1_a2)):
                figures[s][f"{key}_found_vs_{short}"] = statistics.fmean(values) if values else 1.0
    _print_table(f"extractor {EXTRACTOR_VERSION} against each annotator", figures)


if __name__ == "__main__":
    main()
