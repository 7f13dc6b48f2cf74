"""Deal context: everything else that drives outcomes (size, region, seller, source, type,
product line). Modelled, but not one of the three signs.

The seller enters through their track record rather than their name: their win rate over the
deals they closed strictly before the deal's as-of time, shrunk towards the team's rate when
they have closed few. A record generalises to sellers with little history; a name does not.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.utils.validation import check_is_fitted

from walkaway.model.features.columns import column
from walkaway.model.features.point_in_time import EventTimeline
from walkaway.signs import Feature, after, plural

SELLER_PRIOR_DEALS = 20.0  # a seller's record counts fully after about this many closed deals
CATEGORIES = {
    "region": "region",
    "lead_source": "lead source",
    "deal_type": "deal type",
    "product": "product",
}

FEATURES = {
    "amount": Feature("deal_context", "amount", lambda v: f"amount {float(v):,.0f}"),
    **{
        name: Feature("deal_context", label, after(f"{label} "))
        for name, label in CATEGORIES.items()
    },
    "seller_win_rate": Feature(
        "deal_context", "seller's win rate", lambda v: f"seller wins {float(v):.0%} of deals"
    ),
    "seller_closed_deals": Feature(
        "deal_context", "seller's experience", lambda v: f"seller has closed {plural(v, 'deal')}"
    ),
}


class DealContext(TransformerMixin, BaseEstimator):
    """The deal's context as numbers and text categories, and the seller's track record.

    The deal's age is its own transformer (:mod:`walkaway.model.features.deal_age`), in the same
    group.

    Examples
    --------
    >>> history = pd.DataFrame({
    ...     "owner": ["ann"] * 3, "outcome": ["won", "won", "open"], "amount": ["10", "5", "7"],
    ...     "closed_date": pd.to_datetime(["2024-01-10", "2024-02-01", None]),
    ...     "as_of": pd.to_datetime(["2024-01-01", "2024-01-20", "2024-06-01"])})
    >>> DealContext().fit(history).transform(history)[["amount", "seller_closed_deals"]]
       amount  seller_closed_deals
    0    10.0                  0.0
    1     5.0                  1.0
    2     7.0                  2.0
    """

    def __init__(self, seller_prior_deals: float = SELLER_PRIOR_DEALS):
        self.seller_prior_deals = seller_prior_deals

    def fit(self, X: pd.DataFrame, y: object = None) -> DealContext:
        missing = {"outcome", "closed_date"} - set(X.columns)
        if missing:
            raise ValueError(f"DealContext.fit needs columns {sorted(missing)}")
        closed = X[X["outcome"].isin(["won", "lost"])]
        won = closed["outcome"].eq("won")
        owner = column(closed, "owner")
        self.seller_wins_ = EventTimeline(owner[won], closed.loc[won, "closed_date"])
        self.seller_deals_ = EventTimeline(owner, closed["closed_date"])
        everyone = pd.Series("all", index=closed.index)
        self.team_wins_ = EventTimeline(everyone[won], closed.loc[won, "closed_date"])
        self.team_deals_ = EventTimeline(everyone, closed["closed_date"])
        return self

    def transform(self, X: pd.DataFrame) -> pd.DataFrame:
        check_is_fitted(self)
        out = pd.DataFrame(index=X.index)
        out["amount"] = pd.to_numeric(column(X, "amount"), errors="coerce").astype(float)
        for name in CATEGORIES:
            out[name] = column(X, name).astype(object)
        as_of = X["as_of"]
        owner = column(X, "owner")
        everyone = pd.Series("all", index=X.index)
        team_rate = (self.team_wins_.count_before(everyone, as_of) + 1) / (
            self.team_deals_.count_before(everyone, as_of) + 2
        )
        wins = self.seller_wins_.count_before(owner, as_of)
        deals = self.seller_deals_.count_before(owner, as_of)
        prior = self.seller_prior_deals
        rate = (wins + prior * team_rate) / (deals + prior)
        out["seller_win_rate"] = np.where(owner.notna(), rate, np.nan)
        out["seller_closed_deals"] = np.where(owner.notna(), deals, np.nan)
        return out[list(FEATURES)]

    def get_feature_names_out(self, input_features: object = None) -> np.ndarray:
        return np.array(list(FEATURES), dtype=object)
