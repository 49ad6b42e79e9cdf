"""The paper's failure cases are searched for: on a corpus whose out-of-fold probabilities take a College
Basketball Court video for General Entertainment the search finds it; on one where no such mistake exists it
says so and offers the video of that label with the highest probability of the confused venue."""
from __future__ import annotations

import numpy as np
import pytest

from app.services import annotate, casestudy, papercases
from core.fileio import atomic_savez
from db import queries, repo
from db.session import session_scope
from tests.fixtures import Workspace


def _set_files(ctx):  # noqa: ANN001, ANN202
    source = annotate.queue_source(ctx)
    assert source.kind == "crossval"
    with session_scope(ctx.engine) as s:
        row = repo.get_prediction_set(s, set_id=source.set_id)
    path = ctx.settings.home / row.artifact_dir / "probs.npz"
    with np.load(path) as z:
        return path, z["video_ids"].copy(), z["probs"].copy(), [int(v) for v in row.venue_ids]


def _labelled(ctx, name: str) -> tuple[int, list[int]]:  # noqa: ANN001
    with session_scope(ctx.engine) as s:
        venue = repo.venue_id(s, name=name)
        rows, _ = queries.browse(s, model_version_id=None, filters=queries.VideoFilter(label_venue_ids=(venue,)))
    return venue, [r.id for r in rows]


def _rewrite(ctx, set_probs: dict[int, dict[int, float]]) -> None:  # noqa: ANN001
    """Rewrite the set's probs.npz (the real file the search reads) with these videos' rows (appended when the
    set did not score them: the 30-video fixture scores only venues with a video in each of its 3 folds)."""
    path, video_ids, probs, venue_ids = _set_files(ctx)
    for vid, row in set_probs.items():
        if vid not in video_ids:
            video_ids = np.append(video_ids, vid)
            probs = np.vstack([probs, np.zeros((1, probs.shape[1]))])
        i = int(np.nonzero(video_ids == vid)[0][0])
        probs[i] = 0.0
        others = [k for k in range(len(venue_ids)) if venue_ids[k] not in row]
        for venue, p in row.items():
            probs[i, venue_ids.index(venue)] = p
        probs[i, others] += (1.0 - sum(row.values())) / len(others)
    atomic_savez(path, video_ids=video_ids, probs=probs)


def test_the_papers_mistake_is_found_when_the_corpus_has_it(private_ws: Workspace) -> None:
    from app.context import get_context

    ctx = get_context()
    _cbc, cbc_videos = _labelled(ctx, "College Basketball Court")
    ge, _ = _labelled(ctx, "General Entertainment")
    assert cbc_videos, "the fixture corpus has a College Basketball Court video"
    target = cbc_videos[0]
    _rewrite(ctx, {target: {ge: 0.71}})  # CBC is not one of the set's classes (too few videos for 3 folds)
    v3 = next(c for c in papercases.paper_cases(ctx) if c.case == "v3")
    assert (v3.found, v3.video_id, v3.confused_venue_id) == (True, target, ge)
    assert v3.p_confused == pytest.approx(0.71)
    assert v3.predicted == "General Entertainment"
    assert "out-of-fold" in v3.source and v3.note.startswith("Found")
    candidates = casestudy.case_candidates(ctx, model_id=private_ws.active_model)
    assert target in candidates.preselected and "like the paper's v3" in candidates.notes[target]


def test_no_such_mistake_says_so_and_offers_the_closest_video(private_ws: Workspace) -> None:
    from app.context import get_context

    ctx = get_context()
    _cbc, videos = _labelled(ctx, "College Basketball Court")
    ge, _ = _labelled(ctx, "General Entertainment")
    park, _ = _labelled(ctx, "Park")
    _rewrite(ctx, {videos[0]: {park: 0.6, ge: 0.23}})  # taken for Park; General Entertainment its runner-up
    v3, v4 = papercases.paper_cases(ctx)
    assert not v3.found and v3.video_id == videos[0]
    assert v3.p_confused == pytest.approx(0.23) and v3.predicted == "Park"
    assert v3.note.startswith(f"None of the {len(videos)} College Basketball Court videos is taken for General")
    notes = casestudy.case_candidates(ctx, model_id=private_ws.active_model, paper=[v3]).notes
    assert "stand-in for the paper's v3" in notes[videos[0]]
    # the fixture's cross-validation scored no Speakeasy video (too few for 3 folds): said, nothing invented
    assert (v4.video_id, v4.found, v4.note) == (None, False, "No Speakeasy video has a prediction to search.")


def test_search_pair_prefers_the_most_confident_mistake() -> None:
    probs = papercases.Probabilities(
        video_ids=np.array([10, 11, 12, 13]), venue_ids=[1, 2, 3],
        probs=np.array([[0.2, 0.7, 0.1], [0.1, 0.8, 0.1], [0.05, 0.9, 0.05], [0.5, 0.4, 0.1]]), source="test")
    # 12 is not a candidate; 11 is the most confident mistake for venue 2
    assert papercases.search_pair(probs, {10, 11, 13}, 2) == (11, True, 0.8, 2, 0.8)
    # no candidate predicted as venue 3: the highest P(3) stands in (ties: the first)
    assert papercases.search_pair(probs, {10, 13}, 3)[:2] == (10, False)
    assert papercases.search_pair(probs, set(), 2) is None
    assert papercases.search_pair(probs, {10}, 99) == (10, False, 0.0, 2, 0.7)  # venue not a class
