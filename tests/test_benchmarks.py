"""The benchmarks' own logic: peer recipes, quality tables, decision value, the pyfunc script."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from benchmarks.quality import (
    MAX_CATEGORIES,
    Outcomes,
    as_categories,
    choose,
    decision_value,
    decision_value_of,
    quality_table,
    raw_columns,
    train_with_peers,
    walkaway_order,
)
from walkaway.contracts import LABEL_ONLY_COLUMNS, to_wire
from walkaway.history import History
from walkaway.training import TrainingResult

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def with_peers(history: History, synthetic_dir: Path) -> TrainingResult:
    """walkaway trained on the small history, with the peer recipes' holdout predictions."""
    return train_with_peers(history, pd.read_parquet(synthetic_dir / "truth.parquet"))


def test_raw_columns_describe_the_deal_without_keys_dates_labels_or_stage(
    history: History,
) -> None:
    raw = raw_columns(history.deal_frame())
    assert {"amount", "region", "incumbent_vendor", "formal_tender", "industry"} <= set(raw)
    leaked = {"deal_id", "account_id", "stage", "outcome", "created_date", "closed_date"}
    assert not (leaked | LABEL_ONLY_COLUMNS) & set(raw)
    assert raw["formal_tender"].dropna().isin([0.0, 1.0]).all()


def test_categories_are_learnt_on_training_rows_and_capped() -> None:
    train = pd.DataFrame({"owner": [f"seller {i}" for i in range(400)] + ["seller 0"] * 5})
    other = pd.DataFrame({"owner": ["seller 0", "seller 399", "never seen", None]})
    train_cats, other_cats = as_categories(train, other)
    assert len(train_cats["owner"].cat.categories) == MAX_CATEGORIES
    assert other_cats["owner"].iloc[0] == "seller 0"
    # A rare seller is lumped with the others; one never seen in training is unknown.
    assert other_cats["owner"].iloc[1] == "other"
    assert other_cats["owner"].iloc[2:].isna().all()


def test_peers_predict_probabilities_for_both_holdouts(with_peers: TrainingResult) -> None:
    for holdout in (with_peers.win, with_peers.regret):
        for peer in ("lightgbm_raw", "histgradientboosting_raw"):
            p = holdout.predictions[peer]
            assert len(p) == len(holdout.y) and np.all((p >= 0) & (p <= 1))
    # The raw columns carry signal: a peer ranks the win holdout better than chance.
    table = quality_table(with_peers, ("walkaway", "lightgbm_raw", "truth"))
    win = table[table["head"] == "win"].set_index("predictor")
    assert win.loc["lightgbm_raw", "roc_auc"] > 0.6


def test_quality_table_measures_against_walkaway_and_the_ceiling(
    with_peers: TrainingResult,
) -> None:
    table = quality_table(with_peers, ("walkaway", "histgradientboosting_raw", "truth"))
    assert set(table["head"]) == {"win", "regret"}
    ours = table[table["predictor"] == "walkaway"]
    assert np.allclose(ours[["log_loss_vs_walkaway", "brier_vs_walkaway"]], 1.0)
    truth = table[table["predictor"] == "truth"]
    assert np.allclose(truth["auc_gap_to_ceiling"], 0.0)
    assert np.allclose(truth["share_of_ceiling_lift"], 1.0)
    # The synthetic truth is the best possible ranking in expectation; walkaway sits just below.
    assert ours["auc_gap_to_ceiling"].between(-0.05, 0.0).all()


def test_following_the_recommendations_works_pursue_first_and_walk_away_last() -> None:
    recommendation = np.array(["walk_away", "pursue", "qualify", "pursue", "compete"])
    p_good = np.array([0.9, 0.2, 0.5, 0.6, 0.1])
    assert walkaway_order(recommendation, p_good).tolist() == [3, 1, 4, 2, 0]
    assert choose(np.array([3, 1, 4, 2, 0]), 2).tolist() == [False, True, False, True, False]


@settings(max_examples=50, deadline=None)
@given(
    st.lists(
        st.tuples(st.booleans(), st.booleans(), st.floats(0, 1), st.floats(1, 1e6)),
        min_size=2,
        max_size=60,
    ),
    st.floats(0.1, 0.9),
)
def test_decision_value_shares_are_shares_and_working_everything_captures_everything(
    deals: list[tuple[bool, bool, float, float]], work_share: float
) -> None:
    won = np.array([d[0] for d in deals])
    outcomes = Outcomes(
        amount=np.array([d[3] for d in deals]),
        won=won,
        regrettable=won & np.array([d[1] for d in deals]),
        p_good=np.array([d[2] for d in deals]),
    )
    everything = np.ones(len(deals), dtype=bool)
    table = decision_value(outcomes, {"all": everything, "none": ~everything}, work_share)
    shares = table[["good_wins_captured", "regrettable_wins_avoided"]].to_numpy()
    assert np.all((shares >= 0) & (shares <= 1))
    good, regret = (won & ~outcomes.regrettable).sum(), outcomes.regrettable.sum()
    assert table.loc["all", "good_wins_captured"] == (1.0 if good else 0.0)
    assert table.loc["all", "regrettable_wins_avoided"] == (0.0 if regret else 1.0)
    assert table.loc["none", "expected_value_won"] == 0
    if outcomes.p_good.sum() > 0:
        assert table.loc["all", "value_vs_no_triage"] == pytest.approx(1 / work_share)


def test_decision_value_of_a_trained_model_compares_equal_capacities(
    with_peers: TrainingResult, synthetic_dir: Path
) -> None:
    truth = pd.read_parquet(synthetic_dir / "truth.parquet")
    table = decision_value_of(with_peers, truth, work_share=0.5)
    assert "walkaway recommendations" in table.index
    assert "top by LightGBM-raw p_win" in table.index
    capacity = round(0.5 * len(with_peers.win.y))
    assert (table["deals_worked"].iloc[1:] == capacity).all()
    # Any ranking that knows something beats working a random half.
    assert table.loc["top by walkaway p_win", "good_wins_captured"] > 0.5


def test_pyfunc_benchmark_script_scores_through_mlflow(
    champion_models_dir: Path, trained: TrainingResult, tmp_path: Path
) -> None:
    wire = to_wire(trained.win.deals.head(300)).assign(as_of="2025-12-31")
    deals = tmp_path / "wire.parquet"
    wire.reset_index(drop=True).to_parquet(deals, index=False)
    done = subprocess.run(
        [sys.executable, "-m", "benchmarks.pyfunc_predict", str(deals)]
        + ["--models-dir", str(champion_models_dir)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        env={k: v for k, v in os.environ.items() if k != "MLFLOW_TRACKING_URI"},
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("Time: reading")
