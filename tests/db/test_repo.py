"""Repository behaviour a user notices: label history, conflicts, undo, jobs, browse filters."""
from __future__ import annotations

from pathlib import Path

import pytest

from db import queries, repo
from db.migrate import upgrade
from db.session import dispose_engines, make_engine, session_scope


@pytest.fixture()
def engine(tmp_path: Path):
    url = f"sqlite:///{tmp_path / 'r.db'}"
    upgrade(url)
    eng = make_engine(url)
    with session_scope(eng) as s:
        repo.ensure_venues(s, venues=[("Gym", 101), ("Garden", 29), ("Speakeasy", 134)])
    yield eng
    dispose_engines()


def _video(s, sha: str = "a" * 64, caption: str = "hoops tonight", has_audio: bool = True) -> int:
    return repo.add_video(s, sha256=sha, path=f"media/{sha}.mp4", original_name=f"{sha[:4]}.mp4", duration=6.0,
                          fps=12.0, width=320, height=240, size_bytes=1000, has_audio=has_audio,
                          caption=caption, source="test")


def test_label_history_is_append_only_and_current_follows(engine) -> None:
    with session_scope(engine) as s:
        vid = _video(s)
        gym, garden = repo.venue_id(s, name="gym"), repo.venue_id(s, name="Garden")
        v1 = repo.set_label(s, video_id=vid, venue_id=gym, who="demo", expected_version=None)
        v2 = repo.set_label(s, video_id=vid, venue_id=garden, who="ann", reason="plants", expected_version=v1)
    with session_scope(engine) as s:
        video = repo.get_video(s, video_id=vid)
        history = repo.label_history(s, video_id=vid)
    assert (video.current_venue, video.version) == ("Garden", v2)
    assert [h.venue_name for h in history] == ["Garden", "Gym"]
    assert history[0].previous_venue_name == "Gym" and history[0].who == "ann" and history[0].reason == "plants"


def test_second_annotator_gets_conflict_and_nothing_is_overwritten(engine) -> None:
    with session_scope(engine) as s:
        vid = _video(s)
        version = repo.set_label(s, video_id=vid, venue_id=repo.venue_id(s, name="Gym"), who="demo",
                                 expected_version=None)
    # Both annotators read `version`; the first saves, the second must be refused.
    with session_scope(engine) as s:
        repo.set_label(s, video_id=vid, venue_id=repo.venue_id(s, name="Garden"), who="alice",
                       expected_version=version)
    with pytest.raises(repo.LabelConflict) as err, session_scope(engine) as s:
        repo.set_label(s, video_id=vid, venue_id=repo.venue_id(s, name="Speakeasy"), who="bob",
                       expected_version=version)
    assert err.value.current.who == "alice" and err.value.current.venue_name == "Garden"
    assert "alice" in str(err.value)
    with session_scope(engine) as s:
        assert repo.get_video(s, video_id=vid).current_venue == "Garden"
        assert len(repo.label_history(s, video_id=vid)) == 2


def test_unknown_venue_is_refused(engine) -> None:
    with pytest.raises(repo.UnknownVenue, match="Narnia"), session_scope(engine) as s:
        repo.venue_id(s, name="Narnia")
    with session_scope(engine) as s:
        vid = _video(s)
    with pytest.raises(repo.UnknownVenue), session_scope(engine) as s:
        repo.set_label(s, video_id=vid, venue_id=9999, who="x", expected_version=None)
    with session_scope(engine) as s:
        assert repo.label_history(s, video_id=vid) == []


def test_undo_appends_the_previous_label(engine) -> None:
    with session_scope(engine) as s:
        vid = _video(s)
        v = repo.set_label(s, video_id=vid, venue_id=repo.venue_id(s, name="Gym"), who="demo", expected_version=None)
        v = repo.set_label(s, video_id=vid, venue_id=repo.venue_id(s, name="Garden"), who="ann", expected_version=v)
        repo.undo_last_label(s, video_id=vid, who="ann", expected_version=v)
    with session_scope(engine) as s:
        history = repo.label_history(s, video_id=vid)
        assert repo.get_video(s, video_id=vid).current_venue == "Gym"
    assert [h.venue_name for h in history] == ["Gym", "Garden", "Gym"]
    assert "undo" in history[0].reason


def test_job_lifecycle_final_state_is_kept(engine) -> None:
    with session_scope(engine) as s:
        job = repo.create_job(s, params={"epochs": 1})
        assert repo.claim_job(s, job_id=job, pid=123)
        assert not repo.claim_job(s, job_id=job, pid=456)
        assert repo.update_job(s, job_id=job, progress=0.5, epoch=1, history_entry={"epoch": 1}) is False
        repo.request_cancel(s, job_id=job)
        assert repo.update_job(s, job_id=job, progress=0.6) is True
        repo.finish_job(s, job_id=job, status="cancelled")
        repo.finish_job(s, job_id=job, status="done")  # too late: the first final state stays
    with session_scope(engine) as s:
        row = repo.get_job(s, job_id=job)
    assert row.status == "cancelled" and row.history == [{"epoch": 1}]


def test_browse_filters_in_sql(engine) -> None:
    with session_scope(engine) as s:
        gym, garden = repo.venue_id(s, name="Gym"), repo.venue_id(s, name="Garden")
        ids = [_video(s, sha=c * 64, caption=cap, has_audio=audio)
               for c, cap, audio in [("a", "lifting #gym", True), ("b", "", False), ("c", "roses", True)]]
        for vid, venue in zip(ids, [gym, gym, garden], strict=True):
            repo.set_label(s, video_id=vid, venue_id=venue, who="demo", expected_version=None)
        model = repo.create_model_version(s, name="m", architecture="eastern", config={}, checkpoint_path="x",
                                          metrics={})
        repo.replace_predictions(s, model_version_id=model, rows=[
            {"video_id": ids[0], "venue_id": gym, "confidence": 0.9, "label_probability": 0.9, "entropy": 0.1,
             "topk": []},
            {"video_id": ids[1], "venue_id": garden, "confidence": 0.6, "label_probability": 0.2, "entropy": 0.5,
             "topk": []},
            {"video_id": ids[2], "venue_id": garden, "confidence": 0.4, "label_probability": 0.4, "entropy": 0.9,
             "topk": []},
        ])
        repo.set_label(s, video_id=ids[2], venue_id=garden, who="alice", expected_version=1)

    def run(**kw):
        with session_scope(engine) as s:
            rows, total = queries.browse(s, model_version_id=model, filters=queries.VideoFilter(**kw))
        return [r.id for r in rows], total

    assert run() == (ids, 3)
    assert run(label_venue_ids=(gym,)) == (ids[:2], 2)
    assert run(correctness="wrong") == ([ids[1]], 1)
    assert run(has_audio=False)[0] == [ids[1]]
    assert run(has_caption=False)[0] == [ids[1]]
    assert run(text="GYM")[0] == [ids[0]]
    assert run(min_confidence=0.5)[0] == ids[:2]
    assert run(annotated=True)[0] == [ids[2]]
    assert run(predicted_venue_ids=(garden,), correctness="correct")[0] == [ids[2]]
    with session_scope(engine) as s:
        queue = queries.review_queue(s, model_version_id=model)
        pairs = queries.confused_pairs(s, model_version_id=model)
    assert queue[0].id == ids[1]  # the one the model disagrees with comes first
    assert (pairs[0].true_venue, pairs[0].predicted_venue, pairs[0].count) == ("Gym", "Garden", 1)
