"""``kb fit --setting``: refit one experimental setting of a dataset that holds several.

The data are invented compute-optimal sizes (``N_opt = k C^a``) under three settings, Porian-like:
two count compute one way, the third another, so the pooled fit is refused and each setting is
fitted on its own. No shared file is read.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from kb.cli import cli
from kb.errors import BadInputError
from kb.fit import fit_dataset
from kb.optima import select_setting, setting_choices
from kb.records import FitRecord, Point, ReportedLaw
from kb.registry import law_setting, laws_for_setting, validate_entry
from kb.store import Store

# (setting, dataset) -> (compute convention, exponent a)
SETTINGS = {
    ("Kaplan", "rw"): ("6 N_nonembed D", 0.80),
    ("Kaplan", "owt2"): ("6 N_nonembed D", 0.85),
    ("Tuned", "rw"): ("6ND", 0.50),
}
TUNED = "Tuned [rw]"


def _optima(dataset: str = "por", *, text_extras: bool = True) -> list[Point]:
    rng = np.random.default_rng(4)
    budgets = np.logspace(16, 19, 8)
    out = []
    for (setting, data), (method, a) in SETTINGS.items():
        values = 1e-2 * budgets**a * np.exp(rng.normal(0, 0.01, budgets.size))
        for i, (c, v) in enumerate(zip(budgets, values, strict=True)):
            extras = {"setting": setting, "dataset": data, "budget_index": i}
            if not text_extras:
                extras = {"budget_index": i}
            point = Point(
                point_id=f"{dataset}-{setting}-{data}-{i}", dataset=dataset,
                compute_flops=float(c), metric="n_opt", value=float(v), unit="params",
                source_file="optima.csv", source_row=len(out) + 2, compute_method=method,
                extras=extras,
            )  # fmt: skip
            out.append(point)
    return out


@pytest.fixture
def por_db(tmp_path: Path) -> Path:
    db = tmp_path / "kb.duckdb"
    with Store(db) as s:
        s.upsert(_optima())
        s.upsert(_optima("plain", text_extras=False))
    return db


def _fit(db: Path, *args: str) -> tuple[int, str]:
    out = CliRunner().invoke(cli, ["-q", "fit", "--law", "compute_optimal", "--db", str(db), *args])
    return out.exit_code, out.output


def test_pooled_settings_are_refused_with_the_way_out(por_db: Path) -> None:
    code, output = _fit(por_db, "por", "--no-save")
    assert code == 1
    assert "mix 2 ways compute is counted" in output
    assert "--setting" in output
    assert "kb optima" in output


@pytest.mark.parametrize(
    "wanted",
    [
        TUNED,  # the label `kb optima` prints
        '{"setting": "Tuned"}',  # JSON naming one setting by some of its fields
        json.dumps({"dataset": "rw", "setting": "Tuned"}, sort_keys=True),  # the full key
    ],
)
def test_one_setting_by_label_or_json(por_db: Path, wanted: str) -> None:
    code, output = _fit(por_db, "por", "--setting", wanted, "--no-save", "--json")
    assert code == 0, output
    row = json.loads(output.splitlines()[-1])
    assert row["params"]["exponent"] == pytest.approx(0.50, abs=0.01)
    assert row["n_points"] == 8
    assert row["setting"] == {"dataset": "rw", "setting": "Tuned"}
    assert row["options"]["setting"] == row["setting"]


def test_table_output_names_the_setting(por_db: Path) -> None:
    code, output = _fit(por_db, "por", "--setting", TUNED, "--no-save")
    assert code == 0, output
    assert f"setting {TUNED}" in output


def test_fits_of_two_settings_are_two_rows(por_db: Path) -> None:
    for wanted in (TUNED, "Kaplan [rw]", "Kaplan [owt2]"):
        code, output = _fit(por_db, "por", "--setting", wanted)
        assert code == 0, output
    with Store(por_db) as s:
        fits = s.select(FitRecord, "dataset = ?", ["por"])
    assert len({f.fit_id for f in fits}) == 3
    by_data = {(f.options["setting"]["setting"], f.options["setting"]["dataset"]): f for f in fits}
    for key, (_, a) in SETTINGS.items():
        assert by_data[key].params["exponent"] == pytest.approx(a, abs=0.01)


def test_unknown_setting_lists_the_labels(por_db: Path) -> None:
    code, output = _fit(por_db, "por", "--setting", "Cosine", "--no-save")
    assert code == 1
    assert "no setting 'Cosine'" in output
    assert "its 3 settings are: Kaplan [rw]; Kaplan [owt2]; Tuned [rw]" in output
    assert "Traceback" not in output


def test_ambiguous_json_names_the_candidates(por_db: Path) -> None:
    code, output = _fit(por_db, "por", "--setting", '{"setting": "Kaplan"}', "--no-save")
    assert code == 1
    assert "matches 2 settings" in output
    assert "Kaplan [rw]; Kaplan [owt2]" in output


def test_dataset_without_settings_says_so(por_db: Path) -> None:
    # "plain" holds the same points without text extras: no setting to pick.
    code, output = _fit(por_db, "plain", "--setting", TUNED, "--no-save")
    assert code == 1
    assert "has no experimental settings" in output


def test_a_figure_markers_colour_is_not_a_setting() -> None:
    """Points read off a figure keep each marker's fill ('#faebdd', Epoch's reading of Hoffmann
    et al.'s Figure 4): 99 colours were listed as 99 'settings'. Other text still counts."""
    points = [
        Point(point_id=f"c{i}", dataset="fig", compute_flops=1e18 * (i + 1), metric="loss",
              value=3.0 - 0.1 * i, unit="nats", source_file="fig.csv", source_row=i + 2,
              extras={"color": colour, "hex_color": colour.upper(), "x": 1.0 * i})
        for i, colour in enumerate(["#faebdd", "#f8d1b8", "#931c5b"])
    ]  # fmt: skip
    with pytest.raises(BadInputError, match="has no experimental settings"):
        select_setting(points, "#faebdd", dataset="fig")
    tagged = [p.model_copy(update={"extras": {**p.extras, "setting": "A"}}) for p in points]
    assert list(setting_choices(tagged)) == ["A"]


