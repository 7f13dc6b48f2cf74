"""Tests of continuing a synthetic world (walkaway.data.synth_continuation), on real files."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from walkaway.cli import main
from walkaway.data import synth
from walkaway.data.synth_continuation import (
    CHURN_REGRET_LOGIT,
    RIVAL_WIN_LOGIT,
    ContinuationError,
    continue_synthetic_history,
    parse_shift,
)
from walkaway.data.synth_manifest import SynthManifestError, read_manifest

N_DEALS = 3000
MONTHS = 6
NEW_EXPORT_DATE = pd.Timestamp("2026-06-30")
# Known only once a deal has closed (or its regret has shown); every other column is known before.
AFTER_CLOSE = ["Stage", "Close Date", "Churn Date", "Regret Flag", "Gross Margin %"]
REGRET_COLUMNS = ["Churn Date", "Regret Flag", "Gross Margin %"]


def read_raw(path: Path) -> pd.DataFrame:
    """A CSV as the raw text cells it holds (empty cell -> "")."""
    return pd.read_csv(path, dtype=str, keep_default_na=False)


def parse_dates(cells: pd.Series) -> pd.Series:
    """dd/mm/yyyy cells to timestamps (empty -> NaT)."""
    return pd.to_datetime(cells.replace("", None), format="%d/%m/%Y")


def logit(p: pd.Series) -> np.ndarray:
    return np.log(p.to_numpy()) - np.log1p(-p.to_numpy())


class Export:
    """The files of one export, read once."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.deals = read_raw(folder / "deals.csv")
        self.truth = pd.read_parquet(folder / "truth.parquet")
        self.accounts = read_raw(folder / "accounts.csv")

    @property
    def closed(self) -> pd.Series:
        return self.deals["Stage"].str.startswith("Closed")


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Export]:
    """A 3,000-deal world and its 6-month continuations: without a shift, with rival:EMEA,
    with churn:retail."""
    root = tmp_path_factory.mktemp("world")
    synth.write_synthetic_history(root / "dir", n_deals=N_DEALS, seed=7)
    continue_synthetic_history(root / "dir", MONTHS, [], root / "plain")
    continue_synthetic_history(root / "dir", MONTHS, ["rival:EMEA"], root / "rival")
    continue_synthetic_history(root / "dir", MONTHS, ["churn:retail"], root / "churn")
    return {name: Export(root / name) for name in ("dir", "plain", "rival", "churn")}


def new_deals(export: Export) -> pd.DataFrame:
    """The deals created after the first export, with their truth."""
    deals = export.deals.iloc[N_DEALS:].reset_index(drop=True)
    truth = export.truth.iloc[N_DEALS:].reset_index(drop=True)
    assert (deals["Opportunity ID"] == truth["deal_id"]).all()
    return pd.concat([deals, truth], axis=1)


def industry_of(export: Export, deals: pd.DataFrame) -> pd.Series:
    """Each deal's industry as its account shows it (lower case, stripped; "" when missing)."""
    industry = export.accounts.set_index("Account ID")["Industry"].str.strip().str.lower()
    return deals["Account ID"].map(industry).reset_index(drop=True)


def test_a_synth_export_records_its_world(world: dict[str, Export]) -> None:
    manifest = read_manifest(world["dir"].folder)
    assert (manifest.seed, manifest.deals, manifest.stage_history) == (7, N_DEALS, False)
    assert manifest.export_date == synth.EXPORT_DATE and manifest.continuations == ()
    continued = read_manifest(world["rival"].folder)
    assert continued.export_date == NEW_EXPORT_DATE
    assert [(c.months, c.shifts) for c in continued.continuations] == [(6, ("rival:EMEA",))]


def test_deals_of_dir_keep_their_ids_accounts_and_pre_close_fields(
    world: dict[str, Export],
) -> None:
    before, after = world["dir"].deals, world["plain"].deals.iloc[:N_DEALS]
    assert after["Opportunity ID"].tolist() == before["Opportunity ID"].tolist()
    known_before = [column for column in synth.DEAL_COLUMNS if column not in AFTER_CLOSE]
    pd.testing.assert_frame_equal(after[known_before], before[known_before])
    # The truth of what each deal was going to do does not change either.
    truth_before, truth_after = world["dir"].truth, world["plain"].truth.iloc[:N_DEALS]
    for column in ("p_win_at_creation", "p_regret", "won_eventually", "icp", "coverage"):
        assert (truth_after[column].to_numpy() == truth_before[column].to_numpy()).all(), column
    assert world["plain"].accounts.equals(world["dir"].accounts)


