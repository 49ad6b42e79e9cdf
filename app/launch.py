"""`python -m app serve`: this process becomes the Streamlit server (no parent left waiting beside it), started
from the repository with the project's safety options (app/services/serve.py) wherever it was called from. While
the server starts, a thread warms what the first visitor needs (the page modules, the database engine and the
cached results of the first Browse page: benchmarks/dashboard.py --browser measures the first visit); when the
server stops (Ctrl-C), it says which background jobs go on and how to stop them."""
from __future__ import annotations

import atexit
import os
import sys
import threading
from pathlib import Path

from app.context import AppContext

ROOT = Path(__file__).resolve().parents[1]


def serve(ctx: AppContext, *, address: str, port: int) -> int:
    """Run the dashboard in this process until it is stopped; the exit status."""
    os.chdir(ROOT)
    os.environ.update({"EASTERN_HOME": str(ctx.settings.home), "EASTERN_DB_URL": ctx.settings.db_url})
    threading.Thread(target=warm, args=(ctx,), name="eastern-warm-up", daemon=True).start()
    atexit.register(jobs_notice, ctx)
    from streamlit.web import cli as streamlit_cli

    from app.services.serve import streamlit_command

    argv = streamlit_command(ctx.settings, address, port)[3:]  # without `python -m streamlit`: we are it
    try:
        streamlit_cli.main(args=argv, prog_name="streamlit", standalone_mode=False)
    except KeyboardInterrupt:
        pass
    return 0


def warm(ctx: AppContext) -> None:
    """Fill the caches the first visitor's page reads (through app.ui.cache, the same st.cache_data entries a page
    run uses: the status line, the venue lists, the first Browse page and its thumbnails and triage flags), so the
    first visit does not pay for Python's imports, the queries or SQLAlchemy's statement cache. Then the objects
    made so far (modules, caches) are frozen out of the garbage collector's full passes (gc.freeze)."""
    import gc
    import time

    from streamlit import runtime

    deadline = time.monotonic() + 60
    while not runtime.exists() and time.monotonic() < deadline:  # Streamlit's caches bind to the runtime
        time.sleep(0.05)
    try:
        from app.services.browse import GRID_PAGE_SIZE
        from app.ui import cache, navigation  # noqa: F401 - the modules every page imports (pandas, plotly)
        from db.queries import VideoFilter

        cache.status()
        for used_only in (True, False):
            cache.venue_choices(used_only=used_only)
        ids = cache.venue_ids(())
        page = cache.browse_page(VideoFilter(label_venue_ids=ids, predicted_venue_ids=ids), "id", 0, GRID_PAGE_SIZE)
        cache.thumbnails(tuple(page.rows))
        cache.triage_flags(tuple(r.id for r in page.rows))
    except Exception as exc:  # noqa: BLE001 - warming is a courtesy: the first visitor gets the real error
        print(f"warm-up skipped: {type(exc).__name__}: {exc}", file=sys.stderr, flush=True)
    gc.collect()
    gc.freeze()


def jobs_notice(ctx: AppContext) -> None:
    """At exit: the jobs that keep running without the dashboard (each in its own process), and how to stop them."""
    try:
        from app.services import jobs

        running = [j for j in jobs.list_jobs(ctx, limit=50) if j.active]
    except Exception:  # noqa: BLE001 - the home may be gone; nothing to say then
        return
    if not running:
        return
    lines = [f"The dashboard stopped; {len(running)} background job(s) go on in their own processes:"]
    for job in running:
        lines.append(f"  job {job.id} ({job.kind}, {job.progress:.0%}: {job.message or job.status})")
    ids = " ".join(str(j.id) for j in running)
    lines.append(f"Stop them with: python -m app jobs --cancel ID --who ADMIN (ids: {ids}); "
                 "they also stop by themselves if their home is deleted.")
    print("\n".join(lines), file=sys.stderr, flush=True)
