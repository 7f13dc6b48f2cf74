"""A mapping's extra columns: features the export has beyond the canonical ones, each declared
with the sign it belongs to (``features: {Competitor Type: glass_walls}`` in a mapping)."""

from __future__ import annotations

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.utils.validation import check_is_fitted

from walkaway.data.cell_values import normalise_category
from walkaway.signs import Feature, after

NUMERIC_SHARE = 0.95  # a column is numeric when this share of its filled values are numbers


class ExtraFeatures(TransformerMixin, BaseEstimator):
    """Pass a mapping's extra columns through, as numbers or as text categories.

    Parameters
    ----------
    columns
        Canonical extra column -> (sign, the export's own column name).

    Examples
    --------
    >>> deals = pd.DataFrame({"x_competitor_type": ["Known", "none", None], "x_revenue": ["10", "0", ""]})
    >>> extra = ExtraFeatures({"x_competitor_type": ("glass_walls", "Competitor Type"),
    ...                        "x_revenue": ("glass_walls", "Revenue")}).fit(deals)
    >>> extra.transform(deals)["x_competitor_type"].tolist(), extra.numeric_
    (['known', 'none', nan], {'x_competitor_type': False, 'x_revenue': True})
    >>> extra.catalogue()["x_competitor_type"].describe("known")
    'Competitor Type: known'
    """

    def __init__(self, columns: dict[str, tuple[str, str]] | None = None):
        self.columns = columns

    def fit(self, X: pd.DataFrame, y: object = None) -> ExtraFeatures:
        self.numeric_ = {}
        for name in self.columns or {}:
            values = X[name] if name in X else pd.Series(dtype=object)
            filled = values.dropna().astype(str).str.strip()
            filled = filled[filled != ""]
            numbers = pd.to_numeric(filled, errors="coerce")
            self.numeric_[name] = bool(len(filled) and numbers.notna().mean() >= NUMERIC_SHARE)
        return self

    def transform(self, X: pd.DataFrame) -> pd.DataFrame:
        check_is_fitted(self)
        out = pd.DataFrame(index=X.index)
        for name, numeric in self.numeric_.items():
            values = X[name] if name in X else pd.Series(np.nan, X.index, object)
            if numeric:
                out[name] = pd.to_numeric(values, errors="coerce").astype(float)
            else:
                out[name] = normalise_category(values).astype(object)
        return out

    def get_feature_names_out(self, input_features: object = None) -> np.ndarray:
        return np.array(list(self.columns or {}), dtype=object)

    def catalogue(self) -> dict[str, Feature]:
        """How each extra feature is said in reasons: its export name and value."""
        return {
            name: Feature(sign, export, after(f"{export}: "))
            for name, (sign, export) in (self.columns or {}).items()
        }
