"""scaling-kb web app: the router. Run with `kb app` (or `streamlit run app/main.py`)."""

import streamlit as st

st.set_page_config(page_title="scaling-kb", page_icon=":material/trending_down:", layout="wide")

# The default page lives at "/", so Search is not the default: `/search?q=...` must open it.
PAGES = [
    st.Page("views/home.py", title="Home", icon=":material/home:", default=True),
    st.Page("views/search.py", title="Search", icon=":material/search:", url_path="search"),
    st.Page("views/paper.py", title="Paper", icon=":material/article:", url_path="paper"),
    st.Page("views/compare.py", title="Compare", icon=":material/bar_chart:", url_path="compare"),
    st.Page("views/refit.py", title="Refit", icon=":material/functions:", url_path="refit"),
]

# Page links (search results, related papers) are paper titles: let a long one wrap instead of
# being cut off (at 390 px wide most titles lost their end).
st.html(
    "<style>[data-testid='stPageLink-NavLink'] span,"
    " [data-testid='stPageLink-NavLink'] p {white-space: normal;}</style>"
)
st.navigation(PAGES).run()
