"""Outcome labels: won, lost and regrettable, with the regret horizon and censoring.

A won deal is *regrettable* when, within the regret horizon after closing, the customer
churned, the account ran at a negative margin, or someone flagged the win as regretted. A win
younger than the horizon whose regret is not known yet is *censored*: it is a win for the win
head, and the regret head leaves it out rather than counting it as "not regrettable".

The regret head learns only from *matured* wins (closed at least one horizon before the export
date). Young wins whose regret already showed are labelled regrettable, but they are not
given to the regret head: their young siblings that will regret later cannot be seen yet, so
keeping only the early regrets would inflate the regret rate.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

DEFAULT_HORIZON_DAYS = 365
# The data gate: walkaway learns from at least this many won and lost closed deals, counted
# besides the newest HOLDOUT_SHARE of them, held out to evaluate on
# (:func:`walkaway.model.training.too_few_deals` counts; ``validate`` says so beforehand).
MIN_WON = 40
MIN_LOST = 40
HOLDOUT_SHARE = 0.2


@dataclass(frozen=True)
class RegretRule:
    """Which post-sale evidence makes a win regrettable (set in a mapping's ``regret`` section).

    Attributes
    ----------
    churn
        A churn date within the horizon after the close.
    flag
        The export's own regrettable flag.
    margin_below
        A margin below this value (None: margins are not used).
    support_cost_share
        Support cost above this share of the deal's amount (None: not used).
    """

    churn: bool = True
    flag: bool = True
    margin_below: float | None = 0.0
    support_cost_share: float | None = None


def label_deals(
    deals: pd.DataFrame,
    export_date: pd.Timestamp,
    horizon_days: int = DEFAULT_HORIZON_DAYS,
    rule: RegretRule | None = None,
) -> pd.DataFrame:
    """Add the label columns to canonical deals.

    Adds ``won`` (1.0 / 0.0, NaN when open), ``regret_status`` (``regrettable``, ``kept``,
    ``censored`` or NaN for lost and open deals), ``regret_label`` (1.0 / 0.0 for matured wins,
    NaN otherwise: the regret head's target) and ``status_known_date`` (the day a win became
    known as kept or regretted; NaT while censored).

    Examples
    --------
    >>> deals = pd.DataFrame({
    ...     "outcome": ["won", "won", "won", "lost", "open"],
    ...     "closed_date": pd.to_datetime(["2023-01-10", "2025-11-01", "2023-03-01",
    ...                                    "2024-01-01", None]),
    ...     "churn_date": pd.to_datetime([None, None, "2023-09-01", None, None])})
    >>> label_deals(deals, pd.Timestamp("2025-12-31"))[["won", "regret_status", "regret_label"]]
       won regret_status  regret_label
    0  1.0          kept           0.0
    1  1.0      censored           NaN
    2  1.0   regrettable           1.0
    3  0.0           NaN           NaN
    4  NaN           NaN           NaN
    """
    horizon = pd.Timedelta(days=horizon_days)
    labelled = deals.copy()
    won = deals["outcome"].eq("won")
    closed = deals["outcome"].isin(["won", "lost"])
    labelled["won"] = np.where(closed, won.astype(float), np.nan)

    closed_date = deals["closed_date"]
    regret_by = closed_date + horizon
    churned = _column(deals, "churn_date", pd.NaT)
    rule = rule or RegretRule()
    churned_in_horizon = churned.notna() & (churned <= regret_by) & rule.churn
    evidence = churned_in_horizon.copy()
    if rule.flag:
        evidence |= _column(deals, "regrettable", np.nan).eq(True)
    if rule.margin_below is not None:
        evidence |= _column(deals, "margin", np.nan) < rule.margin_below
    if rule.support_cost_share is not None:
        cost = _column(deals, "support_cost", np.nan)
        evidence |= cost > rule.support_cost_share * _column(deals, "amount", np.nan)
    regrettable = won & evidence
    matured = won & (closed_date + horizon <= export_date)

    status = pd.Series(np.nan, index=deals.index, dtype=object)
    status[won] = "censored"
    status[won & matured] = "kept"
    status[regrettable] = "regrettable"
    labelled["regret_status"] = status

    labelled["regret_label"] = np.where(matured, regrettable.astype(float), np.nan)
    # When did we learn it? A churn on its date; a flag or a margin at the horizon at the latest
    # (their own dates are not exported), and never after the export itself.
    known_regret = churned.where(churned_in_horizon, regret_by.clip(upper=export_date))
    known = pd.Series(pd.NaT, index=deals.index, dtype="datetime64[ns]")
    known[won & matured] = regret_by[won & matured]
    known[regrettable] = known_regret[regrettable]
    labelled["status_known_date"] = known
    return labelled


def _column(deals: pd.DataFrame, name: str, empty: object) -> pd.Series:
    return deals[name] if name in deals else pd.Series(empty, index=deals.index)
