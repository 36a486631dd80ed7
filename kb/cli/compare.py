"""``kb compare``, ``kb audit`` and ``kb scoreboard``: laws on one axis, audits, extrapolation."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import click
from click.core import ParameterSource

from kb.cli._common import (
    boot_option,
    cli,
    db_option,
    emit_json,
    emit_table,
    json_option,
    no_results,
    paper_data_note,
    plot_option,
    progress_bar,
    reading,
    writing,
)
from kb.datasets import get_dataset
from kb.derive import AT_BUDGET, DEFAULT_BUDGET_FLOPS, QUANTITIES, QUANTITY_LABELS
from kb.records import DOMAINS
from kb.store import Store

EXPONENTS = tuple(q for q in QUANTITIES if q not in AT_BUDGET)


def _warn_stale_laws(store: Store) -> None:
    """Say on stderr when the stored laws these commands read are not the registry file's."""
    from kb.registry import stale_laws_notice

    notice = stale_laws_notice(store)
    if notice:
        click.echo(f"warning: {notice}", err=True)


def _compare_json(row: Any) -> dict[str, Any]:
    data: dict[str, Any] = row.model_dump(mode="json")
    return data


@cli.command("compare")
@click.option(
    "--quantity",
    type=click.Choice(QUANTITIES),
    default=None,
    help="Only this quantity (default: all). "
    + "; ".join(f"{q}: {label}" for q, label in QUANTITY_LABELS.items())
    + " (--at).",
)
@click.option(
    "--at", "at_flops", type=click.FloatRange(min=0, min_open=True), default=DEFAULT_BUDGET_FLOPS,
    show_default=True, metavar="FLOPS",
    help="Compute budget (FLOPs) tokens_per_param is evaluated at.",
)  # fmt: skip
@click.option(
    "--reference", default=None, metavar="ID",
    help="law_id (`kb laws`) or fit_id (source_id in --json) to judge the others against; "
    "without --quantity, only the quantities it has a value of are listed. Default: the "
    "paper's law comparable with the most others, preferring values checked in the paper and, "
    "for tokens_per_param, pinned by their printed digits (Hoffmann et al.'s approach 3 is "
    "not: its rounded exponents put 97.7 at 1e24 anywhere in 45.8-208).",
)  # fmt: skip
@click.option(
    "--domain", type=click.Choice(DOMAINS), default=None,
    help="Only laws and fits of this domain (language, vision, ...) and those of no stated "
    "domain; the reference is chosen among them (--reference must be one of them).",
)  # fmt: skip
@click.option("--disagreements", "only_disagreements", is_flag=True,
              help="Only pairs of comparable papers whose intervals do not overlap.")  # fmt: skip
@click.option("--include-fits", is_flag=True,
              help="With --disagreements: also pair our own refits with the papers.")  # fmt: skip
