"""The batch job: score an open-pipeline export, in chunks, losing nothing.

Every input row comes out either scored (in the output file) or rejected (in
``<out>.rejects.csv`` with its source line, deal id and reason): the rows are read and checked
as :mod:`walkaway.serving.pipeline_reading` says, scored by :mod:`walkaway.serving.scoring`,
ranked into a worklist over the whole file (:mod:`walkaway.serving.worklist`), folded into the
report's digest, and counted into the drift from the training data (:mod:`walkaway.model.drift`).

The outputs (scores, rejects, drift figures and the optional report) are committed together
(:mod:`walkaway.serving.batch_outputs`): a crash, Ctrl-C, SIGTERM, a full disk or a read-only
folder leaves the previous outputs as they were, and one run at a time writes an output.
"""

from __future__ import annotations

import time
from collections import Counter, defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from walkaway.data.contracts import Problem
from walkaway.data.exports import resolve_mapping
from walkaway.data.mapping import Mapping, apply_mapping
from walkaway.data.raw_files import iter_table, read_dialect
from walkaway.errors import WalkawayError
from walkaway.model.drift import DriftCounter, DriftReport
from walkaway.model.walkaway_model import WalkawayModel
from walkaway.serving import DEFAULT_CHUNK_SIZE
from walkaway.serving.batch_outputs import (
    OutputLock,
    TableWriter,
    TextWriter,
    check_output_paths,
    drift_path,
    failed_rejects_path,
    rejects_path,
)
from walkaway.serving.pipeline_digest import PipelineDigest
from walkaway.serving.pipeline_reading import (
    REJECT_COLUMNS,
    ChunkReading,
    SideTables,
    check_chunk,
    reject_rows,
)
from walkaway.serving.scoring import SCORE_COLUMNS, score_deals
from walkaway.serving.worklist import Capacity, WorklistRecord

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
    # The worklist (issue 15): every scored deal's work value, ranked once all are scored, and
    # how many deals the capacity marks to work (None without a capacity).
    worklist: WorklistRecord = field(default_factory=WorklistRecord)
    capacity: Capacity | None = None
    worked: int | None = None
    # The pipeline's drift from the training data; None for a model trained before it was
    # recorded (issue 15).
    drift: DriftReport | None = None

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
    capacity: Capacity | None = None,
) -> BatchResult:
    """Score every open deal of ``deals`` into ``out``; reject the rest with reasons.

    The export is read with ``mapping`` when given, else with ``remembered_mapping`` (the one
    the model was trained with), else as :func:`~walkaway.data.exports.resolve_mapping` finds it.
    With ``report`` and ``render_report``, the page rendered from the finished run is written
    too, and committed with the scores and rejects (see the module docstring). A file with a
    header and no rows is a day without open deals: empty outputs, no error.

    Every scored deal gets a ``priority`` over the whole file (1 = work first, see
    :mod:`walkaway.serving.worklist`), and with ``capacity`` a ``work`` mark (yes/no): the
    ranking is made once every chunk is scored, and the columns are added to the output before
    it is committed.

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
    with OutputLock(out):
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
            capacity=capacity,
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
    capacity: Capacity | None,
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
    side = SideTables.beside(deals, chosen, accounts)
    accounts_note = side.note
    as_of = (as_of or pd.Timestamp.now()).normalize()
    scored_at = pd.Timestamp.now(tz="UTC").isoformat(timespec="seconds")
    # scored_at: when the job ran; as_of: the day the deals were scored as of (ages count to it).
    columns = [*SCORE_COLUMNS, "model_name", "model_version", "scored_at", "as_of"]

    result = BatchResult(accounts_note=accounts_note, mapping=chosen)
    result.notes += dialect.notes
    id_note = chosen.tables["deals"].id_note(deals.name)
    result.notes += [id_note] if id_note else []
    reading = ChunkReading(chosen.date_format, chosen.date_format is not None, dialect.decimal)
    profile = getattr(model, "feature_profile_", None)
    drift = DriftCounter(profile) if profile is not None else None
    output = rejects = page = drift_table = None
    try:
        output = TableWriter(out, columns)
        rejects = TableWriter(rejects_path(out), REJECT_COLUMNS)
        first_row: dict[str, int] = {}
        malformed: list[Problem] = []

        def reject(raw: pd.DataFrame, problems: list[Problem]) -> None:
            rejects.write(reject_rows(raw, problems, chosen))
            result.rejected += len({p.row for p in problems})
            first = {p.row: p for p in reversed(problems)}  # each row's first problem
            result.reasons.update((p.column, p.rule) for p in first.values())

        clock = time.perf_counter()
        for raw in iter_table(deals, chunk_size, dialect, malformed):
            result.timings["reading"] += time.perf_counter() - clock
            result.read += len(raw) + len(malformed)

            clock = time.perf_counter()
            good, problems = check_chunk(raw, chosen, deals.name, first_row, reading)
            problems += malformed
            result.notes += reading.notes
            reading.notes = []
            result.timings["validating"] += time.perf_counter() - clock
            if problems:
                reject(raw, problems)

            if len(good):
                clock = time.perf_counter()
                frame = side.join(good)
                result.timings["joining"] += time.perf_counter() - clock
                scores = score_deals(
                    model,
                    frame,
                    as_of,
                    timings=result.timings,
                    on_features=drift.add if drift is not None else None,
                )
                scores["model_name"] = model_name
                scores["model_version"] = model_version
                scores["scored_at"] = scored_at
                scores["as_of"] = as_of.strftime("%Y-%m-%d")
                clock = time.perf_counter()
                output.write(scores)
                result.digest.add(scores)
                result.worklist.add(scores)
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
        # The worklist: ranked over the whole file, now that every chunk is scored.
        ranking = time.perf_counter()
        output.add_columns(result.worklist.columns(capacity))
        if capacity is not None:
            result.capacity, result.worked = capacity, capacity.deals(result.scored)
        ranked = time.perf_counter() - ranking
        result.timings["ranking"] += ranked
        clock += ranked  # counted as ranking, not as writing too
        if drift is not None:
            result.drift = drift.report()
            drift_table = TextWriter(drift_path(out))
            drift_table.write(result.drift.features.to_csv(index=False, float_format="%.6g"))
        if report is not None and render_report is not None:
            page = TextWriter(report)
            page.write(render_report(result))
        # Every output is complete: now, and only now, replace the previous ones.
        output.commit()
        rejects.commit()
        if page is not None:
            page.commit()
        if drift_table is not None:
            drift_table.commit()
        result.timings["writing"] += time.perf_counter() - clock
    except BaseException:
        for writer in (output, rejects, page, drift_table):
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
