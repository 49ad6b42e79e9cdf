"""Ingest: copy video files into EASTERN_HOME under content-addressed names and record them.

A file is judged by its content (core.media.probe), never by its name: anything with a video stream that
ffmpeg reads and that is within the media limits (app/services/media_limits.py) is accepted. Every bad file
gets one clear line (file and reason); a folder's files that are not videos are listed as skipped. Re-ingesting
a file already stored is a no-op.
"""
from __future__ import annotations

import csv
import io
import re
import shutil
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from app.context import AppContext
from app.errors import UserError
from app.services.media_limits import over_limit
from core.csvcells import restore
from core.fileio import atomic_path, sha256_file
from core.media import MediaError, MediaInfo, probe
from db import repo
from db.session import session_scope

# Names that claim a video: in a folder, such a file that is not one is an error; any other non-video is skipped.
# Acceptance never depends on this list: the content decides.
VIDEO_EXTENSIONS = {
    ".mp4", ".m4v", ".mov", ".qt", ".webm", ".mkv", ".avi", ".mpg", ".mpeg", ".m2v", ".vob", ".ts", ".mts",
    ".m2ts", ".3gp", ".3g2", ".flv", ".f4v", ".wmv", ".asf", ".ogv", ".mxf", ".dv", ".divx", ".rm", ".rmvb",
}
MANIFEST_EXTENSIONS = {".csv"}
_SAFE_SUFFIX = re.compile(r"\.[a-z0-9]{1,8}")


class IngestError(UserError):
    """A file that cannot be ingested; the message names the file and the reason."""

    def __init__(self, name: str, reason: str):
        super().__init__(f"{name}: {reason}")
        self.name = name
        self.reason = reason


@dataclass
class IngestItem:
    """One file to ingest: where it is, its caption and (optionally) its venue label."""

    source: Path
    name: str
    caption: str = ""
    venue: str | None = None
    optional: bool = False  # found in a folder: when it is not a video it is skipped, not an error


class NotAVideo(IngestError):
    """The file's content is not a video ffmpeg reads (an optional item is then skipped)."""


@dataclass
class IngestReport:
    added: list[int] = field(default_factory=list)
    duplicates: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)  # accepted with a remark (no audio, padded, ...)
    errors: list[IngestError] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)  # a folder's files that are not videos, with the reason
    copies: Any = None  # app.services.proxies.ProxyReport: the new videos' thumbnails and browser copies

    @property
    def ok(self) -> bool:
        return not self.errors

    def lines(self) -> list[str]:
        """Human-readable lines, errors first."""
        out = [f"ERROR {e}" for e in self.errors]
        out += [f"note  {n}" for n in self.notes]
        out += [f"skip  {d}" for d in self.duplicates]
        out += [f"skip  {s}" for s in self.skipped]
        out.append(
            f"ingested {len(self.added)} video(s), {len(self.duplicates)} already present, "
            f"{len(self.errors)} failed" + (f", {len(self.skipped)} skipped (not videos)" if self.skipped else "")
        )
        return out


def clean_caption(raw: str | bytes | None) -> str:
    """Any Unicode is kept; invalid bytes become U+FFFD; control characters are dropped."""
    if raw is None:
        return ""
    text = raw.decode("utf-8", errors="replace") if isinstance(raw, bytes) else raw
    text = "".join(ch for ch in text if ch in "\n\t" or unicodedata.category(ch)[0] != "C")
    return text.strip()[:2000]


MAX_NAME_BYTES = 200  # a file name, in UTF-8 (file systems stop at 255)
_PROTOCOL = re.compile(r"^[A-Za-z][A-Za-z0-9+.\-]*:")  # concat:, file:, http:, ... (ffmpeg's protocols)


def safe_name(name: str) -> str:
    """Refuse names that would leave the manifest's folder (separators, `..`, absolute paths), that ffmpeg would
    read as a protocol (`concat:a.mp4|b.mp4`), or that are too long for a file system."""
    if not name or name.strip() != name:
        raise IngestError(name or "<empty>", "empty or padded file name")
    if len(name.encode("utf-8", errors="replace")) > MAX_NAME_BYTES:
        raise IngestError(name[:60] + "…", f"file name longer than {MAX_NAME_BYTES} bytes: rename the file")
    if _PROTOCOL.match(name):
        raise IngestError(name, "file names may not start with a protocol prefix such as 'concat:' or 'file:'")
    if "/" in name or "\\" in name or name in {".", ".."} or ".." in Path(name).parts or "\x00" in name:
        raise IngestError(name, "file names may not contain path separators or '..'")
    return name