def test_closed_deals_stay_as_they_were_and_open_ones_close_or_age(
    world: dict[str, Export],
) -> None:
    before, after = world["dir"], world["plain"]
    was_closed = before.closed.to_numpy()
    old = after.deals.iloc[:N_DEALS]
    old_closed = after.closed.iloc[:N_DEALS].to_numpy()
    # Nothing reopens, and what DIR had closed keeps its outcome and close date.
    assert old_closed[was_closed].all()
    columns = ["Stage", "Close Date"]
    pd.testing.assert_frame_equal(
        old.loc[was_closed, columns], before.deals.loc[was_closed, columns]
    )
    # A deal open in DIR either closed since, as the outcome it was always going to have ...
    closed_since = ~was_closed & old_closed
    close_day = parse_dates(old.loc[closed_since, "Close Date"])
    assert close_day.between(synth.EXPORT_DATE, NEW_EXPORT_DATE, inclusive="right").all()
    won = old.loc[closed_since, "Stage"] == "Closed Won"
    assert (won.to_numpy() == before.truth.loc[closed_since, "won_eventually"].to_numpy()).all()
    # ... or is still open, in the same stage, 181 days older.
    still_open = ~was_closed & ~old_closed
    assert closed_since.sum() > 0 and still_open.sum() > 0
    assert (old.loc[still_open, "Stage"] == before.deals.loc[still_open, "Stage"]).all()
    days = (NEW_EXPORT_DATE - synth.EXPORT_DATE).days
    open_truth = after.truth.iloc[:N_DEALS].loc[still_open]
    ages = open_truth["age_days"].to_numpy()
    assert (ages == before.truth.loc[still_open, "age_days"].to_numpy() + days).all()
    np.testing.assert_allclose(open_truth["p_win"], synth.p_win_at_age(open_truth, ages))
    # Closed counts only grow.
    for stage in ("Closed Won", "Closed Lost"):
        assert (after.deals["Stage"] == stage).sum() > (before.deals["Stage"] == stage).sum()


def test_regret_shows_as_it_matures_and_never_disappears(world: dict[str, Export]) -> None:
    before, after = world["dir"], world["plain"]
    shown_before = before.truth["regret_visible"].to_numpy()
    shown_after = after.truth["regret_visible"].iloc[:N_DEALS].to_numpy()
    assert shown_after[shown_before].all()
    matured = shown_after & ~shown_before
    assert matured.sum() > 0
    # Only regret that matured changes a closed deal's regret columns ...
    old = after.deals.iloc[:N_DEALS]
    unchanged = before.closed.to_numpy() & ~matured
    pd.testing.assert_frame_equal(
        old.loc[unchanged, REGRET_COLUMNS], before.deals.loc[unchanged, REGRET_COLUMNS]
    )
    # ... and what shows is a churn after DIR's export date, or a flag with a negative margin.
    churned = matured & (old["Churn Date"] != "").to_numpy()
    churn_day = parse_dates(old.loc[churned, "Churn Date"])
    assert churn_day.between(synth.EXPORT_DATE, NEW_EXPORT_DATE, inclusive="right").all()
    flagged = matured & ~churned
    assert (old.loc[flagged, "Regret Flag"] == "Y").all()
    assert (pd.to_numeric(old.loc[flagged, "Gross Margin %"]) < 0).all()


def test_new_deals_are_created_since_at_the_same_rate(world: dict[str, Export]) -> None:
    export = world["plain"]
    new = new_deals(export)
    days = (NEW_EXPORT_DATE - synth.EXPORT_DATE).days
    first_export_days = (synth.EXPORT_DATE - synth.HISTORY_START).days + 1
    assert len(new) == round(N_DEALS * days / first_export_days)
    assert new["Opportunity ID"].tolist() == [
        f"OPP-{number:07d}" for number in range(N_DEALS + 1, N_DEALS + len(new) + 1)
    ]
    created = parse_dates(new["Created Date"])
    assert created.between(synth.EXPORT_DATE, NEW_EXPORT_DATE, inclusive="right").all()
    by_month = created.dt.month.value_counts().sort_index()
    days_in_month = pd.Series([31, 28, 31, 30, 31, 30], index=range(1, 7))
    assert (by_month - N_DEALS * days_in_month / first_export_days).abs().max() <= 1
    assert new["Account ID"].isin(export.accounts["Account ID"]).all()
    # The truth covers every deal, and the pipeline is what is open on the new date.
    assert export.truth["deal_id"].tolist() == export.deals["Opportunity ID"].tolist()
    pipeline = read_raw(export.folder / "pipeline.csv")
    assert (
        pipeline["Opportunity ID"].tolist()
        == export.deals.loc[~export.closed, "Opportunity ID"].tolist()
    )
    # Without a shift, new deals follow the world's rules: about as many incumbents and wins.
    closed_new = new[new["Stage"].str.startswith("Closed")]
    assert 0.35 < (new["Incumbent Vendor"] != "").mean() < 0.55
    assert 0.2 < new["p_win_at_creation"].mean() < 0.4
    assert len(closed_new) > 0