@plot_option("the forest plot of --quantity")
@db_option
@json_option
def compare_cmd(
    db_path: str,
    as_json: bool,
    quantity: str | None,
    reference: str | None,
    only_disagreements: bool,
    include_fits: bool,
    plot: Path | None,
    at_flops: float,
    domain: str | None,
) -> None:
    """Put every reported law and stored fit on one axis per quantity, with verdicts and notes.

    \b
    A figure for a paper (.html, .svg, .png or .pdf):
      kb compare --quantity a --plot compare_a.svg
    Compute-optimal tokens per parameter at 1e24 FLOPs (laws that give no N_opt(C) and
    D_opt(C) are named on stderr, with why):
      kb compare --quantity tokens_per_param --at 1e24
    Language models' data exponents only, judged against a language law:
      kb compare --quantity beta --domain language

    Example:  kb compare --quantity a --json
    """
    from kb.compare import compare, disagreements, unavailable

    given = click.get_current_context().get_parameter_source
    if given("at_flops") == ParameterSource.COMMANDLINE and quantity in EXPONENTS:
        # it was dropped without a word: `--quantity beta --at 5e23` read as a value at 5e23
        click.echo(
            f"note: --at applies to {', '.join(sorted(AT_BUDGET))} only; {quantity} is an "
            "exponent, the same at every budget",
            err=True,
        )
    if include_fits and not only_disagreements:
        click.echo(
            "note: --include-fits applies with --disagreements; the listing shows stored fits "
            "anyway",
            err=True,
        )
    if plot and (only_disagreements or quantity is None):
        raise click.UsageError(
            "--plot draws one quantity's values: give --quantity "
            f"({', '.join(QUANTITIES)}), without --disagreements"
        )
    with reading(db_path) as store:
        _warn_stale_laws(store)
        rows = compare(
            store, quantity=quantity, reference=reference, at_flops=at_flops, domain=domain
        )
        elsewhere: list[str] = []
        if domain is not None and not rows:
            every = compare(store, quantity=quantity, at_flops=at_flops)
            elsewhere = sorted({r.domain for r in every if r.domain and r.domain != domain})
        at_budget = quantity is not None and quantity in AT_BUDGET and not only_disagreements
        missing = (
            unavailable(store, quantity, at_flops=at_flops, domain=domain)
            if quantity and at_budget
            else []
        )
    if at_budget:
        click.echo(f"{quantity}: D_opt/N_opt at C = {at_flops:.3g} FLOPs (--at)", err=True)
    for m in missing:
        click.echo(f"no {m.quantity}: {m.source_id}: {m.reason}", err=True)
    if plot and quantity:
        from kb.charts import compare_chart, compare_records, save_chart

        save_chart(compare_chart(compare_records(rows), quantity, standalone=True), plot)
        click.echo(f"wrote {plot}", err=True)
    # Papers by arXiv id; our fits by what was fitted ("dataset: setting").
    who = {r.source_id: r.arxiv_id or r.title.partition(" on ")[2] or r.dataset for r in rows}
    if only_disagreements:
        found = disagreements(rows, include_fits=include_fits)
        if not found:
            no_results(
                "no two comparable papers' intervals"
                + (f" of {quantity}" if quantity else "")
                + " fail to overlap"
                + ("" if include_fits else " (--include-fits pairs our own refits too)")
            )
        _coverage_notes(rows, include_fits, shown=None if quantity else 5)
        if as_json:
            emit_json(found)
        else:
            # The caveats (intervals of different kinds: Besiroglu et al.'s ± 1 standard error
            # against Hoffmann et al.'s 10th-90th percentiles) were only in --json.
            table = [{**d.model_dump(), "left_who": who[d.left], "right_who": who[d.right],
                      "caveats": "; ".join([*d.conversions, *d.caveats])}
                     for d in found]  # fmt: skip
            emit_table(table, ["quantity", "left", "left_who", "left_interval", "right",
                               "right_who", "right_interval", "gap", "caveats"],
                       {"left_who": 30, "right_who": 30, "caveats": 60})  # fmt: skip
            _interval_legend(rows, {(s, d.quantity) for d in found for s in (d.left, d.right)})
        return
    if not rows and domain is not None and elsewhere:
        no_results(
            f"no reported law or stored fit of domain {domain} has a value"
            + (f" of {quantity}" if quantity else "")
            + f"; values exist in: {', '.join(elsewhere)} (--domain)"
        )
    elif not rows:
        no_results(
            (f"no reported law or stored fit has a value of {quantity}" if quantity else
             "no reported laws or stored fits in this knowledge base")
            + f"; store the registry's laws with `kb laws --sync --db {db_path}`"
        )  # fmt: skip
    if as_json:
        emit_json(_compare_json(r) for r in rows)
    else:
        # A value at a budget says which in its quantity column (tokens_per_param@1e+24).
        table = [
            {**r.model_dump(), "who": who[r.source_id], "reasons": "; ".join(r.reasons),
             "quantity": r.quantity + (f"@{r.at_flops:.3g}" if r.at_flops is not None else "")}
            for r in rows
        ]  # fmt: skip
        # The verdict's reasons (what differs: response, N counting, form, data) before the
        # provenance notes: a not_comparable row with only its notes did not say why.
        emit_table(table, ["quantity", "source_id", "who", "value", "interval", "verdict",
                           "reasons", "notes"], {"reasons": 60, "notes": 40})  # fmt: skip
        _interval_legend(rows)


def _coverage_notes(rows: Any, include_fits: bool, shown: int | None) -> None:
    """Say on stderr what --disagreements could test: only values with an interval can
    disagree, and "no results" for beta, where 1 of 22 values had one, read as agreement while
    Hoffmann et al.'s 0.28 lies outside Besiroglu et al.'s 0.346-0.386."""
    from kb.compare import coverage

    for c in coverage(rows, include_fits=include_fits):
        click.echo(
            f"{c.quantity}: {c.n_with_interval} of {c.n_values} values "
            f"{'has' if c.n_with_interval == 1 else 'have'} an interval, "
            f"{c.n_tested} comparable pair{'s' if c.n_tested != 1 else ''} tested",
            err=True,
        )
        if c.outside:
            named = "; ".join(
                f"{o.source_id} {o.value:.4g} outside {o.other} "
                f"[{o.other_interval[0]:.4g}, {o.other_interval[1]:.4g}]"
                for o in c.outside[:shown]
            )
            more = (
                f"; and {len(c.outside) - shown} more (--quantity {c.quantity} lists them)"
                if shown is not None and len(c.outside) > shown
                else ""
            )
            click.echo(
                f"  not tested, as they have no interval of their own, but outside a comparable "
                f"paper's interval: {named}{more}",
                err=True,
            )


