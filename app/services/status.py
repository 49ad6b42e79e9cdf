"""Where the workbench stands: is the database there, how many videos, labels and features, which model is
active. The sidebar, every page's guard, `python -m app status` and the first run read it here."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from app.context import AppContext
from app.errors import UserError
from db import queries, repo
from db.session import session_scope

ActiveModel = repo.ActiveModel  # what pages are given of the active model

SETUP_HINT = "run `python -m app bootstrap` (or `make run`) to create the database, the demo corpus and a first model"


class NotReady(UserError):
    """The workspace has no database yet; the message says what to run."""


@dataclass(frozen=True)
class Status:
    """Corpus totals and the active model, as the sidebar and every page's guard read them."""

    videos: int
    labelled: int
    with_features: int
    annotated: int
    model: repo.ActiveModel | None


def status(ctx: AppContext) -> Status:
    """Corpus totals and the active model for the sidebar; NotReady when the database is not set up."""
    with session_scope(ctx.engine) as session:
        if not queries.schema_ready(session):
            raise NotReady(f"No database at {ctx.settings.db_url}: {SETUP_HINT}.")
        counts = repo.corpus_counts(session, per_venue=False)  # the sidebar shows totals only
        active = repo.active_model_brief(session)
    return Status(videos=counts.videos, labelled=counts.labelled, with_features=counts.with_features,
                  annotated=counts.annotated, model=active)


def summary(ctx: AppContext) -> dict[str, Any]:
    """`python -m app status`: totals, the active model and the labels per venue, as JSON values."""
    with session_scope(ctx.engine) as session:
        counts = repo.corpus_counts(session)
        active = repo.active_model(session)
    return {"home": str(ctx.settings.home), "videos": counts.videos, "labelled": counts.labelled,
            "with_features": counts.with_features, "active_model": active.name if active else None,
            "per_venue": counts.per_venue}


def corpus_is_empty(ctx: AppContext) -> bool:
    with session_scope(ctx.engine) as session:
        return repo.count_videos(session) == 0


def has_active_model(ctx: AppContext) -> bool:
    with session_scope(ctx.engine) as session:
        return repo.active_model(session) is not None
