"""Shared pieces of the pages: Plotly figures, the frame strip, highlighted captions, video cards,
the sidebar identity, the label editor and the one way to show a user-facing error."""
from __future__ import annotations

import html
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

import numpy as np
import pandas as pd
import plotly.graph_objects as go
import streamlit as st
from PIL import Image, ImageDraw

from app.errors import user_message
from app.ui import cache

PAGE_FILES = {
    "browse": "views/browse.py",
    "video": "views/video.py",
    "atoms": "views/atoms.py",
    "annotate": "views/annotate.py",
    "models": "views/models.py",
    "retrain": "views/retrain.py",
    "failures": "views/failures.py",
    "casestudy": "views/casestudy.py",
    "upload": "views/upload.py",
    "accounts": "views/accounts.py",
}
MODALITY_LABELS = {"visual": "visual (frames)", "acoustic": "acoustic (sound)", "textual": "textual (caption)"}
POSITIVE, NEGATIVE, NEUTRAL = "#d62728", "#1f77b4", "#9aa0a6"
CHART_HEIGHT = 320


# ---------------------------------------------------------------- errors and messages


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


def need_model(status: dict[str, Any]) -> dict[str, Any] | None:
    """The active model, or an info box saying how to get one (and None)."""
    model = status.get("model")
    if model is None:
        st.info("No trained model yet: run `python -m app train --activate` (or start one on the Retrain page, "
                "then promote it).", icon=":material/model_training:")
    return model


# ---------------------------------------------------------------- navigation


def open_video(video_id: int) -> None:
    """Go to the detail page of a video (deep link `?video=ID`)."""
    st.switch_page(PAGE_FILES["video"], query_params={"video": str(int(video_id))})


def video_link(video_id: int, label: str | None = None) -> None:
    st.page_link(PAGE_FILES["video"], label=label or f"Open video {video_id}", icon=":material/movie:",
                 query_params={"video": str(int(video_id))})


def requested_video() -> int | None:
    """The video id of the deep link (?video=ID), None when absent or not a number."""
    raw = st.query_params.get("video")
    try:
        return int(raw) if raw is not None else None
    except ValueError:
        return None


def video_cards(rows: Sequence[Any], thumbs: dict[int, str | None], *, columns: int = 4,
                subtitle: Any = None) -> None:
    """A grid of thumbnails with label, prediction, triage badges and a link to the detail page."""
    flags = cache.triage_flags(tuple(r.id for r in rows)) if rows else {}
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


# ---------------------------------------------------------------- identity (sidebar)

AUTH_KEY = "auth"  # st.session_state: an accounts.SignedIn (name and expiry); the role is read from the database


def plain(text: object) -> str:
    """User text made inert for the places that render Markdown (alerts, flashes): every ASCII punctuation mark
    backslash-escaped, so no link, image, emphasis, heading, directive or HTML tag survives."""
    return "".join("\\" + ch if ch in _MARKDOWN_PUNCTUATION else ch for ch in str(text))


_MARKDOWN_PUNCTUATION = set("!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~")


def _oidc_configured() -> bool:
    """Whether Streamlit's st.login has an identity provider ([auth] in .streamlit/secrets.toml)."""
    try:
        return "auth" in st.secrets
    except Exception:  # noqa: BLE001 - no secrets file at all
        return False


def _oidc_account(ctx: Any) -> Any:
    """The account named by the identity provider's e-mail (st.user), when st.login is configured and used."""
    from app.services import accounts

    if not _oidc_configured() or not getattr(st.user, "is_logged_in", False):
        return None
    email = str(st.user.get("email") or "")
    account = accounts.get(ctx, email) if email else None
    if account is None or account.disabled:
        return None
    if st.session_state.get("_oidc_audited") != email:
        from app.services import audit

        audit.record(ctx, actor=email, action="signin.ok", target=email, detail={"via": "oidc"})
        st.session_state["_oidc_audited"] = email
    return account


