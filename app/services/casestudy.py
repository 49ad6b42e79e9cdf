"""Failure cases and the case study: the active model's most confident mistakes and most confused
venue pairs, and, like the paper's Table 5, what every trained model version predicts for chosen
videos beside their label."""
from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from app.context import AppContext
from db import queries, repo
from db.session import session_scope

# The paper's Table 5 mistakes: (case, label, what EASTERN mostly predicted instead).
PAPER_CASES = (
    ("v3", "College Basketball Court", "General Entertainment"),
    ("v4", "Speakeasy", "Garden"),
)


def failure_gallery(ctx: AppContext, *, model_id: int, limit: int = 24) -> dict[str, Any]:
    """The model's most confident mistakes and the (label, prediction) pairs it confuses most."""
    with session_scope(ctx.engine) as session:
        return {
            "mistakes": queries.confident_mistakes(session, model_version_id=model_id, limit=limit),
            "pairs": queries.confused_pairs(session, model_version_id=model_id, limit=limit),
        }


def pair_videos(
    ctx: AppContext, *, model_id: int, true_venue_id: int, predicted_venue_id: int, limit: int = 24
) -> list[queries.BrowseRow]:
    """Videos labelled one venue and predicted as another by this model, most confident first."""
    filters = queries.VideoFilter(label_venue_ids=(true_venue_id,), predicted_venue_ids=(predicted_venue_id,),
                                  correctness="wrong")
    with session_scope(ctx.engine) as session:
        rows, _ = queries.browse(session, model_version_id=model_id, filters=filters, sort="confidence_desc",
                                 limit=limit)
    return rows


def case_candidates(ctx: AppContext, *, model_id: int, extra: int = 30) -> dict[str, Any]:
    """Videos to offer on the case-study page: cases like the paper's v3 and v4 when such mistakes
    exist (preselected, with a note), then the most confident mistakes."""
    preselected: list[int] = []
    notes: dict[int, str] = {}
    with session_scope(ctx.engine) as session:
        for case, label, predicted in PAPER_CASES:
            ids = queries.mistakes_between(session, model_version_id=model_id, true_venue=label,
                                           predicted_venue=predicted, limit=1)
            note = f"like the paper's {case}: {label} taken for {predicted}"
            if not ids:
                ids = queries.mistakes_between(session, model_version_id=model_id, true_venue=label, limit=1)
                note = f"like the paper's {case}: a {label} video the model gets wrong"
            for vid in ids:
                if vid not in notes:
                    preselected.append(vid)
                    notes[vid] = note
        mistakes = queries.confident_mistakes(session, model_version_id=model_id, limit=extra)
    options = preselected + [m.id for m in mistakes if m.id not in notes]
    if not preselected:
        preselected = options[:2]
    return {"preselected": preselected, "options": options, "notes": notes}


Loader = Callable[[AppContext, int], Any]


def predictions_for_model(
    ctx: AppContext, model_id: int, video_ids: list[int], *, load: Loader | None = None
) -> dict[int, dict[str, Any]]:
    """Each video's top prediction by one model version: the stored one where the version was active
    once, otherwise computed now from its checkpoint (training.load_model + features_for_model).
    Videos without features of the model's extractor are left out."""
    from app.services import training

    with session_scope(ctx.engine) as session:
        stored = queries.predictions_of(session, model_version_id=model_id, video_ids=video_ids)
    out = {vid: {"venue": p.venue, "confidence": p.confidence, "source": "stored"} for vid, p in stored.items()}
    missing = [v for v in video_ids if v not in out]
    if not missing:
        return out
    from core.train import predict_proba

    model, _cfg, meta = (load or training.load_model)(ctx, model_id)
    data, all_ids = training.features_for_model(ctx, meta)
    position = {int(v): i for i, v in enumerate(all_ids)}
    rows = np.array([position[v] for v in missing if v in position], dtype=np.int64)
    if len(rows) == 0:
        return out
    probs = predict_proba(model, data, rows)
    names = list(meta["class_names"])
    for i, row in enumerate(rows):
        best = int(np.argmax(probs[i]))
        out[int(all_ids[row])] = {"venue": names[best], "confidence": float(probs[i][best]), "source": "computed"}
    return out


def case_table(
    videos: list[queries.BrowseRow], models: list[dict[str, Any]], predictions: dict[int, dict[int, dict[str, Any]]]
) -> list[dict[str, Any]]:
    """Rows of the Table 5-like view: one per video, its label, then each model version's prediction
    marked right (✓) or wrong (✗). `predictions` maps model id -> video id -> prediction."""
    table = []
    for video in videos:
        row: dict[str, Any] = {"video": video.id, "name": video.original_name, "label": video.label or "—"}
        for model in models:
            pred = predictions.get(model["id"], {}).get(video.id)
            column = model_column(model)
            if pred is None:
                row[column] = "— (no features)"
            else:
                mark = "✓" if video.label and pred["venue"] == video.label else "✗"
                row[column] = f"{mark} {pred['venue']} ({pred['confidence']:.0%})"
        table.append(row)
    return table


def model_column(model: dict[str, Any]) -> str:
    active = " ★" if model.get("active") else ""
    return f"#{model['id']} {model['name']}{active}"


def venue_id_of(ctx: AppContext, name: str) -> int:
    with session_scope(ctx.engine) as session:
        return repo.venue_id(session, name=name)
