"""Labels from and to Label Studio and FiftyOne: hand-written exports in their layouts, and the round trip."""
from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from app.services import accounts, interop
from app.services.export import export
from app.services.ingest import IngestError, IngestItem, collect, ingest_path, sha256_of
from db import repo
from db.session import session_scope
from tests.media import write_video

PASSWORD = "interop-test-pw"


@pytest.fixture(scope="module")
def clips(tmp_path_factory: pytest.TempPathFactory) -> list[Path]:
    folder = tmp_path_factory.mktemp("clips")
    return [write_video(folder / f"c{i}.mp4", seconds=1.0, fps=5, seed=i, audio=i != 2) for i in range(3)]


def _place(clip: Path, dest: Path) -> Path:
    dest.parent.mkdir(parents=True, exist_ok=True)
    shutil.copy(clip, dest)
    return dest


def _labels(ctx) -> dict[str, str | None]:
    """sha256 -> current venue of every video in the home."""
    with session_scope(ctx.engine) as s:
        return {v.sha256: v.current_venue for v in repo.all_videos(s)}


def _by_name(items: list) -> dict[str, IngestItem | IngestError]:
    return {(i.name if isinstance(i, IngestItem) else i.name): i for i in items}


def test_labelstudio_export_forms(ctx, clips, tmp_path: Path) -> None:
    root = tmp_path / "ls"
    _place(clips[0], root / "videos" / "first clip.mp4")
    _place(clips[1], root / "upload" / "3" / "5f2a-second.mp4")
    _place(clips[2], root / "third.mp4")
    choice = lambda label, **kw: {"result": [{"type": "choices", "from_name": "venue", "to_name": "video",  # noqa: E731
                                              "value": {"choices": [label]}}], **kw}
    tasks = [
        {"id": 1, "data": {"video": "/data/local-files/?d=videos/first%20clip.mp4", "caption": "sunset"},
         "annotations": [choice("Beach", id=1, updated_at="2026-01-01T10:00:00Z"),
                         choice("Garden", id=2, updated_at="2026-01-02T10:00:00Z"),
                         choice("Airport", id=3, updated_at="2026-01-03T10:00:00Z", was_cancelled=True)]},
        {"id": 2, "data": {"video_url": "/data/upload/3/5f2a-second.mp4"}, "annotations": [choice("Beach")]},
        {"id": 3, "data": {"video": "third.mp4"}, "annotations": []},
        {"id": 4, "data": {"video": "https://example.org/clip.mp4"}, "annotations": [choice("Beach")]},
        {"id": 5, "data": {"video": "/data/local-files/?d=../outside.mp4"}, "annotations": []},
    ]
    export_file = root / "project-1-at-2026.json"
    export_file.write_text(json.dumps(tasks))

    items = collect(export_file)
    good = [i for i in items if isinstance(i, IngestItem)]
    assert [(i.name, i.venue, i.caption) for i in good] == [
        ("first clip.mp4", "Garden", "sunset"), ("5f2a-second.mp4", "Beach", ""), ("third.mp4", None, "")]
    errors = [str(i) for i in items if isinstance(i, IngestError)]
    assert len(errors) == 2 and "task 4" in errors[0] and "remote URLs are refused" in errors[0]
    assert "task 5" in errors[1] and "inside the export's folder" in errors[1]

    report = ingest_path(ctx, export_file)
    assert len(report.added) == 3 and len(report.errors) == 2
    assert sorted(v or "" for v in _labels(ctx).values()) == ["", "Beach", "Garden"]


@pytest.mark.parametrize("variant", ["index", "classification"])
def test_fiftyone_dataset_layouts(ctx, clips, tmp_path: Path, variant: str) -> None:
    root = tmp_path / "fo"
    for i, clip in enumerate(clips):
        _place(clip, root / "data" / f"uuid{i}.mp4")
    if variant == "index":  # FiftyOneVideoClassificationDatasetExporter with classes: class indices
        labels = {"classes": ["Beach", "Garden"], "labels": {"uuid0": 1, "uuid1": 0, "uuid2": None}}
    else:  # without classes: Classification dicts
        labels = {"classes": None, "labels": {"uuid0": {"label": "Garden", "confidence": 0.9},
                                              "uuid1": {"label": "Beach"}, "uuid2": None}}
    (root / "labels.json").write_text(json.dumps(labels))
    for path in (root, root / "labels.json"):  # the folder or its labels.json
        found = _by_name(collect(path))
        assert {n: i.venue for n, i in found.items()} == {"uuid0.mp4": "Garden", "uuid1.mp4": "Beach",
                                                          "uuid2.mp4": None}
    labels["labels"]["missing"] = 0
    (root / "labels.json").write_text(json.dumps(labels))
    report = ingest_path(ctx, root)
    assert len(report.added) == 3 and [e.name for e in report.errors] == ["labels.json 'missing'"]


