"""The deal's progress, from a stage-history table: its stage, how long it has sat there, and
how often its expected close date has slipped.

Exports such as Salesforce's keep a history of each opportunity (OpportunityHistory): one row
per change, with the day it was made, the stage and the expected close date from then on. A
mapping declares it as the ``deal_history`` table; reading the export folds each deal's rows
into its ``stage_history`` column (:func:`walkaway.data.history.stage_history_text`), and this
transformer reads
them *as of* each row's ``as_of`` date: only the changes made on or before that day count, so
a snapshot of a closed deal never sees its later stages, nor its close.

Progress belongs to the deal's context, as its age does (:mod:`walkaway.model.features.deal_age`).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.utils.validation import check_is_fitted

from walkaway.data.history import EVENT_SEPARATOR, FIELD_SEPARATOR
from walkaway.signs import Feature, plural

DAY = pd.Timedelta(days=1)


def _say_expected_close(days: float) -> str:
    days = float(days)
    if days >= 0:
        return f"expected to close in {plural(days, 'day')}"
    return f"expected close passed {plural(-days, 'day')} ago"


def _say_moves(moves: float) -> str:
    return (
        "close date never moved"
        if float(moves) < 1
        else f"close date moved {plural(moves, 'time')}"
    )


FEATURES = {
    "stage_now": Feature("deal_context", "stage", lambda v: f"in stage {v}"),
    "days_in_stage": Feature(
        "deal_context", "days in stage", lambda v: f"{plural(v, 'day')} in this stage"
    ),
    "days_to_expected_close": Feature("deal_context", "expected close", _say_expected_close),
    "close_date_moves": Feature("deal_context", "close date moves", _say_moves),
}


def _events(X: pd.DataFrame) -> pd.DataFrame:
    """Every change of every row, as of the row's ``as_of``: row position, day, stage, close."""
    text = X["stage_history"] if "stage_history" in X else pd.Series(np.nan, X.index)
    parts = text.astype(object).where(text.notna(), "").str.split(EVENT_SEPARATOR)
    parts = pd.Series(parts.to_numpy(), index=np.arange(len(X))).explode()
    parts = parts[parts.notna() & (parts != "")]
    fields = parts.str.split(FIELD_SEPARATOR, n=2, expand=True).reindex(columns=[0, 1, 2])
    events = pd.DataFrame(
        {
            "row": parts.index.to_numpy(),
            "day": pd.to_datetime(fields[0], format="%Y-%m-%d", errors="coerce").to_numpy(),
            "stage": fields[1].replace("", np.nan).to_numpy(),
            "close": pd.to_datetime(fields[2], format="%Y-%m-%d", errors="coerce").to_numpy(),
        }
    )
    as_of = pd.to_datetime(X["as_of"]).to_numpy()[events["row"].to_numpy()]
    events = events[events["day"].notna() & (events["day"].to_numpy() <= as_of)]
    return events.sort_values(["row", "day"], kind="stable").reset_index(drop=True)


class DealProgress(TransformerMixin, BaseEstimator):
    """Stage, days in stage, days to the expected close and its moves, as of each row's
    ``as_of`` date, from the row's ``stage_history`` (NaN where it has none yet).

    Examples
    --------
    >>> deals = pd.DataFrame({"stage_history": [
    ...     "2024-01-01|prospecting|2024-03-01;2024-02-01|proposal|2024-03-01;"
    ...     "2024-03-05|proposal|2024-04-15;2024-04-20|proposal|2024-06-01", None],
    ...     "as_of": pd.to_datetime(["2024-05-01", "2024-05-01"])})
    >>> DealProgress().fit(deals).transform(deals)
      stage_now  days_in_stage  days_to_expected_close  close_date_moves
    0  proposal           90.0                    31.0               2.0
    1       NaN            NaN                     NaN               NaN
    """

    def fit(self, X: pd.DataFrame, y: object = None) -> DealProgress:
        # Nothing to learn (each deal's own history says it all); the input width marks it
        # fitted, as scikit-learn's stateless transformers do.
        self.n_features_in_ = X.shape[1]
        return self

    def transform(self, X: pd.DataFrame) -> pd.DataFrame:
        check_is_fitted(self)
        events = _events(X)
        if events.empty:  # no change made by any row's day: all unknown
            empty = pd.DataFrame(np.nan, index=X.index, columns=list(FEATURES))
            return empty.astype({"stage_now": object})
        rows = events["row"].to_numpy()
        new_row = np.r_[True, rows[1:] != rows[:-1]]
        stage = events["stage"].astype(object).where(events["stage"].notna(), "")
        new_stage = new_row | np.r_[True, stage.to_numpy()[1:] != stage.to_numpy()[:-1]]
        events["entered"] = events["day"].where(new_stage).ffill()
        last = events.groupby("row").tail(1).set_index("row")
        known = events[events["close"].notna()]
        close_rows = known["row"].to_numpy()
        first_close = np.r_[True, close_rows[1:] != close_rows[:-1]]
        moved = (
            ~first_close
            & np.r_[False, known["close"].to_numpy()[1:] != known["close"].to_numpy()[:-1]]
        )
        moves = pd.Series(moved, index=close_rows).groupby(level=0).sum()
        latest_close = known.groupby("row")["close"].last()

        positions = np.arange(len(X))
        as_of = pd.to_datetime(X["as_of"]).reset_index(drop=True)
        out = pd.DataFrame(index=positions)
        out["stage_now"] = last["stage"].reindex(positions).astype(object)
        entered = last["entered"].reindex(positions)
        out["days_in_stage"] = ((as_of - entered) / DAY).astype(float)
        out["days_to_expected_close"] = ((latest_close.reindex(positions) - as_of) / DAY).astype(
            float
        )
        has_events = pd.Series(positions, index=positions).isin(last.index)
        out["close_date_moves"] = (
            moves.reindex(positions).fillna(0.0).where(has_events).astype(float)
        )
        out.index = X.index
        return out[list(FEATURES)]

    def get_feature_names_out(self, input_features: object = None) -> np.ndarray:
        return np.array(list(FEATURES), dtype=object)
