"""Scoring canonical deals: one output row per deal, the same for the batch job and the pyfunc.

The batch job (:mod:`walkaway.serving.batch`) and the MLflow pyfunc (:mod:`walkaway.serving.registry`) both
end here, so a deal scores the same whichever way it arrives.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pandas as pd

from walkaway.model.walkaway_model import WalkawayModel
from walkaway.signs import GROUPS

ID_COLUMNS = ("deal_id", "account_id", "amount")
SCORE_COLUMNS = (
    *ID_COLUMNS,
    "p_win",
    "p_regret",
    "p_good",
    "p_good_base",  # p_good at the base margins: p_good = p_good_base + the effects / 100
    "expected_good_value",  # p_good x amount (the amount the model uses), for the worklist
    *(f"effect_{g}" for g in GROUPS),
    *(f"reasons_{g}" for g in GROUPS),
    "recommendation",
    "recommendation_reason",
)
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def score_deals(
    model: WalkawayModel,
    deals: pd.DataFrame,
    as_of: pd.Timestamp | pd.Series,
    timings: dict[str, float] | None = None,
    on_features: Callable[[pd.DataFrame], None] | None = None,
) -> pd.DataFrame:
    """Scores, sign effects, reasons and recommendation of typed canonical deals.

    ``deals`` may carry ``account_found`` (False where the deal's account is missing from the
    accounts table); such deals are scored, and their ICP reasons end by saying the account
    is unknown (a note, after the reasons with points).
    Returns the columns of :data:`SCORE_COLUMNS`, one row per deal, same index. ``timings``,
    when given, accumulates the seconds spent in each step of the model; ``on_features`` is
    given the deals' features (see :meth:`WalkawayModel.predict`).
    """
    deals = model.with_amounts(deals)
    scores = model.predict(deals, as_of=as_of, timings=timings, on_features=on_features)
    out = pd.DataFrame({c: deals.get(c, np.nan) for c in ID_COLUMNS}, index=deals.index)
    out = pd.concat([out, scores], axis=1)
    if "account_found" in deals:
        missing = deals["account_found"].eq(False) & deals["account_id"].notna()
        if missing.any():
            note = (
                "account '"
                + deals.loc[missing, "account_id"].astype(str)
                + "' is not in the accounts file: firmographics unknown"
            )
            reasons = out.loc[missing, "reasons_icp_fit"]
            out.loc[missing, "reasons_icp_fit"] = np.where(
                reasons.eq(""), note, reasons + "; " + note
            )
    out["expected_good_value"] = out["p_good"] * pd.to_numeric(out["amount"], errors="coerce")
    return out[list(SCORE_COLUMNS)]


def make_inert(frame: pd.DataFrame) -> pd.DataFrame:
    """Text a spreadsheet would run as a formula (starting with =, +, -, @, tab or CR) gets a
    leading apostrophe, so it shows as text (CSV injection).

    Examples
    --------
    >>> inert = make_inert(pd.DataFrame({"deal_id": ["=HYPERLINK(1)", "-5", "D-2"], "p": [1.0, -2.0, 3.0]}))
    >>> inert["deal_id"].tolist(), inert["p"].tolist()
    (["'=HYPERLINK(1)", "'-5", 'D-2'], [1.0, -2.0, 3.0])
    """
    safe = frame.copy()
    for column in safe.columns:
        values = safe[column]
        if values.dtype != object and not pd.api.types.is_string_dtype(values):
            continue
        text = values.astype("string")
        risky = text.str.startswith(FORMULA_STARTS).fillna(False).astype(bool)
        if risky.any():
            safe[column] = values.where(~risky, "'" + text)
    return safe
