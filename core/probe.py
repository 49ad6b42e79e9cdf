"""What a media file is, read from its content (never its name): container, streams, codecs, displayed size.

`probe` opens the file with PyAV (libavformat in-process, no frame decoded), after cheap byte checks that give
precise one-line reasons for what ffmpeg would only describe vaguely (empty, text or image named .mp4,
truncated MP4). Every failure is a MediaError with a one-line reason.
"""
from __future__ import annotations

import math
import struct
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

_ISO_BOXES = {b"ftyp", b"moov", b"mdat", b"free", b"skip", b"wide", b"pnot", b"styp", b"uuid"}
_NOT_VIDEO_MAGIC = (
    (b"\x89PNG\r\n\x1a\n", "a PNG image"),
    (b"\xff\xd8\xff", "a JPEG image"),
    (b"%PDF", "a PDF document"),
    (b"PK\x03\x04", "a ZIP archive"),
)
VFR_PACKETS = 48  # packets of the video stream whose timestamps decide "variable frame rate"
VFR_SPREAD = 1.5  # longest / shortest frame interval above this: variable frame rate
DECODE_PROBE_MAX_PIXELS = 40_000_000  # larger frames are probed without decoding one (RAM of the probing process)
_NO_DECODE = [{"skip_frame": "all"}] * 64  # codec options of each stream while libavformat looks at the file
MAX_MOOV_BYTES = 64 << 20  # the index we read for the rotation matrix; larger ones are not parsed

# libavformat demuxer name -> the extension a stored copy gets when the file's own name has none
CONTAINER_EXTENSIONS = {
    "mov,mp4,m4a,3gp,3g2,mj2": ".mp4", "matroska,webm": ".mkv", "mpeg": ".mpg", "mpegts": ".ts",
    "avi": ".avi", "flv": ".flv", "asf": ".wmv", "ogg": ".ogv", "mxf": ".mxf", "h264": ".h264",
}


class MediaError(Exception):
    """A file that cannot be decoded as a video; the message is `<filename>: <reason>`."""

    def __init__(self, path: str | Path, reason: str):
        self.path = Path(path)
        self.reason = reason
        super().__init__(f"{self.path.name}: {reason}")


@dataclass(frozen=True)
class MediaInfo:
    """Container metadata, read without decoding any frame. width/height are the displayed (rotated) size."""

    duration: float  # seconds of video
    fps: float  # average frame rate
    width: int
    height: int
    has_audio: bool
    video_codec: str | None = None  # libavcodec name: h264, hevc, vp9, av1, mpeg2video, prores, ...
    container: str | None = None  # libavformat demuxer name: "mov,mp4,m4a,3gp,3g2,mj2", "matroska,webm", ...
    profile: str | None = None  # of the video codec: "High", "Main 10", "Profile 0", ...
    pixel_format: str | None = None  # yuv420p, yuv422p10le, ...
    bit_depth: int | None = None  # bits per sample of the pixel format
    audio_codec: str | None = None
    rotation: int = 0  # clockwise degrees the stored picture is turned for display (0, 90, 180, 270)
    variable_frame_rate: bool = False
    video_streams: int = 1
    audio_streams: int = 0
    other_streams: int = 0  # subtitles, data, attachments

    @property
    def streams(self) -> int:
        return self.video_streams + self.audio_streams + self.other_streams

    @property
    def extension(self) -> str:
        """The usual extension of this container ('' when unknown)."""
        return CONTAINER_EXTENSIONS.get(self.container or "", "")


def probe(path: str | Path) -> MediaInfo:
    """What the file holds (container, streams, codecs, displayed size, duration, fps), without decoding."""
    import av

    path = Path(path)
    is_iso = _check_file(path)
    rotation = _iso_rotation(path) if is_iso else None
    try:
        # libavformat decodes a frame to learn the pixel format: first look with decoding off, so a huge frame
        # is never decoded in this process (its pixel format then stays unknown)
        info = _first_look(path, rotation)
        if info is None or (info.pixel_format is None and info.width * info.height <= DECODE_PROBE_MAX_PIXELS):
            with av.open(str(path), metadata_errors="replace") as container:
                info = _info_from(path, container, rotation)
        return info
    except av.error.FFmpegError as exc:
        raise MediaError(path, _av_reason(exc)) from exc
    except (OSError, ValueError, TypeError) as exc:  # PyAV's own checks on odd streams
        raise MediaError(path, f"ffmpeg cannot read it: {str(exc).splitlines()[0][:200] if str(exc) else exc!r}") \
            from exc


