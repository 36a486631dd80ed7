"""Ingest a generated arXiv-metadata JSON-lines file of N papers; print papers/s and peak memory.

    PYTHONPATH=. python benchmarks/bench_ingest.py [--papers 100000] [--listing 400]
        [--format arxiv-jsonl|atom|csv|listing] [--no-reingest]

The file is written in the arXiv snapshot's shape (id, submitter, authors, title, abstract,
categories, versions, update_date, authors_parsed), with ~1,000-character abstracts, into a
temporary folder, then ingested into a new DuckDB file with ``ingest.pipeline.ingest_paths``
(parsing, merging, storing: what `kb ingest --no-extract` does). Target (issue 2): 100,000
papers in under 60 s and under 2 GB. The rule-based claim extractor that `kb ingest` runs by
default is timed separately on a sample (``--extract-sample``), in as many processes as CPUs:
it is the slow part, and bulk imports may defer it to `kb extract`. ``--listing N`` then times
a listing page of N title-only entries (three in four the titles of generated papers, the rest in
no record) ingested into the same store: the first title-only entry builds the title map
over every arXiv paper (``ingest.pipeline._ArxivTitles``).

``--format atom|csv|listing`` converts the generated papers into one arXiv API Atom feed, one
CSV table or one listing page and ingests that file instead (the memory of the streaming
readers of those formats: run it under ``/usr/bin/time -v`` for the process's peak RSS);
``--no-reingest`` skips the second ingest of the same file, ``--extract-sample 0`` the claim
extractor.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import random
import resource
import sys
import tempfile
import time
from collections.abc import Iterator
from itertools import islice
from pathlib import Path
from typing import Any
from xml.sax.saxutils import escape

from ingest.claims import extract_into
from ingest.listings import ListingEntry, render_listing
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


def _records(src: Path) -> Iterator[dict[str, Any]]:
    with src.open(encoding="utf-8") as fh:
        for line in fh:
            yield json.loads(line)


def _published(record: dict[str, Any]) -> str:
    return str(record["update_date"])  # YYYY-MM-DD


def _listing_entry(r: dict[str, Any]) -> ListingEntry:
    day = _published(r)
    return ListingEntry(
        title=r["title"],
        abstract=r["abstract"],
        n_authors=len(r["authors_parsed"]),
        raw_date=f"{MONTHS[int(day[5:7]) - 1]} {int(day[8:10])}, {day[:4]}",
    )


def convert(src: Path, fmt: str) -> Path:
    """The generated papers of ``src`` as one file in ``fmt`` (atom, csv or listing),
    written record by record next to it."""
    if fmt == "atom":
        dst = src.with_suffix(".xml")
        with dst.open("w", encoding="utf-8") as fh:
            fh.write('<?xml version="1.0" encoding="UTF-8"?>\n'
                     '<feed xmlns="http://www.w3.org/2005/Atom" '
                     'xmlns:arxiv="http://arxiv.org/schemas/atom">\n'
                     "  <title>bench</title>\n")  # fmt: skip
            for r in _records(src):
                cats = r["categories"].split()
                authors = "".join(
                    f"    <author><name>{escape(f'{a[1]} {a[0]}')}</name></author>\n"
                    for a in r["authors_parsed"]
                )
                fh.write(
                    "  <entry>\n"
                    f"    <id>http://arxiv.org/abs/{r['id']}v1</id>\n"
                    f"    <published>{_published(r)}T12:00:00Z</published>\n"
                    f"    <title>{escape(r['title'])}</title>\n"
                    f"    <summary>{escape(r['abstract'])}</summary>\n{authors}"
                    f'    <arxiv:primary_category term="{cats[0]}"/>\n'
                    + "".join(f'    <category term="{c}"/>\n' for c in cats)
                    + "  </entry>\n"
                )
            fh.write("</feed>\n")
    elif fmt == "csv":
        dst = src.with_suffix(".csv")
        with dst.open("w", encoding="utf-8", newline="") as fh:
            writer = csv.writer(fh)
            writer.writerow(["arxiv_id", "title", "abstract", "authors", "published", "categories"])
            for r in _records(src):
                authors = "; ".join(f"{a[1]} {a[0]}" for a in r["authors_parsed"])
                writer.writerow(
                    [r["id"], r["title"], r["abstract"], authors, _published(r), r["categories"]]
                )
    elif fmt == "listing":
        dst = src.with_suffix(".txt")
        chrome = render_listing([]).rstrip("\n") + "\n\n"  # page header, then the entries
        with dst.open("w", encoding="utf-8") as fh:
            chunk: list[ListingEntry] = []
            records = _records(src)
            first = True
            while True:
                chunk = [_listing_entry(r) for r in islice(records, 1000)]
                if not chunk:
                    break
                text = render_listing(chunk)
                fh.write(text if first else "\n" + text[len(chrome) :])
                first = False
    else:
        raise ValueError(f"unknown format {fmt!r}")
    return dst


def _write_listing(page: Path, src: Path, n_papers: int, n: int) -> None:
    """A listing of ``n`` entries: the titles (lower-cased) of 3n/4 generated papers, spread
    over the file, and n/4 titles that are in no record."""
    known = n - n // 4
    step = max(1, n_papers // max(known, 1))
    titles: list[str] = []
    with src.open(encoding="utf-8") as fh:
        for i, line in enumerate(fh):
            if i % step == 0 and len(titles) < known:
                titles.append(json.loads(line)["title"].lower())
    titles += [f"an invented paper in no record {i}" for i in range(n - len(titles))]
    entries = [ListingEntry(title=t, abstract="Loss falls as a power law.", upvotes=3,
                            raw_date="Jan 9", n_authors=2) for t in titles]  # fmt: skip
    page.write_text(render_listing(entries), encoding="utf-8")


def _maxrss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # kB on Linux


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--papers", type=int, default=100_000)
    parser.add_argument(
        "--extract-sample", type=int, default=10_000, help="papers to time claim extraction on"
    )
    parser.add_argument(
        "--listing", type=int, default=400, help="title-only entries ingested afterwards (0: none)"
    )
    parser.add_argument(
        "--format",
        default="arxiv-jsonl",
        choices=("arxiv-jsonl", "atom", "csv", "listing"),
        help="ingest the generated papers as this format",
    )
    parser.add_argument(
        "--no-reingest", action="store_true", help="skip the second ingest of the same file"
    )
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        src = jsonl = Path(tmp) / "arxiv-metadata.jsonl"
        t0 = time.perf_counter()
        generate(src, args.papers)
        size_mb = src.stat().st_size / 1e6
        took = time.perf_counter() - t0
        print(f"generated {args.papers:,} papers ({size_mb:.0f} MB) in {took:.1f} s")
        if args.format != "arxiv-jsonl":
            src = convert(src, args.format)
            size_mb = src.stat().st_size / 1e6
            print(f"as {args.format}: {src.name} ({size_mb:.0f} MB)")
        rss_before = _maxrss_mb()
        t0 = time.perf_counter()
        with Store(Path(tmp) / "kb.duckdb") as store:
            report = ingest_paths(store, [src], extract=False)
            stored = store.count(Paper)
            elapsed = time.perf_counter() - t0
            peak = _maxrss_mb()
            again = None
            if not args.no_reingest:
                t1 = time.perf_counter()
                again = ingest_paths(store, [src], extract=False)
                reingest = time.perf_counter() - t1
                peak = _maxrss_mb()
            if args.listing:
                page = Path(tmp) / "listing.txt"
                _write_listing(page, jsonl, args.papers, args.listing)
                t3 = time.perf_counter()
                listed = ingest_paths(store, [page], extract=False)
                listing_s = time.perf_counter() - t3
                print(
                    f"then a listing of {listed.entries:,} title-only entries: {listing_s:.1f} s "
                    f"({listed.new_papers} new papers, the rest merged into arXiv records)"
                )
            sample = store.select(Paper, "paper_id IN (SELECT paper_id FROM papers LIMIT ?)",
                                  [args.extract_sample])  # fmt: skip
            t2 = time.perf_counter()
            claims = 0
            if sample:
                with store.transaction():
                    claims = extract_into(store, sample, workers=os.cpu_count() or 1)
            extract_s = time.perf_counter() - t2
    print(f"ingested {report.entries:,} entries -> {stored:,} papers in {elapsed:.1f} s")
    print(f"throughput: {report.entries / elapsed:,.0f} papers/s")
    if again is not None:
        print(
            f"re-ingest of the same file: {reingest:.1f} s, {again.new_papers} new, "
            f"{again.updated_papers} updated, {again.unchanged_papers:,} unchanged"
        )
    print(f"peak memory (max RSS): {peak:,.0f} MB (before ingest: {rss_before:,.0f} MB)")
    if sample:
        rate = len(sample) / extract_s
        print(
            f"claim extraction ({os.cpu_count()} processes): {len(sample):,} papers in "
            f"{extract_s:.1f} s = {rate:,.0f} papers/s ({claims:,} claims); "
            f"all {args.papers:,} would take ~{args.papers / rate:,.0f} s more"
        )
    idempotent = again is None or again.new_papers == again.updated_papers == 0
    ok = elapsed < 60 and peak < 2048 and stored == args.papers and idempotent
    print("target (<60 s, <2 GB, every paper stored):", "met" if ok else "NOT met")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
