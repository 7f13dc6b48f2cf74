"""Mapping documents: a mapping's YAML, as parsed, checked and built into a :class:`Mapping`.

The document's shape (its keys, their types and allowed values) is declared by pydantic models,
one per level, each refusing keys it does not know; what a shape cannot say (canonical column
names, leaks through ``post_outcome``, joins on mapped columns) is checked after. Every mistake
becomes a one-line :class:`~walkaway.data.contracts.ContractError` in the mapping's own words
(``tables.deals.columns.amount must be the export's column name, not 7``), not pydantic's.

Apart from :mod:`walkaway.data.mapping` because this is the format and its messages; what a
mapping is, and applying one to an export, does not need them.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from pathlib import PurePath, PureWindowsPath
from typing import Annotated, Any, Literal, TypeVar

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

from walkaway.data.contracts import TABLE_COLUMNS, ContractError, Problem
from walkaway.data.csv_dialect import DECIMALS, DELIMITERS
from walkaway.data.labels import RegretRule
from walkaway.data.mapping import DEFAULT_FILES, ROW_NUMBER, Mapping, RelatedTable, TableMapping
from walkaway.signs import GROUPS

_Model = TypeVar("_Model", bound=BaseModel)


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
    # A Literal of csv_dialect's tuples, so the two lists cannot drift apart: pydantic reads it
    # at run time, mypy only takes literal values written out (hence the ignores).
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
    for name, joined in related.items():
        if joined.on not in tables["deals"].columns:
            mapped = ", ".join(tables["deals"].columns)
            raise fail(
                f"tables.{name}.join.deals_column: '{joined.on}' is not a mapped deals column "
                f"(mapped: {mapped})"
            )
    post_outcome = tuple(spec.post_outcome)
    for table_name, table_mapping in tables.items():
        for export in table_mapping.features:
            if export in post_outcome:
                raise fail(
                    f"'{export}' is declared post_outcome (known only after the deal closed) "
                    f"but listed in tables.{table_name}.features: it would leak the outcome"
                )
        for canonical, export in table_mapping.columns.items():
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


def _validate(
    model: type[_Model], document: Any, where: tuple[str, ...], fail: Callable[[str], ContractError]
) -> _Model:
    """``document`` checked against ``model``; the first error, located, as a ContractError."""
    try:
        return model.model_validate(document)
    except ValidationError as error:
        errors = [{**e, "loc": (*where, *e["loc"])} for e in error.errors()]
        raise fail(_message(errors, model, len(where))) from None


def _parse_signs(signs: dict[str, str], fail: Callable[[str], ContractError]) -> dict[str, str]:
    """``signs:``: built-in columns whose features count in another sign than their own."""
    from walkaway.model.features import FEATURES_OF_COLUMN  # lazy: model builds on data

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
