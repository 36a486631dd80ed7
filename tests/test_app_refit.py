"""AppTest: the refit page fits a law to a stored dataset and shows it beside the reported law."""

from __future__ import annotations

from pathlib import Path

import numpy as np
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


def test_refit_recovers_the_law_and_shows_the_reported_values(refit_db: Path) -> None:
    at = _refit_page({"dataset": "toy", "law": "chinchilla"})
    assert not at.exception
    assert at.selectbox(key="refit_dataset").value == "toy"
    at.number_input(key="refit_boot").set_value(50)
    at.button(key="refit_go").click().run()
    assert not at.exception
    assert not at.error, [e.value for e in at.error]
    table = at.dataframe[0].value.set_index("parameter")
    assert table.loc["alpha", "refit"] == pytest.approx(0.34, abs=0.05)
    assert table.loc["E", "reported (toy_law)"] == pytest.approx(1.8)
    assert table.loc["alpha", "low"] < table.loc["alpha", "high"]
    assert len(at.get("vega_lite_chart")) == 2  # fit with band, and residuals
    assert at.query_params["law"] == ["chinchilla"] or at.query_params["law"] == "chinchilla"


def test_refit_holdout_reports_an_error(refit_db: Path) -> None:
    at = _refit_page({"dataset": "toy", "law": "chinchilla"})
    at.number_input(key="refit_boot").set_value(0)
    at.slider(key="refit_hold_frac").set_value(0.25)
    at.button(key="refit_go").click().run()
    assert not at.exception
    assert "Held-out mean relative error" in at.metric[0].label
    assert "by compute_flops" in at.metric[0].label


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
    assert at.query_params["x"] in ("train_set_size", ["train_set_size"])
    at.number_input(key="refit_boot").set_value(20)
    at.button(key="refit_go").click().run()
    assert not at.exception
    assert not at.error, [e.value for e in at.error]
    assert len(at.get("vega_lite_chart")) == 2
    # no compute in this data: the held-out split was along the fitted x, and says so
    assert "by train_set_size" in at.metric[0].label
