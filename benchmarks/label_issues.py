"""How well does the Annotate queue find wrong labels? Demo corpora with planted wrong labels (the generator
knows them: recipe venue != manifest venue), ranked two ways, at k = the number of planted wrong labels:

  (a) in-sample: the old queue, the active model's predictions on every video (85% of which it trained on)
  (b) out-of-fold + cleanlab: K-fold cross-validation, `cleanlab.rank.get_label_quality_scores`, raw
      self-confidence and with cleanlab's class-imbalance adjustment
      (`adjust_pred_probs=True`, EASTERN_LABEL_QUALITY_ADJUST)

and variants of (b) (more folds, longer training, an ensemble of architectures, the fast probe, probe + EASTERN:
probabilities averaged). With --loop, the correction loop as a person runs it: an annotator reviews the top of the
probe's ranking and corrects the planted wrong labels there (a batch of corrections through the label service),
then re-ranks with the probe as a background job (`jobs.submit`, the "Re-rank now" button); it reports the seconds
from the submit to the new set being the queue's source, and the new ranking's recall@k over the wrong labels left
(the reviewed videos left out). Prints a table and, with --json, writes the figures.

    python benchmarks/label_issues.py [--videos 600] [--seeds 1,2,3] [--noise 0.03] [--epochs 15]
        [--variants base,folds10,epochs30,ensemble,probe,probe+eastern] [--loop] [--json out.json] [--quick]
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


def build(home: Path, videos: int, seed: int, noise: float) -> tuple[object, dict[int, str], float]:
    """A demo corpus with planted wrong labels, its features; returns (ctx, {id of a wrong label: the venue whose
    recipe made the video}, seconds)."""
    from app.services import corpus, features
    from core.corpus.generate import corpus_items
    from db import queries
    from db.session import session_scope

    ctx = _context(home)
    started = time.perf_counter()
    if not (home / "eastern.db").exists():  # a corpus built by an earlier run (--home) is reused as it is
        report = corpus.build_demo(ctx, videos=videos, seed=seed, label_noise=noise, keep_files=True)
        assert report.ok, report.lines()
        extracted = features.extract_pending(ctx)
        assert not extracted.failed, extracted.failed
    wrong_names = {it.filename: it.recipe_venue for it in corpus_items(videos, seed, noise) if it.label_noise}
    with session_scope(ctx.engine) as session:
        ids = {vid: wrong_names[name] for vid, name, *_ in queries.iter_label_manifest(session) if name in wrong_names}
    return ctx, ids, time.perf_counter() - started


def ranking_in_sample(ctx, epochs: int, seed: int) -> list[int]:  # noqa: ANN001
    """The old queue: a model trained on the current labels, its predictions on every video."""
    from app.services import training
    from db import queries
    from db.session import session_scope

    model_id = training.train_and_register(ctx, training.TrainRequest(epochs=epochs, seed=seed, activate=True))
    with session_scope(ctx.engine) as session:
        return [q.id for q in queries.review_queue(session, model_version_id=model_id, limit=100_000)]


def oof_probs(ctx, *, folds: int, epochs: int, seed: int, arch: str = "eastern"):  # noqa: ANN001, ANN201
    """Out-of-fold probabilities of one cross-validation: (video ids, labels, probs, seconds)."""
    from app.services.crossval import CrossvalRequest, run_crossval

    started = time.perf_counter()
    # with_probe off: each architecture's own probabilities (the variants average them here)
    set_id = run_crossval(ctx, CrossvalRequest(architecture=arch, folds=folds, epochs=epochs, seed=seed,
                                               with_probe=False))
    seconds = time.perf_counter() - started
    vids, labels, probs = _set_arrays(ctx, set_id)
    return vids, labels, probs, seconds


def rank_cleanlab(video_ids: np.ndarray, labels: np.ndarray, probs: np.ndarray,
                  adjust: bool) -> tuple[list[int], int]:
    from app.services.crossval import label_issues

    quality, issues = label_issues(labels, probs, adjust=adjust)
    order = np.argsort(quality, kind="stable")
    return [int(video_ids[i]) for i in order], int(issues.sum())


def at_k(ranking: list[int], wrong: set[int]) -> dict[str, float]:
    k = len(wrong)
    hits = len(set(ranking[:k]) & set(wrong))
    return {"k": k, "hits": hits, "recall": hits / k if k else 0.0, "precision": hits / k if k else 0.0}


VARIANTS = {
    "base": {"folds": 5},
    "folds10": {"folds": 10},
    "epochs30": {"folds": 5, "epochs": 30},
    "ensemble": {"folds": 5, "archs": ("eastern", "lstms", "conv")},
    "probe": {"folds": 5, "archs": ("probe",)},  # logistic regression on pooled features (core/label_probe.py)
    "probe10": {"folds": 10, "archs": ("probe",)},
    "probe+eastern": {"folds": 5, "archs": ("probe", "eastern")},
}


def correction_loop(ctx, wrong: dict[int, str], *, review: int, seed: int) -> dict:  # noqa: ANN001
    """A batch of corrections, then the probe's re-rank as the dashboard runs it (a background job); its seconds
    and the new ranking's recall over the wrong labels left."""
    from app.services import accounts, annotate, jobs
    from app.services.crossval import CrossvalRequest
    from db import repo
    from db.session import session_scope

    name = "bench-annotator"
    try:
        accounts.create(ctx, name=name, role="annotator", password="bench annotator pw", actor="benchmark")
    except accounts.AccountError:
        pass  # a reused home has it
    probe_ids, _labels, probs, _s = oof_probs(ctx, folds=5, epochs=1, seed=seed, arch="probe")
    ranking, _n = rank_cleanlab(probe_ids, _labels, probs, adjust=False)
    reviewed = ranking[:review]
    corrected = 0
    for vid in reviewed:  # the annotator fixes what is wrong in the batch, leaves the rest
        if vid in wrong:
            annotate.relabel(ctx, video_id=vid, venue=wrong[vid], who=name, reason="benchmark: recipe venue",
                             expected_version=None)
            corrected += 1
    started = time.perf_counter()
    job_id = jobs.submit(ctx, CrossvalRequest(architecture="probe", seed=seed + 1), who=name)
    while True:
        job = jobs.get_job(ctx, job_id)
        if job is not None and not job.active:
            break
        time.sleep(0.1)
    loop_s = time.perf_counter() - started
    assert job.status == "done", job.error
    with session_scope(ctx.engine) as session:
        set_id = repo.list_prediction_sets(session)[0].id
    assert annotate.queue_source(ctx).set_id == set_id, "the re-rank is not the queue's source"
    vids, labels, probs = _set_arrays(ctx, set_id)
    ranking, _n = rank_cleanlab(vids, labels, probs, adjust=False)
    left = {v for v in wrong if v not in reviewed}
    rest = [v for v in ranking if v not in set(reviewed)]
    return {"reviewed": review, "corrected": corrected, "rerank_s": round(loop_s, 1), "job": job_id,
            "after": at_k(rest, left)}


