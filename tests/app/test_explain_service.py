"""The explanation service: one video under a registered tiny EASTERN, venue names, disk cache, atoms."""
from __future__ import annotations

import dataclasses
import json

import numpy as np
import pytest
import torch

from app.services import explain as service
from app.services import features as feature_service
from app.services import models
from app.services.explain_view import ExplanationView
from core.features.store import VideoFeatures
from core.features.textual import TextEmbedder, clean_tokens
from core.models import ModelConfig, build_model
from core.train import save_checkpoint
from db import repo
from db.session import session_scope

CAPTION = "Great #DunkGame at the court \U0001f3c0"
SHA = "ab" * 32
K = 4


@pytest.fixture()
def world(ctx):
    """A video with stored features and an active tiny EASTERN (3 venues) with saved atom codes."""
    rng = np.random.default_rng(0)
    store = feature_service.store(ctx.settings)
    embedder = TextEmbedder(["court", "dunk", "game", "ball"], rng.normal(size=(4, 5)))
    with session_scope(ctx.engine) as s:
        venues = repo.list_venues(s)[:3]
        video_id = repo.add_video(s, sha256=SHA, path="media/ab/x.mp4", original_name="x.mp4", duration=6.0,
                                  fps=10.0, width=160, height=120, size_bytes=1, has_audio=True, caption=CAPTION,
                                  source="test")
        other_id = repo.add_video(s, sha256="cd" * 32, path="media/cd/y.mp4", original_name="y.mp4", duration=6.0,
                                  fps=10.0, width=160, height=120, size_bytes=1, has_audio=True, caption="",
                                  source="test")
        repo.set_features(s, video_id=video_id, version=store.version)
    store.put(SHA, VideoFeatures(rng.normal(size=(12, 8)), rng.normal(size=(6, 512)), clean_tokens(CAPTION)))
    torch.manual_seed(0)
    cfg = ModelConfig(visual_dim=8, text_dim=5, visual_hidden=6, acoustic_hidden=5, text_hidden=4, common_dim=6,
                      atoms=K, num_classes=3)
    model = build_model(cfg)
    meta = {"class_names": [v.name for v in venues], "venue_ids": [v.id for v in venues],
            "feature_version": store.version, "text_embedder_state": embedder.to_state()}
    (ctx.settings.models_dir / "tiny").mkdir(parents=True)
    save_checkpoint(ctx.settings.models_dir / "tiny" / "model.pt", model, cfg, meta)
    with session_scope(ctx.engine) as s:
        model_id = repo.create_model_version(s, name="tiny", architecture="eastern", config={"model": cfg.to_dict()},
                                             checkpoint_path="models/tiny/model.pt", metrics={})
        repo.activate_model(s, model_id=model_id)
    codes = np.zeros((3, 3, K), dtype=np.float32)
    codes[0, 0, 1], codes[2, 0, 1], codes[1, 2, 1] = 0.5, 2.0, 1.0  # atom 1: videos 3 > 1 (visual), 2 (textual)
    models.save_atom_codes(ctx, model_id, np.array([video_id, other_id, 99]), codes)
    return {"video_id": video_id, "other_id": other_id, "model_id": model_id, "model": model, "meta": meta}


def test_explain_video_structure_and_cache(ctx, world, monkeypatch: pytest.MonkeyPatch) -> None:
    meta = world["meta"]
    out = service.explain_video(ctx, world["video_id"])
    as_json = out.to_json()
    assert json.loads(json.dumps(as_json)) == as_json  # plain data only
    assert ExplanationView.from_json(as_json, cached=out.cached) == out  # the cache file's layout reads back
    assert out.cached is False and out.model.id == world["model_id"]
    assert out.predicted.venue in meta["class_names"] and out.target.venue == out.predicted.venue
    assert sum(p.probability for p in out.probabilities) == pytest.approx(1.0, abs=1e-5)
    atoms = out.atoms
    contributions = np.array(atoms.contributions)
    assert np.array(atoms.activations).shape == contributions.shape == (3, K)
    assert contributions.sum() + atoms.bias == pytest.approx(out.target.logit, abs=1e-4)
    inputs = out.inputs
    assert len(inputs.visual) == 12 and len(inputs.acoustic) == 6
    assert inputs.tokens == ["dunk", "game", "court"] and len(inputs.text) == 3  # "great" is not in the vocab
    words = dict(inputs.caption_words)
    assert words["Great"] is None and words["the"] is None and words["\U0001f3c0"] is None
    assert words["#DunkGame"] == pytest.approx(inputs.text[0] + inputs.text[1])
    assert words["court"] == pytest.approx(inputs.text[2])
    assert [r.subset for r in out.ablation] == ["V", "A", "T", "V+A", "V+T", "A+T", "V+A+T"]

    def refuse(*_args, **_kwargs):
        raise AssertionError("a cached explanation must not load the model")

    monkeypatch.setattr(models, "load_model", refuse)
    again = service.explain_video(ctx, world["video_id"])
    assert again.cached is True and dataclasses.replace(again, cached=False) == out
    assert len(list((ctx.settings.home / "cache" / "explain").glob("*.json"))) == 1


