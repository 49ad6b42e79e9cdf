"""Commands for accounts and health: `users add|passwd|role|disable|enable|unlock|list|verify`, `doctor`,
`backup` and `restore`.
Registered with app.commands_base like every command."""
from __future__ import annotations

import argparse
import getpass
import json
import sys

from app.commands_base import account_for, add_account_args, command, say
from app.context import AppContext
from app.errors import UserError


def _operator() -> str:
    """The machine's operator: whoever runs the command on this machine (`cli:USER`)."""
    try:
        return f"cli:{getpass.getuser()}"
    except Exception:  # noqa: BLE001 - no user name in a bare container
        return "cli"


class NeedsAdmin(UserError):
    """An account change from the command line once admins exist, with neither an admin nor --operator."""


def _actor(ctx: AppContext, args: argparse.Namespace) -> str:
    """Who makes an account change: an admin account given by --who/--password (or EASTERN_USER /
    EASTERN_PASSWORD); the machine's operator while the home has no admin yet (the first one); or the operator
    who says so with --operator, for recovery when every admin password is lost (audited as `cli:USER`)."""
    from app.services import accounts

    if args.who or ctx.settings.user:
        return account_for(ctx, args, "accounts")
    if args.operator or not any(a.role == "admin" and not a.disabled for a in accounts.list_accounts(ctx)):
        return _operator()
    raise NeedsAdmin("accounts exist: act as an admin with --who NAME --password PW (or EASTERN_USER / "
                     "EASTERN_PASSWORD); --operator acts as this machine's operator instead (recovery, audited as "
                     f"{_operator()})")


def _password_from(args: argparse.Namespace, *, prompt: str) -> str | None:
    """--password-stdin reads one line; a terminal is asked twice; otherwise None (a random one is made)."""
    if args.password_stdin:
        return sys.stdin.readline().rstrip("\r\n")
    if sys.stdin.isatty():
        first = getpass.getpass(prompt)
        if first != getpass.getpass("again: "):
            raise SystemExit("error: the two passwords differ")
        return first
    return None


def _users_args(users: argparse.ArgumentParser) -> None:
    from app.services.accounts import ROLES

    actions = users.add_subparsers(dest="users_action", required=True)
    for name, text in (("add", "create an account (a random password is printed once unless one is given)"),
                       ("passwd", "set a new password (random, printed once, unless one is given)"),
                       ("verify", "check a password (exit 1 when wrong); counts as a sign-in")):
        sp = actions.add_parser(name, help=text)
        sp.add_argument("name")
        sp.add_argument("--password-stdin", action="store_true", help="read the password from one line of stdin")
        if name == "add":
            sp.add_argument("--role", choices=ROLES, default="annotator")
        if name != "verify":
            _acting_args(sp)
    sp = actions.add_parser("role", help="change an account's role")
    sp.add_argument("name")
    sp.add_argument("role", choices=ROLES)
    _acting_args(sp)
    for name, text in (("disable", "disable an account"), ("enable", "enable an account"),
                       ("unlock", "forget an account's failed sign-ins and lift its lock")):
        sp = actions.add_parser(name, help=text)
        sp.add_argument("name")
        _acting_args(sp)
    actions.add_parser("list", help="accounts as JSON lines")


def _acting_args(sp: argparse.ArgumentParser) -> None:
    add_account_args(sp)
    sp.add_argument("--operator", action="store_true",
                    help="act as this machine's operator, without an admin account (recovery; audited as cli:USER)")


