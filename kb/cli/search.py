"""``kb search`` and ``kb index``."""

from __future__ import annotations

import shlex
from pathlib import Path
from typing import TYPE_CHECKING, BinaryIO, cast

import click

from kb.cli._common import (
    by_signal,
    cli,
    db_option,
    emit_json,
    emit_table,
    interrupted,
    json_option,
    progress_bar,
    reading,
    writing,
)
from kb.errors import BadInputError
from kb.filters import HAS_EXPONENT_HELP, VARIABLE_HELP
from kb.records import DOMAINS, VARIABLES
from kb.store import signals_deferred

if TYPE_CHECKING:
    from kb.search import Mode, SearchResults

BATCH_FIELDS = {"paper_id", "title", "score", "snippet"}
# kb.search.MODES, written out so that `kb` need not import the searcher (bm25s, numba,
# scipy, faiss) before any command runs; tests/test_cli_startup.py checks they are equal.
SEARCH_MODES: tuple[str, ...] = ("fused", "keyword", "semantic")


def _model_option(func: click.decorators.FC) -> click.decorators.FC:
    return click.option(
        "--model",
        type=click.Path(file_okay=False, exists=True),
        default=None,
        help="Local sentence-transformers folder (default $KB_MODEL, else the packaged model).",
    )(func)


@cli.command("index")
@click.option("--rebuild", is_flag=True, help="Rebuild even if the index matches the store.")
@_model_option
@db_option
@json_option
def index_cmd(db_path: str, as_json: bool, rebuild: bool, model: str | None) -> None:
    """Build or refresh the semantic search index beside the knowledge base.

    Only texts not embedded before (with this model) are sent to the model. The keyword
    (BM25) side is saved too, as <db>.keyword.npz, so `kb search` starts fast; `kb ingest`
    and `kb extract` keep that file current once it exists. Stopped (Ctrl-C) while embedding,
    it keeps the texts embedded so far, with the index as it was: the next run embeds the rest.
    Killed outright (kill -9, out of memory, power cut), it still keeps them, but for the last
    few seconds' worth: vectors are saved as they are made, beside the store.

    Example:  kb index --rebuild --db data/kb.duckdb
    """
    from kb.embed_journal import EmbedJournal, journal_folder
    from kb.index import EmbeddingInterrupted, build_index, check_index, file_stamp

    if not Path(db_path).exists():
        raise BadInputError(f"{db_path}: no knowledge base here yet; run `kb ingest` first")
    report = check = None
    # Stamped before the store is opened: the check reads the file that was open, which a build
    # swapping a new one in before check_index took its stamp would no longer be.
    opened = file_stamp(db_path)
    if not rebuild:  # up to date: say so without staging a copy of the store and its index
        with reading(db_path) as store:
            check = check_index(store, db_path, model=model)
        report = check.report
    stopped: EmbeddingInterrupted | None = None
    if report is None:
        # Vectors are also saved beside the store as they are encoded: a kill -9 loses the
        # staged copy, not them, and the next run reads them back (kb.embed_journal).
        journal = EmbedJournal(journal_folder(db_path))
        with writing(db_path) as store, progress_bar("Embedding") as bar:
            # The copy is of the file just checked if it has not changed since: reuse its digests.
            same = check is not None and opened == check.stamp == file_stamp(db_path)
            known = check if check is not None and same else None
            try:
                report = build_index(
                    store,
                    store.path,
                    rebuild=rebuild,
                    model=model,
                    on_progress=bar,
                    digest=known.digest if known else None,
                    keyword_digest=known.keyword_digest if known else None,
                    journal=journal,
                )
            except EmbeddingInterrupted as err:
                if not err.n_cached:
                    raise
                # Stopped while embedding: the index is untouched and the vectors made so far
                # are cached in the copy, so the copy is swapped in to keep them.
                stopped = err
        journal.clear()  # the store swapped in holds every vector the journal had
        if stopped is not None:
            raise interrupted(
                stopped,
                f"the search index is unchanged; the {stopped.n_cached:,} texts embedded so far "
                "are kept in the knowledge base's embedding cache, so the next `kb index` "
                "embeds only the rest",
            ) from stopped
    assert report is not None
    row = report.model_dump() | {"path": f"{db_path}.faiss"}
    if as_json:
        emit_json([row])
    else:
        state = "up to date" if report.up_to_date else "built"
        click.echo(
            f"{row['path']}: {state}, {report.n_papers} papers, {report.n_rows} vectors "
            f"({report.kind}, {report.model}), {report.n_embedded} texts and "
            f"{report.n_terms_embedded} expansion terms embedded"
            + ("; keyword index saved" if report.keyword_saved else "")
            + (
                f"; {report.n_recovered:,} vectors recovered from a build that was killed"
                if report.n_recovered
                else ""
            )
        )


