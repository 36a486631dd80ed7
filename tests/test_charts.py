"""Charts: `kb compare --plot` and `kb fit --plot` write the app's charts as files."""

from __future__ import annotations

import ast
import json
import math
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from click.testing import CliRunner

from kb import plotfile
from kb.charts import compare_chart, compare_records, fit_figure, save_chart
from kb.cli import cli
from kb.compare import compare
from kb.errors import BadInputError, KBError
from kb.fit import fit_points, points_to_arrays
from kb.records import FitRecord
from kb.store import Store
from tests.test_compare import seed
from tests.test_fit import _points

ROOT = Path(__file__).resolve().parent.parent
PNG = b"\x89PNG\r\n\x1a\n"


@pytest.fixture
def compare_db(tmp_path: Path) -> Path:
    db = tmp_path / "kb.duckdb"
    with Store(db) as s:
        seed(s)
    return db


@pytest.fixture
def fit_db(tmp_path: Path) -> Path:
    db = tmp_path / "kb.duckdb"
    with Store(db) as s:
        s.upsert(_points())
    return db


def _inline_values(spec: Any) -> list[dict[str, Any]]:
    """Every row of every inline data set in a Vega-Lite spec (top level, datasets, layers)."""
    found: list[dict[str, Any]] = []
    if isinstance(spec, dict):
        data = spec.get("data")
        if isinstance(data, dict) and isinstance(data.get("values"), list):
            found += data["values"]
        for key, value in spec.items():
            if key == "datasets":
                for rows in value.values():
                    found += rows
            elif key != "data":
                found += _inline_values(value)
    elif isinstance(spec, list):
        for item in spec:
            found += _inline_values(item)
    return found


def _is_svg(data: bytes) -> bool:
    head = data.lstrip()[:200]
    return head.startswith(b"<svg") or (head.startswith(b"<?xml") and b"<svg" in data[:500])


# -- kb compare --plot -------------------------------------------------------------------------


def test_compare_plot_writes_each_format(compare_db: Path, tmp_path: Path) -> None:
    runner = CliRunner()
    for ext in (".svg", ".png", ".pdf", ".html"):
        out = tmp_path / f"a{ext}"
        result = runner.invoke(cli, ["compare", "--quantity", "a", "--json", "--plot", str(out),
                                     "--db", str(compare_db)])  # fmt: skip
        assert result.exit_code == 0, result.output
        # stdout stays JSON lines (the note goes to stderr)
        assert all(json.loads(line) for line in result.stdout.splitlines())
        assert f"wrote {out}" in result.stderr
        data = out.read_bytes()
        if ext == ".svg":
            assert _is_svg(data)
        elif ext == ".png":
            assert data.startswith(PNG)
        elif ext == ".pdf":
            assert data.startswith(b"%PDF-")
        else:
            assert b"<html" in data[:200].lower()
    assert sorted(p.name for p in tmp_path.iterdir() if p.name.startswith(".")) == []


def test_compare_plot_holds_every_value_and_interval(compare_db: Path, tmp_path: Path) -> None:
    with Store(compare_db, read_only=True) as s:
        rows = compare(s, quantity="a")
    out = tmp_path / "a.html"
    result = CliRunner().invoke(
        cli, ["compare", "--quantity", "a", "--plot", str(out), "--db", str(compare_db)]
    )
    assert result.exit_code == 0, result.output
    html = out.read_text(encoding="utf-8")
    spec = compare_chart(compare_records(rows), "a", standalone=True).to_dict()
    plotted = {r["source"]: r for r in _inline_values(spec)}
    assert len(rows) == 5
    for row in rows:
        got = plotted[row.source_id if row.kind == "reported" else f"fit: {row.dataset} "
                      f"({row.source_id[:6]})"]  # fmt: skip
        assert got["value"] == row.value
        assert json.dumps(row.value) in html
        if row.interval:
            assert [got["low"], got["high"]] == row.interval
            assert json.dumps(row.interval[0]) in html
            assert json.dumps(row.interval[1]) in html
        else:
            assert (got["low"], got["high"]) == (None, None)  # JSON null, not NaN
    # a file has no caption beside it: the verdict key is a legend, the caption a subtitle
    shapes = [layer["encoding"]["shape"] for layer in spec["layer"] if "shape" in layer["encoding"]]
    assert shapes[0]["legend"]["title"] == "verdict"
    assert spec["title"]["text"].startswith("a: N_opt")


