"""Repository functions for accounts and the audit log. Keyword-only, take the session, return plain rows.
Passwords arrive here already hashed (app.services.accounts hashes them); the audit log is only appended to."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from db.models import AuditEvent, User, utcnow
from db.repo import RepoError

# The one list of roles, weakest first: each role may do everything the ones before it may.
ROLES = ("viewer", "annotator", "admin")


class AccountError(RepoError):
    """An account operation a user can fix (unknown name, name taken, unknown role)."""


class UnknownAccount(AccountError):
    def __init__(self, name: str):
        super().__init__(f"no account named {name!r} (list them: python -m app users list)")
        self.name = name


@dataclass(frozen=True)
class UserRow:
    id: int
    name: str
    role: str
    disabled: bool
    has_password: bool
    created_at: datetime
    last_sign_in_at: datetime | None
    failed_count: int
    locked_until: datetime | None


@dataclass(frozen=True)
class AuditRow:
    id: int
    at: datetime
    actor: str
    action: str
    target: str
    detail: dict[str, Any]


def _user_row(u: User) -> UserRow:
    return UserRow(id=u.id, name=u.name, role=u.role, disabled=u.disabled, has_password=u.password_hash is not None,
                   created_at=u.created_at, last_sign_in_at=u.last_sign_in_at, failed_count=u.failed_count,
                   locked_until=u.locked_until)


def _check_role(role: str) -> None:
    if role not in ROLES:
        raise AccountError(f"unknown role {role!r}: use one of {', '.join(ROLES)}")


def _user(session: Session, name: str) -> User:
    user = session.scalar(select(User).where(User.name == name))
    if user is None:
        raise UnknownAccount(name)
    return user


def add_user(session: Session, *, name: str, role: str, password_hash: str | None) -> UserRow:
    """Create an account; AccountError when the name is taken or the role unknown."""
    _check_role(role)
    if session.scalar(select(User.id).where(User.name == name)) is not None:
        raise AccountError(f"an account named {name!r} exists already")
    user = User(name=name, role=role, password_hash=password_hash, disabled=False, failed_count=0,
                created_at=utcnow())
    session.add(user)
    session.flush()
    return _user_row(user)


def get_user(session: Session, *, name: str) -> UserRow | None:
    user = session.scalar(select(User).where(User.name == name))
    return _user_row(user) if user else None


def password_hash(session: Session, *, name: str) -> str | None:
    """The stored argon2 hash (None for an unknown account or one without a password)."""
    return session.scalar(select(User.password_hash).where(User.name == name))


def list_users(session: Session) -> list[UserRow]:
    return [_user_row(u) for u in session.scalars(select(User).order_by(User.name))]


def count_admins(session: Session) -> int:
    """Enabled admin accounts."""
    return int(session.scalar(select(func.count()).select_from(User)
                              .where(User.role == "admin", User.disabled.is_(False))) or 0)


def set_password_hash(session: Session, *, name: str, password_hash: str) -> None:
    """Replace the password (and clear the failed-sign-in count and lock)."""
    user = _user(session, name)
    user.password_hash = password_hash
    user.failed_count = 0
    user.locked_until = None


def set_role(session: Session, *, name: str, role: str) -> None:
    _check_role(role)
    _user(session, name).role = role


def set_disabled(session: Session, *, name: str, disabled: bool) -> None:
    _user(session, name).disabled = disabled


def record_sign_in(session: Session, *, name: str, at: datetime) -> None:
    """A successful sign-in: stamp it and forget earlier failures."""
    session.execute(update(User).where(User.name == name)
                    .values(last_sign_in_at=at, failed_count=0, locked_until=None))


def record_failed_sign_in(session: Session, *, name: str, locked_until_for: Any) -> int:
    """Count one more failure atomically; `locked_until_for(count)` gives the lock (or None). Returns the count."""
    session.execute(update(User).where(User.name == name).values(failed_count=User.failed_count + 1))
    count = int(session.scalar(select(User.failed_count).where(User.name == name)) or 0)
    session.execute(update(User).where(User.name == name).values(locked_until=locked_until_for(count)))
    return count


# ---------------------------------------------------------------- audit log (append-only)


def add_audit(session: Session, *, actor: str, action: str, target: str = "",
              detail: dict[str, Any] | None = None, at: datetime | None = None) -> int:
    """Append one event; there is no function to change or delete one (the table refuses it too)."""
    event = AuditEvent(at=at or utcnow(), actor=actor[:80], action=action[:40], target=target[:200],
                       detail=detail or {})
    session.add(event)
    session.flush()
    return event.id


def list_audit(session: Session, *, limit: int = 200, action: str | None = None,
               actor: str | None = None) -> list[AuditRow]:
    """Newest events first, optionally of one action or one actor."""
    stmt = select(AuditEvent).order_by(AuditEvent.id.desc()).limit(limit)
    if action:
        stmt = stmt.where(AuditEvent.action == action)
    if actor:
        stmt = stmt.where(AuditEvent.actor == actor)
    return [AuditRow(id=e.id, at=e.at, actor=e.actor, action=e.action, target=e.target, detail=dict(e.detail or {}))
            for e in session.scalars(stmt)]
