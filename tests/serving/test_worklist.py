"""The worklist's rule: work value, rank, capacity; the same ranking whatever the chunking.
Through the batch job and the command line: ``tests/serving/test_batch_worklist.py``."""

from __future__ import annotations

from decimal import Decimal

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from walkaway.model.recommendation import RECOMMENDATIONS
from walkaway.serving.worklist import (
    Capacity,
    CapacityError,
    WorklistRecord,
    rank,
    work_marks,
    work_value,
)


@pytest.mark.parametrize(
    ("text", "count", "percent"),
    [
        ("40", 40, None),
        (" 7 ", 7, None),
        ("0", 0, None),
        ("30%", None, "30"),
        ("12.5 %", None, "12.5"),
        ("100%", None, "100"),
        ("0%", None, "0"),
    ],
)
def test_a_capacity_is_a_count_or_a_share(
    text: str, count: int | None, percent: str | None
) -> None:
    capacity = Capacity.parse(text)
    assert capacity.count == count
    assert capacity.percent == (Decimal(percent) if percent is not None else None)


@pytest.mark.parametrize("text", ["", "-3", "abc", "1.5", "30 percent", "%", "101%", "3e2", "0x10"])
def test_anything_else_is_refused_in_one_line(text: str) -> None:
    with pytest.raises(CapacityError) as raised:
        Capacity.parse(text)
    assert "\n" not in str(raised.value) and repr(text) in str(raised.value)


def test_a_share_is_rounded_down_exactly_and_a_count_stops_at_every_deal() -> None:
    assert Capacity.parse("29%").deals(100) == 29  # 0.29 * 100 is 28.999... in floating point
    assert Capacity.parse("30%").deals(5) == 1
    assert Capacity.parse("100%").deals(661) == 661
    assert Capacity.parse("40").deals(25) == 25
    assert Capacity.parse("0").deals(25) == 0


def deals(**columns: list) -> pd.DataFrame:
    n = len(next(iter(columns.values())))
    base = {"amount": [1_000.0] * n, "p_good": [0.4] * n, "p_regret": [0.5] * n}
    return pd.DataFrame({**base, "recommendation": ["qualify"] * n, **columns})


def test_the_work_value_discounts_expected_good_value_by_regret_and_walk_away_twice() -> None:
    frame = deals(
        amount=[1_000.0, 1_000.0, None, 1_000.0],
        recommendation=["pursue", "walk_away", "pursue", "qualify"],
        p_regret=[0.5, 0.5, 0.5, 0.0],
    )
    np.testing.assert_allclose(work_value(frame), [200.0, 100.0, np.nan, 400.0])


def test_recommendations_order_deals_only_through_the_walk_away_discount() -> None:
    """Equal deals: every recommendation but walk away ranks alike (in file order), a walk-away
    deal after them; a walk-away deal large enough to outweigh its risk twice comes first."""
    others = [r for r in RECOMMENDATIONS if r != "walk_away"]
    frame = deals(recommendation=["walk_away", *others])
    assert rank(work_value(frame)).tolist() == [5, 1, 2, 3, 4]
    bigger = deals(recommendation=["walk_away", *others], amount=[2_100.0] + [1_000.0] * 4)
    assert rank(work_value(bigger)).tolist() == [1, 2, 3, 4, 5]


def test_deals_without_an_amount_come_last_in_file_order() -> None:
    values = np.array([np.nan, 3.0, np.nan, 8.0])
    assert rank(values).tolist() == [3, 2, 4, 1]
    assert work_marks(rank(values), 3).tolist() == ["yes", "yes", "no", "yes"]


values = st.lists(
    st.one_of(st.just(np.nan), st.sampled_from([0.0, 5.0, 5.0]), st.floats(0, 1e9)),
    max_size=80,
)


@settings(max_examples=100, deadline=None)
@given(values=values, cuts=st.lists(st.integers(0, 80), max_size=8), worked=st.integers(0, 90))
def test_the_priority_is_a_permutation_the_same_whatever_the_chunking(
    values: list[float], cuts: list[int], worked: int
) -> None:
    whole = np.array(values, dtype=float)
    record = WorklistRecord()
    bounds = [0, *sorted(min(c, len(whole)) for c in cuts), len(whole)]
    for start, stop in zip(bounds, bounds[1:], strict=False):
        record.add_values(whole[start:stop])
    priority = record.priorities()
    assert sorted(priority.tolist()) == list(range(1, len(whole) + 1))
    assert priority.tolist() == rank(whole).tolist()
    # a higher work value never comes later; equal values keep the file's order
    key = np.nan_to_num(whole, nan=-np.inf)  # no value: last
    order = np.argsort(priority)
    for a, b in zip(order, order[1:], strict=False):
        assert key[a] > key[b] or (key[a] == key[b] and a < b)
    marks = record.columns(Capacity(count=worked))["work"]
    assert (marks == "yes").sum() == min(worked, len(whole))
    assert set(priority[marks == "yes"].tolist()) == set(range(1, min(worked, len(whole)) + 1))
