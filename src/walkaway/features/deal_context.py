"""Deal context: everything else that drives outcomes (size, region, seller, source, type,
product line). Modelled, but not one of the three signs."""

from __future__ import annotations

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, TransformerMixin

from walkaway.signs import Feature

CATEGORIES = {
    "region": "region",
    "owner": "seller",
    "lead_source": "lead source",
    "deal_type": "deal type",
    "product": "product",
}

FEATURES = {
    "amount": Feature("deal_context", "amount", lambda v: f"amount {float(v):,.0f}"),
    **{
        name: Feature("deal_context", label, lambda v, label=label: f"{label} {v}")
        for name, label in CATEGORIES.items()
    },
}


class DealContext(TransformerMixin, BaseEstimator):
    """Pass the deal's context columns through, as numbers and text categories.

    The deal's age is left out on purpose: closed deals are featurised as at their creation
    (age 0), and the time a deal stayed open is only known once it closed.

    Examples
    --------
    >>> DealContext().fit_transform(pd.DataFrame({"amount": ["10"], "region": ["emea"]}))
       amount region owner lead_source deal_type product
    0    10.0   emea   NaN         NaN       NaN     NaN
    """

    def fit(self, X: pd.DataFrame, y: object = None) -> DealContext:
        return self

    def transform(self, X: pd.DataFrame) -> pd.DataFrame:
        out = pd.DataFrame(index=X.index)
        amount = X["amount"] if "amount" in X else pd.Series(np.nan, index=X.index)
        out["amount"] = pd.to_numeric(amount, errors="coerce").astype(float)
        for name in CATEGORIES:
            out[name] = X[name].astype(object) if name in X else pd.Series(np.nan, X.index, object)
        return out

    def get_feature_names_out(self, input_features: object = None) -> np.ndarray:
        return np.array(list(FEATURES), dtype=object)
