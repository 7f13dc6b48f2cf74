"""Tests of mappings (walkaway.data.mapping): applying them to an export's raw table."""

from __future__ import annotations

from dataclasses import replace

import pandas as pd
import pytest

from tests.data.test_mapping_document import deals_doc
from walkaway.data.contracts import ContractError
from walkaway.data.mapping import apply_mapping
from walkaway.data.mapping_document import parse_mapping


def test_apply_mapping_renames_and_maps_values_case_insensitively() -> None:
    mapping = parse_mapping(deals_doc())
    raw = pd.DataFrame(
        {
            "Id": ["D1", "D2", "D3", "D4", "D5"],
            "Account": ["A"] * 5,
            "Created": ["2024-01-01"] * 5,
            "Closed": ["2024-02-01"] * 5,
            "Value": ["10"] * 5,
            "Stage": ["closed WON", "  Closed Lost", "OPEN ", "Pending Review", None],
            "Unmapped": ["x"] * 5,
        },
        index=[2, 3, 4, 5, 6],
    )
    canonical = apply_mapping(raw, mapping, "deals", "opps.csv")
    assert canonical.index.tolist() == [2, 3, 4, 5, 6]
    assert list(canonical.columns) == [
        "deal_id",
        "account_id",
        "created_date",
        "closed_date",
        "amount",
        "outcome",
        "stage",
    ]  # margin is mapped but not exported: optional, simply absent
    assert canonical["outcome"].iloc[:4].tolist() == ["won", "lost", "open", "Pending Review"]
    assert pd.isna(canonical["outcome"].iloc[4])
    # the same export column behind stage is not value-mapped
    assert canonical["stage"].iloc[:4].tolist() == [
        "closed WON",
        "  Closed Lost",
        "OPEN ",
        "Pending Review",
    ]
    assert canonical["deal_id"].tolist() == ["D1", "D2", "D3", "D4", "D5"]


def test_apply_mapping_missing_required_column_names_the_export_column() -> None:
    mapping = parse_mapping(deals_doc())
    raw = pd.DataFrame(
        {"Id": ["D1"], "Account": ["A"], "Created": ["2024-01-01"], "Stage": ["Open"]}
    )
    with pytest.raises(ContractError) as raised:
        apply_mapping(raw, mapping, "deals", "opps.csv")
    assert str(raised.value) == (
        "opps.csv: missing required column 'Closed' (closed_date) of the mapping test-crm"
    )
    chosen = replace(mapping, chosen_because="given with --mapping")
    with pytest.raises(ContractError, match=r"of the mapping test-crm \(given with --mapping\)$"):
        apply_mapping(raw, chosen, "deals", "opps.csv")


def test_an_export_without_an_id_column_gets_ids_from_rows_or_columns() -> None:
    document = {"tables": {"deals": {"columns": {"deal_id": "row_number", "outcome": "Result"}}}}
    mapping = parse_mapping(document)
    raw = pd.DataFrame({"Result": ["Won", "Lost"], "Co": ["Acme", "Beta"]}, index=[2, 3])
    assert apply_mapping(raw, mapping, "deals", "q.csv")["deal_id"].tolist() == ["row-2", "row-3"]
    assert "q.csv: deal ids are the rows' numbers" in mapping.tables["deals"].id_note("q.csv")
    assert parse_mapping(mapping.to_document()) == mapping

    document["tables"]["deals"]["columns"]["deal_id"] = ["Co", "Result"]
    mapping = parse_mapping(document)
    assert apply_mapping(raw, mapping, "deals", "q.csv")["deal_id"].tolist() == [
        "Acme | Won",
        "Beta | Lost",
    ]
    assert mapping.source_names("deals")["deal_id"] == "Co + Result"
    assert parse_mapping(mapping.to_document()) == mapping
    with pytest.raises(ContractError, match="missing column 'Co' .*builds deal ids from it"):
        apply_mapping(raw.drop(columns="Co"), mapping, "deals", "q.csv")
    document["tables"]["deals"]["columns"]["outcome"] = ["Result", "Co"]
    with pytest.raises(ContractError, match="only deals' deal_id may combine several"):
        parse_mapping(document)


def test_na_is_a_value_unless_the_mapping_says_it_means_missing() -> None:
    raw = pd.DataFrame({"Id": ["D1", "D2", "D3"], "Region": ["NA", "n/a ", "EMEA"]})
    document = {"tables": {"deals": {"columns": {"deal_id": "Id", "region": "Region"}}}}
    regions = apply_mapping(raw, parse_mapping(document), "deals", "d.csv")["region"]
    assert regions.tolist() == ["NA", "n/a ", "EMEA"]
    mapping = parse_mapping({**document, "na_values": ["N/A"]})
    regions = apply_mapping(raw, mapping, "deals", "d.csv")["region"]
    assert regions.iloc[0] == "NA" and pd.isna(regions.iloc[1]) and regions.iloc[2] == "EMEA"
    assert parse_mapping(mapping.to_document()) == mapping
