"""The dashboard benchmark runs at smoke size on SQLite (and PostgreSQL where its binaries are) and records
each page's median and Browse's query plans."""
from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PAGES = {"Browse, first page", "Browse, two filters", "Browse, caption search", "Annotate, queue", "Models",
         "Failure cases"}


def _pg_available() -> bool:
    from tests.pg import NoServer, server_binaries

    try:
        server_binaries()
    except NoServer:
        return False
    return True


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_dashboard_benchmark_writes_pages_and_plans(backend, tmp_path):
    if backend == "postgresql" and not _pg_available():
        pytest.skip("no PostgreSQL server binaries")
    out = tmp_path / "dashboard.json"
    run = subprocess.run([sys.executable, "benchmarks/dashboard.py", "--home", str(tmp_path / "home"), "--quick",
                          "--skip-video", "--explain", "--backend", backend, "--json", str(out)],
                         cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stderr[-2000:]
    figures = json.loads(out.read_text())
    assert figures["videos"] == 2000 and figures["backend"] == backend
    assert set(figures["pages"]) == PAGES and all(ms > 0 for ms in figures["pages"].values())
    plans = figures["plans"]
    assert set(plans) == {"Browse, first page", "Browse, two filters", "Browse, caption search"}
    search = "\n".join(plans["Browse, caption search"])
    assert search.count("SELECT") == 2  # the count and the page, each with its plan
    if backend == "sqlite":
        assert "ix_videos_caption_name" in search  # the count reads the narrow index (0006)
    else:
        assert "actual time=" in search  # EXPLAIN ANALYZE ran the statements


BROWSER_KEYS = {"first_visit_s", "warm_first_screen_s", "uncached_filter_s", "video_why_s", "video_why_direct_s"}


def test_browser_benchmark_measures_in_chromium(tmp_path, tmp_path_factory):
    """`--browser` at smoke size: a real `serve`, Chromium, every scenario including Video detail and "Why this
    venue?" (on a copy of the shared test workspace, placed where the benchmark keeps its real workspace)."""
    from tests.fixtures import shared_workspace

    if not Path("/usr/bin/chromium").exists():
        pytest.skip("no /usr/bin/chromium")
    ws = shared_workspace(tmp_path_factory)
    home = tmp_path / "home"
    shutil.copytree(ws.home, home / "real", ignore=shutil.ignore_patterns("cache"))
    (home / "real" / "ready.json").write_text("{}")
    out = tmp_path / "browser.json"
    run = subprocess.run([sys.executable, "benchmarks/dashboard.py", "--browser", "--videos", "500", "--repeats", "2",
                          "--home", str(home), "--json", str(out)],
                         cwd=ROOT, capture_output=True, text=True, timeout=900)
    assert run.returncode == 0, run.stdout[-2000:] + run.stderr[-3000:]
    browser = json.loads(out.read_text())["browser"]
    assert BROWSER_KEYS <= set(browser) and all(browser[k] > 0 for k in BROWSER_KEYS)
    rounds = browser["rounds"]
    assert all(len(rounds[k]) == 2 for k in ("first_visit", "warm_first_screen", "uncached_filter", "why",
                                             "why_direct"))
    assert len(set(browser["filter_venues"])) == 2  # a new venue each round
    assert browser["video_why_first_s"] > 0 and browser["server_peak_rss_mib"] > 0
    assert "Video detail + 'Why this venue?', from Browse" in run.stdout
