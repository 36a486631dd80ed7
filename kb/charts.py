"""The charts of a comparison and of a fit (Vega-Lite through Altair), and chart files.

One builder per chart, used by the app's Compare and Refit pages and by `kb compare --plot`
and `kb fit --plot`, so a figure in a paper is the chart the app shows:

* ``compare_chart``: the forest plot of one quantity, a point per law or fit with its interval;
* ``fit_chart``: data, fitted law and bootstrap band on log axes (None for a form without a
  curve), and ``residual_chart`` under it; ``fit_figure`` stacks the two for a file.

``standalone=True`` is for a file, which has no caption beside it: the chart then carries a
title, the caption as its subtitle, a fixed width and (Compare) the verdict legend that the app
states in its caption. ``save_chart`` writes any of ``kb.plotfile.PLOT_FORMATS``.
"""

from __future__ import annotations

import io
import json
import math
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import altair as alt
import numpy as np

from kb.derive import QUANTITY_LABELS
from kb.errors import BadInputError
from kb.plotfile import check_plot_path, write_atomic

if TYPE_CHECKING:
    from kb.compare import ComparisonRow
    from kb.fit import FitResult
    from kb.records import Point
    from kb.store import Store

__all__ = [
    "VERDICT_MARKS",
    "VERDICT_SHAPES",
    "axis_title",
    "compare_caption",
    "compare_chart",
    "compare_records",
    "dataset_fit_figure",
    "fit_caption",
    "fit_chart",
    "fit_figure",
    "metric_title",
    "points_fit_figure",
    "residual_chart",
    "save_chart",
]

VERDICT_SHAPES = {
    "reference": "diamond",
    "direct": "circle",
    "converted": "triangle-up",
    "not_comparable": "cross",
}
# ComparisonRow.method values of numbers we computed (drawn hollow), not stated by the source.
COMPUTED_METHODS = ("formula", "conversion")
VERDICT_MARKS = {"reference": "◆", "direct": "●", "converted": "▲", "not_comparable": "✚"}
FILE_WIDTH = 560  # px: a file has no container to stretch to
FIT_COLOR = "#d62728"
# A file's text: one sans-serif face with the glyphs we use (∝, −), so no run of a title falls
# back to another font mid-line (vl-convert rendered "N_opt ∝ C^a" in a serif face).
FILE_FONT = "DejaVu Sans, Liberation Sans, Arial, sans-serif"
# Log axes spanning decades: label the powers of ten only (1e18, 1e19), not 2e+19, 3e+19.
DECADE_LABELS = (
    "abs(log(datum.value) / LN10 - round(log(datum.value) / LN10)) < 1e-6"
    " ? '1e' + round(log(datum.value) / LN10) : ''"
)
# Axis titles with units (kb.records.Point's fields); an extras axis keeps its own name.
AXIS_TITLES = {
    "compute_flops": "training compute C (FLOP)",
    "n_params": "parameters N",
    "n_tokens": "training tokens D",
}
Chart = alt.Chart | alt.LayerChart | alt.VConcatChart


def _clean(value: Any) -> Any:
    """A JSON-safe cell: NaN and inf become null (Vega-Lite reads JSON, which has no NaN)."""
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def _records(columns: Mapping[str, Any]) -> list[dict[str, Any]]:
    """Rows from equal-length columns (arrays or lists)."""
    names = list(columns)
    cols = [list(columns[n]) for n in names]
    return [
        dict(zip(names, (_clean(v) for v in row), strict=True)) for row in zip(*cols, strict=True)
    ]


# --- Compare -----------------------------------------------------------------------------------


def compare_records(rows: Iterable[ComparisonRow]) -> list[dict[str, Any]]:
    """One plotted (and tabled) row per comparison row: the app's table and the chart's data."""
    return [
        {
            "source": r.source_id
            if r.kind == "reported"
            else f"fit: {r.dataset} ({r.source_id[:6]})",
            "value": r.value,
            "low": r.interval[0] if r.interval else None,
            "high": r.interval[1] if r.interval else None,
            "interval_kind": r.interval_kind,
            "verdict": r.verdict,
            "method": r.method,
            "reasons": "; ".join(r.reasons),
            "title": r.title,
            "arxiv_id": r.arxiv_id,
            "dataset": r.dataset,
            "kind": r.kind,
            "domain": r.domain,
            "derivation": r.derivation,
            "notes": r.notes,
            # the budget a value at a budget (tokens_per_param) is read at; exponents have none
            **({"at_flops": r.at_flops} if r.at_flops is not None else {}),
        }
        for r in rows
    ]


