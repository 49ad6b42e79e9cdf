"""AppTest fixtures: the shared small workspace, with the process's settings pointed at it."""
from __future__ import annotations

import pytest

from tests.fixtures import Workspace, shared_workspace, workspace_env


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
