"""The leak screen of ``walkaway validate``: how well each export column alone tells won from lost.

A column known only after the close (a final value, a process duration, a margin) predicts the
outcome too well and must never be a feature. :func:`leak_table` scores every candidate column
of the closed deals on its own (ROC AUC, out of fold for text; see
:mod:`walkaway.data.column_signal`), and also whether being filled at all gives the outcome
away; :func:`leak_notes` says in words what a row of that table calls for.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd

from walkaway.data.cell_values import is_blank, normalise_category, parse_numbers
from walkaway.data.column_signal import (
    LEAK_AUC,
    SUSPECT_AUC,
    folded_auc,
    numbers_auc,
    out_of_fold_auc,
    pooled,
)
from walkaway.data.contracts import DEAL_COLUMNS
from walkaway.data.mapping import Mapping

MIN_CLOSED_FOR_AUC = 20  # closed deals, both outcomes present, before any AUC is computed


ID_LIKE_SHARE = 0.95  # a text column with this many distinct values per known value is an id


NUMERIC_SHARE = 0.95  # a column is numeric when this share of its filled cells are numbers


NOT_FEATURE_KINDS = frozenset({"id", "date", "outcome"})  # never leak candidates


def _per_distinct_value(
    values: pd.Series, transform: Callable[[pd.Series], pd.Series]
) -> pd.Series:
    """Apply a column transform to each distinct value once (exports repeat values a lot)."""
    codes, uniques = pd.factorize(values)
    done = transform(pd.Series(uniques, dtype=object)).to_numpy()
    result = pd.Series(done[codes], index=values.index)
    return result.where(codes >= 0, np.nan)


def _as_numbers(values: pd.Series, decimal: str) -> pd.Series:
    """Numbers as the contract reads them (:func:`~walkaway.data.cell_values.parse_numbers`);
    anything else is NaN.

    Examples
    --------
    >>> _as_numbers(pd.Series(["1,200", " $5 ", "n/a", None]), ".").tolist()
    [1200.0, 5.0, nan, nan]
    """
    return _per_distinct_value(values, lambda text: parse_numbers(text, decimal)).astype(float)


def _categories(values: pd.Series) -> pd.Series:
    """Categories compared as the contract compares them (trimmed, lower-cased)."""
    return _per_distinct_value(values, normalise_category)


LEAK_TABLE_COLUMNS = [
    "export_column",
    "mapped_to",
    "kind",
    "values",
    "auc",
    "filled_auc",
    "post_outcome",
    "flagged",
    "note",
]


def leak_table(
    raw_closed: pd.DataFrame, won: np.ndarray, mapping: Mapping, decimal: str = "."
) -> pd.DataFrame:
    """Single-column ROC AUC of each candidate export column for won vs lost.

    Candidates are every column of the deals file not mapped to an id, a date or the outcome,
    mapped or not. On the rows where a column is filled, a text column is scored by the
    out-of-fold win rate of its category (:func:`walkaway.data.column_signal.out_of_fold_rate`, rare
    categories pooled), so that many values cannot look predictive by memorising outcomes; a
    numeric column by the better of its values (either way round) and the out-of-fold win rate
    of its value bands (a duration that is short for quick wins and quick losses alike is not
    monotone). ``filled_auc`` scores whether the column is filled at all: a value recorded only
    for won deals gives the outcome away too. A column is flagged when either AUC reaches
    :data:`walkaway.data.column_signal.LEAK_AUC` or the mapping declares it post_outcome.

    Parameters
    ----------
    raw_closed
        The export's rows (as read) of closed deals that keep the contract.
    won
        1 for won, 0 for lost, aligned with ``raw_closed``.
    mapping
        The mapping the export is read with (which columns are what, and post_outcome).
    decimal
        The export's decimal mark, to read numbers as the contract does.

    Returns
    -------
    pandas.DataFrame
        One row per candidate column (see :class:`QualityReport`), strongest AUC first.

    Examples
    --------
    >>> from walkaway.data.mapping_document import parse_mapping
    >>> mapping = parse_mapping({"tables": {"deals": {"columns": {
    ...     "deal_id": "Id", "outcome": "Stage", "amount": "Amount"}}}})
    >>> won = np.random.default_rng(0).integers(0, 2, 200)
    >>> raw = pd.DataFrame({"Id": [f"D{i}" for i in range(200)], "Stage": won.astype(str),
    ...                     "Amount": [str(100 + i) for i in range(200)],
    ...                     "Final Value": [str(100 + i) if w else "0" for i, w in enumerate(won)],
    ...                     "Region": ["EMEA", "APAC"] * 100})
    >>> leak_table(raw, won, mapping)[["export_column", "kind", "auc", "flagged"]].round(2)
      export_column    kind   auc  flagged
    0   Final Value  number  1.00     True
    1        Amount  number  0.51    False
    2        Region    text  0.50    False
    """
    won = np.asarray(won, dtype=int)
    mapped_to: dict[str, list[str]] = {}
    for canonical, export in mapping.tables["deals"].columns.items():
        mapped_to.setdefault(export, []).append(canonical)
    candidates = [
        column
        for column in raw_closed.columns
        if not any(DEAL_COLUMNS[c].kind in NOT_FEATURE_KINDS for c in mapped_to.get(column, []))
    ]
    n_won = int(won.sum())
    enough = len(won) >= MIN_CLOSED_FOR_AUC and 0 < n_won < len(won)
    records = []
    for column in candidates:
        values = raw_closed[column].reset_index(drop=True)
        filled = ~is_blank(values).to_numpy()
        numbers = _as_numbers(values, decimal)
        numeric = filled.any() and numbers.notna().sum() >= NUMERIC_SHARE * filled.sum()
        # What the column's values are compared as: numbers, or categories as the contract
        # compares them.
        compared = numbers if numeric else _categories(values)
        distinct = int(compared.nunique())
        outcomes_filled = set(won[filled].tolist())
        auc, note = np.nan, ""
        if not enough:
            note = (
                f"too few closed deals ({n_won:,} won, {len(won) - n_won:,} lost): needs "
                f"{MIN_CLOSED_FOR_AUC} with both outcomes"
            )
        elif not filled.any():
            note = "empty on every closed deal"
        elif len(outcomes_filled) < 2:
            note = f"filled on {'won' if outcomes_filled == {1} else 'lost'} deals only"
        elif filled.sum() < MIN_CLOSED_FOR_AUC:
            note = f"filled on fewer than {MIN_CLOSED_FOR_AUC} closed deals"
        elif distinct < 2:
            note = "a single value, skipped"
        elif not numeric and distinct >= ID_LIKE_SHARE * filled.sum():
            note = "id-like (a different value on almost every row), skipped"
        else:
            auc = numbers_auc(numbers, won) if numeric else out_of_fold_auc(pooled(compared), won)
        kind = "id-like" if note.startswith("id-like") else "number" if numeric else "text"
        records.append(
            {
                "export_column": column,
                "mapped_to": ", ".join(mapped_to.get(column, [])),
                "kind": kind,
                "values": distinct,
                "auc": auc,
                "filled_auc": (
                    folded_auc(won, filled.astype(float))
                    if enough and 0 < filled.sum() < len(filled)
                    else np.nan
                ),
                "post_outcome": column in mapping.post_outcome,
                "note": note,
            }
        )
    frame = pd.DataFrame.from_records(records, columns=LEAK_TABLE_COLUMNS)
    frame["auc"] = frame["auc"].astype(float)
    strongest = frame[["auc", "filled_auc"]].max(axis=1)
    frame["flagged"] = (strongest >= LEAK_AUC) | frame["post_outcome"].astype(bool)
    order = strongest.fillna(-1.0).sort_values(ascending=False, kind="stable").index
    return frame.loc[order, LEAK_TABLE_COLUMNS].reset_index(drop=True)


def leak_notes(row: Any) -> list[str]:
    """What one row of the leak table calls for, if anything."""
    column, auc, filled_auc = row.export_column, row.auc, row.filled_auc
    if row.post_outcome:
        return []
    if row.flagged:
        by_values = not np.isnan(auc) and auc >= LEAK_AUC
        evidence = (
            f"alone predicts the outcome (AUC {auc:.3f})"
            if by_values
            else f"being filled or empty predicts the outcome (AUC {filled_auc:.3f})"
        )
        if row.mapped_to:
            return [
                f"column '{column}' {evidence}: it looks known only after the close, yet it "
                f"is mapped to {row.mapped_to}; map {row.mapped_to} to a column known while the "
                "deal is open, or leave it unmapped and declare it post_outcome"
            ]
        return [f"column '{column}' {evidence}: declare it post_outcome"]
    if not np.isnan(auc) and auc >= SUSPECT_AUC:
        return [
            f"column '{column}' alone separates won from lost with AUC {auc:.3f}: check that "
            "it is known while the deal is open (a process duration or a final value is not)"
        ]
    return []
