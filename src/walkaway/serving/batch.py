"""The batch job: score an open-pipeline export, in chunks, losing nothing.

Every input row comes out either scored (in the output file) or rejected (in
``<out>.rejects.csv`` with its source line, deal id and reason). Rows are checked against the
contract one by one; a deal id seen before, a closed deal, an empty line and a malformed line
(an extra field, an unbalanced quote, a NUL byte) are rejects too.

The outputs (scores, rejects and the optional report) are committed together: each is written
beside its target, and all are renamed into place only when every one of them was written.
A crash, Ctrl-C, SIGTERM, a full disk or a read-only folder leaves the previous outputs as
they were. One run at a time writes an output: a lock file beside it (``.<out>.lock``) makes a
second run on the same ``--out`` refuse rather than interleave.
"""

from __future__ import annotations

import fcntl
import os
import time
from collections import Counter, defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from walkaway.data.contracts import ContractError, Problem
from walkaway.data.exports import check_raw, load_related, read_checked, resolve_mapping
from walkaway.data.history import join_accounts, join_related, join_stage_history
from walkaway.data.mapping import Mapping, apply_mapping
from walkaway.data.raw_files import PARQUET_SUFFIXES, export_file, iter_table, read_dialect
from walkaway.errors import WalkawayError
from walkaway.model.walkaway_model import WalkawayModel
from walkaway.output_files import (
    OutputError,
    cannot_write,
    partial_path,
    remove_partial,
    remove_stale_partials,
)
from walkaway.serving import DEFAULT_CHUNK_SIZE
from walkaway.serving.pipeline_digest import PipelineDigest
from walkaway.serving.scoring import SCORE_COLUMNS, make_inert, score_deals

OUTPUT_SUFFIXES = (".csv", *PARQUET_SUFFIXES)
# The likely cause of a reject reason shared by most rows (by the start of its rule).
LIKELY_CAUSES = {
    "unparseable date": "the export writes dates in another format than {mapping}'s "
    "date_format (check --mapping, or set date_format)",
    "not a number": "the numbers use another decimal mark or currency format (set decimal: "
    "in the mapping)",
    "must be one of won, lost, open": "the stage values are not in {mapping}'s values for "
    "the outcome (check --mapping, or add them under values.outcome)",
    "already closed": "the file holds closed deals: score the open pipeline only",
    "duplicate deal_id": "the export repeats deals (one row per product or per change?)",
    "is empty but required": "a required column is blank in the export (check --mapping)",
    "the line has": "lines have more or fewer fields than the header (a delimiter inside an "
    "unquoted value?)",
}
REJECT_COLUMNS = ["row", "deal_id", "reason"]


@dataclass
class BatchResult:
    """What a batch run read, scored and rejected, and where the time went."""

    read: int = 0
    scored: int = 0
    rejected: int = 0
    seconds: float = 0.0
    timings: dict[str, float] = field(default_factory=lambda: defaultdict(float))
    digest: PipelineDigest = field(default_factory=PipelineDigest.empty)
    accounts_note: str = ""
    notes: list[str] = field(default_factory=list)  # how the file was read (delimiter, ...)
    mapping: Mapping | None = None  # the mapping used, and why (``chosen_because``)
    reasons: Counter = field(default_factory=Counter)  # (column, rule) of each rejected cell

    @property
    def accounted_for(self) -> bool:
        return self.read == self.scored + self.rejected

    def main_reject_reason(self) -> str | None:
        """The reason most rejected rows share, with its likely cause, when it is at least half
        of them: the first thing to fix."""
        if not self.reasons:
            return None
        (column, rule), rows = self.reasons.most_common(1)[0]
        if rows < self.rejected / 2:
            return None
        where = f"column '{column}': " if column else ""
        cause = next((c for key, c in LIKELY_CAUSES.items() if rule.startswith(key)), "")
        mapping = self.mapping.name if self.mapping is not None else "the mapping"
        cause = cause.format(mapping=mapping)
        return f"{rows:,} of the {self.rejected:,} rejected rows: {where}{rule}" + (
            f". Likely cause: {cause}" if cause else ""
        )


class EverythingRejected(WalkawayError):
    """Not one row of the input could be scored."""


def rejects_path(out: Path) -> Path:
    """Where the rejects of an output go: ``<out>.rejects.csv``."""
    return out.with_name(out.name + ".rejects.csv")


