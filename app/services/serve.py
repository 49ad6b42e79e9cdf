"""Starting the dashboard: is the address and port free, and the Streamlit command with the project's safety
options, whatever the working directory (`serve` also runs from the repository, so .streamlit/config.toml applies).
"""
from __future__ import annotations

import socket
import sys
from pathlib import Path

from app.settings import REPO_ROOT, Settings

ENTRY = REPO_ROOT / "app" / "ui" / "main.py"
# The options that must hold wherever `serve` starts (the rest of .streamlit/config.toml is look and feel).
SAFE_OPTIONS = {
    "server.headless": "true",
    "server.enableXsrfProtection": "true",
    "server.enableCORS": "true",
    "server.runOnSave": "false",
    # No watcher: with runOnSave off it only costs. Each new session's first run walked every imported module's
    # paths (realpath) on the event loop, 0.5-1 s that held back static files and the websocket (benchmarks/
    # dashboard.py --browser, py-spy).
    "server.fileWatcherType": "none",
    # No full garbage collection after every script run: with pandas, plotly and SQLAlchemy loaded it held the
    # interpreter lock for 0.1-0.3 s after each run, while the page's images and the run's last messages waited.
    # Python's own generational collection still runs (and app.launch.warm freezes what the start-up made).
    "runner.postScriptGC": "false",
    "browser.gatherUsageStats": "false",
    "client.showErrorDetails": "none",
    "client.toolbarMode": "minimal",
}


def streamlit_command(settings: Settings, address: str, port: int) -> list[str]:
    """`streamlit run` with the safe options, the upload limit from settings, and Host names limited to the
    address, localhost and settings.allowed_hosts (Streamlit refuses the websocket for any other Host)."""
    cmd = [sys.executable, "-m", "streamlit", "run", str(ENTRY), "--server.address", address,
           "--server.port", str(port), "--server.maxUploadSize", str(settings.upload_max_mb),
           "--browser.serverAddress", address if address not in ("0.0.0.0", "::") else "localhost"]  # noqa: S104
    for option, value in SAFE_OPTIONS.items():
        cmd += [f"--{option}", value]
    for host in settings.model_copy(update={"address": address}).host_names():
        cmd += ["--server.allowedHosts", host]
    return cmd


def working_directory() -> Path:
    """Where Streamlit runs: the repository, so its .streamlit/ folder is the one read."""
    return REPO_ROOT


def port_problem(address: str, port: int) -> str | None:
    """None when `address:port` can be bound; otherwise one line saying what to do."""
    family = socket.AF_INET6 if ":" in address else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((address, port))
        except OSError as exc:
            return (f"cannot serve on {address}:{port} ({exc.strerror or exc}): another program holds the port. "
                    f"Choose another: make run PORT={port + 1}, or EASTERN_PORT={port + 1} python -m app serve")
    return None
