"""The command line: `python -m app COMMAND`. Everything the dashboard does, this does too.

Each command is declared once with its parser beside its handler (app.commands_base); this module holds the
corpus, training, job and label commands and `main`, the one place a user-facing error becomes one line.
"""
from __future__ import annotations

import argparse
import dataclasses
import json
import os
import sys
from collections.abc import Callable
from pathlib import Path

from app.commands_base import (
    COMMANDS,
    account_for,
    add_account_args,
    add_commands,
    add_request_args,
    bar,
    command,
    request_from_args,
    say,
)
from app.context import AppContext, get_context

# ----------------------------------------------------------------- setup and corpus


@command("migrate", "upgrade the database to head and seed the venues")
def cmd_migrate(ctx: AppContext, args: argparse.Namespace) -> int:
    from app.services.database import prepare_database

    prepare_database(ctx)
    say(f"database at head: {ctx.settings.db_url}")
    _hint_first_account(ctx)
    return 0


def _hint_first_account(ctx: AppContext) -> None:
    """On a home with no account, say how to make the first admin (nobody could sign in otherwise)."""
    from app.services import accounts

    if not accounts.list_accounts(ctx):
        say("no account yet: create the first admin with `python -m app users add admin --role admin` "
            "(it prints a password once), then sign in to the dashboard with it")


def _stage_bars() -> Callable[[str, int, int], None]:
    """One progress bar per stage of the demo build (generate, ingest)."""
    bars: dict[str, Callable] = {}

    def progress(stage: str, done: int, total: int) -> None:
        bars.setdefault(stage, bar(stage))(done, total)

    return progress


def _demo_args(sp: argparse.ArgumentParser) -> None:
    sp.add_argument("--videos", type=int, default=200)
    sp.add_argument("--seed", type=int, default=1)
    sp.add_argument("--no-features", action="store_true", help="ingest only; extract later")
    sp.add_argument("--label-noise", type=float, default=None, metavar="SHARE",
                    help="share of planted wrong labels (default 0.03); the recipes know which they are")
    sp.add_argument("--workers", type=int, default=None, help="parallel renderers and decoders (default: all cores)")


@command("demo", "generate and ingest the demo corpus", _demo_args)
def cmd_demo(ctx: AppContext, args: argparse.Namespace) -> int:
    from app.services.corpus import build_demo

    report = build_demo(ctx, videos=args.videos, seed=args.seed, progress=_stage_bars(),
                        label_noise=args.label_noise, workers=_workers(args.workers))
    for line in report.lines():
        print(line)
    if not args.no_features:
        _extract(ctx, workers=args.workers)
    _hint_first_account(ctx)
    return 0 if report.ok else 1


def _ingest_args(sp: argparse.ArgumentParser) -> None:
    sp.add_argument("path", help="a folder of videos, a CSV manifest, one file, a Label Studio JSON export, a "
                                 "FiftyOne labels.json / dataset folder or class-folder tree")
    sp.add_argument("--who", default=None, help="who the labels are from (default 'ingest'); with --new-venues an "
                                                "annotator or admin account (default EASTERN_USER)")
    sp.add_argument("--password", default=None, help="with --new-venues: the account's password (EASTERN_PASSWORD)")
    sp.add_argument("--new-venues", action="store_true",
                    help="create the venue categories the labels name that do not exist yet")
    sp.add_argument("--no-features", action="store_true")
    sp.add_argument("--background", action="store_true",
                    help="run as an ingest job (its own process, as the Upload page does) as the account of --who/"
                         "--password; each file all or nothing; prints the job id")
    sp.add_argument("--wait", action="store_true", help="with --background: wait for the job and print each "
                                                         "file's outcome")


@command("ingest", "ingest videos: a folder, a manifest, one file, or a Label Studio / FiftyOne export", _ingest_args)
def cmd_ingest(ctx: AppContext, args: argparse.Namespace) -> int:
    from app.services.database import prepare_database
    from app.services.ingest import ingest_path

    prepare_database(ctx)
    if args.background:
        return _ingest_job(ctx, args)
    new_venues_by = None
    if args.new_venues:
        from app.commands_venues import signed_in

        new_venues_by = args.who = signed_in(ctx, args, "venues")
    report = ingest_path(ctx, Path(args.path), who=args.who or "ingest", progress=bar("ingest"),
                         new_venues_by=new_venues_by)
    for line in report.lines():
        print(line)
    if report.copies is not None:
        print(f"browser copies: {report.copies.proxies} made, thumbnails: {report.copies.thumbnails} made, "
              f"media views: {report.copies.views} made")
    if report.added and not args.no_features:
        _extract(ctx)
    return 0 if report.ok else 1


