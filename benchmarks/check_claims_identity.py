"""Prove the claim extractor's output unchanged against a frozen copy of it from another commit.

    PYTHONPATH=. python benchmarks/check_claims_identity.py [--ref main] [--synthetic 5000]
        [--mixes 2000] [--seeds DIR] [--ungated] [--summary]

The package ``ingest/claims`` at ``--ref`` (default: the commit where this branch left main) is
written from ``git show`` into a temporary package and imported beside the working tree's. Both
extract every paper of (a) the seed listings (read with ``ingest.formats.read_papers``), (b)
``--synthetic`` abstracts from ``benchmarks/bench_ingest.py``'s generator and (c) ``--mixes``
abstracts made of real seed sentences shuffled across papers (with some case and Unicode
look-alike noise, which the literal prefilter must survive). Every ``Extraction`` must be equal
field by field (claims and exponents compared by ``model_dump``). Prints both extractors' ms per
paper on each set; exits 1 on the first difference, naming the paper.

After a rule change the output is meant to differ from ``--ref``; ``--ungated`` instead compares
the working tree with a copy of itself whose prefilter searches every pattern (``matches`` is
``pattern.search``), which proves the gates still change nothing, and ``--summary`` describes
the change from ``--ref`` instead of stopping at it: per set, how many papers change their
label, variables, responses, claim sentences, claim forms or directions, exponents, or the
variables of their exponents (version stamps ignored). It prints counts only, never paper ids
(the seeds hold the held-out papers).
"""

from __future__ import annotations

import argparse
import dataclasses
import importlib
import json
import os
import random
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from types import ModuleType
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

from bench_ingest import generate  # noqa: E402

from ingest.claims import extract  # noqa: E402
from ingest.claims.sentences import sentence_spans  # noqa: E402
from ingest.formats import read_papers  # noqa: E402
from kb.records import Paper  # noqa: E402

_SHARED: list[str | Path] = [
    os.environ.get("KB_SHARED", ""),
    ROOT.parent / "shared",
    ROOT.parent.parent / "shared",
]
DEFAULT_SEEDS = next(
    (Path(p) / "seeds" for p in _SHARED if p and Path(p).is_dir()), Path("..") / "shared" / "seeds"
)
FROZEN = "claims_frozen"
# Characters ``re.IGNORECASE`` matches to ASCII letters, and other casing traps.
NOISE = ("\u0130", "\u0131", "\u017f", "\u212a", "\u03a3", "ß", "ϐ", "∝", "Å")


def _git(*args: str) -> str:
    return subprocess.run(
        ["git", *args], cwd=ROOT, check=True, capture_output=True, text=True
    ).stdout


def load_frozen(ref: str, into: Path) -> ModuleType:
    """``ingest/claims`` as of ``ref``, importable as package ``claims_frozen``."""
    package = into / FROZEN
    package.mkdir()
    for name in _git("ls-tree", "--name-only", f"{ref}:ingest/claims").split():
        if name.endswith(".py"):
            source = _git("show", f"{ref}:ingest/claims/{name}")
            source = source.replace("ingest.claims", FROZEN)
            (package / name).write_text(source, encoding="utf-8")
    sys.path.insert(0, str(into))
    return importlib.import_module(FROZEN)


# Appended to the reference copy's prefilter with --ungated: every gate answers "search".
_UNGATED = """

def may_match(pattern, folded):
    return True


def matches(pattern, text, folded):
    return pattern.search(text) is not None


def sub(pattern, repl, text, folded):
    return pattern.sub(repl, text)


def finditer(pattern, text, folded):
    return pattern.finditer(text)
"""


def load_ungated(into: Path) -> ModuleType:
    """The working tree's ``ingest/claims`` with the literal prefilter switched off.

    Importable as package ``claims_frozen``: the same rules, every pattern searched, so
    comparing it with the working tree proves the gates change no output after a rule change.
    """
    package = into / FROZEN
    package.mkdir()
    for path in sorted((ROOT / "ingest" / "claims").glob("*.py")):
        source = path.read_text(encoding="utf-8").replace("ingest.claims", FROZEN)
        if path.name == "prefilter.py":
            source += _UNGATED
        (package / path.name).write_text(source, encoding="utf-8")
    sys.path.insert(0, str(into))
    return importlib.import_module(FROZEN)


def seed_papers(folder: Path) -> list[Paper]:
    """Every entry of every seed listing (duplicates across listings kept: more cases)."""
    return [e.paper for path in sorted(folder.glob("*.txt")) for e in read_papers(path)]


def synthetic_papers(n: int, tmp: Path) -> list[Paper]:
    """``n`` papers from the ingest benchmark's generator, read back by the real reader."""
    path = tmp / "synthetic.jsonl"
    generate(path, n, seed=1)
    return [e.paper for e in read_papers(path)]


def mixed_papers(seeds: Sequence[Paper], n: int, seed: int = 2) -> list[Paper]:
    """``n`` abstracts of 2-12 real seed sentences from random papers, some with noise."""
    rng = random.Random(seed)
    sentences = [p.abstract[s:e] for p in seeds for s, e in sentence_spans(p.abstract)]
    titles = [p.title for p in seeds]
    out: list[Paper] = []
    for i in range(n):
        chosen = rng.sample(sentences, rng.randint(2, 12))
        if i % 4 == 1:
            chosen = [s.upper() if rng.random() < 0.3 else s for s in chosen]
        if i % 4 == 2:
            chosen = [_noisy(s, rng) for s in chosen]
        title = rng.choice(titles)
        out.append(Paper(paper_id=f"mix:{i}", title=title, abstract=" ".join(chosen)))
    return out


