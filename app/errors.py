"""User errors: the ones a person can act on, turned into one clear line by the CLI (app.cli.main) and the pages
(app.ui.components.attempt); anything else is a bug and raises.

An error class of app/ subclasses `UserError`. The layers below cannot import app/, so their user-facing errors
(core: bad media, a corpus or protocol problem, a bad feature file; db: an unknown id or venue, a conflict, an
account problem) are listed here, once, and registered as UserErrors when first needed (importing them here
would import torch into every command)."""
from __future__ import annotations

import importlib
from abc import ABCMeta

FOREIGN = (
    "core.media:MediaError", "core.corpus.generate:CorpusError", "core.protocol:ProtocolError",
    "core.h5import:FeatureImportError", "core.ood:OodError", "db.repo:RepoError",
)


class UserError(Exception, metaclass=ABCMeta):
    """Something the user can fix; the message says what and how, in one line."""


UserError.register(FileNotFoundError)
_registered = False


def _register_foreign() -> None:
    global _registered
    if not _registered:
        for target in FOREIGN:
            module, _, name = target.partition(":")
            UserError.register(getattr(importlib.import_module(module), name))
        _registered = True


def user_message(exc: BaseException) -> str | None:
    """The one-line message for a known, user-facing error; None for a bug (let it raise)."""
    _register_foreign()
    return str(exc) if isinstance(exc, UserError) else None
