"""The active-learning benchmark runs on a copy of the small test workspace (no corpus to build) and writes both
orders' curves."""
from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.fixtures import WORKSPACE_SEED, shared_workspace

ROOT = Path(__file__).resolve().parents[2]


def test_active_learning_benchmark_compares_queue_and_random(tmp_path: Path,
                                                             tmp_path_factory: pytest.TempPathFactory) -> None:
    from core.corpus.generate import P_LABEL_NOISE

    home = tmp_path / "home"
    shutil.copytree(shared_workspace(tmp_path_factory).home, home)
    (home / "built.json").write_text(json.dumps({"videos": 30, "seed": WORKSPACE_SEED, "noise": P_LABEL_NOISE}))
    out = tmp_path / "al.json"
    run = subprocess.run([sys.executable, "benchmarks/active_learning.py", "--home", str(home), "--seeds", "1",
                          "--epochs", "1", "--budgets", "0.2,0.5", "--json", str(out)],
                         cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert run.returncode == 0, run.stderr[-2000:]
    figures = json.loads(out.read_text())
    assert set(figures["mean"]) == {"queue", "random"} and len(figures["mean"]["queue"]) == 2
    assert figures["budgets"][0] < figures["budgets"][1] <= figures["pool"]
    assert all(0.0 <= f <= 1.0 for curve in figures["curves"].values() for run_ in curve for f in run_)
    assert "queue Macro-F" in run.stdout and "the queue reaches it with" in run.stdout
