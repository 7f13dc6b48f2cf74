"""Explanations: exact TreeSHAP contributions summed by sign, effects in points, reasons in words.

LightGBM's ``pred_contrib`` gives, per deal and head, one exact TreeSHAP contribution per
feature plus the expected value (the bias); together they add up to the head's raw log-odds.
Summing the contributions of a sign's features gives that sign's push on the margin.

A sign's *effect on p_good* is the change in p_good when its contributions are removed from
both heads' margins before calibration: "glass walls cost this deal 23 points".
"""

from __future__ import annotations

from collections.abc import Callable

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
    """Per-deal contributions summed by group: (deals x features+1) -> (deals x groups).

    The last column of ``contributions`` (the bias) is left out: it is the same for every deal.
    """
    return contributions[:, :-1] @ groups


def p_good(p_win: np.ndarray, p_regret: np.ndarray) -> np.ndarray:
    """The chance that pursuing the deal ends in a win we are glad of.

    >>> float(p_good(np.array([0.5]), np.array([0.2]))[0])
    0.4
    """
    return p_win * (1.0 - p_regret)


def effects_on_p_good(
    win_margin: np.ndarray,
    win_parts: np.ndarray,
    regret_margin: np.ndarray,
    regret_parts: np.ndarray,
    calibrate_win: Calibrate,
    calibrate_regret: Calibrate,
) -> np.ndarray:
    """Effect in probability points of each part (a sign or a feature) on p_good.

    ``*_parts`` are (deals x parts) contributions on each head's margin. The effect of a part
    is p_good minus p_good with that part's contributions removed from both margins.
    """
    full = p_good(calibrate_win(win_margin), calibrate_regret(regret_margin))
    effects = np.empty(win_parts.shape)
    for part in range(win_parts.shape[1]):
        without = p_good(
            calibrate_win(win_margin - win_parts[:, part]),
            calibrate_regret(regret_margin - regret_parts[:, part]),
        )
        effects[:, part] = full - without
    return 100.0 * effects


def reasons(
    feature_effects: pd.DataFrame,
    feature_values: pd.DataFrame,
    features: dict[str, Feature],
    sign: str,
    notes: pd.DataFrame | None = None,
) -> pd.Series:
    """The top reasons inside one sign, in words with their effect, one string per deal.

    The features that cost the deal most come first; when none costs half a point, the ones
    that help most are given instead. ``notes`` holds per-feature text that replaces the usual
    words (e.g. a value never seen in training) and is always shown.

    Examples
    --------
    >>> from walkaway.features import FEATURES
    >>> effects = pd.DataFrame({"competitor_count": [-6.0, 0.1], "formal_tender": [-2.0, 3.0]})
    >>> values = pd.DataFrame({"competitor_count": [4.0, 1.0], "formal_tender": [1.0, 0.0]})
    >>> reasons(effects, values, FEATURES, "glass_walls").tolist()
    ['4 competitors (-6 pts); formal tender (-2 pts)', 'no formal tender (+3 pts)']
    """
    names = [n for n in feature_effects.columns if features[n].sign == sign]
    if not names:
        return pd.Series("", index=feature_effects.index)
    effects = feature_effects[names].to_numpy()
    values = feature_values[names]
    noted = notes[names] if notes is not None else None
    texts = []
    for row in range(len(effects)):
        order = np.argsort(effects[row])
        costs = [i for i in order if effects[row, i] <= -MIN_REASON_POINTS][:REASONS_PER_SIGN]
        chosen = costs or [i for i in order[::-1] if effects[row, i] >= MIN_REASON_POINTS][:2]
        parts = []
        for i in chosen:
            note = noted.iat[row, i] if noted is not None else None
            words = (
                note if isinstance(note, str) else features[names[i]].describe(values.iat[row, i])
            )
            parts.append(f"{words} ({effects[row, i]:+.0f} pts)")
        if noted is not None:
            parts += [
                noted.iat[row, i]
                for i in range(len(names))
                if isinstance(noted.iat[row, i], str) and i not in chosen
            ]
        texts.append("; ".join(parts))
    return pd.Series(texts, index=feature_effects.index)
