"""The leak screen: one column alone, won vs lost."""

from __future__ import annotations

import numpy as np
import pandas as pd

from walkaway.data.leak_screen import leak_notes, leak_table
from walkaway.data.mapping import canonical_mapping


def closed_deals(values: list[str]) -> tuple[pd.DataFrame, np.ndarray]:
    won = np.tile([1, 0], len(values) // 2)
    raw = pd.DataFrame({"deal_id": [f"D{i}" for i in range(len(values))], "Final Value": values})
    return raw, won


def test_numbers_with_a_decimal_comma_are_read_as_the_contract_reads_them() -> None:
    # Won deals end at 1.000,5 and more, lost ones at 0,5: a leak, if read as numbers.
    values = [v for i in range(30) for v in (f"1.{i:03d},5", f"0,{i % 9 + 1}")]
    raw, won = closed_deals(values)
    table = leak_table(raw, won, canonical_mapping(), decimal=",").set_index("export_column")
    assert table.loc["Final Value", "kind"] == "number"
    assert table.loc["Final Value", "flagged"]
    # Read with a decimal point, '1.000,5' is not a number: the column is text, never half-read.
    as_point = leak_table(raw, won, canonical_mapping(), decimal=".").set_index("export_column")
    assert as_point.loc["Final Value", "kind"] != "number"


def test_a_flagged_unmapped_column_is_to_be_declared_post_outcome() -> None:
    values = [v for i in range(30) for v in (f"{1000 + i}", f"{i}")]
    raw, won = closed_deals(values)
    row = next(leak_table(raw, won, canonical_mapping()).itertuples(index=False))
    assert row.export_column == "Final Value"
    assert leak_notes(row) == [
        f"column 'Final Value' alone predicts the outcome (AUC {row.auc:.3f}): declare it "
        "post_outcome"
    ]
