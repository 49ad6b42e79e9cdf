"""The newest reproduction report as the Models page shows it (written by `python -m app reproduce`, see
app/services/reproduce.py). Reading it needs neither torch nor the protocol, so the page stays light."""
from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from app.context import AppContext


@dataclass(frozen=True)
class ReportView:
    """The newest reproduction report: its folder, its Markdown, Figure 6's curves and the run's config and
    dataset from results.json, the HTML file (None if absent) and when it was written (epoch seconds)."""

    folder: str
    markdown: str
    curves: dict[str, Any]
    config: dict[str, Any]
    dataset: dict[str, Any]
    html: str | None
    modified: float


def latest_report(ctx: AppContext) -> ReportView | None:
    """The newest reproduction report (reports_dir/latest, written by `python -m app reproduce`): its
    markdown (Tables 1-3, 5), Figure 6's curves from results.json, and the html file. None if absent."""
    folder = ctx.settings.reports_dir / "latest"
    md_path, json_path, html_path = folder / "report.md", folder / "results.json", folder / "report.html"
    if not md_path.is_file():
        return None
    results: dict[str, Any] = {}
    if json_path.is_file():
        try:
            results = json.loads(json_path.read_text(encoding="utf-8"))
        except json.JSONDecodeError:
            results = {}
    return ReportView(
        folder=str(folder), markdown=md_path.read_text(encoding="utf-8", errors="replace"),
        curves=results.get("curves", {}), config=results.get("config", {}), dataset=results.get("dataset", {}),
        html=str(html_path) if html_path.is_file() else None, modified=md_path.stat().st_mtime,
    )
