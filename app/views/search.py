"""Search page: query box, filters, fused results with the evidence snippet highlighted.

Every piece of state (query, filters) lives in the URL, so `/search?q=inverse+scaling` opens
with that query's results.
"""

from __future__ import annotations

import html

import streamlit as st

from app.resources import (
    empty_notice,
    ensure_encoder,
    get_searcher,
    get_store,
    prewarm_search,
    show_error,
    snippet_in_context,
)
from kb.errors import KBError
from kb.records import DOMAINS, VARIABLES, Paper
from kb.search import Hit, SearchFilters
from kb.store import Store

store = get_store()
if store is None or empty_notice(store):
    st.stop()

params = st.query_params
st.title("Search")
st.caption(
    "Ask in your own words or type exact terms: keyword (BM25) and semantic (embedding) "
    "rankings are fused."
)


URL_KEYS = ("q", "domain", "variable", "k", "from", "to", "scaling", "exponent")
DEFAULT_K = 10


def _url_int(name: str, low: int, high: int, problems: list[str]) -> int | None:
    """The URL's integer ``name`` if it lies in [low, high]; else None, saying why."""
    value = params.get(name)
    if not value:
        return None
    if not (value.isascii() and value.isdigit()) or not low <= int(value) <= high:
        problems.append(f"`{name}={value}` (expected a whole number from {low} to {high})")
        return None
    return int(value)


def _url_choice(name: str, allowed: tuple[str, ...], problems: list[str]) -> str | None:
    value = params.get(name)
    if value and value not in allowed:
        problems.append(f"`{name}={value}` (expected one of {', '.join(allowed)})")
    return value if value in allowed else None


def _url_state() -> dict[str, str]:
    return {name: params[name] for name in URL_KEYS if params.get(name)}


# The widgets are keyed, so a keyed widget would keep its own value when the URL changes under
# it (the back button, a link): set them from the URL whenever it is not what this page wrote.
if "search_q" not in st.session_state or st.session_state.get("search_url") != _url_state():
    problems: list[str] = []
    st.session_state.search_q = params.get("q", "")
    st.session_state.search_domain = _url_choice("domain", DOMAINS, problems)
    st.session_state.search_variable = _url_choice("variable", VARIABLES, problems)
    st.session_state.search_k = _url_int("k", 1, 100, problems) or DEFAULT_K
    st.session_state.search_from = _url_int("from", 1990, 2100, problems)
    st.session_state.search_to = _url_int("to", 1990, 2100, problems)
    st.session_state.search_scaling = params.get("scaling") == "1"
    st.session_state.search_exponent = params.get("exponent") == "1"
    if problems:
        st.warning("Ignored from the link: " + "; ".join(problems) + ".")

FILTER_KEYS = ("search_domain", "search_variable", "search_from", "search_to", "search_scaling")
filters_set = any(st.session_state.get(key) for key in (*FILTER_KEYS, "search_exponent"))
filters_set = filters_set or st.session_state.get("search_k") != DEFAULT_K
# Open while a filter is set, and stay open once opened: closing it when the user clears the last
# filter would fold the widgets away under the pointer.
st.session_state.search_filters_open = filters_set or st.session_state.get("search_filters_open")

query = st.text_input(
    "Query",
    placeholder="e.g. compute-optimal split between parameters and tokens",
    key="search_q",
)
with st.expander("Filters", expanded=bool(st.session_state.search_filters_open)):
    cols = st.columns(3)
    domain = cols[0].selectbox("Domain", DOMAINS, placeholder="any", key="search_domain")
    variable = cols[1].selectbox(
        "Scale variable", VARIABLES, placeholder="any", key="search_variable"
    )
    k = cols[2].number_input("Results", min_value=1, max_value=100, key="search_k")
    cols = st.columns(4)
    year_min = cols[0].number_input(
        "From year", min_value=1990, max_value=2100, value=None, key="search_from"
    )
    year_max = cols[1].number_input(
        "To year", min_value=1990, max_value=2100, value=None, key="search_to"
    )
    scaling_only = cols[2].checkbox("Scaling-law papers only", key="search_scaling")
    has_exponent = cols[3].checkbox("Has an exponent", key="search_exponent")

