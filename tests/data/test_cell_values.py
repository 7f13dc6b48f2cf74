"""The cell parsers: numbers, dates, flags, categories, capabilities."""

from __future__ import annotations

import numpy as np
import pandas as pd

from walkaway.data.cell_values import normalise_category, parse_capabilities, parse_flags


def test_normalise_category() -> None:
    values = pd.Series(["  EMEA ", "emea", "North\t America", "", "   ", None, np.nan])
    result = normalise_category(values).tolist()
    assert result[:3] == ["emea", "emea", "north america"]
    assert all(pd.isna(v) for v in result[3:])


def test_parse_capabilities() -> None:
    assert parse_capabilities(" SSO ;API  Access,, ;forecasting") == frozenset(
        {"sso", "api access", "forecasting"}
    )
    assert parse_capabilities("") == frozenset()
    assert parse_capabilities(float("nan")) == frozenset()
    assert parse_capabilities(3) == frozenset()


def test_parse_flags_reads_yes_no_words_in_any_case_and_nothing_else() -> None:
    values = pd.Series([" YES ", "y", "True", "1.0", "No", "F", "0", "nope", "", None])
    assert parse_flags(values).tolist()[:7] == [True, True, True, True, False, False, False]
    assert parse_flags(values).iloc[7:].isna().all()
