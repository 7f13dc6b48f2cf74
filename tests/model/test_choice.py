"""A head's choice: successive halving of the tree shapes."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from tests.model.test_heads import ROWS, additive, dates, frame
from walkaway.model import choice
from walkaway.model.candidates import candidates
from walkaway.model.choice import halve
from walkaway.model.splits import time_folds


def test_successive_halving_tries_every_tree_shape_then_the_best_third(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(choice, "FIRST_RUNG_ROWS", 600)
    X = frame(6)
    y = additive(X, 6)
    pool = [c for c in candidates(100_000) if not c.linear]  # every tree shape
    best, records = halve(pool, X, y, time_folds(dates(), 4, y), "sigmoid")
    table = pd.DataFrame.from_records(records)
    first, second = (table[table["rows"] == n] for n in sorted(table["rows"].unique()))
    assert len(first) == len(pool) and first["rows"].iloc[0] == 600
    assert len(second) == max(2, int(np.ceil(len(pool) / 3))) and second["rows"].iloc[0] == ROWS
    assert set(second["candidate"]) <= set(first.nsmallest(len(second), "log_loss")["candidate"])
    assert best.candidate.name == second.iloc[0]["candidate"]
