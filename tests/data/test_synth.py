"""Tests of the synthetic CRM history generator (walkaway.data.synth), on real files."""

from __future__ import annotations

import tempfile
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from walkaway.data import synth
from walkaway.data.synth import SIGNS, SynthSummary, write_synthetic_history

CSV_FILES = ("deals.csv", "accounts.csv", "products.csv")


def read_raw(path: Path) -> pd.DataFrame:
    """A CSV as the raw text cells it holds (empty cell -> "")."""
    return pd.read_csv(path, dtype=str, keep_default_na=False)


def parse_dates(cells: pd.Series) -> pd.Series:
    """dd/mm/yyyy cells to timestamps (empty -> NaT)."""
    return pd.to_datetime(cells.replace("", None), format="%d/%m/%Y")


@pytest.fixture(scope="module")
def history_5k(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, SynthSummary]:
    out_dir = tmp_path_factory.mktemp("synth_5k")
    return out_dir, write_synthetic_history(out_dir, n_deals=5000, seed=7)


@pytest.fixture(scope="module")
def history_20k(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, SynthSummary]:
    out_dir = tmp_path_factory.mktemp("synth_20k")
    return out_dir, write_synthetic_history(out_dir, n_deals=20_000, seed=11)


@pytest.fixture(scope="module")
def deals_with_truth(history_5k: tuple[Path, SynthSummary]) -> pd.DataFrame:
    out_dir, _ = history_5k
    deals = read_raw(out_dir / "deals.csv")
    truth = pd.read_parquet(out_dir / "truth.parquet")
    return deals.merge(truth, left_on="Opportunity ID", right_on="deal_id", validate="1:1")


def test_same_seed_gives_identical_files_whatever_the_chunk_size(tmp_path: Path) -> None:
    first = write_synthetic_history(tmp_path / "a", n_deals=1500, seed=3)
    second = write_synthetic_history(tmp_path / "b", n_deals=1500, seed=3, chunk_size=1)
    other = write_synthetic_history(tmp_path / "c", n_deals=1500, seed=4)
    for name in CSV_FILES:
        assert (first.out_dir / name).read_bytes() == (second.out_dir / name).read_bytes()
    pd.testing.assert_frame_equal(
        pd.read_parquet(first.out_dir / "truth.parquet"),
        pd.read_parquet(second.out_dir / "truth.parquet"),
    )
    assert (first.out_dir / "deals.csv").read_bytes() != (other.out_dir / "deals.csv").read_bytes()
    assert (first.out_dir / "accounts.csv").read_bytes() != (
        other.out_dir / "accounts.csv"
    ).read_bytes()


def test_chunks_spanning_several_blocks_give_the_same_history(tmp_path: Path) -> None:
    n_deals = 2 * synth.BLOCK_ROWS + 7  # three blocks, the last one short
    one_block_per_chunk = write_synthetic_history(tmp_path / "a", n_deals, seed=5, chunk_size=1)
    all_in_one_chunk = write_synthetic_history(tmp_path / "b", n_deals, seed=5)
    assert (one_block_per_chunk.out_dir / "deals.csv").read_bytes() == (
        all_in_one_chunk.out_dir / "deals.csv"
    ).read_bytes()
    assert one_block_per_chunk.n_won == all_in_one_chunk.n_won


def test_rows_ids_and_references(history_5k: tuple[Path, SynthSummary]) -> None:
    out_dir, summary = history_5k
    deals = read_raw(out_dir / "deals.csv")
    accounts = read_raw(out_dir / "accounts.csv")
    products = read_raw(out_dir / "products.csv")
    truth = pd.read_parquet(out_dir / "truth.parquet")

    assert list(deals.columns) == list(synth.DEAL_COLUMNS)
    assert len(deals) == summary.n_deals == 5000 == len(truth)
    assert len(accounts) == summary.n_accounts == 5000 // 6
    assert deals["Opportunity ID"].is_unique
    assert deals["Opportunity ID"].tolist() == truth["deal_id"].tolist()  # row order by id
    assert deals["Opportunity ID"].iloc[0] == "OPP-0000001"
    assert accounts["Account ID"].is_unique
    assert deals["Account ID"].isin(accounts["Account ID"]).all()
    assert deals["Product"].isin(products["Product"]).all()
    assert summary.n_open + summary.n_won + summary.n_lost == summary.n_deals


