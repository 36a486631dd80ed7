"""Adapters of model collections: ColPret's tables (Choshen et al.) and the OLMo model ladder."""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np

from ingest.released.adapter import Adapter
from ingest.released.base import (
    Frame,
    Metric,
    Size,
    Table,
    build_frame,
    clean_extras,
    parse_count,
    where,
)
from kb.errors import BadInputError

NATS = "nats/token"
# GPT-3 model sizes by name, Brown et al. 2020 (arXiv:2005.14165) Table 2.1.
GPT3_PARAMS = {
    "small": 125e6, "medium": 350e6, "large": 760e6, "xl": 1.3e9, "2.7b": 2.7e9,
    "6.7b": 6.7e9, "13b": 13e9, "175b": 175e9,
}  # fmt: skip
OLMO_TOKENS_PER_STEP = 4e6  # ColPret's convention for OLMo: tokens = Step x 4M


def _olmo_unit(column: str) -> str:
    if column.endswith("CrossEntropyLoss"):
        return NATS
    if column.endswith("Perplexity"):
        return "perplexity"
    return "fraction"


def _olmo(folder: Path) -> Frame:
    t = Table(folder, "olmo.csv", ["Step", "model_name", "num_params"])
    meta = {"Step", "model_name", "num_params", "checkpoint"}
    metric_cols = [c for c in t.columns if c not in meta]
    step = t.num("Step")
    return build_frame(
        t.name, t.n_rows,
        [(Metric(c, f"olmo/{c}", _olmo_unit(c)), t.num(c)) for c in metric_cols],
        extras=t.records(["model_name", "checkpoint"]),
        n_params=Size(t.count("num_params"), "num_params"), n_params_kind="unknown",
        n_tokens=Size(step * OLMO_TOKENS_PER_STEP, "Step x 4e6"), step=step,
        derived=["n_params", "n_tokens"], run_key=[(m or "").strip() for m in t.text("model_name")],
    )  # fmt: skip


def _opt(folder: Path) -> list[Frame]:
    t = Table(folder, "opt_trajectories.csv", ["model_size", "steps", "num_token", "flops", "ppl"])
    sizes = t.text("model_size")
    traj = build_frame(
        t.name, t.n_rows, [(Metric("ppl", "opt/ppl", "perplexity", True), t.num("ppl"))],
        extras=t.records(["model_name", "model_size", "num_token", "flops"]),
        n_params=Size(t.count("model_size"), "model_size"), n_params_kind="unknown",
        n_tokens=Size(10 ** t.num("num_token"), "num_token (log10)"),
        compute=Size(10 ** t.num("flops"), "flops (log10)"), compute_method="as reported",
        step=t.num("steps"), derived=["n_params", "n_tokens", "compute_flops"],
        run_key=[f"OPT-{s}" for s in sizes],
    )  # fmt: skip
    b = Table(folder, "opt_bigbench.csv", ["model_name", "size", "steps", "flops", "tokens"])
    tasks = [c for c in b.columns if c.startswith("bigbench__")]
    bench = build_frame(
        b.name, b.n_rows,
        [(Metric(c, f"opt_bigbench/{c.removeprefix('bigbench__')}", "percent"), b.num(c))
         for c in tasks],
        extras=b.records(["model_name", "size"]),
        n_params=Size(b.count("size"), "size"), n_params_kind="unknown",
        n_tokens=Size(b.num("tokens"), "tokens"), compute=Size(b.num("flops"), "flops"),
        compute_method="as reported", step=b.num("steps"), derived=["n_params"],
        run_key=b.text("model_name"),
    )  # fmt: skip
    return [traj, bench]


