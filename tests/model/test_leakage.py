"""The leakage guard: one module for train and validate, scoring values and filled-ness.

The issue's reproduction: a "Loss Score" filled (with random numbers) on lost deals only and
declared a deal-context feature. Its values say nothing; being filled says everything. Train
must refuse it, and validate must exit 1 because train would.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

from walkaway.cli import main
from walkaway.data.column_signal import LEAK_AUC, score_column
from walkaway.data.mapping_files import shipped_mappings
from walkaway.data.synth import write_synthetic_history
from walkaway.model.leakage import LeakageError, refuse_leaks
from walkaway.model.walkaway_model import WalkawayModel

LOSS_SCORE = "Loss Score"


@pytest.fixture(autouse=True)
def default_tracking(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)


@pytest.fixture(scope="module")
def loss_score_export(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A synthetic export with a Loss Score on its lost deals only, declared a feature."""
    folder = tmp_path_factory.mktemp("loss-score")
    write_synthetic_history(folder, n_deals=1500, seed=4)
    deals = pd.read_csv(folder / "deals.csv", dtype=str, keep_default_na=False)
    lost = deals["Stage"].eq("Closed Lost").to_numpy()
    scores = np.random.default_rng(0).uniform(0, 100, len(deals)).round(1).astype(str)
    deals[LOSS_SCORE] = np.where(lost, scores, "")
    deals.to_csv(folder / "deals.csv", index=False)
    mapping = yaml.safe_load(shipped_mappings()["synthetic-crm"].read_text(encoding="utf-8"))
    mapping["name"] = "synthetic-crm-with-loss-score"
    mapping["tables"]["deals"]["features"] = {LOSS_SCORE: "deal_context"}
    (folder / "mapping.yaml").write_text(yaml.safe_dump(mapping), encoding="utf-8")
    return folder


def test_a_column_filled_on_lost_deals_only_is_scored_by_being_filled() -> None:
    y = np.array([0, 1] * 100)
    values = pd.Series(np.where(y == 0, np.random.default_rng(1).normal(size=200), np.nan))
    score = score_column(values, y, numeric=True)
    assert np.isnan(score.values_auc)  # the filled rows hold one outcome: values say nothing
    assert score.filled_auc == 1.0 and score.filled_only_on == "lost" and score.leaks


def test_refuse_leaks_names_the_export_column_and_why() -> None:
    rng = np.random.default_rng(0)
    y = rng.integers(0, 2, 500)
    X = pd.DataFrame(
        {
            "signal": y + rng.normal(0, 1.0, 500),  # strong but honest
            "region": pd.Categorical(rng.choice(["a", "b", "c"], 500)),
            "x_loss_score": np.where(y == 0, rng.uniform(0, 100, 500), np.nan),
        }
    )
    with pytest.raises(LeakageError) as raised:
        refuse_leaks(X, y, "win", {"x_loss_score": LOSS_SCORE})
    message = str(raised.value)
    assert message.startswith(f"feature '{LOSS_SCORE}' (feature 'x_loss_score') predicts the win")
    assert "filled on lost deals only" in message and "post_outcome" in message
    scores = refuse_leaks(X.drop(columns="x_loss_score"), y, "win")
    assert max(s.strongest for s in scores.values()) < LEAK_AUC


def test_a_close_value_leaks_by_its_values(labelled: pd.DataFrame) -> None:
    closed = labelled[labelled["won"].notna()].copy()
    # A close value: the deal's amount when won, 0 when lost (the Maven export's trap).
    closed["amount"] = closed["amount"].fillna(1000) * closed["won"]
    with pytest.raises(LeakageError, match="feature 'amount' alone predicts the win outcome"):
        WalkawayModel().fit(closed)


def test_train_refuses_the_loss_score(loss_score_export: Path, tmp_path: Path, capsys) -> None:
    models = tmp_path / "models"
    code = main(["train", "--history", str(loss_score_export), "--models-dir", str(models)])
    error = capsys.readouterr().err
    assert code == 1
    assert f"feature '{LOSS_SCORE}'" in error and "filled on lost deals only" in error
    assert "Traceback" not in error
    assert not (models / "mlflow.db").exists(), "nothing is registered"


def test_validate_exits_1_when_train_would_refuse(loss_score_export: Path, capsys) -> None:
    code = main(["validate", "--history", str(loss_score_export)])
    out = capsys.readouterr().out
    assert code == 1
    assert "Training would refuse:" in out and f"feature '{LOSS_SCORE}'" in out


def test_validate_exits_0_on_the_export_without_the_leak(tmp_path: Path, capsys) -> None:
    folder = tmp_path / "clean"
    write_synthetic_history(folder, n_deals=1500, seed=4)
    assert main(["validate", "--history", str(folder)]) == 0
    assert "Training would refuse" not in capsys.readouterr().out
