"""Every bad input gets a line, not a traceback: huge and non-ASCII numbers in links, a 50,000-character search,
a 300-character upload name, `concat:` manifest names and links out of an ingested folder."""
from __future__ import annotations

from pathlib import Path

import pytest

from app.services import browse
from app.services.ingest import IngestError, collect, read_manifest
from app.ui.navigation import int_param
from db.queries import VideoFilter
from tests.media import write_video

HUGE = "99999999999999999999"


@pytest.mark.parametrize(("raw", "expected"), [("12", 12), ("0", 0), (HUGE, None), ("²", None), ("٣", None),
                                               ("-1", None), ("1e9", None), ("", None), (None, None)])
def test_query_numbers(raw: str | None, expected: int | None) -> None:
    assert int_param(raw) == expected


def test_a_huge_search_is_cut_not_a_crash(ctx) -> None:  # noqa: ANN001
    page = browse.browse_page(ctx, filters=VideoFilter(text="x" * 50_000))
    assert page.total == 0


def test_a_300_character_upload_name_is_a_line(ctx) -> None:  # noqa: ANN001
    from app.services import ingest_job

    with pytest.raises(ingest_job.UploadRefused, match="longer than"):
        ingest_job.stage_upload(ctx, filename="a" * 300 + ".mp4", data=b"not a video")
    assert not list(ingest_job.staging_dir(ctx).glob("*"))


def test_protocol_names_and_links_out_of_the_folder_are_refused(tmp_path: Path) -> None:
    folder = tmp_path / "in"
    folder.mkdir()
    outside = write_video(tmp_path / "secret.mp4", seconds=1.0)
    (folder / "link.mp4").symlink_to(outside)
    write_video(folder / "ok.mp4", seconds=1.0)
    items = collect(folder)
    refused = [i for i in items if isinstance(i, IngestError)]
    assert len(refused) == 1 and "leads out" in refused[0].reason
    ok = [i for i in items if not isinstance(i, IngestError)]
    assert [i.name for i in ok] == ["ok.mp4"] and ok[0].source.is_absolute()
    (folder / "m.csv").write_text("filename\nconcat:ok.mp4|link.mp4\nfile:ok.mp4\nlink.mp4\nok.mp4\n")
    rows = read_manifest(folder / "m.csv")
    assert [type(r).__name__ for r in rows] == ["IngestError", "IngestError", "IngestError", "IngestItem"]
    assert "protocol" in rows[0].reason and rows[3].source == (folder / "ok.mp4").resolve()


@pytest.mark.parametrize(("page", "query", "state"), [
    ("video", {"video": HUGE}, {}),
    ("browse", {"video": HUGE}, {}),
    ("atoms", {"atom": "²"}, {}),
    ("browse", {}, {"browse_text": "y" * 50_000}),
])
def test_pages_answer_bad_input_with_a_line(ws_env, page: str, query: dict, state: dict) -> None:  # noqa: ANN001
    from tests.app.test_pages import open_page

    open_page(page, query=query, **state)  # no exception


def test_a_comment_opening_caption_cannot_blank_the_player() -> None:
    import json
    import re

    from app.ui import player

    hostile = "<!--<script>alert(1)</script>-->&amp;"
    page = player.player_html("/media/x.mp4", fps=0, timeline=player.Timeline(words=[(hostile, 0.1)]))
    found = re.search(r'<script type="application/json" id="payload">(.*?)</script>', page, re.S)
    assert "<" not in found.group(1) and ">" not in found.group(1)
    assert json.loads(found.group(1))["timeline"]["words"][0][0] == hostile