def _log_axis(values: Sequence[float]) -> bool:
    """Log scale when every value is positive and they span more than a factor of 20."""
    positive = bool(values) and all(v > 0 for v in values)
    return positive and max(values) / min(values) > 20


def _computed_here(record: Mapping[str, Any]) -> bool:
    """True for a value we computed from the source's parameters (``ComparisonRow.method``)."""
    return record.get("method") in COMPUTED_METHODS


def compare_caption(records: Sequence[Mapping[str, Any]], *, standalone: bool = False) -> str:
    """What the forest plot shows: the app's caption (with the verdict key and a pointer to the
    table), or a file's subtitle (the key is the shape legend; no table beside it)."""
    head = ("Log scale. " if _log_axis([r["value"] for r in records]) else "") + (
        "Marks are point estimates; lines are intervals where one exists, of the kind each "
        "source gives (percentiles, standard errors"
    )
    # Kaplan et al.'s a = 0.575 is ours (β/(α+β) of their L(N, D) fit), not a number they state;
    # it was drawn like their stated 0.73.
    hollow = (
        " Hollow marks: computed here from the source's fitted parameters (a formula of its "
        "form, or a = 1 − b), not stated by the source (the method column says which)."
        if any(_computed_here(r) for r in records)
        else ""
    )
    if standalone:  # no table beside a file: name each source's kind of interval here
        kinds: dict[str, list[str]] = {}
        for r in records:
            if r.get("interval_kind"):
                kinds.setdefault(str(r["interval_kind"]), []).append(str(r["source"]))
        named = "".join(f" {', '.join(srcs)}: {kind}." for kind, srcs in kinds.items())
        hollow = hollow.replace(" (the method column says which)", "")  # no column here
        return (
            head + "); shapes: verdict against the reference (its value: the dashed line)."
            + named + hollow
        )  # fmt: skip
    return (
        head
        + ": the interval_kind column says which). Verdict against the reference: "
        + ", ".join(f"{VERDICT_MARKS[v]} {v.replace('_', ' ')}" for v in VERDICT_SHAPES)
        + "; the dashed line is the reference's value."
        + hollow
    )


