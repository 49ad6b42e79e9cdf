"""Does the "Label new videos" queue need fewer labels than labelling in random order? A demo corpus (no planted
label noise) with its labels hidden: an annotator labels the stable split's training videos in queue order
(k-center coverage before a model, then the active model's margin uncertainty blended with coverage, re-ranked
after every training) or in random order; a model (EASTERN through core.train, few epochs) is trained after 5%,
10%, 20% and 40% of them are labelled and scored on the stable test split (Macro-F). "Labelling" a video reveals
its demo label. Three seeds each; prints mean +- sd, and how many labels the queue needs to reach random order's
score at 40% (linear between the measured budgets).

    python benchmarks/active_learning.py [--videos 600] [--seeds 1,2,3] [--epochs 8] [--budgets 0.05,0.1,0.2,0.4]
        [--home DIR] [--json out.json] [--quick]

--home keeps the built corpus and reuses it; its `built.json` names the videos, seed and planted label noise.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def _context(home: Path):  # noqa: ANN202 - AppContext
    from app.context import make_context
    from app.settings import Settings

    os.environ.setdefault("NUMBA_CACHE_DIR", str(home / "numba-cache"))
    return make_context(Settings(home=home, db_url=f"sqlite:///{home / 'eastern.db'}", job_heartbeat_s=5.0))


def build(home: Path, videos: int, seed: int):  # noqa: ANN201 - (ctx, corpus description, seconds)
    """The demo corpus and its features under `home`, reused when `home/built.json` says one is there (its
    videos, seed and planted label noise: the simulation reveals the recipe venue, never a planted wrong label)."""
    from app.services import corpus, features

    home.mkdir(parents=True, exist_ok=True)
    ctx = _context(home)
    marker = home / "built.json"
    if marker.is_file():
        return ctx, json.loads(marker.read_text()), 0.0
    started = time.perf_counter()
    report = corpus.build_demo(ctx, videos=videos, seed=seed, label_noise=0.0)
    assert report.ok, report.lines()
    extracted = features.extract_pending(ctx)
    assert not extracted.failed, extracted.failed
    built = {"videos": videos, "seed": seed, "noise": 0.0}
    marker.write_text(json.dumps(built))
    return ctx, built, time.perf_counter() - started


def true_labels(ctx, dataset, built: dict) -> np.ndarray:  # noqa: ANN001
    """Each row's demo venue (the recipe that made the video) as a class index of the dataset."""
    from core.corpus.generate import corpus_items
    from db import newlabels as db_newlabels
    from db.session import session_scope

    recipe = {it.filename: it.recipe_venue for it in corpus_items(built["videos"], built["seed"], built["noise"])}
    with session_scope(ctx.engine) as session:
        names = db_newlabels.file_names(session, video_ids=dataset.video_ids.tolist())
    index = {name: i for i, name in enumerate(dataset.data.class_names)}
    labels = dataset.data.labels.copy()
    for row, vid in enumerate(dataset.video_ids.tolist()):
        labels[row] = index.get(recipe.get(names[vid], ""), labels[row])
    return labels


def points_of(data) -> np.ndarray:  # noqa: ANN001 - a FeatureSet
    """core.active.embed of every row: the same pooled, standardised features the service ranks."""
    from core.active import embed

    lengths = np.maximum(data.text_lengths, 1)[:, None]
    text = data.text.astype(np.float32).sum(axis=1) / lengths
    return embed(data.visual, data.acoustic, text)


