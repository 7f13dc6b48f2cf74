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
unchanged, so the contract can say what is wrong with it. walkaway ships mappings (see
:func:`shipped_mappings`) and picks the one whose columns an export has when none is given.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import datetime
from importlib import resources
from pathlib import Path, PurePath, PureWindowsPath
from typing import Annotated, Any, Literal, TypeVar

import numpy as np
import pandas as pd
from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    PositiveInt,
    ValidationError,
    field_validator,
)

from walkaway.data.contracts import TABLE_COLUMNS, ContractError, Problem, extra_column
from walkaway.data.csv_dialect import DECIMALS, DELIMITERS
from walkaway.data.labels import RegretRule
from walkaway.data.yaml_files import read_yaml
from walkaway.signs import GROUPS

_Model = TypeVar("_Model", bound=BaseModel)
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
        """The mapping as a document :func:`parse_mapping` reads back into an equal mapping
        (logged with a model, so that scoring reads the export the way training did).

        Examples
        --------
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
    # Bounded and plain: no file over a size cap, no anchors or aliases (an alias bomb).
    return parse_mapping(read_yaml(path, "mapping"), source=path.name)


class _Strict(BaseModel):
    """Every level of a mapping refuses keys it does not know: a typo is an error, not a
    silently ignored line."""

    model_config = ConfigDict(extra="forbid", strict=True)


def _sign(value: str) -> str:
    if value not in GROUPS:
        raise ValueError(f"unknown sign {value!r} (known: {', '.join(GROUPS)})")
    return value


Sign = Annotated[str, AfterValidator(_sign)]


class RegretDocument(_Strict):
    """``regret:``: which post-sale evidence makes a win regrettable, and when it matures."""

    horizon_days: PositiveInt = 365
    churn: bool = True
    flag: bool = True
    margin_below: float | None = 0.0
    support_cost_share: float | None = None

    @field_validator("margin_below", "support_cost_share", mode="before")
    @classmethod
    def _a_number(cls, value: object) -> object:
        if isinstance(value, bool) or not (value is None or isinstance(value, int | float)):
            raise ValueError("must be a number (or left out)")
        return value


def _inside_export_folder(name: str) -> str:
    """A mapping names files in the export's folder only: a mapping beside an export is read
    automatically, and must not make walkaway read (and copy into its output) a file elsewhere.
    Files outside it are given on the command line (``--accounts``)."""
    path = PurePath(name)
    if path.is_absolute() or PureWindowsPath(name).is_absolute() or ".." in path.parts:
        raise ValueError(
            "must name a file in the export's folder (no '..', no absolute path; give a file "
            "elsewhere on the command line, e.g. --accounts)"
        )
    return name


ExportFile = Annotated[str, AfterValidator(_inside_export_folder)]


class TableDocument(_Strict):
    """One of the canonical tables (deals, accounts, products, deal_history)."""

    file: ExportFile | None = None
    columns: dict[str, Any] = {}  # export column names (checked in _parse_table)
    values: dict[str, dict[str | int | float | bool, str | int | float | bool | None]] = {}
    features: dict[str, Sign] = {}


class JoinDocument(_Strict):
    key: str
    deals_column: str


class RelatedDocument(_Strict):
    """Another table of the export (sales teams, say), joined onto deals for its features."""

    file: ExportFile | None = None
    join: JoinDocument
    features: dict[str, Sign] = Field(min_length=1)


class MappingDocument(_Strict):
    """A mapping file as written: its keys, their types and allowed values."""

    name: str | None = None
    description: str | None = None
    date_format: str | None = None
    dates: Literal["present", "none"] = "present"
    duplicates: Literal["reject", "drop"] = "reject"
    delimiter: Literal[DELIMITERS] | None = None  # type: ignore[valid-type]
    decimal: Literal[DECIMALS] | None = None  # type: ignore[valid-type]
    export_date: Any = None  # checked by _parse_export_date (YAML may parse it as a date)
    post_outcome: list[str] = []
    na_values: list[str] = []
    signs: dict[str, Sign] = {}
    regret: RegretDocument = RegretDocument()
    tables: dict[str, dict[str, Any] | None]

    @field_validator("post_outcome", mode="before")
    @classmethod
    def _one_column_without_a_list(cls, value: object) -> object:
        return [value] if isinstance(value, str) else (value or [])

    @field_validator("regret", mode="before")
    @classmethod
    def _empty_regret(cls, value: object) -> object:
        return {} if value is None else value


# What a key must be, for messages (``name.*``: each entry of a mapping-valued key).
_MUST_BE = {
    "horizon_days": "a positive whole number of days",
    "columns": "a mapping of canonical names to export columns",
    "columns.*": "the export's column name",
    "values": "a mapping of canonical columns to value maps",
    "values.*": "a map of export values to canonical values",
    "features": "a mapping of export columns to a sign",
    "post_outcome": "a list of export column names",
    "margin_below": "a number (or left out)",
    "support_cost_share": "a number (or left out)",
    "churn": "true or false",
    "flag": "true or false",
    "tables": "a mapping of table names to tables",
    "tables.*": "a mapping with file, columns and values",
    "regret": "a mapping such as {horizon_days: 365}",
}


def _message(errors: list[dict], model: type[BaseModel], skip: int = 0) -> str:
    """The first pydantic error in a mapping's words: where (``tables.deals``) and what. The
    first ``skip`` parts of a location lead to ``model`` (a table validated on its own)."""
    error = errors[0]
    location = [str(part) for part in error["loc"]]
    where = ".".join(location)
    if error["type"] == "extra_forbidden":
        parent = error["loc"][:-1]
        unknown = [
            f"'{e['loc'][-1]}'"
            for e in errors
            if e["type"] == "extra_forbidden" and e["loc"][:-1] == parent
        ]
        known = ", ".join(_fields_at(model, parent[skip:]))
        place = f" in {'.'.join(map(str, parent))}" if parent else ""
        keys = "key" if len(unknown) == 1 else "keys"
        return f"unknown {keys} {', '.join(unknown)}{place} (known: {known})"
    if error["type"] == "missing":
        return f"{where} is required"
    shown = error.get("input")
    value = f", not {shown!r}" if isinstance(shown, str | int | float | bool) else ""
    fields = [p for p in location[skip:] if p in _all_fields()]
    key = fields[-1] if fields else ""
    deeper = bool(fields) and location[-1] != key
    must_be = _MUST_BE.get(f"{key}.*" if deeper else key)
    if must_be is not None:
        return f"{where} must be {must_be}{value}"
    text = str(error["msg"]).removeprefix("Value error, ")
    return f"{where}: {text[0].lower()}{text[1:]}{value}"


def _all_fields() -> set[str]:
    return {
        name
        for model in (MappingDocument, RegretDocument, TableDocument, RelatedDocument)
        for name in model.model_fields
    }


def _fields_at(model: type[BaseModel], location: tuple) -> list[str]:
    """The keys a mapping allows at ``location`` (a path of model fields)."""
    for part in location:
        annotation = model.model_fields[str(part)].annotation
        if not (isinstance(annotation, type) and issubclass(annotation, BaseModel)):
            return []
        model = annotation
    return list(model.model_fields)


def parse_mapping(document: Any, source: str = "<mapping>") -> Mapping:
    """Validate a mapping document (already parsed YAML) and build a :class:`Mapping`.

    The document's shape (keys, types, allowed values) is checked by pydantic models, at
    every level; what the shape cannot say (canonical column names, leaks through
    ``post_outcome``, joins on mapped columns) is checked after.

    Examples
    --------
    >>> m = parse_mapping({"name": "x", "tables": {"deals": {"file": "d.csv",
    ...     "columns": {"deal_id": "Id"}}}})
    >>> m.tables["deals"].columns
    {'deal_id': 'Id'}
    >>> parse_mapping({"tables": {"deals": {"columns": {"colour": "C"}}}})
    Traceback (most recent call last):
    ...
    walkaway.data.contracts.ContractError: <mapping>: tables.deals.columns: 'colour' is not a canonical deals column
    >>> parse_mapping({"tables": {"deals": {"file": "d.csv", "valuse": {}}}})
    Traceback (most recent call last):
    ...
    walkaway.data.contracts.ContractError: <mapping>: unknown key 'valuse' in tables.deals (known: file, columns, values, features)
    """

    def fail(rule: str) -> ContractError:
        return ContractError([Problem(source, None, None, rule)])

    if not isinstance(document, dict):
        raise fail("a mapping is a YAML mapping with a 'tables' key")
    spec = _validate(MappingDocument, document, (), fail)
    if spec.date_format is not None and not _valid_date_format(spec.date_format):
        raise fail(f"date_format {spec.date_format!r} is not a strptime format such as '%d/%m/%Y'")
    export_date = _parse_export_date(spec.export_date, fail)
    if "deals" not in spec.tables:
        raise fail("tables.deals is required")
    tables: dict[str, TableMapping] = {}
    related: dict[str, RelatedTable] = {}
    for table, raw in spec.tables.items():
        if table in TABLE_COLUMNS:
            table_spec = _validate(TableDocument, raw or {}, ("tables", table), fail)
            tables[table] = _parse_table(table, table_spec, fail)
        elif isinstance(raw, dict) and "join" in raw:
            related_spec = _validate(RelatedDocument, raw, ("tables", table), fail)
            related[table] = RelatedTable(
                file=related_spec.file or f"{table}.csv",
                key=related_spec.join.key,
                on=related_spec.join.deals_column,
                features=dict(related_spec.features),
            )
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
    post_outcome = tuple(spec.post_outcome)
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
    regret = spec.regret
    return Mapping(
        name=spec.name if spec.name is not None else source,
        tables=tables,
        date_format=spec.date_format,
        post_outcome=post_outcome,
        regret_horizon_days=regret.horizon_days,
        source=source,
        drop_duplicates=spec.duplicates == "drop",
        related=related,
        regret_rule=RegretRule(
            churn=regret.churn,
            flag=regret.flag,
            margin_below=regret.margin_below,
            support_cost_share=regret.support_cost_share,
        ),
        dated=spec.dates == "present",
        export_date=export_date,
        delimiter=spec.delimiter,
        decimal=spec.decimal,
        na_values=tuple(spec.na_values),
        signs=_parse_signs(spec.signs, fail),
    )


def _validate(model: type[_Model], document: Any, where: tuple, fail: Callable) -> _Model:
    """``document`` checked against ``model``; the first error, located, as a ContractError."""
    try:
        return model.model_validate(document)
    except ValidationError as error:
        errors = [{**e, "loc": (*where, *e["loc"])} for e in error.errors()]
        raise fail(_message(errors, model, len(where))) from None


def _parse_signs(signs: dict[str, str], fail: Callable[[str], ContractError]) -> dict[str, str]:
    """``signs:``: built-in columns whose features count in another sign than their own."""
    from walkaway.model.features import FEATURES_OF_COLUMN  # the features module imports contracts

    for column in signs:
        if column not in FEATURES_OF_COLUMN:
            known = ", ".join(sorted(FEATURES_OF_COLUMN))
            raise fail(
                f"signs.{column}: not a canonical column with features of its own (those: {known})"
            )
    return dict(signs)


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


def _parse_table(
    table: str, spec: TableDocument, fail: Callable[[str], ContractError]
) -> TableMapping:
    """A canonical table's mapping, its names checked against the contract."""
    known = TABLE_COLUMNS[table]
    columns = dict(spec.columns)
    for canonical, export in spec.columns.items():
        if canonical not in known:
            raise fail(f"tables.{table}.columns: '{canonical}' is not a canonical {table} column")
        several = isinstance(export, list) and all(isinstance(e, str) and e for e in export)
        if not several and not (isinstance(export, str) and export):
            raise fail(
                f"tables.{table}.columns.{canonical} must be the export's column name, "
                f"not {export!r}"
            )
        if several and (table, canonical) != ("deals", "deal_id"):
            raise fail(
                f"tables.{table}.columns.{canonical} must be one export column (only deals' "
                "deal_id may combine several)"
            )
    id_from: tuple[str, ...] = ()
    if table == "deals" and (
        isinstance(columns.get("deal_id"), list) or columns.get("deal_id") == ROW_NUMBER
    ):
        chosen = columns.pop("deal_id")
        id_from = tuple(chosen) if isinstance(chosen, list) else (ROW_NUMBER,)
        if not id_from:
            raise fail("tables.deals.columns.deal_id: name at least one column to build ids from")
    for canonical, value_map in spec.values.items():
        if canonical not in columns:
            raise fail(
                f"tables.{table}.values: '{canonical}' is not mapped in tables.{table}.columns"
            )
        if not value_map:
            raise fail(
                f"tables.{table}.values.{canonical} must map export values to canonical values"
            )
    normalised = {
        canonical: {
            str(k).strip().lower(): "" if v is None else str(v) for k, v in value_map.items()
        }
        for canonical, value_map in spec.values.items()
    }
    if spec.features and table == "products":
        raise fail(
            "tables.products.features: product columns reach the model through the catalogue"
        )
    if spec.features and table == "deal_history":
        raise fail(
            "tables.deal_history.features: the stage history reaches the model as the deal's "
            "stage, days in stage and close-date moves, as of each day it is scored"
        )
    return TableMapping(
        file=spec.file or f"{DEFAULT_FILES[table]}.csv",
        columns=columns,
        id_from=id_from,
        values=normalised,
        features=dict(spec.features),
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
            because = f"detected: the deals file has its columns ({', '.join(required)})"
            return replace(mapping, chosen_because=because)
    because = "no shipped mapping matches the export's columns: walkaway's own column names"
    return replace(canonical_mapping(), chosen_because=because)