def _ingest_job(ctx: AppContext, args: argparse.Namespace) -> int:
    """`ingest PATH --background [--wait]`: the Upload page's job kind, submitted as an authenticated account."""
    import time

    from app.services import ingest_job, jobs

    who = account_for(ctx, args, "venues" if args.new_venues else "upload")
    job_id = ingest_job.submit_path(ctx, Path(args.path), who=who, features=not args.no_features,
                                    new_venues=args.new_venues)
    print(json.dumps({"job": job_id}), flush=True)
    if not args.wait:
        return 0
    while (job := jobs.get_job(ctx, job_id)) is not None and job.active:
        time.sleep(0.5)
    assert job is not None
    found = ingest_job.outcomes(job)
    for outcome in found:
        print(f"{'ERROR ' if outcome.status == 'refused' else ''}{outcome.line()}")
    print(f"job {job_id}: {job.status}" + (f" ({job.error})" if job.error else ""))
    return 0 if job.status == jobs.JobStatus.DONE and all(o.status != "refused" for o in found) else 1


def _features_args(sp: argparse.ArgumentParser) -> None:
    sp.add_argument("--workers", type=int, default=None,
                    help="decode processes (default: all cores; 0: decode in this process); CPUs of --ray local")
    sp.add_argument("--ray", default=None, metavar="ADDRESS",
                    help="run on a Ray cluster (head:6379, ray://head:10001, auto) or 'local' (a Ray started here)")
    sp.add_argument("--rebuild", action="store_true", help="recompute every video's features")


@command("features", "extract features of every video that lacks them", _features_args)
def cmd_features(ctx: AppContext, args: argparse.Namespace) -> int:
    return _extract(ctx, workers=args.workers, ray_address=args.ray, rebuild=args.rebuild)


def _extract(ctx: AppContext, *, workers: int | None = None, ray_address: str | None = None,
             rebuild: bool = False) -> int:
    """Features of every video that lacks them (or of all, with rebuild); 1 when any failed."""
    from app.services.features import extract_pending

    say("extracting features (the first librosa call compiles with numba once per machine)")
    report = extract_pending(ctx, progress=bar("features"), workers=workers, ray_address=ray_address,
                             rebuild=rebuild)
    for line in report.failed:
        print(f"ERROR {line}")
    vocab = f"; text vocabulary refitted: {report.embedder_words} words" if report.embedder_words else ""
    print(f"features: {report.extracted} extracted, {len(report.failed)} failed{vocab}")
    for line in report.proxy_failed:
        print(f"note  no browser copy: {line}")
    print(f"browser copies: {report.proxies} made, thumbnails: {report.thumbnails} made, "
          f"media views: {report.views} made")
    return 0 if not report.failed else 1


def _workers(workers: int | None) -> int:
    """--workers, default every core."""
    from core.features.pipeline import default_workers

    return default_workers() if workers is None else workers


@command("bootstrap", "first run: database, demo corpus, features, first model")
def cmd_bootstrap(ctx: AppContext, args: argparse.Namespace) -> int:
    """First run: database, demo corpus, features and a first EASTERN model, each only if missing."""
    from app.services import status
    from app.services.database import prepare_database
    from app.services.training import TrainRequest

    s = ctx.settings
    say(f"EASTERN_HOME={s.home}")
    prepare_database(ctx)
    from app.services.accounts import ensure_admin
    if (password := ensure_admin(ctx)) is not None:
        print(f"\n    Dashboard account 'admin' created; password (shown once):\n\n        {password}\n", flush=True)
    if status.corpus_is_empty(ctx):
        say(f"empty database: building the demo corpus ({s.demo_videos} videos, seed {s.demo_seed})")
        from app.services.corpus import build_demo

        report = build_demo(ctx, videos=s.demo_videos, seed=s.demo_seed, progress=_stage_bars(),
                            workers=_workers(None))
        for line in report.lines():
            print(line)
    _extract(ctx)
    if not status.has_active_model(ctx):
        from app.services import jobs

        admin = _bootstrap_admin(ctx)
        say(f"training a first EASTERN model ({s.demo_epochs} epochs, as {admin})")
        tick = bar("train", unit="epoch")
        request = TrainRequest(epochs=s.demo_epochs, seed=s.demo_seed, activate=True, name="EASTERN (first run)")
        outcome = jobs.run_inline(ctx, request, who=admin,
                                  progress=lambda p: None if p.step else tick(p.epoch or 0, s.demo_epochs))
        say(f"model version {outcome.model_version_id} trained and active")
        _follow_activation(ctx, outcome.model_version_id, admin)
        _start_first_crossval(ctx, admin)
    return 0


