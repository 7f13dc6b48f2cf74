"""Tests of the outcome rates over time behind notebooks/01-explore-history
(walkaway.analysis.outcome_rates), on the small synthetic export of tests/analysis/conftest.py."""

from __future__ import annotations

import numpy as np

from walkaway.analysis.exploration import Exploration
from walkaway.analysis.outcome_rates import outcome_rates_over_time


def test_rates_over_time_are_rates_and_count_every_closed_deal(exploration: Exploration) -> None:
    rates = outcome_rates_over_time(exploration.labelled)
    closed = exploration.closed
    assert rates["deals"].sum() == len(closed)
    assert rates["won"].sum() == closed["won"].sum()
    assert rates["matured_wins"].sum() == closed["regret_label"].notna().sum()
    for column in ("win_rate", "regret_rate"):
        known = rates[column].dropna()
        assert not known.empty
        assert known.between(0, 1).all()
    # Quarters, consecutive, from the first close to the last.
    assert rates.index.freqstr.startswith("Q")
    assert len(rates) == (rates.index[-1] - rates.index[0]).n + 1
    # The newest wins are censored: no regret rate for the last quarter yet.
    assert np.isnan(rates["regret_rate"].iloc[-1])


def test_rates_over_time_by_month(exploration: Exploration) -> None:
    rates = outcome_rates_over_time(exploration.labelled, freq="ME")
    assert rates.index.freqstr == "M"
    assert rates["deals"].sum() == len(exploration.closed)
