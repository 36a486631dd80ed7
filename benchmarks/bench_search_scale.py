"""The whole searcher at corpus scale: ingest, `kb index`, cold `Searcher.open`, warm queries.

    PYTHONPATH=. python benchmarks/bench_search_scale.py [--papers 10000 100000] [--queries 50]

Per corpus size N it prints: ingest seconds (``ingest.pipeline.ingest_paths`` on a generated
arXiv-snapshot JSON-lines file, claim extraction OFF: `kb ingest --no-extract`, the bulk-import
path; bench_ingest.py times the extractor); ``kb.index.build_index`` seconds and the FAISS kind it
chose; ``Searcher.open`` seconds and peak RSS in a fresh process (what every `kb search` pays,
imports excluded); the query-expansion vocabulary (``Searcher.term_expansion``) size and its
build seconds; warm per-query latency p50/p95, wall and CPU, for fused, keyword and semantic
search. Query vectors are computed before timing (``Searcher._encode`` is warmed), so the
latencies EXCLUDE model encoding: add the real model's per-query encode (printed once at the end).

The embedder is a fast fake (``HashEmbedder``: a deterministic pseudo-random unit vector per text
hash), so every code path runs (FAISS flat below ``kb.index.APPROX_MIN_ROWS`` rows, IVF above;
the term-vector cache) without hours of MiniLM; the real model's texts/s is measured on a small
sample (``--model-sample``) and `kb index` time extrapolated from the number of texts embedded.

The corpus: titles and abstracts are sampled word by word from the seed listings' word
frequencies (read at run time from ``$KB_SHARED/seeds``; nothing is copied into the repo), so
frequent words are as frequent as in real abstracts (Zipf-like). With probability ``RARE_SHARE``
a word is instead drawn from an unbounded Zipf law over generated pseudo-words (exponent
``RARE_ZIPF``), so the vocabulary keeps growing with N, roughly as N ** (1 / RARE_ZIPF) (Heaps'
law; real text shows exponents of 0.4-0.7, so this grows a little faster, from a smaller
start). Queries: the development queries (data/eval/search_dev.jsonl, ours) and as many again
sampled from the same word distribution.

Measured (2 CPUs, 2026-12; fresh process per figure; "before" is main at 919b53d on the same
stores): at 100,000 papers (749,817 index rows, IVF; 22,757 expansion terms) `Searcher.open`
49.4 -> 26.4 s and the term-expansion vocabulary's first use 22.9 -> 2.0 s (tokenising titles
and abstracts once; sentence terms for snippets on demand; papers read once), fused warm
p50/p95 28.7/44.3 -> 20.1/24.6 ms (top-k by partition, facet columns over papers with facets
only), build_index with the fake embedder 940 s (on a busy machine) -> 141 s; 29 -> 6 s at
10,000 papers (the cache writes 4,096 vectors per INSERT instead of 64).
What remains of the open: tokenising 15M words, bm25s building two indexes, and reading and
re-validating 100,000 Paper records (``Store.select``): about 9, 8 and 8 s of cProfile time.
Then (2 CPUs, same stores, fresh process; "before" is main at 33833a4): reading records without
re-running validators (``Store.select(validate=False)``) and loading the keyword side that
`kb index` saved (``kb.keyword_cache``, ``<db>.keyword.npz``, 120 MB at 100k) take the open
from 29.8 -> 22.5 -> 6.3 s at 100,000 papers and 2.9 -> 2.2 -> 0.5 s at 10,000; `kb index` on
an up-to-date 100k store now spends 22 s writing that file. Then one OpenBLAS thread per query
(``kb.search``): fused CPU per query 35 -> 17 ms for about the same wall time at 100,000 papers.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import random
import re
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks.bench_claims import DEFAULT_SEEDS, read_seed_papers  # noqa: E402
from benchmarks.bench_ingest import MONTHS  # noqa: E402

DEV = ROOT / "data" / "eval" / "search_dev.jsonl"
RARE_SHARE = 0.12  # share of words drawn from the generated long tail
# Its Zipf exponent: distinct rare words grow ~ N ** (1 / 1.3) = N ** 0.77; about 20,000 of them
# are in two or more papers at 100,000 papers (1.8 gave 1,900: a vocabulary that barely grew).
RARE_ZIPF = 1.3
_WORD = re.compile(r"[A-Za-z][A-Za-z'-]*[A-Za-z]|[A-Za-z]")
_SYLLABLES = [c + v for c in "bdfgklmnprstvz" for v in "aeiou"]  # 70 syllables
MODES = ("fused", "keyword", "semantic")


class HashEmbedder:
    """A fast fake embedder: a deterministic pseudo-random unit vector per text (sha256 seed)."""

    def __init__(self, name: str = "hash-scale", dim: int = 384):
        self._name, self._dim = name, dim

    @property
    def name(self) -> str:
        """Model name recorded in the cache and the index metadata."""
        return self._name

    @property
    def dim(self) -> int:
        """Vector width (MiniLM's 384 by default)."""
        return self._dim

    def encode(self, texts: Sequence[str]) -> NDArray[np.float32]:
        """One unit row per text, seeded by the text's sha256."""
        out = np.empty((len(texts), self._dim), dtype=np.float32)
        for i, text in enumerate(texts):
            seed = int.from_bytes(hashlib.sha256(text.encode()).digest()[:8], "little")
            out[i] = np.random.default_rng(seed).standard_normal(self._dim, dtype=np.float32)
        out /= np.linalg.norm(out, axis=1, keepdims=True)
        return out


class WordSampler:
    """Words with the seed corpus's frequencies, plus a growing tail of generated rare words."""

    def __init__(self, texts: Sequence[str], seed: int = 0):
        counts = Counter(w.lower() for t in texts for w in _WORD.findall(t))
        self.words = sorted(counts)
        weights = np.array([counts[w] for w in self.words], dtype=np.float64)
        self.cum = np.cumsum(weights / weights.sum())
        self.rng = np.random.default_rng(seed)

    def sample(self, n: int) -> list[str]:
        """``n`` words."""
        common = np.searchsorted(self.cum, self.rng.random(n), side="right")
        common = np.minimum(common, len(self.words) - 1)
        rare = self.rng.random(n) < RARE_SHARE
        tail = self.rng.zipf(RARE_ZIPF, n)
        picks = zip(common.tolist(), rare.tolist(), tail.tolist(), strict=True)
        return [_pseudo_word(int(t)) if r else self.words[c] for c, r, t in picks]


def _pseudo_word(k: int) -> str:
    """The k-th generated word: k written in base 70 with one syllable per digit, at least 2."""
    parts = []
    while True:
        k, d = divmod(k, len(_SYLLABLES))
        parts.append(_SYLLABLES[d])
        if k == 0 and len(parts) >= 2:
            return "".join(parts)


def generate(path: Path, n: int, sampler: WordSampler, seed: int = 0) -> None:
    """Write ``n`` arXiv-snapshot records whose titles and abstracts are sampled words."""
    rng = random.Random(seed)
    with path.open("w", encoding="utf-8") as fh:
        for i in range(n):
            year = 2015 + i % 10
            words = sampler.sample(rng.randint(6, 12))
            sentences = [
                " ".join(sampler.sample(rng.randint(12, 28))).capitalize()
                for _ in range(rng.randint(4, 9))
            ]
            record = {
                "id": f"{year % 100:02d}{1 + i % 12:02d}.{i:05d}",
                "submitter": "A Person",
                "authors": "A Person, B Person",
                "title": " ".join(words).title(),
                "comments": None,
                "journal-ref": None,
                "doi": None,
                "categories": rng.choice(["cs.LG", "cs.CL cs.LG", "stat.ML cs.LG", "cs.CV"]),
                "abstract": ". ".join(sentences) + ".",
                "versions": [
                    {
                        "version": "v1",
                        "created": f"Mon, {1 + i % 28} {MONTHS[i % 12]} {year} 12:00:00 GMT",
                    }
                ],
                "update_date": f"{year}-{1 + i % 12:02d}-{1 + i % 28:02d}",
                "authors_parsed": [["Person", "A", ""], ["Person", "B", ""]],
            }
            fh.write(json.dumps(record) + "\n")


def queries(sampler: WordSampler, n: int) -> list[str]:
    """``n`` queries: the development queries, then sampled 2-6 word ones."""
    dev = [json.loads(line)["query"] for line in DEV.read_text("utf-8").splitlines() if line]
    out = dev[: n - n // 2]
    while len(out) < n:
        out.append(" ".join(sampler.sample(2 + len(out) % 5)))
    return out


def _pct(values: list[float], q: float) -> float:
    return float(np.percentile(np.array(values), q))


def child(db: Path, qfile: Path, rounds: int) -> dict[str, object]:
    """In a fresh process: open the searcher, build term expansion, time warm queries."""
    t_imp = time.perf_counter()
    from kb.search import Searcher
    from kb.store import Store

    imports = time.perf_counter() - t_imp
    embedder = HashEmbedder()
    qs = [q for q in qfile.read_text("utf-8").splitlines() if q]
    store = Store(db, read_only=True)
    t0, c0 = time.perf_counter(), time.process_time()
    searcher = Searcher.open(store, db, model=embedder)
    open_s, open_cpu = time.perf_counter() - t0, time.process_time() - c0
    rss_open = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    t0 = time.perf_counter()
    vocab = len(searcher.term_expansion)
    terms_s = time.perf_counter() - t0
    for q in qs:  # warm: query vectors cached, so timings exclude encoding
        searcher._encode(q)
    out: dict[str, object] = {
        "imports_s": imports, "open_s": open_s, "open_cpu_s": open_cpu, "rss_open_mb": rss_open,
        "vocab": vocab, "terms_s": terms_s, "papers": len(searcher.papers),
        "kind": searcher.index.meta.kind, "rows": searcher.index.meta.n_rows,
    }  # fmt: skip
    for mode in MODES:
        wall: list[float] = []
        cpu: list[float] = []
        for _ in range(rounds):
            for q in qs:
                t0, c0 = time.perf_counter(), time.process_time()
                searcher.search(q, k=10, mode=mode)  # type: ignore[arg-type]
                wall.append((time.perf_counter() - t0) * 1e3)
                cpu.append((time.process_time() - c0) * 1e3)
        out[mode] = {"p50": _pct(wall, 50), "p95": _pct(wall, 95), "cpu_p50": _pct(cpu, 50),
                     "cpu_p95": _pct(cpu, 95)}  # fmt: skip
    out["rss_peak_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    store.close()
    return out


def run_size(n: int, sampler: WordSampler, n_queries: int, rounds: int, tmp: Path) -> None:
    """Generate, ingest, index and search a corpus of ``n`` papers; print its figures."""
    from ingest.pipeline import ingest_paths
    from kb.index import build_index
    from kb.store import Store

    src, db = tmp / f"arxiv-{n}.jsonl", tmp / f"kb-{n}.duckdb"
    reuse = db.exists()  # --workdir with an earlier run's store: searcher figures only
    if not reuse:
        t0 = time.perf_counter()
        generate(src, n, sampler)
        took = time.perf_counter() - t0
        print(f"N={n:,}: generated {src.stat().st_size / 1e6:.0f} MB in {took:.0f} s")
    with Store(db) as store:
        t0 = time.perf_counter()
        if not reuse:
            ingest_paths(store, [src], extract=False)
        ingest_s = time.perf_counter() - t0
        t0 = time.perf_counter()
        report = build_index(store, db, model=HashEmbedder())
        index_s = time.perf_counter() - t0
    print(f"  ingest (no claim extraction) {ingest_s:.1f} s" + (" (reused store)" if reuse else ""))
    print(
        f"  build_index {index_s:.1f} s: {report.n_rows:,} rows, kind {report.kind}, "
        f"{report.n_embedded:,} texts + {report.n_terms_embedded:,} terms embedded (fake)"
    )
    qfile = tmp / "queries.txt"
    qfile.write_text("\n".join(queries(sampler, n_queries)) + "\n", "utf-8")
    cmd = [sys.executable, __file__, "--child", str(db), str(qfile), str(rounds)]
    done = subprocess.run(cmd, check=True, capture_output=True, text=True, env=os.environ)
    r = json.loads(done.stdout.strip().splitlines()[-1])
    print(
        f"  Searcher.open (fresh process, imports {r['imports_s']:.1f} s excluded): "
        f"{r['open_s']:.2f} s wall, {r['open_cpu_s']:.2f} s CPU, RSS {r['rss_open_mb']:,.0f} MB"
    )
    print(
        f"  term expansion: {r['vocab']:,} terms, first use {r['terms_s']:.2f} s "
        f"(cached vectors read from the store); peak RSS {r['rss_peak_mb']:,.0f} MB"
    )
    for mode in MODES:
        m = r[mode]
        print(
            f"  {mode:8s} warm latency ms (encode excluded): p50 {m['p50']:.1f} "
            f"p95 {m['p95']:.1f} | CPU p50 {m['cpu_p50']:.1f} p95 {m['cpu_p95']:.1f}"
        )
    real_texts = report.n_embedded + report.n_terms_embedded
    return_rows.append((n, ingest_s, index_s, report.kind, r, real_texts))


return_rows: list[tuple[int, float, float, str, dict[str, Any], int]] = []


def model_rate(texts: Sequence[str]) -> tuple[float, float] | None:
    """Real MiniLM: texts/s on ``texts``, and the median ms to encode one short query."""
    try:
        from kb.embed import SentenceTransformerEmbedder

        model = SentenceTransformerEmbedder()
    except Exception as err:  # the model package may be absent: report, don't fail
        print(f"real model unavailable ({err}); no encode figures")
        return None
    batch = list(texts)
    model.encode(batch[:8])
    t0 = time.perf_counter()
    model.encode(batch)
    rate = len(batch) / (time.perf_counter() - t0)
    times = []
    for q in batch[:20]:
        t0 = time.perf_counter()
        model.encode([" ".join(q.split()[:8])])
        times.append((time.perf_counter() - t0) * 1e3)
    return rate, statistics.median(times)


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv and argv[0] == "--child":
        print(json.dumps(child(Path(argv[1]), Path(argv[2]), int(argv[3]))))
        return 0
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--papers", type=int, nargs="+", default=[10_000, 100_000])
    parser.add_argument("--queries", type=int, default=50)
    parser.add_argument("--rounds", type=int, default=3, help="passes over the queries per mode")
    parser.add_argument("--model-sample", type=int, default=256, help="0: skip the real model")
    parser.add_argument("--seeds", type=Path, default=DEFAULT_SEEDS)
    parser.add_argument(
        "--workdir", type=Path, help="keep stores here; an existing one is reused (searcher only)"
    )
    args = parser.parse_args(argv)
    seeds = list(read_seed_papers(args.seeds).values())
    if not seeds:
        parser.error(f"no seed papers in {args.seeds}; pass --seeds DIR or set KB_SHARED")
    sampler = WordSampler([f"{p.title} {p.abstract}" for p in seeds])
    print(f"word distribution: {len(sampler.words):,} distinct words from {len(seeds)} seed papers;"
          f" rare-word share {RARE_SHARE}, tail Zipf exponent {RARE_ZIPF}")  # fmt: skip
    with tempfile.TemporaryDirectory() as tmp:
        work = args.workdir or Path(tmp)
        work.mkdir(parents=True, exist_ok=True)
        for n in args.papers:
            run_size(n, sampler, args.queries, args.rounds, work)
    rate = None
    if args.model_sample:
        from kb.index import _rows_and_texts

        # What `kb index` embeds: one whole-text row per paper and one per abstract sentence,
        # in the seed corpus's proportion, sampled.
        index_texts = _rows_and_texts(seeds)[1]
        picked = random.Random(0).sample(index_texts, min(args.model_sample, len(index_texts)))
        rate = model_rate(picked)
    print(
        "\n| N | ingest s | index s (fake) | kind | open s | RSS MB | vocab | terms s | "
        "fused p50/p95 ms | keyword p50/p95 | semantic p50/p95 | MiniLM index est. |"
    )
    print("|---" * 12 + "|")
    for n, ingest_s, index_s, kind, r, texts in return_rows:
        est = f"{texts / rate[0] / 60:,.0f} min" if rate else "n/a"
        cells = [f"{r[m]['p50']:.1f}/{r[m]['p95']:.1f}" for m in MODES]
        print(f"| {n:,} | {ingest_s:.0f} | {index_s:.0f} | {kind} | {r['open_s']:.1f} | "
              f"{r['rss_peak_mb']:,.0f} | {r['vocab']:,} | {r['terms_s']:.1f} | "
              f"{' | '.join(cells)} | {est} |")  # fmt: skip
    if rate:
        print(
            f"real model: {rate[0]:,.0f} index texts/s (papers and sentences) on "
            f"{os.cpu_count()} CPUs (the estimate counts expansion terms at that rate too); "
            f"one short query encodes in {rate[1]:.1f} ms (add to the latencies above)"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
