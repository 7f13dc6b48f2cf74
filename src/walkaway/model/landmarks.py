"""Landmark snapshots: a closed deal as it stood at the ages at which it was still open.

An open deal is scored at its age on the scoring date, so the win head must learn the chance of
winning *given that a deal is still open at that age*. Each closed deal therefore gives one
training row per landmark age it lived to (0, 30, 60, 90, 180 and 365 days): the deal as of
that day, its features point in time, its outcome the label. A deal that closed in 40 days gives
rows at 0 and 30 days; one still open at 200 days gives rows at 0, 30, 60, 90 and 180.

Every snapshot counts the same. Weighting a deal's snapshots by one over their number would
make each deal count once, but a deal's number of snapshots is its cycle length, which depends
on its outcome (wins and losses close at different speeds): such weights would tilt every
landmark towards the quicker outcome, and p_win with it (the time section of benchmarks/RESULTS.md
measures it).
What keeps slow deals from dominating training instead is a bound: at most
:data:`MAX_SNAPSHOTS` rows per deal, creation and a seeded random choice among the later
landmarks made before knowing which of them the deal lived to (choosing, say, the latest it
reached would again depend on when it closed, and so on its outcome).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

LANDMARK_AGES = (0, 30, 60, 90, 180, 365)
MAX_SNAPSHOTS = 4
AGE_BANDS = ((0, 30), (30, 90), (90, None))
AGE_BAND_LABELS = tuple(f"{low}-{high}" if high else f"over {low}" for low, high in AGE_BANDS)
DAY = pd.Timedelta(days=1)


def age_band(days: pd.Series | np.ndarray) -> pd.Series:
    """'0-30', '30-90' or 'over 90' days (NaN without an age).

    >>> age_band(np.array([0, 30, 89.5, 90, np.nan])).tolist()
    ['0-30', '30-90', '30-90', 'over 90', nan]
    """
    days = pd.Series(np.asarray(days, dtype=float))
    edges = [low for low, _ in AGE_BANDS] + [np.inf]
    return pd.cut(days, edges, right=False, labels=list(AGE_BAND_LABELS)).astype(object)


def snapshots(
    deals: pd.DataFrame,
    ages: tuple[int, ...] = LANDMARK_AGES,
    max_snapshots: int = MAX_SNAPSHOTS,
    seed: int = 0,
) -> pd.DataFrame:
    """One row per closed deal and landmark age at which it was still open.

    Each row is the deal's row with ``as_of`` (creation + age), ``snapshot_age`` (days) and
    ``deal_row`` (the deal's index label); the index is new. A deal is still open at age a when
    it closed more than a days after its creation; age 0 is always kept, and of the later
    landmarks, ``max_snapshots - 1`` drawn at random per deal (seeded by its position), those it
    reached. A deal without dates gives its row at creation only.

    Examples
    --------
    >>> deals = pd.DataFrame({"deal_id": ["quick", "slow"],
    ...     "created_date": pd.to_datetime(["2024-01-01", "2024-01-01"]),
    ...     "closed_date": pd.to_datetime(["2024-02-10", "2024-12-01"])})
    >>> snapshots(deals)[["deal_id", "snapshot_age"]].to_dict("list")
    {'deal_id': ['quick', 'quick', 'slow', 'slow', 'slow'], 'snapshot_age': [0, 30, 0, 30, 60]}
    >>> snapshots(deals, max_snapshots=6)["snapshot_age"].tolist()
    [0, 30, 0, 30, 60, 90, 180]
    """
    created = deals["created_date"]
    cycle = ((deals["closed_date"] - created) / DAY).to_numpy(dtype=float)
    grid = np.asarray(ages, dtype=float)
    # reached[i, j]: deal i was still open at landmark j (creation always counts).
    reached = (cycle[:, None] > grid[None, :]) | (grid[None, :] == 0)
    # Keep creation and max_snapshots - 1 later landmarks drawn before looking at the cycle.
    draws = np.random.default_rng(seed).random((len(deals), len(grid)))
    draws[:, grid == 0] = -1.0
    rank = np.argsort(np.argsort(draws, axis=1), axis=1)
    reached &= rank < max_snapshots
    rows, columns = np.nonzero(reached)
    out = deals.iloc[rows].copy()
    out["deal_row"] = deals.index[rows]
    out["snapshot_age"] = grid[columns].astype(int)
    out["as_of"] = out["created_date"] + pd.to_timedelta(grid[columns], unit="D")
    return out.reset_index(drop=True)
