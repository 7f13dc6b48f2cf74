"""Tests of the recommendation policy (walkaway.model.recommendation)."""

from __future__ import annotations

from dataclasses import asdict, replace

import numpy as np
import pandas as pd
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from walkaway.model.recommendation import RECOMMENDATIONS, Policy, recommend
from walkaway.model.training import TrainingResult
from walkaway.signs import GROUPS

PROBABILITY = st.floats(0, 1, allow_nan=False)
EFFECT = st.floats(-40, 40, allow_nan=False)


@st.composite
def policies(draw: st.DrawFn) -> Policy:
    return Policy(
        pursue_p_good=draw(st.floats(0.05, 0.95)),
        compete_expected_value=draw(st.floats(0, 200_000)),
        walk_away_p_regret=draw(st.floats(0.01, 0.9)),
        walk_away_p_win=draw(st.floats(0.01, 0.9)),
        dominance_points=draw(st.floats(0, 10)),
        dominance_ratio=draw(st.floats(1, 3)),
        min_evidence=draw(st.floats(0, 1)),
    )


@st.composite
def deals(draw: st.DrawFn) -> dict[str, np.ndarray | pd.DataFrame]:
    n = draw(st.integers(1, 15))

    def column(values: st.SearchStrategy[float]) -> np.ndarray:
        return np.array(draw(st.lists(values, min_size=n, max_size=n)), dtype=float)

    effects = pd.DataFrame({group: column(EFFECT) for group in GROUPS})
    return {
        "p_win": column(PROBABILITY),
        "p_regret": column(PROBABILITY),
        "amount": column(st.floats(0, 500_000) | st.just(float("nan"))),
        "sign_effects": effects,
        "evidence": column(PROBABILITY),
    }


def run(policy: Policy, deal: dict) -> tuple[np.ndarray, np.ndarray]:
    return recommend(
        policy,
        deal["p_win"],
        deal["p_regret"],
        deal["amount"],
        deal["sign_effects"],
        deal["evidence"],
    )


@settings(max_examples=50, deadline=None)
@given(policy=policies(), deal=deals())
def test_every_recommendation_follows_the_policy(policy: Policy, deal: dict) -> None:
    what, why = run(policy, deal)
    n = len(deal["p_win"])
    assert len(what) == len(why) == n
    p_good = deal["p_win"] * (1 - deal["p_regret"])
    effects = deal["sign_effects"]
    expected_return = deal["p_win"] * deal["amount"]  # NaN: unknown
    for i in range(n):
        assert what[i] in RECOMMENDATIONS
        assert isinstance(why[i], str) and why[i]
        glass, icp, need, context = (effects[g].iloc[i] for g in GROUPS)
        costs = sorted(-effects.iloc[i].to_numpy())
        if what[i] in ("compete", "keep_presence", "walk_away"):
            # a sign decided: it costs most of all four groups, and dominates the next one
            assert -min(glass, icp, need) == costs[-1] >= policy.dominance_points
            assert costs[-1] >= policy.dominance_ratio * max(costs[-2], 0.0)
        if -context == costs[-1] and costs[-1] > costs[-2]:
            assert what[i] in ("qualify", "pursue"), "deal context is no reason to walk away"
        thin = deal["evidence"][i] < policy.min_evidence
        if thin:
            assert what[i] == "qualify"
            assert why[i].startswith("evidence is thin")
        elif p_good[i] >= policy.pursue_p_good:
            assert what[i] == "pursue"
        if what[i] == "pursue":
            assert not thin and p_good[i] >= policy.pursue_p_good
        if what[i] in ("compete", "keep_presence"):
            assert glass <= min(icp, need), "glass walls must be the most negative sign"
            assert -glass >= policy.dominance_points
            assert (what[i] == "compete") == (expected_return[i] >= policy.compete_expected_value)
            if np.isnan(deal["amount"][i]):
                assert what[i] == "keep_presence" and "amount is unknown" in why[i]
        if what[i] == "walk_away":
            assert min(icp, need) <= glass, "an ICP or need misfit must be the most negative"
            assert -min(icp, need) >= policy.dominance_points
            assert (
                deal["p_regret"][i] >= policy.walk_away_p_regret
                or deal["p_win"][i] <= policy.walk_away_p_win
            )
        if what[i] != "pursue" and not thin:
            assert p_good[i] < policy.pursue_p_good


