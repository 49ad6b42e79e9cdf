"""Every page in every state a new user meets: an empty home, videos without labels, labels without a model, a
model without an out-of-sample set, a model with one, training and cross-validation jobs running, finished and
failed, no account yet, and signed out or signed in as each role. No exception anywhere, and the pages that
cannot show their content yet say what to do next.

The states are made from copies of the shared workspace (real files, features and models), with the rows a
state lacks deleted in its SQLite file: building each from scratch would cost minutes."""
from __future__ import annotations

import dataclasses
import os
import shutil
import sqlite3
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from app.ui import pages
from tests.fixtures import Workspace, workspace_env, workspace_settings

MAIN = str(Path(__file__).resolve().parents[2] / "app" / "ui" / "main.py")
TIMEOUT = 90


def _exec(db: Path, *statements: str, params: tuple = ()) -> None:
    with sqlite3.connect(db) as con:
        for sql in statements:
            con.execute(sql, params if "?" in sql else ())


def _no_oos(db: Path) -> None:
    _exec(db, "DELETE FROM oos_predictions", "DELETE FROM prediction_sets")


def _no_models(db: Path) -> None:
    _no_oos(db)
    _exec(db, "DELETE FROM predictions", "UPDATE training_jobs SET model_version_id = NULL",
          "DELETE FROM model_versions")


def _no_labels(db: Path) -> None:
    _no_models(db)
    _exec(db, "UPDATE videos SET current_venue_id = NULL, version = 0", "DELETE FROM labels")


def _empty(db: Path) -> None:
    _no_labels(db)
    _exec(db, "DELETE FROM training_jobs", "DELETE FROM video_triage", "DELETE FROM videos")


def _no_map(db: Path) -> None:
    _exec(db, "DELETE FROM data_issues", "DELETE FROM embedding_runs")


def _no_accounts(db: Path) -> None:
    _exec(db, "DELETE FROM users")


def _job(kind: str, status: str) -> Callable[[Path], None]:
    """A job row of `kind` in `status`; a running one names this test process as its worker (alive)."""
    def add(db: Path) -> None:
        now = datetime.now(UTC).isoformat(sep=" ")
        pid = os.getpid() if status == "running" else None
        _exec(db, "INSERT INTO training_jobs (status, kind, params, progress, epoch, message, history, log, error, pid,"
                  " cancel_requested, heartbeat_at, created_at, started_at, finished_at, created_by) VALUES "
                  "(?, ?, '{}', 0.4, 1, 'fold 2 of 5', '[]', '', ?, ?, 0, ?, ?, ?, ?, 'admin')",
              params=(status, kind, "worker died: boom" if status == "failed" else None, pid, now, now, now,
                      None if status == "running" else now))
    return add


STATES: dict[str, tuple[Callable[[Path], None], ...]] = {
    "empty home": (_empty,),
    "empty home, no account yet": (_empty, _no_accounts),
    "videos without labels": (_no_labels,),
    "labels without a model": (_no_models,),
    "a model without an out-of-sample set": (_no_oos,),
    "a model with an out-of-sample set": (),
    "cross-validation running": (_job("crossval", "running"),),
    "cross-validation finished": (_job("crossval", "done"),),
    "cross-validation failed": (_job("crossval", "failed"),),
    "training running": (_job("train", "running"),),
    "training finished": (_job("train", "done"),),
    "training failed, no model": (_no_models, _job("train", "failed")),
    "a model, its map being computed": (_no_map, _job("embeddings", "running")),
}

PAGES = [p.key for p in pages.PAGES]
ROLES = (None, "viewer", "annotator", "admin")
# every role in the states where what a role sees differs most; the visitor and the admin (who sees every page)
# elsewhere: the matrix stays a few minutes on 2 cores
ALL_ROLES_STATES = ("a model with an out-of-sample set", "labels without a model", "cross-validation running")


@pytest.fixture(scope="module")
def state_homes(workspace: Workspace, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Workspace]:
    root = tmp_path_factory.mktemp("states")
    homes = {}
    for i, (name, steps) in enumerate(STATES.items()):
        home = root / f"s{i}"
        shutil.copytree(workspace.home, home, ignore=shutil.ignore_patterns("cache", "*.log"))
        for step in steps:
            step(home / "eastern.db")
        homes[name] = dataclasses.replace(workspace, home=home, db_url=workspace_settings(home).db_url)
    return homes


@pytest.fixture()
def in_state(state_homes: dict[str, Workspace]) -> Iterator[Callable[[str], Workspace]]:
    import streamlit as st

    stack = []

    def enter(name: str) -> Workspace:
        cm = workspace_env(state_homes[name])
        stack.append(cm)
        st.cache_data.clear()
        st.cache_resource.clear()
        return cm.__enter__()

    yield enter
    for cm in reversed(stack):
        cm.__exit__(None, None, None)
    st.cache_data.clear()
    st.cache_resource.clear()


