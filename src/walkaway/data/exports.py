"""Reading a CRM export, in one pass: file -> raw frame -> mapping applied -> contract checked.

Every table of an export, for training and for scoring alike, goes through the same steps,
each owned by one module:

1. :mod:`walkaway.data.raw_files` reads the file (CSV in its dialect, or Parquet) into text,
   each row numbered as the file numbers it;
2. :func:`walkaway.data.mapping.apply_mapping` renames the export's columns to canonical ones;
3. :func:`walkaway.data.contracts.check_table` parses every value and checks the rules, giving
   the canonical rows that keep the contract and a problem for each row that does not.

:func:`check_raw` runs steps 2 and 3 on a raw frame (the batch job calls it chunk by chunk);
:func:`read_checked` runs all three on a whole file; :func:`load_history` reads a training
export with them. Every failure becomes a :class:`~walkaway.data.contracts.ContractError` whose
message names the file, and where it can the row, the column and the rule: a user never sees a
traceback for bad input.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np
import pandas as pd

from walkaway.data.contracts import CheckedTable, ContractError, Problem, check_table, extra_column
from walkaway.data.history import History, join_related, join_stage_history
from walkaway.data.mapping import Mapping, RelatedTable, apply_mapping
from walkaway.data.mapping_files import detect_mapping, load_mapping
from walkaway.data.raw_files import export_file, header, is_part_folder, read_dialect, read_table


def resolve_mapping(
    history: Path, mapping: str | Path | None, remembered: Mapping | None = None
) -> Mapping:
    """The mapping to read an export with, and why (``chosen_because``), in this order: the one
    given; the one a model was trained with (``remembered``, when scoring); a ``mapping.yaml``
    beside the export; the shipped mapping whose columns the export has; canonical names."""
    table = history.is_file() or is_part_folder(history)  # one table, not an export's folder
    folder = history.parent if table else history
    beside = folder / "mapping.yaml"
    if mapping is not None:
        return replace(load_mapping(mapping), chosen_because="given with --mapping")
    if remembered is not None:
        because = "the mapping the model was trained with"
        if beside.is_file() and load_mapping(beside) == remembered:
            because += f", the same as {beside.name} beside the export"
        elif beside.is_file():
            because += f"; {beside.name} beside the export differs and is not used: pass "
            because += "--mapping for it"
        return replace(remembered, chosen_because=because)
    if beside.is_file():
        return replace(load_mapping(beside), chosen_because=f"{beside.name} beside the export")
    if table:
        return detect_mapping({}, deals_header=header(history))
    return detect_mapping({p.name: header(p) for p in sorted(folder.iterdir()) if p.is_file()})


def drop_repeats(raw: pd.DataFrame, key: str, file: str) -> tuple[pd.DataFrame, list[str]]:
    """Drop rows repeated exactly (keeping the first), and every row of an id repeated with
    different values (which one is right cannot be known); say what was dropped.

    Examples
    --------
    >>> raw = pd.DataFrame({"id": ["a", "a", "b", "b", "c"], "v": [1, 1, 2, 3, 4]})
    >>> kept, notes = drop_repeats(raw, "id", "deals.csv")
    >>> kept["id"].tolist()
    ['a', 'c']
    >>> notes[1]
    "deals.csv: 2 rows share a deal id with different values and were left out (e.g. id 'b' at rows 2, 3)"
    """
    if key not in raw.columns:
        return raw, []
    notes = []
    exact = raw.duplicated(keep="first")
    if exact.any():
        notes.append(
            f"{file}: {int(exact.sum())} rows repeat an earlier row exactly and were dropped"
        )
    kept = raw[~exact]
    conflicting = kept[key].notna() & kept.duplicated(subset=[key], keep=False)
    if conflicting.any():
        first = kept.loc[conflicting, key].iloc[0]
        rows = ", ".join(map(str, kept.index[kept[key] == first][:3]))
        notes.append(
            f"{file}: {int(conflicting.sum())} rows share a deal id with different values and "
            f"were left out (e.g. id '{first}' at rows {rows})"
        )
    return kept[~conflicting], notes


def check_raw(
    raw: pd.DataFrame,
    mapping: Mapping,
    table: str,
    file: str,
    *,
    decimal: str,
    date_format: str | None = None,
    unique: bool = True,
) -> CheckedTable:
    """Steps 2 and 3 of reading: apply ``mapping`` to a raw frame of ``table``, then check the
    contract.

    ``date_format`` overrides the mapping's (the batch job fixes it on its first chunk so that
    every chunk reads dates alike). ``unique=False`` leaves the table's key unchecked, for the
    chunks of a file whose repeats are tracked across chunks; a deal history is never unique
    (one row per change)."""
    canonical = apply_mapping(raw, mapping, table, file)
    return check_table(
        canonical,
        table,
        file,
        mapping.source_names(table),
        date_format or mapping.date_format,
        unique=unique and table != "deal_history",
        dated=mapping.dated,
        decimal=decimal,
    )


def read_checked(
    path: Path, mapping: Mapping, table: str, notes: list[str] | None = None
) -> CheckedTable:
    """Read one table of an export, map it and check it against the contract. For deals of a
    mapping with ``duplicates: drop``, repeated rows are dropped first and ``notes`` says so."""
    dialect = read_dialect(path, mapping.delimiter, mapping.decimal)
    raw = read_table(path, dialect)
    if notes is not None:
        notes.extend(dialect.notes)
    if table == "deals" and mapping.drop_duplicates:
        id_column = mapping.tables["deals"].columns.get("deal_id", "deal_id")
        raw, dropped = drop_repeats(raw, id_column, path.name)
        if notes is not None:
            notes.extend(dropped)
    checked = check_raw(raw, mapping, table, path.name, decimal=dialect.decimal)
    if notes is not None:
        notes.extend(checked.notes)
    return checked


def load_related(folder: Path, mapping: Mapping) -> dict[str, tuple[RelatedTable, pd.DataFrame]]:
    """The related tables of a mapping (sales teams, say): each one's key and feature columns.

    Raises
    ------
    ContractError
        A related file the mapping names is missing, or lacks its key or a feature column.
    """
    tables = {}
    for name, table in mapping.related.items():
        path = export_file(folder, table.file)
        raw = read_table(path, read_dialect(path, mapping.delimiter, mapping.decimal))
        missing = [c for c in [table.key, *table.features] if c not in raw.columns]
        if missing:
            shown = ", ".join(f"'{c}'" for c in missing)
            rule = f"missing column {shown} (tables.{name} of the mapping joins on or uses it)"
            raise ContractError([Problem(path.name, None, None, rule)])
        frame = raw[[table.key, *table.features]].astype(object)
        tables[name] = (table, frame.rename(columns={c: extra_column(c) for c in table.features}))
    return tables


def load_history(history: Path, mapping: str | Path | None = None) -> History:
    """Read a CRM history export: a folder holding the mapping's files, or one deals file.

    Raises
    ------
    ContractError
        On the first unreadable file or, listing the first, on any row breaking the contract.
    """
    history = Path(history)
    if not history.exists():
        raise ContractError([Problem(history.name, None, None, f"not found: {history}")])
    chosen = resolve_mapping(history, mapping)
    folder = history if history.is_dir() else history.parent
    tables: dict[str, pd.DataFrame] = {}
    notes: list[str] = []
    spellings: dict[str, dict[str, str]] = {}
    for table, table_mapping in chosen.tables.items():
        path = (
            history
            if (table == "deals" and history.is_file())
            else export_file(folder, table_mapping.file)
        )
        if table != "deals" and not path.exists():
            continue  # accounts, products and a deal history are optional
        checked = read_checked(path, chosen, table, notes)
        if checked.problems:
            raise ContractError(checked.problems)
        tables[table] = checked.frame
        if table in ("deals", "accounts"):
            spellings.update(checked.spellings)
    deals = tables["deals"]
    deals_file = history.name if history.is_file() else chosen.tables["deals"].file
    id_note = chosen.tables["deals"].id_note(deals_file)
    notes += [id_note] if id_note else []
    for column in ("created_date", "closed_date"):  # an export without dates: all unknown
        if column not in deals:
            deals[column] = pd.Series(pd.NaT, index=deals.index, dtype="datetime64[ns]")
    if "account_id" not in deals:  # an export without accounts
        deals["account_id"] = pd.Series(np.nan, index=deals.index, dtype=object)
    deals, unmatched = join_related(deals, load_related(folder, chosen))
    notes += unmatched
    history_file = chosen.tables["deal_history"].file if "deal_history" in chosen.tables else ""
    deals, unknown = join_stage_history(deals, tables.get("deal_history"), history_file)
    notes += unknown
    return History(
        deals=deals,
        accounts=tables.get("accounts"),
        products=tables.get("products"),
        mapping=chosen,
        source=str(history),
        notes=notes,
        spellings=spellings,
    )
