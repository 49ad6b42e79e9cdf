"""Training from the command line (`python -m app train --activate`), predicting an unseen video
(`python -m app predict FILE`), and what a training that stops halfway leaves behind: nothing.

Runs on a private copy of the small workspace (its active EASTERN model, 30 videos with features).
"""
from __future__ import annotations

import contextlib
import io
import json
import sqlite3
from pathlib import Path

import pytest

from tests.fixtures import AS_ADMIN, Workspace


def run_cli(argv: list[str]) -> tuple[int, str, str]:
    from app.cli import main

    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main(argv)
    return code, out.getvalue(), err.getvalue()


def state(ws: Workspace) -> tuple[int | None, list[int], list[tuple]]:
    """(active model id, every model version id, the active model's stored predictions)."""
    with sqlite3.connect(ws.home / "eastern.db") as conn:
        active = conn.execute("select id from model_versions where is_active").fetchone()
        versions = [r[0] for r in conn.execute("select id from model_versions order by id")]
        preds = conn.execute(
            "select video_id, venue_id, confidence, label_probability, entropy, topk from predictions "
            "where model_version_id = ? order by video_id", (active[0] if active else -1,)).fetchall()
    return (active[0] if active else None), versions, preds


def n_videos(ws: Workspace) -> int:
    with sqlite3.connect(ws.home / "eastern.db") as conn:
        return conn.execute("select count(*) from videos").fetchone()[0]


@pytest.fixture(scope="module")
def unseen_video(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    """A demo-style video of another seed, not in any database, and its caption."""
    from core.corpus import corpus_items
    from core.corpus.generate import write_video

    folder = tmp_path_factory.mktemp("unseen")
    item = next(i for i in corpus_items(40, seed=977) if i.has_audio and i.caption)
    write_video(folder, item)
    return folder / item.filename, item.caption


def test_train_activate_stores_a_version_with_metrics_and_predictions_for_every_video(private_ws: Workspace):
    before_active, before_versions, _ = state(private_ws)
    code, stdout, stderr = run_cli(["train", "--activate", "--epochs", "2", "--seed", "4", "--modalities", "v,a,t",
                                    *AS_ADMIN])
    assert code == 0, stderr[-3000:]
    summary = json.loads(stdout)
    assert summary["active"] is True and summary["architecture"] == "eastern"
    assert summary["modalities"] == ["visual", "acoustic", "textual"] and summary["epochs"] == 2
    # (the 30-video workspace has 2 videos in most classes: its held-out test part may be empty)
    assert 0 <= summary["micro_f1"] <= 1 and 0 <= summary["macro_f1"] <= 1 and summary["n_test"] >= 0

    active, versions, preds = state(private_ws)
    assert versions == [*before_versions, summary["id"]] and active == summary["id"] != before_active
    assert len(preds) == n_videos(private_ws) == 30  # a prediction for every video, labelled or not
    for _video, _venue, confidence, _label_p, entropy, topk in preds:
        probs = [p for _, p in json.loads(topk)]
        assert len(probs) == 5 and probs == sorted(probs, reverse=True) and probs[0] == pytest.approx(confidence)
        assert 0 <= entropy <= 1

    from app.services import models as model_service
    from app.services.models import load_model

    row = model_service.get(_ctx(), summary["id"])
    assert (private_ws.home / row.checkpoint_path).is_file()
    metrics = row.metrics
    assert [e["epoch"] for e in metrics["history"]] == [1, 2]
    assert len(metrics["test_video_ids"]) == len(metrics["test_predicted"]) == metrics["n_test"]
    assert set(metrics["test"]) >= {"micro_f1", "macro_f1"}
    split = row.config["split"]
    assert not set(split["train"]) & set(split["test"])
    model, cfg, meta = load_model(_ctx(), summary["id"])  # the checkpoint describes itself
    assert cfg.arch == "eastern" and meta["class_names"] == row.config["class_names"]


def _ctx():  # noqa: ANN202 - the process's context (private_ws points the environment at the copy)
    from app.context import get_context

    return get_context()


def test_predict_prints_the_top5_of_a_video_not_in_the_database(ws_env: Workspace, unseen_video):
    path, caption = unseen_video
    videos = n_videos(ws_env)
    code, stdout, stderr = run_cli(["predict", str(path), "--caption", caption])
    assert code == 0, stderr[-3000:]
    out = json.loads(stdout)
    assert out["file"] == path.name
    assert out["model"]["id"] == ws_env.active_model
    top = out["top"]
    assert len(top) == 5 and len({t["venue"] for t in top}) == 5
    probs = [t["probability"] for t in top]
    assert probs == sorted(probs, reverse=True) and 0 < sum(probs) <= 1.0001

    from app.services import models as model_service

    class_names = model_service.get(_ctx(), ws_env.active_model).config["class_names"]
    assert {t["venue"] for t in top} <= set(class_names)
    assert n_videos(ws_env) == videos  # predicting does not ingest

    # another version on request
    code, other, _ = run_cli(["predict", str(path), "--caption", caption, "--model-id", str(ws_env.other_model)])
    assert code == 0 and json.loads(other)["model"]["id"] == ws_env.other_model
    assert len(json.loads(other)["top"]) == 5


def test_predict_a_file_that_is_not_a_video_says_why(ws_env: Workspace, tmp_path: Path):
    fake = tmp_path / "notes.mp4"
    fake.write_text("not a video", encoding="utf-8")
    code, stdout, stderr = run_cli(["predict", str(fake)])
    assert code == 2 and stdout == ""
    assert stderr.strip().splitlines()[-1].startswith("error: notes.mp4: ")
    code, _, stderr = run_cli(["predict", str(tmp_path / "missing.mp4")])
    assert code == 2 and "missing.mp4" in stderr and "Traceback" not in stderr


def test_a_training_that_crashes_halfway_leaves_the_active_model_and_its_predictions(private_ws: Workspace):
    from app.services.training import TrainRequest, train_and_register

    before = state(private_ws)

    def crash(event: dict) -> None:
        if event.get("kind") == "epoch" and event["epoch"] == 2:
            raise RuntimeError("power cut")

    with pytest.raises(RuntimeError, match="power cut"):
        train_and_register(_ctx(), TrainRequest(epochs=5, activate=True), progress=crash)
    assert state(private_ws) == before


def test_a_cancelled_training_registers_nothing(private_ws: Workspace):
    from app.services.training import TrainRequest, train_and_register

    before = state(private_ws)
    seen: list[int] = []

    def progress(event: dict) -> None:
        if event.get("kind") == "epoch":
            seen.append(event["epoch"])

    model_id = train_and_register(_ctx(), TrainRequest(epochs=50, activate=True), progress=progress,
                                  should_stop=lambda: len(seen) >= 1)
    assert model_id is None and seen == [1]
    assert state(private_ws) == before


def test_a_reader_that_goes_away_stops_the_cli_quietly(ws_env: Workspace) -> None:
    """`python -m app models | head -1`: a closed pipe ends the command with 141 and no traceback."""
    import os
    import subprocess
    import sys

    proc = subprocess.Popen([sys.executable, "-m", "app", "models"], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            env={**os.environ, "EASTERN_HOME": str(ws_env.home)}, cwd=Path(__file__).parents[2])
    proc.stdout.close()  # the reader is gone before the first line is written
    err = proc.stderr.read().decode()
    assert proc.wait(timeout=120) == 141, err
    assert "Traceback" not in err and "BrokenPipe" not in err
