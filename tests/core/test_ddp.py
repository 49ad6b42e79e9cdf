"""DistributedDataParallel on the CPU: two gloo processes under torchrun train a tiny model."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import torch

from core.data import FeatureSet
from core.train import load_checkpoint

ROOT = Path(__file__).resolve().parents[2]
TINY = {"visual_hidden": 6, "acoustic_hidden": 5, "text_hidden": 4, "common_dim": 6, "atoms": 5}


def test_two_gloo_ranks_finish_with_identical_weights(tmp_path):
    rng = np.random.default_rng(0)
    n = 42
    labels = np.arange(n) % 3
    lengths = rng.integers(0, 5, n)
    FeatureSet(rng.normal(size=(n, 12, 8)).astype(np.float16), rng.normal(size=(n, 6, 5)).astype(np.float16),
               rng.normal(size=(n, 4, 3)).astype(np.float16), lengths, labels, [str(i) for i in range(n)],
               ["a", "b", "c"]).save(tmp_path / "features.npz")
    env = {**os.environ, "PYTHONPATH": str(ROOT), "OMP_NUM_THREADS": "1"}
    cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", "2",
           "-m", "core.ddp", "--data", str(tmp_path / "features.npz"), "--out", str(tmp_path / "model.pt"),
           "--epochs", "3", "--batch-size", "8", "--threads", "1", "--patience", "5",
           "--model-json", json.dumps(TINY), "--rank-states", str(tmp_path / "ranks"),
           "--resume-checkpoint", str(tmp_path / "resume.pt")]
    done = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]

    rank0 = torch.load(tmp_path / "ranks" / "rank0.pt", weights_only=True)
    rank1 = torch.load(tmp_path / "ranks" / "rank1.pt", weights_only=True)
    assert rank0.keys() == rank1.keys()
    assert all(torch.equal(rank0[k], rank1[k]) for k in rank0)

    model, cfg, meta = load_checkpoint(tmp_path / "model.pt")
    assert cfg.visual_dim == 8 and cfg.atoms == 5 and cfg.num_classes == 3
    assert [e["epoch"] for e in meta["history"]] == [1, 2, 3]
    assert meta["train_config"]["world_size"] == 2
    assert all(torch.equal(model.state_dict()[k], rank0[k]) for k in rank0)
    assert sum('"epoch"' in line for line in done.stdout.splitlines()) == 3  # rank 0 reports, once per epoch
