"""MLflow integration: real SQLite tracking, the registry, champion and challenger."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from walkaway import registry
from walkaway.contracts import to_wire
from walkaway.jobs import TrainingRun, train_job


@pytest.fixture(scope="module")
def models_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("models")


@pytest.fixture(scope="module")
def first_run(synthetic_dir: Path, models_dir: Path) -> TrainingRun:
    with pytest.MonkeyPatch.context() as patch:
        patch.delenv("MLFLOW_TRACKING_URI", raising=False)
        return train_job(synthetic_dir, models_dir=models_dir)


@pytest.fixture(autouse=True)
def default_tracking(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)


def test_first_model_becomes_champion_in_sqlite_under_models_dir(
    first_run: TrainingRun, models_dir: Path
) -> None:
    assert first_run.registered.champion
    assert first_run.registered.version == 1
    assert (models_dir / "mlflow.db").is_file()
    assert first_run.registered.tracking_uri == f"sqlite:///{(models_dir / 'mlflow.db').resolve()}"
    assert registry.champion_version(models_dir=models_dir) == 1


def test_champion_pyfunc_scores_like_the_in_memory_model(
    first_run: TrainingRun, models_dir: Path
) -> None:
    deals = first_run.result.win.deals.head(200)
    wire = to_wire(deals).assign(as_of="2025-12-31").reset_index(drop=True)
    loaded = registry.load_model("models:/walkaway@champion", models_dir=models_dir)
    assert loaded.version == 1 and loaded.name == "walkaway"
    from_mlflow = loaded.pyfunc.predict(wire)
    in_memory = registry.score_canonical(first_run.result.model, wire)
    pd.testing.assert_frame_equal(
        from_mlflow.reset_index(drop=True), in_memory.reset_index(drop=True)
    )
    assert from_mlflow["p_win"].between(0, 1).all() and len(from_mlflow) == 200


def test_run_logs_metrics_params_fingerprint_and_plots(
    first_run: TrainingRun, models_dir: Path
) -> None:
    client = registry.connect(models_dir)
    run = client.get_run(first_run.registered.run_id)
    metrics, params = run.data.metrics, run.data.params
    for name in (
        "win_walkaway_roc_auc",
        "win_logistic_brier",
        "win_base_rate_log_loss",
        "regret_walkaway_roc_auc",
        "win_truth_roc_auc",
        "sign_attribution_share",
    ):
        assert name in metrics
    assert np.isclose(
        metrics["win_walkaway_roc_auc"],
        first_run.result.metrics_table().loc[("win", "walkaway"), "roc_auc"],
    )
    assert params["data_rows"] == "3000" and len(params["data_sha256"]) == 16
    assert "policy_pursue_p_good" in params
    artifacts = {a.path for a in client.list_artifacts(run.info.run_id, "plots")}
    assert artifacts == {"plots/calibration.png", "plots/sign_importance.png"}


def test_retraining_on_the_same_data_ties_and_is_promoted_then_rollback_and_promote(
    first_run: TrainingRun,
    synthetic_dir: Path,
    models_dir: Path,
) -> None:
    second = train_job(synthetic_dir, models_dir=models_dir)
    assert second.registered.version == 2
    assert second.registered.champion, second.registered.decision
    assert "replaces version 1" in second.registered.decision

    assert "version 1 is @champion again" in registry.rollback(models_dir=models_dir)
    assert registry.champion_version(models_dir=models_dir) == 1
    with pytest.raises(registry.RegistryError, match="no earlier champion"):
        registry.rollback(models_dir=models_dir)
    registry.promote(2, models_dir=models_dir)
    assert registry.champion_version(models_dir=models_dir) == 2
    with pytest.raises(registry.RegistryError, match="has no version 9"):
        registry.promote(9, models_dir=models_dir)


def test_a_worse_model_stays_a_challenger(
    first_run: TrainingRun, synthetic_dir: Path, models_dir: Path, tmp_path: Path
) -> None:
    """A model trained on scrambled older deals loses on the (intact) newest holdout."""
    scrambled = tmp_path / "scrambled"
    scrambled.mkdir()
    for name in ("accounts.csv", "products.csv"):
        (scrambled / name).write_bytes((synthetic_dir / name).read_bytes())
    deals = pd.read_csv(synthetic_dir / "deals.csv", dtype=str)
    feature_columns = [
        "Incumbent Tenure (years)",
        "Competitors",
        "Formal Tender",
        "Decision Maker Access",
        "Required Capabilities",
        "Product",
        "Amount",
        "Lead Source",
        "Account ID",
    ]
    closed = pd.to_datetime(deals["Close Date"], format="%d/%m/%Y")
    older = (closed < closed.quantile(0.75)).to_numpy()
    rng = np.random.default_rng(0)
    for column in feature_columns:
        deals.loc[older, column] = rng.permutation(deals.loc[older, column].to_numpy())
    deals.to_csv(scrambled / "deals.csv", index=False)
    run = train_job(scrambled, models_dir=models_dir)
    assert not run.registered.champion
    assert "stays a challenger" in run.registered.decision
    assert registry.champion_version(models_dir=models_dir) != run.registered.version


def test_missing_model_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(registry.RegistryError, match="model not found: models:/walkaway@champion"):
        registry.load_model(models_dir=tmp_path)


def test_artifacts_stay_under_the_models_dir(first_run: TrainingRun, models_dir: Path) -> None:
    client = registry.connect(models_dir)
    run = client.get_run(first_run.registered.run_id)
    assert run.info.artifact_uri.startswith((models_dir / "artifacts").resolve().as_uri())
    assert any((models_dir / "artifacts").rglob("MLmodel"))


def test_tracking_uri_override_is_respected(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    server = f"sqlite:///{tmp_path / 'team.db'}"
    monkeypatch.setenv("MLFLOW_TRACKING_URI", server)
    assert registry.tracking_uri(tmp_path / "ignored") == server
    registry.connect(tmp_path / "ignored")
    assert registry.tracking_uri(tmp_path / "ignored") == server
    assert not (tmp_path / "ignored").exists()
