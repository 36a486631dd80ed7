"""Adapters of the data-constrained (Muennighoff et al.) and over-training (Gadre et al.) data."""

from __future__ import annotations

import ast
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

from ingest.released.adapter import Adapter
from ingest.released.base import Frame, Metric, Size, Table, build_frame, where
from kb.errors import BadInputError

NATS = "nats/token"


# -- muennighoff2023_datablations -------------------------------------------------------------
def _tensorboard_id(t: Table) -> list[str | None]:
    """The run's TensorBoard id from the dict text in ``model_args`` (the run key)."""
    out: list[str | None] = []
    for i, text in enumerate(t.text("model_args"), start=1):
        try:
            value: Any = ast.literal_eval(text) if text else None
        except (ValueError, SyntaxError) as err:
            raise BadInputError(
                f"{where(t.name, i, 'model_args')}: {text!r} is not a dict literal"
            ) from err
        out.append(str(value.get("tensorboard")) if isinstance(value, dict) else None)
    return out


def _curves(folder: Path, name: str, metric_of: Any, extra_drop: set[str]) -> Frame:
    cols = ["data", "epochs", "token_num", "loss", "num_params", "model_args", "flops"]
    t = Table(folder, name, cols)
    N = t.count("num_params")
    D = t.num("token_num")
    loss = t.num("loss")
    metrics = metric_of(t)
    values = [(m, np.where(mask, loss, np.nan)) for m, mask in metrics]
    for i in np.flatnonzero(np.isnan(loss)):
        raise BadInputError(f"{where(t.name, int(i) + 1, 'loss')}: value is empty or NaN")
    runs = _tensorboard_id(t)
    # In the code-mix file one run logs two losses (Seed 1 = C4, 2 = code): keep them apart.
    seeds = t.text("Seed") if "Seed" in t.columns else None
    keys = runs if seeds is None else [f"{r}|Seed={s}" for r, s in zip(runs, seeds, strict=True)]
    return build_frame(
        t.name, t.n_rows, values,
        extras=t.records(_rest(t, {"loss", "token_num", *extra_drop})),
        n_params=Size(N, "num_params"), n_params_kind="unknown",
        n_tokens=Size(D, "token_num"),
        # The file's own 'flops' decreases along a run (see MANIFEST): recompute 6ND.
        compute=Size(6 * N * D, "6 * num_params * token_num"), compute_method="6ND (recomputed)",
        derived=["n_params", "compute_flops"],
        run_key=keys,
    )  # fmt: skip


def _rest(table: Table, used: set[str]) -> list[str]:
    return [c for c in table.columns if c not in used]


def _repetition_metric(t: Table) -> list[tuple[Metric, NDArray[np.bool_]]]:
    return [(Metric("loss", "curve_loss", NATS, required=True), np.ones(t.n_rows, bool))]


def _code_mix_metrics(t: Table) -> list[tuple[Metric, NDArray[np.bool_]]]:
    seed = t.num("Seed")
    bad = ~np.isin(seed, [1.0, 2.0])
    if bad.any():
        i = int(np.argmax(bad))
        raise BadInputError(
            f"{where(t.name, i + 1, 'Seed')}: {float(seed[i]):g}; expected 1 (C4 loss) or 2 "
            "(code loss)"
        )
    return [
        (Metric("loss", "code_mix_c4_val_loss", NATS), seed == 1),
        (Metric("loss", "code_mix_code_val_loss", NATS), seed == 2),
    ]


def read_datablations(folder: Path) -> list[Frame]:
    """Final validation losses, repetition curves and code-mix curves."""
    final_cols = ["run_id", "run_name", "n_params", "n_tokens", "unique_tokens", "epochs",
                  "val_loss"]  # fmt: skip
    t = Table(folder, "final_val_losses.csv", final_cols)
    final = build_frame(
        t.name, t.n_rows, [(Metric("val_loss", "val_loss", NATS, required=True),
                            t.num("val_loss"))],
        extras=t.records(["run_id", "run_name", "unique_tokens", "epochs"]),
        n_params=Size(t.num("n_params"), "n_params"), n_params_kind="unknown",
        n_tokens=Size(t.num("n_tokens"), "n_tokens"),
        compute=Size(6 * t.num("n_params") * t.num("n_tokens"), "6 * n_params * n_tokens"),
        compute_method="6ND", derived=["compute_flops"], run_key=t.text("run_id"),
    )  # fmt: skip
    return [
        final,
        _curves(folder, "training_curves_repetition.csv", _repetition_metric, set()),
        _curves(folder, "training_curves_code_mix.csv", _code_mix_metrics, set()),
    ]


