"""Sign-in under attack: parallel guesses around the right password end locked, the lock outlasts the delay and
expires on its own, a client is throttled across accounts, an admin unlocks, a new password or a disable ends the
open sessions, weak passwords and look-alike names are refused."""
from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

import pytest

from app.services import accounts, audit
from db import accounts as repo_accounts
from db.models import User
from db.session import session_scope
from tests.app.test_accounts import cli

RIGHT = "the right password 7"


@pytest.fixture()
def fast_ctx(ctx):  # noqa: ANN001, ANN201
    ctx.settings.signin_delay_s = 0.0
    accounts.create(ctx, name="admin2", role="admin", password=RIGHT, actor="t")
    return ctx


def test_thirty_parallel_guesses_and_the_right_one_end_locked(fast_ctx) -> None:  # noqa: ANN001
    fast_ctx.settings.signin_delay_s = 1.0
    guesses = [f"wrong guess {i}" for i in range(30)] + [RIGHT]
    barrier = threading.Barrier(len(guesses))

    def attempt(password: str) -> accounts.SignIn:
        barrier.wait()
        return accounts.sign_in(fast_ctx, name="admin2", password=password)

    with ThreadPoolExecutor(len(guesses)) as pool:
        results = list(pool.map(attempt, guesses))
    assert not any(r.ok for r in results[:30])
    row = accounts.get(fast_ctx, "admin2")
    assert row.locked_until is not None and row.failed_count >= accounts.LOCK_AFTER  # the burst ends locked
    evaluated = [e for e in audit.recent(fast_ctx, action="signin.failed", limit=100)
                 if e.detail["why"] in ("wrong password", "concurrent attempts")]
    assert len(evaluated) <= accounts.LOCK_AFTER  # at most five passwords were checked; the rest were refused
    assert not accounts.sign_in(fast_ctx, name="admin2", password=RIGHT).ok  # and it stays locked after the delay


def test_lock_outlasts_the_delay_and_old_failures_expire(fast_ctx) -> None:  # noqa: ANN001
    assert accounts.LOCK_BASE_S > fast_ctx.settings.signin_delay_s * 10
    for _ in range(accounts.LOCK_AFTER):
        accounts.sign_in(fast_ctx, name="admin2", password="not it at all")
    assert "Too many" in accounts.sign_in(fast_ctx, name="admin2", password=RIGHT).reason
    # one wrong guess every 15 minutes does not keep the account out: failures older than the window are forgotten
    accounts.unlock(fast_ctx, name="admin2", actor="t")
    for _ in range(accounts.LOCK_AFTER + 2):
        accounts.sign_in(fast_ctx, name="admin2", password="not it at all")
        with session_scope(fast_ctx.engine) as s:  # the last failure was a window ago, the lock long over
            user = s.query(User).filter_by(name="admin2").one()
            user.last_failed_at = user.last_failed_at - timedelta(seconds=accounts.FAIL_WINDOW_S + 1)
            user.locked_until = None
    assert accounts.get(fast_ctx, "admin2").failed_count == 1
    assert accounts.sign_in(fast_ctx, name="admin2", password=RIGHT).ok


def test_a_client_is_throttled_across_accounts(fast_ctx) -> None:  # noqa: ANN001
    accounts.create(fast_ctx, name="bob", role="viewer", password=RIGHT, actor="t")
    for i in range(accounts.LOCK_AFTER):
        accounts.sign_in(fast_ctx, name=f"nobody{i}", password="guess guess", client="ip:203.0.113.9")
    refused = accounts.sign_in(fast_ctx, name="bob", password=RIGHT, client="ip:203.0.113.9")
    assert not refused.ok and "Too many" in refused.reason
    assert accounts.sign_in(fast_ctx, name="bob", password=RIGHT, client="ip:198.51.100.1").ok  # others are not


def test_admin_unlocks_from_the_command_line(tmp_path) -> None:  # noqa: ANN001
    home = tmp_path / "h"
    assert cli(home, "users", "add", "ann", "--password-stdin", stdin=RIGHT + "\n").returncode == 0
    for _ in range(accounts.LOCK_AFTER):
        cli(home, "users", "verify", "ann", "--password-stdin", stdin="wrong one here\n")
    locked = cli(home, "users", "verify", "ann", "--password-stdin", stdin=RIGHT + "\n")
    assert locked.returncode == 1 and "Too many failed sign-ins" in locked.stderr
    done = cli(home, "users", "unlock", "ann")
    assert done.returncode == 0, done.stderr
    assert cli(home, "users", "verify", "ann", "--password-stdin", stdin=RIGHT + "\n").returncode == 0
    from app.context import make_context
    from app.settings import Settings

    ctx = make_context(Settings(home=home, db_url=f"sqlite:///{home / 'eastern.db'}"))
    assert audit.recent(ctx, action="account.unlock")[0].target == "ann"


def test_password_change_or_disable_ends_open_sessions(fast_ctx) -> None:  # noqa: ANN001
    accounts.create(fast_ctx, name="ann", role="annotator", password=RIGHT, actor="t")
    session = accounts.start_session(fast_ctx, accounts.get(fast_ctx, "ann"))
    assert accounts.session_account(fast_ctx, session).name == "ann"
    accounts.change_password(fast_ctx, name="ann", password="a brand new secret 9", actor="admin2")
    assert accounts.session_account(fast_ctx, session) is None
    fresh = accounts.start_session(fast_ctx, accounts.get(fast_ctx, "ann"))
    assert accounts.session_account(fast_ctx, fresh).name == "ann"
    accounts.set_disabled(fast_ctx, name="ann", disabled=True, actor="admin2")
    assert accounts.session_account(fast_ctx, fresh) is None


@pytest.mark.parametrize("password", ["password", " " * 8, " " * 12, "1234567890", "passwordpassword", "a" * 200])
def test_weak_passwords_are_refused(fast_ctx, password: str) -> None:  # noqa: ANN001
    with pytest.raises(accounts.AccountError, match="at least|too common"):
        accounts.create(fast_ctx, name="weak", role="viewer", password=password, actor="t")


@pytest.mark.parametrize("name", ["\u0430dmin", "ｂob", "ad\u200bmin"])
def test_confusable_names_are_refused(fast_ctx, name: str) -> None:  # noqa: ANN001
    with pytest.raises(accounts.AccountError):
        accounts.create(fast_ctx, name=name, role="admin", password=RIGHT, actor="t")
    with session_scope(fast_ctx.engine) as s:
        assert repo_accounts.get_user(s, name=name) is None


def test_a_password_change_signs_out_an_open_dashboard_session(ws_env) -> None:  # noqa: ANN001
    from app.context import get_context
    from tests.app.test_pages import open_page

    at = open_page("browse", annotator="sessionuser")
    assert any("Signed in as sessionuser" in str(t.value) for t in at.text)
    accounts.change_password(get_context(), name="sessionuser", password="changed by the admin 4", actor="t")
    at.run()
    assert not at.exception
    assert not any("Signed in as" in str(t.value) for t in at.text)
    assert any("session ended" in str(w.value) for w in at.sidebar.warning)


def test_a_long_password_is_fine(fast_ctx) -> None:  # noqa: ANN001
    long = "correct horse battery staple " * 10
    accounts.create(fast_ctx, name="longpw", role="viewer", password=long, actor="t")
    assert accounts.sign_in(fast_ctx, name="longpw", password=long).ok
