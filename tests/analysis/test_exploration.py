"""Tests of the exploration views behind notebooks/01-explore-history (walkaway.analysis.exploration), on
a small synthetic export written for the module, and on the public Maven export when a clone
sits beside ../shared/data."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from matplotlib.figure import Figure

from walkaway.analysis.exploration import (
    NOT_IN_EXPORT,
    TENURE_BANDS,
    Exploration,
    SignEvidence,
    ensure_demo_export,
    evidence_table,
    explore,
    icp_profile_figure,
    outcome_rates_over_time,
    overview,
    plot_rates_over_time,
    plot_sign_evidence,
    sign_evidence,
)
from walkaway.data.exports import load_history
from walkaway.data.synth import write_synthetic_history

SYNTHETIC_DEALS = 2000
SEED = 11
MAVEN_EXPORT = Path(__file__).resolve().parents[3] / "shared" / "data" / "maven-crm-opportunities"
needs_maven = pytest.mark.skipif(
    not (MAVEN_EXPORT / "sales_pipeline.csv").is_file(),
    reason=f"the public Maven CRM export is not at {MAVEN_EXPORT} (a clone without ../shared/data)",
)


@pytest.fixture(scope="module")
def exploration(tmp_path_factory: pytest.TempPathFactory) -> Exploration:
    folder = tmp_path_factory.mktemp("synthetic-crm")
    write_synthetic_history(folder, SYNTHETIC_DEALS, seed=SEED)
    return explore(load_history(folder))


@pytest.fixture(scope="module")
def evidence(exploration: Exploration) -> dict[str, SignEvidence]:
    return sign_evidence(exploration.labelled, exploration.features)


def test_features_are_those_of_the_closed_deals(exploration: Exploration) -> None:
    closed = exploration.closed
    assert exploration.features.index.equals(closed.index)
    assert set(closed["outcome"]) == {"won", "lost"}
    assert {"incumbent_tenure_years", "icp_similarity", "capability_coverage"} <= set(
        exploration.features.columns
    )
    assert not exploration.profile.empty


def test_rates_over_time_are_rates_and_count_every_closed_deal(exploration: Exploration) -> None:
    rates = outcome_rates_over_time(exploration.labelled)
    closed = exploration.closed
    assert rates["deals"].sum() == len(closed)
    assert rates["won"].sum() == closed["won"].sum()
    assert rates["matured_wins"].sum() == closed["regret_label"].notna().sum()
    for column in ("win_rate", "regret_rate"):
        known = rates[column].dropna()
        assert not known.empty
        assert known.between(0, 1).all()
    # Quarters, consecutive, from the first close to the last.
    assert rates.index.freqstr.startswith("Q")
    assert len(rates) == (rates.index[-1] - rates.index[0]).n + 1
    # The newest wins are censored: no regret rate for the last quarter yet.
    assert np.isnan(rates["regret_rate"].iloc[-1])


def test_rates_over_time_by_month(exploration: Exploration) -> None:
    rates = outcome_rates_over_time(exploration.labelled, freq="ME")
    assert rates.index.freqstr == "M"
    assert rates["deals"].sum() == len(exploration.closed)


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


def test_overview_counts(exploration: Exploration) -> None:
    table = overview(exploration).set_index("measure")["value"]
    assert table["deals"] == f"{SYNTHETIC_DEALS:,}"
    assert table["closed deals"] == f"{len(exploration.closed):,}"
    assert table["export date"] == "2025-12-31"


def test_figures_are_figures_with_axes(
    exploration: Exploration, evidence: dict[str, SignEvidence]
) -> None:
    figures = [
        plot_rates_over_time(outcome_rates_over_time(exploration.labelled)),
        plot_sign_evidence(evidence),
        icp_profile_figure(exploration.profile),
    ]
    for figure in figures:
        assert isinstance(figure, Figure)
        assert figure.axes
    assert len(figures[1].axes) == 4
    assert len(figures[2].axes) == 3  # industry, size band, revenue band


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


def test_ensure_demo_export_writes_once(tmp_path: Path) -> None:
    folder = tmp_path / "data" / "raw" / "synthetic-crm"
    assert ensure_demo_export(folder, n_deals=300, seed=1) == folder
    written = {p.name: p.read_bytes() for p in folder.iterdir()}
    assert {"deals.csv", "accounts.csv", "products.csv"} <= set(written)
    assert len(load_history(folder).deals) == 300

    ensure_demo_export(folder, n_deals=500, seed=2)  # already there: left alone
    assert {p.name: p.read_bytes() for p in folder.iterdir()} == written


def test_ensure_demo_export_leaves_an_existing_export_alone(tmp_path: Path) -> None:
    (tmp_path / "deals.csv").write_text("Opportunity ID,Stage\nX-1,Closed Won\n")
    ensure_demo_export(tmp_path)
    assert [p.name for p in tmp_path.iterdir()] == ["deals.csv"]
    assert (tmp_path / "deals.csv").read_text() == "Opportunity ID,Stage\nX-1,Closed Won\n"


@needs_maven
def test_maven_export_without_the_signs_or_regret() -> None:
    exploration = explore(load_history(MAVEN_EXPORT))
    assert exploration.history.mapping.name == "maven-crm"
    rates = outcome_rates_over_time(exploration.labelled)
    assert rates["deals"].sum() == len(exploration.closed)
    assert rates["regret_rate"].isna().all()
    evidence = sign_evidence(exploration.labelled, exploration.features)
    for name in ("incumbent_tenure", "tender", "capability_coverage"):
        assert evidence[name].table.empty
        assert evidence[name].missing.startswith(NOT_IN_EXPORT)
    assert evidence["icp_similarity"].table.empty  # accounts, but no customer's regret known
    assert exploration.profile.empty
    for figure in (
        plot_rates_over_time(rates),
        plot_sign_evidence(evidence),
        icp_profile_figure(exploration.profile),
    ):
        assert figure.axes