state = {
    "q": query.strip(),
    "domain": domain,
    "variable": variable,
    "k": str(k) if k != DEFAULT_K else None,
    "from": str(year_min) if year_min else None,
    "to": str(year_max) if year_max else None,
    "scaling": "1" if scaling_only else None,
    "exponent": "1" if has_exponent else None,
}
wanted = {name: value for name, value in state.items() if value}
if wanted != _url_state():  # one URL update (one history entry), and only on a change
    others = {name: params.get_all(name) for name in params if name not in URL_KEYS}
    st.query_params.from_dict({**wanted, **others})  # others may belong to a link
st.session_state.search_url = wanted

if not query.strip():
    st.info("Type a query to search paper titles, abstracts and the claims extracted from them.")
    prewarm_search()  # load the model while the user types
    st.stop()

searcher = get_searcher(store)
if searcher is None:
    st.stop()
filters = SearchFilters(
    year_min=year_min,
    year_max=year_max,
    domain=domain,
    variable=variable,
    studies_scaling_law=True if scaling_only else None,
    has_exponent=True if has_exponent else None,
)
if year_min and year_max and year_min > year_max:
    st.warning(f"From year {year_min} is after To year {year_max}: no paper can match.")
    st.stop()
try:
    ensure_encoder(searcher)  # inside: a model that cannot load is a KBError like the search's
    hits = searcher.search(query.strip(), k=int(k), filters=filters)
except KBError as err:
    show_error(err)
    st.stop()


def _snippet_html(store: Store, hit: Hit, context: int = 160) -> str:
    """The best-matching sentence highlighted, with a little of the text around it."""
    paper = store.get(Paper, hit.paper_id) if hit.snippet_field == "abstract" else None
    start, end = hit.snippet_span
    if paper is None or paper.abstract[start:end] != hit.snippet:
        return f"<mark>{html.escape(hit.snippet)}</mark>"
    return snippet_in_context(paper.abstract, start, end, context)


active = [f"domain {domain}" if domain else "", f"variable {variable}" if variable else ""]
if year_min or year_max:
    active.append(f"years {year_min or '…'} to {year_max or '…'}")
active += [
    "scaling-law papers only" if scaling_only else "",
    "has an exponent" if has_exponent else "",
]
active = [a for a in active if a]
undated = searcher.undated_left_out(filters)
exact = searcher.exact_match(query)
pinned = searcher.papers[exact].paper_id if exact is not None else None
st.caption(
    f"{len(hits)} result{'s' if len(hits) != 1 else ''}"
    + (f" · filtered by {', '.join(active)}" if active else "")
    + (
        f" · {undated} paper{'s' if undated != 1 else ''} with no publication date left out "
        "by the year filter"
        if undated
        else ""
    )
)
if not hits:
    st.warning("No paper matches this query and these filters. Loosen a filter or rephrase.")
elif hits.notice:  # nothing close (kb.match): the results stay, with a word of caution
    st.warning(hits.notice, icon=":material/search_off:")
for rank, hit in enumerate(hits, start=1):
    with st.container(border=True):
        st.page_link(
            "views/paper.py",
            label=f"{rank}. {hit.title}",
            query_params={"id": hit.paper_id},
        )
        st.html(f"<div style='line-height:1.5'>{_snippet_html(store, hit)}</div>")
        facts = [f"score {hit.score:.3f}", f"`{hit.paper_id}`"]
        if rank == 1 and hit.paper_id == pinned:  # first by its id or title, not its score
            facts.insert(0, "exact id or title match")
        if hit.year:
            facts.append(str(hit.year))
        if hit.domain:
            facts.append(hit.domain)
        st.caption(" · ".join(facts))
