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

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from walkaway.data.column_signal import (
    LEAK_AUC,
    SUSPECT_AUC,
    folded_auc,
    numbers_auc,
    out_of_fold_auc,
    pooled,
)
from walkaway.data.contracts import (
    DEAL_COLUMNS,
    ContractError,
    Problem,
    check_table,
    extra_column,
    infer_date_format,
    normalise_category,
)
from walkaway.data.exports import export_file, read_dialect, read_table, resolve_mapping
from walkaway.data.labels import HOLDOUT_SHARE, MIN_LOST, MIN_WON
from walkaway.data.mapping import Mapping, apply_mapping
from walkaway.signs import day_text

__all__ = [
    "DuplicateCounts",
    "QualityReport",
    "assess_export",
    "count_duplicates",
    "leak_table",
    "missing_values",
    "quality_tables",
]

MIN_CLOSED_FOR_AUC = 20  # closed deals, both outcomes present, before any AUC is computed
ID_LIKE_SHARE = 0.95  # a text column with this many distinct values per known value is an id
NUMERIC_SHARE = 0.95  # a column is numeric when this share of its filled cells are numbers
MOSTLY_MISSING_SHARE = 0.50  # a mapped feature column emptier than this gets a note
NOT_FEATURE_KINDS = frozenset({"id", "date", "outcome"})  # never leak candidates
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
    dialect = read_dialect(deals_path, chosen)
    raw = read_table(deals_path, dialect)
    canonical = apply_mapping(raw, chosen, "deals", file)
    dated = getattr(chosen, "dated", True)  # a mapping may declare an export without dates
    undated = {"created_date", "closed_date"} - set(canonical.columns) if not dated else set()
    _require_columns(canonical, undated, file, hint_dates=hasattr(chosen, "dated"))

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
    leaks = leak_table(unique_closed[keep], won[keep], chosen)

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


def _require_columns(
    canonical: pd.DataFrame, undated: set[str], file: str, hint_dates: bool
) -> None:
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
    if hint_dates and {"created_date", "closed_date"} & set(missing):
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
    text = values.astype("string").str.strip()
    return pd.to_datetime(text, format=date_format or "ISO8601", errors="coerce")


def _earliest(frame: pd.DataFrame, column: str) -> pd.Timestamp | None:
    day = frame[column].min() if column in frame else pd.NaT
    return None if pd.isna(day) else pd.Timestamp(day)


def _latest(frame: pd.DataFrame, column: str) -> pd.Timestamp | None:
    day = frame[column].max() if column in frame else pd.NaT
    return None if pd.isna(day) else pd.Timestamp(day)


def _blank(values: pd.Series) -> pd.Series:
    """Empty cells: missing, or only spaces."""
    return values.isna() | values.astype("string").str.strip().eq("").fillna(False)


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
    distinct_ids = ids[~exact.to_numpy() & ~_blank(raw[id_column]).to_numpy()]
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
        tables.append((path.name, read_table(path, read_dialect(path, mapping)), accounts))
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
            "missing": int(_blank(raw[export]).sum()),
        }
        for canonical, export in columns.items()
        if export in raw.columns
    ]
    table = pd.DataFrame(records, columns=["column", "export_column", "missing"])
    table["share"] = table["missing"] / max(len(raw), 1)
    return table.sort_values("missing", ascending=False, kind="stable").reset_index(drop=True)


def _per_distinct_value(
    values: pd.Series, transform: Callable[[pd.Series], pd.Series]
) -> pd.Series:
    """Apply a column transform to each distinct value once (exports repeat values a lot)."""
    codes, uniques = pd.factorize(values)
    done = transform(pd.Series(uniques, dtype=object)).to_numpy()
    result = pd.Series(done[codes], index=values.index)
    return result.where(codes >= 0, np.nan)


def _as_numbers(values: pd.Series) -> pd.Series:
    """Numbers as the contract reads them (thousands separators, spaces and currency signs
    dropped); anything else is NaN.

    Examples
    --------
    >>> _as_numbers(pd.Series(["1,200", " $5 ", "n/a", None])).tolist()
    [1200.0, 5.0, nan, nan]
    """

    def parse(text: pd.Series) -> pd.Series:
        cleaned = text.astype("string").str.strip().str.replace(r"[,\s$€£]", "", regex=True)
        return pd.to_numeric(cleaned, errors="coerce").astype(float)

    return _per_distinct_value(values, parse).astype(float)


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


