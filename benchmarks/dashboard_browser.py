"""What a person waits for in Chromium, against a real `python -m app serve` (`benchmarks/dashboard.py --browser`).

Debian's /usr/bin/chromium driven by Playwright, launched once; a fresh browser context (no HTTP cache, no
cookies, a new Streamlit session) for every measurement. Each time runs from the browser's action (navigation,
the click on a filter's option, the click on "Why this venue?") until the DOM shows the result, polled on every
animation frame, never a sleep:

- first visit after `serve` starts: a new server each round (`python -m app serve`, the process a person
  starts), the visit as soon as its health check answers; until the first card's image has loaded
  (`img.complete && naturalWidth > 0`);
- warm first screen: the same on a server that has served the page before;
- uncached label filter: Browse opened (untimed), then a venue picked in "Current label" that no earlier
  round picked on this server (so no st.cache_data entry, no thumbnail list cached); until every card on the
  grid says that label, as many cards as the page holds, and the first card's new image has loaded;
- Video detail + "Why this venue?": a video never opened on this server (its on-disk explanation cache
  deleted before the server starts; its media view, the frame strip and audio made at ingest with its thumbnail,
  kept), reached two ways: from Browse (the page open, untimed, then the click on
  the video's card link, as a person browsing does: `video_why_s`) and by typing `?video=ID` into a fresh
  context (Streamlit's page code loads first: `video_why_direct_s`); until the player's <video> has a frame
  (readyState >= 2) (`video_open_s`), then the click on "Why this venue?" as soon as the button shows (card click to
  the button: `video_button_s`, the rest of the page) until the atom heatmap and
  the atom pushes are drawn (Vega's SVG or canvas) and the player's time line carries the 12 frame attributions. The
  first round also loads the model (torch, captum) and is reported apart; the medians are over later rounds.

The synthetic homes have no media files, so the benchmark writes a distinct 320x240 JPEG thumbnail (what
ingest writes, at the size it writes) for every video the visited pages show: the first two pages unfiltered
and of each venue. Video detail needs a trained model and real features: it runs on the small real workspace.
"""
from __future__ import annotations

import os
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]
VIEWPORT = {"width": 1400, "height": 1000}
START_TIMEOUT_S = 120
WAIT_MS = 120_000
PAGE_SIZE = 24  # Browse's grid
THUMB_PAGES = 2  # pages of thumbnails written per venue and unfiltered

# ---------------------------------------------------------------- what "shown" means, in the page

FIRST_IMAGE = """() => {
  const img = document.querySelector('[data-testid="stMain"] img[src*="/media/"]');
  return !!img && img.complete && img.naturalWidth > 0;
}"""

# Every card says the label, as many cards as the page holds, and the first card's image has loaded (`complete` is
# false while a changed src loads; the image is drawn above its card's label, so an updated label means an updated
# src: a src seen before the filter may come back, when that video was on the unfiltered page too).
FILTERED_GRID = """([venue, pageSize]) => {
  const main = document.querySelector('[data-testid="stMain"]');
  if (!main) return false;
  const match = main.innerText.match(/([\\d,]+)\\s+videos match/);
  if (!match) return false;
  const total = parseInt(match[1].replace(/,/g, ''), 10);
  const labels = [...main.querySelectorAll('[data-testid="stCaptionContainer"]')]
    .map(e => e.innerText.trim()).filter(t => t.startsWith('label: '));
  if (labels.length < Math.min(pageSize, total)) return false;
  if (!labels.every(t => t.startsWith('label: ' + venue + ' ·'))) return false;
  const img = main.querySelector('img[src*="/media/"]');
  return !!img && img.complete && img.naturalWidth > 0;
}"""

PLAYER_FRAME = """() => {
  const frame = document.querySelector('.st-key-video_player iframe');
  const doc = frame && frame.contentDocument;
  const video = doc && doc.querySelector('video');
  return !!video && video.readyState >= 2;
}"""

