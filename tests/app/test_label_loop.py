"""The correction loop on real files and processes: out-of-fold probabilities (never from a model that saw the
video), cancel / kill / resume of a cross-validation, the stable split, fair comparisons, exports."""
from __future__ import annotations

import csv
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from sklearn.metrics import f1_score

from db import queries, repo
from db.session import session_scope
from tests.fixtures import AS_ADMIN, Workspace

ROOT = Path(__file__).resolve().parents[2]


def _ctx():  # noqa: ANN202
    from app.context import get_context

    return get_context()


def _done_set(ctx) -> repo.PredictionSetRow:  # noqa: ANN001
    with session_scope(ctx.engine) as session:
        found = repo.latest_prediction_set(session)
    assert found is not None and found.status == "done"
    return found


# ---------------------------------------------------------------- cross-validation


def test_every_probability_comes_from_a_fold_model_that_never_saw_the_video(ws_env: Workspace) -> None:
    from app.services import crossval, training
    from core.label_probe import fit_predict, pooled
    from core.train import predict_proba

    ctx = _ctx()
    pset = _done_set(ctx)
    folder = ctx.settings.home / pset.artifact_dir
    with np.load(folder / "snapshot.npz") as z:
        snapshot_ids, folds = z["video_ids"], z["folds"]
    with session_scope(ctx.engine) as session:
        stored_folds = repo.oos_folds(session, set_id=pset.id)
    assert stored_folds == {int(v): int(f) for v, f in zip(snapshot_ids, folds, strict=True)}
    seen_as_test: list[int] = []
    dataset = training.load_dataset(ctx)
    where = {int(v): i for i, v in enumerate(dataset.video_ids)}
    for fold in range(pset.params["folds"]):
        with np.load(folder / f"fold-{fold}.npz") as z:
            scored, trained_on, probs = z["video_ids"], z["train_video_ids"], z["probs"]
            deep, probe = z["deep_probs"], z["probe_probs"]
        assert not set(scored.tolist()) & set(trained_on.tolist())  # the fold model never trained on what it scored
        assert {int(v) for v in scored} == {v for v, f in stored_folds.items() if f == fold}
        seen_as_test += scored.tolist()
        model, _cfg, _meta = crossval.fold_model(ctx, pset.id, fold)  # the stored numbers are that model's
        rows = np.array([where[int(v)] for v in scored])
        np.testing.assert_allclose(predict_proba(model, dataset.data, rows), deep, atol=1e-5)
        # and the probe averaged in was fitted on the same training videos only
        train_rows = np.array([where[int(v)] for v in trained_on])
        X = pooled(dataset.data, tuple(pset.params["modalities"]))
        refit = fit_predict(X[train_rows], dataset.data.labels[train_rows], X[rows], len(dataset.data.class_names),
                            seed=pset.params["seed"] + fold)
        np.testing.assert_allclose(refit, probe, atol=1e-5)
        np.testing.assert_allclose((deep + probe) / 2, probs, atol=1e-6)
    assert sorted(seen_as_test) == sorted(snapshot_ids.tolist())  # every labelled video scored exactly once
    with session_scope(ctx.engine) as session:
        rows = queries.issue_queue(session, set_id=pset.id, limit=1000)
    assert len(rows) == pset.n_videos
    assert [r.score for r in rows] == sorted(r.score for r in rows)  # lowest label quality first


def test_cancelled_crossval_leaves_the_active_model_and_earlier_sets_and_resumes(private_ws: Workspace) -> None:
    from app.services import crossval
    from app.services.annotate import queue_source

    ctx = _ctx()
    earlier = _done_set(ctx)
    with session_scope(ctx.engine) as session:
        active = repo.active_model(session).id
        earlier_rows = queries.issue_queue(session, set_id=earlier.id, limit=1000)
    seen: dict[str, Path] = {}

    def stop_after_first_fold() -> bool:
        folders = sorted((ctx.settings.home / "crossval").glob("set-*"))
        seen["folder"] = folders[-1]
        return (folders[-1] / "fold-0.npz").exists()

    request = crossval.CrossvalRequest(folds=3, epochs=1, seed=11)
    assert crossval.run_crossval(ctx, request, should_stop=stop_after_first_fold) is None
    with session_scope(ctx.engine) as session:
        cancelled = repo.list_prediction_sets(session)[0]
        assert cancelled.status == "cancelled" and cancelled.id != earlier.id
        assert repo.active_model(session).id == active
        assert queries.issue_queue(session, set_id=earlier.id, limit=1000) == earlier_rows
    assert queue_source(ctx).set_id == earlier.id  # an unfinished set never ranks the queue
    first_fold = seen["folder"] / "fold-0.npz"
    stamp = first_fold.stat().st_mtime_ns
    assert crossval.run_crossval(ctx, request, resume_set_id=cancelled.id) == cancelled.id
    assert first_fold.stat().st_mtime_ns == stamp  # the finished fold was kept, not retrained
    assert queue_source(ctx).set_id == cancelled.id


