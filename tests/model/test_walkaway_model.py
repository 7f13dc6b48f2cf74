"""The model: exact explanations, probabilities, the data gate, the leakage guard, censoring."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from walkaway.model.explanations import by_sign
from walkaway.model.recommendation import RECOMMENDATIONS
from walkaway.model.splits import sample_rows
from walkaway.model.training import TrainingResult
from walkaway.model.walkaway_model import NotEnoughData, WalkawayModel
from walkaway.signs import GROUPS


def holdout_deals(trained: TrainingResult) -> pd.DataFrame:
    return trained.win.deals


@pytest.mark.parametrize("head", ["win", "regret"])
def test_sign_contributions_plus_bias_equal_the_raw_margin(
    trained: TrainingResult, head: str
) -> None:
    model = trained.model
    deals = holdout_deals(trained)
    parts = model.explain(deals)
    contributions = parts[f"{head}_contrib"]
    head_model = model.win_head_ if head == "win" else model.regret_head_
    margin = head_model.margin(parts["X"])

    per_sign = by_sign(contributions, model.groups_)
    assert per_sign.shape == (len(deals), len(GROUPS))
    np.testing.assert_allclose(per_sign.sum(axis=1) + contributions[:, -1], margin, atol=1e-6)
    # and the signs really differ: each carries part of the margin somewhere
    assert (np.abs(per_sign) > 1e-3).any(axis=0).all()


def test_predictions_are_probabilities_with_consistent_p_good(trained: TrainingResult) -> None:
    scores = trained.model.predict(holdout_deals(trained))
    for column in ("p_win", "p_regret", "p_good"):
        assert scores[column].between(0, 1).all()
    np.testing.assert_allclose(scores["p_good"], scores["p_win"] * (1 - scores["p_regret"]))
    assert set(scores["recommendation"]) <= set(RECOMMENDATIONS)
    assert scores.index.equals(holdout_deals(trained).index)


def test_probabilities_without_explanations_match_the_explained_scores(
    trained: TrainingResult,
) -> None:
    deals = holdout_deals(trained)
    explained = trained.model.predict(deals)[["p_win", "p_regret", "p_good"]]
    pd.testing.assert_frame_equal(trained.model.predict_probabilities(deals), explained)


def test_sign_effects_are_zero_when_the_sign_contributes_nothing(trained: TrainingResult) -> None:
    """The effect of a group is p_good with vs without its contributions: a deal whose group
    contributions are all zero has no effect from it."""
    model = trained.model
    deals = holdout_deals(trained).head(50)
    scores = model.predict(deals)
    parts = model.explain(deals)
    win, regret = (
        by_sign(parts["win_contrib"], model.groups_),
        by_sign(parts["regret_contrib"], model.groups_),
    )
    for column, group in enumerate(GROUPS):
        silent = (np.abs(win[:, column]) < 1e-12) & (np.abs(regret[:, column]) < 1e-12)
        assert np.allclose(scores.loc[silent, f"effect_{group}"], 0.0)
        assert (~silent).any()


@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    rows=st.lists(st.integers(min_value=0, max_value=10_000), min_size=1, max_size=20),
    amount=st.one_of(st.none(), st.floats(min_value=0, max_value=1e9)),
    tenure=st.one_of(st.none(), st.floats(min_value=0, max_value=60)),
    industry=st.sampled_from([None, "manufacturing", "space mining"]),
    product=st.sampled_from([None, "core", "teleporter"]),
)
def test_any_deal_gets_probabilities_and_finite_effects(
    trained: TrainingResult,
    rows: list[int],
    amount: float | None,
    tenure: float | None,
    industry: str | None,
    product: str | None,
) -> None:
    deals = holdout_deals(trained)
    picked = deals.iloc[[r % len(deals) for r in rows]].copy()
    picked["amount"] = np.nan if amount is None else amount
    picked["incumbent_tenure_years"] = np.nan if tenure is None else tenure
    picked["industry"] = industry
    picked["product"] = product
    picked.index = pd.RangeIndex(len(picked))
    scores = trained.model.predict(picked)
    assert len(scores) == len(picked)
    assert scores[["p_win", "p_regret", "p_good"]].apply(lambda c: c.between(0, 1)).all().all()
    assert np.isfinite(scores[[f"effect_{g}" for g in GROUPS]].to_numpy()).all()
    if industry == "space mining":
        assert scores["reasons_icp_fit"].str.contains("new industry 'space mining'").all()
    if product == "teleporter":
        assert scores["reasons_need_fit"].str.contains("'teleporter' is not in the catalogue").all()


def test_censored_wins_are_left_out_of_the_regret_head(labelled: pd.DataFrame) -> None:
    closed = labelled[labelled["won"].notna()]
    censored = closed["regret_status"].eq("censored")
    assert censored.sum() > 50 and closed.loc[censored, "regret_label"].isna().all()

    model = WalkawayModel().fit(closed)
    assert model.regret_head_.rows == closed["regret_label"].notna().sum()
    assert model.regret_head_.rows < closed["won"].sum() - censored.sum() + 1

    # Counting censored wins as "not regrettable" would give the head more rows: it must not.
    counted = closed.copy()
    counted.loc[censored, "regret_label"] = 0.0
    assert (
        WalkawayModel().fit(counted).regret_head_.rows == model.regret_head_.rows + censored.sum()
    )


def test_minimum_data_gate_names_the_counts(labelled: pd.DataFrame) -> None:
    closed = labelled[labelled["won"].notna()]
    small = pd.concat([closed[closed["won"] == 1].head(39), closed[closed["won"] == 0].head(200)])
    with pytest.raises(
        NotEnoughData, match="at least 40 won and 40 lost .* has 39 won and 200 lost"
    ):
        WalkawayModel().fit(small)


def test_policy_thresholds_come_from_out_of_fold_predictions(
    labelled: pd.DataFrame, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The thresholds are read off what each head said of deals it never saw: out-of-fold
    probabilities for the rows a head learned from, its plain predictions for the others (the
    regret head never learned from lost deals or censored wins)."""
    import walkaway.model.walkaway_model as model_module

    heads_said: dict[str, np.ndarray] = {}
    policy_saw: dict[str, np.ndarray] = {}
    fit_head, from_training = model_module.fit_head, model_module.Policy.from_training

    def recording_fit_head(name, *args, **kwargs):
        head, out_of_fold = fit_head(name, *args, **kwargs)
        heads_said[name] = out_of_fold
        return head, out_of_fold

    def recording_policy(p_win, p_regret, amount, regret_rate):
        policy_saw.update(p_win=p_win, p_regret=p_regret)
        return from_training(p_win, p_regret, amount, regret_rate)

    monkeypatch.setattr(model_module, "fit_head", recording_fit_head)
    monkeypatch.setattr(model_module.Policy, "from_training", staticmethod(recording_policy))
    closed = labelled[labelled["won"].notna()]
    model = WalkawayModel().fit(closed)

    # The win head learned from snapshots; the policy saw its out-of-fold probabilities (the
    # oldest block, which only ever teaches, has none).
    said = heads_said["win"]
    rows = sample_rows(len(said))
    rows = rows[~np.isnan(said[rows])]
    np.testing.assert_array_equal(policy_saw["p_win"], said[rows])
    snaps = model.snapshots(closed)
    X_snaps = model.encoded_features(snaps, snaps["as_of"])
    in_sample = model.win_head_.calibrate(model.win_head_.margin(X_snaps))[rows]
    assert np.abs(policy_saw["p_win"] - in_sample).max() > 0.01  # not the head's own fit
    # Each snapshot's p_regret is its deal's: out of fold for matured wins the regret head
    # predicted, the head's own prediction for the rest.
    X = model.encoded_features(closed)
    regret = model.regret_head_.calibrate(model.regret_head_.margin(X))
    matured = closed["regret_label"].notna().to_numpy()
    regret[matured] = np.where(
        np.isnan(heads_said["regret"]), regret[matured], heads_said["regret"]
    )
    deal = closed.index.get_indexer(snaps["deal_row"])[rows]
    np.testing.assert_allclose(policy_saw["p_regret"], regret[deal])


def test_the_mappings_signs_move_a_columns_features_in_the_catalogue(trained) -> None:
    import copy

    model = copy.copy(trained.model)
    assert model.feature_catalogue["seller_win_rate"].sign == "deal_context"
    model.signs = {"owner": "icp_fit"}
    catalogue = model.feature_catalogue
    assert catalogue["seller_win_rate"].sign == catalogue["seller_closed_deals"].sign == "icp_fit"
    assert catalogue["region"].sign == "deal_context"