def test_the_same_inputs_give_the_same_files_however_the_months_are_split(
    world: dict[str, Export], tmp_path: Path
) -> None:
    source = world["dir"].folder
    again = continue_synthetic_history(source, MONTHS, ["rival:emea"], tmp_path / "again")
    in_two = continue_synthetic_history(source, 2, ["rival:EMEA"], tmp_path / "two")
    in_two = continue_synthetic_history(in_two.out_dir, 4, [], tmp_path / "six")
    assert in_two.shifts == ("rival:EMEA",)  # a shift, once on, stays on
    for name in ("deals.csv", "pipeline.csv", "accounts.csv", "products.csv", "truth.parquet"):
        expected = (world["rival"].folder / name).read_bytes()
        assert (again.out_dir / name).read_bytes() == expected, name
        assert (in_two.out_dir / name).read_bytes() == expected, name
    assert (again.out_dir / "synth.json").read_bytes() == (
        world["rival"].folder / "synth.json"
    ).read_bytes()


def test_a_rival_entrenched_in_emea_changes_emea_new_deals_only(
    world: dict[str, Export],
) -> None:
    plain, rival = new_deals(world["plain"]), new_deals(world["rival"])
    emea = (plain["Sales Region"].str.strip().str.upper() == "EMEA").to_numpy()
    assert emea.sum() > 50
    # The deals DIR had, and the new deals of other regions, are exactly those without it.
    pd.testing.assert_frame_equal(
        world["rival"].deals.iloc[:N_DEALS], world["plain"].deals.iloc[:N_DEALS]
    )
    pd.testing.assert_frame_equal(
        world["rival"].truth.iloc[:N_DEALS], world["plain"].truth.iloc[:N_DEALS]
    )
    pd.testing.assert_frame_equal(rival[~emea], plain[~emea])

    # In EMEA, the glass walls visibly rise: incumbents, long tenures, tenders ...
    def glass_walls(deals: pd.DataFrame) -> tuple[float, float, float]:
        tenure = pd.to_numeric(deals["Incumbent Tenure (years)"]).fillna(0)
        tender = deals["Formal Tender"].str.lower().isin(["yes", "y", "true"])
        return (deals["Incumbent Vendor"] != "").mean(), tenure.mean(), tender.mean()

    incumbents, tenure, tenders = glass_walls(rival[emea])
    incumbents_before, tenure_before, tenders_before = glass_walls(plain[emea])
    assert incumbents > 0.75 and incumbents > incumbents_before + 0.25
    assert tenure > tenure_before + 3
    assert tenders > tenders_before + 0.15
    assert (rival.loc[emea, "Incumbent Vendor"] == "Sapient ERP").mean() > 0.6
    # ... and winning gets harder, more than those features say: deals whose features the
    # shift left as they were lose exactly RIVAL_WIN_LOGIT on the log-odds of winning.
    assert (
        rival.loc[emea, "p_win_at_creation"].mean()
        < 0.7 * plain.loc[emea, "p_win_at_creation"].mean()
    )
    features = [c for c in synth.DEAL_COLUMNS if c not in AFTER_CLOSE and c != "Incumbent Vendor"]
    untouched = emea & (rival[features] == plain[features]).all(axis=1).to_numpy()
    untouched &= (plain["Incumbent Vendor"] == "").to_numpy()  # no hidden tenure to differ
    assert untouched.sum() >= 5
    gap = logit(rival.loc[untouched, "p_win_at_creation"]) - logit(
        plain.loc[untouched, "p_win_at_creation"]
    )
    np.testing.assert_allclose(gap, RIVAL_WIN_LOGIT, atol=1e-9)


def test_a_churning_industry_regrets_more_of_its_new_wins(world: dict[str, Export]) -> None:
    plain, churn = new_deals(world["plain"]), new_deals(world["churn"])
    retail = (industry_of(world["plain"], plain) == "retail").to_numpy()
    assert retail.sum() > 20
    # Its features do not change, nor does any deal of another industry ...
    before_close = [c for c in synth.DEAL_COLUMNS if c not in AFTER_CLOSE]
    pd.testing.assert_frame_equal(churn[before_close], plain[before_close])
    missing = (industry_of(world["plain"], plain) == "").to_numpy()  # unknown: maybe retail
    others = ~retail & ~missing
    pd.testing.assert_frame_equal(churn[others], plain[others])
    # ... but regret of its deals rises by exactly CHURN_REGRET_LOGIT on the log-odds.
    gap = logit(churn.loc[retail, "p_regret"]) - logit(plain.loc[retail, "p_regret"])
    np.testing.assert_allclose(gap, CHURN_REGRET_LOGIT, atol=1e-9)
    # So its wins are regrettable at least as often, and more often over its deals.
    won = churn["won"].fillna(False).astype(bool).to_numpy() & retail
    regret_after = churn.loc[won, "regrettable"].astype(bool)
    regret_before = plain.loc[won, "regrettable"].astype(bool)
    assert (regret_after >= regret_before).all()
    assert churn.loc[retail, "p_regret"].mean() > plain.loc[retail, "p_regret"].mean() + 0.15