WHY_FIGURES = """() => {
  const drawn = (key) => {  // a Vega-Lite chart (app.ui.components.chart) has drawn its canvas or svg
    const box = document.querySelector('.st-key-' + key);
    const mark = box && box.querySelector('canvas, svg.marks');
    return !!mark && mark.getBoundingClientRect().width > 0 && (mark.tagName !== 'CANVAS' || mark.width > 0);
  };
  if (!drawn('why_atoms') || !drawn('why_atom_push')) return false;
  const frame = document.querySelector('.st-key-video_player iframe');
  const doc = frame && frame.contentDocument;
  return !!doc && doc.querySelectorAll('#frames .cell[title*=":"]').length === 12;
}"""


# ---------------------------------------------------------------- the server a person starts


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class Server:
    url: str
    proc: subprocess.Popen
    log: Path
    started_s: float  # from the command to a healthy answer

    def peak_rss_mib(self) -> float:
        """The server's high-water resident memory (VmHWM), MiB."""
        try:
            text = Path(f"/proc/{self.proc.pid}/status").read_text()
        except OSError:
            return float("nan")
        kib = re.search(r"VmHWM:\s+(\d+)", text)
        return int(kib.group(1)) / 1024 if kib else float("nan")


@contextmanager
def serve(env: dict[str, str], log: Path) -> Iterator[Server]:
    """`python -m app serve` on a free port (the project's command: warm-up thread, safe options); stopped with
    SIGTERM at the end."""
    port = _free_port()
    url = f"http://127.0.0.1:{port}"
    cmd = [sys.executable, "-m", "app", "serve", "--address", "127.0.0.1", "--port", str(port)]
    start = time.perf_counter()
    with log.open("ab") as out:
        proc = subprocess.Popen(cmd, cwd=ROOT, env={**os.environ, **env, "PYTHONPATH": str(ROOT)}, stdout=out,
                                stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, start_new_session=True)
    try:
        deadline = time.monotonic() + START_TIMEOUT_S
        while True:
            try:
                with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as reply:
                    if reply.status == 200:
                        break
            except OSError:
                pass
            if proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"serve did not start; its log:\n{log.read_text(errors='replace')[-3000:]}")
            time.sleep(0.05)
        yield Server(url, proc, log, time.perf_counter() - start)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGTERM)
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()


