"""Shared fixtures: one small synthetic CRM history, and a model trained on it, per session."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from walkaway.exports import load_history
from walkaway.history import History
from walkaway.labels import label_deals
from walkaway.synth import write_synthetic_history
from walkaway.training import TrainingResult, train_and_evaluate

SMALL_HISTORY_DEALS = 3000


@pytest.fixture(scope="session")
def synthetic_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A synthetic export (deals, accounts, products, truth) of 3,000 deals."""
    folder = tmp_path_factory.mktemp("synthetic-crm")
    write_synthetic_history(folder, n_deals=SMALL_HISTORY_DEALS, seed=3)
    return folder


@pytest.fixture(scope="session")
def history(synthetic_dir: Path) -> History:
    return load_history(synthetic_dir)


@pytest.fixture(scope="session")
def labelled(history: History) -> pd.DataFrame:
    return label_deals(history.deal_frame(), history.export_date, 365)


@pytest.fixture(scope="session")
def trained(history: History, synthetic_dir: Path) -> TrainingResult:
    """Both heads trained and evaluated on the small history, with its truth."""
    truth = pd.read_parquet(synthetic_dir / "truth.parquet")
    return train_and_evaluate(history, truth=truth)


@pytest.fixture(scope="session")
def champion_models_dir(synthetic_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An MLflow store (SQLite, temporary) whose @champion was trained on the small history."""
    from walkaway.jobs import train_job

    models_dir = tmp_path_factory.mktemp("champion-models")
    with pytest.MonkeyPatch.context() as patch:
        patch.delenv("MLFLOW_TRACKING_URI", raising=False)
        train_job(synthetic_dir, models_dir=models_dir)
    return models_dir
