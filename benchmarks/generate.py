"""Demo corpus generation: videos/s of the generator before (core/ of a baseline commit) and now, on the same
videos with the same workers, in one run; prints a table, and with --json PATH writes the figures.

    python benchmarks/generate.py                  # 60 videos, all cores, 3 rounds, baseline 7e76cd6
    python benchmarks/generate.py --videos 60 --workers 2 --rounds 3 --json benchmarks/results/generate.json

The baseline is `git archive REV core` unpacked in a temporary folder (default REV: 7e76cd6, the generator
before its encoder settings and shot rendering were sped up: eastern-demo-v1). Each writer runs as
`generate_corpus(out, N, seed, workers=W)` in a fresh interpreter, what `python -m app demo --workers W` does,
so both pay the same start-up; `--sequential` adds the baseline with one worker. Writers alternate within each
round so that a changing load hits them alike; medians over rounds. Every round's files of a writer must equal
its round 0's byte for byte (deterministic per seed), and the last round's files of "now" are probed and decoded
by core.media (12 frames of 240x320, 6 s, 12 fps, audio where the recipe has it).
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

SEED = 7
BASELINE_REV = "7e76cd6"
RUN = ("import sys; sys.path.insert(0, sys.argv[1]); from core.corpus import generate_corpus; "
       "generate_corpus(sys.argv[2], int(sys.argv[3]), seed=int(sys.argv[4]), workers=int(sys.argv[5]))")


def baseline_tree(rev: str, into: Path) -> Path:
    """core/ as it was at `rev` (git archive: the working copy and the index are not touched)."""
    into.mkdir(parents=True, exist_ok=True)
    archive = subprocess.run(["git", "-C", str(ROOT), "archive", rev, "core"], check=True, capture_output=True).stdout
    subprocess.run(["tar", "-x", "-C", str(into)], input=archive, check=True)
    return into


def run_writer(tree: Path, out: Path, videos: int, workers: int) -> float:
    """Seconds for one generate_corpus call in a fresh interpreter whose `core` is tree's."""
    env = {**os.environ, "PYTHONPATH": str(tree)}
    start = time.perf_counter()
    subprocess.run([sys.executable, "-c", RUN, str(tree), str(out), str(videos), str(SEED), str(workers)],
                   check=True, env=env, cwd=tree)
    return time.perf_counter() - start


def _check(out: Path, items: list) -> None:  # noqa: ANN001 - CorpusItems
    from core.media import decode, probe

    for item in items:
        info = probe(out / item.filename)
        if (info.width, info.height, info.fps) != (320, 240, 12) or abs(info.duration - 6.0) > 0.1:
            raise SystemExit(f"{item.filename}: {info}")
        video = decode(out / item.filename)
        if video.frames.shape != (12, 240, 320, 3) or video.has_audio != item.has_audio:
            raise SystemExit(f"{item.filename}: decoded {video.frames.shape}, audio {video.has_audio}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--videos", type=int, default=60)
    parser.add_argument("--workers", type=int, default=None, help="generate_corpus workers (default: all cores)")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--baseline", default=BASELINE_REV,
                        help=f"git revision of the 'before' (default {BASELINE_REV})")
    parser.add_argument("--sequential", action="store_true", help="also time the baseline with one worker")
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args(argv)
    from core.corpus.generate import corpus_items
    from core.features.pipeline import default_workers

    workers = args.workers or default_workers()
    items = corpus_items(args.videos, SEED)
    rates: dict[str, list[float]] = {}
    sizes: dict[str, float] = {}
    load_before = os.getloadavg()[0]
    with tempfile.TemporaryDirectory(prefix="eastern-generate-bench-") as tmp:
        base = baseline_tree(args.baseline, Path(tmp) / "baseline")
        writers = {f"before ({args.baseline}), {workers} workers": (base, workers),
                   f"now, {workers} workers": (ROOT, workers)}
        if args.sequential:
            writers[f"before ({args.baseline}), 1 process"] = (base, 1)
        first: dict[str, dict[str, bytes]] = {}
        for r in range(args.rounds):
            for name, (tree, n_workers) in writers.items():
                out = Path(tmp) / f"out-{len(first)}-{r}"
                seconds = run_writer(tree, out, args.videos, n_workers)
                rates.setdefault(name, []).append(args.videos / seconds)
                files = {p.name: p.read_bytes() for p in out.glob("*.mp4")}
                if len(files) != args.videos:
                    raise SystemExit(f"{name}: {len(files)} files, not {args.videos}")
                if r == 0:
                    first[name] = files
                    sizes[name] = sum(map(len, files.values())) / len(files)
                elif files != first[name]:
                    raise SystemExit(f"{name}: round {r} wrote other bytes than round 0 (not deterministic)")
                if r == args.rounds - 1 and tree == ROOT:
                    _check(out, items)
                shutil.rmtree(out)
    names = list(writers)
    before, now = names[0], names[1]
    med = {name: statistics.median(v) for name, v in rates.items()}
    speedup = statistics.median(n / b for n, b in zip(rates[now], rates[before], strict=True))
    print(f"\nDemo generation, {args.videos} videos (seed {SEED}), {args.rounds} rounds; CPUs {os.cpu_count()}; "
          f"load average {load_before:.1f} before, {os.getloadavg()[0]:.1f} after\n")
    print("| writer | videos/s (median) | per round | kB / video |")
    print("|---|---|---|---|")
    for name in names:
        print(f"| {name} | {med[name]:.2f} | {', '.join(f'{x:.2f}' for x in rates[name])} | {sizes[name] / 1e3:.0f} |")
    print(f"\nnow / before = {speedup:.2f}x (median of per-round ratios, same videos, same workers); every round "
          "byte-identical to round 0, now's last round probed and decoded")
    if args.json:
        from core.fileio import atomic_write

        figures = {"videos": args.videos, "workers": workers, "rounds": args.rounds, "cpus": os.cpu_count(),
                   "load_average": os.getloadavg()[0], "baseline": args.baseline,
                   "before_videos_per_s": med[before], "now_videos_per_s": med[now], "speedup": speedup,
                   "kb_per_video": {"before": sizes[before] / 1e3, "now": sizes[now] / 1e3},
                   "per_round_videos_per_s": rates}
        if args.sequential:
            figures["before_sequential_videos_per_s"] = med[names[2]]
        atomic_write(args.json, lambda fh: fh.write(json.dumps(figures, indent=2).encode()))
        print(f"figures written to {args.json}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