def current_account() -> Any:
    """The signed-in account (db.accounts.UserRow) of this browser session, checked once per run: the session
    must not have expired and the account must still be enabled; its role is read fresh from the database."""
    cached = st.session_state.get("_account")
    if cached is not None and cached[0] == run_number():
        return cached[1]
    from app.services import accounts

    signed = st.session_state.get(AUTH_KEY)
    account = accounts.session_account(cache.ctx(), signed) if signed is not None else None
    if signed is not None and account is None:
        st.session_state.pop(AUTH_KEY, None)
        st.session_state["_session_ended"] = True
    if account is None:
        account = _oidc_account(cache.ctx())
    st.session_state["_account"] = (run_number(), account)
    return account


def sidebar_identity() -> None:
    """The sign-in form (account name and password, or the identity provider when configured), or who is signed
    in with a sign-out button."""
    from app.services import accounts

    sb = st.sidebar
    account = current_account()
    if account is not None:
        sb.text(f"Signed in as {account.name} ({account.role})")
        if st.session_state.get(AUTH_KEY) is not None and sb.button("Sign out", key="signout"):
            st.session_state.pop(AUTH_KEY, None)
            st.session_state.pop("_account", None)
            st.rerun()
        elif st.session_state.get(AUTH_KEY) is None and _oidc_configured() and sb.button("Sign out", key="signout"):
            st.logout()
        return
    if st.session_state.pop("_session_ended", False):
        sb.warning("Your session ended: sign in again.", icon=":material/timer_off:")
    with sb.form("signin_form", border=True):
        st.caption("Sign in to correct labels (annotators) or to retrain and manage accounts (admins).")
        name = st.text_input("Account name", key="signin_name", max_chars=80)
        password = st.text_input("Password", type="password", key="signin_password")
        submitted = st.form_submit_button("Sign in", key="signin_submit")
    if submitted:
        result = accounts.sign_in(cache.ctx(), name=name.strip(), password=password)
        if result.ok and result.account is not None:
            st.session_state[AUTH_KEY] = accounts.start_session(cache.ctx(), result.account)
            st.session_state.pop("_account", None)
            st.rerun()
        sb.error(result.reason, icon=":material/lock:")
    if _oidc_configured() and sb.button("Sign in with your identity provider", key="signin_oidc"):
        st.login()


def count_run() -> None:
    """Number this script run (called once per run by the entry file)."""
    st.session_state["_run_number"] = run_number() + 1


def run_number() -> int:
    return int(st.session_state.get("_run_number", 0))


def account_name() -> str | None:
    """The signed-in account's name, whatever its role."""
    account = current_account()
    return account.name if account is not None else None


def role() -> str | None:
    """The signed-in account's role (viewer, annotator or admin), None when nobody is signed in."""
    account = current_account()
    return account.role if account is not None else None


def can(action: str) -> bool:
    """Whether the signed-in account's role allows `action` (app.services.accounts.ACTIONS)."""
    from app.services.accounts import role_allows

    return role_allows(role(), action)


def annotator() -> str | None:
    """The name label changes are stamped with: the signed-in account when it may label, else None."""
    return account_name() if can("label") else None


def is_admin() -> bool:
    return role() == "admin"


# ---------------------------------------------------------------- the label editor