def test_calendar(history_5k: tuple[Path, SynthSummary]) -> None:
    out_dir, summary = history_5k
    deals = read_raw(out_dir / "deals.csv")
    created = parse_dates(deals["Created Date"])
    closed_on = parse_dates(deals["Close Date"])
    is_closed = deals["Stage"].isin(["Closed Won", "Closed Lost"])

    assert created.notna().all()
    assert created.between(synth.HISTORY_START, synth.EXPORT_DATE).all()
    assert (closed_on[is_closed] >= created[is_closed]).all()
    assert (closed_on[is_closed] <= synth.EXPORT_DATE).all()
    assert closed_on[~is_closed].isna().all()
    assert deals.loc[~is_closed, "Stage"].isin(synth.OPEN_STAGES).all()
    assert summary.n_open == (~is_closed).sum()
    assert 0.08 <= summary.n_open / summary.n_deals <= 0.18


def test_probabilities_and_truth_columns(history_5k: tuple[Path, SynthSummary]) -> None:
    out_dir, _ = history_5k
    truth = pd.read_parquet(out_dir / "truth.parquet")
    for column in ("p_win", "p_regret", "p_good", "coverage"):
        assert truth[column].between(0.0, 1.0).all(), column
    np.testing.assert_allclose(truth["p_good"], truth["p_win"] * (1 - truth["p_regret"]))
    assert truth["true_driver"].isin(SIGNS).all()
    assert set(truth["true_driver"]) == set(SIGNS)
    # won is null exactly for open deals, regrettable exactly for deals not won.
    assert truth["regrettable"].notna().sum() == (truth["won"] == True).sum()  # noqa: E712
    assert not (truth["regret_visible"] & (truth["regrettable"] != True)).any()  # noqa: E712


def test_effects_point_the_right_way(deals_with_truth: pd.DataFrame) -> None:
    deals = deals_with_truth
    tenure = pd.to_numeric(deals["Incumbent Tenure (years)"])
    assert deals.loc[tenure >= 10, "effect_glass_walls"].mean() < -0.05
    assert deals.loc[deals["Incumbent Vendor"] == "", "effect_glass_walls"].mean() > 0
    assert deals.loc[deals["must_have_gap"], "effect_need_fit"].mean() < -0.05
    assert deals.loc[deals["icp"] < 0, "effect_icp_fit"].mean() < -0.05
    assert deals.loc[deals["icp"] > 1, "effect_icp_fit"].mean() > 0
    # Centred on population means, so effects average out near zero.
    for sign in (*SIGNS, "deal_context"):
        assert abs(deals[f"effect_{sign}"].mean()) < 0.05


def test_outcome_columns_match_the_truth(deals_with_truth: pd.DataFrame) -> None:
    deals = deals_with_truth
    won = deals["Stage"] == "Closed Won"
    assert (won == (deals["won"] == True)).all()  # noqa: E712
    not_won = deals.loc[~won, ["Churn Date", "Regret Flag", "Gross Margin %"]]
    assert (not_won == "").all().all()
    shown = (deals["Churn Date"] != "") | (deals["Regret Flag"] == "Y")
    assert (shown == deals["regret_visible"]).all()
    margin = pd.to_numeric(deals.loc[won, "Gross Margin %"])
    flagged = deals.loc[won, "Regret Flag"] == "Y"
    assert margin[flagged].between(-40, -5).all()
    assert margin[~flagged].between(5, 60).all()
    churned = deals["Churn Date"] != ""
    days_to_churn = parse_dates(deals["Churn Date"]) - parse_dates(deals["Close Date"])
    assert days_to_churn[churned].dt.days.between(30, 364).all()
    assert deals.loc[won & ~deals["regret_visible"], "Regret Flag"].isin(["", "N"]).all()