class _SearchCommand(click.Command):
    """``kb search``: a query that starts with '-' ("-language models") is read by click as
    short options; its "No such option '-l'" then says where the query goes."""

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        given = list(args)  # click's parser consumes ``args``
        try:
            return super().parse_args(ctx, args)
        except click.NoSuchOption as err:
            # kb search has no short options: a "-word" argument is a query, not a typo.
            query = next((a for a in given if a[:1] == "-" and a[1:2].isalpha()), None)
            if query is None:
                raise
            raise click.NoSuchOption(
                err.option_name,
                f"{err.format_message()} A query that starts with '-' goes after '--', options "
                f"before it: "
                f"kb search [OPTIONS] -- {shlex.quote(query)}",
                ctx=ctx,
            ) from err


@cli.command("search", cls=_SearchCommand)
@click.argument("query", required=False)
@click.option(
    "--k", "k", type=click.IntRange(min=1), default=10, show_default=True, help="Number of results."
)
@click.option(
    "--batch",
    "batch",
    type=click.File("rb"),
    default=None,
    metavar="FILE",
    help="Answer every line of FILE (a path, or '-' for stdin) as a query; one JSON line each.",
)
@click.option(
    "--mode",
    type=click.Choice(SEARCH_MODES),
    default="fused",
    show_default=True,
    help="Ranking: keyword (BM25), semantic (embeddings) or both fused.",
)
@click.option("--year-min", type=int, default=None, help="Published in this year or later.")
@click.option("--year-max", type=int, default=None, help="Published in this year or earlier.")
@click.option("--domain", type=click.Choice(DOMAINS), default=None, help="Only this domain.")
@click.option("--scaling-only", is_flag=True, help="Only papers that study a scaling law.")
@click.option(
    "--variable",
    type=click.Choice(VARIABLES),
    default=None,
    help=VARIABLE_HELP,
)
@click.option("--has-exponent", is_flag=True, help=HAS_EXPONENT_HELP)
@_model_option
@db_option
@json_option
def search_cmd(db_path: str, as_json: bool, query: str | None, k: int, batch: BinaryIO | None,
               mode: str, year_min: int | None, year_max: int | None, domain: str | None,
               scaling_only: bool, variable: str | None, has_exponent: bool,
               model: str | None) -> None:  # fmt: skip
    """Search papers by keywords and meaning, best first.

    With --batch FILE, every non-empty line is a query and each prints one JSON object
    {query, hits: [{paper_id, title, score, snippet}], weak_match, match_score, not_english,
    notice}; the model loads once. A query (or batch line) longer than 4,000 characters is
    refused: a title and abstract fit, and the model reads about the first 1,300.

    A query that is a paper's id, arXiv id or whole title (also with an author-year citation
    around it: "Kaplan et al. 2020 Scaling Laws for Neural Language Models") puts that paper
    first, marked exact_match in --json, with at least the next hit's score.

    When nothing in the knowledge base is close to the query (its best sentence cosine is
    below a threshold chosen on labelled queries), or the query does not look like English
    (the model reads English), a one-line notice comes before the results; --json adds
    weak_match, match_score, not_english and notice to every hit. The threshold is fitted for
    the default model only: with another --model / KB_MODEL there is no notice unless
    KB_WEAK_MATCH names a rule file fitted for it (benchmarks/bench_weak_match.py --write
    --out PATH); KB_WEAK_MATCH='' turns it off. Keyword-only search (--mode keyword) has none.

    Under a filter (--domain, --variable, ...) the notice has its own threshold and says how
    many papers the filters leave and how many outside them are closer (when the filtered
    cosine is that low, --json adds filter_papers, overall_match_score, closer_outside,
    closer_outside_exact); a hit holding every word of the query is a match however low its
    cosine, so "kb search experts --variable num_experts" gets no notice.

    In the table, a hit listed first because the query names it is marked "exact" in a first
    match column (with a one-line legend on stderr). A paper whose listing gives no date shows
    the year of its laws in the law registry, starred (2020*, with a legend on stderr;
    year_source "registry" in --json, "listing" for a listed date).

    \b
    Example:
      kb search "compute-optimal split between parameters and tokens" --k 5
    """
    from kb.search import Searcher, SearchFilters, check_query, is_blank, tokenize

    if (query is None) == (batch is None):
        raise click.UsageError("give either a QUERY or --batch FILE")
    if query is not None and is_blank(query):
        raise click.BadParameter(
            f"{query!r} is blank; expected some words to search for", param_hint="'QUERY'"
        )
    if query is not None:
        check_query(query)  # before the index loads: text that is not UTF-8
    if year_min is not None and year_max is not None and year_min > year_max:
        raise click.BadParameter(
            f"--year-min {year_min} is after --year-max {year_max}; expected a range with "
            "year-min <= year-max",
            param_hint="'--year-min'",
        )
    how = cast("Mode", mode)
    filters = SearchFilters(
        year_min=year_min,
        year_max=year_max,
        domain=domain,
        studies_scaling_law=True if scaling_only else None,
        variable=variable,
        has_exponent=True if has_exponent else None,
    )
    queries = _batch_queries(batch) if batch is not None else []  # read (and check) it first
    if batch is not None and not queries:
        click.echo(
            f"{getattr(batch, 'name', '--batch')}: no queries (every line is blank)", err=True
        )
    with reading(db_path) as store:
        searcher = Searcher.open(store, db_path, model=model)
        _undated_note(searcher.undated_left_out(filters))
        if batch is not None:
            answered = 0
            try:
                for q in queries:
                    row = _batch_row(q, searcher.search(q, k=k, filters=filters, mode=how))
                    with signals_deferred():  # a line is printed whole, and counted
                        emit_json([row])
                        answered += 1
            except BaseException as err:
                if not by_signal(err):
                    raise
                raise interrupted(
                    err,
                    f"answered {answered} of {len(queries)} queries (their lines are on stdout)",
                ) from err
            return
        hits = searcher.search(query or "", k=k, filters=filters, mode=how)
    if not hits:  # on stderr: an empty table (or no JSON lines) alone does not say why
        why = "these filters" if not filters.is_empty() else "this query"
        if how == "keyword" and not tokenize(query or ""):
            click.echo(
                "no results: the query has no word the keyword search reads (stop words, "
                "punctuation and symbols are skipped); search its meaning with --mode fused",
                err=True,
            )
        else:
            click.echo(f"no results: no paper matches {why}; loosen a filter or rephrase", err=True)
    if as_json:
        emit_json(h.model_dump() | hits.match_fields() for h in hits)
    else:
        if hits.notice:
            click.echo(f"Note: {hits.notice}", err=True)  # stdout stays the results alone
        _emit_hits(hits)