def read_manifest(path: Path) -> list[IngestItem | IngestError]:
    """Rows of a `filename,caption,venue` CSV (caption and venue optional), spreadsheet-neutralised cells
    restored (core.csvcells). Bytes that are not UTF-8 are replaced, so one bad caption does not lose the file."""
    text = path.read_bytes().decode("utf-8-sig", errors="replace")
    reader = csv.DictReader(io.StringIO(text))
    if not reader.fieldnames or "filename" not in [f.strip().lower() for f in reader.fieldnames]:
        raise IngestError(path.name, "manifest needs a header with a 'filename' column")
    rows: list[IngestItem | IngestError] = []
    for number, row in enumerate(reader, start=2):
        row = {(k or "").strip().lower(): restore(v or "") for k, v in row.items() if isinstance(v, str | None)}
        name = row.get("filename", "")
        try:
            safe_name(name)
        except IngestError as exc:
            rows.append(IngestError(f"{path.name} line {number} ({name!r})", exc.reason))
            continue
        venue = row.get("venue", "").strip() or None
        try:
            source = inside(path.parent, path.parent / name)
        except IngestError as exc:
            rows.append(IngestError(f"{path.name} line {number} ({name!r})", exc.reason))
            continue
        rows.append(IngestItem(source, name, clean_caption(row.get("caption")), venue))
    return rows


def inside(folder: Path, path: Path) -> Path:
    """The absolute path of `path` (never a relative name ffmpeg could read as a protocol); IngestError when it
    is a link that leads out of `folder`."""
    absolute = folder.resolve() / path.name
    target = absolute.resolve()
    if absolute.is_symlink() and folder.resolve() not in target.parents:
        raise IngestError(path.name, "a symbolic link that leads out of the ingested folder: copy the file in")
    return absolute


def collect(path: Path) -> list[IngestItem | IngestError]:
    """The items behind PATH: a manifest CSV, a folder of videos (every regular file that is not hidden; those that
    are not videos are skipped later), one video file, or a Label Studio / FiftyOne export (app.services.interop: a
    .json export, a FiftyOne dataset folder or class-folder tree)."""
    if not path.exists():
        raise IngestError(str(path), "no such file or folder")
    from app.services import interop

    if (found := interop.read_export(path)) is not None:
        return found
    if path.is_dir():
        items: list[IngestItem | IngestError] = []
        for child in sorted(path.iterdir()):
            if child.is_file() and not child.name.startswith("."):
                claims_video = child.suffix.lower() in VIDEO_EXTENSIONS
                try:
                    items.append(IngestItem(inside(path, child), safe_name(child.name), optional=not claims_video))
                except IngestError as exc:
                    items.append(exc)
        return items
    if path.suffix.lower() in MANIFEST_EXTENSIONS:
        return read_manifest(path)
    return [IngestItem(path.resolve(), path.name)]


sha256_of = sha256_file  # the name the ingest paths and tests use


def stored_suffix(name: str, container_extension: str) -> str:
    """The stored copy's extension: the file's own video extension, lowercased, else the container's usual one
    (a browser and ffmpeg both guess from it)."""
    suffix = Path(name).suffix.lower()
    if suffix in VIDEO_EXTENSIONS or (not container_extension and _SAFE_SUFFIX.fullmatch(suffix)):
        return suffix
    return container_extension


def _store_copy(ctx: AppContext, src: Path, sha: str, suffix: str) -> str:
    """Copy into media/<aa>/<sha><ext> atomically; returns the path relative to EASTERN_HOME."""
    rel = Path("media") / sha[:2] / f"{sha}{suffix}"
    dest = ctx.settings.home / rel
    if not dest.exists():
        # The partial copy lives outside media/ (same file system, so the rename is atomic): a process killed
        # mid-copy leaves no half file among the media, only a .part- file in tmp/ that `doctor --fix` removes.
        with atomic_path(dest, prefix=".part-", suffix="", temp_dir=ctx.settings.home / "tmp") as tmp:
            shutil.copyfile(src, tmp)
    return rel.as_posix()