@settings(max_examples=50, deadline=None)
@given(policy=policies(), deal=deals())
def test_thin_evidence_always_qualifies(policy: Policy, deal: dict) -> None:
    below = np.nextafter(policy.min_evidence, -np.inf)
    assume(below >= 0)  # with min_evidence 0, no evidence is below it
    deal["evidence"] = np.clip(deal["evidence"], None, below)
    what, _ = run(policy, deal)
    assert set(what) == {"qualify"}


@settings(max_examples=50, deadline=None)
@given(policy=policies(), deal=deals())
def test_good_deals_with_enough_evidence_are_pursued(policy: Policy, deal: dict) -> None:
    deal["p_regret"] = np.zeros_like(deal["p_regret"])
    deal["p_win"] = np.maximum(deal["p_win"], policy.pursue_p_good)
    deal["evidence"] = np.maximum(deal["evidence"], policy.min_evidence)
    what, why = run(policy, deal)
    assert set(what) == {"pursue"}
    assert all(w.endswith("is in the top tier") for w in why)


def test_each_branch_on_hand_made_deals() -> None:
    policy = Policy(0.5, 10_000, 0.3, 0.1)
    effects = pd.DataFrame(
        {
            "glass_walls": [-20.0, -20.0, 0.0, 0.0, -5.0, -2.0, -20.0, 0.0, -20.0, -5.0, -4.0],
            "icp_fit": [0.0, 0.0, -15.0, 0.0, -5.0, -1.0, 0.0, -15.0, 0.0, 0.0, -1.0],
            "need_fit": [0.0, 0.0, 0.0, -12.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0],
            "deal_context": [0.0, 0.0, 0.0, 5.0, 0.0, 0.0, 0.0, -2.0, 0.0, -4.0, -12.0],
        }
    )
    p_win = np.array([0.4, 0.4, 0.4, 0.05, 0.4, 0.4, 0.9, 0.4, 0.4, 0.3, 0.3])
    p_regret = np.array([0.1, 0.1, 0.5, 0.1, 0.1, 0.1, 0.1, 0.1, 0.1, 0.5, 0.5])
    amount = np.array([50_000, 5_000, 1_000, 1_000, 1_000, 1_000, 1_000, 1_000, np.nan, 1, 1])
    evidence = np.ones(len(amount))
    what, why = recommend(policy, p_win, p_regret, amount, effects, evidence)
    assert what.tolist() == [
        "compete",  # glass walls dominate, 0.4 x 50,000 = 20,000 >= 10,000
        "keep_presence",  # glass walls dominate, 2,000 is modest
        "walk_away",  # ICP dominates, p_regret 0.5 >= 0.3
        "walk_away",  # need fit dominates, p_win 0.05 <= 0.1
        "qualify",  # a tie: no sign dominates
        "qualify",  # below dominance_points
        "pursue",  # p_good 0.81 >= 0.5 whatever the signs
        "qualify",  # ICP dominates but the risks are moderate
        "keep_presence",  # glass walls dominate, the amount is unknown
        "qualify",  # glass walls do not dominate deal context
        "qualify",  # deal context costs most
    ]
    assert why[0] == "glass walls cost 20 pts, but the expected return 20,000 is high"
    assert why[2] == "ideal customer profile cost 15 pts and the regret risk is high"
    assert why[3] == "need fit cost 12 pts and the loss risk is high"
    assert why[4] == "no sign clearly dominates: find out more before deciding"
    assert why[7].endswith("but the regret and loss risks are moderate: qualify")
    assert why[8] == (
        "glass walls cost 20 pts and the amount is unknown: the expected return cannot be "
        "shown to be high"
    )
    assert why[9] == (
        "glass walls cost 5 pts, but deal context costs 4 pts too: find out more before deciding"
    )
    assert why[10] == (
        "deal context costs 12 pts, more than any sign: find out more before deciding"
    )