def _bootstrap_admin(ctx: AppContext) -> str:
    """The admin account the first run acts as (the one `bootstrap` made, or another enabled admin)."""
    from app.services import accounts

    admins = [a for a in accounts.list_accounts(ctx) if a.role == "admin" and not a.disabled]
    named = [a for a in admins if a.name == accounts.ADMIN_NAME]
    return (named or admins)[0].name


def _start_first_crossval(ctx: AppContext, admin: str) -> None:
    """After the first model: out-of-sample label issues in the background, so the dashboard opens at once and
    the Annotate queue fills in (with progress) when the folds are done."""
    from app.services import jobs
    from app.services.crossval import CrossvalRequest

    epochs = ctx.settings.demo_epochs
    try:
        job_id = jobs.submit(ctx, CrossvalRequest(folds=5, epochs=epochs, seed=ctx.settings.demo_seed), who=admin)
    except Exception as exc:  # the dashboard still works without it; the Annotate page offers to start one
        say(f"could not start the first cross-validation: {exc}")
        return
    say(f"cross-validation job {job_id} started in the background (5 folds, {epochs} epochs): the Annotate "
         "page shows its progress and ranks labels by out-of-sample label quality when it is done")


def _serve_args(sp: argparse.ArgumentParser) -> None:
    sp.add_argument("--address", default=None, help="default EASTERN_ADDRESS (127.0.0.1)")
    sp.add_argument("--port", type=int, default=None, help="default EASTERN_PORT (8501)")


@command("serve", "run the dashboard", _serve_args)
def cmd_serve(ctx: AppContext, args: argparse.Namespace) -> int:
    from app.services.serve import port_problem

    address, port = args.address or ctx.settings.address, args.port or ctx.settings.port
    if (problem := port_problem(address, port)) is not None:
        say(f"error: {problem}")
        return 2
    from app.launch import serve

    say(f"dashboard on http://{address}:{port}")
    return serve(ctx, address=address, port=port)


@command("status", "corpus and model summary as JSON")
def cmd_status(ctx: AppContext, args: argparse.Namespace) -> int:
    from app.services.status import summary

    print(json.dumps(summary(ctx), indent=2))
    return 0


# ----------------------------------------------------------------- training and models


def _train_args(sp: argparse.ArgumentParser) -> None:
    from app.services.requests import TrainRequest

    add_request_args(sp, TrainRequest, aliases={"architecture": "--model"})
    sp.add_argument("--background", action="store_true",
                    help="run as a background job (its own process), as the Retrain page does; prints the job id")
    add_account_args(sp)


@command("train", "train a model on the current labels (--background: as a job)", _train_args)
def cmd_train(ctx: AppContext, args: argparse.Namespace) -> int:
    from app.services import jobs
    from app.services.requests import TrainRequest

    request = request_from_args(TrainRequest, args)
    who = account_for(ctx, args, request.needs())
    if args.background:
        print(json.dumps({"job": jobs.submit(ctx, request, who=who)}))
        return 0
    tick = bar("train", unit="epoch")
    outcome = jobs.run_inline(ctx, request, who=who, progress=lambda p: None if p.step else tick(p.epoch or 0,
                                                                                                  request.epochs))
    if outcome.cancelled:
        say("cancelled")
        return 1
    from app.services import models as model_service

    if request.activate:
        _follow_activation(ctx, outcome.model_version_id, who)
    print(json.dumps(model_service.summary(ctx, outcome.model_version_id).to_dict(), indent=2))
    return 0