def test_why_not_another_venue(ctx, world) -> None:
    meta = world["meta"]
    first = service.explain_video(ctx, world["video_id"])
    other = next(i for i in range(3) if i != first.predicted.index)
    why_not = service.explain_video(ctx, world["video_id"], target_venue_id=meta["venue_ids"][other])
    assert why_not.target.venue == meta["class_names"][other] and not why_not.explains_prediction
    assert why_not.predicted == first.predicted and why_not.inputs.visual != first.inputs.visual
    with pytest.raises(service.ExplainError, match="not one of this model"):
        service.explain_video(ctx, world["video_id"], target_venue_id=max(meta["venue_ids"]) + 1)
    with pytest.raises(service.ExplainError, match="no features"):
        service.explain_video(ctx, world["other_id"])


def test_ablation_and_atoms(ctx, world) -> None:
    ablation = service.modality_ablation_for_video(ctx, world["video_id"])
    assert [r.subset for r in ablation.rows][-1] == "V+A+T" and len(ablation.rows) == 7
    assert all(len(r.top) == 3 and r.venue == r.top[0].venue for r in ablation.rows)
    assert ablation.full_prediction == service.explain_video(ctx, world["video_id"]).predicted.venue

    top = service.atom_top_videos(ctx, 1, limit=5)
    assert [v["video_id"] for v in top["visual"]] == [99, world["video_id"]] and top["acoustic"] == []
    assert service.atom_top_videos(ctx, 1, modality="t")["textual"][0]["video_id"] == world["other_id"]

    support = service.atom_venue_support(ctx, 2)
    assert set(support) == {"visual", "acoustic", "textual"}
    weights = world["model"].classifier.weight.detach().numpy()  # (C, 3*K)
    visual = dict(support["visual"])
    assert visual[world["meta"]["class_names"][0]] == pytest.approx(float(weights[0, 2]))
    assert [w for _, w in support["textual"]] == sorted((w for _, w in support["textual"]), reverse=True)
    with pytest.raises(service.ExplainError, match="out of range"):
        service.atom_venue_support(ctx, K)


def test_a_prefetched_explanation_is_read_not_recomputed(ctx, world, monkeypatch: pytest.MonkeyPatch) -> None:
    """Video detail prefetches the prediction's explanation in a background thread; "Why this venue?" asked while it
    runs waits for it and reads its file, asked after reads the file: IG runs once. A second prefetch of the same
    file, or of one already on disk, starts nothing."""
    import threading

    from core import explain as core_explain

    calls, release = [], threading.Event()
    real = core_explain.explain

    def slow_explain(*args, **kwargs):  # noqa: ANN002, ANN003, ANN202
        calls.append(threading.current_thread().name)
        release.wait(30)
        return real(*args, **kwargs)

    monkeypatch.setattr(service, "explain", slow_explain)
    vid, mid = world["video_id"], world["model_id"]
    assert service.prefetch_explanation(ctx, vid, mid)
    assert not service.prefetch_explanation(ctx, vid, mid), "the same explanation was prefetched twice"
    answer: list[ExplanationView] = []
    asker = threading.Thread(target=lambda: answer.append(service.explain_video(ctx, vid, model_id=mid)))
    asker.start()
    asker.join(0.5)
    assert asker.is_alive(), "the person's request did not wait for the prefetch under way"
    release.set()
    asker.join(30)
    assert answer and answer[0].cached, "the request recomputed instead of reading the prefetched file"
    assert len(calls) == 1 and calls[0].startswith("explain-prefetch")
    assert not service.prefetch_explanation(ctx, vid, mid), "an explanation on disk was prefetched again"
    assert service.explain_video(ctx, vid, model_id=mid).cached and len(calls) == 1
