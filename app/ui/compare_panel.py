"""Models page: two versions compared on exactly the same videos and labels (today's stable test split and
today's labels), with per-class deltas, flipped videos and the videos relabelled since A was trained."""
from __future__ import annotations

import pandas as pd
import streamlit as st

from app.services import compare as compare_service
from app.services import jobs, requests
from app.services.models import ModelSummary
from app.ui import cache, components, figures, navigation, session


def compare_section(versions: list[ModelSummary], labels: dict[int, str]) -> None:
    st.header("Compare two versions")
    deep = [v for v in versions if not v.shallow]
    if len(deep) < 2:
        st.info("Only one deep model version so far: train another on the Retrain page to compare.")
        return
    ids = [v.id for v in deep]
    b_default = next((i for i, v in enumerate(deep) if v.active), 0)  # the active version after ...
    a_default = next(i for i in range(len(ids)) if i != b_default)  # ... the newest other one before it
    c1, c2 = st.columns(2)
    a = c1.selectbox("Before (A)", ids, index=a_default, format_func=labels.get, key="models_a")
    b = c2.selectbox("After (B)", ids, index=b_default, format_func=labels.get, key="models_b")
    if a == b:
        st.info("Choose two different versions.")
        return
    if compare_service.missing_predictions(cache.ctx(), a, b) or _predicting():
        st.fragment(_predictions_panel, run_every=2.0 if _predicting() else None)(a, b)
        return
    with st.spinner("Scoring both versions on today's test split…"):
        diff = components.attempt(cache.compare_models, a, b, session.account_name())
    if diff is None:
        return
    st.caption(f"Both scored on the same {len(diff.video_ids)} test videos with today's labels (the stable split: a "
               "correction never moves a video between train and test).")
    for warning in diff.warnings:
        st.warning(warning, icon=":material/warning:")
    st.dataframe(pd.DataFrame([
        {"metric": "test Micro-F", "A": diff.micro_a, "B": diff.micro_b, "B − A": diff.micro_b - diff.micro_a},
        {"metric": "test Macro-F", "A": diff.macro_a, "B": diff.macro_b, "B − A": diff.macro_b - diff.macro_a},
    ]), hide_index=True, key="models_compare_metrics")
    if diff.classes:
        deltas = [{"venue": d.venue, "f1_a": d.f1_a, "f1_b": d.f1_b, "delta": d.delta} for d in diff.classes]
        st.plotly_chart(figures.delta_figure(deltas, labels[a], labels[b]), key="models_delta")
    st.subheader(f"Videos whose prediction flipped ({len(diff.flips)})")
    if diff.flips:
        flips = pd.DataFrame([{"id": f.video_id, "name": f.file_name, "label": f.label, "A says": f.a,
                               "B says": f.b, "verdict": f.verdict} for f in diff.flips])
        event = st.dataframe(flips, hide_index=True, key="models_flips", on_select="rerun",
                             selection_mode="single-row", height=260)
        if event.selection.rows:
            navigation.open_video(int(flips.iloc[event.selection.rows[0]]["id"]))
    else:
        st.caption("No test video changed its prediction.")
    st.subheader(f"Test videos relabelled since A was trained ({len(diff.relabelled)})")
    if diff.relabelled:
        st.dataframe(pd.DataFrame([{"id": r.video_id, "name": r.file_name, "label then": r.label_then or "—",
                                    "label now": r.label_now, "A says": r.a, "B says": r.b}
                                   for r in diff.relabelled]), hide_index=True, key="models_relabelled")
    else:
        st.caption("None: A and B are judged against the labels A was trained with.")


def _predicting() -> jobs.JobView | None:
    """A predict job still running (the newest first: one per version missing its predictions)."""
    return next((j for j in jobs.list_jobs(cache.ctx(), kind="predict", limit=4) if j.active), None)


def _predictions_panel(a: int, b: int) -> None:
    """A version without stored predictions: they are computed by a `predict` job (its own process), with its
    progress here, and the comparison shows when they are in."""
    running = _predicting()
    target = running.request.model if running is not None and running.request is not None else "?"
    ended = components.watch_job(running, state_key="compare_watching", label=f"Storing the predictions of #{target}")
    if running is not None:
        return
    if ended is not None:  # they are in: compare
        cache.clear_after_model_change()
        st.rerun(scope="app")
    missing = compare_service.missing_predictions(cache.ctx(), a, b)
    st.info(f"{' and '.join(f'#{m}' for m in missing)} {'has' if len(missing) == 1 else 'have'} no stored predictions "
            "yet: comparing scores both versions' stored predictions on today's test split.",
            icon=":material/hourglass_empty:")
    if not session.can("browse") or not session.account_name():
        st.caption("Sign in to compute them (a background job), or run `python -m app compare A B`.")
        return
    if st.button("Compute the missing predictions", key="models_compare_predict", icon=":material/calculate:",
                 help="A background job per version (its own process): every video's prediction, stored"):
        started = None
        for m in missing:
            started = components.attempt(jobs.submit, cache.ctx(), requests.PredictRequest(model=m),
                                         who=session.account_name() or "")
            if started is None:
                break
        if started is not None:
            st.session_state["compare_watching"] = started
            st.rerun(scope="app")
