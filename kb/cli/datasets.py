"""``kb datasets``, ``kb points`` and ``kb ingest-datasets``."""

from __future__ import annotations

from pathlib import Path

import click

from ingest.released import find_dataset_folders, ingest_datasets
from kb.cli._common import (
    cli,
    db_option,
    emit_json,
    emit_table,
    json_option,
    progress_bar,
    reading,
    writing,
)
from kb.datasets import default_metric, list_datasets, metric_counts, points
from kb.errors import BadInputError


@cli.command("datasets")
@db_option
@json_option
def datasets_cmd(db_path: str, as_json: bool) -> None:
    """List the released datasets: paper, point count, default metric and metrics.

    Example:  kb datasets --json
    """
    with reading(db_path) as store:
        rows = []
        for d in list_datasets(store):
            counts = metric_counts(store, d.name)
            row = d.model_dump(mode="json")
            row["rows"] = d.n_points
            row["default_metric"] = default_metric(store, d.name) if counts else None
            row["metrics"] = counts
            rows.append(row)
    if as_json:
        emit_json(rows)
    else:
        for row in rows:
            row["paper"] = f"arXiv:{row['arxiv_id']} {row['paper_title']}"
            row["n_metrics"] = len(row["metrics"])
        cols = ["name", "rows", "n_metrics", "default_metric", "paper"]
        emit_table(rows, cols, {"paper": 60, "default_metric": 40})


@cli.command("points")
@click.argument("dataset")
@click.option("--metric", default=None, help="Metric name (default: the dataset's; '*' = all).")
@click.option("--limit", type=click.IntRange(min=1), default=None, help="At most this many.")
@db_option
@json_option
def points_cmd(
    db_path: str, as_json: bool, dataset: str, metric: str | None, limit: int | None
) -> None:
    """Print the points of DATASET (one metric; default: the metric laws are fitted to).

    Example:  kb points epoch_chinchilla --json --limit 5
    """
    with reading(db_path) as store:
        rows = points(store, dataset, metric=metric, limit=limit)
    if as_json:
        emit_json(rows)
    else:
        cols = ["run_key", "n_params", "n_tokens", "compute_flops", "step", "metric", "value",
                "unit", "source_row"]  # fmt: skip
        emit_table([r.model_dump() for r in rows], cols, {"run_key": 30, "metric": 40})


@cli.command("ingest-datasets")
@click.argument("paths", nargs=-1, required=True, type=click.Path(exists=True))
@db_option
def ingest_datasets_cmd(db_path: str, paths: tuple[str, ...]) -> None:
    """Ingest released dataset folders (those holding a MANIFEST.md) into the knowledge base.

    Unchanged folders are skipped; a bad file aborts the whole run and leaves the store as it
    was. (Temporary: `kb ingest` will take dataset folders too.)

    Example:  kb ingest-datasets ../shared/datasets
    """
    folders = [f for p in paths for f in find_dataset_folders(Path(p))]
    if not folders:
        raise BadInputError(f"no dataset folder (with a MANIFEST.md) in {', '.join(paths)}")
    with writing(db_path) as store, progress_bar("datasets") as bar, store.transaction():
        report = ingest_datasets(store, folders, on_progress=bar)
    click.echo(
        f"{len(report.ingested)} datasets ingested ({report.n_points} points), "
        f"{len(report.unchanged)} unchanged, in {report.seconds:.1f} s",
        err=True,
    )
    emit_json([{"dataset": name, "points": n} for name, n in report.ingested.items()])
