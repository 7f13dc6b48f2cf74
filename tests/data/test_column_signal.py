"""How well one column alone tells won from lost: the AUC behind the leakage guard."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn.metrics import roc_auc_score

from walkaway.data.column_signal import ranked_auc


@settings(max_examples=60, deadline=None, derandomize=True)
@given(
    st.lists(
        st.tuples(
            st.integers(0, 1), st.sampled_from([0.0, 0.5, 1.0, 2.0, float(7)]) | st.floats(-5, 5)
        ),
        min_size=2,
        max_size=60,
    ).filter(lambda rows: len({label for label, _ in rows}) == 2)
)
def test_the_ranked_auc_is_scikit_learns(rows: list[tuple[int, float]]) -> None:
    y = np.array([label for label, _ in rows])
    score = np.array([value for _, value in rows])
    assert ranked_auc(y, score) == pytest.approx(roc_auc_score(y, score), abs=1e-12)
