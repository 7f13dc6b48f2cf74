"""Landmark snapshots: which rows a closed deal gives the win head, and the backtest's rows."""

from __future__ import annotations

from datetime import date, timedelta

import numpy as np
import pandas as pd
from hypothesis import given, settings
from hypothesis import strategies as st

from walkaway.model.landmarks import LANDMARK_AGES, MAX_SNAPSHOTS, age_band, snapshots

DEALS = st.lists(
    st.tuples(st.dates(date(2020, 1, 1), date(2024, 12, 31)), st.integers(0, 800)),
    min_size=1,
    max_size=60,
)


def deal_frame(deals: list[tuple[date, int]]) -> pd.DataFrame:
    created = pd.to_datetime([c for c, _ in deals])
    closed = pd.to_datetime([c + timedelta(days=cycle) for c, cycle in deals])
    frame = pd.DataFrame({"deal_id": [f"d{i}" for i in range(len(deals))], "created_date": created})
    return frame.assign(closed_date=closed).set_index(np.arange(100, 100 + len(deals)))


@settings(max_examples=60, deadline=None)
@given(deals=DEALS)
def test_each_deal_gives_its_creation_and_only_ages_it_was_open(deals: list) -> None:
    frame = deal_frame(deals)
    rows = snapshots(frame)
    per_deal = rows.groupby("deal_row").size()
    assert set(per_deal.index) == set(frame.index)  # no deal lost
    assert per_deal.max() <= MAX_SNAPSHOTS
    assert (rows.groupby("deal_row")["snapshot_age"].min() == 0).all()
    assert rows["snapshot_age"].isin(LANDMARK_AGES).all()
    # Open at every snapshot but creation: its close is strictly after the snapshot.
    aged = rows["snapshot_age"] > 0
    assert (rows.loc[aged, "closed_date"] > rows.loc[aged, "as_of"]).all()
    assert (rows["as_of"] - rows["created_date"]).dt.days.eq(rows["snapshot_age"]).all()
    assert not rows.duplicated(["deal_row", "snapshot_age"]).any()


def test_the_bound_does_not_depend_on_how_long_a_deal_lived() -> None:
    """Which later landmarks a deal keeps is drawn before its cycle is looked at: a deal that
    closed after 200 days keeps a landmark it reached exactly when a deal drawn the same way
    that closed after 400 days does."""
    created = pd.Timestamp("2024-01-01")
    many = 2_000
    short = pd.DataFrame(
        {"created_date": [created] * many, "closed_date": [created + pd.Timedelta(days=200)] * many}
    )
    long = short.assign(closed_date=created + pd.Timedelta(days=400))
    kept_short = snapshots(short).groupby("snapshot_age").size()
    kept_long = snapshots(long).groupby("snapshot_age").size()
    for age in (30, 60, 90, 180):
        assert kept_short[age] == kept_long[age]
    # Each later landmark is kept for about 3 of every 5 deals that reached it.
    assert 0.5 < kept_long[365] / many < 0.7


def test_a_deal_without_dates_gives_its_creation_row_only() -> None:
    frame = pd.DataFrame(
        {"created_date": [pd.NaT, pd.Timestamp("2024-01-01")], "closed_date": [pd.NaT, pd.NaT]}
    )
    rows = snapshots(frame)
    assert rows["snapshot_age"].tolist() == [0, 0]


def test_age_bands() -> None:
    assert age_band(np.array([0, 29, 30, 90, 400])).tolist() == [
        "0-30",
        "0-30",
        "30-90",
        "over 90",
        "over 90",
    ]
