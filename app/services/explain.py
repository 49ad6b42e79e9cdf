"""Explanations for the dashboard: why a model version picked a venue for a video, what each
modality alone would say, and what a dictionary atom stands for. `explain_video` returns a typed
ExplanationView (app.services.explain_view) whose JSON is cached on disk (ctx.settings.home / "cache" /
"explain")."""
from __future__ import annotations

import hashlib
import json
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from app.context import AppContext
from app.services import features as feature_service
from app.services import models
from app.services.explain_view import AblationRow, AblationView, AtomOverview, ExplanationView, ModelRef
from app.services.requests import TrainingError
from core.data import build_feature_set
from core.explain import (
    MODALITIES,
    Explanation,
    VideoInputs,
    atom_class_weights,
    explain,
    modality_ablation,
    video_inputs,
)
from core.features.textual import MAX_TOKENS, TextEmbedder, clean_tokens
from core.fileio import atomic_write_json
from db import repo
from db.session import session_scope

CACHE_FORMAT = 1  # bump when the cached JSON changes shape
TOP_ATOMS = 12
ABLATION_TOP = 3
_MODALITY_NAMES = {"v": "visual", "a": "acoustic", "t": "textual", **{m: m for m in MODALITIES}}


class ExplainError(TrainingError):
    """Nothing to explain (no model, no features, unknown venue, ...). A TrainingError subclass, so
    app.errors.user_message shows it as one line."""


# ---------------------------------------------------------------- loading


def _model_row(ctx: AppContext, model_id: int | None) -> repo.ModelRow:
    with session_scope(ctx.engine) as session:
        row = repo.get_model_version(session, model_id=model_id) if model_id else repo.active_model(session)
    if row is None:
        raise ExplainError(f"no model version {model_id}" if model_id else
                           "no trained model yet: run `python -m app train --activate` first")
    return row


def _video(ctx: AppContext, video_id: int) -> repo.VideoRow:
    with session_scope(ctx.engine) as session:
        return repo.get_video(session, video_id=video_id)  # UnknownVideo (a RepoError) when absent


def _inputs(ctx: AppContext, video: repo.VideoRow, meta: dict[str, Any]) -> tuple[VideoInputs, list[str]]:
    """The video's features as model inputs, text encoded with the model's own vocabulary, and the
    words the model actually read (aligned with the text steps)."""
    store = feature_service.store(ctx.settings)
    if meta["feature_version"] != store.version:
        raise ExplainError(f"the model was trained on features {meta['feature_version']}, "
                           f"the store holds {store.version}")
    if not store.has(video.sha256):
        raise ExplainError(f"video {video.id} has no features yet: run `python -m app features` first")
    feats = store.get(video.sha256)
    embedder = TextEmbedder.from_state(meta["text_embedder_state"])
    data = build_feature_set(feats.visual[None], feats.acoustic[None], [feats.tokens], embedder,
                             labels=np.array([-1]), keys=[video.sha256], class_names=list(meta["class_names"]))
    read = [t for t in feats.tokens if t in embedder][:MAX_TOKENS]  # what encode_batch keeps
    length = int(data.text_lengths[0])
    return video_inputs(data.visual[0], data.acoustic[0], data.text[0], length), read[:length]


def _venue(meta: dict[str, Any], index: int, probs: np.ndarray | None = None) -> dict[str, Any]:
    out = {"index": int(index), "venue_id": int(meta["venue_ids"][index]), "venue": meta["class_names"][index]}
    if probs is not None:
        out["probability"] = float(probs[index])
    return out


def _class_index(meta: dict[str, Any], venue_id: int) -> int:
    try:
        return list(meta["venue_ids"]).index(int(venue_id))
    except ValueError:
        raise ExplainError(f"venue {venue_id} is not one of this model's {len(meta['venue_ids'])} classes") from None


# ---------------------------------------------------------------- one video


def cache_path(ctx: AppContext, model: repo.ModelRow, video: repo.VideoRow, target_venue_id: int | None) -> Path:
    """Cache file of one explanation: model id + checkpoint, video id + content, and the target
    (so a rebuilt database that reuses ids never reads a stale file)."""
    stamp = hashlib.sha256(f"{model.checkpoint_path}|{video.sha256}".encode()).hexdigest()[:12]
    target = "pred" if target_venue_id is None else f"venue{int(target_venue_id)}"
    return ctx.settings.home / "cache" / "explain" / f"m{model.id}-v{video.id}-{target}-{stamp}.json"