def _first_look(path: Path, rotation: int | None) -> MediaInfo | None:
    """The probe with every decoder off; None for a container whose streams appear only while probing (MPEG-PS)."""
    import av

    try:
        container = av.open(str(path), metadata_errors="replace", stream_options=_NO_DECODE)
    except ValueError:  # PyAV: per-stream options need streams known before avformat_find_stream_info
        return None
    with container:
        return _info_from(path, container, rotation)


def _info_from(path: Path, container, iso_rotation: int | None) -> MediaInfo:
    videos = [s for s in container.streams if s.type == "video"]
    audios = [s for s in container.streams if s.type == "audio"]
    if not videos:
        raise MediaError(path, f"no video stream{' (an audio-only file)' if audios else ''}")
    video = videos[0]
    duration = _seconds(video.duration, video.time_base) or (container.duration or 0) / 1_000_000
    if duration <= 0:
        raise MediaError(path, "no duration: a still image or a broken video stream")
    rate = video.average_rate or video.guessed_rate or video.base_rate
    fps = float(rate) if rate else 0.0
    rotation = iso_rotation if iso_rotation is not None else _tag_rotation(video.metadata)
    ctx = video.codec_context
    width, height = int(ctx.width or 0), int(ctx.height or 0)
    if rotation in (90, 270):  # ffmpeg rotates on decode: the size a viewer (and our decoder) sees
        width, height = height, width
    pixel_format = ctx.pix_fmt
    return MediaInfo(
        duration=duration, fps=fps, width=width, height=height, has_audio=bool(audios),
        video_codec=_codec_name(ctx), container=container.format.name, profile=video.profile, pixel_format=pixel_format,
        bit_depth=_bit_depth(pixel_format), audio_codec=_codec_name(audios[0].codec_context) if audios else None,
        rotation=rotation, variable_frame_rate=_variable_rate(container, video),
        video_streams=len(videos), audio_streams=len(audios),
        other_streams=len(container.streams) - len(videos) - len(audios),
    )


def _codec_name(ctx) -> str:
    """The codec's own name (av1), not its decoder's (libdav1d)."""
    return ctx.codec.canonical_name or ctx.name


def _seconds(value: int | None, time_base: Fraction | None) -> float:
    return float(value * time_base) if value and time_base else 0.0


def _bit_depth(pixel_format: str | None) -> int | None:
    import av

    if not pixel_format:
        return None
    try:
        return int(av.VideoFormat(pixel_format).components[0].bits)
    except (ValueError, IndexError, av.error.FFmpegError):
        return None


def _variable_rate(container, video) -> bool:
    """Whether the first packets' frame intervals differ (demuxed only, nothing decoded)."""
    times = []
    try:
        for packet in container.demux(video):
            if packet.pts is not None:
                times.append(packet.pts)
            if len(times) >= VFR_PACKETS:
                break
    except Exception:  # noqa: BLE001 - a damaged packet only leaves the rate undecided; decoding reports it
        pass
    times = sorted(set(times))
    steps = [b - a for a, b in zip(times, times[1:], strict=False)]
    if len(steps) < 3:
        return False
    steps = steps[:-1]  # the last packet read may be followed by one not yet read
    return max(steps) > VFR_SPREAD * min(steps)


def _tag_rotation(metadata: dict) -> int:
    """The `rotate` stream tag some demuxers still export (clockwise degrees)."""
    try:
        return int(round(float(metadata.get("rotate", 0)))) % 360
    except ValueError:
        return 0


def _iso_rotation(path: Path) -> int | None:
    """Clockwise rotation from the display matrix of the first visual track's 'tkhd' in an MP4/MOV
    (PyAV does not expose a stream's display matrix); None when there is none to read."""
    moov = _top_box(path, b"moov")
    if moov is None:
        return None
    for trak in _boxes(moov, b"trak"):
        for tkhd in _boxes(trak, b"tkhd"):
            version = tkhd[0] if tkhd else 0
            start = 4 + (32 if version == 1 else 20) + 16  # version/flags, times, ids, duration; reserved..volume
            fields = tkhd[start:start + 44]
            if len(fields) < 44:
                continue
            a, b = struct.unpack(">ii", fields[:8])
            width, height = struct.unpack(">II", fields[36:44])
            if width and height:  # the visual track (sound tracks have no size)
                return round(math.degrees(math.atan2(b, a))) % 360
    return None


