"""Tests of the recommendation policy (walkaway.recommendation)."""

from __future__ import annotations

from dataclasses import asdict

import numpy as np
import pandas as pd
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from walkaway.recommendation import RECOMMENDATIONS, Policy, recommend
from walkaway.signs import SIGNS

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

    effects = pd.DataFrame({sign: column(EFFECT) for sign in SIGNS})
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
    expected_return = deal["p_win"] * np.nan_to_num(deal["amount"], nan=0.0)
    for i in range(n):
        assert what[i] in RECOMMENDATIONS
        assert isinstance(why[i], str) and why[i]
        glass, icp, need = (effects[s].iloc[i] for s in SIGNS)
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
            "glass_walls": [-20.0, -20.0, 0.0, 0.0, -5.0, -2.0, -20.0, 0.0],
            "icp_fit": [0.0, 0.0, -15.0, 0.0, -5.0, -1.0, 0.0, -15.0],
            "need_fit": [0.0, 0.0, 0.0, -12.0, 0.0, 0.0, 0.0, 0.0],
        }
    )
    p_win = np.array([0.4, 0.4, 0.4, 0.05, 0.4, 0.4, 0.9, 0.4])
    p_regret = np.array([0.1, 0.1, 0.5, 0.1, 0.1, 0.1, 0.1, 0.1])
    amount = np.array([50_000, 5_000, 1_000, 1_000, 1_000, 1_000, 1_000, 1_000], dtype=float)
    evidence = np.array([1, 1, 1, 1, 1, 1, 1, 1.0])
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
    ]
    assert why[0] == "glass walls cost 20 pts, but the expected return 20,000 is high"
    assert why[2] == "ideal customer profile cost 15 pts and the regret risk is high"
    assert why[3] == "need fit cost 12 pts and the loss risk is high"
    assert why[4] == "no sign clearly dominates: find out more before deciding"
    assert why[7].endswith("but the regret and loss risks are moderate: qualify")


def test_dominance_needs_the_ratio_over_the_runner_up() -> None:
    policy = Policy(0.9, 0.0, 0.0, 1.0, dominance_points=3.0, dominance_ratio=1.5)
    effects = pd.DataFrame(
        {"glass_walls": [-9.0, -9.0], "icp_fit": [-6.0, -6.1], "need_fit": [0.0, 0.0]}
    )
    what, _ = recommend(
        policy, np.full(2, 0.5), np.zeros(2), np.full(2, 100.0), effects, np.ones(2)
    )
    assert what.tolist() == ["compete", "qualify"]  # 9 >= 1.5 x 6, but not 1.5 x 6.1


def test_unknown_amount_counts_as_no_expected_return() -> None:
    policy = Policy(0.9, 1.0, 0.0, 1.0)
    effects = pd.DataFrame({"glass_walls": [-20.0], "icp_fit": [0.0], "need_fit": [0.0]})
    what, _ = recommend(
        policy, np.array([0.5]), np.zeros(1), np.array([np.nan]), effects, np.ones(1)
    )
    assert what.tolist() == ["keep_presence"]


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
    expected = p_win * np.nan_to_num(amount, nan=np.nanmedian(amount))
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
    amount = np.array([100.0, np.nan, 300.0, 100.0, 500.0])  # the unknown amount is the median 200
    policy = Policy.from_training(p_win, p_regret, amount, regret_rate=0.123456)
    assert policy.pursue_p_good == 0.38  # 70% quantile of 0.1..0.5
    assert policy.walk_away_p_win == 0.2
    assert policy.compete_expected_value == 40.0  # median of 10, 40, 90, 40, 250
    assert policy.walk_away_p_regret == 0.1235


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
