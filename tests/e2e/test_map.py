"""The corpus map in Chromium: one WebGL point per video; a lasso dragged with the mouse selects exactly the videos
inside the drawn polygon (checked against the stored 2-D layout); the selection is relabelled in bulk with a
reason (history rows in the database) and saved as a named selection that then filters Browse."""
from __future__ import annotations

import re
from pathlib import Path

import numpy as np
from matplotlib.path import Path as Polygon
from playwright.sync_api import Page, expect

from db import maps, repo
from db.session import make_engine, session_scope
from tests.e2e.test_browser import HEADINGS, SLOW_MS, go, keyed, settle, shot, sign_in
from tests.fixtures import Workspace

HEADINGS.setdefault("Corpus map", "Corpus map")
REASON = "the lasso cluster is a rooftop bar (map test)"
PLOT = '.st-key-map_chart .js-plotly-plot'


def _layout(ws: Workspace) -> tuple[np.ndarray, np.ndarray]:
    """The active model's run: video ids and their joint layout, as stored."""
    engine = make_engine(ws.db_url)
    with session_scope(engine) as session:
        active = repo.active_model(session)
        run = maps.latest_run(session, model_version_id=active.id, status="done")
    folder = ws.home / run.artifact_dir
    return np.load(folder / "video_ids.npy"), np.load(folder / "layout-joint.npy")


def _open_map(page: Page, server: str) -> None:
    page.goto(server)
    page.wait_for_selector('[data-testid="stApp"]')
    settle(page)


def _drawn(page: Page) -> dict:
    return page.locator(PLOT).evaluate("""el => ({
        types: el._fullData.map(t => t.type),
        ids: el._fullData.flatMap(t => Array.from(t.customdata)),
        gl: el.querySelectorAll('canvas').length})""")


def test_the_map_draws_one_webgl_point_per_video(page: Page, server: str, workspace: Workspace,
                                                  artifacts: Path) -> None:
    _open_map(page, server)
    go(page, "Corpus map")
    expect(page.locator(PLOT)).to_be_visible(timeout=SLOW_MS)
    ids, _ = _layout(workspace)
    drawn = _drawn(page)
    assert set(drawn["types"]) == {"scattergl"} and drawn["gl"] >= 1
    assert sorted(drawn["ids"]) == sorted(int(v) for v in ids)
    expect(page.get_by_text(re.compile(rf"{len(ids)} videos · model"))).to_be_visible()
    shot(page, artifacts, "map-01.png")


def _pixels(page: Page, points: np.ndarray) -> list[tuple[float, float]]:
    """Page pixel positions of data points on the map (plotly's own axis conversion)."""
    return page.locator(PLOT).evaluate("""(el, pts) => {
        const box = el.getBoundingClientRect(), xa = el._fullLayout.xaxis, ya = el._fullLayout.yaxis;
        return pts.map(([x, y]) => [box.left + xa._offset + xa.l2p(x), box.top + ya._offset + ya.l2p(y)]);
    }""", points.tolist())


def _data(page: Page, pixels: list[tuple[float, float]]) -> np.ndarray:
    return np.array(page.locator(PLOT).evaluate("""(el, pts) => {
        const box = el.getBoundingClientRect(), xa = el._fullLayout.xaxis, ya = el._fullLayout.yaxis;
        return pts.map(([px, py]) => [xa.p2l(px - box.left - xa._offset), ya.p2l(py - box.top - ya._offset)]);
    }""", [list(p) for p in pixels]))


def test_lasso_relabel_save_and_filter_browse(page: Page, server: str, workspace: Workspace,
                                              artifacts: Path) -> None:
    _open_map(page, server)
    who = sign_in(page, workspace)
    go(page, "Corpus map")
    expect(page.locator(PLOT)).to_be_visible(timeout=SLOW_MS)
    ids, xy = _layout(workspace)

    # 1. Drag a lasso: a hexagon around the middle of the map that holds about half of the videos.
    centre = np.median(xy, axis=0)
    radius = float(np.median(np.linalg.norm(xy - centre, axis=1)))
    angles = np.linspace(0, 2 * np.pi, 7)[:-1] + 0.3
    hexagon = centre + radius * np.column_stack([np.cos(angles), np.sin(angles)])
    # whole pixels, one mouse move per corner: the polygon plotly closes is exactly these points
    path = [(round(x), round(y)) for x, y in _pixels(page, hexagon)]
    page.mouse.move(*path[0])
    page.mouse.down()
    for corner in path[1:] + path[:1]:
        page.mouse.move(*corner)
    page.mouse.up()
    # the polygon plotly closed, in data units (the mouse positions as it read them), against the stored layout
    drawn = _data(page, path)
    inside = sorted(int(v) for v in ids[Polygon(drawn).contains_points(xy)])
    assert len(inside) >= 2, "the lasso should hold several videos"
    heading = page.get_by_role("heading", name=re.compile(r"videos selected"))
    expect(heading).to_have_text(f"{len(inside)} videos selected", timeout=SLOW_MS)
    settle(page)
    listed = page.get_by_test_id("stExpander").filter(has_text="Video ids of the selection")
    listed.get_by_text("Video ids of the selection").click()
    expect(listed.get_by_test_id("stCode")).to_have_text(", ".join(str(v) for v in inside))
    shot(page, artifacts, "map-02-lasso.png", heading)

    # 2. Save it as a named selection.
    page.get_by_role("tab", name="Save").click()
    page.get_by_label("Name of the selection").fill("rooftop cluster")
    page.get_by_role("button", name="Save selection").click()
    expect(page.get_by_text(f"Saved {len(inside)} videos as selection")).to_be_visible()
    settle(page)

    # 3. Relabel all of them with one venue and a reason.
    engine = make_engine(workspace.db_url)
    with session_scope(engine) as session:
        before = {v: len(repo.label_history(session, video_id=v)) for v in inside}
        current = {repo.get_video(session, video_id=v).current_venue for v in inside}
        venue = next(v.name for v in repo.list_venues(session) if v.name not in current)  # a change for each
    page.get_by_role("tab", name="Relabel").click()
    form = page.get_by_test_id("stForm").filter(has=page.get_by_role("button", name=re.compile(r"^Relabel \d+")))
    box = form.get_by_role("combobox", name="New venue")
    box.click()
    page.keyboard.type(venue)
    page.get_by_role("option", name=venue, exact=True).click()
    form.get_by_label("Reason (one for all)").fill(REASON)
    form.get_by_role("button", name=f"Relabel {len(inside)}").click()
    expect(page.get_by_text(f"Relabelled {len(inside)} video(s) as {venue}.")).to_be_visible(timeout=SLOW_MS)
    with session_scope(engine) as session:
        for v in inside:
            history = repo.label_history(session, video_id=v)
            assert len(history) == before[v] + 1  # one history row per video
            assert (history[0].venue_name, history[0].who, history[0].reason) == (venue, who, REASON)
        saved = maps.list_selections(session)
    assert [(s.name, s.owner, s.n_videos) for s in saved] == [("rooftop cluster", who, len(inside))]

    # 4. Browse filters on the saved selection: exactly those videos match.
    go(page, "Browse")
    selector = page.get_by_role("combobox", name="Saved selection")
    selector.click()
    page.get_by_role("option", name=re.compile(r"^rooftop cluster")).click()
    settle(page)
    expect(page.get_by_text(re.compile(rf"^{len(inside)}\s+videos match"))).to_be_visible()
    shot(page, artifacts, "map-03-browse-selection.png")
    expect(keyed(page, "browse_selection")).to_be_visible()
