"""Mappings: how one CRM's export becomes walkaway's canonical tables.

A mapping is a small YAML file. It names the file of each table, the export column behind each
canonical column, value maps (``Closed Won -> won``), the export's date format, the columns
that are only known after the outcome (labels, never features) and the regret horizon::

    name: my-crm
    date_format: "%d/%m/%Y"          # strptime format; inferred from the values when omitted
    delimiter: ";"                   # of the CSV files; detected when omitted
    decimal: ","                     # decimal mark of the numbers; detected when omitted
    na_values: ["N/A", "-"]          # texts meaning missing (an empty cell always is)
    signs: {product: need_fit}       # a built-in column's features counted in another sign
    export_date: 2025-12-31          # when the export was taken (default: its latest real event)
    post_outcome: [Gross Margin %]   # export columns known only after the deal closed
    regret: {horizon_days: 365}
    tables:
      deals:
        file: deals.csv
        columns: {deal_id: Opportunity ID, outcome: Stage, ...}
        values:
          outcome: {Closed Won: won, Closed Lost: lost, Prospecting: open}
      accounts: {file: accounts.csv, columns: {account_id: Account ID, industry: Industry}}

Value maps match case-insensitively on trimmed text; a value they do not list passes through
unchanged, so the contract can say what is wrong with it.

This module holds what a mapping is (:class:`Mapping` and its tables) and how it is applied to
an export's raw table (:func:`apply_mapping`). Reading the YAML document into a mapping, with
its one-line error messages, is :mod:`walkaway.data.mapping_document`; finding a mapping file
(by path, by a shipped name, or the shipped one an export fits) is
:mod:`walkaway.data.mapping_files`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from walkaway.data.contracts import TABLE_COLUMNS, ContractError, Problem, extra_column
from walkaway.data.labels import RegretRule

ROW_NUMBER = "row_number"  # ``deal_id: row_number``: an export without an id column

DEFAULT_FILES = {
    "deals": "deals",
    "accounts": "accounts",
    "products": "products",
    "deal_history": "deal_history",
}


@dataclass(frozen=True)
class TableMapping:
    """How one table of the export maps to a canonical table."""

    file: str
    columns: dict[str, str]  # canonical -> export column
    values: dict[str, dict[str, str]] = field(default_factory=dict)
    features: dict[str, str] = field(default_factory=dict)  # extra export column -> its sign
    # Deals of an export without an id column: ids from the row numbers (``row_number``) or
    # from a combination of columns (``deal_id: [Company, Opened]``).
    id_from: tuple[str, ...] = ()

    def deal_ids(self, raw: pd.DataFrame) -> pd.Series:
        """The ids ``id_from`` gives the rows of ``raw`` (indexed by source row number).

        Examples
        --------
        >>> raw = pd.DataFrame({"Co": ["Acme", "Beta"], "Day": ["1 May", None]}, index=[2, 3])
        >>> TableMapping("d.csv", {}, id_from=(ROW_NUMBER,)).deal_ids(raw).tolist()
        ['row-2', 'row-3']
        >>> TableMapping("d.csv", {}, id_from=("Co", "Day")).deal_ids(raw).tolist()
        ['Acme | 1 May', 'Beta | ']
        """
        if self.id_from == (ROW_NUMBER,):
            return pd.Series([f"row-{row}" for row in raw.index], index=raw.index, dtype=object)
        parts = raw[list(self.id_from)].astype("string").fillna("").apply(lambda c: c.str.strip())
        joined = parts.agg(" | ".join, axis=1).astype(object)
        return joined.where(parts.ne("").any(axis=1), np.nan)

    def id_note(self, file: str) -> str | None:
        """Where the deal ids came from, when the export has no id column."""
        if self.id_from == (ROW_NUMBER,):
            return (
                f"{file}: deal ids are the rows' numbers (row-2 is the first deal; the mapping "
                "says deal_id: row_number): they name a deal in this file only"
            )
        if self.id_from:
            return f"{file}: deal ids are built from the columns {' + '.join(self.id_from)}"
        return None


@dataclass(frozen=True)
class RelatedTable:
    """Another table of the export (sales teams, say), joined onto deals to add features."""

    file: str
    key: str  # the related table's own column
    on: str  # the canonical deals column its key matches
    features: dict[str, str] = field(default_factory=dict)  # its column -> sign


@dataclass(frozen=True)
class Mapping:
    """A validated mapping file."""

    name: str
    tables: dict[str, TableMapping]
    date_format: str | None = None
    post_outcome: tuple[str, ...] = ()
    regret_horizon_days: int = 365
    regret_rule: RegretRule = field(default_factory=RegretRule)
    source: str = field(default="<built-in>", compare=False)  # where it was read from
    related: dict[str, RelatedTable] = field(default_factory=dict)  # e.g. sales teams
    dated: bool = True  # False: the export has no dates (no time-ordered split is possible)
    drop_duplicates: bool = False  # True: repeated deal rows are dropped and reported, not errors
    export_date: pd.Timestamp | None = None  # set by hand; else the latest real event
    delimiter: str | None = None  # of the CSV files; detected when None
    decimal: str | None = None  # the numbers' decimal mark; detected when None
    chosen_because: str = field(default="", compare=False)  # why a run used it, for summaries
    # Texts that mean "missing" in this export (besides an empty cell), e.g. ["N/A", "-"]. Not
    # guessed: "NA" is North America in a region column.
    na_values: tuple[str, ...] = ()
    signs: dict[str, str] = field(default_factory=dict)  # canonical column -> another sign

    def to_document(self) -> dict[str, Any]:
        """The mapping as a document :func:`~walkaway.data.mapping_document.parse_mapping`
        reads back into an equal mapping (logged with a model, so that scoring reads the export
        the way training did).

        Examples
        --------
        >>> from walkaway.data.mapping_document import parse_mapping
        >>> from walkaway.data.mapping_files import load_mapping
        >>> mapping = load_mapping("synthetic-crm")
        >>> parse_mapping(mapping.to_document()) == mapping
        True
        """
        tables: dict[str, Any] = {
            name: {
                "file": table.file,
                "columns": {**dict(table.columns), **_id_document(table.id_from)},
                **({"values": table.values} if table.values else {}),
                **({"features": dict(table.features)} if table.features else {}),
            }
            for name, table in self.tables.items()
        }
        for name, table in self.related.items():
            tables[name] = {
                "file": table.file,
                "join": {"key": table.key, "deals_column": table.on},
                "features": dict(table.features),
            }
        rule = self.regret_rule
        document: dict[str, Any] = {
            "name": self.name,
            "date_format": self.date_format,
            "dates": "present" if self.dated else "none",
            "duplicates": "drop" if self.drop_duplicates else "reject",
            "delimiter": self.delimiter,
            "decimal": self.decimal,
            "export_date": None if self.export_date is None else str(self.export_date.date()),
            "post_outcome": list(self.post_outcome),
            "na_values": list(self.na_values) or None,
            "signs": dict(self.signs) or None,
            "regret": {
                "horizon_days": self.regret_horizon_days,
                "churn": rule.churn,
                "flag": rule.flag,
                "margin_below": rule.margin_below,
                "support_cost_share": rule.support_cost_share,
            },
            "tables": tables,
        }
        return {key: value for key, value in document.items() if value is not None}

    def source_names(self, table: str) -> dict[str, str]:
        """Canonical column -> export column of one table, for messages."""
        if table not in self.tables:
            return {}
        names = dict(self.tables[table].columns)
        names.update({extra_column(e): e for e in self.tables[table].features})
        if self.tables[table].id_from:
            names["deal_id"] = " + ".join(self.tables[table].id_from)
        return names

    def extra_features(self) -> dict[str, tuple[str, str]]:
        """Extra feature columns (canonical name -> (sign, export name)) of deals, accounts and
        related tables."""
        extras = {
            extra_column(export): (sign, export)
            for table in ("deals", "accounts")
            if table in self.tables
            for export, sign in self.tables[table].features.items()
        }
        for related in self.related.values():
            extras.update({extra_column(e): (sign, e) for e, sign in related.features.items()})
        return extras


def _id_document(id_from: tuple[str, ...]) -> dict[str, str | list[str]]:
    if not id_from:
        return {}
    return {"deal_id": ROW_NUMBER if id_from == (ROW_NUMBER,) else list(id_from)}


def canonical_mapping() -> Mapping:
    """The identity mapping: the export already uses walkaway's canonical names."""
    tables = {
        table: TableMapping(f"{stem}.csv", {c: c for c in TABLE_COLUMNS[table]})
        for table, stem in DEFAULT_FILES.items()
    }
    return Mapping(name="canonical", tables=tables)


