"""The export formats: one table, read by `export()`, the CLI's `--format` choices and the dashboard's download
buttons. A new format is one writer and one `register_format` line (CONTRIBUTING "Add an export format").

A writer takes the target path, the rows (a stream of dicts, one per exported row) and the export's columns, writes
the file atomically (a failed export leaves nothing that looks complete) and returns the number of rows written."""
from __future__ import annotations

import csv
import io
import json
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from core.csvcells import neutralise
from core.fileio import atomic_write

Writer = Callable[[Path, Iterable[dict[str, Any]], list[str]], int]
ALL_KINDS = ("labels", "history", "predictions", "issues")


@dataclass(frozen=True)
class ExportFormat:
    name: str
    suffix: str  # the file name's extension, without the dot
    mime: str  # what a download button serves it as
    write: Writer
    kinds: tuple[str, ...] = ALL_KINDS  # the exports it can hold
    media_dir: str | None = None  # a folder beside the file that always receives the media (interop formats)
    help: str = ""

    @property
    def downloadable(self) -> bool:
        """One file a browser can save (a format that needs its media folder beside it is a CLI export)."""
        return self.media_dir is None


FORMATS: dict[str, ExportFormat] = {}


def register_format(fmt: ExportFormat) -> ExportFormat:
    if fmt.name in FORMATS:
        raise ValueError(f"export format {fmt.name!r} is registered already")
    FORMATS[fmt.name] = fmt
    return fmt


def formats_for(kind: str, *, downloadable: bool = False) -> list[ExportFormat]:
    """The formats that can hold this export (only those a browser can download, when asked)."""
    return [f for f in FORMATS.values() if kind in f.kinds and (f.downloadable or not downloadable)]


def _text_writer(body: Callable[[IO[str], Iterable[dict[str, Any]], list[str]], int]) -> Writer:
    """A writer of UTF-8 text, written atomically."""
    def write(out: Path, rows: Iterable[dict[str, Any]], columns: list[str]) -> int:
        count = 0

        def fill(fh: IO[bytes]) -> None:
            nonlocal count
            text = io.TextIOWrapper(fh, encoding="utf-8", newline="")
            count = body(text, rows, columns)
            text.flush()
            text.detach()

        atomic_write(out, fill)
        return count
    return write


def csv_value(value: Any) -> Any:
    """A CSV cell: lists and dicts as JSON, None empty, text neutralised for spreadsheets (core.csvcells)."""
    if isinstance(value, (list, dict)):
        return neutralise(json.dumps(value))
    if value is None:
        return ""
    return neutralise(value) if isinstance(value, str) else value


def _csv(text: IO[str], rows: Iterable[dict[str, Any]], columns: list[str]) -> int:
    writer = csv.DictWriter(text, fieldnames=columns, extrasaction="raise")
    writer.writeheader()
    count = 0
    for row in rows:
        writer.writerow({k: csv_value(v) for k, v in row.items()})
        count += 1
    return count


def _jsonl(text: IO[str], rows: Iterable[dict[str, Any]], columns: list[str]) -> int:
    count = 0
    for row in rows:
        text.write(json.dumps(row, ensure_ascii=False, default=str) + "\n")
        count += 1
    return count


def _interop(name: str) -> Writer:
    """Label Studio / FiftyOne writers (app.services.interop), imported when used."""
    def write(out: Path, rows: Iterable[dict[str, Any]], columns: list[str]) -> int:
        from app.services import interop

        return interop.WRITERS[name](out, rows)
    return write


register_format(ExportFormat("csv", "csv", "text/csv", _text_writer(_csv),
                             help="comma-separated, a header row; cells safe to open in a spreadsheet"))
register_format(ExportFormat("jsonl", "jsonl", "application/x-ndjson", _text_writer(_jsonl),
                             help="one JSON object per line"))
register_format(ExportFormat("labelstudio", "json", "application/json", _interop("labelstudio"), kinds=("labels",),
                             media_dir="media", help="Label Studio tasks, the videos in media/ beside the file"))
register_format(ExportFormat("fiftyone", "json", "application/json", _interop("fiftyone"), kinds=("labels",),
                             media_dir="data", help="a FiftyOne video classification dataset (labels.json, data/)"))
