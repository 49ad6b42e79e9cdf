"""Write docs/scale.md: measured per-stage throughput on this machine and projected wall times for the paper's
20,093 videos and the 270k-video datasets, here, on one GPU box and on N Ray nodes.

Reads the figures the benchmarks wrote with --json (nothing is typed in by hand):

    python benchmarks/extract.py --videos 24 --demo-videos 48 --json benchmarks/results/extract.json
    python benchmarks/train.py --json benchmarks/results/train.json
    python benchmarks/generate.py --videos 60 --sequential --json benchmarks/results/generate.json
    python benchmarks/dashboard.py --videos 200000 --skip-video --repeats 5 --explain \
        --json docs/dashboard-200k-sqlite.json
    python benchmarks/dashboard.py --videos 200000 --skip-video --repeats 5 --backend postgresql --explain \
        --json docs/dashboard-200k-postgresql.json
    benchmarks/gpu.sh   # on a GPU machine: benchmarks/gpu-results/{extract,train-1280,train-4096}.json
    python benchmarks/scale.py            # -> docs/scale.md

Every number in the document is labelled measured (read from one of those files) or projected (computed
from measured numbers with the assumption written next to it).
"""
from __future__ import annotations

import argparse
import json
import sys
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
RESULTS = ROOT / "benchmarks" / "results"
DOCS = ROOT / "docs"  # the 200k dashboard figures live beside this document: dashboard-200k-*.json
GPU_RESULTS = ROOT / "benchmarks" / "gpu-results"
SIZES = {"the paper's 20,093 videos": 20_093, "270k micro-videos": 270_000}
GPU_BOX_CORES = 16  # the GPU box these projections have in mind (one H200-class GPU, 16 cores)
RAY_NODE_CORES = 16
RAY_NODES = (2, 4, 8)
OBJECT_STORE_MB_S = 1_000  # decoded frames cross the network once when a task and the encoder are on two nodes
FRAMES_MB = 12 * 224 * 224 * 3 / 1e6  # what one decoded video weighs in Ray's object store
GPU_FRAMES_PER_S = 3_000  # assumed EfficientNet-Lite0 inference rate of one H200-class GPU (until gpu.sh measures it)
TRAIN_GPU_SPEEDUP = 20.0  # assumed training speed-up of that GPU over this machine's CPU (until gpu.sh measures it)


PROPOSED_DB_CHANGES = """### What the 200k plans needed (migrations 0005 to 0007, query shapes)

- **Planner statistics.** SQLite plans without statistics until `ANALYZE` runs: for Browse's label +
  confidence filter it walked `ix_predictions_model_conf` over every confident prediction and looked each
  video up (1.0 s) instead of `SEARCH videos USING COVERING INDEX ix_videos_current_venue
  (current_venue_id=?)` + `SEARCH predictions USING INDEX sqlite_autoindex_predictions_1` (0.1 ms).
  `repo.refresh_statistics` runs `ANALYZE` after each bulk write (`replace_predictions`,
  `replace_oos_predictions`; 0.7 s at 200k), migration 0006 once for existing databases.
- **Out-of-sample sets without the join.** `issue_counts` and `oos_confused_pairs` joined all 200k rows
  of a set to `videos` to keep labels unchanged since its snapshot (`SEARCH oos_predictions USING
  COVERING INDEX ix_oos_set_video_label (set_id=?)` + `SEARCH videos ... (id=?)` per row, then two temp
  B-trees for the names' GROUP BY and ORDER BY: 0.30 s). Labels are append-only, so only videos with a
  label row newer than the snapshot can have changed: the set is counted alone and those few rows are
  joined and subtracted. `oos_confused_pairs` groups by venue ids over the new
  `ix_oos_set_pair (set_id, label_venue_id, suggested_venue_id, is_issue)` (`SEARCH oos_predictions
  USING COVERING INDEX ix_oos_set_pair (set_id=?)`, no temp B-tree for the GROUP BY) and joins the names
  to the grouped pairs only (0.03 s). `confused_pairs` (the active model's) groups by ids the same way.
- **Every page's status line.** `corpus_counts` counted labelled and extracted videos over whole
  indexes, people's labels with `who NOT IN (...)` (a full scan of `ix_labels_who_video`, 50 ms) and the
  per-venue counts through a join: now `count(*)` (SQLite counts B-tree cells: 1 ms, `count(id)` steps
  rows: 17 ms), the complements of the NULL ranges, the system names as index ranges (2 ms) and the
  per-venue counts only for the CLI. Venues in use: `EXISTS` per venue, not `IN (every video's label)`.
- **Caption search.** SQLite's LIKE ignores ASCII case as its lower() does, so the search reads
  `caption LIKE ?` there (half the cost of `lower(caption) LIKE ?`), and counts its matches over the
  SQLite-only `ix_videos_caption_name (caption, original_name)` instead of the wide rows (0.33 s -> 0.06 s).
  PostgreSQL keeps `lower() LIKE` (a B-tree refuses captions over ~2.7 kB, and no B-tree serves a leading
  `%`); migration 0007 adds GIN trigram indexes (pg_trgm) on `lower(caption)` and `lower(original_name)`
  where the server lets the role create the extension: counting a search's matches at 200k went from a
  parallel sequential scan (68 ms) to `BitmapOr` of two `Bitmap Index Scan`s (3.4-6.4 ms), EXPLAIN ANALYZE
  on the throwaway server; the first page walks the id index and stops at its matches (4.5 ms).
  Without the extension the migration warns and the search scans, with the same answers.
  `benchmarks/dashboard.py --explain` prints Browse's plans; the 200k JSON files beside this one keep them."""


