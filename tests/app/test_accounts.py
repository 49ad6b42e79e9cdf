"""Accounts, roles and the audit log through the service and the real CLI: argon2 hashes, no default password,
sign-in failures slowed, counted, locked and logged, label changes stamped with an account, the port check."""
from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from app.services import accounts, audit
from db import accounts as repo_accounts
from db.session import session_scope

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture()
def fast_ctx(ctx):  # noqa: ANN001, ANN201 - an AppContext whose failed sign-ins do not pause
    ctx.settings.signin_delay_s = 0.0
    return ctx


def _environ(home: Path, env: dict[str, str] | None) -> dict[str, str]:
    environ = {k: v for k, v in os.environ.items() if not k.startswith("EASTERN_")}
    return environ | {"EASTERN_HOME": str(home), "EASTERN_DB_URL": f"sqlite:///{home / 'eastern.db'}",
                      "EASTERN_SIGNIN_DELAY_S": "0"} | (env or {})


def cli_process(home: Path, *args: str, stdin: str = "", env: dict[str, str] | None = None,
                ) -> subprocess.CompletedProcess:
    """`python -m app ARGS` in its own process (for what needs one: a server, a port)."""
    return subprocess.run([sys.executable, "-m", "app", *args], input=stdin, capture_output=True, text=True,
                          cwd=ROOT, env=_environ(home, env), timeout=120)


