"""Tests of drafting a mapping from an export (walkaway.data.drafting.draft, `walkaway mapping init`).

The helpers here (small exports, findings lookup) serve the other drafting tests too.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from tests.shared_data import IBM_EXPORT, MAVEN, needs
from walkaway.data.contracts import ContractError
from walkaway.data.drafting.draft import MappingDraft, draft_mapping
from walkaway.data.exports import load_history
from walkaway.data.mapping_document import parse_mapping
from walkaway.data.mapping_files import load_mapping

IBM = IBM_EXPORT


def findings_with(draft: MappingDraft, *fragments: str) -> list[str]:
    """The findings that hold every fragment."""
    return [f for f in draft.findings if all(fragment in f for fragment in fragments)]


def write_csv(folder: Path, name: str, rows: dict[str, list[object]]) -> Path:
    path = folder / name
    pd.DataFrame(rows).to_csv(path, index=False)
    return path


def small_deals(
    created: list[str], closed: list[str], stages: list[str] | None = None
) -> dict[str, list[object]]:
    """A tiny deals export with the given dates (and stages, all won/lost by default)."""
    n = len(created)
    return {
        "Deal ID": [f"D{i}" for i in range(n)],
        "Customer": [f"C{i % 3}" for i in range(n)],
        "Created On": created,
        "Closed On": closed,
        "Status": stages or ["Won", "Lost"] * (n // 2) + ["Won"] * (n % 2),
        "Amount": [100 * (i + 1) for i in range(n)],
    }


# --------------------------------------------------------------------------- the synthetic export


def test_synthetic_draft_validates_and_finds_ids_outcome_dates_amount(
    synthetic_draft: MappingDraft,
) -> None:
    document = synthetic_draft.document
    mapping = parse_mapping(document)
    deals = mapping.tables["deals"]
    assert deals.file == "deals.csv"
    assert deals.columns["deal_id"] == "Opportunity ID"
    assert deals.columns["account_id"] == "Account ID"
    assert deals.columns["outcome"] == "Stage"
    assert deals.columns["amount"] == "Amount"
    assert (deals.columns["created_date"], deals.columns["closed_date"]) == (
        "Created Date",
        "Close Date",
    )
    assert mapping.date_format == "%d/%m/%Y"
    assert deals.values["outcome"] == {
        "closed won": "won",
        "closed lost": "lost",
        "prospecting": "open",
        "qualification": "open",
        "proposal/price quote": "open",
        "negotiation/review": "open",
    }
    assert set(mapping.post_outcome) == {"Churn Date", "Gross Margin %", "Regret Flag"}
    (open_values,) = findings_with(synthetic_draft, "TODO", "mapped to open")
    assert "'Prospecting'" in open_values and "'Negotiation/Review'" in open_values


def test_synthetic_draft_equals_the_hand_written_mapping(synthetic_draft: MappingDraft) -> None:
    """On walkaway's own export, the draft finds every column the shipped mapping maps."""
    drafted = parse_mapping(synthetic_draft.document)
    shipped = load_mapping("synthetic-crm")
    for table in ("deals", "accounts", "products"):
        assert drafted.tables[table].columns == shipped.tables[table].columns, table
    assert set(drafted.post_outcome) == set(shipped.post_outcome)


def test_synthetic_export_loads_through_the_drafted_yaml(
    synthetic_export: Path, synthetic_draft: MappingDraft, tmp_path: Path
) -> None:
    yaml_path = tmp_path / "drafted.yaml"
    yaml_path.write_text(synthetic_draft.to_yaml(), encoding="utf-8")
    history = load_history(synthetic_export, mapping=yaml_path)
    assert len(history.deals) == 1500
    assert set(history.deals["outcome"]) == {"won", "lost", "open"}
    assert history.accounts is not None and history.products is not None
    assert history.mapping.post_outcome == ("Churn Date", "Regret Flag", "Gross Margin %")