def test_a_sign_is_no_reason_to_walk_away_when_deal_context_costs_more() -> None:
    """The issue's case: deal context costs the deal most, and a 4-point sign must not decide."""
    policy = Policy(0.9, 10_000, 0.2, 0.2)
    effects = pd.DataFrame(
        {
            "glass_walls": [-4.0, 0.0, -4.0],
            "icp_fit": [0.0, -4.0, 0.0],
            "need_fit": [0.0, 0.0, 0.0],
            "deal_context": [-15.0, -15.0, 0.0],
        }
    )
    what, why = recommend(
        policy, np.full(3, 0.1), np.full(3, 0.5), np.full(3, 1_000.0), effects, np.ones(3)
    )
    assert what.tolist() == ["qualify", "qualify", "keep_presence"]
    assert all("deal context costs 15 pts" in w for w in why[:2])


def test_dominance_needs_the_ratio_over_the_runner_up() -> None:
    policy = Policy(0.9, 0.0, 0.0, 1.0, dominance_points=3.0, dominance_ratio=1.5)
    effects = pd.DataFrame(
        {
            "glass_walls": [-9.0, -9.0, -9.0],
            "icp_fit": [-6.0, -6.1, 0.0],
            "need_fit": [0.0, 0.0, 0.0],
            "deal_context": [0.0, 0.0, -6.1],
        }
    )
    what, _ = recommend(
        policy, np.full(3, 0.5), np.zeros(3), np.full(3, 100.0), effects, np.ones(3)
    )
    assert what.tolist() == ["compete", "qualify", "qualify"]  # 9 >= 1.5 x 6, not 1.5 x 6.1


def test_unknown_amount_cannot_show_a_high_expected_return() -> None:
    policy = Policy(0.9, 1.0, 0.0, 1.0)
    effects = pd.DataFrame(
        {"glass_walls": [-20.0, -20.0], "icp_fit": 0.0, "need_fit": 0.0, "deal_context": 0.0}
    )
    amount = np.array([np.nan, 1e9])
    what, why = recommend(policy, np.full(2, 0.5), np.zeros(2), amount, effects, np.ones(2))
    assert what.tolist() == ["keep_presence", "compete"]
    assert "the amount is unknown" in why[0]


# --------------------------------------------------------------------------- Policy


@settings(max_examples=50, deadline=None)
@given(
    rows=st.lists(
        st.tuples(PROBABILITY, PROBABILITY, st.floats(0, 1e6) | st.just(float("nan"))),
        min_size=1,
        max_size=40,
    ).filter(lambda rows: any(not np.isnan(a) for _, _, a in rows)),
    regret_rate=PROBABILITY,
)
def test_from_training_gives_thresholds_within_the_inputs(
    rows: list[tuple[float, float, float]], regret_rate: float
) -> None:
    p_win, p_regret, amount = (np.array(column, dtype=float) for column in zip(*rows, strict=True))
    policy = Policy.from_training(p_win, p_regret, amount, regret_rate)
    good = p_win * (1 - p_regret)
    known = ~np.isnan(amount)
    expected = p_win[known] * amount[known]
    rounding = 5e-5  # thresholds are rounded to 4 decimals (2 for the expected value)
    assert good.min() - rounding <= policy.pursue_p_good <= good.max() + rounding
    assert p_win.min() - rounding <= policy.walk_away_p_win <= p_win.max() + rounding
    assert expected.min() - 5e-3 <= policy.compete_expected_value <= expected.max() + 5e-3
    expected_regret = regret_rate if regret_rate > 0 else 1.0  # no regret data: never "high"
    assert policy.walk_away_p_regret == pytest.approx(expected_regret, abs=rounding)
    assert (policy.dominance_points, policy.dominance_ratio, policy.min_evidence) == (3.0, 1.5, 0.5)


def test_from_training_on_known_numbers() -> None:
    p_win = np.array([0.1, 0.2, 0.3, 0.4, 0.5])
    p_regret = np.zeros(5)
    amount = np.array([100.0, np.nan, 300.0, 100.0, 500.0])  # an unknown amount: no return
    policy = Policy.from_training(p_win, p_regret, amount, regret_rate=0.123456)
    assert policy.pursue_p_good == 0.38  # 70% quantile of 0.1..0.5
    assert policy.walk_away_p_win == 0.2
    assert policy.compete_expected_value == 65.0  # median of 10, 90, 40, 250 (known amounts)
    assert policy.walk_away_p_regret == 0.1235


