"""EASTERN training and inference speed at Table 4 sizes on synthetic features; prints a markdown table.

    python benchmarks/train.py                 # 1024 videos, CUDA when available
    python benchmarks/train.py --quick         # 256 videos: a smoke run
    python benchmarks/train.py --visual-dim 4096 --samples 4096 --threads 2
    python benchmarks/train.py --device cuda --samples 18000 --json out.json   # the paper's size (gpu.sh)

"ours" goes through core.train.train / predict_proba (FeatureSet in float16, loader, per-batch float32
conversion, validation each epoch excluded from the timing, progress callbacks); "bare" is a plain
PyTorch loop over the same layers on tensors already in float32 on the device: the floor of our own
overhead. Training speed is the best epoch after the first (which warms up); inference alternates
ours and bare call by call, so a busy machine slows both alike. The load average is printed with the
table: on a shared machine the absolute numbers move, the ratios much less.
"""
from __future__ import annotations

import argparse
import os
import resource
import statistics
import sys
import time
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from core.data import FeatureSet  # noqa: E402
from core.device import pick_device  # noqa: E402
from core.models import ModelConfig, build_model, count_parameters  # noqa: E402
from core.train import TrainConfig, predict_proba, train  # noqa: E402

BATCH = 64
TEXT_LEN = 30
PAPER_TRAIN_VIDEOS = 18_000  # about 90 % of the paper's 20,093 videos train


def synthetic(n: int, visual_dim: int, classes: int = 22, seed: int = 0) -> FeatureSet:
    rng = np.random.default_rng(seed)
    lengths = rng.integers(0, TEXT_LEN + 1, n)
    text = rng.normal(size=(n, TEXT_LEN, 100)).astype(np.float16)
    text[np.arange(TEXT_LEN)[None, :] >= lengths[:, None]] = 0
    return FeatureSet(rng.normal(size=(n, 12, visual_dim)).astype(np.float16),
                      rng.normal(size=(n, 6, 512)).astype(np.float16), text, lengths,
                      rng.integers(0, classes, n), [str(i) for i in range(n)], [f"c{c}" for c in range(classes)])


def sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def bare_train_epoch_seconds(cfg: ModelConfig, tensors: tuple, device: torch.device, amp: bool,
                             epochs: int) -> float:
    """Seconds of the fastest epoch after the first of a plain Adam loop (same clipping and AMP as train())."""
    torch.manual_seed(0)
    model = build_model(cfg).to(device).train()
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
    scaler = torch.amp.GradScaler("cuda", enabled=amp)
    visual, acoustic, text, lengths, labels = tensors
    n = len(labels)
    seconds = []
    for _epoch in range(epochs):
        sync(device)
        start = time.perf_counter()
        order = torch.randperm(n, device=device)
        for i in range(0, n, BATCH):
            rows = order[i:i + BATCH]
            with torch.autocast(device.type, dtype=torch.float16, enabled=amp):
                logits = model(visual[rows], acoustic[rows], text[rows], lengths[rows.cpu()])
            loss = F.cross_entropy(logits.float(), labels[rows])
            optimizer.zero_grad(set_to_none=True)
            scaler.scale(loss).backward()
            scaler.unscale_(optimizer)
            torch.nn.utils.clip_grad_norm_(model.parameters(), 5.0)
            scaler.step(optimizer)
            scaler.update()
        sync(device)
        seconds.append(time.perf_counter() - start)
    return min(seconds[1:])


@torch.no_grad()
def bare_predict(model, tensors: tuple, rows: np.ndarray, batch: int, device: torch.device) -> None:
    visual, acoustic, text, lengths, _ = tensors
    for i in range(0, len(rows), batch):
        r = torch.as_tensor(rows[i:i + batch], device=device)
        torch.softmax(model(visual[r], acoustic[r], text[r], lengths[r.cpu()]), dim=1).cpu()
    sync(device)