def _interval_legend(rows: Any, only: set[tuple[str, str]] | None = None) -> None:
    """Say on stderr what kind each interval of the table is (--json: ``interval_kind``): a
    10th-90th percentile interval and a ± 1 standard error one look alike in a table.
    ``only``: the (source_id, quantity) pairs the table shows."""
    kinds: dict[str, dict[str, list[str]]] = {}
    for r in rows:
        if r.interval_kind and (only is None or (r.source_id, r.quantity) in only):
            kinds.setdefault(r.interval_kind, {}).setdefault(r.source_id, []).append(r.quantity)
    for kind, sources in kinds.items():
        named = "; ".join(f"{sid} ({', '.join(qs)})" for sid, qs in sources.items())
        click.echo(f"intervals of {named}: {kind}", err=True)


@cli.command("audit")
@click.argument("dataset", required=False)
@boot_option(200, "Bootstrap resamples per refit (0: no intervals, so no inside/outside).")
@click.option("--seed", type=int, default=0, show_default=True, help="Seed of the refits.")
@click.option(
    "--all-points",
    "all_points",
    is_flag=True,
    help="Refit every point of each law's metric and setting, also for a law that names the "
    "runs its paper fitted (conventions.fit_runs), which is otherwise refitted on those.",
)
@db_option
@json_option
def audit_cmd(
    db_path: str, as_json: bool, dataset: str | None, n_boot: int, seed: int, all_points: bool
) -> None:
    """Refit registry laws on their own data (paper's recipe and standard) vs reported values.

    DATASET (a name `kb datasets` lists) limits the audit to the laws fitted on it. A law that
    names the runs its paper fitted (Gadre et al.'s 5 per training set) is refitted on them;
    stderr says which points each refit used, and --all-points refits them all.

    Example:  kb audit epoch_chinchilla --boot 200 --json
    """
    from kb.audit import audit

    with reading(db_path) as store:
        _warn_stale_laws(store)
        with progress_bar("refitting") as bar:
            rows = audit(
                store, dataset, n_boot=n_boot, seed=seed, on_progress=bar, all_points=all_points
            )
        data_notes = _paper_data_notes(store, rows)
    if not rows:
        no_results(
            "no registry law has its data in this knowledge base to refit; store the laws "
            f"(`kb laws --sync --db {db_path}`) and ingest the datasets (`kb datasets` lists them)"
        )
    if as_json:
        emit_json(rows)
    else:
        # A failed refit left its rows' refit column empty with no word of why; its reason is
        # said once per law and recipe on stderr, and the row points to it.
        failed = {(r.law, r.recipe, r.metric): r.error for r in rows if r.error}
        for (law_id, recipe, metric), error in failed.items():
            click.echo(f"{law_id} ({recipe}, {metric}): not refitted: {error}", err=True)
        for note in data_notes:
            click.echo(note, err=True)
        table = [
            {
                **r.model_dump(),
                "points": r.n_points,
                "note": "not refitted (reason on stderr)" if r.error else r.note,
            }
            for r in rows
        ]
        # points: how many the refit used; a paper may have fitted fewer (Gadre et al.'s 5 runs
        # of each training set, against the 35 released): those are refitted unless
        # --all-points, and stderr says which.
        columns = ["law", "recipe", "points", "param", "reported", "refit", "interval",
                   "interval_kind", "inside", "note"]  # fmt: skip
        emit_table(table, columns, {"interval_kind": 0, "note": 40})
        if rows:
            from kb.fit import INTERVAL_LEVEL

            # The table's intervals were unnamed (kb fit names its own): how wide, from what.
            click.echo(
                f"interval: {INTERVAL_LEVEL:.0%} bootstrap percentile interval of {n_boot} "
                "refits of the refit's recipe; inside: the reported value lies in it"
                if n_boot else "no intervals (--boot 0), so no inside/outside",
                err=True,
            )  # fmt: skip


def _paper_data_notes(store: Store, rows: list[Any]) -> list[str]:
    """Per audited law, for stderr: the points its paper fitted beside those the refits used
    (``paper_data_note``, the note `kb fit` prints too).

    Gadre et al. fitted 5 runs per training set: the audit refits those (conventions.fit_runs)
    and says so, or with --all-points all 34-35 released ones, where a reported value outside
    the refit's interval is no contradiction on that alone.
    """
    from kb.records import ReportedLaw
    from kb.registry import law_fit_runs

    notes: list[str] = []
    used: dict[str, set[int]] = {}
    held: dict[str, set[int]] = {}
    chosen: dict[str, str] = {}
    for r in rows:
        if r.n_points is not None:
            used.setdefault(r.law, set()).add(r.n_points)
            held.setdefault(r.law, set()).add(r.n_points_all or r.n_points)
            chosen[r.law] = r.selection
    for law_id, counts in used.items():
        law = store.get(ReportedLaw, law_id)
        if law is None:
            continue
        n = "/".join(str(c) for c in sorted(counts))
        of = "/".join(str(c) for c in sorted(held[law_id]))
        runs = law_fit_runs(law)
        if chosen[law_id] == "paper_runs" and runs is not None:
            notes.append(
                f"{law_id}: refit on the {len(runs)} runs its paper fitted (conventions.fit_runs; "
                f"--json's selection_source says where they are stated): {n} of {of} points; "
                f"--all-points refits all {of}"
            )
        elif runs is not None:
            notes.append(
                f"{law_id}: refit on all {n} points (--all-points); its paper fitted "
                f"{len(runs)} runs (conventions.fit_runs)"
            )
        elif law.conventions.get("data"):
            notes.append(paper_data_note(law_id, law.conventions["data"], counts))
    return notes


