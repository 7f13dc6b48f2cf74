"""Tests of the outcome labels (walkaway.data.labels): regret horizon, censoring, maturity."""

from __future__ import annotations

from datetime import date, timedelta

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from walkaway.data.labels import label_deals

EXPORT = pd.Timestamp("2025-12-31")
HORIZON = 365


def deals(*rows: dict) -> pd.DataFrame:
    """Canonical deals from dicts with outcome, closed and optional churn, flag, margin."""
    frame = pd.DataFrame(
        {
            "outcome": [r["outcome"] for r in rows],
            "closed_date": pd.to_datetime([r.get("closed") for r in rows]),
            "churn_date": pd.to_datetime([r.get("churn") for r in rows]),
            "regrettable": pd.Series([r.get("flag", np.nan) for r in rows], dtype=object),
            "margin": [r.get("margin", np.nan) for r in rows],
        }
    )
    frame.index = range(10, 10 + len(rows))
    return frame


def one(**row: object) -> pd.Series:
    return label_deals(deals(row), EXPORT, HORIZON).iloc[0]


def test_a_young_win_without_regret_evidence_is_censored() -> None:
    label = one(outcome="won", closed="2025-06-01")
    assert label["won"] == 1.0
    assert label["regret_status"] == "censored"
    assert np.isnan(label["regret_label"])
    assert pd.isna(label["status_known_date"])


def test_a_matured_win_churning_inside_the_horizon_is_regrettable() -> None:
    label = one(outcome="won", closed="2024-01-10", churn="2024-12-01")
    assert label["regret_status"] == "regrettable"
    assert label["regret_label"] == 1.0
    assert label["status_known_date"] == pd.Timestamp("2024-12-01")


def test_churn_on_the_last_day_of_the_horizon_still_counts() -> None:
    closed = pd.Timestamp("2024-01-10")
    label = one(outcome="won", closed=closed, churn=closed + pd.Timedelta(days=HORIZON))
    assert label["regret_label"] == 1.0


def test_a_matured_win_churning_after_the_horizon_is_kept() -> None:
    closed = pd.Timestamp("2023-01-10")
    label = one(outcome="won", closed=closed, churn=closed + pd.Timedelta(days=HORIZON + 1))
    assert label["regret_status"] == "kept"
    assert label["regret_label"] == 0.0
    assert label["status_known_date"] == closed + pd.Timedelta(days=HORIZON)


@pytest.mark.parametrize(
    "evidence", [{"margin": -0.05}, {"flag": True}], ids=["negative_margin", "regret_flag"]
)
def test_negative_margin_or_the_regret_flag_make_a_matured_win_regrettable(evidence: dict) -> None:
    closed = pd.Timestamp("2024-01-10")
    label = one(outcome="won", closed=closed, **evidence)
    assert label["regret_status"] == "regrettable"
    assert label["regret_label"] == 1.0
    # their own dates are not exported: known at the horizon at the latest
    assert label["status_known_date"] == closed + pd.Timedelta(days=HORIZON)


@pytest.mark.parametrize(
    "evidence", [{"margin": 0.0}, {"margin": 0.3}, {"flag": False}], ids=["zero", "positive", "no"]
)
def test_zero_margin_and_a_false_flag_are_not_regret(evidence: dict) -> None:
    label = one(outcome="won", closed="2024-01-10", **evidence)
    assert label["regret_status"] == "kept"
    assert label["regret_label"] == 0.0


@pytest.mark.parametrize(
    ("outcome", "won"), [("lost", 0.0), ("open", np.nan)], ids=["lost", "open"]
)
def test_lost_and_open_deals_have_no_regret_labels(outcome: str, won: float) -> None:
    closed = "2023-01-10" if outcome == "lost" else None
    label = one(outcome=outcome, closed=closed, churn="2023-06-01", flag=True, margin=-1.0)
    assert label["won"] == won or (np.isnan(won) and np.isnan(label["won"]))
    assert pd.isna(label["regret_status"])
    assert np.isnan(label["regret_label"])
    assert pd.isna(label["status_known_date"])


def test_a_young_win_with_an_early_churn_is_regrettable_but_not_a_regret_target() -> None:
    label = one(outcome="won", closed="2025-06-01", churn="2025-09-15")
    assert label["regret_status"] == "regrettable"
    assert np.isnan(label["regret_label"]), "the regret head learns only from matured wins"
    assert label["status_known_date"] == pd.Timestamp("2025-09-15")


def test_a_young_flagged_win_is_known_no_later_than_the_export() -> None:
    label = one(outcome="won", closed="2025-06-01", flag=True)
    assert label["regret_status"] == "regrettable"
    assert np.isnan(label["regret_label"])
    assert label["status_known_date"] == EXPORT


