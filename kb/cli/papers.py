"""``kb papers`` and ``kb stats``."""

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
from kb.query import list_papers, stats


@cli.command("papers")
@click.option("--limit", type=click.IntRange(min=1), default=None, help="At most this many.")
@db_option
@json_option
def papers_cmd(db_path: str, as_json: bool, limit: int | None) -> None:
    """List the papers in the knowledge base, ordered by title.

    Example:  kb papers --json | head -3
    """
    with reading(db_path) as store:
        rows = list_papers(store, limit=limit)
    if not rows:
        no_results(
            f"no papers in this knowledge base; build it with `kb ingest ../shared/seeds "
            f"--db {db_path}`"
        )
    if as_json:
        emit_json(rows)
    else:
        for row in rows:
            row["seen"] = len(row["appearances"])
        emit_table(rows, ["paper_id", "published", "seen", "title"], {"title": 80})


@cli.command("stats")
@db_option
@json_option
def stats_cmd(db_path: str, as_json: bool) -> None:
    """Count listing entries, distinct papers and the rows of every table.

    Example:  kb stats --db data/kb.duckdb
    """
    with reading(db_path) as store:
        counts = stats(store)
    if as_json:
        emit_json([counts])
    else:
        width = max(len(k) for k in counts)
        for key, value in counts.items():
            click.echo(f"{key.ljust(width)}  {value}")
