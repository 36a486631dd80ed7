"""Adapters of language-model training-run datasets with explicit N, D and C columns.

Each reader follows its folder's MANIFEST.md: what a row is, each column's unit, and which
quantities the paper derives (e.g. D = C / 6N for the Chinchilla figure data).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ingest.released.adapter import Adapter
from ingest.released.base import Frame, Metric, Size, Table, build_frame, where
from kb.errors import BadInputError

NATS = "nats/token"


def _rest(table: Table, used: set[str]) -> list[str]:
    return [c for c in table.columns if c not in used]


# -- epoch_chinchilla -------------------------------------------------------------------------
def read_epoch_chinchilla(folder: Path) -> list[Frame]:
    """Hoffmann et al.'s Figure 4 runs; D = C / (6N) is derived, as Epoch does."""
    cols = ["Model Size", "Training FLOP", "loss"]
    t = Table(folder, "svg_extracted_data.csv", cols)
    N, C = t.num("Model Size"), t.num("Training FLOP")
    n_params = Size(N, "Model Size")
    compute = Size(C, "Training FLOP")
    # Check N and C before dividing so that a bad size is named by its own column.
    build_frame(t.name, t.n_rows, [], extras=[{}] * t.n_rows, n_params=n_params, compute=compute)
    return [
        build_frame(
            t.name, t.n_rows, [(Metric("loss", "loss", NATS, required=True), t.num("loss"))],
            extras=t.records(_rest(t, set(cols))),
            n_params=n_params, n_params_kind="total",
            n_tokens=Size(C / (6 * N), "Training FLOP / (6 * Model Size)"),
            compute=compute, compute_method="read from figure (Hoffmann et al. Fig. 4)",
            derived=["n_tokens"], run_key=[f"row{i}" for i in range(1, t.n_rows + 1)],
        )
    ]  # fmt: skip


EPOCH_CHINCHILLA = Adapter(
    name="epoch_chinchilla",
    arxiv_id="2404.10102",
    title="Chinchilla Scaling: A replication attempt",
    source_repo="https://github.com/epoch-research/analyzing-chinchilla",
    source_commit="92258837425e1b5f2851d624287f0120583a3d0e",
    source_paths=("data/svg_extracted_data.csv",),
    license="none stated (no license file; all rights reserved by the authors)",
    caveats=(
        "Points reconstructed from the SVG of Hoffmann et al. (arXiv:2203.15556) Figure 4, not "
        "logged values: axis calibration and colour-bar quantisation limit precision. D is not "
        "given; it is derived as C/(6N). N is believed to include embeddings. Epoch's headline "
        "fit drops the five highest-loss points. Loss is final training loss on MassiveText."
    ),
    default_metric="loss",
    read=read_epoch_chinchilla,
)


# -- caballero2022_bnsl -----------------------------------------------------------------------
def read_caballero(folder: Path) -> list[Frame]:
    """17 (training-set size, test cross-entropy) points; the size is in examples, not tokens."""
    cols = ["train_set_size", "test_cross_entropy", "split"]
    t = Table(folder, "four_digit_addition.csv", cols)
    size = t.num("train_set_size")
    bad = np.isnan(size) | (size <= 0)
    if bad.any():
        i = int(np.argmax(bad))
        raise BadInputError(
            f"{where(t.name, i + 1, 'train_set_size')}: is {float(size[i]):g}; expected a "
            "positive number of training examples"
        )
    return [
        build_frame(
            t.name, t.n_rows,
            [(Metric("test_cross_entropy", "test_cross_entropy", "nats", required=True),
              t.num("test_cross_entropy"))],
            extras=t.records(["train_set_size", "split"]),
            run_key=[f"size{int(s)}" for s in size],
        )
    ]  # fmt: skip


CABALLERO = Adapter(
    name="caballero2022_bnsl",
    arxiv_id="2210.14891",
    title="Broken Neural Scaling Laws",
    source_repo="https://github.com/ethancaballero/broken_neural_scaling_laws",
    source_commit="ffa608f7ca7910b6f6bcbd39915491353ad5d600",
    source_paths=("fit_bnsl_and_extrapolate__4_digit_addition__dataset_size_x-axis.py",),
    license="none stated (no license file)",
    caveats=(
        "17 numbers hard-coded in the repo's script (Figure 4 left), transcribed. The x axis is "
        "the training-set size in examples (extras 'train_set_size'), not tokens, so n_tokens is "
        "empty. 'split' = fit for the first 14 points, extrapolate for the last 3. Loss averaging, "
        "architecture and seeds are not stated in the repo."
    ),
    default_metric="test_cross_entropy",
    read=read_caballero,
)


# -- li2025_misfitting ------------------------------------------------------------------------
_MISFIT_COLS = ["loss", "N", "N_no_emb", "D", "C", "model", "peak_lr", "train_tokens", "sweep"]


