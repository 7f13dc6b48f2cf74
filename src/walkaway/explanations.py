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
    Each row is summed on its own (not a matrix product, whose blocking depends on how many
    rows come at once), so a deal's figures do not depend on the batch it is scored in.
    """
    members = [np.flatnonzero(groups[:, g]) for g in range(groups.shape[1])]
    return np.stack([contributions[:, m].sum(axis=1) for m in members], axis=1)


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
    rows = np.arange(len(effects))
    costliest = np.argsort(effects, axis=1, kind="stable")  # most negative first
    helpful = costliest[:, ::-1]
    costs_any = effects[rows, costliest[:, 0]] <= -MIN_REASON_POINTS
    # Slot j holds the j-th costliest feature (if it costs enough), or, for deals that nothing
    # costs, the j-th most helpful one (two at most).
    parts = []
    for slot in range(min(REASONS_PER_SIGN, len(names))):
        chosen = np.where(costs_any, costliest[:, slot], helpful[:, slot])
        effect = effects[rows, chosen]
        shown = np.where(
            costs_any, effect <= -MIN_REASON_POINTS, (effect >= MIN_REASON_POINTS) & (slot < 2)
        )
        text = np.full(len(effects), "", dtype=object)
        for column, name in enumerate(names):
            here = shown & (chosen == column)
            if here.any():
                words = _words(features[name], feature_values[name].to_numpy()[here])
                if notes is not None:
                    noted = notes[name].to_numpy()[here]
                    words = np.where(pd.notna(noted), noted, words)
                text[here] = words + np.array(
                    [f" ({e:+.0f} pts)" for e in effect[here]], dtype=object
                )
        parts.append((text, shown, chosen))
    if notes is not None:  # notes are always said, even when their feature is not a top reason
        for column, name in enumerate(names):
            noted = notes[name].to_numpy()
            extra = pd.notna(noted)
            for _, shown, chosen in parts:
                extra &= ~(shown & (chosen == column))
            if extra.any():
                text = np.full(len(effects), "", dtype=object)
                text[extra] = noted[extra]
                parts.append((text, extra, np.full(len(effects), column)))
    joined = [
        "; ".join(t for t in texts if t) for texts in zip(*(p[0] for p in parts), strict=True)
    ]
    return pd.Series(joined, index=feature_effects.index, dtype=object)


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
