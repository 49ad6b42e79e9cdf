"""The small helpers every page shares: the one way to show a user-facing error, flash messages across a rerun,
the "no model yet" box, and user text made inert for Markdown."""
from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

import streamlit as st

from app.errors import user_message

if TYPE_CHECKING:
    from app.services.status import ActiveModel, Status


@contextmanager
def user_errors(prefix: str = "") -> Iterator[None]:
    """Show a known user-facing error as one red line (app.errors.user_message); let bugs raise."""
    try:
        yield
    except Exception as exc:  # noqa: BLE001 - re-raised unless it is a known user error
        message = user_message(exc)
        if message is None:
            raise
        st.error(f"{prefix}{message}", icon=":material/error:")


def attempt(fn: Any, *args: Any, **kwargs: Any) -> Any:
    """Call fn; on a known user-facing error show its one line and return None (bugs raise)."""
    try:
        return fn(*args, **kwargs)
    except Exception as exc:  # noqa: BLE001 - re-raised unless it is a known user error
        message = user_message(exc)
        if message is None:
            raise
        st.error(message, icon=":material/error:")
        return None


def flash(kind: str, message: str) -> None:
    """A message to show at the top of the next run (after st.rerun)."""
    st.session_state["_flash"] = (kind, message)


def show_flash() -> None:
    kind, message = st.session_state.pop("_flash", (None, None))
    if message:
        {"success": st.success, "error": st.error, "warning": st.warning}.get(kind, st.info)(message)


def need_model(status: Status) -> ActiveModel | None:
    """The active model, or an info box saying how to get one (and None)."""
    model = status.model
    if model is None:
        st.info("No trained model yet: run `python -m app train --activate` (or start one on the Retrain page, "
                "then promote it).", icon=":material/model_training:")
    return model


def ood_warning(score: float | None) -> None:
    """Warn in words when the model scores a video out of distribution (app/services/ood.py)."""
    from app.services.ood import WARNING, OodVerdict

    if OodVerdict(score=score).flag:
        st.warning(f"{WARNING} (score {score:.2f}; 1.00 is the threshold)", icon=":material/explore_off:")


def plain(text: object) -> str:
    """User text made inert for the places that render Markdown (alerts, flashes): every ASCII punctuation mark
    backslash-escaped, so no link, image, emphasis, heading, directive or HTML tag survives."""
    return "".join("\\" + ch if ch in _MARKDOWN_PUNCTUATION else ch for ch in str(text))


_MARKDOWN_PUNCTUATION = set("!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~")


def chart(spec: dict[str, Any], *, key: str) -> None:
    """A Vega-Lite spec of app.ui.charts, as wide as its column, inside a container keyed `key` (its page and the
    browser benchmark find it by the `st-key-<key>` class)."""
    height = spec.get("height")  # pixels, given to Streamlit too (it sizes a spec without it by its content)
    with st.container(key=key):
        st.vega_lite_chart(spec, width="stretch", height=height if isinstance(height, int) else "content",
                           key=f"{key}_vega")


def watch_job(running: Any, *, state_key: str, label: str) -> int | None:
    """The one "follow a background job" of the pages: while `running` (an app.services.jobs JobView, or None when
    no job of this kind runs) runs, its progress bar, and its id kept under `state_key`; once it is no longer
    running, the id of the job this session watched (the caller refreshes what the job changed and reruns the
    page), else None. Call it in a fragment with run_every while a job runs."""
    if running is not None:
        st.session_state[state_key] = running.id
        st.progress(min(max(running.progress, 0.0), 1.0),
                    text=f"{label} (job {running.id}): {running.message or running.status}")
        return None
    return st.session_state.pop(state_key, None)
