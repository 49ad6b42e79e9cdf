"""The dashboard through Streamlit's AppTest on the shared small workspace: every page renders, Browse
filters, label corrections with history, undo and the two-annotator conflict, uploads, and a
retraining job run to the end and promoted."""
from __future__ import annotations

import re
import time
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from app.ui import pages
from db import queries, repo
from db.session import session_scope
from tests.fixtures import Workspace

MAIN = str(Path(__file__).resolve().parents[2] / "app" / "ui" / "main.py")
TIMEOUT = 60  # seconds per run: the machine is slow and the first explanation loads torch


def signed_in(name: str, role: str = "annotator"):  # noqa: ANN201 - app.services.accounts.SignedIn
    """A dashboard session of account `name` (created with this role if missing), as the sign-in form makes."""
    from app.context import get_context
    from app.services import accounts

    ctx = get_context()
    account = accounts.get(ctx, name) or accounts.create(ctx, name=name, role=role, password="pw-" + name * 8,
                                                         actor="test")
    return accounts.start_session(ctx, account)


def open_page(page: str | None, *, query: dict[str, str] | None = None, annotator: str | None = None,
              is_admin: bool = False, **state: object) -> AppTest:
    """Run the app once, switch to `views/<page>.py` (with a query string), run it; no exception. `annotator`
    signs in as that account (an annotator, or an admin with is_admin; is_admin alone: the `admin` account)."""
    at = AppTest.from_file(MAIN, default_timeout=TIMEOUT)
    if annotator or is_admin:
        at.session_state["auth"] = signed_in(annotator or "admin", "admin" if is_admin else "annotator")
    for key, value in state.items():
        at.session_state[key] = value
    at.run()
    assert not at.exception, at.exception
    if page is not None:
        at.switch_page(pages.PAGE_FILES[page])
        at.query_params.update(query or {})
        at.run()
        if page == "video":  # a browser asks for the rest after the first paint (a fragment's timer); AppTest runs
            at.run()  # no timer
    assert not at.exception, [e.value for e in at.exception]
    return at


def texts(at: AppTest) -> str:
    """Everything the page wrote as text (markdown, captions, alerts, titles), one string."""
    parts = []
    for kind in ("markdown", "caption", "success", "error", "warning", "info", "title", "header", "subheader"):
        parts += [str(e.value) for e in getattr(at, kind)]
    return "\n".join(parts)


def chart_keys(at: AppTest) -> set[str]:
    """The keys of the charts on the page: each Plotly chart's own, and each Vega-Lite chart's container's
    (app.ui.components.chart)."""
    from streamlit.runtime.state.common import user_key_from_element_id

    keys = {user_key_from_element_id(c.proto.id) for c in at.get("plotly_chart")}

    def walk(node) -> None:  # noqa: ANN001 - an AppTest Block
        for child in getattr(node, "children", {}).values():
            if getattr(child, "type", None) == "vega_lite_chart" and getattr(node, "proto", None) is not None:
                keys.add(user_key_from_element_id(node.proto.id))
            walk(child)

    walk(at._tree)
    return keys


def timeline_fed(at: AppTest) -> dict:
    """What Video detail's "Why this venue?" fragment sends to the player (app.ui.player.timeline_feed)."""
    import json

    found = []

    def walk(node) -> None:  # noqa: ANN001 - an AppTest node
        if getattr(node, "type", None) == "bidi_component" and node.proto.component_name == "eastern.timeline_feed":
            found.append(json.loads(node.proto.json))
        for child in getattr(node, "children", {}).values():
            walk(child)

    walk(at._tree)
    assert len(found) == 1, found
    return found[0]


def ctx_of(ws: Workspace):  # noqa: ANN201 - app.context.AppContext
    from app.context import get_context

    ctx = get_context()
    assert ctx.settings.home == ws.home
    return ctx


def some_video(ws: Workspace) -> repo.VideoRow:
    with session_scope(ctx_of(ws).engine) as s:
        return repo.get_video(s, video_id=1)


def other_venue(ws: Workspace, than: str | None) -> str:
    with session_scope(ctx_of(ws).engine) as s:
        return next(v.name for v in repo.list_venues(s, used_only=True) if v.name != than)


# ---------------------------------------------------------------- every page


PAGES = [p.key for p in pages.PAGES if p.key != "accounts"]


