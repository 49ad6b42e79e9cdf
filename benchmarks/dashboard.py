"""Dashboard responsiveness: script-run time of Browse and Video detail through Streamlit's AppTest, and
peak memory; prints a markdown table.

    python benchmarks/dashboard.py                 # 20,000 videos, 5 repeats
    python benchmarks/dashboard.py --quick         # 2,000 videos, 2 repeats: a smoke run
    python benchmarks/dashboard.py --videos 50000 --repeats 9 --home /tmp/bench-dashboard
    python benchmarks/dashboard.py --browser --videos 200000 --repeats 5 --json out.json   # in Chromium

--browser measures in Chromium instead, against a real `python -m app serve`, what a person waits for (first
visit after the server starts, warm first screen, a label filter with nothing cached, Video detail and
"Why this venue?"): see benchmarks/dashboard_browser.py; `--json` writes its medians under "browser".

Browse runs on a synthetic database of N videos (rows only: labels, a label history with some human
corrections, and the predictions of one active model over the 22 demo venues); the files do not exist,
so the grid shows its placeholders and no thumbnail is ever decoded. Video detail with explanations
needs a real model and real features, so it runs on a small real workspace (tests.fixtures.build_workspace:
30 demo videos, features and tiny trained models). Both are built once under --home and reused.

Each part runs in one AppTest session set up beforehand (untimed: a new AppTest session costs about
0.3-0.5 s of its own). "caches empty" means st.cache_data emptied before the run (the engine stays, as in
a running server); for Video detail it also means st.cache_resource emptied (the model is loaded again)
and the on-disk media and explanation caches deleted: the first visit of a video after a restart.
"cached" is the same page run again. Times are AppTest script runs (the page's Python, its queries and
the protobuf messages, without a browser's rendering); peak RSS is the process's high-water mark after
each part. The load average is printed with the table: on a shared machine the absolute numbers move.
"""
from __future__ import annotations

import argparse
import hashlib
import json
import logging
import math
import os
import resource
import shutil
import statistics
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("NUMBA_CACHE_DIR", str(ROOT / "var" / "numba-cache"))

import streamlit.logger  # noqa: E402
from streamlit.testing.v1 import AppTest  # noqa: E402


def quiet_streamlit() -> None:
    """Caches touched outside a script run (importing the app, clearing them here) warn on every call."""
    for name in ("streamlit.runtime.caching.cache_data_api", "streamlit.runtime.caching.cache_resource_api",
                 "streamlit.runtime.scriptrunner_utils.script_run_context"):
        streamlit.logger.get_logger(name).setLevel(logging.ERROR)


quiet_streamlit()
MAIN = str(ROOT / "app" / "ui" / "main.py")
RUN_TIMEOUT_S = 300
CHUNK = 5_000
HUMAN_SHARE = 0.02  # videos with a person's correction in their history
FEATURE_VERSION = "bench-synthetic"


# ---------------------------------------------------------------- workspaces


@dataclass(frozen=True)
class Home:
    home: Path
    db_url: str
    video_ids: tuple[int, ...] = ()  # videos to open on Video detail

    def env(self) -> dict[str, str]:
        return {"EASTERN_HOME": str(self.home), "EASTERN_DB_URL": self.db_url}


def _settings(home: Path, db_url: str | None = None):  # noqa: ANN202 - app.settings.Settings
    from app.settings import Settings

    return Settings(home=home, db_url=db_url or f"sqlite:///{home / 'eastern.db'}")


def synthetic_home(root: Path, n: int, seed: int = 0, db_url: str | None = None) -> Home:
    """A database of n synthetic videos with labels, splits, one active model's predictions and one
    out-of-sample prediction set (built once; a given db_url, a throwaway server, is always filled)."""
    home = root / (f"synthetic-{n}" if db_url is None else f"synthetic-{n}-server")
    marker = home / "ready.json"
    url = _settings(home, db_url).db_url
    if marker.is_file() and db_url is None:
        return Home(home, url)
    shutil.rmtree(home, ignore_errors=True)
    start = time.perf_counter()
    _in_child(_fill_synthetic, home, n, seed, url)
    if db_url is None:
        marker.write_text(json.dumps({"videos": n, "seed": seed}))
    print(f"built a synthetic database of {n:,} videos in {time.perf_counter() - start:.1f} s: {home}",
          file=sys.stderr)
    return Home(home, url)


