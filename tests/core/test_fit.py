"""One function fits one method on one split (core/fit.py): training, cross-validation and the protocol size a
model and run its fit there, so a change to how a method is fitted reaches all three. Their behaviour is tested
through those callers (test_training_service trains deep and shallow versions, test_protocol runs both kinds,
test_label_loop cross-validates)."""
from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def _callers(name: str, *, attributes: bool = True) -> set[str]:
    """Files under app/ and core/ that call `name(...)` (as a bare name, or an attribute unless told not to:
    `model.train()` is torch's mode switch, not the fit)."""
    found = set()
    for path in [*ROOT.joinpath("app").rglob("*.py"), *ROOT.joinpath("core").rglob("*.py")]:
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Call):
                fn = node.func
                attr = fn.attr if attributes and isinstance(fn, ast.Attribute) else None
                called = fn.id if isinstance(fn, ast.Name) else attr
                if called == name:
                    found.add(path.relative_to(ROOT).as_posix())
    return found


def test_models_are_sized_and_fitted_in_one_place():
    # core.train.train, the deep fit; core/ddp.py runs that same fit in each process of a distributed run
    assert _callers("train", attributes=False) == {"core/fit.py", "core/ddp.py"}
    assert _callers("build_baseline") == {"core/fit.py"}  # the shallow fit
    assert "core/fit.py" in _callers("ModelConfig")
    assert _callers("ModelConfig") <= {"core/fit.py", "core/models/config.py", "core/train.py", "core/ddp.py"}