def test_without_any_amount_no_deal_is_worth_competing_for() -> None:
    """Unknown amounts are unknown returns both when the threshold is set and when it is
    applied: no known amount gives no threshold, and every glass-walls deal keeps presence."""
    policy = Policy.from_training(
        np.array([0.2, 0.6]), np.zeros(2), np.full(2, np.nan), regret_rate=0.1
    )
    assert np.isnan(policy.compete_expected_value)
    assert policy.pursue_p_good > 0  # the other thresholds are set as usual
    effects = pd.DataFrame(
        {"glass_walls": [-20.0, -20.0], "icp_fit": 0.0, "need_fit": 0.0, "deal_context": 0.0}
    )
    what, why = recommend(
        replace(policy, pursue_p_good=1.0),
        np.full(2, 0.5),
        np.zeros(2),
        np.array([1e9, np.nan]),
        effects,
        np.ones(2),
    )
    assert what.tolist() == ["keep_presence", "keep_presence"]
    assert why[0].endswith("the training deals had no amounts")
    assert "amount is unknown" in why[1]


def test_with_overrides_sets_known_thresholds_and_rejects_unknown_ones() -> None:
    policy = Policy(0.3, 10_000, 0.3, 0.1)
    changed = policy.with_overrides({"pursue_p_good": 0.6, "min_evidence": 1})
    assert changed.pursue_p_good == 0.6
    assert changed.min_evidence == 1.0 and isinstance(changed.min_evidence, float)
    assert asdict(changed) | {"pursue_p_good": 0.3, "min_evidence": 0.5} == asdict(policy)
    assert policy.pursue_p_good == 0.3, "the original is unchanged"
    with pytest.raises(ValueError, match=r"^unknown policy threshold\(s\): colour, pursue$"):
        policy.with_overrides({"pursue": 0.5, "colour": 1.0, "min_evidence": 0.2})
    assert policy.with_overrides({}) == policy


def test_trained_model_never_walks_away_over_a_sign_when_deal_context_costs_more(
    trained: TrainingResult,
) -> None:
    scores = trained.model.predict(trained.win.deals)
    costs = -scores[[f"effect_{g}" for g in GROUPS]].to_numpy()
    context_costs_most = costs[:, GROUPS.index("deal_context")] > np.delete(
        costs, GROUPS.index("deal_context"), axis=1
    ).max(axis=1)
    decided = scores["recommendation"].isin(["compete", "keep_presence", "walk_away"])
    assert not (context_costs_most & decided).any()
    assert context_costs_most.any()  # the check is real
    context = scores["recommendation_reason"].str.contains("deal context cost")
    assert (scores.loc[context, "recommendation"] == "qualify").all()


def test_a_stalled_deal_is_a_reason_of_its_own() -> None:
    policy = Policy(0.3, 10_000, 0.3, 0.1)
    effects = pd.DataFrame(
        {
            "glass_walls": [-4.0, -4.0, -20.0, -4.0],
            "icp_fit": [0.0] * 4,
            "need_fit": [0.0] * 4,
            "deal_context": [-10.0] * 4,
        }
    )
    age = pd.DataFrame(
        {
            "days_open": [240.0, 240.0, 240.0, 100.0],
            "days_open_vs_usual": [2.5, 2.5, 2.5, 1.2],
            "points": [-9.0, -9.0, -9.0, -9.0],
        }
    )
    p_win, p_regret = np.array([0.2, 0.05, 0.2, 0.2]), np.full(4, 0.1)
    what, why = recommend(policy, p_win, p_regret, np.full(4, 1_000.0), effects, np.ones(4), age)
    assert what[0] == "qualify" and why[0].startswith("stalled: open 240 days, 2.5x the usual")
    assert what[1] == "walk_away" and "p_win is down to 5%" in why[1]
    # Glass walls cost more than the age: the sign decides, not the stall.
    assert not why[2].startswith("stalled")
    # Not twice the usual cycle: not stalled, whatever its age costs.
    assert not why[3].startswith("stalled")
