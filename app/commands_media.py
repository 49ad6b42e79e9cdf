"""`python -m app proxies [--rebuild]`: thumbnails and browser copies of the stored videos (app.services.proxies).
Registered with app.commands_base like every command."""
from __future__ import annotations

import argparse

from app.commands_base import bar, command
from app.context import AppContext


def _proxies_args(sp: argparse.ArgumentParser) -> None:
    sp.add_argument("--rebuild", action="store_true", help="write every thumbnail and browser copy again")


@command("proxies", "make the missing thumbnails, media views and browser copies (videos browsers cannot play)",
         _proxies_args)
def cmd_proxies(ctx: AppContext, args: argparse.Namespace) -> int:
    from app.services.database import prepare_database
    from app.services.proxies import make_missing

    prepare_database(ctx)
    report = make_missing(ctx, rebuild=args.rebuild, progress=bar("browser copies"))
    for line in report.failed:
        print(f"ERROR {line}")
    print(f"proxies: {report.checked} videos checked, {report.proxies} browser copies, "
          f"{report.thumbnails} thumbnails and {report.views} media views made, {len(report.failed)} failed")
    return 0 if not report.failed else 1
