"""Ingest a generated arXiv-metadata JSON-lines file of N papers; print papers/s and peak memory.

    PYTHONPATH=. python benchmarks/bench_ingest.py [--papers 100000]

The file is written in the arXiv snapshot's shape (id, submitter, authors, title, abstract,
categories, versions, update_date, authors_parsed), with ~1,000-character abstracts, into a
temporary folder, then ingested into a new DuckDB file with ``ingest.pipeline.ingest_paths``
(parsing, merging, storing: what `kb ingest --no-extract` does). Target (issue 2): 100,000
papers in under 60 s and under 2 GB. The rule-based claim extractor that `kb ingest` runs by
default is timed separately on a sample (``--extract-sample``), in as many processes as CPUs:
it is the slow part, and bulk imports may defer it to `kb extract`.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import resource
import sys
import tempfile
import time
from pathlib import Path

from ingest.claims import extract_into
from ingest.pipeline import ingest_paths
from kb.records import Paper
from kb.store import Store

WORDS = [
    "scaling", "law", "loss", "compute", "model", "parameters", "tokens", "data", "optimal",
    "power", "exponent", "transformer", "language", "training", "budget", "regime", "fit",
    "predict", "frontier", "downstream", "benchmark", "emergent", "irreducible", "error",
    "width", "depth", "batch", "learning", "rate", "schedule", "mixture", "experts",
]  # fmt: skip
MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


def generate(path: Path, n: int, seed: int = 0) -> None:
    """Write ``n`` arXiv-snapshot records to ``path``."""
    rng = random.Random(seed)
    with path.open("w", encoding="utf-8") as fh:
        for i in range(n):
            year = 2015 + i % 10
            # five digits after the dot; beyond 100,000 papers the year-month moves on
            ident = f"{year % 100 + i // 100_000:02d}{1 + i % 12:02d}.{i % 100_000:05d}"
            authors = [(f"Last{rng.randrange(10**6)}", f"First{rng.randrange(10**3)}", "")
                       for _ in range(rng.randint(1, 12))]  # fmt: skip
            record = {
                "id": ident,
                "submitter": f"{authors[0][1]} {authors[0][0]}",
                "authors": ", ".join(f"{first} {last}" for last, first, _ in authors),
                "title": " ".join(rng.choices(WORDS, k=rng.randint(5, 14))).title() + f" {i}",
                "comments": None,
                "journal-ref": None,
                "doi": None,
                "categories": rng.choice(["cs.LG", "cs.CL cs.LG", "stat.ML cs.LG", "cs.CV"]),
                "abstract": ". ".join(
                    " ".join(rng.choices(WORDS, k=20)).capitalize() for _ in range(7)
                )
                + ".",
                "versions": [
                    {
                        "version": "v1",
                        "created": f"Mon, {1 + i % 28} {MONTHS[i % 12]} {year} 12:00:00 GMT",
                    }
                ],
                "update_date": f"{year}-{1 + i % 12:02d}-{1 + i % 28:02d}",
                "authors_parsed": [list(a) for a in authors],
            }
            fh.write(json.dumps(record) + "\n")


def _maxrss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # kB on Linux


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--papers", type=int, default=100_000)
    parser.add_argument(
        "--extract-sample", type=int, default=10_000, help="papers to time claim extraction on"
    )
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        src = Path(tmp) / "arxiv-metadata.jsonl"
        t0 = time.perf_counter()
        generate(src, args.papers)
        size_mb = src.stat().st_size / 1e6
        took = time.perf_counter() - t0
        print(f"generated {args.papers:,} papers ({size_mb:.0f} MB) in {took:.1f} s")
        rss_before = _maxrss_mb()
        t0 = time.perf_counter()
        with Store(Path(tmp) / "kb.duckdb") as store:
            report = ingest_paths(store, [src], extract=False)
            stored = store.count(Paper)
            elapsed = time.perf_counter() - t0
            t1 = time.perf_counter()
            again = ingest_paths(store, [src], extract=False)
            reingest = time.perf_counter() - t1
            peak = _maxrss_mb()
            sample = store.select(Paper, "paper_id IN (SELECT paper_id FROM papers LIMIT ?)",
                                  [args.extract_sample])  # fmt: skip
            t2 = time.perf_counter()
            with store.transaction():
                claims = extract_into(store, sample, workers=os.cpu_count() or 1)
            extract_s = time.perf_counter() - t2
    print(f"ingested {report.entries:,} entries -> {stored:,} papers in {elapsed:.1f} s")
    print(f"throughput: {report.entries / elapsed:,.0f} papers/s")
    print(
        f"re-ingest of the same file: {reingest:.1f} s, {again.new_papers} new, "
        f"{again.updated_papers} updated, {again.unchanged_papers:,} unchanged"
    )
    print(f"peak memory (max RSS): {peak:,.0f} MB (before ingest: {rss_before:,.0f} MB)")
    rate = len(sample) / extract_s
    print(
        f"claim extraction ({os.cpu_count()} processes): {len(sample):,} papers in "
        f"{extract_s:.1f} s = {rate:,.0f} papers/s ({claims:,} claims); "
        f"all {args.papers:,} would take ~{args.papers / rate:,.0f} s more"
    )
    idempotent = again.new_papers == again.updated_papers == 0
    ok = elapsed < 60 and peak < 2048 and stored == args.papers and idempotent
    print("target (<60 s, <2 GB, every paper stored):", "met" if ok else "NOT met")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
