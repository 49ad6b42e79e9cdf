"""Feature extraction for many videos with every core busy.

Worker processes decode (core.media.decode_fast: only the 12 frames, already at the encoder's input size,
and 6 s of mono audio) and compute the librosa descriptor and caption tokens; the parent runs the frame
encoder on batches of frames gathered across videos (>= 64 frames a call, split into forwards of the
encoder's batch_size: small on the CPU, whose cache favours them, large on a GPU) and writes each video's
features through FeatureStore.put (atomic). The same `prepare` / `encode_and_store` pair runs as Ray tasks
and actors in core.features.ray_pipeline. Results are those of FeatureExtractor.extract, video by video.
"""
from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from core.features.acoustic import DIM as ACOUSTIC_DIM
from core.features.acoustic import N_CLIPS, acoustic_features
from core.features.store import FeatureStore, VideoFeatures
from core.features.textual import clean_tokens
from core.media import MediaError, decode_fast
from core.parallel import bare_main

if TYPE_CHECKING:
    from core.features.visual import FrameEncoder

BATCH_FRAMES = 96  # frames gathered per encoder call (8 videos); the encoder splits them by its batch_size


@dataclass(frozen=True)
class Job:
    """One video to extract: its store key (sha256), file, caption, and the caller's id for it."""

    key: str
    path: Path
    caption: str | None
    ref: int = 0


@dataclass
class Prepared:
    """A worker's output: the frames for the encoder, the finished acoustic and text parts, or an error."""

    job: Job
    frames: np.ndarray | None  # (12, H, W, 3) uint8 at the encoder's input size
    acoustic: np.ndarray | None  # (6, 512) float32
    tokens: list[str]
    error: str | None = None


@dataclass(frozen=True)
class Outcome:
    """What happened to one video: stored (error None), or the one-line reason it failed."""

    job: Job
    error: str | None = None


def prepare(job: Job, size: tuple[int, int]) -> Prepared:
    """Decode a video at `size` = (width, height) and compute everything but the frame encoder's part."""
    try:
        video = decode_fast(job.path, size=size)
    except MediaError as exc:
        return Prepared(job, None, None, [], error=exc.reason)
    if video.is_silent:
        acoustic = np.zeros((N_CLIPS, ACOUSTIC_DIM), dtype=np.float32)
    else:
        acoustic = acoustic_features(video.audio, video.sample_rate)
    return Prepared(job, video.frames, acoustic, clean_tokens(job.caption))


def encode_and_store(encoder: FrameEncoder, store: FeatureStore, batch: list[Prepared]) -> list[Outcome]:
    """One encoder forward over the frames of every video in `batch`, then one atomic put per video."""
    ok = [p for p in batch if p.error is None]
    outcomes = [Outcome(p.job, p.error) for p in batch if p.error is not None]
    if ok:
        visual = encoder.encode(np.concatenate([p.frames for p in ok]))  # (sum of T, dim)
        start = 0
        for p in ok:
            n = len(p.frames)
            store.put(p.job.key, VideoFeatures(visual=visual[start:start + n], acoustic=p.acoustic, tokens=p.tokens))
            start += n
            outcomes.append(Outcome(p.job))
    return outcomes


def gather_frames(encoder: FrameEncoder) -> int:
    """Frames gathered across videos per encoder call: BATCH_FRAMES, or one forward's worth on a GPU."""
    return max(BATCH_FRAMES, encoder.batch_size)


def default_workers() -> int:
    """Every core this process may use."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        return os.cpu_count() or 1


def run_local(jobs: Iterable[Job], encoder: FrameEncoder, store: FeatureStore, *, workers: int | None = None,
              batch_frames: int | None = None, should_stop: Callable[[], bool] | None = None) -> Iterator[Outcome]:
    """Extract `jobs` with `workers` decode processes (0: decode in this process) and the encoder here;
    yields each video's Outcome once its features are stored (in completion order). `batch_frames`: frames
    gathered per encoder call (default: gather_frames(encoder))."""
    workers = default_workers() if workers is None else workers
    batch_frames = gather_frames(encoder) if batch_frames is None else batch_frames
    size = encoder.input_size
    batch: list[Prepared] = []
    frames_in_batch = 0

    def add(prepared: Prepared) -> list[Outcome]:
        nonlocal batch, frames_in_batch
        batch.append(prepared)
        frames_in_batch += 0 if prepared.frames is None else len(prepared.frames)
        if frames_in_batch < batch_frames:
            return []
        done, batch, frames_in_batch = encode_and_store(encoder, store, batch), [], 0
        return done

    if workers <= 0:
        for job in jobs:
            if should_stop and should_stop():
                break
            yield from add(prepare(job, size))
    else:
        import multiprocessing

        from core.features.acoustic import warm_up

        # compile librosa's numba kernels here first: workers then only read numba's file cache, which is
        # not safe for several processes writing at once (segfaults)
        warm_up()
        # spawn, not fork: this process holds torch's threads and maybe a database pool
        with ProcessPoolExecutor(max_workers=workers, mp_context=multiprocessing.get_context("spawn")) as pool:
            with bare_main():  # start every worker now, from an empty __main__ (see core.parallel)
                wait([pool.submit(os.getpid) for _ in range(workers)])
            pending: set[Future] = set()
            ahead = 2 * workers + batch_frames // 12  # bounded look-ahead: memory stays flat on any corpus
            todo = iter(jobs)
            exhausted = False
            while pending or not exhausted:
                while not exhausted and len(pending) < ahead and not (should_stop and should_stop()):
                    job = next(todo, None)
                    if job is None:
                        exhausted = True
                    else:
                        pending.add(pool.submit(prepare, job, size))
                if should_stop and should_stop():
                    exhausted = True
                    for future in pending:
                        future.cancel()
                if not pending:
                    break
                finished, pending = wait(pending, return_when=FIRST_COMPLETED)
                for future in finished:
                    if not future.cancelled():
                        yield from add(future.result())
    if batch:
        yield from encode_and_store(encoder, store, batch)

