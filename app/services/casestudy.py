"""Failure cases and the case study: the active model's most confident mistakes and most confused
venue pairs, and, like the paper's Table 5, what every trained model version predicts for chosen
videos beside their label."""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from app.context import AppContext
from app.services.explain_view import ExplanationView
from app.services.models import ModelSummary
from db import queries, repo
from db.session import session_scope

if TYPE_CHECKING:
    from app.services.annotate import QueueSource


@dataclass(frozen=True)
class FailureGallery:
    """Where the mistakes come from (out-of-fold predictions or the active model's test split), the most
    confident mistakes and the most confused (label, prediction) pairs."""

    source: QueueSource
    mistakes: list[queries.BrowseRow]
    pairs: list[queries.ConfusedPair]


def failure_gallery(ctx: AppContext, *, model_id: int, limit: int = 24) -> FailureGallery:
    """Mistakes that say something about generalisation: out-of-fold predictions of the newest cross-validation
    (every video scored by a model that never saw it), else the active model on its test split only. Returns the
    source (kind, description), the most confident mistakes and the most confused (label, prediction) pairs."""
    from app.services.annotate import queue_source

    source = queue_source(ctx)
    with session_scope(ctx.engine) as session:
        if source.kind == "crossval":
            return FailureGallery(source, queries.oos_mistakes(session, set_id=source.set_id, limit=limit),
                                  queries.oos_confused_pairs(session, set_id=source.set_id, limit=limit))
        return FailureGallery(
            source, queries.confident_mistakes(session, model_version_id=model_id, limit=limit, split="test"),
            queries.confused_pairs(session, model_version_id=model_id, limit=limit, split="test"))


def pair_videos(
    ctx: AppContext, *, model_id: int, true_venue_id: int, predicted_venue_id: int, limit: int = 24
) -> list[queries.BrowseRow]:
    """Videos labelled one venue and predicted as another (by the same source as `failure_gallery`), most
    confident first."""
    from app.services.annotate import queue_source

    source = queue_source(ctx)
    with session_scope(ctx.engine) as session:
        if source.kind == "crossval":
            return queries.oos_mistakes(session, set_id=source.set_id, limit=limit, true_venue_id=true_venue_id,
                                        predicted_venue_id=predicted_venue_id)
        filters = queries.VideoFilter(label_venue_ids=(true_venue_id,), predicted_venue_ids=(predicted_venue_id,),
                                      correctness="wrong", split="test")
        rows, _ = queries.browse(session, model_version_id=model_id, filters=filters, sort="confidence_desc",
                                 limit=limit)
    return rows


@dataclass(frozen=True)
class CaseCandidates:
    """Videos the case-study page offers (ids), those chosen first, and a note for the paper's cases."""

    preselected: list[int]
    options: list[int]
    notes: dict[int, str]


def case_candidates(ctx: AppContext, *, model_id: int, paper: list[Any] | None = None,
                    extra: int = 30) -> CaseCandidates:
    """Videos to offer on the case-study page. Preselected: the paper's v3 and v4 as found by
    app.services.papercases (the out-of-sample mistake of the paper's kind, or the stand-in with the highest
    probability of the confused venue), each with a note; then the most confident out-of-sample mistakes."""
    from app.services import papercases

    paper = papercases.paper_cases(ctx) if paper is None else paper
    preselected: list[int] = []
    notes: dict[int, str] = {}
    for case in paper:
        if case.video_id is None or case.video_id in notes:
            continue
        preselected.append(case.video_id)
        notes[case.video_id] = (f"like the paper's {case.case}: {case.label} taken for {case.confused}" if case.found
                                else f"stand-in for the paper's {case.case}: the {case.label} video closest to "
                                     f"{case.confused}")
    mistakes = failure_gallery(ctx, model_id=model_id, limit=extra).mistakes
    options = preselected + [m.id for m in mistakes if m.id not in notes]
    if not preselected:
        preselected = options[:2]
    return CaseCandidates(preselected=preselected, options=options, notes=notes)


Loader = Callable[[AppContext, int], Any]


def predictions_for_model(
    ctx: AppContext, model_id: int, video_ids: list[int], *, load: Loader | None = None
) -> dict[int, dict[str, Any]]:
    """Each video's top prediction by one model version: the stored one where the version was active
    once, otherwise computed now from its checkpoint (a deep model through models.load_model, a
    shallow baseline of Table 1 on mean-pooled features). Videos without features of the model's
    extractor are left out."""
    from app.services import models

    with session_scope(ctx.engine) as session:
        stored = queries.predictions_of(session, model_version_id=model_id, video_ids=video_ids)
        row = repo.get_model_version(session, model_id=model_id)
    if row is None:
        raise repo.RepoError(f"no model version {model_id}")
    out = {vid: {"venue": p.venue, "confidence": p.confidence, "source": "stored"} for vid, p in stored.items()}
    missing = [v for v in video_ids if v not in out]
    if not missing:
        return out
    if models.is_shallow(row.architecture):
        from core.baselines import load_baseline

        model, meta = load_baseline(ctx.settings.inside_home(Path(row.checkpoint_path)),
                                    sha256=row.config.get("checkpoint_sha256"))
        predict = _shallow_predictor(model, meta)
    else:
        from core.train import predict_proba

        model, _cfg, meta = (load or models.load_model)(ctx, model_id)

        def predict(data: Any, rows: np.ndarray) -> np.ndarray:
            return predict_proba(model, data, rows)

    data, all_ids = models.features_for_model(ctx, meta)
    position = {int(v): i for i, v in enumerate(all_ids)}
    rows = np.array([position[v] for v in missing if v in position], dtype=np.int64)
    if len(rows) == 0:
        return out
    probs = predict(data, rows)
    names = list(meta["class_names"])
    for i, index in enumerate(rows):
        best = int(np.argmax(probs[i]))
        out[int(all_ids[index])] = {"venue": names[best], "confidence": float(probs[i][best]), "source": "computed"}
    return out


