"""A team's own venue categories beside VENUE-188: clean names, taxonomy files, added by an account, audited.

Taxonomy files (`python -m app venues import FILE`):
- CSV with a header naming a `name` column and optionally a `parent` column;
- JSON: a list of names, a list of {"name": ..., "parent": ...} objects, or a tree
  {"Parent": ["Child", {"Child with children": [...]}, ...], ...} (every key and leaf becomes a venue).
A parent must exist already or be created by the same file; a name that exists (in any case) is refused.
"""
from __future__ import annotations

import csv
import io
import json
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from app.context import AppContext
from app.errors import UserError
from db import repo
from db.session import session_scope

MAX_NAME = 120  # venues.name is String(120)
ACTION = "venues"  # app.services.accounts.ACTIONS: who may add categories


class VenueError(UserError):
    """A category name or taxonomy file that cannot be used; the message says which and why."""


@dataclass(frozen=True)
class VenueSpec:
    """One category to create, with the name of its parent (None: a root)."""

    name: str
    parent: str | None = None


@dataclass(frozen=True)
class VenuesAdded:
    """What an add or import created (in creation order) and what it found already there."""

    added: list[repo.VenueRow] = field(default_factory=list)
    existing: list[str] = field(default_factory=list)


def clean_name(raw: Any) -> str:
    """NFKC, control characters dropped, inner whitespace collapsed, stripped; VenueError if empty or too long."""
    if not isinstance(raw, str):
        raise VenueError(f"a venue name must be text, not {raw!r}")
    text = unicodedata.normalize("NFKC", raw)
    text = "".join(ch for ch in text if unicodedata.category(ch)[0] != "C" or ch in " \t\n")
    text = " ".join(text.split())
    if not text:
        raise VenueError(f"empty venue name {raw!r}")
    if len(text) > MAX_NAME:
        raise VenueError(f"venue name {text[:40]!r}... is {len(text)} characters long (at most {MAX_NAME})")
    return text


def list_venues(ctx: AppContext, *, used_only: bool = False) -> list[repo.VenueRow]:
    """Every category (VENUE-188 and the team's own), by name."""
    with session_scope(ctx.engine) as session:
        return repo.list_venues(session, used_only=used_only)


def add_venues(ctx: AppContext, specs: Iterable[VenueSpec], *, who: str, skip_existing: bool = False) -> VenuesAdded:
    """Create the categories as account `who` (checked here), parents before children, all or none; audited.

    A name that exists already is refused (VenueError) unless skip_existing, when it is left as it is."""
    from app.services import audit
    from app.services.accounts import require

    account = require(ctx, name=who, action=ACTION)
    specs = _checked(specs)
    added: list[repo.VenueRow] = []
    existing: list[str] = []
    with session_scope(ctx.engine) as session:
        clashes = [s.name for s in specs if repo.find_venue(session, name=s.name) is not None]
        if clashes and not skip_existing:
            raise VenueError(f"venue(s) already exist (names are compared without case): {', '.join(clashes)}")
        ids = {}
        for spec in _parents_first(specs):
            found = repo.find_venue(session, name=spec.name)
            if found is not None:
                existing.append(found.name)
                ids[spec.name.casefold()] = found.id
                continue
            parent_id = None
            if spec.parent is not None:
                parent_id = ids.get(spec.parent.casefold())
                if parent_id is None:
                    parent = repo.find_venue(session, name=spec.parent)
                    if parent is None:
                        raise VenueError(f"parent {spec.parent!r} of {spec.name!r} is not a venue and not created "
                                         "by the same import")
                    parent_id = parent.id
            row = repo.add_venue(session, name=spec.name, parent_id=parent_id, source="user")
            ids[spec.name.casefold()] = row.id
            added.append(row)
    for row in added:
        audit.record(ctx, actor=account.name, action="venue.add", target=row.name,
                     detail={"id": row.id, "parent_id": row.parent_id})
    return VenuesAdded(added, existing)


def create_named(ctx: AppContext, items: Iterable[Any], *, who: str) -> list[str]:
    """Ingest --new-venues: clean each item's `venue` in place and create the ones missing; returns report notes."""
    wanted: dict[str, str] = {}
    for item in items:
        if item.venue:
            try:
                item.venue = clean_name(item.venue)
            except VenueError:
                continue  # left as it is: ingest refuses that file with its line
            wanted.setdefault(item.venue.casefold(), item.venue)
    if not wanted:
        return []
    result = add_venues(ctx, [VenueSpec(n) for n in wanted.values()], who=who, skip_existing=True)
    return [f"new venue category {row.name!r} (id {row.id})" for row in result.added]


