"""AppTest: the paper page shows metadata, highlighted claims and exponents."""

from __future__ import annotations

from pathlib import Path

from streamlit.testing.v1 import AppTest

from kb.records import paper_id_for

MAIN = Path(__file__).resolve().parent.parent / "app" / "main.py"
PID = paper_id_for("Invented Scaling Laws for Testing")


def _paper_page(query: dict[str, str] | None = None) -> AppTest:
    at = AppTest.from_file(str(MAIN), default_timeout=30)
    for key, value in (query or {}).items():
        at.query_params[key] = value
    at.run()
    at.switch_page("views/paper.py").run()
    return at


def test_paper_from_url_shows_claims_and_highlight(app_db: Path) -> None:
    at = _paper_page({"id": PID})
    assert not at.exception
    assert at.title[0].value == "Invented Scaling Laws for Testing"
    assert "<mark>Loss follows a power law in model size" in at.html[0].proto.body
    # each claim's evidence sentence in full, then its facets
    assert at.html[1].proto.body.endswith(
        "Loss follows a power law in model size with exponent 0.07.</div>"
    )
    assert "response **loss** · variables **model_size**" in at.caption[1].value
    assert list(at.dataframe[0].value["value"]) == [0.07]
    assert list(at.dataframe[0].value["symbol"]) == ["—"]  # no symbol printed: a dash, not "None"


def test_choosing_a_paper_updates_the_url(app_db: Path) -> None:
    at = _paper_page()
    assert not at.exception
    at.selectbox(key="paper_pick").set_value(PID).run()
    assert at.query_params["id"] == [PID] or at.query_params["id"] == PID
    assert at.title[0].value == "Invented Scaling Laws for Testing"


def test_missing_store_says_how_to_build(tmp_path: Path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    import streamlit as st

    monkeypatch.setenv("KB_DB", str(tmp_path / "none.duckdb"))
    st.cache_resource.clear()
    st.cache_data.clear()
    at = _paper_page()
    assert not at.exception
    assert "kb ingest" in at.info[0].value


def test_unknown_id_in_the_url_says_so(app_db: Path) -> None:
    """A stale or mistyped link showed an empty picker without a word."""
    at = _paper_page({"id": "t:doesnotexist"})
    assert not at.exception
    assert "No paper with id `t:doesnotexist`" in at.warning[0].value
    assert not at.title


def test_a_changed_url_opens_that_paper(app_db: Path) -> None:
    """A related paper's link (same page, new id) kept showing the first paper: the keyed
    picker kept its value and wrote the old id back into the URL."""
    other = paper_id_for("An Unrelated Method Paper")
    at = _paper_page({"id": PID})
    at.query_params["id"] = other
    at.run()
    assert not at.exception
    assert at.title[0].value == "An Unrelated Method Paper"
    assert at.query_params["id"] in (other, [other])
