"""A throwaway PostgreSQL server for the tests and the dashboard benchmark: a cluster in a temporary folder,
started with the machine's own server binaries (initdb, pg_ctl) on a free local port, removed afterwards.

The binaries are looked up on PATH, then in Debian's versioned folder (/usr/lib/postgresql/N/bin, where the
`postgresql` package puts them without linking them onto PATH). As root, the server runs as the `postgres`
user through runuser (initdb refuses root).
"""
from __future__ import annotations

import contextlib
import glob
import os
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path


class NoServer(Exception):
    """This machine cannot start a PostgreSQL server; the message says why."""


def server_binaries() -> tuple[str, str]:
    """(initdb, pg_ctl): on PATH, else the newest /usr/lib/postgresql/N/bin. NoServer when neither has them."""
    initdb, pg_ctl = shutil.which("initdb"), shutil.which("pg_ctl")
    if initdb and pg_ctl:
        return initdb, pg_ctl
    folders = sorted(glob.glob("/usr/lib/postgresql/*/bin"), key=lambda p: int(Path(p).parent.name)
                     if Path(p).parent.name.isdigit() else 0)
    for folder in reversed(folders):
        initdb, pg_ctl = os.path.join(folder, "initdb"), os.path.join(folder, "pg_ctl")
        if os.access(initdb, os.X_OK) and os.access(pg_ctl, os.X_OK):
            return initdb, pg_ctl
    raise NoServer("PostgreSQL server binaries (initdb, pg_ctl) are not installed "
                   "(Debian: apt-get install postgresql)")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextlib.contextmanager
def throwaway_postgres(prefix: str = "eastern-pg-") -> Iterator[str]:
    """Start a cluster, yield its SQLAlchemy URL, stop and delete it. NoServer when it cannot start here;
    RuntimeError (with the server's own words) when initdb or pg_ctl fails."""
    initdb, pg_ctl = server_binaries()
    as_user: list[str] = []
    if os.geteuid() == 0:
        if shutil.which("runuser") is None:
            raise NoServer("running as root without runuser (initdb refuses root)")
        as_user = ["runuser", "-u", "postgres", "--"]
    base = Path(tempfile.mkdtemp(prefix=prefix))  # not pytest's tmp_path: that is private to root
    base.chmod(0o777)
    data = base / "data"
    try:
        made = subprocess.run([*as_user, initdb, "-D", str(data), "-A", "trust", "-U", "postgres"],
                              capture_output=True, text=True, cwd=base)
        if made.returncode != 0:
            raise RuntimeError(f"initdb failed: {made.stderr.strip()[-500:]}")
        port = _free_port()
        opts = f"-p {port} -k {data} -c listen_addresses=127.0.0.1 -c fsync=off"
        started = subprocess.run([*as_user, pg_ctl, "-D", str(data), "-o", opts, "-w", "-l", str(data / "log"),
                                  "start"], capture_output=True, text=True, cwd=base)
        if started.returncode != 0:
            log = (data / "log").read_text(errors="replace")[-500:] if (data / "log").is_file() else ""
            raise RuntimeError(f"pg_ctl start failed: {started.stderr.strip()[-300:]} {log}")
        try:
            yield f"postgresql+psycopg://postgres@127.0.0.1:{port}/postgres"
        finally:
            subprocess.run([*as_user, pg_ctl, "-D", str(data), "-m", "immediate", "stop"], capture_output=True,
                           cwd=base)
    finally:
        shutil.rmtree(base, ignore_errors=True)
