"""Labels from and to Label Studio and FiftyOne: readers that give ingest its items, writers for `export labels`.

What `ingest PATH` recognises (anything else stays a plain folder, manifest or file):
- a `.json` file holding a list of tasks: a Label Studio export of video tasks with a Choices labelling;
  `data.video` (or the only video-like value in `data`) is a path relative to the export's folder, also in the
  `/data/local-files/?d=REL` and `/data/upload/N/NAME` forms; http(s) and cloud URLs are refused (no network).
  The label is the single choice of the newest annotation that was not cancelled.
- a `.json` file holding {"labels": ...}, or a folder with `labels.json` and `data/`: FiftyOne's
  FiftyOneVideoClassificationDataset (`labels` maps a file's stem to a class index into `classes`, or to
  {"label": NAME, ...}; null is unlabelled).
- a folder holding no video files itself and only subfolders with videos: FiftyOne's
  VideoClassificationDirectoryTree, each subfolder's name the label of the videos in it.
"""
from __future__ import annotations

import json
from collections.abc import Iterable
from pathlib import Path, PurePosixPath
from typing import Any
from urllib.parse import parse_qs, quote, unquote, urlsplit

from app.services.ingest import VIDEO_EXTENSIONS, IngestError, IngestItem, clean_caption
from core.fileio import atomic_write_json

Items = list[IngestItem | IngestError]
REMOTE = ("http://", "https://", "s3://", "gs://", "azure-blob://", "ftp://")


# ------------------------------------------------------------------ readers


def read_export(path: Path) -> Items | None:
    """The items of a Label Studio or FiftyOne export at PATH; None when PATH is not one."""
    if path.is_file() and path.suffix.lower() == ".json":
        data = _load_json(path)
        if isinstance(data, list):
            return read_labelstudio(path, data)
        if isinstance(data, dict) and "labels" in data:
            return read_fiftyone_dataset(path, data)
        raise IngestError(path.name, "a JSON export is a Label Studio task list or a FiftyOne labels.json "
                                     "({\"classes\", \"labels\"})")
    if path.is_dir():
        if (path / "labels.json").is_file() and (path / "data").is_dir():
            return read_fiftyone_dataset(path / "labels.json", _load_json(path / "labels.json"))
        if is_class_tree(path):
            return read_fiftyone_tree(path)
    return None


def _load_json(path: Path) -> Any:
    try:
        return json.loads(path.read_bytes().decode("utf-8-sig", errors="replace"))
    except json.JSONDecodeError as exc:
        raise IngestError(path.name, f"not valid JSON ({exc.msg}, line {exc.lineno})") from exc


def _is_video(p: Path) -> bool:
    return p.is_file() and p.suffix.lower() in VIDEO_EXTENSIONS


def is_class_tree(folder: Path) -> bool:
    """No video directly inside, and at least one subfolder holding videos (FiftyOne's directory tree)."""
    children = list(folder.iterdir())
    if any(_is_video(c) for c in children):
        return False
    return any(c.is_dir() and any(_is_video(v) for v in c.iterdir()) for c in children)


def read_fiftyone_tree(folder: Path) -> Items:
    """VideoClassificationDirectoryTree: <folder>/<class>/<video>; the subfolder's name is the label."""
    items: Items = []
    for sub in sorted(c for c in folder.iterdir() if c.is_dir() and not c.name.startswith(".")):
        for video in sorted(v for v in sub.iterdir() if _is_video(v)):
            items.append(IngestItem(video, video.name, "", sub.name))
    return items


def read_fiftyone_dataset(labels_path: Path, data: Any) -> Items:
    """FiftyOneVideoClassificationDataset: data/<uuid>.<ext> and labels.json {"classes", "labels": {uuid: target}}."""
    name = labels_path.name
    if not isinstance(data, dict) or not isinstance(data.get("labels"), dict):
        raise IngestError(name, "a FiftyOne labels.json maps \"labels\" to an object {uuid: label}")
    classes = data.get("classes") or []
    data_dir = labels_path.parent / "data"
    files = {v.stem: v for v in data_dir.iterdir() if _is_video(v)} if data_dir.is_dir() else {}
    items: Items = []
    for uuid, target in data["labels"].items():
        video = files.get(str(uuid))
        if video is None:
            items.append(IngestError(f"{name} {uuid!r}", f"no video named {uuid}.* in {data_dir}"))
            continue
        try:
            items.append(IngestItem(video, video.name, "", _fiftyone_label(target, classes)))
        except ValueError as exc:
            items.append(IngestError(f"{name} {uuid!r}", str(exc)))
    return items


def _fiftyone_label(target: Any, classes: list[Any]) -> str | None:
    """A class index into `classes`, {"label": NAME, ...} (a Classification), a bare name, or null."""
    if target is None:
        return None
    if isinstance(target, bool):
        raise ValueError(f"unreadable label {target!r}")
    if isinstance(target, int):
        if not 0 <= target < len(classes):
            raise ValueError(f"class index {target} outside the {len(classes)} classes of labels.json")
        return str(classes[target])
    if isinstance(target, dict):
        label = target.get("label")
        return None if label is None else str(label)
    if isinstance(target, str):
        return target
    raise ValueError(f"unreadable label {target!r}")


