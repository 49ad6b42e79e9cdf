"""Accounts and roles: argon2 password hashes, sign-in that slows down and locks after failures, expiring
dashboard sessions, role checks, and the first `admin` account. Every change is written to the audit log."""
from __future__ import annotations

import hashlib
import secrets
import threading
import time
import unicodedata
from dataclasses import dataclass
from datetime import UTC, datetime

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from confusable_homoglyphs import confusables
from zxcvbn import zxcvbn

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
    "rerank": "annotator",  # the fast probe's out-of-sample ranking after a batch of corrections (seconds)
    "retrain": "admin", "promote": "admin", "crossval": "admin", "accounts": "admin",
}
MIN_PASSWORD = 10
LOCK_AFTER = 5  # failures in a row (within FAIL_WINDOW_S) before sign-in is refused for a while
LOCK_BASE_S = 30  # the first lock: longer than any sign-in delay, then doubling up to LOCK_MAX_S
LOCK_MAX_S = 300  # short, so that guessing cannot keep an account out for long; `users unlock` ends one now
FAIL_WINDOW_S = 900  # failures older than this (since the last one) are forgotten
CLIENT_LOCK_MAX_S = 900  # the same rule per client (browser address or session), across all accounts
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
    epoch: str = ""  # a digest of the password hash at sign-in: a new password ends the session


def _now() -> datetime:
    return datetime.now(UTC)


def role_allows(role: str | None, action: str) -> bool:
    """Whether `role` may do `action` (an unknown action is refused)."""
    need = ACTIONS.get(action)
    if role not in ROLES or need is None:
        return False
    return ROLES.index(role) >= ROLES.index(need)


def check_name(name: str) -> str:
    """An account name: 1-80 printable characters in Unicode's NFKC form, no surrounding spaces, not mixing
    look-alike letters of different scripts (a Cyrillic а in `аdmin`)."""
    if not name or name != name.strip() or len(name) > 80:
        raise AccountError("an account name is 1 to 80 characters without surrounding spaces")
    if any(unicodedata.category(ch)[0] == "C" for ch in name):
        raise AccountError("an account name may not contain control characters")
    if unicodedata.normalize("NFKC", name) != name:
        raise AccountError(f"write the account name as {unicodedata.normalize('NFKC', name)!r} (Unicode NFKC)")
    if confusables.is_dangerous(name):
        raise AccountError("an account name may not mix look-alike letters of different scripts")
    return name


def check_password(password: str) -> str:
    """At least MIN_PASSWORD characters and not among the guessable ones (zxcvbn's common-password lists)."""
    if len(password) < MIN_PASSWORD:
        raise AccountError(f"a password needs at least {MIN_PASSWORD} characters")
    if zxcvbn(password[:72])["score"] < 1:  # zxcvbn refuses longer input
        raise AccountError("this password is too common or too easy to guess: choose another")
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
    """A new password; the account's open dashboard sessions end at their next page load."""
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


def _lock_s(number: int, cap: float = LOCK_MAX_S) -> float:
    return min(LOCK_BASE_S * 2 ** max(0, number - LOCK_AFTER), cap)


