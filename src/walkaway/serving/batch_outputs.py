"""The batch job's outputs: where they go, one run at a time, and written so that a failure
changes nothing.

The scores, the rejects (``<out>.rejects.csv``), the drift figures (``<out>.drift.csv``) and
the optional report are each written to a partial file beside their target
(:mod:`walkaway.output_files`) and renamed into place together by the batch job
(:mod:`walkaway.serving.batch`) only once every one of them is complete. A lock file beside the
output (``.<out>.lock``) makes a second run on the same ``--out`` refuse rather than interleave.
"""

from __future__ import annotations

import csv
import fcntl
import os
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from walkaway.data.raw_files import PARQUET_SUFFIXES, is_part_folder
from walkaway.output_files import (
    OutputError,
    cannot_write,
    partial_path,
    remove_partial,
    remove_stale_partials,
)
from walkaway.serving.scoring import make_inert

OUTPUT_SUFFIXES = (".csv", *PARQUET_SUFFIXES)


def rejects_path(out: Path) -> Path:
    """Where the rejects of an output go: ``<out>.rejects.csv``."""
    return out.with_name(out.name + ".rejects.csv")


def drift_path(out: Path) -> Path:
    """Where the drift figures of an output go: ``<out>.drift.csv`` (one row per feature)."""
    return out.with_name(out.name + ".drift.csv")


def failed_rejects_path(out: Path) -> Path:
    """Where the rejects of a run that scored nothing go, beside the kept previous outputs."""
    return out.with_name(out.name + ".failed-rejects.csv")


def check_output_paths(
    deals: Path, out: Path, report: Path | None = None, parts: bool = False
) -> None:
    """Refuse outputs that cannot be what the user meant, before anything is read or written.

    Raises
    ------
    OutputError
        ``out`` has an extension other than .csv, .parquet or .pq, is a folder (with
        ``parts``: is a file, or a folder other than a folder of part files), or is the input
        itself; ``report`` is a folder or the input.
    """
    if out.suffix.lower() not in OUTPUT_SUFFIXES:
        raise OutputError(f"--out {out}: unknown extension '{out.suffix}' (write .csv or .parquet)")
    if parts:
        if out.is_file():
            raise OutputError(f"--out {out} is a file: --out-parts writes a folder of part files")
        if out.is_dir() and any(out.iterdir()) and not is_part_folder(out):
            raise OutputError(
                f"--out {out} is a folder of other files than part files: it would be replaced"
            )
        if deals.exists() and out.exists() and out.resolve() == deals.resolve():
            raise OutputError(f"--out {out} is the input: it would be overwritten")
    targets = [("--out", out)] if not parts else []
    targets += [("--out's rejects", rejects_path(out))]
    targets += [("--report", report)] if report is not None else []
    for option, target in targets:
        if target.is_dir():
            raise OutputError(f"{option} {target} is a folder: name a file to write")
        if target.exists() and deals.exists() and target.resolve() == deals.resolve():
            raise OutputError(f"{option} {target} is the input file: it would be overwritten")


