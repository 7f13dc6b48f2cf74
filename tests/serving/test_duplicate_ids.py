"""The duplicate rule: the same repeats whether found chunk by chunk in file order (the local
engine) or for the whole file first (Spark)."""

from __future__ import annotations

import pandas as pd
from hypothesis import given, settings
from hypothesis import strategies as st

from walkaway.serving.duplicate_ids import KnownRepeats, SeenIds


def chunks_of(ids: pd.Series, cuts: list[int]) -> list[pd.Series]:
    bounds = [0, *sorted(cuts), len(ids)]
    return [ids.iloc[a:b] for a, b in zip(bounds, bounds[1:], strict=False)]


@settings(max_examples=100, deadline=None)
@given(
    ids=st.lists(st.sampled_from(["a", "b", "c", "d", "e"]), max_size=40),
    cuts=st.lists(st.integers(0, 40), max_size=5),
    gaps=st.lists(st.integers(1, 3), min_size=40, max_size=40),
)
def test_chunk_by_chunk_and_whole_file_find_the_same_repeats(
    ids: list[str], cuts: list[int], gaps: list[int]
) -> None:
    rows = pd.Series(gaps[: len(ids)]).cumsum().tolist()  # source rows have gaps (rejects)
    series = pd.Series(ids, index=rows, dtype=object)
    # the whole file's repeats, as the Spark engine's window finds them first
    expected = {}
    for position, (row, deal_id) in enumerate(series.items()):
        earlier = series.iloc[:position]
        if deal_id in earlier.to_numpy():
            expected[row] = int(earlier.index[earlier.to_numpy() == deal_id][0])

    seen, known = SeenIds(), KnownRepeats(expected)
    streamed: dict[int, int] = {}
    looked_up: dict[int, int] = {}
    for chunk in chunks_of(series, [min(c, len(ids)) for c in cuts]):
        streamed |= seen.repeats(chunk)
        looked_up |= known.repeats(chunk)
    assert streamed == expected  # chunk by chunk, in file order
    assert looked_up == expected  # each chunk its own share of the whole file's
    assert len(expected) == len(ids) - len(set(ids))  # every id but its first row
