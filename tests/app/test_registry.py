"""The model registry end to end: a toy model added as one module (tests/app/toy_model.py) plus one
registry line trains through the CLI, is stored, activated and predicts every video; the shallow path
(a registered baseline) trains through the CLI, is listed and cannot be activated."""
from __future__ import annotations

import json
import sqlite3

import pytest
from sklearn.metrics import f1_score

from core.models import ModelConfig, registry
from core.models.registry import ModelSpec
from core.protocol import MethodSpec, ProtocolError, deep
from tests.app.test_training_service import run_cli
from tests.fixtures import AS_ADMIN, Workspace

TOY = ModelSpec("toy_mean", "ToyMean", "deep", False, "tests.app.toy_model:ToyMean", "mean-pooled softmax")


def test_the_builtin_registry_lists_the_papers_methods_in_order():
    assert registry.names("deep") == ("eastern", "lstms", "lstm_dl", "conv")
    assert registry.names("shallow") == ("tmdl", "tmdl_cs", "dmdl", "trumann")
    assert [registry.display(n) for n in registry.names()] == [
        "EASTERN", "LSTMs", "LSTM+DL", "CONV", "TMDL", "TMDL-CS", "DMDL", "TRUMANN"]
    assert [s.name for s in registry.specs() if s.has_atoms] == ["eastern", "lstm_dl", "conv", "tmdl", "tmdl_cs",
                                                                "dmdl"]


def test_an_unregistered_architecture_is_refused_everywhere_until_registered():
    with pytest.raises(ValueError, match="unknown architecture 'toy_mean'"):
        ModelConfig(arch="toy_mean")
    with pytest.raises(ProtocolError, match="unknown deep method 'toy_mean'"):
        MethodSpec("Toy", "deep", "toy_mean")
    with registry.registered(TOY):
        assert ModelConfig(arch="toy_mean").arch == "toy_mean"
        assert deep("toy_mean").name == "ToyMean"  # the display name names its rows
        with pytest.raises(ValueError, match="registered already"):
            registry.register_model(TOY)
    assert not registry.is_registered("toy_mean")


def test_a_toy_model_registered_in_one_line_trains_activates_and_predicts_through_the_cli(private_ws: Workspace):
    with registry.registered(TOY):
        code, stdout, stderr = run_cli(["train", "--model", "toy_mean", "--epochs", "3", "--seed", "2",
                                        "--activate", *AS_ADMIN])
        assert code == 0, stderr[-3000:]
        summary = json.loads(stdout)
        assert summary["architecture"] == "toy_mean" and summary["active"] is True and summary["epochs"] == 3
        code, stdout, _ = run_cli(["models"])
        assert code == 0 and any(json.loads(line)["architecture"] == "toy_mean" for line in stdout.splitlines())
    from app.context import get_context
    from app.services import models as model_service

    row = model_service.get(get_context(), summary["id"])
    metrics = row.metrics
    assert [e["epoch"] for e in metrics["history"]][-1] <= 3
    labels, predicted = metrics["test_labels"], metrics["test_predicted"]
    assert len(labels) == len(predicted) == metrics["n_test"] > 0
    assert summary["micro_f1"] == pytest.approx(f1_score(labels, predicted, average="micro"))
    with sqlite3.connect(private_ws.home / "eastern.db") as conn:
        n_preds = conn.execute("select count(*) from predictions where model_version_id = ?",
                               (summary["id"],)).fetchone()[0]
        n_videos = conn.execute("select count(*) from videos").fetchone()[0]
    assert n_preds == n_videos == 30
    assert not (private_ws.home / "models" / f"atoms-{summary['id']}.npz").exists()  # no dictionary, no atoms


def test_a_shallow_baseline_trains_through_the_cli_is_listed_and_cannot_be_activated(private_ws: Workspace):
    code, stdout, stderr = run_cli(["train", "--model", "dmdl", "--seed", "1", *AS_ADMIN])
    assert code == 0, stderr[-3000:]
    summary = json.loads(stdout)
    assert summary["architecture"] == "dmdl" and summary["active"] is False
    from app.context import get_context
    from app.services import models as model_service

    row = model_service.get(get_context(), summary["id"])
    assert row.checkpoint_path.endswith("model.pkl") and (private_ws.home / row.checkpoint_path).is_file()
    assert summary["micro_f1"] == pytest.approx(
        f1_score(row.metrics["test_labels"], row.metrics["test_predicted"], average="micro"))
    assert row.config["epochs"] is None and "params" in row.config
    code, _, stderr = run_cli(["promote", str(summary["id"]), *AS_ADMIN])
    assert code == 2 and "shallow baseline dmdl" in stderr
    code, _, stderr = run_cli(["train", "--model", "dmdl", "--activate", *AS_ADMIN])
    assert code == 2 and "cannot be activated" in stderr