class OutputLock:
    """An exclusive lock on an output (``.<name>.lock`` beside it), held for the whole run.

    The operating system releases it when the process ends, however it ends, so a killed run
    never leaves a lock behind.
    """

    def __init__(self, out: Path):
        self.path = out.with_name(f".{out.name}.lock")
        self.handle: int | None = None

    def __enter__(self) -> OutputLock:
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self.handle = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        except OSError as error:
            raise cannot_write(self.path.parent, error) from None
        try:
            fcntl.flock(self.handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(self.handle)
            raise OutputError(
                f"another walkaway run is writing {self.path.parent / self.path.name[1:-5]} "
                "now: wait for it to finish, or choose another --out"
            ) from None
        return self

    def __exit__(self, *exc: object) -> None:
        if self.handle is not None:
            os.close(self.handle)  # closing releases the lock


class TableWriter:
    """Appends chunks to a temporary file beside the target: CSV (formulas made inert) or
    Parquet, chosen by the target's extension; ``commit`` renames it into place."""

    def __init__(self, target: Path, columns: list[str]):
        self.target, self.columns = target, columns
        self.partial = partial_path(target)
        self.parquet = target.suffix.lower() in PARQUET_SUFFIXES
        self.writer: pq.ParquetWriter | None = None
        self.staged: Path | None = None  # where add_columns rewrites the file
        self.started = False
        try:
            target.parent.mkdir(parents=True, exist_ok=True)
        except OSError as error:
            raise cannot_write(target, error) from None
        remove_stale_partials(target)

    def write(self, frame: pd.DataFrame) -> None:
        try:
            self._write(frame)
        except OSError as error:
            raise cannot_write(self.target, error) from None

    def _write(self, frame: pd.DataFrame) -> None:
        frame = frame[self.columns]
        if self.parquet:
            table = pa.Table.from_pandas(frame, schema=self._schema(frame), preserve_index=False)
            if self.writer is None:
                self.writer = pq.ParquetWriter(self.partial, table.schema)
            self.writer.write_table(table)
        else:
            make_inert(frame).to_csv(
                self.partial,
                mode="a" if self.started else "w",
                header=not self.started,
                index=False,
            )
        self.started = True

    def _schema(self, frame: pd.DataFrame) -> pa.Schema:
        fields = []
        for name in self.columns:
            if pd.api.types.is_float_dtype(frame[name]):
                fields.append(pa.field(name, pa.float64()))
            elif name == "model_version":
                fields.append(pa.field(name, pa.int64()))
            else:
                fields.append(pa.field(name, pa.string()))
        return pa.schema(fields)

    def finish(self) -> None:
        """Complete the temporary file (an empty table when nothing was written)."""
        if not self.started:
            self.write(pd.DataFrame({c: pd.Series(dtype=object) for c in self.columns}))
        try:
            if self.writer is not None:
                self.writer.close()
                self.writer = None
        except OSError as error:
            raise cannot_write(self.target, error) from None

    def add_columns(self, added: dict[str, np.ndarray]) -> None:
        """Add columns at the end of the finished temporary file, one value per row in the
        order written: the worklist's rank is over the whole file, so it is known only once
        every chunk is written. The file is streamed (a line or a chunk at a time) into another
        temporary file beside it, which then takes its place."""
        self.staged = self.target.with_name(f".{self.target.name}.partial-ranked-{os.getpid()}")
        try:
            if self.parquet:
                _add_parquet_columns(self.partial, self.staged, added)
            else:
                _add_csv_columns(self.partial, self.staged, added)
            self.staged.replace(self.partial)
        except OSError as error:
            raise cannot_write(self.target, error) from None
        self.columns = [*self.columns, *added]

    def commit(self, target: Path | None = None) -> None:
        """Rename the finished temporary file into place (``target``: elsewhere)."""
        self.partial.replace(target or self.target)

    def discard(self) -> None:
        try:
            if self.writer is not None:
                self.writer.close()
        except OSError:
            pass  # a full disk: the partial file goes anyway
        remove_partial(self.partial)
        if self.staged is not None:
            remove_partial(self.staged)


class PartsWriter:
    """A folder of part files (``part-00000.csv``, ... or ``.parquet``), one per chunk written,
    as Spark writes a table: written in a temporary folder beside the target, each part a
    :class:`TableWriter`; ``commit`` swaps the folder into place (the previous folder is renamed
    aside, the new one in, and the previous one removed)."""

    def __init__(self, target: Path, columns: list[str]):
        self.target, self.columns = target, columns
        self.folder = partial_path(target)
        self.suffix = ".parquet" if target.suffix.lower() in PARQUET_SUFFIXES else ".csv"
        self.parts: list[TableWriter] = []
        self.rows: list[int] = []  # each part's rows, in order
        try:
            target.parent.mkdir(parents=True, exist_ok=True)
            remove_stale_partials(target)
            self.folder.mkdir(exist_ok=True)
        except OSError as error:
            raise cannot_write(target, error) from None

    def write(self, frame: pd.DataFrame) -> None:
        """Write one more part."""
        part = TableWriter(self.folder / f"part-{len(self.parts):05d}{self.suffix}", self.columns)
        self.parts.append(part)
        part.write(frame)
        part.finish()
        self.rows.append(len(frame))

    def finish(self) -> None:
        """Complete the folder: one empty part when nothing was written, so that it reads as
        an empty table."""
        if not self.parts:
            self.write(pd.DataFrame({c: pd.Series(dtype=object) for c in self.columns}))

    def add_columns(self, added: dict[str, np.ndarray]) -> None:
        """Add columns to every part, one value per row in the order written."""
        start = 0
        for part, rows in zip(self.parts, self.rows, strict=True):
            part.add_columns({name: values[start : start + rows] for name, values in added.items()})
            start += rows
        self.columns = [*self.columns, *added]

    def commit(self) -> None:
        """Put the finished folder in the target's place."""
        for part in self.parts:
            part.commit()
        previous = self.target.with_name(f".{self.target.name}.previous-{os.getpid()}")
        try:
            if self.target.exists():
                self.target.rename(previous)
            self.folder.rename(self.target)
        except OSError as error:
            raise cannot_write(self.target, error) from None
        shutil.rmtree(previous, ignore_errors=True)

    def discard(self) -> None:
        for part in self.parts:
            part.discard()
        shutil.rmtree(self.folder, ignore_errors=True)


ScoresWriter = TableWriter | PartsWriter  # where the scored rows go: one file, or parts


def _add_csv_columns(source: Path, target: Path, added: dict[str, np.ndarray]) -> None:
    """``source`` (CSV, as pandas wrote it) with ``added`` columns at the end of each row,
    into ``target``; the other fields are copied as text, so they stay byte for byte."""
    extras = zip(*(column.tolist() for column in added.values()), strict=True)
    with (
        source.open(newline="", encoding="utf-8") as reading,
        target.open("w", newline="", encoding="utf-8") as writing,
    ):
        rows = csv.reader(reading)
        written = csv.writer(writing, lineterminator="\n")  # as pandas writes them
        written.writerow([*next(rows), *added])
        written.writerows([*row, *extra] for row, extra in zip(rows, extras, strict=True))


def _add_parquet_columns(source: Path, target: Path, added: dict[str, np.ndarray]) -> None:
    """``source`` (Parquet) with ``added`` columns (integers, or text) after the others, into
    ``target``, one row group at a time."""
    types = {n: pa.int64() if v.dtype.kind in "iu" else pa.string() for n, v in added.items()}
    with pq.ParquetFile(source) as reading:
        schema = reading.schema_arrow
        for name, kind in types.items():
            schema = schema.append(pa.field(name, kind))
        with pq.ParquetWriter(target, schema) as writer:
            start = 0
            for group in range(reading.num_row_groups):
                table = reading.read_row_group(group)
                end = start + table.num_rows
                for name, values in added.items():
                    column = pa.array(values[start:end], type=types[name])
                    table = table.append_column(schema.field(name), column)
                writer.write_table(table)
                start = end


class TextWriter:
    """A text file (the report) written beside its target, renamed by ``commit``."""

    def __init__(self, target: Path):
        self.target, self.partial = target, partial_path(target)

    def write(self, text: str) -> None:
        try:
            self.target.parent.mkdir(parents=True, exist_ok=True)
            remove_stale_partials(self.target)
            self.partial.write_text(text, encoding="utf-8")
        except OSError as error:
            raise cannot_write(self.target, error) from None

    def commit(self) -> None:
        self.partial.replace(self.target)

    def discard(self) -> None:
        remove_partial(self.partial)