def label_editor(video: Any, venues: list[str], *, key: str, save: Any, picks: Sequence[tuple[str, float]] = (),
                 on_saved: Any = None) -> None:
    """Correct a video's venue: a form (Enter submits) with a reason. The picker starts at the current label,
    never at the model's guess (no automation bias); `picks` are the model's top venues as buttons with the
    shortcuts 1, 2, 3 that move the picker, and Enter then saves. The save is conflict-checked against the
    label version the user was shown (kept from the previous run, so a fresher read in this run never hides
    someone else's change). `save(venue, reason, who, expected_version)` returns the new version."""
    from db.repo import LabelConflict

    shown_key = f"{key}_shown_version"
    shown_version, shown_run = st.session_state.get(shown_key, (video.version, -1))
    # The version drawn in the previous run is what the user saw when they pressed Save; a form last
    # drawn on an earlier visit says nothing about what is on screen now.
    expected = shown_version if shown_run == run_number() - 1 else video.version
    st.session_state[shown_key] = (video.version, run_number())
    who = annotator()
    picker = f"{key}_venue"
    if picker not in st.session_state and video.current_venue in venues:
        st.session_state[picker] = video.current_venue
    if picks:
        st.caption("Model's top venues (press 1, 2, 3 to pick; Enter saves what is picked):")
        cols = st.columns(len(picks))
        for n, ((venue_name, prob), col) in enumerate(zip(picks, cols, strict=False), start=1):
            col.button(f"{n} · {venue_name} ({prob:.0%})", key=f"{key}_pick{n}", shortcut=str(n),
                       on_click=_pick, args=(picker, venue_name), disabled=venue_name not in venues,
                       use_container_width=True)
    with st.form(f"{key}_form", enter_to_submit=True):
        venue = st.selectbox("Venue", venues, index=None, key=picker,
                             placeholder=f"type to search {len(venues)} venues")
        reason = st.text_input("Reason (optional)", key=f"{key}_reason", placeholder="e.g. the court is visible at 2 s")
        submitted = st.form_submit_button("Save label", type="primary", disabled=not who, key=f"{key}_save",
                                          shortcut="Enter",
                                          help=None if who else "Sign in as an annotator first")
    if not who:
        st.caption(":material/info: Sign in as an annotator (sidebar) to correct labels.")
    if not submitted:
        return
    if not venue:
        st.error("Choose a venue first.")
        return
    try:
        version = save(venue=venue, reason=reason, who=who, expected_version=expected)
    except LabelConflict as exc:
        current = exc.current
        other = (f"{plain(current.who)} set it to **{current.venue_name}** at {current.created_at:%H:%M:%S}"
                 if current else "someone else changed it")
        flash("error", f"Conflict: not saved. While you were looking, {other}. Your choice '{venue}' was not "
                       "stored. Check the label and save again to replace it.")
        st.session_state[shown_key] = (exc.current_version, run_number())
        cache.clear_after_label_change()
        st.rerun()
    except Exception as exc:  # noqa: BLE001 - known user errors become one line, bugs re-raise
        message = user_message(exc)
        if message is None:
            raise
        st.error(message)
        return
    st.session_state[shown_key] = (version, run_number())
    st.session_state["last_change"] = {"video_id": video.id, "version": version, "venue": venue}
    flash("success", f"Saved: video {video.id} is now labelled **{venue}**.")
    cache.clear_after_label_change()
    if on_saved:
        on_saved(version)
    st.rerun()


def _pick(picker: str, venue: str) -> None:
    st.session_state[picker] = venue


def undo_button(*, key: str, video_id: int | None = None) -> None:
    """"Undo last change": put back the label before this session's newest save (only for `video_id`
    when given). Refused with the conflict line when someone changed the video since."""
    from app.services import annotate

    last = st.session_state.get("last_change")
    who = annotator()
    if not last or not who or (video_id is not None and last["video_id"] != video_id):
        return
    if not st.button("Undo last change", key=key, icon=":material/undo:", shortcut="U",
                     help=f"video {last['video_id']} back to the label before '{last['venue']}'"):
        return
    result = attempt(annotate.undo, cache.ctx(), video_id=last["video_id"], who=who,
                     expected_version=last["version"])
    if result is None:
        return
    st.session_state.pop("last_change")
    for name in list(st.session_state):
        if str(name).endswith(f"_{last['video_id']}_shown_version"):
            st.session_state[name] = (result["version"], run_number())
    cache.clear_after_label_change()
    flash("success", f"Undone: video {last['video_id']} is back to **{result['venue']}**.")
    st.rerun()


def history_frame(history: Sequence[Any]) -> pd.DataFrame:
    return pd.DataFrame([{
        "when": h.created_at.strftime("%Y-%m-%d %H:%M:%S"), "who": h.who, "from": h.previous_venue_name or "—",
        "to": h.venue_name, "reason": h.reason,
    } for h in history])


# ---------------------------------------------------------------- figures


def _layout(fig: go.Figure, height: int = CHART_HEIGHT, **kw: Any) -> go.Figure:
    fig.update_layout(height=height, margin={"l": 10, "r": 10, "t": 30, "b": 10}, **kw)
    return fig


