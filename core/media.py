"""Decode the part of a micro-video that EASTERN reads: 12 frames (one per 0.5 s) and 6 s of mono audio.

Two decoders with one contract: `decode_fast` (the feature pipeline's: one ffmpeg process per video that
selects the 12 frames, scales them while decoding and pipes them out with the 6 s of mono PCM) and
`decode` (moviepy 2 reading frame by frame; kept as the reference the fast path is tested against).
Both use imageio-ffmpeg's bundled ffmpeg and pick the same frames (moviepy's rule: the frame shown at t,
number int(fps * t)). Shorter videos are padded (last frame repeated,
audio zero-filled); longer ones are cut at 6 s. Every bad input a user can hand us (empty file, a text
or image file named .mp4, a truncated download, an audio-only file, undecodable frames) raises
MediaError with a one-line reason, and every ffmpeg process is reaped.
"""
from __future__ import annotations

import os
import selectors
import subprocess
import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from core.probe import MediaError, MediaInfo, probe

__all__ = ["MediaError", "MediaInfo", "probe", "decode", "decode_fast", "DecodedVideo", "fit_within", "frame_numbers"]

CLIP_SECONDS = 6.0
N_FRAMES = 12
FRAME_TIMES = tuple(0.5 * i for i in range(N_FRAMES))  # 0.0, 0.5, ..., 5.5 s
SAMPLE_RATE = 22050
N_SAMPLES = int(CLIP_SECONDS * SAMPLE_RATE)
SILENCE_PEAK = 1e-4  # about -80 dBFS (3 steps of 16-bit PCM): below this the track counts as silent
END_TOLERANCE_S = 0.5  # a stream may stop this much before its declared duration without being "truncated"

# moviepy's parser and readers report trouble as any of these; we turn them into one clear MediaError.
_MOVIEPY_ERRORS = (OSError, ValueError, KeyError, IndexError, TypeError)


@dataclass(frozen=True)
class DecodedVideo:
    """What the feature extractors read from one video."""

    frames: np.ndarray  # (12, H, W, 3) uint8 RGB at FRAME_TIMES
    audio: np.ndarray  # (N_SAMPLES,) float32 mono at SAMPLE_RATE; zeros past the end or without a track
    has_audio: bool  # an audio track is present
    is_silent: bool  # no track, or its peak is below SILENCE_PEAK
    duration: float
    fps: float
    width: int  # of the source, before any resize
    height: int
    sample_rate: int = SAMPLE_RATE


def decode(path: str | Path, size: tuple[int, int] | None = None) -> DecodedVideo:
    """12 RGB frames at t = 0.0, 0.5, ..., 5.5 s and the first 6 s of audio, mono at 22,050 Hz.

    `size` = (width, height) has ffmpeg resize the frames while decoding (much faster than after).
    """
    from moviepy import VideoFileClip

    path = Path(path)
    info = probe(path)  # ~20 ms; precise reasons before any reader (and its ffmpeg process) exists
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # a failed first read warns, then raises: we report the raise
            # moviepy misses ffmpeg 7+'s display matrix: naming the displayed size keeps rotated frames whole
            target = size or ((info.width, info.height) if info.rotation in (90, 270) else None)
            clip = VideoFileClip(str(path), audio=False, target_resolution=target, resize_algorithm="bilinear")
    except _MOVIEPY_ERRORS as exc:
        raise MediaError(path, f"unreadable video frames{_decoder_error(path)}") from exc
    try:
        frames = _read_frames(path, clip, clip.reader.duration or info.duration, info.fps)
    finally:
        _close_clip(clip)
    audio = _read_audio(path) if info.has_audio else np.zeros(N_SAMPLES, dtype=np.float32)
    peak = float(np.abs(audio).max(initial=0.0))
    return DecodedVideo(
        frames=frames, audio=audio, has_audio=info.has_audio, is_silent=peak < SILENCE_PEAK,
        duration=info.duration, fps=info.fps, width=info.width, height=info.height,
    )


