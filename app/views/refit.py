"""refit page (grows as its backend lands)."""

import streamlit as st

st.title("Refit")
