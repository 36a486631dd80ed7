"""Refit page: fit a law form to a released dataset (or an uploaded CSV) in the browser.

Choose data, a law form and the fitting options, fit with a progress bar, then read the fit:
data and fitted curve on log-log axes with the bootstrap extrapolation band, residuals,
parameters with intervals next to what the papers reported, the held-out error, and downloads.
Every control lives in the URL (app.urlstate): the data source, dataset, metric (a dataset's, or
an uploaded file's when it holds several: one is fitted, as `kb fit --data` fits), law, recipe,
x, the setting (for a dataset holding several experimental settings, e.g. Porian et al.'s 15),
the group of points (*Only points with*: a dataset's or an uploaded file's, as `kb fit --where`),
the points (*Points*: where the law beside the fit names the runs its paper fitted,
``conventions.fit_runs``, those runs by default, or every point, as `kb fit --paper-runs /
--all-points`) and the fitting options, so a shared link refits what its sender saw. The
published law shown beside the fit is the one for the chosen setting when the registry names it
(``conventions.setting``).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Iterable, Sequence
from typing import Any

import pandas as pd
import streamlit as st

from app.resources import get_store, show_error, warn_stale_laws
from app.urlstate import UrlState
from kb.charts import fit_caption, fit_chart, metric_title, residual_chart
from kb.datasets import dataset_hint, default_metric, list_datasets, metrics, points, x_axes
from kb.errors import FitError, KBError
from kb.fit import (
    SELECT_ALL,
    SELECT_PAPER_RUNS,
    FitResult,
    Holdout,
    PaperRuns,
    fit_points,
    holdout_column,
    mixed_conventions,
    paper_runs,
    points_to_arrays,
    selection_fields,
    upload_points,
)
from kb.frontier import AXES as HOLDOUT_AXES
from kb.laws import FORMS, LawForm
from kb.optima import points_where, pooled_fields, setting_choices, settings
from kb.recipes import RECIPES
from kb.records import Point, ReportedLaw
from kb.registry import (
    fitted_on_other_points,
    law_fit_runs,
    laws_beside_refit,
    reported_value,
    run_points,
)
from kb.uploads import MAX_UPLOAD_BYTES, parse_upload, template_csv

MAX_BOOT = 2000
# The largest whole number a browser holds exactly (Streamlit's number input bound): a link's
# larger seed was shown as 1e+30 and the fit quietly ran with another seed.
MAX_SEED = 2**53 - 1
DEFAULT_BOOT = 200
DEFAULT_HOLDOUT = 0.2
MAX_HOLDOUT = 0.5
ALL_SETTINGS = "all settings"
ALL_POINTS = "all points"
MAX_SETTINGS = 30
TABLE_ROW = 35  # px: Streamlit's dataframe row height


def _sig(value: float) -> str:
    """``value`` to six significant figures, as Python's %g writes it."""
    return f"{value:.6g}"


store = get_store()
if store is None:
    st.stop()
st.title("Refit a scaling law")
url = UrlState("refit", (
    "source", "dataset", "metric", "law", "recipe", "x", "setting", "where", "selection",
    "delta", "drop", "boot", "seed", "holdout_axis", "holdout", "min_n",
))  # fmt: skip
SOURCES = {"dataset": "Released dataset", "upload": "Upload a CSV"}
# The fit's controls are not drawn while no file is uploaded (the page stops first), and
# Streamlit then drops their values: drawn again after the upload, the browser showed each at
# its first option or minimum (law power_law, Huber delta 1e-05, 0 bootstrap refits) while the
# page read the URL's (chinchilla), and Fit sent the browser's. Re-assigning a value keeps it
# alive across the runs that do not draw it (Streamlit's documented way).
for _key in (
    "refit_law", "refit_recipe", "refit_x", "refit_setting", "refit_where", "refit_selection",
    "refit_delta", "refit_drop", "refit_boot", "refit_seed", "refit_hold_axis", "refit_hold_frac",
    "refit_min_n",
):  # fmt: skip
    if _key in st.session_state:
        st.session_state[_key] = st.session_state[_key]