def test_fiftyone_class_tree_and_plain_folder(clips, tmp_path: Path) -> None:
    tree = tmp_path / "tree"
    _place(clips[0], tree / "Beach" / "a.mp4")
    _place(clips[1], tree / "Garden" / "b.mp4")
    (tree / "README.txt").write_text("not a video")
    assert [(i.name, i.venue) for i in collect(tree)] == [("a.mp4", "Beach"), ("b.mp4", "Garden")]
    # a plain folder of videos stays one: its subfolders are not classes
    _place(clips[2], tree / "top.mp4")
    # a folder with videos at its top is a plain folder: every file is probed, the README is skipped at ingest
    assert [(i.name, i.venue, i.optional) for i in collect(tree)] == [("README.txt", None, True),
                                                                     ("top.mp4", None, False)]


def test_bad_json_is_one_line(tmp_path: Path) -> None:
    (tmp_path / "x.json").write_text("{not json")
    with pytest.raises(IngestError, match="not valid JSON"):
        collect(tmp_path / "x.json")
    (tmp_path / "y.json").write_text('{"something": 1}')
    with pytest.raises(IngestError, match="Label Studio task list or a FiftyOne"):
        collect(tmp_path / "y.json")


@pytest.mark.parametrize("fmt", list(interop.WRITERS))
def test_export_round_trip(ctx, clips, tmp_path: Path, fmt: str) -> None:
    drop = tmp_path / "drop"
    for i, clip in enumerate(clips):
        _place(clip, drop / f"v{i}.mp4")
    (drop / "m.csv").write_text("filename,caption,venue\nv0.mp4,one,Beach\nv1.mp4,two,Garden\nv2.mp4,three,\n")
    assert ingest_path(ctx, drop / "m.csv").ok
    accounts.create(ctx, name="ann", role="annotator", password=PASSWORD, actor="test")
    from app.services.venues import VenueSpec, add_venues

    add_venues(ctx, [VenueSpec("Pump Track")], who="ann")
    with session_scope(ctx.engine) as s:
        v2 = next(v for v in repo.all_videos(s) if v.original_name == "v2.mp4")
        repo.set_label(s, video_id=v2.id, venue_id=repo.venue_id(s, name="Pump Track"), who="ann",
                       expected_version=None)
    before = _labels(ctx)

    out = tmp_path / "out" / ("tasks.json" if fmt == "labelstudio" else "labels.json")
    report = export(ctx, "labels", fmt=fmt, out=out)
    assert report.rows == 3 and report.media_copied == 3 and report.meta_path.is_file()
    from app.services.export_formats import FORMATS

    media = out.parent / FORMATS[fmt].media_dir
    assert {sha256_of(p) for p in media.iterdir()} == set(before)

    from app.context import make_context
    from app.services.database import prepare_database
    from app.settings import Settings

    home = tmp_path / "fresh"
    fresh = make_context(Settings(home=home, db_url=f"sqlite:///{home / 'eastern.db'}"))
    prepare_database(fresh)
    accounts.create(fresh, name="ann", role="annotator", password=PASSWORD, actor="test")
    refused = ingest_path(fresh, out)
    assert [e.reason for e in refused.errors] == [
        "unknown venue category 'Pump Track' (create it with `python -m app venues add NAME`, or ingest with "
        "--new-venues)"]
    again = ingest_path(fresh, out if fmt == "labelstudio" else out.parent, new_venues_by="ann")
    assert again.ok and any("Pump Track" in n for n in again.notes)
    assert _labels(fresh) == before


def test_interop_formats_hold_labels_only(ctx, tmp_path: Path) -> None:
    from app.services.export import ExportError

    with pytest.raises(ExportError, match="labels only"):
        export(ctx, "history", fmt="fiftyone", out=tmp_path / "h.json")
