"""Getting around the dashboard: the page files, deep links to a video (`?video=ID`), and the video grids and
tables that open a video's detail page when one is picked."""
from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pandas as pd
import streamlit as st

from app.ui import cache
from app.ui.pages import PAGE_FILES  # noqa: F401 - re-exported: pages link to each other by key


def open_video(video_id: int) -> None:
    """Go to the detail page of a video (deep link `?video=ID`)."""
    st.switch_page(PAGE_FILES["video"], query_params={"video": str(int(video_id))})


def video_link(video_id: int, label: str | None = None) -> None:
    st.page_link(PAGE_FILES["video"], label=label or f"Open video {video_id}", icon=":material/movie:",
                 query_params={"video": str(int(video_id))})


def int_param(raw: str | None, *, limit: int = 2**62) -> int | None:
    """A query-string number: ASCII digits only, 0..limit; None for anything else (`²`, `1e9`, 10**20)."""
    if raw is None or not raw.isascii() or not raw.isdigit() or len(raw) > 19:
        return None
    value = int(raw)
    return value if value <= limit else None


def requested_video() -> int | None:
    """The video id of the deep link (?video=ID), None when absent or not a sensible number."""
    return int_param(st.query_params.get("video"))


# Every card's picture in the same 4:3 box, the thumbnail fitted inside it: a corpus of one's own mixes portrait
# phone clips, square and wide ones, and a grid of their natural shapes has rows of very different heights.
CARD_CSS = ("<style>[class*='st-key-vcards-'] [data-testid='stImage'] img, .st-key-map_card [data-testid='stImage'] img"
            " {aspect-ratio: 4 / 3; object-fit: contain; background: #f0f2f6; border-radius: 0.25rem;}</style>")


def video_cards(rows: Sequence[Any], thumbs: dict[int, str | None], *, grid: str, columns: int = 4,
                subtitle: Any = None) -> None:
    """A grid of thumbnails with label, prediction, triage badges and a link to the detail page; `grid` names it
    (unique on its page: its container's key is `vcards-<grid>`)."""
    flags = cache.triage_flags(tuple(r.id for r in rows)) if rows else {}
    st.html(CARD_CSS)
    with st.container(key=f"vcards-{grid}"):
        for start in range(0, len(rows), columns):
            cols = st.columns(columns)
            for col, row in zip(cols, rows[start:start + columns], strict=False):
                with col.container(border=True):
                    path = thumbs.get(row.id)
                    if path:
                        st.image(path, width="stretch")
                    else:
                        st.caption("no preview (file missing)")
                    st.text(f"#{row.id} {_short(row.original_name, 28)}")  # a file name: text, never Markdown
                    st.caption(subtitle(row) if subtitle else card_subtitle(row))
                    triage_badges(flags.get(row.id, ()))
                    video_link(row.id, "Open")


def triage_badges(flags: Sequence[str]) -> None:
    """One small orange badge per triage flag (a dead modality); nothing for a clean video."""
    from app.services.triage import badge

    if flags:
        st.markdown(" ".join(f":orange-badge[:material/warning: {badge(f)}]" for f in flags))


def card_subtitle(row: Any) -> str:
    label = row.label or "unlabelled"
    if row.predicted is None:
        return f"label: {label} · no prediction"
    mark = "✓" if row.correct else "✗"
    return f"label: {label} · {mark} {row.predicted} ({row.confidence:.0%})"


def _short(text: str, n: int) -> str:
    return text if len(text) <= n else text[: n - 1] + "…"


def browse_table(rows: Sequence[Any]) -> pd.DataFrame:
    return pd.DataFrame([{
        "id": r.id, "name": r.original_name, "label": r.label or "—", "predicted": r.predicted or "—",
        "confidence": r.confidence, "correct": None if r.correct is None else ("✓" if r.correct else "✗"),
        "audio": "yes" if r.has_audio else "no", "caption": _short(r.caption or "", 80),
    } for r in rows])


def selectable_videos(rows: Sequence[Any], *, key: str, height: int | str = "auto") -> None:
    """A table of videos; selecting a row opens its detail page."""
    if not rows:
        return
    table = browse_table(rows)
    event = st.dataframe(
        table, hide_index=True, key=key, on_select="rerun", selection_mode="single-row", height=height,
        column_config={"confidence": st.column_config.ProgressColumn("confidence", min_value=0.0, max_value=1.0,
                                                                     format="percent")},
    )
    picked = event.selection.rows if event is not None else []
    if picked:
        open_video(int(table.iloc[picked[0]]["id"]))
