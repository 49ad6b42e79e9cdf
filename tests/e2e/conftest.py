"""Browser fixtures: a copy of the shared workspace served by a real `streamlit run` on a free port, and
Debian's chromium driven by Playwright (never a downloaded browser).

Without /usr/bin/chromium the browser tests skip, except when CI is set: there they fail, so a CI image
that lost its browser cannot pass silently."""
from __future__ import annotations

import os
import shutil
import socket
import sqlite3
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path

import pytest

from tests.fixtures import Workspace, shared_workspace

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]
ARTIFACTS = ROOT / "test-artifacts" / "e2e"
START_TIMEOUT_S = 90  # the first script run imports torch and plotly; the machine is shared and slow
TIMEOUT_MS = 60_000


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _need_chromium() -> None:
    if CHROMIUM.exists():
        return
    message = f"{CHROMIUM} not found: install Debian's chromium (apt-get install chromium) to run the browser test"
    if os.environ.get("CI"):
        pytest.fail(message + " (CI is set, so this is a failure, not a skip)")
    pytest.skip(message)


def _copy_workspace(ws: Workspace, home: Path) -> Workspace:
    """A private copy of the workspace: the browser test relabels videos, the AppTests must not see that.
    Paths in the database are relative to EASTERN_HOME, so a copied folder is a complete workspace; the
    SQLite file is copied with the backup API (it may have pages still in its WAL)."""
    shutil.copytree(ws.home, home, ignore=shutil.ignore_patterns("eastern.db*", "numba-cache"))
    source = sqlite3.connect(ws.home / "eastern.db")
    target = sqlite3.connect(home / "eastern.db")
    try:
        source.backup(target)
    finally:
        target.close()
        source.close()
    return replace(ws, home=home, db_url=f"sqlite:///{home / 'eastern.db'}")


@pytest.fixture(scope="session")
def workspace(tmp_path_factory: pytest.TempPathFactory) -> Workspace:
    _need_chromium()
    return _copy_workspace(shared_workspace(tmp_path_factory), tmp_path_factory.mktemp("e2e") / "home")


@pytest.fixture(scope="session")
def artifacts() -> Path:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    return ARTIFACTS


def _wait_healthy(url: str, proc: subprocess.Popen, log_path: Path) -> None:
    deadline = time.monotonic() + START_TIMEOUT_S
    while True:
        try:
            with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as reply:
                if reply.status == 200:
                    return
        except OSError:
            pass
        if proc.poll() is not None or time.monotonic() > deadline:
            exited = proc.poll() is not None
            state = f"exited with {proc.returncode}" if exited else f"was not healthy within {START_TIMEOUT_S} s"
            pytest.fail(f"streamlit {state}; its log:\n{log_path.read_text(errors='replace')[-3000:]}")
        time.sleep(0.5)


@contextmanager
def streamlit_server(env: dict[str, str], log_path: Path) -> Iterator[str]:
    """`streamlit run app/ui/main.py` with this environment (its home) on a free port; yields its base URL once
    healthy and stops it on exit. Its output goes to `log_path`."""
    port = _free_port()
    cmd = [sys.executable, "-m", "streamlit", "run", "app/ui/main.py", "--server.headless", "true",
           "--server.address", "127.0.0.1", "--server.port", str(port), "--browser.gatherUsageStats", "false",
           "--server.fileWatcherType", "none"]
    with log_path.open("wb") as log:
        proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT,
                                stdin=subprocess.DEVNULL, start_new_session=True)
    url = f"http://127.0.0.1:{port}"
    try:
        _wait_healthy(url, proc, log_path)
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


@pytest.fixture(scope="session")
def server(workspace: Workspace, artifacts: Path) -> Iterator[str]:
    """The dashboard on the shared workspace; its log is kept as test-artifacts/e2e/server.log."""
    with streamlit_server({**os.environ, **workspace.env(), "PYTHONPATH": str(ROOT)}, artifacts / "server.log") as url:
        yield url


@pytest.fixture(scope="session")
def browser():
    _need_chromium()
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        chromium = pw.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, headless=True)
        yield chromium
        chromium.close()


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo):  # noqa: ANN201 - a TestReport
    report = yield
    if report.when == "call":
        item.stash[_FAILED] = report.failed
    return report


_FAILED = pytest.StashKey[bool]()


@pytest.fixture()
def page(browser, artifacts: Path, request: pytest.FixtureRequest):
    """A fresh browser tab (1400x1000, 60 s timeouts for actions and expectations); on failure its last
    state is saved as <test name>-failed.png."""
    from playwright.sync_api import expect

    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    tab = context.new_page()
    tab.set_default_timeout(TIMEOUT_MS)
    expect.set_options(timeout=TIMEOUT_MS)
    yield tab
    if request.node.stash.get(_FAILED, False):
        try:
            tab.screenshot(path=str(artifacts / f"{request.node.name}-failed.png"), full_page=True)
        except Exception as exc:  # noqa: BLE001 - the test already failed; keep its own error in front
            print(f"could not save the failure screenshot: {exc}")
    context.close()
