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
from app.urlstate import UrlState
from kb.errors import KBError
from kb.filters import HAS_EXPONENT_OPTION_HELP
from kb.query import hits_export
from kb.records import DOMAINS, VARIABLES, Paper
from kb.search import Hit, SearchFilters, is_blank
from kb.store import Store

store = get_store()
if store is None or empty_notice(store):
    st.stop()

st.title("Search")
st.caption(
    "Ask in your own words or type exact terms: keyword (BM25) and semantic (embedding) "
    "rankings are fused."
)


DEFAULT_K = 10
# Under results with a starred year (kb.search.Hit.year_source "registry").
REGISTRY_YEAR_NOTE = (
    "\\* The listing gives no date: the year of the paper's laws in the law registry."
)
url = UrlState("search", ("q", "domain", "variable", "k", "from", "to", "scaling", "exponent"))
url.text("q", "search_q")
url.choice("domain", "search_domain", DOMAINS)
url.choice("variable", "search_variable", VARIABLES)
url.number("k", "search_k", DEFAULT_K, 1, 100, integer=True)
url.number("from", "search_from", None, 1990, 2100, integer=True)
url.number("to", "search_to", None, 1990, 2100, integer=True)
url.flag("scaling", "search_scaling")
url.flag("exponent", "search_exponent")

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
    top = st.columns(3)
    domain = top[0].selectbox("Domain", DOMAINS, placeholder="any", key="search_domain")
    variable = top[1].selectbox(
        "Scale variable", VARIABLES, placeholder="any", key="search_variable"
    )
    k = top[2].number_input("Results", min_value=1, max_value=100, key="search_k")
    bottom = st.columns(4)
    year_min = bottom[0].number_input(
        "From year", min_value=1990, max_value=2100, value=None, key="search_from"
    )
    year_max = bottom[1].number_input(
        "To year", min_value=1990, max_value=2100, value=None, key="search_to"
    )
    scaling_only = bottom[2].checkbox("Scaling-law papers only", key="search_scaling")
    has_exponent = bottom[3].checkbox(
        "Has an exponent", key="search_exponent", help=HAS_EXPONENT_OPTION_HELP
    )

url.save()

if is_blank(query):  # a zero-width space alone too (kb.search.is_blank)
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
if hits:
    # To share: what `kb search QUERY --json` prints, or a table with rank and query.
    hits_csv, hits_json = hits_export(
        query.strip(), hits, hits.match_fields(), filters=", ".join(active)
    )
    # side by side, not spread over the page; a third each: at 1280 px a quarter cut the
    # JSON button's label to "Download results (JSON li…"
    export_cols = st.columns(3)
    export_cols[0].download_button(
        "Download results (CSV)", hits_csv.encode("utf-8"), file_name="search_results.csv",
        mime="text/csv", key="search_csv",
    )  # fmt: skip
    export_cols[1].download_button(
        "Download results (JSON lines)", hits_json.encode("utf-8"),
        file_name="search_results.jsonl", mime="application/jsonl", key="search_json",
    )  # fmt: skip
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
        if hit.exact_match:  # first by its id or title, not its score (kb.search.Hit)
            facts.insert(0, "exact id or title match")
        if hit.year:
            facts.append(f"{hit.year}*" if hit.year_source == "registry" else str(hit.year))
        if hit.domain:
            facts.append(hit.domain)
        st.caption(" · ".join(facts))
if any(hit.year_source == "registry" for hit in hits):
    st.caption(REGISTRY_YEAR_NOTE)
