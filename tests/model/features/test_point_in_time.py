"""Tests of the point-in-time counting primitive (walkaway.model.features.point_in_time)."""

from __future__ import annotations

from datetime import date

import numpy as np
import pandas as pd
from hypothesis import given, settings
from hypothesis import strategies as st

from walkaway.model.features.point_in_time import EventTimeline, to_days

KEYS = st.sampled_from(["a", "b", "c", "d"]) | st.none()
DAYS = st.dates(date(1990, 1, 1), date(2060, 12, 31))


def timestamps(days: list[date | None]) -> pd.Series:
    return pd.Series(pd.to_datetime(list(days)), dtype="datetime64[ns]")


def brute_force(
    events: list[tuple[str | None, date | None]], key: str | None, day: date | None
) -> int:
    if key is None or day is None:
        return 0
    return sum(1 for k, d in events if k == key and d is not None and d < day)


@settings(max_examples=50, deadline=None)
@given(
    events=st.lists(st.tuples(KEYS, DAYS | st.none()), max_size=40),
    queries=st.lists(st.tuples(KEYS | st.just("zzz"), DAYS), min_size=1, max_size=30),
)
def test_count_before_equals_a_brute_force_count(
    events: list[tuple[str | None, date | None]], queries: list[tuple[str | None, date]]
) -> None:
    timeline = EventTimeline(
        pd.Series([k for k, _ in events], dtype=object), timestamps([d for _, d in events])
    )
    got = timeline.count_before(
        pd.Series([k for k, _ in queries], dtype=object), timestamps([d for _, d in queries])
    )
    expected = [brute_force(events, k, d) for k, d in queries]
    assert got.tolist() == expected
    assert len(timeline) == sum(1 for k, d in events if k is not None and d is not None)


def test_counts_are_strictly_before_the_day() -> None:
    timeline = EventTimeline(
        pd.Series(["acme", "acme", "acme", "globex"]),
        timestamps([date(2024, 1, 1), date(2024, 1, 1), date(2024, 3, 1), date(2024, 2, 1)]),
    )
    got = timeline.count_before(
        pd.Series(["acme", "acme", "acme", "acme", "globex", "globex"]),
        timestamps(
            [
                date(2024, 1, 1),
                date(2024, 1, 2),
                date(2024, 3, 1),
                date(2024, 3, 2),
                date(2024, 2, 1),
                date(2030, 1, 1),
            ]
        ),
    )
    assert got.tolist() == [0, 2, 2, 3, 0, 1]


def test_unknown_and_missing_keys_count_zero() -> None:
    timeline = EventTimeline(
        pd.Series(["a", None]), timestamps([date(2020, 1, 1), date(2020, 1, 1)])
    )
    got = timeline.count_before(
        pd.Series(["never", None, "a"], dtype=object), timestamps([date(2030, 1, 1)] * 3)
    )
    assert got.tolist() == [0, 0, 1]
    assert got.dtype.kind == "i"


def test_events_without_a_date_are_ignored_and_nat_queries_count_zero() -> None:
    timeline = EventTimeline(pd.Series(["a", "a", "a"]), timestamps([None, date(2020, 1, 1), None]))
    assert len(timeline) == 1
    got = timeline.count_before(pd.Series(["a", "a"]), timestamps([date(2021, 1, 1), None]))
    assert got.tolist() == [1, 0]


def test_an_empty_timeline_counts_zero() -> None:
    timeline = EventTimeline(pd.Series([], dtype=object), timestamps([]))
    assert len(timeline) == 0
    got = timeline.count_before(pd.Series(["a"]), timestamps([date(2024, 1, 1)]))
    assert got.tolist() == [0]


def test_index_of_keys_and_dates_need_not_match_the_order() -> None:
    keys = pd.Series(["a", "b", "a"], index=[7, 3, 5])
    dates = pd.Series(pd.to_datetime(["2020-01-01", "2020-01-01", "2021-01-01"]), index=[7, 3, 5])
    timeline = EventTimeline(keys, dates)
    got = timeline.count_before(pd.Series(["a", "b"], index=[9, 1]), dates.iloc[[2, 2]])
    assert got.tolist() == [1, 1]


def test_to_days_counts_whole_days_and_puts_missing_dates_first() -> None:
    days = to_days(
        pd.Series(
            pd.to_datetime(["1970-01-01", "1970-01-02 23:59", None, "2024-03-01"], format="ISO8601")
        )
    )
    assert days.dtype == np.int64
    epoch = days[0]
    assert [d - epoch for d in days[[0, 1, 3]]] == [0, 1, 19783]
    assert days[2] == -1 and days[2] < days.min(initial=0, where=days >= 0)
    index = pd.DatetimeIndex(["2000-01-01"]).as_unit("s")
    assert to_days(index)[0] - epoch == 10957


def test_events_before_1970_are_counted() -> None:
    timeline = EventTimeline(
        pd.Series(["a", "b"]), timestamps([date(1969, 6, 1), date(1969, 6, 1)])
    )
    got = timeline.count_before(pd.Series(["a", "b"]), timestamps([date(2024, 1, 1)] * 2))
    assert got.tolist() == [1, 1]


@settings(max_examples=50, deadline=None)
@given(
    events=st.lists(st.tuples(KEYS, DAYS | st.none(), st.floats(-5, 5)), max_size=40),
    queries=st.lists(st.tuples(KEYS | st.just("zzz"), DAYS), min_size=1, max_size=30),
)
def test_sum_before_equals_a_brute_force_sum(
    events: list[tuple[str | None, date | None, float]], queries: list[tuple[str | None, date]]
) -> None:
    timeline = EventTimeline(
        pd.Series([k for k, _, _ in events], dtype=object),
        timestamps([d for _, d, _ in events]),
        pd.Series([v for _, _, v in events], dtype=float),
    )
    got = timeline.sum_before(
        pd.Series([k for k, _ in queries], dtype=object), timestamps([d for _, d in queries])
    )
    expected = [
        sum(v for k, d, v in events if k == key and d is not None and d < day)
        if key is not None
        else 0.0
        for key, day in queries
    ]
    np.testing.assert_allclose(got, expected, atol=1e-9)