def notes_for(name: str, meta: MediaInfo) -> list[str]:
    """The remarks an accepted file gets (no audio, padded, cut to 6 s)."""
    notes = []
    if not meta.has_audio:
        notes.append(f"{name}: no audio track (accepted, acoustic features are zeros)")
    if meta.duration < 5.95:
        notes.append(f"{name}: {meta.duration:.1f} s long, padded to 6 s by repeating the last frame")
    elif meta.duration > 6.05:
        notes.append(f"{name}: {meta.duration:.1f} s long, only the first 6 s are used")
    return notes


def admit(ctx: AppContext, item: IngestItem):  # noqa: ANN201 - core.probe.MediaInfo
    """The checks a file passes before anything is copied or hashed: it exists, is not empty, its content is a video
    (probed from the header in milliseconds, so a folder's large non-video files are never hashed) and within the
    media limits. Returns its probe; IngestError / NotAVideo with the reason otherwise."""
    name = item.name
    if not item.source.is_file():
        raise IngestError(name, "file not found")
    if item.source.stat().st_size == 0:
        raise NotAVideo(name, "empty file (0 bytes)")
    try:
        meta = probe(item.source)
    except MediaError as exc:
        raise NotAVideo(name, exc.reason) from exc
    refusal = over_limit(meta, ctx.settings)
    if refusal:
        raise IngestError(name, refusal)
    return meta


def ingest_item(ctx: AppContext, item: IngestItem, *, who: str, source: str, report: IngestReport) -> int | None:
    """Ingest one file; problems go into the report. Returns the new video id, if any."""
    name = item.name
    try:
        meta = admit(ctx, item)
        sha = sha256_of(item.source)
        with session_scope(ctx.engine) as session:
            existing = repo.find_video_by_sha(session, sha256=sha)
            venue_id = repo.venue_id(session, name=item.venue) if item.venue else None
        if existing is not None:
            report.duplicates.append(f"{name}: already ingested as video {existing.id}")
            return None
        report.notes += notes_for(name, meta)
        rel = _store_copy(ctx, item.source, sha, stored_suffix(name, meta.extension))
        with session_scope(ctx.engine) as session:
            video_id = repo.add_video(
                session, sha256=sha, path=rel, original_name=name[:400], duration=meta.duration, fps=meta.fps,
                width=meta.width, height=meta.height, size_bytes=item.source.stat().st_size,
                has_audio=meta.has_audio, caption=clean_caption(item.caption), source=source,
            )
            if venue_id is not None:
                repo.set_label(session, video_id=video_id, venue_id=venue_id, who=who, reason=f"{source} label",
                               expected_version=None)
        report.added.append(video_id)
        return video_id
    except repo.UnknownVenue as exc:
        report.errors.append(IngestError(name, f"unknown venue category {exc.name!r} (create it with "
                                               "`python -m app venues add NAME`, or ingest with --new-venues)"))
    except NotAVideo as exc:
        if item.optional:
            report.skipped.append(str(exc))
        else:
            report.errors.append(exc)
    except IngestError as exc:
        report.errors.append(exc)
    except OSError as exc:
        report.errors.append(IngestError(name, f"cannot read file ({exc.strerror or exc})"))
    return None


def ingest_path(
    ctx: AppContext, path: Path, *, who: str = "ingest", source: str = "ingest",
    progress: Callable[[int, int], None] | None = None, new_venues_by: str | None = None,
) -> IngestReport:
    """Ingest a folder, a manifest CSV, one file or an export; with new_venues_by (an account), first create the
    venue categories the items name that do not exist yet."""
    report = IngestReport()
    try:
        items = collect(path)
    except IngestError as exc:
        report.errors.append(exc)
        return report
    if new_venues_by:
        from app.services.venues import create_named

        report.notes += create_named(ctx, [i for i in items if isinstance(i, IngestItem)], who=new_venues_by)
    for done, item in enumerate(items, start=1):
        if isinstance(item, IngestError):
            report.errors.append(item)
        else:
            ingest_item(ctx, item, who=who, source=source, report=report)
        if progress:
            progress(done, len(items))
    if report.added:  # the new videos' stable splits, balanced per label over the whole batch
        from app.services.proxies import make_missing
        from app.services.splits import ensure_splits

        ensure_splits(ctx)
        # thumbnails + browser copies now (~0.3 s a video): playable and shown in Browse before any features run
        report.copies = make_missing(ctx, video_ids=report.added)
    return report
