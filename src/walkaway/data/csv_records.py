"""Splitting a CSV file into records, where one malformed line costs one line.

pandas reads a CSV file fast, but one line with an extra field or an unbalanced quote stops
it, a line with too few fields is padded silently, and a quote that never closes swallows the
rest of the file into one cell. Real exports have such lines. :class:`CsvRecords` reads with
Python's :mod:`csv` module in strict mode and checks every record: a record that does not
have the header's number of fields, breaks the quoting rules, holds a cell longer than
:data:`CELL_LIMIT` or a NUL byte is set aside as a :class:`MalformedLine` (its file line, the
rule, the start of its text), and reading resumes at the next line, so that a quote opened
on line 90,001 costs line 90,001 only.

Records are numbered by the file line they start on (the header is line 1), as an editor
shows it: a quoted cell that spans lines does not shift the numbers of the records after it.
"""

from __future__ import annotations

import csv
import io
from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass
from typing import TextIO

import pandas as pd

CELL_LIMIT = csv.field_size_limit()  # 131,072 characters: Salesforce's longest text field
SHOWN_CHARACTERS = 80  # of a malformed line, in its reject reason


@dataclass(frozen=True)
class MalformedLine:
    """A line that is not a record of the file: where, why, and how it starts."""

    line: int
    rule: str
    text: str


class DuplicateColumns(ValueError):
    """The header names a column twice: which values belong to it cannot be known."""


class _NumberedLines:
    """The lines of a text file, numbered from 1, with lines pushed back read again first.

    Iterating gives the csv module the lines of one record; ``taken`` holds the lines it took
    since it was last cleared.
    """

    def __init__(self, handle: TextIO):
        self.handle = handle
        self.pushed_back: deque[tuple[int, str]] = deque()
        self.taken: list[tuple[int, str]] = []
        self.read = 0

    def next_line(self) -> tuple[int, str] | None:
        """The next line and its number; None at the end of the file."""
        if self.pushed_back:
            return self.pushed_back.popleft()
        text = self.handle.readline()
        if not text:
            return None
        self.read += 1
        return self.read, text

    def __iter__(self) -> _NumberedLines:
        return self

    def __next__(self) -> str:
        item = self.next_line()
        if item is None:
            raise StopIteration
        self.taken.append(item)
        return item[1]

    def push_back(self, lines: list[tuple[int, str]]) -> None:
        self.pushed_back.extendleft(reversed(lines))


