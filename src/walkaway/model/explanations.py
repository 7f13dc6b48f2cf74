"""Explanations: exact contributions summed by sign, effects on p_good that add up, reasons.

Each head explains its raw margin (log-odds) exactly: LightGBM's ``pred_contrib`` (TreeSHAP)
or a logistic head's additive terms give one contribution per feature plus the bias, and they
add up to the margin. Summing a group's features gives that group's push on each margin.

**Group effects.** p_good = p_win x (1 - p_regret) is not additive in the margins (each margin
goes through its calibrator, then the two are multiplied), so a group's effect on p_good
depends on which other groups are present. The effect of each of the four groups (glass walls,
ICP, need, deal context) is its exact Shapley value on p_good, where a coalition S of groups
means both margins at their bias plus the contributions of the groups in S, each calibrated:

    v(S) = p_win(bias_win + sum of S on win) x (1 - p_regret(bias_regret + sum of S on regret))

That is 2^4 = 16 evaluations per deal. The effects add up: p_good = v(all groups) =
``p_good_base`` + the four effects, where ``p_good_base`` = v(no group) is p_good at the base
margins. "Glass walls cost this deal 23 points."

**Feature points.** Each group's effect is split among its features so that they add up to it
exactly, stay bounded when contributions inside a group cancel, and need no evaluation per
feature:

1. The group's effect is split between the two margins: in each step S -> S + g of the Shapley
   sum, the change of the product p_win x (1 - p_regret) is shared by the midpoint rule,
   d(a b) = d(a) (b + b')/2 + d(b) (a + a')/2, which is exact.
2. On one margin, the calibrator only sees the *sum* of a group's contributions, so a logit
   from one feature is worth the same as a logit from another. Integrated gradients
   (Aumann-Shapley) along the group's own move then give each feature its contribution times
   the group's secant slope: the group's effect through that margin divided by the group's
   move on it. That is each feature's *first-order part*; the parts add up to the group's
   effect exactly.
3. When a group's features pull against each other, its net move on a margin can be much
   shorter than their own contributions, and the secant over a tiny net move that straddles a
   steep step of an isotonic calibrator would turn cancelling contributions into huge opposite
   points. So the secant is taken over a window at least as wide as the group's largest single
   contribution on that margin, centred on the net move: the slope the features meet on their
   own. A feature's first-order part is then at most the calibrator's rise over that window,
   whatever its steepness, and it changes continuously with the contributions. The group's
   remainder (its effect minus its first-order parts: zero unless the window was widened) is
   spread over its features in proportion to the size of their first-order parts, so the
   points still add up exactly.

Reasons say, per sign, the features behind its effect in words with their points, the first
in the direction of the sign's effect.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from math import factorial

import numpy as np
import pandas as pd

from walkaway.signs import GROUPS, Feature

Calibrate = Callable[[np.ndarray], np.ndarray]
MIN_REASON_POINTS = 0.5  # effects smaller than half a point are not worth a seller's attention
REASONS_PER_SIGN = 3


def group_matrix(feature_names: list[str], features: dict[str, Feature]) -> np.ndarray:
    """A (features x groups) 0/1 matrix: which group each feature belongs to.

    Examples
    --------
    >>> from walkaway.signs import Feature
    >>> f = {"a": Feature("glass_walls", "a", str), "b": Feature("deal_context", "b", str)}
    >>> group_matrix(["a", "b"], f)
    array([[1., 0., 0., 0.],
           [0., 0., 0., 1.]])
    """
    matrix = np.zeros((len(feature_names), len(GROUPS)))
    for row, name in enumerate(feature_names):
        matrix[row, GROUPS.index(features[name].sign)] = 1.0
    return matrix


def by_sign(contributions: np.ndarray, groups: np.ndarray) -> np.ndarray:
    """Per-deal contributions summed by group: (deals x features[+1]) -> (deals x groups).

    A last column beyond the features (the bias) is left out. Each row is summed on its own
    (not a matrix product, whose blocking depends on how many rows come at once), so a deal's
    figures do not depend on the batch it is scored in.
    """
    members = [np.flatnonzero(groups[:, g]) for g in range(groups.shape[1])]
    return np.stack([contributions[:, m].sum(axis=1) for m in members], axis=1)


def p_good(p_win: np.ndarray, p_regret: np.ndarray) -> np.ndarray:
    """The chance that pursuing the deal ends in a win we are glad of.

    >>> float(p_good(np.array([0.5]), np.array([0.2]))[0])
    0.4
    """
    return p_win * (1.0 - p_regret)


@dataclass(frozen=True)
class PGoodPoints:
    """What moves p_good away from its base, per deal.

    Attributes
    ----------
    base
        (deals,) p_good at the base margins (every contribution left out), a probability.
    groups
        (deals x groups) each group's Shapley effect on p_good, in points (1/100):
        ``p_good = base + groups.sum(axis=1) / 100``.
    features
        (deals x features) each feature's share of its group's effect, in points: a group's
        features add up to the group's effect.
    """

    base: np.ndarray
    groups: np.ndarray
    features: np.ndarray


def explain_p_good(
    win_contributions: np.ndarray,
    regret_contributions: np.ndarray,
    groups: np.ndarray,
    calibrate_win: Calibrate,
    calibrate_regret: Calibrate,
) -> PGoodPoints:
    """Base p_good, each group's Shapley effect and each feature's points (module docstring).

    Parameters
    ----------
    win_contributions, regret_contributions
        (deals x features+1) contributions on each head's raw margin, the bias last; each row
        adds up to the margin.
    groups
        (features x groups) 0/1 membership (see :func:`group_matrix`).
    calibrate_win, calibrate_regret
        Each head's map from raw margin to probability (non-decreasing).

    Examples
    --------
    Two groups of one feature each; the regret head is a constant 20%:

    >>> from scipy.special import expit
    >>> win = np.array([[1.0, -0.5, 0.0]])  # feature a, feature b, bias
    >>> regret = np.zeros((1, 3))
    >>> groups = np.array([[1.0, 0.0], [0.0, 1.0]])
    >>> points = explain_p_good(win, regret, groups, expit, lambda m: np.full(len(m), 0.2))
    >>> float(points.base[0])
    0.4
    >>> good = float(expit(0.5) * 0.8)
    >>> bool(np.isclose(points.base[0] + points.groups.sum() / 100, good))
    True
    >>> points.features.round(2).tolist() == points.groups.round(2).tolist()
    True
    """
    n_groups = groups.shape[1]
    win_parts = by_sign(win_contributions, groups)
    regret_parts = by_sign(regret_contributions, groups)
    win_margins = _coalition_margins(win_contributions[:, -1], win_parts)
    regret_margins = _coalition_margins(regret_contributions[:, -1], regret_parts)
    win_reach = _largest(win_contributions, groups)
    regret_reach = _largest(regret_contributions, groups)
    win = _calibrated(calibrate_win, win_margins)
    regret = _calibrated(calibrate_regret, regret_margins)

    effects = np.zeros((len(win), n_groups))
    slopes_win = np.zeros_like(effects)  # d p_good / d win margin, per group
    slopes_regret = np.zeros_like(effects)
    for g in range(n_groups):
        without = np.array([s for s in range(2**n_groups) if not s >> g & 1])
        weight = np.array([_shapley_weight(bin(s).count("1"), n_groups) for s in without])
        with_g = without | (1 << g)
        win_before, win_after = win[:, without], win[:, with_g]
        regret_before, regret_after = regret[:, without], regret[:, with_g]
        win_mean = (win_before + win_after) / 2
        keep_mean = 1.0 - (regret_before + regret_after) / 2
        through_win = (win_after - win_before) * keep_mean
        through_regret = (regret_before - regret_after) * win_mean
        effects[:, g] = ((through_win + through_regret) * weight).sum(axis=1)
        slopes_win[:, g] = _secant_slope(
            calibrate_win,
            win_margins[:, without],
            win_parts[:, g],
            win_reach[:, g],
            (win_before, win_after),
            keep_mean,
            weight,
        )
        slopes_regret[:, g] = -_secant_slope(
            calibrate_regret,
            regret_margins[:, without],
            regret_parts[:, g],
            regret_reach[:, g],
            (regret_before, regret_after),
            win_mean,
            weight,
        )

    group_of = groups.argmax(axis=1)
    first = (
        slopes_win[:, group_of] * win_contributions[:, :-1]
        + slopes_regret[:, group_of] * regret_contributions[:, :-1]
    )
    remainder = effects - by_sign(first, groups)
    size = np.abs(first)
    total = by_sign(size, groups)[:, group_of]
    members = np.maximum(groups.sum(axis=0), 1.0)[group_of]
    share = np.where(total > 0, size / np.where(total > 0, total, 1.0), 1.0 / members)
    features = first + share * remainder[:, group_of]
    return PGoodPoints(p_good(win[:, 0], regret[:, 0]), 100.0 * effects, 100.0 * features)


def _coalition_margins(bias: np.ndarray, parts: np.ndarray) -> np.ndarray:
    """(deals x 2^groups) margins: column s holds the bias plus the groups whose bit is set in
    s, added one at a time (elementwise, so a deal's figures never depend on its batch)."""
    margins = np.empty((len(bias), 2 ** parts.shape[1]))
    for s in range(margins.shape[1]):
        margin = bias.astype(float).copy()
        for g in range(parts.shape[1]):
            if s >> g & 1:
                margin = margin + parts[:, g]
        margins[:, s] = margin
    return margins


def _calibrated(calibrate: Calibrate, margins: np.ndarray) -> np.ndarray:
    """A calibrator applied to a 2-D array of margins in one call."""
    return np.asarray(calibrate(margins.ravel()), dtype=float).reshape(margins.shape)


def _shapley_weight(size: int, players: int) -> float:
    """The Shapley weight of a coalition of ``size`` that a player joins."""
    return factorial(size) * factorial(players - size - 1) / factorial(players)


def _largest(contributions: np.ndarray, groups: np.ndarray) -> np.ndarray:
    """(deals x groups) the largest contribution of a group's features, in size."""
    members = [np.flatnonzero(groups[:, g]) for g in range(groups.shape[1])]
    size = np.abs(contributions)
    return np.stack(
        [size[:, m].max(axis=1) if len(m) else np.zeros(len(size)) for m in members], axis=1
    )


def _secant_slope(
    calibrate: Calibrate,
    margins: np.ndarray,
    move: np.ndarray,
    reach: np.ndarray,
    calibrated: tuple[np.ndarray, np.ndarray],
    other_mean: np.ndarray,
    weight: np.ndarray,
) -> np.ndarray:
    """A group's Shapley-weighted secant slope along its own move on one margin, times the
    mean of p_good's other factor.

    Over the move itself when it is at least the group's largest contribution ``reach`` (then
    slope x move is exactly the group's effect through this margin); else over a window of
    width ``reach`` centred on the move (step 3 of the module docstring). ``margins`` are the
    coalitions without the group (deals x coalitions); ``calibrated`` their probabilities
    without and with the group.
    """
    before, after = calibrated
    slope = np.zeros(len(move))
    wide = (np.abs(move) >= reach) & (move != 0)
    rise = (after[wide] - before[wide]) * other_mean[wide] * weight
    slope[wide] = rise.sum(axis=1) / move[wide]
    narrow = (np.abs(move) < reach) & (reach > 0)
    if narrow.any():
        centre = margins[narrow] + move[narrow, None] / 2
        half = reach[narrow, None] / 2
        rise = _calibrated(calibrate, centre + half) - _calibrated(calibrate, centre - half)
        slope[narrow] = (rise * other_mean[narrow] * weight).sum(axis=1) / reach[narrow]
    return slope


def reasons(
    feature_points: pd.DataFrame,
    feature_values: pd.DataFrame,
    features: dict[str, Feature],
    sign: str,
    notes: pd.DataFrame | None = None,
) -> pd.Series:
    """The reasons inside one sign, in words with their points, one string per deal.

    The sign's effect is the sum of its features' points. The first reason is the feature
    pushing most in the direction of that effect (what helps most when the sign helps, what
    costs most when it costs); it is said whenever the sign's effect or its own points reach
    :data:`MIN_REASON_POINTS`. Then up to two more features of at least that many points, the
    largest first, those going the sign's way before those pulling against it. ``notes`` holds
    per-feature text (e.g. a value never seen in training): it is always said, after the
    reasons with points and without points of its own; a noted feature's reason describes the
    value as the model saw it (unknown).

    Examples
    --------
    >>> from walkaway.model.features import FEATURES
    >>> points = pd.DataFrame({"competitor_count": [-6.0, 0.1, 8.0],
    ...                        "formal_tender": [-2.0, 3.0, -3.0]})
    >>> values = pd.DataFrame({"competitor_count": [4.0, 1.0, 1.0],
    ...                        "formal_tender": [1.0, 0.0, 1.0]})
    >>> for said in reasons(points, values, FEATURES, "glass_walls"):
    ...     print(said)
    4 competitors (-6 pts); formal tender (-2 pts)
    no formal tender (+3 pts)
    1 competitor (+8 pts); formal tender (-3 pts)
    """
    names = [n for n in feature_points.columns if features[n].sign == sign]
    if not names:
        return pd.Series("", index=feature_points.index, dtype=object)
    points = feature_points[names].to_numpy(dtype=float)
    rows = np.arange(len(points))
    direction = np.where(points.sum(axis=1) < 0, -1.0, 1.0)  # the sign's effect's direction
    lead = np.argmax(direction[:, None] * points, axis=1)
    lead_points = points[rows, lead]
    lead_shown = (direction * lead_points > 0) & (
        (np.abs(lead_points) >= MIN_REASON_POINTS)
        | (np.abs(points.sum(axis=1)) >= MIN_REASON_POINTS)
    )
    size = np.abs(points)
    size[rows, lead] = -1.0
    others = np.argsort(-size, axis=1, kind="stable")[:, : REASONS_PER_SIGN - 1]
    against = direction[:, None] * np.take_along_axis(points, others, axis=1) < 0
    others = np.take_along_axis(others, np.argsort(against, axis=1, kind="stable"), axis=1)
    big = np.take_along_axis(size, others, axis=1) >= MIN_REASON_POINTS
    other_shown = big & lead_shown[:, None]  # nothing is said against a sign before its lead
    slots = [(lead, lead_shown)] + [
        (others[:, j], other_shown[:, j]) for j in range(others.shape[1])
    ]

    noted = (
        notes[names].to_numpy(dtype=object)
        if notes is not None
        else np.full(points.shape, np.nan, dtype=object)
    )
    has_note = pd.notna(noted)
    texts = []
    for chosen, shown in slots:
        text = np.full(len(points), "", dtype=object)
        for column, name in enumerate(names):
            here = shown & (chosen == column)
            if here.any():
                values = feature_values[name].to_numpy(dtype=object)[here]
                values[has_note[here, column]] = np.nan  # the model saw an unknown value
                text[here] = _words(features[name], values) + np.array(
                    [f" ({_points(p)} pts)" for p in points[here, column]], dtype=object
                )
        texts.append(text)
    for column in range(len(names)):
        texts.append(np.where(has_note[:, column], noted[:, column], ""))
    joined = ["; ".join(t for t in row if t) for row in zip(*texts, strict=True)]
    return pd.Series(joined, index=feature_points.index, dtype=object)


def _points(value: float) -> str:
    """Points as said in a reason: whole points, tenths under one point.

    >>> _points(-6.2), _points(0.4), _points(0.96)
    ('-6', '+0.4', '+1')
    """
    return f"{value:+.0f}" if abs(value) >= 0.95 else f"{value:+.1f}"


def _words(feature: Feature, values: np.ndarray) -> np.ndarray:
    """Each value in words, saying each distinct value once (values repeat a lot)."""
    said: dict[object, str] = {}
    out = np.empty(len(values), dtype=object)
    for i, value in enumerate(values):
        key = "nan" if not isinstance(value, str) and pd.isna(value) else value
        if key not in said:
            said[key] = feature.describe(value)
        out[i] = said[key]
    return out
