"""The extraction benchmark runs (at smoke size) and its figures hang together; scale.py reads them."""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def figures(tmp_path_factory) -> dict:
    out = tmp_path_factory.mktemp("bench") / "extract.json"
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    run = subprocess.run([sys.executable, "benchmarks/extract.py", "--quick", "--threads", "1", "--workers", "1",
                          "--device", "cpu", "--json", str(out)], cwd=ROOT, env=env, capture_output=True,
                         text=True, timeout=300)
    assert run.returncode == 0, run.stderr[-2000:]
    assert "bare encoder forward by batch size" in run.stdout and "ratios: pipeline / floor" in run.stdout
    return json.loads(out.read_text())


def test_floor_is_the_sum_of_its_stages_at_the_fastest_batch(figures):
    stages, by_batch = figures["floor_stages_s_per_video"], figures["bare_encoder_s_per_video_by_batch"]
    assert figures["floor_s_per_video"] == pytest.approx(sum(stages.values()))
    assert stages["encoder"] == pytest.approx(min(by_batch.values()))
    assert by_batch[str(figures["floor_encoder_batch"])] == pytest.approx(stages["encoder"])
    assert str(figures["encoder_batch"]) in by_batch  # the pipeline's own forward size is in the sweep
    big = min(t for b, t in by_batch.items() if int(b) >= 64)
    assert figures["floor_batch_ge64_s_per_video"] == pytest.approx(stages["decode"] + big + stages["librosa"])
    assert figures["ratio_full_to_floor"] == pytest.approx(figures["full_s_per_video"] / figures["floor_s_per_video"])
    assert figures["videos_per_s"] == pytest.approx(1 / figures["full_s_per_video"])
    assert figures["speedup_over_moviepy_path"] == pytest.approx(
        figures["videos_per_s"] / figures["moviepy_path_videos_per_s"])


def test_scale_document_is_written_from_the_figures(figures, tmp_path):
    results = tmp_path / "results"
    results.mkdir()
    (results / "extract.json").write_text(json.dumps(figures))
    for name in ("dashboard-200k-sqlite.json", "dashboard-200k-postgresql.json"):
        if (ROOT / "docs" / name).exists():
            shutil.copy(ROOT / "docs" / name, tmp_path / name)
    out = tmp_path / "scale.md"
    run = subprocess.run([sys.executable, "benchmarks/scale.py", "--results", str(results), "--gpu-results",
                          str(tmp_path / "none"), "--docs", str(tmp_path), "--out", str(out)], cwd=ROOT,
                         capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stderr[-2000:]
    text = out.read_text()
    assert f"batch {figures['floor_encoder_batch']}, the fastest measured" in text
    assert f"{figures['videos_per_s']:.2f}" in text and "floor with a batch >= 64 forward" in text
