"""Explanations (walkaway.model.explanations): group effects that add up to p_good, feature points
that add up to their group's effect and stay bounded, reasons that agree with their sign."""

from __future__ import annotations

import re
from collections.abc import Callable

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.special import expit
from sklearn.isotonic import IsotonicRegression

from walkaway.model.explanations import (
    MIN_REASON_POINTS,
    REASONS_PER_SIGN,
    by_sign,
    explain_p_good,
    reasons,
)
from walkaway.model.features import FEATURES
from walkaway.model.training import TrainingResult
from walkaway.signs import GROUPS

POINTS = re.compile(r" \(([+-]\d+(?:\.\d)?) pts\)$")
CONTRIBUTION = st.floats(-3, 3, allow_nan=False)


class Sigmoid:
    """A Platt calibrator: expit(slope x margin + intercept)."""

    def __init__(self, slope: float, intercept: float):
        self.slope, self.intercept = slope, intercept

    def __call__(self, margin: np.ndarray) -> np.ndarray:
        return expit(self.slope * margin + self.intercept)

    def steepest(self) -> float:
        """The steepest secant: the largest derivative."""
        return self.slope / 4


class Isotonic:
    """An isotonic calibrator as the heads fit one (clipped to [1e-4, 1 - 1e-4]), learned on
    seeded noisy margins: piecewise linear with flat stretches and steep steps."""

    def __init__(self, seed: int, rows: int):
        rng = np.random.default_rng(seed)
        margin = rng.normal(0, 1.5, rows)
        outcome = (rng.random(rows) < expit(margin)).astype(float)
        self.fitted = IsotonicRegression(y_min=1e-4, y_max=1 - 1e-4, out_of_bounds="clip")
        self.fitted.fit(margin, outcome)

    def __call__(self, margin: np.ndarray) -> np.ndarray:
        return self.fitted.predict(margin)


def constant(margin: np.ndarray) -> np.ndarray:
    """An untrained head: its base rate whatever the margin."""
    return np.full(len(margin), 0.2)


@st.composite
def calibrators(draw: st.DrawFn) -> Callable[[np.ndarray], np.ndarray]:
    kind = draw(st.sampled_from(["sigmoid", "isotonic", "constant"]))
    if kind == "sigmoid":
        return Sigmoid(draw(st.floats(0, 3)), draw(st.floats(-2, 2)))
    if kind == "isotonic":
        return Isotonic(draw(st.integers(0, 1000)), draw(st.integers(30, 3000)))
    return constant


@st.composite
def explained_deals(draw: st.DrawFn) -> dict:
    """Contributions of a few deals on both margins (bias last) and their features' groups;
    one group's features sometimes cancel almost exactly."""
    deals = draw(st.integers(1, 12))
    features = draw(st.integers(1, 10))
    group_of = np.array(draw(st.lists(st.integers(0, 3), min_size=features, max_size=features)))
    groups = np.zeros((features, len(GROUPS)))
    groups[np.arange(features), group_of] = 1.0

    def contributions() -> np.ndarray:
        values = draw(
            st.lists(CONTRIBUTION, min_size=deals * (features + 1), max_size=deals * (features + 1))
        )
        return np.array(values).reshape(deals, features + 1)

    win, regret = contributions(), contributions()
    pair = np.flatnonzero(group_of == group_of[0])
    if len(pair) >= 2 and draw(st.booleans()):  # two features of a group nearly cancel
        tiny = draw(st.floats(-1e-3, 1e-3))
        win[:, pair[1]] = -win[:, pair[0]] + tiny
        regret[:, pair[1]] = -regret[:, pair[0]] - tiny
    return {"win": win, "regret": regret, "groups": groups}


