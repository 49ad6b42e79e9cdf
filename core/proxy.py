"""Browser copies: whether a stored video plays as it is in every current browser, an H.264 proxy when it does
not, and an upright poster thumbnail. Files are content-addressed under a root folder (EASTERN_HOME):
`proxies/<aa>/<sha>.mp4` and `thumbs/<aa>/<sha>.jpg`, written atomically by the bundled ffmpeg."""
from __future__ import annotations

import subprocess
from dataclasses import dataclass
from pathlib import Path

from core.fileio import atomic_path
from core.probe import MediaError, MediaInfo, probe

VERSION = "p1"  # the proxy recipe below; bump it when the recipe changes
MAX_SIDE = 720  # longest side of a proxy, pixels
THUMB_SIDE = 320  # longest side of a thumbnail, pixels
MAX_FPS = 60.0
TIMEOUT_S = 300

PLAYABLE_CONTAINERS = {"mov,mp4,m4a,3gp,3g2,mj2"}  # mp4 / mov / m4v: Safari's containers too
PLAYABLE_AUDIO = {None, "aac", "mp3"}
PLAYABLE_PIXELS = {"yuv420p", "yuvj420p"}
CODEC_REASONS = {  # why an original in this codec needs a browser copy
    "hevc": "HEVC: Chromium plays its sound over a black picture",
    "prores": "ProRes: no browser plays it",
    "mpeg2video": "MPEG-2: browsers do not play it",
    "mpeg1video": "MPEG-1: browsers do not play it",
    "h263": "H.263: browsers do not play it",
    "mpeg4": "MPEG-4 Part 2: browsers do not play it",
    "mjpeg": "Motion JPEG: browsers do not play it",
    "vp8": "VP8: Safari does not play it",
    "vp9": "VP9: Safari does not play it in every container",
    "av1": "AV1: older Safari and Firefox do not play it",
}


class ProxyError(Exception):
    """ffmpeg could not write a browser copy or thumbnail; the message is `<filename>: <reason>`."""

    def __init__(self, path: str | Path, reason: str):
        self.path = Path(path)
        self.reason = reason
        super().__init__(f"{self.path.name}: {reason}")


@dataclass(frozen=True)
class Made:
    """What `ensure` wrote for one video (False: it was there already, or not needed)."""

    thumbnail: bool = False
    proxy: bool = False


def browser_playable(info: MediaInfo) -> tuple[bool, str]:
    """Whether the original plays as it is in current Chromium, Firefox and Safari, and if not, why (one line)."""
    codec = info.video_codec or "unknown"
    if codec != "h264":
        return False, CODEC_REASONS.get(codec, f"{codec.upper()}: browsers do not play it")
    if (info.pixel_format or "") not in PLAYABLE_PIXELS:
        depth = f"{info.bit_depth}-bit " if info.bit_depth and info.bit_depth > 8 else ""
        return False, f"H.264 {depth}{info.pixel_format}: Firefox and Safari show no picture"
    if (info.container or "") not in PLAYABLE_CONTAINERS:
        name = (info.container or "unknown").split(",")[0]
        return False, f"H.264 in {name}: Safari does not play this container"
    if info.audio_codec not in PLAYABLE_AUDIO:
        return False, f"{info.audio_codec} sound: not every browser plays it"
    if info.rotation:
        return False, f"turned {info.rotation}° by a tag: browsers disagree on applying it"
    if info.variable_frame_rate:
        return False, "variable frame rate: frame steps would be uneven"
    return True, "plays in every browser as it is"


def proxy_path(root: str | Path, sha256: str) -> Path:
    """Where the browser copy of the video with this sha256 lives."""
    return Path(root) / "proxies" / sha256[:2] / f"{sha256}.mp4"


def thumb_path(root: str | Path, sha256: str) -> Path:
    """Where the thumbnail of the video with this sha256 lives."""
    return Path(root) / "thumbs" / sha256[:2] / f"{sha256}.jpg"


def _ffmpeg() -> str:
    import imageio_ffmpeg

    return imageio_ffmpeg.get_ffmpeg_exe()


