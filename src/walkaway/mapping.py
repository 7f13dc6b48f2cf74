"""Mappings: how one CRM's export becomes walkaway's canonical tables.

A mapping is a small YAML file. It names the file of each table, the export column behind each
canonical column, value maps (``Closed Won -> won``), the export's date format, the columns
that are only known after the outcome (labels, never features) and the regret horizon::

    name: my-crm
    date_format: "%d/%m/%Y"          # strptime format; inferred from the values when omitted
    delimiter: ";"                   # of the CSV files; detected when omitted
    decimal: ","                     # decimal mark of the numbers; detected when omitted
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
unchanged, so the contract can say what is wrong with it. walkaway ships mappings (see
:func:`shipped_mappings`) and picks the one whose columns an export has when none is given.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from importlib import resources
from pathlib import Path
from typing import Any

import pandas as pd
import yaml

from walkaway.contracts import TABLE_COLUMNS, ContractError, Problem, extra_column
from walkaway.csv_dialect import DECIMALS, DELIMITERS
from walkaway.labels import RegretRule
from walkaway.signs import GROUPS

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
    source: str = "<built-in>"
    related: dict[str, RelatedTable] = field(default_factory=dict)  # e.g. sales teams
    dated: bool = True  # False: the export has no dates (no time-ordered split is possible)
    drop_duplicates: bool = False  # True: repeated deal rows are dropped and reported, not errors
    export_date: pd.Timestamp | None = None  # set by hand; else the latest real event
    delimiter: str | None = None  # of the CSV files; detected when None
    decimal: str | None = None  # the numbers' decimal mark; detected when None

    def source_names(self, table: str) -> dict[str, str]:
        """Canonical column -> export column of one table, for messages."""
        if table not in self.tables:
            return {}
        names = dict(self.tables[table].columns)
        names.update({extra_column(e): e for e in self.tables[table].features})
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


def canonical_mapping() -> Mapping:
    """The identity mapping: the export already uses walkaway's canonical names."""
    tables = {
        table: TableMapping(f"{stem}.csv", {c: c for c in TABLE_COLUMNS[table]})
        for table, stem in DEFAULT_FILES.items()
    }
    return Mapping(name="canonical", tables=tables)


def load_mapping(path: Path | str) -> Mapping:
    """Read and validate a mapping file, or a shipped mapping by name (e.g. ``synthetic-crm``).

    Raises
    ------
    ContractError
        Naming the file, the key and the rule when the mapping is wrong.
    """
    shipped = shipped_mappings()
    if str(path) in shipped:
        path = shipped[str(path)]
    path = Path(path)
    if not path.is_file():
        names = ", ".join(sorted(shipped))
        raise ContractError([Problem(str(path), None, None, f"no such mapping (shipped: {names})")])
    try:
        document = yaml.safe_load(path.read_text(encoding="utf-8"))
    except UnicodeDecodeError:
        raise ContractError([Problem(path.name, None, None, "not a UTF-8 text file")]) from None
    except yaml.YAMLError as error:
        line = getattr(getattr(error, "problem_mark", None), "line", None)
        where = f" at line {line + 1}" if line is not None else ""
        raise ContractError([Problem(path.name, None, None, f"not valid YAML{where}")]) from None
    return parse_mapping(document, source=path.name)


