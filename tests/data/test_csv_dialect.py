"""Tests of deciding how a CSV file is written (walkaway.data.csv_dialect) and of reading with it."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st

from walkaway.data.cell_values import parse_numbers
from walkaway.data.contracts import check_table
from walkaway.data.csv_dialect import detect_decimal, detect_encoding, sniff_dialect
from walkaway.data.exports import load_history
from walkaway.data.raw_files import read_table

EUROPEAN = (
    "deal_id;created_date;closed_date;amount;outcome;region\n"
    'D1;05.01.2024;01.03.2024;1.234,56;won;"Nord; Ost"\n'
    "D2;01.02.2024;01.04.2024;12,5;lost;Süd\n"
    "D3;01.05.2024;;1.500;open;Süd\n"
)


@pytest.mark.parametrize("delimiter", [",", ";", "\t", "|"])
def test_the_delimiter_is_detected(tmp_path: Path, delimiter: str) -> None:
    path = tmp_path / "deals.csv"
    rows = [["deal_id", "name", "amount"], ["D1", "Acme", "10"], ["D2", "Beta", "20"]]
    path.write_text("\n".join(delimiter.join(r) for r in rows) + "\n", encoding="utf-8")
    assert sniff_dialect(path).delimiter == delimiter
    assert read_table(path).columns.tolist() == ["deal_id", "name", "amount"]


def test_the_mapping_sets_the_delimiter_and_decimal_over_detection(tmp_path: Path) -> None:
    path = tmp_path / "deals.csv"
    path.write_text("a;b|c\n1;2|3\n", encoding="utf-8")
    assert sniff_dialect(path).delimiter == ";"  # both split evenly: the first candidate wins
    assert sniff_dialect(path, delimiter="|", decimal=",").delimiter == "|"
    assert sniff_dialect(path, delimiter="|", decimal=",").decimal == ","


def test_a_european_export_reads_with_decimal_commas_and_says_so(tmp_path: Path) -> None:
    (tmp_path / "deals.csv").write_text(EUROPEAN, encoding="cp1252")
    history = load_history(tmp_path)
    deals = history.deals.set_index("deal_id")
    assert deals["amount"].tolist() == [1234.56, 12.5, 1500.0]
    assert deals.loc["D1", "region"] == "nord; ost"
    assert deals.loc["D1", "created_date"] == pd.Timestamp("2024-01-05")  # %d.%m.%Y inferred
    notes = " ".join(history.notes)
    assert "semicolon-separated" in notes and "decimal comma" in notes and "cp1252" in notes


def test_a_decimal_comma_value_is_never_read_as_a_smaller_number() -> None:
    raw = pd.DataFrame(
        {"product": ["A", "B"], "list_price": ["1.234,56", "1,234.56"]}, index=[2, 3]
    )
    checked = check_table(raw, "products", "products.csv")  # decimal point
    assert checked.frame["list_price"].tolist() == [1234.56]
    (problem,) = checked.problems
    assert problem.row == 2 and "set decimal: ','" in problem.rule
    checked = check_table(raw, "products", "products.csv", decimal=",")
    assert checked.frame["list_price"].tolist() == [1234.56]
    assert [p.row for p in checked.problems] == [3]


def test_decimal_detection_stays_out_of_ambiguous_and_contradicting_files() -> None:
    assert detect_decimal(pd.DataFrame({"n": ["1.500", "2.000"]}))[0] is None
    assert detect_decimal(pd.DataFrame({"n": ["1,5"], "m": ["2.5"]}))[0] is None
    assert detect_decimal(pd.DataFrame({"n": ["1,234.50", "7"]}))[0] == "."
    dates = pd.DataFrame({"day": ["31.12.2024", "01.02.2024"]})  # dates are not numbers
    assert detect_decimal(dates)[0] is None


def test_the_encoding_is_decided_on_the_whole_file(tmp_path: Path) -> None:
    path = tmp_path / "deals.csv"
    lines = ["deal_id,region"] + [f"D{i},North" for i in range(300_000)] + ["D-last,Müller"]
    path.write_bytes("\n".join(lines).encode("cp1252"))  # the only non-ASCII byte is past 1 MB
    assert path.stat().st_size > 1 << 20
    assert detect_encoding(path) == "cp1252"
    assert read_table(path)["region"].iloc[-1] == "Müller"


@given(
    st.floats(min_value=-1e9, max_value=1e9, allow_nan=False).map(lambda x: round(x, 2)),
    st.sampled_from([".", ","]),
)
def test_numbers_written_with_either_mark_and_grouping_read_back(value: float, mark: str) -> None:
    group = "," if mark == "." else "."
    grouped = f"{value:,.2f}".replace(",", "_").replace(".", mark).replace("_", group)
    plain = f"{value:.2f}".replace(".", mark)
    parsed = parse_numbers(pd.Series([grouped, plain]), decimal=mark)
    assert parsed.tolist() == pytest.approx([value, value])
