"""Step 1 of reading: files into raw frames of text (walkaway.data.raw_files)."""

from __future__ import annotations

import gzip
from pathlib import Path

import pandas as pd
import pytest

from walkaway.data.contracts import ContractError
from walkaway.data.raw_files import read_table


def test_read_csv_as_text_indexed_by_spreadsheet_row(tmp_path: Path) -> None:
    path = tmp_path / "deals.csv"
    path.write_text(" deal_id ,amount,note\nD1,0010,NA\nD2,,null\n\nD3,5,\n", encoding="utf-8")
    frame = read_table(path)
    assert list(frame.columns) == ["deal_id", "amount", "note"]
    assert frame.index.tolist() == [2, 3, 5]  # the blank line 4 is dropped, D3 keeps its row
    assert frame["amount"].iloc[0] == "0010", "values stay text"
    assert frame["note"].iloc[:2].tolist() == ["NA", "null"], "only empty cells are missing"
    assert pd.isna(frame.loc[3, "amount"])
    assert pd.isna(frame.loc[5, "note"])


def test_read_csv_with_bom_latin1_and_gzip(tmp_path: Path) -> None:
    bom = tmp_path / "bom.csv"
    bom.write_bytes("\ufeffdeal_id,city\nD1,Zürich\n".encode())
    assert read_table(bom).columns.tolist() == ["deal_id", "city"]
    assert read_table(bom)["city"].tolist() == ["Zürich"]

    latin = tmp_path / "latin.csv"
    latin.write_bytes("deal_id,city\nD1,Zürich\n".encode("latin-1"))
    assert read_table(latin)["city"].tolist() == ["Zürich"]

    zipped = tmp_path / "deals.csv.gz"
    zipped.write_bytes(gzip.compress(b"deal_id,amount\nD1,5\nD2,6\n"))
    frame = read_table(zipped)
    assert frame["amount"].tolist() == ["5", "6"]
    assert frame.index.tolist() == [2, 3]


def test_read_parquet_numbers_records_from_one(tmp_path: Path) -> None:
    path = tmp_path / "deals.parquet"
    pd.DataFrame({"deal_id": ["D1", "D2", "D3"], "amount": [1.0, 2.0, 3.0]}).to_parquet(path)
    frame = read_table(path)
    assert frame.index.tolist() == [1, 2, 3]
    assert frame["deal_id"].tolist() == ["D1", "D2", "D3"]


def test_header_only_csv_reads_as_no_rows(tmp_path: Path) -> None:
    path = tmp_path / "deals.csv"
    path.write_text("deal_id,amount\n", encoding="utf-8")
    frame = read_table(path)
    assert frame.empty
    assert list(frame.columns) == ["deal_id", "amount"]


@pytest.mark.parametrize(
    ("name", "content", "expected"),
    [
        ("deals.csv", None, "deals.csv: file not found: "),
        ("deals.csv", "folder", "deals.csv: is a folder, not a file"),
        ("deals.csv", b"", "deals.csv: the file is empty"),
        (
            "deals.csv",
            b"PK\x03\x04\x14\x00\x06\x00\x08\x00\x00\x00!\x00",
            "deals.csv: not a CSV text file",
        ),
        (
            "deals.csv",
            b"a,b\n1,2\n3,4,5,6\n",
            "deals.csv, row 3: the line has 4 fields where the header has 2: '3,4,5,6'",
        ),
        (
            "deals.csv",
            b'a,b\n"unclosed,2\n',
            "deals.csv, row 2: the line opens a quote that the file never closes",
        ),
        ("deals.csv", b"a,a\n1,2\n", "deals.csv, row 1: the header names column 'a' twice"),
        (
            "deals.parquet",
            b"PAR1 this is not parquet",
            "deals.parquet: not a readable Parquet file (",
        ),
    ],
    ids=[
        "missing",
        "folder",
        "empty",
        "xlsx_zip",
        "ragged_row",
        "open_quote",
        "twice_named",
        "broken_parquet",
    ],
)
def test_unreadable_files_are_one_line_contract_errors(
    tmp_path: Path, name: str, content: bytes | str | None, expected: str
) -> None:
    path = tmp_path / name
    if content == "folder":
        path.mkdir()
    elif isinstance(content, bytes):
        path.write_bytes(content)
    with pytest.raises(ContractError) as raised:
        read_table(path)
    message = str(raised.value)
    assert message.startswith(expected), message
    assert "\n" not in message
    located = "row" in expected  # a malformed line or header names its line
    assert (raised.value.problems[0].row is not None) == located
