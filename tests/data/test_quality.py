"""Tests of the data-quality report (walkaway.data.quality) on real files: a clean synthetic export, a
messy copy of it, small hand-written exports, and the public exports in ../shared/data when a
clone sits beside them."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from tests.shared_data import IBM_EXPORT, MAVEN, needs
from walkaway.data.contracts import ContractError
from walkaway.data.quality import QualityReport, assess_export
from walkaway.data.quality_tables import quality_tables
from walkaway.data.synth import write_synthetic_history

MAVEN_EXPORT = MAVEN
needs_ibm = needs(IBM_EXPORT)
needs_maven = needs(MAVEN / "sales_pipeline.csv")

SYNTHETIC_DEALS = 2000
POST_OUTCOME = {"Churn Date", "Regret Flag", "Gross Margin %"}  # the synthetic-crm mapping's
NOT_CANDIDATES = {"Opportunity ID", "Account ID", "Created Date", "Close Date", "Stage"}
CLOSED_STAGES = ("Closed Won", "Closed Lost")


def read_text_csv(path: Path) -> pd.DataFrame:
    """A CSV exactly as written: every value text, empty cells as ''."""
    return pd.read_csv(path, dtype=str, keep_default_na=False)


def leak_row(report: QualityReport, column: str) -> pd.Series:
    table = report.suspected_leaks.set_index("export_column")
    assert column in table.index, f"{column!r} is not in the leak table"
    return table.loc[column]


# --------------------------------------------------------------------------- clean export


@pytest.fixture(scope="module")
def clean_export(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("clean-export")
    write_synthetic_history(folder, SYNTHETIC_DEALS, seed=11)
    return folder


@pytest.fixture(scope="module")
def clean_report(clean_export: Path) -> QualityReport:
    return assess_export(clean_export)


def test_clean_export_keeps_the_contract(clean_report: QualityReport, clean_export: Path) -> None:
    assert clean_report.mapping.startswith(
        "synthetic-crm (detected: the deals file has its columns"
    )
    assert clean_report.source == str(clean_export / "deals.csv")
    assert clean_report.rows == SYNTHETIC_DEALS
    assert clean_report.problems == []
    assert clean_report.rejected_rows == 0
    assert clean_report.exact_duplicates == 0
    assert clean_report.conflicting_duplicates == 0


def test_clean_counts_match_the_stage_column(
    clean_report: QualityReport, clean_export: Path
) -> None:
    stage = read_text_csv(clean_export / "deals.csv")["Stage"]
    assert clean_report.won == (stage == "Closed Won").sum()
    assert clean_report.lost == (stage == "Closed Lost").sum()
    assert clean_report.closed == stage.isin(CLOSED_STAGES).sum()
    assert clean_report.open == (~stage.isin(CLOSED_STAGES)).sum()
    assert clean_report.won + clean_report.lost + clean_report.open == SYNTHETIC_DEALS


def test_clean_date_range_and_missing_values(
    clean_report: QualityReport, clean_export: Path
) -> None:
    raw = read_text_csv(clean_export / "deals.csv")
    created = pd.to_datetime(raw["Created Date"], format="%d/%m/%Y")
    closed = pd.to_datetime(raw["Close Date"], format="%d/%m/%Y", errors="coerce")
    assert clean_report.first_created == created.min()
    assert clean_report.last_created == created.max()
    assert clean_report.last_closed == closed.max()

    missing = clean_report.missing.set_index("column")
    assert missing.loc["amount", "export_column"] == "Amount"
    assert missing.loc["amount", "missing"] == (raw["Amount"] == "").sum() > 0
    assert missing.loc["amount", "share"] == pytest.approx((raw["Amount"] == "").mean())
    assert missing.loc["deal_id", "missing"] == 0
    assert clean_report.missing["missing"].is_monotonic_decreasing


def test_clean_export_flags_only_its_declared_post_outcome_columns(
    clean_report: QualityReport,
) -> None:
    leaks = clean_report.suspected_leaks
    assert not set(leaks["export_column"]) & NOT_CANDIDATES, "ids, dates, outcome are no leaks"
    assert "Churn Date" not in set(leaks["export_column"]), "a date column is not a candidate"
    flagged = leaks[leaks["flagged"]]
    assert set(flagged["export_column"]) == POST_OUTCOME - {"Churn Date"}
    assert flagged["post_outcome"].all()
    assert flagged["auc"].isna().all(), "filled on won deals only: no AUC of their values"
    assert (flagged["note"] == "filled on won deals only").all()
    assert (leaks.loc[~leaks["flagged"], "auc"] < 0.9).all()
    assert leaks["auc"].notna().sum() >= 15, "the deal's features all get an AUC"
    assert not [n for n in clean_report.notes if "predicts the outcome" in n]


# --------------------------------------------------------------------------- messy export


@pytest.fixture(scope="module")
def messy(clean_export: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, object]:
    """A copy of the clean export with known mess, and where the mess is."""
    folder = tmp_path_factory.mktemp("messy-export")
    for name in ("accounts.csv", "products.csv"):
        shutil.copy(clean_export / name, folder / name)
    deals = read_text_csv(clean_export / "deals.csv")
    won = deals["Stage"].eq("Closed Won")
    deals["Close Value"] = np.where(won, deals["Amount"], "0")  # known only once won
    closed = deals.index[deals["Stage"].isin(CLOSED_STAGES)]
    bad_date, negative = closed[0], closed[1]
    deals.loc[bad_date, "Created Date"] = "31/31/2023"
    deals.loc[negative, "Amount"] = "-500"
    copies = deals.loc[closed[2:5]]
    conflicting = deals.loc[[closed[5], closed[5]]].assign(Amount=["123", "456"])
    pd.concat([deals, copies, conflicting]).to_csv(folder / "deals.csv", index=False)
    return {
        "folder": folder,
        "deals": read_text_csv(folder / "deals.csv"),
        "bad_date_row": int(bad_date) + 2,  # spreadsheet rows: the header is row 1
        "negative_row": int(negative) + 2,
    }


@pytest.fixture(scope="module")
def messy_report(messy: dict[str, object]) -> QualityReport:
    return assess_export(messy["folder"])


def test_messy_export_lists_every_problem_by_row(
    messy_report: QualityReport, messy: dict[str, object]
) -> None:
    assert messy_report.rows == SYNTHETIC_DEALS + 5
    found = [(p.row, p.column, p.rule, p.value) for p in messy_report.problems]
    assert found == [
        (
            messy["bad_date_row"],
            "Created Date",
            "unparseable date (expected %d/%m/%Y)",
            "31/31/2023",
        ),
        (messy["negative_row"], "Amount", "must be >= 0", "-500.0"),
    ]
    assert messy_report.rejected_rows == 2
    assert any(note.startswith("2 of 2,005 rows break the contract") for note in messy_report.notes)


def test_messy_counts_leave_out_rejected_rows_but_keep_duplicates(
    messy_report: QualityReport, messy: dict[str, object]
) -> None:
    deals = messy["deals"]
    kept = deals.drop(index=[messy["bad_date_row"] - 2, messy["negative_row"] - 2])
    assert messy_report.won == (kept["Stage"] == "Closed Won").sum()
    assert messy_report.lost == (kept["Stage"] == "Closed Lost").sum()
    assert messy_report.open == (~kept["Stage"].isin(CLOSED_STAGES)).sum()
    assert messy_report.closed + messy_report.open == len(deals) - 2


def test_messy_duplicates_are_told_apart(messy_report: QualityReport) -> None:
    assert messy_report.exact_duplicates == 3
    assert messy_report.conflicting_duplicates == 3, "the original and its two variants"
    notes = " | ".join(messy_report.notes)
    assert "3 rows are exact duplicates of earlier rows" in notes
    assert "3 rows share a deal id with a different row (1 id)" in notes


def test_messy_leaky_column_is_flagged(messy_report: QualityReport) -> None:
    close_value = leak_row(messy_report, "Close Value")
    assert close_value["auc"] >= 0.97
    assert close_value["flagged"]
    assert not close_value["post_outcome"]
    assert close_value["mapped_to"] == ""
    assert close_value["auc"] == messy_report.suspected_leaks["auc"].max()
    assert any(
        note.startswith("column 'Close Value' alone predicts the outcome (AUC 1.000)")
        and note.endswith("declare it post_outcome")
        for note in messy_report.notes
    )
    undeclared = messy_report.suspected_leaks.query("flagged and not post_outcome")
    assert undeclared["export_column"].tolist() == ["Close Value"]


def test_quality_tables_are_titled_text(
    messy_report: QualityReport, clean_report: QualityReport
) -> None:
    tables = quality_tables(messy_report)
    titles = [title for title, _ in tables]
    assert titles[0] == "Summary"
    assert "Contract problems by column and rule" in titles
    assert titles[-1].startswith("Suspected leaks")
    for _, frame in tables:
        assert len(frame) > 0
        assert all(isinstance(cell, str) for cell in frame.to_numpy().ravel())
    problems = dict(tables)["Contract problems by column and rule"]
    assert problems[["column", "problems"]].values.tolist() == [
        ["Created Date", "1"],
        ["Amount", "1"],
    ]
    summary = dict(tables)["Summary"].set_index("measure")["value"]
    assert summary["exact duplicate rows"] == "3"
    assert "Contract problems by column and rule" not in dict(quality_tables(clean_report))


# --------------------------------------------------------------------------- hand-written


NO_DATES_MAPPING = """\
name: no-dates
tables:
  deals:
    file: deals.csv
    columns: {deal_id: Id, outcome: Result, amount: Amount}
    values:
      outcome: {Won: won, Loss: lost, Open: open}
