"""Feature-extraction throughput on real mp4 files, next to a bare ffmpeg decode of the same data.

Generates M Vine-like videos (480x480, 30 fps, 6 s, H.264 + AAC stereo) with the bundled ffmpeg, runs
FeatureExtractor on each (decode with moviepy, frame encoder, librosa descriptor, caption tokens) and,
as the floor, pipes the same 12 frames (fps=2, scaled to the encoder's input) and 6 s of mono 22,050 Hz
PCM out of the same ffmpeg binary. One-off costs (model load, librosa/numba warm-up) are reported
apart from the per-video times.

    python benchmarks/extract.py [--videos 20] [--quick] [--threads N] [--encoder efficientnet_lite0]
"""
from __future__ import annotations

import argparse
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import imageio_ffmpeg
import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # run as `python benchmarks/extract.py` from anywhere; core is imported in main()

FFMPEG = imageio_ffmpeg.get_ffmpeg_exe()
CAPTIONS = ["Game night at the court #BasketballGame 🏀", "sunset walk #beach_day #nofilter",
            "best tacos in town!!! @joe", "late train again... #commute", ""]


def make_videos(folder: Path, count: int, size: int, fps: int) -> list[Path]:
    """`count` distinct 6-s mp4s: moving test patterns with a tone over noise in stereo."""
    paths = []
    for i in range(count):
        path = folder / f"clip{i:03d}.mp4"
        video = f"testsrc2=size={size}x{size}:rate={fps}:duration=6,hue=h={i * 37 % 360}"
        audio = (f"sine=frequency={220 + 55 * i}:sample_rate=44100:duration=6[a];"
                 f"anoisesrc=amplitude=0.05:seed={i}:sample_rate=44100:duration=6[n];"
                 "[a][n]amix=inputs=2,aformat=channel_layouts=stereo")
        subprocess.run([FFMPEG, "-y", "-v", "error", "-f", "lavfi", "-i", video, "-f", "lavfi", "-i", audio,
                        "-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p", "-c:a", "aac",
                        "-shortest", str(path)], check=True)
        paths.append(path)
    return paths


def bare_decode(path: Path, width: int, height: int) -> tuple[np.ndarray, np.ndarray]:
    """The floor: 12 frames at 2 fps and 6 s of mono PCM, piped raw out of ffmpeg."""
    frames = subprocess.run(
        [FFMPEG, "-v", "error", "-i", str(path), "-t", "6", "-vf", f"fps=2,scale={width}:{height}",
         "-pix_fmt", "rgb24", "-f", "rawvideo", "-"], capture_output=True, check=True).stdout
    pcm = subprocess.run(
        [FFMPEG, "-v", "error", "-i", str(path), "-t", "6", "-vn", "-ac", "1", "-ar", "22050", "-f", "s16le", "-"],
        capture_output=True, check=True).stdout
    video = np.frombuffer(frames, dtype=np.uint8).reshape(-1, height, width, 3)
    audio = np.frombuffer(pcm, dtype="<i2").astype(np.float32) / 32768.0
    return video, audio


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--videos", type=int, default=20, help="how many videos (default 20)")
    parser.add_argument("--quick", action="store_true", help="smoke run: 3 small videos")
    parser.add_argument("--threads", type=int, default=0, help="torch threads (0: torch's default)")
    parser.add_argument("--encoder", default="efficientnet_lite0", help="efficientnet_lite0 | alexnet")
    parser.add_argument("--alexnet-weights", default=None, help="state_dict file for --encoder alexnet")
    args = parser.parse_args()
    count, size, fps = (3, 160, 10) if args.quick else (args.videos, 480, 30)

    os.environ.setdefault("NUMBA_CACHE_DIR", str(Path(tempfile.gettempdir()) / "eastern-numba-cache"))
    import torch

    from core.features.extract import FeatureExtractor
    from core.features.visual import make_encoder

    if args.threads:
        torch.set_num_threads(args.threads)

    with tempfile.TemporaryDirectory(prefix="eastern-bench-") as tmp:
        t0 = time.perf_counter()
        paths = make_videos(Path(tmp), count, size, fps)
        t_make = time.perf_counter() - t0

        t0 = time.perf_counter()
        extractor = FeatureExtractor(make_encoder(args.encoder, alexnet_weights=args.alexnet_weights))
        t_load = time.perf_counter() - t0
        t0 = time.perf_counter()
        extractor.warm_up()
        t_warm = time.perf_counter() - t0

        timings: dict[str, float] = {}
        t0 = time.perf_counter()
        for i, path in enumerate(paths):
            feats = extractor.extract(path, CAPTIONS[i % len(CAPTIONS)], timings=timings)
        t_full = time.perf_counter() - t0
        assert feats.visual.shape == (12, extractor.encoder.dim) and feats.acoustic.shape == (6, 512)

        width, height = extractor.encoder.input_size
        t0 = time.perf_counter()
        for path in paths:
            frames, audio = bare_decode(path, width, height)
        t_bare = time.perf_counter() - t0
        assert frames.shape[0] >= 12 and audio.size >= 6 * 22050 - 2048

    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024

    def row(name: str, seconds: float, note: str = "") -> str:
        per = seconds / count
        rate = f"{1 / per:8.2f}" if per > 0 else "     inf"
        return f"| {name:<38} | {per:10.3f} | {rate} | {note:<30} |"

    print(f"\nfeature extraction: {count} videos, {size}x{size} @ {fps} fps, 6 s, H.264 + AAC stereo; "
          f"encoder {extractor.version}; torch threads {torch.get_num_threads()}; device {extractor.encoder.device}; "
          f"{os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f} at the end")
    print(f"| {'stage':<38} | {'s / video':>10} | {'videos/s':>8} | {'note':<30} |")
    print(f"|{'-' * 40}|{'-' * 12}|{'-' * 10}|{'-' * 32}|")
    print(row("full extraction", t_full, "decode + visual + audio + text"))
    print(row("  decode (moviepy, 12 frames + audio)", timings["decode"]))
    print(row("  visual (frame encoder, 12 frames)", timings["visual"]))
    print(row("  audio (librosa, 6 x 512)", timings["audio"]))
    print(row("  text (clean_tokens)", timings["text"]))
    print(row("bare ffmpeg decode (same data)", t_bare, "2 raw pipes, no moviepy"))
    print(f"\nratios: moviepy decode / bare decode = {timings['decode'] / t_bare:.2f}x; "
          f"full extraction / bare decode = {t_full / t_bare:.2f}x")
    print(f"one-off: generate videos {t_make:.1f} s, load encoder {t_load:.2f} s, warm-up (librosa import, "
          f"numba, first forward) {t_warm:.2f} s")
    print(f"peak memory (max RSS of this process, models included): {peak_mb:.0f} MB")


if __name__ == "__main__":
    main()
