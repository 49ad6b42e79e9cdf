"""CLI of the correction loop: crossval, queue, split, compare, export, explain (each parser beside its handler)."""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from app.commands_base import account_for, add_account_args, add_request_args, bar, command, request_from_args, say
from app.context import AppContext


def _crossval_args(sp: argparse.ArgumentParser) -> None:
    from app.services.requests import CrossvalRequest

    add_request_args(sp, CrossvalRequest, aliases={"architecture": "--model"})
    sp.add_argument("--resume", type=int, metavar="SET_ID", help="finish an interrupted set on its own snapshot")
    sp.add_argument("--background", action="store_true", help="run as a background job, as the dashboard does")
    add_account_args(sp)


@command("crossval", "K-fold out-of-sample probabilities + cleanlab label issues", _crossval_args)
def cmd_crossval(ctx: AppContext, args: argparse.Namespace) -> int:
    """K-fold out-of-sample probabilities on the current labels, and cleanlab's label issues."""
    from app.services import jobs
    from app.services.database import prepare_database
    from app.services.requests import CrossvalRequest

    prepare_database(ctx)
    request = request_from_args(CrossvalRequest, args)
    who = account_for(ctx, args, request.needs())
    if args.background:
        print(json.dumps({"job": jobs.submit(ctx, request, who=who, resume_set_id=args.resume)}))
        return 0
    tick = bar("crossval", unit="%")
    outcome = jobs.run_inline(ctx, request, who=who, resume_set_id=args.resume,
                              progress=lambda p: None if p.step else tick(int(round(100 * p.fraction)), 100))
    if outcome.cancelled:
        say("cancelled (resumable with --resume)")
        return 1
    from app.services.annotate import queue_source

    source = queue_source(ctx)
    print(json.dumps({"set": outcome.set_id, "folds": request.folds, "scored": source.n_scored,
                      "likely_wrong_labels": source.n_issues, "source": source.name}))
    return 0


def _queue_args(sp: argparse.ArgumentParser) -> None:
    sp.add_argument("--limit", type=int, default=20)
    sp.add_argument("--offset", type=int, default=0)
    sp.add_argument("--json", action="store_true", help="one JSON object per line")
    sp.add_argument("--unlabelled", action="store_true",
                    help="the videos to label next instead (coverage before a model, then uncertainty + coverage)")


@command("queue", "the label-issue queue (out-of-sample, most suspicious first); --unlabelled: what to label next",
         _queue_args)
def cmd_queue(ctx: AppContext, args: argparse.Namespace) -> int:
    """The label-issue queue, most suspicious first, with the prediction set that ranked it; with --unlabelled the
    unlabelled videos in the order to label them."""
    from app.services.annotate import issue_queue

    if args.unlabelled:
        return _unlabelled_queue(ctx, args)

    source, rows = issue_queue(ctx, limit=args.limit, offset=args.offset)
    if source.kind == "none":
        say("no label issues yet: train a model, then run `python -m app crossval`")
        return 1
    if not args.json:
        say(source.description + (f" {source.stale_labels} labels changed since." if source.stale_labels else ""))
    for r in rows:
        row = {"video_id": r.id, "file_name": r.original_name, "label": r.label, "suggested": r.suggested,
               "score": round(r.score, 6), "label_probability": round(r.label_probability, 6),
               "suggested_probability": round(r.suggested_probability, 6), "likely_wrong": r.is_issue,
               "source": source.name}
        if args.json:
            print(json.dumps(row, ensure_ascii=False))
        else:
            flag = "!" if r.is_issue else " "
            print(f"{flag} {r.id:>6}  {r.score:6.3f}  {r.label} -> {r.suggested} ({r.suggested_probability:.0%})  "
                  f"{r.original_name}")
    return 0


def _unlabelled_queue(ctx: AppContext, args: argparse.Namespace) -> int:
    from app.services.newlabels import unlabelled_queue

    queue = unlabelled_queue(ctx, limit=args.limit, offset=args.offset)
    if not args.json:
        say(f"{queue.n_labelled} labelled, {queue.n_unlabelled} to go. Order: {queue.order}. {queue.reason}")
    for item in queue.items:
        row = {"rank": item.rank, "video_id": item.video_id, "file_name": item.file_name,
               "score": round(item.score, 6), "order": queue.order, "distance": round(item.distance, 6),
               "uncertainty": None if item.uncertainty is None else round(item.uncertainty, 6),
               "model_id": queue.model_id}
        if args.json:
            print(json.dumps(row, ensure_ascii=False))
        else:
            print(f"{item.rank:>6}  {item.video_id:>6}  {item.score:7.3f}  {item.file_name}")
    return 0


