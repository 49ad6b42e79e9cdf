"""Exports that let corrections leave the tool: labels (a manifest `python -m app ingest` reads back), label
history, a model's predictions and the label-issue queue, as CSV or JSON lines; labels also as a Label Studio
task list or a FiftyOne video classification dataset, media beside them (app.services.interop).

Rows are streamed from the database into a temporary file beside the target, renamed over it at the end
(a failed export never leaves half a file that looks complete), and described by `FILE.meta.json`: which
label snapshot, model version or prediction set they came from, and how many rows.
"""
from __future__ import annotations

import os
import shutil
from collections.abc import Collection, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from app.context import AppContext
from app.errors import UserError
from app.services.export_formats import ALL_KINDS, FORMATS, formats_for
from app.services.models import is_shallow
from core.fileio import atomic_write_json, make_dirs
from db import queries, repo
from db.session import session_scope

KINDS = ALL_KINDS
COLUMNS = {
    "labels": ["filename", "caption", "venue", "video_id", "sha256", "split", "version"],
    "history": ["label_id", "video_id", "filename", "sha256", "venue", "previous_venue", "who", "reason",
                "created_at"],
    "predictions": ["video_id", "filename", "label", "predicted", "confidence", "label_probability", "entropy",
                    "split", "top5", "model_version_id"],
    "issues": ["rank", "video_id", "filename", "label", "suggested", "score", "label_probability",
               "suggested_probability", "likely_wrong", "split", "source"],
}


class ExportError(UserError):
    """An export that cannot be written (unknown kind or format, no model, no such version...)."""


@dataclass(frozen=True)
class ExportReport:
    path: Path
    meta_path: Path
    rows: int
    meta: dict[str, Any]
    media_copied: int = 0


def export(ctx: AppContext, kind: str, *, fmt: str = "csv", out: Path, model_id: int | None = None,
           with_media: bool = False, actor: str = "cli", video_ids: Collection[int] | None = None) -> ExportReport:
    """Write one export to `out` (and its description to `out`.meta.json). With `with_media` (labels only),
    the media files are linked or copied beside the manifest under its file names, so the folder can be
    ingested into a fresh home as it is. With `video_ids`, only the rows of those videos (a selection)."""
    _may_export(ctx, actor)
    if kind not in KINDS:
        raise ExportError(f"unknown export {kind!r}: choose from {', '.join(KINDS)}")
    if fmt not in FORMATS:
        raise ExportError(f"unknown format {fmt!r}: choose from {', '.join(FORMATS)}")
    spec = FORMATS[fmt]
    if with_media and kind != "labels":
        raise ExportError("--with-media goes with the labels export only")
    if kind not in spec.kinds:
        raise ExportError(f"the {fmt} format holds {', '.join(spec.kinds)} only; for {kind} choose from "
                          f"{', '.join(f.name for f in formats_for(kind))}")
    out = Path(out)
    if out.is_dir():
        raise ExportError(f"{out} is a folder: give a file name, e.g. {out / (kind + '.' + fmt)}")
    meta: dict[str, Any] = {"kind": kind, "format": fmt, "written_at": datetime.now(UTC).isoformat(timespec="seconds")}
    keep = None if video_ids is None else {int(v) for v in video_ids}
    if keep is not None:
        meta["videos"] = len(keep)
    with session_scope(ctx.engine) as session:
        meta["label_snapshot"] = {"label_id": repo.newest_label_id(session), "at": meta["written_at"]}
        model = None
        if kind == "predictions":
            model = repo.get_model_version(session, model_id=model_id) if model_id else repo.active_model(session)
            if model is None:
                raise ExportError(f"no model version {model_id}" if model_id
                                  else "no active model: name one with --model")
            if is_shallow(model.architecture) and not queries.has_predictions(session, model_version_id=model.id):
                raise ExportError(f"model version {model.id} is a shallow baseline: it stores no predictions per video")
            meta["model"] = {"id": model.id, "name": model.name, "architecture": model.architecture}
        else:
            active = repo.active_model(session)
            meta["model"] = {"id": active.id, "name": active.name} if active else None
    if model is not None:
        with session_scope(ctx.engine) as session:
            missing = not queries.has_predictions(session, model_version_id=model.id)
        if missing:  # computed once and cached, as `compare` does
            from app.services.models import recompute_predictions

            recompute_predictions(ctx, model.id)
    source = None
    if kind == "issues":
        from app.services.annotate import queue_source

        source = queue_source(ctx)
        if source.kind == "none":
            raise ExportError("no label issues yet: run `python -m app crossval` (or train a model) first")
        meta["prediction_set"] = {"kind": source.kind, "name": source.name, "set_id": source.set_id,
                                  "model_id": source.model_id, "labels_changed_since": source.stale_labels}
    if spec.media_dir is not None:  # the format's media always go beside it, in its folder
        media_dir: Path | None = out.parent / spec.media_dir
    else:
        media_dir = out.parent if with_media else None
    counter = {"rows": 0, "media": 0}
    rows = _only(keep, _rows(ctx, kind, model.id if model else None, source, media_dir, counter, keep))
    counter["rows"] = spec.write(out, rows, COLUMNS[kind])
    return _finish(ctx, actor, kind, out, meta, counter)


