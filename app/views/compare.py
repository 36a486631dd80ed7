"""Compare page: one comparable quantity across papers and our own fits, as a table and a
forest plot with intervals, the verdict notes, filters, and CSV export."""

from __future__ import annotations

import altair as alt
import pandas as pd
import streamlit as st

from app.resources import get_store, show_error
from app.urlstate import UrlState
from kb.compare import compare
from kb.derive import QUANTITIES, QUANTITY_LABELS
from kb.errors import KBError

VERDICT_SHAPES = {
    "reference": "diamond",
    "direct": "circle",
    "converted": "triangle-up",
    "not_comparable": "cross",
}
VERDICT_MARKS = {"reference": "◆", "direct": "●", "converted": "▲", "not_comparable": "✚"}

store = get_store()
if store is None:
    st.stop()

st.title("Compare exponents across papers")
url = UrlState("compare", ("quantity", "show", "domain"))
names = list(QUANTITIES)
url.choice("quantity", "compare_quantity", names, names[0], always=True)
quantity = st.selectbox(
    "Quantity",
    names,
    format_func=lambda q: f"{q}: {QUANTITY_LABELS[q]}",
    key="compare_quantity",
)

try:
    rows = compare(store, quantity=quantity)
except KBError as err:
    url.save(complete=False)
    show_error(err)
    st.stop()
if not rows:
    url.save(complete=False)
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
            "value": r.value,
            "low": r.interval[0] if r.interval else None,
            "high": r.interval[1] if r.interval else None,
            "verdict": r.verdict,
            "reasons": "; ".join(r.reasons),
            "title": r.title,
            "arxiv_id": r.arxiv_id,
            "dataset": r.dataset,
            "kind": r.kind,
            "domain": r.domain,
            "derivation": r.derivation,
            "notes": r.notes,
        }
        for r in rows
    ]
)
cols = st.columns(2)
kind_names = sorted(frame["kind"].unique())
url.choices("show", "compare_kinds", kind_names, kind_names)
kinds = cols[0].multiselect("Show", kind_names, key="compare_kinds")
domains = sorted(d for d in frame["domain"].dropna().unique())
url.choices("domain", "compare_domains", domains, domains)
picked = cols[1].multiselect("Domain", domains, key="compare_domains")
url.save()
shown = frame[frame["kind"].isin(kinds) & (frame["domain"].isin(picked) | frame["domain"].isna())]
if shown.empty:  # an empty chart drew only axes (and Altair warned it could not type them)
    st.info("No value matches these filters: choose a kind under **Show** or a **Domain**.")
    st.stop()

ref = frame.loc[frame["verdict"] == "reference", "source"]
apart = shown[shown["verdict"] == "not_comparable"]
if not ref.empty and not apart.empty:
    st.warning(
        f"{len(apart)} of {len(shown)} values shown are **not comparable** with the reference "
        f"`{ref.iloc[0]}` (different conventions; the *reasons* column says which), so their "
        "distance from it is not evidence of disagreement."
    )

positive = bool((shown["value"] > 0).all()) and not shown.empty
spread = shown["value"].max() / shown["value"].min() if positive else 1.0
log_axis = positive and spread > 20
scale = alt.Scale(type="log") if log_axis else alt.Scale(zero=False)
# Longer source ids than the theme's cut (many share a long prefix, e.g. bhagia2024_step1_...);
# the verdict key in the caption (a legend beside the plot left it no width at 390 px); one
# shape per verdict on every quantity, whichever verdicts occur, so a shape means one thing.
height = max(160, 28 * len(shown))
base = alt.Chart(shown).encode(
    y=alt.Y("source:N", sort=None, title=None, axis=alt.Axis(labelLimit=180, labelOverlap=False))
)
bars = base.mark_rule(strokeWidth=2).encode(
    x=alt.X("low:Q", scale=scale, title=quantity), x2="high:Q", color="kind:N"
)
dots = base.mark_point(filled=True, size=80).encode(
    x=alt.X("value:Q", scale=scale),
    color=alt.Color("kind:N", title="source", legend=alt.Legend(orient="top")),
    shape=alt.Shape(
        "verdict:N",
        scale=alt.Scale(domain=list(VERDICT_SHAPES), range=list(VERDICT_SHAPES.values())),
        legend=None,  # the key is in the caption: a legend beside or below was cut at 390 px
    ),
    tooltip=["title", "dataset", "value", "low", "high", "verdict", "derivation", "notes"],
)
st.altair_chart((bars + dots).properties(height=height), width="stretch")
st.caption(
    ("Log scale. " if log_axis else "")
    + "Marks are point estimates; lines are intervals where one exists, of the kind each "
    + "source gives (percentiles, standard errors: see the derivation column). "
    + "Verdict against the reference: "
    + ", ".join(f"{VERDICT_MARKS[v]} {v.replace('_', ' ')}" for v in VERDICT_SHAPES)
    + "."
)
st.dataframe(shown, hide_index=True, width="stretch", key="compare_table")
st.download_button(
    "Download CSV",
    shown.to_csv(index=False).encode("utf-8"),
    file_name=f"compare_{quantity}.csv",
    mime="text/csv",
    key="compare_csv",
)
