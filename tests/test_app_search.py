"""AppTest: the search page reads its query from the URL, filters, and links to paper pages.

These load the real embedding model to build the index of the small app store: marked slow.
"""

from __future__ import annotations

import threading
from pathlib import Path
from urllib.parse import quote

import pytest
from streamlit.testing.v1 import AppTest

from kb.index import build_index
from kb.records import paper_id_for
from kb.store import Store

MAIN = Path(__file__).resolve().parent.parent / "app" / "main.py"
pytestmark = pytest.mark.slow


@pytest.fixture
def indexed_db(app_db: Path) -> Path:
    with Store(app_db) as store:
        build_index(store, app_db)
    return app_db


def _search(query: dict[str, str]) -> AppTest:
    at = AppTest.from_file(str(MAIN), default_timeout=120)
    for key, value in query.items():
        at.query_params[key] = value
    at.run()
    at.switch_page("views/search.py").run()
    return at


def test_query_from_the_url_shows_highlighted_results(indexed_db: Path) -> None:
    at = _search({"q": "power law in model size"})
    assert not at.exception
    assert at.text_input(key="search_q").value == "power law in model size"
    assert "<mark>Loss follows a power law in model size" in at.html[0].proto.body
    link = at.get("page_link")[0].proto
    assert link.label == "1. Invented Scaling Laws for Testing"
    pid = paper_id_for("Invented Scaling Laws for Testing")
    assert link.query_string == "id=" + quote(pid)


def test_filters_go_into_the_url_and_narrow_results(indexed_db: Path) -> None:
    at = _search({"q": "method"})
    assert not at.exception
    n_all = len(at.get("page_link"))
    at.selectbox(key="search_domain").set_value("language").run()
    assert at.query_params["domain"] in ("language", ["language"])
    titles = [str(el.proto.label) for el in at.get("page_link")]
    assert titles
    assert all("Invented Scaling Laws" in t for t in titles)
    assert len(titles) <= n_all


def test_empty_query_explains_what_to_do(indexed_db: Path) -> None:
    at = _search({})
    assert not at.exception
    assert "Type a query" in at.info[0].value


def test_bad_values_in_the_url_are_ignored_with_a_warning(indexed_db: Path) -> None:
    """A hand-edited link once raised StreamlitValueAboveMaxError (k=500, from=1800) or a
    ValueError (from=²) as a traceback, and dropped an unknown domain without a word."""
    at = _search({"q": "method", "k": "500", "from": "²", "to": "1800", "domain": "astrology"})
    assert not at.exception
    warning = at.warning[0].value
    for bad in ("k=500", "from=²", "to=1800", "domain=astrology"):
        assert bad in warning
    assert at.get("page_link")  # the query still ran, without the bad values
    assert dict(at.query_params) in ({"q": "method"}, {"q": ["method"]})


def test_a_changed_url_resets_the_keyed_widgets(indexed_db: Path) -> None:
    """The back button changes the URL under the page: the keyed query box used to keep the
    previous query and write it back into the URL, losing the one the user went back to."""
    at = _search({"q": "power law in model size"})
    at.query_params["q"] = "method"
    at.query_params["domain"] = "language"
    at.run()
    assert not at.exception
    assert at.text_input(key="search_q").value == "method"
    assert at.selectbox(key="search_domain").value == "language"
    assert at.query_params["q"] in ("method", ["method"])


def test_active_filters_are_visible(indexed_db: Path) -> None:
    """A link with only `exponent=1` filtered the results behind a collapsed expander."""
    at = _search({"q": "power law", "exponent": "1"})
    assert not at.exception
    assert at.expander[0].proto.expanded
    assert any("filtered by has an exponent" in c.value for c in at.caption)
    at.checkbox(key="search_exponent").uncheck().run()  # clearing the last filter
    assert at.expander[0].proto.expanded  # does not fold the filters away under the pointer
    assert "exponent" not in at.query_params


def test_from_year_after_to_year_says_so(indexed_db: Path) -> None:
    at = _search({"q": "power law", "from": "2024", "to": "2019"})
    assert not at.exception
    assert "From year 2024 is after To year 2019" in at.warning[0].value
    assert not at.get("page_link")


def test_a_year_filter_says_how_many_undated_papers_it_left_out(indexed_db: Path) -> None:
    """The app store's two papers have no date: a year filter hid both without a word."""
    at = _search({"q": "power law", "from": "2020"})
    assert not at.exception
    assert not at.get("page_link")
    assert any(
        "2 papers with no publication date left out by the year filter" in c.value
        for c in at.caption
    )
    at = _search({"q": "power law"})
    assert not any("no publication date" in c.value for c in at.caption)


def test_a_pasted_paper_id_comes_first_marked_as_an_exact_match(indexed_db: Path) -> None:
    """A paper id as the query returned unrelated papers; now that paper comes first, and its
    caption says why (its score may be below the next hit's)."""
    pid = paper_id_for("An Unrelated Method Paper")
    at = _search({"q": pid})
    assert not at.exception
    assert at.get("page_link")[0].proto.label == "1. An Unrelated Method Paper"
    captions = [c.value for c in at.caption]
    assert any(c.startswith("exact id or title match · score") for c in captions)
    at = _search({"q": "method"})
    assert not any("exact id or title match" in c.value for c in at.caption)