"""


def write_no_dates_export(folder: Path, deals: int = 60, dates_none: bool = True) -> Path:
    """A deals file without dates, and a mapping beside it (saying ``dates: none`` when asked
    and supported)."""
    rng = np.random.default_rng(5)
    frame = pd.DataFrame(
        {
            "Id": [f"D{i}" for i in range(deals)],
            "Result": rng.choice(["Won", "Loss"], deals),
            "Amount": rng.integers(1, 100, deals).astype(str),
            "Segment": rng.choice(["smb", "mid", "ent"], deals),
            "Note": [f"free text {i}" for i in range(deals)],
        }
    )
    folder.mkdir(parents=True, exist_ok=True)
    frame.to_csv(folder / "deals.csv", index=False)
    declared = "dates: none\n" if dates_none else ""
    (folder / "mapping.yaml").write_text(declared + NO_DATES_MAPPING, encoding="utf-8")
    return folder


def test_a_mapping_without_dates_that_does_not_say_so_is_a_contract_error(tmp_path: Path) -> None:
    folder = write_no_dates_export(tmp_path / "export", dates_none=False)
    with pytest.raises(
        ContractError, match=r"missing required column .*'created_date', 'closed_date'"
    ):
        assess_export(folder)


def test_an_export_declared_without_dates_is_assessed(tmp_path: Path) -> None:
    report = assess_export(write_no_dates_export(tmp_path / "export"))
    assert report.mapping.startswith("no-dates (")
    assert report.rows == 60 and report.rejected_rows == 0
    assert report.problems == []
    assert report.first_created is None and report.last_created is None
    assert report.last_closed is None
    assert report.won + report.lost == 60 and report.open == 0
    assert "no dates: a time-ordered holdout is impossible" in report.notes
    assert "no open deals: nothing in this export to score" in report.notes
    note = leak_row(report, "Note")
    assert note["kind"] == "id-like" and np.isnan(note["auc"])
    assert note["note"].startswith("id-like")
    assert 0.5 <= leak_row(report, "Segment")["auc"] < 0.97
    summary = dict(quality_tables(report))["Summary"].set_index("measure")["value"]
    assert summary["first created"] == "no dates"


def test_an_export_with_creation_dates_only_checks_them(tmp_path: Path) -> None:
    (tmp_path / "deals.csv").write_text(
        "Id,Created,Result,Amount\nD1,2024-01-02,Won,5\nD2,,Lost,6\nD3,2024-02-30,Open,7\n",
        encoding="utf-8",
    )
    (tmp_path / "mapping.yaml").write_text(
        "dates: none\ntables:\n  deals:\n    columns: {deal_id: Id, created_date: Created, "
        "outcome: Result, amount: Amount}\n",
        encoding="utf-8",
    )
    report = assess_export(tmp_path / "deals.csv")
    assert [(p.row, p.column) for p in report.problems] == [(3, "Created"), (4, "Created")], (
        "a won deal without a close date is no problem when the export has none"
    )
    assert report.problems[1].rule == "unparseable date (expected yyyy-mm-dd)"
    assert (report.won, report.lost, report.open) == (1, 0, 0)
    assert report.first_created == pd.Timestamp("2024-01-02")
    assert report.last_closed is None
    assert "no close dates: a time-ordered holdout is impossible" in report.notes
    assert any("training needs at least 40 won and 40 lost" in n for n in report.notes)


def test_a_header_only_file_is_reported_not_crashed(tmp_path: Path) -> None:
    (tmp_path / "deals.csv").write_text(
        "deal_id,account_id,created_date,closed_date,amount,outcome\n"
    )
    folder = tmp_path
    report = assess_export(folder)
    assert report.rows == 0
    assert any("no rows" in p.rule for p in report.problems)
    assert report.suspected_leaks["auc"].isna().all()


def test_a_mapped_column_the_file_lacks_is_a_contract_error(
    clean_export: Path, tmp_path: Path
) -> None:
    deals = read_text_csv(clean_export / "deals.csv").drop(columns=["Created Date"])
    deals.to_csv(tmp_path / "deals.csv", index=False)
    with pytest.raises(ContractError, match=r"missing required column 'Created Date'"):
        assess_export(tmp_path / "deals.csv", "synthetic-crm")


def test_no_deal_id_or_outcome_is_a_contract_error(tmp_path: Path) -> None:
    folder = write_no_dates_export(tmp_path / "export")
    (folder / "mapping.yaml").write_text(
        "tables:\n  deals:\n    columns: {outcome: Result}\n", encoding="utf-8"
    )
    with pytest.raises(ContractError, match=r"missing required column 'deal_id'"):
        assess_export(folder)


def test_unreadable_or_absent_exports_are_contract_errors(tmp_path: Path) -> None:
    folder = write_no_dates_export(tmp_path / "export")
    (folder / "deals.csv").write_bytes(b"PK\x03\x04\x00\x00binary")
    with pytest.raises(ContractError, match="not a CSV text file"):
        assess_export(folder)
    with pytest.raises(ContractError, match="not found"):
        assess_export(tmp_path / "nowhere")


# --------------------------------------------------------------------------- public exports


IBM_MAPPING = """\
name: ibm-sales-win-loss
dates: none
tables:
  deals:
    file: WA_Fn-UseC_-Sales-Win-Loss.csv.gz
    columns:
      deal_id: Opportunity Number
      outcome: Opportunity Result
      amount: Opportunity Amount USD
    values:
      outcome: {Won: won, Loss: lost}