DATABLATIONS = Adapter(
    name="muennighoff2023_datablations",
    arxiv_id="2305.16264",
    title="Scaling Data-Constrained Language Models",
    source_repo="https://github.com/huggingface/datablations",
    source_commit="13701315b163f1c54642b94ad237b2699187c3ee",
    source_paths=(
        "utils/parametric_fit.ipynb (cell 1, NAMES_TO_VAL_LOSSES)",
        "IBM/ColPret@16f23bbe054277ddc4afd07a972dd7cfbe3f48c3: "
        "aggregated_eval/datablations_losses.csv",
        "IBM/ColPret@16f23bbe054277ddc4afd07a972dd7cfbe3f48c3: "
        "aggregated_eval/datablations_code_losses.csv",
    ),
    license="Apache-2.0 (huggingface/datablations); MIT (IBM/ColPret, for the curves)",
    caveats=(
        "'val_loss': final C4 validation loss of 296 runs (a superset of the 182 the paper "
        "fitted, so an exact refit differs); unique_tokens (U_D) and epochs in extras; runs on "
        "100M unique tokens at many epochs diverged (losses 10-11). 'curve_loss': logged loss "
        "of 48 repetition runs (split not stated, most likely validation); n_params parsed from "
        "text ('2.8B'), compute recomputed as 6ND because the file's 'flops' is unreliable. "
        "Code-mix runs (4.2B, 84B tokens; 'epochs' there is the percent of code): "
        "'code_mix_c4_val_loss' (Seed=1) and 'code_mix_code_val_loss' (Seed=2). "
        "N as the paper reports model sizes (embedding convention not stated)."
    ),
    default_metric="val_loss",
    read=read_datablations,
)


# -- gadre2024_overtraining -------------------------------------------------------------------
_GADRE_SETS = (
    "openlm", "c4_val", "paloma_c4_en", "paloma_falcon-refinedweb", "paloma_redpajama",
    "paloma_ptb", "paloma_dolma_100_programing_languages", "val_de-en_100",
)  # fmt: skip


def read_gadre(folder: Path) -> list[Frame]:
    """One flat row per model: 8 eval losses (with 95% bounds) and 46 downstream errors."""
    base = ["name", "n_params", "n_params_no_embed", "n_tokens", "compute_flops_6ND"]
    losses = [f"loss_{s}" for s in _GADRE_SETS]
    t = Table(folder, "models_tidy.csv", [*base, *losses])
    errs = [c for c in t.columns if c.startswith("err_")]
    if not errs:
        raise BadInputError(f"{t.name}: row 0 (line 1, the header): no err_<task> columns")
    metrics = [(Metric(c, c, NATS, required=True), t.num(c)) for c in losses]
    metrics += [(Metric(c, c, "fraction (1 - accuracy)"), t.num(c)) for c in errs]
    per_loss = {c: [f"{c}_lo95", f"{c}_hi95", f"{c}_eval_tokens"] for c in losses}
    metric_extras = {c: t.records(cols) for c, cols in per_loss.items()}
    used = {"n_params", "n_tokens", "compute_flops_6ND", *losses, *errs}
    used |= {x for cols in per_loss.values() for x in cols}
    return [
        build_frame(
            t.name, t.n_rows, metrics, extras=t.records(_rest(t, used)),
            metric_extras=metric_extras,
            n_params=Size(t.num("n_params"), "n_params"), n_params_kind="total",
            n_tokens=Size(t.num("n_tokens"), "n_tokens"),
            compute=Size(t.num("compute_flops_6ND"), "compute_flops_6ND"),
            compute_method="6ND (N with embeddings)", run_key=t.text("name"),
        )
    ]  # fmt: skip


GADRE = Adapter(
    name="gadre2024_overtraining",
    arxiv_id="2403.08540",
    title="Language models scale reliably with over-training and on downstream tasks",
    source_repo="https://github.com/mlfoundations/scaling",
    source_commit="a003c4913793ac2ae7ef87b28ecb562955d026d5",
    source_paths=(
        "exp_data/models/*.json",
        "exp_data/evals/evaluation_*_heavy.json",
        "exp_data/eval_metadata.csv",
        "exp_data/grid.json",
    ),
    license="MIT",
    caveats=(
        "104 OpenLM models (C4, RedPajama, RefinedWeb; 11M-6.9B; M = 5-640 tokens/param). "
        "Metrics 'loss_<set>' (final cross-entropy on 8 eval sets; 'loss_c4_val' is the paper's "
        "default; 95% bounds and eval tokens in extras) and 'err_<task>' (1 - accuracy on 46 "
        "downstream tasks, plus err_avg46 and err_avg17; not comparable across tasks with "
        "different chance levels). N includes embeddings; C = 6ND with that N. The paper fits "
        "the loss law on 5 small runs; other rows are held-out targets or extra points."
    ),
    default_metric="loss_c4_val",
    read=read_gadre,
    skipped={
        "models/*.json, evals/*.json": "same numbers as models_tidy.csv (built from them)",
        "eval_metadata.csv": "per-task metadata (shots, chance level), not measurements",
        "hparam_grid.json": "final losses keyed by run descriptor; eval set undocumented",
    },
)
