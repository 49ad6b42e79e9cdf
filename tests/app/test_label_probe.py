"""The fast label-quality probe: 5-fold logistic regression on pooled features, stored as an out-of-sample set the
Annotate queue ranks by (cleanlab), with every probability from a fold that never saw the video; the folds equal
scikit-learn's own pipeline fitted on the same rows."""
from __future__ import annotations

import numpy as np

from tests.fixtures import Workspace


def test_probe_set_is_out_of_sample_and_ranks_the_queue(private_ws: Workspace) -> None:
    from app.context import get_context
    from app.services import annotate
    from app.services.crossval import CrossvalRequest, run_crossval
    from app.services.training import load_dataset
    from core.label_probe import fit_predict, pooled
    from db import repo
    from db.session import session_scope

    ctx = get_context()
    set_id = run_crossval(ctx, CrossvalRequest(architecture="probe", folds=3, seed=4))
    with session_scope(ctx.engine) as session:
        row = repo.get_prediction_set(session, set_id=set_id)
    assert row.status == "done" and row.architecture == "probe"
    folder = ctx.settings.home / row.artifact_dir
    with np.load(folder / "probs.npz") as z, np.load(folder / "snapshot.npz") as snap:
        video_ids, probs, folds = z["video_ids"], z["probs"], snap["folds"]
    assert np.allclose(probs.sum(1), 1.0, atol=1e-5)
    dataset = load_dataset(ctx)
    where = {int(v): i for i, v in enumerate(dataset.video_ids)}
    rows = np.array([where[int(v)] for v in video_ids])
    X, y = pooled(dataset.data)[rows], dataset.data.labels[rows]
    for fold in range(3):
        with np.load(folder / f"fold-{fold}.npz") as f:
            assert not set(f["video_ids"]) & set(f["train_video_ids"])  # never scored by a model that saw it
        held, others = folds == fold, folds != fold
        expected = fit_predict(X[others], y[others], X[held], len(dataset.venue_ids), seed=4 + fold)
        assert np.allclose(probs[held], expected, atol=1e-5)
    source = annotate.queue_source(ctx)
    assert source.kind == "crossval" and source.set_id == set_id and "probe" in source.description
    assert source.n_scored == len(video_ids)


def test_probe_matches_scikit_learn() -> None:
    from sklearn.linear_model import LogisticRegression
    from sklearn.preprocessing import StandardScaler

    from core.label_probe import MAX_ITER, TOL, fit_predict

    rng = np.random.default_rng(0)
    X = rng.normal(size=(60, 8)).astype(np.float32)
    y = (X[:, 0] > 0).astype(int) + 2 * (X[:, 1] > 0.5)  # classes 0..3, class 3 rare
    probs = fit_predict(X[:40], y[:40], X[40:], 5, C=0.5)
    scaler = StandardScaler().fit(X[:40])
    reference = LogisticRegression(C=0.5, max_iter=MAX_ITER, tol=TOL, random_state=0)
    reference.fit(scaler.transform(X[:40]), y[:40])
    expected = np.zeros((20, 5))
    expected[:, reference.classes_] = reference.predict_proba(scaler.transform(X[40:]))
    assert np.allclose(probs, expected, atol=1e-5) and np.allclose(probs[:, 4], 0.0)