@pytest.mark.parametrize("page", PAGES)
def test_every_page_renders(ws_env: Workspace, page: str) -> None:
    query = {"video": "1"} if page == "video" else None
    at = open_page(page, query=query, annotator="alice", is_admin=True)
    assert at.title, f"{page} drew no title"
    assert not at.error, [e.value for e in at.error]


def test_pages_render_for_a_visitor_without_name_or_admin(ws_env: Workspace) -> None:
    for page in ("annotate", "retrain", "video"):
        at = open_page(page, query={"video": "2"} if page == "video" else None)
        assert not at.error, (page, [e.value for e in at.error])
    assert "Sign in as an annotator" in texts(open_page("annotate"))
    assert "admin" in texts(open_page("retrain")).lower()


def test_video_detail_draws_the_player_first_and_the_rest_on_the_browsers_timer(ws_env: Workspace) -> None:
    """A video's first page run draws the title and the player and stops (Chromium then starts the video before it
    renders the rest); the fragment's timer reruns the page for the rest. Back from another page, the first paint
    comes again; a rerun on the same video (a saved label) draws the whole page at once."""
    at = AppTest.from_file(MAIN, default_timeout=TIMEOUT)
    at.run()
    at.switch_page(pages.PAGE_FILES["video"])
    at.query_params.update({"video": "3"})
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    assert at.title[0].value.startswith("Video #3") and at.get("iframe")  # the player
    assert not [s for s in at.selectbox if s.key == "video_3_venue"] and not chart_keys(at)  # not yet
    at.run()  # what the fragment's timer asks for after the first paint
    assert {s.key for s in at.selectbox} >= {"video_3_venue"} and "video_top5" in chart_keys(at)
    at.run()  # the same video again: the whole page in one run
    assert "video_top5" in chart_keys(at)
    at.query_params.pop("video")
    at.switch_page(pages.PAGE_FILES["browse"]).run()
    assert not at.title[0].value.startswith("Video #")
    at.switch_page(pages.PAGE_FILES["video"])
    at.query_params.update({"video": "3"})
    at.run()  # back from Browse: the player first again
    assert not chart_keys(at) and at.get("iframe")


def test_video_page_why_this_venue(ws_env: Workspace) -> None:
    at = open_page("video", query={"video": "3"})
    assert "Video #3" in at.title[0].value
    assert {"video_top5", "video_ablation", "video_audio"} <= chart_keys(at)
    assert timeline_fed(at) == {"target": "video_player", "video": 3, "timeline": None}  # nothing explained yet
    at.button(key="video_why").click().run()
    assert not at.exception, [e.value for e in at.exception]
    assert any("Why this venue?" in h.value for h in at.header)
    fed = timeline_fed(at)  # the player's time line gets the prediction's frame, clip and word attributions
    assert fed["video"] == 3 and len(fed["timeline"]["frames"]) == 12 and len(fed["timeline"]["clips"]) == 6
    predicted = at.selectbox(key="video_why_target")
    assert predicted.value is None  # the prediction first
    from app.services.explain import explain_video
    from app.ui.components import plain

    runner_up = explain_video(ctx_of(ws_env), 3).probabilities[1]  # read from the page's disk cache
    predicted.set_value(runner_up.venue_id).run()  # "why not X?"
    assert not at.exception, [e.value for e in at.exception]
    assert f"**{plain(runner_up.venue)}** (not predicted" in texts(at)
    assert {"why_atoms", "why_atom_push", "why_audio"} <= chart_keys(at)
    assert runner_up.venue in timeline_fed(at)["timeline"]["hint"]  # the time line follows the picked venue


def test_unknown_video_is_one_line(ws_env: Workspace) -> None:
    at = open_page("video", query={"video": "99999"})
    assert any("no video with id 99999" in e.value for e in at.error)


def test_models_page_lists_versions_and_compares(ws_env: Workspace) -> None:
    at = open_page("models")
    table = at.dataframe[0].value
    assert {ws_env.active_model, ws_env.other_model, ws_env.never_active_model} <= set(table["id"])
    assert at.selectbox(key="models_pick").value == ws_env.active_model
    at.selectbox(key="models_a").set_value(ws_env.other_model)
    at.selectbox(key="models_b").set_value(ws_env.active_model).run()
    assert not at.exception
    assert "prediction flipped" in texts(at)