def test_where_still_matches_a_colour_field() -> None:
    """A colour is no setting, but --where names its field itself: it matches."""
    from kb.optima import points_where

    points = [
        Point(point_id=f"c{i}", dataset="fig", compute_flops=1e18 * (i + 1), metric="loss",
              value=3.0 - 0.1 * i, unit="nats", source_file="fig.csv", source_row=i + 2,
              extras={"color": colour})
        for i, colour in enumerate(["#faebdd", "#faebdd", "#931c5b"])
    ]  # fmt: skip
    assert [p.point_id for p in points_where(points, {"color": "#faebdd"})] == ["c0", "c1"]


def test_without_setting_the_options_are_unchanged(store: Store) -> None:
    store.upsert([p for p in _optima() if p.extras["setting"] == "Kaplan"])
    res = fit_dataset(store, "por", law="compute_optimal", save=False)
    assert "setting" not in res.options  # fit ids of existing fits do not move
    assert res.to_json()["setting"] is None
    one = fit_dataset(store, "por", law="compute_optimal", save=False, setting="Kaplan [rw]")
    assert one.fit_id("por", "n_opt") != res.fit_id("por", "n_opt")


def test_shared_labels_fall_back_to_keys() -> None:
    pts = _optima()
    pts += [p.model_copy(update={"point_id": p.point_id + "-x", "extras": {**p.extras, "f": "a/b"}})
            for p in pts if p.extras["setting"] == "Tuned"]  # fmt: skip
    choices = setting_choices(pts)
    # "a/b" looks like a file name, so setting_label hides it: two settings share "Tuned [rw]"
    assert TUNED not in choices
    assert len(choices) == 4
    for label, key in choices.items():
        setting, group = select_setting(pts, label)
        assert json.dumps(setting, sort_keys=True) == key
        assert len(group) == 8
    with pytest.raises(BadInputError, match="no setting"):
        select_setting(pts, TUNED)


# -- the registry names the setting a law was fitted on ------------------------------------------


def _law(law_id: str, setting: str | None) -> ReportedLaw:
    conventions = {"compute": "6ND"} | ({"setting": setting} if setting else {})
    entry = {
        "law_id": law_id, "arxiv_id": "2406.19146", "title": "T", "year": 2024, "name": "n",
        "form": "compute_optimal", "formula": "N = k C^a", "params": {"a": 0.5},
        "conventions": conventions, "dataset": "por", "source": "Table 1", "verified": False,
        "notes": "invented",
    }  # fmt: skip
    return validate_entry(entry)


def test_laws_for_setting() -> None:
    tuned = _law("tuned", '{"dataset": "rw", "setting": "Tuned"}')
    kaplan = _law("kaplan", '{"dataset": "rw", "setting": "Kaplan"}')
    anywhere = _law("any", None)
    laws = [tuned, kaplan, anywhere]
    assert law_setting(tuned) == {"dataset": "rw", "setting": "Tuned"}
    full = {"dataset": "rw", "setting": "Tuned", "warmup": "short"}
    assert [x.law_id for x in laws_for_setting(laws, full)] == ["tuned", "any"]
    assert [x.law_id for x in laws_for_setting(laws, {"setting": "Cosine"})] == ["any"]
    assert [x.law_id for x in laws_for_setting(laws, None)] == ["any"]  # a pooled fit


def test_registry_refuses_a_setting_that_is_not_json() -> None:
    with pytest.raises(BadInputError, match=r"conventions\.setting"):
        _law("bad", "Tuned, rw")


def test_shipped_porian_laws_name_their_settings() -> None:
    from kb.registry import load_registry

    named = {law.law_id: law_setting(law) for law in load_registry()}
    kaplan = {"dataset": "rw", "setting": "Reproducing Kaplan et al."}
    assert named["porian2024_kaplan_rw"] == kaplan
    assert named["porian2024_tuned_owt2"] == {
        "dataset": "owt2",
        "setting": "Optimizer tuning (no decay)",
    }