@command("split", 'the stable split: {"video_id", "split": "train"|"test"} per line')
def cmd_split(ctx: AppContext, args: argparse.Namespace) -> int:
    """The stable evaluation split as JSON lines."""
    from app.services.database import prepare_database
    from app.services.splits import iter_splits

    prepare_database(ctx)
    out = sys.stdout
    for row in iter_splits(ctx):
        out.write(json.dumps(row) + "\n")
    return 0


def _compare_args(sp: argparse.ArgumentParser) -> None:
    sp.add_argument("a", type=int)
    sp.add_argument("b", type=int)


@command("compare", "two model versions on today's test split and labels", _compare_args)
def cmd_compare(ctx: AppContext, args: argparse.Namespace) -> int:
    """Two model versions on today's test split with today's labels."""
    from app.services.compare import compare

    c = compare(ctx, args.a, args.b)
    payload = {
        "a": c.a.to_dict(), "b": c.b.to_dict(), "videos": len(c.video_ids),
        "micro_f1": {"a": c.micro_a, "b": c.micro_b, "delta": c.micro_b - c.micro_a},
        "macro_f1": {"a": c.macro_a, "b": c.macro_b, "delta": c.macro_b - c.macro_a},
        "per_class": [{"venue": d.venue, "support": d.support, "f1_a": d.f1_a, "f1_b": d.f1_b, "delta": d.delta}
                      for d in c.classes],
        "flips": [{**f.__dict__, "verdict": f.verdict} for f in c.flips],
        "relabelled_since_a": [r.__dict__ for r in c.relabelled],
        "warnings": c.warnings, "predictions_computed_for": c.computed_predictions,
        "video_ids": c.video_ids,
    }
    print(json.dumps(payload, indent=2, ensure_ascii=False))
    return 0


def _export_args(sp: argparse.ArgumentParser) -> None:
    from app.services.export_formats import ALL_KINDS, FORMATS

    sp.add_argument("kind", choices=ALL_KINDS)
    only = {f.name: "" if f.kinds == ALL_KINDS else f" ({', '.join(f.kinds)} only)" for f in FORMATS.values()}
    sp.add_argument("--format", choices=list(FORMATS), default="csv",
                    help="; ".join(f"{f.name}: {f.help}{only[f.name]}" for f in FORMATS.values()))
    sp.add_argument("--model", type=int, help="model version (predictions; default: the active one)")
    sp.add_argument("--out", required=True)
    sp.add_argument("--with-media", action="store_true",
                    help="labels: link the media files beside the manifest, ready for `ingest` in a fresh home")
    add_account_args(sp)


@command("export", "labels (an ingest manifest), history, predictions or issues", _export_args)
def cmd_export(ctx: AppContext, args: argparse.Namespace) -> int:
    from app.services.export import export

    who = account_for(ctx, args, "export")
    report = export(ctx, args.kind, fmt=args.format, out=Path(args.out), model_id=args.model,
                    with_media=args.with_media, actor=who)
    media = f", {report.media_copied} media files beside it" if report.media_copied else ""
    say(f"{report.rows} rows written to {report.path}{media}; described in {report.meta_path}")
    return 0


def _explain_args(sp: argparse.ArgumentParser) -> None:
    sp.add_argument("video_id", type=int)
    sp.add_argument("--venue", help="explain this venue's score instead of the prediction ('why not X?')")
    sp.add_argument("--model", type=int, help="model version (default: the active one)")
    sp.add_argument("--compact", action="store_true", help="one line")


@command("explain", "probabilities, atom activations and pushes, input attributions (JSON)", _explain_args)
def cmd_explain(ctx: AppContext, args: argparse.Namespace) -> int:
    """Why the model predicts what it does for one video: probabilities, atoms, attributions (JSON)."""
    from app.services.explain import explain_video

    target = None
    if args.venue:
        from app.services.casestudy import venue_id_of

        target = venue_id_of(ctx, args.venue)
    from app.services.ood import stored_verdict

    out = explain_video(ctx, args.video_id, target_venue_id=target, model_id=args.model).to_json()
    out["ood"] = stored_verdict(ctx, args.video_id, out["model"]["id"]).to_json()
    print(json.dumps(out, ensure_ascii=False, indent=None if args.compact else 1))
    return 0
