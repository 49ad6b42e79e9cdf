"""Serving safely wherever it starts: a real `python -m app serve` started outside the repository refuses a
websocket with a forged Host (DNS rebinding) and accepts its own address; the home is owner-only."""
from __future__ import annotations

import base64
import os
import socket
import stat
import subprocess
import sys
import time
from pathlib import Path

from app.services.serve import SAFE_OPTIONS, streamlit_command
from app.settings import Settings

ROOT = Path(__file__).resolve().parents[2]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _request(port: int, path: str, host: str, *, websocket: bool) -> str:
    """The status line the server answers to one raw HTTP request with this Host (and a matching Origin)."""
    headers = [f"GET {path} HTTP/1.1", f"Host: {host}", f"Origin: http://{host}"]
    if websocket:
        key = base64.b64encode(os.urandom(16)).decode()
        headers += ["Upgrade: websocket", "Connection: Upgrade", f"Sec-WebSocket-Key: {key}",
                    "Sec-WebSocket-Version: 13", "Sec-WebSocket-Protocol: streamlit"]
    else:
        headers += ["Connection: close"]
    with socket.create_connection(("127.0.0.1", port), timeout=20) as sock:
        sock.sendall(("\r\n".join(headers) + "\r\n\r\n").encode())
        return sock.recv(4096).decode("latin-1").split("\r\n", 1)[0]


def test_forged_host_is_refused_by_a_real_serve_started_elsewhere(tmp_path: Path) -> None:
    home, port = tmp_path / "home", _free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("EASTERN_", "STREAMLIT_"))}
    env |= {"EASTERN_HOME": str(home), "EASTERN_DB_URL": f"sqlite:///{home / 'eastern.db'}",
            "EASTERN_ALLOWED_HOSTS": "eastern.example.org", "PYTHONPATH": str(ROOT)}
    assert subprocess.run([sys.executable, "-m", "app", "migrate"], cwd=tmp_path, env=env, capture_output=True,
                          timeout=120).returncode == 0
    proc = subprocess.Popen([sys.executable, "-m", "app", "serve", "--port", str(port)], cwd=tmp_path, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        deadline = time.monotonic() + 90
        while True:
            try:
                if " 200 " in _request(port, "/_stcore/health", f"127.0.0.1:{port}", websocket=False) + " ":
                    break
            except OSError:
                pass
            assert proc.poll() is None and time.monotonic() < deadline, "serve did not start"
            time.sleep(0.5)
        assert " 101 " in _request(port, "/_stcore/stream", f"127.0.0.1:{port}", websocket=True) + " "
        assert " 101 " in _request(port, "/_stcore/stream", "eastern.example.org", websocket=True) + " "
        for forged in ("attacker.test", f"attacker.test:{port}", "127.0.0.1.nip.io"):
            line = _request(port, "/_stcore/stream", forged, websocket=True)
            assert " 101 " not in line + " ", (forged, line)
    finally:
        os.killpg(proc.pid, 15)
        proc.wait(timeout=30)
    assert stat.S_IMODE(home.stat().st_mode) == 0o700
    assert stat.S_IMODE((home / "eastern.db").stat().st_mode) == 0o600
    assert stat.S_IMODE((home / "media").stat().st_mode) == 0o700


def test_the_command_carries_the_safe_options(tmp_path: Path) -> None:
    cmd = streamlit_command(Settings(home=tmp_path, upload_max_mb=7, allowed_hosts="a.example, b.example"),
                            "0.0.0.0", 8600)  # noqa: S104
    pairs = list(zip(cmd, cmd[1:], strict=False))
    for option, value in SAFE_OPTIONS.items():
        assert (f"--{option}", value) in pairs
    assert ("--server.maxUploadSize", "7") in pairs
    hosts = {v for k, v in pairs if k == "--server.allowedHosts"}
    assert hosts == {"localhost", "127.0.0.1", "::1", "a.example", "b.example"}
