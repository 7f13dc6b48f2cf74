"""Splitting deals for honest evaluation: by time when the export has dates, stratified at
random when it has none (no order is known then).

- :func:`newest_split` puts the newest share of deals aside: the holdout that judges a model.
- :func:`time_folds` cuts deals into consecutive blocks: the folds of cross-fitting, each
  predicted from the blocks before it.
- :func:`sample_rows` picks a seeded sample, for choices that need no more rows.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from sklearn.model_selection import StratifiedKFold, train_test_split

# Choosing between head shapes and reading the policy's quantiles needs no more rows than this:
# larger histories make both choices on a seeded random sample of this size.
SAMPLE_ROWS = 200_000


def sample_rows(rows: int, size: int = SAMPLE_ROWS, seed: int = 0) -> np.ndarray:
    """Positions of a seeded random sample of ``size`` of ``rows`` rows, in order (all of them
    when there are no more than ``size``).

    Examples
    --------
    >>> sample_rows(5).tolist(), len(sample_rows(10, size=3))
    ([0, 1, 2, 3, 4], 3)
    """
    if rows <= size:
        return np.arange(rows)
    return np.sort(np.random.default_rng(seed).choice(rows, size, replace=False))


def time_folds(
    dates: pd.Series, folds: int, y: np.ndarray | None = None, groups: np.ndarray | None = None
) -> np.ndarray:
    """Fold number of each row for cross-fitting.

    With dates: ``folds + 1`` consecutive blocks of equal size in date order, numbered -1 (the
    oldest, only ever learned from) to ``folds - 1``; fold k is predicted by learners fit on
    every earlier block, as a served model predicts deals later than any it learned from.
    Without dates: ``folds`` stratified random folds of ``y`` (no order is known), each
    predicted by learners fit on the others. Rows of one group (a deal's snapshots) share the
    fold of the group's first row.

    >>> time_folds(pd.Series(pd.to_datetime(["2024-04-01", "2024-01-01", "2024-03-01",
    ...                                      "2024-02-01", "2024-05-01", "2024-06-01"])), 2).tolist()
    [0, -1, 0, -1, 1, 1]
    >>> time_folds(pd.Series(pd.to_datetime(["2024-01-01"] * 3 + ["2024-02-01"])), 1,
    ...            groups=np.array([1, 1, 1, 2])).tolist()
    [-1, -1, -1, 0]
    """
    if groups is not None:
        _, first, inverse = np.unique(groups, return_index=True, return_inverse=True)
        y_first = None if y is None else np.asarray(y)[first]
        return time_folds(dates.iloc[first].reset_index(drop=True), folds, y_first)[inverse]
    if dates.isna().all() and y is not None:
        splitter = StratifiedKFold(folds, shuffle=True, random_state=0)
        fold = np.empty(len(dates), dtype=int)
        for number, (_, held) in enumerate(splitter.split(np.zeros(len(y)), y)):
            fold[held] = number
        return fold
    order = np.argsort(dates.to_numpy(), kind="stable")
    fold = np.empty(len(dates), dtype=int)
    fold[order] = np.arange(len(dates)) * (folds + 1) // max(1, len(dates)) - 1
    return fold


def fold_training_rows(folds: np.ndarray, fold: int) -> np.ndarray:
    """The rows that learn to predict ``fold``: every earlier block when the folds are
    ordered in time (see :func:`time_folds`), else every other fold.

    >>> fold_training_rows(np.array([-1, 0, 1]), 1).tolist(), fold_training_rows(np.array([0, 1, 2]), 1).tolist()
    ([True, True, False], [True, False, True])
    """
    return folds < fold if (folds < 0).any() else folds != fold


def newest_split(
    dates: pd.Series, share: float, y: np.ndarray | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """Boolean masks (older, newest) putting the newest ``share`` of rows by date last.

    Ties are broken by position, so the split is deterministic. Without any date (and with
    ``y``), the "newest" part is a stratified random sample instead: no order is known.

    Examples
    --------
    >>> older, newest = newest_split(pd.Series(pd.to_datetime(
    ...     ["2024-03-01", "2024-01-01", "2024-02-01", "2024-04-01", "2024-05-01"])), 0.4)
    >>> newest.tolist()
    [False, False, False, True, True]
    """
    if dates.isna().all() and y is not None and len(np.unique(y)) == 2:
        _, held = train_test_split(np.arange(len(y)), test_size=share, stratify=y, random_state=0)
        newest = np.zeros(len(dates), dtype=bool)
        newest[held] = True
        return ~newest, newest
    order = np.argsort(dates.to_numpy(), kind="stable")
    n_newest = int(np.ceil(len(dates) * share))
    newest = np.zeros(len(dates), dtype=bool)
    if n_newest:
        newest[order[-n_newest:]] = True
    return ~newest, newest


def stopping_split(
    y: np.ndarray, share: float = 0.15, seed: int = 0, groups: np.ndarray | None = None
) -> np.ndarray:
    """A boolean mask of the rows set aside to stop boosting early: a stratified random
    ``share`` of a fold's training rows, so the fold it is judged on never stops it. With
    ``groups``, whole groups (a deal's snapshots) are set aside together.

    Examples
    --------
    >>> int(stopping_split(np.array([0, 1] * 50)).sum())
    15
    >>> mask = stopping_split(np.array([0, 1] * 50), groups=np.repeat(np.arange(50), 2))
    >>> bool((mask[::2] == mask[1::2]).all())
    True
    """
    if groups is not None:
        _, first, inverse = np.unique(groups, return_index=True, return_inverse=True)
        return stopping_split(np.asarray(y)[first], share, seed)[inverse]
    positions = np.arange(len(y))
    classes, counts = np.unique(y, return_counts=True)
    stratify = y if len(classes) == 2 and counts.min() >= 2 else None
    _, held = train_test_split(
        positions, test_size=max(share, 2 / max(len(y), 1)), stratify=stratify, random_state=seed
    )
    mask = np.zeros(len(y), dtype=bool)
    mask[held] = True
    return mask
