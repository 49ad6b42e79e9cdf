"""The dashboard's pages: one list that the navigation (app/ui/main.py), the deep links (app/ui/navigation.py)
and the page tests read. A new page is one file in app/ui/views/ and one line here."""
from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class PageSpec:
    """A page: its key (deep links, tests), file under app/ui/, title, icon, navigation section, and the action a
    role needs to see it (app.services.accounts.ACTIONS; None: everyone, signed in or not)."""

    key: str
    file: str
    title: str
    icon: str
    section: str
    action: str | None = None
    default: bool = False


PAGES: tuple[PageSpec, ...] = (
    PageSpec("browse", "views/browse.py", "Browse", ":material/grid_view:", "Videos", default=True),
    PageSpec("video", "views/video.py", "Video detail", ":material/movie:", "Videos"),
    PageSpec("annotate", "views/annotate.py", "Annotate", ":material/edit_note:", "Videos"),
    PageSpec("upload", "views/upload.py", "Upload", ":material/upload:", "Videos", action="upload"),
    PageSpec("map", "views/map.py", "Corpus map", ":material/bubble_chart:", "Understand"),
    PageSpec("atoms", "views/atoms.py", "Atom explorer", ":material/scatter_plot:", "Understand"),
    PageSpec("failures", "views/failures.py", "Failure cases", ":material/report:", "Understand"),
    PageSpec("casestudy", "views/casestudy.py", "Case study", ":material/compare:", "Understand"),
    PageSpec("models", "views/models.py", "Models & evaluation", ":material/leaderboard:", "Models"),
    PageSpec("retrain", "views/retrain.py", "Retrain", ":material/model_training:", "Models"),
    PageSpec("accounts", "views/accounts.py", "Accounts & audit log", ":material/admin_panel_settings:", "Admin",
             action="accounts"),
)

PAGE_FILES = {page.key: page.file for page in PAGES}
VIDEO_DRAWN_KEY = "video_page_drawn"  # the video whose Video detail this session drew last (views/video.py, main.py)