# A loader returns (module, config, meta) for a model id; the dashboard passes its st.cache_resource loader, so a
# page run does not read and rebuild the checkpoint (0.3-1 s) for every explanation and ablation.
Loader = Callable[[AppContext, int], Any]
# One loaded module may serve several sessions at once: captum hooks its layers while it attributes, so the
# computations on a module take turns.
_MODEL_LOCK = threading.Lock()


def explain_video(ctx: AppContext, video_id: int, target_venue_id: int | None = None,
                  model_id: int | None = None, *, load: Loader | None = None) -> ExplanationView:
    """Why the model (active by default) scores a venue (its prediction by default, or `target_venue_id`:
    "why not Stadium?") for a video: probabilities, atom activations and contributions, per-frame /
    per-clip / per-word attributions (with the words read and the caption words shaded), modality
    ablation and timings. Cached on disk: a second call reads the file (`cached` is then True)."""
    model_row = _model_row(ctx, model_id)
    video = _video(ctx, video_id)
    path = cache_path(ctx, model_row, video, target_venue_id)
    with _PREFETCH_LOCK:
        running = _prefetching.get(path)
    if running is not None:  # a prefetch of this very explanation is under way: wait for its file
        running.wait(PREFETCH_WAIT_S)
    cached = _read_cache(path)
    if cached is not None:
        return cached
    return _compute(ctx, model_row, video, target_venue_id, path, load)


def _read_cache(path: Path) -> ExplanationView | None:
    if not path.is_file():
        return None
    try:
        cached = json.loads(path.read_text(encoding="utf-8"))
        if cached.get("format") == CACHE_FORMAT:
            return ExplanationView.from_json(cached, cached=True)
    except (OSError, ValueError, KeyError, TypeError):
        pass  # unreadable cache: recompute and overwrite it
    return None


def _compute(ctx: AppContext, model_row: repo.ModelRow, video: repo.VideoRow, target_venue_id: int | None,
             path: Path, load: Loader | None) -> ExplanationView:
    model, _cfg, meta = (load or models.load_model)(ctx, model_row.id)
    inputs, words = _inputs(ctx, video, meta)
    target = None if target_venue_id is None else _class_index(meta, target_venue_id)
    with _MODEL_LOCK:
        result = explain(model, inputs, target=target)
    out = _explanation_json(result, meta, model_row, video, words)
    atomic_write_json(path, out)  # a reader never sees half a file
    return ExplanationView.from_json(out, cached=False)


# Prefetch: Video detail asks for the explanation of the prediction as it opens, computed in one background thread of
# the dashboard process while the person watches the video, so "Why this venue?" finds it on disk. One at a time,
# newest first is not needed: a person opens one video at a time. explain_video waits for a prefetch of the same file.
PREFETCH_WAIT_S = 120.0
_PREFETCH_LOCK = threading.Lock()
_prefetching: dict[Path, threading.Event] = {}
_prefetcher: Any = None  # a concurrent.futures.ThreadPoolExecutor, made on first use


def prefetch_explanation(ctx: AppContext, video_id: int, model_id: int, *, load: Loader | None = None) -> bool:
    """Start computing the explanation of `model_id`'s prediction for `video_id` in the background unless it is on
    disk or under way; True when it was started. Errors are left for the person's own request to show."""
    global _prefetcher
    try:
        model_row = _model_row(ctx, model_id)
        video = _video(ctx, video_id)
    except Exception:  # noqa: BLE001 - nothing to prefetch; the page says why when asked
        return False
    path = cache_path(ctx, model_row, video, None)
    with _PREFETCH_LOCK:
        if path in _prefetching or path.is_file():
            return False
        done = _prefetching[path] = threading.Event()
        if _prefetcher is None:
            from concurrent.futures import ThreadPoolExecutor

            _prefetcher = ThreadPoolExecutor(max_workers=1, thread_name_prefix="explain-prefetch")

    def work() -> None:
        try:
            _compute(ctx, model_row, video, None, path, load)
        except Exception:  # noqa: BLE001, S110 - the person's own request recomputes and shows the error
            pass
        finally:
            with _PREFETCH_LOCK:
                _prefetching.pop(path, None)
            done.set()

    _prefetcher.submit(work)
    return True


