"""The dashboard's aggregate queries, shaped for 200k videos (docs/scale.md), against a pure-Python count of the
same small corpus: corpus counts, venues in use, the label-issue counts and confused pairs of a prediction set
(videos relabelled after its snapshot drop out), the model's confused pairs, and the caption search.
`check_against_python` also runs on PostgreSQL (tests/db/test_postgres.py)."""
from __future__ import annotations

from collections import Counter
from pathlib import Path

import numpy as np
import pytest
from sqlalchemy import update

from db import queries, repo
from db.migrate import upgrade
from db.models import SYSTEM_ANNOTATORS, Video
from db.session import dispose_engines, make_engine, session_scope

VENUES = [("Gym", 101), ("Garden", 29), ("Speakeasy", 134), ("Art Museum", 13), ("airport", 149)]
UNUSED = ("Bowling Alley", 30)  # labels no video


@pytest.fixture()
def engine(tmp_path: Path):
    url = f"sqlite:///{tmp_path / 'q.db'}"
    upgrade(url)
    eng = make_engine(url)
    yield eng
    dispose_engines()


def _video(s, i: int, caption: str, features: bool) -> int:  # noqa: ANN001
    vid = repo.add_video(s, sha256=f"{i:064x}", path=f"media/{i}.mp4", original_name=f"clip-{i}.mp4",
                         duration=6.0, fps=12.0, width=320, height=240, size_bytes=1000 + i, has_audio=i % 3 > 0,
                         caption=caption, source="test")
    if features:
        repo.set_features(s, video_id=vid, version="v-test")
    return vid


def _build(engine, seed: int = 0) -> dict:  # noqa: ANN001
    """60 videos over 5 venues (two unlabelled), model predictions, a 'done' prediction set over the labelled
    ones, then relabels after its snapshot: to another venue, away and back, and to a venue the set suggested."""
    rng = np.random.default_rng(seed)
    with session_scope(engine) as s:
        repo.ensure_venues(s, venues=[*VENUES, UNUSED])
        venue_ids = [repo.venue_id(s, name=n) for n, _ in VENUES]
        captions = ["Lifting at the GYM", "roses in bloom", "", "cocktails", "Gymnastics day", "boarding"]
        ids = [_video(s, i, captions[i % len(captions)], features=i % 4 > 0) for i in range(60)]
        label = {}
        for vid in ids[:-2]:  # the last two stay unlabelled
            label[vid] = venue_ids[int(rng.integers(0, len(venue_ids)))]
            repo.set_label(s, video_id=vid, venue_id=label[vid], who=SYSTEM_ANNOTATORS[vid % 4], expected_version=None)
        for vid in ids[:6]:  # people before the snapshot (a second row for the same video counts once)
            repo.set_label(s, video_id=vid, venue_id=label[vid], who="ann", expected_version=1)
        model = repo.create_model_version(s, name="m", architecture="eastern", config={}, checkpoint_path="x",
                                          metrics={})
        predicted = {vid: venue_ids[int(rng.integers(0, len(venue_ids)))] for vid in ids}
        repo.replace_predictions(s, model_version_id=model, rows=[
            {"video_id": vid, "venue_id": predicted[vid], "confidence": float(rng.random()),
             "label_probability": 0.1, "entropy": 0.5, "topk": []} for vid in ids])
        snapshot = repo.newest_label_id(s)
        set_id = repo.create_prediction_set(
            s, name="cv", architecture="eastern", params={}, features_version="v-test", venue_ids=venue_ids,
            label_snapshot_id=snapshot, label_snapshot_at=None, n_videos=len(label), artifact_dir="")
        oos = {vid: (label[vid], venue_ids[int(rng.integers(0, len(venue_ids)))], bool(rng.random() < 0.3))
               for vid in label}
        repo.replace_oos_predictions(s, set_id=set_id, rows=[
            {"video_id": vid, "fold": vid % 5, "label_venue_id": lab, "label_probability": 0.2,
             "suggested_venue_id": sug, "suggested_probability": 0.8, "quality": 0.5, "is_issue": issue, "topk": []}
            for vid, (lab, sug, issue) in oos.items()])
        repo.update_prediction_set(s, set_id=set_id, status="done")
    relabelled = ids[10:20]
    with session_scope(engine) as s:
        for k, vid in enumerate(relabelled):
            version = repo.get_video(s, video_id=vid).version
            other = next(v for v in venue_ids if v != label[vid])
            if k % 3 == 0:  # away and back: the set's label holds again
                version = repo.set_label(s, video_id=vid, venue_id=other, who="bob", expected_version=version)
                repo.set_label(s, video_id=vid, venue_id=label[vid], who="bob", expected_version=version)
            else:
                target = oos[vid][1] if k % 3 == 1 and oos[vid][1] != label[vid] else other
                repo.set_label(s, video_id=vid, venue_id=target, who="bob", expected_version=version)
        _video(s, 999, "late gym clip", features=False)  # added after the set: not in it
        s.execute(update(Video).where(Video.id % 3 == 0).values(split="test"))
    return {"model": model, "set_id": set_id, "oos": oos}


