"""Importing precomputed features in the public VENUE-188 HDF5 layout, and reproducing from them alone.

A small file in the release's layout (X_/y_/id_ train, valid, test; columns 0:4096 visual, 4096:4296
acoustic, 4296:4396 textual; 0-based labels over the 188 venues) is written with h5py.
"""
from __future__ import annotations

import contextlib
import io
import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from core.h5import import FeatureImportError, load_bundle, read_venue188_h5
from core.venues import venue188_names

h5py = pytest.importorskip("h5py")

REPO = Path(__file__).resolve().parents[2]
VENUES = (3, 17, 42, 150)  # 0-based VENUE-188 labels present in the file
SIZES = {"train": 48, "valid": 12, "test": 16}


def write_h5(path: Path, *, seed: int = 0, drop: str | None = None, columns: int = 4396,
             labels: dict[str, np.ndarray] | None = None, one_hot: bool = False) -> dict[str, dict[str, np.ndarray]]:
    """A VENUE-188 layout file whose classes differ in the mean of every modality; returns its arrays."""
    rng = np.random.default_rng(seed)
    arrays: dict[str, dict[str, np.ndarray]] = {}
    with h5py.File(path, "w") as f:
        for part, n in SIZES.items():
            y = np.array([VENUES[i % len(VENUES)] for i in range(n)], dtype=np.int64)
            if labels and part in labels:
                y = labels[part]
            X = rng.normal(size=(n, columns)).astype(np.float32)
            X += (np.searchsorted(VENUES, y) % len(VENUES))[:, None].astype(np.float32)  # class signal
            ids = np.array([f"{part}-{i:04d}".encode() for i in range(n)])
            arrays[part] = {"X": X, "y": y, "id": ids}
            for kind, value in (("X", X), ("y", np.eye(188, dtype=np.float32)[y] if one_hot else y), ("id", ids)):
                if f"{kind}_{part}" != drop:
                    f.create_dataset(f"{kind}_{part}", data=value)
    return arrays


@contextlib.contextmanager
def home_env(home: Path) -> Iterator[None]:
    """EASTERN_HOME (and its SQLite file) for app.cli.main in this process."""
    from app.context import get_context
    from app.settings import get_settings

    env = {"EASTERN_HOME": str(home), "EASTERN_DB_URL": f"sqlite:///{home / 'eastern.db'}"}
    saved = {k: os.environ.get(k) for k in env}
    os.environ.update(env)
    get_settings.cache_clear()
    get_context.cache_clear()
    try:
        yield
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
        get_settings.cache_clear()
        get_context.cache_clear()


def run_cli(argv: list[str]) -> tuple[int, str, str]:
    from app.cli import main

    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main(argv)
    return code, out.getvalue(), err.getvalue()


@pytest.fixture(scope="module")
def imported(tmp_path_factory: pytest.TempPathFactory):
    """`python -m app import-features FILE.h5` in a fresh EASTERN_HOME (a real process, as a user runs it)."""
    root = tmp_path_factory.mktemp("h5")
    home = root / "home"
    path = root / "venue188-small.h5"
    arrays = write_h5(path)
    env = {**os.environ, "EASTERN_HOME": str(home), "EASTERN_DB_URL": f"sqlite:///{home / 'eastern.db'}"}
    proc = subprocess.run([sys.executable, "-m", "app", "import-features", str(path)], cwd=REPO, env=env,
                          capture_output=True, text=True, timeout=300, check=False)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return home, path, arrays, json.loads(proc.stdout)


# ----------------------------------------------------------------- import


def test_import_features_prints_a_summary_and_writes_a_bundle(imported):
    home, path, _, summary = imported
    assert summary["name"] == "venue188-small"
    assert summary["videos"] == sum(SIZES.values())
    assert summary["classes"] == len(VENUES)
    assert (summary["train"], summary["valid"], summary["test"]) == (48, 12, 16)
    assert summary["dims"] == {"visual": 4096, "acoustic": 200, "textual": 100}
    assert summary["use"] == "python -m app reproduce --features venue188-small"
    folder = home / "imported" / "venue188-small"
    assert Path(summary["folder"]) == folder
    assert (folder / "features.npz").is_file() and (folder / "meta.json").is_file()
    meta = json.loads((folder / "meta.json").read_text(encoding="utf-8"))
    assert meta["venue188_index"] == list(VENUES) and meta["source"] == str(path)


def test_bundle_holds_the_files_columns_labels_ids_and_split(imported):
    home, _, arrays, _ = imported
    bundle = load_bundle(home / "imported", "venue188-small")
    data, names = bundle.data, venue188_names()
    X = np.concatenate([arrays[p]["X"] for p in SIZES])
    y = np.concatenate([arrays[p]["y"] for p in SIZES])
    assert (data.visual.shape, data.acoustic.shape, data.text.shape) == ((76, 1, 4096), (76, 1, 200), (76, 1, 100))
    np.testing.assert_allclose(data.visual[:, 0].astype(np.float32), X[:, :4096], rtol=1e-3, atol=1e-3)
    np.testing.assert_array_equal(data.acoustic[:, 0], X[:, 4096:4296])
    np.testing.assert_array_equal(data.text[:, 0], X[:, 4296:4396])
    assert data.text_lengths.tolist() == [1] * 76
    # labels re-indexed to the venues present; the names are the VENUE-188 ones of the 0-based labels
    assert data.class_names == [names[v] for v in VENUES]
    assert [data.class_names[c] for c in data.labels] == [names[v] for v in y]
    assert data.keys[:2] == ["train-0000", "train-0001"] and data.keys[48] == "valid-0000"
    assert bundle.split.train.tolist() == list(range(48))
    assert bundle.split.valid.tolist() == list(range(48, 60))
    assert bundle.split.test.tolist() == list(range(60, 76))


