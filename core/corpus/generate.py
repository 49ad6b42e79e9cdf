"""The demo corpus: per-video recipes, rendering, H.264/AAC encoding, resumable and parallel writing.

Determinism: the plan (labels, which videos are silent or mislabelled) comes from (seed, n); everything
about video i from (seed, i) alone, so results do not depend on `workers` or on resuming. Encoding uses
libx264/AAC with one thread and bit-exact flags, so the same seed gives byte-identical files.
"""
from __future__ import annotations

import contextlib
import csv
import io
import itertools
import json
import math
import multiprocessing
import subprocess
import tempfile
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from functools import partial
from pathlib import Path

import numpy as np

from core.corpus import audio, visual
from core.corpus.captions import irrelevant_caption, relevant_caption
from core.corpus.profiles import DEMO_VENUES, PROFILES
from core.fileio import atomic_path, atomic_write_text
from core.parallel import bare_main

GENERATOR_VERSION = "eastern-demo-v2"  # bump when a change alters any video of a given seed (v2: X264_ARGS, AAC_ARGS)
STAMP = ".corpus.json"
MANIFEST = "manifest.csv"

# Difficulty knobs (see docs in __init__: tuned so that V > A > T and all three together is best).
LONG_TAIL_RATIO = 10.0  # largest / smallest class, Zipf-like in between
P_SILENT = 0.10  # no audio track at all
P_LABEL_NOISE = 0.03  # the manifest label is not the venue whose recipe made the video
P_EMPTY, P_IRRELEVANT = 0.30, 0.10  # captions: empty, generic chatter only; the rest are relevant
P_VISUAL_INFORMATIVE = 0.85  # else the shots are random: a selfie, a pet, the ceiling...
P_SHOT_SWAP = 0.2  # each shot of the venue's sequence is replaced by a random one
P_AUDIO_INFORMATIVE = 0.75  # else random events with a random style
P_BORROW = 0.4  # a venue of a confusable pair takes its partner's recipe, per modality


# Encoder settings. libx264 at CRF 26, preset veryfast without B-frames, with a diamond motion search at sub-pixel
# level 1 and no partition analysis; AAC with its fast coder. About 0.22 s of ffmpeg CPU per video instead of
# 0.33 s (eastern-demo-v1: veryfast as is, AAC's two-loop coder) for files about 10% larger (benchmarks/generate.py).
X264_ARGS = ("-c:v", "libx264", "-preset", "veryfast", "-x264-params", "bframes=0:me=dia:subme=1:partitions=none",
             "-crf", "26")
AAC_ARGS = ("-c:a", "aac", "-aac_coder", "fast", "-b:a", "64k")


class CorpusError(Exception):
    """The corpus cannot be written: the message names the file or folder at fault."""


@dataclass(frozen=True)
class CorpusItem:
    """One generated video: its manifest row, and the recipe behind it (for analysis)."""

    filename: str
    caption: str
    venue: str  # the manifest label
    recipe_venue: str  # the venue whose recipe made the content (differs from `venue` for label noise)
    index: int
    seed: int
    shots: tuple[str, ...]
    shot_frames: tuple[int, ...]  # frames per shot, summing to 72
    sounds: tuple[str, ...]  # sound events; empty when the video has no audio track
    has_audio: bool
    caption_kind: str  # "relevant", "irrelevant" or "empty"
    visual_source: str  # venue whose shot sequence was used; "" for random shots
    audio_source: str  # venue whose sounds were used; "" for random sounds or no audio
    text_source: str  # venue the caption talks about; "" for irrelevant or empty captions

    @property
    def label_noise(self) -> bool:
        return self.venue != self.recipe_venue


