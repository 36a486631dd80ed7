"""Fold blind external label batches into ``data/eval/claims_external.jsonl`` (labels only).

An annotator's batch file (kept outside the repository) has one JSON object per line with
``ext_id``, ``url``, the label fields of ``claims_dev.jsonl`` and possibly ``title`` and ``note``;
this keeps only ``ext_id``, ``url``, ``split`` (the sha256 rule of
``bench_claims.external_split``) and the labels, checks the vocabularies, and writes the merged
file sorted by ``ext_id``, atomically (a batch line replaces a stored line with the same
``ext_id``; the same ``ext_id`` twice among the batches is an error naming both lines).

    PYTHONPATH=. python benchmarks/fold_claims_external.py BATCH.jsonl [BATCH.jsonl ...]
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

from _jsonl import read_jsonl_lines, write_jsonl  # noqa: E402
from bench_claims import EXTERNAL_LABELS, external_split  # noqa: E402

from kb.records import DOMAINS, RESPONSES, VARIABLES  # noqa: E402

LABEL_FIELDS = ("studies_scaling_law", "domain", "variables", "responses", "exponents")


def labels_only(row: dict[str, Any], where: str) -> dict[str, Any]:
    """The stored form of one batch line; ``SystemExit`` naming ``where`` when it is invalid."""
    missing = [f for f in ("ext_id", "url", *LABEL_FIELDS) if f not in row]
    if missing:
        raise SystemExit(f"{where}: missing field(s) {missing}")
    if not str(row["url"]).startswith(("https://", "http://")):
        raise SystemExit(f"{where}: url {row['url']!r} is not an http(s) address")
    if row["domain"] not in DOMAINS:
        raise SystemExit(f"{where}: domain {row['domain']!r} is not one of {list(DOMAINS)}")
    for field, vocab in (("variables", VARIABLES), ("responses", RESPONSES)):
        unknown = sorted(set(row[field]) - set(vocab))
        if unknown:
            raise SystemExit(f"{where}: {field} {unknown} not in {list(vocab)}")
    if not row["studies_scaling_law"] and (row["variables"] or row["responses"]):
        raise SystemExit(f"{where}: a negative paper has variables or responses")
    if row["studies_scaling_law"] and not (row["variables"] and row["responses"]):
        raise SystemExit(f"{where}: a positive paper needs variables and responses")
    return {
        "ext_id": row["ext_id"],
        "url": row["url"],
        "split": external_split(row["ext_id"]),
        **{f: row[f] for f in LABEL_FIELDS},
    }


def fold(stored: Path, batches: list[Path]) -> dict[str, int]:
    """Merge ``batches`` into ``stored``; returns how many lines each split has after."""
    rows = {r["ext_id"]: labels_only(r, w) for r, w in read_jsonl_lines(stored)}
    seen: dict[str, str] = {}  # ext_id -> where a batch gave it
    for batch in batches:
        for row, where in read_jsonl_lines(batch):
            label = labels_only(row, where)
            if label["ext_id"] in seen:
                raise SystemExit(f"{where}: {label['ext_id']} already in {seen[label['ext_id']]}")
            seen[label["ext_id"]] = where
            rows[label["ext_id"]] = label
    write_jsonl(stored, (rows[k] for k in sorted(rows)))
    counts: dict[str, int] = {}
    for r in rows.values():
        counts[r["split"]] = counts.get(r["split"], 0) + 1
    return counts


def main() -> None:
    """Fold the batch files given on the command line."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("batches", type=Path, nargs="+", help="annotator batch files")
    parser.add_argument("--labels", type=Path, default=EXTERNAL_LABELS)
    args = parser.parse_args()
    counts = fold(args.labels, args.batches)
    print(f"{args.labels}: {sum(counts.values())} papers, by split {counts}")


if __name__ == "__main__":
    main()
