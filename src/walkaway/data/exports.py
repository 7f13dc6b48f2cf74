"""Reading CRM exports from disk: CSV or Parquet in, checked canonical tables out.

This is the side-effect layer between files and the pure logic. Every failure becomes a
:class:`~walkaway.data.contracts.ContractError` whose message names the file, and where it can the
row, the column and the rule: a user never sees a traceback for bad input.
"""

from __future__ import annotations

import gzip
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from walkaway.data.contracts import CheckedTable, ContractError, Problem, check_table, extra_column
from walkaway.data.csv_dialect import CsvDialect, sniff_dialect
from walkaway.data.csv_records import CsvRecords, DuplicateColumns, MalformedLine
from walkaway.data.history import History, join_related, join_stage_history
from walkaway.data.mapping import Mapping, RelatedTable, apply_mapping, detect_mapping, load_mapping

PARQUET_SUFFIXES = (".parquet", ".pq")
FIRST_DATA_ROW_CSV = 2  # spreadsheet numbering: the header is row 1


def read_dialect(path: Path, mapping: Mapping | None = None) -> CsvDialect:
    """How to read ``path``: the mapping's delimiter and decimal mark where it gives them, the
    rest detected from the file (Parquet is typed: the defaults)."""
    if path.suffix.lower() in PARQUET_SUFFIXES or not path.is_file():
        return CsvDialect()
    if path.stat().st_size == 0:
        return CsvDialect()
    return sniff_dialect(
        path,
        delimiter=mapping.delimiter if mapping else None,
        decimal=mapping.decimal if mapping else None,
    )


def read_table(
    path: Path, dialect: CsvDialect | None = None, malformed: list[Problem] | None = None
) -> pd.DataFrame:
    """Read a CSV (optionally gzipped) or Parquet file as text columns.

    The index holds the file line each record starts on (header = line 1) for CSV, and the
    record number from 1 for Parquet, so messages can point at it. Blank lines are not deals:
    they are dropped (the numbering still counts them). Malformed CSV lines (see
    :mod:`walkaway.data.csv_records`) go to ``malformed`` when given, else raise.
    """
    frame = pd.concat(list(iter_table(path, dialect=dialect, malformed=malformed)))
    return frame.dropna(how="all")


def iter_table(
    path: Path,
    chunk_size: int | None = None,
    dialect: CsvDialect | None = None,
    malformed: list[Problem] | None = None,
) -> Iterator[pd.DataFrame]:
    """Stream a CSV or Parquet file in chunks of ``chunk_size`` rows (whole when None).

    Each chunk is indexed by source line (see :func:`read_table`); CSV values are text, and
    blank lines come through as empty rows, so that every line is accounted for. The CSV
    dialect is detected when not given (:func:`read_dialect`).

    Raises
    ------
    ContractError
        The file cannot be read at all, its header names a column twice, or (when
        ``malformed`` is None) a line is malformed. With a ``malformed`` list, each malformed
        line is added to it as a problem before the chunk after it is given.
    """
    name = path.name
    if not path.exists():
        raise ContractError([Problem(name, None, None, f"file not found: {path}")])
    if path.is_dir():
        raise ContractError([Problem(name, None, None, "is a folder, not a file")])
    if path.stat().st_size == 0:
        raise ContractError([Problem(name, None, None, "the file is empty")])
    if path.suffix.lower() in PARQUET_SUFFIXES:
        yield from _iter_parquet(path, chunk_size)
    else:
        yield from _iter_csv(path, chunk_size, dialect or read_dialect(path), malformed)


def _iter_parquet(path: Path, chunk_size: int | None) -> Iterator[pd.DataFrame]:
    try:
        parquet = pq.ParquetFile(path)
        names = parquet.schema_arrow.names
        twice = next((n for i, n in enumerate(names) if n in names[:i]), None)
        if twice is not None:
            rule = f"names column '{twice}' twice: which values are its cannot be known"
            raise ContractError([Problem(path.name, None, None, rule)])
        rows = parquet.metadata.num_rows
        first = 1
        for batch in parquet.iter_batches(batch_size=chunk_size or max(1, rows)):
            frame = batch.to_pandas()
            frame.index = pd.RangeIndex(first, first + len(frame))
            first += len(frame)
            yield frame
        if rows == 0:
            yield pd.DataFrame(columns=parquet.schema_arrow.names)
    except (pa.ArrowException, OSError) as error:
        rule = f"not a readable Parquet file ({type(error).__name__})"
        raise ContractError([Problem(path.name, None, None, rule)]) from None


