"""CLI of the venue categories: `venues add NAME [--parent P]`, `venues list [--json]`, `venues import FILE`."""
from __future__ import annotations

import argparse
import json
from pathlib import Path

from app.commands_base import command, say
from app.context import AppContext


def account_args(sp: argparse.ArgumentParser) -> None:
    """--who / --password, as `label` takes them (defaults EASTERN_USER / EASTERN_PASSWORD)."""
    sp.add_argument("--who", default=None, help="an annotator or admin account (default EASTERN_USER)")
    sp.add_argument("--password", default=None, help="its password (default EASTERN_PASSWORD)")


def signed_in(ctx: AppContext, args: argparse.Namespace, action: str) -> str:
    """The account name after a password check for `action`; PermissionDenied (one line) otherwise."""
    from app.services.accounts import verify_for

    return verify_for(ctx, name=args.who or ctx.settings.user or "", action=action,
                      password=args.password or ctx.settings.password).name


def _venues_args(sp: argparse.ArgumentParser) -> None:
    sub = sp.add_subparsers(dest="venues_command", required=True)
    add = sub.add_parser("add", help="create a category (optionally under a parent venue)")
    add.add_argument("name")
    add.add_argument("--parent", default=None)
    account_args(add)
    listing = sub.add_parser("list", help="every category, VENUE-188 and your own")
    listing.add_argument("--json", action="store_true", help="one JSON object per line")
    listing.add_argument("--source", choices=["venue188", "user"], help="only these")
    imp = sub.add_parser("import", help="create the categories of a CSV (name[,parent]) or JSON file")
    imp.add_argument("file")
    account_args(imp)


@command("venues", "your own venue categories beside VENUE-188: add, list, import", _venues_args)
def cmd_venues(ctx: AppContext, args: argparse.Namespace) -> int:
    """Add, list or import venue categories."""
    from app.services import venues
    from app.services.database import prepare_database

    prepare_database(ctx)
    if args.venues_command == "list":
        rows = venues.list_venues(ctx)
        names = {r.id: r.name for r in rows}
        for r in rows:
            if args.source and r.source != args.source:
                continue
            parent = names.get(r.parent_id) if r.parent_id else None
            if args.json:
                print(json.dumps({"id": r.id, "name": r.name, "parent": parent, "source": r.source,
                                  "venue188_id": r.venue188_id}, ensure_ascii=False))
            else:
                print(f"{r.id:>5}  {r.source:<8}  {r.name}" + (f"  (under {parent})" if parent else ""))
        return 0
    who = signed_in(ctx, args, venues.ACTION)
    if args.venues_command == "add":
        specs = [venues.VenueSpec(args.name, args.parent)]
    else:
        specs = venues.read_taxonomy(Path(args.file))
    result = venues.add_venues(ctx, specs, who=who)
    for row in result.added:
        print(json.dumps({"id": row.id, "name": row.name, "parent_id": row.parent_id}, ensure_ascii=False))
    say(f"{len(result.added)} venue(s) added as {who}")
    return 0
