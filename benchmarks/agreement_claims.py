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

``--cover`` prints instead the agreement on the cover sample: annotator 1 is
``data/eval/claims_cover.jsonl``, annotator 2 ``data/eval/claims_cover_second.jsonl`` (every
paper, labelled blind to annotator 1 and to the extractor). Per split (``cover-tune``,
``cover-test``, all): Cohen's kappa of ``studies_scaling_law`` and the count of papers the two
call differently; the mean per-paper variables / response F1 and the share of identical sets over
the papers both call positive (``_both``) and over those either calls positive (``_either``,
where the other annotator's sets are empty); over ``_either`` the macro kappa per field and the
share of papers with the same exponent magnitudes; the share with the same domain (all papers
and ``_either``); then per-label kappas per split. No abstract is needed. With
``--disagreements`` it lists the ``cover-tune`` papers the annotators label differently (never
``cover-test``).

    PYTHONPATH=. python benchmarks/agreement_claims.py --cover [--disagreements]
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

from _jsonl import read_jsonl, read_jsonl_lines  # noqa: E402
from bench_claims import (  # noqa: E402
    COVER_LABELS,
    COVER_SPLITS,
    DEFAULT_SEEDS,
    LABELS,
    _distinct,
    cover_split,
    evaluate,
    read_seed_papers,
    set_f1,
)

from kb.records import DOMAINS, RESPONSES, VARIABLES  # noqa: E402

SECOND = ROOT / "data" / "eval" / "claims_second_annotator.jsonl"
COVER_SECOND = ROOT / "data" / "eval" / "claims_cover_second.jsonl"
SPLITS = ("dev", "heldout", "all")
COVER_TABLE_SPLITS = (*COVER_SPLITS, "all")
FIELDS = {"variables": VARIABLES, "responses": RESPONSES}
COVER_FIELDS = ("ext_id", "studies_scaling_law", "domain", "variables", "responses", "exponents")
# Figures printed as whole numbers by _print_table.
COUNTS = (
    "papers", "positives", "positives_found", "positives_a1", "positives_a2",
    "paper_disagreements", "both_positive", "either_positive",
)  # fmt: skip


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
    # A column is as wide as its split name plus two (at least 10, the dev table's width).
    width = {s: max(10, len(s) + 2) for s in results}
    print(title)
    print(f"{'figure':<24}" + "".join(f"{s:>{width[s]}}" for s in results))
    for key in next(iter(results.values())):
        cells = "".join(
            f"{results[s][key]:>{width[s]}.0f}" if key in COUNTS
            else f"{results[s][key]:>{width[s]}.3f}"
            for s in results
        )  # fmt: skip
        print(f"{key:<24}{cells}")
    print()


def _check_cover_row(row: dict[str, Any], where: str) -> None:
    """Stop with ``where`` in the message when a cover label line breaks the guide's format."""
    missing = [f for f in COVER_FIELDS if f not in row]
    if missing:
        raise SystemExit(f"{where}: missing field(s) {missing}; expected {list(COVER_FIELDS)}")
    if not isinstance(row["studies_scaling_law"], bool):
        raise SystemExit(f"{where}: studies_scaling_law must be true or false")
    if row["domain"] not in DOMAINS:
        raise SystemExit(f"{where}: domain {row['domain']!r} is not one of {list(DOMAINS)}")
    for field, vocabulary in FIELDS.items():
        values = row[field]
        unknown = [v for v in values if v not in vocabulary]
        if unknown:
            raise SystemExit(f"{where}: {field} {unknown} not in kb.records vocabulary")
        if bool(values) != row["studies_scaling_law"]:
            raise SystemExit(
                f"{where}: {field} must be non-empty exactly when studies_scaling_law is true"
            )
    if not all(isinstance(x, int | float) and not isinstance(x, bool) for x in row["exponents"]):
        raise SystemExit(f"{where}: exponents must be numbers, got {row['exponents']}")


def read_cover_annotations(
    first_path: Path, second_path: Path
) -> tuple[dict[str, dict[str, Any]], dict[str, dict[str, Any]]]:
    """Both annotations of the cover sample by ``ext_id``, each row with its ``split`` set.

    The split comes from ``bench_claims.cover_split``; a ``split`` written in a file must match
    it. Stops (``SystemExit`` naming file and line) on a broken or repeated line, a value outside
    the vocabularies, or when the two files do not label the same papers.
    """
    out: list[dict[str, dict[str, Any]]] = []
    for path in (first_path, second_path):
        rows: dict[str, dict[str, Any]] = {}
        for row, where in read_jsonl_lines(path):
            _check_cover_row(row, where)
            ext_id = row["ext_id"]
            if ext_id in rows:
                raise SystemExit(f"{where}: {ext_id} is labelled twice")
            split = cover_split(ext_id)
            if row.get("split", split) != split:
                raise SystemExit(f"{where}: split {row['split']!r} is not {split!r} (sha256 rule)")
            rows[ext_id] = {**row, "split": split}
        out.append(rows)
    first, second = out
    if set(first) != set(second):
        only_first = sorted(set(first) - set(second))
        only_second = sorted(set(second) - set(first))
        raise SystemExit(
            f"{second_path}: must label the same papers as {first_path}; missing "
            f"{only_first[:3]}, not in {first_path.name} {only_second[:3]}"
        )
    return first, second


def _same_exponents(first: Sequence[float], second: Sequence[float]) -> bool:
    """Both annotators list the same magnitudes (the benchmark's comparison)."""
    a, b = _distinct(first), _distinct(second)
    return len(a) == len(b) and all(
        abs(x - y) <= 1e-3 * max(1.0, y) for x, y in zip(a, b, strict=True)
    )


def cover_agreement(
    first: dict[str, dict[str, Any]], second: dict[str, dict[str, Any]], ids: Sequence[str]
) -> dict[str, float]:
    """Paper-level and per-field agreement of two full annotations over ``ids``.

    Field figures are over the papers both annotators call positive (``_both``) and over those
    either calls positive (``_either``: a negative paper's sets are empty, so a paper one
    annotator calls negative scores F1 0). Undefined figures (no such paper, kappa with chance
    agreement 1) are NaN.
    """
    nan = float("nan")
    a1 = [first[i]["studies_scaling_law"] for i in ids]
    a2 = [second[i]["studies_scaling_law"] for i in ids]
    both = [i for i in ids if first[i]["studies_scaling_law"] and second[i]["studies_scaling_law"]]
    either = [i for i in ids if first[i]["studies_scaling_law"] or second[i]["studies_scaling_law"]]
    kappa = cohen_kappa(a1, a2)
    out: dict[str, float] = {
        "papers": float(len(ids)),
        "positives_a1": float(sum(a1)),
        "positives_a2": float(sum(a2)),
        "paper_kappa": nan if kappa is None else kappa,
        "paper_disagreements": float(sum(x != y for x, y in zip(a1, a2, strict=True))),
        "both_positive": float(len(both)),
        "either_positive": float(len(either)),
    }
    for field, vocabulary in FIELDS.items():
        for name, subset in (("both", both), ("either", either)):
            pairs = [(first[i][field], second[i][field]) for i in subset]
            out[f"{field}_f1_{name}"] = (
                statistics.fmean(set_f1(a, b) for a, b in pairs) if pairs else nan
            )
            out[f"{field}_exact_{name}"] = (
                statistics.fmean(set(a) == set(b) for a, b in pairs) if pairs else nan
            )
        pairs = [(first[i][field], second[i][field]) for i in either]
        kappas = [k for _, _, k in label_kappas(pairs, vocabulary).values() if k is not None]
        out[f"{field}_kappa_either"] = statistics.fmean(kappas) if kappas else nan
    out["domain_same"] = (
        statistics.fmean(first[i]["domain"] == second[i]["domain"] for i in ids) if ids else nan
    )
    out["domain_same_either"] = (
        statistics.fmean(first[i]["domain"] == second[i]["domain"] for i in either)
        if either
        else nan
    )
    out["exponents_same_either"] = (
        statistics.fmean(
            _same_exponents(first[i]["exponents"], second[i]["exponents"]) for i in either
        )
        if either
        else nan
    )
    return out


def _cover_ids(first: dict[str, dict[str, Any]]) -> dict[str, list[str]]:
    return {
        s: [i for i, r in first.items() if s == "all" or r["split"] == s]
        for s in COVER_TABLE_SPLITS
    }


def _print_cover(
    first: dict[str, dict[str, Any]], second: dict[str, dict[str, Any]], disagreements: bool
) -> None:
    ids = _cover_ids(first)
    _print_table(
        "cover sample: annotator 1 (claims_cover) vs annotator 2 (claims_cover_second)",
        {s: cover_agreement(first, second, ids[s]) for s in COVER_TABLE_SPLITS},
    )
    for field, vocabulary in FIELDS.items():
        print(f"per-label agreement on {field} over the papers either annotator calls positive")
        print(f"{'label':<24}" + "".join(f"{s + ' a1/a2 k':>22}" for s in COVER_TABLE_SPLITS))
        per_split = {}
        for s in COVER_TABLE_SPLITS:
            either = [
                i
                for i in ids[s]
                if first[i]["studies_scaling_law"] or second[i]["studies_scaling_law"]
            ]
            pairs = [(first[i][field], second[i][field]) for i in either]
            per_split[s] = label_kappas(pairs, vocabulary)
        for label in vocabulary:
            cells = ""
            for s in COVER_TABLE_SPLITS:
                n1, n2, kappa = per_split[s][label]
                shown = "-" if kappa is None else f"{kappa:.2f}"
                cells += f"{f'{n1}/{n2} {shown}':>22}"
            print(f"{label:<24}{cells}")
        print()
    if disagreements:
        print("cover-tune papers the annotators label differently (annotator 1 | annotator 2)")
        for i in ids["cover-tune"]:
            a, b = first[i], second[i]
            fields = [
                f
                for f in ("studies_scaling_law", "domain", *FIELDS)
                if (set(a[f]) != set(b[f]) if f in FIELDS else a[f] != b[f])
            ]
            if not _same_exponents(a["exponents"], b["exponents"]):
                fields.append("exponents")
            if not fields:
                continue
            print(f"{i} {str(a.get('title', ''))[:70]}")
            for f in fields:
                shown_a = sorted(a[f]) if isinstance(a[f], list) else a[f]
                shown_b = sorted(b[f]) if isinstance(b[f], list) else b[f]
                print(f"    {f}: {shown_a} | {shown_b}")
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
    parser.add_argument(
        "--cover", action="store_true", help="agreement on the cover sample instead (no texts)"
    )
    parser.add_argument(
        "--cover-labels", type=Path, default=COVER_LABELS, help="cover sample, annotator 1"
    )
    parser.add_argument(
        "--cover-second", type=Path, default=COVER_SECOND, help="cover sample, annotator 2"
    )
    args = parser.parse_args()

    if args.cover:
        first_cover, second_cover = read_cover_annotations(args.cover_labels, args.cover_second)
        _print_cover(first_cover, second_cover, args.disagreements)
        return

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
