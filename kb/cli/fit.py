"""``kb fit`` (refit a law form to a stored dataset) and ``kb laws-forms`` (list the forms)."""

from __future__ import annotations

import sys
from contextlib import AbstractContextManager
from pathlib import Path
from typing import TYPE_CHECKING, Any, NamedTuple

import click
from click.core import ParameterSource

from kb.cli._common import (
    boot_option,
    cli,
    db_option,
    emit_json,
    emit_table,
    json_option,
    paper_data_note,
    plot_option,
    progress_bar,
    reading,
    writing,
)
from kb.errors import BadInputError, KBError
from kb.laws import FORMS
from kb.recipes import RECIPES
from kb.store import check_writable

if TYPE_CHECKING:
    from kb.fit import FitResult, Holdout, PaperRuns
    from kb.records import Point, ReportedLaw
    from kb.store import Store


@cli.command("fit")
@click.argument("dataset", required=False)
@click.option(
    "--data", "data", default=None, metavar="FILE",
    type=click.Path(exists=True, dir_okay=False, allow_dash=True),
    help="Fit your own points instead of a released DATASET: a CSV in the app's Refit upload "
         "layout (columns n_params, n_tokens, compute_flops, value; optional metric, unit, "
         "run_key, step, others kept for --where; comma, semicolon or tab separated; at most 5 "
         "MB and 50,000 rows); '-' reads stdin. Needs no knowledge base, and the fit is not "
         "stored: --save is refused (a file is no released dataset, and a stored fit would be "
         "listed beside the papers' by `kb compare --include-fits`); keep it with --json.",
)  # fmt: skip
@click.option("--law", "law", required=True, type=click.Choice(list(FORMS)), help="Law form.")
@click.option(
    "--recipe", default="standard", show_default=True, type=click.Choice(list(RECIPES)),
    help="Fitting procedure (objective, grid, filters, bootstrap scheme).",
)  # fmt: skip
@boot_option(0, "Bootstrap resamples for intervals (0: none).")
@click.option(
    "--seed",
    type=int,
    default=0,
    show_default=True,
    help="Bootstrap seed (with --recipe epoch, 42 draws Epoch's exact resamples).",
)
@click.option("--metric", default=None,
              help="Metric to fit when the dataset (or the --data file's metric column) has "
                   "several.")  # fmt: skip
@click.option("--x", "x_axis", default="compute_flops", show_default=True, metavar="COLUMN",
              help="Column used by single-input laws (power_law, log_linear, ...).")  # fmt: skip
@click.option("--holdout", "holdout", default=None, metavar="AXIS:FRACTION",
              help="Fit smaller scales, score the largest; AXIS is compute, n_params or n_tokens, "
                   "e.g. compute:0.2.")  # fmt: skip
@click.option("--setting", "setting", default=None, metavar="LABEL_OR_JSON",
              help="Fit one experimental setting of the dataset: its label (as `kb optima` "
                   "prints it) or its JSON, e.g. '{\"dataset\": \"rw\", \"setting\": "
                   "\"Reproducing Kaplan et al.\"}'; an unknown one lists the labels. Not with "
                   "--data (use --where).")  # fmt: skip
@click.option("--where", "where", multiple=True, metavar="FIELD=VALUE",
              help="Fit only the points whose text extra FIELD is VALUE (repeatable; may pool "
                   "several settings), e.g. --where train_dataset=rpj; with --data, FIELD is "
                   "one of the file's other columns.")  # fmt: skip
@click.option(
    "--paper-runs/--all-points", "paper_runs_only", default=True, show_default=True,
    help="Where a law beside the fit names the runs its paper fitted (conventions.fit_runs: "
         "Gadre et al. fitted 5 of the 34-35 runs of a training set), fit those runs, as "
         "`kb audit` refits them: the 'reported' column is then the paper's fit beside the same "
         "fit redone, so a user comparing exponents compares like with like. --all-points fits "
         "every point of the metric and setting (as `kb audit --all-points`). Laws that name no "
         "runs: every point either way.",
)  # fmt: skip
@click.option("--save/--no-save", default=True, show_default=True,
              help="Store the fit in the fits table (a released DATASET's only: with --data "
                   "nothing is stored).")  # fmt: skip
