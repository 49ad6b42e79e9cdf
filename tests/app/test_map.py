"""The corpus map: the embedding artifact of a model version (its vectors are the model's forward on the stored
features), the job that makes it (started by an activation, resumable after a kill), `similar`, data issues
(a re-encoded video is a near duplicate), saved selections as a filter, and the Map page."""
from __future__ import annotations

import json
import os
import signal
import subprocess
import time
from pathlib import Path

import numpy as np
import pytest

from app.services import embeddings
from core import embeddings as emb
from tests.fixtures import AS_ADMIN, Workspace


def _run(ctx, model_id: int | None = None) -> embeddings.Run:  # noqa: ANN001
    run = embeddings.current_run(ctx, model_id)
    assert run is not None
    return run


def test_the_artifact_is_the_models_forward_on_the_stored_features(ws_ctx, workspace: Workspace) -> None:  # noqa: ANN001
    from app.services.models import features_for_model, load_model
    from core.train import predict_intermediates

    run = _run(ws_ctx, workspace.active_model)
    assert run.done and run.row.model_version_id == workspace.active_model
    assert run.spaces == ["joint", "visual", "acoustic", "textual"]
    assert run.row.stages_done == embeddings.stages(run.spaces)  # every stage, in order
    model, _cfg, meta = load_model(ws_ctx, workspace.active_model)
    data, video_ids = features_for_model(ws_ctx, meta)
    expected = emb.vectors(predict_intermediates(model, data))
    np.testing.assert_array_equal(run.video_ids(), video_ids)
    for space in run.spaces:
        np.testing.assert_allclose(np.asarray(run.vectors(space)), expected[space], rtol=1e-5, atol=1e-5)
        layout = run.layout(space)
        assert layout.shape == (len(video_ids), 2) and np.isfinite(layout).all()
    config = json.loads((run.folder / "config.json").read_text())
    assert config["model_version_id"] == workspace.active_model and config["features_version"] == \
        run.row.features_version


def test_similar_leaves_the_video_out_and_agrees_with_exact_search(ws_ctx, workspace: Workspace) -> None:  # noqa: ANN001
    from app.services.similar import similar

    run = _run(ws_ctx)
    ids = run.video_ids()
    for space in run.spaces:
        X = np.asarray(run.vectors(space))
        for row in (0, 7, len(ids) - 1):
            found = similar(ws_ctx, int(ids[row]), space=space, k=5)
            assert int(ids[row]) not in [n.video_id for n in found]
            assert len(found) == 5
            distances = [n.distance for n in found]
            assert distances == sorted(distances)
            exact = [int(ids[r]) for r in next(emb.exact_neighbours(X, X[row:row + 1], 6))[0] if r != row][:5]
            exact_d = np.linalg.norm(X[[list(ids).index(v) for v in exact]] - X[row], axis=1)
            np.testing.assert_allclose(distances, exact_d, rtol=1e-3, atol=1e-4)
            # the same neighbours as exact search; where several videos tie at a distance (the textual space of
            # videos without a caption is one vector) any of the tied ones is as near as exact search's pick
            own = np.linalg.norm(X[[list(ids).index(n.video_id) for n in found]] - X[row], axis=1)
            np.testing.assert_allclose(own, exact_d, rtol=1e-3, atol=1e-4)
            untied = [v for v, d in zip(exact, exact_d, strict=True) if np.sum(np.abs(exact_d - d) < 1e-4) == 1
                      and d < exact_d[-1] - 1e-4]
            assert set(untied) <= {n.video_id for n in found}, (space, row, exact, found)


def test_the_index_is_rebuilt_when_the_vectors_change(private_ws: Workspace) -> None:
    from app.context import get_context
    from app.services.similar import similar

    ctx = get_context()
    run = _run(ctx)
    before = similar(ctx, int(run.video_ids()[0]), space="visual", k=3)
    X = np.asarray(run.vectors("visual")).copy()
    X[[1, 2]] = X[0]  # two videos made identical to the first: they must come first now
    np.save(run.folder / "visual.npy", X)
    after = similar(ctx, int(run.video_ids()[0]), space="visual", k=3)
    assert {n.video_id for n in after[:2]} == {int(run.video_ids()[1]), int(run.video_ids()[2])}
    assert after[0].distance < 1e-3 and [n.video_id for n in before] != [n.video_id for n in after]
    meta = json.loads((run.folder / "index-visual.json").read_text())
    assert meta["vectors"] == embeddings._fingerprint(run.folder / "visual.npy")


