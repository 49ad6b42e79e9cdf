"""Spreadsheet-safe CSV text cells (OWASP's CSV-injection rule), defined once for the writers and the readers.

A cell that begins with `=`, `+`, `-`, `@`, a tab or a carriage return (after any single quotes) gets one more
leading single quote, so a spreadsheet shows it as text instead of running it; `restore` removes exactly that
quote, so exporting and ingesting again keeps the exact text (a caption that really begins with `'=` too).
"""
from __future__ import annotations

import re

_RISKY = re.compile(r"^'*[=+\-@\t\r]")


def neutralise(text: str) -> str:
    """The cell as written to a CSV file."""
    return "'" + text if _RISKY.match(text) else text


def restore(text: str) -> str:
    """The text a neutralised cell stood for (other cells unchanged)."""
    return text[1:] if text.startswith("'") and _RISKY.match(text) else text
