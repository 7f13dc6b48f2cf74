"""Tests of the data contract (walkaway.data.contracts) and of the one-line errors bad input gives.

The CLI tests write a small export by hand with canonical column names, so the canonical
identity mapping reads it; every case fails while the export is checked, before any training.
"""

from __future__ import annotations

import csv
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from walkaway.cli import main
from walkaway.data.contracts import (
    ContractError,
    Problem,
    check_table,
)
from walkaway.errors import WalkawayError

CANONICAL_HEADER = ["deal_id", "account_id", "created_date", "closed_date", "amount", "outcome"]
GOOD_ROWS = [
    # spreadsheet row 2, 3, 4, 5
    ["D1", "A1", "2024-01-05", "2024-03-01", "1000", "won"],
    ["D2", "A2", "2024-02-01", "2024-04-01", "2000", "lost"],
    ["D3", "A1", "2024-03-10", "2024-06-15", "1500", "won"],
    ["D4", "A3", "2024-05-01", "", "3000", "open"],
]


def write_export(folder: Path, rows: list[list[str]], header: list[str] | None = None) -> Path:
    """deals.csv in ``folder``, written with the csv module (header = spreadsheet row 1)."""
    path = folder / "deals.csv"
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(header or CANONICAL_HEADER)
        writer.writerows(rows)
    return path


def with_cell(row_number: int, column: str, value: str) -> list[list[str]]:
    """GOOD_ROWS with one cell changed; ``row_number`` counts as a spreadsheet does."""
    rows = [list(r) for r in GOOD_ROWS]
    rows[row_number - 2][CANONICAL_HEADER.index(column)] = value
    return rows


def without_column(column: str) -> tuple[list[list[str]], list[str]]:
    keep = [i for i, c in enumerate(CANONICAL_HEADER) if c != column]
    return [[r[i] for i in keep] for r in GOOD_ROWS], [CANONICAL_HEADER[i] for i in keep]


def parquet_bytes(folder: Path) -> bytes:
    table = pa.table({"deal_id": ["D1", "D2"], "amount": [1.0, 2.0]})
    pq.write_table(table, folder / "real.parquet")
    return (folder / "real.parquet").read_bytes()


PNG_LIKE = (
    b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x10\x00\x00\x00\x10\x08\x06\x00\x00\x00"
)


def run_train(history: Path, tmp_path: Path) -> int:
    return main(["train", "--history", str(history), "--models-dir", str(tmp_path / "models")])


# name, how to write deals.csv, expected spreadsheet row (None: file-level), column, fragments
CLI_CASES = [
    ("missing_column", "missing:outcome", None, "outcome", ["missing required column 'outcome'"]),
    ("wrong_type", ("cell", 3, "amount", "abc"), 3, "amount", ["not a number", "'abc'"]),
    (
        "negative_amount",
        ("cell", 5, "amount", "-20"),
        5,
        "amount",
        ["must be >= 0"],
    ),
    (
        "unparseable_date",
        ("cell", 4, "created_date", "2024-13-45"),
        4,
        "created_date",
        ["unparseable date (expected yyyy-mm-dd)", "'2024-13-45'"],
    ),
    (
        "duplicate_deal_id",
        ("cell", 4, "deal_id", "D1"),
        2,
        "deal_id",
        ["duplicate value", "'D1'", "(and 1 more problem)"],
    ),
    (
        "unknown_outcome",
        ("cell", 3, "outcome", "maybe"),
        3,
        "outcome",
        ["must be one of won, lost, open", "'maybe'"],
    ),
    (
        "closed_before_created",
        ("cell", 3, "closed_date", "2023-01-01"),
        3,
        "closed_date",
        ["closed before it was created"],
    ),
    (
        "won_without_close_date",
        ("cell", 4, "closed_date", ""),
        4,
        "closed_date",
        ["a won or lost deal needs a close date"],
    ),
    ("empty_file", "empty", None, None, ["the file is empty"]),
    ("parquet_saved_as_csv", "parquet", None, None, ["not a CSV text file"]),
    ("binary_saved_as_csv", "png", None, None, ["not a CSV text file"]),
]