def test_compare_plot_bad_extension_lists_the_formats(compare_db: Path, tmp_path: Path) -> None:
    out = tmp_path / "a.jpg"
    result = CliRunner().invoke(
        cli, ["compare", "--quantity", "a", "--plot", str(out), "--db", str(compare_db)]
    )
    assert result.exit_code == 2
    assert "a.jpg" in result.output
    assert ".html, .svg, .png, .pdf" in result.output
    assert not out.exists()
    no_ext = CliRunner().invoke(
        cli, ["compare", "--quantity", "a", "--plot", str(tmp_path / "a"), "--db", str(compare_db)]
    )
    assert no_ext.exit_code == 2
    assert "no extension" in no_ext.output


def test_compare_plot_needs_one_quantity(compare_db: Path, tmp_path: Path) -> None:
    out = tmp_path / "all.svg"
    for extra in ([], ["--quantity", "a", "--disagreements"]):
        result = CliRunner().invoke(
            cli, ["compare", *extra, "--plot", str(out), "--db", str(compare_db)]
        )
        assert result.exit_code == 2
        assert "--quantity" in result.output
    assert not out.exists()


# -- kb fit --plot -----------------------------------------------------------------------------


def test_fit_plot_writes_png_and_html_with_points_and_band(fit_db: Path, tmp_path: Path) -> None:
    runner = CliRunner()
    png, html = tmp_path / "fit.png", tmp_path / "fit.html"
    for out in (png, html):
        args = ["-q", "fit", "toy", "--law", "chinchilla", "--boot", "10", "--no-save"]
        result = runner.invoke(cli, [*args, "--plot", str(out), "--db", str(fit_db)])
        assert result.exit_code == 0, result.output
    assert png.read_bytes().startswith(PNG)
    text = html.read_text(encoding="utf-8")
    for point in _points():
        assert json.dumps(point.value) in text
    # The spec of the same fit: every point, and a band with finite bounds around the line.
    pts = _points()
    result_ = fit_points(pts, law="chinchilla", n_boot=10)
    X, y, _ = points_to_arrays(pts, result_.form)
    spec = fit_figure(result_, X, y, metric="loss (nats/token)").to_dict()
    rows = _inline_values(spec)
    assert sorted(r["value"] for r in rows if "value" in r) == sorted(float(v) for v in y)
    band = [r for r in rows if "low" in r]
    assert band
    # a percentile band need not hold the point fit; it holds finite, ordered bounds
    assert all(math.isfinite(r["low"]) and r["low"] <= r["high"] for r in band)
    assert {r["segment"] for r in band} == {"fitted law (data range)", "extrapolation"}
    top = spec["vconcat"][0]
    x_enc = next(
        layer["encoding"]["x"] for layer in top["layer"] if "scale" in layer["encoding"]["x"]
    )
    y_enc = next(
        layer["encoding"]["y"] for layer in top["layer"] if "scale" in layer["encoding"]["y"]
    )
    assert x_enc["scale"]["type"] == y_enc["scale"]["type"] == "log"
    assert x_enc["title"] == "training compute C (FLOP)"
    assert y_enc["title"] == "loss (nats/token)"


def test_fit_plot_bad_path_fails_before_fitting(fit_db: Path, tmp_path: Path) -> None:
    for bad in (tmp_path / "fit.jpeg", tmp_path / "missing" / "fit.svg"):
        result = CliRunner().invoke(
            cli, ["fit", "toy", "--law", "chinchilla", "--plot", str(bad), "--db", str(fit_db)]
        )
        assert result.exit_code == 2, result.output
        assert str(bad) in result.output
    with Store(fit_db, read_only=True) as s:
        assert s.count(FitRecord) == 0  # refused before the fit was saved


