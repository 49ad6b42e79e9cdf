"""Dashboard entry point (`python -m app serve`): page config, sign-in in the sidebar, routing by role."""
from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:  # `streamlit run app/ui/main.py` puts only app/ui on the path
    sys.path.insert(0, str(ROOT))

import streamlit as st  # noqa: E402

from app.services.status import NotReady  # noqa: E402
from app.ui import cache, components, pages, session  # noqa: E402

st.set_page_config(page_title="EASTERN workbench", page_icon=":material/movie:", layout="wide")

session.count_run()
try:
    status = cache.status()
except NotReady as exc:
    st.error(str(exc), icon=":material/database:")
    st.stop()

# Routing by role: a page the role may not use is hidden from the navigation; a deep link to it (a shared URL, a
# stale tab) still opens it, and the page says which account it needs instead of drawing anything (each page checks
# the role before it draws or writes), so signing in from there opens it. The pages are one list: app/ui/pages.py.
PAGES: dict[str, list] = {}
for spec in pages.PAGES:
    allowed = spec.action is None or session.can(spec.action)
    PAGES.setdefault(spec.section, []).append(st.Page(spec.file, title=spec.title, icon=spec.icon, default=spec.default,
                                                      visibility="visible" if allowed else "hidden"))

page = st.navigation(PAGES)
st.sidebar.title("EASTERN workbench")
model = status.model
st.sidebar.caption(
    f"{status.videos:,} videos · {status.labelled:,} labelled · {status.annotated:,} corrected by people  \n"
    + (f"active model: **#{model.id} {components.plain(model.name)}**" if model else "no active model yet")
)
session.sidebar_identity()
if page.url_path != "video":  # Video detail draws its first paint again when a person comes back to it
    st.session_state.pop(pages.VIDEO_DRAWN_KEY, None)
page.run()
