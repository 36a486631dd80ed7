"""Search page: query box, filters, fused results with the evidence snippet highlighted.

Every piece of state (query, filters) lives in the URL, so `/search?q=inverse+scaling` opens
with that query's results.
"""

from __future__ import annotations

import html

import streamlit as st

from app.resources import empty_notice, get_searcher, get_store, show_error
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


def _int(name: str) -> int | None:
    value = params.get(name)
    return int(value) if value and value.isdigit() else None


query = st.text_input(
    "Query",
    value=params.get("q", ""),
    placeholder="e.g. compute-optimal split between parameters and tokens",
    key="search_q",
)
with st.expander("Filters", expanded=any(k in params for k in ("domain", "variable", "from"))):
    cols = st.columns(3)
    domain = cols[0].selectbox(
        "Domain",
        DOMAINS,
        index=DOMAINS.index(params["domain"]) if params.get("domain") in DOMAINS else None,
        placeholder="any",
        key="search_domain",
    )
    variable = cols[1].selectbox(
        "Scale variable",
        VARIABLES,
        index=VARIABLES.index(params["variable"]) if params.get("variable") in VARIABLES else None,
        placeholder="any",
        key="search_variable",
    )
    k = cols[2].number_input(
        "Results", min_value=1, max_value=100, value=_int("k") or 10, key="search_k"
    )
    cols = st.columns(4)
    year_min = cols[0].number_input(
        "From year", min_value=1990, max_value=2100, value=_int("from"), key="search_from"
    )
    year_max = cols[1].number_input(
        "To year", min_value=1990, max_value=2100, value=_int("to"), key="search_to"
    )
    scaling_only = cols[2].checkbox(
        "Scaling-law papers only", value=params.get("scaling") == "1", key="search_scaling"
    )
    has_exponent = cols[3].checkbox(
        "Has an exponent", value=params.get("exponent") == "1", key="search_exponent"
    )

state = {
    "q": query.strip(),
    "domain": domain,
    "variable": variable,
    "k": str(k) if k != 10 else None,
    "from": str(year_min) if year_min else None,
    "to": str(year_max) if year_max else None,
    "scaling": "1" if scaling_only else None,
    "exponent": "1" if has_exponent else None,
}
for name, value in state.items():  # only this page's keys: others may belong to a link
    if value:
        st.query_params[name] = value
    else:
        st.query_params.pop(name, None)

if not query.strip():
    st.info("Type a query to search paper titles, abstracts and the claims extracted from them.")
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
try:
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
    text = paper.abstract
    before = text[max(0, start - context) : start]
    after = text[end : end + context]
    return (
        ("…" if start > context else "")
        + html.escape(before)
        + f"<mark>{html.escape(hit.snippet)}</mark>"
        + html.escape(after)
        + ("…" if end + context < len(text) else "")
    )


st.caption(f"{len(hits)} result{'s' if len(hits) != 1 else ''}")
if not hits:
    st.warning("No paper matches this query and these filters. Loosen a filter or rephrase.")
for rank, hit in enumerate(hits, start=1):
    with st.container(border=True):
        st.page_link(
            "views/paper.py",
            label=f"{rank}. {hit.title}",
            query_params={"id": hit.paper_id},
        )
        st.html(f"<div style='line-height:1.5'>{_snippet_html(store, hit)}</div>")
        facts = [f"score {hit.score:.3f}", f"`{hit.paper_id}`"]
        if hit.year:
            facts.append(str(hit.year))
        if hit.domain:
            facts.append(hit.domain)
        st.caption(" · ".join(facts))
