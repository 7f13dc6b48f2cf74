"""The data contract: canonical tables, their types and rules, and what breaking them says.

An export reaches walkaway as text. A mapping (:mod:`walkaway.data.mapping`) renames its columns to
the canonical names below; this module then parses every value into its type and checks the
rules with pandera. Every problem names the file, the row (as a spreadsheet shows it: the
header is row 1), the column as the export spells it, the rule and the offending value, so a
user can open the file and fix it.

Training refuses a history with problems (:class:`ContractError`); the batch scorer keeps the
good rows and sends the others to a rejects file. Both use :func:`check_table`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Literal

import numpy as np
import pandas as pd
import pandera.pandas as pa
from pandera.errors import SchemaErrors

from walkaway.data.cell_values import (
    infer_date_format,
    is_blank,
    normalise_category,
    parse_dates,
    parse_flags,
    parse_numbers,
    spellings_of,
    wrong_date_format,
)
from walkaway.errors import WalkawayError

Kind = Literal["id", "category", "text", "number", "date", "bool", "outcome"]
OUTCOMES = ("won", "lost", "open")
MAX_CELL_CHARS = 10_000  # longer is a broken export (a whole file pasted in a cell), not data


@dataclass(frozen=True)
class ColumnSpec:
    """One canonical column: its kind, whether the table must have it, and its rules."""

    kind: Kind
    required: bool = False
    nullable: bool = True
    minimum: float | None = None
    label_only: bool = False  # known only after the outcome: a label, never a feature
    meaning: str = ""


DEAL_COLUMNS: dict[str, ColumnSpec] = {
    "deal_id": ColumnSpec("id", required=True, nullable=False, meaning="unique deal id"),
    "account_id": ColumnSpec("id", meaning="account the deal is with"),
    "created_date": ColumnSpec("date", required=True, meaning="deal created (closed deals)"),
    "closed_date": ColumnSpec("date", required=True, meaning="deal closed (closed deals)"),
    "amount": ColumnSpec("number", minimum=0, meaning="deal value (else its product's list price)"),
    "outcome": ColumnSpec("outcome", required=True, nullable=False, meaning="won, lost or open"),
    "stage": ColumnSpec("category", meaning="pipeline stage (not a feature: final for closed)"),
    "region": ColumnSpec("category", meaning="sales region"),
    "owner": ColumnSpec("category", meaning="seller who owns the deal"),
    "product": ColumnSpec("category", meaning="product offered"),
    "lead_source": ColumnSpec("category", meaning="where the lead came from"),
    "deal_type": ColumnSpec("category", meaning="new business or expansion"),
    "incumbent_vendor": ColumnSpec("category", meaning="rival already in place"),
    "incumbent_tenure_years": ColumnSpec("number", minimum=0, meaning="years the rival is in"),
    "competitor_count": ColumnSpec("number", minimum=0, meaning="rivals bidding"),
    "formal_tender": ColumnSpec("bool", meaning="formal tender or RFP"),
    "response_window_days": ColumnSpec("number", minimum=0, meaning="days to answer the tender"),
    "decision_maker_access": ColumnSpec("bool", meaning="we can reach the decision maker"),
    "required_capabilities": ColumnSpec("text", meaning="buyer's needs, ';'-separated"),
    "must_have_capabilities": ColumnSpec("text", meaning="needs that are must-haves"),
    "customisation_required": ColumnSpec("bool", meaning="the fit needs custom work"),
    "needs_defined": ColumnSpec("bool", meaning="buyer has defined the needs"),
    "regrettable": ColumnSpec("bool", label_only=True, meaning="win flagged as regretted"),
    "churn_date": ColumnSpec("date", label_only=True, meaning="customer churned on"),
    "margin": ColumnSpec("number", label_only=True, meaning="account margin after the sale"),
    "support_cost": ColumnSpec("number", minimum=0, label_only=True, meaning="cost to serve"),
    # Not an export column: reading folds the deal_history table into it (one text per deal).
    "stage_history": ColumnSpec("text", meaning="the deal's stage and close-date changes"),
}

ACCOUNT_COLUMNS: dict[str, ColumnSpec] = {
    "account_id": ColumnSpec("id", required=True, nullable=False, meaning="account id"),
    "account_name": ColumnSpec("text", meaning="name"),
    "industry": ColumnSpec("category", meaning="industry"),
    "employees": ColumnSpec("number", minimum=0, meaning="head count"),
    "annual_revenue": ColumnSpec("number", minimum=0, meaning="yearly revenue"),
    "founded_year": ColumnSpec("number", minimum=1000, meaning="year founded"),
    "ownership": ColumnSpec("category", meaning="public, private, subsidiary"),
}

PRODUCT_COLUMNS: dict[str, ColumnSpec] = {
    "product": ColumnSpec("category", required=True, nullable=False, meaning="product name"),
    "capabilities": ColumnSpec("text", meaning="what it does, ';'-separated"),
    "list_price": ColumnSpec("number", minimum=0, meaning="list price"),
    "description": ColumnSpec("text", meaning="one-line description"),
}

# A stage-history table such as Salesforce's OpportunityHistory: one row per change to a deal.
DEAL_HISTORY_COLUMNS: dict[str, ColumnSpec] = {
    "deal_id": ColumnSpec("id", required=True, nullable=False, meaning="the deal changed"),
    "changed_date": ColumnSpec("date", required=True, nullable=False, meaning="day of the change"),
    "stage": ColumnSpec("category", meaning="the deal's stage from then on"),
    "expected_close_date": ColumnSpec("date", meaning="its expected close date from then on"),
}

TABLE_COLUMNS = {
    "deals": DEAL_COLUMNS,
    "accounts": ACCOUNT_COLUMNS,
    "products": PRODUCT_COLUMNS,
    "deal_history": DEAL_HISTORY_COLUMNS,
}
TABLE_KEYS = {"deals": "deal_id", "accounts": "account_id", "products": "product"}
LABEL_ONLY_COLUMNS = frozenset(name for name, spec in DEAL_COLUMNS.items() if spec.label_only)


@dataclass(frozen=True)
class Problem:
    """One broken rule, located so a person can find it."""

    file: str
    row: int | None
    column: str | None
    rule: str
    value: str | None = None

    @property
    def reason(self) -> str:
        """The column, the rule and the value, without the file and row."""
        column = f"column '{self.column}': " if self.column is not None else ""
        shown = "" if self.value is None else f": {_shorten(self.value)!r}"
        return f"{column}{self.rule}{shown}"

    def __str__(self) -> str:
        where = self.file if self.row is None else f"{self.file}, row {self.row}"
        return f"{where}, {self.reason}" if self.column is not None else f"{where}: {self.reason}"


class ContractError(WalkawayError, ValueError):
    """Input that breaks the data contract. ``str()`` is one line a user can act on."""

    def __init__(self, problems: list[Problem]):
        self.problems = problems
        first = str(problems[0])
        more = len(problems) - 1
        suffix = f" (and {more} more problem{'s' * (more > 1)})" if more else ""
        super().__init__(first + suffix)


@dataclass
class CheckedTable:
    """A table parsed into canonical types, and the problems of the rows left out."""

    frame: pd.DataFrame
    problems: list[Problem] = field(default_factory=list)
    date_format: str | None = None  # the one used: the mapping's, else inferred from the values
    notes: list[str] = field(default_factory=list)  # what was decided without being told
    # Category column -> {compared value: the export's own spelling}, for words shown to users.
    spellings: dict[str, dict[str, str]] = field(default_factory=dict)

    @property
    def rejected_rows(self) -> list[int]:
        return sorted({p.row for p in self.problems if p.row is not None})


EXTRA_PREFIX = "x_"


def extra_column(export_name: str) -> str:
    """The canonical name of an extra feature column declared in a mapping.

    >>> extra_column("Competitor Type"), extra_column("Revenue (2y, USD)")
    ('x_competitor_type', 'x_revenue_2y_usd')
    """
    slug = "_".join("".join(c if c.isalnum() else " " for c in export_name.lower()).split())
    return EXTRA_PREFIX + slug


def _shorten(value: str, limit: int = 60) -> str:
    return value if len(value) <= limit else value[: limit - 3] + "..."


def parse_column(
    values: pd.Series, spec: ColumnSpec, date_format: str | None, decimal: str = "."
) -> tuple[pd.Series, pd.Series, str]:
    """Parse one text column into its kind. Returns the values, a mask of unparseable cells
    and the rule those cells broke."""
    none_bad = pd.Series(False, index=values.index)
    # Parquet and typed frames arrive already typed: keep what is already right.
    if spec.kind == "date" and pd.api.types.is_datetime64_any_dtype(values):
        return values.dt.tz_localize(None) if values.dt.tz is not None else values, none_bad, ""
    if (
        spec.kind == "number"
        and pd.api.types.is_numeric_dtype(values)
        and not pd.api.types.is_bool_dtype(values)
    ):
        numbers = values.astype(float)
        infinite = pd.Series(np.isinf(numbers.to_numpy()), index=values.index)
        return numbers.mask(infinite), infinite, "not a finite number"
    if spec.kind == "bool" and pd.api.types.is_bool_dtype(values):
        return values.astype(object), none_bad, ""
    blank = is_blank(values)
    text = values.astype("string").str.strip()
    if spec.kind == "number":
        parsed = parse_numbers(text, decimal)
        bad = parsed.isna() & ~blank
        other = "," if decimal == "." else "."
        looks_other = text[bad].str.contains(rf"\d{re.escape(other)}\d", regex=True).any()
        hint = f" (decimal mark is '{decimal}'; set decimal: '{other}' in the mapping if the file uses '{other}')"
        infinite = np.isinf(pd.to_numeric(text[bad], errors="coerce")).any()
        rule = "not a finite number" if infinite else "not a number"
        return parsed, bad, rule + (hint if looks_other else "")
    if spec.kind == "date":
        parsed = parse_dates(text, date_format)
        shown = "yyyy-mm-dd" if date_format is None else date_format
        return parsed, parsed.isna() & ~blank, f"unparseable date (expected {shown})"
    if spec.kind == "bool":
        parsed = parse_flags(text)
        return parsed, parsed.isna() & ~blank, "not a yes/no value"
    if spec.kind in ("category", "outcome"):
        return normalise_category(values), pd.Series(False, index=values.index), ""
    # ids and free text: keep as written, trimmed; blank means missing
    kept = text.mask(blank).astype(object).where(~blank, np.nan)
    return kept, pd.Series(False, index=values.index), ""


def parse_value(table: str, column: str, text: str) -> tuple[object, str]:
    """One value of a canonical column, given as text (``walkaway whatif --set``), parsed and
    checked as :func:`check_table` parses and checks a cell: the typed value (NaN when blank)
    and the rule it breaks ('' when none). Dates are ISO 8601, numbers use a decimal point.

    Examples
    --------
    >>> parse_value("deals", "competitor_count", "2"), parse_value("deals", "formal_tender", "No")
    ((2.0, ''), (False, ''))
    >>> parse_value("deals", "competitor_count", "-1")
    (-1.0, 'must be >= 0')
    >>> parse_value("deals", "decision_maker_access", "maybe")
    (nan, 'not a yes/no value')
    >>> parse_value("accounts", "industry", " Retail "), parse_value("deals", "incumbent_vendor", "")
    (('retail', ''), (nan, ''))
    """
    spec = TABLE_COLUMNS[table][column]
    parsed, bad, rule = parse_column(pd.Series([text], dtype=object), spec, None)
    value = parsed.iloc[0]
    value = np.nan if pd.isna(value) else value.item() if isinstance(value, np.generic) else value
    if bool(bad.iloc[0]):
        return value, rule
    try:
        _schema(table, [column], unique=False).validate(pd.DataFrame({column: [value]}), lazy=True)
    except SchemaErrors as error:
        return value, _problems_from_pandera(error.failure_cases, "", {})[0].rule
    return value, ""


def _schema(table: str, columns: list[str], unique: bool = True) -> pa.DataFrameSchema:
    """The pandera rules of a canonical table, for the columns it has."""
    specs = TABLE_COLUMNS[table]
    checks: dict[str, pa.Column] = {}
    for name in columns:
        spec = specs[name]
        rules = []
        if spec.minimum is not None:
            rules.append(pa.Check.ge(spec.minimum, error=f"must be >= {spec.minimum:g}"))
        if spec.kind == "outcome":
            rules.append(pa.Check.isin(OUTCOMES, error=f"must be one of {', '.join(OUTCOMES)}"))
        checks[name] = pa.Column(nullable=spec.nullable, checks=rules)
    return pa.DataFrameSchema(checks, unique=[TABLE_KEYS[table]] if unique else None)


def check_table(
    raw: pd.DataFrame,
    table: str,
    file: str,
    source_names: dict[str, str] | None = None,
    date_format: str | None = None,
    unique: bool = True,
    dated: bool = True,
    decimal: str = ".",
) -> CheckedTable:
    """Parse a table of canonical columns (as text) into types and check the contract.

    Parameters
    ----------
    raw
        Canonical column names, values as read (text). Its index holds the source row numbers.
    table
        ``"deals"``, ``"accounts"`` or ``"products"``.
    file
        The file name to put in messages.
    source_names
        Canonical name -> the export's own column name, for messages.
    date_format
        strptime format of the export's dates; when None, ISO 8601 or the format of
        :data:`DATE_FORMATS` that reads the values (:func:`infer_date_format`).
    unique
        Check that the table's key is unique (the batch job tracks repeats across chunks).
    dated
        False for an export without dates (its mapping says ``dates: none``): then the date
        columns are not required.
    decimal
        The decimal mark of the export's numbers ('.' or ',').

    Returns
    -------
    CheckedTable
        The good rows, typed, and one :class:`Problem` per broken rule. A missing required
        column is a problem with no row: nothing can be checked without it.

    Examples
    --------
    >>> raw = pd.DataFrame({"product": ["Core", "Pro", "Core"], "list_price": ["10", "x", "5"]},
    ...                    index=[2, 3, 4])
    >>> checked = check_table(raw, "products", "products.csv")
    >>> [str(p) for p in checked.problems]  # doctest: +NORMALIZE_WHITESPACE
    ["products.csv, row 3, column 'list_price': not a number: 'x'",
     "products.csv, row 2, column 'product': duplicate value: 'core'",
     "products.csv, row 4, column 'product': duplicate value: 'core'"]
    """
    specs = TABLE_COLUMNS[table]
    names = source_names or {}
    undated = set() if dated else {"created_date", "closed_date"}
    missing = [
        c for c, s in specs.items() if s.required and c not in raw.columns and c not in undated
    ]
    if missing:
        shown = ", ".join(f"'{names.get(c, c)}'" for c in missing)
        return CheckedTable(
            raw.iloc[0:0], [Problem(file, None, None, f"missing required column {shown}")]
        )
    if raw.empty:
        return CheckedTable(raw, [Problem(file, None, None, "no rows: the table is empty")])

    problems: list[Problem] = []
    notes: list[str] = []
    date_columns = [
        c
        for c in raw.columns
        if c in specs
        and specs[c].kind == "date"
        and not pd.api.types.is_datetime64_any_dtype(raw[c])
    ]
    if date_format is None:
        date_format, note = infer_date_format([raw[c] for c in date_columns])
        notes += [f"{file}: {note}"] if note else []
    for name in date_columns:
        other = wrong_date_format(raw[name], date_format)
        if other is not None:
            fix = (
                "remove date_format from the mapping"
                if other == "ISO 8601"
                else f"set date_format: '{other}' in the mapping"
            )
            rejected = int(parse_column(raw[name], specs[name], date_format)[1].sum())
            rule = (
                f"{rejected:,} of its dates do not parse as {date_format or 'ISO 8601'} but "
                f"every one parses as {other}, so the rest would be misread (day and month "
                f"swapped); {fix}"
            )
            problems.append(Problem(file, None, names.get(name, name), rule))
    if problems:
        return CheckedTable(raw.iloc[0:0], problems, date_format, notes)
    blank = raw.isna() | raw.astype("string").apply(lambda c: c.str.strip() == "").fillna(False)
    problems += [Problem(file, int(row), None, "empty row") for row in raw.index[blank.all(axis=1)]]
    for name in raw.columns:
        lengths = raw[name].astype("string").str.len()
        for row in raw.index[(lengths > MAX_CELL_CHARS).fillna(False).to_numpy(bool)]:
            rule = f"value too long ({lengths[row]:,} characters; at most {MAX_CELL_CHARS:,})"
            problems.append(
                Problem(file, int(row), names.get(name, name), rule, str(raw.at[row, name]))
            )
    typed = pd.DataFrame(index=raw.index)
    for name in [c for c in raw.columns if c in specs or c.startswith(EXTRA_PREFIX)]:
        if name.startswith(EXTRA_PREFIX):  # a mapping's extra feature: kept as written...
            kept = raw[name].astype(object).where(~is_blank(raw[name]), np.nan)
            if decimal != ".":  # ...but for numbers with a decimal comma, read the way it says
                numbers = parse_numbers(kept.astype("string").str.strip(), decimal)
                kept = kept.where(numbers.isna(), numbers.map(repr).astype(object))
            typed[name] = kept
            continue
        parsed, bad, rule = parse_column(raw[name], specs[name], date_format, decimal)
        typed[name] = parsed
        for row, value in raw.loc[bad, name].items():
            problems.append(Problem(file, int(row), names.get(name, name), rule, str(value)))
    extras = [c for c in typed.columns if c.startswith(EXTRA_PREFIX)]
    typed = typed.loc[:, [c for c in specs if c in typed.columns] + extras]

    try:
        _schema(table, [c for c in typed.columns if c in specs], unique).validate(typed, lazy=True)
    except SchemaErrors as error:
        problems.extend(_problems_from_pandera(error.failure_cases, file, names))
    if table == "deals":
        problems.extend(_closed_date_problems(typed, file, names))
    problems = _first_per_cell(problems)
    bad_rows = {p.row for p in problems}
    words = [c for c in raw.columns if c.startswith(EXTRA_PREFIX)]
    words += [c for c in raw.columns if c in specs and specs[c].kind in ("category", "outcome")]
    spellings = {
        c: spellings_of(raw[c])
        for c in words
        if raw[c].dtype == object or pd.api.types.is_string_dtype(raw[c])
    }
    return CheckedTable(
        typed.loc[~typed.index.isin(bad_rows)], problems, date_format, notes, spellings
    )


def _problems_from_pandera(cases: pd.DataFrame, file: str, names: dict[str, str]) -> list[Problem]:
    problems = []
    for case in cases.itertuples(index=False):
        check = str(case.check)
        if check == "not_nullable":
            rule = "is empty but required"
        elif "uniqueness" in check:
            rule = "duplicate value"
        else:
            rule = check  # the error text given in _schema
        row = None if pd.isna(case.index) else int(case.index)
        value = None if case.failure_case is None else str(case.failure_case)
        column = names.get(case.column, case.column)
        problems.append(
            Problem(file, row, column, rule, None if rule.startswith("is empty") else value)
        )
    return problems


def _closed_date_problems(typed: pd.DataFrame, file: str, names: dict[str, str]) -> list[Problem]:
    """Rules across columns: closed deals have a close date on or after their creation; no date
    is more than a year ahead; nobody churns before buying."""
    if not {"outcome", "closed_date", "created_date"} <= set(typed.columns):
        return []
    column = names.get("closed_date", "closed_date")
    closed = typed["outcome"].isin(["won", "lost"])
    undated = closed & typed["closed_date"].isna()
    unborn = closed & typed["created_date"].isna()
    backwards = typed["closed_date"] < typed["created_date"]
    problems = [
        Problem(file, int(row), column, "a won or lost deal needs a close date", None)
        for row in typed.index[undated]
    ]
    problems += [
        Problem(
            file,
            int(row),
            names.get("created_date", "created_date"),
            "a won or lost deal needs a creation date",
            None,
        )
        for row in typed.index[unborn]
    ]
    problems += [
        Problem(file, int(row), column, "closed before it was created", str(day.date()))
        for row, day in typed.loc[backwards, "closed_date"].items()
    ]
    # A year typed 3025 would become the export date and mature every young win.
    horizon = pd.Timestamp.now().normalize() + pd.DateOffset(years=1)
    for name in ("created_date", "closed_date", "churn_date"):
        if name in typed:
            future = typed[name] > horizon
            problems += [
                Problem(
                    file,
                    int(row),
                    names.get(name, name),
                    "more than a year in the future",
                    str(day.date()),
                )
                for row, day in typed.loc[future, name].items()
            ]
    if "churn_date" in typed:
        early = typed["churn_date"] < typed["closed_date"]
        problems += [
            Problem(
                file,
                int(row),
                names.get("churn_date", "churn_date"),
                "churned before the deal closed",
                str(day.date()),
            )
            for row, day in typed.loc[early, "churn_date"].items()
        ]
    return problems


def _first_per_cell(problems: list[Problem]) -> list[Problem]:
    """One problem per row and column: an unparseable date is not also reported as empty."""
    seen: set[tuple[int | None, str | None]] = set()
    kept = []
    for problem in problems:
        key = (problem.row, problem.column)
        if problem.row is not None and key in seen:
            continue
        seen.add(key)
        kept.append(problem)
    return kept