def _set_arrays(ctx, set_id: int):  # noqa: ANN001, ANN202
    """A stored set's (video ids, label class indices at its snapshot, out-of-fold probabilities)."""
    from db import repo
    from db.session import session_scope

    with session_scope(ctx.engine) as session:
        row = repo.get_prediction_set(session, set_id=set_id)
    folder = ctx.settings.home / row.artifact_dir
    with np.load(folder / "probs.npz") as z, np.load(folder / "snapshot.npz") as s:
        index = {v: i for i, v in enumerate(row.venue_ids)}
        labels = np.array([index[int(v)] for v in s["label_venue_ids"]])
        return z["video_ids"], labels, z["probs"]


def run_seed(home: Path, videos: int, seed: int, noise: float, epochs: int, variants: list[str],
             in_sample: bool = True, loop: int = 0) -> dict:
    ctx, wrong, build_s = build(home, videos, seed, noise)
    out: dict = {"seed": seed, "videos": videos, "wrong_labels": len(wrong), "build_s": round(build_s, 1)}
    if in_sample:
        out["in_sample"] = at_k(ranking_in_sample(ctx, epochs, seed), wrong)
    cache: dict[tuple, tuple] = {}
    for name in variants:
        spec = VARIANTS[name]
        archs = spec.get("archs", ("eastern",))
        ep = spec.get("epochs", epochs)
        parts, seconds = [], 0.0
        for arch in archs:
            key = (arch, spec["folds"], ep)
            if key not in cache:
                cache[key] = oof_probs(ctx, folds=spec["folds"], epochs=ep, seed=seed, arch=arch)
            vids, labels, probs, s = cache[key]
            parts.append(probs)
            seconds += s
        for adjust, suffix in ((False, "raw"), (True, "adjusted")):
            ranking, n_issues = rank_cleanlab(vids, labels, np.mean(parts, axis=0), adjust)
            out[f"{name}-{suffix}"] = {**at_k(ranking, wrong), "crossval_s": round(seconds, 1),
                                       "cleanlab_estimate": n_issues}
    if loop:  # last: it changes labels
        out["loop"] = correction_loop(ctx, wrong, review=loop, seed=seed)
    return out


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--videos", type=int, default=600)
    p.add_argument("--seeds", default="1,2,3")
    p.add_argument("--noise", type=float, default=0.03)
    p.add_argument("--epochs", type=int, default=15)
    p.add_argument("--variants", default="base")
    p.add_argument("--home", help="keep the corpora here, or reuse the ones an earlier run kept (default: a "
                                  "temporary folder)")
    p.add_argument("--no-in-sample", action="store_true", help="skip the old in-sample queue (one training)")
    p.add_argument("--loop", type=int, default=0, metavar="N",
                   help="then the correction loop: review the probe's top N, correct, re-rank as a job (changes the "
                        "corpus's labels: last)")
    p.add_argument("--json", help="write the figures here")
    p.add_argument("--quick", action="store_true", help="smoke run: 60 videos, 1 seed, 20%% noise, 2 epochs")
    args = p.parse_args()
    if args.quick:
        args.videos, args.seeds, args.noise, args.epochs = 60, "1", 0.2, 2
    seeds = [int(s) for s in args.seeds.split(",") if s]
    variants = [v for v in args.variants.split(",") if v]
    unknown = set(variants) - set(VARIANTS)
    if unknown:
        p.error(f"unknown variants {sorted(unknown)}; choose from {', '.join(VARIANTS)}")
    base = Path(args.home) if args.home else Path(tempfile.mkdtemp(prefix="label-issues-"))
    results = []
    for seed in seeds:
        results.append(run_seed(base / f"seed-{seed}", args.videos, seed, args.noise, args.epochs, variants,
                                in_sample=not args.no_in_sample, loop=args.loop))
        print(json.dumps(results[-1]), file=sys.stderr, flush=True)
    columns = [f"{v}-{s}" for v in variants for s in ("raw", "adjusted")]
    header = f"{'seed':>4} {'wrong':>5} {'method':<32} {'hits@k':>6} {'recall@k':>8} {'prec@k':>7} {'crossval s':>10}"
    print(f"label issues: {args.videos} demo videos per corpus, {args.noise:.0%} planted wrong labels, "
          f"{args.epochs} epochs, k = number of planted wrong labels")
    print(header)
    print("-" * len(header))
    for r in results:
        rows = [("(a) in-sample (old queue)", r["in_sample"], None)] if "in_sample" in r else []
        rows += [(f"(b) oof+cleanlab {v}", r[v], r[v]["crossval_s"]) for v in columns]
        if "loop" in r:
            lp = r["loop"]
            rows.append((f"(c) re-rank after {lp['corrected']} fixes", lp["after"], lp["rerank_s"]))
        for name, m, s in rows:
            print(f"{r['seed']:>4} {r['wrong_labels']:>5} {name:<32} {m['hits']:>6} {m['recall']:>8.2f} "
                  f"{m['precision']:>7.2f} {'' if s is None else f'{s:.0f}':>10}")
    summary = ({"in_sample": float(np.mean([r["in_sample"]["recall"] for r in results]))}
               if all("in_sample" in r for r in results) else {})
    summary.update({v: float(np.mean([r[v]["recall"] for r in results])) for v in columns})
    print("mean recall@k: " + ", ".join(f"{k} {v:.2f}" for k, v in summary.items()))
    if args.json:
        from core.fileio import atomic_write_json

        atomic_write_json(args.json, {"videos": args.videos, "noise": args.noise, "epochs": args.epochs,
                                      "seeds": results, "mean_recall_at_k": summary}, indent=2, private=False)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
