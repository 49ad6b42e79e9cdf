"""A home made from the command line has nobody to sign in: `migrate` says how to create the first admin, and
stops saying it once one exists."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def _app(home: Path, *args: str) -> subprocess.CompletedProcess:
    env = os.environ | {"EASTERN_HOME": str(home), "EASTERN_DB_URL": f"sqlite:///{home / 'eastern.db'}"}
    return subprocess.run([sys.executable, "-m", "app", *args], cwd=ROOT, env=env, capture_output=True, text=True,
                          timeout=120, stdin=subprocess.DEVNULL)


def test_migrate_says_how_to_create_the_first_admin(tmp_path: Path) -> None:
    home = tmp_path / "home"
    first = _app(home, "migrate")
    assert first.returncode == 0, first.stderr
    assert "python -m app users add admin --role admin" in first.stdout + first.stderr
    added = _app(home, "users", "add", "admin", "--role", "admin")
    assert added.returncode == 0, added.stderr
    again = _app(home, "migrate")
    assert "no account yet" not in again.stdout + again.stderr
