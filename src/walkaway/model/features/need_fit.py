"""Square peg, round hole: what we offer does not meet what the buyer needs.

The product catalogue (product -> capabilities) travels inside the fitted transformer, so a
deal is judged against the catalogue the model learned with. A product the catalogue does not
know leaves the coverage features missing; the reasons then say the product is unknown.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.utils.validation import check_is_fitted

from walkaway.data.cell_values import normalise_category, parse_capabilities
from walkaway.model.features.columns import numbers
from walkaway.signs import Feature, plural, yes_no

FEATURES = {
    "capability_coverage": Feature(
        "need_fit",
        "capability coverage",
        lambda v: f"product covers {float(v):.0%} of the required capabilities",
    ),
    "capabilities_missing": Feature(
        "need_fit",
        "missing capabilities",
        lambda v: f"{plural(v, 'required capability', 'required capabilities')} not covered",
    ),
    "must_haves_missing": Feature(
        "need_fit",
        "missing must-haves",
        lambda v: f"{plural(v, 'must-have')} not covered" if v else "every must-have covered",
    ),
    "customisation_required": Feature(
        "need_fit",
        "customisation",
        yes_no("needs customisation to fit", "fits without customisation"),
    ),
    "needs_defined": Feature(
        "need_fit", "defined needs", yes_no("needs are defined", "needs are not defined")
    ),
}


class NeedFit(TransformerMixin, BaseEstimator):
    """How well the offered product covers the buyer's required capabilities.

    Parameters
    ----------
    catalogue
        Product name -> its capabilities as ';'-separated text (the products table).

    Examples
    --------
    >>> deals = pd.DataFrame({"product": ["Core", "Core", "Mystery"],
    ...                       "required_capabilities": ["sso; api", "api", "api"],
    ...                       "must_have_capabilities": ["sso", None, None]})
    >>> NeedFit({"core": "api; reports"}).fit(deals).transform(deals)[
    ...     ["capability_coverage", "capabilities_missing", "must_haves_missing"]]
       capability_coverage  capabilities_missing  must_haves_missing
    0                  0.5                   1.0                 1.0
    1                  1.0                   0.0                 0.0
    2                  NaN                   NaN                 NaN
    """

    def __init__(self, catalogue: dict[str, str] | None = None):
        self.catalogue = catalogue

    def fit(self, X: pd.DataFrame, y: object = None) -> NeedFit:
        catalogue = self.catalogue or {}
        names = normalise_category(pd.Series(list(catalogue), dtype=object))
        self.capabilities_by_product_ = {
            name: parse_capabilities(text)
            for name, text in zip(names, catalogue.values(), strict=True)
            if isinstance(name, str)
        }
        return self

    def transform(self, X: pd.DataFrame) -> pd.DataFrame:
        check_is_fitted(self)
        products = (
            normalise_category(X["product"]) if "product" in X else pd.Series(np.nan, index=X.index)
        )
        required = X.get("required_capabilities", pd.Series(np.nan, index=X.index))
        must_have = X.get("must_have_capabilities", pd.Series(np.nan, index=X.index))
        coverage, missing, must_missing = [], [], []
        # Deals repeat the same few (product, needs) combinations: work them out once each.
        cache: dict[tuple[object, object, object], tuple[float, float, float]] = {}
        for key in zip(products, required, must_have, strict=True):
            if key not in cache:
                cache[key] = self._fit_of(*key)
            c, m, mm = cache[key]
            coverage.append(c)
            missing.append(m)
            must_missing.append(mm)
        out = pd.DataFrame(index=X.index)
        out["capability_coverage"] = np.asarray(coverage, dtype=float)
        out["capabilities_missing"] = np.asarray(missing, dtype=float)
        out["must_haves_missing"] = np.asarray(must_missing, dtype=float)
        out["customisation_required"] = numbers(X, "customisation_required")
        out["needs_defined"] = numbers(X, "needs_defined")
        return out[list(FEATURES)]

    def _fit_of(
        self, product: object, required: object, must_have: object
    ) -> tuple[float, float, float]:
        offered = self.capabilities_by_product_.get(product) if isinstance(product, str) else None
        needs = parse_capabilities(required)
        if offered is None:
            return (np.nan, np.nan, np.nan)
        musts = parse_capabilities(must_have)
        must_missing = float(len(musts - offered))
        if not needs:
            return (np.nan, np.nan, must_missing)
        gaps = needs - offered
        return (1 - len(gaps) / len(needs), float(len(gaps)), must_missing)

    def get_feature_names_out(self, input_features: object = None) -> np.ndarray:
        return np.array(list(FEATURES), dtype=object)