"""
PROCESS_COLUMNS = {  # describe the finished sales process: single-column AUC at least
    "Elapsed Days In Sales Stage": 0.60,
    "Sales Stage Change Count": 0.55,
    "Total Days Identified Through Closing": 0.70,
    "Total Days Identified Through Qualified": 0.70,
    "Ratio Days Identified To Total Days": 0.60,
}


@pytest.fixture(scope="module")
def ibm_mapping(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A minimal canonical mapping of the IBM export, written by hand."""
    mapping = tmp_path_factory.mktemp("ibm-mapping") / "ibm.yaml"
    mapping.write_text(IBM_MAPPING, encoding="utf-8")
    return mapping


@pytest.fixture(scope="module")
def ibm_report(ibm_mapping: Path) -> QualityReport:
    return assess_export(IBM_EXPORT, ibm_mapping)


@needs_ibm
def test_ibm_export_without_dates_needs_a_mapping_saying_so(ibm_mapping: Path) -> None:
    undeclared = ibm_mapping.with_name("undeclared.yaml")
    undeclared.write_text(IBM_MAPPING.replace("dates: none\n", ""), encoding="utf-8")
    with pytest.raises(ContractError, match=r"missing required column .*'created_date'"):
        assess_export(IBM_EXPORT, undeclared)