def venue_frequencies(n: int) -> dict[str, int]:
    """How many of n videos each demo venue gets: Zipf-like, head/tail about 10x, every venue >= 3 when n >= 66."""
    if n < 1:
        raise ValueError(f"a corpus needs at least one video, got n={n}")
    k = len(DEMO_VENUES)
    weights = np.arange(1, k + 1, dtype=np.float64) ** -(math.log(LONG_TAIL_RATIO) / math.log(k))
    floor = min(3, n // k)
    raw = (n - floor * k) * weights / weights.sum()
    counts = np.floor(raw).astype(int) + floor
    leftover = n - int(counts.sum())
    counts[np.argsort(-(raw - np.floor(raw)), kind="stable")[:leftover]] += 1
    return dict(zip(DEMO_VENUES, counts.tolist(), strict=True))


def corpus_items(n: int, seed: int, label_noise: float = P_LABEL_NOISE) -> list[CorpusItem]:
    """The recipes of a corpus (cheap: nothing is rendered). `label_noise` is the share of videos whose
    manifest label is not the venue whose recipe made them (the planted wrong labels)."""
    if seed < 0:
        raise ValueError(f"seed must be >= 0, got {seed}")
    if not 0.0 <= label_noise < 1.0:
        raise ValueError(f"label noise must be a share in [0, 1), got {label_noise}")
    counts = venue_frequencies(n)
    plan = np.random.default_rng([seed, n, 7])
    labels = plan.permutation(np.repeat(np.arange(len(DEMO_VENUES)), list(counts.values())))
    silent = set(plan.choice(n, round(P_SILENT * n), replace=False).tolist())
    noisy = set(plan.choice(n, round(label_noise * n), replace=False).tolist())
    width = max(5, len(str(n - 1)))
    return [_make_item(seed, i, DEMO_VENUES[labels[i]], i in silent, i in noisy, width) for i in range(n)]


def _make_item(seed: int, index: int, venue: str, silent: bool, noisy: bool, width: int) -> CorpusItem:
    rng = np.random.default_rng([seed, index, 0])
    recipe_venue = venue
    if noisy:
        others = [v for v in DEMO_VENUES if v != venue]
        recipe_venue = others[int(rng.integers(0, len(others)))]
    prof = PROFILES[recipe_venue]

    def source() -> str:
        return prof.confuse if prof.confuse and rng.random() < P_BORROW else recipe_venue

    shot_names = list(visual.SHOTS)
    if rng.random() < P_VISUAL_INFORMATIVE:
        visual_source = source()
        shots = [s if rng.random() >= P_SHOT_SWAP else shot_names[rng.integers(0, len(shot_names))]
                 for s in PROFILES[visual_source].shots]
    else:
        visual_source = ""
        shots = [shot_names[i] for i in rng.integers(0, len(shot_names), int(rng.integers(2, 4)))]
    share = rng.dirichlet(np.full(len(shots), 4.0))
    frames = np.maximum(np.round(share * visual.N_FRAMES).astype(int), 9)
    frames[np.argmax(frames)] += visual.N_FRAMES - frames.sum()

    event_names = list(audio.EVENTS)
    if silent:
        audio_source, sounds = "", []
    elif rng.random() < P_AUDIO_INFORMATIVE:
        audio_source = source()
        probs = PROFILES[audio_source].sounds
        sounds = [e for e, p in probs.items() if rng.random() < p] or [max(probs, key=probs.get)]
    else:
        audio_source = ""
        sounds = [event_names[i] for i in rng.choice(len(event_names), int(rng.integers(1, 4)), replace=False)]

    u = rng.random()
    if u < P_EMPTY:
        kind, text_source, caption = "empty", "", ""
    elif u < P_EMPTY + P_IRRELEVANT:
        kind, text_source, caption = "irrelevant", "", irrelevant_caption(rng)
    else:
        text_source = source()
        kind, caption = "relevant", relevant_caption(rng, text_source)
    return CorpusItem(
        filename=f"demo-s{seed}-{index:0{width}d}.mp4", caption=caption, venue=venue, recipe_venue=recipe_venue,
        index=index, seed=seed, shots=tuple(shots), shot_frames=tuple(int(f) for f in frames),
        sounds=tuple(sounds), has_audio=not silent, caption_kind=kind, visual_source=visual_source,
        audio_source=audio_source, text_source=text_source,
    )


def render_frames(item: CorpusItem, ids: np.ndarray | None = None) -> np.ndarray:
    """uint8 RGB frames (len(ids), 240, 320, 3) of an item at 12 fps; all 72 when ids is None."""
    return visual.render_frames(item.shots, item.shot_frames, (item.seed, item.index), ids)


def render_audio(item: CorpusItem) -> np.ndarray | None:
    """6 s of mono float32 audio at 22,050 Hz, or None for a video without an audio track."""
    if not item.has_audio:
        return None
    if item.audio_source:
        p = PROFILES[item.audio_source]
        style = audio.Style(p.tempo, p.root, p.music)
    else:
        rng = np.random.default_rng([item.seed, item.index, 3])
        style = audio.Style(rng.uniform(70, 140), rng.uniform(100, 500), str(rng.choice(audio.MUSIC_STYLES)))
    return audio.render_audio(item.sounds, style, (item.seed, item.index))


# ------------------------------------------------------------------------------------------------ files


def encode_mp4(path: Path, frames: np.ndarray | Iterable[np.ndarray], samples: np.ndarray | None, *,
               video_args: tuple[str, ...] = X264_ARGS, audio_args: tuple[str, ...] = AAC_ARGS) -> None:
    """Write frames (T, H, W, 3) uint8 at 12 fps and optional mono 22,050 Hz audio as H.264/AAC mp4, atomically.

    `frames` may also be chunks of frames (an iterable of (t, H, W, 3) arrays): ffmpeg then encodes each
    chunk while the next one is rendered, two cores busy per video. The file is the same either way.
    `video_args`/`audio_args`: the codec settings (the corpus's by default)."""
    import imageio_ffmpeg

    chunks = iter([frames] if isinstance(frames, np.ndarray) else frames)
    first = next(chunks)
    pcm = path.with_name(f".{path.name}.pcm.part")
    _, h, w, _ = first.shape
    cmd = [imageio_ffmpeg.get_ffmpeg_exe(), "-nostdin", "-y", "-loglevel", "error",
           "-f", "rawvideo", "-pix_fmt", "rgb24", "-s", f"{w}x{h}", "-r", str(visual.FPS), "-i", "pipe:0"]
    if samples is not None:
        pcm.write_bytes((np.clip(samples, -1, 1) * 32767).astype("<i2").tobytes())
        cmd += ["-f", "s16le", "-ar", str(audio.SAMPLE_RATE), "-ac", "1", "-i", str(pcm),
                "-map", "0:v", "-map", "1:a", *audio_args, "-flags:a", "+bitexact"]
    cmd += [*video_args, "-pix_fmt", "yuv420p", "-threads", "1",
            "-flags:v", "+bitexact", "-fflags", "+bitexact", "-map_metadata", "-1", "-f", "mp4"]
    try:
        # ffmpeg writes .<name>.<random>.part beside the mp4 (renamed over it on success, removed on error)
        with atomic_path(path, suffix=".part", private=False) as part, \
                tempfile.TemporaryFile() as errors:  # a file, not a pipe: ffmpeg never blocks on its stderr
            proc = subprocess.Popen([*cmd, str(part)], stdin=subprocess.PIPE, stdout=subprocess.DEVNULL,
                                    stderr=errors)
            try:
                for chunk in itertools.chain([first], chunks):
                    proc.stdin.write(memoryview(np.ascontiguousarray(chunk, dtype=np.uint8)).cast("B"))
            except BrokenPipeError:
                pass  # ffmpeg stopped reading: its exit status and message say why
            finally:
                with contextlib.suppress(BrokenPipeError):
                    proc.stdin.close()
                returncode = proc.wait()
            if returncode != 0:
                errors.seek(0)
                reason = errors.read().decode(errors="replace").strip().splitlines()[-1:] or ["unknown error"]
                raise CorpusError(f"{path.name}: ffmpeg failed to encode ({reason[0]})")
    finally:
        pcm.unlink(missing_ok=True)


def write_video(out_dir: Path, item: CorpusItem) -> None:
    """Render and encode one item into out_dir (atomic: a killed run leaves no partial mp4); shot by shot,
    so the encoder works on one shot while the next renders (the frames of render_frames(item), the per-video
    camera drawn once)."""
    shots = visual.render_shots(item.shots, item.shot_frames, (item.seed, item.index))
    encode_mp4(Path(out_dir) / item.filename, shots, render_audio(item))


def write_manifest(path: Path, items: list[CorpusItem]) -> None:
    """`filename,caption,venue` as UTF-8 CSV, atomically."""
    text = io.StringIO(newline="")
    writer = csv.writer(text)
    writer.writerow(["filename", "caption", "venue"])
    writer.writerows([it.filename, it.caption, it.venue] for it in items)
    atomic_write_text(path, text.getvalue(), suffix=".part", private=False)


def _check_stamp(out_dir: Path, n: int, seed: int, label_noise: float = P_LABEL_NOISE) -> None:
    """Refuse to resume into a folder that holds another corpus (its files would be silently mixed in)."""
    stamp = out_dir / STAMP
    want = {"generator": GENERATOR_VERSION, "seed": seed, "videos": n}
    if label_noise != P_LABEL_NOISE:  # default corpora keep the stamp they always had
        want["label_noise"] = label_noise
    if stamp.exists():
        try:
            have = json.loads(stamp.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise CorpusError(f"{stamp}: unreadable ({exc}); delete the folder to start afresh") from exc
        if have != want:
            raise CorpusError(f"{out_dir} holds another corpus ({have}), not {want}: use an empty folder")
    else:
        stamp.write_text(json.dumps(want), encoding="utf-8")


def generate_corpus(out_dir: Path, n_videos: int, seed: int, progress: Callable[[int, int], None] | None = None,
                    workers: int = 1, label_noise: float = P_LABEL_NOISE) -> list[CorpusItem]:
    """Write n_videos mp4 files and manifest.csv into out_dir; files already there are kept (resumable)."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    items = corpus_items(n_videos, seed, label_noise)
    _check_stamp(out_dir, n_videos, seed, label_noise)
    for stale in out_dir.glob(".*.part"):  # left by a killed run
        stale.unlink()
    todo = [it for it in items if not _complete(out_dir / it.filename)]
    done = n_videos - len(todo)
    if progress:
        progress(done, n_videos)
    if workers > 1 and len(todo) > 1:
        # spawn, not fork: the caller may hold threads (torch, a database pool) that fork would copy mid-state
        with bare_main():  # Pool starts its processes here: from an empty __main__ (see core.parallel)
            pool = multiprocessing.get_context("spawn").Pool(min(workers, len(todo)))
        with pool:
            for _ in pool.imap_unordered(partial(write_video, out_dir), todo):
                done += 1
                if progress:
                    progress(done, n_videos)
    else:
        for item in todo:
            write_video(out_dir, item)
            done += 1
            if progress:
                progress(done, n_videos)
    write_manifest(out_dir / MANIFEST, items)
    return items


def _complete(path: Path) -> bool:
    try:
        return path.stat().st_size > 0
    except FileNotFoundError:
        return False
