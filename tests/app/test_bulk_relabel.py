"""Bulk relabel from Browse's table view: one venue and one reason for the selected videos, each saved through
annotate.relabel with its own conflict check and history row; a video changed meanwhile is reported, not
overwritten."""
from __future__ import annotations

import pytest

from app.services import annotate, bulk
from db import repo
from db.session import session_scope
from tests.fixtures import Workspace


def _state(ctx, ids):  # noqa: ANN001, ANN202
    with session_scope(ctx.engine) as s:
        return {v: (repo.get_video(s, video_id=v), repo.label_history(s, video_id=v)) for v in ids}


def test_bulk_relabel_saves_each_and_reports_conflicts(private_ws: Workspace) -> None:
    from app.context import get_context

    ctx = get_context()
    ids = [1, 2, 3]
    shown = bulk.label_versions(ctx, ids)  # what the table showed
    before = _state(ctx, ids)
    venue = next(v for v in ("Garden", "Speakeasy") if all(before[i][0].current_venue != v for i in ids))
    annotate.relabel(ctx, video_id=3, venue="Park", who=private_ws.admin, reason="meanwhile", expected_version=shown[3])
    result = bulk.relabel_many(ctx, shown_versions=shown, venue=venue, who=private_ws.annotator,
                               reason="bulk: all gardens")
    assert result.saved == [1, 2] and [v for v, _ in result.conflicts] == [3]
    assert f"{private_ws.admin} set it to Park" in result.conflicts[0][1]
    after = _state(ctx, ids)
    for v in (1, 2):
        video, history = after[v]
        assert video.current_venue == venue and video.version == before[v][0].version + 1
        assert len(history) == len(before[v][1]) + 1  # one history row per video
        assert (history[0].who, history[0].reason, history[0].previous_venue_name) == (
            private_ws.annotator, "bulk: all gardens", before[v][0].current_venue)
    assert after[3][0].current_venue == "Park"  # bob's change is kept


def test_an_unknown_venue_saves_nothing(private_ws: Workspace) -> None:
    from app.context import get_context

    ctx = get_context()
    shown = bulk.label_versions(ctx, [1, 2])
    with pytest.raises(repo.UnknownVenue):
        bulk.relabel_many(ctx, shown_versions=shown, venue="Moon Base", who=private_ws.annotator)
    assert bulk.label_versions(ctx, [1, 2]) == shown


def test_the_table_view_offers_bulk_relabel_to_a_signed_in_annotator(ws_env: Workspace) -> None:
    from tests.app.test_pages import open_page, texts

    at = open_page("browse")
    at.segmented_control(key="browse_view").set_value("Table").run()
    assert "sign in to relabel several at once" in texts(at)
    at = open_page("browse", annotator="alice")
    at.segmented_control(key="browse_view").set_value("Table").run()
    assert not at.exception and "Select rows to relabel them together" in texts(at)


def test_bulk_label_on_the_command_line_acts_as_an_account(private_ws: Workspace) -> None:
    import json

    from app.context import get_context
    from tests.app.test_training_service import run_cli

    ctx = get_context()
    before = _state(ctx, [4, 5, 6])
    venue = next(v for v in ("Garden", "Speakeasy") if all(before[i][0].current_venue != v for i in (4, 5, 6)))
    stale = before[6][0].version
    annotate.relabel(ctx, video_id=6, venue="Park", who=private_ws.admin, reason="meanwhile", expected_version=stale)
    argv = ["bulk-label", venue, "--videos", f"4-5,6@{stale}", "--reason", "cli bulk"]
    for who in ([], ["--who", private_ws.annotator, "--password", "wrong-password"]):
        code, _, stderr = run_cli([*argv, *who])
        assert code == 2 and "Traceback" not in stderr
    assert _state(ctx, [4, 5])[4][0].version == before[4][0].version  # nothing written
    code, out, stderr = run_cli([*argv, "--who", private_ws.annotator, "--password", private_ws.annotator_password])
    assert code == 0, stderr
    result = json.loads(out)
    assert result["saved"] == [4, 5] and [c["video_id"] for c in result["conflicts"]] == [6]
    after = _state(ctx, [4, 5, 6])
    assert all(after[v][1][0].who == private_ws.annotator and after[v][1][0].reason == "cli bulk" for v in (4, 5))
    assert after[6][0].current_venue == "Park"
    with pytest.raises(SystemExit) as stop:  # argparse: the usage and one line, exit 2
        run_cli(["bulk-label", venue, "--videos", "1,x", "--who", private_ws.annotator])
    assert stop.value.code == 2