def _k2(folder: Path) -> Frame:
    t = Table(folder, "k2.csv", ["Step", "tokens_seen", "flops", "num_params",
                                 "k2 training - lm loss"])  # fmt: skip
    metric_cols = [c for c in t.columns if " - " in c and not c.endswith(("__MIN", "__MAX"))]
    metrics = [
        (Metric(c, f"k2/{c}", NATS if c.endswith("lm loss") else "fraction"), t.num(c))
        for c in metric_cols
    ]
    bounds = {f"k2/{c}": t.records([f"{c}__MIN", f"{c}__MAX"]) for c in metric_cols}
    bound_cols = {f"{c}__{s}" for c in metric_cols for s in ("MIN", "MAX")}
    return build_frame(
        t.name, t.n_rows, metrics, metric_extras=bounds,
        extras=t.records([c for c in t.columns if c not in {*metric_cols, *bound_cols}]),
        n_params=Size(t.count("num_params"), "num_params"), n_params_kind="total",
        # The first logged point has tokens_seen = flops = 0 (checkpoint 0): no usable size.
        n_tokens=Size(t.num("tokens_seen"), "tokens_seen", required=False, zero_ok=True),
        compute=Size(t.num("flops"), "flops", required=False, zero_ok=True),
        compute_method="6ND with N = 65B (ColPret)", derived=["n_params"],
        run_key=["K2"] * t.n_rows,
    )  # fmt: skip


def _gpt3(folder: Path) -> Frame:
    t = Table(folder, "gpt3_extracted.csv", ["model", "step", "train_loss", "val_loss"])
    models = t.text("model")
    n = np.array([GPT3_PARAMS.get(str(m), np.nan) for m in models])
    for i in np.flatnonzero(np.isnan(n)):
        raise BadInputError(
            f"{where(t.name, int(i) + 1, 'model')}: {models[i]!r} is not a GPT-3 size "
            f"({', '.join(GPT3_PARAMS)})"
        )
    train, val = t.num("train_loss"), t.num("val_loss")
    for i in np.flatnonzero(np.isnan(train) & np.isnan(val)):
        raise BadInputError(f"{where(t.name, int(i) + 1, 'train_loss')}: neither loss is given")
    return build_frame(
        t.name, t.n_rows,
        [(Metric("train_loss", "gpt3/train_loss", NATS), train),
         (Metric("val_loss", "gpt3/val_loss", NATS), val)],
        extras=t.records(["model", "step"]),
        n_params=Size(n, "model"), n_params_kind="total",
        n_tokens=Size(t.num("step") * 1e9, "step (billions of tokens)"),
        derived=["n_params", "n_tokens"], run_key=[f"GPT-3 {m}" for m in models],
    )  # fmt: skip


def _revisiting(folder: Path, name: str) -> Frame:
    t = Table(folder, name, ["Domain", "Task", "Model", "Seen Examples", "Loss", "Training"])
    seen = t.num("Seen Examples")
    bad = np.isnan(seen) | (seen <= 0)
    if bad.any():
        i = int(np.argmax(bad))
        raise BadInputError(
            f"{where(t.name, i + 1, 'Seen Examples')}: is {float(seen[i]):g}; "
            "expected a positive count"
        )
    keys = ["|".join(str(v) for v in vals) for vals in
            zip(t.text("Domain"), t.text("Task"), t.text("Model"), strict=True)]  # fmt: skip
    return build_frame(
        t.name, t.n_rows,
        [(Metric("Loss", f"{name.removesuffix('.csv')}/loss", "benchmark target in (0, 1]",
                 True), t.num("Loss"))],
        extras=t.records(["Domain", "Task", "Model", "Seen Examples", "Training"]),
        run_key=keys,
    )  # fmt: skip