def compare_chart(
    records: Sequence[Mapping[str, Any]], quantity: str, *, standalone: bool = False
) -> alt.LayerChart:
    """The forest plot of one quantity: rows as ``compare_records`` gives them (or a subset).

    Raises:
        BadInputError: no rows (an empty chart draws only axes).
    """
    if not records:
        raise BadInputError(f"no value of {quantity!r} to plot")
    data = alt.InlineData(values=[{k: _clean(v) for k, v in r.items()} for r in records])
    log_axis = _log_axis([r["value"] for r in records])
    # padding: a mark at the domain's end was cut in half by the axis
    scale = alt.Scale(type="log", padding=8) if log_axis else alt.Scale(zero=False, padding=8)
    label = QUANTITY_LABELS.get(quantity)
    budget = records[0].get("at_flops")
    if label and budget:
        label += f", C = {float(budget):.3g} FLOPs"
    # Longer source ids than the theme's cut (many share a long prefix, e.g. bhagia2024_step1_...);
    # in the app the verdict key is in the caption (a legend beside the plot left it no width at
    # 390 px); one shape per verdict on every quantity, whichever occur, so a shape means one thing.
    base = alt.Chart(data).encode(
        # The rows' order, whichever layer (stated or computed) draws a row's mark.
        y=alt.Y("source:N", sort=list(dict.fromkeys(str(r["source"]) for r in records)),
                title=None,
                axis=alt.Axis(labelLimit=240 if standalone else 180, labelOverlap=False))
    )  # fmt: skip
    bars = base.mark_rule(strokeWidth=2).encode(
        # tickCount: at 560 px the default ticks every 0.05 ran into each other
        x=alt.X("low:Q", scale=scale, title=quantity, axis=alt.Axis(tickCount=8)),
        x2="high:Q",
        color="kind:N",
    )
    shape_legend = alt.Legend(orient="bottom", title="verdict") if standalone else None
    encoding: dict[str, Any] = {
        "x": alt.X("value:Q", scale=scale),
        "color": alt.Color("kind:N", title="source", legend=alt.Legend(orient="top")),
        "shape": alt.Shape(
            "verdict:N",
            scale=alt.Scale(domain=list(VERDICT_SHAPES), range=list(VERDICT_SHAPES.values())),
            legend=shape_legend,
        ),
        "tooltip": ["title:N", "dataset:N", "value:Q", "low:Q", "high:Q", "interval_kind:N",
                    "verdict:N", "method:N", "derivation:N", "notes:N"],
    }  # fmt: skip
    # Filled: a value the source states; hollow: one computed here (compare_caption). Two layers,
    # not a conditional fill, which left the verdict legend's symbols without a colour.
    computed = " || ".join(f"datum.method == '{m}'" for m in COMPUTED_METHODS)
    stated = base.transform_filter(f"!({computed})").mark_point(filled=True, size=80)
    ours = base.transform_filter(computed).mark_point(filled=False, size=80, strokeWidth=2)
    # The reference's value as a dashed line down the plot: the verdicts are judged against it,
    # and without the line a reader had to find its diamond and carry its x by eye.
    reference = (
        alt.Chart(data)
        .transform_filter("datum.verdict == 'reference'")
        .mark_rule(strokeDash=[4, 3], color="#888888", strokeWidth=1)
        .encode(x=alt.X("value:Q", scale=scale), tooltip=["title:N", "value:Q"])
    )
    chart = alt.LayerChart(
        layer=[reference, bars, stated.encode(**encoding), ours.encode(**encoding)]
    ).properties(height=max(160, 28 * len(records)))
    if standalone:
        chart = chart.properties(
            width=FILE_WIDTH,
            title=alt.Title(
                f"{quantity}: {label}" if label else quantity,
                subtitle=_wrap(compare_caption(records, standalone=True)),
                anchor="start",
            ),
        )
    return chart


def _wrap(text: str, width: int = 95) -> list[str]:
    """Subtitle lines (Vega-Lite does not wrap a title)."""
    lines: list[str] = []
    for word in text.split():
        if lines and len(lines[-1]) + 1 + len(word) <= width:
            lines[-1] += " " + word
        else:
            lines.append(word)
    return lines


# --- Fit ---------------------------------------------------------------------------------------


def axis_title(name: str) -> str:
    """An input's axis title with its unit (``compute_flops`` -> training compute C (FLOP))."""
    return AXIS_TITLES.get(name, name)


def metric_title(metric: str, points: Sequence[Point] = ()) -> str:
    """The metric's axis title: its name and the unit its points give, when they agree."""
    units = {p.unit for p in points if p.unit}
    return f"{metric} ({units.pop()})" if len(units) == 1 else metric


def fit_caption(result: FitResult) -> str:
    """What the fit chart shows (the app's caption, a file's subtitle)."""
    return (
        "Points: the data. Line: the fitted law"
        + (" along its compute-optimal frontier" if len(result.form.inputs) == 2 else "")
        + "; dashed beyond the data"
        + (
            f"; band: {result.level:.0%} bootstrap percentile range, the level of the "
            "parameter intervals."
            if _has_band(result)
            else "."
        )
    )


def _has_band(result: FitResult) -> bool:
    return result.boot_params is not None and len(result.boot_params) > 0


def _curve_records(result: FitResult, X: Mapping[str, Any]) -> list[dict[str, Any]]:
    from kb.curves import fitted_curve

    curve = fitted_curve(result, X)
    inside = ~np.asarray(curve["extrapolated"], dtype=bool)
    segment = np.where(inside, "fitted law (data range)", "extrapolation")
    rows = _records({"x": curve["x"], "fit": curve["fit"], "low": curve["low"],
                     "high": curve["high"], "segment": segment})  # fmt: skip
    # The last point inside the data also starts the dashed part, so the line has no gap.
    last = int(np.flatnonzero(inside)[-1]) if inside.any() else -1
    if 0 <= last < len(rows) - 1:
        rows.append({**rows[last], "segment": "extrapolation"})
    return rows