def test_similar_and_data_issues_on_the_command_line(ws_env: Workspace, capsys: pytest.CaptureFixture) -> None:
    from app.cli import main

    assert main(["similar", "3", "--modality", "acoustic", "--k", "4", "--json"]) == 0
    lines = [json.loads(x) for x in capsys.readouterr().out.splitlines()]
    assert len(lines) == 4 and all(set(x) == {"video_id", "distance", "label"} for x in lines)
    assert 3 not in [x["video_id"] for x in lines]
    assert [x["distance"] for x in lines] == sorted(x["distance"] for x in lines)
    assert main(["data-issues", "--json"]) == 0
    rows = [json.loads(x) for x in capsys.readouterr().out.splitlines()]
    assert all(r["type"] in ("near_duplicate", "outlier", "non_iid") for r in rows)
    assert all((r["duplicate_of"] is not None) == (r["type"] == "near_duplicate") for r in rows)
    assert main(["similar", "3", "--k", "0"]) == 2  # one clear line, not a traceback
    assert "k must be at least 1" in capsys.readouterr().err


def _wait(predicate, timeout: float = 240.0, what: str = "", every: float = 0.5) -> None:  # noqa: ANN001
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            pytest.fail(f"timed out waiting for {what}")
        time.sleep(every)


def test_activation_starts_the_job_and_a_killed_job_resumes(private_ws: Workspace) -> None:
    """Promoting the LSTMs version (no common space: its hidden states) starts its embeddings job; killed after
    its first layout, the next run resumes the same artifact, keeps the finished files and completes it."""
    from app.context import get_context
    from app.services import jobs, models
    from app.settings import get_settings

    os.environ["EASTERN_MAP_ON_ACTIVATE"] = "true"
    get_settings.cache_clear()
    get_context.cache_clear()
    try:
        ctx = get_context()
        assert ctx.settings.map_on_activate
        models.promote(ctx, private_ws.other_model, who=private_ws.admin)
    finally:
        os.environ["EASTERN_MAP_ON_ACTIVATE"] = "false"
    job = jobs.list_jobs(ctx, kind="embeddings", limit=1)[0]
    assert job.created_by == private_ws.admin and job.request.model == private_ws.other_model

    def first_layout_done() -> bool:
        run = embeddings.current_run(ctx, private_ws.other_model)
        return run is not None and "layout-joint" in run.row.stages_done

    # polled often: the stages after the first layout take a second or two on this corpus, and a job that finished
    # before the kill has nothing left to resume (the test failed that way once in the full suite)
    _wait(first_layout_done, what="the job's first layout", every=0.02)
    pid = jobs.get_job(ctx, job.id).pid
    os.kill(pid, signal.SIGKILL)
    _wait(lambda: not jobs.worker_alive(pid), 30, "the worker to die")
    assert jobs.reap_dead_jobs(ctx) == [job.id]
    killed = _run(ctx, private_ws.other_model)
    assert killed.row.status == "failed" and not killed.done and "resumable" in killed.row.message
    kept = {s: (killed.folder / f"{s}.npy").stat().st_mtime_ns for s in ("joint", "layout-joint")}
    _model, cfg, _meta = models.load_model(ctx, private_ws.other_model)  # LSTMs: joint = [h_v; h_a; h_t]
    assert killed.vectors("joint").shape[1] == sum(cfg.hidden_dim(m) for m in cfg.modalities)

    env = {**os.environ, **private_ws.env()}
    done = subprocess.run([".venv/bin/python", "-m", "app", "embeddings", *AS_ADMIN], cwd=Path(__file__).parents[2],
                          env=env, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-2000:]
    assert json.loads(done.stdout.splitlines()[-1])["run"] == killed.id  # resumed, not started anew
    resumed = _run(ctx, private_ws.other_model)
    assert resumed.done and resumed.row.stages_done == embeddings.stages(resumed.spaces)
    assert {s: (resumed.folder / f"{s}.npy").stat().st_mtime_ns for s in kept} == kept  # finished files kept


def test_a_reencoded_video_is_a_near_duplicate_of_its_original(private_ws: Workspace, tmp_path: Path) -> None:
    import imageio_ffmpeg

    from app.context import get_context
    from app.services import dataissues, features
    from app.services.ingest import ingest_path
    from app.services.requests import EmbeddingsRequest
    from db import repo
    from db.session import session_scope

    ctx = get_context()
    with session_scope(ctx.engine) as session:
        original = repo.get_video(session, video_id=5)
    copy = tmp_path / "reupload.mp4"
    subprocess.run([imageio_ffmpeg.get_ffmpeg_exe(), "-v", "error", "-i", str(private_ws.home / original.path),
                    "-c:v", "libx264", "-b:v", "150k", "-c:a", "aac", "-b:a", "64k", str(copy)], check=True)
    report = ingest_path(ctx, copy, who="ingest")
    assert report.ok and len(report.added) == 1
    assert not features.extract_pending(ctx).failed
    run_id = embeddings.compute(ctx, EmbeddingsRequest(rebuild=True))
    assert run_id is not None and _run(ctx).id == run_id
    new_id = report.added[0]
    found = {(d.video_id, d.duplicate_of) for d in dataissues.issues(ctx, type_="near_duplicate")}
    assert (new_id, 5) in found and (5, new_id) in found


