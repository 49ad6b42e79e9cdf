"""Small real media files for tests, encoded by imageio-ffmpeg's bundled ffmpeg."""
from __future__ import annotations

import subprocess
import wave
from pathlib import Path

import imageio_ffmpeg
import numpy as np


def write_video(path: Path, *, seconds: float = 6.0, fps: int = 10, size: tuple[int, int] = (96, 64),
                audio: bool = True, silent_audio: bool = False, seed: int = 0) -> Path:
    """An H.264 mp4 of moving colour blocks, with a sine+noise AAC track unless audio=False."""
    rng = np.random.default_rng(seed)
    w, h = size
    n = int(round(seconds * fps))
    base = rng.integers(0, 255, size=3)
    frames = np.zeros((n, h, w, 3), dtype=np.uint8)
    for i in range(n):
        frames[i] = (base + i * 7) % 255
        x = (i * 5) % max(w - 16, 1)
        frames[i, 10:26, x:x + 16] = 255 - frames[i, 0, 0]
    cmd = [imageio_ffmpeg.get_ffmpeg_exe(), "-y", "-loglevel", "error", "-f", "rawvideo", "-pix_fmt", "rgb24",
           "-s", f"{w}x{h}", "-r", str(fps), "-i", "-"]
    wav = path.with_suffix(".wav")
    if audio:
        sr = 22050
        t = np.arange(int(seconds * sr)) / sr
        signal = np.zeros_like(t) if silent_audio else 0.3 * np.sin(2 * np.pi * (220 + 110 * seed) * t)
        signal = signal + (0 if silent_audio else 0.02 * rng.standard_normal(t.size))
        with wave.open(str(wav), "wb") as fh:
            fh.setnchannels(1)
            fh.setsampwidth(2)
            fh.setframerate(sr)
            fh.writeframes((np.clip(signal, -1, 1) * 32767).astype("<i2").tobytes())
        cmd += ["-i", str(wav), "-c:a", "aac", "-shortest"]
    cmd += ["-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p", str(path)]
    subprocess.run(cmd, input=frames.tobytes(), check=True)
    wav.unlink(missing_ok=True)
    return path
