"""Data quality of an export, without training: the engine of ``walkaway validate``.

:func:`assess_export` reads an export's deals file through its mapping and reports, in one
pass and without stopping at the first bad row:

- every contract problem of every row (dates, numbers, outcomes, amounts...), first rows first;
- the outcome counts of the rows that keep the contract;
- duplicates of the raw export rows: *exact* (identical in every column to an earlier row) and
  *conflicting* (the same deal id on rows that differ elsewhere);
- the missing share of every mapped column, and the dates the export spans;
- suspected leaks: how well each export column alone tells won from lost on closed deals
  (ROC AUC), because a column known only after the close (a final value, a process duration, a
  margin) predicts the outcome too well and must never be a feature;
- plain-words notes saying what each finding means for training and scoring.

As everywhere else, a missing required column (named by the mapping but not in the file, or
not named at all) and an unreadable file raise :class:`~walkaway.data.contracts.ContractError`,
whose message is one line; an export whose mapping says ``dates: none`` is assessed without
dates.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from walkaway.data.cell_values import infer_date_format, is_blank, parse_dates
from walkaway.data.contracts import (
    DEAL_COLUMNS,
    ContractError,
    Problem,
    check_table,
    extra_column,
)
from walkaway.data.exports import resolve_mapping
from walkaway.data.labels import HOLDOUT_SHARE, MIN_LOST, MIN_WON
from walkaway.data.leak_screen import leak_notes, leak_table
from walkaway.data.mapping import Mapping, apply_mapping
from walkaway.data.raw_files import export_file, read_dialect, read_table

__all__ = [
    "DuplicateCounts",
    "QualityReport",
    "assess_export",
    "count_duplicates",
    "missing_values",
]

MOSTLY_MISSING_SHARE = 0.50  # a mapped feature column emptier than this gets a note
STAND_IN_DATE = pd.Timestamp("1970-01-01")


@dataclass
class QualityReport:
    """What :func:`assess_export` found in an export's deals file.

    Attributes
    ----------
    source : str
        The deals file assessed.
    mapping : str
        Name of the mapping it was read with.
    rows : int
        Deal rows read (blank lines excluded).
    problems : list of Problem
        Every contract problem of every row, problems of the whole file first, then by row.
    rejected_rows : int
        Rows with at least one problem.
    closed, open, won, lost : int
        Outcome counts of the rows without problems (duplicates included).
    exact_duplicates : int
        Rows identical in every export column to an earlier row.
    conflicting_duplicates : int
        Rows (after exact duplicates are set aside) whose deal id is shared with a different
        row, counting every row involved.
    missing : pandas.DataFrame
        Per mapped column of the deals and accounts files (extra features included): its
        ``file``, ``column``, ``export_column``, ``missing`` (count) and ``share``, emptiest
        first.
    first_created, last_created, last_closed : pandas.Timestamp or None
        Date range of the rows without problems; None when the export has no such dates.
    suspected_leaks : pandas.DataFrame
        Per export column that is not mapped to an id, a date or the outcome: ``export_column``,
        ``mapped_to``, ``kind`` (number, text or id-like), ``values`` (distinct, on closed
        deals), ``auc`` (won vs lost from its values, folded to >= 0.5; see :func:`leak_table`),
        ``filled_auc`` (from whether it is filled at all), ``post_outcome`` (declared in the
        mapping), ``flagged`` and ``note``; strongest first.
    notes : list of str
        Plain-words findings and what they mean for training and scoring.
    refusals : list of str
        Why ``walkaway train`` would refuse this export (contract problems aside): the leakage
        guard's findings on the features training would build, too few deals, duplicates
        the mapping does not allow. Filled by :func:`walkaway.jobs.validate_job`.
    """

    source: str
    mapping: str
    rows: int
    problems: list[Problem]
    rejected_rows: int
    closed: int
    open: int
    won: int
    lost: int
    exact_duplicates: int
    conflicting_duplicates: int
    missing: pd.DataFrame
    first_created: pd.Timestamp | None
    last_created: pd.Timestamp | None
    last_closed: pd.Timestamp | None
    suspected_leaks: pd.DataFrame
    notes: list[str]
    refusals: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class DuplicateCounts:
    """Repeated rows of an export (see :func:`count_duplicates`)."""

    exact_rows: int
    conflicting_rows: int
    conflicting_ids: int


def assess_export(history: Path | str, mapping: str | Path | None = None) -> QualityReport:
    """Check an export's deals file against the contract and summarise its quality.

    Parameters
    ----------
    history
        The export: a folder holding the mapping's deals file, or the deals file itself.
    mapping
        Mapping file or shipped mapping name; chosen as :func:`walkaway.data.exports.resolve_mapping`
        does when None.

    Returns
    -------
    QualityReport
        Every problem of every row, outcome counts, duplicates, missing values, dates,
        suspected leaks and notes. Nothing is trained.

    Raises
    ------
    ContractError
        The export or its deals file is missing or unreadable, the mapping is invalid, or a
        required column is missing (the date columns of a mapping saying ``dates: none``
        excepted).
    """
    history = Path(history)
    if not history.exists():
        raise ContractError([Problem(history.name, None, None, f"not found: {history}")])
    chosen = resolve_mapping(history, mapping)
    deals_path = history if history.is_file() else export_file(history, chosen.tables["deals"].file)
    file = deals_path.name
    dialect = read_dialect(deals_path, chosen.delimiter, chosen.decimal)
    raw = read_table(deals_path, dialect)
    canonical = apply_mapping(raw, chosen, "deals", file)
    # A mapping may declare an export without dates (dates: none).
    undated = (
        {"created_date", "closed_date"} - set(canonical.columns) if not chosen.dated else set()
    )
    _require_columns(canonical, undated, file)

    stand_in_names = {name: f"(no {name})" for name in undated}
    date_format = chosen.date_format
    if date_format is None:  # the stand-ins must be read the way the real dates are
        dates = [canonical[c] for c in ("created_date", "closed_date") if c in canonical]
        date_format = infer_date_format(dates)[0]
    checked = check_table(
        _with_stand_ins(canonical, sorted(undated), date_format),
        "deals",
        file,
        chosen.source_names("deals") | stand_in_names,
        chosen.date_format,
        unique=False,
        decimal=dialect.decimal,
    )
    # Stand-ins only break rules on rows that already break one: drop what they say.
    problems = [p for p in checked.problems if p.column not in stand_in_names.values()]
    problems.sort(key=lambda p: -1 if p.row is None else p.row)
    good = checked.frame.drop(columns=sorted(undated), errors="ignore")

    outcome = good["outcome"]
    closed_rows = good.index[outcome.isin(["won", "lost"]).to_numpy(bool)]
    won = outcome.loc[closed_rows].eq("won").to_numpy()
    deals_mapping = chosen.tables["deals"]
    if deals_mapping.id_from:  # ids built from rows or columns: count repeats of those
        with_ids = raw.assign(**{"(deal id)": deals_mapping.deal_ids(raw)})
        duplicates = count_duplicates(with_ids, "(deal id)")
    else:
        duplicates = count_duplicates(raw, deals_mapping.columns.get("deal_id", "deal_id"))
    unique_closed = raw.loc[closed_rows]
    keep = ~unique_closed.duplicated().to_numpy()  # copies would sit in every fold
    leaks = leak_table(unique_closed[keep], won[keep], chosen, dialect.decimal)

    report = QualityReport(
        source=str(deals_path),
        mapping=f"{chosen.name} ({chosen.chosen_because})"
        if chosen.chosen_because
        else chosen.name,
        rows=len(raw),
        problems=problems,
        rejected_rows=len({p.row for p in problems if p.row is not None}),
        closed=len(closed_rows),
        open=int(outcome.eq("open").sum()),
        won=int(won.sum()),
        lost=int(len(won) - won.sum()),
        exact_duplicates=duplicates.exact_rows,
        conflicting_duplicates=duplicates.conflicting_rows,
        missing=_missing_of_every_table(history, raw, chosen, file),
        first_created=_earliest(good, "created_date"),
        last_created=_latest(good, "created_date"),
        last_closed=_latest(good, "closed_date"),
        suspected_leaks=leaks,
        notes=[],
    )
    absent = {c: e for c, e in deals_mapping.columns.items() if e not in raw.columns}
    report.notes = [
        *dialect.notes,
        *checked.notes,
        *_notes(report, undated, absent, duplicates.conflicting_ids),
    ]
    return report


def _require_columns(canonical: pd.DataFrame, undated: set[str], file: str) -> None:
    """Raise, naming them all, when required columns are missing (dates excepted when the
    mapping declares an export without them)."""
    missing = [
        name
        for name, spec in DEAL_COLUMNS.items()
        if spec.required and name not in canonical.columns and name not in undated
    ]
    if not missing:
        return
    shown = ", ".join(f"'{name}'" for name in missing)
    rule = f"missing required column {shown}: the mapping names no export column for "
    rule += "them" if len(missing) > 1 else "it"
    if {"created_date", "closed_date"} & set(missing):
        rule += " (a mapping says 'dates: none' when the export has no dates)"
    raise ContractError([Problem(file, None, None, rule)])


def _with_stand_ins(
    canonical: pd.DataFrame, missing_dates: list[str], date_format: str | None
) -> pd.DataFrame:
    """Canonical deals with a stand-in for each date column an export without dates lacks,
    chosen to break no rule on its own, so that every other rule is checked on every row.

    A missing creation date stands in as the close date (or 1970-01-01), a missing close date
    as the creation date (or 1970-01-01): never closed before created, never in the future
    unless the real date is.
    """
    frame = canonical.copy()
    dates = {
        name: _parse_dates(canonical[name], date_format)
        for name in ("created_date", "closed_date")
        if name in canonical
    }
    everywhere = pd.Series(STAND_IN_DATE, index=canonical.index, dtype="datetime64[ns]")
    for name in missing_dates:
        other = "closed_date" if name == "created_date" else "created_date"
        frame[name] = dates.get(other, everywhere).fillna(STAND_IN_DATE)
    return frame


def _parse_dates(values: pd.Series, date_format: str | None) -> pd.Series:
    """Dates as the contract parses them (unparseable: NaT)."""
    if pd.api.types.is_datetime64_any_dtype(values):
        return values.dt.tz_localize(None) if values.dt.tz is not None else values
    return parse_dates(values.astype("string").str.strip(), date_format)


def _earliest(frame: pd.DataFrame, column: str) -> pd.Timestamp | None:
    day = frame[column].min() if column in frame else pd.NaT
    return None if pd.isna(day) else pd.Timestamp(day)


def _latest(frame: pd.DataFrame, column: str) -> pd.Timestamp | None:
    day = frame[column].max() if column in frame else pd.NaT
    return None if pd.isna(day) else pd.Timestamp(day)


def count_duplicates(raw: pd.DataFrame, id_column: str) -> DuplicateCounts:
    """Count exact and conflicting duplicates among the raw rows of an export.

    Parameters
    ----------
    raw
        The export's rows as read, every column.
    id_column
        The export column holding the deal id (compared trimmed; blank ids are not compared).

    Returns
    -------
    DuplicateCounts
        ``exact_rows``: rows identical in every column to an earlier row. ``conflicting_rows``:
        the other rows whose id is shared with a row that differs elsewhere, counting each row
        involved (the first one too). ``conflicting_ids``: how many ids that is.

    Examples
    --------
    >>> raw = pd.DataFrame({"id": ["a", "a", "b", "b", "b ", "c"],
    ...                     "amount": ["1", "1", "2", "3", "4", "5"]})
    >>> count_duplicates(raw, "id")
    DuplicateCounts(exact_rows=1, conflicting_rows=3, conflicting_ids=1)
    """
    exact = raw.duplicated(keep="first")
    ids = raw[id_column].astype("string").str.strip()
    distinct_ids = ids[~exact.to_numpy() & ~is_blank(raw[id_column]).to_numpy()]
    repeats = distinct_ids.value_counts()
    repeated = repeats[repeats > 1]
    return DuplicateCounts(
        exact_rows=int(exact.sum()),
        conflicting_rows=int(repeated.sum()),
        conflicting_ids=len(repeated),
    )


def _missing_of_every_table(
    history: Path, deals: pd.DataFrame, mapping: Mapping, deals_file: str
) -> pd.DataFrame:
    """Missing values of every mapped column (extra features included) of the deals file and,
    when the export has it, of the accounts file, emptiest first."""
    tables = [(deals_file, deals, mapping.tables["deals"])]
    accounts = mapping.tables.get("accounts")
    folder = history if history.is_dir() else history.parent
    if accounts is not None and export_file(folder, accounts.file).is_file():
        path = export_file(folder, accounts.file)
        tables.append(
            (
                path.name,
                read_table(path, read_dialect(path, mapping.delimiter, mapping.decimal)),
                accounts,
            )
        )
    parts = []
    for file, raw, table in tables:
        columns = {**table.columns, **{extra_column(e): e for e in table.features}}
        parts.append(missing_values(raw, columns).assign(file=file))
    every = pd.concat(parts, ignore_index=True)
    every = every[["file", "column", "export_column", "missing", "share"]]
    return every.sort_values("missing", ascending=False, kind="stable").reset_index(drop=True)


def missing_values(raw: pd.DataFrame, columns: dict[str, str]) -> pd.DataFrame:
    """Empty cells of each mapped column of an export, emptiest first.

    Parameters
    ----------
    raw
        The export's rows as read.
    columns
        Canonical column -> export column (the mapping's); columns not in the export are left
        out.

    Examples
    --------
    >>> raw = pd.DataFrame({"Id": ["1", "2", "3", "4"], "Region": ["EMEA", " ", None, "APAC"]})
    >>> missing_values(raw, {"deal_id": "Id", "region": "Region", "owner": "Owner"})
        column export_column  missing  share
    0   region        Region        2    0.5
    1  deal_id            Id        0    0.0
    """
    records = [
        {
            "column": canonical,
            "export_column": export,
            "missing": int(is_blank(raw[export]).sum()),
        }
        for canonical, export in columns.items()
        if export in raw.columns
    ]
    table = pd.DataFrame(records, columns=["column", "export_column", "missing"])
    table["share"] = table["missing"] / max(len(raw), 1)
    return table.sort_values("missing", ascending=False, kind="stable").reset_index(drop=True)


def _notes(
    report: QualityReport, undated: set[str], absent: dict[str, str], conflicting_ids: int
) -> list[str]:
    """Plain-words findings of a report, most consequential first."""
    notes = []
    if "closed_date" in undated:
        missing = "dates" if "created_date" in undated else "close dates"
        notes.append(f"no {missing}: a time-ordered holdout is impossible")
    for canonical, export in absent.items():
        notes.append(f"mapped column '{export}' ({canonical}) is not in the export: it is ignored")
    row_problems = [p for p in report.problems if p.row is not None]
    if row_problems:
        kinds = pd.Series(
            [p.rule if p.column is None else f"column '{p.column}': {p.rule}" for p in row_problems]
        )
        common, times = kinds.value_counts().index[0], int(kinds.value_counts().iloc[0])
        notes.append(
            f"{report.rejected_rows:,} of {report.rows:,} rows break the contract "
            f"({len(row_problems):,} problems; most often {common}, {times:,} times): training "
            "refuses the export until they are fixed, and scoring rejects such rows"
        )
    if report.exact_duplicates:
        notes.append(
            f"{report.exact_duplicates:,} rows are exact duplicates of earlier rows: they will "
            "be dropped (the first of each is kept)"
        )
    if report.conflicting_duplicates:
        notes.append(
            f"{report.conflicting_duplicates:,} rows share a deal id with a different row "
            f"({conflicting_ids:,} id{'s' * (conflicting_ids > 1)}): which version is right "
            "cannot be known, so they will be left out; keep one version of each in the export"
        )
    if report.won < MIN_WON or report.lost < MIN_LOST:
        notes.append(
            f"{report.won:,} won and {report.lost:,} lost deals keep the contract: training "
            f"needs at least {MIN_WON} won and {MIN_LOST} lost besides the newest "
            f"{HOLDOUT_SHARE:.0%} it holds out to evaluate on"
        )
    if report.open == 0:
        notes.append("no open deals: nothing in this export to score")
    for row in report.suspected_leaks.itertuples(index=False):
        notes.extend(leak_notes(row))
    features = report.missing[
        ~report.missing["column"].map(lambda c: c in DEAL_COLUMNS and DEAL_COLUMNS[c].label_only)
        & report.missing["share"].ge(MOSTLY_MISSING_SHARE)
    ]
    for row in features.itertuples(index=False):
        notes.append(
            f"column '{row.export_column}' ({row.column}) is empty in {row.share:.0%} of rows"
        )
    return notes
