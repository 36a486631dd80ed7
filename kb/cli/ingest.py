"""``kb ingest``: read listings and paper metadata files into the knowledge base."""

from __future__ import annotations

from typing import TYPE_CHECKING

import click

from ingest.formats import FORMATS
from kb.cli._common import cli, db_option, emit_json, json_option, staged_progress_bars, writing
from kb.store import Store

if TYPE_CHECKING:
    from ingest.pipeline import IngestReport

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
        index_state = _index_state(store, report)
    if as_json:
        emit_json([{**report.model_dump(mode="json"), "search_index": index_state}])
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
    if index_state != "current":
        click.echo(_index_note(index_state, db_path), err=True)
    if report.skipped_files:
        n = len(report.skipped_files)
        names = ", ".join(report.skipped_files[:3]) + (f" and {n - 3} more" if n > 3 else "")
        click.echo(f"{n} file{'s' if n != 1 else ''} of no input format skipped: {names}")


def _index_state(store: Store, report: IngestReport) -> str:
    """'missing' (no search index built yet), 'stale' (the papers changed since it was built:
    `kb search` then refuses it) or 'current'. The papers are hashed (seconds at 100k) only
    when this ingest changed some or their count differs from the index's (an earlier ingest
    left it behind)."""
    from kb.index import corpus_digest, get_meta
    from kb.records import Paper

    meta = get_meta(store)
    if meta is None:
        return "missing"
    changed = report.new_papers or report.updated_papers or report.removed_papers
    if not changed and store.count(Paper) == meta.n_papers:
        return "current"
    same = corpus_digest(store.select(Paper, validate=False)) == meta.digest
    return "current" if same else "stale"


def _index_note(state: str, db_path: str) -> str:
    """The stderr line after an ingest that left the search index behind its papers: the next
    `kb search` stopped with 'stale, built for 270 papers ...' and no word of it here."""
    if state == "missing":
        return f"note: no search index yet; build it for `kb search` with `kb index --db {db_path}`"
    return (
        "note: the search index does not cover every paper now stored (added, changed or "
        f"removed), and `kb search` refuses it until `kb index --db {db_path}` (which embeds "
        "only those papers) updates it"
    )