def _in_child(target: Callable[..., object], *args: object) -> None:
    """Build in a child process, so that the build's memory is not counted as the dashboard's."""
    import multiprocessing

    proc = multiprocessing.get_context("spawn").Process(target=target, args=args)
    proc.start()
    proc.join()
    if proc.exitcode != 0:
        raise RuntimeError(f"building with {target.__name__}{args} failed (exit code {proc.exitcode})")


def _fill_synthetic(home: Path, n: int, seed: int, db_url: str) -> None:
    from sqlalchemy import insert, select

    from app.context import make_context
    from app.services.corpus import prepare_database
    from core.corpus.generate import corpus_items
    from core.corpus.profiles import DEMO_VENUES
    from db import repo
    from db.models import Label, Video
    from db.session import session_scope

    ctx = make_context(_settings(home, db_url))
    prepare_database(ctx)
    items = corpus_items(n, seed)  # recipes only: names, captions, labels, audio, as the demo corpus has them
    rng = np.random.default_rng(seed)
    t0 = datetime(2025, 1, 1, tzinfo=UTC)
    with session_scope(ctx.engine) as session:
        venue_of = {name: repo.venue_id(session, name=name) for name in DEMO_VENUES}
        venue_ids = np.array([venue_of[v] for v in DEMO_VENUES])
        label_ids = np.array([venue_of[it.venue] for it in items])
        human = rng.random(n) < HUMAN_SHARE
        corrected = np.where(human, venue_ids[rng.integers(0, len(venue_ids), n)], label_ids)
        for lo in range(0, n, CHUNK):
            rows = []
            for i in range(lo, min(n, lo + CHUNK)):
                sha = hashlib.sha256(f"bench-{seed}-{i}".encode()).hexdigest()
                rows.append({
                    "sha256": sha, "path": f"media/{sha[:2]}/{sha}.mp4", "original_name": items[i].filename,
                    "duration": 6.0, "fps": 12.0, "width": 320, "height": 240, "size_bytes": 250_000 + i,
                    "has_audio": items[i].has_audio, "caption": items[i].caption, "source": "import",
                    "created_at": t0 + timedelta(minutes=i), "current_venue_id": int(corrected[i]),
                    "version": 2 if human[i] else 1, "features_version": FEATURE_VERSION,
                })
            session.execute(insert(Video), rows)
        ids = np.array(session.scalars(select(Video.id).order_by(Video.id)).all())
        labels = [{"video_id": int(v), "venue_id": int(label_ids[i]), "previous_venue_id": None, "who": "import",
                   "reason": "", "created_at": t0 + timedelta(minutes=i)} for i, v in enumerate(ids)]
        labels += [{"video_id": int(ids[i]), "venue_id": int(corrected[i]), "previous_venue_id": int(label_ids[i]),
                    "who": "bench-annotator", "reason": "synthetic correction",
                    "created_at": t0 + timedelta(days=30, minutes=int(i))} for i in np.flatnonzero(human)]
        for lo in range(0, len(labels), CHUNK):
            session.execute(insert(Label), labels[lo:lo + CHUNK])
        model_id = repo.create_model_version(
            session, name="synthetic EASTERN (benchmark)", architecture="eastern",
            config={"feature_version": FEATURE_VERSION}, checkpoint_path="models/synthetic/model.pt", metrics={},
        )
        repo.activate_model(session, model_id=model_id)
        repo.replace_predictions(session, model_version_id=model_id,
                                 rows=_predictions(rng, ids, corrected, venue_ids))
    from app.services.splits import ensure_splits

    ensure_splits(ctx)  # the stable split, as ingest assigns it
    with session_scope(ctx.engine) as session:
        _prediction_set(session, rng, ids, corrected, venue_ids)


