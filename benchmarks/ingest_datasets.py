"""Time ingesting every released dataset folder: first ingest, re-ingest (skipped), forced re-read.

Usage:  PYTHONPATH=. python benchmarks/ingest_datasets.py [../shared/datasets]
Prints per-dataset point counts and wall-clock seconds; writes a temporary DuckDB file.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

from ingest.released import DIGEST_KEY, find_dataset_folders, ingest_datasets
from kb.datasets import default_metric
from kb.store import Store


def main(root: Path) -> None:
    folders = find_dataset_folders(root)
    if not folders:
        raise SystemExit(f"no dataset folder (with a MANIFEST.md) under {root}")
    with tempfile.TemporaryDirectory() as tmp, Store(Path(tmp) / "kb.duckdb") as store:
        t0 = time.perf_counter()
        with store.transaction():
            first = ingest_datasets(store, folders)
        t1 = time.perf_counter()
        with store.transaction():
            again = ingest_datasets(store, folders)
        t2 = time.perf_counter()
        for f in folders:
            store.set_meta(DIGEST_KEY.format(f.name), "stale")
        with store.transaction():
            forced = ingest_datasets(store, folders)
        t3 = time.perf_counter()
        print(f"{'dataset':30s} {'points':>8s}  default metric")
        for name, n in first.ingested.items():
            print(f"{name:30s} {n:8d}  {default_metric(store, name)}")
        print(f"total points: {first.n_points}")
        print(f"first ingest (incl. commit):  {t1 - t0:.2f} s")
        print(f"re-ingest, unchanged skipped: {t2 - t1:.2f} s ({len(again.unchanged)} skipped)")
        print(f"forced re-read of all:        {t3 - t2:.2f} s ({forced.n_points} points)")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description="Time ingesting every released dataset folder.")
    parser.add_argument(
        "root",
        nargs="?",
        type=Path,
        default=Path("../shared/datasets"),
        help="folder of released-data folders (default: ../shared/datasets)",
    )
    main(parser.parse_args().root)