def _moduleformer(folder: Path) -> Frame:
    t = Table(folder, "ibm_moduleformer.csv", ["Model", "Params", "tokens_seen"])
    # The sheet separates model groups with all-empty rows: they carry no point.
    blank = np.array([all(v is None for v in r.values()) for r in t.records(t.columns)])
    keep = np.flatnonzero(~blank)
    # 'Model' is empty on continuation rows of the same model: carry the last name forward.
    models: list[str | None] = []
    for i, m in enumerate(t.text("Model"), start=1):
        if m is None and not models:
            raise BadInputError(f"{where(t.name, i, 'Model')}: first row has no model name")
        models.append(m if m is not None else models[-1])
    # tokens_seen is a count ('64B') except where it repeats the row's data set name ('Pile',
    # 'IBM Pile'): a full pass whose token count the sheet does not give. No n_tokens there
    # (the raw text stays in extras); any other text is an error.
    raw_tokens, data = t.text("tokens_seen"), t.text("data")
    tokens = np.full(t.n_rows, np.nan)
    for i in keep.tolist():
        text = raw_tokens[i]
        value = parse_count(text) if text is not None else None
        if value is None and (text is None or text != data[i]):
            raise BadInputError(
                f"{where(t.name, i + 1, 'tokens_seen')}: cannot read {text!r} as a token "
                "count (expected e.g. '64B', or the row's data set name for a full pass)"
            )
        tokens[i] = np.nan if value is None else value
    meta = {"Model", "data", "Params", "Effective Params", "tokens_seen", "Tokenizer"}
    metric_cols = [c for c in t.columns if c not in meta]
    units = {"ppl": "perplexity", "bpb": "bits/byte"}
    extras = t.records(["data", "Effective Params", "Tokenizer", "tokens_seen"])
    for rec, m in zip(extras, models, strict=True):
        rec["Model"] = m
    return build_frame(
        t.name, len(keep),
        [(Metric(c, f"moduleformer/{c}", units.get(c.rsplit(" ", 1)[-1], "percent")),
          t.num(c)[keep]) for c in metric_cols],
        extras=[extras[i] for i in keep], rows=keep.astype(np.int64) + 1,
        n_params=Size(t.count("Params")[keep], "Params"), n_params_kind="total",
        n_tokens=Size(tokens[keep], "tokens_seen", required=False),
        derived=["n_params", "n_tokens"], run_key=[models[i] for i in keep],
    )  # fmt: skip


def _gzip(folder: Path) -> Frame:
    name = "gzip_results_new.jsonl"
    path = folder / name
    file = f"{folder.name}/{name}"
    if not path.is_file():
        raise BadInputError(f"{file}: file not found; the adapter expects it in {folder}")
    rows: list[int] = []
    subs: list[str] = []
    which: list[str] = []
    vals: list[float] = []
    N: list[float] = []
    D: list[float] = []
    extras: list[str] = []
    keys: list[str] = []
    for line_no, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        try:
            rec = json.loads(line)
        except json.JSONDecodeError as err:
            raise BadInputError(f"{file}: row {line_no} (line {line_no}): not JSON: {err}") from err
        if not isinstance(rec, dict):
            raise BadInputError(f"{file}: row {line_no} (line {line_no}): not a JSON object")
        for col in ("dataset_name", "model_size", "token_ct", "train_loss", "valid_loss"):
            if col not in rec:
                raise BadInputError(f"{file}: row {line_no} (line {line_no}), column '{col}': "
                                    "missing")  # fmt: skip
        extra = {k: v for k, v in rec.items() if k not in {"train_loss", "valid_loss"}}
        # One JSON text per run; each point splices its log index in front (cheap at 100k).
        run_json = json.dumps(clean_extras([extra])[0], sort_keys=True)[1:]
        key = f"{rec['dataset_name']}|N={rec['model_size']}|D={rec['token_ct']}"
        for split in ("train_loss", "valid_loss"):
            for k, v in enumerate(rec[split]):
                rows.append(line_no)
                subs.append(str(k))
                which.append(split)
                vals.append(float("nan") if v is None else float(v))
                N.append(float(rec["model_size"]))
                D.append(float(rec["token_ct"]))
                extras.append(
                    f'{{"log_index": {k}, {run_json}' if extra else f'{{"log_index": {k}}}'
                )
                keys.append(key)
    n_pts = len(rows)
    split_arr = np.array(which)
    value = np.array(vals)
    for i in np.flatnonzero(~np.isfinite(value)):
        raise BadInputError(
            f"{where(file, rows[i], which[i], 0)}: element {subs[i]} is {vals[i]!r}; expected a "
            "finite loss"
        )
    return build_frame(
        file, n_pts,
        [(Metric(s, f"gzip/{s}", "nats/token (synthetic PCFG language)"),
          np.where(split_arr == s, value, np.nan)) for s in ("train_loss", "valid_loss")],
        extras=[], extras_json=extras, rows=np.array(rows, np.int64), sub=subs, header_lines=0,
        n_params=Size(np.array(N), "model_size"), n_params_kind="total",
        n_tokens=Size(np.array(D), "token_ct"),
        run_key=keys,
    )  # fmt: skip