def _checked(specs: Iterable[VenueSpec]) -> list[VenueSpec]:
    """Clean every name; a name twice in one request (any case) is refused."""
    out: list[VenueSpec] = []
    seen: dict[str, str] = {}
    for spec in specs:
        name = clean_name(spec.name)
        parent = clean_name(spec.parent) if spec.parent is not None and str(spec.parent).strip() else None
        key = name.casefold()
        if key in seen:
            raise VenueError(f"venue {name!r} is named twice (as {seen[key]!r}; names are compared without case)")
        if parent is not None and parent.casefold() == key:
            raise VenueError(f"venue {name!r} cannot be its own parent")
        seen[key] = name
        out.append(VenueSpec(name, parent))
    return out


def _parents_first(specs: list[VenueSpec]) -> list[VenueSpec]:
    """Order so a parent created by the same request comes before its children; VenueError on a cycle."""
    by_name = {s.name.casefold(): s for s in specs}
    done: set[str] = set()
    ordered: list[VenueSpec] = []

    def visit(spec: VenueSpec, path: tuple[str, ...]) -> None:
        key = spec.name.casefold()
        if key in done:
            return
        if key in path:
            raise VenueError(f"the parents of {spec.name!r} form a cycle")
        parent = by_name.get(spec.parent.casefold()) if spec.parent else None
        if parent is not None:
            visit(parent, (*path, key))
        done.add(key)
        ordered.append(spec)

    for spec in specs:
        visit(spec, ())
    return ordered


def read_taxonomy(path: Path) -> list[VenueSpec]:
    """The categories in a CSV (`name[,parent]`) or JSON (names, {name, parent} objects, or a tree) file."""
    if not path.is_file():
        raise VenueError(f"{path}: no such file")
    text = path.read_bytes().decode("utf-8-sig", errors="replace")
    if path.suffix.lower() == ".json":
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            raise VenueError(f"{path.name}: not valid JSON ({exc.msg}, line {exc.lineno})") from exc
        return _from_json(data, path.name)
    if path.suffix.lower() == ".csv":
        return _from_csv(text, path.name)
    raise VenueError(f"{path.name}: a taxonomy is a .csv (name[,parent]) or a .json file")


def _from_csv(text: str, source: str) -> list[VenueSpec]:
    reader = csv.DictReader(io.StringIO(text))
    columns = [(f or "").strip().lower() for f in reader.fieldnames or []]
    if "name" not in columns:
        raise VenueError(f"{source}: the CSV needs a header with a 'name' column (and optionally 'parent')")
    specs = []
    for row in reader:
        row = {(k or "").strip().lower(): (v or "") for k, v in row.items()}
        if row.get("name", "").strip():
            specs.append(VenueSpec(row["name"], row.get("parent", "").strip() or None))
    return specs


def _from_json(data: Any, source: str) -> list[VenueSpec]:
    if isinstance(data, list):
        specs = []
        for entry in data:
            if isinstance(entry, str):
                specs.append(VenueSpec(entry))
            elif isinstance(entry, dict) and "name" in entry:
                specs.append(VenueSpec(entry["name"], entry.get("parent") or None))
            else:
                raise VenueError(f"{source}: each list entry is a name or a {{\"name\", \"parent\"}} object, "
                                 f"not {entry!r}")
        return specs
    if isinstance(data, dict):
        specs = []
        _walk_tree(data, None, specs, source)
        return specs
    raise VenueError(f"{source}: expected a list of names or objects, or a {{parent: [children]}} tree")


def _walk_tree(node: Any, parent: str | None, out: list[VenueSpec], source: str) -> None:
    if isinstance(node, str):
        out.append(VenueSpec(node, parent))
    elif isinstance(node, dict):
        for name, children in node.items():
            out.append(VenueSpec(name, parent))
            if children:
                _walk_tree(children, name, out, source)
    elif isinstance(node, list):
        for child in node:
            _walk_tree(child, parent, out, source)
    else:
        raise VenueError(f"{source}: a tree holds names, lists and objects, not {node!r}")
