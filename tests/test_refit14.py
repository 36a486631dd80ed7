"""`kb fit` refits the runs a law's paper fitted (``conventions.fit_runs``) by default, as
`kb audit` does; ``--all-points`` fits every point. Its JSON says which (``selection``,
``n_points_all``, ``selection_source``, the names `kb audit --json` gives them), and stderr
has one note per law where it had two."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result

from kb.cli import cli
from kb.errors import FitError
from kb.fit import SELECT_ALL, SELECT_PAPER_RUNS, paper_runs, selection_fields
from kb.records import Dataset, ReportedLaw
from kb.store import Store
from tests.test_fit_selection import PAPER_RUNS, SOURCE, law, paper_law, runs_points

# The law's paper fitted the even runs of training set 'a' (alpha 0.3); the odd ones follow
# alpha 0.1, so a fit of all 8 runs of 'a' lands far from 0.3.
FIT_A = ["d", "--law", "power_law", "--x", "n_params", "--where", "train_dataset=a", "--no-save"]
DATA = "4 even runs of training set a"


@pytest.fixture
def runs_db(tmp_path: Path) -> Path:
    db = tmp_path / "kb.duckdb"
    own = paper_law()
    own = own.model_copy(update={"conventions": {**own.conventions, "data": DATA}})
    with Store(db) as s:
        s.upsert([Dataset(name="d", path="/x", adapter_version="t"), *runs_points(), own])
    return db


def _fit(db: Path, *args: str) -> Result:
    return CliRunner().invoke(cli, ["fit", *args, "--db", str(db)])


def _json(res: Result) -> dict[str, Any]:
    assert res.exit_code == 0, res.output
    (row,) = [json.loads(line) for line in res.stdout.splitlines()]
    out: dict[str, Any] = row
    return out


def test_fit_refits_the_papers_runs_by_default(runs_db: Path) -> None:
    row = _json(_fit(runs_db, *FIT_A, "--json"))
    assert (row["selection"], row["n_points"], row["n_points_all"]) == ("paper_runs", 4, 8)
    assert row["selection_source"] == SOURCE
    assert row["params"]["alpha"] == pytest.approx(0.3, abs=0.01)
    assert row["options"]["runs"] == PAPER_RUNS
    # --paper-runs says the same explicitly
    assert _json(_fit(runs_db, *FIT_A, "--paper-runs", "--json"))["params"] == row["params"]


def test_fit_all_points_fits_every_point(runs_db: Path) -> None:
    row = _json(_fit(runs_db, *FIT_A, "--all-points", "--json"))
    assert (row["selection"], row["n_points"], row["n_points_all"]) == ("all", 8, 8)
    assert row["selection_source"] is None
    assert abs(row["params"]["alpha"] - 0.3) > 0.1
    assert "runs" not in row["options"]


def test_fit_says_which_points_in_one_note(runs_db: Path) -> None:
    """Before: two notes on stderr about the same law (the runs it was fitted on, and what
    its paper fitted), and none said kb fit itself could refit those runs."""
    res = _fit(runs_db, *FIT_A)
    assert res.exit_code == 0, res.output
    notes = [line for line in res.stderr.splitlines() if line.startswith("Note:")]
    assert notes == [
        f"Note: own was fitted by its paper on: {DATA}; this refit uses those 4 runs "
        "(conventions.fit_runs; --json's selection_source says where they are stated): 4 of 8 "
        "points; --all-points fits all 8"
    ]
    assert "4 of 8 points (the runs its paper fitted)" in res.stdout
    res = _fit(runs_db, *FIT_A, "--all-points")
    assert res.exit_code == 0, res.output
    notes = [line for line in res.stderr.splitlines() if line.startswith("Note:")]
    assert notes == [
        f"Note: own was fitted by its paper on: {DATA}; this refit uses all 8 points "
        "(--all-points), so its values are not the paper's fit redone; without --all-points "
        "`kb fit` refits its 4 runs"
    ]
    assert "; 8 points;" in res.stdout


def test_fit_without_a_law_naming_runs_fits_every_point(runs_db: Path) -> None:
    # Training set 'b' has no law beside it: every point, the selection fields say so.
    args = ["d", "--law", "power_law", "--x", "n_params", "--where", "train_dataset=b"]
    row = _json(_fit(runs_db, *args, "--no-save", "--json"))
    assert (row["selection"], row["n_points"], row["n_points_all"]) == ("all", 8, 8)
    assert row["selection_source"] is None
    # Asking for the paper's runs where no law names them is a usage error saying so.
    res = _fit(runs_db, *args, "--no-save", "--paper-runs")
    assert res.exit_code == 2
    assert "'--paper-runs': no law beside this fit of power_law names the runs" in res.output
    # --all-points there is what happens anyway.
    assert _json(_fit(runs_db, *args, "--no-save", "--all-points", "--json"))["n_points"] == 8


def test_fit_data_file_has_the_selection_fields_and_refuses_paper_runs(tmp_path: Path) -> None:
    csv = tmp_path / "runs.csv"
    csv.write_text(
        "n_params,n_tokens,compute_flops,value\n"
        + "".join(f"{n:g},1e9,{6e9 * n:g},{50 * n**-0.3:.6g}\n" for n in (1e6, 1e7, 1e8, 1e9))
    )
    res = CliRunner().invoke(
        cli, ["fit", "--data", str(csv), "--law", "power_law", "--x", "n_params", "--json"]
    )
    row = _json(res)
    assert (row["selection"], row["n_points_all"], row["selection_source"]) == ("all", 4, None)
    res = CliRunner().invoke(
        cli, ["fit", "--data", str(csv), "--law", "power_law", "--x", "n_params", "--paper-runs"]
    )
    assert res.exit_code == 2
    assert "'--paper-runs': fits the runs a registry law's paper fitted" in res.output


def test_fit_help_names_the_pair_as_kb_audit_does() -> None:
    res = CliRunner().invoke(cli, ["fit", "--help"])
    assert res.exit_code == 0
    text = " ".join(res.output.split())
    assert "--paper-runs / --all-points" in text
    assert "[default: paper-runs]" in text
    assert "as `kb audit` refits them" in text
    assert "selection 'paper_runs' (the runs the paper fitted) or 'all'" in text
    assert "kb fit gadre2024_overtraining --law chinchilla_tied --where" in text
    audit_help = " ".join(CliRunner().invoke(cli, ["audit", "--help"]).output.split())
    assert "--all-points" in audit_help


def test_paper_runs_of_the_laws_beside_a_fit() -> None:
    assert paper_runs([law("plain")]) is None
    got = paper_runs([law("plain"), paper_law("one"), paper_law("two")])
    assert got is not None
    assert (got.runs, got.law_ids, got.source) == (tuple(PAPER_RUNS), ("one", "two"), SOURCE)
    with pytest.raises(FitError, match="name different runs their papers fitted"):
        paper_runs([paper_law("one"), paper_law("other", runs=["a-0"])])


def test_selection_fields_are_kb_audit_s() -> None:
    from kb.audit import AuditRow

    fields = selection_fields(SELECT_PAPER_RUNS, 34, "here")
    assert set(fields) <= set(AuditRow.model_fields)
    assert fields == {"selection": "paper_runs", "n_points_all": 34, "selection_source": "here"}
    assert selection_fields(SELECT_ALL, 5, "here")["selection_source"] is None


# -- Gadre et al.'s released runs ---------------------------------------------------------------


@pytest.fixture(scope="module")
def gadre_db(shared: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    from ingest.released import ingest_datasets
    from kb.registry import DEFAULT_REGISTRY, sync_registry

    db = tmp_path_factory.mktemp("gadre") / "kb.duckdb"
    with Store(db) as s:
        ingest_datasets(s, [shared / "datasets" / "gadre2024_overtraining"])
        sync_registry(s, DEFAULT_REGISTRY)
    return db


GADRE_C4 = [
    "gadre2024_overtraining", "--law", "chinchilla_tied", "--where", "train_dataset=c4_original",
    "--no-save", "--json",
]  # fmt: skip


def test_gadre_fit_is_the_audit_s_by_default(gadre_db: Path) -> None:
    """kb audit refits gadre2024_loss_c4 on its paper's 5 runs (alpha 0.2364); kb fit on the
    same data fitted all 34 (alpha 0.2571) beside the paper's 0.2425 with no choice of it."""
    own = _json(_fit(gadre_db, *GADRE_C4))
    assert (own["selection"], own["n_points"], own["n_points_all"]) == ("paper_runs", 5, 34)
    assert "fit_ds" in own["selection_source"]
    assert own["params"]["alpha"] == pytest.approx(0.2364, abs=5e-5)
    assert own["reported"]["gadre2024_loss_c4"]["alpha"] == pytest.approx(0.242472)
    every = _json(_fit(gadre_db, *GADRE_C4, "--all-points"))
    assert (every["selection"], every["n_points"], every["n_points_all"]) == ("all", 34, 34)
    assert every["params"]["alpha"] == pytest.approx(0.2571, abs=5e-5)
    with Store(gadre_db) as s:
        law_ = s.get(ReportedLaw, "gadre2024_loss_c4")
    assert law_ is not None
    assert own["selection_source"] == law_.conventions["fit_runs_source"]