def test_comparing_a_version_without_predictions_computes_them_in_a_job(private_ws: Workspace) -> None:
    """A version never activated has no stored predictions: the page does not compute them in its run (minutes at
    200k videos) but offers a `predict` job, shows its progress, and compares when the predictions are in."""
    engine = ctx_of(private_ws).engine
    with session_scope(engine) as s:
        assert not queries.has_predictions(s, model_version_id=private_ws.never_active_model)
    signed_out = open_page("models")
    signed_out.selectbox(key="models_a").set_value(private_ws.never_active_model)
    signed_out.selectbox(key="models_b").set_value(private_ws.active_model).run()
    assert "no stored predictions" in texts(signed_out) and "Sign in to compute them" in texts(signed_out)
    assert not [b for b in signed_out.button if b.key == "models_compare_predict"]
    at = open_page("models", annotator="ann")
    at.selectbox(key="models_a").set_value(private_ws.never_active_model)
    at.selectbox(key="models_b").set_value(private_ws.active_model).run()
    at.button(key="models_compare_predict").click().run()
    assert not at.exception, [e.value for e in at.exception]
    _finished(engine, "predict")
    with session_scope(engine) as s:
        assert queries.has_predictions(s, model_version_id=private_ws.never_active_model)
        assert repo.active_model(s).id == private_ws.active_model  # stored, not activated
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    assert "prediction flipped" in texts(at)


def test_models_page_shows_the_latest_report(ws_env: Workspace) -> None:
    folder = ws_env.home / "reports" / "latest"
    folder.mkdir(parents=True, exist_ok=True)
    try:
        (folder / "report.md").write_text("## Table 1: Micro-F and Macro-F\n\n| method | Micro-F |\n|---|---|\n"
                                          "| EASTERN | 50.00 |\n")
        (folder / "results.json").write_text('{"curves": {"EASTERN": [{"epoch": 1, "micro_f1": 0.4}, '
                                             '{"epoch": 2, "micro_f1": 0.5}]}}')
        at = open_page("models")
        assert "Table 1: Micro-F and Macro-F" in texts(at)
        assert "models_figure6" in chart_keys(at)  # Figure 6 from the report's curves (core.figures)
    finally:
        for name in ("report.md", "results.json"):
            (folder / name).unlink(missing_ok=True)


def test_casestudy_defaults_to_the_papers_failure_venues(ws_env: Workspace) -> None:
    from app.services.annotate import queue_source
    from db import queries

    ctx = ctx_of(ws_env)
    at = open_page("casestudy")
    # Each paper case under its own header, and why it has no video here: the fixture corpus has one video of each
    # label and its cross-validation scored neither, so the out-of-sample predictions have none to search.
    markdown = [str(m.value) for m in at.markdown]
    assert "**v3** · College Basketball Court → General Entertainment" in markdown
    assert "**v4** · Speakeasy → Garden" in markdown
    infos = [str(i.value) for i in at.info]
    assert "No College Basketball Court video has a prediction to search." in infos
    assert "No Speakeasy video has a prediction to search." in infos
    # Without a paper case the page preselects the two most confident out-of-sample mistakes, and shows each
    # by id, file name and current label.
    picked = at.multiselect(key="case_videos")
    assert picked.value, "no default videos"
    with session_scope(ctx.engine) as s:
        mistakes = queries.oos_mistakes(s, set_id=queue_source(ctx).set_id, limit=2)
        stored = {m.id: repo.get_video(s, video_id=m.id) for m in mistakes}
    assert sorted(picked.value) == sorted(stored) and len(stored) == 2
    lines = [str(t.value) for t in at.text]
    table = next(d.value for d in at.dataframe if "label" in d.value.index)
    for video_id, video in stored.items():
        assert f"#{video_id} {video.original_name} · label {video.current_venue}" in lines
        assert table.loc["name", f"video #{video_id}"] == video.original_name
        assert table.loc["label", f"video #{video_id}"] == video.current_venue
    assert "label" in table.index and any("CONV (fixture)" in str(i) for i in table.index)


# ---------------------------------------------------------------- browse


def _match_count(at: AppTest) -> int:
    found = re.search(r"\*\*(\d[\d,]*)\*\* videos match", texts(at))
    return int(found.group(1).replace(",", "")) if found else 0