def _split_names(points: Sequence[Point], form: LawForm, x_axis: str) -> Callable[[str], str]:
    """The held-out box's names: each axis as the column its split really uses in ``points``.

    Data without compute (Caballero et al.'s training-set sizes) is split "along compute" by the
    law's x (kb.fit.holdout_column); the box said "compute" all the same.
    """
    try:
        columns, _, _ = points_to_arrays(points, form, x=x_axis)
    except KBError:  # the fit itself will say what is missing
        return str
    names = {}
    for axis in HOLDOUT_AXES:
        column = holdout_column(columns, axis, x_axis)
        if column is None:
            names[axis] = f"{axis} (not in this data)"
        elif column in (axis, "compute_flops", "6ND"):
            names[axis] = axis
        else:
            names[axis] = f"{column} (the law's x; no {axis} in this data)"
    return lambda axis: names.get(axis, axis)


def _pick(
    label: str,
    options: list[str],
    key: str,
    name: str,
    default: str | None = None,
    expected: Callable[[str], str] | None = None,
    late: bool = False,
) -> str:
    """A selectbox kept in the URL (always: a link says what it showed); ``late``: drawn only
    once an uploaded file came (UrlState.choice)."""
    default = default if default in options else (options[0] if options else None)
    url.choice(name, key, options, default, always=True, expected=expected, late=late)
    return str(st.selectbox(label, options, key=key))


def _other_runs_notes(
    laws: Iterable[ReportedLaw], chosen: Sequence[Point], selection: str
) -> list[str]:
    """Notices for the laws naming the runs their paper fitted whose runs this fit did not use
    (every point chosen, or the N filter dropped some): its values are then no redone fit."""
    fitted = {p.run_key for p in chosen}
    notes = []
    for law_ in laws:
        runs = law_fit_runs(law_)
        if runs is None or fitted == set(runs):
            continue
        used = (
            f"all {len(chosen)} points"
            if selection == SELECT_ALL
            else f"{len(fitted & set(runs))} of them (the N ≥ filter dropped the others)"
        )
        notes.append(
            f"{law_.law_id} was fitted by its paper on {len(runs)} of these runs; this refit "
            f"uses {used}, so its values are not the paper's fit redone"
            + (": *Points: the runs the paper fitted* redoes it." if selection == SELECT_ALL
               else ".")
        )  # fmt: skip
    return notes


def _parsed_upload(raw: bytes, digest: str, name: str) -> tuple[list[Point], list[str], str | None]:
    """An uploaded file's points, its metrics, and the one `kb fit --data` fits when none is
    named (None: none stands out), read once per file (its content hash and name).

    Every run parsed the file again (3.6 s for 50,000 rows), and a file of several metrics went
    through ``upload_points`` twice per run, once only to learn its default metric. Kept in the
    session, not ``st.cache_data`` (each run would unpickle a copy: 1.3 s for those rows) nor
    ``st.cache_resource`` (one user's file held for every session, after they left too).

    Raises:
        BadInputError: the file cannot be read (``kb.uploads.parse_upload``); nothing is kept.
    """
    kept = st.session_state.get("refit_parsed")
    if kept is not None and kept[0] == (digest, name):
        read: tuple[list[Point], list[str], str | None] = kept[1]
        return read
    parsed = parse_upload(raw, name=name)
    file_metrics = sorted({p.metric for p in parsed})
    by_default: str | None = None
    if len(file_metrics) > 1:
        try:  # the metric `kb fit --data` fits when none is named (one named like a loss)
            by_default = upload_points(parsed, name=name)[1]
        except FitError:  # none stands out: the reader chooses
            by_default = None
    st.session_state["refit_parsed"] = ((digest, name), (parsed, file_metrics, by_default))
    return parsed, file_metrics, by_default


