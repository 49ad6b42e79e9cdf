"""The command registry of `python -m app`: each command is declared once, with its parser beside its handler.

    def _arguments(sp: argparse.ArgumentParser) -> None:
        sp.add_argument("--epochs", type=int, default=15)

    @command("train", "train a model on the current labels", _arguments)
    def cmd_train(ctx: AppContext, args: argparse.Namespace) -> int: ...

Command modules (app.cli, app.commands_*) import this module, never app.cli, so there is no import circle;
app.cli imports them all and builds the parser from COMMANDS in registration order. Handlers call services;
a user-facing error raised by a service becomes one line through app.errors.user_message in app.cli.main.
"""
from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from dataclasses import dataclass

from app.context import AppContext

Handler = Callable[[AppContext, argparse.Namespace], int]
Arguments = Callable[[argparse.ArgumentParser], None]


@dataclass(frozen=True)
class Command:
    name: str
    help: str
    handler: Handler
    arguments: Arguments | None = None


COMMANDS: dict[str, Command] = {}


def command(name: str, help: str, arguments: Arguments | None = None) -> Callable[[Handler], Handler]:  # noqa: A002
    """Register a handler under `name` with its help line and the function that adds its arguments."""
    def register(fn: Handler) -> Handler:
        if name in COMMANDS:
            raise ValueError(f"command {name!r} is registered twice")
        COMMANDS[name] = Command(name, help, fn, arguments)
        return fn

    return register


def add_commands(sub: argparse._SubParsersAction) -> None:
    for cmd in COMMANDS.values():
        sp = sub.add_parser(cmd.name, help=cmd.help)
        if cmd.arguments is not None:
            cmd.arguments(sp)


def bar(desc: str, unit: str = "video"):  # noqa: ANN201 - returns a progress callback
    """A tqdm bar driven by (done, total) callbacks."""
    from tqdm import tqdm

    state: dict = {}

    def update(done: int, total: int) -> None:
        progress = state.get("bar")
        if progress is None:
            progress = state["bar"] = tqdm(total=total, desc=desc, unit=unit, file=sys.stderr, dynamic_ncols=True)
        progress.total = total
        progress.n = done
        progress.refresh()
        if done >= total:
            progress.close()
            state.pop("bar")

    return update


def say(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


# ----------------------------------------------------------------- acting as an account


def add_account_args(sp: argparse.ArgumentParser) -> None:
    """--who / --password: the account a command that changes data acts as (default EASTERN_USER / _PASSWORD)."""
    sp.add_argument("--who", default=None, help="the account to act as (default EASTERN_USER)")
    sp.add_argument("--password", default=None, help="its password (default EASTERN_PASSWORD)")


def account_for(ctx: AppContext, args: argparse.Namespace, action: str) -> str:
    """The name of the account given by --who/--password (or the environment), signed in and allowed to do
    `action`; PermissionDenied (one line) otherwise."""
    from app.services.accounts import verify_for

    return verify_for(ctx, name=args.who or ctx.settings.user or "", action=action,
                      password=args.password or ctx.settings.password).name


# ----------------------------------------------------------------- flags from a job request


def _flag(option_name: str, aliases: dict[str, str]) -> str:
    return aliases.get(option_name, "--" + option_name.replace("_", "-"))


def add_request_args(sp: argparse.ArgumentParser, cls: type, *, aliases: dict[str, str] | None = None) -> None:
    """One flag per field of a job request (app.services.jobs.JobRequest), with its default, help and choices:
    a new field of the request is a new flag here, with nothing else to edit."""
    aliases = aliases or {}
    for opt in cls.options():
        flag = _flag(opt.name, aliases)
        if opt.type is bool:  # on by default: --flag / --no-flag
            sp.add_argument(flag, dest=opt.name, default=opt.default, help=opt.help,
                            action=argparse.BooleanOptionalAction if opt.default else "store_true")
        elif opt.type is tuple:
            sp.add_argument(flag, dest=opt.name, default=",".join(opt.default), help=f"{opt.help} (default "
                            f"{','.join(m[0] for m in opt.default)})")
        else:
            sp.add_argument(flag, dest=opt.name, type=opt.type, default=opt.default, choices=opt.choices,
                            help=f"{opt.help} (default {opt.default!r})" if opt.help else None)


def request_from_args(cls: type, args: argparse.Namespace):  # noqa: ANN201 - an instance of cls
    """The request the flags of add_request_args describe (checked)."""
    return cls.from_dict({opt.name: getattr(args, opt.name) for opt in cls.options()})
