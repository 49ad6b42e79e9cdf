"""Accounts and roles: argon2 password hashes, sign-in that slows down and locks after failures, expiring
dashboard sessions, role checks, and the first `admin` account. Every change is written to the audit log."""
from __future__ import annotations

import secrets
import time
import unicodedata
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from app.context import AppContext
from app.services import audit
from db import accounts as repo_accounts
from db.accounts import ROLES, AccountError, UnknownAccount, UserRow
from db.session import session_scope

__all__ = ["ROLES", "ACTIONS", "AccountError", "UnknownAccount", "UserRow", "PermissionDenied", "SignIn",
           "SignedIn"]

# What each action needs, the weakest role that may do it (roles are ordered in db.accounts.ROLES).
ACTIONS = {
    "browse": "viewer", "export": "viewer",
    "label": "annotator", "upload": "annotator", "venues": "annotator",
    "retrain": "admin", "promote": "admin", "crossval": "admin", "accounts": "admin",
}
MIN_PASSWORD = 8
LOCK_AFTER = 5  # consecutive failures before sign-in is refused for a while (1 s, 2 s, 4 s, ... up to 15 min)
LOCK_MAX_S = 900
ADMIN_NAME = "admin"

_hasher = PasswordHasher()
# Verified when the name is unknown, so a wrong name costs as long as a wrong password.
_DUMMY_HASH = _hasher.hash(secrets.token_urlsafe(16))


class PermissionDenied(AccountError):
    """The account may not do this (its role is too weak, it is disabled, or it does not exist)."""


@dataclass(frozen=True)
class SignIn:
    """The outcome of a sign-in attempt: the account on success, else a reason safe to show."""

    ok: bool
    account: UserRow | None
    reason: str = ""


@dataclass(frozen=True)
class SignedIn:
    """A dashboard session: who, and until when. The role is re-read from the database on every check."""

    name: str
    expires_at: float  # time.time() seconds


def _now() -> datetime:
    return datetime.now(UTC)


def _aware(value: datetime | None) -> datetime | None:
    # SQLite hands back naive datetimes; they were written in UTC.
    return value.replace(tzinfo=UTC) if value is not None and value.tzinfo is None else value


def role_allows(role: str | None, action: str) -> bool:
    """Whether `role` may do `action` (an unknown action is refused)."""
    need = ACTIONS.get(action)
    if role not in ROLES or need is None:
        return False
    return ROLES.index(role) >= ROLES.index(need)


def check_name(name: str) -> str:
    """An account name: 1-80 printable characters, no surrounding spaces."""
    if not name or name != name.strip() or len(name) > 80:
        raise AccountError("an account name is 1 to 80 characters without surrounding spaces")
    if any(unicodedata.category(ch)[0] == "C" for ch in name):
        raise AccountError("an account name may not contain control characters")
    return name


def check_password(password: str) -> str:
    if len(password) < MIN_PASSWORD:
        raise AccountError(f"a password needs at least {MIN_PASSWORD} characters")
    return password


def new_password() -> str:
    """A random password to hand out once."""
    return secrets.token_urlsafe(18)


# ---------------------------------------------------------------- account changes (audited)


def create(ctx: AppContext, *, name: str, role: str, password: str, actor: str) -> UserRow:
    """A new account with this role and password."""
    check_name(name)
    check_password(password)
    with session_scope(ctx.engine) as session:
        row = repo_accounts.add_user(session, name=name, role=role, password_hash=_hasher.hash(password))
    audit.record(ctx, actor=actor, action="account.add", target=name, detail={"role": role})
    return row


def change_password(ctx: AppContext, *, name: str, password: str, actor: str) -> None:
    check_password(password)
    with session_scope(ctx.engine) as session:
        repo_accounts.set_password_hash(session, name=name, password_hash=_hasher.hash(password))
    audit.record(ctx, actor=actor, action="account.passwd", target=name)


def set_role(ctx: AppContext, *, name: str, role: str, actor: str) -> None:
    """Change an account's role; the last enabled admin cannot be demoted."""
    with session_scope(ctx.engine) as session:
        current = repo_accounts.get_user(session, name=name)
        if current is None:
            raise UnknownAccount(name)
        if current.role == "admin" and role != "admin" and not current.disabled \
                and repo_accounts.count_admins(session) <= 1:
            raise AccountError(f"{name!r} is the last admin: make another admin first")
        repo_accounts.set_role(session, name=name, role=role)
    audit.record(ctx, actor=actor, action="account.role", target=name, detail={"from": current.role, "to": role})


def set_disabled(ctx: AppContext, *, name: str, disabled: bool, actor: str) -> None:
    """Disable (or enable) an account; its open sessions end at their next page load. The last enabled admin
    cannot be disabled."""
    with session_scope(ctx.engine) as session:
        current = repo_accounts.get_user(session, name=name)
        if current is None:
            raise UnknownAccount(name)
        if disabled and current.role == "admin" and not current.disabled and repo_accounts.count_admins(session) <= 1:
            raise AccountError(f"{name!r} is the last admin: make another admin first")
        repo_accounts.set_disabled(session, name=name, disabled=disabled)
    audit.record(ctx, actor=actor, action="account.disable" if disabled else "account.enable", target=name)