def _only(keep: set[int] | None, rows: Iterator[dict[str, Any]]) -> Iterator[dict[str, Any]]:
    """The rows of the kept videos (all rows when keep is None)."""
    return rows if keep is None else (row for row in rows if int(row["video_id"]) in keep)


def _finish(ctx: AppContext, actor: str, kind: str, out: Path, meta: dict[str, Any],
            counter: dict[str, int]) -> ExportReport:
    """Describe the written file in `out`.meta.json and audit the export."""
    meta["rows"] = counter["rows"]
    meta_path = out.with_name(out.name + ".meta.json")
    atomic_write_json(meta_path, meta, indent=2, default=str)
    _audit(ctx, actor, kind, out, meta)
    return ExportReport(out, meta_path, counter["rows"], meta, counter["media"])


def _may_export(ctx: AppContext, actor: str) -> None:
    """The command line (the operator of this machine, actor `cli...`) or an account whose role allows export;
    PermissionDenied for an anonymous visitor."""
    if actor == "cli" or actor.startswith("cli:"):
        return
    from app.services.accounts import require

    require(ctx, name=actor or None, action="export")


def _audit(ctx: AppContext, actor: str, kind: str, out: Path, meta: dict[str, Any]) -> None:
    """Exports are security-relevant: labels leave the tool."""
    from app.services import audit

    audit.record(ctx, actor=actor, action="export", target=str(out), detail={"kind": kind, "rows": meta.get("rows")})


def _rows(ctx: AppContext, kind: str, model_id: int | None, source: Any, media_dir: Path | None,
          counter: dict[str, int], keep: set[int] | None = None) -> Iterator[dict[str, Any]]:
    with session_scope(ctx.engine) as session:
        if kind == "labels":
            used: set[str] = set()
            for vid, name, caption, venue, sha, path, split, version in queries.iter_label_manifest(session):
                if keep is not None and vid not in keep:
                    continue  # before its media is placed
                filename = _unique(name, vid, used)
                if media_dir is not None:
                    counter["media"] += _place_media(ctx.settings.home / path, media_dir / filename)
                yield {"filename": filename, "caption": caption, "venue": venue, "video_id": vid, "sha256": sha,
                       "split": split, "version": version}
        elif kind == "history":
            for lid, vid, name, sha, venue, prev, who, reason, at in queries.iter_label_history(session):
                yield {"label_id": lid, "video_id": vid, "filename": name, "sha256": sha, "venue": venue,
                       "previous_venue": prev, "who": who, "reason": reason, "created_at": at.isoformat()}
        elif kind == "predictions":
            names = repo.venue_names(session)
            for vid, name, label, pred, conf, label_p, ent, topk, split in queries.iter_predictions(
                    session, model_version_id=model_id):
                yield {"video_id": vid, "filename": name, "label": label, "predicted": pred,
                       "confidence": round(conf, 6),
                       "label_probability": None if label_p is None else round(label_p, 6),
                       "entropy": round(ent, 6), "split": split,
                       "top5": [[names.get(v, str(v)), round(p, 6)] for v, p in topk], "model_version_id": model_id}
        else:
            rows: Iterator[queries.IssueRow]
            if source.kind == "crossval":
                rows = queries.iter_issue_rows(session, set_id=source.set_id)
            else:
                rows = _paged_fallback(session, source)
            for rank, r in enumerate(rows, start=1):
                yield {"rank": rank, "video_id": r.id, "filename": r.original_name, "label": r.label,
                       "suggested": r.suggested, "score": round(r.score, 6),
                       "label_probability": round(r.label_probability, 6),
                       "suggested_probability": round(r.suggested_probability, 6), "likely_wrong": r.is_issue,
                       "split": r.split, "source": source.name}


def _paged_fallback(session: Any, source: Any) -> Iterator[queries.IssueRow]:
    model = repo.get_model_version(session, model_id=source.model_id)
    split = model.config.get("split", {}) if model else {}
    ids = None if split.get("kind") == "stable" else tuple(split.get("test", []))
    offset = 0
    while True:
        page = queries.test_split_queue(session, model_version_id=source.model_id, limit=2000, offset=offset,
                                        test_video_ids=ids)
        yield from page
        if len(page) < 2000:
            return
        offset += len(page)


def _unique(name: str, video_id: int, used: set[str]) -> str:
    """The file name in the manifest: the original one, made unique with the video id when two share it."""
    if name in used or not name:
        stem, dot, ext = name.rpartition(".")
        name = f"{stem or 'video'}-{video_id}.{ext}" if dot else f"{name or 'video'}-{video_id}.mp4"
    used.add(name)
    return name


def _place_media(src: Path, dest: Path) -> int:
    """Hard-link (or copy) one stored media file to `dest`; 1 when placed, 0 when it was already there."""
    if dest.exists():
        return 0
    make_dirs(dest.parent)
    try:
        os.link(src, dest)
    except OSError:
        shutil.copyfile(src, dest)
    return 1