def _follow_activation(ctx: AppContext, model_id: int, who: str) -> None:
    """The active model's embeddings (the Map page, `similar`, data issues), computed in the background."""
    from app.services import embeddings

    job_id = embeddings.follow_activation(ctx, model_id, who=who)
    if job_id is not None:
        say(f"embeddings job {job_id} started in the background: the Map page draws the corpus when it is done")


def _predict_args(sp: argparse.ArgumentParser) -> None:
    sp.add_argument("file")
    sp.add_argument("--caption", default="")
    sp.add_argument("--model-id", type=int)


@command("predict", "top-5 venues of a video file, as JSON", _predict_args)
def cmd_predict(ctx: AppContext, args: argparse.Namespace) -> int:
    from app.services.models import predict_file

    print(json.dumps(predict_file(ctx, Path(args.file), caption=args.caption, model_id=args.model_id), indent=2,
                     ensure_ascii=False))
    return 0


@command("models", "model versions with their metrics")
def cmd_models(ctx: AppContext, args: argparse.Namespace) -> int:
    from app.services import models as model_service

    for row in model_service.list_models(ctx):
        print(json.dumps(row.to_dict()))
    return 0


def _promote_args(sp: argparse.ArgumentParser) -> None:
    sp.add_argument("model_id", type=int)
    sp.add_argument("--background", action="store_true",
                    help="run as a background job (its own process), as the Models page does; prints the job id")
    add_account_args(sp)


@command("promote", "activate a model version and recompute predictions", _promote_args)
def cmd_promote(ctx: AppContext, args: argparse.Namespace) -> int:
    from app.services.models import promote

    who = account_for(ctx, args, "promote")
    if args.background:
        from app.services.requests import start_promote

        print(json.dumps({"job": start_promote(ctx, who=who, model_id=args.model_id)}))
        return 0
    n = promote(ctx, args.model_id, who=who, progress=bar("predictions"))
    say(f"model version {args.model_id} is active; {n} predictions stored (its embeddings follow in the background "
        "when EASTERN_MAP_ON_ACTIVATE is on, the default)")
    return 0


# ----------------------------------------------------------------- jobs


def _worker_args(sp: argparse.ArgumentParser) -> None:
    sp.add_argument("--job", type=int, required=True)


@command("worker", "(internal) run a queued training job", _worker_args)
def cmd_worker(ctx: AppContext, args: argparse.Namespace) -> int:
    from app.services.jobs import FINISHED_OK, run_worker

    status = run_worker(ctx, args.job)
    say(f"job {args.job}: {status}")
    return 0 if status in FINISHED_OK else 1


@command("retrain", "start a background training job (the same as `train --background`)", _train_args)
def cmd_retrain(ctx: AppContext, args: argparse.Namespace) -> int:
    args.background = True
    return cmd_train(ctx, args)


def _jobs_args(sp: argparse.ArgumentParser) -> None:
    sp.add_argument("--cancel", type=int, metavar="JOB_ID", help="ask that job to stop (needs an account)")
    sp.add_argument("--limit", type=int, default=20)
    add_account_args(sp)


@command("jobs", "list background jobs (and cancel one)", _jobs_args)
def cmd_jobs(ctx: AppContext, args: argparse.Namespace) -> int:
    from app.services import jobs

    if args.cancel:
        row = jobs.get_job(ctx, args.cancel)
        if row is None:
            raise jobs.JobError(f"no job {args.cancel}")
        jobs.cancel(ctx, args.cancel, who=account_for(ctx, args, jobs.request_class(row.kind).permission))
    jobs.reap_dead_jobs(ctx)
    for job in jobs.list_jobs(ctx, limit=args.limit):
        print(json.dumps(job.to_dict()))
    return 0


# ----------------------------------------------------------------- labels


def _label_args(sp: argparse.ArgumentParser) -> None:
    sp.add_argument("video_id", type=int)
    sp.add_argument("venue", nargs="?", default="")
    sp.add_argument("--who", default=None, help="an annotator or admin account (default EASTERN_USER)")
    sp.add_argument("--password", default=None, help="its password (default EASTERN_PASSWORD)")
    sp.add_argument("--reason", default="")
    sp.add_argument("--version", type=int, help="the label version you read (conflict check)")
    sp.add_argument("--undo", action="store_true")


