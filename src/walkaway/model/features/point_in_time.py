"""Counting what was known before a moment: the point-in-time primitive behind history features.

Features such as "earlier wins at this account" or "best customers in this industry" must use
only events that happened before a deal's as-of time. :class:`EventTimeline` stores events as
(key, day) pairs sorted once at fit time, then answers "how many events with this key happened
strictly before this day?" for many deals at once with two binary searches each.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

# Days are counted from 1611 (any date pandas can hold is later) and stay below the span.
_DAY_OFFSET = 1 << 17
_DAY_SPAN = 1 << 20


def to_days(dates: pd.Series | pd.DatetimeIndex) -> np.ndarray:
    """Whole days since 1611-03-11, as int64 (NaT becomes -1: before every event)."""
    values = pd.DatetimeIndex(dates).as_unit("ns")
    days = values.asi8 // 86_400_000_000_000 + _DAY_OFFSET
    return np.where(values.isna(), -1, days).astype(np.int64)


class EventTimeline:
    """Events keyed by a value (an account, an industry...), queryable as of any day.

    Examples
    --------
    >>> timeline = EventTimeline(pd.Series(["a", "a", "b"]),
    ...                          pd.to_datetime(pd.Series(["2024-01-01", "2024-03-01", "2024-02-01"])))
    >>> timeline.count_before(pd.Series(["a", "a", "b", "c"]),
    ...                       pd.to_datetime(pd.Series(["2024-01-01", "2024-06-01", "2024-06-01", "2024-06-01"])))
    array([0, 2, 1, 0])
    """

    def __init__(self, keys: pd.Series, dates: pd.Series, values: pd.Series | None = None):
        known = keys.notna().to_numpy() & dates.notna().to_numpy()
        if values is not None:
            known &= values.notna().to_numpy()
        codes, self.keys = pd.factorize(keys[known])
        stamps = codes.astype(np.int64) * _DAY_SPAN + to_days(dates[known])
        order = np.argsort(stamps, kind="stable")
        self.stamps = stamps[order]
        # Running totals of the events' values in stamp order (a leading 0), for sum_before.
        amounts = np.zeros(len(order)) if values is None else values[known].to_numpy(float)[order]
        self.totals = np.concatenate([[0.0], np.cumsum(amounts)])

    def __len__(self) -> int:
        return len(self.stamps)

    def count_before(self, keys: pd.Series, dates: pd.Series) -> np.ndarray:
        """Per query: the number of events with the same key strictly before its date."""
        first, end, codes = self._span(keys, dates)
        return np.where(codes < 0, 0, end - first)

    def sum_before(self, keys: pd.Series, dates: pd.Series) -> np.ndarray:
        """Per query: the sum of the values of the events with the same key strictly before
        its date (0 without such events).

        >>> timeline = EventTimeline(pd.Series(["a", "a"]),
        ...     pd.to_datetime(pd.Series(["2024-01-01", "2024-03-01"])), pd.Series([2.0, 5.0]))
        >>> timeline.sum_before(pd.Series(["a", "a"]), pd.to_datetime(pd.Series(["2024-02-01", "2024-04-01"])))
        array([2., 7.])
        """
        first, end, codes = self._span(keys, dates)
        return np.where(codes < 0, 0.0, self.totals[end] - self.totals[first])

    def _span(self, keys: pd.Series, dates: pd.Series) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Per query: the positions of its key's first event and of its first event on or
        after its date, and its key's code (-1 for a key never seen)."""
        codes = self.keys.get_indexer(pd.Index(keys)).astype(np.int64)
        start = codes * _DAY_SPAN
        first = np.searchsorted(self.stamps, start, side="left")
        end = np.searchsorted(self.stamps, start + to_days(dates), side="left")
        return first, end, codes