def _prediction_set(session, rng: np.random.Generator, ids: np.ndarray, labels: np.ndarray,  # noqa: ANN001
                    venue_ids: np.ndarray) -> None:
    """A finished 5-fold out-of-sample prediction set over every video (what `crossval` stores), so that
    Annotate and Failure cases rank by it, as after the first `make run`."""
    from core.features.extract import RECIPE
    from db import repo

    n = len(ids)
    set_id = repo.create_prediction_set(  # of the current extractor's version: the queue uses only those
        session, name="synthetic 5-fold (benchmark)", architecture="eastern", params={"folds": 5},
        features_version=f"{RECIPE}-efficientnet_lite0-1280", venue_ids=[int(v) for v in venue_ids],
        label_snapshot_id=repo.newest_label_id(session), label_snapshot_at=None, n_videos=n,
        artifact_dir="prediction_sets/synthetic")
    preds = _predictions(rng, ids, labels, venue_ids)
    quality = rng.beta(5, 1.5, n)
    issue = quality < np.quantile(quality, 0.03)
    rows = [{
        "video_id": p["video_id"], "fold": i % 5, "label_venue_id": int(labels[i]),
        "label_probability": p["label_probability"], "suggested_venue_id": p["venue_id"],
        "suggested_probability": p["confidence"], "quality": float(quality[i]), "is_issue": bool(issue[i]),
        "topk": p["topk"],
    } for i, p in enumerate(preds)]
    repo.replace_oos_predictions(session, set_id=set_id, rows=rows)
    repo.update_prediction_set(session, set_id=set_id, status="done", folds_done=list(range(5)),
                               n_issues=int(issue.sum()), finished_at=datetime.now(UTC))


def _predictions(rng: np.random.Generator, ids: np.ndarray, labels: np.ndarray, venue_ids: np.ndarray) -> list[dict]:
    """Softmax-like outputs: about 70% of videos put most mass on their label, the rest on another venue."""
    n, k = len(ids), len(venue_ids)
    logits = rng.normal(0.0, 1.0, (n, k))
    column = {int(v): j for j, v in enumerate(venue_ids)}
    label_col = np.array([column[int(v)] for v in labels])
    favoured = np.where(rng.random(n) < 0.7, label_col, rng.integers(0, k, n))
    logits[np.arange(n), favoured] += rng.uniform(1.0, 7.0, n)
    probs = np.exp(logits - logits.max(1, keepdims=True))
    probs /= probs.sum(1, keepdims=True)
    order = np.argsort(-probs, axis=1)[:, :5]
    entropy = -(probs * np.log(probs)).sum(1)
    return [{
        "video_id": int(ids[i]), "venue_id": int(venue_ids[order[i, 0]]), "confidence": float(probs[i, order[i, 0]]),
        "label_probability": float(probs[i, label_col[i]]), "entropy": float(entropy[i]),
        "topk": [[int(venue_ids[j]), round(float(probs[i, j]), 5)] for j in order[i]],
    } for i in range(n)]


def real_home(root: Path) -> Home:
    """The test suite's small real workspace (demo videos, features, trained models), built once."""
    from tests.fixtures import build_workspace

    home = root / "real"
    marker = home / "ready.json"
    if not marker.is_file():
        shutil.rmtree(home, ignore_errors=True)
        start = time.perf_counter()
        _in_child(build_workspace, home)
        marker.write_text("{}")
        print(f"built the real workspace in {time.perf_counter() - start:.1f} s: {home}", file=sys.stderr)
    ws = Home(home, _settings(home).db_url)
    with _env(ws):
        from app.context import get_context
        from db import repo
        from db.session import session_scope

        with session_scope(get_context().engine) as session:
            model = repo.active_model(session)
            version = model.config["feature_version"] if model else ""
            ids = tuple(v for v, _sha in repo.videos_with_features(session, features_version=version))
    return Home(ws.home, ws.db_url, ids)


def _env(ws: Home):  # noqa: ANN202 - a context manager
    """Point the process's settings (which AppTest's script reads) at a workspace: the tests' helper,
    which needs only ws.env()."""
    from tests.fixtures import workspace_env

    return workspace_env(ws)


# ---------------------------------------------------------------- measuring


@dataclass
class Row:
    scenario: str
    seconds: list[float]
    rss_mib: float
    note: str = ""


def peak_rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux


def p95(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[max(0, math.ceil(0.95 * len(ordered)) - 1)]  # nearest rank


def timed_run(at: AppTest) -> float:
    start = time.perf_counter()
    at.run(timeout=RUN_TIMEOUT_S)
    seconds = time.perf_counter() - start
    if at.exception:
        raise RuntimeError(f"the page raised: {at.exception[0].message}\n{at.exception[0].stack_trace}")
    return seconds


def clear_caches(*, resources: bool = False) -> None:
    import streamlit as st

    quiet_streamlit()
    st.cache_data.clear()
    if resources:
        st.cache_resource.clear()


def _fresh_app() -> AppTest:
    return AppTest.from_file(MAIN, default_timeout=RUN_TIMEOUT_S)


PAGES = ("Browse, first page", "Browse, two filters", "Browse, caption search", "Annotate, queue",
         "Models", "Failure cases")


def _annotator_session():  # noqa: ANN202 - app.services.accounts.SignedIn
    """A signed-in annotator, as the sidebar's sign-in form leaves it in the session."""
    from app.context import get_context
    from app.services import accounts

    ctx = get_context()
    account = accounts.get(ctx, "bench-annotator") or accounts.create(
        ctx, name="bench-annotator", role="annotator", password="bench-" + "x" * 16, actor="benchmark")
    return accounts.start_session(ctx, account)


def _search_word(n: int) -> str:
    """A word that some captions of the synthetic corpus contain."""
    from core.corpus.generate import corpus_items

    for item in corpus_items(min(n, 400), 0):
        words = [w for w in item.caption.split() if w.isalpha() and len(w) > 4]
        if item.caption_kind == "relevant" and words:
            return words[0].lower()
    return "the"


def bench_pages(ws: Home, n: int, repeats: int) -> list[Row]:
    """Each dashboard page in one session (set up first, untimed), `repeats` runs from empty caches, plus
    Browse's first page again cached."""
    from app.ui.navigation import PAGE_FILES

    word = _search_word(n)
    with _env(ws):
        at = _fresh_app()
        at.session_state["auth"] = _annotator_session()
        timed_run(at)  # imports pandas, plotly and the app once, outside the timings
        venue = at.multiselect(key="browse_labels").options[0]
        times: dict[str, list[float]] = {name: [] for name in PAGES}
        cached: list[float] = []
        shown = ""
        for _ in range(repeats):
            at.switch_page(PAGE_FILES["browse"])
            clear_caches()
            times["Browse, first page"].append(timed_run(at))
            cached.append(timed_run(at))
            at.multiselect(key="browse_labels").set_value([venue])
            at.slider(key="browse_conf").set_range(0.5, 1.0)
            clear_caches()
            times["Browse, two filters"].append(timed_run(at))
            shown = at.caption[0].value if at.caption else ""
            at.multiselect(key="browse_labels").set_value([])
            at.slider(key="browse_conf").set_range(0.0, 1.0)
            at.text_input(key="browse_text").set_value(word)
            clear_caches()
            times["Browse, caption search"].append(timed_run(at))
            at.text_input(key="browse_text").set_value("")
            timed_run(at)
            for name, page in (("Annotate, queue", "annotate"), ("Models", "models"), ("Failure cases", "failures")):
                at.switch_page(PAGE_FILES[page])
                clear_caches()
                times[name].append(timed_run(at))
        rss = peak_rss_mib()
    rows = [Row(f"{name} ({n:,} videos, caches empty)", times[name], rss) for name in PAGES]
    rows[1].note = shown.replace("*", "")
    rows[1].scenario = f"Browse, label = {venue} and confidence ≥ 50% ({n:,} videos, caches empty)"
    rows[2].scenario = f"Browse, caption search '{word}' ({n:,} videos, caches empty)"
    rows.insert(1, Row("Browse, first page again (cached)", cached, rss))
    return rows


def bench_video(ws: Home, repeats: int) -> list[Row]:
    """In one session: open a video, press "Why this venue?", run the page again; each round a different
    video from empty caches, after one untimed round that imports torch and captum."""
    from app.ui.navigation import PAGE_FILES

    if not ws.video_ids:
        raise RuntimeError(f"no video with features in {ws.home}")
    with _env(ws):
        at = _fresh_app()
        timed_run(at)
        opened, why, cached = [], [], []
        for r in range(repeats + 1):
            video_id = ws.video_ids[r % len(ws.video_ids)]
            clear_caches(resources=True)
            shutil.rmtree(ws.home / "cache", ignore_errors=True)
            at.query_params["video"] = str(video_id)
            at.switch_page(PAGE_FILES["video"])
            times = [timed_run(at)]
            if not any(t.value.strip() == f"Video #{video_id}" for t in at.title):
                raise RuntimeError(f"video {video_id}: the detail page did not open")
            at.button(key="video_why").click()
            times.append(timed_run(at))
            if "Why this venue?" not in [h.value for h in at.header]:
                raise RuntimeError(f"video {video_id}: no explanation on the page after 'Why this venue?'")
            times.append(timed_run(at))
            if r:
                for bucket, seconds in zip((opened, why, cached), times, strict=True):
                    bucket.append(seconds)
        rss = peak_rss_mib()
    return [
        Row("Video detail, open: top-5 and modality ablation (caches empty, model not loaded)", opened, rss),
        Row("Video detail, 'Why this venue?': atoms and Integrated Gradients (not cached)", why, rss),
        Row("Video detail with explanations, run again (cached)", cached, rss),
    ]


def explain_browse(ws: Home, n: int) -> dict[str, list[str]]:
    """The database's plan for every statement Browse sends in its three scenarios (first page, label +
    confidence, caption search): EXPLAIN ANALYZE on PostgreSQL, EXPLAIN QUERY PLAN on SQLite."""
    from sqlalchemy import event, select

    from db import queries, repo
    from db.models import Video
    from db.session import make_engine, session_scope

    engine = make_engine(ws.db_url)
    postgresql = engine.dialect.name == "postgresql"
    with session_scope(engine) as s:
        active = repo.active_model_brief(s)
        model_id = active.id if active else None
        venue_id = s.scalar(select(Video.current_venue_id).order_by(Video.id).limit(1))  # the first video's venue
    scenarios = {
        "Browse, first page": queries.VideoFilter(),
        "Browse, two filters": queries.VideoFilter(label_venue_ids=(venue_id,), min_confidence=0.5),
        "Browse, caption search": queries.VideoFilter(text=_search_word(n)),
    }
    plans: dict[str, list[str]] = {}
    for name, filters in scenarios.items():
        sent: list[tuple[str, object]] = []

        def keep(_conn, _cursor, statement, parameters, _context, _many, sent=sent):  # noqa: ANN001
            sent.append((statement, parameters))

        event.listen(engine, "before_cursor_execute", keep)
        try:
            with session_scope(engine) as s:
                queries.browse(s, model_version_id=model_id, filters=filters)
        finally:
            event.remove(engine, "before_cursor_execute", keep)
        lines: list[str] = []
        explain = "EXPLAIN (ANALYZE, COSTS OFF) " if postgresql else "EXPLAIN QUERY PLAN "
        with engine.connect() as conn:
            for statement, parameters in sent:
                rows = conn.exec_driver_sql(explain + statement, parameters).all()
                lines += [" ".join(statement.split())[:160] + " ...", *(f"  {r[-1]}" for r in rows)]
        plans[name] = lines
    engine.dispose()
    return plans


def table(rows: list[Row]) -> str:
    lines = ["| scenario | runs | median ms | p95 ms | page runs/s | peak RSS MiB |", "|---|---|---|---|---|---|"]
    for row in rows:
        med = statistics.median(row.seconds)
        lines.append(f"| {row.scenario} | {len(row.seconds)} | {med * 1e3:.0f} | {p95(row.seconds) * 1e3:.0f} | "
                     f"{1 / med:.1f} | {row.rss_mib:.0f} |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--home", type=Path, default=ROOT / "var" / "bench-dashboard",
                        help="cache folder for the databases (reused between runs)")
    parser.add_argument("--videos", type=int, default=None, help="synthetic corpus size (default 20,000)")
    parser.add_argument("--repeats", type=int, default=None, help="timed runs per scenario (default 5)")
    parser.add_argument("--quick", action="store_true", help="2,000 videos, 2 repeats")
    parser.add_argument("--skip-video", action="store_true", help="only the synthetic pages (no real workspace)")
    parser.add_argument("--browser", action="store_true",
                        help="measure in Chromium against `python -m app serve` (benchmarks/dashboard_browser.py)")
    parser.add_argument("--backend", choices=("sqlite", "postgresql"), default="sqlite",
                        help="postgresql: a throwaway server from the machine's initdb/pg_ctl")
    parser.add_argument("--json", type=Path, default=None, help="write {videos, backend, pages: {name: median_ms}}")
    parser.add_argument("--explain", action="store_true",
                        help="also print (and write as 'plans') the query plans of Browse's three scenarios")
    args = parser.parse_args(argv)
    if args.backend == "postgresql":
        from tests.pg import NoServer, throwaway_postgres

        try:
            with throwaway_postgres(prefix="eastern-pg-bench-") as url:
                return _run(args, url)
        except NoServer as exc:
            raise SystemExit(str(exc)) from None
    return _run(args, None)


def _run(args: argparse.Namespace, db_url: str | None) -> int:
    n = args.videos or (2_000 if args.quick else 20_000)
    repeats = args.repeats or (2 if args.quick else 5)
    root = args.home.expanduser().resolve()
    root.mkdir(parents=True, exist_ok=True)

    start = time.perf_counter()
    synthetic = synthetic_home(root, n, db_url=db_url)
    real = None if args.skip_video else real_home(root)
    if args.browser:
        return _run_browser(args, synthetic, real, n, repeats, root, time.perf_counter() - start)
    load_before = os.getloadavg()[0]
    baseline = peak_rss_mib()
    rows = bench_pages(synthetic, n, repeats)
    pages = {name: statistics.median(row.seconds) * 1e3 for name, row in zip(PAGES, rows[:1] + rows[2:], strict=False)}
    if real is not None:
        rows += bench_video(real, repeats)

    video_part = f", {len(real.video_ids)} real videos for Video detail" if real else ""
    print(f"\nDashboard script runs (AppTest), {args.backend}: {n:,} synthetic videos{video_part}; {repeats} repeats; "
          f"CPUs {os.cpu_count()}; load average {load_before:.1f} before, {os.getloadavg()[0]:.1f} after; "
          f"RSS {baseline:.0f} MiB before the first run\n")
    print(table(rows))
    for row in rows:
        if row.note:
            print(f"\n{row.scenario}: the page said \"{row.note}\"")
    plans = explain_browse(synthetic, n) if args.explain else None
    for name, lines in (plans or {}).items():
        print(f"\nplan, {name}:\n" + "\n".join(lines))
    if args.json:
        from core.fileio import atomic_write_json

        figures = {"videos": n, "backend": args.backend, "repeats": repeats, "load_average": os.getloadavg()[0],
                   "cpus": os.cpu_count(), "pages": pages}
        if plans:
            figures["plans"] = plans
        atomic_write_json(args.json, figures, indent=2)
        print(f"figures written to {args.json}")
    return 0


def _run_browser(args: argparse.Namespace, synthetic: Home, real: Home | None, n: int, repeats: int, root: Path,
                 build_s: float) -> int:
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    import dashboard_browser

    load_before = os.getloadavg()[0]
    figures = dashboard_browser.run(synthetic, real, repeats, root / "serve.log")
    video_part = f"; Video detail on {len(real.video_ids)} real videos (a trained model)" if real else ""
    print(f"\nIn Chromium against `python -m app serve`, {args.backend}: {n:,} synthetic videos{video_part}; "
          f"{repeats} rounds; CPUs {os.cpu_count()}; load average {load_before:.1f} before, "
          f"{os.getloadavg()[0]:.1f} after; homes ready in {build_s:.0f} s\n")
    print(dashboard_browser.table(figures))
    if args.json:
        from core.fileio import atomic_write_json

        atomic_write_json(args.json, {
            "videos": n, "backend": args.backend, "repeats": repeats, "load_average": os.getloadavg()[0],
            "cpus": os.cpu_count(), "browser": dashboard_browser.summary(figures)}, indent=2)
        print(f"figures written to {args.json}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
