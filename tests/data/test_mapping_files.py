"""Tests of mapping files (walkaway.data.mapping_files): loading one, the shipped ones, and
picking one for an export."""

from __future__ import annotations

from pathlib import Path

import pytest

from walkaway.data import synth
from walkaway.data.contracts import DEAL_COLUMNS, ContractError
from walkaway.data.mapping import canonical_mapping
from walkaway.data.mapping_files import detect_mapping, load_mapping, shipped_mappings

SYNTHETIC_DEALS_HEADER = list(synth.DEAL_COLUMNS)


# --------------------------------------------------------------------------- load_mapping


def test_load_mapping_of_a_file_that_is_not_yaml(tmp_path: Path) -> None:
    path = tmp_path / "broken.yaml"
    path.write_text("name: x\ntables: [unclosed\n  deals: {file: d.csv\n", encoding="utf-8")
    with pytest.raises(ContractError) as raised:
        load_mapping(path)
    assert str(raised.value).startswith("broken.yaml: not valid YAML at line ")


def test_load_mapping_of_yaml_that_is_not_a_mapping(tmp_path: Path) -> None:
    path = tmp_path / "list.yaml"
    path.write_text("- deals\n- accounts\n", encoding="utf-8")
    with pytest.raises(ContractError, match=r"^list\.yaml: a mapping is a YAML mapping"):
        load_mapping(path)


def test_load_mapping_of_a_binary_file(tmp_path: Path) -> None:
    path = tmp_path / "logo.yaml"
    path.write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\xff\xfe")
    with pytest.raises(ContractError, match=r"^logo\.yaml: "):
        load_mapping(path)


def test_load_mapping_errors_name_the_file(tmp_path: Path) -> None:
    path = tmp_path / "crm.yaml"
    path.write_text("tables:\n  deals:\n    columns: {deal_id: Id, colour: C}\n", encoding="utf-8")
    with pytest.raises(ContractError) as raised:
        load_mapping(path)
    assert str(raised.value) == (
        "crm.yaml: tables.deals.columns: 'colour' is not a canonical deals column"
    )


def test_load_mapping_of_a_missing_file_lists_the_shipped_ones(tmp_path: Path) -> None:
    with pytest.raises(ContractError) as raised:
        load_mapping(tmp_path / "nope.yaml")
    assert "nope.yaml: no such mapping (shipped: " in str(raised.value)
    assert "synthetic-crm)" in str(raised.value)


def test_shipped_mapping_by_name_and_by_path() -> None:
    shipped = shipped_mappings()
    assert "synthetic-crm" in shipped
    assert shipped["synthetic-crm"].name == "synthetic-crm.yaml"
    assert shipped["synthetic-crm"].is_file()
    by_name = load_mapping("synthetic-crm")
    assert by_name == load_mapping(shipped["synthetic-crm"])
    assert by_name.name == "synthetic-crm"
    assert by_name.date_format == "%d/%m/%Y"
    assert by_name.regret_horizon_days == 365
    assert by_name.post_outcome == ("Churn Date", "Regret Flag", "Gross Margin %")
    assert set(by_name.tables) == {"deals", "accounts", "products", "deal_history"}
    deals = by_name.tables["deals"]
    assert deals.file == "deals.csv"
    assert deals.columns["deal_id"] == "Opportunity ID"
    assert deals.values["outcome"]["closed won"] == "won"
    assert deals.values["outcome"]["negotiation/review"] == "open"


# --------------------------------------------------------------------------- detect_mapping


def test_detect_mapping_picks_synthetic_crm_for_its_header() -> None:
    mapping = detect_mapping(
        {"deals.csv": SYNTHETIC_DEALS_HEADER, "accounts.csv": ["Account ID", "Industry"]}
    )
    assert mapping.name == "synthetic-crm"


@pytest.mark.parametrize(
    "columns_by_file",
    [
        {"deals.csv": list(DEAL_COLUMNS)},
        {"deals.csv": [c for c in SYNTHETIC_DEALS_HEADER if c != "Stage"]},
        {"opportunities.csv": SYNTHETIC_DEALS_HEADER},
        {},
    ],
    ids=["canonical_header", "synthetic_without_outcome", "other_file_name", "no_files"],
)
def test_detect_mapping_falls_back_to_canonical(columns_by_file: dict[str, list[str]]) -> None:
    mapping = detect_mapping(columns_by_file)
    assert mapping.name == "canonical"
    assert mapping == canonical_mapping()
    assert mapping.tables["deals"].file == "deals.csv"
    assert mapping.tables["deals"].columns["amount"] == "amount"


def test_cli_reports_a_malformed_mapping_in_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from walkaway.cli import main

    (tmp_path / "deals.csv").write_text("deal_id\nD1\n", encoding="utf-8")
    bad = tmp_path / "bad.yaml"
    bad.write_text("tables:\n  deals:\n    columns: {deal_id: Id}\nregret: 365\n", encoding="utf-8")
    argv = [
        "train",
        "--history",
        str(tmp_path / "deals.csv"),
        "--mapping",
        str(bad),
        "--models-dir",
        str(tmp_path / "models"),
    ]
    assert main(argv) == 1
    message = capsys.readouterr().err.strip()
    assert message.startswith("walkaway: error: bad.yaml: ")
    assert "\n" not in message