def test_win_and_regret_rates(history_20k: tuple[Path, SynthSummary]) -> None:
    out_dir, summary = history_20k
    truth = pd.read_parquet(out_dir / "truth.parquet")
    win_rate = summary.n_won / (summary.n_won + summary.n_lost)
    won = truth[truth["won"] == True]  # noqa: E712
    regret_rate = won["regrettable"].astype(bool).mean()
    assert 0.25 <= win_rate <= 0.35
    assert 0.20 <= regret_rate <= 0.30
    assert 0 < summary.n_regret_visible < won["regrettable"].astype(bool).sum()  # censoring


def test_the_mess_is_present(history_20k: tuple[Path, SynthSummary]) -> None:
    out_dir, _ = history_20k
    deals = read_raw(out_dir / "deals.csv")
    accounts = read_raw(out_dir / "accounts.csv")

    industry = accounts["Industry"]
    assert industry.isin(synth.INDUSTRIES).mean() > 0.8
    assert industry.str.isupper().any()
    assert (industry.str.istitle() & industry.str.lower().isin(synth.INDUSTRIES)).any()
    assert industry.str.endswith(" ").any()
    assert (industry == "").any()
    assert (accounts["Employees"] == "").any() and (accounts["Annual Revenue"] == "").any()
    assert (deals["Sales Region"].str.endswith(" ")).any()
    assert (deals["Lead Source"] == "").any()

    amount = pd.to_numeric(deals["Amount"])
    assert 0.005 < amount.isna().mean() < 0.04
    assert (amount > 50 * amount.median()).sum() > 0

    for column in ("Formal Tender", "Customisation Required", "Needs Defined"):
        spellings = set(deals[column])
        assert {"Yes", "No"} <= spellings
        assert spellings & {"Y", "N", "TRUE", "FALSE", "yes", "no"}
        assert spellings <= {"Yes", "No", "Y", "N", "TRUE", "FALSE", "yes", "no"}
    assert (deals["Decision Maker Access"] == "").any()
    assert ((deals["Must-Have Capabilities"] == "") & (deals["Required Capabilities"] != "")).any()
    no_incumbent = deals["Incumbent Vendor"] == ""
    assert (deals.loc[no_incumbent, "Incumbent Tenure (years)"] == "").all()
    no_tender = deals["Formal Tender"].isin(["No", "N", "FALSE", "no"])
    assert (deals.loc[no_tender, "Response Window (days)"] == "").all()


def test_must_haves_are_among_required_capabilities(
    history_5k: tuple[Path, SynthSummary],
) -> None:
    out_dir, _ = history_5k
    deals = read_raw(out_dir / "deals.csv")
    required = deals["Required Capabilities"].str.split("; ")
    must = deals["Must-Have Capabilities"].str.split("; ")
    for needed, musts in zip(required, must, strict=True):
        assert 1 <= len(needed) <= 5 and set(needed) <= set(synth.CAPABILITIES)
        assert musts == [""] or (set(musts) <= set(needed) and len(musts) <= 2)


def test_hard_coded_intercepts_match_the_reference_sample() -> None:
    reference = synth._simulate_history(synth.REFERENCE_DEALS, synth.REFERENCE_SEED)
    b0, c0 = synth._solve_intercepts(reference.win_terms, reference.regret_terms)
    assert b0 == pytest.approx(synth.B0, abs=1e-3)
    assert c0 == pytest.approx(synth.C0, abs=1e-3)


