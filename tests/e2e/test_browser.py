"""The dashboard in a real browser: Browse, open a video, read its prediction and why, correct its label
with a reason, and find the change in the history on screen and in the database; then Annotate with the
keyboard only, the clip player's speed and time line, and every main page at 1280 and 1920 px. A screenshot
of each step lands in test-artifacts/e2e/."""
from __future__ import annotations

import re
from pathlib import Path

from playwright.sync_api import Locator, Page, expect

from db import repo
from db.session import make_engine, session_scope
from tests.fixtures import Workspace

ANNOTATOR = "E2E Tester"
REASON = "the court lines are visible (browser test)"
SLOW_MS = 180_000  # the first "Why this venue?" loads the model and runs Integrated Gradients

# Streamlit marks its root with the connection and script-run state; the status widget shows a running
# icon while a script runs. Settled: connected, not running, no running icon.
RUNNING = '[data-testid="stStatusWidgetRunningIcon"], [data-testid="stStatusWidgetRunningManIcon"]'
SETTLED = f"""() => {{
  const app = document.querySelector('[data-testid="stApp"]');
  return !!app && app.dataset.testConnectionState === 'CONNECTED' && app.dataset.testScriptState === 'notRunning'
    && !document.querySelector('{RUNNING}');
}}"""


def settle(page: Page, timeout: float = 60_000) -> None:
    """Wait until Streamlit has finished the script run that the last action started."""
    page.wait_for_function(SETTLED, timeout=timeout)


def shot(page: Page, artifacts: Path, name: str, focus: Locator | None = None) -> None:
    """Save the viewport (Streamlit scrolls inside its main block), with `focus` scrolled into view."""
    if focus is not None:
        focus.scroll_into_view_if_needed()
    page.screenshot(path=str(artifacts / name))


def keyed(page: Page, key: str) -> Locator:
    """The element a page created with `key=` (Streamlit gives it the class st-key-<key>)."""
    return page.locator(f".st-key-{key}")


def db_video(ws: Workspace, video_id: int) -> tuple[repo.VideoRow, list[repo.LabelRow], list[str]]:
    with session_scope(make_engine(ws.db_url)) as session:
        return (repo.get_video(session, video_id=video_id), repo.label_history(session, video_id=video_id),
                [v.name for v in repo.list_venues(session, used_only=True)])


