"""The leakage guard: ``walkaway train`` stops when one feature alone gives the outcome away.

Each feature the heads would learn from is scored by :mod:`walkaway.data.column_signal` (its
values, and whether it is filled at all); one reaching
:data:`~walkaway.data.column_signal.LEAK_AUC` stops training with a message naming it, and so
does a mapping's extra feature named like a measure of the sales process up to the close.
``walkaway validate`` runs the same scores on the export's columns and exits 1 when training
would refuse.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from walkaway.data.column_signal import POST_CLOSE_NAMES, ColumnScore, score_column
from walkaway.errors import WalkawayError
from walkaway.model.splits import sample_rows

# A column is scored on a seeded sample of this many rows: ROC AUC has a standard error of
# about 0.002 there, far below the distance from real signal to LEAK_AUC.
GUARD_ROWS = 50_000


class LeakageError(WalkawayError, ValueError):
    """A feature gives the outcome away: it must be known only after the deal closed."""


def feature_scores(X: pd.DataFrame, y: np.ndarray) -> dict[str, ColumnScore]:
    """Score every column of a feature frame (categories as text, the rest as numbers), on a
    seeded sample of at most :data:`GUARD_ROWS` rows."""
    rows = sample_rows(len(X), GUARD_ROWS)
    X, y = X.iloc[rows], np.asarray(y)[rows]
    return {
        name: score_column(X[name], y, numeric=not isinstance(X[name].dtype, pd.CategoricalDtype))
        for name in X.columns
    }


def refuse_leaks(
    X: pd.DataFrame, y: np.ndarray, head: str, export_names: dict[str, str] | None = None
) -> dict[str, ColumnScore]:
    """Stop training when one feature alone, by its values or by being filled, predicts the
    outcome almost perfectly; else return every feature's score.

    Parameters
    ----------
    export_names
        Feature -> the export column behind it, to name it the way the user knows it.

    Raises
    ------
    LeakageError
        Naming the strongest leaking feature and what to do about it.
    """
    scores = feature_scores(X, y)
    leaks = sorted(
        (name for name, score in scores.items() if score.leaks),
        key=lambda name: -scores[name].strongest,
    )
    if leaks:
        name = leaks[0]
        export = (export_names or {}).get(name)
        shown = f"'{export}' (feature '{name}')" if export and export != name else f"'{name}'"
        raise LeakageError(
            f"feature {shown} {scores[name].evidence(head)}: it looks known only after the "
            "deal closed (e.g. a value recorded only for lost deals, or 0 for every lost deal). "
            "Declare its export column post_outcome in the mapping, or leave it unmapped"
        )
    return scores


def refuse_post_close_names(extra_features: dict[str, tuple[str, str]] | None) -> None:
    """Stop training when a mapping's extra feature is named like a measure of the sales
    process up to the close (its single-column AUC may look innocent).

    Raises
    ------
    LeakageError
        Naming the export column.
    """
    for _, export in (extra_features or {}).values():
        if POST_CLOSE_NAMES.search(export):
            raise LeakageError(
                f"extra feature '{export}' looks like it measures the sales process up to "
                "the close, so it is only known once the deal has closed. Declare it "
                "post_outcome in the mapping, or leave it out"
            )
