"""``kb datasets`` and ``kb points``."""

from __future__ import annotations

import click

from kb.cli._common import (
    cli,
    db_option,
    emit_json,
    emit_table,
    json_option,
    no_results,
    reading,
)
from kb.datasets import default_metric, list_datasets, metric_counts, points


@cli.command("datasets")
@db_option
@json_option
def datasets_cmd(db_path: str, as_json: bool) -> None:
    """List the released datasets: paper, point count, default metric and metrics.

    rows counts the points of every metric; default_points those of the default metric, which
    `kb fit` and `kb points` read unless given --metric.

    Example:  kb datasets --json
    """
    with reading(db_path) as store:
        rows = []
        for d in list_datasets(store):
            counts = metric_counts(store, d.name)
            row = d.model_dump(mode="json")
            row["rows"] = d.n_points
            row["default_metric"] = default_metric(store, d.name) if counts else None
            # rows count every metric (Bhagia et al.: 143,949 over 111 metrics); a fit reads
            # the default metric's points (1,579 there)
            row["default_points"] = counts.get(row["default_metric"], 0) if counts else 0
            row["metrics"] = counts
            rows.append(row)
    if not rows:
        no_results(
            "no released datasets in this knowledge base; ingest their folders (each with a "
            f"MANIFEST.md): `kb ingest ../shared/datasets --db {db_path}`"
        )
    if as_json:
        emit_json(rows)
    else:
        for row in rows:
            row["paper"] = f"arXiv:{row['arxiv_id']} {row['paper_title']}"
            row["n_metrics"] = len(row["metrics"])
        cols = ["name", "rows", "n_metrics", "default_metric", "default_points", "paper"]
        emit_table(rows, cols, {"paper": 60, "default_metric": 40})


@cli.command("points")
@click.argument("dataset")
@click.option("--metric", default=None,
              help="Metric name (default: the dataset's; '*' = all; `kb datasets --json` "
              "lists each dataset's metrics).")  # fmt: skip
@click.option("--limit", type=click.IntRange(min=1), default=None, help="At most this many.")
@db_option
@json_option
def points_cmd(
    db_path: str, as_json: bool, dataset: str, metric: str | None, limit: int | None
) -> None:
    """Print the points of DATASET (one metric; default: the metric laws are fitted to).

    DATASET is a name `kb datasets` lists (not a folder).

    Example:  kb points epoch_chinchilla --json --limit 5
    """
    with reading(db_path) as store:
        rows = points(store, dataset, metric=metric, limit=limit)
    if not rows:
        no_results(f"dataset {dataset} has no points" + (f" of metric {metric}" if metric else ""))
    if as_json:
        emit_json(rows)
    else:
        cols = ["run_key", "n_params", "n_tokens", "compute_flops", "step", "metric", "value",
                "unit", "source_row"]  # fmt: skip
        emit_table([r.model_dump() for r in rows], cols, {"run_key": 30, "metric": 40})