@needs_ibm
def test_ibm_export_published_facts(ibm_report: QualityReport) -> None:
    assert ibm_report.rows == 78_025
    assert ibm_report.exact_duplicates == 55
    assert (ibm_report.won, ibm_report.lost, ibm_report.open) == (17_627, 60_398, 0)
    assert ibm_report.problems == [] and ibm_report.rejected_rows == 0
    # 196 rows repeat an earlier Opportunity Number: 55 exact copies, and 141 variants that
    # with the 137 rows they repeat make 278 rows of conflicting duplicates.
    assert ibm_report.conflicting_duplicates == 278
    assert ibm_report.first_created is None and ibm_report.last_closed is None
    assert "no dates: a time-ordered holdout is impossible" in ibm_report.notes
    assert "no open deals: nothing in this export to score" in ibm_report.notes


@needs_ibm
def test_ibm_process_columns_predict_the_outcome(ibm_report: QualityReport) -> None:
    leaks = ibm_report.suspected_leaks.set_index("export_column")
    assert len(leaks) == 17, "19 columns less the id and the outcome"
    for column, at_least in PROCESS_COLUMNS.items():
        assert leaks.loc[column, "auc"] >= at_least, column
    assert leaks.index[0] in PROCESS_COLUMNS, "the strongest single column is a process one"
    assert not leaks["flagged"].any(), "none is declared, and none alone reaches 0.97"