def _explanation_json(result: Explanation, meta: dict[str, Any], model_row: repo.ModelRow, video: repo.VideoRow,
                      words: list[str]) -> dict[str, Any]:
    probs = result.probabilities
    mods = list(result.modalities)
    attrs = result.input_attributions
    text = attrs["text"]
    out: dict[str, Any] = {
        "format": CACHE_FORMAT,
        "model": {"id": model_row.id, "name": model_row.name, "architecture": model_row.architecture},
        "video_id": video.id,
        "predicted": _venue(meta, result.predicted, probs),
        "target": {**_venue(meta, result.target, probs), "logit": float(result.logits[result.target])},
        "probabilities": [_venue(meta, i, probs) for i in np.argsort(-probs, kind="stable")],
        "modalities": mods,
        "atoms": None,
        "inputs": {
            "visual": _list(attrs["visual"]), "acoustic": _list(attrs["acoustic"]), "text": _list(text),
            "tokens": words if text is not None else [],
            "caption_words": _caption_words(video.caption, words, text) if text is not None else None,
            "delta": attrs["delta"],
        },
        "ablation": _ablation_rows(result.ablation, meta),
        "timings": {k: round(v, 4) for k, v in result.timings.items()},
    }
    if result.atom_activations is not None:
        codes, contrib = result.atom_activations, result.atom_contributions
        ranked = np.argsort(-np.abs(contrib), axis=None, kind="stable")[:TOP_ATOMS]
        out["atoms"] = {
            "activations": codes.tolist(), "contributions": contrib.tolist(), "bias": result.bias,
            "layer_ig": result.atom_attributions.tolist(),
            "zero_fraction": {m: float((codes[i] == 0).mean()) for i, m in enumerate(mods)},
            "top": [{"modality": mods[m], "atom": int(k), "activation": float(codes[m, k]),
                     "contribution": float(contrib[m, k])}
                    for m, k in zip(*np.unravel_index(ranked, contrib.shape), strict=True) if contrib[m, k] != 0],
        }
    return out


def _caption_words(caption: str, words: list[str], scores: np.ndarray) -> list[list[Any]]:
    """The caption split on spaces, each word with the summed attribution of the tokens it gave the
    model (a hashtag may give several), or None for a word the model never read."""
    out, j = [], 0
    for word in (caption or "").split():
        weight = None
        for token in clean_tokens(word):
            if j < len(words) and words[j] == token:
                weight = (weight or 0.0) + float(scores[j])
                j += 1
        out.append([word, weight])
    return out


def _ablation_rows(ablation: dict[str, np.ndarray], meta: dict[str, Any]) -> list[dict[str, Any]]:
    rows = []
    for subset, probs in ablation.items():
        top = np.argsort(-probs, kind="stable")[:ABLATION_TOP]
        rows.append({"subset": subset, "modalities": [_MODALITY_NAMES[c.lower()] for c in subset.split("+")],
                     "venue": meta["class_names"][top[0]], "venue_id": int(meta["venue_ids"][top[0]]),
                     "probability": float(probs[top[0]]), "top": [_venue(meta, i, probs) for i in top]})
    return rows


def modality_ablation_for_video(ctx: AppContext, video_id: int, model_id: int | None = None, *,
                                load: Loader | None = None) -> AblationView:
    """What the model (active by default) predicts from each modality, each pair and all three:
    `rows` [{subset "V", "V+A", ..., venue, probability, top: top-3 venues}] and `full_prediction`.
    Absent modalities' atom codes are zeroed before the classifier (a masking ablation of this
    trained model, not a retrained one)."""
    model_row = _model_row(ctx, model_id)
    model, _cfg, meta = (load or models.load_model)(ctx, model_row.id)
    inputs, _words = _inputs(ctx, _video(ctx, video_id), meta)
    with _MODEL_LOCK:
        ablated = modality_ablation(model, inputs)
    rows = [AblationRow.from_json(r) for r in _ablation_rows(ablated, meta)]
    return AblationView(model=ModelRef(model_row.id, model_row.name), video_id=int(video_id),
                        full_prediction=rows[-1].venue, rows=rows)


