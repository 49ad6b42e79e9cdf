"""The demo corpus: generate real mp4 files and ingest them with their labels."""
from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from app.context import AppContext
from app.services.database import prepare_database
from app.services.ingest import IngestReport, ingest_path
from core.corpus import generate_corpus

__all__ = ["build_demo", "prepare_database"]


def build_demo(
    ctx: AppContext, *, videos: int, seed: int, progress: Callable[[str, int, int], None] | None = None,
    keep_files: bool = False, label_noise: float | None = None, workers: int = 1,
) -> IngestReport:
    """Write the demo corpus under EASTERN_HOME/demo/seed-S-n-N, ingest it with its labels and drop the
    generated copies (ingest keeps its own content-addressed copy)."""
    prepare_database(ctx)
    from core.corpus.generate import P_LABEL_NOISE

    noise = P_LABEL_NOISE if label_noise is None else label_noise
    suffix = "" if noise == P_LABEL_NOISE else f"-noise-{noise:g}"
    out = ctx.settings.demo_dir / f"seed-{seed}-n-{videos}{suffix}"
    generate_corpus(out, videos, seed, progress=(lambda d, t: progress("generate", d, t)) if progress else None,
                    workers=workers, label_noise=noise)
    report = ingest_path(
        ctx, out / "manifest.csv", who="demo", source="demo",
        progress=(lambda d, t: progress("ingest", d, t)) if progress else None,
    )
    if not keep_files and report.ok:
        for mp4 in Path(out).glob("*.mp4"):
            mp4.unlink()
    return report