def failed_rejects_path(out: Path) -> Path:
    """Where the rejects of a run that scored nothing go, beside the kept previous outputs."""
    return out.with_name(out.name + ".failed-rejects.csv")


def check_output_paths(deals: Path, out: Path, report: Path | None = None) -> None:
    """Refuse outputs that cannot be what the user meant, before anything is read or written.

    Raises
    ------
    OutputError
        ``out`` has an extension other than .csv, .parquet or .pq, is a folder, or is the
        input itself; ``report`` is a folder or the input.
    """
    if out.suffix.lower() not in OUTPUT_SUFFIXES:
        raise OutputError(f"--out {out}: unknown extension '{out.suffix}' (write .csv or .parquet)")
    targets = [("--out", out), ("--out's rejects", rejects_path(out))]
    targets += [("--report", report)] if report is not None else []
    for option, target in targets:
        if target.is_dir():
            raise OutputError(f"{option} {target} is a folder: name a file to write")
        if target.exists() and deals.exists() and target.resolve() == deals.resolve():
            raise OutputError(f"{option} {target} is the input file: it would be overwritten")


class _OutputLock:
    """An exclusive lock on an output (``.<name>.lock`` beside it), held for the whole run.

    The operating system releases it when the process ends, however it ends, so a killed run
    never leaves a lock behind.
    """

    def __init__(self, out: Path):
        self.path = out.with_name(f".{out.name}.lock")
        self.handle: int | None = None

    def __enter__(self) -> _OutputLock:
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


class _TableWriter:
    """Appends chunks to a temporary file beside the target: CSV (formulas made inert) or
    Parquet, chosen by the target's extension; ``commit`` renames it into place."""

    def __init__(self, target: Path, columns: list[str]):
        self.target, self.columns = target, columns
        self.partial = partial_path(target)
        self.parquet = target.suffix.lower() in PARQUET_SUFFIXES
        self.writer: pq.ParquetWriter | None = None
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


class _TextWriter:
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


def load_accounts(path: Path | None, mapping: Mapping) -> tuple[pd.DataFrame | None, str]:
    """The accounts table (good rows only) and a note on what was left out."""
    if path is None:
        return None, "no accounts file: ICP firmographics are unknown for every deal"
    return _good_rows(path, mapping, "accounts", "account")


def load_deal_history(folder: Path, mapping: Mapping) -> tuple[pd.DataFrame | None, str]:
    """The mapping's deal-history table beside the pipeline (good rows only), or None when the
    mapping names none or the file is absent, and a note on what was left out."""
    if "deal_history" not in mapping.tables:
        return None, ""
    path = export_file(folder, mapping.tables["deal_history"].file)
    if not path.is_file():
        return None, ""
    return _good_rows(path, mapping, "deal_history", "deal-history")


def _good_rows(path: Path, mapping: Mapping, table: str, what: str) -> tuple[pd.DataFrame, str]:
    """A side table's rows that keep the contract, and a note on the rows left out."""
    checked = read_checked(path, mapping, table)
    note = ""
    if checked.problems:
        first = checked.problems[0]
        note = f"{len(checked.rejected_rows)} {what} rows left out (first: {first})"
    return checked.frame, note


def score_file(
    deals: Path,
    out: Path,
    model: WalkawayModel,
    *,
    model_name: str | None,
    model_version: int | None,
    accounts: Path | None = None,
    mapping: str | Path | None = None,
    remembered_mapping: Mapping | None = None,
    chunk_size: int = DEFAULT_CHUNK_SIZE,
    as_of: pd.Timestamp | None = None,
    on_progress: Callable[[int], None] | None = None,
    report: Path | None = None,
    render_report: Callable[[BatchResult], str] | None = None,
) -> BatchResult:
    """Score every open deal of ``deals`` into ``out``; reject the rest with reasons.

    The export is read with ``mapping`` when given, else with ``remembered_mapping`` (the one
    the model was trained with), else as :func:`~walkaway.data.exports.resolve_mapping` finds it.
    With ``report`` and ``render_report``, the page rendered from the finished run is written
    too, and committed with the scores and rejects (see the module docstring). A file with a
    header and no rows is a day without open deals: empty outputs, no error.

    Raises
    ------
    ContractError
        When the file cannot be read or mapped at all (not for bad rows: they are rejects).
    OutputError
        An output cannot be written (a folder, a read-only folder, a full disk), or another
        run is writing it; the previous outputs are unchanged.
    EverythingRejected
        Rows were read and none could be scored: the previous outputs are kept, and this run's
        rejects are in :func:`failed_rejects_path`.
    """
    started = time.perf_counter()
    deals, out = Path(deals), Path(out)
    check_output_paths(deals, out, report)
    with _OutputLock(out):
        return _score_locked(
            deals,
            out,
            model,
            model_name=model_name,
            model_version=model_version,
            accounts=accounts,
            mapping=mapping,
            remembered_mapping=remembered_mapping,
            chunk_size=chunk_size,
            as_of=as_of,
            on_progress=on_progress,
            report=report,
            render_report=render_report,
            started=started,
        )