@command("users", "accounts: add, passwd, role, disable, enable, unlock, list, verify", _users_args)
def cmd_users(ctx: AppContext, args: argparse.Namespace) -> int:
    from app.services import accounts
    from app.services.database import prepare_database

    prepare_database(ctx)
    action = args.users_action
    if action == "list":
        for a in accounts.list_accounts(ctx):
            print(json.dumps({"name": a.name, "role": a.role, "disabled": a.disabled,
                              "last_sign_in": a.last_sign_in_at.isoformat() if a.last_sign_in_at else None,
                              "failed_sign_ins": a.failed_count}, ensure_ascii=False))
        return 0
    if action == "verify":
        if args.password_stdin:
            password = sys.stdin.readline().rstrip("\r\n")
        else:
            password = getpass.getpass("password: ") if sys.stdin.isatty() else ""
        result = accounts.sign_in(ctx, name=args.name, password=password, via="cli")
        if result.ok and result.account is not None:
            print(json.dumps({"name": result.account.name, "role": result.account.role}))
            return 0
        say(f"error: {result.reason}")
        return 1
    actor = _actor(ctx, args)
    if action in ("add", "passwd"):
        password = _password_from(args, prompt=f"password for {args.name}: ")
        made = password is None
        password = password or accounts.new_password()
        if action == "add":
            accounts.create(ctx, name=args.name, role=args.role, password=password, actor=actor)
        else:
            accounts.change_password(ctx, name=args.name, password=password, actor=actor)
        if made:
            print(f"password for {args.name} (shown once): {password}")
        say(f"account {args.name}: {'created as ' + args.role if action == 'add' else 'password changed'}")
        return 0
    if action == "unlock":
        accounts.unlock(ctx, name=args.name, actor=actor)
        say(f"account {args.name} unlocked")
        return 0
    if action == "role":
        accounts.set_role(ctx, name=args.name, role=args.role, actor=actor)
        say(f"account {args.name} is now {args.role}")
        return 0
    accounts.set_disabled(ctx, name=args.name, disabled=action == "disable", actor=actor)
    say(f"account {args.name} {action}d")
    return 0


def _doctor_args(sp: argparse.ArgumentParser) -> None:
    sp.add_argument("--no-checksum", action="store_true", help="skip re-hashing every media file")
    sp.add_argument("--fix", action="store_true", help="do the safe repairs (leftover temporary files, rows that "
                                                       "claim missing features, dead jobs)")
    sp.add_argument("--json", action="store_true")
    sp.add_argument("--backup", metavar="DEST", default=None,
                    help="check the backup in DEST instead (every file present with its recorded SHA-256)")


@command("doctor", "check the database, migrations, media and feature files, jobs", _doctor_args)
def cmd_doctor(ctx: AppContext, args: argparse.Namespace) -> int:
    from app.services import doctor

    if args.backup:
        return _verify_backup(args.backup)
    diagnosis = doctor.diagnose(ctx, checksums=not args.no_checksum)
    if args.fix and diagnosis.problems:
        left = doctor.repair(diagnosis)
        say(f"repaired {len(diagnosis.problems) - len(left)} problem(s)")
        diagnosis = doctor.diagnose(ctx, checksums=not args.no_checksum)
    if args.json:
        print(json.dumps({"ok": diagnosis.ok, "checked": diagnosis.checked,
                          "problems": [{"check": p.check, "what": p.what, "fix": p.fix} for p in diagnosis.problems]},
                         indent=2, ensure_ascii=False))
    else:
        for line in diagnosis.lines():
            print(line)
    return 0 if diagnosis.ok else 1


def _verify_backup(dest: str) -> int:
    from pathlib import Path

    from app.services import backup

    problems = backup.verify(Path(dest))
    for line in problems:
        print(f"backup: {line}")
    print(f"backup in {dest}: " + ("complete, every file matches" if not problems else f"{len(problems)} problem(s)"))
    return 0 if not problems else 1


def _backup_args(sp: argparse.ArgumentParser) -> None:
    sp.add_argument("dest", help="a folder outside the home; a later backup there copies only what changed")
    sp.add_argument("--verify", action="store_true", help="then check the backup (as doctor --backup does)")


@command("backup", "copy the database (online, consistent) and the media, features and models to a folder",
         _backup_args)
def cmd_backup(ctx: AppContext, args: argparse.Namespace) -> int:
    from pathlib import Path

    from app.services import backup
    from app.services.database import prepare_database

    prepare_database(ctx)
    say(backup.backup(ctx, Path(args.dest)).line())
    return _verify_backup(args.dest) if args.verify else 0


def _restore_args(sp: argparse.ArgumentParser) -> None:
    sp.add_argument("src", help="a folder written by `python -m app backup`")
    sp.add_argument("--force", action="store_true", help="replace a home that is not empty")


@command("restore", "restore a backup into an empty home (EASTERN_HOME)", _restore_args)
def cmd_restore(ctx: AppContext, args: argparse.Namespace) -> int:
    from pathlib import Path

    from app.services import audit, backup
    from app.services.database import prepare_database

    files = backup.restore(ctx.settings, Path(args.src), force=args.force)
    prepare_database(ctx)  # a backup from an older version is migrated to this one
    audit.record(ctx, actor=_operator(), action="restore", target=str(args.src), detail={"files": files})
    say(f"restored {args.src} into {ctx.settings.home}: the database and {files} file(s); check it: "
        "python -m app doctor")
    return 0