def test_browse_filters_change_rows(ws_env: Workspace) -> None:
    at = open_page("browse")
    assert _match_count(at) == 30
    at.segmented_control(key="browse_view").set_value("Table").run()
    all_ids = set(at.dataframe(key="browse_table").value["id"])
    assert len(all_ids) == 30

    at.segmented_control(key="browse_correct").set_value("wrong").run()
    wrong = at.dataframe(key="browse_table").value
    assert 0 < len(wrong) < 30 and _match_count(at) == len(wrong)
    assert set(wrong["correct"]) == {"✗"}

    at.segmented_control(key="browse_correct").set_value("any")
    label = sorted(set(at.dataframe(key="browse_table").value["label"]))[0]
    at.multiselect(key="browse_labels").set_value([label]).run()
    assert set(at.dataframe(key="browse_table").value["label"]) == {label}

    at.multiselect(key="browse_labels").set_value([])
    at.text_input(key="browse_text").input("no such caption anywhere").run()
    assert "No video matches these filters." in texts(at)

    at.text_input(key="browse_text").input("")
    at.selectbox(key="browse_sort").set_value("confidence_desc").run()
    conf = list(at.dataframe(key="browse_table").value["confidence"])
    assert conf == sorted(conf, reverse=True)


# ---------------------------------------------------------------- labels


def test_label_correction_is_stored_with_history_and_undone(private_ws: Workspace) -> None:
    video = some_video(private_ws)
    new = other_venue(private_ws, video.current_venue)
    at = open_page("video", query={"video": str(video.id)}, annotator="alice")
    at.selectbox(key=f"video_{video.id}_venue").set_value(new)
    at.text_input(key=f"video_{video.id}_reason").input("the bar is visible at 2 s")
    at.button(key=f"video_{video.id}_save").click().run()
    assert not at.exception, [e.value for e in at.exception]
    assert any(f"now labelled **{new}**" in s.value for s in at.success)

    with session_scope(ctx_of(private_ws).engine) as s:
        history = repo.label_history(s, video_id=video.id)
        stored = repo.get_video(s, video_id=video.id)
    assert stored.current_venue == new and stored.version == video.version + 1
    assert (history[0].who, history[0].venue_name, history[0].previous_venue_name, history[0].reason) == (
        "alice", new, video.current_venue, "the bar is visible at 2 s")
    newest = next(t.value for t in at.text if " · alice · " in t.value)  # the history, newest first, as text
    assert newest.split("\n")[0].endswith(f"{video.current_venue} → {new}")
    assert newest.split("\n")[1].strip() == "reason: the bar is visible at 2 s"

    at.button(key="video_undo").click().run()
    assert not at.exception
    with session_scope(ctx_of(private_ws).engine) as s:
        history = repo.label_history(s, video_id=video.id)
        stored = repo.get_video(s, video_id=video.id)
    assert stored.current_venue == video.current_venue
    assert history[0].venue_name == video.current_venue and history[0].reason.startswith("undo of change")
    assert any("Undone" in s.value for s in at.success)


def test_second_annotator_gets_a_conflict_and_nothing_is_overwritten(private_ws: Workspace) -> None:
    video = some_video(private_ws)
    theirs, mine = [v for v in _used_venues(private_ws) if v != video.current_venue][:2]
    at = open_page("video", query={"video": str(video.id)}, annotator="alice")  # alice sees the old label

    with session_scope(ctx_of(private_ws).engine) as s:  # bob saves in between
        repo.set_label(s, video_id=video.id, venue_id=repo.venue_id(s, name=theirs), who="bob",
                       expected_version=video.version)

    at.selectbox(key=f"video_{video.id}_venue").set_value(mine)
    at.button(key=f"video_{video.id}_save").click().run()
    assert not at.exception
    message = " ".join(e.value for e in at.error)
    assert "Conflict" in message and "bob" in message and theirs in message and mine in message
    with session_scope(ctx_of(private_ws).engine) as s:
        stored = repo.get_video(s, video_id=video.id)
        history = repo.label_history(s, video_id=video.id)
    assert stored.current_venue == theirs and history[0].who == "bob"
    assert theirs in [t.value for t in at.text]  # alice now sees bob's label (as "Current label")

    at.selectbox(key=f"video_{video.id}_venue").set_value(mine)  # saving again, knowingly, replaces it
    at.button(key=f"video_{video.id}_save").click().run()
    with session_scope(ctx_of(private_ws).engine) as s:
        assert repo.get_video(s, video_id=video.id).current_venue == mine


