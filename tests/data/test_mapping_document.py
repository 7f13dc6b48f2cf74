"""Tests of mapping documents (walkaway.data.mapping_document): their shape, the checks the
shape cannot make, and one-line messages for every mistake."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from walkaway.data.contracts import ContractError
from walkaway.data.mapping_document import parse_mapping


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


def test_a_built_in_column_can_feed_another_sign() -> None:
    document = {"signs": {"product": "need_fit", "owner": "icp_fit"}, **deals_doc()}
    mapping = parse_mapping(document)
    assert mapping.signs == {"product": "need_fit", "owner": "icp_fit"}
    assert parse_mapping(mapping.to_document()) == mapping
    with pytest.raises(ContractError, match="signs.colour: not a canonical column"):
        parse_mapping({**deals_doc(), "signs": {"colour": "need_fit"}})
    with pytest.raises(ContractError, match="unknown sign 'walls'"):
        parse_mapping({**deals_doc(), "signs": {"product": "walls"}})
