"""The corpus map at scale: the embeddings job's stages, the Map page, a lasso in Chromium and `similar`, on a
synthetic corpus; prints a markdown table.

    python benchmarks/map.py --videos 200000 --json benchmarks/results/map-200k.json
    python benchmarks/map.py --quick                 # 5,000 videos: a smoke run
    python benchmarks/map.py --videos 200000 --spaces joint   # the layout and index of the joint space only

The database is benchmarks/dashboard.py's synthetic one (N videos with labels, one active model's predictions and
an out-of-sample set). The embeddings are synthetic at the model's real sizes (common space n = 150, float32,
one joint and three per-modality spaces), drawn around one centre per venue so the map has structure; they are
stored as a real embedding run, then the job's own stages (faiss index, UMAP layout: a 50k fit and `transform`
for the rest, cleanlab Datalab data issues) run on them and are timed one by one. The Map page runs in AppTest
(script time, caches empty and cached) and in Chromium against a real `streamlit run` server: from navigation
to every point drawn (a scattergl trace), and a mouse-dragged lasso around ~5,000 points to the selection panel
drawn. `similar` is timed through the service (faiss query + the labels' SQL) on random videos. Peak RSS is the
server process's high-water mark (VmHWM) after the browser part.
"""
from __future__ import annotations

import argparse
import json
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks.dashboard import (  # noqa: E402
    _env,
    _fresh_app,
    clear_caches,
    p95,
    peak_rss_mib,
    quiet_streamlit,
    synthetic_home,
    timed_run,
)

COMMON_DIM = 150  # core.models.config.ModelConfig.common_dim
LASSO_TARGET = 5_000
CHROMIUM = Path("/usr/bin/chromium")


def synthetic_run(ws, spaces: list[str], seed: int = 0):  # noqa: ANN001, ANN201 - an embeddings.Run
    """An embedding run of the active model with synthetic vectors of every video (clustered by label)."""
    from sqlalchemy import select

    from app.context import get_context
    from app.services import embeddings
    from app.services.features import feature_version
    from core import embeddings as emb
    from db import maps, repo
    from db.models import Video
    from db.session import session_scope

    ctx = get_context()
    with session_scope(ctx.engine) as session:
        model_id = repo.active_model(session).id
        rows = session.execute(select(Video.id, Video.current_venue_id).order_by(Video.id)).all()
    ids = np.array([r[0] for r in rows], dtype=np.int64)
    labels = np.array([r[1] or 0 for r in rows])
    rng = np.random.default_rng(seed)
    _, cluster = np.unique(labels, return_inverse=True)
    config = {"spaces": spaces, "layout": vars(emb.LayoutConfig()), "index": vars(emb.IndexConfig()),
              "recipe": emb.VERSION, "synthetic": True}
    with session_scope(ctx.engine) as session:
        run_id = maps.create_run(session, model_version_id=model_id, features_version=feature_version(ctx.settings),
                                 version=emb.VERSION, config=config, job_id=None)
        maps.update_run(session, run_id=run_id, artifact_dir=f"embeddings/{run_id}", n_videos=len(ids))
        row = maps.get_run(session, run_id=run_id)
    run = embeddings.Run(row, ctx.settings.home / row.artifact_dir)
    run.folder.mkdir(parents=True, exist_ok=True)
    np.save(run.folder / "video_ids.npy", ids)
    for space in spaces:
        centres = rng.normal(scale=3.0, size=(cluster.max() + 1, COMMON_DIM)).astype(np.float32)
        X = centres[cluster] + rng.normal(size=(len(ids), COMMON_DIM)).astype(np.float32)
        np.save(run.folder / f"{space}.npy", X)
    return embeddings._mark(ctx, run, embeddings.VECTORS)


def run_stages(run) -> dict[str, float]:  # noqa: ANN001
    """Each remaining stage of the job (index, layout, data issues), timed; the run is done afterwards."""
    from app.context import get_context
    from app.services import embeddings
    from db import maps
    from db.session import session_scope

    ctx = get_context()
    seconds = {}
    for stage in embeddings.stages(run.spaces)[1:]:
        start = time.perf_counter()
        embeddings._do_stage(ctx, run, stage, None, None, None, None, 0.0, 0.0)
        seconds[stage] = time.perf_counter() - start
        run = embeddings._mark(ctx, run, stage)
        print(f"  {stage}: {seconds[stage]:.1f} s", file=sys.stderr, flush=True)
    with session_scope(ctx.engine) as session:
        maps.update_run(session, run_id=run.id, status="done", message="synthetic (benchmark)")
    return seconds


