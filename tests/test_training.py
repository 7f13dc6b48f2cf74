"""The training job's evaluation: time-ordered holdouts, baselines, truth, attribution."""

from __future__ import annotations

import numpy as np
import pandas as pd

from walkaway.evaluation import METRICS
from walkaway.training import TrainingResult


def test_holdouts_are_the_newest_deals_and_unseen(
    trained: TrainingResult, labelled: pd.DataFrame
) -> None:
    closed = labelled[labelled["won"].notna()]
    win_holdout = trained.win.deals
    assert abs(len(win_holdout) - 0.2 * len(closed)) <= 1
    rest = closed.drop(win_holdout.index)
    assert win_holdout["closed_date"].min() >= rest["closed_date"].max()
    # the model's own history state ends before the holdout starts
    assert trained.model.trained_until_ <= win_holdout["closed_date"].min()

    regret_holdout = trained.regret.deals
    assert regret_holdout["regret_label"].notna().all()  # matured wins only
    matured = closed[closed["regret_label"].notna()].drop(regret_holdout.index)
    assert regret_holdout["closed_date"].min() >= matured["closed_date"].max()


def test_metrics_table_has_every_head_predictor_and_metric(trained: TrainingResult) -> None:
    table = trained.metrics_table()
    assert list(table.columns) == list(METRICS)
    for head in ("win", "regret"):
        for predictor in ("walkaway", "logistic", "base_rate", "truth"):
            assert (head, predictor) in table.index
    # a base rate cannot rank; the model and the truth can
    assert table.loc[("win", "base_rate"), "roc_auc"] == 0.5
    assert table.loc[("win", "walkaway"), "roc_auc"] > 0.6
    assert table.loc[("win", "truth"), "roc_auc"] > 0.6
    assert table.loc[("win", "walkaway"), "brier"] < table.loc[("win", "base_rate"), "brier"]


def test_sign_attribution_is_measured_against_the_truth(trained: TrainingResult) -> None:
    attribution = trained.attribution
    assert attribution is not None and attribution["deals"] > 50
    assert 0 <= attribution["share"] <= 1
    assert attribution["share"] > 0.6  # far above the 1-in-3 of a guess


def test_sign_importance_covers_every_group(trained: TrainingResult) -> None:
    importance = trained.sign_importance()
    assert list(importance.index) == ["glass_walls", "icp_fit", "need_fit", "deal_context"]
    assert (importance > 0).all() and np.isfinite(importance).all()
