"""The deal's progress from its stage history, as of each row's day (features.deal_progress)."""

from __future__ import annotations

import pandas as pd
from hypothesis import given, settings
from hypothesis import strategies as st

from walkaway.data.history import stage_history_text
from walkaway.model.features.deal_progress import DealProgress

STAGES = st.sampled_from(["Prospecting", "Qualification", "Proposal", "Negotiation"])
EVENTS = st.lists(
    st.tuples(st.integers(0, 300), STAGES, st.integers(0, 400)), min_size=1, max_size=12
)


def deal(events: list[tuple[int, str, int]]) -> pd.DataFrame:
    start = pd.Timestamp("2024-01-01")
    return pd.DataFrame(
        {
            "deal_id": "d1",
            "changed_date": [start + pd.Timedelta(days=day) for day, _, _ in events],
            "stage": [stage for _, stage, _ in events],
            "expected_close_date": [start + pd.Timedelta(days=close) for _, _, close in events],
        }
    )


def progress(history: pd.DataFrame, as_of: pd.Timestamp) -> pd.DataFrame:
    row = pd.DataFrame({"stage_history": [stage_history_text(history)["d1"]], "as_of": [as_of]})
    return DealProgress().fit(row).transform(row)


@settings(max_examples=60, deadline=None)
@given(events=EVENTS, later=EVENTS, day=st.integers(0, 300))
def test_changes_after_the_day_never_move_its_features(events: list, later: list, day: int) -> None:
    """Point in time: whatever happens after the snapshot's day (other stages, other close
    dates, a close) changes none of its features."""
    as_of = pd.Timestamp("2024-01-01") + pd.Timedelta(days=day)
    history = deal(events)
    after = deal([(day + 1 + d, stage, close) for d, stage, close in later])
    before = progress(history, as_of)
    with_later = progress(pd.concat([history, after], ignore_index=True), as_of)
    pd.testing.assert_frame_equal(before, with_later)


def test_stage_days_in_it_expected_close_and_its_moves() -> None:
    history = deal(
        [(0, "Prospecting", 60), (20, "Proposal", 60), (61, "Proposal", 90), (91, "Proposal", 120)]
    )
    out = progress(history, pd.Timestamp("2024-01-01") + pd.Timedelta(days=100)).iloc[0]
    assert out["stage_now"] == "proposal"
    assert out["days_in_stage"] == 80  # in Proposal since day 20: a close-date move is no stage
    assert out["days_to_expected_close"] == 20
    assert out["close_date_moves"] == 2
    before_any = progress(history, pd.Timestamp("2023-12-31")).iloc[0]
    assert before_any.isna().all()  # no change yet: unknown, not "never moved"