def bench_similar(run, queries: int) -> tuple[list[float], list[float]]:  # noqa: ANN001
    """Seconds per `similar` call (service: faiss + labels) and per bare faiss query, on random videos."""
    from app.context import get_context
    from app.services import similar
    from core.embeddings import search

    ctx = get_context()
    ids = run.video_ids()
    rng = np.random.default_rng(1)
    picks = rng.choice(ids, size=min(queries, len(ids)), replace=False)
    similar.similar(ctx, int(picks[0]), space="joint", k=10)  # loads the index once, as a server does
    service, bare = [], []
    index, _ids, row_of = similar.index_for(run, "joint")
    X = run.vectors("joint")
    for vid in picks:
        start = time.perf_counter()
        similar.similar(ctx, int(vid), space="joint", k=10)
        service.append(time.perf_counter() - start)
        start = time.perf_counter()
        search(index, np.asarray(X[row_of[int(vid)]]), 11)
        bare.append(time.perf_counter() - start)
    return service, bare


def bench_page(repeats: int) -> tuple[list[float], list[float]]:
    """AppTest script times of the Map page: caches empty, then cached."""
    quiet_streamlit()
    from app.ui import pages

    cold, warm = [], []
    for _ in range(repeats):
        clear_caches(resources=True)
        at = _fresh_app()
        at.run(timeout=300)
        at.switch_page(pages.PAGE_FILES["map"])
        cold.append(timed_run(at))
        warm.append(timed_run(at))
    return cold, warm


def _server(ws, port: int) -> subprocess.Popen:  # noqa: ANN001
    env = {**os.environ, **ws.env(), "PYTHONPATH": str(ROOT)}
    cmd = [sys.executable, "-m", "streamlit", "run", "app/ui/main.py", "--server.headless", "true",
           "--server.address", "127.0.0.1", "--server.port", str(port), "--browser.gatherUsageStats", "false",
           "--server.fileWatcherType", "none", "--server.maxMessageSize", "1000"]
    return subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT,
                            start_new_session=True)


def _vm_hwm_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def bench_browser(ws, run, repeats: int) -> dict[str, object]:  # noqa: ANN001
    """Chromium: navigation to the plot drawn with every point, and a ~5k-point lasso to the panel drawn."""
    import socket
    import urllib.request

    from playwright.sync_api import sync_playwright

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    proc = _server(ws, port)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 120
        while True:
            try:
                with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2):
                    break
            except OSError:
                if time.monotonic() > deadline:
                    raise RuntimeError("the server did not start") from None
                time.sleep(0.5)
        n = len(run.video_ids())
        xy = run.layout("joint")
        ids = run.video_ids()
        draw, lasso, counts = [], [], []
        with sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path=str(CHROMIUM), headless=True,
                                         args=["--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu"])
            for attempt in range(repeats + 1):  # the first visit also warms the server's caches: not counted
                page = browser.new_page(viewport={"width": 1400, "height": 1000})
                page.set_default_timeout(600_000)
                start = time.perf_counter()
                page.goto(f"{url}/map")
                page.wait_for_function(f"""() => {{
                    const el = document.querySelector('.st-key-map_chart .js-plotly-plot');
                    return !!el && !!el._fullData && el.querySelector('canvas') &&
                        el._fullData.reduce((s, t) => s + (t.customdata ? t.customdata.length : 0), 0) === {n};
                }}""", timeout=600_000, polling=100)
                drawn = time.perf_counter() - start
                selected, seconds = _lasso(page, xy, ids)
                if attempt:
                    draw.append(drawn)
                    lasso.append(seconds)
                    counts.append(selected)
                print(f"  browser visit {attempt}: drawn {drawn:.2f} s, lasso of {selected} -> panel {seconds:.2f} s",
                      file=sys.stderr, flush=True)
                page.close()
            browser.close()
        return {"draw": draw, "lasso": lasso, "selected": counts, "server_rss_mib": _vm_hwm_mib(proc.pid)}
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()