def read_choshen(folder: Path) -> list[Frame]:
    """Each ColPret table as its own metric family (prefix 'olmo/', 'gpt3/', ...)."""
    return [
        _olmo(folder), *_opt(folder), _k2(folder), _gpt3(folder),
        _revisiting(folder, "revisiting_lang.csv"), _revisiting(folder, "revisiting_vision.csv"),
        _moduleformer(folder), _gzip(folder),
    ]  # fmt: skip


CHOSHEN = Adapter(
    name="choshen2024_colpret",
    arxiv_id="2410.11840",
    title="A Hitchhiker's Guide to Scaling Law Estimation",
    source_repo="https://github.com/IBM/ColPret",
    source_commit="16f23bbe054277ddc4afd07a972dd7cfbe3f48c3",
    source_paths=(
        "aggregated_eval/olmo.csv",
        "aggregated_eval/opt_trajectories.csv",
        "aggregated_eval/opt.csv",
        "aggregated_eval/K2.csv",
        "raw_data/gpt3/extracted.csv",
        "aggregated_eval/revisiting_lang.csv",
        "aggregated_eval/revisiting_vision.csv",
        "raw_data/IBM_MoE.csv",
        "raw_data/gzip/results_new.jsonl",
    ),
    license="MIT (IBM/ColPret; contents from third parties, cite the original sources)",
    caveats=(
        "A SUBSET of the paper's collection (Pythia, Amber, over-train and the consolidated "
        "cache are missing). Each source family has its own metric prefix; never pool across "
        "prefixes: N (embeddings or not) and tokens differ between families. olmo/: tokens = "
        "Step x 4M (ColPret's convention), N parsed from text. opt/: ppl with tokens and FLOPs "
        "given as log10 in the file (converted). opt_bigbench/: accuracies in percent. k2/: "
        "training loss and evals of LLM360 K2 (65B), the step-0 point has no tokens/FLOPs. "
        "gpt3/: curves digitised from Brown et al. 2020, N from its Table 2.1, tokens = step x "
        "1e9. revisiting_*: Alabdulmohsin et al. 2022 benchmark; x is 'Seen Examples' (in "
        "extras; examples or tokens), n_tokens empty. moduleformer/: accuracies in percent. "
        "gzip/: synthetic PCFG runs; one point per logged loss (log_index in extras)."
    ),
    default_metric="gpt3/val_loss",
    read=read_choshen,
)


# -- bhagia2024_olmo_ladder -------------------------------------------------------------------
def _ladder_unit(column: str) -> str:
    if column.endswith("CrossEntropyLoss"):
        return NATS
    if column.startswith("eval/downstream_bpb/"):
        return "bits/byte"
    if column.startswith("eval/downstream_soft_log/"):
        return "log-probability"
    if column.startswith("eval/downstream_soft/"):
        return "probability"
    return "fraction"


_LADDER_FILE = re.compile(r"^(?P<size>[0-9.]+[MB])-(?P<mult>[0-9]+)xC\.csv$")


def _ladder_config(folder: Path) -> dict[str, tuple[float, float]]:
    """file name -> (n, FLOP per token) from final_config.json."""
    path = folder / "final_config.json"
    file = f"{folder.name}/final_config.json"
    try:
        config = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as err:
        raise BadInputError(f"{file}: cannot read: {err}") from err
    out: dict[str, tuple[float, float]] = {}
    for label, entry in config.items():
        for key in ("paths", "n", "flops"):
            if key not in entry:
                raise BadInputError(f"{file}: entry '{label}', key '{key}': missing")
        n, fpt = float(entry["n"]), float(entry["flops"])
        if not (n > 0 and fpt > 0):
            raise BadInputError(f"{file}: entry '{label}': n and flops must be positive")
        for p in entry["paths"]:
            out[Path(p).name] = (n, fpt)
    return out


