"""AppTest: the refit page fits a law to a stored dataset and shows it beside the reported law."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest
from streamlit.testing.v1 import AppTest

from kb.records import Dataset, Point, ReportedLaw
from kb.store import Store

MAIN = Path(__file__).resolve().parent.parent / "app" / "main.py"
TRUE = {"E": 1.8, "A": 400.0, "B": 2000.0, "alpha": 0.34, "beta": 0.36}


def _seed_points(path: Path) -> None:
    """40 noisy points of a known Chinchilla law, and a reported law on the same data."""
    rng = np.random.default_rng(3)
    n = 10 ** rng.uniform(7.5, 10, 40)
    d = 10 ** rng.uniform(9, 11.5, 40)
    loss = TRUE["E"] + TRUE["A"] / n ** TRUE["alpha"] + TRUE["B"] / d ** TRUE["beta"]
    loss *= np.exp(rng.normal(0, 0.01, 40))
    with Store(path) as s:
        s.upsert([Dataset(name="toy", path="/x", adapter_version="t", n_points=40)])
        s.upsert(
            Point(point_id=f"p{i}", dataset="toy", n_params=float(n[i]), n_tokens=float(d[i]),
                  compute_flops=6 * float(n[i] * d[i]), metric="loss", value=float(loss[i]),
                  unit="nats/token", source_file="toy.csv", source_row=i + 1)
            for i in range(40)
        )  # fmt: skip
        s.upsert([
            ReportedLaw(law_id="toy_law", arxiv_id="0000.00000", title="Toy", year=2024,
                        name="toy", form="chinchilla", formula="L = E + A/N^a + B/D^b",
                        params={"E": 1.8, "alpha": 0.34}, dataset="toy", source="Table 1",
                        verified=False)
        ])  # fmt: skip


@pytest.fixture
def refit_db(app_db: Path) -> Path:
    _seed_points(app_db)
    return app_db


def _refit_page(query: dict[str, str]) -> AppTest:
    at = AppTest.from_file(str(MAIN), default_timeout=120)
    for key, value in query.items():
        at.query_params[key] = value
    at.run()
    at.switch_page("views/refit.py").run()
    return at


def _fitted(at: AppTest, n_boot: int) -> pd.DataFrame:
    """Press Fit with ``n_boot`` bootstrap refits; the parameters table (no error shown)."""
    at.number_input(key="refit_boot").set_value(n_boot)
    at.button(key="refit_go").click().run()
    assert not at.exception
    assert not at.error, [e.value for e in at.error]
    return at.dataframe[0].value.set_index("parameter")


def test_refit_recovers_the_law_and_shows_the_reported_values(refit_db: Path) -> None:
    at = _refit_page({"dataset": "toy", "law": "chinchilla"})
    assert not at.exception
    assert at.selectbox(key="refit_dataset").value == "toy"
    table = _fitted(at, 50)
    assert table.loc["alpha", "refit"] == pytest.approx(0.34, abs=0.05)
    assert table.loc["E", "reported (toy_law)"] == pytest.approx(1.8)
    assert table.loc["alpha", "low"] < table.loc["alpha", "high"]
    # What low and high are (only the JSON download's options said).
    assert any("low, high: 95% bootstrap percentile interval" in c.value for c in at.caption)
    assert len(at.get("vega_lite_chart")) == 2  # fit with band, and residuals
    assert at.query_params["law"] == ["chinchilla"] or at.query_params["law"] == "chinchilla"


def test_refit_holdout_reports_an_error(refit_db: Path) -> None:
    at = _refit_page({"dataset": "toy", "law": "chinchilla"})
    at.number_input(key="refit_boot").set_value(0)
    at.slider(key="refit_hold_frac").set_value(0.25)
    at.button(key="refit_go").click().run()
    assert not at.exception
    assert "Held-out mean relative error" in at.metric[0].label
    assert any("largest 25% by compute_flops" in c.value for c in at.caption)
    # Where the split fell, and that no interval is claimed without a bootstrap.
    assert any("compute_flops ≥ " in c.value and "the other " in c.value for c in at.caption)
    assert not any("percentile interval" in c.value for c in at.caption)
    assert at.selectbox(key="refit_hold_axis").options == ["compute", "n_params", "n_tokens"]


def test_refit_with_too_few_points_says_why(refit_db: Path) -> None:
    at = _refit_page({"dataset": "toy", "law": "chinchilla"})
    at.number_input(key="refit_min_n").set_value(7e9)
    at.button(key="refit_go").click().run()
    assert not at.exception
    assert "more points than parameters" in at.error[0].value


def test_refit_against_an_extras_column(refit_db: Path) -> None:
    """A dataset whose scale is an extras column (caballero2022_bnsl: train_set_size, no N, D
    or C) can be refitted: the x choices include it, the URL keeps it, and the plot draws it."""
    sizes = [160.0 * 1.15**i for i in range(12)]
    with Store(refit_db) as s:
        s.upsert([Dataset(name="sizes", path="/x", adapter_version="t", n_points=12)])
        s.upsert(
            Point(point_id=f"s{i}", dataset="sizes", metric="test_loss", value=0.4 + 5 * n**-0.5,
                  unit="nats", source_file="sizes.csv", source_row=i + 2,
                  extras={"train_set_size": n, "split": "fit"})
            for i, n in enumerate(sizes)
        )  # fmt: skip
    at = _refit_page({"dataset": "sizes", "law": "power_law_plus_constant"})
    assert not at.exception
    assert at.selectbox(key="refit_x").value == "train_set_size"
    # The held-out box names the column its split uses: this data has no compute, N or D, so
    # "compute" is the law's x (the box said "compute" before) and the others are absent.
    hold = at.selectbox(key="refit_hold_axis")
    assert hold.value == "compute"  # the URL's value is unchanged
    assert hold.options == [
        "train_set_size (the law's x; no compute in this data)",
        "n_params (not in this data)",
        "n_tokens (not in this data)",
    ]
    assert at.query_params["x"] in ("train_set_size", ["train_set_size"])
    at.number_input(key="refit_boot").set_value(20)
    at.button(key="refit_go").click().run()
    assert not at.exception
    assert not at.error, [e.value for e in at.error]
    assert len(at.get("vega_lite_chart")) == 2
    # no compute in this data: the held-out split was along the fitted x, and says so
    assert any("by train_set_size" in c.value for c in at.caption)


def test_refit_law_the_data_cannot_feed_says_what_to_choose(refit_db: Path) -> None:
    """Data without N (caballero2022_bnsl) and a two-input law: the error says what to choose on
    this page, not the CLI's "--x axis" (the page's box is "x (single-input forms)")."""
    with Store(refit_db) as s:
        s.upsert([Dataset(name="sizes", path="/x", adapter_version="t", n_points=4)])
        s.upsert(
            Point(point_id=f"s{i}", dataset="sizes", metric="test_loss", value=1.0 / (i + 1),
                  unit="nats", source_file="sizes.csv", source_row=i + 2,
                  extras={"train_set_size": 100.0 * 2**i})
            for i in range(4)
        )  # fmt: skip
    at = _refit_page({"dataset": "sizes", "law": "chinchilla"})
    at.number_input(key="refit_boot").set_value(0)
    at.button(key="refit_go").click().run()
    assert not at.exception
    message = at.error[0].value
    assert "needs 'n_params' for every point" in message
    assert "--x" not in message
    assert "choose a law whose inputs every point has" in message


# -- datasets holding several experimental settings (Porian-like optima) -----------------------

# (setting, data) -> (compute convention, exponent a); two conventions: never pooled.
SETTINGS = {
    ("Kaplan", "rw"): ("6 N_nonembed D", 0.80),
    ("Tuned", "rw"): ("6ND", 0.50),
}


def _seed_settings(path: Path, name: str = "por", *, one_convention: bool = False) -> None:
    budgets = np.logspace(16, 19, 8)
    rng = np.random.default_rng(5)
    rows: list[Point] = []
    for (setting, data), (method, a) in SETTINGS.items():
        values = 1e-2 * budgets**a * np.exp(rng.normal(0, 0.01, budgets.size))
        for c, v in zip(budgets, values, strict=True):
            rows.append(
                Point(point_id=f"{name}{len(rows)}", dataset=name, compute_flops=float(c),
                      metric="n_opt", value=float(v), unit="params", source_file="optima.csv",
                      source_row=len(rows) + 2,
                      compute_method="6ND" if one_convention else method,
                      extras={"setting": setting, "dataset": data})
            )  # fmt: skip
    laws = [
        ReportedLaw(law_id=f"{name}_{setting.lower()}", arxiv_id="0000.00000", title="Toy",
                    year=2024, name=setting, form="compute_optimal", formula="N = k C^a",
                    params={"a": a}, dataset=name, source="Table 1", verified=False,
                    conventions={"setting": f'{{"dataset": "{data}", "setting": "{setting}"}}'})
        for (setting, data), (_, a) in SETTINGS.items()
    ]  # fmt: skip
    with Store(path) as s:
        s.upsert([Dataset(name=name, path="/x", adapter_version="t", n_points=len(rows))])
        s.upsert(rows)
        s.upsert(laws)


def _url(at: AppTest, key: str) -> str:
    value = at.query_params[key]
    return value[0] if isinstance(value, list) else value


def test_refit_one_setting_shows_that_settings_law(refit_db: Path) -> None:
    _seed_settings(refit_db)
    at = _refit_page({"dataset": "por", "law": "compute_optimal"})
    assert not at.exception
    box = at.selectbox(key="refit_setting")
    # two compute conventions: no "all settings"; the first setting is the default
    assert box.options == ["Kaplan [rw]", "Tuned [rw]"]
    assert box.value == "Kaplan [rw]"
    assert _url(at, "setting") == "Kaplan [rw]"
    box.set_value("Tuned [rw]").run()
    assert _url(at, "setting") == "Tuned [rw]"
    table = _fitted(at, 20)
    assert table.loc["exponent", "refit"] == pytest.approx(0.50, abs=0.02)
    assert table.loc["exponent", "reported (por_tuned)"] == pytest.approx(0.50)
    assert "reported (por_kaplan)" not in table.columns  # another setting's law


def test_refit_setting_round_trips_through_the_url(refit_db: Path) -> None:
    _seed_settings(refit_db)
    at = _refit_page({"dataset": "por", "law": "compute_optimal", "setting": "Tuned [rw]"})
    assert not at.exception
    assert not at.warning
    assert at.selectbox(key="refit_setting").value == "Tuned [rw]"
    assert _url(at, "setting") == "Tuned [rw]"
    assert any("8 points of `n_opt`" in c.value and "Tuned [rw]" in c.value for c in at.caption)


def test_refit_unknown_setting_in_the_url_warns(refit_db: Path) -> None:
    _seed_settings(refit_db)
    at = _refit_page({"dataset": "por", "law": "compute_optimal", "setting": "Cosine [rw]"})
    assert not at.exception
    assert "`setting=Cosine [rw]` (expected a setting of `por`)" in at.warning[0].value
    assert at.selectbox(key="refit_setting").value == "Kaplan [rw]"
    # "all settings" cannot be pooled here either: a warning, the first setting instead
    at = _refit_page({"dataset": "por", "law": "compute_optimal", "setting": "all settings"})
    assert not at.exception
    assert "but this law may not pool them" in at.warning[0].value
    assert at.selectbox(key="refit_setting").value == "Kaplan [rw]"


def test_refit_pools_settings_that_count_alike(refit_db: Path) -> None:
    _seed_settings(refit_db, "alike", one_convention=True)
    at = _refit_page({"dataset": "alike", "law": "compute_optimal"})
    assert not at.exception
    box = at.selectbox(key="refit_setting")
    assert box.options[0] == "all settings"
    assert box.value == "all settings"
    at.number_input(key="refit_boot").set_value(0)
    at.button(key="refit_go").click().run()
    assert not at.exception
    table = at.dataframe[0].value.set_index("parameter")
    # a pooled fit is no one setting's: neither setting's law is put beside it
    assert not any(c.startswith("reported") for c in table.columns)


def test_refit_dataset_with_one_setting_has_no_setting_box(refit_db: Path) -> None:
    at = _refit_page({"dataset": "toy", "law": "chinchilla", "setting": "stale"})
    assert not at.exception
    with pytest.raises(KeyError):
        at.selectbox(key="refit_setting")
    assert "setting" not in at.query_params


def test_refit_run_names_are_no_settings_to_pick(refit_db: Path) -> None:
    """Text extras naming every run (Epoch's point colours, Gadre et al.'s run names) make
    dozens of one-point "settings": no box then, unless pooling is refused."""
    budgets = np.logspace(16, 19, 40)
    rows = [
        Point(point_id=f"runs{i}", dataset="runs", compute_flops=float(c), metric="n_opt",
              value=float(1e-2 * c**0.5), unit="params", source_file="runs.csv",
              source_row=i + 2, compute_method="6ND", extras={"run": f"run-{i}"})
        for i, c in enumerate(budgets)
    ]  # fmt: skip
    with Store(refit_db) as s:
        s.upsert([Dataset(name="runs", path="/x", adapter_version="t", n_points=len(rows))])
        s.upsert(rows)
    at = _refit_page({"dataset": "runs", "law": "compute_optimal", "setting": "run-3"})
    assert not at.exception
    with pytest.raises(KeyError):
        at.selectbox(key="refit_setting")
    assert "setting" not in at.query_params
    assert any("40 points of `n_opt`" in c.value for c in at.caption)


# -- every control in the URL (app.urlstate) ---------------------------------------------------

OPTIONS_URL = {
    "dataset": "toy", "law": "chinchilla", "recipe": "hoffmann", "delta": "0.01", "drop": "2",
    "boot": "30", "seed": "7", "holdout_axis": "n_params", "holdout": "0.25", "min_n": "1e8",
}  # fmt: skip


def test_refit_options_round_trip_through_the_url(refit_db: Path) -> None:
    at = _refit_page(OPTIONS_URL)
    assert not at.exception
    assert not at.warning, [w.value for w in at.warning]
    assert at.selectbox(key="refit_recipe").value == "hoffmann"
    assert at.number_input(key="refit_delta").value == pytest.approx(0.01)
    assert at.number_input(key="refit_drop").value == 2
    assert at.number_input(key="refit_boot").value == 30
    assert at.number_input(key="refit_seed").value == 7
    assert at.selectbox(key="refit_hold_axis").value == "n_params"
    assert at.slider(key="refit_hold_frac").value == pytest.approx(0.25)
    assert at.number_input(key="refit_min_n").value == pytest.approx(1e8)
    assert at.expander[0].proto.expanded  # a link that sets options shows them
    # the URL the page writes back is the one it was opened with (plus the metric it chose)
    assert {k: _url(at, k) for k in OPTIONS_URL} == {**OPTIONS_URL, "min_n": "100000000.0"}
    assert _url(at, "metric") == "loss"


def test_refit_changed_options_go_into_the_url(refit_db: Path) -> None:
    at = _refit_page({"dataset": "toy", "law": "chinchilla"})
    assert "boot" not in at.query_params  # defaults stay out of the link
    at.number_input(key="refit_boot").set_value(50).run()
    at.number_input(key="refit_seed").set_value(3).run()
    at.slider(key="refit_hold_frac").set_value(0.1).run()
    at.selectbox(key="refit_hold_axis").set_value("n_tokens").run()
    assert not at.exception
    assert (_url(at, "boot"), _url(at, "seed")) == ("50", "3")
    assert (_url(at, "holdout"), _url(at, "holdout_axis")) == ("0.1", "n_tokens")
    at.number_input(key="refit_boot").set_value(200).run()  # back to the default: out of the URL
    assert "boot" not in at.query_params
    # the same URL opened afresh shows the same controls
    again = _refit_page({k: _url(at, k) for k in at.query_params})
    assert again.number_input(key="refit_seed").value == 3
    assert again.slider(key="refit_hold_frac").value == pytest.approx(0.1)
    assert again.selectbox(key="refit_hold_axis").value == "n_tokens"


def test_refit_same_url_gives_the_same_fit(refit_db: Path) -> None:
    url = {**OPTIONS_URL, "holdout": "0", "min_n": "0"}
    first = _fitted(_refit_page(url), 30)
    second = _fitted(_refit_page(url), 30)
    pd.testing.assert_frame_equal(first, second)


@pytest.mark.parametrize(
    ("name", "value", "expected"),
    [
        ("dataset", "nope", "a released dataset"),
        ("dataset", "tox", "did you mean toy?"),
        ("law", "cubic", "one of"),
        ("recipe", "", "one of"),
        ("boot", "abc", "a whole number from 0 to 2000"),
        ("boot", "5000", "a whole number from 0 to 2000"),
        ("boot", "2.5", "a whole number from 0 to 2000"),
        ("seed", "-1", "a whole number from 0"),
        ("seed", "1e30", "a whole number from 0 to 9007199254740991"),  # beyond the browser's
        ("delta", "nan", "a number from 1e-05 to 10"),
        ("delta", "inf", "a number from 1e-05 to 10"),
        ("holdout", "0.9", "a number from 0 to 0.5"),
        ("drop", "40", "a whole number from 0 to 39"),
        ("holdout_axis", "flops", "one of compute, n_params, n_tokens"),
        ("source", "ftp", "one of dataset, upload"),
        ("x", "n_params", "the law chinchilla has no single input"),
        ("setting", "stale", "`toy` has no settings to choose from"),
    ],
)
def test_refit_bad_url_values_are_named_and_defaulted(
    refit_db: Path, name: str, value: str, expected: str
) -> None:
    at = _refit_page({"dataset": "toy", "law": "chinchilla", name: value})
    assert not at.exception
    assert len(at.warning) == 1
    assert f"`{name}={value}`" in at.warning[0].value
    assert expected in at.warning[0].value
    defaults = {"refit_dataset": "toy", "refit_law": "chinchilla", "refit_recipe": "standard"}
    for key, default in defaults.items():
        assert at.selectbox(key=key).value == default
    assert at.number_input(key="refit_boot").value == 200
    assert at.number_input(key="refit_drop").value == 0
    assert at.slider(key="refit_hold_frac").value == pytest.approx(0.2)
    assert name not in at.query_params or _url(at, name) != value  # the URL is rewritten
    # the notice is for the link: the next interaction does not repeat it
    at.number_input(key="refit_seed").set_value(1).run()
    assert not at.warning


def test_refit_another_recipe_brings_its_own_drops(refit_db: Path) -> None:
    at = _refit_page({"dataset": "toy", "law": "chinchilla"})
    assert at.number_input(key="refit_drop").value == 0
    at.selectbox(key="refit_recipe").set_value("epoch").run()
    assert at.number_input(key="refit_drop").value == 5  # the epoch recipe drops 5
    assert "drop" not in at.query_params  # it is that recipe's default
    at.number_input(key="refit_drop").set_value(3).run()
    assert _url(at, "drop") == "3"
    at.selectbox(key="refit_recipe").set_value("standard").run()
    assert at.number_input(key="refit_drop").value == 0


def test_refit_layout_holds_at_phone_width(refit_db: Path) -> None:
    """What a 390 px Chromium walk showed: the fit legend beside the plot took a third of its
    width, the Residuals title was cut in half, the held-out label was cut ("by compute_…"),
    and the parameter names were cut (N_opt@5.76)."""
    import json

    at = _refit_page({"dataset": "toy", "law": "chinchilla", "holdout": "0.25"})
    at.number_input(key="refit_boot").set_value(0)
    at.button(key="refit_go").click().run()
    assert not at.exception
    fit, resid = (json.loads(c.proto.spec) for c in at.get("vega_lite_chart"))
    legends = [
        layer["encoding"]["strokeDash"]["legend"]
        for layer in fit["layer"]
        if "strokeDash" in layer.get("encoding", {})
    ]
    assert legends == [{"orient": "top"}]
    assert "title" not in resid
    assert any(m.value == "**Residuals**" for m in at.markdown)
    assert at.metric[0].label == "Held-out mean relative error"
    columns = json.loads(at.dataframe[0].proto.columns)
    assert columns["parameter"]["width"] == "medium"  # N_opt@5.76e+23 whole


def test_refit_link_waiting_for_an_upload_keeps_its_options(refit_db: Path) -> None:
    """Before a file is uploaded the page stops short of the law box: the link's law and
    options must still be in the URL when the file comes (the browser test caught the law
    being dropped, so the upload was fitted with the default law)."""
    at = _refit_page({"source": "upload", "law": "power_law", "seed": "4", "dataset": "toy"})
    assert not at.exception
    assert at.radio(key="refit_source").value == "upload"
    assert (_url(at, "source"), _url(at, "law"), _url(at, "seed")) == ("upload", "power_law", "4")
    assert "`dataset=toy` (an uploaded CSV is fitted)" in at.warning[0].value
    assert "dataset" not in at.query_params


def test_refit_parameters_show_in_the_cli_s_notation(refit_db: Path) -> None:
    """Big and small numbers in %g notation as `kb fit` prints them: the column format
    "%.6g" (sprintf-js in the browser) showed A = 406400000 and N_opt = 65890000000."""
    at = _refit_page({"dataset": "toy", "law": "chinchilla"})
    table = _fitted(at, 0)
    proto = at.dataframe[0].proto
    shown = pa.ipc.open_stream(proto.arrow_data.styler.display_values).read_pandas()
    shown = shown.set_index("parameter")
    assert "refit" not in json.loads(proto.columns)  # no column format over the cells' text
    big = [name for name in table.index if abs(table.loc[name, "refit"]) >= 1e6]
    assert big, table  # N_opt and D_opt at the budgets
    for name in table.index:
        value = table.loc[name, "refit"]
        assert shown.loc[name, "refit"] == f"{value:.6g}", name
    for name in big:
        assert "e+" in shown.loc[name, "refit"], shown.loc[name, "refit"]
    assert shown.loc["alpha", "low"] == ""  # no bootstrap: no interval


def test_refit_warns_when_the_law_was_fitted_to_each_runs_final_point(app_db: Path) -> None:
    rng = np.random.default_rng(5)
    pts = []
    for run in range(6):
        n = 10 ** (7.5 + 0.4 * run)
        for step in range(1, 5):
            d = 1e9 * step * (1 + run)
            loss = TRUE["E"] + TRUE["A"] / n ** TRUE["alpha"] + TRUE["B"] / d ** TRUE["beta"]
            i = 4 * run + step
            pts.append(Point(
                point_id=f"p{i}", dataset="ladder", run_key=f"r{run}", step=step,
                n_params=n, n_tokens=d, compute_flops=6 * n * d, metric="loss",
                value=float(loss * np.exp(rng.normal(0, 0.01))), unit="nats/token",
                source_file="l.csv", source_row=i,
            ))  # fmt: skip
    with Store(app_db) as s:
        s.upsert([Dataset(name="ladder", path="/x", adapter_version="t", n_points=24), *pts])
        s.upsert([
            ReportedLaw(law_id="final_only", arxiv_id="2412.04403", title="Ladder", year=2024,
                        name="ladder", form="chinchilla", formula="L", params={"E": 1.8},
                        dataset="ladder", source="code", verified=False, notes="not read",
                        conventions={"dataset_points": "last_per_run"})
        ])  # fmt: skip
    at = _refit_page({"dataset": "ladder", "law": "chinchilla"})
    _fitted(at, 0)
    # Before: the law's values stood beside a refit of every checkpoint with no word of it.
    (warning,) = [w.value for w in at.warning if "final_only" in w.value]
    assert "each run's final point (6 runs here)" in warning
    assert "all 24 points" in warning


def test_refit_fits_one_group_of_points_that_are_no_settings(app_db: Path) -> None:
    """Gadre et al.'s runs each carry their own name (no setting box), so the page pooled the
    three training sets into one fit, beside none of the three laws."""
    pts = []
    for i in range(8):
        n = 10 ** (6 + 0.4 * i)
        for train, alpha in (("a", 0.1), ("b", 0.3)):
            j = 2 * i + (train == "b")
            noise = 1 + 0.02 * np.sin(7.0 * j)
            pts.append(Point(
                point_id=f"g{j}", dataset="groups", metric="loss", value=50 * n**-alpha * noise,
                unit="nats/token", source_file="g.csv", source_row=j + 1, n_params=n,
                n_params_kind="total", extras={"train_dataset": train, "name": f"{train}-{i}"},
            ))  # fmt: skip
    with Store(app_db) as s:
        s.upsert([Dataset(name="groups", path="/x", adapter_version="t", n_points=16), *pts])
        s.upsert([
            ReportedLaw(law_id="on_b", arxiv_id="2403.08540", title="Groups", year=2024,
                        name="loss vs model size", form="power_law", formula="L",
                        params={"alpha": 0.3}, dataset="groups", source="code",
                        verified=False, notes="not read",
                        conventions={"setting": '{"train_dataset": "b"}'})
        ])  # fmt: skip
    at = _refit_page({"dataset": "groups", "law": "power_law", "x": "n_params"})
    box = at.selectbox(key="refit_where")
    assert box.options == ["all points", "train_dataset = a", "train_dataset = b"]
    assert any("2 values of train_dataset" in c.value for c in at.caption)
    box.set_value("train_dataset = b").run()
    assert any("8 points of `loss`" in c.value for c in at.caption)
    table = _fitted(at, 20)
    assert table.loc["alpha", "refit"] == pytest.approx(0.3, abs=0.01)
    assert table.loc["alpha", "reported (on_b)"] == pytest.approx(0.3)
    where = at.query_params["where"]
    assert (where[0] if isinstance(where, list) else where) == "train_dataset = b"


def _two_metric_csv() -> bytes:
    """20 runs of a Chinchilla law logged twice: as `val_loss` and as an `error` of another
    scale, so one fit of both metrics is neither law."""
    rng = np.random.default_rng(11)
    rows = ["n_params,n_tokens,value,metric"]
    for _ in range(20):
        n, d = 10 ** rng.uniform(7.5, 10), 10 ** rng.uniform(9, 11.5)
        loss = TRUE["E"] + TRUE["A"] / n ** TRUE["alpha"] + TRUE["B"] / d ** TRUE["beta"]
        loss *= float(np.exp(rng.normal(0, 0.01)))
        rows.append(f"{n:.6g},{d:.6g},{loss:.6g},val_loss")
        rows.append(f"{n:.6g},{d:.6g},{0.1 + 30 / n**0.2 + 50 / d**0.15:.6g},error")
    return ("\n".join(rows) + "\n").encode()


def _cli_fit(tmp_path: Path, body: bytes, *extra: str) -> dict[str, float]:
    from click.testing import CliRunner

    from kb.cli import cli

    path = tmp_path / "runs.csv"
    path.write_bytes(body)
    args = ["-q", "fit", "--data", str(path), "--law", "chinchilla", "--boot", "0", "--json"]
    out = CliRunner().invoke(cli, [*args, *extra])
    assert out.exit_code == 0, out.output
    row = json.loads(out.stdout.splitlines()[0])
    return {**row["params"], **row["derived"]}


def _upload(at: AppTest, body: bytes, name: str = "runs.csv") -> AppTest:
    at.file_uploader(key="refit_upload").set_value((name, body, "text/csv")).run()
    assert not at.exception
    return at


@pytest.mark.parametrize("metric", ["val_loss", "error"])
def test_refit_upload_of_two_metrics_fits_one_as_kb_fit_data_does(
    refit_db: Path, tmp_path: Path, metric: str
) -> None:
    """A CSV holding two metrics offers a Metric box (the loss by default, as `kb fit --data`)
    and fits that metric alone: the same parameters as `kb fit --data FILE --metric M`. Before,
    the page fitted both metrics' rows as one cloud, labelled with the first row's metric."""
    body = _two_metric_csv()
    at = _upload(_refit_page({"source": "upload", "law": "chinchilla"}), body)
    box = at.selectbox(key="refit_metric")
    assert box.options == ["error", "val_loss"]
    assert box.value == "val_loss"  # named like a loss: the CLI's default too
    if metric != box.value:
        box.set_value(metric).run()
    assert any(f"20 points of `{metric}` from `upload`" in c.value for c in at.caption)
    table = _fitted(at, 0)
    assert _url(at, "metric") == metric
    expected = _cli_fit(tmp_path, body, "--metric", metric)
    for name in ("E", "A", "B", "alpha", "beta"):
        assert table.loc[name, "refit"] == pytest.approx(expected[name], rel=1e-9), name


def test_refit_upload_metric_from_a_link_and_none_by_default(refit_db: Path) -> None:
    """A link's metric picks the upload's metric; a file whose metrics are none named like a
    loss fits nothing until one is chosen (`kb fit --data` asks for --metric likewise)."""
    body = _two_metric_csv()
    at = _upload(_refit_page({"source": "upload", "law": "chinchilla", "metric": "error"}), body)
    assert at.selectbox(key="refit_metric").value == "error"
    assert not at.warning
    two = body.replace(b",val_loss\n", b",perplexity\n")
    at = _upload(_refit_page({"source": "upload", "law": "chinchilla"}), two)
    box = at.selectbox(key="refit_metric")
    assert box.value is None
    assert any("choose the one to fit" in i.value for i in at.info)
    assert not at.button  # no Fit button before a metric is chosen
    box.set_value("perplexity").run()
    assert any("20 points of `perplexity`" in c.value for c in at.caption)


def test_refit_upload_of_one_metric_names_a_link_s_other_metric(refit_db: Path) -> None:
    body = b"n_params,value,metric\n1e6,3.0,loss\n1e7,2.6,loss\n1e8,2.3,loss\n"
    at = _upload(_refit_page({"source": "upload", "law": "power_law", "metric": "error"}), body)
    assert "refit_metric" not in [s.key for s in at.selectbox]  # one metric: no box
    (warning,) = at.warning
    assert "`metric=error` (`runs.csv` holds `loss`); it is fitted." in warning.value
    assert any("3 points of `loss`" in c.value for c in at.caption)
    assert "metric" not in at.query_params
    body = _two_metric_csv()
    at = _upload(_refit_page({"source": "upload", "law": "chinchilla", "metric": "x"}), body)
    assert at.selectbox(key="refit_metric").value == "val_loss"
    assert "`metric=x` (`runs.csv` holds `error`, `val_loss`)" in at.warning[0].value


def _grouped_csv(extra: str = "train_set") -> bytes:
    """8 runs on each of two training sets, a and b, of other exponents (0.1 and 0.3): a text
    column ``extra`` a scaling fit should not pool (kb.optima.pooled_fields)."""
    rows = [f"n_params,value,{extra}"]
    for i in range(8):
        n = 10 ** (6 + 0.4 * i)
        for train, alpha in (("a", 0.1), ("b", 0.3)):
            noise = 1 + 0.02 * np.sin(7.0 * (2 * i + (train == "b")))
            rows.append(f"{n:.6g},{50 * n**-alpha * noise:.6g},{train}")
    return ("\n".join(rows) + "\n").encode()


def test_refit_upload_fits_one_group_as_kb_fit_data_where_does(
    refit_db: Path, tmp_path: Path
) -> None:
    """An upload whose text column splits its runs offers the datasets' *Only points with* box
    and fits one group: the parameters of `kb fit --data FILE --where train_set=b`. Before, the
    box was a registry dataset's only and the page pooled both training sets."""
    body = _grouped_csv()
    at = _upload(_refit_page({"source": "upload", "law": "power_law", "x": "n_params"}), body)
    box = at.selectbox(key="refit_where")
    assert box.options == ["all points", "train_set = a", "train_set = b"]
    assert box.value == "all points"
    assert any("2 values of train_set" in c.value for c in at.caption)
    box.set_value("train_set = b").run()
    assert any("8 points of `loss` from `upload`, *train_set = b*" in c.value for c in at.caption)
    table = _fitted(at, 0)
    assert _url(at, "where") == "train_set = b"
    path = tmp_path / "runs.csv"
    path.write_bytes(body)
    from click.testing import CliRunner

    from kb.cli import cli

    args = ["-q", "fit", "--data", str(path), "--law", "power_law", "--x", "n_params",
            "--where", "train_set=b", "--json"]  # fmt: skip
    out = CliRunner().invoke(cli, args)
    assert out.exit_code == 0, out.output
    expected = json.loads(out.stdout.splitlines()[0])["params"]
    assert table.loc["alpha", "refit"] == pytest.approx(expected["alpha"], rel=1e-9)
    assert table.loc["alpha", "refit"] == pytest.approx(0.3, abs=0.02)