def top_venues_figure(top: Sequence[tuple[str, float]], *, label: str | None = None,
                      title: str = "Top-5 venues") -> go.Figure:
    venues = [v for v, _ in top][::-1]
    probs = [p for _, p in top][::-1]
    colors = ["#2ca02c" if v == label else "#1f6feb" for v in venues]
    fig = go.Figure(go.Bar(x=probs, y=venues, orientation="h", marker_color=colors,
                           text=[f"{p:.0%}" for p in probs], textposition="auto",
                           hovertemplate="%{y}: %{x:.1%}<extra></extra>"))
    fig.update_xaxes(range=[0, min(1.0, max([0.2, *probs]) * 1.15)], tickformat=".0%")
    return _layout(fig, height=60 + 36 * len(top), title=title)


def ablation_figure(rows: Sequence[dict[str, Any]], *, full_prediction: str | None) -> go.Figure:
    """One bar per modality subset: its predicted venue and probability; green where it agrees with the
    full model, grey elsewhere."""
    names = [r["subset"] for r in rows][::-1]
    probs = [r["probability"] for r in rows][::-1]
    venues = [r["venue"] for r in rows][::-1]
    colors = ["#2ca02c" if v == full_prediction else NEUTRAL for v in venues]
    fig = go.Figure(go.Bar(x=probs, y=names, orientation="h", marker_color=colors,
                           text=[f"{v} ({p:.0%})" for v, p in zip(venues, probs, strict=True)],
                           textposition="auto", hovertemplate="%{y}: %{text}<extra></extra>"))
    fig.update_xaxes(range=[0, 1], tickformat=".0%")
    return _layout(fig, height=60 + 30 * len(rows), title="Prediction from each modality and pair")


def atom_heatmap(activations: np.ndarray, modalities: Sequence[str]) -> go.Figure:
    fig = go.Figure(go.Heatmap(
        z=activations, y=[MODALITY_LABELS.get(m, m) for m in modalities], x=list(range(activations.shape[1])),
        colorscale="Blues", colorbar={"title": "code"},
        hovertemplate="atom %{x}, %{y}: %{z:.3f}<extra></extra>",
    ))
    fig.update_xaxes(title="dictionary atom")
    fig.update_yaxes(autorange="reversed")  # visual, acoustic, textual from the top, as in the paper
    return _layout(fig, height=80 + 55 * len(modalities), title="Atom activations (sparse codes)")


def contribution_figure(contributions: np.ndarray, modalities: Sequence[str], *, venue: str,
                        top: int = 12) -> go.Figure:
    """The atoms that pushed the venue's score up (red) or down (blue) most."""
    flat = [(float(contributions[m, k]), f"{modalities[m][0].upper()} atom {k}")
            for m in range(contributions.shape[0]) for k in range(contributions.shape[1])
            if contributions[m, k] != 0]
    flat.sort(key=lambda t: abs(t[0]), reverse=True)
    chosen = sorted(flat[:top], key=lambda t: t[0])
    fig = go.Figure(go.Bar(
        x=[v for v, _ in chosen], y=[n for _, n in chosen], orientation="h",
        marker_color=[POSITIVE if v > 0 else NEGATIVE for v, _ in chosen],
        hovertemplate="%{y}: %{x:+.3f}<extra></extra>",
    ))
    fig.update_xaxes(title=f"contribution to the score of {venue}")
    return _layout(fig, height=80 + 22 * max(len(chosen), 1), title=f"Atoms that pushed {venue} up (red) or down")


def frame_strip(frames: np.ndarray, weights: Sequence[float] | None = None, *, gap: int = 4) -> Image.Image:
    """The 12 sampled frames side by side, with the time under each and, given attributions, a bar
    coloured by sign (red pushed the venue up, blue down) and sized by magnitude."""
    n, h, w = frames.shape[:3]
    bar = 12 if weights is not None else 0
    label = 14
    canvas = Image.new("RGB", (n * w + (n - 1) * gap, h + bar + label + 4), "white")
    draw = ImageDraw.Draw(canvas)
    scale = max((abs(float(x)) for x in weights), default=0.0) if weights is not None else 0.0
    for i in range(n):
        x = i * (w + gap)
        canvas.paste(Image.fromarray(frames[i]), (x, 0))
        if weights is not None and scale > 0:
            value = float(weights[i]) / scale
            color = _heat(value)
            draw.rectangle([x, h + 2, x + max(2, int(abs(value) * (w - 1))), h + 2 + bar - 2], fill=color)
            if abs(value) > 0.6:
                draw.rectangle([x, 0, x + w - 1, h - 1], outline=color, width=3)
        draw.text((x + 2, h + bar + 3), f"{0.5 * i:.1f} s", fill="#333333")
    return canvas