@plot_option("the data, fitted law and bootstrap band above the residuals")
@db_option
@json_option
def fit_cmd(
    dataset: str | None, data: str | None, law: str, recipe: str, n_boot: int, seed: int,
    metric: str | None, x_axis: str, holdout: str | None, setting: str | None,
    where: tuple[str, ...], paper_runs_only: bool, save: bool, db_path: str, as_json: bool,
    plot: Path | None,
) -> None:  # fmt: skip
    """Fit a law form to a released DATASET (or your own CSV: --data) and print parameters,
    intervals and derived values.

    DATASET is a name `kb datasets` lists (not a folder); `kb laws-forms` lists the laws.

    \b
    Example:
      kb fit epoch_chinchilla --law chinchilla --recipe epoch --boot 4000 --seed 42 --json

    \b
    One setting of a dataset that holds several (points counted in other ways are refused):
      kb fit porian2024_discrepancies --law compute_optimal --metric n_opt \\
        --setting '{"dataset": "rw", "setting": "Reproducing Kaplan et al."}'

    \b
    The runs of one training set, in a dataset whose runs each carry their own name:
      kb fit gadre2024_overtraining --law chinchilla --where train_dataset=rpj

    \b
    The runs the paper fitted, where its law names them (the default: 5 of the 34 runs here,
    beside gadre2024_loss_c4's values; --all-points fits all 34):
      kb fit gadre2024_overtraining --law chinchilla_tied --where train_dataset=c4_original

    \b
    A figure for a paper (.html, .svg, .png or .pdf; --boot draws the band):
      kb fit epoch_chinchilla --law chinchilla --boot 200 --no-save --plot chinchilla.png

    \b
    Your own points (the Refit page's CSV layout; '-' reads stdin; never stored):
      kb fit --data my_runs.csv --law chinchilla --boot 200 --json

    \b
    Counts in --json:
      n_starts, n_converged   starts of the point fit's multi-start grid, and how many converged
      n_starts_converged      the same as n_converged, named for what it counts
      n_boot, n_boot_failed   bootstrap refits asked for, and those that did not converge
      n_boot_converged        n_boot - n_boot_failed: the refits the intervals use
      data                    the --data file ('<stdin>' for -); null for a DATASET
      selection               'paper_runs' (the runs the paper fitted) or 'all', as in kb audit
      n_points_all            points before the paper's selection (n_points when 'all')
      selection_source        where the paper states its runs (conventions.fit_runs_source)
    --holdout refits the smaller scales with the recipe's own estimator (holdout.estimator).
    """
    # imports scipy: only when fitting
    from kb.fit import SELECT_ALL, SELECT_PAPER_RUNS, Holdout, fit_dataset, selection_fields

    inputs = FORMS[law].inputs
    ctx = click.get_current_context()
    if "x" not in inputs and ctx.get_parameter_source("x_axis") != ParameterSource.DEFAULT:
        raise click.BadParameter(
            f"law {law} reads {', '.join(inputs)}, not a chosen column; --x is for the "
            "single-input laws (" + ", ".join(n for n, f in FORMS.items() if "x" in f.inputs) + ")",
            param_hint="'--x'",
        )

    wanted = _parse_where(where)
    try:  # a bad value of an option is a usage error naming it, like --where's
        hold = Holdout.parse(holdout) if holdout else None
    except BadInputError as err:
        raise click.BadParameter(str(err), param_hint="'--holdout'") from err
    explicit_paper = (
        paper_runs_only and ctx.get_parameter_source("paper_runs_only") != ParameterSource.DEFAULT
    )
    if data is not None:
        _check_data_options(ctx, dataset, data, setting, save, explicit_paper)
        _fit_data(
            data, law=law, recipe=recipe, n_boot=n_boot, seed=seed, metric=metric, x_axis=x_axis,
            hold=hold, wanted=wanted, as_json=as_json, plot=plot,
        )  # fmt: skip
        return
    if dataset is None:
        raise click.UsageError(
            "Missing argument 'DATASET': a released dataset (`kb datasets` lists them), or "
            "--data FILE.csv to fit your own points"
        )
    if save and not Path(db_path).exists():
        # Saving opens a staged copy, which would create an empty store (and its folder) at a
        # mistyped path; say what `reading` says instead.
        raise KBError(
            f"{db_path}: no knowledge base here yet; build it with "
            f"`kb ingest ../shared/seeds ../shared/datasets --db {db_path}`"
        )
    if save:
        try:
            check_writable(Path(db_path))  # before minutes of bootstrap, not after
        except KBError as err:
            raise KBError(f"{err}; or fit without storing the fit: --no-save") from err
    opener: AbstractContextManager[Store] = writing(db_path) if save else reading(db_path)
    with opener as store, progress_bar("bootstrap") as bar:
        beside = _beside(store, dataset, law, metric, setting, wanted, paper_runs_only)
        if explicit_paper and beside.paper is None:
            raise click.BadParameter(
                f"no law beside this fit of {law} names the runs its paper fitted "
                "(conventions.fit_runs; Gadre et al.'s do, e.g. `kb fit gadre2024_overtraining "
                "--law chinchilla_tied --where train_dataset=c4_original`); leave it out to fit "
                "every point",
                param_hint="'--paper-runs'",
            )
        result = fit_dataset(
            store, dataset, law=law, recipe=recipe, metric=metric, x=x_axis, n_boot=n_boot,
            seed=seed, holdout=hold, save=save, on_progress=bar if n_boot else None,
            setting=setting, where=wanted, runs=beside.paper.runs if beside.paper else None,
        )  # fmt: skip
        fitted = beside.points
        if setting is None:
            _note_pooled(fitted, result.options.get("metric"), wanted)
        reported = _reported_beside(store, beside, result)
        if plot:  # inside the block: a failed plot leaves the store as it was
            from kb.charts import points_fit_figure, save_chart

            save_chart(points_fit_figure(result, fitted), plot)
    picked = selection_fields(
        SELECT_PAPER_RUNS if beside.paper else SELECT_ALL, beside.n_points_all,
        beside.paper.source if beside.paper else None,
    )  # fmt: skip
    _print_fit(result, reported, recipe, as_json=as_json, plot=plot, data=None, selection=picked)