def read_labelstudio(export: Path, tasks: list[Any]) -> Items:
    """A Label Studio JSON export of video tasks with a Choices labelling (see the module docstring)."""
    items: Items = []
    for number, task in enumerate(tasks, start=1):
        where = f"{export.name} task {task.get('id', number) if isinstance(task, dict) else number}"
        try:
            if not isinstance(task, dict) or not isinstance(task.get("data"), dict):
                raise ValueError("a task is an object with a \"data\" object")
            video = resolve_ls_path(export.parent, _ls_video_ref(task["data"]))
            caption = task["data"].get("caption") or task["data"].get("text") or ""
            items.append(IngestItem(video, video.name, clean_caption(str(caption)), _ls_choice(task)))
        except ValueError as exc:
            items.append(IngestError(where, str(exc)))
    return items


def _ls_video_ref(data: dict[str, Any]) -> str:
    if isinstance(data.get("video"), str):
        return data["video"]
    refs = [v for v in data.values() if isinstance(v, str) and PurePosixPath(urlsplit(v).path).suffix.lower()
            in VIDEO_EXTENSIONS | {""} and ("/" in v or "." in v)]
    if len(refs) != 1:
        raise ValueError("no \"video\" in the task's data, and not one other video path there")
    return refs[0]


def resolve_ls_path(base: Path, ref: str) -> Path:
    """A task's video reference as a file under the export's folder; ValueError for URLs and escaping paths."""
    if ref.lower().startswith(REMOTE):
        raise ValueError(f"{ref}: remote URLs are refused (no network here); download the file beside the export "
                         "and refer to it by a relative path")
    parts = urlsplit(ref)
    if parts.path.startswith("/data/local-files"):
        rel = unquote(parse_qs(parts.query).get("d", [""])[0])
        candidates = [rel]
    elif parts.path.startswith("/data/upload/"):
        rel = unquote(parts.path[len("/data/upload/"):])  # N/NAME, kept by Label Studio under media/upload/
        candidates = [f"upload/{rel}", rel, PurePosixPath(rel).name]
    else:
        candidates = [unquote(ref)]
    for cand in candidates:
        rel_path = PurePosixPath(cand.replace("\\", "/"))
        if not cand or rel_path.is_absolute() or ".." in rel_path.parts:
            raise ValueError(f"{ref}: the video path must stay inside the export's folder")
        if (base / rel_path).is_file():
            return base / rel_path
    raise ValueError(f"{ref}: file not found under {base}")


def _ls_choice(task: dict[str, Any]) -> str | None:
    """The single choice of the newest annotation not cancelled; None when the task has none."""
    done = [a for a in task.get("annotations") or [] if isinstance(a, dict) and not a.get("was_cancelled")]
    if not done:
        return None
    newest = max(done, key=lambda a: (str(a.get("updated_at") or a.get("created_at") or ""), a.get("id") or 0))
    choices = [c for r in newest.get("result") or [] if isinstance(r, dict) and r.get("type") == "choices"
               for c in (r.get("value") or {}).get("choices") or []]
    if len(choices) > 1:
        raise ValueError(f"several choices {choices}: one venue per video expected")
    return str(choices[0]) if choices else None


# ------------------------------------------------------------------ writers


def write_labelstudio(out: Path, rows: Iterable[dict[str, Any]]) -> int:
    """Label Studio tasks with one Choices annotation each; videos as /data/local-files/?d=media/NAME."""
    tasks = []
    for row in rows:
        annotations = [] if not row["venue"] else [{
            "id": row["video_id"], "was_cancelled": False, "ground_truth": False,
            "result": [{"type": "choices", "from_name": "venue", "to_name": "video",
                        "value": {"choices": [row["venue"]]}}],
        }]
        tasks.append({"id": row["video_id"],
                      "data": {"video": "/data/local-files/?d=" + quote(f"media/{row['filename']}"),
                               "caption": row["caption"]},
                      "annotations": annotations, "meta": {"sha256": row["sha256"], "split": row["split"]}})
    atomic_write_json(out, tasks, indent=1, ensure_ascii=False)
    return len(tasks)


def write_fiftyone(out: Path, rows: Iterable[dict[str, Any]]) -> int:
    """FiftyOneVideoClassificationDataset's labels.json ({"classes", "labels": {stem: class index}}) beside data/."""
    labels: dict[str, str | None] = {}
    for row in rows:
        labels[PurePosixPath(row["filename"]).stem] = row["venue"] or None
    classes = sorted({v for v in labels.values() if v})
    index = {c: i for i, c in enumerate(classes)}
    atomic_write_json(out, {"classes": classes, "labels": {k: None if v is None else index[v]
                                                           for k, v in labels.items()}}, indent=1, ensure_ascii=False)
    return len(labels)


# The writers of the interop export formats (their table lines are in app/services/export_formats.py).
WRITERS = {"labelstudio": write_labelstudio, "fiftyone": write_fiftyone}
