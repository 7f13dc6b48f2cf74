"""The wire format the MLflow model takes, and reading it back."""

from __future__ import annotations

import numpy as np
import pandas as pd

from walkaway.data.contracts import LABEL_ONLY_COLUMNS
from walkaway.data.wire_format import parse_canonical, to_wire


def test_parse_canonical_is_lenient_and_leaves_other_columns_alone() -> None:
    frame = pd.DataFrame(
        {
            "amount": ["1,200", "oops"],
            "formal_tender": ["no", "maybe"],
            "created_date": ["2024-05-01", "not a date"],
            "region": [" EMEA", "Latam "],
            "as_of": ["2024-06-01", ""],
            "misc": ["Kept AS is", None],
        }
    )
    typed = parse_canonical(frame)
    assert typed["amount"].iloc[0] == 1200.0
    assert np.isnan(typed["amount"].iloc[1])
    assert typed["formal_tender"].iloc[0] is False
    assert pd.isna(typed["formal_tender"].iloc[1])
    assert typed["created_date"].iloc[0] == pd.Timestamp("2024-05-01")
    assert pd.isna(typed["created_date"].iloc[1])
    assert typed["region"].tolist() == ["emea", "latam"]
    assert typed["as_of"].iloc[0] == pd.Timestamp("2024-06-01")
    assert typed["misc"].equals(frame["misc"])
    assert frame["amount"].tolist() == ["1,200", "oops"], "the input is not modified"


def test_parse_canonical_keeps_typed_columns() -> None:
    frame = pd.DataFrame(
        {
            "amount": [5, 7],
            "created_date": pd.to_datetime(["2024-01-01", "2024-02-01"]),
            "needs_defined": [True, False],
        }
    )
    typed = parse_canonical(frame)
    assert typed["amount"].dtype == float
    assert typed["amount"].tolist() == [5.0, 7.0]
    assert typed["created_date"].equals(frame["created_date"])
    assert typed["needs_defined"].tolist() == [True, False]


def test_to_wire_gives_plain_types_and_drops_label_columns() -> None:
    frame = pd.DataFrame(
        {
            "deal_id": ["D1", "D2"],
            "created_date": pd.to_datetime(["2024-05-01", None]),
            "amount": [1200.0, np.nan],
            "formal_tender": [True, np.nan],
            "region": ["emea", np.nan],
            "industry": ["retail", "logistics"],
            "churn_date": pd.to_datetime(["2025-01-01", None]),
            "margin": [0.1, -0.2],
            "as_of": pd.to_datetime(["2024-06-01", "2024-06-01"]),
            "unrelated": [1, 2],
        }
    )
    wire = to_wire(frame)
    assert list(wire.columns) == [
        "deal_id",
        "created_date",
        "amount",
        "formal_tender",
        "region",
        "industry",
        "as_of",
    ]
    assert not set(wire.columns) & LABEL_ONLY_COLUMNS
    assert wire["created_date"].tolist() == ["2024-05-01", None]
    assert wire["formal_tender"].tolist() == ["true", None]
    assert wire["region"].tolist() == ["emea", None]
    assert wire["amount"].iloc[0] == 1200.0 and np.isnan(wire["amount"].iloc[1])
    assert wire["as_of"].tolist() == ["2024-06-01", "2024-06-01"]

    back = parse_canonical(wire)
    assert back["created_date"].iloc[0] == pd.Timestamp("2024-05-01")
    assert back["formal_tender"].iloc[0] is True
    assert back["amount"].iloc[0] == 1200.0