def _check_data_options(
    ctx: click.Context, dataset: str | None, data: str, setting: str | None, save: bool,
    paper_runs: bool,
) -> None:  # fmt: skip
    """Usage errors of ``--data``: with a DATASET too, with --setting, with an explicit --save
    or --paper-runs."""
    if dataset is not None:
        raise click.UsageError(
            f"got both DATASET ({dataset!r}) and --data ({data!r}); give one: a released "
            "dataset's name, or --data FILE.csv for your own points"
        )
    if setting is not None:
        raise click.BadParameter(
            "picks one experimental setting of a released dataset; with --data, fit a group "
            "of your points with --where FIELD=VALUE",
            param_hint="'--setting'",
        )
    if save and ctx.get_parameter_source("save") != ParameterSource.DEFAULT:
        raise click.BadParameter(
            "stores fits of released datasets only: a --data file is not in the knowledge base, "
            "and `kb compare --include-fits` would list its fit beside the papers'; keep the "
            "fit with --json > fit.json",
            param_hint="'--save'",
        )
    if paper_runs:
        raise click.BadParameter(
            "fits the runs a registry law's paper fitted, of a released dataset; a --data file "
            "is fitted whole (or one group of it: --where FIELD=VALUE)",
            param_hint="'--paper-runs'",
        )


def _fit_data(
    data: str, *, law: str, recipe: str, n_boot: int, seed: int, metric: str | None,
    x_axis: str, hold: Holdout | None, wanted: dict[str, str], as_json: bool, plot: Path | None,
) -> None:  # fmt: skip
    """``kb fit --data``: read the file as the app reads an upload, fit, print as for a dataset."""
    # imports scipy: only when fitting
    from kb.fit import SELECT_ALL, fit_upload, selection_fields, upload_points
    from kb.uploads import parse_upload, read_upload

    name = "<stdin>" if data == "-" else data
    try:  # the file is an option's value: its errors are usage errors naming it
        if data == "-":
            raw = read_upload(sys.stdin.buffer, name)
        else:
            with open(data, "rb") as stream:
                raw = read_upload(stream, name)
        points = parse_upload(raw, name=name)
    except BadInputError as err:
        raise click.BadParameter(str(err), param_hint="'--data'") from err
    with progress_bar("bootstrap") as bar:
        result = fit_upload(
            points, name=name, law=law, recipe=recipe, metric=metric, x=x_axis, n_boot=n_boot,
            seed=seed, holdout=hold, on_progress=bar if n_boot else None, where=wanted,
        )  # fmt: skip
    fitted, chosen = upload_points(points, name=name, metric=metric, where=wanted)
    _note_pooled(fitted, chosen, wanted)
    if plot:
        from kb.charts import points_fit_figure, save_chart

        save_chart(points_fit_figure(result, fitted), plot)
    _print_fit(
        result, {}, recipe, as_json=as_json, plot=plot, data=name,
        selection=selection_fields(SELECT_ALL, result.n_points, None),
    )  # fmt: skip


