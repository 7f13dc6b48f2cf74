"""A profile of the first rows of a file, column by column: what the draft's guesses rest on.

:class:`FileSample` reads a sample of a deals, accounts or products file as trimmed text;
each :class:`ColumnProfile` says how full the column is, its distinct values, and whether its
values read as numbers, yes/no words or dates (and in which formats), the way the contract will
parse them. Profiling once, lazily, keeps the drafting steps to the names and the decisions.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

import pandas as pd

from walkaway.data.cell_values import DATE_FORMATS, FALSE_WORDS, TRUE_WORDS, parse_numbers
from walkaway.data.drafting.vocabulary import normalise_name
from walkaway.data.raw_files import iter_table, read_dialect

MOSTLY = 0.95  # share of filled cells that must parse for a numeric or date column
MOSTLY_YES_NO = 0.9  # share of filled cells that must be yes/no words for a yes/no column


@dataclass
class ColumnProfile:
    """One column of a sample: its values as trimmed text (None when blank) and their kinds."""

    name: str
    text: pd.Series
    typed_dates: bool = False  # Parquet dates: the contract takes them as they are
    decimal: str = "."  # the file's decimal mark, as its dialect says

    @cached_property
    def key(self) -> str:
        return normalise_name(self.name)

    @cached_property
    def filled(self) -> pd.Series:
        return self.text.dropna()

    @property
    def n_filled(self) -> int:
        return len(self.filled)

    @cached_property
    def counts(self) -> pd.Series:
        """Rows per distinct value, in order of first appearance."""
        return self.filled.value_counts(sort=False)

    @cached_property
    def unique_share(self) -> float:
        return len(self.counts) / self.n_filled if self.n_filled else 0.0

    @cached_property
    def numbers(self) -> pd.Series:
        """Each row's value as a number (as the contract parses numbers), NaN when not one."""
        uniques = pd.Series(self.counts.index, dtype=object)
        parsed = parse_numbers(uniques.astype(str), self.decimal)
        lookup = dict(zip(uniques, parsed, strict=True))
        return self.text.map(lookup).astype(float)

    @cached_property
    def numeric(self) -> bool:
        if not self.n_filled:
            return False
        return self.numbers.notna().sum() >= MOSTLY * self.n_filled

    @cached_property
    def yes_no_share(self) -> float:
        if not self.n_filled:
            return 0.0
        lowered = self.filled.astype(str).str.lower()
        return float(lowered.isin(TRUE_WORDS | FALSE_WORDS).mean())

    @property
    def yes_no(self) -> bool:
        return self.n_filled > 0 and self.yes_no_share >= MOSTLY_YES_NO

    @cached_property
    def date_shares(self) -> dict[str, float]:
        """Share of filled rows each date format reads (formats reading none left out)."""
        if not self.n_filled or self.numeric:
            return {}
        if self.typed_dates:  # any format "reads" them: the contract does not parse them
            return dict.fromkeys(DATE_FORMATS, 1.0)
        uniques = pd.Series(self.counts.index, dtype=object).astype(str)
        looks_dated = uniques.str.contains(r"\d{1,4}[-/.]\d{1,2}[-/.]\d{1,4}", regex=True)
        if self.counts.to_numpy()[looks_dated.to_numpy()].sum() < MOSTLY * self.n_filled:
            return {}
        shares = {}
        for fmt in DATE_FORMATS:
            parsed = pd.to_datetime(uniques, format=fmt, errors="coerce")
            rows = self.counts.to_numpy()[parsed.notna().to_numpy()].sum()
            if rows:
                shares[fmt] = rows / self.n_filled
        return shares

    @property
    def full_date_formats(self) -> list[str]:
        """The formats that read every filled value."""
        return [fmt for fmt, share in self.date_shares.items() if share >= 1.0]

    @property
    def dated(self) -> bool:
        return bool(self.date_shares) and max(self.date_shares.values()) >= MOSTLY

    def dates(self, fmt: str) -> pd.Series:
        """Each row's value read as a date (ISO for typed dates), NaT when unreadable."""
        fmt = "%Y-%m-%d" if self.typed_dates else fmt
        return pd.to_datetime(self.text.astype(object), format=fmt, errors="coerce")


@dataclass
class FileSample:
    """The first rows of one file, as text columns."""

    path: Path
    rows: int
    columns: dict[str, ColumnProfile]

    @classmethod
    def read(cls, path: Path, sample_rows: int) -> FileSample:
        dialect = read_dialect(path)
        chunks = iter_table(path, chunk_size=sample_rows, dialect=dialect)
        try:
            frame = next(chunks)
        finally:
            chunks.close()
        frame = frame.dropna(how="all")
        columns = {}
        for name in frame.columns:
            values = frame[name]
            typed_dates = pd.api.types.is_datetime64_any_dtype(values)
            if typed_dates:
                values = values.dt.strftime("%Y-%m-%d")
            text = values.astype(object).where(values.notna(), None)
            text = text.map(lambda v: None if v is None else (str(v).strip() or None))
            columns[str(name)] = ColumnProfile(
                str(name), text.astype(object), typed_dates, dialect.decimal
            )
        return cls(path, len(frame), columns)


def fits(column: ColumnProfile, kind: str) -> bool:
    """Whether a column's values suit a canonical kind."""
    if kind == "number":
        return column.numeric
    if kind == "bool":
        return column.yes_no
    if kind == "date":
        return column.dated
    return column.n_filled > 0