def _heat(value: float) -> tuple[int, int, int]:
    """-1..1 -> blue..white..red."""
    v = max(-1.0, min(1.0, value))
    if v >= 0:
        return (255, int(255 * (1 - v * 0.85)), int(255 * (1 - v * 0.85)))
    return (int(255 * (1 + v * 0.85)), int(255 * (1 + v * 0.6)), 255)


def _clip_shapes(fig: go.Figure, clip_weights: Sequence[float] | None, *, clip_seconds: float = 1.0) -> None:
    if clip_weights is None:
        return
    scale = max((abs(float(x)) for x in clip_weights), default=0.0) or 1.0
    for i, value in enumerate(clip_weights):
        v = float(value) / scale
        color = POSITIVE if v > 0 else NEGATIVE
        fig.add_vrect(x0=i * clip_seconds, x1=(i + 1) * clip_seconds, fillcolor=color, opacity=0.35 * abs(v),
                      line_width=0, annotation_text=f"{value:+.2f}", annotation_position="top left",
                      annotation_font_size=10)


def waveform_figure(wave: dict[str, np.ndarray], clip_weights: Sequence[float] | None = None) -> go.Figure:
    t = np.asarray(wave["t"])
    fig = go.Figure()
    fig.add_trace(go.Scatter(x=t, y=wave["high"], line={"width": 0.5, "color": "#555"}, hoverinfo="skip",
                             showlegend=False))
    fig.add_trace(go.Scatter(x=t, y=wave["low"], fill="tonexty", line={"width": 0.5, "color": "#555"},
                             fillcolor="rgba(60,60,60,0.5)", hoverinfo="skip", showlegend=False))
    _clip_shapes(fig, clip_weights)
    fig.update_xaxes(title="seconds", range=[0, 6])
    fig.update_yaxes(range=[-1, 1], showticklabels=False)
    return _layout(fig, height=200, title="Waveform (the 6 one-second clips the model reads)")


def spectrogram_figure(spec: dict[str, np.ndarray], clip_weights: Sequence[float] | None = None) -> go.Figure:
    fig = go.Figure(go.Heatmap(z=spec["db"], x=spec["times"], y=spec["freqs"], colorscale="Magma",
                               colorbar={"title": "dB"}, hovertemplate="%{x:.2f} s, %{y:.0f} Hz<extra></extra>"))
    _clip_shapes(fig, clip_weights)
    fig.update_xaxes(title="seconds", range=[0, 6])
    fig.update_yaxes(title="Hz")
    return _layout(fig, height=240, title="Spectrogram")


def caption_html(words: Sequence[tuple[str, float | None]]) -> str:
    """The caption as written, each word shaded by its attribution (red up, blue down); words the
    model never read (stop words, emoji) in grey."""
    scale = max((abs(w) for _, w in words if w is not None), default=0.0) or 1.0
    parts = []
    for word, weight in words:
        text = html.escape(word)
        if weight is None:
            parts.append(f'<span style="color:#9aa0a6">{text}</span>')
            continue
        r, g, b = _heat(weight / scale)
        parts.append(f'<span title="{weight:+.3f}" style="background:rgb({r},{g},{b});padding:1px 3px;'
                     f'border-radius:3px">{text}</span>')
    return '<div style="line-height:2">' + " ".join(parts) + "</div>"


