"""The demo corpus: generate real mp4 files and ingest them with their labels."""
from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from app.context import AppContext
from app.services.ingest import IngestReport, ingest_path
from core.corpus import generate_corpus
from core.venues import venue188
from db import repo
from db.migrate import upgrade
from db.session import session_scope


def prepare_database(ctx: AppContext) -> None:
    """Migrate to head and make sure all 188 venues exist."""
    upgrade(ctx.settings.db_url)
    with session_scope(ctx.engine) as session:
        repo.ensure_venues(session, venues=[(name, vid) for vid, name in venue188()])


def build_demo(
    ctx: AppContext, *, videos: int, seed: int, progress: Callable[[str, int, int], None] | None = None,
    keep_files: bool = False,
) -> IngestReport:
    """Write the demo corpus under EASTERN_HOME/demo/seed-S, ingest it with its labels and drop the
    generated copies (ingest keeps its own content-addressed copy)."""
    prepare_database(ctx)
    out = ctx.settings.demo_dir / f"seed-{seed}-n-{videos}"
    generate_corpus(out, videos, seed, progress=(lambda d, t: progress("generate", d, t)) if progress else None)
    report = ingest_path(
        ctx, out / "manifest.csv", who="demo", source="demo",
        progress=(lambda d, t: progress("ingest", d, t)) if progress else None,
    )
    if not keep_files and report.ok:
        for mp4 in Path(out).glob("*.mp4"):
            mp4.unlink()
    return report
