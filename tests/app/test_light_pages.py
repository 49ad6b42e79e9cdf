"""The pages start without torch: a page that only lists, filters or promotes must not pay for torch, captum and
the model code on its first run (seconds on a cold server, hundreds of MiB). Each page is run as an admin in one
fresh interpreter, and after each run the test checks that torch was not imported. Video detail is the page that
explains and the two that read checkpoints (EXPLAINS, below) are left out. The Models page compares two versions on
the test split from their stored predictions; a version without them gets them computed once (torch), so the test
computes them first, as the first comparison would have."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from app.ui import pages

ROOT = Path(__file__).resolve().parents[2]

# Pages that run a model when they open: Video detail (the live modality ablation), the Atom explorer (an atom's
# class weights come from the checkpoint) and the Case study (each method's prediction, computed from its
# checkpoint once and cached).
EXPLAINS = {"video", "atoms", "casestudy"}

SCRIPT = "EXPLAINS = " + repr(EXPLAINS) + r"""
import json, sys
from streamlit.testing.v1 import AppTest
from app.context import get_context
from app.services import accounts
from app.ui import pages

ctx = get_context()
account = accounts.get(ctx, "light-admin") or accounts.create(ctx, name="light-admin", role="admin",
                                                               password="light-admin-pw-" * 2, actor="test")
auth = accounts.start_session(ctx, account)
heavy = {}
for page in pages.PAGES:
    if page.key in EXPLAINS:
        continue
    at = AppTest.from_file(sys.argv[1], default_timeout=120)
    at.session_state["auth"] = auth
    at.run()
    at.switch_page(page.file)
    at.run()
    errors = [str(e.value) for e in at.exception]
    heavy[page.key] = {"torch": "torch" in sys.modules, "captum": "captum" in sys.modules, "errors": errors}
print(json.dumps(heavy))
"""


def test_no_page_imports_torch_on_its_first_run(private_ws) -> None:
    from app.context import get_context
    from app.services import models
    from db import queries
    from db.session import session_scope

    ctx = get_context()
    for version in models.list_models(ctx):
        with session_scope(ctx.engine) as session:
            stored = queries.has_predictions(session, model_version_id=version.id)
        if not stored and not models.is_shallow(version.architecture):
            models.recompute_predictions(ctx, version.id)
    env = {**os.environ, **private_ws.env(), "PYTHONPATH": str(ROOT)}
    done = subprocess.run([sys.executable, "-c", SCRIPT, str(ROOT / "app" / "ui" / "main.py")], env=env, cwd=ROOT,
                          capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    heavy = json.loads(done.stdout.strip().splitlines()[-1])
    assert set(heavy) == {page.key for page in pages.PAGES} - EXPLAINS
    assert not {k: v["errors"] for k, v in heavy.items() if v["errors"]}
    assert [k for k, v in heavy.items() if v["torch"] or v["captum"]] == []
