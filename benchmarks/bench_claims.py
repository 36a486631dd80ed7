"""Quality of the claim extractor against the labelled set data/eval/claims_dev.jsonl.

Prints, for the dev and held-out splits: paper-level precision/recall/F1 of
``studies_scaling_law``; mean per-paper F1 of the variable set and of the response set (over
papers labelled as studying a scaling law; a paper predicted negative counts as empty sets);
exponent precision/recall over each paper's distinct exponent magnitudes (papers write
N^{-alpha} with alpha > 0 as often as N^{-0.07}, and N^{-1} with alpha=1 is one exponent); and
domain accuracy.

    PYTHONPATH=. python benchmarks/bench_claims.py [--seeds DIR] [--errors dev|ext-tune]
        [--external-texts PATH] [--splits dev,ext-tune]

``--errors dev`` lists the disagreements on the dev split (tune rules on dev and ext-tune only).
``--intervals N`` adds 95% percentile intervals from N bootstrap resamples of each split's papers
(seeded, so a rerun prints the same): how far a figure on 28 or 78 positives can move by which
papers happen to be in the split, e.g. before calling a 0.01 change a gain.

The external sample (``data/eval/claims_external.jsonl``: labels of abstracts from outside the
seed corpus) adds the splits ``ext-tune`` and ``ext-test``. Its texts are not redistributed: give
them with ``--external-texts PATH`` or ``$KB_EXTERNAL_TEXTS`` (JSON lines with ``ext_id``,
``title``, ``abstract``); several files may be given (repeat the option, or separate paths with
``os.pathsep`` in the variable), e.g. one file per batch of the sample. Without them the external
figures are skipped with a message.

The cover sample (``data/eval/claims_cover.jsonl``, 2026-12-04: a second blind-labelled sample of
abstracts from outside the seed corpus, made so that rules could be tuned on real unseen wording)
adds ``cover-tune`` and ``cover-test`` the same way: ``--cover-texts PATH`` or
``$KB_COVER_TEXTS``. Its texts files may carry the labels too; only ``ext_id``, ``title`` and
``abstract`` are read from them.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import sys
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from ingest.claims import EXTRACTOR_VERSION, Extraction, extract  # noqa: E402
from ingest.formats import read_papers  # noqa: E402
from ingest.pipeline import merge_papers  # noqa: E402
from kb.records import Paper  # noqa: E402

LABELS = ROOT / "data" / "eval" / "claims_dev.jsonl"
EXTERNAL_LABELS = ROOT / "data" / "eval" / "claims_external.jsonl"
EXTERNAL_SPLITS = ("ext-tune", "ext-test")
COVER_LABELS = ROOT / "data" / "eval" / "claims_cover.jsonl"
COVER_SPLITS = ("cover-tune", "cover-test")
DEFAULT_SEEDS = Path(os.environ.get("KB_SHARED", ROOT.parent / "shared")) / "seeds"


def read_seed_papers(folder: Path) -> dict[str, Paper]:
    """Every paper of the ``*.txt`` listings in ``folder``, read and merged as ``kb ingest`` does.

    Uses the real listing parser (``ingest.formats.read_papers``) and the pipeline's merge (the
    first appearance wins, later ones fill empty fields), so ids are ``kb.records.paper_id_for``.
    """
    papers: dict[str, Paper] = {}
    for path in sorted(folder.glob("*.txt")):
        for entry in read_papers(path):
            p = entry.paper
            papers[p.paper_id] = merge_papers(papers[p.paper_id], p) if p.paper_id in papers else p
    return papers


def external_split(ext_id: str) -> str:
    """``ext-test`` when ``int(sha256(ext_id)[:8], 16) % 3 == 0``, else ``ext-tune``.

    Fixed before any extractor output on the external sample was seen.
    """
    digest = hashlib.sha256(ext_id.encode("utf-8")).hexdigest()
    return "ext-test" if int(digest[:8], 16) % 3 == 0 else "ext-tune"


def cover_split(ext_id: str) -> str:
    """``cover-test`` when ``int(sha256(ext_id)[:8], 16) % 3 == 0``, else ``cover-tune``.

    The external sample's rule under the cover sample's names; fixed before its labels were made.
    """
    return "cover-test" if external_split(ext_id) == "ext-test" else "cover-tune"


def external_paper_id(ext_id: str) -> str:
    """The id an external abstract gets inside the benchmark (never stored anywhere)."""
    return f"ext:{ext_id}"


def read_external_texts(texts_paths: Path | Sequence[Path]) -> dict[str, Paper]:
    """The external abstracts of one or several JSON-lines files, by benchmark paper id.

    Each line is an object with ``ext_id``, ``title`` and ``abstract``. Raises ``SystemExit``
    naming the file and line when a line is broken or an ``ext_id`` appears twice.
    """
    paths = [texts_paths] if isinstance(texts_paths, Path) else list(texts_paths)
    papers: dict[str, Paper] = {}
    where: dict[str, str] = {}
    for texts_path in paths:
        try:
            lines = texts_path.read_text(encoding="utf-8").splitlines()
        except OSError as exc:
            raise SystemExit(
                f"{texts_path}: cannot read the external texts ({exc.strerror}); they are not in "
                "the repository: give the JSON-lines files you rebuilt (see data/eval/README.md)"
            ) from None
        for number, line in enumerate(lines, start=1):
            if not line.strip():
                continue
            try:
                item = json.loads(line)
                paper = Paper(
                    paper_id=external_paper_id(item["ext_id"]),
                    title=item["title"],
                    abstract=item["abstract"],
                )
            except (json.JSONDecodeError, KeyError, TypeError, ValueError) as exc:
                raise SystemExit(
                    f"{texts_path}, line {number}: expected a JSON object with ext_id, title "
                    f"and abstract ({exc})"
                ) from exc
            if paper.paper_id in papers:
                raise SystemExit(
                    f"{texts_path}, line {number}: {item['ext_id']} already read from "
                    f"{where[paper.paper_id]}"
                )
            papers[paper.paper_id] = paper
            where[paper.paper_id] = f"{texts_path}, line {number}"
    return papers


def read_external(
    labels_path: Path,
    texts_paths: Path | Sequence[Path],
    *,
    skip_missing: bool = False,
    split_rule: Callable[[str], str] = external_split,
    split_names: Sequence[str] = EXTERNAL_SPLITS,
    only: Sequence[str] | None = None,
) -> tuple[list[dict[str, Any]], dict[str, Paper]]:
    """The external labels (with ``paper_id`` and ``split`` set) and their papers.

    ``split_rule`` and ``split_names`` give the sample's split rule and names (the cover sample
    uses :func:`cover_split` and ``COVER_SPLITS``). With ``only``, labels of other splits are
    left out before their texts are looked for (scoring the tune split needs no test texts).

    ``texts_paths`` is one or several JSON-lines files (:func:`read_external_texts`). Raises
    ``SystemExit`` naming the file and line when a label has no text or a line is broken; with
    ``skip_missing`` a label with no text is left out instead, and the counts kept per split are
    printed (for a partial set of texts, e.g. one rebuilt from the URLs).
    """
    papers = read_external_texts(texts_paths)
    skipped: dict[str, int] = {}
    shown = os.pathsep.join(
        str(p) for p in ([texts_paths] if isinstance(texts_paths, Path) else texts_paths)
    )
    rows: list[dict[str, Any]] = []
    for number, line in enumerate(labels_path.read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        row = json.loads(line)
        if only is not None and row["split"] not in only:
            continue
        pid = external_paper_id(row["ext_id"])
        if pid not in papers and skip_missing:
            skipped[row["split"]] = skipped.get(row["split"], 0) + 1
            continue
        if pid not in papers:
            raise SystemExit(
                f"{labels_path}, line {number}: no text for {row['ext_id']} in {shown}"
            )
        if row["split"] != split_rule(row["ext_id"]):
            raise SystemExit(
                f"{labels_path}, line {number}: split {row['split']!r} is not "
                f"{split_rule(row['ext_id'])!r} (sha256 rule)"
            )
        rows.append({**row, "paper_id": pid})
    if skip_missing:
        shown_splits = [s for s in split_names if only is None or s in only]
        kept = {split: sum(r["split"] == split for r in rows) for split in shown_splits}
        print(
            "external texts: "
            + ", ".join(f"{s} {kept[s]} of {kept[s] + skipped.get(s, 0)}" for s in shown_splits)
            + " labelled papers have a text (the rest skipped: --skip-missing-texts)"
        )
    return rows, papers


def add_skip_missing_option(parser: argparse.ArgumentParser) -> None:
    """``--skip-missing-texts``: score the external papers that have a text, skip the rest."""
    parser.add_argument(
        "--skip-missing-texts",
        action="store_true",
        help="leave out external labels with no text instead of stopping (prints the counts)",
    )


def set_f1(pred: Iterable[str], gold: Iterable[str]) -> float:
    """F1 of two label sets; two empty sets agree perfectly."""
    p, g = set(pred), set(gold)
    if not p and not g:
        return 1.0
    tp = len(p & g)
    return 0.0 if tp == 0 else 2 * tp / (len(p) + len(g))


def _distinct(values: Iterable[float]) -> list[float]:
    """Magnitudes, each once (N^{-1} and alpha=1 state one exponent)."""
    out: list[float] = []
    for v in sorted(abs(x) for x in values):
        if not out or abs(v - out[-1]) > 1e-3 * max(1.0, v):
            out.append(v)
    return out


def _match(values: list[float], gold: list[float]) -> int:
    left = _distinct(gold)
    hits = 0
    for v in values:
        for i, g in enumerate(left):
            if abs(abs(v) - g) <= 1e-3 * max(1.0, g):
                hits += 1
                del left[i]
                break
    return hits


def evaluate(rows: list[dict[str, Any]], preds: dict[str, Extraction]) -> dict[str, float]:
    """All figures for one split."""
    tp = fp = fn = 0
    var_f1: list[float] = []
    resp_f1: list[float] = []
    n_pred_exp = n_gold_exp = exp_hits_p = 0
    domain_ok = 0
    for row in rows:
        ex = preds[row["paper_id"]]
        gold = bool(row["studies_scaling_law"])
        tp += ex.studies_scaling_law and gold
        fp += ex.studies_scaling_law and not gold
        fn += gold and not ex.studies_scaling_law
        domain_ok += ex.domain == row["domain"]
        if gold:
            pv = {v for c in ex.claims for v in c.variables} if ex.studies_scaling_law else set()
            pr = {c.response for c in ex.claims} if ex.studies_scaling_law else set()
            var_f1.append(set_f1(pv, row["variables"]))
            resp_f1.append(set_f1(pr, row["responses"]))
        values = _distinct(e.value for e in ex.exponents)
        n_pred_exp += len(values)
        n_gold_exp += len(_distinct(row["exponents"]))
        exp_hits_p += _match(values, row["exponents"])
    precision = tp / (tp + fp) if tp + fp else 1.0
    recall = tp / (tp + fn) if tp + fn else 1.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return {
        "papers": len(rows),
        "positives": tp + fn,
        "paper_precision": precision,
        "paper_recall": recall,
        "paper_f1": f1,
        "variables_f1": sum(var_f1) / len(var_f1) if var_f1 else 1.0,
        "response_f1": sum(resp_f1) / len(resp_f1) if resp_f1 else 1.0,
        "exponent_precision": exp_hits_p / n_pred_exp if n_pred_exp else 1.0,
        "exponent_recall": exp_hits_p / n_gold_exp if n_gold_exp else 1.0,
        "exponents_predicted": n_pred_exp,
        "exponents_labelled": n_gold_exp,
        "domain_accuracy": domain_ok / len(rows) if rows else 1.0,
    }


INTERVAL_FIGURES = ("paper_f1", "variables_f1", "response_f1", "exponent_precision")


def intervals(
    rows: list[dict[str, Any]],
    preds: dict[str, Extraction],
    resamples: int,
    *,
    seed: int = 0,
    level: float = 0.95,
) -> dict[str, tuple[float, float]]:
    """Percentile bootstrap intervals of :data:`INTERVAL_FIGURES`, papers drawn with replacement.

    Each resample draws ``len(rows)`` papers of the split (positives and negatives alike, as the
    split was drawn), so the paper-level and per-positive figures vary together.
    """
    rng = np.random.default_rng(seed)
    draws: dict[str, list[float]] = {k: [] for k in INTERVAL_FIGURES}
    for _ in range(resamples):
        sample = [rows[i] for i in rng.integers(0, len(rows), len(rows))]
        figures = evaluate(sample, preds)
        for key in INTERVAL_FIGURES:
            draws[key].append(figures[key])
    tail = (1 - level) / 2 * 100
    return {
        k: (float(np.percentile(v, tail)), float(np.percentile(v, 100 - tail)))
        for k, v in draws.items()
    }


def _errors(
    rows: list[dict[str, Any]], preds: dict[str, Extraction], papers: dict[str, Paper]
) -> None:
    for row in rows:
        ex = preds[row["paper_id"]]
        title = papers[row["paper_id"]].title[:70]
        gold = row["studies_scaling_law"]
        if ex.studies_scaling_law != gold:
            print(f"PAPER {'FN' if gold else 'FP'} {row['paper_id']} {title}")
            for c in ex.claims[:3]:
                print(f"    claim: {c.evidence[:160]}")
        elif gold:
            pv = sorted({v for c in ex.claims for v in c.variables})
            pr = sorted({c.response for c in ex.claims})
            if set(pv) != set(row["variables"]) or set(pr) != set(row["responses"]):
                print(f"LABELS {row['paper_id']} {title}")
                print(f"    vars pred={pv} gold={row['variables']}")
                print(f"    resp pred={pr} gold={row['responses']}")
        values = _distinct(e.value for e in ex.exponents)
        gold_values = _distinct(row["exponents"])
        if _match(values, gold_values) != len(values) or len(values) != len(gold_values):
            print(f"EXPONENTS {row['paper_id']} {title}: pred={values} gold={row['exponents']}")
        if ex.domain != row["domain"]:
            print(f"DOMAIN {row['paper_id']} {title}: pred={ex.domain} gold={row['domain']}")


def external_texts_from_env(variable: str = "KB_EXTERNAL_TEXTS") -> list[Path] | None:
    """``$KB_EXTERNAL_TEXTS`` (or ``variable``) as a list of paths (``os.pathsep``-separated),
    or None."""
    value = os.environ.get(variable, "")
    paths = [Path(p) for p in value.split(os.pathsep) if p]
    return paths or None


def add_external_texts_option(parser: argparse.ArgumentParser) -> None:
    """``--external-texts PATH`` (repeatable), defaulting to ``$KB_EXTERNAL_TEXTS``."""
    parser.add_argument(
        "--external-texts",
        type=Path,
        action="append",
        default=None,
        help="JSON lines (ext_id, title, abstract) of the external sample; repeat for several "
        "files; default $KB_EXTERNAL_TEXTS (paths separated by os.pathsep)",
    )


def add_cover_texts_option(parser: argparse.ArgumentParser) -> None:
    """``--cover-texts PATH`` (repeatable), defaulting to ``$KB_COVER_TEXTS``."""
    parser.add_argument(
        "--cover-texts",
        type=Path,
        action="append",
        default=None,
        help="JSON lines (ext_id, title, abstract) of the cover sample; repeat for several "
        "files; default $KB_COVER_TEXTS (paths separated by os.pathsep)",
    )


def _with_rescue(
    path: Path, papers: dict[str, Paper], preds: dict[str, Extraction]
) -> tuple[dict[str, Extraction], str]:
    """``preds`` with the embedding rescue at ``path`` applied (one encode call for the papers
    it could change), and the version stamp they carry."""
    from ingest.claims.rescue import RescueModel, apply_rescue, needs_vector
    from kb.embed import load_embedder, model_name
    from kb.index import paper_text

    model = RescueModel.load(path)
    if model.meta.encoder != model_name(None):  # checked before the model loads
        raise SystemExit(f"{path} was fitted for {model.meta.encoder}, not {model_name(None)}")
    embedder = load_embedder(None)
    if not model.fits(embedder.name, embedder.dim):
        raise SystemExit(f"{path} is for {model.meta.dim}-d vectors, not {embedder.dim}-d")
    wanted = sorted(pid for pid, e in preds.items() if needs_vector(papers[pid], e))
    vectors = embedder.encode([paper_text(papers[pid]) for pid in wanted])
    by_id = dict(zip(wanted, vectors, strict=True))
    out = {pid: apply_rescue(papers[pid], e, by_id.get(pid), model) for pid, e in preds.items()}
    rescued = sum(out[pid].studies_scaling_law for pid in wanted)
    print(f"rescue {path}: {len(wanted)} papers read by the classifier, {rescued} rescued")
    return out, EXTRACTOR_VERSION + model.tag


def main() -> None:
    """Run the extractor over the labelled papers and print the figures."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=Path, default=DEFAULT_SEEDS, help="seed listings folder")
    parser.add_argument("--labels", type=Path, default=LABELS)
    parser.add_argument("--external-labels", type=Path, default=EXTERNAL_LABELS)
    add_external_texts_option(parser)
    parser.add_argument("--cover-labels", type=Path, default=COVER_LABELS)
    add_cover_texts_option(parser)
    add_skip_missing_option(parser)
    parser.add_argument(
        "--errors",
        choices=["dev", "ext-tune", "cover-tune"],
        help="list disagreements (only on the splits rules may be tuned on)",
    )
    parser.add_argument(
        "--splits",
        default="dev,heldout,all,ext-tune,ext-test",
        help="comma-separated splits to print (dev, heldout, all, ext-tune, ext-test, "
        "cover-tune, cover-test); tune with --splits dev,ext-tune,cover-tune",
    )
    parser.add_argument(
        "--intervals",
        type=int,
        default=0,
        metavar="N",
        help="print 95%% bootstrap intervals (N resamples of the papers, seeded), e.g. 2000",
    )
    parser.add_argument(
        "--rescue",
        metavar="PATH",
        help="apply the embedding rescue saved at PATH (ingest.claims.rescue; loads the model)",
    )
    args = parser.parse_args()
    if args.external_texts is None:
        args.external_texts = external_texts_from_env()
    if args.cover_texts is None:
        args.cover_texts = external_texts_from_env("KB_COVER_TEXTS")

    seeds = read_seed_papers(args.seeds)
    rows = [json.loads(line) for line in args.labels.read_text().splitlines() if line.strip()]
    missing = [r["paper_id"] for r in rows if r["paper_id"] not in seeds]
    if missing:
        raise SystemExit(
            f"{len(missing)} labelled papers not found in {args.seeds} (set KB_SHARED or --seeds): "
            f"{missing[:3]}"
        )
    papers = dict(seeds)
    every = {
        "dev": [r for r in rows if r["split"] == "dev"],
        "heldout": [r for r in rows if r["split"] == "heldout"],
        "all": rows,
    }
    chosen = [s.strip() for s in args.splits.split(",") if s.strip()]
    if args.errors and args.errors not in chosen:
        chosen.append(args.errors)
    # The two external samples, each scored only when its texts are given.
    for option, variable, labels, texts, split_rule, names in (
        ("--external-texts", "KB_EXTERNAL_TEXTS", args.external_labels, args.external_texts,
         external_split, EXTERNAL_SPLITS),
        ("--cover-texts", "KB_COVER_TEXTS", args.cover_labels, args.cover_texts, cover_split,
         COVER_SPLITS),
    ):  # fmt: skip
        wanted = [s for s in chosen if s in names]
        if wanted and texts is None:
            print(
                f"splits {wanted} skipped: their texts are not in the repository; "
                f"give {option} PATH or set {variable}"
            )
            chosen = [s for s in chosen if s not in names]
            if args.errors in names:
                raise SystemExit(f"--errors {args.errors} needs {option}")
        elif wanted:
            sample_rows, sample_papers = read_external(
                labels,
                texts,
                skip_missing=args.skip_missing_texts,
                split_rule=split_rule,
                split_names=names,
                only=wanted,
            )
            papers.update(sample_papers)
            for name in names:
                every[name] = [r for r in sample_rows if r["split"] == name]
    unknown = [s for s in chosen if s not in every]
    if unknown:
        raise SystemExit(
            f"--splits: unknown split(s) {unknown}; "
            "expected dev, heldout, all, ext-tune, ext-test, cover-tune or cover-test"
        )
    if not chosen:
        raise SystemExit("--splits: nothing to print")
    splits = {name: every[name] for name in chosen}
    # Only the papers of the printed splits are read.
    needed = {r["paper_id"] for split_rows in splits.values() for r in split_rows}
    preds = {pid: extract(papers[pid]) for pid in needed}
    version = EXTRACTOR_VERSION
    if args.rescue:
        preds, version = _with_rescue(Path(args.rescue), papers, preds)
    print(f"extractor {version}; labels {args.labels.relative_to(ROOT)}")
    width = {s: max(10, len(s) + 2) for s in splits}  # "cover-tune" is as wide as a cell
    header = f"{'figure':<22}" + "".join(f"{s:>{width[s]}}" for s in splits)
    print(header)
    results = {name: evaluate(split_rows, preds) for name, split_rows in splits.items()}
    for key in next(iter(results.values())):
        cells = "".join(
            f"{results[s][key]:>{width[s]}.3f}" if isinstance(results[s][key], float) and key not in
            ("papers", "positives", "exponents_predicted", "exponents_labelled")
            else f"{results[s][key]:>{width[s]}.0f}"
            for s in splits
        )  # fmt: skip
        print(f"{key:<22}{cells}")
    if args.intervals > 0:
        print(f"\n95% interval, {args.intervals} bootstrap resamples of each split's papers")
        print(header)
        spans = {
            s: intervals(split_rows, preds, args.intervals) for s, split_rows in splits.items()
        }
        for key in INTERVAL_FIGURES:
            cells = "".join(
                f"{spans[s][key][0]:>{width[s] - 5}.2f}-{spans[s][key][1]:<4.2f}" for s in splits
            )
            print(f"{key:<22}{cells}")
    if args.errors:
        print()
        _errors(splits[args.errors], preds, papers)


if __name__ == "__main__":
    main()