# What the table's `match` column means, said once under a table that has a pinned hit.
PINNED_LEGEND = (
    "match exact: the query is this paper's id, arXiv id or whole title, so it is listed first "
    "(exact_match in --json)"
)


# What a starred year means, said once under a table that has one.
REGISTRY_YEAR_LEGEND = (
    "year*: the listing gives no date; the year of the paper's laws in the law registry "
    '(year_source "registry" in --json)'
)


def _emit_hits(hits: SearchResults) -> None:
    """The hits as a table; a pinned hit (``exact_match``) is marked `exact` in a first
    `match` column, shown, with a one-line legend on stderr, only when there is one. A year
    the law registry gives (the listing has no date) is starred, with its own legend."""
    rows = [h.model_dump() for h in hits]
    columns = ["score", "year", "title", "snippet"]
    if any(h.exact_match for h in hits):
        columns.insert(0, "match")
        for row in rows:
            row["match"] = "exact" if row["exact_match"] else ""
    starred = False
    for row in rows:
        if row["year_source"] == "registry":
            row["year"], starred = f"{row['year']}*", True
    emit_table(rows, columns, {"title": 60, "snippet": 70})
    if "match" in columns:
        click.echo(PINNED_LEGEND, err=True)
    if starred:
        click.echo(REGISTRY_YEAR_LEGEND, err=True)


def _batch_row(query: str, hits: SearchResults) -> dict[str, object]:
    """One --batch line: the query, its hits (BATCH_FIELDS) and whether anything was close."""
    return {"query": query, "hits": [h.model_dump(include=BATCH_FIELDS) for h in hits]} | (
        hits.match_fields()
    )


def _undated_note(undated: int) -> None:
    """Say on stderr (stdout stays the results alone) how many undated papers a year filter
    left out: listings often give no date, so a year range can hide most of the corpus."""
    if undated:
        papers = f"{undated} paper{'s' if undated != 1 else ''}"
        verb = "are" if undated != 1 else "is"
        click.echo(
            f"note: {papers} with no publication date {verb} left out by --year-min/--year-max",
            err=True,
        )


def _batch_queries(batch: BinaryIO) -> list[str]:
    """The non-empty, stripped lines of a --batch file; a line that is not UTF-8, or too long
    a query (``kb.search.check_query``), is refused, naming its line."""
    from kb.search import check_query, is_blank

    queries: list[str] = []
    for number, raw in enumerate(batch, start=1):
        try:
            line = raw.decode("utf-8-sig" if number == 1 else "utf-8").strip()
        except UnicodeDecodeError as err:
            raise BadInputError(
                f"{getattr(batch, 'name', '--batch')}: line {number} is not UTF-8 text "
                f"(byte {raw[err.start]:#04x} at column {err.start + 1}); expected one UTF-8 "
                "query per line"
            ) from err
        if not is_blank(line):  # a line of only a zero-width space is blank too
            try:
                check_query(line)  # every line before the first is answered: no half output
            except BadInputError as err:
                raise BadInputError(
                    f"{getattr(batch, 'name', '--batch')}: line {number}: {err}"
                ) from err
            queries.append(line)
    return queries
