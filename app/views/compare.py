"""Compare page: one comparable quantity across papers and our own fits, as a table and a
forest plot with intervals, the verdict notes, filters, and CSV export."""

from __future__ import annotations

import altair as alt
import pandas as pd
import streamlit as st

from app.resources import get_store, show_error
from kb.compare import compare
from kb.derive import QUANTITIES, QUANTITY_LABELS
from kb.errors import KBError

store = get_store()
if store is None:
    st.stop()

st.title("Compare exponents across papers")
params = st.query_params
names = list(QUANTITIES)
quantity = st.selectbox(
    "Quantity",
    names,
    index=names.index(params["quantity"]) if params.get("quantity") in QUANTITIES else 0,
    format_func=lambda q: f"{q}: {QUANTITY_LABELS[q]}",
    key="compare_quantity",
)
st.query_params["quantity"] = quantity

try:
    rows = compare(store, quantity=quantity)
except KBError as err:
    show_error(err)
    st.stop()
if not rows:
    st.info(
        "No law or fit gives this quantity yet. Build the knowledge base (`kb ingest`) and "
        "refit a dataset (`kb fit` or the Refit page)."
    )
    st.stop()

frame = pd.DataFrame(
    [
        {
            "source": r.source_id
            if r.kind == "reported"
            else f"fit: {r.dataset} ({r.source_id[:6]})",
            "title": r.title,
            "arxiv_id": r.arxiv_id,
            "dataset": r.dataset,
            "kind": r.kind,
            "domain": r.domain,
            "value": r.value,
            "low": r.interval[0] if r.interval else None,
            "high": r.interval[1] if r.interval else None,
            "verdict": r.verdict,
            "reasons": "; ".join(r.reasons),
            "derivation": r.derivation,
            "notes": r.notes,
        }
        for r in rows
    ]
)
cols = st.columns(2)
kinds = cols[0].multiselect(
    "Show", sorted(frame["kind"].unique()), default=sorted(frame["kind"].unique()),
    key="compare_kinds",
)  # fmt: skip
domains = sorted(d for d in frame["domain"].dropna().unique())
picked = cols[1].multiselect("Domain", domains, default=domains, key="compare_domains")
shown = frame[frame["kind"].isin(kinds) & (frame["domain"].isin(picked) | frame["domain"].isna())]

positive = bool((shown["value"] > 0).all()) and not shown.empty
spread = shown["value"].max() / shown["value"].min() if positive else 1.0
log_axis = positive and spread > 20
scale = alt.Scale(type="log") if log_axis else alt.Scale(zero=False)
base = alt.Chart(shown).encode(y=alt.Y("source:N", sort=None, title=None))
bars = base.mark_rule(strokeWidth=2).encode(
    x=alt.X("low:Q", scale=scale, title=quantity), x2="high:Q", color="kind:N"
)
dots = base.mark_point(filled=True, size=80).encode(
    x=alt.X("value:Q", scale=scale),
    color=alt.Color("kind:N", title="source"),
    shape=alt.Shape("verdict:N"),
    tooltip=["title", "dataset", "value", "low", "high", "verdict", "derivation", "notes"],
)
height = max(160, 28 * len(shown))
st.altair_chart((bars + dots).properties(height=height), width="stretch")
st.caption(
    ("Log scale. " if log_axis else "")
    + "Dots are point estimates; lines are reported or bootstrap intervals where one exists."
)
st.dataframe(shown, hide_index=True, width="stretch", key="compare_table")
st.download_button(
    "Download CSV",
    shown.to_csv(index=False).encode("utf-8"),
    file_name=f"compare_{quantity}.csv",
    mime="text/csv",
    key="compare_csv",
)
