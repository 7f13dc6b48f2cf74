"""The deal's age against the usual cycle of deals like it (walkaway.model.features.deal_age)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from walkaway.model.features.deal_age import DealAge, similar_deals


def history(cycles: list[int], deal_type: str = "new", start: str = "2023-01-01") -> pd.DataFrame:
    created = pd.date_range(start, periods=len(cycles), freq="4D")
    return pd.DataFrame(
        {
            "deal_type": deal_type,
            "amount": 10_000.0,
            "outcome": "won",
            "created_date": created,
            "closed_date": created + pd.to_timedelta(cycles, unit="D"),
        }
    )


def test_age_is_measured_against_similar_deals_closed_in_the_year_before() -> None:
    quick = history([30] * 80)  # deals like it close in 30 days
    slow = history([300] * 80, deal_type="expansion")
    deals = pd.concat([quick, slow], ignore_index=True)
    ages = DealAge().fit(deals)
    as_of = pd.Timestamp("2024-06-01")
    query = pd.DataFrame(
        {
            "deal_type": ["new", "expansion"],
            "amount": [10_000.0] * 2,
            "created_date": [as_of - pd.Timedelta(days=90)] * 2,
            "as_of": [as_of] * 2,
        }
    )
    out = ages.transform(query)
    assert out["days_open"].tolist() == [90.0, 90.0]
    new, expansion = out["days_open_vs_usual"]
    assert new > 1.5  # three times the 30 days of deals like it (shrunk a little to all deals)
    assert expansion < 1.0  # early for deals that take 300 days


def test_the_usual_cycle_is_unknown_in_the_first_year_and_without_dates() -> None:
    deals = history([30] * 80)
    ages = DealAge().fit(deals)
    first_year = deals.assign(as_of=deals["created_date"] + pd.Timedelta(days=10)).head(40)
    assert ages.transform(first_year)["days_open_vs_usual"].isna().all()
    undated = pd.DataFrame({"created_date": [pd.NaT], "as_of": [pd.Timestamp("2024-01-01")]})
    out = ages.transform(undated)
    assert np.isnan(out["days_open"].iloc[0]) and np.isnan(out["days_open_vs_usual"].iloc[0])


def test_similar_deals_share_type_and_size_band() -> None:
    keys = similar_deals(
        pd.DataFrame({"deal_type": ["A", "a", "a"], "amount": [20_000, 25_000, 90_000]})
    )
    assert keys[0] == keys[1] != keys[2]