@settings(max_examples=150, deadline=None)
@given(deal=explained_deals(), calibrate_win=calibrators(), calibrate_regret=calibrators())
def test_effects_add_up_to_p_good_and_features_to_their_group(
    deal: dict, calibrate_win: Callable, calibrate_regret: Callable
) -> None:
    win, regret, groups = deal["win"], deal["regret"], deal["groups"]
    points = explain_p_good(win, regret, groups, calibrate_win, calibrate_regret)

    p_good = calibrate_win(win.sum(axis=1)) * (1 - calibrate_regret(regret.sum(axis=1)))
    base = calibrate_win(win[:, -1]) * (1 - calibrate_regret(regret[:, -1]))
    np.testing.assert_allclose(points.base, base, atol=1e-12)
    # p_good = p_good_base + the four effects, to within 0.05 points
    np.testing.assert_allclose(100 * (p_good - points.base), points.groups.sum(axis=1), atol=0.05)
    np.testing.assert_allclose(by_sign(points.features, groups), points.groups, atol=1e-9)
    empty = groups.sum(axis=0) == 0
    assert (points.groups[:, empty] == 0).all(), "a group without features has no effect"


@settings(max_examples=150, deadline=None)
@given(deal=explained_deals(), calibrate_win=calibrators(), calibrate_regret=calibrators())
def test_feature_points_stay_bounded_whatever_the_calibrators(
    deal: dict, calibrate_win: Callable, calibrate_regret: Callable
) -> None:
    """A feature's first-order part is at most the calibrators' rise over a window as wide as
    its contribution (at most 100 points on each margin), its group's effect at most 100: so
    however steep a step of an isotonic calibrator, no feature gets more than
    100 x (3 + 2 x its group's features) points."""
    win, regret, groups = deal["win"], deal["regret"], deal["groups"]
    points = explain_p_good(win, regret, groups, calibrate_win, calibrate_regret)
    members = groups.sum(axis=0)[groups.argmax(axis=1)]
    assert (np.abs(points.features) <= 100 * (3 + 2 * members) + 1e-9).all()


@settings(max_examples=150, deadline=None)
@given(
    deal=explained_deals(),
    slopes=st.tuples(st.floats(0, 3), st.floats(0, 3)),
    intercepts=st.tuples(st.floats(-2, 2), st.floats(-2, 2)),
)
def test_sigmoid_feature_points_are_at_most_their_groups_contributions_times_the_slope(
    deal: dict, slopes: tuple[float, float], intercepts: tuple[float, float]
) -> None:
    """With Platt calibrators no secant is steeper than slope / 4: a feature gets at most
    3 x 100 x (slope / 4) x its group's contributions in size, summed over both margins."""
    win, regret, groups = deal["win"], deal["regret"], deal["groups"]
    calibrate_win, calibrate_regret = (
        Sigmoid(a, b) for a, b in zip(slopes, intercepts, strict=True)
    )
    points = explain_p_good(win, regret, groups, calibrate_win, calibrate_regret)
    size = calibrate_win.steepest() * by_sign(np.abs(win), groups)
    size += calibrate_regret.steepest() * by_sign(np.abs(regret), groups)
    assert (np.abs(points.features) <= 300 * size[:, groups.argmax(axis=1)] + 1e-9).all()


def test_cancelling_contributions_across_a_cliff_get_points_of_their_own_size() -> None:
    """Two glass-walls features of +2 and -2 logits whose net move (1e-4) straddles a cliff of
    the win calibrator (0 to 1 within 1e-4 logits): the group's effect is real (half the cliff),
    but neither feature gets more than the cliff's 100 points, where the slope of the net move
    alone (10,000 per logit) would give each of them about 2 million."""
    margins = np.concatenate([np.linspace(-3, 0, 50), np.linspace(1e-4, 3, 50)])
    cliff = IsotonicRegression(y_min=1e-4, y_max=1 - 1e-4, out_of_bounds="clip")
    cliff.fit(margins, (margins > 0).astype(float))
    win = np.array([[2.0, -2.0 + 1e-4, 0.0, 0.0, 0.0, -5e-5]])
    regret = np.zeros((1, 6))
    groups = np.eye(4)[[0, 0, 1, 2, 3]]
    points = explain_p_good(win, regret, groups, cliff.predict, constant)
    assert 30 < points.groups[0, 0] < 50  # about half the cliff, times 1 - p_regret = 0.8
    assert np.abs(points.features[0, :2]).max() <= 100
    assert points.features[0, 0] > 0 > points.features[0, 1]
    assert points.features[0, :2].sum() == pytest.approx(points.groups[0, 0], abs=1e-9)


