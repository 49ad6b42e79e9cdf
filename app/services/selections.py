"""Saved selections: a named set of videos (a lasso on the Map, kept) that Browse and Annotate filter on. Saving
needs a signed-in account (a viewer at least: a selection changes no label), deleting one its owner or an admin;
both are audited."""
from __future__ import annotations

from collections.abc import Sequence

from app.context import AppContext
from app.errors import UserError
from app.services import audit
from app.services.accounts import require
from db import maps
from db.session import session_scope

MAX_NAME = 120


class SelectionError(UserError):
    """A selection that cannot be saved or deleted (no name, a name taken, nothing selected, not yours)."""


def save(ctx: AppContext, *, name: str, video_ids: Sequence[int], who: str) -> int:
    """Save these videos as selection `name` owned by `who`; its id."""
    actor = require(ctx, name=who or None, action="browse").name
    name = name.strip()
    if not name or len(name) > MAX_NAME:
        raise SelectionError(f"a selection needs a name of 1 to {MAX_NAME} characters")
    if not video_ids:
        raise SelectionError("nothing is selected")
    try:
        with session_scope(ctx.engine) as session:
            selection_id = maps.save_selection(session, name=name, owner=actor, video_ids=video_ids)
    except maps.SelectionExists as exc:
        raise SelectionError(str(exc)) from None
    audit.record(ctx, actor=actor, action="selection.save", target=f"selection {selection_id}",
                 detail={"name": name, "videos": len(set(video_ids))})
    return selection_id


def list_all(ctx: AppContext) -> list[maps.SelectionRow]:
    with session_scope(ctx.engine) as session:
        return maps.list_selections(session)


def videos(ctx: AppContext, selection_id: int) -> list[int]:
    with session_scope(ctx.engine) as session:
        return maps.selection_videos(session, selection_id=selection_id)


def delete(ctx: AppContext, selection_id: int, *, who: str) -> None:
    """Delete a selection: its owner or an admin."""
    account = require(ctx, name=who or None, action="browse")
    found = {s.id: s for s in list_all(ctx)}.get(selection_id)
    if found is None:
        raise SelectionError(f"no saved selection {selection_id}")
    if found.owner != account.name and account.role != "admin":
        raise SelectionError(f"selection {found.name!r} belongs to {found.owner}: only they or an admin delete it")
    with session_scope(ctx.engine) as session:
        maps.delete_selection(session, selection_id=selection_id)
    audit.record(ctx, actor=account.name, action="selection.delete", target=f"selection {selection_id}",
                 detail={"name": found.name})
