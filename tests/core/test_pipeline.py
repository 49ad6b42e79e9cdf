"""core.features.pipeline: the parallel, cross-video batched path gives FeatureExtractor.extract's features."""
from __future__ import annotations

import sys
import types

import numpy as np
import pytest

from core.features.extract import FeatureExtractor
from core.features.pipeline import Job, run_local
from core.features.store import FeatureStore

F16 = {"rtol": 2e-3, "atol": 2e-3}  # float16 rounding of the stored values (eps 1e-3), both sides


@pytest.fixture(scope="module")
def extractor():
    from core.features.visual import make_encoder

    return FeatureExtractor(make_encoder("efficientnet_lite0", device="cpu"))


def test_pipeline_matches_the_one_video_extractor(extractor, videos, tmp_path, monkeypatch):
    # under Streamlit __main__ is a page script, which spawn would run again in every worker
    page = tmp_path / "page.py"
    page.write_text("raise RuntimeError('a dashboard page ran in a worker')\n")
    script = types.ModuleType("__main__")
    script.__file__ = str(page)
    monkeypatch.setitem(sys.modules, "__main__", script)
    names = ["ok", "short", "silent"]
    (tmp_path / "broken.mp4").write_bytes(videos["ok"].read_bytes()[:4000])
    jobs = [Job(f"key{i:02d}", videos[n], f"#{n} clip", ref=i) for i, n in enumerate(names)]
    jobs.append(Job("key99", tmp_path / "broken.mp4", "", ref=99))
    store = FeatureStore(tmp_path / "features", extractor.version)
    outcomes = list(run_local(jobs, extractor.encoder, store, workers=2, batch_frames=24))
    assert sys.modules["__main__"] is script
    assert sorted(o.job.ref for o in outcomes) == [0, 1, 2, 99]
    errors = {o.job.ref: o.error for o in outcomes}
    assert "truncated" in errors.pop(99) and set(errors.values()) == {None}
    assert not store.has("key99")
    for job, name in zip(jobs, names, strict=False):
        got, want = store.get(job.key), extractor.extract(videos[name], job.caption)
        np.testing.assert_allclose(got.visual.astype(np.float32), want.visual.astype(np.float32), **F16)
        np.testing.assert_array_equal(got.acoustic, want.acoustic)
        assert got.tokens == want.tokens
    assert not store.get("key02").acoustic.any()  # no audio track: exact zeros
