"""What `kb fit` tells a researcher refitting a published law: the paper's values beside the
refit (as the Refit page shows them), what kind of interval the refit gives, and where the
holdout split fell. Data here are invented; no shared files are read.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
from click.testing import CliRunner

from kb.cli import cli
from kb.fit import holdout_sentence
from kb.laws import FORMS
from kb.records import Point, ReportedLaw
from kb.registry import laws_beside_refit
from kb.store import Store


def _points(metric: str = "loss") -> list[Point]:
    form = FORMS["chinchilla"]
    N = np.repeat(np.logspace(7, 9.5, 8), 3)
    D = N * np.tile([5.0, 20.0, 60.0], 8)
    y = form.predict([0.5, 6.0, 6.2, 0.34, 0.3], {"n_params": N, "n_tokens": D})
    y = y * np.exp(np.random.default_rng(0).normal(0, 0.01, y.size))
    return [
        Point(point_id=f"toy-{metric}-{i}", dataset="toy", run_key=f"r{i}",
              n_params=float(N[i]), n_tokens=float(D[i]), compute_flops=6.0 * N[i] * D[i],
              metric=metric, value=float(y[i]), unit="nats/token", source_file="toy.csv",
              source_row=i + 1)
        for i in range(y.size)
    ]  # fmt: skip


def _law(law_id: str, **kw: object) -> ReportedLaw:
    fields: dict[str, object] = {
        "law_id": law_id, "arxiv_id": "0000.00000", "title": "Toy", "year": 2024,
        "name": "toy", "form": "chinchilla", "formula": "L = E + A/N^alpha + B/D^beta",
        "params": {"E": 1.65, "A": 400.0, "B": 410.0, "alpha": 0.34, "beta": 0.28},
        "derived": {"a": 0.46}, "dataset": "toy", "source": "Table 1", "verified": False,
    }  # fmt: skip
    fields.update(kw)
    return ReportedLaw.model_validate(fields)


def _db(tmp_path: Path) -> Path:
    db = tmp_path / "kb.duckdb"
    with Store(db) as s:
        s.upsert(_points())
        s.upsert(
            [
                _law("toy_paper"),
                # Another form, another metric: neither belongs beside a chinchilla refit of loss.
                _law("toy_power", form="power_law", params={"alpha": 0.1}, derived={}),
                _law("toy_task", conventions={"dataset_metric": "task_bpb"}),
            ]
        )
    return db


def test_laws_beside_refit_keeps_the_same_form_metric_and_data(tmp_path: Path) -> None:
    with Store(_db(tmp_path), read_only=True) as s:
        assert [law.law_id for law in laws_beside_refit(s, "toy", "chinchilla", "loss")] == [
            "toy_paper"
        ]
        assert [law.law_id for law in laws_beside_refit(s, "toy", "power_law", "loss")] == [
            "toy_power"
        ]
        assert laws_beside_refit(s, "other", "chinchilla", "loss") == []


def test_cli_fit_prints_the_reported_values_beside_the_refit(tmp_path: Path) -> None:
    """The Refit page put the paper's values beside a refit; `kb fit` printed the refit alone,
    so a researcher refitting Besiroglu et al.'s data had to look the paper's numbers up."""
    db = _db(tmp_path)
    args = ["-q", "fit", "toy", "--law", "chinchilla", "--boot", "8", "--no-save", "--db", str(db)]
    out = CliRunner().invoke(cli, args)
    assert out.exit_code == 0, out.output
    head = out.stdout.splitlines()[0]
    assert "reported (toy_paper)" in head
    assert "toy_power" not in out.stdout
    assert "toy_task" not in out.stdout
    alpha = next(line for line in out.stdout.splitlines() if line.startswith("alpha "))
    assert alpha.split()[-1] == "0.34"  # the reported value, last column
    a_row = next(line for line in out.stdout.splitlines() if line.startswith("a "))
    assert a_row.split()[-1] == "0.46"  # a derived value the paper states
    assert "interval: 95% bootstrap percentile interval of 8 refits" in out.stdout
    data = json.loads(CliRunner().invoke(cli, [*args, "--json"]).stdout.strip().splitlines()[-1])
    assert data["reported"] == {
        "toy_paper": {"E": 1.65, "A": 400.0, "B": 410.0, "alpha": 0.34, "beta": 0.28, "a": 0.46}
    }


def test_cli_fit_without_laws_or_bootstrap_prints_neither(tmp_path: Path) -> None:
    db = tmp_path / "kb.duckdb"
    with Store(db) as s:
        s.upsert(_points())
    out = CliRunner().invoke(
        cli, ["-q", "fit", "toy", "--law", "chinchilla", "--no-save", "--db", str(db)]
    )
    assert out.exit_code == 0, out.output
    assert "reported" not in out.stdout
    assert "interval:" not in out.stdout
    out = CliRunner().invoke(
        cli, ["-q", "fit", "toy", "--law", "chinchilla", "--no-save", "--json", "--db", str(db)]
    )
    assert json.loads(out.stdout.strip().splitlines()[-1])["reported"] == {}


def test_cli_fit_holdout_says_where_the_split_fell(tmp_path: Path) -> None:
    """`holdout compute:0.25: rmse ..., n_test 6` said neither which points were held out nor
    how the training points were fitted; the JSON had the threshold, the text did not."""
    db = _db(tmp_path)
    out = CliRunner().invoke(
        cli,
        ["-q", "fit", "toy", "--law", "chinchilla", "--recipe", "epoch", "--holdout",
         "compute:0.25", "--no-save", "--db", str(db)],
    )  # fmt: skip
    assert out.exit_code == 0, out.output
    assert "holdout compute:0.25: rmse" in out.stdout  # the line kept as it was
    line = next(x for x in out.stdout.splitlines() if x.startswith("held out: "))
    compute = sorted(p.compute_flops or 0.0 for p in _points())
    n_test = int(line.split()[3])
    threshold = float(line.split(">= ")[1].split()[0])
    # Every held-out point is at or above the threshold, every training point below it.
    assert n_test == sum(c >= threshold * (1 - 1e-4) for c in compute)
    assert "(the largest 25%)" in line
    # The epoch recipe drops the 5 highest-loss points first (Besiroglu et al.'s outliers).
    assert f"a refit of the other {len(compute) - 5 - n_test} (epoch recipe" in line
    assert "19 points (the epoch recipe drops the 5 highest values first)" in out.stdout
    assert "mean relative error" in line
    assert ", max " in line


def test_holdout_sentence_names_the_law_x_and_6nd() -> None:
    h = {"axis": "compute", "column": "x", "fraction": 0.2, "threshold": 640.0, "n_train": 14,
         "n_test": 3, "mean_rel_error": 0.011}  # fmt: skip
    text = holdout_sentence(h, "train_set_size")
    assert text.startswith("held out: the 3 points with train_set_size >= 640 (the largest 20%)")
    assert "max" not in text
    assert "recipe" not in text
    h6 = {**h, "column": "6ND", "estimator": "huber", "max_rel_error": 0.02}
    assert "with 6·N·D >= 640" in holdout_sentence(h6, None, "standard")
    assert "(standard recipe, huber estimator)" in holdout_sentence(h6, None, "standard")