def _top_box(path: Path, kind: bytes) -> bytes | None:
    """The payload of the first top-level box of this kind."""
    size = path.stat().st_size
    pos = 0
    with path.open("rb") as fh:
        while pos + 8 <= size:
            fh.seek(pos)
            header = fh.read(16)
            box_size, name = struct.unpack(">I4s", header[:8])
            head_len = 8
            if box_size == 1 and len(header) == 16:
                box_size, head_len = struct.unpack(">Q", header[8:16])[0], 16
            elif box_size == 0:
                box_size = size - pos
            if box_size < head_len:
                return None
            if name == kind:
                if box_size > MAX_MOOV_BYTES:
                    return None
                fh.seek(pos + head_len)
                return fh.read(box_size - head_len)
            pos += box_size
    return None


def _boxes(data: bytes, kind: bytes):
    """Payloads of the child boxes of this kind in a container box's payload."""
    pos = 0
    while pos + 8 <= len(data):
        box_size, name = struct.unpack(">I4s", data[pos:pos + 8])
        head_len = 8
        if box_size == 1 and pos + 16 <= len(data):
            box_size, head_len = struct.unpack(">Q", data[pos + 8:pos + 16])[0], 16
        elif box_size == 0:
            box_size = len(data) - pos
        if box_size < head_len:
            return
        if name == kind:
            yield data[pos + head_len:pos + box_size]
        pos += box_size


def _av_reason(exc: Exception) -> str:
    """One line for a PyAV open/demux failure: the known cases by name, otherwise ffmpeg's words."""
    import av

    message = getattr(exc, "strerror", None) or str(exc)
    if "moov atom not found" in message:
        return "corrupt or truncated MP4: no 'moov' index"
    if isinstance(exc, av.error.InvalidDataError) or "Invalid data found" in message:
        return "not a video file, or a format ffmpeg cannot read"
    return f"ffmpeg cannot read it: {message.splitlines()[0][:200] if message else 'unknown error'}"


def _check_file(path: Path) -> bool:
    """Reject what ffmpeg would only describe vaguely: missing, empty, non-video and truncated MP4 files.
    Returns whether the file is an ISO media file (MP4/MOV/3GP)."""
    try:
        size = path.stat().st_size
        if not path.is_file():
            raise MediaError(path, "not a regular file")
        if size == 0:
            raise MediaError(path, "empty file (0 bytes)")
        with path.open("rb") as fh:
            head = fh.read(4096)
    except FileNotFoundError as exc:
        raise MediaError(path, "file not found") from exc
    except OSError as exc:
        raise MediaError(path, f"cannot read file ({exc.strerror or exc})") from exc
    kind = _non_video_kind(head)
    if kind:
        raise MediaError(path, f"not a video file: it is {kind}")
    if head[4:8] in _ISO_BOXES:
        _check_iso_boxes(path, size)
        return True
    return False


def _non_video_kind(head: bytes) -> str | None:
    """What the first bytes say the file is, when that is certainly not a video."""
    for magic, kind in _NOT_VIDEO_MAGIC:
        if head.startswith(magic):
            return kind
    if head[:4] == b"RIFF" and head[8:12] in (b"WAVE", b"WEBP"):
        return "a WAV audio file" if head[8:12] == b"WAVE" else "a WebP image"
    try:
        text = head.decode("utf-8")
    except UnicodeDecodeError as exc:
        if exc.start < len(head) - 3:  # not just a character cut at the end of the sample
            return None
        text = head[: exc.start].decode("utf-8")
    if text and all(ch.isprintable() or ch in "\t\r\n\f" for ch in text):
        return "a text file"
    return None


def _check_iso_boxes(path: Path, size: int) -> None:
    """Walk the top-level MP4/MOV boxes: a box running past the end means the file was cut off."""
    seen: set[bytes] = set()
    pos = 0
    with path.open("rb") as fh:
        while pos + 8 <= size:
            fh.seek(pos)
            header = fh.read(16)
            box_size, kind = struct.unpack(">I4s", header[:8])
            if box_size == 1 and len(header) == 16:
                box_size = struct.unpack(">Q", header[8:16])[0]
            elif box_size == 0:  # "runs to the end of the file"
                box_size = size - pos
            if box_size < 8:
                raise MediaError(path, f"corrupt MP4: invalid box size at byte {pos}")
            if pos + box_size > size:
                name = kind.decode("latin-1")
                raise MediaError(path, f"truncated file: its '{name}' box needs {pos + box_size:,} bytes but the "
                                       f"file has {size:,} (incomplete download or copy?)")
            seen.add(kind)
            pos += box_size
    if b"moov" not in seen:
        raise MediaError(path, "corrupt MP4: no 'moov' index (the recording was never finished?)")
