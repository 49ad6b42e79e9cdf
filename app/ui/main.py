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

# Routing by role: a page the role may not use is not routed (its file never runs for that role; each page also
# checks the role before it writes). Its URL (a shared link, a stale tab) answers with a hidden stand-in that says
# which account the page needs, instead of Streamlit's "Page not found"; signing in there opens the page itself.
# The pages are one list: app/ui/pages.py.
def _needs_account(spec: pages.PageSpec):  # noqa: ANN202 - a page function
    def page() -> None:
        st.title(spec.title)
        st.info(session.needs(spec.action, spec.title), icon=":material/lock:")
    return page


PAGES: dict[str, list] = {}
for spec in pages.PAGES:
    if spec.action is None or session.can(spec.action):
        entry = st.Page(spec.file, title=spec.title, icon=spec.icon, default=spec.default)
    else:
        entry = st.Page(_needs_account(spec), title=spec.title, icon=spec.icon, url_path=Path(spec.file).stem,
                        visibility="hidden")
    PAGES.setdefault(spec.section, []).append(entry)

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
