"""The command line: `python -m app COMMAND`. Everything the dashboard does, this does too.

Each command is declared once with its parser beside its handler (app.commands_base); this module holds the
corpus, training, job and label commands and `main`, the one place a user-facing error becomes one line.
"""
from __future__ import annotations

import argparse
import dataclasses
import json
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

from app.commands_base import COMMANDS, add_commands, bar, command, say
from app.context import AppContext, get_context

# ----------------------------------------------------------------- setup and corpus


@command("migrate", "upgrade the database to head and seed the venues")
def cmd_migrate(ctx: AppContext, args: argparse.Namespace) -> int:
    from app.services.database import prepare_database

    prepare_database(ctx)
    say(f"database at head: {ctx.settings.db_url}")
    return 0


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
    return 0 if report.ok else 1


def _ingest_args(sp: argparse.ArgumentParser) -> None:
    sp.add_argument("path")
    sp.add_argument("--who", default="ingest")
    sp.add_argument("--no-features", action="store_true")


@command("ingest", "ingest a folder of videos, a CSV manifest or one file", _ingest_args)
def cmd_ingest(ctx: AppContext, args: argparse.Namespace) -> int:
    from app.services.database import prepare_database
    from app.services.ingest import ingest_path

    prepare_database(ctx)
    report = ingest_path(ctx, Path(args.path), who=args.who, progress=bar("ingest"))
    for line in report.lines():
        print(line)
    if report.added:  # thumbnails + browser copies now (~0.3 s a video): playable before any features run
        from app.services.proxies import make_missing

        copies = make_missing(ctx, video_ids=report.added)
        print(f"browser copies: {copies.proxies} made, thumbnails: {copies.thumbnails} made")
    if report.added and not args.no_features:
        _extract(ctx)
    return 0 if report.ok else 1


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
    print(f"browser copies: {report.proxies} made, thumbnails: {report.thumbnails} made")
    return 0 if not report.failed else 1


def _workers(workers: int | None) -> int:
    """--workers, default every core."""
    from core.features.pipeline import default_workers

    return default_workers() if workers is None else workers


@command("bootstrap", "first run: database, demo corpus, features, first model")
def cmd_bootstrap(ctx: AppContext, args: argparse.Namespace) -> int:
    """First run: database, demo corpus, features and a first EASTERN model, each only if missing."""
    from app.services.database import prepare_database
    from app.services.training import TrainRequest, train_and_register
    from db import repo
    from db.session import session_scope

    s = ctx.settings
    say(f"EASTERN_HOME={s.home}")
    prepare_database(ctx)
    from app.services.accounts import ensure_admin
    if (password := ensure_admin(ctx)) is not None:
        print(f"\n    Dashboard account 'admin' created; password (shown once):\n\n        {password}\n", flush=True)
    with session_scope(ctx.engine) as session:
        empty = repo.count_videos(session) == 0
    if empty:
        say(f"empty database: building the demo corpus ({s.demo_videos} videos, seed {s.demo_seed})")
        from app.services.corpus import build_demo

        report = build_demo(ctx, videos=s.demo_videos, seed=s.demo_seed, progress=_stage_bars(),
                            workers=_workers(None))
        for line in report.lines():
            print(line)
    _extract(ctx)
    with session_scope(ctx.engine) as session:
        has_model = repo.active_model(session) is not None
    if not has_model:
        say(f"training a first EASTERN model ({s.demo_epochs} epochs)")
        tick = bar("train", unit="epoch")
        request = TrainRequest(epochs=s.demo_epochs, seed=s.demo_seed, activate=True, name="EASTERN (first run)")
        model_id = train_and_register(
            ctx, request, progress=lambda e: tick(e["epoch"], s.demo_epochs) if e.get("kind") == "epoch" else None
        )
        say(f"model version {model_id} trained and active")
        _start_first_crossval(ctx)
    return 0


def _start_first_crossval(ctx: AppContext) -> None:
    """After the first model: out-of-sample label issues in the background, so the dashboard opens at once and
    the Annotate queue fills in (with progress) when the folds are done."""
    from app.services.crossval import CrossvalRequest
    from app.services.jobs import start_crossval_job

    epochs = ctx.settings.demo_epochs
    try:
        job_id = start_crossval_job(ctx, CrossvalRequest(folds=5, epochs=epochs, seed=ctx.settings.demo_seed),
                                    who="bootstrap")
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

    entry = Path(__file__).resolve().parent / "ui" / "main.py"
    address, port = args.address or ctx.settings.address, args.port or ctx.settings.port
    if (problem := port_problem(address, port)) is not None:
        say(f"error: {problem}")
        return 2
    cmd = [sys.executable, "-m", "streamlit", "run", str(entry), "--server.address", address,
           "--server.port", str(port), "--server.headless", "true"]
    say(f"dashboard on http://{address}:{port}")
    return subprocess.call(cmd, env={**os.environ, "EASTERN_HOME": str(ctx.settings.home),
                                     "EASTERN_DB_URL": ctx.settings.db_url})


@command("status", "corpus and model summary as JSON")
def cmd_status(ctx: AppContext, args: argparse.Namespace) -> int:
    from db import repo
    from db.session import session_scope

    with session_scope(ctx.engine) as session:
        counts = repo.corpus_counts(session)
        active = repo.active_model(session)
    print(json.dumps({
        "home": str(ctx.settings.home), "videos": counts.videos, "labelled": counts.labelled,
        "with_features": counts.with_features, "active_model": active.name if active else None,
        "per_venue": counts.per_venue,
    }, indent=2))
    return 0


