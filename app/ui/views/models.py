"""Models and evaluation: versions with their metrics, per-class F1, a clickable confusion matrix,
two versions compared on today's test split, label issues by cross-validation, and the latest reproduction
report."""
from __future__ import annotations

import pandas as pd
import streamlit as st

from app.services import models
from app.ui import (
    cache,
    compare_panel,
    components,
    confusion_panel,
    figures,
    labelissues,
    navigation,
    promote_panel,
    session,
)
from core.figures import epoch_curves_figure
from core.modalities import letters

st.title("Models and evaluation")
components.show_flash()

versions = cache.model_list()
if not versions:
    st.info("No trained model yet: run `python -m app train --activate`, or start one on the Retrain page.",
            icon=":material/model_training:")
else:
    table = pd.DataFrame([{
        "id": v.id, "name": v.name, "architecture": v.architecture, "active": "★" if v.active else "",
        "modalities": letters(v.modalities), "epochs": v.epochs,
        "test Micro-F": v.micro_f1, "test Macro-F": v.macro_f1, "best val Macro-F": v.best_val_macro_f1,
        "test videos": v.n_test, "trained": v.created_at.strftime("%Y-%m-%d %H:%M:%S"),
    } for v in versions])
    st.dataframe(table, hide_index=True, column_config={
        c: st.column_config.NumberColumn(c, format="%.3f") for c in ("test Micro-F", "test Macro-F",
                                                                     "best val Macro-F")})

    labels = {v.id: f"#{v.id} {v.name}" + (" (active)" if v.active else "") for v in versions}
    default = next((i for i, v in enumerate(versions) if v.active), 0)
    chosen = st.selectbox("Model version", list(labels), index=default, format_func=labels.get, key="models_pick")
    by_id = {v.id: v for v in versions}
    if by_id[chosen].shallow:
        st.caption("A shallow baseline of Table 1: kept for comparison, it cannot be promoted.")
    elif not by_id[chosen].active or promote_panel.running() is not None:
        if not session.is_admin():
            st.caption("An admin can promote this version to active.")
        else:
            promote_panel.panel(chosen, key="models_promote")
    view = components.attempt(cache.model_view, chosen)
    if view is not None:
        names = view.class_names
        st.plotly_chart(figures.per_class_figure(view.per_class), key="models_f1")
        cell = None
        if view.confusion:
            cell = confusion_panel.confusion_section(view.confusion, names, key="models_confusion")
            cells = pd.DataFrame(models.mistake_cells(view.confusion, names),
                                 columns=["label", "predicted", "videos", "i", "j"])
            if not cells.empty:
                st.caption("Mistakes by cell — click a square above or select a row here to list its test videos.")
                picked = st.dataframe(cells, hide_index=True, key="models_cells", on_select="rerun",
                                      selection_mode="single-row", column_order=("label", "predicted", "videos"),
                                      height=220)
                if picked.selection.rows:
                    row = cells.iloc[picked.selection.rows[0]]
                    cell = (int(row["i"]), int(row["j"]))
        else:
            st.info("This version stored no confusion matrix.")
        if cell is not None:
            ids = models.test_videos_in_cell(view.row, *cell)
            st.markdown(f"**Test videos labelled {names[cell[0]]}, predicted {names[cell[1]]}** ({len(ids)})")
            navigation.selectable_videos(cache.videos_by_id(tuple(ids)), key="models_cell_videos")
        if view.history:
            st.plotly_chart(figures.curve_figure(view.history, title="Training of this version"),
                            key="models_curve")

    compare_panel.compare_section(versions, labels)
    labelissues.download("predictions", key="models_download", label=f"Download predictions of #{chosen} (CSV)",
                         model_id=chosen)

st.header("Label issues (cross-validation)")
labelissues.source_panel(key="models")

st.header("Reproduction report")
report = cache.latest_report()
if report is None:
    st.info("No reproduction report yet. Run `python -m app reproduce` (or `python -m app reproduce --quick` for a "
            "smoke run); the dashboard shows the latest one.", icon=":material/description:")
else:
    st.caption(f"From {report.folder} · {pd.Timestamp(report.modified, unit='s'):%Y-%m-%d %H:%M}")
    if report.curves:
        st.plotly_chart(epoch_curves_figure(report.curves, height=360, margin={"t": 40, "b": 10}),
                        key="models_figure6")
    st.markdown(report.markdown)
    if report.html:
        with open(report.html, "rb") as fh:
            st.download_button("Download the HTML report", fh.read(), file_name="report.html", mime="text/html",
                               key="models_report_html")
