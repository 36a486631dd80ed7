"""kb fit --where: fit one group of a dataset whose runs each carry their own name, and the
note that says when a fit pools groups (training sets, downstream tasks)."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest
from click.testing import CliRunner

from kb.cli import cli
from kb.errors import BadInputError
from kb.optima import points_where, pooled_fields
from kb.records import Dataset, Point
from kb.store import Store


def runs() -> list[Point]:
    """Two training sets ('a': exponent 0.1, 'b': 0.3) of 8 runs, each run named."""
    pts = []
    for i in range(8):
        n = 10 ** (6 + 0.4 * i)
        for train, alpha in (("a", 0.1), ("b", 0.3)):
            j = 2 * i + (train == "b")
            noise = 1 + 0.02 * math.sin(7.0 * j)
            pts.append(Point(
                point_id=f"p{j}", dataset="d", metric="loss", value=50 * n**-alpha * noise,
                unit="nats/token", source_file="f.csv", source_row=j, n_params=n,
                n_params_kind="total",
                extras={"train_dataset": train, "name": f"{train}-{i}", "config": f"c{i}",
                        "width": 64 * (i + 1)},
            ))  # fmt: skip
    return pts


def test_points_where_is_a_subset_match_and_names_the_values_on_a_miss() -> None:
    got = points_where(runs(), {"train_dataset": "b"})
    assert {p.extras["train_dataset"] for p in got} == {"b"}
    assert len(got) == 8
    with pytest.raises(BadInputError, match=r"train_dataset: a, b"):
        points_where(runs(), {"train_dataset": "rpj"}, dataset="dataset 'd'")


def test_pooled_fields_flags_groups_not_run_names_or_scale_labels() -> None:
    # 'name' names each run; 'config' labels a scale (width is one value per config).
    assert pooled_fields(runs()) == {"train_dataset": ["a", "b"]}
    assert pooled_fields(points_where(runs(), {"train_dataset": "a"})) == {}


@pytest.fixture
def db(tmp_path: Path) -> Path:
    path = tmp_path / "kb.duckdb"
    with Store(path) as s:
        s.upsert([Dataset(name="d", path="/x", adapter_version="t"), *runs()])
    return path


def test_cli_fit_where_fits_one_training_set(db: Path) -> None:
    args = ["fit", "d", "--law", "power_law", "--x", "n_params", "--no-save", "--db", str(db)]
    pooled = CliRunner().invoke(cli, [*args, "--json"])
    assert pooled.exit_code == 0, pooled.output
    # Before: two training sets pooled into one exponent with no word of it.
    assert "span 2 values of train_dataset (a, b), pooled into one fit" in pooled.stderr
    one = CliRunner().invoke(cli, [*args, "--where", "train_dataset=b", "--json"])
    assert one.exit_code == 0, one.output
    assert "pooled" not in one.stderr

    row = json.loads(one.stdout.splitlines()[-1])
    assert row["params"]["alpha"] == pytest.approx(0.3, abs=0.01)
    assert row["options"]["where"] == {"train_dataset": "b"}
    bad = CliRunner().invoke(cli, [*args, "--where", "train_dataset"])
    assert bad.exit_code == 2
    assert "expected FIELD=VALUE" in bad.output


def test_cli_fit_where_plots_the_group_it_fitted(db: Path, tmp_path: Path) -> None:
    out = tmp_path / "b.html"
    args = ["-q", "fit", "d", "--law", "power_law", "--x", "n_params", "--no-save"]
    result = CliRunner().invoke(
        cli, [*args, "--where", "train_dataset=b", "--plot", str(out), "--db", str(db)]
    )
    assert result.exit_code == 0, result.output
    text = out.read_text(encoding="utf-8")
    # Before: the figure drew both training sets' points (and residuals) around a fit of one.
    for p in runs():
        assert (json.dumps(p.value) in text) == (p.extras["train_dataset"] == "b")
    assert "power_law fitted to d, train_dataset=b" in text
