"""The "Label new videos" queue on a copy of the small real workspace: coverage first without a model, the most
uncertain first with one, `queue --unlabelled --json`, and Annotate with videos but no labels and no model."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import update

from app.services import newlabels
from db import repo
from db.models import ModelVersion, Video
from db.session import session_scope
from tests.app.test_pages import ctx_of, open_page, texts
from tests.fixtures import Workspace

ROOT = Path(__file__).resolve().parents[2]


def _forget(ws: Workspace, *, keep_every: int = 0, keep_model: bool = False) -> dict[int, int]:
    """Hide the labels (all, or all but every `keep_every`-th video) and, unless kept, the active model; returns
    the hidden true venue id of every video."""
    ctx = ctx_of(ws)
    with session_scope(ctx.engine) as s:
        truth = {v.id: v.current_venue_id for v in repo.all_videos(s)}
        hide = [vid for vid in truth if not keep_every or vid % keep_every]
        s.execute(update(Video).where(Video.id.in_(hide)).values(current_venue_id=None))
        if not keep_model:
            s.execute(update(ModelVersion).values(is_active=False))
    return truth


@pytest.fixture()
def blank_ws(private_ws: Workspace) -> tuple[Workspace, dict[int, int]]:
    """Videos with features, no labels, no active model."""
    return private_ws, _forget(private_ws)


def test_without_a_model_the_queue_covers_the_corpus(blank_ws) -> None:  # noqa: ANN001
    ws, truth = blank_ws
    queue = newlabels.unlabelled_queue(ctx_of(ws), limit=100)
    assert queue.order == "diversity" and queue.model_id is None
    assert (queue.n_labelled, queue.n_unlabelled) == (0, len(truth))
    assert [q.rank for q in queue.items] == list(range(1, len(truth) + 1))
    first = [truth[q.video_id] for q in queue.items[:8]]
    assert len(set(first)) >= 6  # the first picks span venues instead of repeating one
    assert queue.items[1].distance >= queue.items[-1].distance
    assert newlabels.unlabelled_queue(ctx_of(ws), limit=100).items == queue.items  # deterministic


def test_with_a_model_the_most_uncertain_come_first(private_ws: Workspace) -> None:
    _forget(private_ws, keep_every=2, keep_model=True)
    queue = newlabels.unlabelled_queue(ctx_of(private_ws), limit=100)
    assert queue.order == "uncertainty+diversity" and queue.model_id == private_ws.active_model
    u = [q.uncertainty for q in queue.items]
    assert None not in u and len(u) == queue.n_unlabelled == 15
    # the blend itself is tested on controlled data (tests/core/test_active.py::test_uncertainty_blend_puts_the_
    # undecided_first_among_equals): the fixture's 2-epoch model is near-uniform on every video (1 - margin between
    # 0.98 and 1.0 in a fresh build), so the order of `u` alone says nothing here
    assert all(0.0 <= x <= 1.0 for x in u)
    assert all(len(q.top) == 3 for q in queue.items)  # the model's top venues become the 1/2/3 picks


def test_cli_queue_unlabelled_json(blank_ws) -> None:  # noqa: ANN001
    ws, truth = blank_ws
    env = {**os.environ, **ws.env()}
    out = subprocess.run([sys.executable, "-m", "app", "queue", "--unlabelled", "--limit", "5", "--json"], cwd=ROOT,
                         env=env, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    rows = [json.loads(line) for line in out.stdout.splitlines()]
    assert [r["rank"] for r in rows] == [1, 2, 3, 4, 5]
    assert {r["order"] for r in rows} == {"diversity"}
    assert all(r["video_id"] in truth and r["file_name"].endswith(".mp4") and r["score"] > 0 for r in rows)
    first = newlabels.unlabelled_queue(ctx_of(ws), limit=5).items
    assert [r["video_id"] for r in rows] == [q.video_id for q in first]


def test_annotate_labels_new_videos_without_a_model(blank_ws) -> None:  # noqa: ANN001
    ws, truth = blank_ws
    at = open_page("annotate", annotator="carol")
    shown = texts(at)
    assert "No trained model yet" not in shown and f"0 labelled, {len(truth)} to go" in shown
    assert "Order: diversity" in shown
    first = newlabels.unlabelled_queue(ctx_of(ws), limit=1).items[0].video_id
    assert f"Video #{first}" in shown
    with session_scope(ctx_of(ws).engine) as s:
        venue = repo.venue_names(s)[truth[first]]
    at.selectbox(key=f"newlabels_{first}_venue").set_value(venue)  # inside the form: sent with the submit
    at.button(key=f"newlabels_{first}_save").click().run()
    assert not at.exception
    with session_scope(ctx_of(ws).engine) as s:
        assert repo.get_video(s, video_id=first).current_venue == venue, texts(at)
    shown = texts(at)
    assert f"1 labelled, {len(truth) - 1} to go" in shown and f"Video #{first}" not in shown
    at.button(key="newlabels_undo").click().run()  # U: back to the video just labelled, to change it
    assert f"Video #{first}" in texts(at) and venue in [t.value for t in at.text]
    other = next(n for n in at.selectbox(key=f"newlabels_{first}_venue").options if n != venue)
    at.selectbox(key=f"newlabels_{first}_venue").set_value(other)
    at.button(key=f"newlabels_{first}_save").click().run()
    with session_scope(ctx_of(ws).engine) as s:
        assert repo.get_video(s, video_id=first).current_venue == other
    assert f"Video #{first}" not in texts(at)  # and on with the queue
    at.segmented_control(key="annotate_mode").set_value("Fix labels").run()
    assert "it needs a trained model" in texts(at)


def test_annotate_new_videos_signed_out_and_first_model(blank_ws) -> None:  # noqa: ANN001
    ws, truth = blank_ws
    at = open_page("annotate")
    assert "Sign in as an annotator" in texts(at) and len(at.dataframe) == 1  # the queue, read-only
    from app.services import annotate

    ctx = ctx_of(ws)
    with session_scope(ctx.engine) as s:
        names = sorted({v.name for v in repo.list_venues(s)})[:2]
    for n, vid in enumerate(sorted(truth)[:2 * newlabels.MIN_PER_VENUE]):
        annotate.relabel(ctx, video_id=vid, venue=names[n % 2], who=ws.admin, expected_version=None)
    assert newlabels.unlabelled_queue(ctx, limit=1).ready_to_train
    at = open_page("annotate", is_admin=True)
    assert "Train a first model" in [b.label for b in at.button]
    at = open_page("annotate", annotator="carol")
    assert "an admin can train it here" in texts(at)
    from app.services.accounts import PermissionDenied

    with pytest.raises(PermissionDenied):
        newlabels.start_first_model(ctx, who="carol")


def test_annotate_new_videos_with_a_model_offers_its_picks(private_ws: Workspace) -> None:
    _forget(private_ws, keep_every=2, keep_model=True)
    at = open_page("annotate", annotator="carol")
    assert at.segmented_control(key="annotate_mode").value == "Fix labels"
    at.segmented_control(key="annotate_mode").set_value("Label new videos").run()
    assert "Order: uncertainty+diversity" in texts(at)
    first = newlabels.unlabelled_queue(ctx_of(private_ws), limit=1).items[0].video_id
    at.button(key=f"newlabels_{first}_pick1").click().run()
    assert at.selectbox(key=f"newlabels_{first}_venue").value is not None


def test_training_on_too_few_labels_says_how_many_there_are(private_ws: Workspace) -> None:
    """Two labelled videos (a new corpus's first labels): training refuses with the counts and where to go next,
    not with a bare 'found 0'."""
    from app.services import training
    from app.services.training import TrainingError

    truth = _forget(private_ws, keep_every=15)  # ids 15 and 30 keep their labels
    venues = {truth[15], truth[30]}
    with pytest.raises(TrainingError) as refused:
        training.load_dataset(ctx_of(private_ws))
    message = str(refused.value)
    assert "at least 2 venues with 2 or more labelled videos" in message
    assert f"2 labelled videos with features are in {len(venues)} venues, {2 - len(venues)} of them with 2" \
           in message, message
    assert "Label new videos" in message
