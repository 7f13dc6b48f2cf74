"""Step 1 of reading: files into raw frames of text (walkaway.data.raw_files)."""

from __future__ import annotations

import gzip
from pathlib import Path

import pandas as pd
import pytest

from walkaway.data.contracts import ContractError, Problem
from walkaway.data.raw_files import count_rows, iter_table, read_table
from walkaway.data.raw_files import header as header_of


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


def test_a_folder_of_part_files_reads_as_the_one_file_they_were_cut_from(tmp_path: Path) -> None:
    """As Spark writes a table: part files in name order, each with the header, a _SUCCESS
    marker, checksums and an empty part. Rows number on as in the one file, malformed lines
    too."""
    header = "deal_id,amount"
    rows = [f"D{i},{i * 10}" for i in range(10)]
    rows[6] = "D6,60,extra"  # malformed: one field too many
    whole = tmp_path / "whole.csv"
    whole.write_text("\n".join([header, *rows]) + "\n", encoding="utf-8")
    folder = tmp_path / "pipeline"
    folder.mkdir()
    for number, (start, stop) in enumerate([(0, 4), (4, 4), (4, 9), (9, 10)]):
        part = folder / f"part-{number:05d}-abc.csv"
        part.write_text("\n".join([header, *rows[start:stop]]) + "\n", encoding="utf-8")
        (folder / f".{part.name}.crc").write_bytes(b"\x00crc")
    (folder / "_SUCCESS").write_text("", encoding="utf-8")

    def read(path: Path, chunk_size: int | None) -> tuple[pd.DataFrame, list[Problem]]:
        malformed: list[Problem] = []
        frame = pd.concat(list(iter_table(path, chunk_size, malformed=malformed)))
        return frame, malformed

    expected, expected_malformed = read(whole, None)
    for chunk_size in (None, 2):
        frame, malformed = read(folder, chunk_size)
        pd.testing.assert_frame_equal(frame, expected)
        assert (
            [(p.row, p.rule) for p in malformed]
            == [(p.row, p.rule) for p in expected_malformed]
            == [(8, "the line has 3 fields where the header has 2")]
        )
    assert count_rows(folder) == count_rows(whole) == 10
    assert header_of(folder) == ["deal_id", "amount"]

    parquet = tmp_path / "parquet"
    parquet.mkdir()
    table = pd.DataFrame({"deal_id": [f"D{i}" for i in range(5)], "amount": range(5)})
    table.iloc[:2].to_parquet(parquet / "part-00000.parquet")
    table.iloc[2:].to_parquet(parquet / "part-00001.parquet")
    read_back = pd.concat(list(iter_table(parquet, 2)))
    assert read_back.index.tolist() == [1, 2, 3, 4, 5]  # records from 1, as in one file
    assert read_back["deal_id"].tolist() == table["deal_id"].tolist()


def test_a_folder_without_part_files_or_with_mixed_parts_is_one_line(tmp_path: Path) -> None:
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(ContractError, match="is a folder, not a file"):
        list(iter_table(empty))
    mixed = tmp_path / "mixed"
    mixed.mkdir()
    (mixed / "part-00000.csv").write_text("a\n1\n", encoding="utf-8")
    pd.DataFrame({"a": [1]}).to_parquet(mixed / "part-00001.parquet")
    with pytest.raises(ContractError, match="mixes Parquet and CSV"):
        list(iter_table(mixed))
    other = tmp_path / "other"
    other.mkdir()
    (other / "part-00000.csv").write_text("a\n1\n", encoding="utf-8")
    (other / "part-00001.csv").write_text("b\n1\n", encoding="utf-8")
    with pytest.raises(ContractError, match="share one header"):
        list(iter_table(other))