def _used_venues(ws: Workspace) -> list[str]:
    with session_scope(ctx_of(ws).engine) as s:
        return [v.name for v in repo.list_venues(s, used_only=True)]


def _shown_video(at: AppTest) -> int:
    return int(re.search(r"Video #(\d+)", at.subheader[0].value).group(1))


def test_annotate_queue_is_out_of_sample_and_says_so(ws_env: Workspace) -> None:
    at = open_page("annotate", annotator="carol")
    assert "Out-of-fold probabilities" in texts(at)  # the source is named, and it is not in-sample
    first = _shown_video(at)
    from app.services import annotate

    source, rows = annotate.issue_queue(ctx_of(ws_env), limit=1)
    assert source.kind == "crossval" and rows[0].id == first  # the lowest label quality comes first
    picker = at.selectbox(key=f"annotate_{first}_venue")
    assert picker.value == rows[0].label  # the current label, never the model's guess


def test_annotate_picks_a_suggestion_saves_and_moves_on(private_ws: Workspace) -> None:
    at = open_page("annotate", annotator="carol")
    first = _shown_video(at)
    second_choice = at.button(key=f"annotate_{first}_pick2")
    venue = second_choice.label.split(" · ", 1)[1].rsplit(" (", 1)[0]
    second_choice.click().run()
    assert at.selectbox(key=f"annotate_{first}_venue").value == venue
    at.button(key=f"annotate_{first}_save").click().run()
    assert not at.exception
    with session_scope(ctx_of(private_ws).engine) as s:
        newest = repo.label_history(s, video_id=first)[0]
    assert (newest.who, newest.venue_name) == ("carol", venue)
    second = _shown_video(at)
    assert second != first
    at.button(key="annotate_skip").click().run()
    assert _shown_video(at) not in (first, second)


# ---------------------------------------------------------------- upload


def test_upload_of_a_broken_file_says_why(private_ws: Workspace) -> None:
    from tests.app.test_upload_job import finish_uploads

    at = open_page("upload", annotator="dave")
    at.file_uploader(key="upload_file").set_value(("broken.mp4", b"this is not a video", "video/mp4"))
    at.button(key="upload_submit").click().run()
    assert not at.exception, [e.value for e in at.exception]
    finish_uploads(at)
    # the file name is user text: escaped for the alert's Markdown (broken\.mp4 shows as broken.mp4)
    assert any(r"broken\.mp4" in e.value for e in at.error), [e.value for e in at.error]


def test_upload_of_a_stored_video_links_to_it(private_ws: Workspace) -> None:
    from tests.app.test_upload_job import finish_uploads

    video = some_video(private_ws)
    data = (private_ws.home / video.path).read_bytes()
    at = open_page("upload", annotator="dave")
    at.file_uploader(key="upload_file").set_value(("again.mp4", data, "video/mp4"))
    at.button(key="upload_submit").click().run()
    assert not at.exception, [e.value for e in at.exception]
    finish_uploads(at)
    assert any(f"video {video.id}" in (link.proto.label or "") for link in at.get("page_link"))


# ---------------------------------------------------------------- retrain and promote


def test_retrain_job_runs_to_the_end_and_is_promoted(private_ws: Workspace) -> None:
    at = open_page("retrain", annotator="admin-alice", is_admin=True)
    at.selectbox(key="retrain_architecture").set_value("eastern")
    at.number_input(key="retrain_epochs").set_value(1)
    at.button(key="retrain_start").click().run()
    assert not at.exception, [e.value for e in at.exception]
    assert any("started in its own process" in s.value for s in at.success)

    engine = ctx_of(private_ws).engine
    with session_scope(engine) as s:
        job = repo.list_jobs(s, limit=1)[0]
    deadline = time.monotonic() + 420
    while job.status in ("queued", "running") and time.monotonic() < deadline:
        time.sleep(2)
        with session_scope(engine) as s:
            job = repo.get_job(s, job_id=job.id)
    log = (private_ws.home / "jobs" / f"job-{job.id}.log")
    assert job.status == "done", (job.status, job.error, log.read_text()[-2000:] if log.exists() else "")
    assert job.history and job.history[-1]["epoch"] == 1

    at.run()
    assert not at.exception
    promote = at.button(key="retrain_promote")
    assert f"#{job.model_version_id}" in promote.label
    promote.click().run()
    assert not at.exception, [e.value for e in at.exception]
    _promoted(at, engine)
    with session_scope(engine) as s:
        active = repo.active_model(s)
        assert repo.predictions_for_video(s, video_id=1)
    assert active.id == job.model_version_id != private_ws.active_model