def _session_of(role: str):  # noqa: ANN202 - app.services.accounts.SignedIn
    from app.context import get_context
    from app.services import accounts

    ctx = get_context()
    name = f"state-{role}"
    account = accounts.get(ctx, name) or accounts.create(ctx, name=name, role=role, password="pw-" + name * 4,
                                                         actor="test")
    return accounts.start_session(ctx, account)


class NotOffered(Exception):
    """The page is not in this role's navigation (as it should be for upload and accounts)."""


def _run(page: str, role: str | None) -> AppTest:
    at = AppTest.from_file(MAIN, default_timeout=TIMEOUT)
    if role:
        at.session_state["auth"] = _session_of(role)
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    try:
        at.switch_page(pages.PAGE_FILES[page])
    except ValueError as exc:
        raise NotOffered(page) from exc
    if page == "video":
        at.query_params["video"] = "1"
    at.run()
    return at


def _texts(at: AppTest) -> str:
    parts = []
    for kind in ("markdown", "caption", "success", "error", "warning", "info", "title", "header", "subheader", "text"):
        parts += [str(e.value) for e in getattr(at, kind)]
    return "\n".join(parts)


def _walk(role: str | None) -> Iterator[tuple[str, AppTest | None]]:
    """Every page as one person would open them in turn in one session (the default page first, then each page
    from the navigation): (page, its run), or (page, None) when the navigation does not offer it to the role.
    One session for all pages runs each page once instead of the default page before each."""
    at = AppTest.from_file(MAIN, default_timeout=TIMEOUT)
    if role:
        at.session_state["auth"] = _session_of(role)
    at.run()
    default = next(p.key for p in pages.PAGES if p.default)
    yield default, at
    for page in PAGES:
        if page == default:
            continue
        try:
            at.switch_page(pages.PAGE_FILES[page])
        except ValueError:
            yield page, None
            continue
        if page == "video":
            at.query_params["video"] = "1"
        else:
            at.query_params.pop("video", None)
        at.run()
        yield page, at


@pytest.mark.parametrize("state", list(STATES))
def test_every_page_in_every_state(in_state: Callable[[str], Workspace], state: str) -> None:
    in_state(state)
    failures = []
    roles = ROLES if state in ALL_ROLES_STATES else (None, "admin")
    for role in roles:
        if role is not None and "no account" in state:
            continue
        for page, at in _walk(role):
            if at is None:
                if role == "admin" or (page == "upload" and role == "annotator"):
                    failures.append(f"{page} is not offered to {role}")
                continue
            if at.exception:
                failures.append(f"{page} as {role or 'visitor'}: {[e.value for e in at.exception][:1]}")
            elif not at.title and not at.subheader:
                failures.append(f"{page} as {role or 'visitor'}: drew no title")
    assert not failures, f"{state}:\n" + "\n".join(failures)


def test_empty_home_says_what_to_do_next(in_state: Callable[[str], Workspace]) -> None:
    in_state("empty home")
    browse = _texts(_run("browse", "admin"))
    assert "python -m app ingest" in browse or "Upload" in browse
    video = _texts(_run("video", None))
    assert "no video with id 1" in video


def test_no_account_says_how_to_create_the_first_admin(in_state: Callable[[str], Workspace]) -> None:
    in_state("empty home, no account yet")
    at = _run("browse", None)
    assert "python -m app users add" in _texts(at) and "--role admin" in _texts(at)


def test_labels_without_a_model_point_to_training(in_state: Callable[[str], Workspace]) -> None:
    in_state("labels without a model")
    for page in ("models", "failures", "atoms"):
        assert "train" in _texts(_run(page, "admin")).lower(), page


def test_a_new_page_is_one_file_and_one_line(in_state: Callable[[str], Workspace], tmp_path: Path,
                                             monkeypatch: pytest.MonkeyPatch) -> None:
    """A toy page added to app/ui/pages.py appears in the navigation for the role it names, and only there."""
    toy = tmp_path / "toy.py"
    toy.write_text("import streamlit as st\n\nst.title('Toy page')\nst.text('hello from the toy page')\n")
    in_state("a model with an out-of-sample set")
    spec = pages.PageSpec("toy", str(toy), "Toy", ":material/toys:", "Videos", action="upload")
    monkeypatch.setattr(pages, "PAGES", (*pages.PAGES, spec))
    monkeypatch.setitem(pages.PAGE_FILES, "toy", str(toy))
    at = _run("toy", "annotator")
    assert "Toy page" in [t.value for t in at.title] and not at.exception
    with pytest.raises(NotOffered):
        _run("toy", "viewer")
