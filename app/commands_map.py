"""CLI of the corpus map: embeddings (the job), similar (more like this), data-issues, selections."""
from __future__ import annotations

import argparse
import json

from app.commands_base import account_for, add_account_args, add_request_args, bar, command, request_from_args, say
from app.context import AppContext


def _embeddings_args(sp: argparse.ArgumentParser) -> None:
    from app.services.requests import EmbeddingsRequest

    add_request_args(sp, EmbeddingsRequest)
    sp.add_argument("--background", action="store_true", help="run as a background job, as activation does")
    add_account_args(sp)


@command("embeddings", "a model's embeddings, indexes, 2-D layouts and data issues (the corpus map; resumable)",
         _embeddings_args)
def cmd_embeddings(ctx: AppContext, args: argparse.Namespace) -> int:
    from app.services import embeddings, jobs
    from app.services.requests import EmbeddingsRequest

    request = request_from_args(EmbeddingsRequest, args)
    who = account_for(ctx, args, request.needs())
    if args.background:
        print(json.dumps({"job": jobs.submit(ctx, request, who=who)}))
        return 0
    tick = bar("embeddings", unit="%")
    outcome = jobs.run_inline(ctx, request, who=who, progress=lambda p: tick(int(round(100 * p.fraction)), 100))
    if outcome.cancelled:
        say("stopped (run the command again to resume)")
        return 1
    run = embeddings.current_run(ctx, request.model or None)
    print(json.dumps({"run": outcome.run_id, "videos": run.row.n_videos if run else None,
                      "spaces": run.spaces if run else [], "folder": run.row.artifact_dir if run else None}))
    return 0


def _similar_args(sp: argparse.ArgumentParser) -> None:
    from core.embeddings import SPACES

    sp.add_argument("video_id", type=int)
    sp.add_argument("--modality", default="joint", choices=SPACES, help="the space to search (default joint)")
    sp.add_argument("--k", type=int, default=10, help="how many neighbours (default 10)")
    sp.add_argument("--json", action="store_true", help="one JSON object per line (the default output too)")


@command("similar", "the k videos nearest to a video in the active model's embeddings", _similar_args)
def cmd_similar(ctx: AppContext, args: argparse.Namespace) -> int:
    from app.services.similar import similar

    for n in similar(ctx, args.video_id, space=args.modality, k=args.k):
        print(json.dumps(n.to_dict(), ensure_ascii=False))
    return 0


def _issues_args(sp: argparse.ArgumentParser) -> None:
    from app.services.dataissues import TYPES

    sp.add_argument("--type", dest="type_", choices=TYPES, default=None, help="one kind of issue (default all)")
    sp.add_argument("--json", action="store_true", help="one JSON object per line (the default output too)")


@command("data-issues", "near duplicates, outliers and non-iid videos found in the embeddings (cleanlab Datalab)",
         _issues_args)
def cmd_data_issues(ctx: AppContext, args: argparse.Namespace) -> int:
    from app.services.dataissues import issues

    for issue in issues(ctx, type_=args.type_):
        print(json.dumps(issue.to_dict(), ensure_ascii=False))
    return 0


def _selections_args(sp: argparse.ArgumentParser) -> None:
    sp.add_argument("action", choices=("list", "save", "delete", "show"))
    sp.add_argument("name", nargs="?", default="", help="save: the new selection's name; delete/show: its id")
    sp.add_argument("--ids", default="", help="save: the videos, as 1,2,3 (or - to read ids from stdin)")
    add_account_args(sp)


@command("selections", "saved selections of videos (the Map's lasso, kept): list, save, show, delete",
         _selections_args)
def cmd_selections(ctx: AppContext, args: argparse.Namespace) -> int:
    import sys

    from app.services import selections

    if args.action == "list":
        for s in selections.list_all(ctx):
            print(json.dumps({"id": s.id, "name": s.name, "owner": s.owner, "videos": s.n_videos,
                              "created": s.created_at.isoformat(timespec="seconds")}, ensure_ascii=False))
        return 0
    if args.action == "show":
        print(json.dumps({"id": int(args.name), "video_ids": selections.videos(ctx, int(args.name))}))
        return 0
    who = account_for(ctx, args, "browse")
    if args.action == "save":
        raw = sys.stdin.read() if args.ids == "-" else args.ids
        ids = [int(part) for part in raw.replace("\n", ",").split(",") if part.strip()]
        print(json.dumps({"id": selections.save(ctx, name=args.name, video_ids=ids, who=who)}))
    else:
        selections.delete(ctx, int(args.name), who=who)
        say(f"selection {args.name} deleted")
    return 0
