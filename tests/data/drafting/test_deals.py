"""Tests of drafting the deals table's columns (walkaway.data.drafting.deals)."""

from __future__ import annotations

from pathlib import Path

from tests.data.drafting.test_draft import findings_with, small_deals, write_csv
from walkaway.data.drafting.draft import draft_mapping
from walkaway.data.mapping_document import parse_mapping


def test_a_number_zero_for_every_lost_deal_is_post_outcome_not_the_amount(tmp_path: Path) -> None:
    n = 20
    rows = {
        "Opportunity Id": [f"O{i}" for i in range(n)],
        "Stage": ["Won", "Lost"] * (n // 2),
        "Booked Value": [500 + i if i % 2 == 0 else 0 for i in range(n)],
        "Competitor": ["Acme", "None"] * (n // 2),
    }
    draft = draft_mapping(write_csv(tmp_path, "deals.csv", rows))
    mapping = parse_mapping(draft.document)
    assert mapping.post_outcome == ("Booked Value",)
    assert "amount" not in mapping.tables["deals"].columns
    assert findings_with(draft, "'Booked Value'", "0 or empty for all 10 lost deals")
    assert findings_with(draft, "NOTE", "no deal amount", "'Booked Value'")
    # "None" as a rival means no rival: mapped to blank
    assert mapping.tables["deals"].values["incumbent_vendor"] == {"none": ""}


def test_closed_sounding_stages_mapped_to_open_are_flagged(tmp_path: Path) -> None:
    stages = ["Closed Won", "Closed Lost", "Cancelled", "Discovery"]
    deals = write_csv(
        tmp_path,
        "deals.csv",
        small_deals(["2024-01-01"] * 4, ["2024-02-01", "2024-02-01", "", ""], stages),
    )
    draft = draft_mapping(deals)
    assert draft.document["tables"]["deals"]["values"]["outcome"]["Cancelled"] == "open"
    assert findings_with(draft, "TODO", "'Cancelled' sound like closed deals")
    assert draft.document["tables"]["deals"]["columns"]["stage"] == "Status"