def parse_mapping(document: Any, source: str = "<mapping>") -> Mapping:
    """Validate a mapping document (already parsed YAML) and build a :class:`Mapping`.

    Examples
    --------
    >>> m = parse_mapping({"name": "x", "tables": {"deals": {"file": "d.csv",
    ...     "columns": {"deal_id": "Id"}}}})
    >>> m.tables["deals"].columns
    {'deal_id': 'Id'}
    >>> parse_mapping({"tables": {"deals": {"columns": {"colour": "C"}}}})
    Traceback (most recent call last):
    ...
    walkaway.contracts.ContractError: <mapping>: tables.deals.columns: 'colour' is not a canonical deals column
    """

    def fail(rule: str) -> ContractError:
        return ContractError([Problem(source, None, None, rule)])

    if not isinstance(document, dict):
        raise fail("a mapping is a YAML mapping with a 'tables' key")
    unknown = set(document) - {
        "name",
        "description",
        "date_format",
        "dates",
        "decimal",
        "delimiter",
        "duplicates",
        "export_date",
        "post_outcome",
        "regret",
        "tables",
    }
    if unknown:
        raise fail(f"unknown key(s) {', '.join(sorted(map(str, unknown)))}")
    duplicates = document.get("duplicates", "reject")
    if duplicates not in ("reject", "drop"):
        raise fail(
            f"duplicates must be 'reject' (stop) or 'drop' (drop and report), not {duplicates!r}"
        )
    dates = document.get("dates", "present")
    if dates not in ("present", "none"):
        raise fail(f"dates must be 'present' or 'none' (an export without dates), not {dates!r}")
    date_format = document.get("date_format")
    if date_format is not None and not _valid_date_format(date_format):
        raise fail(f"date_format {date_format!r} is not a strptime format such as '%d/%m/%Y'")
    export_date = _parse_export_date(document.get("export_date"), fail)
    delimiter = document.get("delimiter")
    if delimiter is not None and delimiter not in DELIMITERS:
        shown = ", ".join(repr(d) for d in DELIMITERS)
        raise fail(
            f"delimiter must be one of {shown} (or left out to detect it), not {delimiter!r}"
        )
    decimal = document.get("decimal")
    if decimal is not None and decimal not in DECIMALS:
        raise fail(f"decimal must be '.' or ',' (or left out to detect it), not {decimal!r}")
    raw_tables = document.get("tables")
    if not isinstance(raw_tables, dict) or "deals" not in raw_tables:
        raise fail("tables.deals is required")
    tables = {}
    related: dict[str, RelatedTable] = {}
    for table, spec in raw_tables.items():
        if table in TABLE_COLUMNS:
            tables[table] = _parse_table(table, spec or {}, fail)
        elif isinstance(spec, dict) and "join" in spec:
            related[table] = _parse_related(table, spec, fail)
        else:
            known = ", ".join(TABLE_COLUMNS)
            raise fail(
                f"tables.{table}: unknown table (known: {known}; any other table needs "
                "join: {key: its own column, deals_column: a deals column})"
            )
    for name, table in related.items():
        if table.on not in tables["deals"].columns:
            mapped = ", ".join(tables["deals"].columns)
            raise fail(
                f"tables.{name}.join.deals_column: '{table.on}' is not a mapped deals column "
                f"(mapped: {mapped})"
            )
    post_outcome = document.get("post_outcome") or ()
    if isinstance(post_outcome, str):
        post_outcome = (post_outcome,)  # one column written without a list
    if not isinstance(post_outcome, list | tuple) or not all(
        isinstance(c, str) for c in post_outcome
    ):
        raise fail("post_outcome must list export column names")
    post_outcome = tuple(post_outcome)
    for table_name, table in tables.items():
        for export in table.features:
            if export in post_outcome:
                raise fail(
                    f"'{export}' is declared post_outcome (known only after the deal closed) "
                    f"but listed in tables.{table_name}.features: it would leak the outcome"
                )
        for canonical, export in table.columns.items():
            if export in post_outcome and not TABLE_COLUMNS[table_name][canonical].label_only:
                raise fail(
                    f"'{export}' is declared post_outcome (known only after the deal closed) "
                    f"but mapped to feature column '{canonical}': it would leak the outcome"
                )
    regret = document.get("regret") or {}
    if not isinstance(regret, dict):
        raise fail("regret must be a mapping such as {horizon_days: 365}")
    rule = _parse_regret_rule(regret, fail)
    horizon = regret.get("horizon_days", 365)
    if isinstance(horizon, bool) or not isinstance(horizon, int) or horizon <= 0:
        raise fail(f"regret.horizon_days must be a positive whole number of days, not {horizon!r}")
    return Mapping(
        name=str(document.get("name", source)),
        tables=tables,
        date_format=date_format,
        post_outcome=post_outcome,
        regret_horizon_days=horizon,
        source=source,
        drop_duplicates=duplicates == "drop",
        related=related,
        regret_rule=rule,
        dated=dates == "present",
        export_date=export_date,
        delimiter=delimiter,
        decimal=decimal,
    )


def _parse_export_date(value: object, fail: Callable[[str], ContractError]) -> pd.Timestamp | None:
    """The mapping's ``export_date``: an ISO date (YAML may already have parsed it as one).

    Examples
    --------
    >>> fail = lambda rule: ValueError(rule)
    >>> _parse_export_date("2024-12-31", fail), _parse_export_date(None, fail)
    (Timestamp('2024-12-31 00:00:00'), None)
    """
    if value is None:
        return None
    day = pd.to_datetime(str(value), format="ISO8601", errors="coerce")
    if isinstance(value, bool) or pd.isna(day):
        raise fail(f"export_date must be a date such as 2025-12-31, not {value!r}")
    return pd.Timestamp(day).tz_localize(None).normalize() if day.tzinfo else day.normalize()


def _parse_regret_rule(regret: dict, fail: Callable[[str], ContractError]) -> RegretRule:
    """The regret section's rule: which post-sale evidence makes a win regrettable."""
    known = {"horizon_days", "churn", "flag", "margin_below", "support_cost_share"}
    unknown = set(regret) - known
    if unknown:
        raise fail(
            f"regret: unknown key(s) {', '.join(sorted(map(str, unknown)))} (known: {', '.join(sorted(known))})"
        )
    for name in ("churn", "flag"):
        if not isinstance(regret.get(name, True), bool):
            raise fail(f"regret.{name} must be true or false")
    for name in ("margin_below", "support_cost_share"):
        value = regret.get(name)
        if value is not None and (isinstance(value, bool) or not isinstance(value, int | float)):
            raise fail(f"regret.{name} must be a number (or left out)")
    return RegretRule(
        churn=regret.get("churn", True),
        flag=regret.get("flag", True),
        margin_below=regret.get("margin_below", 0.0),
        support_cost_share=regret.get("support_cost_share"),
    )


