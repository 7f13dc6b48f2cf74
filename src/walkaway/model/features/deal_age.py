"""The deal's age: how long it has been open, against the usual cycle of deals like it.

A deal open three times longer than deals like it usually take is stalled, the walk-away signal
sellers see most; and in most pipelines a deal still open late is less likely to win (losses
are slow to be called), though not in all: the model learns the direction from the export.
Closed deals teach it through landmark snapshots (:mod:`walkaway.model.landmarks`): the same deal as
it stood at several ages, each with what was known then.

"Deals like it" are those of the same deal type and size band (amounts in half-decades). Their
usual cycle is the geometric mean of the cycles of such deals closed in the year before the
snapshot (point in time), shrunk towards that of all deals closed in that year when they are
few. It stays unknown in an export's first year: until then only the quick deals can have
closed, and the usual cycle would look shorter than it is.
Age belongs to the deal's context: it is no sign that the deal is the wrong one, only that it is
not moving.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.utils.validation import check_is_fitted

from walkaway.model.features.point_in_time import EventTimeline
from walkaway.signs import Feature, plural

SIMILAR_PRIOR_DEALS = 20.0  # similar deals' own cycle counts fully after about this many
USUAL_CYCLE_WINDOW = pd.Timedelta(days=365)
DAY = pd.Timedelta(days=1)


def _say_days_open(days: float) -> str:
    return "opened today" if float(days) < 1 else f"open {plural(days, 'day')}"


def _say_relative_age(ratio: float) -> str:
    ratio = float(ratio)
    if ratio >= 1.05:
        return f"open {ratio:.1f}x the usual cycle of deals like it"
    return f"open {ratio:.0%} of the usual cycle of deals like it"


FEATURES = {
    "days_open": Feature("deal_context", "days open", _say_days_open),
    "days_open_vs_usual": Feature("deal_context", "age against deals like it", _say_relative_age),
}


def similar_deals(deals: pd.DataFrame) -> pd.Series:
    """The key of deals alike in timing: deal type and size band (half-decades of amount).

    >>> similar_deals(pd.DataFrame({"deal_type": ["Expansion", None], "amount": [20_000, None]})).tolist()
    ['expansion|8', 'unknown|unknown']
    """
    deal_type = deals["deal_type"] if "deal_type" in deals else pd.Series(np.nan, deals.index)
    amount = deals["amount"] if "amount" in deals else pd.Series(np.nan, deals.index)
    amount = pd.to_numeric(amount, errors="coerce").astype(float)
    band = np.floor(2 * np.log10(amount.where(amount > 0)))
    band_text = band.map(lambda b: "unknown" if pd.isna(b) else str(int(b)))
    type_text = deal_type.astype(object).where(deal_type.notna(), "unknown").astype(str).str.lower()
    return type_text + "|" + band_text


class DealAge(TransformerMixin, BaseEstimator):
    """Days a deal has been open at its ``as_of`` date, alone and against deals like it.

    ``fit`` remembers the cycle (creation to close, in days) of every closed deal, on its close
    date; ``transform`` compares each deal's age with the cycles of similar deals closed in the
    year before its ``as_of`` date, so no snapshot sees a later close.

    Examples
    --------
    >>> history = pd.DataFrame({
    ...     "deal_type": ["new"] * 3, "amount": [1e4] * 3, "outcome": ["won", "lost", "open"],
    ...     "created_date": pd.to_datetime(["2023-01-01", "2023-01-01", "2024-03-01"]),
    ...     "closed_date": pd.to_datetime(["2023-01-31", "2023-04-30", None])})
    >>> snapshot = history.assign(as_of=pd.to_datetime(["2023-03-01", "2024-01-01", "2024-06-01"]))
    >>> DealAge().fit(history).transform(snapshot).round(2)
       days_open  days_open_vs_usual
    0       59.0                 NaN
    1      365.0                6.11
    2       92.0                 NaN
    """

    def __init__(self, similar_prior_deals: float = SIMILAR_PRIOR_DEALS):
        self.similar_prior_deals = similar_prior_deals

    def fit(self, X: pd.DataFrame, y: object = None) -> DealAge:
        missing = {"outcome", "created_date", "closed_date"} - set(X.columns)
        if missing:
            raise ValueError(f"DealAge.fit needs columns {sorted(missing)}")
        closed = X[X["outcome"].isin(["won", "lost"])]
        cycle = (closed["closed_date"] - closed["created_date"]) / DAY
        log_cycle = np.log(cycle.clip(lower=1.0))
        self.similar_cycles_ = EventTimeline(
            similar_deals(closed), closed["closed_date"], log_cycle
        )
        everyone = pd.Series("all", index=closed.index)
        self.all_cycles_ = EventTimeline(everyone, closed["closed_date"], log_cycle)
        self.history_start_ = X["created_date"].min()
        return self

    def transform(self, X: pd.DataFrame) -> pd.DataFrame:
        check_is_fitted(self)
        out = pd.DataFrame(index=X.index)
        created = X["created_date"] if "created_date" in X else pd.Series(pd.NaT, X.index)
        days_open = ((X["as_of"] - created) / DAY).clip(lower=0.0).astype(float)
        out["days_open"] = days_open.to_numpy()
        as_of = X["as_of"]
        year_before = as_of - USUAL_CYCLE_WINDOW
        similar = similar_deals(X)
        everyone = pd.Series("all", index=X.index)

        def in_window(timeline: EventTimeline, keys: pd.Series) -> tuple[np.ndarray, np.ndarray]:
            count = timeline.count_before(keys, as_of) - timeline.count_before(keys, year_before)
            total = timeline.sum_before(keys, as_of) - timeline.sum_before(keys, year_before)
            return count, total

        all_count, all_total = in_window(self.all_cycles_, everyone)
        count, total = in_window(self.similar_cycles_, similar)
        all_mean = all_total / np.maximum(all_count, 1)
        prior = self.similar_prior_deals
        usual = np.exp((total + prior * all_mean) / (count + prior))
        ratio = days_open.to_numpy() / usual
        known = (all_count > 0) & (year_before >= self.history_start_).to_numpy()
        out["days_open_vs_usual"] = np.where(known, ratio, np.nan)
        return out[list(FEATURES)]

    def get_feature_names_out(self, input_features: object = None) -> np.ndarray:
        return np.array(list(FEATURES), dtype=object)
