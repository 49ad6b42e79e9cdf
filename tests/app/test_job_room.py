"""The job room (app.services.jobs): one request class per kind feeds the CLI flags, the Retrain form and the
worker; every path that starts, promotes or cancels work acts as an account, is checked in the service and
writes exactly one audit row; listing jobs writes nothing."""
from __future__ import annotations

import argparse
import sqlite3
from dataclasses import dataclass, field
from typing import ClassVar

import pytest

from app.services.training import TrainRequest
from tests.app.test_training_service import run_cli
from tests.fixtures import AS_ADMIN, Workspace


@dataclass(frozen=True)
class ToyRequest(TrainRequest):
    """A training request with one more option, as a contributor would add it."""

    kind: ClassVar[str] = "train"
    warmup_epochs: int = field(default=3, metadata={"help": "epochs at a lower learning rate"})


def test_a_new_request_field_is_a_cli_flag_and_a_form_widget() -> None:
    from streamlit.testing.v1 import AppTest

    from app.commands_base import add_request_args, request_from_args

    parser = argparse.ArgumentParser()
    add_request_args(parser, ToyRequest, aliases={"architecture": "--model"})
    args = parser.parse_args(["--warmup-epochs", "7", "--model", "lstms", "--modalities", "v,t", "--activate"])
    request = request_from_args(ToyRequest, args)
    assert request.warmup_epochs == 7 and request.architecture == "lstms" and request.activate
    assert request.modalities == ("visual", "textual")
    assert request_from_args(ToyRequest, parser.parse_args([])) == ToyRequest()

    def page() -> None:
        from app.ui.request_form import request_form
        from tests.app.test_job_room import ToyRequest

        values = request_form(ToyRequest, key="toy", submit="Go")
        if values is not None:
            import streamlit as st

            st.text(repr(ToyRequest.from_dict(values)))

    at = AppTest.from_function(page).run()
    assert at.number_input(key="toy_warmup_epochs").value == 3
    at.number_input(key="toy_warmup_epochs").set_value(5)
    at.button(key="toy_start").click().run()
    assert not at.exception
    assert "warmup_epochs=5" in at.text[0].value and "architecture='eastern'" in at.text[0].value


def _audit_count(ws: Workspace, action: str) -> int:
    with sqlite3.connect(ws.home / "eastern.db") as conn:
        return conn.execute("select count(*) from audit_events where action = ?", (action,)).fetchone()[0]


@pytest.mark.parametrize(("argv", "action"), [
    (["train", "--epochs", "1", "--seed", "3"], "retrain"),
    (["train", "--background", "--epochs", "1"], "retrain"),
    (["retrain", "--epochs", "1"], "retrain"),
    (["crossval", "--background", "--folds", "2", "--epochs", "1"], "crossval"),
    (["promote", "PREVIOUS"], "promote"),
])
def test_each_command_that_changes_data_needs_an_account_and_audits_once(private_ws: Workspace, argv: list[str],
                                                                          action: str) -> None:
    from app.context import get_context
    from app.services import jobs

    if argv[-1] == "PREVIOUS":
        argv = [*argv[:-1], str(private_ws.other_model)]
    before = _audit_count(private_ws, action)
    for who in ([], ["--who", "admin"], ["--who", "admin", "--password", "wrong-password"],
                ["--who", "ann", "--password", private_ws.annotator_password]):
        code, _, stderr = run_cli([*argv, *who])
        assert code == 2 and stderr.strip(), (who, stderr)
        assert "Traceback" not in stderr
    assert _audit_count(private_ws, action) == before
    code, _, stderr = run_cli([*argv, *AS_ADMIN])
    assert code == 0, stderr[-2000:]
    assert _audit_count(private_ws, action) == before + 1
    for job in jobs.list_jobs(get_context()):  # leave no worker running behind the test
        if job.active:
            jobs.cancel(get_context(), job.id, who="admin")


def test_a_viewer_cannot_start_promote_or_cancel_through_any_service(private_ws: Workspace) -> None:
    from app.context import get_context
    from app.services import accounts, jobs, models, requests
    from app.services.crossval import CrossvalRequest

    ctx = get_context()
    accounts.create(ctx, name="vera", role="viewer", password="vera-password-long", actor="test")
    with pytest.raises(accounts.PermissionDenied):
        jobs.submit(ctx, TrainRequest(epochs=1), who="vera")
    with pytest.raises(accounts.PermissionDenied):
        jobs.run_inline(ctx, CrossvalRequest(folds=2, epochs=1), who="vera")
    with pytest.raises(accounts.PermissionDenied):
        requests.start_crossval(ctx, who="vera")
    with pytest.raises(accounts.PermissionDenied):
        models.promote(ctx, private_ws.other_model, who="vera")
    with pytest.raises(accounts.PermissionDenied):
        models.promote(ctx, private_ws.other_model, who="nobody")
    from db import repo
    from db.session import session_scope

    with session_scope(ctx.engine) as session:
        job_id = repo.create_job(session, params=TrainRequest().to_dict(), created_by="admin")
    with pytest.raises(accounts.PermissionDenied):
        jobs.cancel(ctx, job_id, who="vera")
    assert not jobs.get_job(ctx, job_id).cancel_requested


def test_listing_jobs_writes_nothing_and_shows_a_dead_worker_as_failed(private_ws: Workspace) -> None:
    from app.context import get_context
    from app.services import jobs
    from db import repo
    from db.session import session_scope

    ctx = get_context()
    with session_scope(ctx.engine) as session:
        job_id = repo.create_job(session, params=TrainRequest().to_dict(), created_by="admin")
        repo.claim_job(session, job_id=job_id, pid=2 ** 22 + 17)  # no such process
    view = jobs.get_job(ctx, job_id)
    assert view.status == "failed" and "died without finishing" in view.error
    assert isinstance(view.request, TrainRequest)
    with session_scope(ctx.engine) as session:
        assert repo.get_job(session, job_id=job_id).status == "running"  # read, not written
    assert jobs.reap_dead_jobs(ctx) == [job_id]
    with session_scope(ctx.engine) as session:
        assert repo.get_job(session, job_id=job_id).status == "failed"
