"""How a CSV file is written: its encoding, delimiter and decimal mark, decided once per file.

Exports come from many tools and locales. A German Excel writes ``;``-separated files with
decimal commas in Windows-1252; Salesforce writes UTF-8 with commas. :func:`sniff_dialect`
decides each of the three from the file itself (a mapping's ``delimiter:`` and ``decimal:``
override it) before any row is read, so every chunk of a large file is read the same way,
and says what it decided and why so a user can check it.

The decimal mark is decided only where the values are unambiguous: ``1.234,56`` and ``12,5``
say comma, ``1,234.56`` and ``12.5`` say point; ``1.500`` says nothing. A file that says both,
or nothing, is read with a point, and a number that only makes sense with the other mark is
rejected with that hint rather than read as something else.
"""

from __future__ import annotations

import codecs
import csv
import gzip
import io
import re
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from walkaway.data.cell_values import NUMBER_DECORATION
from walkaway.data.contracts import ContractError, Problem

DELIMITERS = (",", ";", "\t", "|")
DELIMITER_NAMES = {",": "comma", ";": "semicolon", "\t": "tab", "|": "pipe"}
DECIMALS = (".", ",")
SNIFF_BYTES = 1 << 20  # the delimiter and decimal are decided on the file's first megabyte
ENCODING_BLOCK = 1 << 24

# A number as a person types it: digits with an optional sign; the marks are told apart below.
_NUMBER_LIKE = re.compile(r"^[+-]?[$€£]?\s?[+-]?\d[\d.,' \u00a0\u202f]*$")
# Values that can only be read one way (see the module docstring).
_COMMA_EVIDENCE = re.compile(r"^[+-]?\d{1,3}(\.\d{3})+,\d+$|^[+-]?\d+,(\d{1,2}|\d{4,})$")
_POINT_EVIDENCE = re.compile(r"^[+-]?\d{1,3}(,\d{3})+\.\d+$|^[+-]?\d+\.(\d{1,2}|\d{4,})$")
NUMBER_LIKE_SHARE = 0.9  # of a column's filled values, for it to count as numbers


@dataclass(frozen=True)
class CsvDialect:
    """How one CSV file is read, and the notes a user sees about what was decided."""

    encoding: str = "utf-8-sig"
    delimiter: str = ","
    decimal: str = "."
    notes: tuple[str, ...] = field(default=(), compare=False)


def _opener(path: Path):
    return gzip.open if path.suffix.lower() == ".gz" else open


def _read_start(path: Path) -> bytes:
    try:
        with _opener(path)(path, "rb") as handle:
            return handle.read(SNIFF_BYTES)
    except (OSError, EOFError) as error:
        rule = f"not a readable file ({type(error).__name__})"
        raise ContractError([Problem(path.name, None, None, rule)]) from None


def detect_encoding(path: Path) -> str:
    """UTF-8 (with or without a byte-order mark) when the whole file decodes as UTF-8, else
    Windows-1252 (Excel on Windows) when it decodes as that, else Latin-1 (every byte is a
    character). The whole file is read once: a UTF-8 start with a Windows-1252 byte in its
    millionth row must not fail half-way through a batch."""
    decoder = codecs.getincrementaldecoder("utf-8")()
    try:
        with _opener(path)(path, "rb") as handle:
            for block in iter(lambda: handle.read(ENCODING_BLOCK), b""):
                decoder.decode(block, final=False)
            decoder.decode(b"", final=True)
        return "utf-8-sig"
    except UnicodeDecodeError:
        pass
    except (OSError, EOFError) as error:
        rule = f"not a readable file ({type(error).__name__})"
        raise ContractError([Problem(path.name, None, None, rule)]) from None
    with _opener(path)(path, "rb") as handle:
        try:
            for block in iter(lambda: handle.read(ENCODING_BLOCK), b""):
                block.decode("cp1252")
            return "cp1252"
        except UnicodeDecodeError:
            return "latin-1"