def _ladder_file(folder: Path, name: str, n: float, fpt: float) -> Frame:
    t = Table(folder, f"runs/{name}")
    metric_cols = [c for c in t.columns if c.startswith("eval/")]
    if not metric_cols:
        raise BadInputError(f"{t.name}: row 0 (line 1, the header): no eval/ columns")
    step = t.num("_step") if "_step" in t.columns else None
    if "throughput/total_tokens" in t.columns:
        D = t.num("throughput/total_tokens")
        d_col, derived = "throughput/total_tokens", ["n_params", "compute_flops"]
    elif step is not None:
        # The authors' fallback when total_tokens is missing: D = _step x batch_size_in_tokens.
        D = step * t.num("batch_size_in_tokens")
        d_col, derived = "_step x batch_size_in_tokens", ["n_params", "n_tokens", "compute_flops"]
    else:
        raise BadInputError(
            f"{t.name}: row 0 (line 1, the header), column "
            "'throughput/total_tokens': missing (and no _step to derive it)"
        )
    return build_frame(
        t.name, t.n_rows, [(Metric(c, c, _ladder_unit(c)), t.num(c)) for c in metric_cols],
        extras=t.records([c for c in t.columns if c not in metric_cols and c != "_step"]),
        n_params=Size(np.full(t.n_rows, n), "final_config.json n"), n_params_kind="unknown",
        n_tokens=Size(D, d_col), compute=Size(D * fpt, f"{d_col} x FLOP/token"),
        compute_method="D x FLOP/token (final_config.json; > 6ND)", step=step,
        derived=derived, run_key=[name.removesuffix(".csv")] * t.n_rows,
    )  # fmt: skip


def read_bhagia(folder: Path) -> list[Frame]:
    """The 16 ladder runs and the 7B/13B target evaluations, N and FLOP/token from the config."""
    config = _ladder_config(folder)
    frames = []
    runs = sorted(p.name for p in (folder / "runs").glob("*.csv"))
    if not runs:
        raise BadInputError(f"{folder.name}/runs: no CSV files")
    for name in runs:
        if name not in config:
            raise BadInputError(
                f"{folder.name}/runs/{name}: not listed in final_config.json, so N is unknown"
            )
        frames.append(_ladder_file(folder, name, *config[name]))
    return frames


BHAGIA = Adapter(
    name="bhagia2024_olmo_ladder",
    arxiv_id="2412.04403",
    title="Establishing Task Scaling Laws via Compute-Efficient Model Ladders",
    source_repo="https://github.com/allenai/OLMo-ladder",
    source_commit="67a3f440f787d020da35e3ca8eeae475fae754f5",
    source_paths=("src/scripts/paper/data/ladder-runs/", "src/scripts/paper/configs/final.json"),
    license="Apache-2.0",
    caveats=(
        "Evaluations along training of 16 OLMo ladder runs (190M-1.3B, 1-10 x Chinchilla tokens) "
        "and the 7B-4T / 13B-5T targets; metric = the log's column name. CrossEntropyLoss "
        "columns are LM losses (nats/token; the paper's C4 loss is "
        "'eval/c4_en-validation/CrossEntropyLoss'); downstream_bpb are task losses in bits per "
        "byte of the answer (do not pool with LM losses); downstream = accuracy. N from "
        "final_config.json (embedding convention not stated). Compute = D x FLOP/token from "
        "the config (> 6ND); the trainer's logged GFLOPs stay in extras. The paper uses the mean "
        "of each run's last 5 evaluations as its point."
    ),
    default_metric="eval/c4_en-validation/CrossEntropyLoss",
    read=read_bhagia,
    skipped={"reported/*.csv": "the authors' predictions for the 7B/13B targets, not runs"},
)