def test_browse_explain_and_relabel(page: Page, server: str, workspace: Workspace, artifacts: Path) -> None:
    # 0. Signed out, a link to Upload (a page for annotators, hidden from a visitor's navigation) says what it needs
    # instead of Streamlit's "Page not found", and the navigation lists neither Upload nor Accounts.
    page.goto(f"{server}/upload")
    page.wait_for_selector('[data-testid="stApp"]')
    settle(page)
    expect(page.get_by_text("Upload needs an annotator account or higher: sign in in the sidebar.")).to_be_visible()
    expect(page.get_by_text("Any video ffmpeg reads")).to_have_count(0)  # the stand-in, not the page's own file
    expect(page.get_by_text("Page not found")).to_have_count(0)
    nav = page.get_by_test_id("stSidebarNav")
    expect(nav.get_by_role("link", name="Browse")).to_be_visible()
    for hidden in ("Upload", "Accounts & audit log"):
        expect(nav.get_by_role("link", name=hidden)).to_have_count(0)
    expect(nav.get_by_text("Admin", exact=True)).to_have_count(0)  # no section header left over

    # 1. Browse (the default page): a grid of cards, each with an "Open" link.
    page.goto(server)
    page.wait_for_selector('[data-testid="stApp"]')
    settle(page)
    expect(page.get_by_role("heading", name="Browse videos")).to_be_visible()
    with session_scope(make_engine(workspace.db_url)) as session:
        total = repo.count_videos(session)
    expect(page.get_by_text(re.compile(rf"{total}\s+videos match"))).to_be_visible()
    cards = page.get_by_test_id("stPageLink-NavLink").filter(has_text="Open")
    expect(cards.first).to_be_visible()
    shot(page, artifacts, "01-browse.png")

    # 2. Open the first video: its detail page with the player and the model's top-5.
    cards.first.click()
    page.wait_for_url(re.compile(r"[?&]video=\d+"))
    video_id = int(re.search(r"[?&]video=(\d+)", page.url).group(1))
    settle(page)
    before, history_before, venues = db_video(workspace, video_id)
    expect(page.get_by_role("heading", name=re.compile(rf"Video #{video_id}\b"))).to_be_visible()
    expect(keyed(page, "video_player").locator("iframe")).to_be_attached()
    top5 = keyed(page, "video_top5")
    expect(top5).to_contain_text("Top-5 venues")
    expect(top5.locator("svg.marks g.mark-rect path, canvas").first).to_be_attached()  # Vega-Lite (app.ui.charts)
    shot(page, artifacts, "02-video.png", top5)

    # 3. Why this venue?: the atom heatmap of the prediction.
    page.get_by_role("button", name="Why this venue?").click()
    expect(page.get_by_role("heading", name="Why this venue?")).to_be_visible(timeout=SLOW_MS)
    settle(page, timeout=SLOW_MS)
    heatmap = keyed(page, "why_atoms")
    expect(heatmap).to_contain_text("Atom activations")
    expect(heatmap.locator("svg.marks g.mark-rect path, canvas").first).to_be_attached()
    expect(keyed(page, "why_atom_push")).to_be_visible()
    # ... and the player's time line now carries the 12 frame and 6 clip attributions
    timeline = keyed(page, "video_player").frame_locator("iframe")  # fed by the Why fragment (postMessage)
    expect(timeline.locator("#frames .cell[title*=':']")).to_have_count(12)
    expect(timeline.locator("#clips .cell[title*=':']")).to_have_count(6)
    shot(page, artifacts, "03-why.png", heatmap)

    # 4. Correct the label: give a name first when asked, then pick another venue with a reason.
    new_venue = next(v for v in venues if v != before.current_venue)
    who = sign_in(page, workspace)
    form = page.get_by_test_id("stForm").filter(has=page.get_by_role("button", name="Save label"))
    form.scroll_into_view_if_needed()
    venue_box = form.get_by_role("combobox", name="Venue")
    venue_box.click()
    page.keyboard.type(new_venue)
    page.get_by_role("option", name=new_venue, exact=True).click()
    expect(venue_box).to_have_value(new_venue)
    form.get_by_label("Reason (optional)").fill(REASON)
    save = form.get_by_role("button", name="Save label")
    expect(save).to_be_enabled()
    shot(page, artifacts, "04-relabel.png", form)
    save.click()

    # 5. The new label is current, and the history shows who changed it, to what and why.
    expect(page.get_by_text(f"Saved: video {video_id} is now labelled")).to_be_visible()
    settle(page)
    current = page.get_by_test_id("stCaptionContainer").filter(has_text="Current label").locator(
        "xpath=ancestor::*[@data-testid='stElementContainer'][1]/following-sibling::*[1]")
    expect(current).to_have_text(new_venue)  # the label is drawn as text under its caption
    history = page.get_by_test_id("stExpander").filter(has_text="Label history")
    expect(history).to_contain_text(f"Label history ({len(history_before) + 1})")
    # one plain-text entry per change, newest first: when · who · from → to, and the reason under it
    newest = history.get_by_test_id("stText").first
    expect(newest).to_contain_text(f"{who} · {before.current_venue} → {new_venue}")
    expect(newest).to_contain_text(f"reason: {REASON}")
    shot(page, artifacts, "05-history.png", history)

    # ... and in the database: the current label, a new version, and an appended history row.
    after, history_after, _ = db_video(workspace, video_id)
    assert after.current_venue == new_venue
    assert after.version == before.version + 1
    assert len(history_after) == len(history_before) + 1
    newest = history_after[0]
    assert (newest.venue_name, newest.previous_venue_name, newest.who, newest.reason) == (
        new_venue, before.current_venue, who, REASON)


def sign_in(page: Page, ws: Workspace) -> str:
    """Sign in for labelling in this browser session: with the workspace's annotator account where the sidebar
    has the account form, else with a name (the older sidebar). Returns the name label changes are stamped with."""
    account = page.get_by_label("Account name")
    name_box = page.get_by_label("Your name (recorded with each label change)")
    expect(account.or_(name_box).first).to_be_visible()
    if account.count():
        account.fill(ws.annotator)
        page.get_by_role("textbox", name="Password").fill(ws.annotator_password)
        page.get_by_role("button", name="Sign in").click()
        settle(page)
        expect(page.get_by_text(f"Signed in as {ws.annotator}")).to_be_visible()
        return ws.annotator
    if name_box.is_visible():
        name_box.fill(ANNOTATOR)
        page.get_by_role("button", name="Start annotating").click()
        settle(page)
    expect(page.get_by_text(f"Annotating as {ANNOTATOR}")).to_be_visible()
    return ANNOTATOR


HEADINGS = {"Annotate": "Annotate", "Browse": "Browse videos", "Models & evaluation": "Models and evaluation",
            "Case study": "Case study", "Atom explorer": "Atom explorer"}


def go(page: Page, title: str) -> None:
    """Open a page from the sidebar (the same Streamlit session, so the sign-in stays) and wait for its run."""
    page.get_by_test_id("stSidebarNav").get_by_role("link", name=title).click()
    expect(page.get_by_role("heading", name=HEADINGS[title], exact=True)).to_be_visible()
    page.wait_for_timeout(300)  # the run that the click started has begun
    settle(page, timeout=SLOW_MS)


def media_ready(video: Locator) -> int:
    """Wait for the clip's metadata; the video element's readyState, or -1 when the browser cannot decode it."""
    return video.evaluate("""v => new Promise(done => {
        if (v.readyState >= 1) return done(v.readyState);
        v.addEventListener('loadedmetadata', () => done(v.readyState), {once: true});
        v.addEventListener('error', () => done(-1), {once: true});
    })""")


