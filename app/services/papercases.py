"""The paper's failure cases, searched for: Table 5's v3 (a College Basketball Court video taken for General
Entertainment) and v4 (a Speakeasy video taken for Garden), in the active model's out-of-sample predictions
(the newest cross-validation's probs.npz), or else its predictions on its own test split. When the corpus has
no such mistake, the video of that label with the highest probability for the confused venue stands in."""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from app.context import AppContext
from db import queries, repo
from db.session import session_scope

# (case, label, what EASTERN predicted instead in the paper's Table 5)
PAPER_CASES = (
    ("v3", "College Basketball Court", "General Entertainment"),
    ("v4", "Speakeasy", "Garden"),
)


@dataclass(frozen=True)
class PaperCase:
    """One of the paper's failure cases, as found in this corpus."""

    case: str  # "v3" | "v4"
    label: str
    confused: str  # the venue the paper's EASTERN predicted instead
    source: str  # which predictions were searched, one sentence
    video_id: int | None  # the case found (a mistake), or the stand-in; None when the label has no video
    found: bool  # the searched predictions take a `label` video for `confused`
    p_confused: float | None  # that video's probability of `confused`
    predicted: str | None  # what the searched predictions say for that video
    p_predicted: float | None
    n_searched: int  # `label` videos searched
    note: str  # what was found, or why not, one line
    confused_venue_id: int | None = None


@dataclass(frozen=True)
class Probabilities:
    """Probabilities of some videos over some venues: probs[i, k] is P(venue_ids[k] | video_ids[i])."""

    video_ids: np.ndarray  # (N,) int
    venue_ids: list[int]
    probs: np.ndarray  # (N, C) float
    source: str


Hit = tuple[int, bool, float, int, float]  # video id, is a mistake, P(confused), predicted venue id, P(predicted)


def search_pair(probs: Probabilities, candidates: set[int], confused_id: int) -> Hit | None:
    """Among the candidate videos: the one most confidently predicted `confused_id` (a mistake), else the one
    with the highest probability of it. Returns (video id, is mistake, P(confused), predicted venue id,
    P(predicted)), None without candidates; a venue not among the classes has probability 0."""
    rows = np.array([i for i, v in enumerate(probs.video_ids) if int(v) in candidates], dtype=np.int64)
    if len(rows) == 0:
        return None
    p = probs.probs[rows]
    best = p.argmax(axis=1)
    col = probs.venue_ids.index(confused_id) if confused_id in probs.venue_ids else None
    p_conf = p[:, col] if col is not None else np.zeros(len(rows))
    mistakes = np.nonzero(best == col)[0] if col is not None else np.zeros(0, dtype=np.int64)
    pool = mistakes if len(mistakes) else np.arange(len(rows))
    pick = int(pool[np.argmax(p_conf[pool])])
    return (int(probs.video_ids[rows[pick]]), bool(len(mistakes)), float(p_conf[pick]),
            int(probs.venue_ids[int(best[pick])]), float(p[pick, best[pick]]))


def crossval_probabilities(ctx: AppContext, set_row: repo.PredictionSetRow) -> Probabilities:
    """A finished cross-validation's out-of-fold probabilities (its probs.npz)."""
    path = ctx.settings.inside_home(Path(set_row.artifact_dir)) / "probs.npz"
    with np.load(path) as z:
        return Probabilities(z["video_ids"].astype(np.int64), [int(v) for v in set_row.venue_ids],
                             z["probs"].astype(np.float64),
                             f"out-of-fold probabilities of {set_row.name} (set {set_row.id}): each video scored by "
                             "a fold model that never trained on it")


