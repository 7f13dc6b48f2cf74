"""Reading CRM exports from disk: CSV or Parquet in, checked canonical tables out.

This is the side-effect layer between files and the pure logic. Every failure becomes a
:class:`~walkaway.contracts.ContractError` whose message names the file, and where it can the
row, the column and the rule: a user never sees a traceback for bad input.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from walkaway.contracts import CheckedTable, ContractError, Problem, check_table
from walkaway.history import History
from walkaway.mapping import Mapping, apply_mapping, detect_mapping, load_mapping

PARQUET_SUFFIXES = (".parquet", ".pq")
FIRST_DATA_ROW_CSV = 2  # spreadsheet numbering: the header is row 1


def read_table(path: Path) -> pd.DataFrame:
    """Read a CSV (optionally gzipped) or Parquet file as text columns.

    The index holds each record's row number as a spreadsheet shows it (header = row 1) for
    CSV, and the record number from 1 for Parquet, so messages can point at it.
    """
    name = path.name
    if not path.exists():
        raise ContractError([Problem(name, None, None, f"file not found: {path}")])
    if path.is_dir():
        raise ContractError([Problem(name, None, None, "is a folder, not a file")])
    if path.stat().st_size == 0:
        raise ContractError([Problem(name, None, None, "the file is empty")])
    if path.suffix.lower() in PARQUET_SUFFIXES:
        return _read_parquet(path)
    return _read_csv(path)


def _read_parquet(path: Path) -> pd.DataFrame:
    try:
        frame = pd.read_parquet(path)
    except Exception as error:  # pyarrow raises several types for a broken file
        rule = f"not a readable Parquet file ({type(error).__name__})"
        raise ContractError([Problem(path.name, None, None, rule)]) from None
    frame.index = pd.RangeIndex(1, len(frame) + 1)
    return frame


def _read_csv(path: Path) -> pd.DataFrame:
    compression = "gzip" if path.suffix.lower() == ".gz" else None
    if compression is None and b"\x00" in path.open("rb").read(4096):
        rule = "not a CSV text file (binary content: an Excel or Parquet file saved as .csv?)"
        raise ContractError([Problem(path.name, None, None, rule)])
    for encoding in ("utf-8-sig", "latin-1"):
        try:
            frame = pd.read_csv(
                path,
                dtype=str,
                keep_default_na=False,
                na_values=[""],
                skip_blank_lines=True,
                compression=compression,
                encoding=encoding,
            )
            break
        except UnicodeDecodeError:
            continue
        except pd.errors.EmptyDataError:
            raise ContractError([Problem(path.name, None, None, "the file is empty")]) from None
        except (pd.errors.ParserError, OSError, EOFError) as error:
            detail = str(error).strip().splitlines()[-1][:120]
            rule = f"not a readable CSV file ({detail})"
            raise ContractError([Problem(path.name, None, None, rule)]) from None
    if frame.columns.size == 1 and len(frame) == 0 and "\ufffd" in frame.columns[0]:
        raise ContractError([Problem(path.name, None, None, "not a CSV text file")])
    frame.columns = [str(c).strip() for c in frame.columns]
    frame.index = pd.RangeIndex(FIRST_DATA_ROW_CSV, len(frame) + FIRST_DATA_ROW_CSV)
    return frame


def header(path: Path) -> list[str]:
    """The column names of a file, read cheaply (for choosing a mapping)."""
    if path.suffix.lower() in PARQUET_SUFFIXES:
        import pyarrow.parquet as pq

        return list(pq.read_schema(path).names)
    try:
        return [str(c).strip() for c in pd.read_csv(path, nrows=0, encoding="utf-8-sig").columns]
    except Exception:  # unreadable files get their full message from read_table
        return []


def resolve_mapping(history: Path, mapping: str | Path | None) -> Mapping:
    """The mapping to read an export with: the one given, else a ``mapping.yaml`` beside the
    export, else the shipped mapping whose columns the export has, else canonical names."""
    if mapping is not None:
        return load_mapping(mapping)
    folder = history if history.is_dir() else history.parent
    if (folder / "mapping.yaml").is_file():
        return load_mapping(folder / "mapping.yaml")
    files = [history] if history.is_file() else sorted(p for p in folder.iterdir() if p.is_file())
    return detect_mapping({p.name: header(p) for p in files})


def read_checked(path: Path, mapping: Mapping, table: str) -> CheckedTable:
    """Read one table of an export, map it and check it against the contract."""
    raw = read_table(path)
    canonical = apply_mapping(raw, mapping, table, path.name)
    return check_table(
        canonical, table, path.name, mapping.source_names(table), mapping.date_format
    )


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
    for table, table_mapping in chosen.tables.items():
        path = history if (table == "deals" and history.is_file()) else folder / table_mapping.file
        if table != "deals" and not path.exists():
            continue  # accounts and products are optional
        checked = read_checked(path, chosen, table)
        if checked.problems:
            raise ContractError(checked.problems)
        tables[table] = checked.frame
    return History(
        deals=tables["deals"],
        accounts=tables.get("accounts"),
        products=tables.get("products"),
        mapping=chosen,
        source=str(history),
    )
