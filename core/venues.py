"""The 188 Foursquare leaf venues of VENUE-188 (Zhang et al. 2016) and their category tree."""
from __future__ import annotations

import json
from functools import lru_cache
from pathlib import Path

VENUE188_PATH = Path(__file__).resolve().parent / "resources" / "venue188_tree.json"


@lru_cache(maxsize=1)
def _tree() -> dict:
    return json.loads(VENUE188_PATH.read_text(encoding="utf-8"))


def venue188() -> list[tuple[int, str]]:
    """(1-based VENUE-188 id, name) for all 188 venues, in the release's order."""
    return [(int(v["id"]), str(v["name"])) for v in _tree()["venues"]]


def venue188_names() -> list[str]:
    """The 188 names, index i holding 0-based label i of the HDF5 release."""
    return [name for _, name in sorted(venue188())]