def test_a_stage_history_continues_too(tmp_path: Path) -> None:
    synth.write_synthetic_history(tmp_path / "dir", n_deals=1200, seed=3, stage_history=True)
    summary = continue_synthetic_history(tmp_path / "dir", 3, [], tmp_path / "later")
    before = read_raw(tmp_path / "dir" / "stage_history.csv")
    after = read_raw(tmp_path / "later" / "stage_history.csv")
    # Every change DIR recorded is still there; later ones are added.
    rows_before = set(before.itertuples(index=False))
    rows_after = set(after.itertuples(index=False))
    assert rows_before < rows_after
    changed = pd.to_datetime(after["Changed Date"], format="%d/%m/%Y")
    assert changed.max() <= summary.export_date
    deals = read_raw(tmp_path / "later" / "deals.csv")
    assert set(after["Opportunity ID"]) == set(deals["Opportunity ID"])


def test_refusals_are_one_line(world: dict[str, Export], tmp_path: Path) -> None:
    not_synth = tmp_path / "export"
    not_synth.mkdir()
    (not_synth / "deals.csv").write_text("Opportunity ID\nX-1\n")
    with pytest.raises(SynthManifestError, match="no synth.json"):
        continue_synthetic_history(not_synth, 3, [], tmp_path / "out")
    (not_synth / "synth.json").write_text("{not json")
    with pytest.raises(SynthManifestError, match="not readable as JSON"):
        continue_synthetic_history(not_synth, 3, [], tmp_path / "out")
    document = json.loads((world["dir"].folder / "synth.json").read_text())
    (not_synth / "synth.json").write_text(json.dumps({**document, "seed": "seven"}))
    with pytest.raises(SynthManifestError, match="'seed' must be int"):
        continue_synthetic_history(not_synth, 3, [], tmp_path / "out")
    with pytest.raises(ContinuationError, match="the export being continued"):
        continue_synthetic_history(world["dir"].folder, 3, [], world["dir"].folder)
    with pytest.raises(ValueError, match="names no industry"):
        continue_synthetic_history(world["dir"].folder, 3, ["churn:mining"], tmp_path / "out")
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize(
    ("spec", "canonical"),
    [("rival:EMEA", "rival:EMEA"), ("RIVAL: north-america", "rival:North America"),
     ("churn:Financial_Services", "churn:financial services")],
)  # fmt: skip
def test_shift_specs_are_read_in_any_spelling(spec: str, canonical: str) -> None:
    assert parse_shift(spec).spec == canonical


@pytest.mark.parametrize("spec", ["rival", "rival:", "churn:EMEA", "drift:EMEA", ":retail"])
def test_bad_shift_specs_are_refused(spec: str) -> None:
    with pytest.raises(ValueError, match="expected"):
        parse_shift(spec)


def test_the_command_line_continues_a_world(
    world: dict[str, Export], tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    source = world["dir"].folder
    out = tmp_path / "continued"
    argv = ["synth", "--continue-from", str(source), "--months", "6", "--out", str(out)]
    assert main([*argv, "--shift", "rival:EMEA"]) == 0
    printed = capsys.readouterr().out
    assert "to 2026-06-30" in printed and "rival:EMEA (new deals only)" in printed
    assert "372 new deals" in printed
    assert (out / "deals.csv").read_bytes() == (world["rival"].folder / "deals.csv").read_bytes()

    for wrong, status, words in [
        (["--shift", "rival:Mars"], 2, "names no region"),
        (["--shift", "retail"], 2, "is not a shift"),
        (["--seed", "3"], 2, "takes --seed"),
    ]:
        assert main([*argv, *wrong]) == status
        error = capsys.readouterr().err
        assert words in error and len(error.strip().splitlines()) == 1, error
    not_synth = tmp_path / "elsewhere"
    not_synth.mkdir()
    assert (
        main(["synth", "--continue-from", str(not_synth), "--months", "1", "--out", str(out)]) == 1
    )
    error = capsys.readouterr().err
    assert "no synth.json" in error and len(error.strip().splitlines()) == 1
    assert main(["synth", "--months", "3", "--out", str(out)]) == 2
    assert "--continue-from" in capsys.readouterr().err