def test_a_group_that_moves_no_margin_has_no_effect_and_no_points() -> None:
    win = np.array([[0.8, 0.0, 0.0, -0.2, 0.5, -0.1]])
    regret = np.array([[0.3, 0.0, 0.0, 0.4, -0.2, -1.0]])
    groups = np.eye(4)[[0, 1, 1, 2, 3]]  # features: glass, icp, icp, need, context
    for calibrate in (Sigmoid(1.0, 0.0), Isotonic(3, 500)):
        points = explain_p_good(win, regret, groups, calibrate, calibrate)
        assert points.groups[0, 1] == 0.0
        assert (points.features[0, 1:3] == 0.0).all()


def test_sigmoid_points_with_one_feature_per_group_are_the_group_effects() -> None:
    """With a single feature in a group there is nothing to split: its points are the group's
    effect, whichever calibrator."""
    rng = np.random.default_rng(0)
    win, regret = rng.normal(0, 1, (50, 5)), rng.normal(0, 1, (50, 5))
    groups = np.eye(4)
    for calibrate in (Sigmoid(1.3, -0.4), Isotonic(1, 2000)):
        points = explain_p_good(win, regret, groups, calibrate, calibrate)
        np.testing.assert_allclose(points.features, points.groups, atol=1e-9)


def test_a_deals_figures_do_not_depend_on_its_batch() -> None:
    rng = np.random.default_rng(1)
    win, regret = rng.normal(0, 1, (300, 9)), rng.normal(0, 1, (300, 9))
    groups = np.eye(4)[[0, 0, 1, 1, 2, 2, 3, 3]]
    calibrate = Isotonic(2, 1000)
    whole = explain_p_good(win, regret, groups, calibrate, calibrate)
    part = explain_p_good(win[7:9], regret[7:9], groups, calibrate, calibrate)
    assert (whole.groups[7:9] == part.groups).all() and (whole.features[7:9] == part.features).all()


# --------------------------------------------------------------------------- reasons


SIGN_FEATURES = {s: [n for n, f in FEATURES.items() if f.sign == s] for s in GROUPS}


def value_for(name: str, draw: st.DrawFn) -> object:
    """A plausible raw value for a built-in feature."""
    if name in ("industry", "ownership", "region", "lead_source", "deal_type", "product"):
        return draw(st.sampled_from(["retail", "public", "emea", None]))
    return draw(st.one_of(st.none(), st.floats(0, 50)))


@st.composite
def sign_reasons(draw: st.DrawFn) -> dict:
    sign = draw(st.sampled_from(GROUPS))
    names = SIGN_FEATURES[sign]
    deals = draw(st.integers(1, 8))
    points = pd.DataFrame(
        {n: draw(st.lists(st.floats(-15, 15), min_size=deals, max_size=deals)) for n in names}
    )
    values = pd.DataFrame(
        {n: [value_for(n, draw) for _ in range(deals)] for n in names}, dtype=object
    )
    notes = pd.DataFrame(
        {
            n: [draw(st.sampled_from([None, None, None, f"note on {n}"])) for _ in range(deals)]
            for n in names
        },
        dtype=object,
    )
    return {"sign": sign, "points": points, "values": values, "notes": notes}


def said_points(text: str) -> list[float | None]:
    """Per reason of a cell, its points (None for a note)."""
    found = [POINTS.search(part) for part in text.split("; ")] if text else []
    return [float(m.group(1)) if m else None for m in found]