@contextmanager
def chromium() -> Iterator[object]:
    if not CHROMIUM.exists():
        raise SystemExit(f"{CHROMIUM} not found: install Debian's chromium (apt-get install chromium)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, headless=True)
        try:
            yield browser
        finally:
            browser.close()


@contextmanager
def fresh_page(browser) -> Iterator[object]:  # noqa: ANN001 - a playwright Browser
    """A new browser context (empty cache, new cookies, so a new Streamlit session) and one tab in it."""
    context = browser.new_context(viewport=VIEWPORT)
    page = context.new_page()
    page.set_default_timeout(WAIT_MS)
    try:
        yield page
    finally:
        context.close()


def _timed_goto(page, url: str, shown: str) -> float:  # noqa: ANN001 - a playwright Page
    start = time.perf_counter()
    page.goto(url, wait_until="commit")
    page.wait_for_function(shown, polling="raf", timeout=WAIT_MS)
    return time.perf_counter() - start


# ---------------------------------------------------------------- thumbnails for the synthetic home


def write_thumbnails(home: Path, db_url: str) -> int:
    """A distinct JPEG for every video on the first THUMB_PAGES pages of Browse, unfiltered and per current venue
    (sorted by id, as Browse sorts by default), where none is stored yet; how many were written."""
    import numpy as np
    from PIL import Image
    from sqlalchemy import func, select

    from core.proxy import thumb_path
    from db.models import Video
    from db.session import make_engine, session_scope

    keep = PAGE_SIZE * THUMB_PAGES
    engine = make_engine(db_url)
    with session_scope(engine) as s:
        ranked = select(Video.id, Video.sha256, Video.current_venue_id,
                        func.row_number().over(partition_by=Video.current_venue_id, order_by=Video.id).label("k")
                        ).subquery()
        rows = s.execute(select(ranked.c.sha256).where(ranked.c.k <= keep)).scalars().all()
        rows += s.execute(select(Video.sha256).order_by(Video.id).limit(keep)).scalars().all()
    engine.dispose()
    written = 0
    for sha in dict.fromkeys(rows):
        path = thumb_path(home, sha)
        if path.is_file():
            continue
        rng = np.random.default_rng(int(sha[:8], 16))  # a picture of its own: blocks of colour and some grain
        blocks = Image.fromarray(rng.integers(0, 256, (6, 8, 3), dtype=np.uint8)).resize((320, 240), Image.BICUBIC)
        pixels = np.asarray(blocks, dtype=np.int16) + rng.integers(-12, 13, (240, 320, 3))
        path.parent.mkdir(parents=True, exist_ok=True)
        Image.fromarray(np.clip(pixels, 0, 255).astype(np.uint8)).save(path, quality=80)
        written += 1
    return written


# ---------------------------------------------------------------- the scenarios


@dataclass
class Figures:
    first_visit: list[float] = field(default_factory=list)
    serve_start: list[float] = field(default_factory=list)
    warm_first_screen: list[float] = field(default_factory=list)
    uncached_filter: list[float] = field(default_factory=list)
    video_open: list[float] = field(default_factory=list)  # typed ?video=ID, fresh context
    why: list[float] = field(default_factory=list)
    card_open: list[float] = field(default_factory=list)  # from Browse: the card's link clicked
    card_why: list[float] = field(default_factory=list)
    card_button: list[float] = field(default_factory=list)  # from Browse: the card clicked to the Why button shown
    video_why_first: float | None = None  # the first round: the model is loaded too
    peak_rss_mib: float = 0.0
    venues: list[str] = field(default_factory=list)


def _used_venues(db_url: str) -> list[str]:
    from db import repo
    from db.session import make_engine, session_scope

    engine = make_engine(db_url)
    with session_scope(engine) as s:
        names = [v.name for v in repo.list_venues(s, used_only=True)]
    engine.dispose()
    return names


def pick_venue(page, venue: str):  # noqa: ANN001, ANN201 - a playwright Page and Locator
    """Open the "Current label" multiselect and type the venue, leaving its option ready to click."""
    box = page.locator(".st-key-browse_labels input")
    box.click()
    page.keyboard.type(venue)
    return page.get_by_role("option", name=venue, exact=True)


def browse_rounds(browser, env: dict[str, str], db_url: str, rounds: int, log: Path, figures: Figures) -> None:  # noqa: ANN001
    """First visits (a new server each round), then on one server: warm first screens and uncached filters."""
    for _ in range(rounds):
        with serve(env, log) as server:
            figures.serve_start.append(server.started_s)
            with fresh_page(browser) as page:
                figures.first_visit.append(_timed_goto(page, server.url, FIRST_IMAGE))
            figures.peak_rss_mib = max(figures.peak_rss_mib, server.peak_rss_mib())
    venues = _used_venues(db_url)
    if len(venues) < rounds:
        raise RuntimeError(f"{len(venues)} venues in use: too few for {rounds} uncached filter rounds")
    with serve(env, log) as server:
        with fresh_page(browser) as page:
            _timed_goto(page, server.url, FIRST_IMAGE)  # the server's first visit (measured above)
        for _ in range(rounds):
            with fresh_page(browser) as page:
                figures.warm_first_screen.append(_timed_goto(page, server.url, FIRST_IMAGE))
        for venue in venues[:rounds]:  # a new venue each round: nothing cached on the server
            with fresh_page(browser) as page:
                _timed_goto(page, server.url, FIRST_IMAGE)
                option = pick_venue(page, venue)
                start = time.perf_counter()
                option.click()
                page.wait_for_function(FILTERED_GRID, arg=[venue, PAGE_SIZE], polling="raf", timeout=WAIT_MS)
                figures.uncached_filter.append(time.perf_counter() - start)
                figures.venues.append(venue)
        figures.peak_rss_mib = max(figures.peak_rss_mib, server.peak_rss_mib())


def _open_and_explain(page, open_it) -> tuple[float, float, float]:  # noqa: ANN001 - a playwright Page
    """(seconds to the player's first frame after `open_it()`, seconds from the click on "Why this venue?" to its
    figures, seconds from `open_it()` to the "Why this venue?" button shown: the rest of the page)."""
    start = time.perf_counter()
    open_it()
    page.wait_for_function(PLAYER_FRAME, polling="raf", timeout=WAIT_MS)
    opened = time.perf_counter() - start
    button = page.get_by_role("button", name="Why this venue?")
    button.wait_for(state="visible")
    shown = time.perf_counter() - start
    start = time.perf_counter()
    button.click()
    page.wait_for_function(WHY_FIGURES, polling="raf", timeout=WAIT_MS)
    return opened, time.perf_counter() - start, shown


def _ensure_media_views(env: dict[str, str]) -> None:
    """`python -m app proxies` on the home: writes the thumbnails, media views and browser copies still missing."""
    done = subprocess.run([sys.executable, "-m", "app", "proxies"], cwd=ROOT, capture_output=True, text=True,
                          env={**os.environ, **env, "PYTHONPATH": str(ROOT)}, stdin=subprocess.DEVNULL, timeout=600)
    if done.returncode != 0:
        raise RuntimeError(f"python -m app proxies failed:\n{done.stdout[-2000:]}{done.stderr[-2000:]}")


def video_rounds(browser, env: dict[str, str], home: Path, video_ids: tuple[int, ...], rounds: int,  # noqa: ANN001
                 log: Path, figures: Figures) -> None:
    """Video detail and "Why this venue?" for 2 * (rounds + 1) videos never opened on this server: typed URLs
    first (the first round loads the model), then from Browse's first page."""
    if len(video_ids) < rounds + 1:
        raise RuntimeError(f"{len(video_ids)} videos with features: too few for {rounds + 1} rounds")
    shutil.rmtree(home / "cache" / "explain", ignore_errors=True)  # explanations kept on disk: none now
    _ensure_media_views(env)  # made at ingest (app.services.proxies); a workspace built before that gets them now
    with serve(env, log) as server:
        for r, video_id in enumerate(video_ids[:rounds + 1]):
            with fresh_page(browser) as page:
                url = f"{server.url}/video?video={video_id}"
                opened, why, _ = _open_and_explain(page, lambda p=page, u=url: p.goto(u, wait_until="commit"))
            if r == 0:
                figures.video_why_first = opened + why
            else:
                figures.video_open.append(opened)
                figures.why.append(why)
        opened_ids = set(video_ids[:rounds + 1])
        for _ in range(rounds):
            with fresh_page(browser) as page:
                _timed_goto(page, server.url, FIRST_IMAGE)  # Browse, as a person has it open (untimed)
                # the first card on the page of a video with features that no round has opened yet
                hrefs = page.eval_on_selector_all('[data-testid="stMain"] a[href*="video="]',
                                                  "links => links.map(a => a.getAttribute('href'))")
                shown = [int(m.group(1)) for h in hrefs if (m := re.search(r"video=(\d+)$", h or ""))]
                fresh = [v for v in shown if v in set(video_ids) and v not in opened_ids]
                if not fresh:
                    raise RuntimeError(f"Browse's first page shows no video with features left to open ({shown})")
                opened_ids.add(fresh[0])
                link = page.locator(f'[data-testid="stMain"] a[href$="video={fresh[0]}"]').first
                opened, why, shown = _open_and_explain(page, link.click)
            figures.card_open.append(opened)
            figures.card_why.append(why)
            figures.card_button.append(shown)
        figures.peak_rss_mib = max(figures.peak_rss_mib, server.peak_rss_mib())


def run(synthetic, real, rounds: int, log: Path) -> Figures:  # noqa: ANN001 - dashboard.Home
    """Every scenario; `real` None skips Video detail."""
    written = write_thumbnails(synthetic.home, synthetic.db_url)
    if written:
        print(f"wrote {written} thumbnails for the pages the benchmark visits", file=sys.stderr)
    figures = Figures()
    with chromium() as browser:
        browse_rounds(browser, synthetic.env(), synthetic.db_url, rounds, log, figures)
        if real is not None:
            video_rounds(browser, real.env(), real.home, real.video_ids, rounds, log, figures)
    return figures


def _median(values: list[float]) -> float | None:
    return statistics.median(values) if values else None


def _pairs(a: list[float], b: list[float]) -> list[float]:
    return [x + y for x, y in zip(a, b, strict=True)]


def summary(figures: Figures) -> dict[str, object]:
    """The medians (seconds) that `--json` writes under "browser", with every round's figure beside them."""
    return {
        "first_visit_s": _median(figures.first_visit),
        "warm_first_screen_s": _median(figures.warm_first_screen),
        "uncached_filter_s": _median(figures.uncached_filter),
        "video_why_s": _median(_pairs(figures.card_open, figures.card_why)),
        "video_open_s": _median(figures.card_open),
        "why_s": _median(figures.card_why),
        "video_button_s": _median(figures.card_button),
        "video_why_direct_s": _median(_pairs(figures.video_open, figures.why)),
        "video_open_direct_s": _median(figures.video_open),
        "why_direct_s": _median(figures.why),
        "video_why_first_s": figures.video_why_first,
        "serve_start_s": _median(figures.serve_start),
        "server_peak_rss_mib": round(figures.peak_rss_mib, 1),
        "rounds": {"first_visit": figures.first_visit, "warm_first_screen": figures.warm_first_screen,
                   "uncached_filter": figures.uncached_filter, "video_open": figures.card_open,
                   "why": figures.card_why, "button": figures.card_button, "video_open_direct": figures.video_open,
                   "why_direct": figures.why,
                   "serve_start": figures.serve_start},
        "filter_venues": figures.venues,
    }


def table(figures: Figures) -> str:
    s = summary(figures)
    rows = [
        ("first visit after `serve` starts: navigation to the first card image", figures.first_visit),
        ("warm first screen: navigation to the first card image", figures.warm_first_screen),
        ("label filter, nothing cached: option clicked to the filtered grid", figures.uncached_filter),
        ("Video detail from a Browse card: click to the player's first frame", figures.card_open),
        ("'Why this venue?': click to the attribution figures", figures.card_why),
        ("Video detail + 'Why this venue?', from Browse", _pairs(figures.card_open, figures.card_why)),
        ("Video detail from a Browse card: click to the 'Why this venue?' button (the rest of the page)",
         figures.card_button),
        ("Video detail, typed ?video=ID: navigation to the player's first frame", figures.video_open),
        ("'Why this venue?' after it", figures.why),
        ("Video detail + 'Why this venue?', typed URL", _pairs(figures.video_open, figures.why)),
    ]
    lines = ["| scenario (Chromium, fresh context each) | rounds | median s | min s | max s |", "|---|---|---|---|---|"]
    for name, values in rows:
        if values:
            lines.append(f"| {name} | {len(values)} | {statistics.median(values):.2f} | {min(values):.2f} | "
                         f"{max(values):.2f} |")
    if s["video_why_first_s"] is not None:
        lines.append(f"| Video detail + 'Why this venue?', typed URL, first after `serve` (loads the model) | 1 | "
                     f"{s['video_why_first_s']:.2f} | | |")
    if s["serve_start_s"] is not None:
        lines.append(f"\n`serve` to a healthy answer: median {s['serve_start_s']:.2f} s")
    lines.append(f"\nserver peak RSS {s['server_peak_rss_mib']:.0f} MiB")
    return "\n".join(lines)
