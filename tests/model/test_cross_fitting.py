"""Cross-fitting: a fold's margins come from learners that never saw its labels."""

from __future__ import annotations

import numpy as np

from tests.model.test_heads import additive, dates, frame, shallow
from walkaway.model.cross_fitting import cross_fit
from walkaway.model.splits import time_folds


def test_early_stopping_never_sees_the_fold_it_predicts() -> None:
    """Shuffling the labels of one fold cannot change that fold's out-of-fold margins: its
    booster neither learned from it nor stopped on it."""
    X = frame(0)
    y = additive(X)
    folds = time_folds(dates(), 4, y)
    before = cross_fit(shallow(), X, y, folds, "sigmoid")
    shuffled = y.copy()
    held = folds == 0
    shuffled[held] = np.random.default_rng(1).permutation(y[held])
    after = cross_fit(shallow(), X, shuffled, folds, "sigmoid")
    np.testing.assert_array_equal(before.margins[held], after.margins[held])
    assert before.trees[0] == after.trees[0]
    assert not np.array_equal(before.margins[~held], after.margins[~held])  # the others learn it
