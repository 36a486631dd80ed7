"""Compare page: one comparable quantity across papers and our own fits, as a table and a
forest plot with intervals, the verdict notes, filters, and CSV export."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from app.resources import get_store, show_error, warn_stale_laws
from app.urlstate import UrlState
from kb.charts import compare_caption, compare_chart, compare_records
from kb.compare import compare, unavailable
from kb.derive import AT_BUDGET, DEFAULT_BUDGET_FLOPS, QUANTITIES, QUANTITY_LABELS
from kb.errors import KBError

store = get_store()
if store is None:
    st.stop()

# What the page compares: exponents (a, b, alpha, beta, loss_compute) and tokens per parameter
# at a budget (kb.derive.QUANTITIES); the home page's link says the same.
st.title("Compare exponents and tokens per parameter across papers")
warn_stale_laws(store)
url = UrlState("compare", ("quantity", "at", "show", "domain"))
names = list(QUANTITIES)
url.choice("quantity", "compare_quantity", names, names[0], always=True)
top = st.columns([4, 1], vertical_alignment="bottom")
quantity = top[0].selectbox(
    "Quantity",
    names,
    format_func=lambda q: f"{q}: {QUANTITY_LABELS[q]}",
    key="compare_quantity",
)
# The CSV button's place, emptied at the start of every run and filled at its end: a button
# drawn below the chart stayed on the page, holding the previous quantity's CSV, for the ~0.5 s
# a run takes to reach it, and a quick click downloaded that (compare_a.csv after choosing alpha).
csv_slot = top[1].empty()
at_flops = DEFAULT_BUDGET_FLOPS
if quantity in AT_BUDGET:
    url.number("at", "compare_at", DEFAULT_BUDGET_FLOPS, 1.0)
    at_flops = st.number_input(
        "Compute budget (FLOPs)", min_value=1.0, format="%.3g", key="compare_at",
        help="The budget C at which D_opt(C)/N_opt(C) is evaluated (C = 6ND); default "
        f"{DEFAULT_BUDGET_FLOPS:.0e}. Chinchilla and Gopher were trained with 5.76e23, one of "
        "the budgets of Hoffmann et al.'s Table 3 (Approach 1's ratios, given only there).",
    )  # fmt: skip
else:
    url.unused("at", f"{quantity} is an exponent, the same at every budget")

try:
    rows = compare(store, quantity=quantity, at_flops=float(at_flops))
    missing = unavailable(store, quantity, at_flops=float(at_flops))
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

frame = pd.DataFrame(compare_records(rows))
cols = st.columns(2)
kind_names = sorted(frame["kind"].unique())
url.choices("show", "compare_kinds", kind_names, kind_names)
kinds = cols[0].multiselect("Show", kind_names, key="compare_kinds")
domains = sorted(d for d in frame["domain"].dropna().unique())
url.choices("domain", "compare_domains", domains, domains)
picked = cols[1].multiselect("Domain", domains, key="compare_domains")
url.save()
if len(picked) == 1 and len(domains) > 1:
    # One domain: its own reference (against a language one every vision law read "not
    # comparable: different modality", as `kb compare --domain` now avoids too).
    try:
        frame = pd.DataFrame(
            compare_records(compare(store, quantity=quantity, at_flops=float(at_flops),
                                    domain=picked[0]))
        )  # fmt: skip
        missing = unavailable(store, quantity, at_flops=float(at_flops), domain=picked[0])
    except KBError as err:
        show_error(err)
        st.stop()
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

records = shown.astype(object).where(shown.notna(), None).to_dict("records")
st.altair_chart(compare_chart(records, quantity), width="stretch")
st.caption(compare_caption(records))
if missing:
    with st.expander(f"{len(missing)} laws give no {quantity} at this budget"):
        st.markdown("\n".join(f"- `{m.source_id}`: {m.reason}" for m in missing))
st.dataframe(shown, hide_index=True, width="stretch", key="compare_table")
csv_slot.download_button(
    "Download CSV",
    shown.to_csv(index=False).encode("utf-8"),
    file_name=f"compare_{quantity}.csv",
    mime="text/csv",
    key="compare_csv",
)
