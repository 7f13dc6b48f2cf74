"""What a run records beside its model: holdout predictions read back as they were written."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from walkaway.model.training import TrainingResult
from walkaway.serving.run_record import holdout_predictions, read_holdout_predictions


def test_holdout_predictions_read_back_as_written(trained: TrainingResult, tmp_path: Path) -> None:
    written = holdout_predictions(trained)
    path = tmp_path / "holdout_predictions.parquet"
    written.to_parquet(path, index=False)

    pd.testing.assert_frame_equal(read_holdout_predictions(path), written)
    assert list(written.columns) == ["head", "deal_id", "snapshot_age", "y", "p"]
    assert (written["head"] == "win").sum() == len(trained.win.y)


def test_predictions_logged_before_snapshots_are_at_creation(tmp_path: Path) -> None:
    path = tmp_path / "older.parquet"
    pd.DataFrame({"head": ["win"], "deal_id": [7], "y": [1.0], "p": [0.4]}).to_parquet(path)

    read = read_holdout_predictions(path)

    assert read.loc[0, ["deal_id", "y", "snapshot_age"]].tolist() == ["7", 1, 0.0]