def test_killed_crossval_job_loses_nothing(private_ws: Workspace) -> None:
    from app.services import jobs
    from app.services.annotate import queue_source
    from app.services.crossval import CrossvalRequest

    ctx = _ctx()
    earlier = _done_set(ctx)
    with session_scope(ctx.engine) as session:
        active = repo.active_model(session).id
    job_id = jobs.submit(ctx, CrossvalRequest(folds=3, epochs=200, seed=5), who="admin")
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        with session_scope(ctx.engine) as session:
            job = repo.get_job(session, job_id=job_id)
            sets = [s for s in repo.list_prediction_sets(session) if s.job_id == job_id]
        deep = [s for s in sets if s.architecture != "probe"]
        if job.status == "running" and deep and job.epoch >= 1:
            break
        assert job.status in ("queued", "running"), job.error
        time.sleep(0.5)
    else:
        pytest.fail("the cross-validation job never reached its first epoch")
    os.kill(job.pid, signal.SIGKILL)
    for _ in range(100):
        if jobs.reap_dead_jobs(ctx):
            break
        time.sleep(0.1)
    with session_scope(ctx.engine) as session:
        assert repo.get_job(session, job_id=job_id).status == "failed"
        assert repo.get_prediction_set(session, set_id=deep[0].id).status == "failed"
        assert repo.active_model(session).id == active
    # the job published the probe's ranking before its deep folds began: it stays the queue, a complete set
    (probe,) = [s for s in sets if s.architecture == "probe"]
    assert probe.status == "done" and probe.id > earlier.id
    assert queue_source(ctx).set_id == probe.id


# ---------------------------------------------------------------- the stable split


def _splits(ctx) -> dict[int, str]:  # noqa: ANN001
    from app.services.splits import iter_splits

    return {r["video_id"]: r["split"] for r in iter_splits(ctx)}


def test_corrections_never_move_the_test_split(private_ws: Workspace) -> None:
    from app.services import annotate, training

    ctx = _ctx()
    before = _splits(ctx)
    assert set(before.values()) == {"train", "test"} and all(before.values())
    a = training.train_and_register(ctx, training.TrainRequest(epochs=1, seed=7))
    with session_scope(ctx.engine) as session:
        videos = [repo.get_video(session, video_id=v) for v in sorted(before)]
        venues = [v.name for v in repo.list_venues(session, used_only=True)]
    for video in videos[:10]:
        other = next(v for v in venues if v != video.current_venue)
        annotate.relabel(ctx, video_id=video.id, venue=other, who=private_ws.annotator, expected_version=video.version)
    b = training.train_and_register(ctx, training.TrainRequest(epochs=1, seed=7))
    assert _splits(ctx) == before
    with session_scope(ctx.engine) as session:
        split_a = repo.get_model_version(session, model_id=a).config["split"]
        split_b = repo.get_model_version(session, model_id=b).config["split"]
    assert split_a["test"] == split_b["test"]
    assert set(split_a["test"]) == {v for v, s in before.items() if s == "test"} & set(split_a["test"])
    assert split_b["kind"] == "stable"


def test_cli_split_prints_json_lines(ws_env: Workspace) -> None:
    out = subprocess.run([sys.executable, "-m", "app", "split"], capture_output=True, text=True, check=True,
                         cwd=ROOT, env={**os.environ, **ws_env.env()}).stdout
    rows = [json.loads(line) for line in out.splitlines()]
    assert rows and {r["split"] for r in rows} == {"train", "test"}
    assert {r["video_id"]: r["split"] for r in rows} == _splits(_ctx())


def test_a_new_ingest_gets_a_split_and_moves_no_other_video(private_ws: Workspace, tmp_path: Path) -> None:
    from app.services.ingest import ingest_path
    from tests.media import write_video

    ctx = _ctx()
    before = _splits(ctx)
    clip = write_video(tmp_path / "new.mp4", seconds=6.0)
    manifest = tmp_path / "manifest.csv"
    manifest.write_text(f"filename,caption,venue\n{clip.name},a new one,Gym\n", encoding="utf-8")
    report = ingest_path(ctx, manifest)
    assert report.ok and len(report.added) == 1
    after = _splits(ctx)
    assert {v: s for v, s in after.items() if v in before} == before
    assert after[report.added[0]] in ("train", "test")