def _finished(engine, kind: str) -> None:  # noqa: ANN001
    """Wait (up to 300 s) for the newest job of this kind, started by a click, and check that it is done."""
    with session_scope(engine) as s:
        job = next(j for j in repo.list_jobs(s, limit=5) if j.kind == kind)
    deadline = time.monotonic() + 300
    while job.status in ("queued", "running") and time.monotonic() < deadline:
        time.sleep(1)
        with session_scope(engine) as s:
            job = repo.get_job(s, job_id=job.id)
    assert job.status == "done", (job.status, job.error)


def _promoted(at, engine) -> None:  # noqa: ANN001
    """The promote job the click started runs in its own process (the page run only submitted it and shows its
    progress); once it is done, the next run says so and shows the new active model."""
    with session_scope(engine) as s:
        job = next(j for j in repo.list_jobs(s, limit=5) if j.kind == "promote")
    assert any("Promoting" in p.text for p in at.get("progress")) or job.status == "done", "no progress shown"
    _finished(engine, "promote")
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    assert any("is active" in s.value for s in at.success), [s.value for s in at.success]


def test_models_page_promotes_a_version(private_ws: Workspace) -> None:
    at = open_page("models", is_admin=True)
    at.selectbox(key="models_pick").set_value(private_ws.other_model).run()
    at.button(key="models_promote").click().run()
    assert not at.exception, [e.value for e in at.exception]
    _promoted(at, ctx_of(private_ws).engine)
    with session_scope(ctx_of(private_ws).engine) as s:
        assert repo.active_model(s).id == private_ws.other_model


def test_promotion_needs_admin(ws_env: Workspace) -> None:
    at = open_page("models")
    at.selectbox(key="models_pick").set_value(ws_env.other_model).run()
    assert not [b for b in at.button if b.key == "models_promote"]
    at = open_page("retrain")
    assert not [b for b in at.button if b.key == "retrain_start"]


def test_failed_job_shows_its_error(private_ws: Workspace) -> None:
    with session_scope(ctx_of(private_ws).engine) as s:
        job_id = repo.create_job(s, params={"architecture": "eastern", "epochs": 1, "modalities": ["visual"]},
                                 created_by="erin")
        repo.finish_job(s, job_id=job_id, status="failed", error="TrainingError: need labelled videos")
    at = open_page("retrain", is_admin=True)
    assert any(f"Job {job_id} failed" in e.value for e in at.error)
    assert "TrainingError: need labelled videos" in [c.value for c in at.code]


# ---------------------------------------------------------------- identity and deep links


def test_sign_in_needs_the_password_and_stamps_labels_with_the_account(private_ws: Workspace) -> None:
    at = open_page("video", query={"video": "5"})
    assert at.button(key="video_5_save").disabled  # nobody signed in: no label changes
    at.text_input(key="signin_name").input(private_ws.annotator)
    at.text_input(key="signin_password").input("wrong password")
    at.button(key="signin_submit").click().run()
    assert any("Wrong name or password" in e.value for e in at.error)
    assert "auth" not in at.session_state
    at.text_input(key="signin_name").input(private_ws.annotator)
    at.text_input(key="signin_password").input(private_ws.annotator_password)
    at.button(key="signin_submit").click().run()
    assert not at.exception, [e.value for e in at.exception]
    assert f"Signed in as {private_ws.annotator} (annotator)" in [t.value for t in at.text]
    assert not [t for t in at.text_input if t.key == "signin_name"]  # not asked again

    with session_scope(ctx_of(private_ws).engine) as s:
        venue = other_venue(private_ws, repo.get_video(s, video_id=5).current_venue)
    at.selectbox(key="video_5_venue").set_value(venue)
    at.button(key="video_5_save").click().run()
    assert not at.exception, [e.value for e in at.exception]
    with session_scope(ctx_of(private_ws).engine) as s:
        assert repo.label_history(s, video_id=5)[0].who == private_ws.annotator
    from app.services import audit

    events = [(e.action, e.actor) for e in audit.recent(ctx_of(private_ws), limit=5)]
    assert ("signin.ok", private_ws.annotator) in events and ("signin.failed", private_ws.annotator) in events
    assert not [p for p in at.get("page_link") if "accounts" in str(p.proto.page)]  # annotators: no Accounts page