def test_one_hot_labels_and_names_are_read_alike(tmp_path: Path):
    write_h5(tmp_path / "onehot.h5", one_hot=True)
    write_h5(tmp_path / "plain.h5")
    a, b = read_venue188_h5(tmp_path / "onehot.h5"), read_venue188_h5(tmp_path / "plain.h5")
    np.testing.assert_array_equal(a.data.labels, b.data.labels)
    assert a.data.class_names == b.data.class_names


# ----------------------------------------------------------------- reproduce from features alone


def test_reproduce_quick_runs_from_the_imported_features_with_their_split(imported, tmp_path: Path):
    home, _, _, _ = imported
    out = tmp_path / "report"
    with home_env(home):
        code, stdout, stderr = run_cli(["reproduce", "--quick", "--features", "venue188-small", "--out", str(out)])
    assert code == 0, stderr[-3000:]
    result = json.loads((out / "results.json").read_text(encoding="utf-8"))
    assert result["dataset"]["name"] == "imported-venue188-small"
    assert result["dataset"]["n_videos"] == 76 and result["dataset"]["n_classes"] == 4
    assert result["dataset"]["dims"] == {"visual": 4096, "acoustic": 200, "textual": 100}
    assert result["config"]["given_split"] is True and result["config"]["n_splits"] == 1
    assert result["splits"] == [{"train": list(range(48)), "val": list(range(48, 60)), "test": list(range(60, 76))}]
    subsets = ("V", "A", "T", "V+A", "V+T", "A+T")
    expected = {"EASTERN", "LSTMs", "LSTM+DL", "CONV", *(f"EASTERN {s}" for s in subsets), "TMDL", "TMDL-CS",
                "DMDL", "TRUMANN", "LSTMs V", "EASTERN V shuffled", "LSTMs V shuffled", "CONV V", "EASTERN L1"}
    assert set(result["runs"]) == expected and all(len(runs) == 1 for runs in result["runs"].values())
    assert all(row["p_value"] is None for row in result["summary"].values())  # one split: no p-value
    report = (out / "report.md").read_text(encoding="utf-8")
    assert "the file's own train / valid / test split" in report
    assert "| CONV |" in report and "| TRUMANN |" in report and "| V+A |" in report
    # nothing came from the database: there are no videos in it
    assert not list((home / "media").glob("*/*"))


def test_imported_features_can_be_named_with_or_without_the_prefix(imported):
    home, _, _, _ = imported
    with home_env(home):
        from app.context import get_context
        from app.services.reproduce import load_features

        a = load_features(get_context(), "venue188-small")
        b = load_features(get_context(), "imported-venue188-small")
    assert a.dataset["name"] == b.dataset["name"] == "imported-venue188-small"
    assert a.given_split is not None and a.given_split["test"].tolist() == list(range(60, 76))


# ----------------------------------------------------------------- bad files


def bad_file(kind: str, path: Path) -> Path:
    if kind == "missing":
        write_h5(path, drop="y_valid")
    elif kind == "columns":
        write_h5(path, columns=4000)
    elif kind == "label-high":
        write_h5(path, labels={"test": np.full(SIZES["test"], 188)})
    elif kind == "label-negative":
        write_h5(path, labels={"train": np.full(SIZES["train"], -1)})
    elif kind == "group":
        write_h5(path, drop="y_train")
        with h5py.File(path, "a") as f:
            f.create_group("y_train").create_dataset("labels", data=np.zeros(SIZES["train"], dtype=np.int64))
    elif kind == "not-hdf5":
        path.write_text("filename,caption,venue\n", encoding="utf-8")
    return path


@pytest.mark.parametrize(("kind", "message"), [
    ("missing", "missing array(s) y_valid"),
    ("columns", "array X_train has shape (48, 4000); expected (N, 4396)"),
    ("label-high", "array y_test has labels 188..188; expected 0-based venue indices 0..187"),
    ("label-negative", "array y_train has labels -1..-1"),
    ("group", "y_train must be array(s), found HDF5 group(s)"),
    ("not-hdf5", "not a readable HDF5 file"),
    ("absent", "no such file"),
])
def test_bad_files_give_one_clear_error_and_import_nothing(tmp_path: Path, kind: str, message: str):
    path = bad_file(kind, tmp_path / f"{kind}.h5")
    with pytest.raises((FeatureImportError, FileNotFoundError), match=message.replace("(", r"\(").replace(")", r"\)")):
        read_venue188_h5(path)
    home = tmp_path / "home"
    with home_env(home):
        code, stdout, stderr = run_cli(["import-features", str(path)])
    assert code == 2 and stdout == ""
    last = stderr.strip().splitlines()[-1]
    assert last.startswith("error: ") and message in last and path.name in last
    assert "Traceback" not in stderr
    assert not (home / "imported").exists() or not any((home / "imported").iterdir())


def test_a_bad_bundle_name_is_refused(tmp_path: Path):
    path = tmp_path / "ok.h5"
    write_h5(path)
    with home_env(tmp_path / "home"):
        code, _, stderr = run_cli(["import-features", str(path), "--name", "../escape"])
    assert code == 2 and "bad bundle name '../escape'" in stderr
    assert not (tmp_path / "escape").exists()
