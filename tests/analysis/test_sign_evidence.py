"""Tests of each sign's raw evidence behind notebooks/01-explore-history
(walkaway.analysis.sign_evidence), on the small synthetic export of tests/analysis/conftest.py."""

from __future__ import annotations

import numpy as np
import pandas as pd

from walkaway.analysis.exploration import Exploration
from walkaway.analysis.icp_profile import icp_profile_figure
from walkaway.analysis.outcome_rates import outcome_rates_over_time, plot_rates_over_time
from walkaway.analysis.sign_evidence import (
    NOT_IN_EXPORT,
    TENURE_BANDS,
    SignEvidence,
    evidence_table,
    plot_sign_evidence,
    sign_evidence,
)


def test_evidence_counts_add_up_to_the_closed_deals_with_a_value(
    exploration: Exploration, evidence: dict[str, SignEvidence]
) -> None:
    features = exploration.features
    closed = len(exploration.closed)
    assert list(evidence) == ["incumbent_tenure", "tender", "icp_similarity", "capability_coverage"]
    # Every closed deal has a tenure band: no incumbent, a tenure, or an incumbent of unknown tenure.
    assert evidence["incumbent_tenure"].table["deals"].sum() == closed
    assert evidence["tender"].table["deals"].sum() == features["formal_tender"].notna().sum()
    assert (
        evidence["icp_similarity"].table["deals"].sum() == features["icp_similarity"].notna().sum()
    )
    assert (
        evidence["capability_coverage"].table["deals"].sum()
        == features["capability_coverage"].notna().sum()
    )
    for item in evidence.values():
        assert item.missing is None
        table = item.table
        assert (table["won"] <= table["deals"]).all()
        assert table["win_rate"].between(0, 1).all()
        assert table["regret_rate"].dropna().between(0, 1).all()
        assert table["regretted"].sum() <= table["matured_wins"].sum()


def test_bands_come_in_their_natural_order(evidence: dict[str, SignEvidence]) -> None:
    tenure = [str(band) for band in evidence["incumbent_tenure"].table.index]
    assert tenure == [band for band in TENURE_BANDS if band in tenure]
    assert str(evidence["tender"].table.index[0]) == "no tender"
    assert str(evidence["icp_similarity"].table.index[0]) == "no customers known yet"
    assert str(evidence["capability_coverage"].table.index[-1]) == "100%"


def test_glass_walls_show_in_the_raw_evidence(evidence: dict[str, SignEvidence]) -> None:
    """The generator lowers p_win with the incumbent's tenure and with a short tender window."""
    tenure = evidence["incumbent_tenure"].table["win_rate"]
    assert tenure["10+ years"] < tenure["no incumbent"] - 0.1
    tender = evidence["tender"].table["win_rate"]
    assert tender["tender, window <= 14 days"] < tender["no tender"]


def test_evidence_table_lists_every_band(evidence: dict[str, SignEvidence]) -> None:
    table = evidence_table(evidence)
    assert len(table) == sum(len(item.table) for item in evidence.values())
    assert set(table["sign"]) == {"glass walls", "ideal customer profile", "need fit"}
    assert table["deals"].sum() == sum(item.table["deals"].sum() for item in evidence.values())


def test_views_of_an_export_without_the_signs_say_so(exploration: Exploration) -> None:
    """Only the required columns: no tenure, tender, capabilities, firmographics or regret."""
    required = ["deal_id", "account_id", "created_date", "closed_date", "outcome"]
    bare = exploration.labelled[required + ["won", "regret_status", "regret_label"]].copy()
    bare["regret_label"] = np.nan
    features = exploration.features.assign(icp_known_customers=0.0)
    evidence = sign_evidence(bare, features)
    for item in evidence.values():
        assert item.table.empty
        assert item.missing
    assert evidence["tender"].missing.startswith(NOT_IN_EXPORT)
    assert evidence["capability_coverage"].missing.startswith(NOT_IN_EXPORT)
    texts = [t.get_text() for a in plot_sign_evidence(evidence).axes for t in a.texts]
    assert sum(NOT_IN_EXPORT in text.replace("\n", " ") for text in texts) == 4
    rates = outcome_rates_over_time(bare)
    assert rates["regret_rate"].isna().all()
    assert plot_rates_over_time(rates).axes
    assert plot_rates_over_time(rates.iloc[:0]).axes
    assert icp_profile_figure(pd.DataFrame()).axes
