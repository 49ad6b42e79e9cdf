"""Exports a spreadsheet cannot execute: formula-like cells are neutralised in CSV and the manifest reader undoes
it, so export -> ingest keeps the exact text; anonymous visitors may not export or make `compare` write."""
from __future__ import annotations

import csv
from pathlib import Path

import pytest

from app.services import accounts
from app.services.export import export
from app.services.ingest import ingest_path, read_manifest
from core.csvcells import neutralise, restore
from tests.media import write_video

TRICKY = ["=HYPERLINK(\"http://x.test\",\"click\")", "+1", "-2", "@SUM(A1)", "'=already quoted", "''+two quotes",
          "plain caption", "'tis plain"]


@pytest.mark.parametrize("text", [*TRICKY, "\tx", "\rx", "", "'", "a=b"])
def test_the_rule_round_trips(text: str) -> None:
    cell = neutralise(text)
    assert restore(cell) == text
    assert cell[:1] not in ("=", "+", "-", "@", "\t", "\r")


def test_formula_cells_round_trip_through_export_and_ingest(ctx, tmp_path: Path) -> None:  # noqa: ANN001
    src = tmp_path / "src"
    src.mkdir()
    names = ["=HYPERLINK(1).mp4", "+1.mp4", "-2.mp4", "@SUM(A1).mp4", "'=q.mp4", "a.mp4", "b.mp4", "c.mp4"]
    for seed, name in enumerate(names):
        write_video(src / name, seconds=2.0, seed=seed + 1)
    manifest = src / "manifest.csv"
    with manifest.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh)
        writer.writerow(["filename", "caption", "venue"])
        for name, caption in zip(names, TRICKY, strict=True):
            writer.writerow([neutralise(name), neutralise(caption), "Gym"])
    report = ingest_path(ctx, manifest)
    assert report.ok and len(report.added) == len(names), report.lines()
    out = tmp_path / "out" / "labels.csv"
    out.parent.mkdir()
    export(ctx, "labels", out=out, with_media=True, actor="cli")
    raw = out.read_text(encoding="utf-8")
    with out.open(newline="", encoding="utf-8") as fh:
        for row in csv.DictReader(fh):
            for key in ("filename", "caption"):
                assert row[key][:1] not in ("=", "+", "-", "@", "\t", "\r"), raw
    back = {item.name: item.caption for item in read_manifest(out)}
    assert back == dict(zip(names, TRICKY, strict=True))


def test_anonymous_visitors_may_not_export(ctx, tmp_path: Path) -> None:  # noqa: ANN001
    with pytest.raises(accounts.PermissionDenied):
        export(ctx, "labels", out=tmp_path / "l.csv", actor="")
    with pytest.raises(accounts.PermissionDenied):
        export(ctx, "labels", out=tmp_path / "l.csv", actor="visitor")
    accounts.create(ctx, name="vera", role="viewer", password="a viewer password", actor="t")
    assert export(ctx, "labels", out=tmp_path / "l.csv", actor="vera").rows == 0
    accounts.set_disabled(ctx, name="vera", disabled=True, actor="t")
    with pytest.raises(accounts.PermissionDenied):
        export(ctx, "labels", out=tmp_path / "l.csv", actor="vera")


def test_a_replaced_shallow_model_file_is_not_unpickled(tmp_path: Path) -> None:
    from core.baselines import load_baseline, save_baseline
    from core.baselines.common import BASELINE_FORMAT

    path = tmp_path / "model.pkl"
    sha = save_baseline(path, None, {"class_names": ["a"]})  # type: ignore[arg-type] - any picklable model
    assert load_baseline(path, sha256=sha)[1] == {"class_names": ["a"]}
    marker = tmp_path / "ran"
    evil = f"(S'{marker}'\nc__builtin__\nopen\n(S'{marker}'\nS'w'\ntR.".encode()  # a pickle that writes a file
    path.write_bytes(evil)
    with pytest.raises(ValueError, match="SHA-256 differs"):
        load_baseline(path, sha256=sha)
    assert not marker.exists() and BASELINE_FORMAT