def cli(home: Path, *args: str, stdin: str = "", env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    """`python -m app ARGS` run by app.cli.main in this process, with this home's environment, `stdin` as its
    standard input and its output captured: the same parser, handlers and exit codes as the real command, without
    the interpreter start and imports each process pays (seconds per call on 2 cores)."""
    import contextlib
    import io

    from app.cli import main
    from app.context import get_context
    from app.settings import get_settings
    from db.session import dispose_engines

    saved = dict(os.environ)
    out, err = io.StringIO(), io.StringIO()
    os.environ.clear()
    os.environ.update(_environ(home, env))
    get_settings.cache_clear()
    get_context.cache_clear()
    stdin_was = sys.stdin
    sys.stdin = io.StringIO(stdin)
    try:
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            try:
                code = main(list(args))
            except SystemExit as stop:  # argparse's usage errors
                code = stop.code if isinstance(stop.code, int) else 2
    finally:
        sys.stdin = stdin_was
        os.environ.clear()
        os.environ.update(saved)
        get_settings.cache_clear()
        get_context.cache_clear()
        dispose_engines()
    return subprocess.CompletedProcess(["python", "-m", "app", *args], code, out.getvalue(), err.getvalue())


def test_passwords_are_argon2_hashes_and_roles_are_ordered(fast_ctx) -> None:  # noqa: ANN001
    accounts.create(fast_ctx, name="ann", role="annotator", password="correct horse", actor="t")
    with session_scope(fast_ctx.engine) as s:
        stored = repo_accounts.password_hash(s, name="ann")
    assert stored.startswith("$argon2id$") and "correct horse" not in stored
    assert accounts.role_allows("annotator", "label") and not accounts.role_allows("annotator", "retrain")
    assert accounts.role_allows("admin", "retrain") and not accounts.role_allows("viewer", "label")
    assert not accounts.role_allows(None, "browse")
    with pytest.raises(accounts.AccountError, match="at least 10"):
        accounts.create(fast_ctx, name="bob", role="viewer", password="short", actor="t")
    with pytest.raises(accounts.AccountError, match="exists already"):
        accounts.create(fast_ctx, name="ann", role="viewer", password="another one", actor="t")
    with pytest.raises(accounts.AccountError, match="unknown role"):
        accounts.create(fast_ctx, name="carl", role="root", password="another one", actor="t")


def test_no_default_password_first_admin_is_random_or_from_settings(fast_ctx) -> None:  # noqa: ANN001
    assert fast_ctx.settings.admin_password is None
    assert not accounts.sign_in(fast_ctx, name="admin", password="admin").ok
    password = accounts.ensure_admin(fast_ctx)
    assert password and len(password) >= 20
    assert accounts.ensure_admin(fast_ctx) is None  # once only
    assert accounts.sign_in(fast_ctx, name="admin", password=password).account.role == "admin"
    assert not accounts.sign_in(fast_ctx, name="admin", password="admin").ok


def test_admin_password_from_the_environment_is_not_printed(tmp_path: Path) -> None:
    home = tmp_path / "h"
    assert cli(home, "migrate").returncode == 0
    from app.context import make_context
    from app.settings import Settings

    ctx = make_context(Settings(home=home, db_url=f"sqlite:///{home / 'eastern.db'}", admin_password="from-env-123",
                                signin_delay_s=0))
    assert accounts.ensure_admin(ctx) is None
    assert accounts.sign_in(ctx, name="admin", password="from-env-123").ok
    assert "admin_password" not in ctx.settings.model_dump()  # never handed to a worker's environment


def test_failed_sign_ins_are_slowed_logged_and_lock_the_account(fast_ctx) -> None:  # noqa: ANN001
    accounts.create(fast_ctx, name="ann", role="annotator", password="right password", actor="t")
    fast_ctx.settings.signin_delay_s = 0.3
    started = time.monotonic()
    assert not accounts.sign_in(fast_ctx, name="ann", password="wrong").ok
    assert time.monotonic() - started >= 0.3  # each failure is answered late
    fast_ctx.settings.signin_delay_s = 0.0
    for _ in range(accounts.LOCK_AFTER - 1):
        accounts.sign_in(fast_ctx, name="ann", password="wrong")
    locked = accounts.sign_in(fast_ctx, name="ann", password="right password")
    assert not locked.ok and "Too many failed sign-ins" in locked.reason  # even the right password waits
    assert accounts.get(fast_ctx, "ann").locked_until is not None  # the first lock lasts 30 s, then doubles
    accounts.unlock(fast_ctx, name="ann", actor="root")
    assert accounts.sign_in(fast_ctx, name="ann", password="right password").ok
    assert accounts.get(fast_ctx, "ann").failed_count == 0
    failed = audit.recent(fast_ctx, action="signin.failed")
    assert len(failed) == accounts.LOCK_AFTER + 1
    assert {e.detail["why"] for e in failed} == {"wrong password", "locked"}
    assert audit.recent(fast_ctx, action="signin.ok")[0].actor == "ann"
    # an unknown name is refused with the same words
    assert accounts.sign_in(fast_ctx, name="nobody", password="x").reason == \
        accounts.sign_in(fast_ctx, name="ann", password="x").reason


def test_disabled_accounts_and_the_last_admin(fast_ctx) -> None:  # noqa: ANN001
    accounts.create(fast_ctx, name="root", role="admin", password="admin password", actor="t")
    accounts.create(fast_ctx, name="ann", role="annotator", password="ann password", actor="t")
    session = accounts.start_session(fast_ctx, accounts.get(fast_ctx, "ann"))
    assert accounts.session_account(fast_ctx, session).name == "ann"
    accounts.set_disabled(fast_ctx, name="ann", disabled=True, actor="root")
    assert accounts.session_account(fast_ctx, session) is None  # the open session ends
    assert not accounts.sign_in(fast_ctx, name="ann", password="ann password").ok
    with pytest.raises(accounts.AccountError, match="last admin"):
        accounts.set_disabled(fast_ctx, name="root", disabled=True, actor="root")
    with pytest.raises(accounts.AccountError, match="last admin"):
        accounts.set_role(fast_ctx, name="root", role="viewer", actor="root")
    with pytest.raises(accounts.PermissionDenied):
        accounts.require(fast_ctx, name="ann", action="label")
    assert [e.action for e in audit.recent(fast_ctx, actor="root")] == ["account.disable"]


def test_users_command_and_label_needs_an_account(tmp_path: Path) -> None:
    home = tmp_path / "h"
    added = cli(home, "users", "add", "ann", "--role", "annotator", "--password-stdin", stdin="ann password 1\n")
    assert added.returncode == 0, added.stderr
    random_one = cli(home, "users", "add", "vic", "--role", "viewer")
    assert "shown once" in random_one.stdout
    listed = cli(home, "users", "list").stdout
    assert '"name": "ann", "role": "annotator"' in listed and '"name": "vic", "role": "viewer"' in listed
    assert cli(home, "users", "verify", "ann", "--password-stdin", stdin="ann password 1\n").returncode == 0
    wrong = cli(home, "users", "verify", "ann", "--password-stdin", stdin="nope\n")
    assert wrong.returncode == 1 and "Wrong name or password" in wrong.stderr

    from app.context import make_context
    from app.settings import Settings
    from db import repo

    ctx = make_context(Settings(home=home, db_url=f"sqlite:///{home / 'eastern.db'}"))
    with session_scope(ctx.engine) as s:
        video_id = repo.add_video(s, sha256="a" * 64, path="media/aa/x.mp4", original_name="x.mp4", duration=6.0,
                                  fps=25.0, width=64, height=64, size_bytes=1, has_audio=False, caption="",
                                  source="ingest")
    typed = cli(home, "label", str(video_id), "Airport", "--who", "someone")
    assert typed.returncode == 2 and "needs the account's password" in typed.stderr
    viewer = cli(home, "label", str(video_id), "Airport", "--who", "vic", "--password", "x" * 12)
    assert viewer.returncode == 2
    ok = cli(home, "label", str(video_id), "Airport", env={"EASTERN_USER": "ann", "EASTERN_PASSWORD": "ann password 1"})
    assert ok.returncode == 0, ok.stderr
    with session_scope(ctx.engine) as s:
        assert [h.who for h in repo.label_history(s, video_id=video_id)] == ["ann"]
    assert cli(home, "users", "disable", "ann").returncode == 0
    refused = cli(home, "label", str(video_id), "Garden", "--who", "ann", "--password", "ann password 1")
    assert refused.returncode == 2
    actions = [e.action for e in audit.recent(ctx)]
    assert {"account.add", "signin.ok", "signin.failed", "account.disable"} <= set(actions)


def test_serve_says_clearly_when_the_port_is_taken(tmp_path: Path) -> None:
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        port = holder.getsockname()[1]
        result = cli_process(tmp_path / "h", "serve", env={"EASTERN_PORT": str(port)})
    assert result.returncode == 2
    assert f"cannot serve on 127.0.0.1:{port}" in result.stderr and f"PORT={port + 1}" in result.stderr


def test_account_changes_act_as_an_admin_once_one_exists(tmp_path: Path) -> None:
    home = tmp_path / "h"
    first = cli(home, "users", "add", "root", "--role", "admin", "--password-stdin", stdin="root password 12\n")
    assert first.returncode == 0, first.stderr  # no admin yet: the machine's operator makes the first
    refused = cli(home, "users", "add", "ann", "--role", "annotator")
    assert refused.returncode == 2 and "act as an admin with --who" in refused.stderr
    wrong = cli(home, "users", "add", "ann", "--who", "root", "--password", "not the password")
    assert wrong.returncode == 2
    done = cli(home, "users", "add", "ann", "--role", "annotator", "--who", "root", "--password", "root password 12")
    assert done.returncode == 0, done.stderr
    as_annotator = cli(home, "users", "role", "ann", "admin", env={"EASTERN_USER": "ann", "EASTERN_PASSWORD": "x"})
    assert as_annotator.returncode == 2
    recovery = cli(home, "users", "passwd", "root", "--operator", "--password-stdin", stdin="a new root secret 7\n")
    assert recovery.returncode == 0, recovery.stderr
    from app.context import make_context
    from app.settings import Settings

    ctx = make_context(Settings(home=home, db_url=f"sqlite:///{home / 'eastern.db'}"))
    events = [(e.action, e.actor, e.target) for e in reversed(audit.recent(ctx)) if e.action.startswith("account.")]
    assert [a for a, *_ in events] == ["account.add", "account.add", "account.passwd"]
    assert events[1][1:] == ("root", "ann") and events[0][1].startswith("cli") and events[2][1].startswith("cli")
    assert {a.name: a.role for a in accounts.list_accounts(ctx)} == {"ann": "annotator", "root": "admin"}


def test_an_annotator_may_rerank_with_the_probe_but_not_run_eastern_folds(fast_ctx) -> None:  # noqa: ANN001
    """The fast probe's ranking is the annotators' own correction loop (seconds after a batch of corrections); deep
    cross-validation (minutes of two cores) stays the admin's."""
    from app.services import jobs
    from app.services.requests import CrossvalRequest

    accounts.create(fast_ctx, name="ann", role="annotator", password="correct horse", actor="t")
    accounts.create(fast_ctx, name="vic", role="viewer", password="correct horse", actor="t")
    probe, deep = CrossvalRequest(architecture="probe"), CrossvalRequest(architecture="eastern")
    assert probe.needs() == "rerank" and deep.needs() == "crossval"
    assert jobs._authorise(fast_ctx, probe, "ann") == "ann"
    with pytest.raises(accounts.PermissionDenied):
        jobs._authorise(fast_ctx, deep, "ann")
    with pytest.raises(accounts.PermissionDenied):
        jobs._authorise(fast_ctx, probe, "vic")