def _read_misfit(folder: Path, name: str, metric: str) -> Frame:
    t = Table(folder, name, [*_MISFIT_COLS, "current_steps"])
    keys = [
        f"{m}|{int(tok) if tok == tok else tok}|lr{lr}|{s}"
        for m, tok, lr, s in zip(
            t.text("model"), t.num("train_tokens"), t.num("peak_lr"), t.text("sweep"), strict=True
        )
    ]
    return build_frame(
        t.name, t.n_rows, [(Metric("loss", metric, NATS, required=True), t.num("loss"))],
        extras=t.records(_rest(t, {"loss", "N", "D", "C", "current_steps"})),
        n_params=Size(t.num("N"), "N"), n_params_kind="total",
        n_tokens=Size(t.num("D"), "D"),
        compute=Size(t.num("C"), "C"), compute_method="authors' C (= 6ND within 1e-9)",
        step=t.num("current_steps"), run_key=keys,
    )  # fmt: skip


def read_misfitting(folder: Path) -> list[Frame]:
    """All checkpoints (``c4_val_loss``) and final checkpoints (``c4_val_loss_final``)."""
    return [
        _read_misfit(folder, "scaling_results.csv", "c4_val_loss"),
        _read_misfit(folder, "scaling_results_last_ckpt_only.csv", "c4_val_loss_final"),
    ]


MISFITTING = Adapter(
    name="li2025_misfitting",
    arxiv_id="2502.18969",
    title="(Mis)Fitting: A Survey of Scaling Laws",
    source_repo="https://github.com/hadasah/scaling_laws",
    source_commit="1f3708c0a12df0effb0ee906b1da5f9f0ff4f4f1",
    source_paths=("data/scaling_results.csv", "data/scaling_results_last_ckpt_only.csv"),
    license="none stated (no license file)",
    caveats=(
        "C4 validation loss of OpenLM runs (11 sizes, 12M-1B). 'c4_val_loss' holds every "
        "checkpoint, whose cosine schedule was set for the full train_tokens (not equivalent to "
        "fully trained runs of length D); 'c4_val_loss_final' the last checkpoint of each run. "
        "N counts embeddings (N_no_emb and C_no_emb are in extras). Several runs share "
        "(N, train_tokens) but differ in peak_lr (part of run_key): select rows deliberately."
    ),
    default_metric="c4_val_loss_final",
    read=read_misfitting,
)


# -- li2025_steplaw ---------------------------------------------------------------------------
def _steplaw_runs(folder: Path, name: str, prefix: str, kind: str) -> Frame:
    cols = ["lr", "bs", "ti", "loss", "smooth loss", "exp_name", "D", "N"]
    t = Table(folder, name, cols)
    used = {"loss", "smooth loss", "D", "N", "ti"}
    return build_frame(
        t.name, t.n_rows,
        [(Metric("smooth loss", f"{prefix}smooth_train_loss", NATS, required=True),
          t.num("smooth loss")),
         (Metric("loss", f"{prefix}train_loss", NATS, required=True), t.num("loss"))],
        extras=t.records(_rest(t, used)),
        n_params=Size(t.num("N"), "N"), n_params_kind=kind,
        n_tokens=Size(t.num("D"), "D"), step=t.num("ti"), run_key=t.text("exp_name"),
    )  # fmt: skip


def read_steplaw(folder: Path) -> list[Frame]:
    """Dense and MoE (lr, bs) grid runs, and the authors' 1,000 bootstrap fits."""
    boot = Table(
        folder, "1004_fitted_lr_bs_scaling_model_parameters.csv",
        ["lr_intercept", "lr_coefN", "lr_coefD", "bs_intercept", "bs_coefD"],
    )  # fmt: skip
    return [
        _steplaw_runs(folder, "dense_lr_bs_loss.csv", "", "non_embedding"),
        _steplaw_runs(folder, "moe_lr_bs_loss.csv", "moe_", "total"),
        build_frame(
            boot.name, boot.n_rows,
            [(Metric(c, f"bootstrap_{c}", "1", required=True), boot.num(c)) for c in boot.columns],
            extras=[{} for _ in range(boot.n_rows)],
            run_key=[f"bootstrap{i}" for i in range(1, boot.n_rows + 1)],
        ),
    ]  # fmt: skip


STEPLAW = Adapter(
    name="li2025_steplaw",
    arxiv_id="2503.04715",
    title=(
        "Predictable Scale: Part I -- Optimal Hyperparameter Scaling Law in Large Language "
        "Model Pretraining"
    ),
    source_repo="https://github.com/step-law/steplaw",
    source_commit="32a8f4cc50247695fb56cc6c9117abdf67c97763",
    source_paths=(
        "data/dense_lr_bs_loss.csv",
        "data/moe_lr_bs_loss.csv",
        "data/1004_fitted_lr_bs_scaling_model_parameters.csv",
    ),
    license="none stated (no license file)",
    caveats=(
        "Final (smoothed) TRAINING loss over (lr, bs) grids at 17 dense (N, D) cells; the target "
        "for hyperparameter optima, not for an L(N, D) law (each cell's minimum gives one L(N, D) "
        "point). Dense N is non-embedding (4h^2 l + 3 h ffnh l); MoE metrics are prefixed 'moe_' "
        "and use total N (activated Na in extras). bs is in sequences of 2048 tokens; step = ti. "
        "'bootstrap_*' points are the authors' 1,000 bootstrap fits of lr = exp(i) N^a D^b and "
        "bs = exp(i) D^c (dimensionless coefficients, not measurements)."
    ),
    default_metric="smooth_train_loss",
    read=read_steplaw,
)


