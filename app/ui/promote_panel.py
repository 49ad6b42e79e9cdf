"""Promoting a model version (Models and Retrain): the admin's button starts a `promote` job (every video's
prediction recomputed in its own process, minutes at 200,000 videos, never in a page run), its progress shows while
it runs, and the pages show the new active model when it is done."""
from __future__ import annotations

import streamlit as st

from app.services import jobs, requests
from app.ui import cache, components, session


def running() -> jobs.JobView | None:
    """The promotion running now, if any."""
    recent = jobs.list_jobs(cache.ctx(), kind="promote", limit=1)
    return recent[0] if recent and recent[0].active else None


def panel(model_id: int, *, key: str, primary: bool = False) -> None:
    """The button (or the running promotion's progress), refreshed every 2 s while a promotion runs."""
    st.fragment(_live, run_every=2.0 if running() is not None else None)(model_id, key, primary)


def _live(model_id: int, key: str, primary: bool) -> None:
    now = running()
    target = now.request.model if now is not None and now.request is not None else "?"
    watching = components.watch_job(now, state_key="promote_watching", label=f"Promoting #{target}")
    if now is not None:
        return
    if watching is not None:  # it ended while we watched: say how, and redraw the page with the new active model
        ended = jobs.get_job(cache.ctx(), watching)
        cache.clear_after_model_change()
        if ended is not None and ended.status == jobs.JobStatus.DONE:
            components.flash("success", ended.message or "Promoted.")
        elif ended is not None:
            components.flash("error", f"Promotion job {ended.id} {ended.status}: {ended.error or ended.message}")
        st.rerun(scope="app")
    if st.button(f"Promote #{model_id} to active", key=key, icon=":material/rocket_launch:",
                 type="primary" if primary else "secondary",
                 help="Recomputes every video's prediction with this version in a background job, then makes it "
                      "active; the corpus map follows in its own job"):
        job_id = components.attempt(requests.start_promote, cache.ctx(), who=session.account_name() or "",
                                    model_id=model_id)
        if job_id is not None:
            st.session_state["promote_watching"] = job_id
            st.rerun(scope="app")