def test_fit_plot_read_only_folder_fails_before_fitting(
    fit_db: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A chart folder the user may not write was taken, the fit ran (minutes of bootstrap) and
    ended in a PermissionError traceback, its fit not stored."""
    folder = tmp_path / "figures"
    folder.mkdir()
    real = plotfile.os.access

    def access(p: object, mode: int) -> bool:  # the tests may run as root, who may write
        return False if Path(str(p)) == folder and mode & plotfile.os.W_OK else real(p, mode)  # type: ignore[arg-type]

    monkeypatch.setattr(plotfile.os, "access", access)
    bad = folder / "fit.svg"
    result = CliRunner().invoke(
        cli, ["fit", "toy", "--law", "chinchilla", "--plot", str(bad), "--db", str(fit_db)]
    )
    assert result.exit_code == 2, result.output
    assert "is read-only" in result.output
    with Store(fit_db, read_only=True) as s:
        assert s.count(FitRecord) == 0


def test_fit_plot_write_failure_is_an_error_not_a_traceback(
    fit_db: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The chart cannot be written after the fit (a full disk): an error naming the file, exit
    1, nothing half-written, and the store as it was (the plot is drawn inside the write)."""

    def full(*args: Any, **kwargs: Any) -> tuple[int, str]:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(plotfile.tempfile, "mkstemp", full)
    target = tmp_path / "fit.svg"
    result = CliRunner().invoke(
        cli, ["fit", "toy", "--law", "chinchilla", "--plot", str(target), "--db", str(fit_db)]
    )
    assert result.exit_code == 1, result.output
    assert f"{target}: cannot write the chart: No space left on device" in result.output
    assert not isinstance(result.exception, OSError)
    assert not target.exists()
    with Store(fit_db, read_only=True) as s:
        assert s.count(FitRecord) == 0


# -- files ----------------------------------------------------------------------------------------


def test_write_is_atomic(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    target = tmp_path / "chart.svg"
    target.write_text("old", encoding="utf-8")

    def _fail(src: str, dst: str) -> None:
        raise OSError("disk full")

    monkeypatch.setattr(plotfile.os, "replace", _fail)
    with pytest.raises(KBError, match=r"chart\.svg: cannot write the chart: disk full"):
        plotfile.write_atomic(target, b"new", "the chart")
    assert target.read_text(encoding="utf-8") == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["chart.svg"]  # no temporary file left


def test_save_chart_unknown_extension(tmp_path: Path) -> None:
    chart = compare_chart([{"source": "x", "value": 0.5, "low": np.nan, "high": None,
                            "kind": "reported", "verdict": "reference"}], "a")  # fmt: skip
    with pytest.raises(BadInputError, match=r"\.gif.*\.html, \.svg, \.png, \.pdf"):
        save_chart(chart, tmp_path / "x.gif")
    assert list(tmp_path.iterdir()) == []
    assert _is_svg(save_chart(chart, tmp_path / "x.SVG").read_bytes())


def test_app_pages_build_no_chart_of_their_own() -> None:
    """One builder per chart (kb.charts): the pages call it, they do not import Altair."""
    for page in (ROOT / "app").rglob("*.py"):
        tree = ast.parse(page.read_text(encoding="utf-8"))
        names = {a.name for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names}
        names |= {n.module or "" for n in ast.walk(tree) if isinstance(n, ast.ImportFrom)}
        assert "altair" not in names, page


def test_fit_chart_with_a_band_reaching_zero_uses_a_linear_axis(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A bootstrap band that reaches 0 or below cannot be drawn on a log axis (review)."""
    import kb.curves

    pts = _points()
    result = fit_points(pts, law="chinchilla", n_boot=10)
    X, y, _ = points_to_arrays(pts, result.form)

    def y_scales() -> set[str]:
        top = fit_figure(result, X, y, metric="loss").to_dict()["vconcat"][0]
        return {
            layer["encoding"]["y"]["scale"]["type"]
            for layer in top["layer"]
            if "scale" in layer["encoding"].get("y", {})
        }

    assert y_scales() == {"log"}
    real = kb.curves.fitted_curve

    def band_to_zero(result_: Any, X_: Any) -> Any:
        curve = dict(real(result_, X_))
        low = np.array(curve["low"], dtype=float)
        low[-1] = 0.0
        curve["low"] = low
        return curve

    monkeypatch.setattr(kb.curves, "fitted_curve", band_to_zero)
    assert y_scales() == {"linear"}


def test_residual_axis_title_fits_the_plot_height() -> None:
    """The residual chart's y title is on lines short enough for its height: on one line,
    "residual, ln(observed / fitted)" was cut at the plot's top in the app."""
    from kb.charts import residual_chart
    from kb.laws import FORMS

    pts = _points()
    result = fit_points(pts, law="chinchilla", n_boot=0, seed=0)
    X, y, _ = points_to_arrays(pts, FORMS["chinchilla"])
    spec = residual_chart(result, X, y).to_dict()
    title = spec["encoding"]["y"]["title"]
    lines = [title] if isinstance(title, str) else title
    # 11 px bold axis titles run about 6.5 px a character; the plot is the height less the x axis
    assert max(len(line) for line in lines) * 6.5 <= spec["height"] - 45, lines