def per_class_figure(per_class: Sequence[dict[str, Any]]) -> go.Figure:
    """F1 of each venue that has test videos (a venue without any has no F1 to show)."""
    rows = sorted((r for r in per_class if r["support"]), key=lambda r: (r["f1"] or 0.0))
    fig = go.Figure(go.Bar(
        x=[r["f1"] or 0.0 for r in rows], y=[r["venue"] for r in rows], orientation="h", marker_color="#1f6feb",
        customdata=[r["support"] for r in rows],
        hovertemplate="%{y}: F1 %{x:.2f} (%{customdata} test videos)<extra></extra>",
    ))
    fig.update_xaxes(range=[0, 1], title="F1 on the held-out test split")
    left_out = len(per_class) - len(rows)
    title = "Per-class F1" + (f" ({left_out} venues without test videos left out)" if left_out else "")
    return _layout(fig, height=max(300, 20 * len(rows) + 80), title=title)


def delta_figure(deltas: Sequence[dict[str, Any]], a: str, b: str) -> go.Figure:
    rows = sorted(deltas, key=lambda r: r["delta"])
    fig = go.Figure(go.Bar(
        x=[r["delta"] for r in rows], y=[r["venue"] for r in rows], orientation="h",
        marker_color=["#2ca02c" if r["delta"] > 0 else POSITIVE for r in rows],
        hovertemplate="%{y}: %{x:+.2f}<extra></extra>",
    ))
    fig.update_xaxes(title=f"F1 of {b} minus F1 of {a}")
    return _layout(fig, height=max(300, 20 * len(rows) + 80), title="Per-class F1 change")


def curve_figure(history: Sequence[dict[str, Any]], *, title: str = "Training") -> go.Figure:
    """Training loss and validation Macro-F per epoch."""
    epochs = [h.get("epoch") for h in history]
    fig = go.Figure()
    fig.add_trace(go.Scatter(x=epochs, y=[h.get("train_loss") for h in history], name="training loss",
                             mode="lines+markers", yaxis="y"))
    fig.add_trace(go.Scatter(x=epochs, y=[h.get("val_macro_f1") for h in history], name="validation Macro-F",
                             mode="lines+markers", yaxis="y2"))
    fig.update_layout(yaxis={"title": "loss"}, yaxis2={"title": "Macro-F", "overlaying": "y", "side": "right",
                                                       "range": [0, 1]},
                      legend={"orientation": "h", "y": -0.25})
    fig.update_xaxes(title="epoch", dtick=1)
    return _layout(fig, height=300, title=title)


def support_figure(support: Sequence[tuple[str, float]], *, title: str) -> go.Figure:
    rows = list(support)[::-1]
    fig = go.Figure(go.Bar(
        x=[v for _, v in rows], y=[n for n, _ in rows], orientation="h",
        marker_color=[POSITIVE if v > 0 else NEGATIVE for _, v in rows],
        hovertemplate="%{y}: %{x:+.3f}<extra></extra>",
    ))
    return _layout(fig, height=max(260, 22 * len(rows) + 80), title=title)


def atom_overview_figure(share: np.ndarray, mean: np.ndarray, modalities: Sequence[str],
                         selected: int | None = None) -> go.Figure:
    """Every atom per modality as a square coloured by how many videos use it (a scatter, so a click
    returns the atom: Plotly heatmaps return no selection in Streamlit)."""
    n_mod, n_atoms = share.shape
    xs = [k for _ in range(n_mod) for k in range(n_atoms)]
    ys = [MODALITY_LABELS.get(m, m) for m in modalities for _ in range(n_atoms)]
    fig = go.Figure(go.Scatter(
        x=xs, y=ys, mode="markers",
        marker={"symbol": "square", "size": max(8, min(22, int(900 / max(n_atoms, 1)))),
                "color": share.ravel(), "colorscale": "Blues", "cmin": 0, "cmax": 1,
                "line": {"width": [2 if k == selected else 0.5 for k in xs],
                         "color": ["#d62728" if k == selected else "#888" for k in xs]},
                "colorbar": {"title": "videos using it"}},
        customdata=np.stack([np.asarray(xs), mean.ravel()], axis=1),
        hovertemplate="atom %{x}, %{y}<br>used by %{marker.color:.0%} of videos<br>"
                      "mean code %{customdata[1]:.3f}<extra></extra>",
    ))
    fig.update_xaxes(title="dictionary atom (click one)")
    fig.update_yaxes(categoryorder="array", categoryarray=[MODALITY_LABELS.get(m, m) for m in modalities][::-1])
    return _layout(fig, height=120 + 45 * n_mod, title="All atoms")
