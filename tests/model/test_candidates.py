"""The candidates: more tree shapes as the rows allow, each tree on a bounded bagged sample."""

from __future__ import annotations

from walkaway.model.candidates import MAX_BAGGED_ROWS, candidates


def test_candidates_widen_with_the_data() -> None:
    small, large = candidates(2_000), candidates(5_000_000)
    assert {c.name for c in small} == {"shallow", "medium", "logistic", "logistic-strong"}
    leaves = sorted(c.params["num_leaves"] for c in large if not c.linear)
    assert leaves[0] == 3 and leaves[-1] == 63
    for candidate in large:
        if not candidate.linear:
            # every tree draws a bagged sample of bounded size
            assert candidate.params["bagging_fraction"] * 5_000_000 <= MAX_BAGGED_ROWS + 1
            assert candidate.params["bagging_freq"] >= 1
    assert [c.name for c in candidates(2_000, {"num_leaves": 5})] == ["custom"]