def poll(fn, until, timeout_s: float = 10.0):  # noqa: ANN001, ANN201 - a value read from the page
    import time

    deadline = time.monotonic() + timeout_s
    value = fn()
    while not until(value) and time.monotonic() < deadline:
        time.sleep(0.1)
        value = fn()
    return value


def test_annotate_by_keyboard_player_and_screens(page: Page, server: str, workspace: Workspace,
                                                 artifacts: Path) -> None:
    page.goto(server)
    page.wait_for_selector('[data-testid="stApp"]')
    settle(page)
    who = sign_in(page, workspace)
    go(page, "Annotate")

    # 1. The keyboard only: 2 picks the model's second venue, Enter saves, the next video comes, U undoes.
    heading = page.get_by_role("heading", name=re.compile(r"^Video #\d+"))
    expect(heading).to_be_visible()
    video_id = int(re.search(r"#(\d+)", heading.inner_text()).group(1))
    before, history_before, _ = db_video(workspace, video_id)
    pick = keyed(page, f"annotate_{video_id}_pick2").get_by_role("button")
    second = re.search(r"2 · (.+?) \(\d+%\)", pick.inner_text()).group(1)  # the key hint follows
    venue_box = page.get_by_test_id("stForm").get_by_role("combobox", name="Venue")
    expect(venue_box).to_have_value(before.current_venue)  # the picker starts at the current label
    page.evaluate("document.activeElement && document.activeElement.blur()")
    page.keyboard.press("2")
    settle(page)
    expect(venue_box).to_have_value(second)
    shot(page, artifacts, "06-annotate-picked.png")
    page.keyboard.press("Enter")
    expect(page.get_by_text(f"Saved: video {video_id} is now labelled")).to_be_visible()
    settle(page)
    expect(page.get_by_role("heading", name=f"Video #{video_id}", exact=True)).to_have_count(0)  # the next one
    after, history_after, _ = db_video(workspace, video_id)
    assert (after.current_venue, after.version, len(history_after)) == (second, before.version + 1,
                                                                       len(history_before) + 1)
    assert history_after[0].who == who
    page.evaluate("document.activeElement && document.activeElement.blur()")
    page.keyboard.press("u")
    expect(page.get_by_text(f"Undone: video {video_id} is back to")).to_be_visible()
    settle(page)
    undone, history_undone, _ = db_video(workspace, video_id)
    assert undone.current_venue == before.current_venue and len(history_undone) == len(history_before) + 2

    # 2. The player: 2x speed, a click on the time line seeks, playing moves the cursor.
    frame = keyed(page, "annotate_player").frame_locator("iframe")
    video = frame.locator("video")
    assert media_ready(video) >= 1, "chromium could not decode the clip"
    frame.get_by_role("button", name="2×", exact=True).click()
    assert video.evaluate("v => v.playbackRate") == 2
    cells = frame.locator("#frames")
    box = cells.bounding_box()
    cells.click(position={"x": box["width"] * 0.75, "y": box["height"] / 2})
    at = poll(lambda: video.evaluate("v => v.currentTime"), lambda t: abs(t - 4.5) < 0.15)
    assert abs(at - 4.5) < 0.15, at
    cursor_x = frame.locator("#cursor").bounding_box()["x"]
    assert abs(cursor_x - (box["x"] + 0.75 * box["width"])) < 6
    frame.get_by_role("button", name="▶ play").click()
    moved = poll(lambda: video.evaluate("v => v.currentTime"), lambda t: abs(t - at) > 0.3)
    assert abs(moved - at) > 0.3, "playing did not move the clip"
    frame.get_by_role("button", name="❚❚ pause").click()
    assert abs(frame.locator("#cursor").bounding_box()["x"] - cursor_x) > 1, "the cursor did not follow"
    shot(page, artifacts, "07-annotate-player.png", keyed(page, "annotate_player"))

    # 3. Every main page at 1280 and 1920 px (the same session: signed in).
    for width, height in ((1280, 800), (1920, 1080)):
        page.set_viewport_size({"width": width, "height": height})
        for title, name, focus in (("Annotate", "annotate", None), ("Browse", "browse", None),
                                   ("Models & evaluation", "models-confusion", "models_confusion"),
                                   ("Case study", "casestudy", "paper_case_v3"), ("Atom explorer", "atoms", None)):
            go(page, title)
            if focus:
                expect(keyed(page, focus)).to_be_visible()
            shot(page, artifacts, f"{name}-{width}.png", keyed(page, focus) if focus else None)
        go(page, "Browse")  # Browse's filters all fit at both widths: the View switch is on screen, not cut
        box = keyed(page, "browse_view").bounding_box()
        assert box is not None and box["x"] + box["width"] <= width, (width, box)
        expect(keyed(page, "browse_view")).to_be_in_viewport(ratio=1.0)
