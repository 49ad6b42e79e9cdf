"""Turn the errors a user can act on into one clear line."""
from __future__ import annotations


def user_message(exc: BaseException) -> str | None:
    """The one-line message for a known, user-facing error; None for a bug (let it raise)."""
    from app.services.export import ExportError
    from app.services.ingest import IngestError
    from app.services.reproduce import USER_ERRORS as REPRODUCE_ERRORS
    from app.services.training import TrainingError
    from core.corpus import CorpusError
    from core.media import MediaError
    from core.ood import OodError
    from db.repo import RepoError

    known = (IngestError | ExportError | MediaError | RepoError | TrainingError | CorpusError | OodError
             | FileNotFoundError)
    if isinstance(exc, known) or isinstance(exc, REPRODUCE_ERRORS):
        return str(exc)
    return None
