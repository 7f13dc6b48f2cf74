"""Tests of drafting the accounts file and product catalogue (walkaway.data.drafting.side_tables)."""

from __future__ import annotations

from pathlib import Path

from tests.data.drafting.test_draft import findings_with, small_deals, write_csv
from walkaway.data.drafting.draft import draft_mapping
from walkaway.data.mapping_document import parse_mapping


def test_products_spelled_differently_get_a_value_map(tmp_path: Path) -> None:
    rows = small_deals(["2024-01-01"] * 4, ["2024-02-01"] * 4)
    rows["Product"] = ["GTXPro", "gtx pro", "Basic", "Mystery"]
    deals = write_csv(tmp_path, "deals.csv", rows)
    catalogue = write_csv(
        tmp_path, "catalogue.csv", {"Name": ["GTX Pro", "Basic"], "Price": [10, 20]}
    )
    draft = draft_mapping(deals, products=catalogue)
    mapping = parse_mapping(draft.document)
    assert mapping.tables["products"].columns == {"product": "Name", "list_price": "Price"}
    assert mapping.tables["deals"].values["product"] == {"gtxpro": "GTX Pro"}
    assert findings_with(draft, "TODO", "'Mystery' (1 deal)")


def test_accounts_key_is_found_by_overlapping_values(tmp_path: Path) -> None:
    rows = small_deals(["2024-01-01"] * 6, ["2024-02-01"] * 6)
    deals = write_csv(tmp_path, "deals.csv", rows)
    side = tmp_path / "side"
    side.mkdir()
    accounts = write_csv(
        side,
        "firms.csv",
        {
            "Row": [1, 2, 3],
            "Code": ["C0", "C1", "XX"],
            "Sector": ["retail", "health", "retail"],
            "Headcount": [10, 200, 3000],
        },
    )
    draft = draft_mapping(deals, accounts=accounts)
    mapping = parse_mapping(draft.document)
    assert mapping.tables["accounts"].file == "side/firms.csv"
    assert mapping.tables["accounts"].columns == {
        "account_id": "Code",
        "industry": "Sector",
        "employees": "Headcount",
    }
    assert findings_with(draft, "key 'Code' matches the deals' 'Customer'", "67%")
    assert findings_with(draft, "left out", "firms.csv: 'Row'")