def _shallow_predictor(model: Any, meta: dict[str, Any]) -> Callable[[Any, np.ndarray], np.ndarray]:
    from core.baselines import pool_sequences

    def predict(data: Any, rows: np.ndarray) -> np.ndarray:
        pooled = pool_sequences(data.visual[rows], data.acoustic[rows], data.text[rows], data.text_lengths[rows])
        return model.predict_proba({m: pooled[m] for m in meta.get("modalities", pooled)})

    return predict


def case_table(
    videos: list[queries.BrowseRow], models: list[ModelSummary], predictions: dict[int, dict[int, dict[str, Any]]]
) -> list[dict[str, Any]]:
    """Rows of the Table 5-like view: one per video, its label, then each model version's prediction
    marked right (✓) or wrong (✗). `predictions` maps model id -> video id -> prediction."""
    table = []
    for video in videos:
        row: dict[str, Any] = {"video": video.id, "name": video.original_name, "label": video.label or "—"}
        for model in models:
            pred = predictions.get(model.id, {}).get(video.id)
            column = model.title
            if pred is None:
                row[column] = "— (no features)"
            else:
                mark = "✓" if video.label and pred["venue"] == video.label else "✗"
                row[column] = f"{mark} {pred['venue']} ({pred['confidence']:.0%})"
        table.append(row)
    return table


def explainable(models: list[ModelSummary]) -> list[ModelSummary]:
    """The versions whose mistakes can be explained: deep models (a shallow baseline has no gradients)."""
    return [m for m in models if not m.shallow]


def venue_id_of(ctx: AppContext, name: str) -> int:
    with session_scope(ctx.engine) as session:
        return repo.venue_id(session, name=name)


@dataclass(frozen=True)
class CaseStory:
    """What explains one video's prediction: each modality's summed Integrated Gradients toward the prediction
    and the label (table rows), what each modality subset alone predicts (table rows), a few plain lines, and
    whether the model is right."""

    push: list[dict[str, Any]]
    ablation: list[dict[str, Any]]
    lines: list[str]
    right: bool


def case_story(predicted: ExplanationView, for_label: ExplanationView | None, label: str | None, *,
               label_known: bool = True) -> CaseStory:
    """What explains one mistake, from two explanations of the same video and model (explain_video
    for the predicted venue and for the label): each modality's summed Integrated Gradients toward
    either venue, the modality subsets that alone would have been right, and a few plain lines."""
    inputs_p = predicted.inputs
    inputs_l = for_label.inputs if for_label else None
    keys = {"visual": "visual", "acoustic": "acoustic", "textual": "text"}
    push = []
    for modality in predicted.modalities:
        toward_pred = float(np.sum(getattr(inputs_p, keys[modality]) or [0.0]))
        toward_label = float(np.sum(getattr(inputs_l, keys[modality]) or [0.0])) if inputs_l else None
        push.append({"modality": modality, "toward prediction": toward_pred, "toward label": toward_label})
    venue = predicted.predicted.venue
    right = label is not None and venue == label
    ablation = [{"modalities": r.subset, "predicts": r.venue, "probability": r.probability,
                 "right": label is not None and r.venue == label} for r in predicted.ablation]
    lines = []
    if label is None:
        lines.append(f"Unlabelled; the model says {venue}.")
    elif right:
        lines.append(f"The model is right: {venue} ({predicted.predicted.probability:.0%}).")
    else:
        lines.append(f"Labelled {label}, predicted {venue} ({predicted.predicted.probability:.0%}).")
        strongest = max(push, key=lambda r: r["toward prediction"])
        lines.append(f"The {strongest['modality']} modality pushed hardest toward {venue} "
                     f"({strongest['toward prediction']:+.2f}).")
        if not label_known:
            lines.append(f"{label} is not one of this model's classes, so it could never predict it.")
        elif for_label is not None:
            weakest = min(push, key=lambda r: r["toward label"])
            lines.append(f"Toward {label} ({for_label.target.probability:.1%}), the {weakest['modality']} "
                         f"modality pulled it down most ({weakest['toward label']:+.2f}).")
        rescuers = [r["modalities"] for r in ablation if r["right"]]
        lines.append(f"Alone, {', '.join(rescuers)} would have predicted {label}." if rescuers
                     else "No single modality or pair would have predicted the label.")
    return CaseStory(push=push, ablation=ablation, lines=lines, right=right)
