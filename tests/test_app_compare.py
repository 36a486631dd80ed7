"""AppTest: the compare page puts reported laws on one axis with verdicts, and exports CSV."""

from __future__ import annotations

from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from kb.records import ReportedLaw
from kb.store import Store

MAIN = Path(__file__).resolve().parent.parent / "app" / "main.py"


def _law(law_id: str, alpha: float, beta: float, year: int = 2022) -> ReportedLaw:
    return ReportedLaw(
        law_id=law_id, arxiv_id="2203.15556", title=f"Paper {law_id}", year=year,
        name=law_id, form="chinchilla", formula="L = E + A/N^alpha + B/D^beta",
        params={"E": 1.7, "A": 400.0, "B": 400.0, "alpha": alpha, "beta": beta},
        conventions={"n_counts": "total", "compute": "6ND", "loss_units": "nats/token"},
        source="Table 1", verified=True,
    )  # fmt: skip


@pytest.fixture
def compare_db(app_db: Path) -> Path:
    with Store(app_db) as s:
        s.upsert([_law("one", 0.34, 0.28), _law("two", 0.35, 0.37, year=2024)])
    return app_db


def test_compare_shows_quantity_from_url_with_verdicts(compare_db: Path) -> None:
    at = AppTest.from_file(str(MAIN), default_timeout=60)
    at.query_params["quantity"] = "a"
    at.run()
    at.switch_page("views/compare.py").run()
    assert not at.exception
    assert at.selectbox(key="compare_quantity").value == "a"
    table = at.dataframe[0].value.set_index("source")
    # a = beta / (alpha + beta) for the Chinchilla form
    assert table.loc["one", "value"] == pytest.approx(0.28 / 0.62)
    assert table.loc["two", "value"] == pytest.approx(0.37 / 0.72)
    assert set(table["verdict"]) <= {"reference", "direct", "converted", "not_comparable"}
    assert "reference" in set(table["verdict"])
    assert at.get("download_button")
    assert len(at.get("vega_lite_chart")) == 1


def test_compare_other_quantity_updates_url(compare_db: Path) -> None:
    at = AppTest.from_file(str(MAIN), default_timeout=60)
    at.run()
    at.switch_page("views/compare.py").run()
    at.selectbox(key="compare_quantity").set_value("beta").run()
    assert not at.exception
    assert at.query_params["quantity"] in ("beta", ["beta"])
    values = sorted(at.dataframe[0].value["value"])
    assert values == pytest.approx([0.28, 0.37])


def test_compare_empty_store_says_how_to_fill_it(app_db: Path) -> None:
    at = AppTest.from_file(str(MAIN), default_timeout=60)
    at.run()
    at.switch_page("views/compare.py").run()
    assert not at.exception
    assert "kb ingest" in at.info[0].value


def test_compare_says_plainly_which_rows_are_not_comparable(compare_db: Path) -> None:
    """A law without an irreducible term is not comparable on beta: said above the plot, and the
    verdict shapes are the same on every quantity (a fixed domain, not the verdicts present)."""
    import json

    from kb.laws import FORMS

    kaplan = _law("three", 0.076, 0.095, year=2020).model_copy(
        update={"form": "kaplan_nd", "params": {"alpha_N": 0.076, "alpha_D": 0.095,
                "N_c": 8.8e13, "D_c": 5.4e13}}
    )  # fmt: skip
    assert set(kaplan.params) == set(FORMS["kaplan_nd"].published_names)
    with Store(compare_db) as s:
        s.upsert([kaplan])
    at = AppTest.from_file(str(MAIN), default_timeout=60)
    at.query_params["quantity"] = "beta"
    at.run()
    at.switch_page("views/compare.py").run()
    assert not at.exception
    table = at.dataframe[0].value
    apart = int((table["verdict"] == "not_comparable").sum())
    assert apart >= 1
    assert f"{apart} of {len(table)} values shown are **not comparable**" in at.warning[0].value
    spec = json.loads(at.get("vega_lite_chart")[0].proto.spec)
    shapes = [layer["encoding"]["shape"] for layer in spec["layer"] if "shape" in layer["encoding"]]
    assert shapes[0]["scale"]["domain"] == ["reference", "direct", "converted", "not_comparable"]


# -- every control in the URL (app.urlstate) ---------------------------------------------------


@pytest.fixture
def domains_db(app_db: Path) -> Path:
    """Two laws on language, one on vision."""
    laws = [_law("one", 0.34, 0.28), _law("two", 0.35, 0.37, year=2024), _law("eye", 0.3, 0.3)]
    laws = [
        law.model_copy(update={"conventions": {**law.conventions, "domain": domain}})
        for law, domain in zip(laws, ("language", "language", "vision"), strict=True)
    ]
    with Store(app_db) as s:
        s.upsert(laws)
    return app_db


def _compare_page(query: dict[str, str]) -> AppTest:
    at = AppTest.from_file(str(MAIN), default_timeout=60)
    for key, value in query.items():
        at.query_params[key] = value
    at.run()
    at.switch_page("views/compare.py").run()
    return at


def _url(at: AppTest, key: str) -> str:
    value = at.query_params[key]
    return value[0] if isinstance(value, list) else value