def split_probabilities(ctx: AppContext, model_id: int, video_ids: list[int], *,
                        load: Callable | None = None) -> Probabilities:
    """The active model's probabilities over all its classes for some of its test videos."""
    from app.services import models
    from core.train import predict_proba

    model, _cfg, meta = (load or models.load_model)(ctx, model_id)
    data, all_ids = models.features_for_model(ctx, meta)
    position = {int(v): i for i, v in enumerate(all_ids)}
    rows = np.array([position[v] for v in video_ids if v in position], dtype=np.int64)
    with session_scope(ctx.engine) as session:
        venue_ids = [repo.venue_id(session, name=n) for n in meta["class_names"]]
    probs = predict_proba(model, data, rows) if len(rows) else np.zeros((0, len(venue_ids)))
    return Probabilities(np.asarray(all_ids)[rows].astype(np.int64), venue_ids, np.asarray(probs, dtype=np.float64),
                         f"model {model_id} on its test split (videos it never trained on)")


def _labelled(session: Any, venue_id: int, *, split: str | None = None) -> set[int]:
    rows, _ = queries.browse(session, model_version_id=None, sort="id", limit=1_000_000,
                             filters=queries.VideoFilter(label_venue_ids=(venue_id,), split=split))
    return {r.id for r in rows}


def paper_cases(ctx: AppContext, *, load: Callable | None = None) -> list[PaperCase]:
    """Table 5's v3 and v4 searched in the out-of-sample predictions (or the active model's test split)."""
    from app.services.annotate import queue_source

    source = queue_source(ctx)
    out = []
    with session_scope(ctx.engine) as session:
        set_row = repo.get_prediction_set(session, set_id=source.set_id) if source.kind == "crossval" else None
        ids = {}
        for case, label, confused in PAPER_CASES:
            try:
                ids[case] = (repo.venue_id(session, name=label), repo.venue_id(session, name=confused))
            except repo.UnknownVenue:
                ids[case] = None
        split = None if set_row is not None else "test"
        labelled = {case: _labelled(session, pair[0], split=split) for case, pair in ids.items() if pair}
        names = repo.venue_names(session)
    probs = None
    if set_row is not None:
        probs = crossval_probabilities(ctx, set_row)
    elif source.kind == "test_split" and source.model_id is not None:
        wanted = sorted(set().union(*labelled.values())) if labelled else []
        probs = split_probabilities(ctx, source.model_id, wanted, load=load)
    for case, label, confused in PAPER_CASES:
        out.append(_one(case, label, confused, ids[case], labelled.get(case, set()), probs, names))
    return out


def _one(case: str, label: str, confused: str, pair: tuple[int, int] | None, candidates: set[int],
         probs: Probabilities | None, names: dict[int, str]) -> PaperCase:
    def empty(note: str, n: int = 0) -> PaperCase:
        return PaperCase(case, label, confused, probs.source if probs else "no predictions", None, False, None,
                         None, None, n, note, pair[1] if pair else None)

    if probs is None:
        return empty("No out-of-sample predictions and no active model to search.")
    if pair is None:
        return empty(f"This corpus has no venue {label!r} or {confused!r}.")
    hit = search_pair(probs, candidates, pair[1])
    scored = len(candidates & {int(v) for v in probs.video_ids})
    if hit is None:
        return empty(f"No {label} video has a prediction to search.", scored)
    video_id, found, p_conf, predicted_id, p_pred = hit
    predicted = names.get(predicted_id, f"venue {predicted_id}")
    note = (f"Found: video #{video_id}, labelled {label}, is taken for {confused} ({p_conf:.0%})." if found else
            f"None of the {scored} {label} videos is taken for {confused}. The one with the highest probability "
            f"of {confused} is #{video_id} ({p_conf:.1%}; predicted {predicted}, {p_pred:.0%}).")
    return PaperCase(case, label, confused, probs.source, video_id, found, p_conf, predicted, p_pred, scored, note,
                     pair[1])


def paper_table(case: str) -> list[dict[str, str]]:
    """The paper's Table 5 row of one case: what each method predicted, and the ground truth."""
    from core.report import PAPER

    table = PAPER["table5"]
    k = table["videos"].index(case)
    return [{"method": m, "prediction (paper)": preds[k]} for m, preds in table.items() if m != "videos"]