def test_migration_backfills_splits_up_down_up(tmp_path: Path) -> None:
    from sqlalchemy import create_engine, inspect, text

    from app.context import make_context
    from app.services.database import prepare_database
    from app.settings import Settings
    from db.migrate import downgrade, upgrade

    url = f"sqlite:///{tmp_path / 'old.db'}"
    upgrade(url, "0001")  # a database from before the stable split, with labelled videos
    engine = create_engine(url)
    with engine.begin() as conn:
        conn.execute(text("INSERT INTO venues (id, name) VALUES (1, 'Gym'), (2, 'Park')"))
        for i in range(1, 41):
            conn.execute(text(
                "INSERT INTO videos (id, sha256, path, original_name, duration, fps, width, height, size_bytes,"
                " has_audio, caption, source, created_at, current_venue_id, version) VALUES (:i, :sha, 'p', 'n',"
                " 6, 30, 10, 10, 1, 1, '', 'ingest', '2026-01-01', :v, 1)"), {"i": i, "sha": f"{i:064x}",
                                                                               "v": 1 + i % 2})
    engine.dispose()
    ctx = make_context(Settings(home=tmp_path / "home", db_url=url))
    for _round in range(2):
        prepare_database(ctx)  # migrate to head, then backfill
        with session_scope(ctx.engine) as session:
            counts = repo.split_counts(session)
            assert not repo.videos_without_split(session)
        assert counts == {1: (17, 3), 2: (17, 3)}  # 15% of 20 per label, balanced
        downgrade(url, "0001")
        assert "split" not in {c["name"] for c in inspect(create_engine(url)).get_columns("videos")}
        upgrade(url)
    from db.session import dispose_engines

    dispose_engines()


# ---------------------------------------------------------------- compare


def test_compare_scores_both_versions_on_the_same_videos_and_labels(private_ws: Workspace) -> None:
    from app.services import annotate
    from app.services.compare import compare

    ctx = _ctx()
    test_ids = sorted(v for v, s in _splits(ctx).items() if s == "test")
    with session_scope(ctx.engine) as session:
        target = repo.get_video(session, video_id=test_ids[0])
        other = next(v.name for v in repo.list_venues(session, used_only=True) if v.name != target.current_venue)
    annotate.relabel(ctx, video_id=target.id, venue=other, who=private_ws.annotator,
                     expected_version=target.version)
    result = compare(ctx, private_ws.other_model, private_ws.active_model)
    with session_scope(ctx.engine) as session:
        labelled = queries.test_split_labels(session)
        names = repo.venue_names(session)
        preds = {m: queries.test_split_predictions(session, model_version_id=m)
                 for m in (private_ws.other_model, private_ws.active_model)}
    assert result.video_ids == sorted(labelled)  # every labelled test video, for both versions
    assert result.labels == [names[labelled[v]] for v in result.video_ids]  # today's labels
    truth = [labelled[v] for v in result.video_ids]
    for m, micro in ((private_ws.other_model, result.micro_a), (private_ws.active_model, result.micro_b)):
        assert micro == pytest.approx(f1_score(truth, [preds[m][v] for v in result.video_ids], average="micro"))
    changed = {r.video_id: r for r in result.relabelled}
    assert changed[target.id].label_then == target.current_venue and changed[target.id].label_now == other
    assert any("relabelled after version" in w for w in result.warnings)


# ---------------------------------------------------------------- exports


def _cli(env: dict[str, str], *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "app", *args], capture_output=True, text=True, cwd=ROOT,
                          env={**os.environ, **env})


def test_labels_export_round_trips_through_ingest(private_ws: Workspace, tmp_path: Path) -> None:
    from app.services import annotate

    ctx = _ctx()
    with session_scope(ctx.engine) as session:
        video = repo.get_video(session, video_id=1)
        other = next(v.name for v in repo.list_venues(session, used_only=True) if v.name != video.current_venue)
    annotate.relabel(ctx, video_id=1, venue=other, who=private_ws.annotator, expected_version=video.version)
    out = tmp_path / "export" / "manifest.csv"
    done = _cli(private_ws.env(), "export", "labels", "--with-media", "--out", str(out), *AS_ADMIN)
    assert done.returncode == 0, done.stderr
    meta = json.loads(out.with_name("manifest.csv.meta.json").read_text())
    with session_scope(ctx.engine) as session:
        assert meta["label_snapshot"]["label_id"] == repo.newest_label_id(session)
        original = {sha: venue for _v, _n, _c, venue, sha, *_ in queries.iter_label_manifest(session)}
    fresh = {"EASTERN_HOME": str(tmp_path / "fresh"), "EASTERN_DB_URL": f"sqlite:///{tmp_path / 'fresh.db'}"}
    done = _cli(fresh, "ingest", str(out), "--no-features")
    assert done.returncode == 0, done.stdout + done.stderr
    from sqlalchemy import create_engine, text

    with create_engine(fresh["EASTERN_DB_URL"]).connect() as conn:
        again = dict(conn.execute(text(
            "SELECT v.sha256, n.name FROM videos v LEFT JOIN venues n ON n.id = v.current_venue_id")).all())
    assert again == original and original[video.sha256] == other


