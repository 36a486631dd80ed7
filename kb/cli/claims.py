"""``kb claims``, ``kb exponents`` and ``kb extract``: findings read from abstracts."""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

import click

from kb.claims import claim_record, list_claims, list_exponents, paper_titles, resolve_paper_id
from kb.cli._common import (
    cli,
    db_option,
    emit_json,
    emit_table,
    json_option,
    not_blank_paper,
    progress_bar,
    reading,
    writing,
)
from kb.errors import KBError
from kb.records import RESPONSES, VARIABLES
from kb.store import Store

# `kb claims` and `kb exponents` read --paper alike (kb.claims.resolve_paper_id).
_paper_option = click.option(
    "--paper",
    "paper_id",
    metavar="ID",
    default=None,
    callback=not_blank_paper,
    help="Only this paper: its id (see `kb papers`), its whole title, or, for arxiv:<id> ids, "
    "the arXiv id in any form (2203.15556v2, an abs URL).",
)


@cli.command("claims")
@_paper_option
@click.option(
    "--response", type=click.Choice(RESPONSES), default=None, help="Only claims about this."
)
@click.option(
    "--variable", type=click.Choice(VARIABLES), default=None, help="Only claims in this scale."
)
@db_option
@json_option
def claims_cmd(
    db_path: str, as_json: bool, paper_id: str | None, response: str | None, variable: str | None
) -> None:
    """List scaling claims extracted from abstracts, each with the sentence that states it.

    Paper ids come from `kb papers`; papers read from listings without an arXiv id have
    `t:<hash of the title>` ids (t:3ef1b1051e4d8bd3 is Kaplan et al. 2020 in ../shared/seeds).

    Example:  kb claims --paper t:3ef1b1051e4d8bd3 --json
    """
    with reading(db_path) as store:
        if paper_id is not None:
            paper_id = resolve_paper_id(store, paper_id)  # named as stored in the notes below
        claims = list_claims(store, paper_id=paper_id, response=response, variable=variable)
        titles = paper_titles(store, [c.paper_id for c in claims])
    # A t:<hash> id alone named no paper a reader knows; the title travels with a shared line.
    rows = [{**claim_record(c), "title": titles.get(c.paper_id, "")} for c in claims]
    _none_note("claims", rows, paper_id, response, variable)
    if as_json:
        emit_json(rows)
    elif paper_id is not None:
        # One paper's claims: its title once, and each evidence sentence whole (cut to 70
        # characters, "the sentence each claim comes from" was not shown).
        if rows:
            click.echo(f"{paper_id}  {rows[0]['title']}")
        emit_table(
            rows, ["response", "variables", "form", "direction", "evidence"], {"evidence": 0}
        )
    else:
        emit_table(
            rows,
            ["paper_id", "title", "response", "variables", "form", "direction", "evidence"],
            {"title": 30, "evidence": 70},
        )


@cli.command("exponents")
@_paper_option
@db_option
@json_option
def exponents_cmd(db_path: str, as_json: bool, paper_id: str | None) -> None:
    """List numbers stated as exponents of a scaling law, with the text they were read from.

    \b
    `value` is the power of the quantity: `N^{-alpha}` with `alpha = 0.076`
    and `A/N^{0.076}` are both -0.076 (`text` keeps what was printed); a
    symbol used as no power, or an exponent in words, keeps its printed sign.

    Example:  kb exponents --json
    """
    with reading(db_path) as store:
        if paper_id is not None:
            paper_id = resolve_paper_id(store, paper_id)
        exponents = list_exponents(store, paper_id=paper_id)
        registry = _registry_hint(store, paper_id) if paper_id is not None else _registry_all(store)
        titles = paper_titles(store, [e.paper_id for e in exponents])
    _none_note("exponents", exponents, paper_id)
    if registry:
        click.echo(registry, err=True)
    rows = [{**e.model_dump(), "title": titles.get(e.paper_id, "")} for e in exponents]
    if as_json:
        emit_json(rows)
    else:
        emit_table(
            rows, ["paper_id", "title", "symbol", "value", "variable", "text"],
            {"title": 30, "text": 40},
        )  # fmt: skip


def _registry_hint(store: Store, paper_id: str) -> str | None:
    """Where the checked values of a paper's laws are, when the registry holds some.

    `kb exponents` lists numbers its abstract states; Kaplan et al.'s states none, while the
    registry holds seven of its laws (alpha_N = 0.076, ...) read in the paper itself.
    """
    from kb.registry import paper_laws

    _, laws = paper_laws(store, paper_id)
    if not laws:
        return None
    arxiv = sorted({law.arxiv_id for law in laws})[0]
    return (
        f"note: the registry holds {len(laws)} reported law(s) of this paper, with the "
        f"exponents read in the paper: kb laws --paper {arxiv}"
    )


def _registry_all(store: Store) -> str | None:
    """How many exponents the registry's laws hold, beside the abstracts' few.

    Asked which exponents people found, `kb exponents` listed the 6 numbers three seed abstracts
    state, and nothing said that the registry holds the laws' exponents read in the papers
    (Kaplan et al.'s alpha_N = 0.076, Hoffmann et al.'s alpha = 0.34, beta = 0.28, ...).
    """
    from kb.filters import law_exponents
    from kb.records import ReportedLaw

    held = {law.law_id: (law, law_exponents(law)) for law in store.select(ReportedLaw)}
    laws = [law for law, exps in held.values() if exps]
    if not laws:
        return None
    n = sum(len(exps) for _, exps in held.values())
    papers = len({law.arxiv_id for law in laws})
    return (
        f"note: these are the numbers abstracts state; the registry holds {n} exponents of "
        f"{len(laws)} reported laws from {papers} papers (kb laws; kb compare --quantity "
        "alpha|beta|a|b puts them on one axis)"
    )


def _none_note(
    what: str, rows: Sequence[object], paper_id: str | None, *filters: str | None
) -> None:
    """Say on stderr why nothing was listed (stdout stays the results alone): an empty table,
    or no JSON lines, does not tell filters that exclude everything from an empty store."""
    if rows:
        return
    if paper_id is not None and all(f is None for f in filters):
        click.echo(f"no results: paper {paper_id} has no {what}", err=True)
    elif paper_id is not None or any(f is not None for f in filters):
        click.echo(f"no results: no {what} match these filters; loosen a filter", err=True)
    else:
        click.echo(f"no results: no {what} in this knowledge base", err=True)


@cli.command("extract")
@db_option
def extract_cmd(db_path: str) -> None:
    """Re-extract claims, exponents and paper labels for every paper, in one transaction.

    Run it after the extractor improves; every row is stamped with the extractor version.

    Example:  kb extract --db data/kb.duckdb
    """
    from ingest.claims import EXTRACTOR_VERSION, extract_store
    from kb.keyword_cache import refresh_keyword_cache

    if not Path(db_path).exists():
        raise KBError(
            f"{db_path}: no knowledge base here yet; build it with "
            f"`kb ingest ../shared/seeds --db {db_path}`"
        )
    with writing(db_path) as store:
        with store.transaction(), progress_bar("extracting") as bar:
            n_claims = extract_store(store, on_progress=bar, workers=os.cpu_count() or 1)
        refresh_keyword_cache(store)  # claim text is searched: keep a saved index current
    click.echo(f"{n_claims} claims extracted by {EXTRACTOR_VERSION}", err=True)