def test_compare_filters_round_trip_through_the_url(domains_db: Path) -> None:
    at = _compare_page({"quantity": "alpha"})
    assert at.multiselect(key="compare_domains").value == ["language", "vision"]
    assert "domain" not in at.query_params  # all domains: the default stays out of the link
    at.multiselect(key="compare_domains").unselect("vision").run()
    assert not at.exception
    assert _url(at, "domain") == "language"
    assert set(at.dataframe[0].value["source"]) == {"one", "two"}
    at.multiselect(key="compare_kinds").unselect("reported").run()
    assert _url(at, "show") == ""  # nothing shown is a state too
    assert "No value matches these filters" in at.info[0].value
    assert not at.get("vega_lite_chart")
    # the same URL opened afresh shows the same filters and rows
    again = _compare_page({k: _url(at, k) for k in at.query_params})
    assert not again.warning
    assert again.multiselect(key="compare_domains").value == ["language"]
    assert again.multiselect(key="compare_kinds").value == []
    again = _compare_page({"quantity": "alpha", "domain": "vision"})
    assert list(again.dataframe[0].value["source"]) == ["eye"]


def test_compare_bad_url_values_are_named_and_defaulted(domains_db: Path) -> None:
    at = _compare_page({"quantity": "gamma", "domain": "vision,audio", "show": "guesses"})
    assert not at.exception
    notice = at.warning[0].value
    assert "`quantity=gamma` (expected one of" in notice
    assert "`domain` 'audio' (expected some of language, vision)" in notice
    assert "`show` 'guesses'" in notice
    assert at.selectbox(key="compare_quantity").value == "a"  # the first quantity
    assert at.multiselect(key="compare_domains").value == ["vision"]  # the known name is kept
    assert at.multiselect(key="compare_kinds").value == ["reported"]  # none known: the default
    assert _url(at, "quantity") == "a"
    assert _url(at, "domain") == "vision"


def test_compare_warns_when_the_registry_changed_since_the_laws_were_stored(
    compare_db: Path,
) -> None:
    from kb.registry import DIGEST_KEY

    with Store(compare_db) as s:  # synced from another version of the file
        s.set_meta(DIGEST_KEY, "0" * 64)
    at = AppTest.from_file(str(MAIN), default_timeout=60)
    at.run()
    at.switch_page("views/compare.py").run()
    assert not at.exception
    (warning,) = [w.value for w in at.warning if "kb laws --sync" in w.value]
    assert "laws.toml" in warning
    assert len(at.dataframe[0].value) == 2  # the stored laws are still shown


def test_compare_says_nothing_of_a_registry_synced_as_it_is(compare_db: Path) -> None:
    from kb.registry import DIGEST_KEY, registry_digest

    with Store(compare_db) as s:
        s.set_meta(DIGEST_KEY, registry_digest())
    at = AppTest.from_file(str(MAIN), default_timeout=60)
    at.run()
    at.switch_page("views/compare.py").run()
    assert not at.exception
    assert not [w.value for w in at.warning if "kb laws --sync" in w.value]


def test_compare_new_quantity_shows_domains_the_last_one_lacked(app_db: Path) -> None:
    """Switching quantity keeps what the reader left out, not what the last quantity lacked:
    from beta (language only) to loss_compute, vision was hidden with nobody having chosen so."""
    seer = _law("seer", 0.3, 0.3).model_copy(
        update={"form": "compute_optimal", "formula": "N_opt = k C^a", "params": {"a": 0.6},
                "derived": {"a": 0.6}, "conventions": {"compute": "6ND", "domain": "vision"}}
    )  # fmt: skip
    laws = [_law("one", 0.34, 0.28), _law("two", 0.35, 0.37, year=2024)]
    laws = [law.model_copy(update={"conventions": {**law.conventions, "domain": "language"}})
            for law in laws]  # fmt: skip
    with Store(app_db) as s:
        s.upsert([*laws, seer])
    at = _compare_page({"quantity": "alpha"})
    assert at.multiselect(key="compare_domains").value == ["language"]  # all alpha has
    at.selectbox(key="compare_quantity").set_value("a").run()
    assert not at.exception
    assert at.multiselect(key="compare_domains").value == ["language", "vision"]
    assert "seer" in set(at.dataframe[0].value["source"])
    assert "domain" not in at.query_params
    # what the reader left out stays out on the next quantity
    at.multiselect(key="compare_domains").unselect("vision").run()
    at.selectbox(key="compare_quantity").set_value("alpha").run()
    at.selectbox(key="compare_quantity").set_value("a").run()
    assert at.multiselect(key="compare_domains").value == ["language"]
    assert "seer" not in set(at.dataframe[0].value["source"])


def test_compare_tokens_per_param_with_budget(compare_db: Path) -> None:
    """tokens_per_param is read at a budget: the page draws a budget input (default 1e24, from
    the URL's `at`), the values follow it, and exponents draw none."""
    at = AppTest.from_file(str(MAIN), default_timeout=60)
    at.query_params["quantity"] = "tokens_per_param"
    at.query_params["at"] = "5.76e23"
    at.run()
    at.switch_page("views/compare.py").run()
    assert not at.exception
    assert at.number_input(key="compare_at").value == pytest.approx(5.76e23)

    def by_hand(alpha: float, beta: float, flops: float) -> float:
        G = (alpha * 400.0 / (beta * 400.0)) ** (1 / (alpha + beta))
        return (flops / 6) ** ((alpha - beta) / (alpha + beta)) / G**2

    table = at.dataframe[0].value.set_index("source")
    assert table.loc["one", "value"] == pytest.approx(by_hand(0.34, 0.28, 5.76e23))
    assert table.loc["two", "at_flops"] == pytest.approx(5.76e23)
    at.number_input(key="compare_at").set_value(1e22).run()
    assert not at.exception
    table = at.dataframe[0].value.set_index("source")
    assert table.loc["two", "value"] == pytest.approx(by_hand(0.35, 0.37, 1e22))
    assert at.query_params["at"] in ("1e+22", ["1e+22"])
    at.selectbox(key="compare_quantity").set_value("a").run()
    assert not at.exception
    assert not [w for w in at.number_input if w.key == "compare_at"]
    assert "at" not in at.query_params