url.choice("source", "refit_source", list(SOURCES), "dataset")
source = st.radio(
    "Data", list(SOURCES), format_func=SOURCES.__getitem__, horizontal=True, key="refit_source"
)
data_name = "upload"
data_label = ""  # the data as messages name it: the dataset, or the uploaded file's name
data_sig = ""  # an upload's content hash: a new file with as many rows is other data
pts = []
try:
    if source == "dataset":
        st.session_state.pop("refit_parsed", None)
        names = [d.name for d in list_datasets(store)]
        if not names:
            url.save(complete=False)
            st.info("No released dataset is in the knowledge base: `kb ingest ../shared/datasets`.")
            st.stop()
        data_cols = st.columns(2)
        with data_cols[0]:
            data_name = _pick(
                "Dataset", names, "refit_dataset", "dataset", "epoch_chinchilla",
                expected=lambda text: f"a released dataset: {dataset_hint(text, names)}",
            )  # fmt: skip
        with data_cols[1]:
            metric = _pick(
                "Metric", metrics(store, data_name), "refit_metric", "metric",
                default_metric(store, data_name),
            )  # fmt: skip
        pts = points(store, data_name, metric=metric)
        data_label = data_name
    else:
        for name in ("dataset", "setting"):
            url.unused(name, "an uploaded CSV is fitted")
        st.download_button(
            "Download the CSV template", template_csv(), file_name="scaling_points.csv",
            mime="text/csv", key="refit_template",
        )  # fmt: skip
        upload = st.file_uploader(
            f"Your points (CSV, at most {MAX_UPLOAD_BYTES // 1_000_000} MB)", type=["csv"],
            key="refit_upload",
        )  # fmt: skip
        if upload is None:
            st.session_state.pop("refit_parsed", None)
            url.save(complete=False)
            st.stop()
        raw = upload.getvalue()
        data_sig = hashlib.sha256(raw).hexdigest()
        data_label = upload.name
        # One metric is fitted, chosen as `kb fit --data FILE --metric M` chooses it
        # (kb.fit.upload_points): a file of `loss` and `error` rows was fitted as one cloud.
        parsed, file_metrics, by_default = _parsed_upload(raw, data_sig, upload.name)
        chosen_metric: str | None = None
        linked = st.query_params.get("metric")
        # The link was read before the file came (url.reload is over): its metric is named here.
        if linked not in (None, *file_metrics) and "refit_metric" not in st.session_state:
            st.warning(
                f"Ignored from the link: `metric={linked}` (`{upload.name}` holds "
                f"{', '.join(f'`{m}`' for m in file_metrics)}); "
                + ("the default is shown instead." if len(file_metrics) > 1 else "it is fitted.")
            )
        if len(file_metrics) > 1:
            url.choice(
                "metric", "refit_metric", file_metrics, by_default, always=True,
                expected=f"a metric of `{upload.name}`: one of {', '.join(file_metrics)}",
            )  # fmt: skip
            chosen_metric = st.selectbox(
                "Metric", file_metrics, key="refit_metric", placeholder="Choose a metric",
                help="Your file holds several metrics; one is fitted.",
            )  # fmt: skip
            if chosen_metric is None:  # none named like a loss: the reader picks
                url.save(complete=False)
                st.info(
                    f"`{upload.name}` holds the metrics {', '.join(file_metrics)}: choose the "
                    "one to fit in the Metric box."
                )
                st.stop()
        else:
            url.unused("metric", f"`{upload.name}` holds one metric")
        pts, metric = upload_points(parsed, name=upload.name, metric=chosen_metric)
except KBError as err:
    url.save(complete=False)
    show_error(err)
    st.stop()

form_cols = st.columns(3)
with form_cols[0]:
    law = _pick("Law form", list(FORMS), "refit_law", "law", "chinchilla")
with form_cols[1]:
    recipe_name = _pick("Recipe", list(RECIPES), "refit_recipe", "recipe", "standard")
recipe = RECIPES[recipe_name]
form = FORMS[law]
with form_cols[2]:
    if "x" in form.inputs:
        x_axis = _pick("x (single-input forms)", x_axes(pts), "refit_x", "x")
    else:
        x_axis = "compute_flops"
        url.unused("x", f"the law {law} has no single input")

# A dataset holding several experimental settings (text-valued extras: Porian et al.'s 15, runs
# of Gadre et al.'s) is fitted one setting at a time, or pooled when the law allows it (the
# points count N and compute one way).
setting: dict[str, str] | None = None
setting_name = ""
choices = setting_choices(pts) if source == "dataset" else {}
pooling = mixed_conventions(pts, law, x_axis) if len(choices) > 1 else None
# Text extras that name every run (Epoch's point colours, Gadre et al.'s run names) are no
# settings a reader picks from: past MAX_SETTINGS the box is offered only when pooling is refused.
if len(choices) > 1 and (pooling or len(choices) <= MAX_SETTINGS):
    options = ([] if pooling else [ALL_SETTINGS]) + list(choices)
    setting_name = _pick(
        "Setting", options, "refit_setting", "setting", options[0],
        expected=lambda text: f"a setting of `{data_name}`"
        + (", but this law may not pool them" if text == ALL_SETTINGS else ""),
    )  # fmt: skip
    if pooling:
        st.caption(f"Settings are fitted one at a time here: {pooling.split(':')[0]}.")
    if setting_name != ALL_SETTINGS:
        setting = json.loads(choices[setting_name])
        pts = settings(pts)[choices[setting_name]]
else:
    if source == "dataset":
        url.unused("setting", f"`{data_name}` has no settings to choose from")
    if len(choices) == 1:  # one setting: it is the dataset's
        setting = json.loads(next(iter(choices.values()))) or None
