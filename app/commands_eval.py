"""CLI commands `evaluate`, `reproduce` and `import-features` (each parser beside its handler)."""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from app.commands_base import command, say
from app.context import AppContext


class _Progress:
    """One tqdm bar over the (method, split) trainings; the current method, split and epoch as postfix."""

    def __init__(self) -> None:
        self.bar = None

    def __call__(self, event: dict[str, Any]) -> None:
        from tqdm import tqdm

        kind = event.get("kind")
        if kind == "run":
            if self.bar is None:
                self.bar = tqdm(total=event["total"], desc="trainings", unit="run", file=sys.stderr, dynamic_ncols=True)
            self.bar.update(event["done"] - self.bar.n)
            self.bar.set_postfix_str(f"{event['method']} split {event['split'] + 1}: "
                                     f"Macro-F {100 * event['macro_f1']:.1f}")
            if event["done"] >= event["total"]:
                self.bar.close()
        elif kind == "resume":
            say(f"resuming: {event['done']} of {event['total']} trainings were done before "
                f"({event['path']}; --fresh starts again)")
        elif kind == "epoch" and self.bar is not None:
            self.bar.set_postfix_str(f"{event.get('method')} split {event.get('split', 0) + 1} "
                                     f"epoch {event.get('epoch')}")

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()


FRESH_HELP = ("start again: without it, a run interrupted with the same inputs resumes after the trainings it "
              "finished (kept under EASTERN_HOME/reports/.unfinished)")


def _p(p: float | None) -> str:
    return "-" if p is None else f"{p:.2e}"


def _patience(args: argparse.Namespace) -> int | None:
    """--patience N (0 = no early stopping)."""
    return None if args.patience == 0 else args.patience


def _patience_help() -> str:
    from app.services.reproduce import DEFAULT_PATIENCE

    return f"early stopping: epochs without a better validation Macro-F (default {DEFAULT_PATIENCE}; 0 = off)"


def _evaluate_args(sp: argparse.ArgumentParser) -> None:
    from app.services.reproduce import DEFAULT_EPOCHS, DEFAULT_PATIENCE, DEFAULT_SPLITS
    from core.models import registry

    sp.add_argument("--splits", type=int, default=DEFAULT_SPLITS)
    sp.add_argument("--models", default=",".join(registry.names("deep")),
                    help=f"comma list of {', '.join(registry.names())}")
    sp.add_argument("--epochs", type=int, default=DEFAULT_EPOCHS, help="at most")
    sp.add_argument("--patience", type=int, default=DEFAULT_PATIENCE, help=_patience_help())
    sp.add_argument("--features", help="an imported feature bundle (see import-features) instead of the corpus")
    sp.add_argument("--subsets", action="store_true", help="also EASTERN on the six modality subsets (Table 3)")
    sp.add_argument("--seed", type=int, default=0)
    sp.add_argument("--json", help="also write the full results to this JSON file")
    sp.add_argument("--fresh", action="store_true", help=FRESH_HELP)


@command("evaluate", "the paper's protocol: random splits, Micro-F / Macro-F, p-values", _evaluate_args)
def cmd_evaluate(ctx: AppContext, args: argparse.Namespace) -> int:
    from app.services import reproduce as service
    from core.report import Table

    progress = _Progress()
    try:
        result = service.run_evaluation(
            ctx, models=service.parse_models(args.models), n_splits=args.splits, epochs=args.epochs,
            features=args.features, subsets=args.subsets, seed=args.seed, patience=_patience(args),
            progress=progress, resume=not args.fresh,
        )
    finally:
        progress.close()
    rows = []
    holm = {c["method"]: c["p_holm"] for c in result.compare([(m.name, "EASTERN") for m in result.methods])}
    for row in result.table():
        rows.append([row["method"], f"{100 * row['micro_f1_mean']:.2f} ± {100 * row['micro_f1_std']:.2f}",
                     f"{100 * row['macro_f1_mean']:.2f} ± {100 * row['macro_f1_std']:.2f}",
                     *[_p(v) for v in (row["p_corrected"], holm.get(row["method"]), row["p_naive"])]])
    print(Table(["Method", "Micro-F %", "Macro-F %", "p corrected", "p Holm", "p paired t"], rows).markdown())
    print(f"\n{result.config['n_splits']} split(s), {result.dataset['n_videos']} videos, "
          f"{result.dataset['n_classes']} classes, {result.seconds / 60:.1f} min. p: Macro-F against EASTERN, "
          "corrected resampled t-test (Nadeau and Bengio), Holm over the rows, plain paired t-test.")
    if args.json:
        result.save(Path(args.json))
        say(f"results written to {args.json}")
    service.finish(result)
    return 0


def _reproduce_args(sp: argparse.ArgumentParser) -> None:
    from app.services.reproduce import DEFAULT_EPOCHS, DEFAULT_PATIENCE, DEFAULT_SPLITS

    sp.add_argument("--out", help="report folder (default: EASTERN_HOME/reports/<time>)")
    sp.add_argument("--quick", action="store_true", help="2 splits, 2 epochs, tiny models: a smoke run")
    sp.add_argument("--splits", type=int, help=f"default {DEFAULT_SPLITS} (2 with --quick)")
    sp.add_argument("--epochs", type=int, help=f"at most; default {DEFAULT_EPOCHS} (2 with --quick)")
    sp.add_argument("--patience", type=int, default=DEFAULT_PATIENCE, help=_patience_help())
    sp.add_argument("--features", help="an imported feature bundle (see import-features) instead of the corpus")
    sp.add_argument("--models", help="comma list (default: every registered architecture of Table 1)")
    sp.add_argument("--seed", type=int, default=0)
    sp.add_argument("--fresh", action="store_true", help=FRESH_HELP)


@command("reproduce", "run Tables 1-3, Figure 6, Table 5 and write the report", _reproduce_args)
def cmd_reproduce(ctx: AppContext, args: argparse.Namespace) -> int:
    from app.services import reproduce as service

    progress = _Progress()
    try:
        models = service.parse_models(args.models) if args.models else service.ALL_MODELS
        outcome = service.reproduce(
            ctx, Path(args.out) if args.out else None, quick=args.quick, n_splits=args.splits, epochs=args.epochs,
            features=args.features, models=models, seed=args.seed, patience=_patience(args), progress=progress,
            resume=not args.fresh,
        )
    finally:
        progress.close()
    print(outcome.summary)
    say(f"report: {outcome.paths['md']} and {outcome.paths['html']} (copied to {outcome.latest})")
    return 0


def _import_features_args(sp: argparse.ArgumentParser) -> None:
    sp.add_argument("file")
    sp.add_argument("--name", help="bundle name (default: the file's stem)")


@command("import-features", "import VENUE-188 HDF5 features (X_/y_/id_ train/valid/test)", _import_features_args)
def cmd_import_features(ctx: AppContext, args: argparse.Namespace) -> int:
    from app.services import reproduce as service

    summary = service.import_features(ctx, Path(args.file), name=args.name)
    print(json.dumps(summary, indent=2))
    return 0