def _noisy(sentence: str, rng: random.Random) -> str:
    chars = list(sentence)
    for _ in range(rng.randint(1, 4)):
        at = rng.randrange(len(chars) + 1)
        k = rng.choice("iIsSkK")
        if rng.random() < 0.5 and at < len(chars) and chars[at].lower() in "isk":
            k = chars[at]
        look_alike = {"i": "\u0131", "I": "\u0130", "s": "\u017f", "S": "\u017f", "k": "\u212a"}
        chars[at:at] = [look_alike.get(k, rng.choice(NOISE))]
    return "".join(chars)


def _dump(result: Any) -> dict[str, Any]:
    fields = {f.name: getattr(result, f.name) for f in dataclasses.fields(result)}
    fields["claims"] = [c.model_dump() for c in result.claims]
    fields["exponents"] = [e.model_dump() for e in result.exponents]
    return fields


def _timed(fn: Callable[[Paper], Any], papers: Sequence[Paper]) -> tuple[list[Any], float]:
    t0 = time.perf_counter()
    out = [fn(p) for p in papers]
    return out, (time.perf_counter() - t0) * 1000 / max(len(papers), 1)


def check(name: str, papers: Sequence[Paper], old: Callable[[Paper], Any]) -> bool:
    """Compare both extractors on ``papers``; print timings; False on any difference."""
    old_out, old_ms = _timed(old, papers)
    new_out, new_ms = _timed(extract, papers)
    for paper, a, b in zip(papers, old_out, new_out, strict=True):
        if _dump(a) != _dump(b):
            print(f"DIFFERENT on {name} paper {paper.paper_id!r}:")
            print(json.dumps({"old": _dump(a), "new": _dump(b)}, default=str, indent=1)[:4000])
            return False
    claims = sum(len(r.claims) for r in new_out)
    exps = sum(len(r.exponents) for r in new_out)
    print(
        f"{name:10s} {len(papers):6,} papers  identical ({claims:,} claims, {exps:,} exponents)  "
        f"old {old_ms:6.2f} ms/paper  new {new_ms:6.2f} ms/paper  speed-up {old_ms / new_ms:4.1f}x"
    )
    return True


def _facts(result: Any) -> dict[str, Any]:
    """What a rule change can move in one paper's reading, without the version stamps."""
    return {
        "label": result.studies_scaling_law,
        "domain": result.domain,
        "variables": sorted({v for c in result.claims for v in c.variables}),
        "responses": sorted({c.response for c in result.claims}),
        "sentences": sorted({(c.span_start, c.span_end) for c in result.claims}),
        "forms": sorted((c.span_start, c.form) for c in result.claims),
        "directions": sorted((c.span_start, c.direction) for c in result.claims),
        "exponents": sorted((e.span_start, e.span_end, e.value) for e in result.exponents),
        "exponent_variables": sorted((e.span_start, e.variable) for e in result.exponents),
    }


def summarise(name: str, papers: Sequence[Paper], old: Callable[[Paper], Any]) -> None:
    """Print how many of ``papers`` change each part of their reading (counts only)."""
    changed = {key: 0 for key in ("label", "domain", "variables", "responses", "sentences",
                                  "forms", "directions", "exponents",
                                  "exponent_variables")}  # fmt: skip
    became = {True: 0, False: 0}
    any_change = 0
    for paper in papers:
        a, b = _facts(old(paper)), _facts(extract(paper))
        moved = [key for key in changed if a[key] != b[key]]
        for key in moved:
            changed[key] += 1
        if "label" in moved:
            became[b["label"]] += 1
        any_change += bool(moved)
    parts = ", ".join(f"{key} {n}" for key, n in changed.items())
    print(
        f"{name:10s} {len(papers):6,} papers, {any_change:,} changed: {parts} "
        f"(became positive {became[True]}, negative {became[False]})"
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--ref", default=None, help="commit of the reference extractor")
    parser.add_argument("--seeds", type=Path, default=DEFAULT_SEEDS)
    parser.add_argument("--synthetic", type=int, default=5000)
    parser.add_argument("--mixes", type=int, default=2000)
    parser.add_argument(
        "--ungated",
        action="store_true",
        help="compare with the working tree's own rules with the prefilter off (after a rule "
        "change, when the output is meant to differ from --ref)",
    )
    parser.add_argument(
        "--summary",
        action="store_true",
        help="count what changed from --ref per set (labels, variables, ...) instead of "
        "stopping at the first difference",
    )
    args = parser.parse_args(argv)
    ref = args.ref or _git("merge-base", "HEAD", "main").strip()
    with tempfile.TemporaryDirectory() as tmp:
        if args.ungated:
            frozen = load_ungated(Path(tmp))
            print(f"reference extractor: working tree, prefilter off ({frozen.EXTRACTOR_VERSION})")
        else:
            frozen = load_frozen(ref, Path(tmp))
            print(f"reference extractor: {FROZEN} from {ref[:12]} ({frozen.EXTRACTOR_VERSION})")
        seeds = seed_papers(args.seeds)
        if not seeds:
            print(f"no seed listings (*.txt) in {args.seeds}; pass --seeds DIR or set KB_SHARED")
            return 2
        if args.summary:
            summarise("seeds", seeds, frozen.extract)
            summarise("synthetic", synthetic_papers(args.synthetic, Path(tmp)), frozen.extract)
            summarise("mixes", mixed_papers(seeds, args.mixes), frozen.extract)
            return 0
        ok = (
            check("seeds", seeds, frozen.extract)
            and check("synthetic", synthetic_papers(args.synthetic, Path(tmp)), frozen.extract)
            and check("mixes", mixed_papers(seeds, args.mixes), frozen.extract)
        )
    print("IDENTICAL" if ok else "OUTPUT CHANGED")
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
