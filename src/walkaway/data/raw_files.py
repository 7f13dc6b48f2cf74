"""Step 1 of reading an export: a file on disk into a raw frame of text, row numbers kept.

CSV (optionally gzipped, in the dialect :mod:`walkaway.data.csv_dialect` decides) or Parquet,
whole or in chunks. Each row keeps the line it came from so every later message can point at
it, and malformed CSV lines (see :mod:`walkaway.data.csv_records`) become problems, not
crashes. Nothing here knows about mappings or the contract: the next steps are
:func:`walkaway.data.mapping.apply_mapping` and :func:`walkaway.data.contracts.check_table`,
which :mod:`walkaway.data.exports` runs in that order.
"""

from __future__ import annotations

import gzip
from collections.abc import Generator, Iterator
from dataclasses import replace
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from walkaway.data.contracts import ContractError, Problem
from walkaway.data.csv_dialect import CsvDialect, sniff_dialect
from walkaway.data.csv_records import CsvRecords, DuplicateColumns, MalformedLine

PARQUET_SUFFIXES = (".parquet", ".pq")
# A folder of part files, as Spark (or Hive) writes one table: part-00000-....csv, ...
PART_PREFIX = "part-"


FIRST_DATA_ROW_CSV = 2  # spreadsheet numbering: the header is row 1


def is_part_folder(path: Path) -> bool:
    """Whether ``path`` is a folder of part files (``part-*``), as Spark writes one table."""
    return path.is_dir() and any(p.name.startswith(PART_PREFIX) for p in path.iterdir())


def part_files(folder: Path) -> list[Path]:
    """The part files of a folder that holds one table, in name order (which is the table's
    order); hidden files, ``_SUCCESS`` and checksums (``.crc``) are not data.

    Raises
    ------
    ContractError
        The folder has no part file, or mixes Parquet and CSV parts.
    """
    parts = sorted(
        p
        for p in folder.iterdir()
        if p.is_file() and p.name.startswith(PART_PREFIX) and not p.name.endswith(".crc")
    )
    if not parts:
        rule = f"is a folder with no part files ({PART_PREFIX}*): name a file, or such a folder"
        raise ContractError([Problem(folder.name, None, None, rule)])
    if len({p.suffix.lower() in PARQUET_SUFFIXES for p in parts}) > 1:
        rule = "mixes Parquet and CSV part files: one table is written in one format"
        raise ContractError([Problem(folder.name, None, None, rule)])
    return parts


def parquet_schema(path: Path) -> pa.Schema | None:
    """The Arrow schema of a Parquet file (the first part's, for a folder of part files); None
    for CSV."""
    if is_part_folder(path):
        path = part_files(path)[0]
    return pq.read_schema(path) if path.suffix.lower() in PARQUET_SUFFIXES else None


def read_dialect(
    path: Path, delimiter: str | None = None, decimal: str | None = None
) -> CsvDialect:
    """How to read ``path``: the ``delimiter`` and ``decimal`` mark where given (a mapping's),
    the rest detected from the file (Parquet is typed: the defaults). A folder of part files
    reads as its first part."""
    if is_part_folder(path):
        path = part_files(path)[0]
    if path.suffix.lower() in PARQUET_SUFFIXES or not path.is_file():
        return CsvDialect()
    if path.stat().st_size == 0:
        return CsvDialect()
    return sniff_dialect(path, delimiter=delimiter, decimal=decimal)


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
) -> Generator[pd.DataFrame, None, None]:
    """Stream a CSV or Parquet file in chunks of ``chunk_size`` rows (whole when None).

    Each chunk is indexed by source line (see :func:`read_table`); CSV values are text, and
    blank lines come through as empty rows, so that every line is accounted for. The CSV
    dialect is detected when not given (:func:`read_dialect`).

    A folder of part files (:func:`part_files`) is read as one table: the parts in name order,
    each with its own header (which must be the first part's), and rows numbered on from one
    part to the next as if the parts were one file under one header (a part's line L, after
    parts of N rows in all, is row N + L).

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
    if is_part_folder(path):
        yield from _iter_parts(path, chunk_size, dialect, malformed)
        return
    if path.is_dir():
        rule = f"is a folder, not a file (nor a folder of part files, {PART_PREFIX}*)"
        raise ContractError([Problem(name, None, None, rule)])
    if path.stat().st_size == 0:
        raise ContractError([Problem(name, None, None, "the file is empty")])
    if path.suffix.lower() in PARQUET_SUFFIXES:
        yield from _iter_parquet(path, chunk_size)
    else:
        yield from _iter_csv(path, chunk_size, dialect or read_dialect(path), malformed)


def _iter_parts(
    folder: Path,
    chunk_size: int | None,
    dialect: CsvDialect | None,
    malformed: list[Problem] | None,
) -> Iterator[pd.DataFrame]:
    parts = part_files(folder)
    columns: list[str] | None = None
    before = 0  # rows of the parts read so far
    for part in parts:
        if part.stat().st_size == 0:  # Spark writes an empty part for an empty partition
            continue
        csv = part.suffix.lower() not in PARQUET_SUFFIXES
        last = 1 if csv else 0  # the part's last line (CSV, header = 1) or record (Parquet)
        part_malformed: list[Problem] = []
        for chunk in iter_table(part, chunk_size, dialect, part_malformed):
            if columns is None:
                columns = list(chunk.columns)
            elif list(chunk.columns) != columns:
                rule = (
                    f"has other columns than {parts[0].name}: the parts of a table share one header"
                )
                raise ContractError([Problem(f"{folder.name}/{part.name}", 1, None, rule)])
            lines = [p.row for p in part_malformed if p.row is not None]  # malformed: all have one
            shifted = [
                replace(p, file=folder.name, row=before + p.row if p.row is not None else None)
                for p in part_malformed
            ]
            last = max([last, *lines])
            part_malformed.clear()
            if malformed is not None:
                malformed.extend(shifted)
            elif shifted:
                raise ContractError(shifted)
            if len(chunk):
                last = max(last, int(chunk.index.max()))
            chunk.index = chunk.index + before
            yield chunk
        before += last - 1 if csv else last
    if columns is None:  # every part empty
        raise ContractError([Problem(folder.name, None, None, "every part file is empty")])


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
    """Rows of a file, cheaply, for a progress bar: Parquet metadata, or CSV line breaks (of
    every part, for a folder of part files)."""
    if is_part_folder(path):
        counts = [count_rows(part) for part in part_files(path)]
        return None if None in counts else sum(c for c in counts if c is not None)
    if not path.is_file():
        return None
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
        if is_part_folder(path):
            path = part_files(path)[0]
        if path.suffix.lower() in PARQUET_SUFFIXES:
            return list(pq.read_schema(path).names)
        dialect = read_dialect(path)
        frame = pd.read_csv(path, nrows=0, sep=dialect.delimiter, encoding=dialect.encoding)
        return [str(c).strip() for c in frame.columns]
    except Exception:  # unreadable files get their full message from read_table
        return []


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