class _ClientThrottle:
    """Failed sign-ins per client (a browser's address, else its session), across accounts, in this process."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._failures: dict[str, tuple[int, float, float]] = {}  # client -> (count, last failure, locked until)

    def wait_s(self, client: str | None) -> float:
        with self._lock:
            _count, _last, until = self._failures.get(client or "", (0, 0.0, 0.0))
        return max(0.0, until - time.time()) if client else 0.0

    def failed(self, client: str | None) -> None:
        if not client:
            return
        now = time.time()
        with self._lock:
            count, last, _until = self._failures.get(client, (0, 0.0, 0.0))
            count = count + 1 if now - last < FAIL_WINDOW_S else 1
            until = now + _lock_s(count, CLIENT_LOCK_MAX_S) if count >= LOCK_AFTER else 0.0
            self._failures[client] = (count, now, until)
            if len(self._failures) > 10000:  # forget the oldest clients
                for key in sorted(self._failures, key=lambda k: self._failures[k][1])[:5000]:
                    del self._failures[key]

    def succeeded(self, client: str | None) -> None:
        with self._lock:
            self._failures.pop(client or "", None)


_clients = _ClientThrottle()


def _verify(stored: str | None, password: str) -> bool:
    try:
        return _hasher.verify(stored or _DUMMY_HASH, password) and stored is not None
    except (VerificationError, InvalidHashError):
        return False


def _refused(ctx: AppContext, *, name: str, via: str, why: str, count: int | None, wait: float) -> SignIn:
    audit.record(ctx, actor=name[:80] or "?", action="signin.failed", target=name[:200],
                 detail={"via": via, "why": why, "failures": count})
    time.sleep(ctx.settings.signin_delay_s)
    if wait > 0:
        return SignIn(ok=False, account=None, reason=f"Too many failed sign-ins: try again in {int(wait) + 1} s.")
    return SignIn(ok=False, account=None, reason="Wrong name or password (or the account is disabled).")


def sign_in(ctx: AppContext, *, name: str, password: str, via: str = "dashboard", client: str | None = None
            ) -> SignIn:
    """Check a name and password. The attempt is counted in the account's row (locked for the transaction)
    before the password is checked, so parallel guesses cannot all be evaluated; from the fifth failure in a
    row the account, and separately the client, is locked for a growing while. A failure is logged and answered
    after settings.signin_delay_s. The reason never says whether the name exists."""
    wait = _clients.wait_s(client)
    if wait > 0:
        return _refused(ctx, name=name, via=via, why="client locked", count=None, wait=wait)
    now = _now()
    with session_scope(ctx.engine) as session:
        attempt = repo_accounts.begin_attempt(session, name=name, now=now, window_s=FAIL_WINDOW_S,
                                              lock_after=LOCK_AFTER, lock_for=_lock_s)
        stored = repo_accounts.password_hash(session, name=name) if attempt.known else None
        account = repo_accounts.get_user(session, name=name) if attempt.known else None
    if attempt.refused:
        _clients.failed(client)
        wait = ((attempt.locked_until or now) - now).total_seconds()
        return _refused(ctx, name=name, via=via, why="locked", count=attempt.number, wait=wait)
    ok = _verify(stored, password)
    if ok and account is not None and not account.disabled:
        with session_scope(ctx.engine) as session:
            signed = repo_accounts.finish_attempt(session, name=name, number=attempt.number, at=_now())
            if signed and _hasher.check_needs_rehash(stored):
                repo_accounts.set_password_hash(session, name=name, password_hash=_hasher.hash(password))
        if signed:
            _clients.succeeded(client)
            audit.record(ctx, actor=name, action="signin.ok", target=name, detail={"via": via})
            return SignIn(ok=True, account=get(ctx, name))
        why = "concurrent attempts"
    else:
        why = "disabled" if account is not None and ok else "unknown account" if account is None else \
            "wrong password"
    _clients.failed(client)
    return _refused(ctx, name=name, via=via, why=why, count=attempt.number or None, wait=0.0)


def unlock(ctx: AppContext, *, name: str, actor: str) -> None:
    """Forget an account's failed sign-ins and lift its lock now (audited)."""
    with session_scope(ctx.engine) as session:
        repo_accounts.unlock(session, name=name)
    audit.record(ctx, actor=actor, action="account.unlock", target=name)


def _epoch(stored: str | None) -> str:
    return hashlib.sha256((stored or "").encode()).hexdigest()[:16]


def start_session(ctx: AppContext, account: UserRow) -> SignedIn:
    """A dashboard session for a signed-in account, ending after settings.session_minutes or when its password
    changes."""
    with session_scope(ctx.engine) as session:
        stored = repo_accounts.password_hash(session, name=account.name)
    return SignedIn(name=account.name, expires_at=time.time() + 60.0 * ctx.settings.session_minutes,
                    epoch=_epoch(stored))


def session_account(ctx: AppContext, signed: SignedIn | None) -> UserRow | None:
    """The session's account while the session lasts, the account is enabled and its password unchanged."""
    if signed is None or time.time() >= signed.expires_at:
        return None
    with session_scope(ctx.engine) as session:
        account = repo_accounts.get_user(session, name=signed.name)
        stored = repo_accounts.password_hash(session, name=signed.name)
    if account is None or account.disabled or _epoch(stored) != signed.epoch:
        return None
    return account


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