def _parse_related(name: str, spec: dict, fail: Callable[[str], ContractError]) -> RelatedTable:
    join = spec.get("join")
    if not isinstance(join, dict) or not all(
        isinstance(join.get(part), str) for part in ("key", "deals_column")
    ):
        raise fail(
            f"tables.{name}.join needs key (its own column) and deals_column (a deals column)"
        )
    features = spec.get("features") or {}
    if not isinstance(features, dict) or not features:
        raise fail(f"tables.{name}.features must map its columns to a sign")
    for column, sign in features.items():
        if sign not in GROUPS:
            raise fail(
                f"tables.{name}.features.{column}: unknown sign {sign!r} (known: {', '.join(GROUPS)})"
            )
    return RelatedTable(
        file=str(spec.get("file") or f"{name}.csv"),
        key=join["key"],
        on=join["deals_column"],
        features=dict(features),
    )


def _parse_table(table: str, spec: dict, fail: Callable[[str], ContractError]) -> TableMapping:
    known = TABLE_COLUMNS[table]
    if not isinstance(spec, dict):
        raise fail(f"tables.{table} must be a mapping with file, columns and values")
    columns = spec.get("columns") or {}
    if not isinstance(columns, dict):
        raise fail(f"tables.{table}.columns must map canonical names to export columns")
    for canonical, export in columns.items():
        if canonical not in known:
            raise fail(f"tables.{table}.columns: '{canonical}' is not a canonical {table} column")
        if not isinstance(export, str) or not export:
            raise fail(f"tables.{table}.columns.{canonical}: give the export's column name")
    values = spec.get("values") or {}
    if not isinstance(values, dict):
        raise fail(f"tables.{table}.values must map canonical columns to value maps")
    for canonical, value_map in values.items():
        if canonical not in columns:
            raise fail(
                f"tables.{table}.values: '{canonical}' is not mapped in tables.{table}.columns"
            )
        if not isinstance(value_map, dict) or not value_map:
            raise fail(
                f"tables.{table}.values.{canonical} must map export values to canonical values"
            )
    normalised = {
        canonical: {str(k).strip().lower(): str(v) for k, v in value_map.items()}
        for canonical, value_map in values.items()
    }
    features = spec.get("features") or {}
    if not isinstance(features, dict):
        raise fail(f"tables.{table}.features must map export columns to a sign")
    if features and table == "products":
        raise fail(
            "tables.products.features: product columns reach the model through the catalogue"
        )
    if features and table == "deal_history":
        raise fail(
            "tables.deal_history.features: the stage history reaches the model as the deal's "
            "stage, days in stage and close-date moves, as of each day it is scored"
        )
    for column, sign in features.items():
        if sign not in GROUPS:
            raise fail(
                f"tables.{table}.features.{column}: unknown sign {sign!r} (known: {', '.join(GROUPS)})"
            )
    file = spec.get("file") or f"{DEFAULT_FILES[table]}.csv"
    return TableMapping(
        file=str(file), columns=dict(columns), values=normalised, features=dict(features)
    )


def _valid_date_format(fmt: object) -> bool:
    if not isinstance(fmt, str) or "%" not in fmt:
        return False
    try:
        sample = datetime(2024, 11, 28).strftime(fmt)
        return datetime.strptime(sample, fmt).date() == datetime(2024, 11, 28).date()
    except ValueError:
        return False


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
        raise ContractError([Problem(file, None, None, f"missing required column {shown}")])
    canonical = pd.DataFrame(index=raw.index)
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


def shipped_mappings() -> dict[str, Path]:
    """Mappings shipped with walkaway, by name (the file name without ``.yaml``)."""
    folder = resources.files("walkaway") / "mappings"
    return {
        Path(str(item)).stem: Path(str(item))
        for item in folder.iterdir()
        if str(item).endswith(".yaml")
    }


def detect_mapping(
    columns_by_file: dict[str, list[str]], deals_header: list[str] | None = None
) -> Mapping:
    """Pick the shipped mapping whose deals file and required columns an export has.

    ``deals_header``, when given, is the header of a deals file named by the user (whatever
    its file name). Falls back to the canonical identity mapping when no shipped mapping fits.
    """
    for path in sorted(shipped_mappings().values()):
        mapping = load_mapping(path)
        deals = mapping.tables["deals"]
        header = deals_header if deals_header is not None else columns_by_file.get(deals.file)
        if header is None:
            continue
        required = [e for c, e in deals.columns.items() if TABLE_COLUMNS["deals"][c].required]
        if all(column in header for column in required):
            return mapping
    return canonical_mapping()