# Groups a scaling fit should not pool but that are no settings to pick (Gadre et al.'s three
# training sets, whose runs each carry their own name; Cherti et al.'s 40 downstream tasks; an
# upload's text column of a few values): one box of "field = value" choices, as `kb fit --where`
# (kb.optima.pooled_fields). An upload's box is drawn once its file came, after the link was
# read: a link's group it lacks is named all the same (``late``).
where_name = ""
where: dict[str, str] | None = None
groups = pooled_fields(pts) if setting is None else {}
late = source == "upload"
if groups:
    options = [ALL_POINTS] + [f"{f} = {v}" for f, values in groups.items() for v in values]
    where_name = _pick(
        "Only points with", options, "refit_where", "where", ALL_POINTS, late=late,
        expected=lambda text: f"a group of `{data_label}`'s points, as `field = value`",
    )  # fmt: skip
    if where_name != ALL_POINTS:
        field, value = where_name.split(" = ", 1)
        where = {field: value}
        pts = points_where(pts, where)
    else:
        st.caption(
            "These points span "
            + ", ".join(f"{len(v)} values of {f}" for f, v in groups.items())
            + ": one fit pools them; *Only points with* fits one group."
        )
else:
    url.unused(
        "where", f"`{data_label}` has no groups of points to choose from",
        late_key="refit_where" if late else None,
    )  # fmt: skip
# The laws whose values stand beside the fit; where one names the runs its paper fitted (Gadre
# et al.: 5 of the 34-35 runs of a training set), those are fitted by default, as `kb audit` and
# `kb fit` do: a refit of every point is compared with a fit of other data.
group = setting or where
beside = laws_beside_refit(store, data_name, law, metric, group) if source == "dataset" else []
released = pts  # before the paper's selection
selection = SELECT_ALL
paper: PaperRuns | None = None
paper_pts: list[Point] = []
try:
    paper = paper_runs(beside)
    if paper is not None:
        paper_pts = run_points(pts, paper.runs, dataset=data_name, where=", ".join(paper.law_ids))
except KBError as err:  # laws naming other runs, or runs this dataset lacks: every point
    st.warning(f"{err}; every point is fitted.")
    paper = None
if paper is not None:
    labels = {
        SELECT_PAPER_RUNS: f"the runs the paper fitted ({len(paper_pts)} of {len(pts)})",
        SELECT_ALL: f"all released points ({len(pts)})",
    }
    url.choice(
        "selection", "refit_selection", list(labels), SELECT_PAPER_RUNS, always=True,
        expected="paper_runs or all",
    )  # fmt: skip
    selection = st.radio(
        "Points", list(labels), format_func=labels.__getitem__, horizontal=True,
        key="refit_selection",
        help="The runs the paper of the law beside this fit fitted, as `kb fit` and `kb audit` "
        "refit them (`--all-points`: every point).",
    )  # fmt: skip
    st.caption(
        f"Why these runs: {' and '.join(f'`{i}`' for i in paper.law_ids)} names them "
        f"(conventions.fit_runs), as stated in: {paper.source or 'no source given'}"
    )
    if selection == SELECT_PAPER_RUNS:
        pts = paper_pts
else:
    url.unused("selection", "no law beside this fit names the runs its paper fitted")
st.caption(
    (f"{len(pts)} of {len(released)}" if len(pts) < len(released) else f"{len(pts)}")
    + f" points of `{metric}` from `{data_name}`"
    + (f", setting *{setting_name}*" if setting_name and setting is not None else "")
    + (f", *{where_name}*" if where is not None else "")
    + (", the runs the paper fitted" if len(pts) < len(released) else "")
    + "."
)
st.code(form.formula, language=None)
# A recipe brings its own Huber delta and points to drop: choosing another recipe resets them
# (the keyed inputs kept the first recipe's values, so the epoch recipe's 5 drops were lost).
max_drop = max(0, len(pts) - 1)
if not url.reload and st.session_state.get("refit_recipe_was") not in (None, recipe_name):
    st.session_state.refit_delta = float(recipe.delta)
    st.session_state.refit_drop = min(int(recipe.drop_highest), max_drop)
