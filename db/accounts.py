"""Repository functions for accounts and the audit log. Keyword-only, take the session, return plain rows.
Passwords arrive here already hashed (app.services.accounts hashes them); the audit log is only appended to."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
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
                    .values(last_sign_in_at=at, failed_count=0, locked_until=None, last_failed_at=None))


def unlock(session: Session, *, name: str) -> None:
    """Forget the failed sign-ins and lift the lock (an admin's `users unlock`)."""
    _user(session, name)
    session.execute(update(User).where(User.name == name)
                    .values(failed_count=0, locked_until=None, last_failed_at=None))


@dataclass(frozen=True)
class Attempt:
    """One sign-in attempt, counted before the password is checked: its number in the current run of failures,
    and the lock (if any) that refused it or that it set for the attempts after it."""

    known: bool
    number: int
    locked_until: datetime | None
    refused: bool


def _aware(value: datetime | None) -> datetime | None:
    # SQLite hands back naive datetimes; they were written in UTC.
    return value.replace(tzinfo=UTC) if value is not None and value.tzinfo is None else value


def lock_row(session: Session, *, name: str) -> User | None:
    """The account's row, locked for this transaction: a no-op UPDATE takes SQLite's write lock (and
    PostgreSQL's row lock) before anything is read, so concurrent attempts are counted one after another."""
    session.execute(update(User).where(User.name == name).values(failed_count=User.failed_count))
    return session.scalar(select(User).where(User.name == name).execution_options(populate_existing=True))


def begin_attempt(session: Session, *, name: str, now: datetime, window_s: float, lock_after: int,
                  lock_for: Any) -> Attempt:
    """Count an attempt as a failure before its password is checked (finish_attempt clears it on success).
    Refused while locked; failures older than `window_s` are forgotten; from the `lock_after`-th attempt on, the
    account is locked for `lock_for(number)` seconds for everyone after this one."""
    user = lock_row(session, name=name)
    if user is None:
        return Attempt(known=False, number=0, locked_until=None, refused=False)
    locked = _aware(user.locked_until)
    if locked is not None and locked > now:
        return Attempt(known=True, number=user.failed_count, locked_until=locked, refused=True)
    last = _aware(user.last_failed_at)
    count = user.failed_count if last is not None and (now - last).total_seconds() < window_s else 0
    user.failed_count = count + 1
    user.last_failed_at = now
    if user.failed_count >= lock_after:
        user.locked_until = now + timedelta(seconds=lock_for(user.failed_count))
    session.flush()
    return Attempt(known=True, number=user.failed_count, locked_until=_aware(user.locked_until), refused=False)


def finish_attempt(session: Session, *, name: str, number: int, at: datetime) -> bool:
    """After the right password: sign in only when no other attempt was counted since this one (a burst of
    guesses around the right password leaves the account locked). True when signed in."""
    user = lock_row(session, name=name)
    if user is None or user.failed_count != number:
        return False
    user.failed_count = 0
    user.locked_until = None
    user.last_failed_at = None
    user.last_sign_in_at = at
    return True


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