@pytest.mark.parametrize(
    ("how", "row", "column", "fragments"),
    [case[1:] for case in CLI_CASES],
    ids=[case[0] for case in CLI_CASES],
)
def test_bad_export_gives_one_line_error_naming_file_row_and_column(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    how: object,
    row: int | None,
    column: str | None,
    fragments: list[str],
) -> None:
    export = tmp_path / "export"
    export.mkdir()
    path = export / "deals.csv"
    if how == "empty":
        path.write_bytes(b"")
    elif how == "parquet":
        path.write_bytes(parquet_bytes(tmp_path))
    elif how == "png":
        path.write_bytes(PNG_LIKE)
    elif isinstance(how, str) and how.startswith("missing:"):
        rows, header = without_column(how.split(":")[1])
        write_export(export, rows, header)
    else:
        _, row_number, name, value = how
        write_export(export, with_cell(row_number, name, value))

    status = run_train(path, tmp_path)

    captured = capsys.readouterr()
    message = captured.err.strip()
    assert status == 1
    assert "\n" not in message, message
    assert message.startswith("walkaway: error: deals.csv")
    assert "Traceback" not in captured.err + captured.out
    for fragment in fragments:
        assert fragment in message, message
    if row is None:
        assert ", row " not in message
    else:
        assert f"deals.csv, row {row}, column '{column}'" in message
    assert not (tmp_path / "models").exists(), "failed input must stop before MLflow is touched"


def test_missing_history_path_is_one_line_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    status = run_train(tmp_path / "nowhere", tmp_path)
    message = capsys.readouterr().err.strip()
    assert status == 1
    assert "\n" not in message
    assert message.startswith("walkaway: error: nowhere: not found")


# --------------------------------------------------------------------------- check_table


def deals_raw(rows: list[list[str]], index: list[int]) -> pd.DataFrame:
    return pd.DataFrame(rows, columns=CANONICAL_HEADER, index=index)


def test_row_numbers_come_from_the_frame_index() -> None:
    raw = deals_raw(with_cell(3, "amount", "lots"), index=[40, 41, 42, 43])
    checked = check_table(raw, "deals", "deals.csv")
    assert [(p.row, p.column, p.rule, p.value) for p in checked.problems] == [
        (41, "amount", "not a number", "lots")
    ]
    assert checked.rejected_rows == [41]
    assert checked.frame.index.tolist() == [40, 42, 43]


def test_duplicate_keys_report_both_rows_and_drop_both() -> None:
    rows = with_cell(5, "deal_id", "D2")
    checked = check_table(deals_raw(rows, [2, 3, 4, 5]), "deals", "deals.csv")
    duplicates = [p for p in checked.problems if p.rule == "duplicate value"]
    assert sorted(p.row for p in duplicates) == [3, 5]
    assert {p.column for p in duplicates} == {"deal_id"}
    assert {p.value for p in duplicates} == {"D2"}
    assert checked.frame["deal_id"].tolist() == ["D1", "D3"]


def test_closed_deal_without_close_date_and_closed_before_created_are_reported() -> None:
    rows = with_cell(2, "closed_date", "")  # won, no close date
    rows[1][CANONICAL_HEADER.index("closed_date")] = "2023-12-31"  # lost before created
    checked = check_table(deals_raw(rows, [2, 3, 4, 5]), "deals", "deals.csv")
    found = {(p.row, p.column, p.rule, p.value) for p in checked.problems}
    assert found == {
        (2, "closed_date", "a won or lost deal needs a close date", None),
        (3, "closed_date", "closed before it was created", "2023-12-31"),
    }
    # the open deal D4 has no close date and that is fine
    assert checked.frame["deal_id"].tolist() == ["D3", "D4"]


def test_good_rows_are_kept_typed_and_bad_rows_dropped() -> None:
    rows = with_cell(3, "created_date", "yesterday")
    rows.append(["D5", "A9", "2024-07-01", "2024-08-01", " $1,250.50 ", "Closed"])  # row 6
    rows[3][CANONICAL_HEADER.index("outcome")] = " OPEN "  # row 5, normalised to open
    rows[3][CANONICAL_HEADER.index("amount")] = " $3,000 "  # row 5, parsed to 3000.0
    checked = check_table(deals_raw(rows, [2, 3, 4, 5, 6]), "deals", "deals.csv")

    assert {(p.row, p.column) for p in checked.problems} == {(3, "created_date"), (6, "outcome")}
    frame = checked.frame
    assert frame.index.tolist() == [2, 4, 5]
    assert frame["amount"].tolist() == [1000.0, 1500.0, 3000.0]
    assert frame["outcome"].tolist() == ["won", "won", "open"]
    assert pd.api.types.is_datetime64_any_dtype(frame["created_date"])
    assert frame.loc[2, "created_date"] == pd.Timestamp("2024-01-05")
    assert pd.isna(frame.loc[5, "closed_date"])


def test_an_unparseable_required_date_is_one_problem_not_two() -> None:
    checked = check_table(
        deals_raw(with_cell(2, "created_date", "05.01.2024"), [2, 3, 4, 5]), "deals", "deals.csv"
    )
    assert [(p.row, p.column, p.rule) for p in checked.problems] == [
        (2, "created_date", "unparseable date (expected yyyy-mm-dd)")
    ]


