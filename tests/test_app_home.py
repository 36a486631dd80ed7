"""AppTest: the home page counts what the knowledge base holds and hands a query to Search."""

from __future__ import annotations

from pathlib import Path

from streamlit.testing.v1 import AppTest

MAIN = Path(__file__).resolve().parent.parent / "app" / "main.py"


def test_home_counts_the_knowledge_base(app_db: Path) -> None:
    at = AppTest.from_file(str(MAIN), default_timeout=30)
    at.run()
    assert not at.exception
    assert at.title[0].value == "scaling-kb"
    values = {m.label: m.value for m in at.metric}
    assert values["Papers"] == "2"
    assert values["Claims"] == "1"


def test_home_on_a_missing_store_says_how_to_build(tmp_path: Path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    import streamlit as st

    monkeypatch.setenv("KB_DB", str(tmp_path / "none.duckdb"))
    st.cache_resource.clear()
    st.cache_data.clear()
    at = AppTest.from_file(str(MAIN), default_timeout=30)
    at.run()
    assert not at.exception
    assert "kb ingest" in at.info[0].value


def test_page_link_labels_wrap(app_db: Path) -> None:
    """Result and related-paper links are titles: at 390 px wide they were cut off mid-title
    (Streamlit draws a page link on one line); the router's style lets them wrap."""
    at = AppTest.from_file(str(MAIN), default_timeout=30)
    at.run()
    styles = [h.proto.body for h in at.html if h.proto.body.startswith("<style>")]
    assert any("stPageLink-NavLink" in s and "white-space: normal" in s for s in styles)
