"""Drift at scoring time: the batch job measures the pipeline against the training profile,
writes the figures beside the scores, says so, and logs them to MLflow."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from walkaway.cli import main
from walkaway.model.drift import DRIFT_COLUMNS
from walkaway.serving import registry
from walkaway.serving.batch_outputs import drift_path


@pytest.fixture(autouse=True)
def default_tracking(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)


def score(pipeline: Path, out: Path, models_dir: Path) -> int:
    return main(
        [
            "score",
            "--deals",
            str(pipeline),
            "--out",
            str(out),
            "--models-dir",
            str(models_dir),
            "--as-of",
            "2025-12-31",
        ]
    )


def test_the_pipeline_the_model_came_from_has_not_drifted(
    synthetic_dir: Path,
    champion_models_dir: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    out = tmp_path / "scores.csv"
    assert score(synthetic_dir / "pipeline.csv", out, champion_models_dir) == 0
    printed = capsys.readouterr().out
    assert "Drift from the training data (PSI by sign): " in printed
    assert "Drift:" not in printed  # no warning: the same world, the same day

    figures = pd.read_csv(drift_path(out))
    assert figures.columns.tolist() == DRIFT_COLUMNS
    scored = len(pd.read_csv(out))
    assert (figures["rows"] == scored).all()
    assert {"glass_walls", "icp_fit", "need_fit"} <= set(figures["sign"])
    assert not figures["shifted"].any()

    client = registry.connect(champion_models_dir)
    experiment = client.get_experiment_by_name(registry.DRIFT_EXPERIMENT)
    runs = client.search_runs([experiment.experiment_id])
    logged = [r for r in runs if r.data.tags.get("source") == str(synthetic_dir / "pipeline.csv")]
    assert logged, "the drift figures were not logged to MLflow"
    metrics = logged[0].data.metrics
    assert metrics["rows"] == scored
    assert {"psi_glass_walls", "psi_icp_fit", "psi_need_fit"} <= set(metrics)


def test_a_pipeline_of_another_world_drifts(
    synthetic_dir: Path,
    champion_models_dir: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    pipeline = pd.read_csv(synthetic_dir / "pipeline.csv", dtype=str, keep_default_na=False)
    tenure = next(c for c in pipeline.columns if "tenure" in c.lower())
    pipeline[tenure] = "25"  # every rival entrenched for 25 years
    shifted = tmp_path / "pipeline.csv"
    pipeline.to_csv(shifted, index=False)
    for name in ("accounts.csv", "products.csv"):
        if (synthetic_dir / name).exists():
            (tmp_path / name).write_bytes((synthetic_dir / name).read_bytes())
    out = tmp_path / "scores.csv"
    assert score(shifted, out, champion_models_dir) == 0
    printed = capsys.readouterr().out
    assert "Drift: the pipeline has drifted from the training data on glass_walls" in printed
    figures = pd.read_csv(drift_path(out)).set_index("feature")
    assert figures.loc["incumbent_tenure_years", "shifted"]