def test_an_expired_session_signs_out(ws_env: Workspace) -> None:
    import dataclasses

    signed = signed_in(ws_env.admin, "admin")
    at = open_page(None, auth=dataclasses.replace(signed, expires_at=time.time() - 1))
    assert "auth" not in at.session_state
    assert any("session ended" in w.value for w in at.warning)
    at.switch_page("views/retrain.py").run()
    assert not [b for b in at.button if b.key == "retrain_start"]


def test_a_disabled_account_loses_its_session(private_ws: Workspace) -> None:
    from app.services import accounts

    at = open_page("retrain", annotator="erin", is_admin=True)
    assert [b for b in at.button if b.key == "retrain_start"]
    accounts.set_disabled(ctx_of(private_ws), name="erin", disabled=True, actor="test")
    at.run()
    assert not [b for b in at.button if b.key == "retrain_start"]


def test_accounts_page_is_for_admins(private_ws: Workspace) -> None:
    at = open_page("accounts", is_admin=True)
    names = set(at.dataframe[0].value["name"])
    assert {private_ws.admin, private_ws.annotator} <= names
    at.text_input(key="accounts_add_name").input("viewer-vic")
    at.selectbox(key="accounts_add_role").set_value("viewer")
    at.button(key="accounts_add_submit").click().run()
    assert not at.exception, [e.value for e in at.exception]
    from app.services import accounts, audit

    assert accounts.get(ctx_of(private_ws), "viewer-vic").role == "viewer"
    assert ("account.add", "viewer-vic") in [(e.action, e.target) for e in audit.recent(ctx_of(private_ws))]
    # a viewer gets neither the Accounts page nor Upload, and cannot label
    with pytest.raises(ValueError, match="Could not find a navigation page"):  # not routed for a viewer
        open_page("accounts", auth=signed_in("viewer-vic"))
    with pytest.raises(ValueError, match="Could not find a navigation page"):
        open_page("upload", auth=signed_in("viewer-vic"))
    # (their URLs answer with a stand-in that says which account they need: tests/e2e/test_browser.py)
    at = open_page("video", query={"video": "2"}, auth=signed_in("viewer-vic"))
    assert at.button(key="video_2_save").disabled


def test_user_text_is_text_on_the_video_page(private_ws: Workspace) -> None:
    """A caption and a file name with a Markdown image, HTML tags and 10 kB of text reach the page only as text."""
    image, tags = "![](http://host/pixel.png)", "<img src=x onerror=alert(1)><b>bold</b>"
    caption = f"{image} {tags} **loud** " + "x" * 10_000
    from sqlalchemy import update

    from db.models import Video

    with session_scope(ctx_of(private_ws).engine) as s:
        s.execute(update(Video).where(Video.id == 6).values(caption=caption, original_name=f"{image}{tags}.mp4"))
    at = open_page("video", query={"video": "6"}, annotator="alice")
    assert caption in [t.value for t in at.text]
    assert f"{image}{tags}.mp4" in [t.value for t in at.text]
    for kind in ("markdown", "caption", "title", "header", "subheader", "info", "error", "success", "warning"):
        for element in getattr(at, kind):
            value = str(element.value)
            assert "pixel.png" not in value and "<b>" not in value and "onerror" not in value, (kind, value[:200])


def test_atom_deep_link_opens_that_atom(ws_env: Workspace) -> None:
    at = open_page("atoms", query={"atom": "2"})
    assert at.number_input(key="atoms_pick").value == 2
    assert any(s.value.startswith("Atom 2 ·") for s in at.subheader)
    assert {"atoms_overview", "atoms_support_visual"} <= chart_keys(at)


def test_browse_deep_link_opens_the_video(ws_env: Workspace) -> None:
    at = open_page("browse", query={"video": "4"})
    assert at.title[0].value.startswith("Video #4")
