"""The audit log of security-relevant actions: who did what to what, when. Append-only (db.accounts has no
function to change an event and the table refuses UPDATE and DELETE)."""
from __future__ import annotations

from typing import Any

from app.context import AppContext
from db import accounts as repo_accounts
from db.accounts import AuditRow
from db.session import session_scope

# The one list of audited actions; a new one is one line here.
ACTIONS = (
    "signin.ok", "signin.failed",
    "account.add", "account.passwd", "account.role", "account.disable", "account.enable", "account.unlock",
    "backup", "restore",
    "retrain", "promote", "predict", "crossval", "export", "embeddings",
    "selection.save", "selection.delete",
    "venue.add", "ingest",
)


def record(ctx: AppContext, *, actor: str, action: str, target: str = "", detail: dict[str, Any] | None = None) -> int:
    """Append one event (its own transaction, so it stays even when the caller's work later fails)."""
    if action not in ACTIONS:
        raise ValueError(f"unknown audit action {action!r}: add it to app.services.audit.ACTIONS")
    with session_scope(ctx.engine) as session:
        return repo_accounts.add_audit(session, actor=actor or "?", action=action, target=str(target),
                                       detail=detail)


def recent(ctx: AppContext, *, limit: int = 200, action: str | None = None, actor: str | None = None) -> list[AuditRow]:
    """Newest events first."""
    with session_scope(ctx.engine) as session:
        return repo_accounts.list_audit(session, limit=limit, action=action, actor=actor)
