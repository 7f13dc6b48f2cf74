"""Glass walls: a rival is entrenched and we may be invited to bid only for compliance.

Inputs from the deal (incumbent and tenure, rivals, a formal tender and its window, access to
the decision maker) and our own track record at the account, counted point in time from the
history: only deals closed strictly before the deal's as-of time count.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.utils.validation import check_is_fitted

from walkaway.model.features.columns import numbers
from walkaway.model.features.point_in_time import EventTimeline
from walkaway.signs import Feature, plural, yes_no

FEATURES = {
    "incumbent_present": Feature(
        "glass_walls", "incumbent", yes_no("a rival is the incumbent", "no incumbent rival")
    ),
    "incumbent_tenure_years": Feature(
        "glass_walls",
        "incumbent tenure",
        # No incumbent has a tenure of 0: say so rather than "incumbent for 0 years".
        lambda v: (
            "no entrenched incumbent" if float(v) < 1 else f"incumbent for {plural(v, 'year')}"
        ),
    ),
    "competitor_count": Feature(
        "glass_walls", "number of competitors", lambda v: plural(v, "competitor")
    ),
    "formal_tender": Feature("glass_walls", "tender", yes_no("formal tender", "no formal tender")),
    "response_window_days": Feature(
        "glass_walls", "response window", lambda v: f"{v:.0f}-day response window"
    ),
    "decision_maker_access": Feature(
        "glass_walls",
        "access to the decision maker",
        yes_no("access to the decision maker", "no access to the decision maker"),
    ),
    "prior_wins_at_account": Feature(
        "glass_walls", "earlier wins here", lambda v: f"{plural(v, 'earlier win')} at this account"
    ),
    "prior_losses_at_account": Feature(
        "glass_walls",
        "earlier losses here",
        lambda v: f"{plural(v, 'earlier loss', 'earlier losses')} at this account",
    ),
}


class GlassWalls(TransformerMixin, BaseEstimator):
    """Features of an entrenched rival, and our point-in-time record at the account.

    ``fit`` remembers when each closed deal at each account was won or lost; ``transform``
    counts those that closed strictly before each deal's ``as_of`` date, so a deal never sees
    its own outcome nor anything later.

    Examples
    --------
    >>> history = pd.DataFrame({
    ...     "account_id": ["a", "a", "a"], "outcome": ["won", "lost", "open"],
    ...     "closed_date": pd.to_datetime(["2024-01-10", "2024-05-01", None]),
    ...     "as_of": pd.to_datetime(["2024-01-01", "2024-02-01", "2024-06-01"]),
    ...     "incumbent_vendor": [None, "rival", None], "incumbent_tenure_years": [None, 7, None]})
    >>> GlassWalls().fit(history).transform(history)[
    ...     ["incumbent_tenure_years", "prior_wins_at_account", "prior_losses_at_account"]]
       incumbent_tenure_years  prior_wins_at_account  prior_losses_at_account
    0                     0.0                    0.0                      0.0
    1                     7.0                    1.0                      0.0
    2                     0.0                    1.0                      1.0
    """

    def fit(self, X: pd.DataFrame, y: object = None) -> GlassWalls:
        missing = {"account_id", "outcome", "closed_date"} - set(X.columns)
        if missing:
            raise ValueError(f"GlassWalls.fit needs columns {sorted(missing)}")
        closed = X[X["outcome"].isin(["won", "lost"])]
        won = closed["outcome"].eq("won")
        self.wins_ = EventTimeline(closed.loc[won, "account_id"], closed.loc[won, "closed_date"])
        self.losses_ = EventTimeline(
            closed.loc[~won, "account_id"], closed.loc[~won, "closed_date"]
        )
        return self

    def transform(self, X: pd.DataFrame) -> pd.DataFrame:
        check_is_fitted(self)
        out = pd.DataFrame(index=X.index)
        vendor = X["incumbent_vendor"] if "incumbent_vendor" in X else pd.Series(index=X.index)
        tenure = numbers(X, "incumbent_tenure_years")
        # A tenure implies an incumbent even when the vendor's name was left blank.
        present = vendor.notna() | (tenure > 0)
        known = "incumbent_vendor" in X or "incumbent_tenure_years" in X
        # No incumbent means no tenure (0), not an unknown one; an export without the columns
        # knows neither.
        out["incumbent_present"] = present.astype(float) if known else np.nan
        out["incumbent_tenure_years"] = tenure.where(present, 0.0) if known else np.nan
        out["competitor_count"] = numbers(X, "competitor_count")
        tender = numbers(X, "formal_tender")
        out["formal_tender"] = tender
        # A response window only means something for a tender.
        out["response_window_days"] = numbers(X, "response_window_days").where(tender == 1)
        out["decision_maker_access"] = numbers(X, "decision_maker_access")
        account = X["account_id"] if "account_id" in X else pd.Series(index=X.index, dtype=object)
        # No account, no record: unknown rather than "no earlier wins".
        known = account.notna().to_numpy()
        wins = self.wins_.count_before(account, X["as_of"])
        losses = self.losses_.count_before(account, X["as_of"])
        out["prior_wins_at_account"] = np.where(known, wins, np.nan)
        out["prior_losses_at_account"] = np.where(known, losses, np.nan)
        return out[list(FEATURES)]

    def get_feature_names_out(self, input_features: object = None) -> np.ndarray:
        return np.array(list(FEATURES), dtype=object)