@command("label", "set (or undo) a video's venue label", _label_args)
def cmd_label(ctx: AppContext, args: argparse.Namespace) -> int:
    from app.services import annotate

    args.who = account_for(ctx, args, "label")
    if args.undo:
        result = annotate.undo(ctx, video_id=args.video_id, who=args.who, expected_version=args.version)
    else:
        result = annotate.relabel(ctx, video_id=args.video_id, venue=args.venue, who=args.who,
                                  reason=args.reason, expected_version=args.version)
    print(json.dumps(dataclasses.asdict(result), default=str))
    return 0


def _parse_videos(text: str) -> dict[int, int | None]:
    """'12,13@4,20-22' -> {12: None, 13: 4, 20: None, 21: None, 22: None}: ids (ranges allowed), each optionally
    with the label version it was read at (@N, the conflict check)."""
    out: dict[int, int | None] = {}
    for part in (p.strip() for p in text.split(",") if p.strip()):
        ids, _, version = part.partition("@")
        first, _, last = ids.partition("-")
        if not first.isdigit() or (last and not last.isdigit()) or (version and not version.isdigit()):
            raise argparse.ArgumentTypeError(f"{part!r}: expected ID, ID@VERSION or FIRST-LAST")
        span = range(int(first), int(last or first) + 1)
        if len(span) > 100_000:
            raise argparse.ArgumentTypeError(f"{part!r}: at most 100,000 videos at once")
        for vid in span:
            out[vid] = int(version) if version else None
    if not out:
        raise argparse.ArgumentTypeError("no video ids")
    return out


def _bulk_label_args(sp: argparse.ArgumentParser) -> None:
    sp.add_argument("venue")
    sp.add_argument("--videos", required=True, type=_parse_videos,
                    help="ids: 12,13,20-25; ID@N checks the label version you read (as `label --version`)")
    sp.add_argument("--reason", default="")
    add_account_args(sp)


@command("bulk-label", "set one venue on many videos (each conflict-checked, one history row each)", _bulk_label_args)
def cmd_bulk_label(ctx: AppContext, args: argparse.Namespace) -> int:
    from app.services import bulk

    who = account_for(ctx, args, "label")
    unread = [vid for vid, version in args.videos.items() if version is None]
    versions = {**args.videos, **bulk.label_versions(ctx, unread)}
    result = bulk.relabel_many(ctx, shown_versions=versions, venue=args.venue, who=who, reason=args.reason)
    print(json.dumps({"venue": result.venue, "saved": result.saved,
                      "conflicts": [{"video_id": v, "why": why} for v, why in result.conflicts]}, ensure_ascii=False))
    say(f"{len(result.saved)} video(s) set to {result.venue} as {who}; {len(result.conflicts)} changed meanwhile, "
        "left as they are")
    return 0


def _history_args(sp: argparse.ArgumentParser) -> None:
    sp.add_argument("video_id", type=int)


@command("history", "a video's label history", _history_args)
def cmd_history(ctx: AppContext, args: argparse.Namespace) -> int:
    from app.services import annotate

    for row in annotate.history(ctx, video_id=args.video_id):
        print(json.dumps(row, default=str))
    return 0


def build_parser() -> argparse.ArgumentParser:
    # The other command modules register with app.commands_base when imported (after this module's own, so
    # `--help` lists setup and training first); they import commands_base, never this module.
    from app import (  # noqa: F401
        commands_admin,
        commands_eval,
        commands_labels,
        commands_map,
        commands_media,
        commands_venues,
    )

    p = argparse.ArgumentParser(prog="python -m app", description="EASTERN micro-video workbench")
    add_commands(p.add_subparsers(dest="command", required=True))
    return p


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    ctx = get_context()
    try:
        return COMMANDS[args.command].handler(ctx, args)
    except KeyboardInterrupt:
        say("interrupted")
        return 130
    except BrokenPipeError:  # the reader went away (`... | head`): stop quietly, as other Unix tools do
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())  # so the exit flush does not raise again
        return 141
    except Exception as exc:  # one clear line for the user; the traceback only with EASTERN_DEBUG
        from app.errors import user_message

        message = user_message(exc)
        if message is None:
            raise
        say(f"error: {message}")
        return 2
