"""Tests of the labelled history behind notebooks/01-explore-history (walkaway.analysis.exploration)
and of its views together, on the small synthetic export of tests/analysis/conftest.py, and on
the public Maven export when a clone sits beside ../shared/data."""

from __future__ import annotations

from pathlib import Path

from matplotlib.figure import Figure

from tests.analysis.conftest import SYNTHETIC_DEALS
from tests.shared_data import MAVEN, needs
from walkaway.analysis.exploration import Exploration, ensure_demo_export, explore, overview
from walkaway.analysis.icp_profile import icp_profile_figure
from walkaway.analysis.outcome_rates import outcome_rates_over_time, plot_rates_over_time
from walkaway.analysis.sign_evidence import (
    NOT_IN_EXPORT,
    SignEvidence,
    plot_sign_evidence,
    sign_evidence,
)
from walkaway.data.exports import load_history

MAVEN_EXPORT = MAVEN
needs_maven = needs(MAVEN / "sales_pipeline.csv")


def test_features_are_those_of_the_closed_deals(exploration: Exploration) -> None:
    closed = exploration.closed
    assert exploration.features.index.equals(closed.index)
    assert set(closed["outcome"]) == {"won", "lost"}
    assert {"incumbent_tenure_years", "icp_similarity", "capability_coverage"} <= set(
        exploration.features.columns
    )
    assert not exploration.profile.empty


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
