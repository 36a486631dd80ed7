"""Start-up cost of `kb` commands: median wall and CPU seconds of a few cold runs each.

Every run is a fresh ``python -m kb ...`` process (imports, store open, model load and all),
so the figures are what a person typing the command pays. CPU is user + system time of the
process and anything it waited for (``getrusage(RUSAGE_CHILDREN)``); on a busy machine wall
time grows with the load, CPU time much less.

Usage:
  python benchmarks/bench_cli.py --db /tmp/cliperf/kb.duckdb [--runs 5] [--only search]
  python benchmarks/bench_cli.py --db /tmp/cliperf/kb.duckdb --breakdown

--breakdown also times (wall and CPU) the stages of one cold `kb search` in one process:
importing the CLI, opening the store, reading the FAISS file, the rest of the index check
(rows, papers, digest), the rest of ``Searcher`` set-up (claims, keyword cache), loading the
model (importing torch and transformers, then the tokenizer and weights: the query encoder
skips sentence-transformers for plain model folders, see ``kb.embed.LeanQueryEmbedder``) and
the first query.

Builds nothing: point --db at a knowledge base built with
``kb ingest ../shared/seeds ../shared/datasets --db DB && kb index --db DB``.
`kb index` is timed on an up-to-date store: it only checks, and writes nothing.

Example (seeds + datasets store, 270 papers, 2,628 vectors; 2 cores at load ~15, so wall is
2-3x CPU; before the CLI deferred its imports --help/stats/papers took 1.8-2.2 s CPU):
  $ python benchmarks/bench_cli.py --db /tmp/cliperf/kb.duckdb --runs 5 --breakdown
  command              wall s  cpu s   (median of 5, load 14.5)
  kb --help              0.90   0.36
  kb stats               1.24   0.46
  kb papers              1.27   0.48
  kb claims              1.23   0.49
  kb laws                1.75   0.70
  kb index               3.70   1.41
  kb search             23.55   8.78

  cold `kb search` by stage (median of 5):  wall s  cpu s
    import kb.cli                                             0.91   0.36
    import kb.search                                          2.10   0.78
    open store                                                0.11   0.04
    read FAISS file (alone)                                   0.00   0.00
    open_index (FAISS read again + rows, papers, digest)      0.06   0.02
    Searcher set-up (claims, keyword cache)                   0.06   0.02
    import sentence_transformers (torch, transformers)       15.39   5.28
    load model                                                0.60   0.19
    first query                                               1.35   0.47
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
QUERY = "compute-optimal split between parameters and tokens"


def commands(db: str, query: str) -> dict[str, list[str]]:
    """The timed commands by name: the argument lists given to ``python -m kb``."""
    return {
        "--help": ["--help"],
        "stats": ["stats", "--db", db],
        "papers": ["papers", "--db", db],
        "claims": ["claims", "--db", db],
        "laws": ["laws", "--db", db],
        "index": ["-q", "index", "--db", db],
        "search": ["search", query, "--db", db],
    }


def _env() -> dict[str, str]:
    env = dict(os.environ, HF_HUB_OFFLINE="1")
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(ROOT), env.get("PYTHONPATH")) if p)
    return env


def _cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def time_run(argv: list[str]) -> tuple[float, float]:
    """(wall, cpu) seconds of one process running ``argv``; raises if it fails."""
    cpu0, wall0 = _cpu(), time.perf_counter()
    done = subprocess.run(argv, env=_env(), cwd=ROOT, capture_output=True, text=True)
    wall, cpu = time.perf_counter() - wall0, _cpu() - cpu0
    if done.returncode:
        raise SystemExit(f"{' '.join(argv)} failed ({done.returncode}):\n{done.stderr[-2000:]}")
    return wall, cpu


# One cold `kb search`, stage by stage, in a single child process (printed as one JSON line).
_STAGES = """
import json, sys, time
db, query = sys.argv[1], sys.argv[2]
marks = {}
t, c = time.perf_counter(), time.process_time()
def mark(name):
    global t, c
    now, cpu = time.perf_counter(), time.process_time()
    marks[name] = (now - t, cpu - c)
    t, c = now, cpu
import kb.cli  # what `kb` imports before any command runs
mark("import kb.cli")
from kb.cli._common import reading
from kb.search import Searcher
mark("import kb.search")
with reading(db) as store:
    mark("open store")
    import faiss
    from kb.index import index_path
    faiss.read_index(str(index_path(db)))
    mark("read FAISS file (alone)")
    from kb.index import open_index
    loaded = open_index(store, db)
    mark("open_index (FAISS read again + rows, papers, digest)")
    searcher = Searcher(store, loaded)
    mark("Searcher set-up (claims, keyword cache)")
    import torch  # noqa: F401
    import transformers  # noqa: F401
    mark("import torch, transformers")
    searcher.embedder
    mark("load model")
    searcher.search(query, k=10)
    mark("first query")
print(json.dumps(marks))
"""


def breakdown(db: str, query: str, runs: int) -> dict[str, tuple[float, float]]:
    """Median (wall, cpu) seconds per stage of a cold `kb search` (see ``_STAGES``)."""
    samples: list[dict[str, list[float]]] = []
    for _ in range(runs):
        done = subprocess.run([sys.executable, "-c", _STAGES, db, query], env=_env(), cwd=ROOT,
                              capture_output=True, text=True, check=True)  # fmt: skip
        samples.append(json.loads(done.stdout.strip().splitlines()[-1]))
    med = statistics.median
    return {k: (med(s[k][0] for s in samples), med(s[k][1] for s in samples)) for k in samples[0]}


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--db", required=True, help="A built knowledge base (with its index).")
    parser.add_argument("--runs", type=int, default=5, help="Runs per command (median shown).")
    parser.add_argument("--query", default=QUERY, help="The `kb search` query.")
    parser.add_argument("--only", action="append", default=None,
                        help="Time only this command (repeatable): " + ", ".join(
                            commands("DB", QUERY)))  # fmt: skip
    parser.add_argument("--breakdown", action="store_true",
                        help="Also time the stages of a cold `kb search`.")  # fmt: skip
    args = parser.parse_args()
    if not Path(args.db).exists():
        raise SystemExit(f"{args.db}: no knowledge base; build one first (see --help)")
    table = commands(args.db, args.query)
    unknown = set(args.only or []) - set(table)
    if unknown:
        raise SystemExit(f"unknown command(s) {sorted(unknown)}; expected some of {list(table)}")
    print(f"{'command':<20} {'wall s':>6} {'cpu s':>6}   (median of {args.runs}, "
          f"load {os.getloadavg()[0]:.1f})")  # fmt: skip
    for name, kb_args in table.items():
        if args.only and name not in args.only:
            continue
        times = [time_run([sys.executable, "-m", "kb", *kb_args]) for _ in range(args.runs)]
        wall = statistics.median(w for w, _ in times)
        cpu = statistics.median(c for _, c in times)
        print(f"{'kb ' + name:<20} {wall:6.2f} {cpu:6.2f}", flush=True)
    if args.breakdown:
        print(f"\ncold `kb search` by stage (median of {args.runs}):  wall s  cpu s")
        for stage, (wall, cpu) in breakdown(args.db, args.query, args.runs).items():
            print(f"  {stage:<55} {wall:6.2f} {cpu:6.2f}")


if __name__ == "__main__":
    main()