# ---------------------------------------------------------------- atoms


def _modalities_of(model_row: repo.ModelRow) -> tuple[str, ...]:
    chosen = (model_row.config.get("model") or {}).get("modalities") or model_row.config.get("modalities")
    return tuple(m for m in MODALITIES if m in set(chosen or MODALITIES))


def _saved_atom_codes(ctx: AppContext, model_id: int) -> tuple[np.ndarray, np.ndarray]:
    loaded = models.load_atom_codes(ctx, model_id)
    if loaded is None:
        raise ExplainError(f"model {model_id} has no saved atom codes: activate it (or recompute its "
                           "predictions) first; models without a dictionary (lstms) have none")
    return loaded


def atom_overview(ctx: AppContext, *, model_id: int | None = None) -> AtomOverview:
    """Every atom of a model version at a glance, from the atom codes saved when it was promoted."""
    model_row = _model_row(ctx, model_id)
    video_ids, codes = _saved_atom_codes(ctx, model_row.id)  # (N,), (N, |M|, K)
    codes = codes.astype(np.float32)
    return AtomOverview(model=ModelRef(model_row.id, model_row.name), modalities=list(_modalities_of(model_row)),
                        atoms=int(codes.shape[2]), videos=int(len(video_ids)), mean=codes.mean(axis=0).tolist(),
                        active_share=(codes > 0).mean(axis=0).tolist())


def atom_top_videos(ctx: AppContext, atom: int, *, model_id: int | None = None, modality: str | None = None,
                    limit: int = 10) -> dict[str, list[dict[str, Any]]]:
    """The videos that activate `atom` most, per modality (or only `modality`: "visual" or "v"):
    {modality: [{video_id, activation}]}, strongest first, at most `limit`, active (> 0) only. Reads
    the atom codes saved when the version was promoted."""
    model_row = _model_row(ctx, model_id)
    video_ids, codes = _saved_atom_codes(ctx, model_row.id)  # (N,), (N, |M|, K)
    mods = _modalities_of(model_row)
    if codes.shape[1] != len(mods):
        raise ExplainError(f"the atom codes of model {model_row.id} have {codes.shape[1]} modality rows, "
                           f"its config names {len(mods)}")
    if not 0 <= atom < codes.shape[2]:
        raise ExplainError(f"atom {atom} out of range 0..{codes.shape[2] - 1}")
    wanted = mods if modality is None else (_MODALITY_NAMES.get(modality.lower(), modality.lower()),)
    out: dict[str, list[dict[str, Any]]] = {}
    for name in wanted:
        if name not in mods:
            raise ExplainError(f"model {model_row.id} does not read the {name} modality")
        acts = codes[:, mods.index(name), atom].astype(np.float32)
        order = np.argsort(-acts, kind="stable")[:limit]
        out[name] = [{"video_id": int(video_ids[i]), "activation": float(acts[i])} for i in order if acts[i] > 0]
    return out


def atom_venue_support(ctx: AppContext, atom: int, *,
                       model_id: int | None = None) -> dict[str, list[tuple[str, float]]]:
    """The classifier weight from `atom` to every venue, per modality, largest first:
    {modality: [(venue, weight)]}. A positive weight means the atom's activation votes for the venue."""
    model_row = _model_row(ctx, model_id)
    model, _cfg, meta = models.load_model(ctx, model_row.id)
    try:
        weights = atom_class_weights(model, atom)  # (|M|, C)
    except IndexError as exc:
        raise ExplainError(str(exc)) from None
    if weights is None:
        raise ExplainError(f"model {model_row.id} ({model_row.architecture}) has no dictionary atoms")
    names = meta["class_names"]
    return {m: [(names[c], float(weights[i, c])) for c in np.argsort(-weights[i], kind="stable")]
            for i, m in enumerate(model.cfg.modalities)}


# ---------------------------------------------------------------- helpers


def _list(values: np.ndarray | None) -> list[float] | None:
    return None if values is None else [float(v) for v in values]
