"""The accounts tables after the real migrations: the audit log refuses UPDATE and DELETE; names are unique."""
from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DatabaseError

from db import accounts
from db.migrate import upgrade
from db.models import utcnow
from db.session import dispose_engines, make_engine, session_scope


@pytest.fixture()
def engine(tmp_path: Path):  # noqa: ANN201
    url = f"sqlite:///{tmp_path / 'a.db'}"
    upgrade(url)
    yield make_engine(url)
    dispose_engines()


def test_audit_log_is_append_only(engine) -> None:  # noqa: ANN001
    with session_scope(engine) as s:
        first = accounts.add_audit(s, actor="ann", action="signin.ok", target="ann", detail={"via": "cli"})
    with pytest.raises(DatabaseError, match="append-only"), engine.begin() as conn:
        conn.execute(text("UPDATE audit_events SET actor = 'mallory' WHERE id = :id"), {"id": first})
    with pytest.raises(DatabaseError, match="append-only"), engine.begin() as conn:
        conn.execute(text("DELETE FROM audit_events"))
    with session_scope(engine) as s:
        rows = accounts.list_audit(s)
    assert [(r.actor, r.action, r.detail) for r in rows] == [("ann", "signin.ok", {"via": "cli"})]


def test_accounts_rows(engine) -> None:  # noqa: ANN001
    with session_scope(engine) as s:
        accounts.add_user(s, name="ann", role="annotator", password_hash="$argon2id$x")
        with pytest.raises(accounts.AccountError, match="exists already"):
            accounts.add_user(s, name="ann", role="viewer", password_hash=None)
        with pytest.raises(accounts.UnknownAccount):
            accounts.set_role(s, name="bob", role="admin")
        assert accounts.count_admins(s) == 0
        accounts.set_role(s, name="ann", role="admin")
        assert accounts.count_admins(s) == 1
        accounts.begin_attempt(s, name="ann", now=utcnow(), window_s=60, lock_after=5, lock_for=lambda n: 1)
        row = accounts.get_user(s, name="ann")
    assert (row.role, row.failed_count, row.has_password) == ("admin", 1, True)