# -- porian2024_discrepancies -----------------------------------------------------------------
_SETTING = ["dataset", "hparams", "warmup", "decay", "param_count", "loss_split", "setting"]
_PORIAN_KIND = {
    "kaplan": ("non_embedding", "6 * N_nonembed * D (Kaplan counting)"),
    "standard": ("non_embedding_plus_head", "6 * N * D, N with the output layer"),
    "attention": ("effective", "6 * N_eff * D, attention FLOPs included"),
}


def _porian_kinds(t: Table) -> tuple[list[str | None], list[str | None]]:
    kinds: list[str | None] = []
    methods: list[str | None] = []
    for i, pc in enumerate(t.text("param_count"), start=1):
        if pc not in _PORIAN_KIND:
            raise BadInputError(
                f"{t.name}: row {i} (line {i + 1}), column 'param_count': {pc!r} is not one of "
                f"{', '.join(_PORIAN_KIND)}"
            )
        kinds.append(_PORIAN_KIND[pc][0])
        methods.append(_PORIAN_KIND[pc][1])
    return kinds, methods


def read_porian(folder: Path) -> list[Frame]:
    """IsoFLOP points (loss at budget C for each N) and the per-budget optima, per setting."""
    pts = Table(folder, "isoflop_points.csv", [*_SETTING, "compute_flops", "n_params",
                                                "n_tokens", "loss"])  # fmt: skip
    opt = Table(folder, "isoflop_optima.csv", [*_SETTING, "compute_flops", "n_opt",
                                               "n_tokens_opt", "loss_opt"])  # fmt: skip
    pk, pm = _porian_kinds(pts)
    ok, om = _porian_kinds(opt)
    setting_keys = [
        "|".join(str(v) for v in vals)
        for vals in zip(*(pts.text(c) for c in _SETTING[:-1]), strict=True)
    ]
    opt_keys = [
        "|".join(str(v) for v in vals)
        for vals in zip(*(opt.text(c) for c in _SETTING[:-1]), strict=True)
    ]
    C = opt.num("compute_flops")
    return [
        build_frame(
            pts.name, pts.n_rows,
            [(Metric("loss", "isoflop_loss", NATS, required=True), pts.num("loss"))],
            extras=pts.records(_rest(pts, {"compute_flops", "n_params", "n_tokens", "loss"})),
            n_params=Size(pts.num("n_params"), "n_params"), n_params_kind=pk,
            n_tokens=Size(pts.num("n_tokens"), "n_tokens"),
            compute=Size(pts.num("compute_flops"), "compute_flops"), compute_method=pm,
            run_key=[f"{k}|C={c:g}" for k, c in zip(setting_keys, pts.num("compute_flops"),
                                                      strict=True)],
        ),
        build_frame(
            opt.name, opt.n_rows,
            [(Metric("n_opt", "n_opt", "parameters"), opt.num("n_opt")),
             (Metric("n_tokens_opt", "n_tokens_opt", "tokens"), opt.num("n_tokens_opt")),
             (Metric("loss_opt", "loss_opt", NATS), opt.num("loss_opt"))],
            extras=opt.records(_rest(opt, {"compute_flops", "n_opt", "n_tokens_opt",
                                           "loss_opt"})),
            n_params_kind=ok,
            compute=Size(C, "compute_flops"), compute_method=om,
            run_key=[f"{k}|C={c:g}" for k, c in zip(opt_keys, C, strict=True)],
        ),
    ]  # fmt: skip


PORIAN = Adapter(
    name="porian2024_discrepancies",
    arxiv_id="2406.19146",
    title="Resolving Discrepancies in Compute-Optimal Scaling of Language Models",
    source_repo="https://github.com/formll/resolving-scaling-law-discrepancies",
    source_commit="0dc60d91b8a525858a3067fc9e4a46ff5374cc6f",
    source_paths=(
        "data/summary_df.pickle.xz",
        "data/summary_df_owt2.pickle.xz",
        "data/summary_df_att.pickle.xz",
        "data/summary_df_kaplan_tuned_hparams.pickle.xz",
    ),
    license="MIT-style permission notice (LICENSE)",
    caveats=(
        "Processed points the paper's fits consume (CSV exports of the authors' summary "
        "pickles), not raw curves. 15 settings (extras: dataset, hparams, warmup, decay, "
        "param_count, loss_split, setting): never pool settings, N depends on param_count "
        "(n_params_kind says which). 'isoflop_loss' is interpolated at budget C, smoothed "
        "training loss in 'train' settings. 'n_opt', 'n_tokens_opt', 'loss_opt' are the "
        "per-budget optima (bootstrap medians; std in extras); empty at the grid edge."
    ),
    default_metric="n_opt",
    read=read_porian,
)
