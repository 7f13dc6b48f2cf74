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
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Protocol

import pandas as pd

from walkaway.data.contracts import Problem
from walkaway.data.csv_dialect import CsvDialect
from walkaway.data.exports import resolve_mapping
from walkaway.data.mapping import Mapping, apply_mapping
from walkaway.data.raw_files import iter_table, read_dialect
from walkaway.errors import WalkawayError
from walkaway.model.drift import DriftCounter, DriftReport
from walkaway.model.walkaway_model import WalkawayModel
from walkaway.serving import DEFAULT_CHUNK_SIZE
from walkaway.serving.batch_outputs import (
    OutputLock,
    PartsWriter,
    ScoresWriter,
    TableWriter,
    TextWriter,
    check_output_paths,
    drift_path,
    failed_rejects_path,
    rejects_path,
)
from walkaway.serving.chunk_scoring import OUTPUT_COLUMNS, RunSetting, ScoredChunk, score_chunk
from walkaway.serving.duplicate_ids import SeenIds
from walkaway.serving.pipeline_digest import PipelineDigest
from walkaway.serving.pipeline_reading import REJECT_COLUMNS, SideTables, decide_reading
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


class Engine(Protocol):
    """What scores a run's chunks other than :func:`score_in_turn` (the Spark engine): it writes
    the scored rows and the rejects in file order and returns their totals merged in file
    order."""

    def score_chunks(
        self,
        run: PipelineRun,
        model: WalkawayModel,
        chunk_size: int,
        output: ScoresWriter,
        rejects: TableWriter,
        on_progress: Callable[[int], None] | None,
    ) -> ScoredChunk: ...


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
    engine: Engine | None = None,
    out_parts: bool = False,
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

    The chunks are scored here, one after the other, or by ``engine`` when given (the Spark
    engine, :class:`walkaway.serving.spark_engine.SparkEngine`): both run
    :func:`~walkaway.serving.chunk_scoring.score_chunk` on every chunk, and write the same
    outputs. With ``out_parts``, ``out`` is a folder of part files (one per chunk), as Spark
    writes a table, rather than one file.

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
    check_output_paths(deals, out, report, parts=out_parts)
    with OutputLock(out):
        run = start_run(
            deals,
            model_name=model_name,
            model_version=model_version,
            accounts=accounts,
            mapping=mapping,
            remembered_mapping=remembered_mapping,
            as_of=as_of,
        )
        output: ScoresWriter | None = None
        rejects: TableWriter | None = None
        try:
            output = (PartsWriter if out_parts else TableWriter)(out, list(OUTPUT_COLUMNS))
            rejects = TableWriter(rejects_path(out), REJECT_COLUMNS)
            score_chunks = engine.score_chunks if engine is not None else score_in_turn
            totals = score_chunks(run, model, chunk_size, output, rejects, on_progress)
        except BaseException:
            for writer in (output, rejects):
                if writer is not None:
                    writer.discard()
            raise
        return finish_run(
            run, model, totals, output, rejects, report, render_report, capacity, started
        )


@dataclass
class PipelineRun:
    """One scoring run of a pipeline file, set up before its first chunk is scored."""

    deals: Path
    mapping: Mapping  # the mapping chosen, and why (``chosen_because``)
    dialect: CsvDialect
    setting: RunSetting  # what every chunk shares (its ``reading`` decided on the first one)
    as_of: pd.Timestamp
    result: BatchResult  # what is known so far: the notes


def start_run(
    deals: Path,
    *,
    model_name: str | None,
    model_version: int | None,
    accounts: Path | None,
    mapping: str | Path | None,
    remembered_mapping: Mapping | None,
    as_of: pd.Timestamp | None,
) -> PipelineRun:
    """Choose the mapping, read the file's dialect and side tables, and fix ``as_of`` and
    ``scored_at`` for the whole run (so that a run crossing midnight agrees with itself).

    Raises
    ------
    ContractError
        The file cannot be read or mapped at all.
    """
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
    # scored_at: when the job ran; as_of: the day the deals are scored as of (ages count to it).
    as_of = (as_of or pd.Timestamp.now()).normalize()
    scored_at = pd.Timestamp.now(tz="UTC").isoformat(timespec="seconds")

    result = BatchResult(accounts_note=side.note, mapping=chosen)
    result.notes += dialect.notes
    id_note = chosen.tables["deals"].id_note(deals.name)
    result.notes += [id_note] if id_note else []
    reading = decide_reading(pd.DataFrame(), chosen, deals.name, dialect.decimal)
    setting = RunSetting(deals.name, reading, side, model_name, model_version, scored_at)
    return PipelineRun(deals, chosen, dialect, setting, as_of, result)


def decide_on_first_chunk(run: PipelineRun, raw: pd.DataFrame) -> None:
    """Decide how every chunk reads dates on the first chunk with rows (see
    :func:`~walkaway.serving.pipeline_reading.decide_reading`)."""
    if run.setting.reading.decided:
        return
    reading = decide_reading(raw, run.mapping, run.deals.name, run.dialect.decimal)
    run.setting = replace(run.setting, reading=reading)
    run.result.notes += reading.notes


def score_in_turn(
    run: PipelineRun,
    model: WalkawayModel,
    chunk_size: int,
    output: ScoresWriter,
    rejects: TableWriter,
    on_progress: Callable[[int], None] | None,
) -> ScoredChunk:
    """The local engine: read, score and write the chunks one after the other, in file order
    (the duplicate rule remembers each deal id's first row as they go by); their totals."""
    seen = SeenIds()
    totals = ScoredChunk.nothing()
    timings = run.result.timings
    malformed: list[Problem] = []
    clock = time.perf_counter()
    for raw in iter_table(run.deals, chunk_size, run.dialect, malformed):
        timings["reading"] += time.perf_counter() - clock
        decide_on_first_chunk(run, raw)
        part = score_chunk(
            raw,
            model,
            run.mapping,
            run.as_of,
            run=run.setting,
            repeats=seen.repeats,
            malformed=malformed,
        )
        clock = time.perf_counter()
        if len(part.rejected):
            rejects.write(part.rejected)
        if len(part.scored):
            output.write(part.scored)
        timings["writing"] += time.perf_counter() - clock
        totals.merge(part)
        if on_progress is not None:
            on_progress(part.read)
        malformed.clear()
        clock = time.perf_counter()
    return totals


def finish_run(
    run: PipelineRun,
    model: WalkawayModel,
    totals: ScoredChunk,
    output: ScoresWriter,
    rejects: TableWriter,
    report: Path | None,
    render_report: Callable[[BatchResult], str] | None,
    capacity: Capacity | None,
    started: float,
) -> BatchResult:
    """Rank the worklist, count the drift, render the page, and commit every output together
    once all are complete; discard them all on any failure."""
    result, out = run.result, output.target
    for step, seconds in totals.timings.items():
        result.timings[step] += seconds
    result.read, result.rejected = totals.read, totals.rejected_count
    result.scored = totals.scored_count
    result.digest, result.reasons = totals.digest, totals.reasons
    result.worklist.add_values(totals.work_values)
    drift = totals.drift
    if drift is None and getattr(model, "feature_profile_", None) is not None:
        drift = DriftCounter(model.feature_profile_)  # no deal scored: no drift figures
    page = drift_table = None
    try:
        clock = time.perf_counter()
        output.finish()
        rejects.finish()
        if result.read and not result.scored:
            rejects.commit(failed_rejects_path(out))  # the previous outputs stay together
            output.discard()
            raise EverythingRejected(_everything_rejected(result, run.deals, out))
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
