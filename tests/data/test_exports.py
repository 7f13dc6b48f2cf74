"""Tests of reading exports from disk (walkaway.data.exports), on hand-written and synthetic files."""

from __future__ import annotations

import shutil
from pathlib import Path

import pandas as pd
import pytest

from walkaway.data.contracts import ContractError
from walkaway.data.exports import load_history, resolve_mapping
from walkaway.data.mapping_files import load_mapping
from walkaway.data.synth import EXPORT_DATE, write_synthetic_history

CANONICAL_DEALS = (
    "deal_id,account_id,created_date,closed_date,amount,outcome,region\n"
    "D1,A1,2024-01-05,2024-03-01,1000,won, EMEA\n"
    "D2,A2,2024-02-01,2024-04-01,2000,lost,emea\n"
    "D3,A1,2024-05-01,,1500,open,Latam\n"
)
CANONICAL_ACCOUNTS = "account_id,industry,employees\nA1,Retail ,120\nA2,logistics,\n"


@pytest.fixture(scope="module")
def synthetic_export(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A synthetic export of 600 deals (seed 7: its latest date is the synth's export date)."""
    folder = tmp_path_factory.mktemp("synthetic-export")
    write_synthetic_history(folder, n_deals=600, seed=7)
    return folder


@pytest.fixture(scope="module")
def synthetic_history(synthetic_export: Path):
    return load_history(synthetic_export)


def canonical_export(folder: Path, accounts: bool = True) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "deals.csv").write_text(CANONICAL_DEALS, encoding="utf-8")
    if accounts:
        (folder / "accounts.csv").write_text(CANONICAL_ACCOUNTS, encoding="utf-8")
    return folder


# --------------------------------------------------------------------------- resolve_mapping


def test_resolve_mapping_prefers_given_then_beside_then_detected(
    tmp_path: Path, synthetic_export: Path
) -> None:
    assert resolve_mapping(synthetic_export, None).name == "synthetic-crm"
    assert resolve_mapping(synthetic_export / "deals.csv", None).name == "synthetic-crm"

    canonical = canonical_export(tmp_path / "canonical")
    assert resolve_mapping(canonical, None).name == "canonical"
    assert resolve_mapping(canonical, "synthetic-crm").name == "synthetic-crm"

    (canonical / "mapping.yaml").write_text(
        "name: beside\ntables:\n  deals:\n    columns: {deal_id: deal_id}\n", encoding="utf-8"
    )
    assert resolve_mapping(canonical, None).name == "beside"
    assert resolve_mapping(canonical / "deals.csv", None).name == "beside"
    assert resolve_mapping(canonical, "synthetic-crm").name == "synthetic-crm"


def test_resolve_mapping_says_why_and_prefers_the_models_own_to_any_found(
    tmp_path: Path, synthetic_export: Path
) -> None:
    detected = resolve_mapping(synthetic_export, None)
    assert detected.chosen_because.startswith("detected: the deals file has its columns (")
    canonical = canonical_export(tmp_path / "canonical")
    assert "no shipped mapping matches" in resolve_mapping(canonical, None).chosen_because
    remembered = load_mapping("maven-crm")
    chosen = resolve_mapping(canonical, None, remembered)
    assert chosen == remembered
    assert chosen.chosen_because == "the mapping the model was trained with"
    (canonical / "mapping.yaml").write_text(
        "name: beside\ntables:\n  deals:\n    columns: {deal_id: deal_id}\n", encoding="utf-8"
    )
    chosen = resolve_mapping(canonical, None, remembered)
    assert chosen.name == "maven-crm" and "mapping.yaml beside the export differs" in (
        chosen.chosen_because
    )
    given = resolve_mapping(canonical, "synthetic-crm", remembered)
    assert (given.name, given.chosen_because) == ("synthetic-crm", "given with --mapping")


def test_resolve_mapping_of_an_unknown_name(tmp_path: Path) -> None:
    with pytest.raises(ContractError, match=r"no such mapping \(shipped: .*synthetic-crm\)"):
        resolve_mapping(canonical_export(tmp_path / "x"), "salesforce")


# --------------------------------------------------------------------------- load_history


def test_load_history_of_the_synthetic_export_types_every_column(synthetic_history) -> None:
    deals = synthetic_history.deals
    assert synthetic_history.mapping.name == "synthetic-crm"
    assert len(deals) == 600
    assert deals.index[0] == 2, "rows keep their spreadsheet numbers"
    assert deals["deal_id"].is_unique
    assert deals["deal_id"].iloc[0] == "OPP-0000001"
    for column in ("created_date", "closed_date", "churn_date"):
        assert pd.api.types.is_datetime64_any_dtype(deals[column]), column
    for column in ("amount", "competitor_count", "margin", "incumbent_tenure_years"):
        assert deals[column].dtype == float, column
    assert set(deals["outcome"]) == {"won", "lost", "open"}
    assert deals["created_date"].notna().all()
    closed = deals["outcome"].isin(["won", "lost"])
    assert deals.loc[closed, "closed_date"].notna().all()
    assert (deals.loc[closed, "closed_date"] >= deals.loc[closed, "created_date"]).all()
    regions = set(deals["region"].dropna())
    assert regions == {"apac", "emea", "north america", "latam"}
    for column in ("region", "owner", "product", "lead_source", "deal_type", "stage"):
        values = deals[column].dropna()
        assert (values == values.str.strip().str.lower()).all(), column
    assert set(deals["formal_tender"].dropna()) <= {True, False}
    assert (deals["amount"].dropna() >= 0).all()


def test_load_history_reads_accounts_products_and_the_export_date(synthetic_history) -> None:
    history = synthetic_history
    assert history.export_date == pd.Timestamp("2025-12-31") == EXPORT_DATE
    accounts, products = history.accounts, history.products
    assert accounts is not None and products is not None
    assert len(accounts) == 100  # max(50, 600 // 6)
    assert accounts["account_id"].is_unique
    assert accounts["employees"].dtype == float
    assert set(products["product"]) == {"lite", "core", "field", "finance", "pro", "enterprise"}
    assert history.catalogue()["lite"] == "forecasting; inventory"


def test_deal_frame_joins_the_accounts_industry(synthetic_history) -> None:
    history = synthetic_history
    frame = history.deal_frame()
    assert frame.index.equals(history.deals.index)
    assert "industry" in frame and "employees" in frame
    industry = history.accounts.set_index("account_id")["industry"]
    expected = history.deals["account_id"].map(industry)
    pd.testing.assert_series_equal(
        frame["industry"], expected, check_names=False, check_dtype=False
    )
    assert frame["industry"].notna().mean() > 0.8
    assert "account_name" not in frame


def test_load_history_stops_at_the_first_bad_row(tmp_path: Path, synthetic_export: Path) -> None:
    folder = tmp_path / "broken"
    shutil.copytree(synthetic_export, folder)
    lines = (folder / "deals.csv").read_text(encoding="utf-8").splitlines()
    header = lines[0].split(",")
    cells = lines[9].split(",")  # spreadsheet row 10
    cells[header.index("Created Date")] = "2024-02-30"
    lines[9] = ",".join(cells)
    (folder / "deals.csv").write_text("\n".join(lines) + "\n", encoding="utf-8")
    with pytest.raises(ContractError) as raised:
        load_history(folder)
    assert str(raised.value) == (
        "deals.csv, row 10, column 'Created Date': unparseable date (expected %d/%m/%Y): "
        "'2024-02-30'"
    )


def test_load_history_of_a_canonical_folder_and_of_a_lone_deals_file(tmp_path: Path) -> None:
    folder = canonical_export(tmp_path / "export")
    history = load_history(folder)
    assert history.mapping.name == "canonical"
    assert history.products is None
    assert history.accounts["industry"].tolist() == ["retail", "logistics"]
    assert history.deals["region"].tolist() == ["emea", "emea", "latam"]
    assert history.export_date == pd.Timestamp("2024-05-01")
    assert history.deal_frame()["industry"].tolist() == ["retail", "logistics", "retail"]

    beside = load_history(folder / "deals.csv")  # the sibling tables are read too
    assert beside.accounts["account_id"].tolist() == ["A1", "A2"]

    (tmp_path / "lone").mkdir()
    lone_file = tmp_path / "lone" / "my-deals.csv"
    shutil.copy(folder / "deals.csv", lone_file)
    lone = load_history(lone_file)
    assert lone.accounts is None
    assert lone.deals["deal_id"].tolist() == ["D1", "D2", "D3"]
    assert lone.source == str(lone_file)


def test_load_history_of_a_bad_accounts_file_names_it(tmp_path: Path) -> None:
    folder = canonical_export(tmp_path / "export")
    (folder / "accounts.csv").write_text("account_id,employees\nA1,many\n", encoding="utf-8")
    with pytest.raises(ContractError) as raised:
        load_history(folder)
    assert str(raised.value) == "accounts.csv, row 2, column 'employees': not a number: 'many'"


def test_load_history_of_a_missing_path(tmp_path: Path) -> None:
    with pytest.raises(ContractError, match=r"^gone: not found: "):
        load_history(tmp_path / "gone")


def test_the_salesforce_example_reads_through_the_shipped_mapping() -> None:
    folder = Path(__file__).resolve().parents[2] / "examples" / "salesforce"
    history = load_history(folder)
    assert history.mapping.name == "salesforce-opportunity"
    deals = history.deal_frame()
    raw = pd.read_csv(folder / "Opportunity.csv")
    assert len(deals) == len(raw)
    assert deals["outcome"].value_counts().to_dict() == {
        "lost": int((raw["StageName"] == "Closed Lost").sum()),
        "won": int((raw["StageName"] == "Closed Won").sum()),
        "open": int((~raw["StageName"].str.startswith("Closed")).sum()),
    }
    # CreatedDate is a UTC timestamp: read as a plain (UTC) time, comparable with CloseDate
    assert deals["created_date"].dt.tz is None and deals["created_date"].notna().all()
    assert (
        deals["closed_date"].dropna()
        >= deals.loc[deals["closed_date"].notna(), "created_date"].dt.normalize()
    ).all()
    assert deals["industry"].notna().all() and "x_billingcountry" in deals


def test_the_salesforce_example_folds_its_opportunity_history_into_each_deal(
    tmp_path: Path,
) -> None:
    folder = Path(__file__).resolve().parents[2] / "examples" / "salesforce"
    history = load_history(folder)
    raw = pd.read_csv(folder / "OpportunityHistory.csv")
    deals = history.deals.set_index("deal_id")
    assert deals["stage_history"].notna().all()
    one = raw[raw["OpportunityId"] == raw["OpportunityId"].iloc[0]]
    events = deals.loc[one["OpportunityId"].iloc[0], "stage_history"].split(";")
    assert len(events) == len(one)
    assert events[0].split("|")[1] == "prospecting"  # the stage, normalised as categories are
    # A history row for a deal the export does not hold is left out, and said so.
    import shutil

    copy = tmp_path / "salesforce"
    shutil.copytree(folder, copy)
    extra = one.head(1).assign(OpportunityId="006Dn9999999999AAA")
    pd.concat([raw, extra]).to_csv(copy / "OpportunityHistory.csv", index=False)
    notes = load_history(copy).notes
    assert any(
        "OpportunityHistory.csv: 1 of" in note and "006Dn9999999999AAA" in note for note in notes
    )


# --------------------------------------------------------------------------- date formats

US_DEALS = (
    "deal_id,created_date,closed_date,amount,outcome\n"
    "D1,01/05/2024,03/01/2024,1000,won\n"
    "D2,02/01/2024,04/25/2024,2000,lost\n"
    "D3,05/01/2024,05/20/2024,1500,won\n"
    "D4,05/13/2024,,1500,open\n"
)


def test_us_dates_under_a_day_first_mapping_are_refused_not_half_swapped(tmp_path: Path) -> None:
    (tmp_path / "deals.csv").write_text(US_DEALS, encoding="utf-8")
    (tmp_path / "mapping.yaml").write_text(
        'name: us\ndate_format: "%d/%m/%Y"\ntables: {deals: {file: deals.csv, columns: '
        "{deal_id: deal_id, created_date: created_date, closed_date: closed_date, "
        "amount: amount, outcome: outcome}}}\n",
        encoding="utf-8",
    )
    with pytest.raises(ContractError) as error:
        load_history(tmp_path)
    message = str(error.value)
    assert "deals.csv" in message and "'created_date'" in message
    assert "every one parses as %m/%d/%Y" in message
    assert "set date_format: '%m/%d/%Y'" in message


def test_month_first_dates_are_inferred_when_the_mapping_gives_no_format(tmp_path: Path) -> None:
    (tmp_path / "deals.csv").write_text(US_DEALS, encoding="utf-8")
    deals = load_history(tmp_path).deals.set_index("deal_id")
    assert deals.loc["D2", "closed_date"] == pd.Timestamp("2024-04-25")
    assert deals.loc["D1", "created_date"] == pd.Timestamp("2024-01-05")


def test_ambiguous_dates_are_read_day_first_and_the_notes_say_so(tmp_path: Path) -> None:
    (tmp_path / "deals.csv").write_text(
        "deal_id,created_date,closed_date,amount,outcome\nD1,01/05/2024,03/06/2024,1,won\n",
        encoding="utf-8",
    )
    history = load_history(tmp_path)
    assert history.deals["closed_date"].iloc[0] == pd.Timestamp("2024-06-03")
    assert any("month first" in note for note in history.notes)