st.session_state.refit_recipe_was = recipe_name
# Too few points to hold any out (the 5 runs Gadre et al. fitted, for a 4-parameter law: 4 left
# to fit is refused): no held-out check by default, where Fit failed at once. The default follows
# the points (another selection, dataset or law resets the slider), as the recipe's above.
fits_holdout = len(pts) > len(form.params) + 1
default_holdout = DEFAULT_HOLDOUT if fits_holdout else 0.0
if not url.reload and st.session_state.get("refit_hold_was") not in (None, default_holdout):
    st.session_state.refit_hold_frac = default_holdout
st.session_state.refit_hold_was = default_holdout

url.number("delta", "refit_delta", float(recipe.delta), 1e-5, 10.0)
url.number("drop", "refit_drop", min(int(recipe.drop_highest), max_drop), 0, max_drop, integer=True)
url.number("boot", "refit_boot", DEFAULT_BOOT, 0, MAX_BOOT, integer=True)
url.number("seed", "refit_seed", 0, 0, MAX_SEED, integer=True)
url.choice("holdout_axis", "refit_hold_axis", list(HOLDOUT_AXES), HOLDOUT_AXES[0])
url.number("holdout", "refit_hold_frac", default_holdout, 0.0, MAX_HOLDOUT)
url.number("min_n", "refit_min_n", 0.0, 0.0)
# Open when a link set an option, so the reader sees what differs from the defaults.
options_set = any(
    name in url.wanted()
    for name in ("delta", "drop", "boot", "seed", "holdout_axis", "holdout", "min_n")
)
with st.expander("Options", expanded=options_set):
    fit_cols = st.columns(4)
    delta = fit_cols[0].number_input(
        "Huber δ", min_value=1e-5, max_value=10.0, format="%.4g", key="refit_delta"
    )
    drop = fit_cols[1].number_input(
        "Drop highest-value points", min_value=0, max_value=max_drop, key="refit_drop"
    )
    n_boot = fit_cols[2].number_input(
        "Bootstrap refits", min_value=0, max_value=MAX_BOOT, step=100, key="refit_boot"
    )
    seed = fit_cols[3].number_input("Seed", min_value=0, max_value=MAX_SEED, key="refit_seed")
    holdout_cols = st.columns(4)
    holdout_axis = holdout_cols[0].selectbox(
        "Held-out axis", HOLDOUT_AXES, key="refit_hold_axis",
        format_func=_split_names(pts, form, x_axis),
    )  # fmt: skip
    holdout_frac = holdout_cols[1].slider(
        "Held-out fraction (largest)", 0.0, MAX_HOLDOUT, step=0.05, key="refit_hold_frac",
        help="The largest points along the axis, predicted by a fit of the others (0: none)."
        + ("" if fits_holdout else f" Off by default: {len(pts)} points leave too few to fit "
           f"the law's {len(form.params)} parameters on the others."),
    )  # fmt: skip
    min_params = holdout_cols[2].number_input(
        "Only N ≥", min_value=0.0, format="%.3g", key="refit_min_n",
        help="Drop points of models smaller than this many parameters (0: keep all).",
    )  # fmt: skip
url.save()

chosen = [p for p in pts if not min_params or (p.n_params or 0) >= min_params]
# The points a fit of every point would use (the same N filter): `kb audit`'s n_points_all.
n_all = sum(1 for p in released if not min_params or (p.n_params or 0) >= min_params)
if len(chosen) < len(pts):
    st.caption(f"{len(chosen)} of {len(pts)} points kept by the N ≥ {min_params:.3g} filter.")
if not chosen:
    st.error("No point is left to fit: lower the N filter.")
    st.stop()
run = st.button("Fit", type="primary", key="refit_go")
key = json.dumps(
    [data_name, data_sig, metric, setting_name, where_name, selection, law, recipe_name, x_axis,
     delta, drop, n_boot, seed, holdout_axis, holdout_frac, min_params, len(chosen)], default=str,
)  # fmt: skip
if run:
    bar = st.progress(0.0, text="Fitting…")

    def _progress(done: int, total: int) -> None:
        bar.progress(done / max(total, 1), text=f"Bootstrap refits {done}/{total}")

    try:
        custom = recipe.model_copy(update={"delta": float(delta), "drop_highest": int(drop)})
        fitted = fit_points(
            chosen, law=law, recipe=custom, x=x_axis, n_boot=int(n_boot), seed=int(seed),
            holdout=Holdout(holdout_axis, holdout_frac) if holdout_frac > 0 else None,
            on_progress=_progress,
        )  # fmt: skip
    except KBError as err:
        bar.empty()
        show_error(err)
        st.stop()
    bar.empty()
    st.session_state["refit_result"] = (key, fitted)