def _print_fit(
    result: FitResult, reported: dict[str, dict[str, float]], recipe: str, *, as_json: bool,
    plot: Path | None, data: str | None, selection: dict[str, Any],
) -> None:  # fmt: skip
    """The fit on stdout (a table and notes, or one JSON object), ``wrote FILE`` on stderr.
    ``selection``: the point selection (``kb.fit.selection_fields``)."""
    from kb.fit import SELECT_PAPER_RUNS, holdout_label, holdout_sentence

    if plot:
        click.echo(f"wrote {plot}", err=True)
    if as_json:
        emit_json([{**result.to_json(), "reported": reported, "data": data, **selection}])
        return
    rows = [
        {"quantity": k, "value": v, "interval": result.intervals.get(k)}
        | {f"reported ({law_id})": values.get(k) for law_id, values in reported.items()}
        for k, v in {**result.params, **result.derived}.items()
    ]
    emit_table(rows, ["quantity", "value", "interval", *(f"reported ({i})" for i in reported)])
    if "G" in result.derived:  # the rows a, b, G, N_opt@C... named nowhere else
        click.echo(
            "derived (Hoffmann et al. 2022, eq. 4, C = 6ND): a = beta/(alpha+beta), "
            "b = alpha/(alpha+beta), G = (alpha A/(beta B))^(1/(alpha+beta)); "
            "N_opt = G (C/6)^a, D_opt = (C/6)^b / G; @C: at a budget of C FLOPs "
            "(5.76e23: Chinchilla's)"
        )
    if result.intervals:
        click.echo(
            f"interval: {result.level:.0%} bootstrap percentile "
            f"interval of {result.n_boot - result.n_boot_failed} refits"
        )
    chosen = result.options.get("setting")
    if chosen:
        from kb.optima import setting_label

        click.echo(f"setting {setting_label(chosen)}")
    dropped = RECIPES[recipe].drop_highest
    click.echo(
        (f"data {data}; " if data is not None else "")
        + f"metric {result.options.get('metric')}; objective {result.objective:.6g}; "
        + (
            f"{result.n_points} of {selection['n_points_all']} points (the runs its paper fitted)"
            if selection["selection"] == SELECT_PAPER_RUNS
            else f"{result.n_points} points"
        )
        + (f" (the {recipe} recipe drops the {dropped} highest values first)" if dropped else "")
        + f"; {result.n_converged}/{result.n_starts} grid starts converged"
    )
    if result.n_boot_failed:
        left = result.n_boot - result.n_boot_failed
        click.echo(
            f"bootstrap: {result.n_boot_failed} of {result.n_boot} refits did not converge; "
            + (f"the intervals use the other {left}" if result.intervals
               else f"{left} converged, too few for intervals (none given)")
        )  # fmt: skip
    if result.holdout:
        h = result.holdout
        click.echo(
            f"holdout {holdout_label(h, result.options.get('x'))}: rmse {h['rmse']:.4g} "
            f"({h['space']}), "
            f"mean rel. error {h['mean_rel_error']:.3%}, n_train {h['n_train']}, "
            f"n_test {h['n_test']}"
        )
        click.echo(holdout_sentence(h, result.options.get("x"), result.recipe))


@cli.command("laws-forms")
@json_option
def laws_forms_cmd(as_json: bool) -> None:
    """List the law forms `kb fit --law` accepts, with formula, inputs and source.

    Example:  kb laws-forms --json
    """
    rows = [
        {
            "name": f.name,
            "formula": f.formula,
            "inputs": list(f.inputs),
            "params": list(f.published_names),
            "fit_params": [
                {"name": p.name, "lower": p.lower, "upper": p.upper, "grid": list(p.grid)}
                for p in f.params
            ],
            "space": f.space,
            "source": f.source,
        }
        for f in FORMS.values()
    ]
    if as_json:
        emit_json(rows)
    else:
        emit_table(rows, ["name", "inputs", "formula", "source"], {"formula": 60, "source": 50})


class _Beside(NamedTuple):
    """What a dataset fit is compared with, read before it: the points it fits, the stored
    laws beside it and the runs their papers fitted (when chosen and named)."""

    points: list[Point]
    n_points_all: int  # before the paper's selection
    laws: list[ReportedLaw]
    paper: PaperRuns | None