def fit_within(width: int, height: int, longest: int) -> tuple[int, int]:
    """(width, height) scaled down (never up) so the longer side is at most `longest`, both even."""
    scale = min(1.0, longest / max(width, height, 1))
    return max(2, round(width * scale) // 2 * 2), max(2, round(height * scale) // 2 * 2)


def frame_numbers(duration: float, fps: float) -> list[int]:
    """The source frame shown at each of FRAME_TIMES (moviepy's rule), clamped to the last frame."""
    last_t = max(0.0, duration - 1.0 / fps) if fps > 0 else duration
    return [int(fps * min(t, last_t) + 0.00001) for t in FRAME_TIMES]


def decode_fast(path: str | Path, size: tuple[int, int] | None = None) -> DecodedVideo:
    """`decode`'s result from one ffmpeg process: only the 12 frames leave the decoder (scaled to `size` =
    (width, height) while decoding), with the first 6 s of audio as mono 16-bit PCM at 22,050 Hz. A variable
    frame rate file gets the frame shown at each time (by timestamp, not frame number)."""
    path = Path(path)
    info = probe(path)  # container metadata only (~20 ms): the frame numbers to select depend on fps
    wanted, unique, picks, starts = _frame_picks(info)
    width, height = size or (info.width, info.height)
    frame_bytes = width * height * 3
    read_audio, write_audio = os.pipe() if info.has_audio else (None, None)
    import imageio_ffmpeg

    cmd = [imageio_ffmpeg.get_ffmpeg_exe(), "-nostdin", "-hide_banner", "-loglevel", "error", "-threads", "1",
           "-i", str(path), "-map", "0:v:0", "-vf", f"{picks},scale={width}:{height}:flags=bilinear",
           "-fps_mode", "passthrough", "-frames:v", str(len(unique)), "-pix_fmt", "rgb24", "-f", "rawvideo",
           "pipe:1"]
    if write_audio is not None:
        cmd += ["-map", "0:a:0", "-t", str(CLIP_SECONDS), "-ac", "1", "-ar", str(SAMPLE_RATE), "-f", "s16le",
                f"pipe:{write_audio}"]
    try:
        proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                pass_fds=() if write_audio is None else (write_audio,))
    finally:
        if write_audio is not None:
            os.close(write_audio)  # the child holds its copy: EOF reaches us when ffmpeg exits
    try:
        streams = _drain(proc, read_audio)
        proc.wait(timeout=30)
    finally:
        _reap(proc)
    video_raw, audio_raw, errors = streams
    n_read = len(video_raw) // frame_bytes
    decoded = np.frombuffer(video_raw[: n_read * frame_bytes], dtype=np.uint8).reshape(n_read, height, width, 3)
    complaint = _diagnosis(errors.decode("utf-8", errors="replace"))
    if n_read == 0:
        raise MediaError(path, f"unreadable video frames{f' (ffmpeg: {complaint})' if complaint else ''}")
    if n_read < len(unique):  # the stream ended early: fine near its declared end, corrupt before
        stop_t = starts[n_read]
        if complaint and stop_t < info.duration - END_TOLERANCE_S:
            raise MediaError(path, f"corrupt video: frames stop at {stop_t:.1f} s of {info.duration:.1f} s "
                                   f"(ffmpeg: {complaint})")
    row = {n: min(i, n_read - 1) for i, n in enumerate(unique)}  # past the end the last frame read repeats
    frames = decoded[[row[n] for n in wanted]]
    audio = np.zeros(N_SAMPLES, dtype=np.float32)
    samples = np.frombuffer(audio_raw[: len(audio_raw) // 2 * 2], dtype="<i2")[:N_SAMPLES]
    audio[: samples.size] = samples / np.float32(32768.0)
    peak = float(np.abs(audio).max(initial=0.0))
    return DecodedVideo(
        frames=np.ascontiguousarray(frames), audio=audio, has_audio=info.has_audio, is_silent=peak < SILENCE_PEAK,
        duration=info.duration, fps=info.fps, width=info.width, height=info.height,
    )


def _frame_picks(info: MediaInfo) -> tuple[list[int], list[int], str, list[float]]:
    """Which decoded frames to keep: (the output row of each of FRAME_TIMES, the distinct rows, the ffmpeg filter
    that keeps them, the time of each distinct row)."""
    if info.variable_frame_rate:  # frame numbers do not follow time: keep the frame shown at each t
        # fps=2 with round=up keeps the last frame whose timestamp is <= t; tpad repeats the last frame past the end
        rows = list(range(N_FRAMES))
        rate = 1 / (FRAME_TIMES[1] - FRAME_TIMES[0])
        return rows, rows, f"tpad=stop_mode=clone:stop_duration={CLIP_SECONDS:g},fps={rate:g}:round=up", \
            list(FRAME_TIMES)
    wanted = frame_numbers(info.duration, info.fps)
    unique = sorted(set(wanted))
    picks = "+".join(f"eq(n\\,{n})" for n in unique)
    return wanted, unique, f"select='{picks}'", [n / info.fps if info.fps > 0 else 0.0 for n in unique]


def _drain(proc: subprocess.Popen, audio_fd: int | None) -> tuple[bytes, bytes, bytes]:
    """Read ffmpeg's video (stdout), audio (a pipe) and stderr together until all close (no deadlock when
    one fills its pipe buffer while we wait on another)."""
    chunks: dict[str, list[bytes]] = {"video": [], "audio": [], "errors": []}
    sources = {proc.stdout.fileno(): "video", proc.stderr.fileno(): "errors"}
    if audio_fd is not None:
        sources[audio_fd] = "audio"
    with selectors.DefaultSelector() as sel:
        for fd in sources:
            sel.register(fd, selectors.EVENT_READ)
        open_fds = set(sources)
        try:
            while open_fds:
                events = sel.select(timeout=60)
                if not events:
                    proc.kill()
                    chunks["errors"].append(b"the decoder stopped responding (60 s without output)\n")
                    break
                for key, _ in events:
                    data = os.read(key.fd, 1 << 20)
                    if data:
                        chunks[sources[key.fd]].append(data)
                    else:
                        sel.unregister(key.fd)
                        open_fds.discard(key.fd)
        finally:
            if audio_fd is not None:
                os.close(audio_fd)
    return b"".join(chunks["video"]), b"".join(chunks["audio"]), b"".join(chunks["errors"])


def _read_frames(path: Path, clip, duration: float, fps: float) -> np.ndarray:
    """The frames at FRAME_TIMES, read forward in one ffmpeg pass; past the end the last frame repeats."""
    last_t = max(0.0, duration - 1.0 / fps) if fps > 0 else duration
    frames: list[np.ndarray] = []
    previous_t = -1.0
    ended = False
    for t in FRAME_TIMES:
        t = min(t, last_t)
        if frames and (ended or t <= previous_t):
            frames.append(frames[-1])
            continue
        previous_t = t
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            frame = clip.get_frame(t)
        # moviepy warns "... bytes wanted but N bytes read" and hands back the previous frame.
        if any("bytes wanted" in str(w.message) for w in caught):
            # The video stream ended before the container's duration: fine (audio may run longer)
            # unless ffmpeg reported decoding errors on the way.
            complaint = _exit_complaint(clip.reader.proc)
            if complaint and t < duration - END_TOLERANCE_S:
                raise MediaError(path, f"corrupt video: frames stop at {t:.1f} s of {duration:.1f} s "
                                       f"(ffmpeg: {complaint})")
            ended = True
            frame = frames[-1]
        frames.append(np.asarray(frame)[..., :3])
    return np.stack(frames).astype(np.uint8, copy=False)


def _exit_complaint(proc: subprocess.Popen | None) -> str:
    """The main error an ffmpeg reader printed before closing its output ('' when it ended cleanly)."""
    if proc is None or proc.stderr is None:
        return ""
    try:
        proc.wait(timeout=5)  # it closed stdout, so it is exiting
    except subprocess.TimeoutExpired:
        return "the decoder stopped responding"
    lines = _messages(proc.stderr.read().decode("utf-8", errors="replace"))
    return max(lines, key=lines.count) if lines else ""


def _read_audio(path: Path) -> np.ndarray:
    """The first 6 s of audio, downmixed to mono by ffmpeg, zero-padded to N_SAMPLES."""
    from moviepy.audio.io.readers import FFMPEG_AudioReader

    try:
        reader = FFMPEG_AudioReader(str(path), buffersize=N_SAMPLES, fps=SAMPLE_RATE, nbytes=2, nchannels=1)
    except _MOVIEPY_ERRORS as exc:
        raise MediaError(path, f"unreadable audio track ({_ffmpeg_reason(str(exc))})") from exc
    try:
        available = min(N_SAMPLES, reader.n_frames)
        # moviepy's get_frame(array) mishandles requests wider than half its buffer: ask in halves.
        step = max(1, reader.buffersize // 2)
        parts = [reader.get_frame(np.arange(s, min(s + step, available)) / SAMPLE_RATE)
                 for s in range(0, available, step)]
    finally:
        proc = reader.proc
        reader.close()
        _reap(proc)
    audio = np.zeros(N_SAMPLES, dtype=np.float32)
    if parts:
        samples = np.concatenate(parts)[:, 0]
        audio[: samples.size] = samples
    return audio


def _ffmpeg_reason(message: str) -> str:
    """One line for a failed `ffmpeg -i`: the known cases by name, otherwise ffmpeg's last words."""
    if "moov atom not found" in message:
        return "corrupt or truncated MP4: no 'moov' index"
    if "Invalid data found when processing input" in message:
        return "not a video file, or a format ffmpeg cannot read"
    return f"ffmpeg cannot read it: {_last_line(message) or 'unknown error'}"


def _decoder_error(path: Path) -> str:
    """ffmpeg's own complaint when decoding the first frame, as ' (...)' (empty if it says nothing)."""
    import imageio_ffmpeg

    cmd = [imageio_ffmpeg.get_ffmpeg_exe(), "-nostdin", "-v", "error", "-i", str(path), "-map", "0:v:0",
           "-frames:v", "1", "-f", "null", "-"]
    try:
        done = subprocess.run(cmd, capture_output=True, timeout=30, check=False)
    except subprocess.TimeoutExpired:
        return " (ffmpeg timed out)"
    line = _diagnosis(done.stderr.decode("utf-8", errors="replace"))
    return f" (ffmpeg: {line})" if line else ""


def _diagnosis(stderr: str) -> str:
    """The line that says what is wrong in ffmpeg's error output ('' when it printed nothing)."""
    lines = _messages(stderr)
    useful = [ln for ln in lines if not ln.startswith("Nothing was written")] or lines
    # a broken stream repeats its complaint once per packet: the most frequent line is the diagnosis
    return max(useful, key=useful.count) if useful else ""


def _last_line(text: str) -> str:
    lines = _messages(text)
    return lines[-1] if lines else ""


def _messages(text: str) -> list[str]:
    """ffmpeg's stderr lines without their "[h264 @ 0x55d...]" prefixes, at most 200 characters each."""
    out = []
    for line in text.splitlines():
        line = line.strip()
        while line.startswith("[") and "] " in line:
            line = line.split("] ", 1)[1].strip()
        if line:
            out.append(line[:200])
    return out


def _close_clip(clip) -> None:
    proc = clip.reader.proc if clip.reader is not None else None
    clip.close()
    _reap(proc)


def _reap(proc: subprocess.Popen | None) -> None:
    """Finish what moviepy's close() leaves behind: it skips the pipes of an ffmpeg that already exited."""
    if proc is None:
        return
    for stream in (proc.stdout, proc.stderr):
        if stream is not None and not stream.closed:
            stream.close()
    if proc.poll() is None:
        proc.kill()
    proc.wait(timeout=10)