MAVEN_MAPPING = """\
name: maven-crm
tables:
  deals:
    file: sales_pipeline.csv
    columns: {deal_id: opportunity_id, account_id: account, created_date: engage_date,
              closed_date: close_date, amount: close_value, outcome: deal_stage,
              owner: sales_agent, product: product}
    values:
      outcome: {Won: won, Lost: lost, Engaging: open, Prospecting: open}
"""


@needs_maven
def test_maven_export_facts(tmp_path: Path) -> None:
    mapping = tmp_path / "maven.yaml"
    mapping.write_text(MAVEN_MAPPING, encoding="utf-8")
    report = assess_export(MAVEN_EXPORT, mapping)
    assert report.rows == 8_800
    assert (report.won, report.lost) == (4_238, 2_473)
    # The 500 Prospecting deals have no engage_date: whether an open deal needs one is the
    # contract's call; either way each is counted once, as open or as rejected.
    assert {p.column for p in report.problems} <= {"engage_date"}
    assert report.open + report.rejected_rows == 1_589 + 500
    assert report.exact_duplicates == report.conflicting_duplicates == 0
    assert report.last_closed == pd.Timestamp("2017-12-31")
    close_value = leak_row(report, "close_value")
    assert close_value["flagged"] and close_value["auc"] >= 0.97
    assert close_value["mapped_to"] == "amount"


def test_missing_values_cover_extra_features_and_the_accounts_file(tmp_path: Path) -> None:
    (tmp_path / "deals.csv").write_text(
        "Id,Account,Created,Closed,Stage,Rival\n"
        "D1,A1,2024-01-01,2024-02-01,won,\n"
        "D2,A2,2024-01-05,2024-03-01,lost,Acme\n",
        encoding="utf-8",
    )
    (tmp_path / "accounts.csv").write_text("Acct,Sector\nA1,\nA2,\n", encoding="utf-8")
    (tmp_path / "mapping.yaml").write_text(
        "name: m\ntables:\n"
        "  deals: {file: deals.csv, columns: {deal_id: Id, account_id: Account, created_date: "
        "Created, closed_date: Closed, outcome: Stage}, features: {Rival: glass_walls}}\n"
        "  accounts: {file: accounts.csv, columns: {account_id: Acct, industry: Sector}}\n",
        encoding="utf-8",
    )
    missing = assess_export(tmp_path).missing.set_index(["file", "export_column"])
    assert missing.loc[("accounts.csv", "Sector"), "missing"] == 2
    assert missing.loc[("deals.csv", "Rival"), "missing"] == 1
    assert missing.loc[("deals.csv", "Id"), "missing"] == 0


def test_an_export_without_an_id_column_is_assessed(tmp_path: Path) -> None:
    (tmp_path / "deals.csv").write_text(
        "Result;Size\nWon;1,5\nLost;2,25\nWon;1,5\n", encoding="utf-8"
    )
    (tmp_path / "mapping.yaml").write_text(
        "name: q\ndates: none\ntables:\n  deals: {file: deals.csv, columns: "
        "{deal_id: row_number, outcome: Result}, features: {Size: deal_context}}\n",
        encoding="utf-8",
    )
    report = assess_export(tmp_path)
    assert (report.won, report.lost) == (2, 1)
    assert report.conflicting_duplicates == 0  # row numbers never repeat
    assert any("semicolon-separated" in note for note in report.notes)


def test_validate_fails_whenever_training_would_fail(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from walkaway import jobs

    folder = tmp_path / "export"
    write_synthetic_history(folder, n_deals=600, seed=4)
    assert jobs.validate_job(folder).refusals == []

    def broken(*args: object, **kwargs: object) -> None:
        raise KeyError("amount")  # as training once failed on an export without amounts

    monkeypatch.setattr(jobs, "train_and_evaluate", broken)
    (refusal,) = jobs.validate_job(folder).refusals
    assert refusal.startswith("training failed on a sample of 600 deals (KeyError: 'amount')")