class CsvRecords:
    """The header and the records of one CSV text stream, in chunks of rows.

    Parameters
    ----------
    handle
        The file, opened as text with ``newline=""`` (so that quoted line breaks survive).
    delimiter
        The field delimiter.

    Examples
    --------
    >>> import io
    >>> text = 'id,name,amount\\n1,"Acme, Inc.",10\\n2,Beta\\n3,"Gam\\nma",30\\n4,Delta,40,x\\n'
    >>> records = CsvRecords(io.StringIO(text, newline=""), ",")
    >>> records.header
    ['id', 'name', 'amount']
    >>> chunk = next(records.chunks(10))
    >>> chunk.index.tolist(), chunk["name"].tolist()
    ([2, 4], ['Acme, Inc.', 'Gam\\nma'])
    >>> [(m.line, m.rule) for m in records.malformed]
    [(3, 'has 2 fields where the header has 3'), (6, 'has 4 fields where the header has 3')]
    """

    def __init__(self, handle: TextIO, delimiter: str):
        self.delimiter = delimiter
        self.lines = _NumberedLines(handle)
        self.malformed: list[MalformedLine] = []
        self.header = self._read_header()

    def _read_header(self) -> list[str]:
        """The header's names, trimmed; blank lines before it are skipped.

        Raises
        ------
        ValueError
            The file has no header (only blank lines), or a malformed one.
        DuplicateColumns
            The header names a column twice.
        """
        reader = csv.reader(self.lines, delimiter=self.delimiter, strict=True)
        try:
            fields: list[str] = []
            while not fields:
                fields = next(reader)
        except StopIteration:
            raise ValueError("the file is empty") from None
        except csv.Error as error:
            raise ValueError(f"its header is not a CSV line ({error})") from None
        names = [name.strip() or f"Unnamed: {i}" for i, name in enumerate(fields)]
        seen: dict[str, int] = {}
        for position, name in enumerate(names, start=1):
            if name in seen:
                raise DuplicateColumns(
                    f"the header names column '{name}' twice (columns {seen[name]} and "
                    f"{position}): which values are its cannot be known"
                )
            seen[name] = position
        return names

    def chunks(self, chunk_size: int | None) -> Iterator[pd.DataFrame]:
        """The records as text frames of at most ``chunk_size`` rows (all when None), indexed
        by the line each record starts on; empty cells are missing (NaN), and a blank line is
        a row of missing values so that every line is accounted for. A file with a header and
        no rows gives one empty frame. Malformed lines are added to ``malformed`` as they are
        met, before the chunk that follows them is given."""
        limit = chunk_size or float("inf")
        texts: list[str] = []
        numbers: list[int] = []
        given = False
        for number, text in self._records():
            texts.append(text)
            numbers.append(number)
            if len(texts) >= limit:
                yield self._frame(texts, numbers)
                texts, numbers, given = [], [], True
        if texts or not given or self.malformed:  # malformed lines after the last chunk too
            yield self._frame(texts, numbers)

    def _records(self) -> Iterator[tuple[int, str]]:
        """Each good record's first line number and text; malformed lines set aside (see the
        module docstring). A blank line is a record of empty cells."""
        separators = len(self.header) - 1
        lines = self.lines
        while (item := lines.next_line()) is not None:
            number, text = item
            if '"' in text or "\x00" in text:  # the csv module decides where it ends
                record = self._quoted_record(item)
                if record is not None:
                    yield number, record
            elif text.count(self.delimiter) == separators or not text.strip("\r\n"):
                yield item
            else:
                fields = text.count(self.delimiter) + 1
                self._set_aside(
                    [item], f"has {_fields(fields)} where the header has {separators + 1}"
                )

    def _quoted_record(self, first: tuple[int, str]) -> str | None:
        """The text of the record that starts at ``first`` when it is good, else None (the
        line is set aside)."""
        lines = self.lines
        lines.push_back([first])
        lines.taken.clear()
        width = len(self.header)
        try:
            fields = next(csv.reader(lines, delimiter=self.delimiter, strict=True))
        except csv.Error as error:
            self._set_aside(lines.taken, _csv_rule(str(error)))
            return None
        taken = list(lines.taken)
        if any("\x00" in text for _, text in taken):
            self._set_aside(taken, "holds a NUL byte (binary content)")
        elif len(fields) == width:
            return "".join(text for _, text in taken)
        elif len(taken) > 1:
            self._set_aside(
                taken,
                f"has {_fields(len(fields))} where the header has {width}: a quote "
                "opened on this line is not closed on it",
            )
        else:
            self._set_aside(taken, f"has {_fields(len(fields))} where the header has {width}")
        return None

    def _set_aside(self, taken: list[tuple[int, str]], rule: str) -> None:
        """Record the first line of ``taken`` as malformed, and read the lines after it again:
        a quote it opened must not swallow them."""
        (number, text), *after = taken
        shown = text.rstrip("\r\n")
        if len(shown) > SHOWN_CHARACTERS:
            shown = shown[:SHOWN_CHARACTERS] + "..."
        self.malformed.append(MalformedLine(number, rule, shown.replace("\x00", "\\x00")))
        self.lines.push_back(after)

    def _frame(self, texts: list[str], numbers: list[int]) -> pd.DataFrame:
        """Good records parsed by pandas (fast, and as pandas reads any CSV file)."""
        if not texts:
            return pd.DataFrame({name: pd.Series(dtype=str) for name in self.header})
        frame = pd.read_csv(
            io.StringIO("".join(texts)),
            sep=self.delimiter,
            header=None,
            names=self.header,
            dtype=str,
            keep_default_na=False,
            na_values=[""],
            skip_blank_lines=False,
            engine="c",
        )
        frame.index = pd.Index(numbers)
        return frame


def _fields(count: int) -> str:
    return f"{count} field" + ("" if count == 1 else "s")


def _csv_rule(error: str) -> str:
    """The csv module's error as a rule a user can act on."""
    if "field larger than field limit" in error:
        return f"holds a cell longer than {CELL_LIMIT:,} characters"
    if "expected after" in error:
        return 'has a quote in the middle of a quoted cell (write it twice: "")'
    if "unexpected end of data" in error:
        return "opens a quote that the file never closes"
    return f"is not a CSV line ({error})"