def _iter_csv(
    path: Path, chunk_size: int | None, dialect: CsvDialect, malformed: list[Problem] | None
) -> Iterator[pd.DataFrame]:
    compressed = path.suffix.lower() == ".gz"
    try:
        with (gzip.open if compressed else open)(path, "rb") as handle:
            start = handle.read(4096)
    except (OSError, EOFError) as error:
        rule = f"not a readable file ({type(error).__name__})"
        raise ContractError([Problem(path.name, None, None, rule)]) from None
    if b"\x00" in start:
        rule = "not a CSV text file (binary content: an Excel or Parquet file saved as .csv?)"
        raise ContractError([Problem(path.name, None, None, rule)])
    opener = gzip.open if compressed else open
    try:
        with opener(path, "rt", encoding=dialect.encoding, newline="") as handle:
            records = CsvRecords(handle, dialect.delimiter)
            for frame in records.chunks(chunk_size):
                problems = [malformed_problem(path.name, line) for line in records.malformed]
                records.malformed.clear()
                if malformed is not None:
                    malformed.extend(problems)
                elif problems:
                    raise ContractError(problems)
                yield frame
    except DuplicateColumns as error:
        raise ContractError([Problem(path.name, 1, None, str(error))]) from None
    except ValueError as error:  # no header: the file is blank
        if isinstance(error, ContractError):
            raise
        raise ContractError([Problem(path.name, None, None, str(error))]) from None
    except (UnicodeDecodeError, OSError, EOFError) as error:
        detail = str(error).strip().splitlines()[-1][:120] if str(error).strip() else ""
        rule = f"not a readable CSV file ({type(error).__name__}{': ' if detail else ''}{detail})"
        raise ContractError([Problem(path.name, None, None, rule)]) from None


def malformed_problem(file: str, line: MalformedLine) -> Problem:
    """A malformed line as a reject reason: the line, its rule and how it starts."""
    return Problem(file, line.line, None, f"the line {line.rule}", line.text)


def count_rows(path: Path) -> int | None:
    """Rows of a file, cheaply, for a progress bar: Parquet metadata, or CSV line breaks."""
    if path.suffix.lower() in PARQUET_SUFFIXES:
        try:
            return pq.ParquetFile(path).metadata.num_rows
        except (pa.ArrowException, OSError):
            return None
    if path.suffix.lower() == ".gz":
        return None
    with path.open("rb") as handle:
        breaks = sum(block.count(b"\n") for block in iter(lambda: handle.read(1 << 24), b""))
    return max(0, breaks - 1)


def header(path: Path) -> list[str]:
    """The column names of a file, read cheaply (for choosing a mapping)."""
    try:
        if path.suffix.lower() in PARQUET_SUFFIXES:
            return list(pq.read_schema(path).names)
        dialect = read_dialect(path)
        frame = pd.read_csv(path, nrows=0, sep=dialect.delimiter, encoding=dialect.encoding)
        return [str(c).strip() for c in frame.columns]
    except Exception:  # unreadable files get their full message from read_table
        return []


def resolve_mapping(
    history: Path, mapping: str | Path | None, remembered: Mapping | None = None
) -> Mapping:
    """The mapping to read an export with, and why (``chosen_because``), in this order: the one
    given; the one a model was trained with (``remembered``, when scoring); a ``mapping.yaml``
    beside the export; the shipped mapping whose columns the export has; canonical names."""
    folder = history if history.is_dir() else history.parent
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
    if history.is_file():
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


def read_checked(
    path: Path, mapping: Mapping, table: str, notes: list[str] | None = None
) -> CheckedTable:
    """Read one table of an export, map it and check it against the contract. For deals of a
    mapping with ``duplicates: drop``, repeated rows are dropped first and ``notes`` says so."""
    dialect = read_dialect(path, mapping)
    raw = read_table(path, dialect)
    if notes is not None:
        notes.extend(dialect.notes)
    if table == "deals" and mapping.drop_duplicates:
        id_column = mapping.tables["deals"].columns.get("deal_id", "deal_id")
        raw, dropped = drop_repeats(raw, id_column, path.name)
        if notes is not None:
            notes.extend(dropped)
    canonical = apply_mapping(raw, mapping, table, path.name)
    checked = check_table(
        canonical,
        table,
        path.name,
        mapping.source_names(table),
        mapping.date_format,
        unique=table != "deal_history",  # one row per change: a deal repeats
        dated=mapping.dated,
        decimal=dialect.decimal,
    )
    if notes is not None:
        notes.extend(checked.notes)
    return checked


def export_file(folder: Path, name: str) -> Path:
    """The file a mapping names (``name``, relative) in the export's ``folder``.

    The mapping's own check refuses ``..`` and absolute paths; this one follows links, so that a
    link inside the folder cannot lead a mapping to a file elsewhere either.

    Raises
    ------
    ContractError
        When the file, links followed, is outside ``folder``.
    """
    path = folder / name
    if path.exists() and not path.resolve().is_relative_to(folder.resolve()):
        rule = (
            f"is a link to {path.resolve()}, outside the export's folder: a mapping reads files "
            "in its export's folder only (copy the file in, or give it on the command line)"
        )
        raise ContractError([Problem(name, None, None, rule)])
    return path


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
        raw = read_table(path, read_dialect(path, mapping))
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
