"""Splitting deals for honest evaluation: by time when the export has dates, stratified at
random when it has none (no order is known then).

- :func:`newest_split` puts the newest share of deals aside: the holdout that judges a model.
- :func:`time_folds` cuts deals into consecutive blocks: the folds of cross-fitting.
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


def time_folds(dates: pd.Series, folds: int, y: np.ndarray | None = None) -> np.ndarray:
    """Fold number of each row: consecutive blocks of equal size in date order, or stratified
    random folds of ``y`` when there are no dates.

    >>> time_folds(pd.Series(pd.to_datetime(["2024-04-01", "2024-01-01", "2024-03-01",
    ...                                      "2024-02-01"])), 2).tolist()
    [1, 0, 1, 0]
    """
    if dates.isna().all() and y is not None:
        splitter = StratifiedKFold(folds, shuffle=True, random_state=0)
        fold = np.empty(len(dates), dtype=int)
        for number, (_, held) in enumerate(splitter.split(np.zeros(len(y)), y)):
            fold[held] = number
        return fold
    order = np.argsort(dates.to_numpy(), kind="stable")
    fold = np.empty(len(dates), dtype=int)
    fold[order] = np.arange(len(dates)) * folds // max(1, len(dates))
    return fold


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


def stopping_split(y: np.ndarray, share: float = 0.15, seed: int = 0) -> np.ndarray:
    """A boolean mask of the rows set aside to stop boosting early: a stratified random
    ``share`` of a fold's training rows, so the fold it is judged on never stops it.

    Examples
    --------
    >>> int(stopping_split(np.array([0, 1] * 50)).sum())
    15
    """
    positions = np.arange(len(y))
    classes, counts = np.unique(y, return_counts=True)
    stratify = y if len(classes) == 2 and counts.min() >= 2 else None
    _, held = train_test_split(
        positions, test_size=max(share, 2 / max(len(y), 1)), stratify=stratify, random_state=seed
    )
    mask = np.zeros(len(y), dtype=bool)
    mask[held] = True
    return mask