def _score_locked(
    deals: Path,
    out: Path,
    model: WalkawayModel,
    *,
    model_name: str | None,
    model_version: int | None,
    accounts: Path | None,
    mapping: str | Path | None,
    remembered_mapping: Mapping | None,
    chunk_size: int,
    as_of: pd.Timestamp | None,
    on_progress: Callable[[int], None] | None,
    report: Path | None,
    render_report: Callable[[BatchResult], str] | None,
    started: float,
) -> BatchResult:
    """:func:`score_file`, once the output is locked."""
    chosen = resolve_mapping(deals, mapping, remembered_mapping)
    # The deals file's own columns first: a mapping that does not fit it must be named as
    # such, not as a missing column of the accounts file read next.
    dialect = read_dialect(
        deals, chosen.delimiter, chosen.decimal
    )  # decided once: it reads the whole file's bytes
    first_rows = iter_table(deals, chunk_size=1, dialect=dialect, malformed=[])
    try:
        first = next(first_rows, None)
        if first is not None:
            apply_mapping(first.iloc[0:0], chosen, "deals", deals.name)
    finally:
        first_rows.close()
    if accounts is None and "accounts" in chosen.tables:
        beside = export_file(deals.parent, chosen.tables["accounts"].file)
        accounts = beside if beside.is_file() and beside != deals else None
    account_table, accounts_note = load_accounts(accounts, chosen)
    related = load_related(deals.parent, chosen)
    stage_history, history_note = load_deal_history(deals.parent, chosen)
    if history_note:
        accounts_note = f"{accounts_note}; {history_note}" if accounts_note else history_note
    as_of = (as_of or pd.Timestamp.now()).normalize()
    scored_at = pd.Timestamp.now(tz="UTC").isoformat(timespec="seconds")
    columns = [*SCORE_COLUMNS, "model_name", "model_version", "scored_at"]

    result = BatchResult(accounts_note=accounts_note, mapping=chosen)
    result.notes += dialect.notes
    id_note = chosen.tables["deals"].id_note(deals.name)
    result.notes += [id_note] if id_note else []
    reading = _Reading(chosen.date_format, chosen.date_format is not None, dialect.decimal)
    output = rejects = page = None
    try:
        output = _TableWriter(out, columns)
        rejects = _TableWriter(rejects_path(out), REJECT_COLUMNS)
        first_row: dict[str, int] = {}
        malformed: list[Problem] = []

        def reject(raw: pd.DataFrame, problems: list[Problem]) -> None:
            rejects.write(_reject_rows(raw, problems, chosen))
            result.rejected += len({p.row for p in problems})
            first = {p.row: p for p in reversed(problems)}  # each row's first problem
            result.reasons.update((p.column, p.rule) for p in first.values())

        clock = time.perf_counter()
        for raw in iter_table(deals, chunk_size, dialect, malformed):
            result.timings["reading"] += time.perf_counter() - clock
            result.read += len(raw) + len(malformed)

            clock = time.perf_counter()
            good, problems = _check_chunk(raw, chosen, deals.name, first_row, reading)
            problems += malformed
            result.notes += reading.notes
            reading.notes = []
            result.timings["validating"] += time.perf_counter() - clock
            if problems:
                reject(raw, problems)

            if len(good):
                clock = time.perf_counter()
                frame, _ = join_related(join_accounts(good, account_table), related)
                frame, _ = join_stage_history(frame, stage_history)
                if account_table is not None:
                    frame["account_found"] = good["account_id"].isin(account_table["account_id"])
                result.timings["joining"] += time.perf_counter() - clock
                scores = score_deals(model, frame, as_of, timings=result.timings)
                scores["model_name"] = model_name
                scores["model_version"] = model_version
                scores["scored_at"] = scored_at
                clock = time.perf_counter()
                output.write(scores)
                result.digest.add(scores)
                result.timings["writing"] += time.perf_counter() - clock
                result.scored += len(scores)
            if on_progress is not None:
                on_progress(len(raw) + len(malformed))
            malformed.clear()
            clock = time.perf_counter()
        clock = time.perf_counter()
        output.finish()
        rejects.finish()
        if result.read and not result.scored:
            rejects.commit(failed_rejects_path(out))  # the previous outputs stay together
            output.discard()
            raise EverythingRejected(_everything_rejected(result, deals, out))
        if report is not None and render_report is not None:
            page = _TextWriter(report)
            page.write(render_report(result))
        # Every output is complete: now, and only now, replace the previous ones.
        output.commit()
        rejects.commit()
        if page is not None:
            page.commit()
        result.timings["writing"] += time.perf_counter() - clock
    except BaseException:
        for writer in (output, rejects, page):
            if writer is not None:
                writer.discard()
        raise
    result.seconds = time.perf_counter() - started
    return result