def list_accounts(ctx: AppContext) -> list[UserRow]:
    with session_scope(ctx.engine) as session:
        return repo_accounts.list_users(session)


def get(ctx: AppContext, name: str) -> UserRow | None:
    with session_scope(ctx.engine) as session:
        return repo_accounts.get_user(session, name=name)


def ensure_admin(ctx: AppContext) -> str | None:
    """When no admin account exists, create `admin` with EASTERN_ADMIN_PASSWORD or a random password. Returns
    the random password (to print once); None when an admin existed or the password came from the settings."""
    with session_scope(ctx.engine) as session:
        if repo_accounts.count_admins(session) or repo_accounts.get_user(session, name=ADMIN_NAME):
            return None
    configured = ctx.settings.admin_password
    password = configured or new_password()
    create(ctx, name=ADMIN_NAME, role="admin", password=password, actor="bootstrap")
    return None if configured else password


# ---------------------------------------------------------------- signing in and checking


def _lock_for(now: datetime):  # noqa: ANN202 - a count -> datetime | None function
    def locked_until(count: int) -> datetime | None:
        if count < LOCK_AFTER:
            return None
        return now + timedelta(seconds=min(2 ** (count - LOCK_AFTER), LOCK_MAX_S))

    return locked_until


def sign_in(ctx: AppContext, *, name: str, password: str, via: str = "dashboard") -> SignIn:
    """Check a name and password. A failure is logged, counted, and answered after a pause
    (settings.signin_delay_s); from the fifth failure in a row the account is locked for a growing while.
    The reason never says whether the name exists."""
    now = _now()
    with session_scope(ctx.engine) as session:
        account = repo_accounts.get_user(session, name=name)
        stored = repo_accounts.password_hash(session, name=name) if account else None
    locked = account is not None and (_aware(account.locked_until) or now) > now
    ok = False
    try:
        ok = _hasher.verify(stored or _DUMMY_HASH, password) and stored is not None
    except (VerificationError, InvalidHashError):
        ok = False
    if ok and account is not None and not account.disabled and not locked:
        with session_scope(ctx.engine) as session:
            repo_accounts.record_sign_in(session, name=name, at=now)
            if _hasher.check_needs_rehash(stored):
                repo_accounts.set_password_hash(session, name=name, password_hash=_hasher.hash(password))
        audit.record(ctx, actor=name, action="signin.ok", target=name, detail={"via": via})
        return SignIn(ok=True, account=get(ctx, name))
    why = "locked" if locked else "disabled" if account is not None and account.disabled and ok else \
        "unknown account" if account is None else "wrong password"
    count = None
    if account is not None and not locked:
        with session_scope(ctx.engine) as session:
            count = repo_accounts.record_failed_sign_in(session, name=name, locked_until_for=_lock_for(now))
    audit.record(ctx, actor=name[:80] or "?", action="signin.failed", target=name[:200],
                 detail={"via": via, "why": why, "failures": count})
    time.sleep(ctx.settings.signin_delay_s)
    if locked:
        wait = max(1, int(((_aware(account.locked_until) or now) - now).total_seconds()) + 1)
        return SignIn(ok=False, account=None,
                      reason=f"Too many failed sign-ins: try again in {wait} s.")
    return SignIn(ok=False, account=None, reason="Wrong name or password (or the account is disabled).")


def start_session(ctx: AppContext, account: UserRow) -> SignedIn:
    """A dashboard session for a signed-in account, ending after settings.session_minutes."""
    return SignedIn(name=account.name, expires_at=time.time() + 60.0 * ctx.settings.session_minutes)


def session_account(ctx: AppContext, signed: SignedIn | None) -> UserRow | None:
    """The session's account while the session lasts and the account is enabled; None otherwise."""
    if signed is None or time.time() >= signed.expires_at:
        return None
    account = get(ctx, signed.name)
    return account if account is not None and not account.disabled else None


def require(ctx: AppContext, *, name: str | None, action: str) -> UserRow:
    """The enabled account `name` if its role allows `action`; PermissionDenied otherwise."""
    account = get(ctx, name) if name else None
    if account is None or account.disabled:
        raise PermissionDenied(f"{action} needs a signed-in account; {name!r} is not an enabled account")
    if not role_allows(account.role, action):
        raise PermissionDenied(f"{action} needs the {ACTIONS.get(action, 'admin')} role; "
                               f"{account.name!r} is {account.role}")
    return account


def verify_for(ctx: AppContext, *, name: str, password: str | None, action: str, via: str = "cli") -> UserRow:
    """For the CLI: sign in with name and password, then require `action`. PermissionDenied with the reason."""
    if not password:
        raise PermissionDenied(f"{action} as {name!r} needs the account's password (--password or "
                               "EASTERN_PASSWORD)")
    result = sign_in(ctx, name=name, password=password, via=via)
    if not result.ok or result.account is None:
        raise PermissionDenied(result.reason)
    return require(ctx, name=name, action=action)
