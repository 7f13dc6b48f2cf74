"""Decisions in tags: appended, never overwritten, and read back in order."""

from __future__ import annotations

import pandas as pd

from walkaway.serving.decision_log import (
    champion_history_text,
    decision_tags,
    read_champion_history,
    read_decisions,
)


def test_decisions_read_back_in_order_past_the_ninth() -> None:
    """``decision.10`` comes after ``decision.9``, and a text holding ': ' stays whole."""
    start = pd.Timestamp("2025-03-01 09:30:15.7", tz="UTC")
    tags: dict[str, str] = {}
    for i in range(12):
        when = start + pd.Timedelta(minutes=i)
        tags.update(decision_tags(tags, "promote", f"decision {i}: kept", when))

    decisions = read_decisions(tags)

    assert [d.text for d in decisions] == [f"decision {i}: kept" for i in range(12)]
    assert {d.action for d in decisions} == {"promote"}
    assert decisions[-1].time == pd.Timestamp("2025-03-01 09:41:15", tz="UTC")
    assert tags["decision"] == "decision 11: kept"


def test_a_champion_history_round_trips() -> None:
    history = [1, 2, 10]
    tags = {"champion_history": champion_history_text(history)}
    assert read_champion_history(tags) == history