def test_refit_upload_group_from_a_link(refit_db: Path) -> None:
    """A link's group is chosen once the file comes (the page read the link before it), and
    one the file lacks is named, as for a registry dataset, where it was dropped unsaid."""
    link = {"source": "upload", "law": "power_law", "x": "n_params", "where": "train_set = b"}
    at = _upload(_refit_page(link), _grouped_csv())
    assert at.selectbox(key="refit_where").value == "train_set = b"
    assert not at.warning
    assert any("8 points of `loss`" in c.value for c in at.caption)
    assert _url(at, "where") == "train_set = b"

    at = _upload(_refit_page({**link, "where": "train_set = z"}), _grouped_csv())
    assert at.selectbox(key="refit_where").value == "all points"
    (warning,) = at.warning
    assert warning.value == (
        "Ignored from the link: `where=train_set = z` (expected a group of `runs.csv`'s points, "
        "as `field = value`); the default is shown instead."
    )
    assert any("16 points of `loss`" in c.value for c in at.caption)

    plain = b"n_params,value\n1e6,3.0\n1e7,2.6\n1e8,2.3\n"
    at = _upload(_refit_page(link), plain)
    assert "refit_where" not in [s.key for s in at.selectbox]
    (warning,) = at.warning
    assert "`where=train_set = b` (`runs.csv` has no groups of points to choose from)" in (
        warning.value
    )
    assert "where" not in at.query_params