def test_snippet_context_is_cut_at_whole_words() -> None:
    """The text around a highlighted sentence was cut mid-word ("…aining")."""
    from app.resources import snippet_in_context

    text = "alpha beta gamma delta. The best sentence here. epsilon zeta eta theta"
    start = text.index("The best")
    end = start + len("The best sentence here.")
    out = snippet_in_context(text, start, end, context=9)
    # the window "ma delta. " starts inside "gamma", and " epsilon " ends at a space
    assert out == "…delta. <mark>The best sentence here.</mark> epsilon…"
    whole = snippet_in_context(text, start, end, context=500)
    assert whole == (
        "alpha beta gamma delta. <mark>The best sentence here.</mark> epsilon zeta eta theta"
    )
    assert "&lt;b&gt;" in snippet_in_context("x <b> y", 2, 5, context=1)


def test_home_page_starts_loading_the_search_model(
    indexed_db: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The first search should not wait ~10 s for torch and the model: the home page starts
    that load in a background thread once it has drawn."""
    from kb.search import Searcher

    started = threading.Event()
    warm = Searcher.warm

    def recording_warm(self: Searcher) -> None:
        started.set()
        warm(self)

    monkeypatch.setattr(Searcher, "warm", recording_warm)
    at = AppTest.from_file(str(MAIN), default_timeout=120)
    at.run()
    assert not at.exception
    assert started.wait(60)
    assert at.get("metric")  # the page itself drew first


def test_a_model_that_cannot_load_is_reported_not_raised(
    indexed_db: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The query encoder is loaded (or the background load joined) before searching: its
    errors (a model folder moved or broken) are shown in one line like the search's own."""
    import kb.search
    from kb.errors import BadInputError

    def broken(model: object) -> None:
        raise BadInputError("models/gone: not a sentence-transformers model")

    monkeypatch.setattr(kb.search, "load_query_embedder", broken)
    at = _search({"q": "power law in model size"})
    assert not at.exception
    assert "not a sentence-transformers model" in at.error[0].value


def test_prewarm_checks_a_missing_or_stale_index_once_per_store_version(
    app_db: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The home page's background warm-up opens the index; when that fails (no index yet,
    or a stale one: a read of the index and of every paper) it is not retried on each rerun."""
    import kb.search

    calls: list[object] = []
    real = kb.search.open_index

    def counting(*args: object, **kwargs: object) -> object:
        calls.append(args)
        return real(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(kb.search, "open_index", counting)
    at = AppTest.from_file(str(MAIN), default_timeout=120)
    for _ in range(3):
        at.run()
        assert not at.exception
    assert len(calls) == 1


def test_every_control_round_trips_through_the_url(indexed_db: Path) -> None:
    link = {"q": "power law", "domain": "language", "variable": "model_size", "k": "5",
            "from": "2000", "to": "2090", "scaling": "1", "exponent": "1"}  # fmt: skip
    at = _search(link)
    assert not at.exception
    assert not any("Ignored from the link" in w.value for w in at.warning)
    assert at.text_input(key="search_q").value == "power law"
    assert at.selectbox(key="search_domain").value == "language"
    assert at.selectbox(key="search_variable").value == "model_size"
    assert at.number_input(key="search_k").value == 5
    assert (at.number_input(key="search_from").value, at.number_input(key="search_to").value) == (
        2000,
        2090,
    )
    assert at.checkbox(key="search_scaling").value
    assert at.checkbox(key="search_exponent").value
    written = {k: v[0] if isinstance(v, list) else v for k, v in at.query_params.items()}
    assert written == link
    at.checkbox(key="search_scaling").uncheck().run()
    at.number_input(key="search_k").set_value(7).run()
    assert "scaling" not in at.query_params
    assert at.query_params["k"] in ("7", ["7"])


def test_a_flag_that_is_not_1_or_0_is_named(indexed_db: Path) -> None:
    """`scaling=yes` was ignored without a word (only "1" ticked the box)."""
    at = _search({"q": "method", "scaling": "yes"})
    assert not at.exception
    assert "`scaling=yes` (expected 1 or 0)" in at.warning[0].value
    assert not at.checkbox(key="search_scaling").value


def test_a_query_too_long_or_showing_nothing(indexed_db: Path) -> None:
    """A pasted 5,000-character query is refused with its length (it was searched, every
    step linear in its length); a zero-width space alone is an empty box, not a search."""
    at = _search({"q": "loss " * 1000})
    assert not at.exception
    assert "4,999 characters long; at most 4,000 are searched" in at.error[0].value  # stripped
    assert not at.get("page_link")
    at = _search({"q": "\u200b"})
    assert not at.exception
    assert not at.error
    assert at.info[0].value.startswith("Type a query")
