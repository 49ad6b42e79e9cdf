"""Export formats are one table (app.services.export_formats): a new format is one writer and one line, and the
CLI's --format, `export()` and the dashboard's download buttons all offer it. `export` acts as an account."""
from __future__ import annotations

import csv
import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pytest

from app.services import export_formats
from tests.app.test_training_service import run_cli
from tests.fixtures import Workspace


def _write_tsv(out: Path, rows, columns: list[str]) -> int:  # noqa: ANN001
    count = 0
    with out.open("w", encoding="utf-8", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=columns, delimiter="\t")
        writer.writeheader()
        for row in rows:
            writer.writerow({k: export_formats.csv_value(v) for k, v in row.items()})
            count += 1
    return count


@pytest.fixture()
def toy_format() -> Iterator[export_formats.ExportFormat]:
    fmt = export_formats.register_format(export_formats.ExportFormat(
        "tsv", "tsv", "text/tab-separated-values", _write_tsv, help="tab-separated"))
    yield fmt
    del export_formats.FORMATS["tsv"]


def _audits(ws: Workspace) -> list[tuple[str, str]]:
    with sqlite3.connect(ws.home / "eastern.db") as conn:
        return conn.execute("select actor, target from audit_events where action = 'export' order by id").fetchall()


def test_a_new_export_format_is_one_writer_and_one_line(private_ws: Workspace, toy_format, tmp_path: Path) -> None:
    from streamlit.testing.v1 import AppTest

    out = tmp_path / "history.tsv"
    code, _, stderr = run_cli(["export", "history", "--format", "tsv", "--out", str(out),
                               "--who", private_ws.annotator, "--password", private_ws.annotator_password])
    assert code == 0, stderr
    rows = list(csv.DictReader(out.open(encoding="utf-8"), delimiter="\t"))
    assert rows and set(rows[0]) == {"label_id", "video_id", "filename", "sha256", "venue", "previous_venue", "who",
                                     "reason", "created_at"}
    assert (out.parent / "history.tsv.meta.json").is_file()

    def page() -> None:
        import streamlit as st

        from app.context import get_context
        from app.services import accounts
        from app.ui import labelissues

        if "auth" not in st.session_state:
            st.session_state["auth"] = accounts.start_session(get_context(), accounts.get(get_context(), "ann"))
        labelissues.download("history", key="dl", label="Download the history")

    at = AppTest.from_function(page).run()
    assert not at.exception, [e.value for e in at.exception]
    control = at.get("button_group")[0]
    assert {"csv", "jsonl", "tsv"} <= set(control.options) and "labelstudio" not in control.options


def test_export_acts_as_an_account_and_audits_once(private_ws: Workspace, tmp_path: Path) -> None:
    out = tmp_path / "labels.csv"
    before = _audits(private_ws)
    for who in ([], ["--who", private_ws.annotator], ["--who", private_ws.annotator, "--password", "wrong-password"]):
        code, _, stderr = run_cli(["export", "labels", "--out", str(out), *who])
        assert code == 2 and stderr.strip() and "Traceback" not in stderr, (who, stderr)
    assert _audits(private_ws) == before and not out.exists()
    code, _, stderr = run_cli(["export", "labels", "--out", str(out), "--who", private_ws.annotator,
                               "--password", private_ws.annotator_password])
    assert code == 0, stderr
    assert _audits(private_ws) == [*before, (private_ws.annotator, str(out))]


def test_a_format_refuses_the_exports_it_cannot_hold(private_ws: Workspace, tmp_path: Path) -> None:
    from app.context import get_context
    from app.services.export import ExportError, export

    with pytest.raises(ExportError, match="holds labels only; for history choose from csv, jsonl"):
        export(get_context(), "history", fmt="labelstudio", out=tmp_path / "h.json")