def _lasso(page, xy: np.ndarray, ids: np.ndarray) -> tuple[int, float]:  # noqa: ANN001
    """Drag a hexagon holding about LASSO_TARGET points; (points it holds, seconds to the panel)."""
    from matplotlib.path import Path as Polygon

    centre = np.median(xy, axis=0)
    target = min(LASSO_TARGET, len(xy) // 4)  # a region well inside the map on a small corpus too
    radius = float(np.sort(np.linalg.norm(xy - centre, axis=1))[target])
    angles = np.linspace(0, 2 * np.pi, 7)[:-1]
    hexagon = centre + radius * np.column_stack([np.cos(angles), np.sin(angles)])
    plot = page.locator(".st-key-map_chart .js-plotly-plot")
    path = plot.evaluate("""(el, pts) => {
        const b = el.getBoundingClientRect(), xa = el._fullLayout.xaxis, ya = el._fullLayout.yaxis;
        return pts.map(([x, y]) => [b.left + xa._offset + xa.l2p(x), b.top + ya._offset + ya.l2p(y)]);
    }""", hexagon.tolist())
    inside = int(Polygon(hexagon).contains_points(xy).sum())
    print(f"  lasso around {inside:,} points (stored layout)", file=sys.stderr, flush=True)
    path = [(round(x), round(y)) for x, y in path]
    page.mouse.move(*path[0])
    page.mouse.down()
    for corner in path[1:] + path[:1]:
        page.mouse.move(*corner)
    start = time.perf_counter()
    page.mouse.up()
    try:
        page.get_by_role("heading", name=re.compile(r"videos selected")).first.wait_for(timeout=180_000)
        page.locator("[data-testid='stTab']").first.wait_for(timeout=180_000)
    except Exception:
        page.screenshot(path=str(Path(tempfile.gettempdir()) / "map-bench-lasso-failed.png"))
        raise
    seconds = time.perf_counter() - start
    shown = page.get_by_role("heading", name=re.compile(r"videos selected")).first.inner_text()
    return int(shown.split()[0].replace(",", "")), seconds


def ms(values: list[float]) -> str:
    return f"{statistics.median(values) * 1e3:,.0f} ms" if values else "—"


def main(argv: list[str] | None = None) -> int:
    from core.embeddings import SPACES

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--home", type=Path, default=ROOT / "var" / "bench-map")
    parser.add_argument("--videos", type=int, default=None, help="synthetic corpus size (default 200,000)")
    parser.add_argument("--spaces", default=",".join(SPACES), help="spaces to index and lay out (default all)")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--queries", type=int, default=1000, help="`similar` calls timed")
    parser.add_argument("--quick", action="store_true", help="5,000 videos, 1 repeat")
    parser.add_argument("--no-browser", action="store_true")
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args(argv)
    n = args.videos or (5_000 if args.quick else 200_000)
    repeats = 1 if args.quick else args.repeats
    spaces = [s.strip() for s in args.spaces.split(",") if s.strip()]
    root = args.home.expanduser().resolve()
    root.mkdir(parents=True, exist_ok=True)
    ws = synthetic_home(root, n)
    load_before = os.getloadavg()[0]
    with _env(ws):
        from app.context import get_context
        from app.services import embeddings

        run = embeddings.current_run(get_context())
        if run is None or not run.done or run.spaces != spaces:
            run = synthetic_run(ws, spaces)
            stages = run_stages(run)
            (run.folder / "stages.json").write_text(json.dumps(stages))
        else:
            print(f"reusing embedding run {run.id} (its stage times from its first build)", file=sys.stderr)
            stages = json.loads((run.folder / "stages.json").read_text())
        run = embeddings.current_run(get_context())
        service, bare = bench_similar(run, args.queries)
        cold, warm = bench_page(repeats)
        page_rss = peak_rss_mib()
    browser = None if args.no_browser or not CHROMIUM.exists() else bench_browser(ws, run, repeats)

    layout_total = sum(v for k, v in stages.items() if k.startswith("layout-"))
    rows = [("embeddings job: " + k, f"{v:,.1f} s") for k, v in stages.items()]
    rows += [("embeddings job: every stage after the vectors", f"{sum(stages.values()):,.1f} s"),
             ("layout (UMAP) of all spaces", f"{layout_total:,.1f} s"),
             ("Map page script (AppTest), caches empty", ms(cold)), ("Map page script (AppTest), cached", ms(warm)),
             ("similar, service call (k=10): median", ms(service)),
             ("similar, service call (k=10): p99", f"{np.percentile(service, 99) * 1e3:,.1f} ms"),
             ("similar, faiss query alone: median / p99", f"{statistics.median(bare) * 1e3:.2f} / "
                                                           f"{np.percentile(bare, 99) * 1e3:.2f} ms"),
             ("peak RSS, benchmark process (AppTest)", f"{page_rss:,.0f} MiB")]
    if browser:
        rows += [("Chromium: navigation to plot drawn (all points)", ms(browser["draw"])),
                 (f"Chromium: lasso of ~{LASSO_TARGET:,} points to the selection panel",
                  ms(browser["lasso"]) + f" ({browser['selected'][0]:,} points)" if browser["selected"] else "—"),
                 ("peak RSS, streamlit server", f"{browser['server_rss_mib']:,.0f} MiB")]
    print(f"\nCorpus map, {n:,} synthetic videos, spaces {','.join(spaces)}; {repeats} repeats; CPUs {os.cpu_count()}; "
          f"load average {load_before:.1f} before, {os.getloadavg()[0]:.1f} after\n")
    print("| measure | value |\n|---|---|")
    for name, value in rows:
        print(f"| {name} | {value} |")
    print(f"\n(p95 of the cached page runs: {p95(warm) * 1e3:,.0f} ms)" if warm else "")
    if args.json:
        from core.fileio import atomic_write_json

        atomic_write_json(args.json, {
            "videos": n, "spaces": spaces, "cpus": os.cpu_count(), "load_average": os.getloadavg()[0],
            "stages_s": stages, "page_ms": {"cold": [x * 1e3 for x in cold], "cached": [x * 1e3 for x in warm]},
            "similar_ms": {"median": statistics.median(service) * 1e3, "p99": float(np.percentile(service, 99)) * 1e3,
                           "faiss_median": statistics.median(bare) * 1e3},
            "browser": browser, "bench_rss_mib": page_rss}, indent=2)
        print(f"figures written to {args.json}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