def fit_chart(
    result: FitResult, X: Mapping[str, Any], y: Any, *, metric: str, standalone: bool = False
) -> alt.LayerChart | None:
    """Data, fitted law (dashed beyond the data) and bootstrap band against the fit's axis, on
    log axes; None for a form drawn at its points only (``kb.curves.curve_axis``).

    ``metric`` is the y axis title (``metric_title`` adds the unit).
    """
    from kb.curves import curve_axis, observed_frame  # kb.curves imports kb.fit (scipy)

    axis = curve_axis(result)
    if axis is None:
        return None
    obs = _records(observed_frame(result, X, y))
    curve = _curve_records(result, X)
    # Log y as the app always drew it, unless a value is not positive (a log-probability), the
    # bootstrap band's included (a band reaching 0 or below cannot be drawn on a log axis).
    shown = [r["value"] for r in obs] + [r["fit"] for r in curve]
    band = [r[k] for r in curve for k in ("low", "high") if r.get(k) is not None]
    positive = all(v is not None and v > 0 for v in shown) and all(v > 0 for v in band)
    # Not nice: a loss from 2 to 5 on a nice log scale filled a decade, 1 to 10.
    y_scale = alt.Scale(type="log" if positive else "linear", zero=False, nice=False)
    xs = alt.X(
        "x:Q",
        scale=alt.Scale(type="log", nice=False),
        title=axis_title(axis),
        axis=alt.Axis(labelExpr=DECADE_LABELS),
    )
    ys = alt.Y("value:Q", scale=y_scale, title=metric)
    dots = (
        alt.Chart(alt.InlineData(values=obs)).mark_circle(size=30, opacity=0.6).encode(x=xs, y=ys)
    )
    line = (
        alt.Chart(alt.InlineData(values=curve))
        .mark_line(color=FIT_COLOR)
        .encode(
            x="x:Q",
            y=alt.Y("fit:Q", title=metric),
            strokeDash=alt.StrokeDash(
                "segment:N",
                title=None,
                # on top in the app: beside the plot it took a third of the width at 390 px;
                # inside the plot in a file, where above it sat over the title
                legend=alt.Legend(orient="top-right" if standalone else "top"),
                scale=alt.Scale(domain=["fitted law (data range)", "extrapolation"]),
            ),
        )
    )
    layers: list[alt.Chart] = [dots, line]
    if any(r["low"] is not None for r in curve):
        band = (
            alt.Chart(alt.InlineData(values=curve))
            .mark_area(opacity=0.2, color=FIT_COLOR)
            .encode(x="x:Q", y="low:Q", y2="high:Q")
        )
        layers.insert(0, band)
    chart: alt.LayerChart = alt.LayerChart(layer=layers).properties(height=380)
    if standalone:
        chart = chart.properties(
            width=FILE_WIDTH,
            title=alt.Title(_fit_title(result), subtitle=_wrap(fit_caption(result)),
                            anchor="start"),
        )  # fmt: skip
    return chart


def _fit_title(result: FitResult) -> str:
    where = result.options.get("dataset") or result.options.get("data")
    for group in (result.options.get("setting"), result.options.get("where")):
        if isinstance(group, Mapping):
            where = f"{where}, " + ", ".join(f"{k}={v}" for k, v in group.items())
    return f"{result.form.name} fitted to {where}" if where else result.form.name


def residual_chart(
    result: FitResult, X: Mapping[str, Any], y: Any, *, standalone: bool = False
) -> alt.Chart:
    """Residuals of the fitted points against the fit's axis (log x)."""
    from kb.curves import curve_axis, observed_frame

    axis = curve_axis(result) or result.form.inputs[0]
    # Two lines: on one, the title outran the plot's height and was cut ("ln(observed / fitte").
    title = (["residual", "ln(observed / fitted)"] if result.form.space == "log"
             else ["residual", "observed − fitted"])  # fmt: skip
    chart: alt.Chart = (
        alt.Chart(alt.InlineData(values=_records(observed_frame(result, X, y))))
        .mark_circle(size=25)
        .encode(
            x=alt.X(
                "x:Q",
                scale=alt.Scale(type="log", nice=False),
                title=axis_title(axis),
                axis=alt.Axis(labelExpr=DECADE_LABELS),
            ),
            y=alt.Y("residual:Q", title=title),
        )
        .properties(height=200)
    )
    if standalone:
        chart = chart.properties(
            width=FILE_WIDTH, title=alt.Title("Residuals", anchor="start", fontSize=12)
        )
    return chart


