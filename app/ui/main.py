"""Dashboard entry point (`python -m app serve`): page config, sign-in in the sidebar, routing by role."""
from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:  # `streamlit run app/ui/main.py` puts only app/ui on the path
    sys.path.insert(0, str(ROOT))

import streamlit as st  # noqa: E402

from app.services.dashboard import NotReady  # noqa: E402
from app.ui import cache, components, navigation, session  # noqa: E402

st.set_page_config(page_title="EASTERN workbench", page_icon=":material/movie:", layout="wide")

session.count_run()
try:
    status = cache.status()
except NotReady as exc:
    st.error(str(exc), icon=":material/database:")
    st.stop()

PAGES = {
    "Videos": [
        st.Page(navigation.PAGE_FILES["browse"], title="Browse", icon=":material/grid_view:", default=True),
        st.Page(navigation.PAGE_FILES["video"], title="Video detail", icon=":material/movie:"),
        st.Page(navigation.PAGE_FILES["annotate"], title="Annotate", icon=":material/edit_note:"),
    ],
    "Understand": [
        st.Page(navigation.PAGE_FILES["atoms"], title="Atom explorer", icon=":material/scatter_plot:"),
        st.Page(navigation.PAGE_FILES["failures"], title="Failure cases", icon=":material/report:"),
        st.Page(navigation.PAGE_FILES["casestudy"], title="Case study", icon=":material/compare:"),
    ],
    "Models": [
        st.Page(navigation.PAGE_FILES["models"], title="Models & evaluation", icon=":material/leaderboard:"),
        st.Page(navigation.PAGE_FILES["retrain"], title="Retrain", icon=":material/model_training:"),
    ],
}
# Routing by role: a page the role may not use is not in the navigation, so a deep link to it falls back to
# Browse (each page checks the role again before it writes anything).
# (No Page attribute is read here: a worker process that re-imports this file has no Streamlit runtime.)
if session.can("upload"):
    PAGES["Videos"].append(st.Page(navigation.PAGE_FILES["upload"], title="Upload", icon=":material/upload:"))
if session.can("accounts"):
    PAGES["Admin"] = [st.Page(navigation.PAGE_FILES["accounts"], title="Accounts & audit log",
                              icon=":material/admin_panel_settings:")]

page = st.navigation(PAGES)
st.sidebar.title("EASTERN workbench")
model = status.model
st.sidebar.caption(
    f"{status.videos:,} videos · {status.labelled:,} labelled · {status.annotated:,} corrected by people  \n"
    + (f"active model: **#{model.id} {components.plain(model.name)}**" if model else "no active model yet")
)
session.sidebar_identity()
page.run()