def check_against_python(engine) -> None:  # noqa: ANN001
    """Every aggregate equals a count in Python over the rows read back plainly."""
    built = _build(engine)
    with session_scope(engine) as s:
        videos = {v.id: v for v in repo.all_videos(s)}
        names = repo.venue_names(s)
        humans = {vid for vid in videos for h in repo.label_history(s, video_id=vid) if h.who not in SYSTEM_ANNOTATORS}
        preds = {vid: p.venue_id for vid in videos for p in repo.predictions_for_video(s, video_id=vid)
                 if p.model_version_id == built["model"]}
        counts = repo.corpus_counts(s)
        totals = repo.corpus_counts(s, per_venue=False)  # the sidebar's
        in_use = [v.name for v in repo.list_venues(s, used_only=True)]
        issue_counts = queries.issue_counts(s, set_id=built["set_id"])
        oos_pairs = queries.oos_confused_pairs(s, set_id=built["set_id"], limit=100)
        oos_top3 = queries.oos_confused_pairs(s, set_id=built["set_id"], limit=3)
        pairs = queries.confused_pairs(s, model_version_id=built["model"], limit=100)
        pairs_test = queries.confused_pairs(s, model_version_id=built["model"], limit=100, split="test")
        found, total = queries.browse(s, model_version_id=None, filters=queries.VideoFilter(text="GYM"), limit=100)
    current = {vid: v.current_venue_id for vid, v in videos.items()}

    assert (counts.videos, counts.labelled) == (len(videos), sum(v is not None for v in current.values()))
    assert counts.with_features == sum(v.features_version is not None for v in videos.values())
    assert counts.annotated == len(humans) > 6  # the six before the snapshot and bob's
    assert counts.per_venue == {names[k]: n for k, n in Counter(v for v in current.values() if v).items()}
    assert (totals.videos, totals.labelled, totals.with_features, totals.annotated, totals.per_venue) == (
        counts.videos, counts.labelled, counts.with_features, counts.annotated, {})
    assert sorted(in_use) == sorted({names[v] for v in current.values() if v}) and len(in_use) < len(names)

    kept = {vid: row for vid, row in built["oos"].items() if current[vid] == row[0]}
    assert 0 < len(kept) < len(built["oos"])  # some relabelled videos dropped out, the away-and-back ones not
    assert issue_counts == (len(kept), sum(issue for _, _, issue in kept.values()))

    def ranked(counter: Counter) -> list[tuple[str, str, int]]:
        return sorted(((names[t], names[p], n) for (t, p), n in counter.items()), key=lambda r: (-r[2], r[0], r[1]))

    def shown(rows: list[queries.ConfusedPair]) -> list[tuple[str, str, int]]:
        assert all(names[r.true_venue_id] == r.true_venue and names[r.predicted_venue_id] == r.predicted_venue
                   for r in rows)
        return [(r.true_venue, r.predicted_venue, r.count) for r in rows]

    want = Counter((lab, sug) for lab, sug, _ in kept.values() if sug != lab)
    # names sort by the database's collation; the counts and the set of pairs per count do not depend on it
    assert [n for *_, n in shown(oos_pairs)] == [n for *_, n in ranked(want)]
    assert sorted(shown(oos_pairs)) == sorted(ranked(want))
    assert shown(oos_top3) == shown(oos_pairs)[:3]
    model_want = Counter((current[v], p) for v, p in preds.items() if current[v] is not None and p != current[v])
    assert sorted(shown(pairs)) == sorted(ranked(model_want)) and pairs[0].count == max(model_want.values())
    test_want = Counter((current[v], p) for v, p in preds.items()
                        if current[v] is not None and p != current[v] and videos[v].split == "test")
    assert sorted(shown(pairs_test)) == sorted(ranked(test_want))

    matching = [vid for vid, v in videos.items() if "gym" in v.caption.lower() or "gym" in v.original_name.lower()]
    assert [r.id for r in found] == sorted(matching) and total == len(matching) > 2


def test_dashboard_aggregates_equal_a_python_count(engine) -> None:
    check_against_python(engine)


def test_oos_confused_pairs_orders_ties_by_names(engine) -> None:
    """Equal counts: by the true venue's name, then the predicted one's (SQLite compares by code point)."""
    built = _build(engine, seed=3)
    with session_scope(engine) as s:
        rows = queries.oos_confused_pairs(s, set_id=built["set_id"], limit=100)
    keys = [(-r.count, r.true_venue, r.predicted_venue) for r in rows]
    assert keys == sorted(keys)


def test_contains_lower_per_dialect() -> None:
    """SQLite: a plain LIKE (it ignores ASCII case itself); elsewhere lower(column) LIKE, as before."""
    from sqlalchemy.dialects import postgresql, sqlite

    assert str(queries.contains_lower("sqlite", Video.caption, "%gym%").compile(dialect=sqlite.dialect())) == \
        "videos.caption LIKE ?"
    assert str(queries.contains_lower("postgresql", Video.caption, "%gym%").compile(
        dialect=postgresql.dialect())).startswith("lower(videos.caption) LIKE %(")