@cli.command("scoreboard")
@click.option("--dataset", default=None, metavar="NAME",
              help="Only this dataset (a name `kb datasets` lists).")  # fmt: skip
@click.option(
    "--build",
    is_flag=True,
    help="Refit every form × recipe with a held-out largest scale and store the scores.",
)
@click.option(
    "--fraction",
    type=click.FloatRange(0, 1, min_open=True, max_open=True),
    default=0.2,
    show_default=True,
    help="Share of points held out (with --build).",
)
@db_option
@json_option
def scoreboard_cmd(
    db_path: str, as_json: bool, dataset: str | None, build: bool, fraction: float
) -> None:
    """List (or --build) extrapolation scores: law form × recipe per dataset, best first.

    Example:  kb scoreboard --build --dataset epoch_chinchilla
    """
    from kb.scoreboard import build_scoreboard, scoreboard

    if build:
        with writing(db_path) as store, progress_bar("scoring") as bar:
            build_scoreboard(
                store, datasets=[dataset] if dataset else None, fraction=fraction,
                on_progress=bar,
            )  # fmt: skip
    with reading(db_path) as store:
        rows = scoreboard(store, dataset=dataset)
        if dataset is not None and not rows:
            get_dataset(store, dataset)  # an unknown name is an error, a known one unscored
    if not rows and not build:
        click.echo(
            "No scores stored yet: compute them with `kb scoreboard --build"
            + (f" --dataset {dataset}" if dataset else "")
            + "` (refits every law form and recipe; minutes).",
            err=True,
        )
    elif not rows:
        no_results(
            "no law form and recipe applies to "
            + (f"dataset {dataset}" if dataset else "the datasets in this knowledge base")
        )
    if as_json:
        emit_json(rows)
    else:
        table = [
            {
                **r.model_dump(),
                "setting": json.loads(r.setting).get("setting") if r.setting else None,
            }
            for r in rows
        ]
        columns = ["dataset", "setting", "law", "recipe", "x", "rmse", "mean_rel_error", "status",
                   "message"]  # fmt: skip
        emit_table(table, columns, {"message": 50, "setting": 30})


@cli.command("optima")
@click.argument("dataset", required=False)
@boot_option(200, "Bootstrap resamples per setting (for the intervals of a and b).")
@db_option
@json_option
def optima_cmd(db_path: str, as_json: bool, dataset: str | None, n_boot: int) -> None:
    """Refit N_opt ∝ C^a and D_opt ∝ C^b per setting from released optima; store the fits.

    The fits then appear in `kb compare` as our own refits.

    Example:  kb optima porian2024_discrepancies --boot 200
    """
    from kb.optima import fit_optima, setting_label

    with writing(db_path) as store, progress_bar("fitting settings") as bar:
        records = fit_optima(store, dataset, n_boot=n_boot, on_progress=bar)
        store.upsert(records)
    if not records:
        no_results("no released optima to fit" + (f" in dataset {dataset}" if dataset else ""))
    if as_json:
        emit_json(records)
    else:
        rows = [
            {
                **r.model_dump(),
                "exponent": r.options.get("exponent"),
                "value": r.params.get("exponent"),
                "interval": r.intervals.get("exponent"),
                "setting": setting_label(r.options.get("setting") or {}),
            }
            for r in records
        ]
        # a and b of one setting one above the other (they were listed in two unrelated orders,
        # so a setting's a + b ≈ 1, C ∝ N·D, could not be read off)
        rows.sort(key=lambda r: (r["dataset"], r["setting"], r["exponent"] or ""))
        emit_table(
            rows, ["dataset", "setting", "exponent", "value", "interval", "metric"], {"setting": 90}
        )
        from kb.fit import INTERVAL_LEVEL

        click.echo(
            f"interval: {INTERVAL_LEVEL:.0%} bootstrap percentile interval of {n_boot} refits "
            "per setting"
            if n_boot
            else "no intervals (--boot 0)",
            err=True,
        )
