"""The figures the champion rule compares, without MLflow: logged predictions paired by deal,
or the champion scored on the holdout deals it never saw."""

from __future__ import annotations

import copy

import numpy as np

from walkaway.model.training import TrainingResult
from walkaway.serving.fair_comparison import compare_logged_predictions, compare_on_unseen_deals
from walkaway.serving.run_record import holdout_predictions


def test_the_same_predictions_logged_twice_tie_on_every_deal(trained: TrainingResult) -> None:
    comparisons, path = compare_logged_predictions(trained, holdout_predictions(trained), "abc")

    assert set(comparisons) == {"win", "regret"}
    assert comparisons["win"].deals == len(trained.win.y)
    assert comparisons["win"].difference == 0
    assert path.startswith("same data (sha256 abc): compared on both runs' logged holdout")


def test_the_champion_is_scored_only_on_deals_closed_after_it_learned(
    trained: TrainingResult,
) -> None:
    deals = trained.win.deals
    champion = copy.copy(trained.evaluated_model or trained.model)
    champion.trained_until_ = deals["closed_date"].median()
    champion.regret_trained_until_ = trained.regret.deals["closed_date"].max()

    comparisons, path = compare_on_unseen_deals(trained, champion, 3, same_data=True)

    assert comparisons["win"].deals == (deals["closed_date"] > champion.trained_until_).sum()
    assert comparisons["regret"].deals == 0
    assert np.isfinite(comparisons["win"].champion_loss)
    assert path.startswith("same data, but champion version 3 logged no holdout predictions")
    assert f"win head after {champion.trained_until_:%Y-%m-%d}" in path
