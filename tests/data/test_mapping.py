"""Tests of mappings (walkaway.data.mapping): validation, applying them, and picking one."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from walkaway.data import synth
from walkaway.data.contracts import DEAL_COLUMNS, ContractError
from walkaway.data.mapping import (
    apply_mapping,
    canonical_mapping,
    detect_mapping,
    load_mapping,
    parse_mapping,
    shipped_mappings,
)

SYNTHETIC_DEALS_HEADER = list(synth.DEAL_COLUMNS)


def deals_doc(**extra: Any) -> dict[str, Any]:
    """A valid mapping document with a few deal columns, plus ``extra`` top-level keys."""
    deals = {
        "file": "opps.csv",
        "columns": {
            "deal_id": "Id",
            "account_id": "Account",
            "created_date": "Created",
            "closed_date": "Closed",
            "amount": "Value",
            "outcome": "Stage",
            "stage": "Stage",
            "margin": "Margin",
        },
        "values": {"outcome": {"Closed Won": "won", " CLOSED lost ": "lost", "Open": "open"}},
    }
    return {"name": "test-crm", "tables": {"deals": deals}, **extra}


def mutated(change: Any) -> dict[str, Any]:
    document = deals_doc()
    change(document)
    return document


def _set(path: tuple[str, ...], value: Any):
    def change(document: dict[str, Any]) -> None:
        target = document
        for key in path[:-1]:
            target = target[key]
        target[path[-1]] = value

    return change


# document, fragment the one-line message must hold
MAPPING_MISTAKES = {
    "unknown_canonical_column": (
        mutated(_set(("tables", "deals", "columns", "colour"), "Colour")),
        "tables.deals.columns: 'colour' is not a canonical deals column",
    ),
    "unknown_table": (
        mutated(_set(("tables", "invoices"), {"file": "inv.csv"})),
        "tables.invoices: unknown table (known: deals, accounts, products, deal_history;",
    ),
    "date_format_without_percent": (
        deals_doc(date_format="dd/mm/yyyy"),
        "date_format 'dd/mm/yyyy' is not a strptime format such as '%d/%m/%Y'",
    ),
    "date_format_losing_the_year": (
        deals_doc(date_format="%d/%m"),
        "date_format '%d/%m' is not a strptime format",
    ),
    "value_map_for_unmapped_column": (
        mutated(_set(("tables", "deals", "values", "region"), {"Europe": "emea"})),
        "tables.deals.values: 'region' is not mapped in tables.deals.columns",
    ),
    "empty_value_map": (
        mutated(_set(("tables", "deals", "values", "outcome"), {})),
        "tables.deals.values.outcome must map export values to canonical values",
    ),
    "post_outcome_mapped_to_feature": (
        deals_doc(post_outcome=["Value"]),
        "'Value' is declared post_outcome (known only after the deal closed) but mapped to "
        "feature column 'amount': it would leak the outcome",
    ),
    "zero_regret_horizon": (
        deals_doc(regret={"horizon_days": 0}),
        "regret.horizon_days must be a positive whole number of days, not 0",
    ),
    "negative_regret_horizon": (
        deals_doc(regret={"horizon_days": -30}),
        "regret.horizon_days must be a positive whole number of days, not -30",
    ),
    "fractional_regret_horizon": (
        deals_doc(regret={"horizon_days": 182.5}),
        "regret.horizon_days must be a positive whole number of days, not 182.5",
    ),
    "text_regret_horizon": (
        deals_doc(regret={"horizon_days": "365"}),
        "regret.horizon_days must be a positive whole number of days, not '365'",
    ),
    "unknown_top_level_key": (
        deals_doc(colour="blue", horizon=3),
        "unknown keys 'colour', 'horizon' (known: name, description, ",
    ),
    "no_deals_table": (
        {"tables": {"accounts": {"columns": {"account_id": "Id"}}}},
        "tables.deals is required",
    ),
    "not_a_mapping": (["tables", "deals"], "a mapping is a YAML mapping with a 'tables' key"),
    "columns_not_a_mapping": (
        mutated(_set(("tables", "deals", "columns"), ["deal_id", "amount"])),
        "tables.deals.columns must be a mapping of canonical names to export columns",
    ),
    "export_column_not_text": (
        mutated(_set(("tables", "deals", "columns", "amount"), 7)),
        "tables.deals.columns.amount must be the export's column name, not 7",
    ),
}


@pytest.mark.parametrize(
    ("document", "fragment"), MAPPING_MISTAKES.values(), ids=MAPPING_MISTAKES.keys()
)
def test_mapping_mistakes_are_contract_errors_naming_them(document: Any, fragment: str) -> None:
    with pytest.raises(ContractError) as raised:
        parse_mapping(document, source="my-crm.yaml")
    message = str(raised.value)
    assert message.startswith("my-crm.yaml: "), message
    assert fragment in message, message
    assert "\n" not in message
    assert raised.value.problems[0].file == "my-crm.yaml"


# Malformed sections (once a traceback in the CLI, or silently accepted): each is a
# ContractError the user can act on.
MALFORMED_SECTIONS = {
    "regret_not_a_mapping": (
        deals_doc(regret=365),
        "mapping.py parse_mapping: regret.get() on a non-dict raises AttributeError",
    ),
    "table_spec_not_a_mapping": (
        {"tables": {"deals": ["deal_id: Id"]}},
        "mapping.py _parse_table: spec.get() on a list raises AttributeError",
    ),
    "values_not_a_mapping": (
        mutated(_set(("tables", "deals", "values"), ["outcome"])),
        "mapping.py _parse_table: values.items() on a list raises AttributeError",
    ),
    "boolean_regret_horizon": (
        deals_doc(regret={"horizon_days": True}),
        "mapping.py parse_mapping: bool passes isinstance(int); horizon_days: true means 1 day",
    ),
    "post_outcome_as_a_single_string": (
        deals_doc(post_outcome="Value"),
        "mapping.py parse_mapping: tuple('Value') splits the string into letters, so the "
        "leak check never sees the column 'Value' mapped to amount",
    ),
}


@pytest.mark.parametrize(
    "document",
    [pytest.param(document, id=name) for name, (document, _) in MALFORMED_SECTIONS.items()],
)
def test_malformed_mapping_sections_are_contract_errors(document: Any) -> None:
    with pytest.raises(ContractError) as raised:
        parse_mapping(document, source="my-crm.yaml")
    assert str(raised.value).startswith("my-crm.yaml: ")


def test_a_valid_mapping_is_parsed_and_value_keys_normalised() -> None:
    mapping = parse_mapping(
        deals_doc(date_format="%d/%m/%Y", post_outcome=["Margin"], regret={"horizon_days": 180}),
        source="my-crm.yaml",
    )
    assert mapping.name == "test-crm"
    assert mapping.source == "my-crm.yaml"
    assert mapping.date_format == "%d/%m/%Y"
    assert mapping.post_outcome == ("Margin",)  # mapped to margin: a label column, allowed
    assert mapping.regret_horizon_days == 180
    deals = mapping.tables["deals"]
    assert deals.file == "opps.csv"
    assert deals.values["outcome"] == {"closed won": "won", "closed lost": "lost", "open": "open"}
    assert mapping.source_names("deals")["amount"] == "Value"
    assert mapping.source_names("products") == {}


def test_defaults_of_a_minimal_mapping() -> None:
    mapping = parse_mapping({"tables": {"deals": {"columns": {"deal_id": "Id"}}, "accounts": None}})
    assert mapping.name == "<mapping>"
    assert mapping.date_format is None
    assert mapping.post_outcome == ()
    assert mapping.regret_horizon_days == 365
    assert mapping.tables["deals"].file == "deals.csv"
    assert mapping.tables["accounts"].file == "accounts.csv"
    assert mapping.tables["accounts"].columns == {}


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


# --------------------------------------------------------------------------- apply_mapping


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


def test_extra_feature_columns_need_a_known_sign_and_must_not_leak() -> None:
    document = {
        "post_outcome": ["Close Value"],
        "tables": {
            "deals": {"columns": {"deal_id": "Id"}, "features": {"Competitor Type": "glass_walls"}}
        },
    }
    mapping = parse_mapping(document)
    assert mapping.extra_features() == {"x_competitor_type": ("glass_walls", "Competitor Type")}
    document["tables"]["deals"]["features"] = {"Competitor Type": "walls"}
    with pytest.raises(ContractError, match="unknown sign 'walls'"):
        parse_mapping(document)
    document["tables"]["deals"]["features"] = {"Close Value": "deal_context"}
    with pytest.raises(ContractError, match="'Close Value' is declared post_outcome .* would leak"):
        parse_mapping(document)


def test_related_tables_join_on_a_mapped_deals_column() -> None:
    document = {
        "tables": {
            "deals": {"columns": {"deal_id": "Id", "owner": "Agent"}},
            "teams": {
                "file": "teams.csv",
                "join": {"key": "agent", "deals_column": "owner"},
                "features": {"office": "deal_context"},
            },
        }
    }
    mapping = parse_mapping(document)
    assert mapping.related["teams"].on == "owner"
    assert mapping.extra_features()["x_office"] == ("deal_context", "office")

    document["tables"]["teams"]["join"]["deals_column"] = "region"  # not mapped in deals
    with pytest.raises(
        ContractError, match="join.deals_column: 'region' is not a mapped deals column"
    ):
        parse_mapping(document)
    document["tables"]["teams"]["join"] = {"key": "agent"}
    with pytest.raises(ContractError, match="tables.teams.join.deals_column is required"):
        parse_mapping(document)


def test_a_related_file_without_its_key_is_named(tmp_path: Path) -> None:
    from walkaway.data.exports import load_related

    (tmp_path / "teams.csv").write_text("seller,office\nann,east\n", encoding="utf-8")
    mapping = parse_mapping(
        {
            "tables": {
                "deals": {"columns": {"deal_id": "Id", "owner": "Agent"}},
                "teams": {
                    "join": {"key": "agent", "deals_column": "owner"},
                    "features": {"office": "deal_context"},
                },
            }
        }
    )
    with pytest.raises(ContractError, match="teams.csv: missing column 'agent'"):
        load_related(tmp_path, mapping)


def test_regret_rule_mistakes_are_named() -> None:
    base = {"tables": {"deals": {"columns": {"deal_id": "Id"}}}}
    with pytest.raises(ContractError, match=r"unknown key 'churn_days' in regret \(known: "):
        parse_mapping({**base, "regret": {"churn_days": 90}})
    with pytest.raises(ContractError, match="regret.margin_below must be a number"):
        parse_mapping({**base, "regret": {"margin_below": "low"}})


# Every level refuses what it does not know (pydantic models): a typo is never ignored.
TYPOS = {
    "valuse_in_deals": (
        mutated(_set(("tables", "deals", "valuse"), {"outcome": {"Won": "won"}})),
        "unknown key 'valuse' in tables.deals (known: file, columns, values, features)",
    ),
    "colums_in_accounts": (
        mutated(_set(("tables", "accounts"), {"colums": {"account_id": "Id"}})),
        "unknown key 'colums' in tables.accounts (known: file, columns, values, features)",
    ),
    "keys_in_a_join": (
        {
            "tables": {
                "deals": {"columns": {"deal_id": "Id", "owner": "Agent"}},
                "teams": {
                    "join": {"key": "a", "deals_column": "owner", "how": "left"},
                    "features": {"office": "deal_context"},
                },
            }
        },
        "unknown key 'how' in tables.teams.join (known: key, deals_column)",
    ),
    "a_word_for_a_boolean": (
        deals_doc(regret={"churn": "yes"}),
        "regret.churn must be true or false, not 'yes'",
    ),
    "an_unknown_delimiter": (deals_doc(delimiter=":"), "delimiter: input should be ','"),
    "an_unknown_decimal_mark": (deals_doc(decimal="'"), "decimal: input should be '.' or ','"),
    "an_unknown_duplicates_rule": (deals_doc(duplicates="keep"), "duplicates: input should be"),
}


@pytest.mark.parametrize(("document", "fragment"), TYPOS.values(), ids=TYPOS.keys())
def test_typos_are_refused_with_the_key_and_its_place(document: Any, fragment: str) -> None:
    with pytest.raises(ContractError) as raised:
        parse_mapping(document, source="my-crm.yaml")
    assert fragment in str(raised.value)
    assert "\n" not in str(raised.value)


def test_a_mapping_sets_the_delimiter_and_decimal_mark() -> None:
    mapping = parse_mapping(deals_doc(delimiter=";", decimal=","))
    assert (mapping.delimiter, mapping.decimal) == (";", ",")
    assert (parse_mapping(deals_doc()).delimiter, parse_mapping(deals_doc()).decimal) == (
        None,
        None,
    )


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


def test_a_built_in_column_can_feed_another_sign() -> None:
    document = {"signs": {"product": "need_fit", "owner": "icp_fit"}, **deals_doc()}
    mapping = parse_mapping(document)
    assert mapping.signs == {"product": "need_fit", "owner": "icp_fit"}
    assert parse_mapping(mapping.to_document()) == mapping
    with pytest.raises(ContractError, match="signs.colour: not a canonical column"):
        parse_mapping({**deals_doc(), "signs": {"colour": "need_fit"}})
    with pytest.raises(ContractError, match="unknown sign 'walls'"):
        parse_mapping({**deals_doc(), "signs": {"product": "walls"}})
