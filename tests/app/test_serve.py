"""`python -m app serve` becomes the Streamlit server itself (no parent process left waiting), runs from any
working directory, and on Ctrl-C says which background jobs go on and how to stop them."""
from __future__ import annotations

import os
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

from tests.fixtures import Workspace

ROOT = Path(__file__).resolve().parents[2]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_serve_is_the_server_and_names_the_jobs_that_go_on(workspace: Workspace, tmp_path: Path) -> None:
    home = tmp_path / "home"
    shutil.copytree(workspace.home, home, ignore=shutil.ignore_patterns("cache", "*.log"))
    sleeper = subprocess.Popen(["sleep", "300"])  # stands in for a job's worker: alive
    try:
        with sqlite3.connect(home / "eastern.db") as conn:
            conn.execute(
                "insert into training_jobs (status, kind, params, progress, epoch, message, history, log, pid, "
                "cancel_requested, heartbeat_at, created_at, started_at, created_by) values ('running', 'crossval', "
                "'{}', 0.4, 1, 'fold 2 of 5', '[]', '', ?, 0, datetime('now'), datetime('now'), datetime('now'), "
                "'admin')", (sleeper.pid,))
        port = _free_port()
        env = {**os.environ, "EASTERN_HOME": str(home), "EASTERN_DB_URL": f"sqlite:///{home / 'eastern.db'}",
               "EASTERN_JOB_STALE_S": "3600", "PYTHONPATH": str(ROOT)}
        server = subprocess.Popen([sys.executable, "-m", "app", "serve", "--port", str(port)], cwd=tmp_path, env=env,
                                  stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                                  stdin=subprocess.DEVNULL)
        try:
            deadline = time.monotonic() + 120
            while time.monotonic() < deadline:
                try:
                    with urllib.request.urlopen(f"http://127.0.0.1:{port}/_stcore/health", timeout=2) as r:
                        if r.status == 200:
                            break
                except OSError:
                    time.sleep(0.5)
            else:
                raise AssertionError("the dashboard did not start")
            children = subprocess.run(["ps", "--ppid", str(server.pid), "-o", "args="], capture_output=True,
                                      text=True).stdout
            assert "streamlit" not in children, f"serve waits beside a child: {children}"
            server.send_signal(signal.SIGINT)
            out, _ = server.communicate(timeout=60)
        finally:
            if server.poll() is None:
                server.kill()
        assert "1 background job(s) go on" in out and "crossval, 40%: fold 2 of 5" in out
        assert "python -m app jobs --cancel" in out
    finally:
        sleeper.kill()