def apply_mapping(raw: pd.DataFrame, mapping: Mapping, table: str, file: str) -> pd.DataFrame:
    """Rename an export table's columns to canonical names and apply the value maps.

    A mapped column the export does not have is a :class:`ContractError` when the canonical
    column is required, and is simply absent otherwise.
    """
    table_mapping = mapping.tables[table]
    specs = TABLE_COLUMNS[table]
    undated = set() if mapping.dated else {"created_date", "closed_date"}
    absent = [
        (canonical, export)
        for canonical, export in table_mapping.columns.items()
        if export not in raw.columns and specs[canonical].required and canonical not in undated
    ]
    if absent:
        shown = ", ".join(f"'{export}' ({canonical})" for canonical, export in absent)
        why = f" ({mapping.chosen_because})" if mapping.chosen_because else ""
        rule = f"missing required column {shown} of the mapping {mapping.name}{why}"
        raise ContractError([Problem(file, None, None, rule)])
    missing_parts = [c for c in table_mapping.id_from if c != ROW_NUMBER and c not in raw]
    if missing_parts:
        shown = ", ".join(f"'{c}'" for c in missing_parts)
        rule = f"missing column {shown} (the mapping {mapping.name} builds deal ids from it)"
        raise ContractError([Problem(file, None, None, rule)])
    if mapping.na_values:
        raw = raw.mask(_is_na_text(raw, mapping.na_values))
    canonical = pd.DataFrame(index=raw.index)
    if table_mapping.id_from:
        canonical["deal_id"] = table_mapping.deal_ids(raw)
    for name, export in table_mapping.columns.items():
        if export in raw.columns:
            canonical[name] = raw[export]
    for export, _ in table_mapping.features.items():
        if export not in raw.columns:
            raise ContractError([Problem(file, None, None, f"missing feature column '{export}'")])
        canonical[extra_column(export)] = raw[export]
    for name, value_map in table_mapping.values.items():
        if name in canonical:
            key = canonical[name].astype("string").str.strip().str.lower()
            mapped = key.map(value_map)
            canonical[name] = mapped.where(mapped.notna(), canonical[name])
    return canonical


def _is_na_text(raw: pd.DataFrame, na_values: tuple[str, ...]) -> pd.DataFrame:
    """Cells whose trimmed text is one of ``na_values`` (any case)."""
    wanted = {v.strip().lower() for v in na_values}
    return raw.apply(
        lambda c: c.astype("string").str.strip().str.lower().isin(wanted).fillna(False)
    ).astype(bool)
