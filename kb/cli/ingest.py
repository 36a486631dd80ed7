"""``kb ingest``: read listings and paper metadata files into the knowledge base."""

from __future__ import annotations

import click

from ingest.formats import FORMATS
from kb.cli._common import cli, db_option, emit_json, json_option, staged_progress_bars, writing

STAGE_LABELS = {
    "listings": "Reading listings",
    "datasets": "Reading datasets",
    "claims": "Extracting claims",
}


@cli.command("ingest")
@click.argument("paths", nargs=-1, required=True, type=click.Path(exists=True))
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["auto", *FORMATS]),
    default="auto",
    show_default=True,
    help="Read every file as this format instead of detecting it.",
)
@click.option(
    "--no-extract",
    is_flag=True,
    help="Skip claim extraction (for bulk imports; run `kb extract` afterwards).",
)
@db_option
@json_option
def ingest_cmd(
    paths: tuple[str, ...], fmt: str, no_extract: bool, db_path: str, as_json: bool
) -> None:
    """Read paper listings (files or folders) into the knowledge base, in one transaction.

    Listings (.txt pages of titles and abstracts), arXiv API Atom feeds, the arXiv metadata
    JSON-lines snapshot, and CSV/JSON-lines with title and abstract columns are read; the
    same paper seen several times is one paper remembering every appearance. Folders with a
    MANIFEST.md are released datasets, read into points by their adapters. The registry
    of reported laws is synced and new papers' claims are extracted. If any file is
    malformed, nothing is written.

    Example:  kb ingest ../shared/seeds ../shared/datasets
    """
    from ingest.pipeline import ingest_paths
    from kb.keyword_cache import refresh_keyword_cache

    with writing(db_path) as store, staged_progress_bars(STAGE_LABELS) as progress:
        report = ingest_paths(
            store,
            paths,
            fmt=None if fmt == "auto" else fmt,
            extract=not no_extract,
            on_progress=progress,
        )
        refresh_keyword_cache(store)  # papers or claims changed: keep a saved index current
    if as_json:
        emit_json([report])
        return
    for warning in report.warnings:
        click.echo(f"warning: {warning}", err=True)
    click.echo(
        f"{len(report.files)} files, {report.entries} entries, {report.papers_seen} distinct "
        f"papers: {report.new_papers} new, {report.updated_papers} updated, "
        f"{report.unchanged_papers} unchanged"
    )
    if report.datasets or report.unchanged_datasets:
        points = sum(report.datasets.values())
        click.echo(
            f"{len(report.datasets)} datasets read ({points} points), "
            f"{len(report.unchanged_datasets)} unchanged"
        )
    if report.removed_papers:
        shown = ", ".join(report.removed_papers[:5])
        more = len(report.removed_papers) - 5
        click.echo(
            f"{len(report.removed_papers)} papers removed: no input lists them any more "
            f"({shown}{f' and {more} more' if more > 0 else ''})"
        )
    click.echo(f"{report.laws} reported laws synced from the registry")
    if report.papers_labelled:
        click.echo(f"{report.claims} claims extracted from {report.papers_labelled} papers")
    if report.skipped_files:
        n = len(report.skipped_files)
        names = ", ".join(report.skipped_files[:3]) + (f" and {n - 3} more" if n > 3 else "")
        click.echo(f"{n} file{'s' if n != 1 else ''} of no input format skipped: {names}")