def detect_delimiter(text: str) -> str | None:
    """The delimiter that splits the header into the most columns and every other sampled
    line into as many; None when no candidate splits the header at all.

    Examples
    --------
    >>> detect_delimiter("Id;Name;Amount\\n1;Acme, Inc.;1.234,56\\n2;Beta;7\\n")
    ';'
    >>> detect_delimiter('Id,Name\\n1,"Acme; Inc."\\n'), detect_delimiter("Id\\n1\\n")
    (',', None)
    """
    lines = text.splitlines()[:200]
    if len(lines) > 1 and len(text) >= SNIFF_BYTES:
        lines = lines[:-1]  # the last line may be cut in the middle
    best, best_columns = None, 1
    for delimiter in DELIMITERS:
        rows = _sample_rows(lines, delimiter)
        if not rows or len(rows[0]) <= 1:
            continue
        columns = len(rows[0])
        agreeing = sum(len(r) == columns for r in rows[1:])
        if rows[1:] and agreeing < 0.9 * len(rows[1:]):
            continue
        if columns > best_columns:
            best, best_columns = delimiter, columns
    return best


def _sample_rows(lines: list[str], delimiter: str) -> list[list[str]]:
    """The non-blank rows of ``lines`` up to the first one the csv module cannot read (a huge
    cell, say): a malformed line is the batch's to reject, not the sniffer's to fail on."""
    rows: list[list[str]] = []
    reader = csv.reader(lines, delimiter=delimiter)
    while True:
        try:
            row = next(reader)
        except (StopIteration, csv.Error):
            return rows
        if row:
            rows.append(row)


def detect_decimal(frame: pd.DataFrame) -> tuple[str | None, str]:
    """The decimal mark that every number-like column of ``frame`` agrees on, and an example
    value that shows it; None when the values do not tell, or contradict each other.

    Examples
    --------
    >>> detect_decimal(pd.DataFrame({"Amount": ["1.234,56", "7"], "Id": ["A-1", "A-2"]}))
    (',', "'1.234,56' in column 'Amount'")
    >>> detect_decimal(pd.DataFrame({"Amount": ["1.500", "2.000"]}))
    (None, '')
    """
    comma, point = "", ""
    for name in frame.columns:
        text = frame[name].dropna().astype(str).str.strip()
        text = text[text != ""]
        if text.empty or text.str.match(_NUMBER_LIKE).mean() < NUMBER_LIKE_SHARE:
            continue
        compact = text.str.replace(NUMBER_DECORATION, "", regex=True)
        says_comma = compact[compact.str.match(_COMMA_EVIDENCE)]
        says_point = compact[compact.str.match(_POINT_EVIDENCE)]
        if len(says_comma) and not comma:
            comma = f"{says_comma.iloc[0]!r} in column {name!r}"
        if len(says_point) and not point:
            point = f"{says_point.iloc[0]!r} in column {name!r}"
    if comma and not point:
        return ",", comma
    if point and not comma:
        return ".", point
    return None, ""


def sniff_dialect(
    path: Path, delimiter: str | None = None, decimal: str | None = None
) -> CsvDialect:
    """Decide how to read the CSV file at ``path``: what the mapping says, else what the file
    shows (see the module docstring).

    Raises
    ------
    ContractError
        The file cannot be opened.
    """
    encoding = detect_encoding(path)
    start = _read_start(path).decode(encoding.replace("-sig", ""), errors="replace")
    start = start.removeprefix("\ufeff")
    notes = []
    if delimiter is None:
        delimiter = detect_delimiter(start) or ","
        if delimiter != ",":
            notes.append(f"{path.name}: {DELIMITER_NAMES[delimiter]}-separated (detected)")
    if decimal is None:
        try:
            sample = pd.read_csv(
                io.StringIO(start),
                sep=delimiter,
                dtype=str,
                keep_default_na=False,
                on_bad_lines="skip",
                engine="python",
            )
        except (pd.errors.ParserError, pd.errors.EmptyDataError, csv.Error):
            sample = pd.DataFrame()
        found, example = detect_decimal(sample)
        decimal = found or "."
        if found == ",":
            notes.append(f"{path.name}: decimal comma (detected from {example})")
    if encoding not in ("utf-8-sig",):
        notes.append(f"{path.name}: encoded {encoding} (not UTF-8)")
    return CsvDialect(encoding=encoding, delimiter=delimiter, decimal=decimal, notes=tuple(notes))
