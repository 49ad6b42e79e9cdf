"""What in a video fires a dictionary atom: the 1-second audio clip, or the caption words, whose removal lowers the
atom's code most (occlusion: the clip's features or the word's vector set to zero, the atom code recomputed). One
batched forward pass per modality, for the atom explorer's top videos."""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace

import numpy as np

from app.context import AppContext

CLIP_SECONDS = 1.0


@dataclass(frozen=True)
class ClipEvidence:
    video_id: int
    activation: float  # the atom's code for the whole video
    clip: int  # 0..5: the second [clip, clip + 1) s
    drop: float  # how much the code falls without that clip


@dataclass(frozen=True)
class WordEvidence:
    video_id: int
    activation: float
    words: list[tuple[str, float]]  # the words the model read, with how much the code falls without each


def _setup(ctx: AppContext, model_id: int, video_ids: list[int], load: Callable | None):  # noqa: ANN202
    from app.services import models

    model, cfg, meta = (load or models.load_model)(ctx, model_id)
    data, all_ids = models.features_for_model(ctx, meta)
    position = {int(v): i for i, v in enumerate(all_ids)}
    rows = [position[v] for v in video_ids if v in position]
    return model, cfg, meta, data, rows, [int(all_ids[r]) for r in rows]


def _codes(model, data, modality_index: int, atom: int) -> np.ndarray:  # noqa: ANN001
    from core.train import predict_intermediates

    return predict_intermediates(model, data)["atom_codes"][:, modality_index, atom]


def _variants(data, rows: list[int], edits: list[tuple[int, Callable[[dict], None]]]):  # noqa: ANN001, ANN202
    """A FeatureSet of copies of `rows`, each copy changed by its edit (None: unchanged)."""
    arrays = {k: [] for k in ("visual", "acoustic", "text", "text_lengths")}
    for row, edit in edits:
        copy = {k: np.array(getattr(data, k)[row]) for k in arrays}
        if edit is not None:
            edit(copy)
        for k in arrays:
            arrays[k].append(copy[k])
    n = len(edits)
    return replace(data, **{k: np.stack(v) for k, v in arrays.items()}, labels=np.full(n, -1, dtype=np.int64),
                   keys=[data.keys[r] for r, _ in edits])


def acoustic_evidence(ctx: AppContext, atom: int, *, model_id: int, video_ids: list[int],
                      load: Callable | None = None) -> list[ClipEvidence]:
    """For each video, the 1-second clip without which the atom's acoustic code falls most."""
    model, cfg, _meta, data, rows, ids = _setup(ctx, model_id, video_ids, load)
    if "acoustic" not in cfg.modalities or not rows:
        return []
    n_clips = data.acoustic.shape[1]

    def mute(j: int) -> Callable[[dict], None]:
        def edit(copy: dict) -> None:
            copy["acoustic"][j] = 0
        return edit

    edits = [(r, e) for r in rows for e in [None, *[mute(j) for j in range(n_clips)]]]
    codes = _codes(model, _variants(data, rows, edits), cfg.modalities.index("acoustic"), atom)
    out = []
    for k, vid in enumerate(ids):
        block = codes[k * (n_clips + 1):(k + 1) * (n_clips + 1)]
        drops = block[0] - block[1:]
        out.append(ClipEvidence(vid, float(block[0]), int(np.argmax(drops)), float(drops.max())))
    return out


def textual_evidence(ctx: AppContext, atom: int, *, model_id: int, video_ids: list[int],
                     load: Callable | None = None, top: int = 3) -> list[WordEvidence]:
    """For each video, the caption words (as the model read them) without which the textual code falls most."""
    from app.services import features as feature_service
    from core.features.textual import MAX_TOKENS, TextEmbedder

    model, cfg, meta, data, rows, ids = _setup(ctx, model_id, video_ids, load)
    if "textual" not in cfg.modalities or not rows:
        return []
    embedder = TextEmbedder.from_state(meta["text_embedder_state"])
    store = feature_service.store(ctx.settings)

    def blank(t: int) -> Callable[[dict], None]:
        def edit(copy: dict) -> None:
            copy["text"][t] = 0
        return edit

    read, edits = {}, []
    for r in rows:
        length = int(data.text_lengths[r])
        read[r] = [t for t in store.get(data.keys[r]).tokens if t in embedder][:MAX_TOKENS][:length]
        edits += [(r, None)] + [(r, blank(t)) for t in range(len(read[r]))]
    codes = _codes(model, _variants(data, rows, edits), cfg.modalities.index("textual"), atom)
    out, at = [], 0
    for r, vid in zip(rows, ids, strict=True):
        base, drops = codes[at], codes[at + 1:at + 1 + len(read[r])]
        at += 1 + len(read[r])
        ranked = sorted(zip(read[r], (base - drops).tolist(), strict=True), key=lambda w: -w[1])[:top]
        out.append(WordEvidence(vid, float(base), [(w, float(d)) for w, d in ranked]))
    return out