def test_refit_reads_an_upload_once(refit_db: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The file is parsed when it comes, not on every run, and each run selects its points
    once: a file of two metrics went through upload_points twice per run (once for the
    default metric alone)."""
    import kb.fit
    import kb.uploads

    calls = {"parse": 0, "select": 0}
    parse, select = kb.uploads.parse_upload, kb.fit.upload_points

    def counted_parse(*args: object, **kwargs: object) -> object:
        calls["parse"] += 1
        return parse(*args, **kwargs)  # type: ignore[arg-type]

    def counted_select(*args: object, **kwargs: object) -> object:
        calls["select"] += 1
        return select(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(kb.uploads, "parse_upload", counted_parse)
    monkeypatch.setattr(kb.fit, "upload_points", counted_select)
    at = _upload(_refit_page({"source": "upload", "law": "chinchilla"}), _two_metric_csv())
    assert calls == {"parse": 1, "select": 2}  # the default metric, once per file
    at.selectbox(key="refit_metric").set_value("error").run()
    assert calls == {"parse": 1, "select": 3}
    _fitted(at, 0)
    assert calls == {"parse": 1, "select": 4}
    assert any("20 points of `error`" in c.value for c in at.caption)
    # Another file (the same size, other values) is read anew.
    _upload(at, _two_metric_csv().replace(b",val_loss\n", b",train_loss\n"))
    assert calls["parse"] == 2


# -- the runs a law's paper fitted (conventions.fit_runs) -------------------------------------

GADRE_C4 = {
    "dataset": "gadre2024_overtraining", "law": "chinchilla_tied",
    "where": "train_dataset = c4_original", "boot": "0",
}  # fmt: skip


@pytest.fixture
def gadre_db(app_db: Path, shared: Path) -> Path:
    """The app's store with Gadre et al.'s released runs and the shipped registry."""
    from ingest.released import ingest_datasets
    from kb.registry import DEFAULT_REGISTRY, sync_registry

    with Store(app_db) as s:
        ingest_datasets(s, [shared / "datasets" / "gadre2024_overtraining"])
        sync_registry(s, DEFAULT_REGISTRY)
    return app_db


@pytest.fixture
def downloads(monkeypatch: pytest.MonkeyPatch) -> dict[str, bytes]:
    """The files the page offers for download, by file name (AppTest keeps no way to read them)."""
    from streamlit.runtime.memory_media_file_storage import MemoryMediaFileStorage

    files: dict[str, bytes] = {}
    load = MemoryMediaFileStorage.load_and_get_id

    def keep(self: Any, data: Any, mimetype: str, kind: Any, filename: str | None = None) -> str:
        if filename is not None and isinstance(data, bytes):
            files[filename] = data
        return load(self, data, mimetype, kind, filename)

    monkeypatch.setattr(MemoryMediaFileStorage, "load_and_get_id", keep)
    return files


def test_refit_fits_the_runs_the_paper_fitted_or_every_point(
    gadre_db: Path, downloads: dict[str, bytes]
) -> None:
    """Before: the page fitted all 34 C4 runs (alpha 0.2571) beside gadre2024_loss_c4's 0.2425,
    which its paper fitted on 5; only `kb audit` refitted those 5 (alpha 0.2364)."""
    at = _refit_page(GADRE_C4)
    assert not at.exception
    points = at.radio(key="refit_selection")
    assert points.options == ["the runs the paper fitted (5 of 34)", "all released points (34)"]
    assert points.value == "paper_runs"
    assert _url(at, "selection") == "paper_runs"
    assert any(c.value.startswith("Why these runs: `gadre2024_loss_c4`") and "fit_ds" in c.value
               for c in at.caption)  # fmt: skip
    # 5 points leave none to hold out for a 4-parameter law: no held-out check by default
    # (Fit failed at once with the page's 20%).
    assert at.slider(key="refit_hold_frac").value == 0.0
    table = _fitted(at, 0)
    assert table.loc["alpha", "refit"] == pytest.approx(0.2364, abs=5e-5)
    assert table.loc["alpha", "reported (gadre2024_loss_c4)"] == pytest.approx(0.242472)
    assert any("5 of 34 points: the runs the paper fitted" in c.value for c in at.caption)
    assert not [w.value for w in at.warning if "gadre2024_loss_c4" in w.value]
    fit = json.loads(downloads["fit_chinchilla_tied.json"])
    assert (fit["selection"], fit["n_points"], fit["n_points_all"]) == ("paper_runs", 5, 34)
    assert "fit_ds" in fit["selection_source"]

    at.radio(key="refit_selection").set_value("all").run()
    assert _url(at, "selection") == "all"
    assert at.slider(key="refit_hold_frac").value == pytest.approx(0.2)
    table = _fitted(at, 0)
    assert table.loc["alpha", "refit"] == pytest.approx(0.2571, abs=5e-5)
    (warning,) = [w.value for w in at.warning if "gadre2024_loss_c4" in w.value]
    assert "fitted by its paper on 5 of these runs; this refit uses all 34 points" in warning
    fit = json.loads(downloads["fit_chinchilla_tied.json"])
    assert (fit["selection"], fit["n_points"], fit["n_points_all"]) == ("all", 34, 34)
    assert fit["selection_source"] is None


def test_refit_points_control_only_beside_a_law_naming_its_runs(
    gadre_db: Path, downloads: dict[str, bytes]
) -> None:
    _seed_points(gadre_db)  # before the page opens the store
    # The free-exponent form: no Gadre law stands beside it, so no choice and every point.
    at = _refit_page({**GADRE_C4, "law": "chinchilla"})
    assert not at.exception
    with pytest.raises(KeyError):
        at.radio(key="refit_selection")
    assert "selection" not in at.query_params
    assert any(c.value.startswith("34 points of `loss_c4_val`") for c in at.caption)
    # A dataset without such a law: unchanged, and a link's selection is named as unused.
    at = _refit_page({"dataset": "toy", "law": "chinchilla", "selection": "paper_runs"})
    assert not at.exception
    with pytest.raises(KeyError):
        at.radio(key="refit_selection")
    assert "`selection=paper_runs` (no law beside this fit names the runs" in at.warning[0].value
    assert "selection" not in at.query_params
    _fitted(at, 0)
    fit = json.loads(downloads["fit_chinchilla.json"])
    assert (fit["selection"], fit["n_points"], fit["n_points_all"]) == ("all", 40, 40)


def test_refit_points_round_trip_through_the_url(gadre_db: Path) -> None:
    at = _refit_page({**GADRE_C4, "selection": "all"})
    assert not at.exception
    assert not at.warning, [w.value for w in at.warning]
    assert at.radio(key="refit_selection").value == "all"
    assert any(c.value.startswith("34 points of `loss_c4_val`") for c in at.caption)
    link = {k: _url(at, k) for k in at.query_params}
    assert link["selection"] == "all"
    again = _refit_page(link)
    assert again.radio(key="refit_selection").value == "all"
    assert {k: _url(again, k) for k in again.query_params} == link
    # A value the page does not know: named, and the paper's runs instead.
    at = _refit_page({**GADRE_C4, "selection": "five"})
    assert "`selection=five` (expected paper_runs or all)" in at.warning[0].value
    assert at.radio(key="refit_selection").value == "paper_runs"
    assert any(c.value.startswith("5 of 34 points of `loss_c4_val`") for c in at.caption)