def test_a_saved_selection_filters_browse_and_the_queue(private_ws: Workspace) -> None:
    from app.context import get_context
    from app.services import annotate, audit, browse, selections
    from app.services.accounts import PermissionDenied
    from db.queries import VideoFilter

    ctx = get_context()
    sid = selections.save(ctx, name="Lasso: north cluster", video_ids=[4, 2, 9, 2], who=private_ws.annotator)
    page = browse.browse_page(ctx, filters=VideoFilter(selection_id=sid), page_size=50)
    assert [r.id for r in page.rows] == [2, 4, 9] and page.total == 3
    _source, queue = annotate.issue_queue(ctx, limit=100, selection_id=sid)
    assert {r.id for r in queue} <= {2, 4, 9}
    _source, everything = annotate.issue_queue(ctx, limit=100)
    assert {r.id for r in queue} == {r.id for r in everything} & {2, 4, 9}
    with pytest.raises(selections.SelectionError, match="exists already"):
        selections.save(ctx, name="Lasso: north cluster", video_ids=[1], who=private_ws.admin)
    with pytest.raises(PermissionDenied):
        selections.save(ctx, name="anonymous", video_ids=[1], who="")
    [row] = [s for s in selections.list_all(ctx) if s.id == sid]
    assert (row.name, row.owner, row.n_videos) == ("Lasso: north cluster", private_ws.annotator, 3)
    assert audit.recent(ctx, action="selection.save")[0].actor == private_ws.annotator


def test_export_of_a_selection_holds_only_its_videos(private_ws: Workspace, tmp_path: Path) -> None:
    import csv

    from app.context import get_context
    from app.services import export

    out = tmp_path / "sel.csv"
    report = export.export(get_context(), "labels", out=out, actor="cli", video_ids=[3, 6])
    with out.open(newline="") as fh:
        assert sorted(int(r["video_id"]) for r in csv.DictReader(fh)) == [3, 6]
    assert report.rows == 2 and report.meta["videos"] == 2


def _array(value):  # noqa: ANN001, ANN202 - plotly's JSON array: a list, or {"dtype", "bdata"} (base64)
    import base64

    if isinstance(value, dict):
        return np.frombuffer(base64.b64decode(value["bdata"]), dtype=np.dtype(value["dtype"]))
    return value


def test_the_map_page_draws_every_video(ws_env: Workspace) -> None:
    from tests.app.test_pages import chart_keys, open_page, texts

    at = open_page("map")
    assert "map_chart" in chart_keys(at)
    [chart] = [c for c in at.get("plotly_chart")]
    figure = json.loads(chart.proto.spec)
    drawn = [int(v) for trace in figure["data"] for v in _array(trace["customdata"])]
    assert all(t["type"] == "scattergl" for t in figure["data"])
    from app.context import get_context

    assert sorted(drawn) == sorted(int(v) for v in _run(get_context()).video_ids())
    assert f"{len(drawn)} videos" in texts(at)
    at.selectbox(key="map_colour").set_value("label_quality").run()
    assert not at.exception
    at.segmented_control(key="map_space").set_value("textual").run()
    assert not at.exception


def test_selections_on_the_command_line(private_ws: Workspace, capsys: pytest.CaptureFixture) -> None:
    from app.cli import main

    assert main(["selections", "save", "from the shell", "--ids", "3,1,3", *AS_ADMIN]) == 0
    sid = json.loads(capsys.readouterr().out)["id"]
    assert main(["selections", "show", str(sid)]) == 0
    assert json.loads(capsys.readouterr().out)["video_ids"] == [1, 3]
    assert main(["selections", "save", "from the shell", "--ids", "2", *AS_ADMIN]) == 2  # the name is taken
    assert "exists already" in capsys.readouterr().err
    assert main(["selections", "delete", str(sid), *AS_ADMIN]) == 0
    capsys.readouterr()
    assert main(["selections", "list"]) == 0
    assert capsys.readouterr().out == ""


def test_the_graph_from_the_index_finds_what_cleanlabs_own_graph_finds() -> None:
    """dataissues reads its neighbour graph from the run's faiss index (re-ranked by cosine, cleanlab's metric):
    on vectors with planted duplicates it flags the same videos as cleanlab building the graph itself."""
    from app.services.dataissues import find

    rng = np.random.default_rng(0)
    X = rng.normal(size=(400, 32)).astype(np.float32)
    X[5] = X[7]  # an exact copy
    X[9] = X[11] + 1e-3  # a re-encode
    ids = rng.permutation(np.arange(1000, 1400))
    own = find(X, ids)
    ours = find(X, ids, emb.build_index(X, emb.IndexConfig(exact_below=100)))  # the HNSW index
    flagged = {(r["video_id"], r["type"], r["duplicate_of"]) for r in ours if r["is_issue"]}
    assert flagged == {(r["video_id"], r["type"], r["duplicate_of"]) for r in own if r["is_issue"]}
    assert {(int(ids[5]), "near_duplicate", int(ids[7])), (int(ids[9]), "near_duplicate", int(ids[11]))} <= flagged