def timed(fn, repeats: int = 1) -> list[float]:
    out = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        out.append(time.perf_counter() - start)
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--samples", type=int, default=1024, help="synthetic training videos")
    parser.add_argument("--visual-dim", type=int, default=1280)
    parser.add_argument("--quick", action="store_true", help="256 videos, fewer timing repeats")
    parser.add_argument("--threads", type=int, default=None, help="torch CPU threads")
    parser.add_argument("--device", default=None, help="cpu or cuda (default: cuda when available)")
    parser.add_argument("--json", type=Path, default=None, help="write the figures to this JSON file")
    args = parser.parse_args(argv)
    n = 256 if args.quick else args.samples
    if args.threads:
        torch.set_num_threads(args.threads)
    device = pick_device(args.device)
    amp = device.type == "cuda"
    cfg = ModelConfig(visual_dim=args.visual_dim)
    data = synthetic(n + 64, args.visual_dim)
    train_idx, val_idx = np.arange(n), np.arange(n, n + 64)

    epochs = 2 if args.quick else 3
    load_before = os.getloadavg()[0]
    # ours: train(), the fastest epoch after the first (training steps only, validation excluded)
    result = train(cfg, TrainConfig(epochs=epochs, batch_size=BATCH, patience=None, device=str(device),
                                    num_threads=args.threads), data, train_idx, val_idx,
                   progress=lambda event: None)
    ours_train = n / min(entry["train_seconds"] for entry in result.history[1:])

    tensors = (torch.from_numpy(data.visual.astype(np.float32)).to(device),
               torch.from_numpy(data.acoustic.astype(np.float32)).to(device),
               torch.from_numpy(data.text.astype(np.float32)).to(device),
               torch.from_numpy(data.text_lengths), torch.from_numpy(data.labels).to(device))
    bare_train = n / bare_train_epoch_seconds(cfg, tensors, device, amp, epochs)

    model = result.model.eval()
    single = np.arange(min(20 if args.quick else 50, n))
    predict_proba(model, data, single[:2], 1)  # warm-up
    ours_times, bare_times = [], []
    for i in single:  # alternate, so load changes hit both
        ours_times += timed(lambda i=i: predict_proba(model, data, [i], 1))
        bare_times += timed(lambda i=i: bare_predict(model, tensors, np.array([i]), 1, device))
    ours_b1, bare_b1 = statistics.median(ours_times), statistics.median(bare_times)
    many = np.arange(n)
    predict_proba(model, data, many[:256], 256)  # warm-up
    ours_times, bare_times = [], []
    for _ in range(1 if args.quick else 3):
        ours_times += timed(lambda: predict_proba(model, data, many, 256))
        bare_times += timed(lambda: bare_predict(model, tensors, many, 256, device))
    ours_b256, bare_b256 = n / min(ours_times), n / min(bare_times)

    if device.type == "cuda":
        peak_mib = torch.cuda.max_memory_allocated(device) / 2**20
        peak = f"{peak_mib:.0f} MiB GPU (max allocated)"
    else:
        peak_mib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        peak = f"{peak_mib:.0f} MiB RSS (whole process)"
    print(f"EASTERN, Table 4 sizes, visual_dim {args.visual_dim}: {count_parameters(model):,} parameters; "
          f"{n} synthetic videos, batch {BATCH}; device {device}"
          f"{' (AMP)' if amp else ''}, torch {torch.__version__}, {torch.get_num_threads()} CPU threads of "
          f"{os.cpu_count()}; load average {load_before:.1f} before, {os.getloadavg()[0]:.1f} after\n")
    print("| measure | ours (train / predict_proba) | bare PyTorch loop | ours / bare |")
    print("|---|---|---|---|")
    print(f"| training, samples/s | {ours_train:.1f} | {bare_train:.1f} | {ours_train / bare_train:.2f} |")
    print(f"| inference batch 1, ms/video (median) | {ours_b1 * 1e3:.2f} | {bare_b1 * 1e3:.2f} | "
          f"{ours_b1 / bare_b1:.2f} |")
    print(f"| inference batch 256, videos/s | {ours_b256:.1f} | {bare_b256:.1f} | {ours_b256 / bare_b256:.2f} |")
    print(f"| peak memory | {peak} | | |")
    print(f"\nan epoch of the paper's training set ({PAPER_TRAIN_VIDEOS:,} videos) at this speed: "
          f"{PAPER_TRAIN_VIDEOS / ours_train:.1f} s (ours), {PAPER_TRAIN_VIDEOS / bare_train:.1f} s (bare)")
    if args.json:
        from core.fileio import atomic_write_json

        figures = {
            "samples": n, "visual_dim": args.visual_dim, "device": str(device), "amp": amp,
            "torch": torch.__version__, "cpu_threads": torch.get_num_threads(), "load_average": os.getloadavg()[0],
            "train_samples_per_s": ours_train, "bare_train_samples_per_s": bare_train,
            "epoch_s_at_paper_size": PAPER_TRAIN_VIDEOS / ours_train, "paper_train_videos": PAPER_TRAIN_VIDEOS,
            "predict_b1_ms": ours_b1 * 1e3, "predict_b256_videos_per_s": ours_b256,
            "peak_memory_mib": peak_mib, "peak_memory_kind": "gpu_max_allocated" if device.type == "cuda" else "rss",
        }
        atomic_write_json(args.json, figures, indent=2)
        print(f"figures written to {args.json}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
