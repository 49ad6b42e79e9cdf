"""Migration 0008: predictions.ood_score and its index go up and come down again."""
from __future__ import annotations

from pathlib import Path

from sqlalchemy import inspect

from db.migrate import downgrade, upgrade
from db.session import dispose_engines, make_engine


def _prediction_shape(url: str) -> tuple[set[str], set[str]]:
    insp = inspect(make_engine(url))
    return {c["name"] for c in insp.get_columns("predictions")}, {i["name"] for i in insp.get_indexes("predictions")}


def test_ood_score_upgrade_downgrade(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'o.db'}"
    upgrade(url)
    columns, indexes = _prediction_shape(url)
    assert "ood_score" in columns and "ix_predictions_model_ood" in indexes
    dispose_engines()
    downgrade(url, "0007")
    columns, indexes = _prediction_shape(url)
    assert "ood_score" not in columns and "ix_predictions_model_ood" not in indexes
    assert "ix_predictions_model_conf" in indexes  # the table's other indexes survive the rebuild
    dispose_engines()
    upgrade(url)
    assert "ood_score" in _prediction_shape(url)[0]
    dispose_engines()
