"""The steps of notebook 04, monitor (walkaway.analysis.monitor_review), on the session's small
synthetic export continued three months with a rival entrenched in EMEA, scored each month by
the session's champion, and backtested by ``walkaway monitor``'s job."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest
from matplotlib.figure import Figure

from tests.analysis.conftest import open_pyplot_figures
from walkaway.analysis import (
    drift_over_time,
    monitor_review,
    pipeline_review,
    reliability_over_time,
)
from walkaway.data.synth_continuation import continue_synthetic_history
from walkaway.data.synth_manifest import SynthManifestError, read_manifest
from walkaway.jobs import MonitorRun
from walkaway.model.drift import FEATURE_PSI_WARN, SIGN_PSI_WARN, DriftReport
from walkaway.serving import monitoring

MONTHS = 3
SHIFT = "rival:EMEA"


def folder_state(folder: Path) -> dict[str, str]:
    """Every file under ``folder`` by relative path, with its SHA-256."""
    return {
        p.relative_to(folder).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


@dataclass
class Simulated:
    """The simulated months, their scores and the backtest, built once for the module."""

    world: monitor_review.World
    scored: monitor_review.ScoredWorld
    run: MonitorRun
    page: Path
    export_before: dict[str, str]
    export_after: dict[str, str]


@pytest.fixture(scope="module")
def simulated(
    synthetic_dir: Path, champion_models_dir: Path, tmp_path_factory: pytest.TempPathFactory
) -> Simulated:
    work = tmp_path_factory.mktemp("monitor-work") / "monitor"
    before = folder_state(synthetic_dir)
    with pytest.MonkeyPatch.context() as patch:
        patch.delenv("MLFLOW_TRACKING_URI", raising=False)
        reviewed = pipeline_review.champion_or_train(synthetic_dir, champion_models_dir)
        world = monitor_review.continue_world(synthetic_dir, work, MONTHS, SHIFT)
        scored = monitor_review.score_months(world, reviewed)
        run = monitor_review.backtest(scored, work / "monitor.html")
    return Simulated(world, scored, run, work / "monitor.html", before, folder_state(synthetic_dir))


# ------------------------------------------------------------------ simulated time


def test_the_world_is_continued_a_month_at_a_time_into_the_work_folder(
    simulated: Simulated, synthetic_dir: Path
) -> None:
    world = simulated.world
    assert [m.month for m in world.months] == list(range(MONTHS + 1))
    assert world.months[0].folder == synthetic_dir
    first = read_manifest(synthetic_dir).export_date
    for month in world.months[1:]:
        assert month.folder == world.work / f"month-{month.month}"
        assert month.export_date == first + pd.DateOffset(months=month.month)
        assert month.export_date == read_manifest(month.folder).export_date
        assert month.shifts == (SHIFT,)
        assert month.created > 0 and month.closed > 0
    deals = [m.deals for m in world.months]
    assert deals == sorted(deals) and deals[0] < deals[-1]
    open_now = len(pd.read_csv(world.latest.folder / "pipeline.csv"))
    assert world.latest.open_deals == open_now
    table = world.table()
    assert table.index.tolist() == list(range(MONTHS + 1))
    assert table.loc[0, "shifts in force"] == "–"


def test_the_export_is_only_read(simulated: Simulated) -> None:
    assert simulated.export_after == simulated.export_before


def test_a_month_at_a_time_gives_the_files_of_continuing_at_once(
    simulated: Simulated, synthetic_dir: Path, tmp_path: Path
) -> None:
    at_once = continue_synthetic_history(synthetic_dir, MONTHS, [SHIFT], tmp_path / "at-once")
    for name in ("deals.csv", "pipeline.csv", "accounts.csv"):
        month_by_month = (simulated.world.latest.folder / name).read_bytes()
        assert month_by_month == (at_once.out_dir / name).read_bytes(), name


def test_a_bad_shift_or_no_month_fails_before_writing(synthetic_dir: Path, tmp_path: Path) -> None:
    work = tmp_path / "work"
    with pytest.raises(ValueError, match="names no region"):
        monitor_review.continue_world(synthetic_dir, work, 2, "rival:Mars")
    with pytest.raises(ValueError, match="at least 1"):
        monitor_review.continue_world(synthetic_dir, work, 0, SHIFT)
    assert not work.exists()


def test_a_real_export_cannot_be_continued(synthetic_dir: Path, tmp_path: Path) -> None:
    export = tmp_path / "crm"
    export.mkdir()
    for name in ("deals.csv", "pipeline.csv", "accounts.csv"):
        (export / name).write_bytes((synthetic_dir / name).read_bytes())
    with pytest.raises(SynthManifestError, match="synth.json"):
        monitor_review.continue_world(export, tmp_path / "work", 1, SHIFT)


def test_each_month_is_scored_as_of_its_export_date_with_its_drift_beside(
    simulated: Simulated,
) -> None:
    scored = simulated.scored
    assert [s.month for s in scored.months] == list(simulated.world.months)
    for month in scored.months:
        assert month.scored.parent == simulated.world.work / "scores"
        rows = pd.read_csv(month.scored)
        assert len(rows) == month.deals == month.month.open_deals - month.rejected
        assert set(rows["as_of"]) == {f"{month.month.export_date:%Y-%m-%d}"}
        assert set(rows["model_version"]) == {1}
        assert month.drift_figures.is_file()
    files = scored.backtest_files()
    assert files == [s.scored for s in scored.months[:-1]]
    assert scored.table()["deals scored"].tolist() == [s.deals for s in scored.months]


# ------------------------------------------------------------------ the backtest


def test_the_backtest_judges_the_months_before_the_latest_export(simulated: Simulated) -> None:
    run = simulated.run
    months = [m.label for m in simulated.world.months[:-1]]
    assert run.export_date == simulated.world.latest.export_date
    assert run.by_month["scored_month"].tolist() == months
    assert run.verdict.text.startswith(("No drift", "Drift"))
    assert run.verdict.live_version == 1
    page = simulated.page.read_text(encoding="utf-8")
    assert page.startswith("<!DOCTYPE html>") and run.verdict.text.split(":")[0] in page

    table = monitor_review.by_month(run)
    assert table.index.tolist() == months
    assert {"win rate of the closed", "wins expected by now", "won / expected"} <= set(table)
    assert table["scored"].tolist() == [s.deals for s in simulated.scored.months[:-1]]


def test_the_closed_rate_is_said_against_wins_expected_by_now(simulated: Simulated) -> None:
    words = monitor_review.closed_rate_in_words(simulated.run)
    table = simulated.run.by_month
    row = table[table["still_open"].gt(0) & (table["won"] + table["lost"]).gt(0)].iloc[-1]
    assert f"scored in {row['scored_month']}" in words
    assert f"{int(row['still_open']):,}" in words and "still open" in words
    assert f"{row['won_ratio']:.2f} times as many" in words


def test_the_shifted_segment_is_marked_among_its_columns_segments(simulated: Simulated) -> None:
    table = monitor_review.shifted_segment(simulated.run, SHIFT)
    segments = simulated.run.verdict.segments
    regions = segments[segments["column"].eq("region")]
    assert len(table) == len(regions)
    if len(table):
        assert set(table.loc[table["shifted"], "region"]) <= {"emea"}
    assert monitor_review.shifted_segment(simulated.run, None).empty
    words = monitor_review.shift_in_words(simulated.run, simulated.world)
    assert "EMEA" in words
    assert "flags it" in words or f"{monitor_review.FULL_SIZE_DEALS:,}" in words


def segment_row(**values: object) -> dict[str, object]:
    row: dict[str, object] = {
        "cohort": "deals created since 2025-12-31",
        "column": "region",
        "value": "emea",
        "scored": 400,
        "won": 20,
        "lost": 100,
        "still_open": 280,
        "missing": 0,
        "expected_won": 40.0,
        "won_ratio": 0.5,
        "relative": 0.5,
        "z": -2.0,
        "drifted": False,
    }
    return row | values


def words_for(rows: list[dict[str, object]], shift: str | None = SHIFT, deals: int = 5000) -> str:
    run = SimpleNamespace(verdict=SimpleNamespace(segments=pd.DataFrame(rows)))
    latest = SimpleNamespace(deals=deals)
    first = SimpleNamespace(export_date=pd.Timestamp("2025-12-31"))
    world = SimpleNamespace(shift=shift, latest=latest, months=[first, latest])
    return monitor_review.shift_in_words(run, world)  # type: ignore[arg-type]


def test_shift_in_words_says_how_far_the_world_is_from_telling_the_shift() -> None:
    other = segment_row(value="apac", won=40, won_ratio=1.0, relative=1.0, z=0.0)
    weak = words_for([segment_row(), other])
    # z = (r - 1) sqrt(E): r = 0.5 passes 3 standard errors at (3 / 0.5)^2 = 36 wins expected.
    assert "0.50 times the rate of a typical region" in weak
    assert "about 36 wins expected" in weak and "give 40" in weak
    assert "weak at this size" in weak and "20,000 deals" in weak

    flagged = words_for([segment_row(relative=0.3, z=-4.0, drifted=True), other])
    assert flagged.endswith("The verdict flags it.")

    too_few = words_for([other | {"value": "latam"}, other])
    assert too_few.startswith("Too few wins were expected among the EMEA deals")

    assert words_for([], shift=None).startswith("No shift is switched on")
    assert "cannot see it" in words_for([], shift="churn:retail")


# ------------------------------------------------------------------ reliability over time


def test_reliability_is_by_month_when_each_has_enough_closed_deals_else_by_quarter(
    simulated: Simulated,
) -> None:
    run = simulated.run
    by_month = reliability_over_time.reliability_over_time(run, min_closed=1)
    months = run.by_month.loc[(run.by_month["won"] + run.by_month["lost"]) >= 5, "scored_month"]
    assert sorted(set(by_month["period"])) == months.tolist()
    for period, curve in by_month.groupby("period"):
        assert curve["count"].sum() == curve["closed"].iloc[0]
        closed = run.joined[run.joined["scored_month"].eq(period)]["status"].isin(["won", "lost"])
        assert curve["closed"].iloc[0] == closed.sum()

    by_quarter = reliability_over_time.reliability_over_time(run, min_closed=10**6)
    assert set(by_quarter["period"]) <= {"2025Q4", "2026Q1"}
    joined = run.joined
    quarter = monitoring.scoring_day(joined).dt.to_period("Q").astype(str)
    for period, curve in by_quarter.groupby("period"):
        mine = joined[quarter.eq(period)].drop_duplicates("deal_id")
        assert curve["closed"].iloc[0] == mine["status"].isin(["won", "lost"]).sum()


def test_the_reliability_figure_is_drawn_without_pyplot(simulated: Simulated) -> None:
    before = open_pyplot_figures()
    curves = reliability_over_time.reliability_over_time(simulated.run)
    figure = reliability_over_time.reliability_figure(curves, simulated.run, SHIFT)
    assert isinstance(figure, Figure) and len(figure.axes) == 2
    labels = [t.get_text() for t in figure.axes[1].get_legend().get_texts()]
    assert labels == ["all deals", "region EMEA (shifted)"]
    alone = reliability_over_time.reliability_figure(curves, simulated.run, None)
    assert [t.get_text() for t in alone.axes[1].get_legend().get_texts()] == ["all deals"]
    assert open_pyplot_figures() == before


# ------------------------------------------------------------------ drift by sign


def test_drift_by_sign_reads_each_months_figures_as_the_batch_job_wrote_them(
    simulated: Simulated,
) -> None:
    reports = drift_over_time.drift_reports(simulated.scored)
    months = [s.month.label for s in simulated.scored.months]
    assert list(reports) == months
    table = drift_over_time.drift_by_sign(reports)
    assert table.index.tolist() == months
    assert table.columns.tolist() == ["glass_walls", "icp_fit", "need_fit", "deal_context"]
    for scored in simulated.scored.months:
        features = pd.read_csv(scored.drift_figures)
        expected = DriftReport(features, scored.deals).by_sign().set_index("sign")["psi"]
        row = table.loc[scored.month.label]
        assert np.allclose(row[expected.index], expected)
        assert row.sum() == pytest.approx(features["psi"].sum())

    features = drift_over_time.drift_by_feature(reports, top=3)
    assert features.shape == (len(months), 3)
    assert features.max().is_monotonic_decreasing
    warnings = drift_over_time.drift_warnings(reports)
    assert warnings.columns.tolist() == ["month scored", "warning"]
    flagged = table[table.ge(SIGN_PSI_WARN).any(axis=1)].index
    assert set(flagged) <= set(warnings["month scored"])


def test_the_drift_figure_draws_the_thresholds(simulated: Simulated) -> None:
    before = open_pyplot_figures()
    figure = drift_over_time.drift_figure(drift_over_time.drift_reports(simulated.scored))
    assert open_pyplot_figures() == before
    signs, features = figure.axes
    for axis, level in ((signs, SIGN_PSI_WARN), (features, FEATURE_PSI_WARN)):
        flat = [line.get_ydata() for line in axis.get_lines() if len(set(line.get_ydata())) == 1]
        assert any(np.allclose(y, level) for y in flat)
    assert len(signs.get_legend().get_texts()) == 4