def _everything_rejected(result: BatchResult, deals: Path, out: Path) -> str:
    used = result.mapping
    mapping = f" with the mapping {used.name} ({used.chosen_because})" if used else ""
    return (
        f"every one of the {result.read:,} rows of {deals.name} was rejected, read{mapping}; "
        f"{result.main_reject_reason() or 'reasons'}; see {failed_rejects_path(out)} "
        f"(the previous {out.name} and its rejects are kept)"
    )


@dataclass
class _Reading:
    """How the chunks of one file are read: decided once, on the first chunk, so that every
    chunk reads dates the same way."""

    date_format: str | None
    decided: bool
    decimal: str
    notes: list[str] = field(default_factory=list)


def _check_chunk(
    raw: pd.DataFrame,
    mapping: Mapping,
    file: str,
    first_row: dict[str, int],
    reading: _Reading,
) -> tuple[pd.DataFrame, list[Problem]]:
    """Typed open deals of one chunk, and the problems of the rows left out.

    Raises
    ------
    ContractError
        A problem of the whole file (a date column the mapping's format misreads).
    """
    if raw.empty:  # a header and no rows (or only malformed lines): nothing to check
        return apply_mapping(raw, mapping, "deals", file), []
    checked = check_raw(
        raw,
        mapping,
        "deals",
        file,
        decimal=reading.decimal,
        date_format=reading.date_format,
        unique=False,
    )
    whole_file = [p for p in checked.problems if p.row is None]
    if whole_file:
        raise ContractError(whole_file)
    if not reading.decided:
        # ISO 8601 is spelled out so that later chunks do not infer again.
        reading.date_format = checked.date_format or "ISO8601"
        reading.decided = True
        reading.notes += checked.notes
    good, problems = checked.frame, list(checked.problems)

    names = mapping.source_names("deals")
    closed = good["outcome"].isin(["won", "lost"])
    outcome_column = names.get("outcome", "outcome")
    problems += [
        Problem(
            file,
            int(row),
            outcome_column,
            f"already closed ({outcome}): only open deals are scored",
        )
        for row, outcome in good.loc[closed, "outcome"].items()
    ]
    good = good[~closed]

    repeated = []
    for row, deal_id in good["deal_id"].items():
        if deal_id in first_row:
            repeated.append(row)
            problems.append(
                Problem(
                    file,
                    int(row),
                    names.get("deal_id", "deal_id"),
                    f"duplicate deal_id (first at row {first_row[deal_id]})",
                    deal_id,
                )
            )
        else:
            first_row[deal_id] = int(row)
    return good.drop(index=repeated), problems


def _reject_rows(raw: pd.DataFrame, problems: list[Problem], mapping: Mapping) -> pd.DataFrame:
    """One line per rejected row: its source row, its deal id as written, and every reason."""
    reasons: dict[int, list[str]] = defaultdict(list)
    for problem in problems:
        if problem.row is not None:  # a chunk's problems are all of rows
            reasons[problem.row].append(problem.reason)
    deals = mapping.tables["deals"]
    id_column = deals.columns.get("deal_id", "deal_id")
    rows = sorted(reasons)
    if deals.id_from:
        ids = deals.deal_ids(raw).reindex(rows)
    elif id_column in raw:
        ids = raw[id_column].reindex(rows)
    else:
        ids = pd.Series(index=rows, dtype=object)
    return pd.DataFrame(
        {
            "row": rows,
            "deal_id": [None if pd.isna(v) else str(v)[:200] for v in ids],
            "reason": ["; ".join(dict.fromkeys(reasons[r])) for r in rows],
        }
    )
