"""A referee's inputs to ``kb fit``: misnamed datasets, degenerate data, pooled conventions,
failed bootstrap refits, a mistyped --db. Each must give a one-line error or an honest count,
never a number that looks like a fine fit. Data here are invented; no shared files are read.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

import kb.fit as fitmod
from kb._lbfgs import BatchResult
from kb.cli import cli
from kb.datasets import DEFAULT_METRIC_KEY
from kb.errors import FitError
from kb.fit import fit_arrays, fit_dataset, fit_points
from kb.laws import FORMS
from kb.records import Dataset, Point
from kb.store import Store


def _points(dataset: str = "toy", metric: str = "loss", **extra: object) -> list[Point]:
    form = FORMS["chinchilla"]
    N = np.repeat(np.logspace(7, 9.5, 8), 3)
    D = N * np.tile([5.0, 20.0, 60.0], 8)
    y = form.predict([0.5, 6.0, 6.2, 0.34, 0.3], {"n_params": N, "n_tokens": D})
    y = y * np.exp(np.random.default_rng(0).normal(0, 0.01, y.size))
    return [
        Point(point_id=f"{dataset}-{metric}-{i}", dataset=dataset, run_key=f"r{i}",
              n_params=float(N[i]), n_tokens=float(D[i]), compute_flops=6.0 * N[i] * D[i],
              metric=metric, value=float(y[i]), unit="nats/token", source_file="toy.csv",
              source_row=i + 1, **extra)  # type: ignore[arg-type]
        for i in range(y.size)
    ]  # fmt: skip


def test_misspelt_dataset_is_named_with_a_suggestion(store: Store) -> None:
    store.upsert(_points("epoch_toy"))
    with pytest.raises(FitError, match=r"'epoch_tyo' has no points.*did you mean epoch_toy\?"):
        fit_dataset(store, "epoch_tyo", law="chinchilla", save=False)


def test_dataset_default_metric_is_the_one_kb_points_shows(store: Store) -> None:
    store.upsert(_points(metric="val_loss") + _points(metric="train_loss"))
    with pytest.raises(FitError, match="choose one with --metric"):
        fit_dataset(store, "toy", law="chinchilla", save=False)
    store.set_meta(DEFAULT_METRIC_KEY.format("toy"), "val_loss")
    res = fit_dataset(store, "toy", law="chinchilla", save=False)
    assert res.options["metric"] == "val_loss"


@pytest.mark.parametrize(
    ("law", "X", "y", "message"),
    [
        ("power_law", {"x": np.logspace(1, 3, 8)}, np.full(8, 2.0), "all 8 values are equal"),
        ("power_law_plus_constant", {"x": np.logspace(1, 3, 8)}, np.full(8, 2.0), "equal"),
        ("power_law", {"x": np.full(8, 1e20)}, np.linspace(2, 3, 8), "'x' has the same value"),
        (
            "chinchilla",
            {"n_params": np.logspace(7, 9, 8), "n_tokens": np.full(8, 1e10)},
            np.linspace(3, 2, 8),
            "'n_tokens' has the same value",
        ),
    ],
)
def test_unidentifiable_data_is_refused_not_fitted(law, X, y, message) -> None:
    # Before: a "fit" with arbitrary A, alpha and a zero-width bootstrap interval around them.
    with pytest.raises(FitError, match=message):
        fit_arrays(X, y, law=law, n_boot=20)


def test_pooled_compute_conventions_are_refused() -> None:
    half = len(_points()) // 2
    pts = [
        p.model_copy(update={"compute_method": "6ND" if i < half else "6ND + attention"})
        for i, p in enumerate(_points())
    ]
    with pytest.raises(FitError, match=r"mix 2 ways compute is counted.*kb optima"):
        fit_points(pts, law="power_law", x="compute_flops")
    # Laws that do not read compute are not concerned; one convention throughout is fine.
    assert fit_points(pts, law="chinchilla").n_points == len(pts)
    same = [p.model_copy(update={"compute_method": "6ND"}) for p in pts]
    assert fit_points(same, law="power_law", x="compute_flops").n_points == len(pts)
    kinds = [
        p.model_copy(update={"n_params_kind": "total" if i % 2 else "non_embedding"})
        for i, p in enumerate(_points())
    ]
    with pytest.raises(FitError, match="ways N is counted"):
        fit_points(kinds, law="chinchilla")


def _failing_bootstrap(monkeypatch: pytest.MonkeyPatch, n_bad: int) -> None:
    """Bootstrap refits (the batch calls with f_floor=0): the first n_bad do not converge."""
    real = fitmod.minimize_batch

    def fake(fun, x0, **kw):  # type: ignore[no-untyped-def]
        res = real(fun, x0, **kw)
        if kw.get("f_floor") != 0.0:
            return res
        conv = res.converged.copy()
        x = res.x.copy()
        conv[:n_bad] = False
        x[:n_bad, -1] = 4.9  # where a stalled refit might have wandered
        return BatchResult(x, res.fun, conv, res.n_iter)

    monkeypatch.setattr(fitmod, "minimize_batch", fake)


def test_failed_bootstrap_refits_are_counted_and_left_out(monkeypatch: pytest.MonkeyPatch) -> None:
    x = np.logspace(18, 22, 12)
    y = 5 * x**-0.05 * np.exp(np.random.default_rng(1).normal(0, 0.01, x.size))
    good = fit_arrays({"x": x}, y, law="power_law", n_boot=40, seed=2)
    assert good.n_boot_failed == 0
    assert "boot_failed" not in good.options  # fit ids of healthy fits are unchanged
    _failing_bootstrap(monkeypatch, 10)
    res = fit_arrays({"x": x}, y, law="power_law", n_boot=40, seed=2)
    assert res.n_boot_failed == 10
    assert res.options["boot_failed"] == 10
    assert res.to_json()["n_boot_failed"] == 10
    assert res.intervals["alpha"][1] < 1.0  # the stalled refits (alpha 4.9) are not in it
    assert res.boot_params is not None
    assert res.boot_params.shape[0] == 30


def test_all_bootstrap_refits_failing_gives_no_interval(monkeypatch: pytest.MonkeyPatch) -> None:
    _failing_bootstrap(monkeypatch, 1000)
    x = np.logspace(18, 22, 12)
    res = fit_arrays({"x": x}, 5 * x**-0.05 * (1 + 0.01 * np.sin(x)), law="power_law", n_boot=20)
    assert res.intervals == {}
    assert res.n_boot_failed == 20
    assert "boot_sd" not in res.options


def test_cli_reports_failed_refits_and_the_metric(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    db = tmp_path / "kb.duckdb"
    with Store(db) as s:
        s.upsert(_points())
    _failing_bootstrap(monkeypatch, 3)
    runner = CliRunner()
    args = ["-q", "fit", "toy", "--law", "chinchilla", "--boot", "12", "--db", str(db)]
    out = runner.invoke(cli, [*args, "--no-save"])
    assert out.exit_code == 0, out.output
    assert "bootstrap: 3 of 12 refits did not converge; the intervals use the other 9" in out.stdout
    assert "metric loss;" in out.stdout
    out = runner.invoke(cli, [*args, "--no-save", "--json"])
    assert json.loads(out.stdout.splitlines()[-1])["n_boot_failed"] == 3
    _failing_bootstrap(monkeypatch, 11)  # one converged: no interval, and the line says so
    out = runner.invoke(cli, [*args, "--no-save"])
    assert out.exit_code == 0, out.output
    assert "11 of 12 refits did not converge; 1 converged, too few for intervals" in out.stdout


def test_cli_scoreboard_names_an_unknown_dataset(tmp_path: Path) -> None:
    db = tmp_path / "kb.duckdb"
    with Store(db) as s:
        s.upsert([Dataset(name="epoch_toy", path="/x/epoch_toy", adapter_version="t")])
    runner = CliRunner()
    out = runner.invoke(cli, ["scoreboard", "--dataset", "epoch_tyo", "--db", str(db)])
    assert out.exit_code == 1  # was exit 0 and an empty table
    assert "no dataset 'epoch_tyo'; did you mean epoch_toy?" in out.output
    out = runner.invoke(cli, ["scoreboard", "--dataset", "epoch_toy", "--db", str(db)])
    assert out.exit_code == 0, out.output  # known, just not scored yet
    assert (
        "No scores stored yet: compute them with `kb scoreboard --build --dataset epoch_toy`"
        in (out.stderr)
    )


def test_cli_fit_on_a_missing_store_creates_nothing(tmp_path: Path) -> None:
    db = tmp_path / "typo" / "kb.duckdb"
    out = CliRunner().invoke(cli, ["fit", "toy", "--law", "chinchilla", "--db", str(db)])
    assert out.exit_code == 1
    assert "no knowledge base here yet" in out.output
    assert "Traceback" not in out.output
    assert not (tmp_path / "typo").exists()


@pytest.mark.parametrize("law", ["chinchilla", "kaplan_nd", "data_constrained", "compute_optimal"])
def test_cli_fit_refuses_an_x_the_law_does_not_read(tmp_path: Path, law: str) -> None:
    # `--x n_tokens` with a law of fixed inputs was silently ignored: the fit printed was not
    # the one asked for. Refused before any work (here: before the store is even looked for).
    db = tmp_path / "kb.duckdb"
    out = CliRunner().invoke(cli, ["fit", "toy", "--law", law, "--x", "n_tokens", "--db", str(db)])
    assert out.exit_code == 2, out.output
    assert "--x" in out.output
    assert f"law {law} reads " in out.output
    assert "Traceback" not in out.output


def test_cli_fit_x_is_still_taken_by_single_input_laws(tmp_path: Path) -> None:
    db = tmp_path / "kb.duckdb"
    out = CliRunner().invoke(cli, ["fit", "toy", "--law", "power_law", "--x", "n_tokens",
                                   "--no-save", "--db", str(db)])  # fmt: skip
    assert "no knowledge base here yet" in out.output  # got past the option checks