def leak_table(raw_closed: pd.DataFrame, won: np.ndarray, mapping: Mapping) -> pd.DataFrame:
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

    Returns
    -------
    pandas.DataFrame
        One row per candidate column (see :class:`QualityReport`), strongest AUC first.

    Examples
    --------
    >>> from walkaway.data.mapping import parse_mapping
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
        filled = ~_blank(values).to_numpy()
        numbers = _as_numbers(values)
        numeric = filled.any() and numbers.notna().sum() >= NUMERIC_SHARE * filled.sum()
        categories = None if numeric else _categories(values)
        distinct = int((numbers if numeric else categories).nunique())
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
            auc = numbers_auc(numbers, won) if numeric else out_of_fold_auc(pooled(categories), won)
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
        notes.extend(_leak_notes(row))
    features = report.missing[
        ~report.missing["column"].map(lambda c: c in DEAL_COLUMNS and DEAL_COLUMNS[c].label_only)
        & report.missing["share"].ge(MOSTLY_MISSING_SHARE)
    ]
    for row in features.itertuples(index=False):
        notes.append(
            f"column '{row.export_column}' ({row.column}) is empty in {row.share:.0%} of rows"
        )
    return notes


def _leak_notes(row: Any) -> list[str]:
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


def quality_tables(report: QualityReport) -> list[tuple[str, pd.DataFrame]]:
    """Titled tables of a report, every cell already text, for a CLI to print.

    Returns the summary, the contract problems by column and rule (when there are any), the
    missing values of the mapped columns and the suspected leaks, in that order.
    """
    tables = [("Summary", _summary(report))]
    if report.problems:
        tables.append(("Contract problems by column and rule", _problem_summary(report.problems)))
    missing = report.missing.assign(
        missing=report.missing["missing"].map("{:,}".format),
        share=report.missing["share"].map("{:.1%}".format),
    )
    tables.append(("Missing values of the mapped columns", missing))
    leaks = report.suspected_leaks.assign(
        values=report.suspected_leaks["values"].map("{:,}".format),
        auc=report.suspected_leaks["auc"].map(_three_places),
        filled_auc=report.suspected_leaks["filled_auc"].map(_three_places),
        post_outcome=report.suspected_leaks["post_outcome"].map({True: "declared", False: ""}),
        flagged=report.suspected_leaks["flagged"].map({True: "yes", False: ""}),
    )
    tables.append(
        (f"Suspected leaks: one column alone, won vs lost (ROC AUC; leak >= {LEAK_AUC})", leaks)
    )
    return tables


def _three_places(value: float) -> str:
    return "" if pd.isna(value) else f"{value:.3f}"


def _summary(report: QualityReport) -> pd.DataFrame:
    won_share = f"; {report.won / report.closed:.1%} won" if report.closed else ""
    closed = f"{report.closed:,} ({report.won:,} / {report.lost:,}{won_share})"
    rows = [
        ("export", report.source),
        ("mapping", report.mapping),
        ("deal rows", f"{report.rows:,}"),
        ("rows breaking the contract", f"{report.rejected_rows:,}"),
        ("contract problems", f"{len(report.problems):,}"),
        ("closed deals (won / lost)", closed),
        ("open deals", f"{report.open:,}"),
        ("exact duplicate rows", f"{report.exact_duplicates:,}"),
        ("rows sharing a deal id, differing", f"{report.conflicting_duplicates:,}"),
        ("first created", day_text(report.first_created)),
        ("last created", day_text(report.last_created)),
        ("last closed", day_text(report.last_closed)),
    ]
    return pd.DataFrame(rows, columns=["measure", "value"])


def _problem_summary(problems: list[Problem]) -> pd.DataFrame:
    """Problems counted by column and rule, with the first row and value of each."""
    frame = pd.DataFrame(
        {
            "column": [p.column or "(whole row or file)" for p in problems],
            "rule": [p.rule for p in problems],
            "row": [p.row for p in problems],
            "value": ["" if p.value is None else p.value[:40] for p in problems],
        }
    )
    grouped = frame.groupby(["column", "rule"], sort=False)
    summary = grouped.agg(
        problems=("rule", "size"), first_row=("row", "first"), example=("value", "first")
    )
    summary = summary.sort_values("problems", ascending=False, kind="stable").reset_index()
    summary["problems"] = summary["problems"].map("{:,}".format)
    summary["first_row"] = summary["first_row"].map(lambda r: "" if pd.isna(r) else f"{int(r)}")
    return summary
