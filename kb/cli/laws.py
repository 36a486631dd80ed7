"""``kb laws``: the registry of laws as their papers reported them."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from kb.cli._common import (
    cli,
    db_option,
    emit_json,
    emit_table,
    json_option,
    no_results,
    not_blank_paper,
    reading,
    writing,
)
from kb.errors import KBError
from kb.filters import law_exponent_rows, law_exponents
from kb.records import ReportedLaw
from kb.registry import (
    current_laws,
    law_paper_id,
    paper_laws,
    registry_is_stale,
    registry_path,
    sync_registry,
)
from kb.store import Store


@cli.command("laws")
@click.option(
    "--paper",
    "paper_id",
    metavar="ID",
    default=None,
    callback=not_blank_paper,
    help="Only this paper: its id (arxiv:<id> or t:<hash>, see `kb papers`), its whole title, "
    "or an arXiv id in any form (2203.15556v2, an abs URL); the registry's papers outside the "
    "knowledge base too.",
)
@click.option(
    "--sync",
    is_flag=True,
    help="Also store the registry file's laws in the knowledge base (kb compare, kb audit and "
    "the app read them from there); `kb ingest` does this too.",
)
@db_option
@json_option
def laws_cmd(db_path: str, as_json: bool, paper_id: str | None, sync: bool) -> None:
    """List the laws papers reported: formula, fitted values, source, verified or not.

    Reads only: when the registry file ($KB_REGISTRY, else data/laws.toml) changed since the
    knowledge base last stored it (or the store has none), the file's laws are listed and a
    note on stderr says so; the store is not written (it may be read-only, or open in the
    app). --sync stores them.

    After editing data/laws.toml, store it for kb compare, kb audit and the app:
    kb laws --sync

    --paper reads a paper as kb claims --paper does (an id, a whole title, an arXiv id in
    any form), and the registry's papers that the knowledge base lacks too.

    Example:  kb laws --paper arxiv:2203.15556 --json
    """
    if not Path(db_path).exists():
        raise KBError(
            f"{db_path}: no knowledge base here yet; build it with "
            f"`kb ingest ../shared/seeds ../shared/datasets --db {db_path}`"
        )
    if sync:
        with reading(db_path) as store:
            stale = registry_is_stale(store)
        if stale:
            with writing(db_path) as store, store.transaction():
                n = sync_registry(store)
            click.echo(f"{n} reported laws synced from {registry_path()}", err=True)
        else:
            click.echo(f"the laws stored in {db_path} are those of {registry_path()} already; "
                       "nothing to sync", err=True)  # fmt: skip
    with reading(db_path) as store:
        laws, from_file = current_laws(store)
        if paper_id is not None:
            paper_id, laws = paper_laws(store, paper_id, laws)  # named as resolved below
        rows = [_row(store, law) for law in laws]
    if from_file:
        click.echo(
            f"note: the laws stored in {db_path} are not those of {registry_path()} (it changed "
            "since, or none were stored); listing the file's without writing the store. kb "
            "compare, kb audit and the app use the stored ones until `kb laws --sync` or "
            "`kb ingest`",
            err=True,
        )
    if paper_id and not rows:  # on stderr: no table (or JSON lines) alone does not say why
        no_results(f"the registry has no laws of {paper_id}")
    elif not rows:
        no_results(f"the registry {registry_path()} holds no laws")
    if as_json:
        emit_json(rows)
    else:
        emit_table(
            [
                {
                    **r,
                    "paper": _paper_label(r),
                    "exponents": _exponents(law_exponents(law)),
                    "verified": "yes" if r["verified"] else "no",
                }
                for r, law in zip(rows, laws, strict=True)
            ],
            ["law_id", "paper", "exponents", "verified"],
            {"paper": 40, "exponents": 60},
        )


def _row(store: Store, law: ReportedLaw) -> dict[str, Any]:
    """A law's JSON line: its record, its corpus paper and its exponents (``exponents``: symbol,
    value, variable, derived; the exponents `kb exponents`'s registry note counts)."""
    paper = law_paper_id(store, law)
    row = law.model_dump(mode="json")
    row.update(paper_id=paper, in_corpus=paper is not None, exponents=law_exponent_rows(law))
    return row


def _paper_label(row: dict[str, Any]) -> str:
    return f"{row['arxiv_id']} {row['title']}"


def _exponents(shown: dict[str, float]) -> str:
    return ", ".join(f"{k}={v:.4g}" for k, v in shown.items()) or "-"