def test_missing_required_column_is_a_problem_without_a_row() -> None:
    rows, header = without_column("outcome")
    raw = pd.DataFrame(rows, columns=header, index=[2, 3, 4, 5])
    checked = check_table(raw, "deals", "deals.csv", source_names={"outcome": "Stage"})
    assert len(checked.problems) == 1
    problem = checked.problems[0]
    assert (problem.file, problem.row, problem.column) == ("deals.csv", None, None)
    assert problem.rule == "missing required column 'Stage'"
    assert checked.frame.empty
    assert checked.rejected_rows == []


def test_messages_use_the_exports_column_names_and_date_format() -> None:
    rows = [
        ["D1", "A1", "05/01/2024", "01/03/2024", "10", "won"],
        ["D2", "A1", "2024-01-05", "", "1", "open"],
    ]
    names = {"created_date": "Created Date", "deal_id": "Opportunity ID"}
    checked = check_table(
        deals_raw(rows, [2, 3]), "deals", "export.csv", source_names=names, date_format="%d/%m/%Y"
    )
    assert [str(p) for p in checked.problems] == [
        "export.csv, row 3, column 'Created Date': unparseable date (expected %d/%m/%Y): "
        "'2024-01-05'"
    ]
    assert checked.frame.loc[2, "closed_date"] == pd.Timestamp("2024-03-01")


def test_empty_table_is_a_problem() -> None:
    raw = pd.DataFrame(columns=CANONICAL_HEADER)
    checked = check_table(raw, "deals", "deals.csv")
    assert [str(p) for p in checked.problems] == ["deals.csv: no rows: the table is empty"]


def test_bool_and_minimum_rules_of_other_tables() -> None:
    raw = pd.DataFrame(
        {"account_id": ["A1", "A2", "A3"], "founded_year": ["1999", "999", ""]}, index=[2, 3, 4]
    )
    checked = check_table(raw, "accounts", "accounts.csv")
    assert [(p.row, p.column, p.rule) for p in checked.problems] == [
        (3, "founded_year", "must be >= 1000")
    ]
    deals = deals_raw(GOOD_ROWS[:2], [2, 3]).assign(formal_tender=["Yes", "perhaps"])
    checked = check_table(deals, "deals", "deals.csv")
    assert [(p.row, p.column, p.rule, p.value) for p in checked.problems] == [
        (3, "formal_tender", "not a yes/no value", "perhaps")
    ]
    assert checked.frame.loc[2, "formal_tender"] is True


# --------------------------------------------------------------------------- Problem, ContractError


def test_problem_str_names_what_it_knows() -> None:
    assert str(Problem("d.csv", 7, "Amount", "not a number", "abc")) == (
        "d.csv, row 7, column 'Amount': not a number: 'abc'"
    )
    assert str(Problem("d.csv", None, None, "the file is empty")) == "d.csv: the file is empty"
    long = str(Problem("d.csv", 2, "Notes", "too long", "x" * 100))
    assert long == "d.csv, row 2, column 'Notes': too long: '" + "x" * 57 + "...'"


def test_contract_error_is_one_line_counting_the_other_problems() -> None:
    problems = [Problem("d.csv", r, "amount", "not a number", "x") for r in (2, 3, 4)]
    error = ContractError(problems)
    assert str(error) == "d.csv, row 2, column 'amount': not a number: 'x' (and 2 more problems)"
    assert str(ContractError(problems[:2])).endswith("(and 1 more problem)")
    assert str(ContractError(problems[:1])) == "d.csv, row 2, column 'amount': not a number: 'x'"
    assert error.problems == problems
    assert isinstance(error, WalkawayError)
    assert isinstance(error, ValueError)


# --------------------------------------------------------------------------- small parsers


def test_future_typos_and_churn_before_close_are_rejected() -> None:
    raw = pd.DataFrame(
        {
            "deal_id": ["a", "b"],
            "account_id": ["x", "y"],
            "created_date": ["3025-01-01", "2024-01-01"],
            "closed_date": [None, "2024-03-01"],
            "amount": ["1", "2"],
            "outcome": ["open", "won"],
            "churn_date": [None, "2024-02-01"],
        },
        index=[2, 3],
    )
    messages = [str(p) for p in check_table(raw, "deals", "deals.csv").problems]
    assert messages == [
        "deals.csv, row 2, column 'created_date': more than a year in the future: '3025-01-01'",
        "deals.csv, row 3, column 'churn_date': churned before the deal closed: '2024-02-01'",
    ]
