"""A history's export date: the latest real event, never an open deal's expected close."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pandas as pd
import pytest

from walkaway.data.contracts import ContractError
from walkaway.data.exports import load_history
from walkaway.data.history import History
from walkaway.data.mapping import canonical_mapping
from walkaway.data.mapping_document import parse_mapping

SALESFORCE = Path(__file__).resolve().parents[2] / "examples" / "salesforce"


def deals(**columns: list) -> pd.DataFrame:
    frame = pd.DataFrame(columns)
    for column in ("created_date", "closed_date", "churn_date"):
        if column in frame:
            frame[column] = pd.to_datetime(frame[column])
    return frame


def test_an_open_deals_expected_close_is_not_the_export_date() -> None:
    history = History(
        deals(
            outcome=["won", "lost", "open"],
            created_date=["2024-01-01", "2024-02-01", "2024-06-01"],
            closed_date=["2024-03-01", "2024-05-01", "2025-03-04"],  # the open one: expected
        ),
        None,
        None,
        canonical_mapping(),
        "test",
    )
    assert history.export_date == pd.Timestamp("2024-06-01")  # the open deal's creation


def test_churns_and_closed_deals_count_as_events() -> None:
    history = History(
        deals(
            outcome=["won", "open"],
            created_date=["2024-01-01", "2024-02-01"],
            closed_date=["2024-03-01", "2026-01-01"],
            churn_date=["2024-09-30", None],
        ),
        None,
        None,
        canonical_mapping(),
        "test",
    )
    assert history.export_date == pd.Timestamp("2024-09-30")


def test_a_mapping_may_set_the_export_date() -> None:
    mapping = parse_mapping(
        {"export_date": "2024-12-31", "tables": {"deals": {"columns": {"deal_id": "Id"}}}}
    )
    assert mapping.export_date == pd.Timestamp("2024-12-31")
    history = History(
        deals(outcome=["won"], created_date=["2024-01-01"], closed_date=["2024-03-01"]),
        None,
        None,
        replace(canonical_mapping(), export_date=mapping.export_date),
        "test",
    )
    assert history.export_date == pd.Timestamp("2024-12-31")


@pytest.mark.parametrize("value", ["31/12/2024", "yesterday", True])
def test_a_mapping_export_date_must_be_a_date(value: object) -> None:
    with pytest.raises(ContractError, match="export_date must be a date such as 2025-12-31"):
        parse_mapping({"export_date": value, "tables": {"deals": {"columns": {"deal_id": "Id"}}}})


def test_the_salesforce_example_censors_wins_younger_than_the_horizon() -> None:
    """Its open deals' CloseDate runs to 2025-03-04 (expected closes); its last real event is
    2024-12-29. Counted from the expected closes, 7 young wins were labelled 'kept'."""
    history = load_history(SALESFORCE)
    assert history.export_date == pd.Timestamp("2024-12-29")
    open_deals = history.deals["outcome"].eq("open")
    assert history.deals.loc[open_deals, "closed_date"].max() == pd.Timestamp("2025-03-04")

    status = history.labelled()["regret_status"].value_counts()
    assert status.to_dict() == {"censored": 35, "kept": 23}
    # As of the latest expected close, 7 of those censored wins would have counted as kept.
    as_before = replace(
        history, mapping=replace(history.mapping, export_date=pd.Timestamp("2025-03-04"))
    )
    assert as_before.labelled()["regret_status"].value_counts().to_dict() == {
        "kept": 30,
        "censored": 28,
    }
