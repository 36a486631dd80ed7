"""Which compared values a paper states and which we computed from its parameters: said in every
row (`method`), in the CSV and JSON, and drawn (hollow marks) on the forest plot; and a slope
the paper writes negative is said to be one. Laws here are hand-made."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from kb.charts import compare_caption, compare_chart, compare_records
from kb.cli import cli
from kb.compare import compare
from kb.derive import derive, view_of_law
from kb.registry import DEFAULT_REGISTRY, load_registry
from kb.store import Store
from kb.verdicts import profile_of
from tests.test_compare import law, seed


def test_each_row_says_how_its_value_was_obtained(store: Store) -> None:
    """Besiroglu et al.'s a here is β/(α+β) of their fitted exponents, computed by us; Kaplan
    et al.'s 0.73 they state. Both were plain rows: only the derivation's prose told them apart."""
    seed(store)
    rows = {r.source_id: r for r in compare(store, quantity="a")}
    assert rows["hoffmann_a1"].method == "parameter"  # a fitted parameter of its law
    assert rows["hoffmann_a3"].method == "reported"  # stated in `derived`
    assert rows["kaplan"].method == "reported"
    assert rows["besiroglu"].method == "formula"
    alpha = {r.source_id: r for r in compare(store, quantity="alpha")}
    assert alpha["besiroglu"].method == "parameter"
    records = {r["source"]: r for r in compare_records(rows.values())}
    assert records["besiroglu"]["method"] == "formula"  # the app's table and CSV
    assert records["kaplan"]["method"] == "reported"


def test_compare_json_carries_method(tmp_path: Path) -> None:
    db = tmp_path / "kb.duckdb"
    with Store(db) as s:
        seed(s)
    out = CliRunner().invoke(cli, ["compare", "--quantity", "a", "--json", "--db", str(db)])
    assert out.exit_code == 0, out.output
    got = {r["source_id"]: r["method"] for r in map(json.loads, out.stdout.splitlines())}
    assert got["besiroglu"] == "formula"
    assert got["hoffmann_a3"] == "reported"


def test_forest_plot_draws_computed_values_hollow(store: Store) -> None:
    seed(store)
    records = compare_records(compare(store, quantity="a"))
    spec = compare_chart(records, "a").to_dict()
    points = [layer for layer in spec["layer"] if "shape" in layer["encoding"]]
    filled = {p["mark"]["filled"]: p["transform"][0]["filter"] for p in points}
    assert set(filled) == {True, False}
    assert "formula" in filled[False]
    assert "conversion" in filled[False]
    assert filled[True].startswith("!(")  # the stated values, filled as before
    # The rows keep their order whichever layer draws them.
    (order,) = {
        str(layer["encoding"]["y"]["sort"]) for layer in spec["layer"] if "y" in layer["encoding"]
    }
    assert order == str([r["source"] for r in records])
    # the reference's value is a dashed line down the plot, drawn under the marks
    rule = spec["layer"][0]
    assert rule["mark"]["type"] == "rule"
    assert rule["mark"]["strokeDash"] == [4, 3]
    assert rule["transform"] == [{"filter": "datum.verdict == 'reference'"}]
    assert rule["encoding"]["x"]["field"] == "value"
    assert any(r["verdict"] == "reference" for r in records)
    assert "dashed line is the reference's value" in compare_caption(records)
    assert "its value: the dashed line" in compare_caption(records, standalone=True)
    assert "Hollow marks: computed here" in compare_caption(records)
    assert "Hollow marks" in compare_caption(records, standalone=True)
    stated = [r for r in records if r["method"] not in ("formula", "conversion")]
    assert "Hollow" not in compare_caption(stated)  # no hollow mark, no key for one


def test_a_negative_slope_is_said_to_be_the_papers() -> None:
    """Hestness et al. write eps(m) = alpha m^beta_g with beta_g = -0.066; the comparison shows
    0.066 (a decay exponent, L ∝ D^-beta) and said nothing of the sign it dropped."""
    view = view_of_law(
        law("hestness", "power_law", {"beta_g": -0.066}, name="error vs training set size")
    )
    (beta,) = derive(view, "beta")
    assert beta.value == 0.066
    assert "the source writes beta_g = -0.066, a negative slope" in beta.derivation
    (pos,) = derive(view_of_law(law("p", "power_law", {"alpha_D": 0.095})), "beta")
    assert "negative" not in pos.derivation


def test_hestness_imagenet_law_is_a_vision_law() -> None:
    """Hestness et al.'s paper spans four domains and its corpus label is language, so their
    ImageNet error law was listed under the Compare page's 'language' filter, beside loss laws."""
    laws = {x.law_id: x for x in load_registry(DEFAULT_REGISTRY)}
    assert profile_of(view_of_law(laws["hestness2017_imagenet"])).domain == "vision"
    assert profile_of(view_of_law(laws["hestness2017_word_lm"])).domain is None  # the paper's


def test_llama3_note_says_the_printed_fit_does_not_give_the_papers_extrapolation() -> None:
    """The note said the law 'gives 402B parameters on 16.55T tokens' at 3.8e25 FLOPs; the
    printed (alpha, A) = (0.53, 0.29) give 10.5T tokens there, and no rounding reaches 16.55T."""
    llama = {x.law_id: x for x in load_registry(DEFAULT_REGISTRY)}["llama3_2024_compute_optimal"]
    A, alpha = llama.params["A"], llama.params["alpha"]
    assert A * 3.8e25**alpha == pytest.approx(1.05e13, rel=0.01)
    assert 0.295 * 3.8e25**0.535 < 16.55e12  # the largest the rounding allows
    assert "10.5T" in llama.notes
    assert "values other than those printed" in llama.notes


def test_a_propagated_interval_names_the_kind_it_came_from(store: Store) -> None:
    """Besiroglu et al.'s a interval is built from alpha, beta ± 1 standard error, not from
    percentiles; the a row's derivation said only 'propagated ... by monotonicity'."""
    store.upsert(
        [
            law("se", "chinchilla", {"alpha": 0.3478, "beta": 0.3658},
                intervals={"alpha": [0.3278, 0.3678], "beta": [0.3458, 0.3858]},
                conventions={"intervals": "estimate ± 1 bootstrap standard error"}),
        ]
    )  # fmt: skip
    (row,) = compare(store, quantity="a")
    assert "propagated from those of alpha, beta" in row.derivation
    assert "estimate ± 1 bootstrap standard error" in row.derivation