def _fit(side: int) -> str:
    """A scale filter: longest side at most `side`, even dimensions, square pixels (rotation already applied)."""
    k = f"min(1\\,{side}/max(iw\\,ih))"
    return f"scale=w=trunc({k}*iw/2)*2:h=trunc({k}*ih/2)*2,setsar=1"


def _run(cmd: list[str], src: Path, out: Path) -> None:
    try:
        done = subprocess.run(cmd, capture_output=True, timeout=TIMEOUT_S, stdin=subprocess.DEVNULL)
    except subprocess.TimeoutExpired as exc:
        raise ProxyError(src, f"ffmpeg took over {TIMEOUT_S} s") from exc
    if done.returncode != 0 or not out.exists() or out.stat().st_size == 0:
        lines = done.stderr.decode("utf-8", "replace").strip().splitlines()
        raise ProxyError(src, f"ffmpeg wrote nothing ({lines[-1][:200] if lines else f'exit {done.returncode}'})")


def write_proxy(src: str | Path, dest: str | Path, info: MediaInfo | None = None) -> Path:
    """An H.264 yuv420p + AAC mp4 (faststart, rotation applied, constant frame rate, longest side <= MAX_SIDE)
    of `src` at `dest`, atomically. Raises MediaError (unreadable source) or ProxyError (ffmpeg failed)."""
    src, dest = Path(src), Path(dest)
    info = info or probe(src)
    fps = min(info.fps, MAX_FPS) if info.fps and info.fps > 0 else 30.0
    with atomic_path(dest, prefix=".part-", suffix=".mp4", private=False) as tmp:
        cmd = [_ffmpeg(), "-nostdin", "-y", "-loglevel", "error", "-i", str(src), "-map", "0:v:0", "-map", "0:a:0?",
               "-vf", f"{_fit(MAX_SIDE)},format=yuv420p", "-c:v", "libx264", "-preset", "veryfast", "-crf", "23",
               "-profile:v", "high", "-r", f"{fps:.6g}", "-fps_mode", "cfr", "-c:a", "aac", "-b:a", "128k",
               "-ac", "2", "-movflags", "+faststart", "-f", "mp4", str(tmp)]
        _run(cmd, src, tmp)
    return dest


def write_thumbnail(src: str | Path, dest: str | Path, info: MediaInfo | None = None) -> Path:
    """An upright JPEG poster frame (0.5 s in, longest side THUMB_SIDE) of `src` at `dest`, atomically.
    Raises MediaError or ProxyError."""
    src, dest = Path(src), Path(dest)
    info = info or probe(src)
    at = 0.5 if info.duration > 1.0 else 0.0  # the first frame is often a fade from black
    with atomic_path(dest, prefix=".part-", suffix=".jpg", private=False) as tmp:
        for seek in ((["-ss", f"{at}"] if at else []), []):  # some MPEG-TS seek to nothing: then the first frame
            cmd = [_ffmpeg(), "-nostdin", "-y", "-loglevel", "error", *seek, "-i", str(src), "-frames:v", "1",
                   "-vf", _fit(THUMB_SIDE), "-q:v", "4", "-f", "image2", "-update", "1", str(tmp)]
            try:
                _run(cmd, src, tmp)
                break
            except ProxyError:
                if not seek:
                    raise
    return dest


def ensure(src: str | Path, root: str | Path, sha256: str, *, rebuild: bool = False) -> Made:
    """Write what is missing for one video: its thumbnail, and a proxy when the original does not play
    everywhere (`rebuild`: write both again). Raises MediaError or ProxyError."""
    thumb, proxy = thumb_path(root, sha256), proxy_path(root, sha256)
    need_thumb = rebuild or not thumb.exists()
    need_proxy = rebuild or not proxy.exists()
    if not (need_thumb or need_proxy):
        return Made()
    info = probe(src)
    made_proxy = False
    if need_proxy and not browser_playable(info)[0]:
        write_proxy(src, proxy, info)
        made_proxy = True
    if need_thumb:
        write_thumbnail(src, thumb, info)
    return Made(thumbnail=need_thumb, proxy=made_proxy)


__all__ = ["MediaError", "ProxyError", "Made", "browser_playable", "proxy_path", "thumb_path", "write_proxy",
           "write_thumbnail", "ensure", "VERSION"]