def test_every_export_kind_writes_its_rows_and_source(ws_env: Workspace, tmp_path: Path) -> None:
    from app.services.export import export

    ctx = _ctx()
    pset = _done_set(ctx)
    for kind in ("history", "predictions", "issues"):
        for fmt in ("csv", "jsonl"):
            out = tmp_path / f"{kind}.{fmt}"
            export(ctx, kind, fmt=fmt, out=out)
            if fmt == "csv":
                with out.open(newline="", encoding="utf-8") as fh:
                    rows = list(csv.DictReader(fh))
            else:
                rows = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
            meta = json.loads(out.with_name(out.name + ".meta.json").read_text())
            assert meta["rows"] == len(rows) > 0
    assert meta["prediction_set"]["set_id"] == pset.id and rows[0]["source"] == f"crossval set {pset.id}"
    from app.services import audit

    exported = [e for e in audit.recent(ctx, action="export") if e.target.startswith(str(tmp_path))]
    assert len(exported) == 6 and {e.detail["kind"] for e in exported} == {"history", "predictions", "issues"}
    bad = _cli(ws_env.env(), "export", "labels", "--out", str(tmp_path), *AS_ADMIN)  # a folder: one clear line, exit 2
    assert bad.returncode == 2 and "is a folder" in bad.stderr


def test_cli_queue_prints_json_lines_with_their_source(ws_env: Workspace) -> None:
    done = _cli(ws_env.env(), "queue", "--limit", "5", "--json")
    assert done.returncode == 0, done.stderr
    rows = [json.loads(line) for line in done.stdout.splitlines()]
    assert len(rows) == 5
    assert {"video_id", "file_name", "label", "suggested", "score", "source"} <= set(rows[0])
    assert [r["score"] for r in rows] == sorted(r["score"] for r in rows)
    assert rows[0]["source"].startswith("crossval set")


def test_export_of_20k_videos_streams_in_bounded_memory(tmp_path: Path) -> None:
    """Peak RSS of an export of 20,000 rows against the same process shape exporting 200 rows."""
    script = (
        "import resource, sys\n"
        "from pathlib import Path\n"
        "from sqlalchemy import insert\n"
        "from app.context import make_context\n"
        "from app.settings import Settings\n"
        "from app.services.database import prepare_database\n"
        "from app.services.export import export\n"
        "from db.models import Video\n"
        "from db.session import session_scope\n"
        "n, home = int(sys.argv[1]), Path(sys.argv[2])\n"
        "ctx = make_context(Settings(home=home, db_url=f'sqlite:///{home}/e.db'))\n"
        "prepare_database(ctx)\n"
        "with session_scope(ctx.engine) as s:\n"
        "    for start in range(0, n, 5000):\n"
        "        s.execute(insert(Video), [dict(sha256=f'{i:064x}', path='m', original_name=f'v{i}.mp4', duration=6,"
        " fps=30, width=480, height=480, size_bytes=1, has_audio=True, caption='caption ' * 40, source='t',"
        " current_venue_id=1 + i % 20, split='train') for i in range(start, min(n, start + 5000))])\n"
        "before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss\n"
        "r = export(ctx, 'labels', out=home / 'labels.csv')\n"
        "print(r.rows, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before)\n"
    )
    grown = {}
    for n in (200, 20_000):
        home = tmp_path / f"h{n}"
        home.mkdir()
        done = subprocess.run([sys.executable, "-c", script, str(n), str(home)], capture_output=True, text=True,
                              cwd=ROOT, check=True)
        rows, kb = done.stdout.split()
        assert int(rows) == n
        grown[n] = int(kb)
    # A whole-table export would hold 20k rows of ~330 bytes plus Python objects (tens of MB); streaming stays flat.
    assert grown[20_000] - grown[200] < 20_000, grown
