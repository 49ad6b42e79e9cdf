"""One base for the errors a user can act on: app's own subclass it, the layers below are registered once, and a
bug is never turned into a line."""
from __future__ import annotations

import importlib

import pytest

from app.errors import FOREIGN, UserError, user_message


@pytest.mark.parametrize("target", [
    "app.services.ingest:IngestError", "app.services.export:ExportError", "app.services.training:TrainingError",
    "app.services.jobs:JobError", "app.services.reproduce:ReproduceError", "app.services.status:NotReady",
    "app.services.accounts:PermissionDenied", "app.services.venues:VenueError",
    "app.services.backup:BackupError", *FOREIGN,
])
def test_user_errors_become_one_line(target: str) -> None:
    module, _, name = target.partition(":")
    cls = getattr(importlib.import_module(module), name)
    exc = cls.__new__(cls)
    Exception.__init__(exc, "what went wrong, and what to do")
    assert user_message(exc) is not None and issubclass(cls, UserError)


def test_a_bug_is_not_a_user_error() -> None:
    for exc in (ValueError("x"), KeyError("k"), AttributeError("a"), RuntimeError("r")):
        assert user_message(exc) is None
