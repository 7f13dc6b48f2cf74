"""Tests of drafting the deals' dates and their format (walkaway.data.drafting.dates)."""

from __future__ import annotations

from pathlib import Path

from tests.data.drafting.test_draft import findings_with, small_deals, write_csv
from walkaway.data.drafting.draft import draft_mapping
from walkaway.data.mapping_document import parse_mapping


def test_dates_readable_both_ways_are_reported(tmp_path: Path) -> None:
    deals = write_csv(
        tmp_path,
        "deals.csv",
        small_deals(["01/02/2024", "03/04/2024", "05/06/2024"], ["02/03/2024", "04/05/2024", ""]),
    )
    draft = draft_mapping(deals)
    assert draft.document["date_format"] in ("%d/%m/%Y", "%m/%d/%Y")
    assert findings_with(draft, "TODO", "%d/%m/%Y and %m/%d/%Y")
    parse_mapping(draft.document)


def test_month_first_dates_are_told_apart_by_their_values(tmp_path: Path) -> None:
    deals = write_csv(
        tmp_path,
        "deals.csv",
        small_deals(["01/13/2024", "02/20/2024"], ["03/14/2024", "04/25/2024"]),
    )
    draft = draft_mapping(deals)
    assert draft.document["date_format"] == "%m/%d/%Y"
    assert not findings_with(draft, "read equally")


def test_no_dates_says_a_time_ordered_holdout_is_impossible(tmp_path: Path) -> None:
    rows = small_deals(["x"] * 4, ["y"] * 4)
    del rows["Created On"], rows["Closed On"]
    draft = draft_mapping(write_csv(tmp_path, "deals.csv", rows))
    assert "date_format" not in draft.document
    assert findings_with(draft, "no date columns", "time-ordered holdout")
    if draft.document.get("dates") == "none":  # the mapping format can say "no dates"
        assert not parse_mapping(draft.document).dated
    else:
        assert findings_with(draft, "TODO", "lacks required column(s) created_date, closed_date")
    parse_mapping(draft.document)