@settings(max_examples=200, deadline=None)
@given(case=sign_reasons())
def test_the_first_reason_goes_the_way_its_sign_goes(case: dict) -> None:
    sign, points, notes = case["sign"], case["points"], case["notes"]
    said = reasons(points, case["values"], FEATURES, sign, notes)
    for row, text in enumerate(said):
        effect = points.iloc[row].sum()
        listed = said_points(text)
        with_points = [p for p in listed if p is not None]
        if abs(effect) >= 2:
            assert with_points, text
            assert np.sign(with_points[0]) == np.sign(effect), (effect, text)
        assert len(with_points) <= REASONS_PER_SIGN
        # notes: always said, never before a reason with points, never with points
        if None in listed:
            assert all(p is None for p in listed[listed.index(None) :]), text
        for name in SIGN_FEATURES[sign]:
            note = notes[name].iloc[row]
            if note is not None:
                assert note in text.split("; ")
        assert all(abs(p) >= MIN_REASON_POINTS for p in with_points[1:])


def test_a_noted_value_is_said_as_the_model_saw_it_then_the_note() -> None:
    points = pd.DataFrame({"industry": [-4.0], "employees": [-1.0]})
    values = pd.DataFrame({"industry": ["space mining"], "employees": [1200.0]}, dtype=object)
    notes = pd.DataFrame(
        {"industry": ["new industry 'space mining' (not seen in training)"], "employees": [None]}
    )
    said = reasons(points, values, FEATURES, "icp_fit", notes).iloc[0]
    assert said == (
        "industry unknown (-4 pts); 1,200 employees (-1 pts); "
        "new industry 'space mining' (not seen in training)"
    )


def test_a_sign_that_helps_says_what_helps_first() -> None:
    """The issue's example: glass walls +8.5 explained by "5 earlier losses (-1 pts)"."""
    points = pd.DataFrame(
        {
            "prior_losses_at_account": [-1.0],
            "decision_maker_access": [6.0],
            "competitor_count": [3.5],
        }
    )
    values = pd.DataFrame(
        {"prior_losses_at_account": [5.0], "decision_maker_access": [1.0], "competitor_count": [1]}
    )
    said = reasons(points, values, FEATURES, "glass_walls").iloc[0]
    assert said == (
        "access to the decision maker (+6 pts); 1 competitor (+4 pts); "
        "5 earlier losses at this account (-1 pts)"
    )


# --------------------------------------------------------------------------- the trained model


@pytest.fixture(scope="module")
def holdout_scores(trained: TrainingResult) -> pd.DataFrame:
    return trained.model.predict(trained.win.deals)


def test_trained_p_good_is_its_base_plus_the_four_effects(
    trained: TrainingResult, holdout_scores: pd.DataFrame
) -> None:
    model, scores = trained.model, holdout_scores
    parts = model.explain(trained.win.deals)
    base = model.win_head_.calibrate(parts["win_contrib"][:, -1]) * (
        1 - model.regret_head_.calibrate(parts["regret_contrib"][:, -1])
    )
    np.testing.assert_allclose(scores["p_good_base"], base, atol=1e-12)
    effects = scores[[f"effect_{g}" for g in GROUPS]].sum(axis=1)
    np.testing.assert_allclose(100 * (scores["p_good"] - scores["p_good_base"]), effects, atol=0.05)


def test_trained_reasons_go_the_way_their_sign_goes(holdout_scores: pd.DataFrame) -> None:
    """For every deal and sign with an effect of 2 points or more, the first reason with points
    has the effect's direction; and no reason is evidence text shown as a cost."""
    cells = 0
    for group in GROUPS:
        for effect, text in zip(
            holdout_scores[f"effect_{group}"], holdout_scores[f"reasons_{group}"], strict=True
        ):
            assert "ICP rests on" not in text
            if abs(effect) < 2:
                continue
            cells += 1
            with_points = [p for p in said_points(text) if p is not None]
            assert with_points and np.sign(with_points[0]) == np.sign(effect), (effect, text)
    assert cells > 100  # the check is real


def test_the_count_of_known_customers_is_no_model_input(trained: TrainingResult) -> None:
    """A count of customers known at the as-of date stands for time, not for the prospect."""
    assert "icp_known_customers" not in trained.model.feature_names_
    assert "icp_known_customers" not in trained.model.feature_catalogue