def test_findings_put_todo_first(synthetic_draft: MappingDraft) -> None:
    kinds = [f.split(":")[0] for f in synthetic_draft.findings]
    assert kinds == sorted(kinds, key=lambda kind: kind != "TODO")
    assert set(kinds) <= {"TODO", "NOTE"}


# --------------------------------------------------------------------------- bad input


def test_bad_input_says_what_is_wrong(tmp_path: Path) -> None:
    with pytest.raises(ContractError, match="file not found"):
        draft_mapping(tmp_path / "missing.csv")
    with pytest.raises(ValueError, match="sample_rows"):
        draft_mapping(tmp_path / "missing.csv", sample_rows=0)


# --------------------------------------------------------------------------- public exports


@needs(MAVEN)
def test_maven_export() -> None:
    draft = draft_mapping(
        MAVEN / "sales_pipeline.csv",
        accounts=MAVEN / "accounts.csv",
        products=MAVEN / "products.csv",
    )
    mapping = parse_mapping(draft.document)
    deals = mapping.tables["deals"]
    assert deals.columns["deal_id"] == "opportunity_id"
    assert deals.columns["account_id"] == "account"
    assert deals.columns["outcome"] == "deal_stage"
    assert deals.values["outcome"] == {
        "won": "won",
        "lost": "lost",
        "engaging": "open",
        "prospecting": "open",
    }
    assert (deals.columns["created_date"], deals.columns["closed_date"]) == (
        "engage_date",
        "close_date",
    )
    assert mapping.date_format == "%Y-%m-%d"
    assert mapping.post_outcome == ("close_value",)
    assert "close_value" not in deals.columns.values()
    assert findings_with(draft, "'close_value' listed as post_outcome", "lost deals")
    assert deals.values["product"] == {"gtxpro": "GTX Pro"}
    assert findings_with(draft, "TODO", "'GTXPro'", "'GTX Pro'")
    assert mapping.tables["accounts"].columns["account_id"] == "account"
    assert findings_with(draft, "accounts.csv: key 'account'", "100%")
    assert mapping.tables["products"].columns["product"] == "product"


@needs(IBM_EXPORT)
def test_ibm_export() -> None:
    draft = draft_mapping(IBM)
    mapping = parse_mapping(draft.document)
    deals = mapping.tables["deals"]
    assert deals.columns["deal_id"] == "Opportunity Number"
    assert deals.columns["outcome"] == "Opportunity Result"
    assert deals.values["outcome"] == {"won": "won", "loss": "lost"}
    assert deals.columns["amount"] == "Opportunity Amount USD"
    assert set(mapping.post_outcome) == {
        "Elapsed Days In Sales Stage",
        "Sales Stage Change Count",
        "Total Days Identified Through Closing",
        "Total Days Identified Through Qualified",
        "Ratio Days Identified To Total Days",
        "Ratio Days Validated To Total Days",
        "Ratio Days Qualified To Total Days",
    }
    assert not set(mapping.post_outcome) & set(deals.columns.values())
    assert mapping.date_format is None
    assert findings_with(draft, "no date columns", "time-ordered holdout")
    assert findings_with(draft, "TODO", "'Opportunity Number'", "repeat")


def test_cli_mapping_init_writes_a_mapping_that_loads(
    tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    from walkaway.cli import main
    from walkaway.data.exports import load_history
    from walkaway.data.synth import write_synthetic_history

    export = tmp_path / "export"
    write_synthetic_history(export, n_deals=400, seed=2)
    out = tmp_path / "draft.yaml"
    args = [
        "mapping",
        "init",
        str(export / "deals.csv"),
        "--accounts",
        str(export / "accounts.csv"),
    ]
    assert main([*args, "--out", str(out)]) == 0
    assert "TODO to settle" in capsys.readouterr().out
    assert len(load_history(export, mapping=out).deals) == 400
    assert main([*args, "--out", str(out)]) == 1  # never overwrites a mapping that may hold edits
    assert "exists" in capsys.readouterr().err