def fit_figure(result: FitResult, X: Mapping[str, Any], y: Any, *, metric: str) -> alt.VConcatChart:
    """A fit for a file: the fit chart (when the form has a curve) above its residuals."""
    charts: list[alt.LayerChart | alt.Chart] = []
    top = fit_chart(result, X, y, metric=metric, standalone=True)
    if top is not None:
        charts.append(top)
    charts.append(residual_chart(result, X, y, standalone=True))
    # One x scale for both panels: the residuals' own domain ended at the last point while the
    # fit's ran on into its extrapolation, so a point and its residual were not one above the
    # other (Gadre et al.'s rpj runs: the fit's axis to 8e22, the residuals' to 1e22).
    figure: alt.VConcatChart = alt.VConcatChart(vconcat=charts, spacing=24).resolve_scale(
        x="shared"
    )
    return figure


def dataset_fit_figure(store: Store, result: FitResult) -> alt.VConcatChart:
    """``fit_figure`` of a ``kb.fit.fit_dataset`` result, on the points it was fitted to (its
    metric, point selection, ``where`` and setting)."""
    from kb.fit import dataset_points, select_points
    from kb.optima import points_where, select_setting

    dataset = str(result.options["dataset"])
    points, _ = dataset_points(store, dataset, result.options.get("metric"))
    points = select_points(points, str(result.options.get("points", "all")))
    where = result.options.get("where")
    if where:  # the plot drew every group's points around a fit of one (kb fit --where)
        points = points_where(points, where, dataset=f"dataset {dataset!r}")
    setting = result.options.get("setting")
    if setting:
        _, points = select_setting(points, json.dumps(setting), dataset=f"dataset {dataset!r}")
    return points_fit_figure(result, points)


def points_fit_figure(result: FitResult, points: Sequence[Point]) -> alt.VConcatChart:
    """``fit_figure`` of a fit on ``points`` (those fitted: ``kb.fit.fit_upload``'s, or a
    dataset's as ``dataset_fit_figure`` selects them)."""
    from kb.fit import points_to_arrays

    metric = str(result.options.get("metric") or (points[0].metric if points else "value"))
    X, y, _ = points_to_arrays(points, result.form, x=str(result.options.get("x", "x")))
    return fit_figure(result, X, y, metric=metric_title(metric, points))


# --- Files -------------------------------------------------------------------------------------


def save_chart(chart: Chart, path: str | Path) -> Path:
    """Write ``chart`` to ``path`` in the format its extension names (``PLOT_FORMATS``),
    atomically; .svg, .png and .pdf are rendered by vl-convert-python (Altair's engine).

    Raises:
        BadInputError: an unknown extension, a missing folder, or no vl-convert-python.
    """
    path = check_plot_path(path)
    fmt = path.suffix.lower().lstrip(".")
    chart = chart.configure(font=FILE_FONT)
    try:
        import vl_convert  # noqa: F401  (Altair imports it itself; here to say what is missing)
    except ImportError as err:
        if fmt != "html":
            raise BadInputError(
                f"{path}: writing .{fmt} needs the vl-convert-python package "
                "(pip install vl-convert-python); .html works without it"
            ) from err
        text = chart.to_html()  # loads Vega from a CDN when opened
        write_atomic(path, text, "the chart")
        return path
    buffer: io.BytesIO | io.StringIO = io.StringIO() if fmt in ("html", "svg") else io.BytesIO()
    if fmt == "html":
        chart.save(buffer, format="html", inline=True)  # opens offline
    elif fmt == "png":
        chart.save(buffer, format="png", scale_factor=2)
    elif fmt == "svg":
        chart.save(buffer, format="svg")
    else:
        chart.save(buffer, format="pdf")
    value = buffer.getvalue()
    write_atomic(path, value, "the chart")
    return path