# ----------------------------------------------------------------- training and models


def _train_args(sp: argparse.ArgumentParser) -> None:
    from core.models import registry

    sp.add_argument("--model", default="eastern", choices=registry.names(),
                    help="a deep model, or a shallow baseline of Table 1 "
                         f"({', '.join(registry.names('shallow'))}: not activatable)")
    sp.add_argument("--modalities", default="v,a,t")
    sp.add_argument("--epochs", type=int, default=15)
    sp.add_argument("--seed", type=int, default=0)
    sp.add_argument("--batch-size", type=int, default=64)
    sp.add_argument("--lr", type=float, default=1e-3)
    sp.add_argument("--activate", action="store_true")


@command("train", "train a model on the current labels", _train_args)
def cmd_train(ctx: AppContext, args: argparse.Namespace) -> int:
    from app.services.training import TrainRequest, parse_modalities, train_and_register

    request = TrainRequest(
        architecture=args.model, modalities=parse_modalities(args.modalities), epochs=args.epochs,
        seed=args.seed, activate=args.activate, batch_size=args.batch_size, lr=args.lr,
    )
    tick = bar("train", unit="epoch")
    model_id = train_and_register(
        ctx, request, progress=lambda e: tick(e["epoch"], args.epochs) if e.get("kind") == "epoch" else None
    )
    from app.services import models as model_service

    print(json.dumps(model_service.summary(ctx, model_id).to_dict(), indent=2))
    return 0


def _predict_args(sp: argparse.ArgumentParser) -> None:
    sp.add_argument("file")
    sp.add_argument("--caption", default="")
    sp.add_argument("--model-id", type=int)


@command("predict", "top-5 venues of a video file, as JSON", _predict_args)
def cmd_predict(ctx: AppContext, args: argparse.Namespace) -> int:
    from app.services.training import predict_file

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


@command("promote", "activate a model version and recompute predictions", _promote_args)
def cmd_promote(ctx: AppContext, args: argparse.Namespace) -> int:
    from app.services.training import promote

    n = promote(ctx, args.model_id, progress=bar("predictions"))
    say(f"model version {args.model_id} is active; {n} predictions stored")
    return 0


# ----------------------------------------------------------------- jobs


def _worker_args(sp: argparse.ArgumentParser) -> None:
    sp.add_argument("--job", type=int, required=True)


@command("worker", "(internal) run a queued training job", _worker_args)
def cmd_worker(ctx: AppContext, args: argparse.Namespace) -> int:
    from app.services.jobs import run_worker
    from db.repo import JobStatus

    status = run_worker(ctx, args.job)
    say(f"job {args.job}: {status}")
    return 0 if status in (JobStatus.DONE, JobStatus.CANCELLED) else 1


def _retrain_args(sp: argparse.ArgumentParser) -> None:
    from core.models import registry

    sp.add_argument("--model", default="eastern", choices=registry.names("deep"))
    sp.add_argument("--modalities", default="v,a,t")
    sp.add_argument("--epochs", type=int, default=15)
    sp.add_argument("--seed", type=int, default=0)
    sp.add_argument("--who", default="cli")


@command("retrain", "start a background training job", _retrain_args)
def cmd_retrain(ctx: AppContext, args: argparse.Namespace) -> int:
    """Start a background training job, as the dashboard's Retrain page does."""
    from app.services.jobs import start_job
    from app.services.training import TrainRequest, parse_modalities

    request = TrainRequest(architecture=args.model, modalities=parse_modalities(args.modalities),
                           epochs=args.epochs, seed=args.seed)
    job_id = start_job(ctx, request, who=args.who)
    from app.services import audit
    audit.record(ctx, actor=args.who, action="retrain", target=f"job {job_id}",
                 detail={"via": "cli", **request.to_dict()})
    print(json.dumps({"job": job_id}))
    return 0


def _jobs_args(sp: argparse.ArgumentParser) -> None:
    sp.add_argument("--cancel", type=int)
    sp.add_argument("--limit", type=int, default=20)


@command("jobs", "list training jobs (and cancel one)", _jobs_args)
def cmd_jobs(ctx: AppContext, args: argparse.Namespace) -> int:
    from app.services.jobs import reap_dead_jobs, request_cancel
    from db import repo
    from db.session import session_scope

    if args.cancel:
        request_cancel(ctx, args.cancel)
    reap_dead_jobs(ctx)
    with session_scope(ctx.engine) as session:
        for job in repo.list_jobs(session, limit=args.limit):
            print(json.dumps({"id": job.id, "status": job.status, "progress": round(job.progress, 3),
                              "message": job.message, "error": job.error, "model": job.model_version_id}))
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
    from app.services.accounts import verify_for

    args.who = verify_for(ctx, name=args.who or ctx.settings.user or "", action="label",
                          password=args.password or ctx.settings.password).name
    if args.undo:
        result = annotate.undo(ctx, video_id=args.video_id, who=args.who, expected_version=args.version)
    else:
        result = annotate.relabel(ctx, video_id=args.video_id, venue=args.venue, who=args.who,
                                  reason=args.reason, expected_version=args.version)
    print(json.dumps(dataclasses.asdict(result), default=str))
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
    from app import commands_admin, commands_eval, commands_labels, commands_media  # noqa: F401

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
