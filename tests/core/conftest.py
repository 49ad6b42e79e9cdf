"""Small real mp4 files written with moviepy, shared by the media and feature tests."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

FPS = 10
SIZE = (160, 120)  # width, height
SR = 22050
TONE_PEAK = 0.3


def red_level(frame_number: int) -> int:
    """The red value drawn into frame `frame_number`, so a decoded frame tells its own time."""
    return (4 * frame_number) % 256


def make_video(path: Path, *, seconds: float, audio: str = "tone", fps: int = FPS) -> Path:
    """An H.264/AAC mp4 whose frame n has red level red_level(n); audio is 'tone' (a 440 Hz sine of
    peak TONE_PEAK in both stereo channels), 'zeros' (a silent track) or 'none' (no track).
    (moviepy 2.2 writes a mono AudioArrayClip at twice its length, hence stereo.)"""
    from moviepy import VideoClip
    from moviepy.audio.AudioClip import AudioArrayClip

    width, height = SIZE

    def frame(t: float) -> np.ndarray:
        n = int(round(t * fps))
        img = np.zeros((height, width, 3), dtype=np.uint8)
        img[..., 0] = red_level(n)
        img[..., 1] = 90
        x = (n * 3) % (width - 20)
        img[40:60, x:x + 20, 2] = 255
        return img

    clip = VideoClip(frame_function=frame, duration=seconds).with_fps(fps)
    if audio != "none":
        t = np.arange(int(seconds * SR)) / SR
        tone = np.zeros_like(t) if audio == "zeros" else TONE_PEAK * np.sin(2 * np.pi * 440 * t)
        clip = clip.with_audio(AudioArrayClip(np.stack([tone, tone], axis=1), fps=SR))
    clip.write_videofile(str(path), fps=fps, codec="libx264", preset="ultrafast", audio=audio != "none",
                         audio_codec="aac", audio_fps=SR, logger=None, temp_audiofile_path=str(path.parent))
    clip.close()
    return path


@pytest.fixture(scope="session")
def videos(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """name -> mp4: ok (6 s, stereo tone), short (3 s), long (8 s), silent (no audio track), zeros (a
    silent track), and mono (6 s, a mono AAC track, written by tests.media with ffmpeg)."""
    from tests.media import write_video

    folder = tmp_path_factory.mktemp("videos")
    specs = {"ok": (6.0, "tone"), "short": (3.0, "tone"), "long": (8.0, "tone"), "silent": (6.0, "none"),
             "zeros": (6.0, "zeros")}
    out = {name: make_video(folder / f"{name}.mp4", seconds=s, audio=a) for name, (s, a) in specs.items()}
    out["mono"] = write_video(folder / "mono.mp4", seconds=6.0, fps=FPS, size=SIZE, audio=True)
    return out