def load(path: Path) -> dict | None:
    return json.loads(path.read_text(encoding="utf-8")) if path.is_file() else None


def hms(seconds: float) -> str:
    if seconds < 90:
        return f"{seconds:.0f} s"
    if seconds < 5400:
        return f"{seconds / 60:.0f} min"
    return f"{seconds / 3600:.1f} h"


def write(extract: dict, train: dict | None, dashboards: list[dict], gpu: dict, generate: dict | None = None) -> str:
    """The document, from the benchmark figures."""
    cpus = extract["cpus"]
    video_s = extract["videos_per_s"]
    stages = extract["floor_stages_s_per_video"]
    cpu_per_video = stages["decode"] + stages["librosa"]  # the workers' share, on one core
    demo = generate or extract.get("demo_generation") or {}
    gen_rate = demo.get("now_videos_per_s")
    lines = [
        "# Scale: measured throughput and projected wall times",
        "",
        f"Written by `benchmarks/scale.py` on {datetime.now(UTC):%Y-%m-%d %H:%M} UTC from the JSON figures of the "
        "benchmarks (see its docstring for the commands). **measured** = read from a benchmark run; "
        "**projected** = computed from measured numbers under the assumption stated beside it.",
        "",
        f"## Measured on this machine ({cpus} CPUs, shared: load average {extract['load_average']:.1f} at the end "
        "of the extraction run)",
        "",
        "| stage | s / video | videos/s | source |",
        "|---|---|---|---|",
        f"| extraction pipeline ({extract['workers']} decode workers, encoder on {extract['device']}) | "
        f"{extract['full_s_per_video']:.3f} | {video_s:.2f} | measured, `extract.py` steady state |",
        f"| extraction, the moviepy path (before) | {1 / extract['moviepy_path_videos_per_s']:.3f} | "
        f"{extract['moviepy_path_videos_per_s']:.2f} | measured, same run |",
        f"| floor: bare decode + bare batched encoder + bare librosa | {extract['floor_s_per_video']:.3f} | "
        f"{1 / extract['floor_s_per_video']:.2f} | measured, same run |",
        f"| &nbsp; bare ffmpeg decode (12 frames + audio) | {stages['decode']:.3f} | {1 / stages['decode']:.1f} | "
        "measured |",
        f"| &nbsp; bare encoder forward (batch {extract.get('floor_encoder_batch', 96)}, the fastest measured) | "
        f"{stages['encoder']:.3f} | {1 / stages['encoder']:.2f} | measured |",
        f"| &nbsp; bare librosa | {stages['librosa']:.3f} | {1 / stages['librosa']:.1f} | measured |",
    ]
    by_batch = extract.get("bare_encoder_s_per_video_by_batch")
    if by_batch:
        lines.append(f"| floor with a batch >= 64 forward | {extract['floor_batch_ge64_s_per_video']:.3f} | "
                     f"{1 / extract['floor_batch_ge64_s_per_video']:.2f} | measured, same run: bare encoder s / video "
                     "by batch " + ", ".join(f"{b}: {t:.3f}" for b, t in by_batch.items())
                     + f"; the pipeline runs {extract['encoder_batch']} frames a forward |")
    if gen_rate and generate:
        seq = generate.get("before_sequential_videos_per_s")
        seq_part = (f", {gen_rate / seq:.2f}x its 1 process ({seq:.2f} videos/s, the writer `make run` timed at "
                    "2.5 videos/s)") if seq else ""
        lines.append(f"| demo generation ({generate['workers']} workers) | {1 / gen_rate:.3f} | {gen_rate:.2f} | "
                     f"measured, `generate.py`: {generate['speedup']:.2f}x the generator of {generate['baseline']} "
                     f"with the same workers ({generate['before_videos_per_s']:.2f} videos/s){seq_part}, same run, "
                     f"{generate['videos']} videos |")
    elif gen_rate:
        lines.append(f"| demo generation ({extract['workers']} workers) | {1 / gen_rate:.3f} | {gen_rate:.2f} | "
                     f"measured ({demo['speedup']:.2f}x the sequential writer in the same run) |")
    if train:
        lines.append(f"| training EASTERN, one epoch of 18,000 videos ({train['device']}) | "
                     f"{train['epoch_s_at_paper_size']:.0f} s / epoch | {train['train_samples_per_s']:.0f} "
                     f"samples/s | measured at {train['samples']} samples, `train.py` |")
    lines += [
        "",
        f"Pipeline / floor = {extract['ratio_full_to_floor']:.2f}x; pipeline / moviepy path = "
        f"{extract['speedup_over_moviepy_path']:.2f}x the throughput (both measured in one run).",
        "",
        "## Where the time goes, per machine kind",
        "",
        f"- **This machine**: the frame encoder on the CPU is the bottleneck ({stages['encoder']:.2f} s of the "
        f"{extract['floor_s_per_video']:.2f} s floor per video); decode and librosa run beside it in workers.",
    ]
    gpu_extract = gpu.get("extract")
    if gpu_extract:
        box_rate, box_how = gpu_extract["videos_per_s"], "measured by `benchmarks/gpu.sh`"
    else:
        box_rate = min(GPU_BOX_CORES / cpu_per_video, GPU_FRAMES_PER_S / 12)
        box_how = (f"projected: {GPU_BOX_CORES} cores x 1 / ({stages['decode']:.3f} + {stages['librosa']:.3f}) s "
                   f"of decode + librosa per video and core (measured here), capped by an assumed "
                   f"{GPU_FRAMES_PER_S:,} frames/s on the GPU; not run on a GPU yet")
    lines.append(f"- **One GPU box** ({GPU_BOX_CORES} cores + one GPU): the encoder leaves the CPU; decode + "
                 f"librosa bound it: **{box_rate:.0f} videos/s** ({box_how}).")
    node_rate = RAY_NODE_CORES / cpu_per_video
    network_cap = OBJECT_STORE_MB_S / FRAMES_MB
    lines.append(f"- **Ray nodes** ({RAY_NODE_CORES} cores, one GPU each): projected {node_rate:.0f} videos/s per node "
                 f"(decode + librosa as above; the GPU actor keeps up), times N nodes, capped at "
                 f"{network_cap:.0f} videos/s when every decoded video crosses a {OBJECT_STORE_MB_S:,} MB/s network "
                 f"once ({FRAMES_MB:.1f} MB each); the driver's one database write per video and the 37 kB "
                 "feature file per video on shared storage stay far below that.")
    ray_heads = " | ".join(f"{n} Ray nodes" for n in RAY_NODES)
    lines += ["", "## Projected wall times", "",
              f"| work | videos | this machine | one GPU box | {ray_heads} |",
              "|---|---|---|---|" + "---|" * len(RAY_NODES)]
    for name, n in SIZES.items():
        ray = [min(k * node_rate, network_cap) for k in RAY_NODES]
        lines.append(f"| feature extraction | {name} | {hms(n / video_s)} | {hms(n / box_rate)} | "
                     + " | ".join(hms(n / r) for r in ray) + " |")
    if gen_rate:
        for name, n in SIZES.items():
            box_gen = gen_rate * GPU_BOX_CORES / cpus
            lines.append(f"| demo generation (CPU only) | {name} | {hms(n / gen_rate)} | {hms(n / box_gen)} | "
                         + " | ".join("—" for _ in RAY_NODES) + " |")
    if train:
        gpu_train = gpu.get("train")
        if gpu_train:
            gpu_epoch, gpu_how = gpu_train["epoch_s_at_paper_size"], "measured by gpu.sh"
        else:
            gpu_epoch, gpu_how = train["epoch_s_at_paper_size"] / TRAIN_GPU_SPEEDUP, (
                f"projected: an assumed {TRAIN_GPU_SPEEDUP:.0f}x over this CPU")
        for name, n in SIZES.items():
            scale = n * 0.9 / 18_000  # 90 % of the videos train
            epochs = 15
            here = hms(epochs * scale * train["epoch_s_at_paper_size"])
            box = hms(epochs * scale * gpu_epoch)
            lines.append(f"| training, {epochs} epochs (N nodes: torchrun) | {name} | {here} | {box} | "
                         + " | ".join(hms(epochs * scale * gpu_epoch / k / 0.9) for k in RAY_NODES) + " |")
        lines += ["", f"Training on one GPU box: {gpu_how}. On N nodes: `torchrun` data parallelism (core/ddp.py), "
                      "projected at 90 % scaling efficiency."]
    lines += ["", "Generation is not distributed (`demo` renders on one machine's cores); its GPU-box column "
                  f"scales the measured rate by {GPU_BOX_CORES} / {cpus} cores (projected).", ""]
    if dashboards:
        lines += ["## Dashboard at scale (measured)", "",
                  "Median AppTest script time per page, caches empty, synthetic metadata and predictions (no media).",
                  "", "| page | " + " | ".join(f"{d['backend']}, {d['videos']:,} videos"
                                             + (f" ({d['variant']})" if d.get("variant") else "")
                                             for d in dashboards) + " |",
                  "|---|" + "---|" * len(dashboards)]
        for page in dashboards[0]["pages"]:
            lines.append(f"| {page} | " + " | ".join(f"{d['pages'].get(page, float('nan')):.0f} ms" for d in dashboards)
                         + " |")
        lines += ["", "Load average during the runs: " + ", ".join(
            f"{d['backend']}{' (' + d['variant'].split(':')[0] + ')' if d.get('variant') else ''} "
            f"{d['load_average']:.1f}" for d in dashboards)
            + f" on {dashboards[0]['cpus']} CPUs.", "", PROPOSED_DB_CHANGES, ""]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--results", type=Path, default=RESULTS)
    parser.add_argument("--gpu-results", type=Path, default=GPU_RESULTS)
    parser.add_argument("--docs", type=Path, default=DOCS, help="where dashboard-200k-*.json are")
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "scale.md")
    args = parser.parse_args(argv)
    extract = load(args.results / "extract.json")
    if extract is None:
        raise SystemExit(f"no {args.results / 'extract.json'}: run benchmarks/extract.py --json first")
    dashboards = [d for d in (load(args.docs / f"dashboard-200k-{b}.json")
                              for b in ("sqlite-before", "sqlite", "postgresql")) if d]
    if not dashboards:  # the figures of the first round (before migration 0006)
        dashboards = [d for d in (load(args.results / f"dashboard-{b}.json")
                                  for b in ("sqlite", "sqlite-indexed", "postgresql")) if d]
    gpu = {"extract": load(args.gpu_results / "extract.json"), "train": load(args.gpu_results / "train-1280.json")}
    gpu = {k: v for k, v in gpu.items() if v and v.get("device", "").startswith("cuda")}
    from core.fileio import atomic_write_text

    text = write(extract, load(args.results / "train.json"), dashboards, gpu, load(args.results / "generate.json"))
    atomic_write_text(args.out, text)
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
