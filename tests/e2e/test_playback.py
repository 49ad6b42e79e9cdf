"""Every ingested format plays in Chromium: the format fixtures are ingested with `python -m app ingest` (which
writes thumbnails and browser copies), the dashboard serves that home, and on each Video page the player's
<video> shows a picture (videoWidth > 0) and its time advances after play()."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from PIL import Image
from playwright.sync_api import expect

from core import proxy
from core.probe import probe
from db import repo
from db.session import make_engine, session_scope
from tests.e2e.conftest import ARTIFACTS, ROOT, _need_chromium, streamlit_server
from tests.e2e.test_browser import keyed, settle
from tests.formats import FORMATS, INGESTED, make_format
from tests.media import write_video

PLAYED = """async v => {
    v.muted = true; v.loop = false;
    if (v.readyState < 2) await new Promise(ok => { v.addEventListener('loadeddata', ok, {once: true});
                                                    v.addEventListener('error', ok, {once: true}); });
    const start = v.currentTime;
    try { await v.play(); } catch (e) { return {error: String(e), width: v.videoWidth, advanced: 0}; }
    let advanced = 0;  // a shared, slow machine: wait up to 10 s for the clock to move
    for (let i = 0; i < 100 && advanced < 0.3 && !v.ended; i++) {
        await new Promise(ok => setTimeout(ok, 100));
        advanced = Math.max(advanced, v.currentTime - start);
    }
    return {width: v.videoWidth, height: v.videoHeight, advanced: advanced, error: v.error ? v.error.code : null,
            src: v.currentSrc};
}"""


@pytest.fixture(scope="module")
def format_home(tmp_path_factory: pytest.TempPathFactory) -> dict[str, object]:
    """A fresh home holding every fixture format `ingest` accepts, with its browser copies."""
    _need_chromium()
    base = tmp_path_factory.mktemp("playback")
    folder, home = base / "in", base / "home"
    for spec in FORMATS:
        make_format(spec.name, folder)
    write_video(folder / "plain.mp4", seconds=2.0, fps=10, size=(96, 64), audio=False)  # plays as it is
    (folder / ".sources").rename(base / "sources")
    env = {k: v for k, v in os.environ.items() if not k.startswith("EASTERN_")}
    env |= {"EASTERN_HOME": str(home), "EASTERN_DB_URL": f"sqlite:///{home / 'eastern.db'}", "PYTHONPATH": str(ROOT)}
    done = subprocess.run([sys.executable, "-m", "app", "ingest", str(folder), "--no-features"], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=600)
    assert "browser copies:" in done.stdout, done.stdout + done.stderr[-2000:]
    return {"home": home, "env": env}


@pytest.fixture(scope="module")
def format_server(format_home: dict, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    with streamlit_server(format_home["env"], tmp_path_factory.mktemp("playback-log") / "server.log") as url:
        yield url


def test_every_ingested_format_plays_upright(page, format_home: dict, format_server: str) -> None:  # noqa: ANN001
    home = Path(format_home["home"])
    with session_scope(make_engine(f"sqlite:///{home / 'eastern.db'}")) as session:
        videos = {v.original_name: v for v in repo.all_videos(session)}
    expected = {f.filename: f for f in FORMATS if f.outcome == INGESTED}
    # which formats ingest accepts is ingest's business (branch formats); every one it accepts must play
    assert {"plain.mp4", "iphone.MOV", "master.mov", "portrait.mp4"} <= set(videos), sorted(videos)
    refused = {f.filename for f in FORMATS if f.outcome != INGESTED}  # huge.mkv until ingest's limit lands
    outcomes = {}
    for name, v in sorted(videos.items()):
        if name in refused:
            continue
        page.goto(f"{format_server}/video?video={v.id}")
        page.wait_for_selector('[data-testid="stApp"]')
        settle(page)
        element = keyed(page, "video_player").frame_locator("iframe").locator("video")
        played = element.evaluate(PLAYED)
        copy = proxy.proxy_path(home, v.sha256).is_file()
        needed = not proxy.browser_playable(probe(home / v.path))[0]
        outcomes[name] = {"proxy": copy, "needed": needed, **played}
        if copy:  # one line under the player says a copy plays, and why
            reason = proxy.browser_playable(probe(home / v.path))[1]
            expect(keyed(page, "video_player").get_by_text(f"Playing a browser copy (the original is {reason}).")
                   ).to_be_visible()
        with Image.open(proxy.thumb_path(home, v.sha256)) as thumb:
            outcomes[name]["thumb"] = thumb.size
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    (ARTIFACTS / "playback.json").write_text(json.dumps(outcomes, indent=1))  # the per-format table
    for name, seen in outcomes.items():
        assert seen["width"] > 0 and seen["advanced"] > 0, (name, seen)
        assert seen["proxy"] == seen["needed"] and (seen["proxy"] or name == "plain.mp4"), (name, seen)
        assert ("/media/" in seen["src"]) and not seen["src"].startswith("data:"), (name, seen)  # by URL
        w, h = seen["thumb"]
        rotated = name in expected and expected[name].rotation in (90, 270)
        assert (h > w) if rotated else (w >= h), (name, seen)


CARD_BOXES = """() => [...document.querySelectorAll("[class*='st-key-vcards-browse'] [data-testid='stImage'] img")]
    .filter(img => img.offsetParent !== null)  // displayed (a rerun may keep a stale copy hidden)
    .map(img => ({w: img.getBoundingClientRect().width, h: img.getBoundingClientRect().height,
                  nw: img.naturalWidth, nh: img.naturalHeight, fit: getComputedStyle(img).objectFit}))"""


def test_browse_cards_of_mixed_shapes_share_one_picture_box(page, format_home: dict,  # noqa: ANN001
                                                             format_server: str) -> None:
    """Portrait, landscape and square clips side by side: every card's picture has the same box (4:3), the
    thumbnail fitted inside it, so the grid's rows line up."""
    page.set_viewport_size({"width": 1440, "height": 2400})
    page.goto(format_server)
    page.wait_for_selector('[data-testid="stApp"]')
    settle(page)
    page.wait_for_function("""() => { const imgs = [...document.querySelectorAll(
        "[class*='st-key-vcards-browse'] [data-testid='stImage'] img")].filter(i => i.offsetParent !== null);
        return imgs.length >= 4 && imgs.every(i => i.complete && i.naturalWidth > 0
                                              && i.getBoundingClientRect().width > 0); }""")
    boxes = page.evaluate(CARD_BOXES)
    assert any(b["nh"] > b["nw"] for b in boxes) and any(b["nw"] > b["nh"] for b in boxes), boxes  # mixed shapes
    assert {b["fit"] for b in boxes} == {"contain"}, boxes
    for b in boxes:
        assert b["h"] > 0 and abs(b["w"] / b["h"] - 4 / 3) < 0.02, boxes
    assert max(b["h"] for b in boxes) - min(b["h"] for b in boxes) < 1.5, boxes