def _beside(
    store: Store, dataset: str, law: str, metric: str | None, setting: str | None,
    where: dict[str, str], paper_runs_only: bool,
) -> _Beside:  # fmt: skip
    """The points ``fit_dataset`` fits (its metric, ``--where`` groups, ``--setting``, then
    the runs the paper fitted when ``paper_runs_only`` and a law beside names them), the laws
    whose values stand beside the fit (the Refit page's 'reported' columns), and those runs."""
    from kb.fit import dataset_points, paper_runs
    from kb.optima import points_where, select_setting
    from kb.registry import laws_beside_refit, run_points

    points, metric = dataset_points(store, dataset, metric)
    if where:  # as fit_dataset chooses them, so its errors read the same
        points = points_where(points, where, dataset=f"dataset {dataset!r} ({metric})")
    chosen: dict[str, str] | None = None
    if setting is not None:
        chosen, points = select_setting(points, setting, dataset=f"dataset {dataset!r}")
    laws = laws_beside_refit(store, dataset, law, metric, chosen or where or None)
    paper = paper_runs(laws) if paper_runs_only else None
    n_all = len(points)
    if paper is not None:
        points = run_points(points, paper.runs, dataset=dataset, where="the paper's runs")
    return _Beside(points, n_all, laws, paper)


def _reported_beside(
    store: Store, beside: _Beside, result: FitResult
) -> dict[str, dict[str, float]]:
    """The stored laws' values beside the refit's parameters, by law id (the Refit page's
    'reported' columns); one note per law on stderr says which points its paper fitted."""
    from kb.cli.compare import _warn_stale_laws
    from kb.registry import fitted_on_other_points, law_fit_runs, reported_value

    if not beside.laws:
        return {}
    metric = result.options.get("metric")
    _warn_stale_laws(store)
    names = [*result.params, *result.derived]
    out: dict[str, dict[str, float]] = {}
    for rep in beside.laws:
        values = {n: reported_value(rep, n, metric) for n in names}
        out[rep.law_id] = {n: v for n, v in values.items() if v is not None}
    plain = [rep for rep in beside.laws if law_fit_runs(rep) is None]
    for note in fitted_on_other_points(plain, beside.points):
        click.echo(f"Note: {note}", err=True)
    for rep in beside.laws:
        data = rep.conventions.get("data")
        if law_fit_runs(rep) is not None:
            click.echo(_runs_note(rep, beside), err=True)
        elif data:
            click.echo(paper_data_note(rep.law_id, data, [len(beside.points)]), err=True)
    return out


def _runs_note(law: ReportedLaw, beside: _Beside) -> str:
    """The one note beside a law naming the runs its paper fitted: what the paper fitted, and
    whether this fit redid that (the default) or fitted every point (--all-points)."""
    from kb.registry import law_fit_runs

    runs = law_fit_runs(law) or ()
    fitted_by = law.conventions.get("data") or f"{len(runs)} named runs (conventions.fit_runs)"
    head = f"Note: {law.law_id} was fitted by its paper on: {fitted_by}; "
    n, n_all = len(beside.points), beside.n_points_all
    if beside.paper is not None:
        return (
            head + f"this refit uses those {len(runs)} runs (conventions.fit_runs; --json's "
            f"selection_source says where they are stated): {n} of {n_all} points; "
            f"--all-points fits all {n_all}"
        )
    return (
        head + f"this refit uses all {n} points (--all-points), so its values are not the "
        f"paper's fit redone; without --all-points `kb fit` refits its {len(runs)} runs"
    )


def _parse_where(items: tuple[str, ...]) -> dict[str, str]:
    """``--where FIELD=VALUE`` options as a dict; a usage error names one without '='."""
    out: dict[str, str] = {}
    for item in items:
        field, sep, value = item.partition("=")
        if not sep or not field.strip():
            raise click.BadParameter(
                f"{item!r}: expected FIELD=VALUE, e.g. train_dataset=rpj", param_hint="'--where'"
            )
        out[field.strip()] = value.strip()
    return out


def _note_pooled(points: list[Point], metric: str | None, where: dict[str, str]) -> None:
    """Say on stderr when the fitted ``points`` span a few groups (training sets, tasks) pooled."""
    from kb.optima import pooled_fields

    for field, values in pooled_fields(points).items():
        if field in where:
            continue
        shown = ", ".join(values[:6]) + (" ..." if len(values) > 6 else "")
        click.echo(
            f"Note: these {len(points)} points of {metric} span {len(values)} values of "
            f"{field} ({shown}), pooled into one fit; --where {field}=VALUE fits one",
            err=True,
        )
