"""kb fit --data: the CLI fits a user's CSV (the Refit page's upload layout) as the app does."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from kb.cli import cli
from kb.fit import fit_points
from kb.records import Point
from kb.store import Store
from kb.uploads import MAX_UPLOAD_BYTES, parse_upload
from tests.test_fit import _points
from tests.test_fit_where import runs


def _csv(points: list[Point]) -> str:
    """Points as an upload CSV (floats written exactly, by repr)."""
    extras = sorted({k for p in points for k, v in p.extras.items() if isinstance(v, str)})
    head = ["n_params", "n_tokens", "value", "metric", "unit", "run_key", *extras]
    lines = [",".join(head)]
    for p in points:
        cells = [p.n_params, p.n_tokens, p.value, p.metric, p.unit, p.run_key]
        cells += [p.extras.get(k) for k in extras]
        lines.append(",".join("" if c is None else repr(c) if isinstance(c, float) else str(c)
                              for c in cells))  # fmt: skip
    return "\n".join(lines) + "\n"


@pytest.fixture
def toy_csv(tmp_path: Path) -> Path:
    path = tmp_path / "runs.csv"
    path.write_text(_csv(_points()), encoding="utf-8")
    return path


def _fit(args: list[str], **kw: Any) -> Any:
    return CliRunner().invoke(cli, ["-q", "fit", *args], **kw)


def _row(result: Any) -> dict[str, Any]:
    assert result.exit_code == 0, result.output
    row: dict[str, Any] = json.loads(result.stdout.splitlines()[-1])
    return row


def test_fit_data_matches_the_python_api_and_the_dataset_path(
    toy_csv: Path, tmp_path: Path
) -> None:
    missing_db = tmp_path / "none" / "kb.duckdb"  # --data needs no knowledge base
    args = ["--law", "chinchilla", "--boot", "20", "--seed", "1", "--json"]
    row = _row(_fit(["--data", str(toy_csv), *args, "--db", str(missing_db)]))
    api = fit_points(
        parse_upload(toy_csv.read_bytes(), name=str(toy_csv)), law="chinchilla", n_boot=20, seed=1
    )
    assert row["params"] == api.params  # the same computation on the same points
    assert row["intervals"] == json.loads(json.dumps(api.intervals))
    assert row["n_points"] == len(_points())
    assert row["data"] == str(toy_csv)
    assert row["reported"] == {}
    assert row["options"]["data"] == str(toy_csv)
    assert row["options"]["dataset"] is None
    assert row["options"]["metric"] == "loss"
    assert not missing_db.parent.exists()

    # The same points stored as a dataset: the same fit, and the same JSON fields.
    db = tmp_path / "kb.duckdb"
    with Store(db) as s:
        s.upsert(_points())
    stored = _row(_fit(["toy", *args, "--no-save", "--db", str(db)]))
    assert stored["params"] == row["params"]
    assert set(stored) == set(row)
    assert set(stored["options"]) | {"data"} == set(row["options"])
    assert stored["data"] is None

    piped = _row(_fit(["--data", "-", *args], input=toy_csv.read_bytes()))
    assert piped["params"] == row["params"]
    assert piped["data"] == "<stdin>"


def test_fit_data_table_names_the_file(toy_csv: Path) -> None:
    result = _fit(["--data", str(toy_csv), "--law", "chinchilla", "--boot", "10"])
    assert result.exit_code == 0, result.output
    assert "interval: 95% bootstrap percentile interval of 10 refits" in result.stdout
    assert f"data {toy_csv}; metric loss;" in result.stdout


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (b"n_params,value\n1e6,abc\n", "row 2, column 'value': 'abc' is not a number"),
        (b"n_params,loss\n1e6,3\n", "no 'value' column"),
        (b"n_params,value\n1e6,3,9\n", "row 2 has more cells"),
        (b"\xff\xfe\x00n", "not UTF-8"),
        (b"n_params,value\n", "a header but no data rows"),
    ],
)
def test_bad_files_give_the_upload_errors_as_usage_errors(
    tmp_path: Path, body: bytes, message: str
) -> None:
    path = tmp_path / "bad.csv"
    path.write_bytes(body)
    result = _fit(["--data", str(path), "--law", "power_law"])
    assert result.exit_code == 2, result.output
    assert "'--data'" in result.output
    assert f"{path}: " in result.output
    assert message in result.output


def test_a_file_over_the_limit_is_refused_with_its_size(tmp_path: Path) -> None:
    path = tmp_path / "big.csv"
    path.write_bytes(b"n_params,value\n" + b"1e6,3\n" * (MAX_UPLOAD_BYTES // 6 + 100))
    result = _fit(["--data", str(path), "--law", "power_law"])
    assert result.exit_code == 2, result.output
    assert f"{path}: 5.0 MB is over the 5 MB limit" in result.output
    piped = _fit(["--data", "-", "--law", "power_law"], input=path.read_bytes())
    assert piped.exit_code == 2, piped.output
    assert "<stdin>: more than 5 MB, over the 5 MB limit" in piped.output


def test_data_with_a_dataset_or_setting_or_save_is_a_usage_error(toy_csv: Path) -> None:
    both = _fit(["toy", "--data", str(toy_csv), "--law", "chinchilla"])
    assert both.exit_code == 2
    assert "both DATASET ('toy') and --data" in both.output
    assert str(toy_csv) in both.output
    neither = _fit(["--law", "chinchilla"])
    assert neither.exit_code == 2
    assert "Missing argument 'DATASET'" in neither.output
    assert "--data" in neither.output
    setting = _fit(["--data", str(toy_csv), "--law", "chinchilla", "--setting", "x"])
    assert setting.exit_code == 2
    assert "--where" in setting.output
    save = _fit(["--data", str(toy_csv), "--law", "chinchilla", "--save"])
    assert save.exit_code == 2
    assert "released datasets only" in save.output
    assert _fit(["--data", str(toy_csv), "--law", "chinchilla", "--no-save"]).exit_code == 0
    absent = _fit(["--data", str(toy_csv.with_name("absent.csv")), "--law", "chinchilla"])
    assert absent.exit_code == 2
    assert "does not exist" in absent.output


def test_data_where_metric_and_pooled_note(tmp_path: Path) -> None:
    pts = runs()
    other = [p.model_copy(update={"metric": "acc", "value": 0.5}) for p in pts]
    path = tmp_path / "two.csv"
    path.write_text(_csv(pts + other), encoding="utf-8")
    args = ["--data", str(path), "--law", "power_law", "--x", "n_params", "--json"]
    pooled = _fit(args)
    row = _row(pooled)
    assert row["options"]["metric"] == "loss"  # the one named like a loss, as for a dataset
    assert row["n_points"] == 16
    assert "span 2 values of train_dataset (a, b), pooled into one fit" in pooled.stderr
    one = _fit([*args, "--where", "train_dataset=b"])
    got = _row(one)
    assert got["params"]["alpha"] == pytest.approx(0.3, abs=0.01)
    assert got["options"]["where"] == {"train_dataset": "b"}
    assert "pooled" not in one.stderr
    miss = _fit([*args, "--where", "train_dataset=z"])
    assert miss.exit_code == 1
    assert f"no point of {path} (loss)" in miss.output
    unknown = _fit([*args, "--metric", "bpb"])
    assert unknown.exit_code == 1
    assert f"{path} has no metric 'bpb'; it has acc, loss" in unknown.output


def test_data_plot_draws_the_files_points(toy_csv: Path, tmp_path: Path) -> None:
    out = tmp_path / "fit.html"
    result = _fit(["--data", str(toy_csv), "--law", "chinchilla", "--boot", "10", "--plot",
                   str(out)])  # fmt: skip
    assert result.exit_code == 0, result.output
    text = out.read_text(encoding="utf-8")
    for point in _points():
        assert json.dumps(point.value) in text
    assert f"chinchilla fitted to {toy_csv}" in text
    assert "band: 95% bootstrap percentile range" in text
