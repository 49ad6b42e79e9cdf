"""`features --ray local` and `--rebuild`: the Ray pipeline stores the local path's features (within
float16 rounding), records them and their failures in the database, and a rebuild replaces the packed
copies."""
from __future__ import annotations

import numpy as np

from tests.media import write_video

F16 = {"rtol": 2e-3, "atol": 2e-3}


def test_ray_local_rebuild_equals_the_local_path(ctx, tmp_path):
    from app.services import features
    from app.services.ingest import ingest_path
    from db import repo
    from db.session import session_scope

    folder = tmp_path / "clips"
    folder.mkdir()
    for i in range(3):  # a short one with audio, full-length ones without
        write_video(folder / f"clip{i}.mp4", seconds=3.0 if i == 0 else 6.0, fps=10, size=(96, 64), audio=i == 0,
                    seed=i)
    assert ingest_path(ctx, folder).ok
    with session_scope(ctx.engine) as session:
        videos = repo.all_videos(session)
    broken = next(v for v in videos if v.original_name == "clip2.mp4")
    stored = ctx.settings.home / broken.path  # the stored copy is damaged after ingest
    stored.write_bytes(stored.read_bytes()[: stored.stat().st_size // 2])

    local = features.extract_pending(ctx, workers=2)
    assert local.extracted == 2 and len(local.failed) == 1 and "truncated" in local.failed[0]
    store = features.store(ctx.settings)
    keys = store.keys()
    before = store.load(keys)
    assert len(keys) == 2 and store.packed_keys() == set(keys)
    for key in keys:  # poison the stored copies: the rebuild must recompute and repack every one
        feats = store.get(key)
        feats.visual[:] = 0
        store.put(key, feats)
    store.pack(repack=True)
    assert not store.load(keys)[0].any()

    rebuilt = features.extract_pending(ctx, ray_address="local", workers=2, rebuild=True)
    assert rebuilt.extracted == 2 and len(rebuilt.failed) == 1 and "clip2.mp4" in rebuilt.failed[0]
    after = features.store(ctx.settings).load(keys)
    np.testing.assert_allclose(after[0].astype(np.float32), before[0].astype(np.float32), **F16)
    np.testing.assert_array_equal(after[1], before[1])
    assert after[2] == before[2]
    with session_scope(ctx.engine) as session:
        assert len(repo.videos_with_features(session, features_version=store.version)) == 2
        missing = repo.videos_missing_features(session, version=store.version)
    assert [v.original_name for v in missing] == ["clip2.mp4"]


def test_cli_features_rebuild_recomputes_videos_that_have_features(ctx, tmp_path):
    """`python -m app features --rebuild` (local path) lists every video through repo.all_videos and
    recomputes features that exist and are recorded as current; plain `features` then has nothing to do."""
    import contextlib
    import io

    from app.cli import main
    from app.services import features
    from app.services.ingest import ingest_path
    from db import repo
    from db.session import session_scope

    folder = tmp_path / "clips"
    folder.mkdir()
    for i in range(2):
        write_video(folder / f"clip{i}.mp4", seconds=2.0, fps=10, size=(96, 64), audio=i == 0, seed=10 + i)
    assert ingest_path(ctx, folder).ok

    def cli(*argv: str) -> tuple[int, str]:
        out = io.StringIO()
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(io.StringIO()):
            code = main(["features", "--workers", "0", *argv])
        return code, out.getvalue()

    code, out = cli()
    assert code == 0 and "features: 2 extracted, 0 failed" in out, out
    store = features.store(ctx.settings)
    keys = store.keys()
    before = store.load(keys)
    with session_scope(ctx.engine) as session:
        current = repo.videos_with_features(session, features_version=store.version)
        assert [(v.id, v.sha256) for v in repo.all_videos(session)] == current and len(current) == 2
        assert not repo.videos_missing_features(session, version=store.version)
    for key in keys:  # stale values behind an up-to-date version: only a rebuild notices
        feats = store.get(key)
        feats.visual[:] = 0
        store.put(key, feats)
    store.pack(repack=True)
    code, out = cli()
    assert code == 0 and "features: 0 extracted" in out and not store.load(keys)[0].any()

    code, out = cli("--rebuild")
    assert code == 0 and "features: 2 extracted, 0 failed" in out, out
    after = features.store(ctx.settings).load(keys)
    np.testing.assert_allclose(after[0].astype(np.float32), before[0].astype(np.float32), **F16)
    assert after[0].any() and after[2] == before[2]
