"""AppTest fixtures: the shared small workspace, with the process's settings pointed at it, and a
private copy of it for tests that write (labels, jobs, promotions)."""
from __future__ import annotations

import dataclasses
import shutil
from pathlib import Path

import pytest

from tests.fixtures import Workspace, shared_workspace, workspace_env, workspace_settings


@pytest.fixture(scope="session")
def workspace(tmp_path_factory: pytest.TempPathFactory) -> Workspace:
    return shared_workspace(tmp_path_factory)


@pytest.fixture()
def ws_env(workspace: Workspace):
    """The workspace as this process's EASTERN_HOME, and Streamlit's caches emptied around each test."""
    import streamlit as st

    with workspace_env(workspace):
        st.cache_data.clear()
        yield workspace
        st.cache_data.clear()


@pytest.fixture()
def ws_ctx(ws_env: Workspace):
    from app.context import get_context

    return get_context()


@pytest.fixture()
def private_ws(workspace: Workspace, tmp_path: Path):
    """A copy of the shared workspace for a test that changes it, as this process's EASTERN_HOME
    (the shared one stays as the other tests and the browser test expect it)."""
    import streamlit as st

    home = tmp_path / "home"
    shutil.copytree(workspace.home, home, ignore=shutil.ignore_patterns("cache", "*.log"))
    copy = dataclasses.replace(workspace, home=home, db_url=workspace_settings(home).db_url)
    with workspace_env(copy):
        st.cache_data.clear()
        st.cache_resource.clear()
        yield copy
        st.cache_data.clear()
        st.cache_resource.clear()
