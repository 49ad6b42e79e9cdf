"""Triage flags on real files: a silent track, no track, black frames, a frozen picture, an empty caption and one
with no word the model reads are flagged; a normal clip is not. Extraction stores them (the workspace), and Browse
filters on them in SQL."""
from __future__ import annotations

import subprocess
from pathlib import Path

import imageio_ffmpeg
import numpy as np
import pytest

from core.features import triage as rules
from core.features.textual import clean_tokens
from core.media import decode_fast
from tests.fixtures import Workspace
from tests.media import write_video


def write_frames(path: Path, frames: np.ndarray, fps: int = 10) -> Path:
    """An H.264 mp4 (no audio) of exactly these frames (N, H, W, 3) uint8."""
    n, h, w, _ = frames.shape
    cmd = [imageio_ffmpeg.get_ffmpeg_exe(), "-y", "-loglevel", "error", "-f", "rawvideo", "-pix_fmt", "rgb24",
           "-s", f"{w}x{h}", "-r", str(fps), "-i", "-", "-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt",
           "yuv420p", str(path)]
    subprocess.run(cmd, input=frames.tobytes(), check=True)
    return path


def flags(path: Path, caption: str = "courtside at the big game") -> tuple[str, ...]:
    video = decode_fast(path, size=(128, 72))
    return rules.triage(video.frames, video.audio, video.has_audio, clean_tokens(caption), caption).flags


@pytest.fixture(scope="module")
def clips(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("triage")
    rng = np.random.default_rng(0)
    still = np.repeat(rng.integers(0, 255, size=(1, 64, 96, 3), dtype=np.uint8), 60, axis=0)
    return {
        "normal": write_video(root / "normal.mp4", seed=1),
        "silent": write_video(root / "silent.mp4", silent_audio=True, seed=2),
        "no_track": write_video(root / "no_track.mp4", audio=False, seed=3),
        "black": write_frames(root / "black.mp4", np.zeros((60, 64, 96, 3), dtype=np.uint8)),
        "frozen": write_frames(root / "frozen.mp4", still),
    }


def test_a_normal_clip_has_no_flag(clips: dict[str, Path]) -> None:
    assert flags(clips["normal"]) == ()


def test_each_dead_modality_is_flagged(clips: dict[str, Path]) -> None:
    assert flags(clips["silent"]) == ("silent_audio",)
    assert flags(clips["no_track"]) == ("no_audio",)
    assert set(flags(clips["black"])) == {"no_audio", "blank_frames"}  # black is blank, not "frozen"
    assert set(flags(clips["frozen"])) == {"no_audio", "frozen"}
    assert flags(clips["normal"], caption="") == ("no_caption",)
    assert flags(clips["normal"], caption="🎉🎉 !!! the") == ("no_readable_words",)  # emoji and a stop word


def test_thresholds_live_in_one_place() -> None:
    th = rules.thresholds_dict()
    assert set(th) == {"silent_rms", "dark_mean", "flat_std", "blank_share", "frozen_diff"}
    loud = rules.triage(np.full((12, 8, 8, 3), 128, np.uint8), np.full(100, 0.002, np.float32), True, ["x"], "x",
                        rules.Thresholds(silent_rms=0.001, flat_std=0.0, frozen_diff=0.0))
    assert loud.flags == ()  # with looser thresholds the same arrays pass
    assert loud.measures["audio_rms"] == pytest.approx(0.002)


def test_extraction_stores_flags_and_browse_filters_on_them(private_ws: Workspace, clips: dict[str, Path]) -> None:
    from app.context import get_context
    from app.services import browse, features, ingest, triage
    from db import queries

    ctx = get_context()
    report = ingest.IngestReport()
    ids = {}
    for name in ("silent", "frozen"):
        ids[name] = ingest.ingest_item(ctx, ingest.IngestItem(clips[name], f"{name}.mp4", caption="a day out"),
                                       who="test", source="test", report=report)
    assert None not in ids.values(), report
    features.extract_pending(ctx)  # stores the new videos' flags (and any older video's without them)
    stored = triage.flags_of(ctx, list(ids.values()))
    assert stored[ids["silent"]] == ("silent_audio",) and set(stored[ids["frozen"]]) == {"no_audio", "frozen"}
    everyone = browse.browse_page(ctx, filters=queries.VideoFilter(), page_size=500)
    assert set(triage.flags_of(ctx, [r.id for r in everyone.rows])) == {r.id for r in everyone.rows}  # backfilled
    frozen = browse.browse_page(ctx, filters=queries.VideoFilter(triage_flags=("frozen",)), page_size=500)
    assert ids["frozen"] in {r.id for r in frozen.rows} and ids["silent"] not in {r.id for r in frozen.rows}
    either = browse.browse_page(ctx, filters=queries.VideoFilter(triage_flags=("frozen", "silent_audio")),
                                page_size=500)
    assert set(ids.values()) <= {r.id for r in either.rows}
    assert triage.describe(("frozen",)) == ["frozen picture (no motion)"]
    assert triage.compute_missing(ctx) == 0  # nothing left to compute
