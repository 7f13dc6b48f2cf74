"""The logistic model: exact additive contributions, whatever the values."""

from __future__ import annotations

import numpy as np
import pandas as pd
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.model.test_heads import frame
from walkaway.model.linear import LinearScorer


@settings(max_examples=30, deadline=None)
@given(
    rows=st.integers(min_value=30, max_value=120),
    missing=st.floats(min_value=0.0, max_value=0.6),
    seed=st.integers(min_value=0, max_value=10_000),
)
def test_logistic_contributions_add_up_to_its_margin(rows: int, missing: float, seed: int) -> None:
    """Whatever the values, missing ones and categories never seen in training included."""
    rng = np.random.default_rng(seed)
    X = frame(seed, rows)
    X.loc[rng.uniform(size=rows) < missing, "a"] = np.nan
    X.loc[rng.uniform(size=rows) < missing, "colour"] = np.nan
    y = np.r_[0, 1, rng.integers(0, 2, rows - 2)]
    scorer = LinearScorer(min_frequency=5).fit(X, y)
    unseen = X.assign(colour=pd.Categorical(["purple"] * rows), b=X["b"] * 1e6)
    for rows_to_explain in (X, unseen):
        parts = scorer.contributions(rows_to_explain)
        assert parts.shape == (rows, X.shape[1] + 1)
        assert np.isfinite(parts).all()
        np.testing.assert_allclose(parts.sum(axis=1), scorer.margin(rows_to_explain))
