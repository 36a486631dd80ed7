"""Adapters of downstream-evaluation tables: OpenCLIP zero-shot results and public-LM benchmarks."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ingest.released.adapter import Adapter
from ingest.released.base import FloatArray, Frame, Metric, Size, Table, build_frame, where
from kb.errors import BadInputError

FRACTION = "fraction"
# Training FLOP ~ 2 FLOP per MAC x 3 (forward + backward) = 6 x forward MACs.
MAC_TO_TRAINING_FLOP = 6.0
CLIP_COMPUTE = "6 x forward MACs (gmacs x 1e9 x samples seen; Cherti et al. count GMACs)"


# -- cherti2023_openclip ----------------------------------------------------------------------
def _lookup(t: Table, key_col: str, keys: list[str | None], table: dict[str, float]) -> FloatArray:
    out = np.full(len(keys), np.nan)
    for i, k in enumerate(keys):
        if k not in table:
            raise BadInputError(
                f"{where(t.name, i + 1, key_col)}: {k!r} is not in the lookup table "
                f"(known: {', '.join(sorted(table))})"
            )
        out[i] = table[k]
    return out


def read_cherti(folder: Path) -> list[Frame]:
    """Zero-shot results (with the paper's error E derived) and ImageNet learning curves."""
    arch = Table(folder, "arch_info.csv", ["model", "gmacs", "mparams"])
    names = [str(m) for m in arch.text("model")]
    mparams = dict(zip(names, arch.num("mparams"), strict=True))
    gmacs = dict(zip(names, arch.num("gmacs"), strict=True))
    info = Table(folder, "trained_models_info.csv", ["name", "arch", "samples_per_epoch"])
    info_arch = dict(zip(info.text("name"), info.text("arch"), strict=True))
    per_epoch = dict(zip(info.text("name"), info.num("samples_per_epoch"), strict=True))

    cols = ["arch", "samples_seen", "gmacs_total", "downstream_dataset", "task", "acc1", "acc5",
            "mean_per_class_recall", "image_retrieval_recall@5", "text_retrieval_recall@5",
            "mean_average_precision", "name", "upstream_dataset"]  # fmt: skip
    z = Table(folder, "zeroshot_results.csv", cols)
    archs = z.text("arch")
    acc1, recall = z.num("acc1"), z.num("image_retrieval_recall@5")
    retrieval = np.array([t == "zeroshot_retrieval" for t in z.text("task")])
    error = np.where(retrieval, 1 - recall, 1 - acc1)
    scores = cols[5:11]
    frames = [
        build_frame(
            z.name, z.n_rows,
            [(Metric("acc1 | image_retrieval_recall@5", "zeroshot_error", FRACTION), error),
             *[(Metric(c, c, FRACTION), z.num(c)) for c in scores]],
            extras=z.records([c for c in z.columns if c not in {"gmacs_total", *scores}]
                             + ["gmacs_total"]),
            n_params=Size(_lookup(z, "arch", archs, mparams) * 1e6, "arch -> arch_info.mparams"),
            n_params_kind="total",
            compute=Size(z.num("gmacs_total") * 1e9 * MAC_TO_TRAINING_FLOP, "gmacs_total"),
            compute_method=CLIP_COMPUTE, derived=["n_params", "compute_flops"],
            run_key=z.text("name"),
        )
    ]  # fmt: skip
    c = Table(
        folder,
        "imagenet_zeroshot_learning_curves.csv",
        ["imagenet-zeroshot-val-top1", "imagenet-zeroshot-val-top5", "name", "epoch"],
    )
    ckpt = c.text("name")
    # Checkpoint -> samples per epoch (raises on an unknown checkpoint) and -> architecture.
    samples = c.num("epoch") * _lookup(c, "name", ckpt, {str(k): v for k, v in per_epoch.items()})
    carch = [info_arch.get(str(n)) for n in ckpt]
    extras = c.records(["name", "epoch"])
    for rec, s, a in zip(extras, samples, carch, strict=True):
        rec["samples_seen"] = float(s)
        rec["arch"] = a
    frames.append(
        build_frame(
            c.name, c.n_rows,
            [(Metric("imagenet-zeroshot-val-top1", "imagenet_top1_curve", FRACTION, True),
              c.num("imagenet-zeroshot-val-top1")),
             (Metric("imagenet-zeroshot-val-top5", "imagenet_top5_curve", FRACTION),
              c.num("imagenet-zeroshot-val-top5"))],
            extras=extras,
            n_params=Size(_lookup(c, "name", carch, mparams) * 1e6, "name -> arch -> mparams"),
            n_params_kind="total",
            compute=Size(samples * _lookup(c, "name", carch, gmacs) * 1e9 * MAC_TO_TRAINING_FLOP,
                         "epoch x samples_per_epoch x gmacs", zero_ok=True),
            compute_method=CLIP_COMPUTE, derived=["n_params", "compute_flops"], run_key=ckpt,
        )
    )  # fmt: skip
    return frames


CHERTI = Adapter(
    name="cherti2023_openclip",
    arxiv_id="2212.07143",
    title="Reproducible scaling laws for contrastive language-image learning",
    source_repo="https://github.com/LAION-AI/scaling-laws-openclip",
    source_commit="652b1e7471f7ccf372277f67cb680de5c9fa139d",
    source_paths=(
        "zeroshot_results.csv",
        "trained_models_info.csv",
        "arch_info.csv",
        "imagenet_zeroshot_learning_curves.csv",
    ),
    license="none stated (no license file)",
    caveats=(
        "32 CLIP models x 41 downstream datasets (3 OpenAI CLIP models trained on private WIT; "
        "the paper fits them separately). 'zeroshot_error' is the paper's E, derived: "
        "1 - acc1 for classification, 1 - image_retrieval_recall@5 for retrieval. Compute: the "
        "paper counts forward GMACs per sample x samples seen (gmacs_total, kept in extras); "
        "compute_flops = 6 x that x 1e9, an approximation of training FLOP, not comparable with "
        "LM 6ND. n_params is both towers (arch_info.mparams). Data size is in image-text "
        "samples (samples_seen in extras), not tokens, so n_tokens is empty. Learning curves: "
        "samples_seen = epoch x samples_per_epoch (trained_models_info.csv)."
    ),
    default_metric="zeroshot_error",
    read=read_cherti,
    skipped={
        "arch_info.csv, trained_models_info.csv": "lookup tables (N, GMACs, samples per epoch)"
    },
)


# -- ruan2024_obsscaling ----------------------------------------------------------------------
_RUAN_SIZES = ["Model Size (B)", "Pretraining Data Size (T)", "FLOPs (1E21)"]
_RUAN_BENCH = ["MMLU", "ARC-C", "HellaSwag", "Winograd", "TruthfulQA", "GSM8K", "XWinograd",
               "HumanEval"]  # fmt: skip


def _ruan_unit(prefix: str, column: str) -> str:
    if column.endswith("_bleu"):
        return "BLEU"
    if prefix == "agent/":
        return "score (0-100)"
    return FRACTION


def _ruan_table(
    folder: Path, name: str, prefix: str, sizes: dict[str, tuple[float, float, float]] | None
) -> Frame:
    t = Table(folder, name, ["Model"])
    models = t.text("Model")
    if sizes is None:
        t.require(_RUAN_SIZES)
        N, D, C = (t.num(c) for c in _RUAN_SIZES)
        cols_used = {"Model", "Model Family", *_RUAN_SIZES}
        derived: list[str] = []
    else:
        nan3 = (np.nan, np.nan, np.nan)
        joined = [sizes.get(str(m), nan3) for m in models]
        N, D, C = (np.array([j[k] for j in joined]) for k in range(3))
        cols_used = {"Model"}
        derived = ["n_params", "n_tokens", "compute_flops"]
    metric_cols = [c for c in t.columns if c not in cols_used and c.strip()]
    return build_frame(
        t.name, t.n_rows,
        [(Metric(c, f"{prefix}{c}", _ruan_unit(prefix, c)), t.num(c)) for c in metric_cols],
        extras=t.records([c for c in t.columns if c in {"Model", "Model Family"}]),
        n_params=Size(N * 1e9, "Model Size (B)", required=False), n_params_kind="total",
        n_tokens=Size(D * 1e12, "Pretraining Data Size (T)", required=False),
        compute=Size(C * 1e21, "FLOPs (1E21)", required=False),
        compute_method="6ND (as reported)", derived=derived, run_key=models,
    )  # fmt: skip


def read_ruan(folder: Path) -> list[Frame]:
    """The 148-model base table, plus the other tables with N, D, C joined by model id."""
    base = _ruan_table(folder, "base_llm_benchmark_eval.csv", "", None)
    t = Table(folder, "base_llm_benchmark_eval.csv", ["Model", *_RUAN_SIZES])
    sizes = {
        str(m): (n, d, c)
        for m, n, d, c in zip(t.text("Model"), *(t.num(x) for x in _RUAN_SIZES), strict=True)
    }
    return [
        base,
        _ruan_table(folder, "base_llm_emergent_capability_eval.csv", "emergent/", sizes),
        _ruan_table(folder, "base_llm_leaderboard_v2_eval.csv", "leaderboard_v2/", sizes),
        _ruan_table(folder, "base_llm_post_training_eval.csv", "post_training/", sizes),
        _ruan_table(folder, "instruct_llm_benchmark_eval.csv", "instruct/", None),
        _ruan_table(folder, "instruct_llm_agent_eval.csv", "agent/", {}),
    ]


RUAN = Adapter(
    name="ruan2024_obsscaling",
    arxiv_id="2405.10938",
    title=("Observational Scaling Laws and the Predictability of Language Model Performance"),
    source_repo="https://github.com/ryoungj/ObsScaling",
    source_commit="4d6e1e43fd2635d04654aa77d1df9d5266ea0382",
    source_paths=tuple(
        f"eval_results/{f}"
        for f in (
            "base_llm_benchmark_eval.csv",
            "base_llm_emergent_capability_eval.csv",
            "base_llm_leaderboard_v2_eval.csv",
            "base_llm_post_training_eval.csv",
            "instruct_llm_benchmark_eval.csv",
            "instruct_llm_agent_eval.csv",
        )
    ),
    license="Apache-2.0",
    caveats=(
        "Observational data on heterogeneous public models, no controlled scaling; N, D, FLOPs "
        "(= 6ND) from model cards, empty where unknown. Main table: 8 benchmark accuracies "
        "(fractions; Winograd holds Winogrande). Other tables' metrics are prefixed "
        "(emergent/, leaderboard_v2/, post_training/ (some are differences, can be negative), "
        "instruct/ (Arena-Elo and MTBench rescaled to 0-1), agent/ (0-100 scores)); base-model "
        "tables get N, D, C joined from the main table by Model (listed in derived). The paper "
        "regresses a sigmoid of a metric on principal components of the 8 base benchmarks."
    ),
    default_metric="MMLU",
    read=read_ruan,
    skipped={"base_llm_benchmark_eval_sub_10b.csv": "a subset (models < 10B) of the main table"},
)