def fit_and_score(data, labelled: np.ndarray, test: np.ndarray, *, epochs: int, seed: int):  # noqa: ANN001, ANN201
    """Train EASTERN on the labelled rows (10% of them for early stopping); (model, test Macro-F)."""
    from core.evaluate import scores
    from core.fit import model_config
    from core.modalities import MODALITIES
    from core.train import TrainConfig, predict_proba, train

    rng = np.random.default_rng(seed)
    shuffled = rng.permutation(labelled)
    n_val = max(1, len(shuffled) // 10)
    n_classes = len(data.class_names)
    cfg = model_config("eastern", MODALITIES, data, n_classes)
    result = train(cfg, TrainConfig(epochs=epochs, seed=seed), data, shuffled[n_val:], shuffled[:n_val])
    predicted = predict_proba(result.model, data, test).argmax(1)
    return result.model, float(scores(data.labels[test], predicted, n_classes)["macro_f1"])


def run_order(data, points: np.ndarray, pool: np.ndarray, test: np.ndarray, budgets: list[int], *, order: str,
              epochs: int, seed: int) -> list[float]:  # noqa: ANN001
    """Label `pool` in `order` ("queue" | "random") up to each budget, train, score; Macro-F per budget."""
    from core.active import margin_uncertainty, rank
    from core.train import predict_proba

    rng = np.random.default_rng(seed)
    random_order = rng.permutation(pool)
    labelled = np.zeros(0, dtype=np.int64)
    model, out = None, []
    for budget in budgets:
        if order == "random":
            labelled = random_order[:budget]
        else:
            rest = np.setdiff1d(pool, labelled)
            u = None if model is None else margin_uncertainty(predict_proba(model, data, rest))
            ranking = rank(points, rest, labelled, uncertainty=u, picks=budget - len(labelled), seed=seed)
            labelled = np.concatenate([labelled, ranking.order[:budget - len(labelled)]])
        model, macro_f = fit_and_score(data, labelled, test, epochs=epochs, seed=seed)
        out.append(macro_f)
    return out


def labels_to_reach(target: float, budgets: list[int], curve: list[float]) -> str:
    """The labels the curve needs to reach `target`, linear between measured budgets."""
    if curve[0] >= target:
        return f"<= {budgets[0]}"
    for (b0, f0), (b1, f1) in zip(zip(budgets, curve, strict=True), zip(budgets[1:], curve[1:], strict=True),
                                  strict=False):
        if f1 >= target:
            return f"{b0 + (b1 - b0) * (target - f0) / max(f1 - f0, 1e-9):.0f}"
    return f"> {budgets[-1]}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--videos", type=int, default=600)
    parser.add_argument("--corpus-seed", type=int, default=1)
    parser.add_argument("--seeds", default="1,2,3")
    parser.add_argument("--epochs", type=int, default=8)
    parser.add_argument("--budgets", default="0.05,0.1,0.2,0.4")
    parser.add_argument("--home", type=Path, help="where the corpus is built (and reused); default: a temp dir")
    parser.add_argument("--json", type=Path)
    parser.add_argument("--quick", action="store_true", help="smoke run: 60 videos, 1 seed, 1 epoch")
    args = parser.parse_args()
    if args.quick:
        args.videos, args.seeds, args.epochs = 60, "1", 1
    seeds = [int(s) for s in args.seeds.split(",")]
    shares = [float(s) for s in args.budgets.split(",")]
    from app.services.training import load_dataset

    home = args.home or Path(tempfile.mkdtemp(prefix="eastern-al-"))
    ctx, built, build_s = build(home, args.videos, args.corpus_seed)
    dataset = load_dataset(ctx)
    dataset.data.labels[:] = true_labels(ctx, dataset, built)
    pool, test = dataset.stable_split()
    points = points_of(dataset.data)
    budgets = [max(2, round(share * len(pool))) for share in shares]
    started = time.perf_counter()
    curves: dict[str, list[list[float]]] = {"queue": [], "random": []}
    for seed in seeds:
        for order in curves:
            curves[order].append(run_order(dataset.data, points, pool, test, budgets, order=order,
                                           epochs=args.epochs, seed=seed))
            print(f"seed {seed} {order}: " + " ".join(f"{f:.3f}" for f in curves[order][-1]), file=sys.stderr)
    mean = {o: np.mean(c, axis=0).tolist() for o, c in curves.items()}
    sd = {o: np.std(c, axis=0, ddof=1 if len(seeds) > 1 else 0).tolist() for o, c in curves.items()}
    reach = labels_to_reach(mean["random"][-1], budgets, mean["queue"])
    print(f"\n{len(dataset.video_ids)} videos ({len(pool)} to label, {len(test)} test), "
          f"{len(dataset.venue_ids)} venues, EASTERN {args.epochs} epochs, seeds {args.seeds}\n")
    print(f"{'labelled':>14} | {'queue Macro-F':>15} | {'random Macro-F':>15}")
    print("-" * 52)
    for i, (share, budget) in enumerate(zip(shares, budgets, strict=True)):
        print(f"{budget:>5} ({share:>4.0%}) | {mean['queue'][i]:.3f} ± {sd['queue'][i]:.3f} | "
              f"{mean['random'][i]:.3f} ± {sd['random'][i]:.3f}")
    print(f"\nrandom order at {budgets[-1]} labels: Macro-F {mean['random'][-1]:.3f}; the queue reaches it with "
          f"{reach} labels")
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps({
            "corpus": built, "videos": int(len(dataset.video_ids)), "pool": int(len(pool)), "test": int(len(test)),
            "venues": len(dataset.venue_ids), "epochs": args.epochs, "seeds": seeds, "shares": shares,
            "budgets": budgets, "curves": curves, "mean": mean, "sd": sd, "queue_labels_to_reach_random_40": reach,
            "build_s": round(build_s, 1), "simulate_s": round(time.perf_counter() - started, 1),
            "cpus": os.cpu_count(), "load_average": os.getloadavg()[0],
        }, indent=2))


if __name__ == "__main__":
    main()