def test_the_horizon_parameter_moves_maturity() -> None:
    frame = deals({"outcome": "won", "closed": "2025-10-01"})
    assert label_deals(frame, EXPORT, 90)["regret_label"].tolist() == [0.0]
    assert np.isnan(label_deals(frame, EXPORT, 365)["regret_label"].iloc[0])


def test_labels_without_the_optional_label_columns() -> None:
    frame = pd.DataFrame(
        {
            "outcome": ["won", "won", "lost"],
            "closed_date": pd.to_datetime(["2023-01-01", "2025-11-01", "2023-01-01"]),
            "amount": [1.0, 2.0, 3.0],
        }
    )
    labelled = label_deals(frame, EXPORT)
    assert labelled["regret_status"].tolist()[:2] == ["kept", "censored"]
    assert labelled["regret_label"].iloc[0] == 0.0
    assert labelled["amount"].tolist() == [1.0, 2.0, 3.0], "other columns are kept"
    assert "won" not in frame, "the input is not modified"


# --------------------------------------------------------------------------- properties

START = date(2021, 1, 1)
END = EXPORT.date()


@st.composite
def deal_rows(draw: st.DrawFn) -> dict:
    outcome = draw(st.sampled_from(["won", "won", "lost", "open"]))
    closed = None if outcome == "open" else draw(st.dates(START, END))
    churn = draw(st.none() | st.dates(closed or START, END))
    flag = draw(st.sampled_from([np.nan, True, False]))
    margin = draw(st.none() | st.floats(-1, 1, allow_nan=False))
    return {
        "outcome": outcome,
        "closed": closed,
        "churn": churn,
        "flag": flag,
        "margin": np.nan if margin is None else margin,
    }


@settings(max_examples=50, deadline=None)
@given(rows=st.lists(deal_rows(), min_size=1, max_size=12), horizon=st.integers(1, 800))
def test_regret_label_is_known_exactly_for_matured_wins(rows: list[dict], horizon: int) -> None:
    labelled = label_deals(deals(*rows), EXPORT, horizon)
    for (_, label), row in zip(labelled.iterrows(), rows, strict=True):
        won = row["outcome"] == "won"
        matured = won and row["closed"] + timedelta(days=horizon) <= END
        assert (not np.isnan(label["regret_label"])) == matured
        if not won:
            assert pd.isna(label["regret_status"])
            assert pd.isna(label["status_known_date"])
            continue
        churned = row["churn"] is not None and row["churn"] <= row["closed"] + timedelta(horizon)
        regret = churned or row["flag"] is True or row["margin"] < 0
        expected_status = "regrettable" if regret else "kept" if matured else "censored"
        assert label["regret_status"] == expected_status
        if matured:
            assert label["regret_label"] == float(regret)
        if label["regret_status"] == "regrettable" and not np.isnan(label["regret_label"]):
            assert label["regret_label"] == 1.0
        if label["regret_status"] in ("regrettable", "kept"):
            assert label["status_known_date"] <= EXPORT
            assert label["status_known_date"] <= pd.Timestamp(row["closed"]) + pd.Timedelta(
                days=horizon
            )
        else:
            assert pd.isna(label["status_known_date"])


def test_the_regret_rule_of_a_mapping_decides_what_counts() -> None:
    from walkaway.data.labels import RegretRule
    from walkaway.data.mapping_document import parse_mapping

    deals = pd.DataFrame(
        {
            "outcome": ["won"] * 3,
            "closed_date": pd.to_datetime(["2023-01-10"] * 3),
            "margin": [-5.0, 8.0, 30.0],
            "support_cost": [0.0, 900.0, 10.0],
            "amount": [1000.0, 1000.0, 1000.0],
        }
    )
    export = pd.Timestamp("2025-12-31")
    default = label_deals(deals, export)["regret_label"].tolist()
    assert default == [1.0, 0.0, 0.0]  # a negative margin by default
    rule = parse_mapping(
        {
            "tables": {"deals": {"columns": {"deal_id": "Id"}}},
            "regret": {"horizon_days": 365, "margin_below": 10, "support_cost_share": 0.5},
        }
    ).regret_rule
    assert rule == RegretRule(margin_below=10, support_cost_share=0.5)
    assert label_deals(deals, export, 365, rule)["regret_label"].tolist() == [1.0, 1.0, 0.0]
    no_margin = RegretRule(margin_below=None)
    assert label_deals(deals, export, 365, no_margin)["regret_label"].tolist() == [0.0, 0.0, 0.0]
