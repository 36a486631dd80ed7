"""Home page: what the knowledge base holds, and where to go from here."""

from __future__ import annotations

import streamlit as st

from app.resources import empty_notice, get_store, prewarm_search
from kb.query import stats

st.title("scaling-kb")
st.caption(
    "A knowledge base of neural scaling laws: the papers, the findings their abstracts state, "
    "the laws they reported, and the data they released."
)
store = get_store()
if store is None or empty_notice(store):
    st.stop()

counts = stats(store)
cols = st.columns(5)
cols[0].metric("Papers", f"{counts['papers']:,}", help="distinct papers across all listings")
cols[1].metric("Claims", f"{counts['claims']:,}", help="scaling findings read from abstracts")
cols[2].metric("Reported laws", f"{counts['laws']:,}", help="the curated registry")
cols[3].metric("Datasets", f"{counts['datasets']:,}", help="released scaling data")
cols[4].metric("Points", f"{counts['points']:,}", help="measured runs in those datasets")

query = st.text_input("Search the literature", placeholder="e.g. inverse scaling", key="home_q")
if query.strip():
    st.switch_page("views/search.py", query_params={"q": query.strip()})
st.page_link("views/search.py", label="Search papers and findings", icon=":material/search:")
st.page_link(
    "views/compare.py",
    label="Compare exponents and tokens per parameter across papers",
    icon=":material/bar_chart:",
)
st.page_link("views/refit.py", label="Refit a law to released data", icon=":material/functions:")
prewarm_search()  # the page is drawn: load the search model while the user reads
