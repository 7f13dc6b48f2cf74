"""The training job's evaluation: time-ordered holdouts, baselines, truth, attribution."""

from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd

from walkaway.data.history import History
from walkaway.model import landmarks
from walkaway.model.evaluation import METRICS
from walkaway.model.training import Holdout, TrainingResult, suspected_leak, train_and_evaluate
from walkaway.model.walkaway_model import WalkawayModel


def test_holdouts_are_the_newest_deals_and_unseen(
    trained: TrainingResult, labelled: pd.DataFrame
) -> None:
    closed = labelled[labelled["won"].notna()]
    snapshots = trained.win.deals
    # The win holdout: the newest 20% of the deals' landmark snapshots by snapshot date...
    every = landmarks.snapshots(closed, max_snapshots=len(landmarks.LANDMARK_AGES))
    assert abs(len(snapshots) - 0.2 * len(every)) <= 1
    assert (
        snapshots["as_of"].min()
        >= every["as_of"].drop(every.index[every["as_of"] >= snapshots["as_of"].min()]).max()
    )
    # ...judging a model that learned only from deals closed before the first of them...
    cutoff = trained.holdout_cutoff
    assert cutoff == snapshots["as_of"].min()
    assert trained.evaluated_model.trained_until_ < cutoff
    assert (snapshots["closed_date"] >= cutoff).all()
    # ...while the registered one is refit on every closed deal.
    assert trained.model is not trained.evaluated_model
    assert trained.model.trained_until_ == closed["closed_date"].max()

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


def test_the_registered_model_knows_the_history_up_to_the_export_date(
    trained: TrainingResult, history: History, labelled: pd.DataFrame
) -> None:
    """Scored as of the export date, an open deal's history features (earlier wins at the
    account, the seller's record) count every deal closed before then, holdouts included."""
    open_deals = history.labelled().query("outcome == 'open'")
    as_of = history.export_date
    served = trained.model.featurise(open_deals, as_of)
    closed = labelled[labelled["won"].notna()]
    expected = WalkawayModel(catalogue=history.catalogue())
    expected._fit_features(closed)
    reference = expected.featurise(open_deals, as_of)
    for column in ("prior_wins_at_account", "prior_losses_at_account", "seller_win_rate"):
        pd.testing.assert_series_equal(served[column], reference[column])
    stale = trained.evaluated_model.featurise(open_deals, as_of)
    changed = (stale["prior_wins_at_account"] != served["prior_wins_at_account"]).mean()
    assert changed > 0.05, "the evaluated model's history stops at the holdout's cut-off"


def test_no_refit_registers_the_evaluated_model(history: History) -> None:
    result = train_and_evaluate(history, refit=False)
    assert result.model is result.evaluated_model
    closed = history.labelled().query("won == won")
    assert result.model.trained_until_ < closed["closed_date"].max()
    assert not any("refit" in note for note in result.notes)


def test_the_labels_summary_gives_the_export_date_and_censored_wins(
    trained: TrainingResult, labelled: pd.DataFrame
) -> None:
    censored = int(labelled["regret_status"].eq("censored").sum())
    assert trained.censored_wins == censored > 0
    summary = trained.labels_summary()
    assert summary.startswith("Labels as of 2025-12-31 (its latest real event")
    assert f"{censored:,} of" in summary and "365-day regret horizon" in summary


def test_a_holdout_ranked_almost_perfectly_is_a_suspected_leak(trained: TrainingResult) -> None:
    assert trained.suspected_leak == ""
    too_good = Holdout(trained.win.deals, trained.win.y)
    too_good.predictions["walkaway"] = 0.1 + 0.8 * trained.win.y
    flagged = dataclasses.replace(trained, win=too_good)
    assert suspected_leak(flagged).startswith("the win head ranks its holdout with ROC AUC 1.000")


def test_the_win_holdout_reports_by_age(trained: TrainingResult, labelled: pd.DataFrame) -> None:
    """Each holdout deal at creation and at the landmark ages it was still open at; figures
    by age band, and the deals still open that the holdout cannot hold."""
    snapshots = trained.win.deals
    ages = snapshots["snapshot_age"]
    assert (ages == 0).any() and (ages > 90).any()
    assert ((ages == 0) | (snapshots["closed_date"] > snapshots["as_of"])).all()

    by_age = trained.win.metrics_by_age()
    bands = by_age.xs("walkaway", level="predictor")
    assert list(bands.index) == ["0-30", "30-90", "over 90"]
    assert bands["deals"].sum() == len(snapshots)
    assert {"truth", "base_rate", "logistic"} <= set(by_age.index.get_level_values("predictor"))
    # The truth is each snapshot's true chance given its age: lower for older snapshots.
    truth = pd.Series(trained.win.predictions["truth"])
    assert truth[ages.to_numpy() > 90].mean() < truth[ages.to_numpy() < 30].mean()

    still_open = int(labelled["outcome"].eq("open").sum())
    assert trained.still_open == still_open > 0
    summary = trained.holdout_summary()
    assert f"{still_open:,} deals open on that day or created since are still open" in summary
    assert f"the newest {len(snapshots):,} snapshots" in summary


def test_the_direction_of_age_is_learned_not_assumed(history: History) -> None:
    """An export in which wins are slow and losses quick (as in Maven's) teaches the model that
    a deal still open late is more likely to win: the opposite of the synthetic default."""
    deals = history.deals.copy()
    won = deals["outcome"].eq("won")
    lost = deals["outcome"].eq("lost")
    deals.loc[won, "closed_date"] = deals.loc[won, "created_date"] + pd.Timedelta(days=120)
    deals.loc[lost, "closed_date"] = deals.loc[lost, "created_date"] + pd.Timedelta(days=10)
    late = deals["closed_date"] > history.export_date
    deals.loc[late, ["outcome", "closed_date"]] = ["open", pd.NaT]
    reversed_history = dataclasses.replace(history, deals=deals)
    model = train_and_evaluate(reversed_history, refit=False).model
    closed = reversed_history.deal_frame()
    closed = closed[closed["outcome"].isin(["won", "lost"])].head(400)
    at_creation = model.predict_probabilities(closed, closed["created_date"])["p_win"]
    at_60_days = model.predict_probabilities(
        closed, closed["created_date"] + pd.Timedelta(days=60)
    )["p_win"]
    assert at_60_days.mean() > at_creation.mean() + 0.2
