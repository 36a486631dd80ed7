"""Paper page: metadata, listing appearances, claims highlighted in the abstract, exponents,
the laws the paper reported (from the registry)."""

from __future__ import annotations

import html

import streamlit as st

from app.resources import (
    empty_notice,
    get_searcher,
    get_store,
    paper_options,
    show_error,
    warn_stale_laws,
)
from app.urlstate import linked_choice
from kb.errors import KBError
from kb.query import claims_export, get_paper, highlight_segments, law_card, paper_claims
from kb.registry import laws_for_paper

store = get_store()
if store is None or empty_notice(store):
    st.stop()

choice = linked_choice(
    "id", "paper_pick", paper_options(store), label="Paper",
    placeholder="Choose a paper (or open one from Search)",
    missing=lambda pid: (
        f"No paper with id `{pid}` in this knowledge base. Choose one below, or find it from "
        "Search."
    ),
)  # fmt: skip
if choice is None:
    st.stop()

try:
    paper = get_paper(store, choice)
    claims, exponents = paper_claims(store, choice)
    laws = laws_for_paper(store, choice)
except KBError as err:
    show_error(err)
    st.stop()

st.title(paper["title"])
# No listed date (most seed listings give none): the year of its registry laws, as Search and
# the year filters take it (kb.filters.law_paper_years).
dated_by_laws = f" (its laws in the registry: {min(law.year for law in laws)})" if laws else ""
meta = [
    f"`{paper['paper_id']}`",
    f"published {paper['published']}" if paper["published"] else "date not given" + dated_by_laws,
]
if paper["n_authors"]:
    meta.append(f"{paper['n_authors']} authors")
if paper["upvotes"] is not None:
    meta.append(f"{paper['upvotes']} upvotes")
if paper["organization"]:
    meta.append(paper["organization"])
if paper["domain"]:
    meta.append(f"domain: {paper['domain']}")
if paper["studies_scaling_law"] is not None:
    meta.append("studies a scaling law" if paper["studies_scaling_law"] else "no scaling law")
st.caption(" · ".join(meta))

st.subheader("Abstract")
pieces = highlight_segments(paper["abstract"], [(c.span_start, c.span_end) for c in claims])
marked = "".join(
    f"<mark>{html.escape(text)}</mark>" if hit else html.escape(text) for text, hit in pieces
)
st.html(f"<div style='line-height:1.6'>{marked}</div>")

st.subheader(f"Claims ({len(claims)})")
if claims:
    # To share: the claims with their evidence sentences and spans, as `kb claims --json` gives.
    claims_csv, claims_json = claims_export(paper, claims)
    stem = "claims_" + "".join(ch if ch.isalnum() else "_" for ch in paper["paper_id"])
    # side by side, not spread over the page; a third each: at 1280 px a quarter cut the
    # JSON button's label to "Download results (JSON li…"
    export_cols = st.columns(3)
    export_cols[0].download_button(
        "Download claims (CSV)", claims_csv.encode("utf-8"), file_name=f"{stem}.csv",
        mime="text/csv", key="paper_claims_csv",
    )  # fmt: skip
    export_cols[1].download_button(
        "Download claims (JSON lines)", claims_json.encode("utf-8"), file_name=f"{stem}.jsonl",
        mime="application/jsonl", key="paper_claims_json",
    )  # fmt: skip
    # One block per claim, the evidence sentence in full: a dataframe cut it to one line (at
    # 390 px wide its column was off screen) and a table squeezed it into a narrow column.
    for c in claims:
        with st.container(border=True):
            st.html(f"<div style='line-height:1.5'>{html.escape(c.evidence)}</div>")
            st.caption(
                f"response **{c.response}** · variables **{', '.join(c.variables)}** · "
                f"form **{c.form}** · direction **{c.direction}**"
            )
else:
    st.caption("No scaling claim was extracted from this abstract.")

if exponents:
    st.subheader(f"Exponents ({len(exponents)})")
    st.dataframe(
        [
            {"symbol": e.symbol or "—", "value": e.value, "variable": e.variable, "text": e.text}
            for e in exponents
        ],
        hide_index=True,
        key="paper_exponents",
    )

if laws:
    st.subheader(f"Reported laws ({len(laws)})")
    warn_stale_laws(store)
    for law in laws:
        with st.container(border=True):
            st.markdown(f"**{law.name}** · `{law.law_id}` · {law.source}")
            # Wrapped: at 390 px a long formula (Kaplan et al.'s compute-optimal allocation)
            # was cut at the card's edge, its end behind a horizontal scroll.
            st.code(law.formula, language=None, wrap_lines=True)
            # Values with their intervals and units; derived values say who derived them.
            st.caption("  \n".join(law_card(law)))

st.subheader("Listing appearances")
st.dataframe(paper["appearances"], hide_index=True, key="paper_appearances")

# Last: opening the search index can take seconds on a cold app.
st.subheader("Related papers")
searcher = get_searcher(store, quiet=True)
if searcher is not None:
    try:
        related = searcher.related(choice, k=5)
    except KBError as err:
        related = []
        st.caption(str(err))
    for hit in related:
        st.page_link(
            "views/paper.py",
            label=f"{hit.title} (similarity {hit.score:.2f})",
            query_params={"id": hit.paper_id},
        )