stored = st.session_state.get("refit_result")
if not stored or stored[0] != key:
    st.info("Choose the data, the law and the options, then press **Fit**.")
    st.stop()
result: FitResult = stored[1]
X, y, _ = points_to_arrays(chosen, form, x=x_axis)

st.subheader("Fitted parameters")
if source == "dataset":  # the reported values beside the refit are the stored laws'
    warn_stale_laws(store)
reported = {law_.law_id: law_ for law_ in beside}
rows = []
for param, refit_value in {**result.params, **result.derived}.items():
    row: dict[str, Any] = {"parameter": param, "refit": refit_value}
    low_high: Sequence[float | None] = result.intervals.get(param) or [None, None]
    row["low"], row["high"] = low_high[:2]
    for law_id, rep in reported.items():
        row[f"reported ({law_id})"] = reported_value(rep, param, metric)
    rows.append(row)
params_frame = pd.DataFrame(rows)
# Six significant figures (the registry states up to six) in every magnitude, in Python's %g
# notation as `kb fit` prints them (4.064e+08, 0.34, 1.285e-08), formatted here per cell: the
# column format "%.6g" is sprintf-js's, whose %g writes large numbers out in full (A = 406400000,
# N_opt = 65890000000), and the default fixed-point display showed k = 1.285e-08 as 0.00000001.
# The cells stay numbers (sorting, CSV); only their text is formatted.
# Every row without an inner scroll (the default height hid the 11th of a Chinchilla fit), and
# the parameter names whole (N_opt@5.76e+23 was cut to N_opt@5.76).
numbers = [c for c in params_frame.columns if c != "parameter"]
st.dataframe(
    params_frame.style.format(_sig, subset=numbers, na_rep=""), hide_index=True,
    key="refit_params", height=TABLE_ROW * (len(rows) + 1) + 3,
    column_config={"parameter": st.column_config.TextColumn(width="medium", pinned=True)},
)  # fmt: skip
facts = [
    f"objective {result.objective:.4g}",
    f"{result.n_points} of {n_all} points: the runs the paper fitted"
    if selection == SELECT_PAPER_RUNS
    else f"{result.n_points} points",
    f"{result.n_converged}/{result.n_starts} starts converged",
    f"{result.n_boot} bootstrap refits",
]
if result.intervals:  # the columns say low and high; of what, only the JSON's options said
    facts.append(
        f"low, high: {float(result.options.get('level', 0.95)):.0%} bootstrap percentile interval"
    )
st.caption(" · ".join(facts))
plain = [rep for rep in reported.values() if law_fit_runs(rep) is None]
for note in fitted_on_other_points(plain, chosen):
    st.warning(note)
for note in _other_runs_notes(reported.values(), chosen, selection):
    st.warning(note)
if result.holdout:
    h = result.holdout
    by = x_axis if h.get("column") == "x" else h.get("column", h["axis"])
    # The split in a caption: as the metric's label it was cut at 390 px ("by compute_…").
    st.metric(
        "Held-out mean relative error", f"{h['mean_rel_error']:.2%}",
        help=f"RMSE {h['rmse']:.4g} in {h['space']} space; fit on {h['n_train']} points",
    )  # fmt: skip
    st.caption(
        f"Held out: the largest {h['fraction']:.0%} by {by} ({h['n_test']} points, "
        f"{by} ≥ {h['threshold']:.4g}); the fit on the other {h['n_train']} predicts them."
    )

fit_plot = fit_chart(result, X, y, metric=metric_title(metric, chosen))
if fit_plot is not None:
    st.altair_chart(fit_plot, width="stretch")
    st.caption(fit_caption(result))
# A heading, not the chart's title: Streamlit cut the title's top half off at any width.
st.markdown("**Residuals**")
st.altair_chart(residual_chart(result, X, y), width="stretch")

payload = {
    "dataset": data_name, "metric": metric, **result.to_json(), "setting": setting,
    **selection_fields(selection, n_all, paper.source if paper else None),
}  # fmt: skip
if where is not None:
    payload["where"] = where
download_cols = st.columns(2)
download_cols[0].download_button(
    "Download fit (JSON)", json.dumps(payload, indent=2, default=str), file_name=f"fit_{law}.json",
    mime="application/json", key="refit_json",
)  # fmt: skip
download_cols[1].download_button(
    "Download parameters (CSV)", pd.DataFrame(rows).to_csv(index=False),
    file_name=f"fit_{law}.csv", mime="text/csv", key="refit_csv",
)  # fmt: skip