@settings(max_examples=10, deadline=None)
@given(n_deals=st.integers(50, 400), seed=st.integers(0, 2**32 - 1))
def test_small_histories_keep_every_row(n_deals: int, seed: int) -> None:
    with tempfile.TemporaryDirectory() as folder:
        summary = write_synthetic_history(Path(folder), n_deals=n_deals, seed=seed)
        deals = read_raw(Path(folder) / "deals.csv")
        truth = pd.read_parquet(Path(folder) / "truth.parquet")
        accounts = read_raw(Path(folder) / "accounts.csv")
    assert len(deals) == len(truth) == n_deals == summary.n_deals
    assert len(accounts) == summary.n_accounts == max(50, n_deals // 6)
    assert summary.n_open + summary.n_won + summary.n_lost == n_deals
    for column in ("p_win", "p_regret", "p_good"):
        assert truth[column].between(0.0, 1.0).all()


def test_rejects_an_empty_history(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="n_deals"):
        write_synthetic_history(tmp_path, n_deals=0)


def test_open_deals_truth_is_given_their_age(history_5k: tuple[Path, SynthSummary]) -> None:
    out_dir, _ = history_5k
    truth = pd.read_parquet(out_dir / "truth.parquet")
    open_deals = truth[truth["age_days"].notna()]
    closed = truth[truth["age_days"].isna()]
    assert len(open_deals) == truth["won"].isna().sum()
    # A closed deal's truth is its chance at creation; an open one's is given its age.
    np.testing.assert_allclose(closed["p_win"], closed["p_win_at_creation"])
    np.testing.assert_allclose(
        synth.p_win_at_age(open_deals, open_deals["age_days"]), open_deals["p_win"]
    )
    np.testing.assert_allclose(
        synth.p_win_at_age(truth, np.zeros(len(truth))), truth["p_win_at_creation"]
    )
    # Losses are slow, so the longer a deal has been open the less likely it is to win...
    young = open_deals["age_days"] < 30
    old = open_deals["age_days"] > 90
    assert open_deals.loc[old, "p_win"].mean() < 0.5 * open_deals.loc[young, "p_win"].mean()
    # ... and the truth given the age is calibrated: open deals win as often as it says.
    for band in (young, old, open_deals["age_days"].notna()):
        won = open_deals.loc[band, "won_eventually"].astype(float)
        standard_error = np.sqrt(won.mean() * (1 - won.mean()) / len(won))
        assert abs(won.mean() - open_deals.loc[band, "p_win"].mean()) < 3 * standard_error + 0.01
    # Closed deals show their eventual outcome.
    assert (closed["won"] == closed["won_eventually"]).all()


def test_a_stage_history_is_optional_and_changes_nothing_else(tmp_path: Path) -> None:
    plain = tmp_path / "plain"
    staged = tmp_path / "staged"
    synth.write_synthetic_history(plain, n_deals=1500, seed=5)
    synth.write_synthetic_history(staged, n_deals=1500, seed=5, stage_history=True)
    assert not (plain / "stage_history.csv").exists()
    for name in ("accounts.csv", "products.csv"):
        assert (plain / name).read_bytes() == (staged / name).read_bytes()
    pd.testing.assert_frame_equal(
        pd.read_parquet(plain / "truth.parquet"), pd.read_parquet(staged / "truth.parquet")
    )
    before = pd.read_csv(plain / "deals.csv", dtype=str, keep_default_na=False)
    after = pd.read_csv(staged / "deals.csv", dtype=str, keep_default_na=False)
    is_open = ~after["Stage"].str.startswith("Closed")
    pd.testing.assert_frame_equal(before.drop(columns="Stage"), after.drop(columns="Stage"))
    assert (before.loc[~is_open, "Stage"] == after.loc[~is_open, "Stage"]).all()

    history = pd.read_csv(staged / "stage_history.csv", dtype=str)
    assert set(history["Opportunity ID"]) == set(after["Opportunity ID"])
    last = history.groupby("Opportunity ID", sort=False).last()
    deals = after.set_index("Opportunity ID")
    # An open deal is in the stage its history reached; a closed one ends with its close.
    open_ids = deals.index[is_open.to_numpy()]
    assert (last.loc[open_ids, "Stage"] == deals.loc[open_ids, "Stage"]).all()
    closed = deals.index[~is_open.to_numpy()]
    assert (last.loc[closed, "Stage"] == deals.loc[closed, "Stage"]).all()
    assert (last.loc[closed, "Changed Date"] == deals.loc[closed, "Close Date"]).all()
    day = pd.to_datetime(history["Changed Date"], format="%d/%m/%Y")
    created = pd.to_datetime(
        deals.loc[history["Opportunity ID"], "Created Date"], format="%d/%m/%Y"
    )
    assert (day.to_numpy() >= created.to_numpy()).all() and day.max() <= synth.EXPORT_DATE
