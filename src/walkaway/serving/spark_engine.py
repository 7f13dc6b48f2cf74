"""The batch job on Apache Spark: the same chunks, rules and outputs, scored by a cluster.

``walkaway score --engine spark`` runs :func:`walkaway.serving.batch.score_file` with a
:class:`SparkEngine` in place of scoring the chunks one after the other. Everything but the
scoring of the chunks is the local job's own (the mapping, the side tables, ``as_of``, the
worklist, the drift, the report, the atomic commit of every output), and each chunk is scored
by the same pure function, :func:`walkaway.serving.chunk_scoring.score_chunk`. A run:

1. **Staging** (driver). The pipeline is read as the local job reads it (walkaway's reader:
   the same dialect, malformed lines and source rows) and written in chunks of ``chunk_size``
   rows to Parquet in a work folder beside the output, each row with its source row (``_row``).
   Reading is a small share of a run; scoring (TreeSHAP above all) is where the time goes.
2. **Duplicates** (Spark). Each chunk's good open rows give their deal ids
   (:func:`~walkaway.serving.pipeline_reading.check_chunk`); a window over the whole file finds
   every row whose id an earlier row has, and the driver hands them to every task
   (:class:`~walkaway.serving.duplicate_ids.KnownRepeats`).
3. **Scoring** (Spark). ``mapInPandas`` runs ``score_chunk`` on every chunk: out come its
   scored rows, its rejected rows, and one row holding its totals (the digest, drift counts,
   reasons and work values), kept in the work folder. LightGBM uses the task's CPUs
   (``spark.task.cpus``), not every core of the machine.
4. **Assembly** (driver). The totals are merged in file order; the scored rows and the
   rejects, sorted by source row by Spark, are written into the same outputs as the local
   job's, which are committed together at the end, or not at all: a failed job leaves the
   previous outputs in place. The work folder is removed either way.

Paths must be readable by every executor (a shared file system), as for any Spark job reading
files. This module is the only one importing pyspark (the ``spark`` extra).
"""

from __future__ import annotations

import os
import pickle
import shutil
import sys
import time
import warnings
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from walkaway.data.contracts import Problem
from walkaway.data.raw_files import iter_table, parquet_schema
from walkaway.errors import WalkawayError
from walkaway.model.walkaway_model import WalkawayModel
from walkaway.serving.batch import PipelineRun, decide_on_first_chunk
from walkaway.serving.batch_outputs import ScoresWriter, TableWriter
from walkaway.serving.chunk_scoring import OUTPUT_COLUMNS, ScoredChunk, score_chunk
from walkaway.serving.duplicate_ids import KnownRepeats
from walkaway.serving.pipeline_reading import check_chunk
from walkaway.signs import GROUPS

DEFAULT_MASTER = "local[*]"
LOG_CONFIG = Path(__file__).with_name("spark-log4j2.properties")  # errors only
ROW = "_row"  # a staged row's source row
KIND = "_kind"  # what a row of the scoring step's output is: scored, rejected or totals
TOTALS = "_totals"  # a chunk's totals, pickled
TEXT_COLUMNS = {
    "deal_id",
    "account_id",
    *(f"reasons_{g}" for g in GROUPS),
    "recommendation",
    "recommendation_reason",
    "model_name",
    "scored_at",
    "as_of",
}


class SparkUnavailable(WalkawayError):
    """pyspark or its Java runtime is missing."""


def _spark_type(column: str) -> str:
    if column in TEXT_COLUMNS:
        return "string"
    return "bigint" if column == "model_version" else "double"


# The scoring step's rows: a scored deal (OUTPUT_COLUMNS), a rejected row (deal_id, reason),
# or a chunk's totals.
STEP_SCHEMA = ", ".join(
    [f"{KIND} string", f"{ROW} bigint"]
    + [f"`{c}` {_spark_type(c)}" for c in OUTPUT_COLUMNS]
    + ["reason string", f"{TOTALS} binary"]
)


class SparkEngine:
    """Score a run's chunks on Spark (see the module docstring).

    Parameters
    ----------
    master
        The Spark master URL (``local[*]``: every core of this machine; ``spark://host:7077``,
        ``yarn``, ...). Not used when ``session`` is given.
    session
        A running SparkSession to use (a notebook's, a test's); it is left running. Without
        one, the engine uses the process's active session if there is one (and leaves it
        running), else starts one and stops it at the end of the run.
    """

    def __init__(self, master: str = DEFAULT_MASTER, session: Any | None = None) -> None:
        self.master = master
        self.session = session

    def score_chunks(
        self,
        run: PipelineRun,
        model: WalkawayModel,
        chunk_size: int,
        output: ScoresWriter,
        rejects: TableWriter,
        on_progress: Callable[[int], None] | None,
    ) -> ScoredChunk:
        """Stage, score on Spark and assemble (see the module docstring)."""
        work = output.target.with_name(f".{output.target.name}.spark-{os.getpid()}")
        shutil.rmtree(work, ignore_errors=True)
        work.mkdir(parents=True)
        spark, ours = self.session, False
        if spark is None:
            spark, ours = start_session(self.master)
        try:
            timings = run.result.timings
            clock = time.perf_counter()
            staged, header, malformed = stage(run, chunk_size, work / "staged", on_progress)
            timings["staging"] += time.perf_counter() - clock
            # The malformed lines are not in any chunk: the driver rejects them, as the local
            # job rejects them with the chunk they were read with.
            totals = score_chunk(
                header,
                model,
                run.mapping,
                run.as_of,
                run=run.setting,
                repeats=KnownRepeats({}).repeats,
                malformed=malformed,
            )
            if staged:
                clock = time.perf_counter()
                with _job_failures():
                    parts = _score_on_spark(spark, run, model, chunk_size, work)
                timings["spark"] += time.perf_counter() - clock
                for part in parts:
                    totals.merge(part)
                clock = time.perf_counter()
                with _job_failures():
                    _assemble(
                        spark,
                        work,
                        malformed_rejects=totals.rejected,
                        output=output,
                        rejects=rejects,
                        chunk_size=chunk_size,
                    )
                timings["assembling"] += time.perf_counter() - clock
            elif len(totals.rejected):
                rejects.write(totals.rejected)
            totals.timings.clear()  # the tasks' seconds overlap: the wall times above count
            return totals
        finally:
            if ours:
                spark.stop()
            shutil.rmtree(work, ignore_errors=True)


def start_session(master: str = DEFAULT_MASTER) -> tuple[Any, bool]:
    """The process's active SparkSession, or a new one for walkaway (its Python workers run
    this interpreter, its logs quiet), and whether it is new (the run stops it when done).

    Raises
    ------
    SparkUnavailable
        pyspark is not installed, or Java cannot be started.
    """
    try:
        from pyspark.sql import SparkSession
    except ImportError:
        raise SparkUnavailable(
            "the Spark engine needs pyspark: pip install 'walkaway[spark]' (and a Java 17 "
            "runtime: `make java` installs one on Debian)"
        ) from None
    active = SparkSession.getActiveSession()
    if active is not None:
        return active, False
    # The executors' Python must be the one walkaway is installed in (local mode: this one).
    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    try:
        session = (
            SparkSession.builder.master(master)
            .appName("walkaway score")
            .config("spark.ui.showConsoleProgress", "false")
            .config("spark.driver.extraJavaOptions", f"-Dlog4j2.configurationFile={LOG_CONFIG}")
            .config("spark.sql.execution.pyspark.udf.simplifiedTraceback.enabled", "false")
            .config("spark.sql.execution.arrow.pyspark.enabled", "true")
            # One staged chunk per task: a file "costs" a whole partition.
            .config("spark.sql.files.openCostInBytes", str(1 << 30))
            .getOrCreate()
        )
    except Exception as error:  # py4j's Java gateway failure is a plain Exception
        message = str(error).strip().splitlines()[-1] if str(error).strip() else ""
        raise SparkUnavailable(
            f"Spark could not start ({type(error).__name__}: {message[:200]}); it needs a "
            "Java 17 runtime (`make java` installs one on Debian)"
        ) from None
    session.sparkContext.setLogLevel("FATAL")  # as LOG_CONFIG, over PySpark's WARN for drivers
    if session.conf.get("spark.sql.shuffle.partitions") == "200":  # Spark's default, not set
        # The duplicate step and the sorts need about a partition per core, not 200 tasks.
        cores = session.sparkContext.defaultParallelism
        session.conf.set("spark.sql.shuffle.partitions", str(max(2, 2 * cores)))
    return session, True


class SparkJobFailed(WalkawayError):
    """A Spark job of the run failed; the previous outputs are kept."""


@contextmanager
def _job_failures() -> Iterator[None]:
    """A failed Spark job as one line: walkaway's own error when a task raised one (a whole-file
    problem found in a later chunk), else Spark's first line."""
    from py4j.protocol import Py4JError
    from pyspark.errors import PySparkException

    try:
        with warnings.catch_warnings():  # pyspark's own on a failed job (Arrow fallbacks)
            warnings.simplefilter("ignore")
            yield
    except (PySparkException, Py4JError) as error:
        text = str(error)
        ours = [line for line in text.splitlines() if line.startswith("walkaway.")]
        if ours:  # "walkaway.data.contracts.ContractError: pipeline.csv: column ..."
            message = ours[-1].split(": ", 1)[-1]
        else:
            message = next(
                (line for line in text.splitlines() if line.strip()), type(error).__name__
            )
        raise SparkJobFailed(
            f"the Spark job failed, and the previous outputs are kept: {message[:500]}"
        ) from None


def stage(
    run: PipelineRun,
    chunk_size: int,
    folder: Path,
    on_progress: Callable[[int], None] | None,
) -> tuple[int, pd.DataFrame, list[Problem]]:
    """Read the pipeline as the local job does and write its chunks to Parquet files in
    ``folder``, each row with its source row; decide how dates are read on the first chunk.

    Returns
    -------
    tuple
        The number of files written, the file's columns (a frame without rows), and the
        malformed lines (rejects, not in any file).
    """
    folder.mkdir(parents=True)
    schema = parquet_schema(run.deals)
    if schema is not None:  # Spark's own schema in a part's metadata would hide the row column
        schema = schema.remove_metadata()
    malformed: list[Problem] = []
    every_malformed: list[Problem] = []
    written = 0
    header = None
    for raw in iter_table(run.deals, chunk_size, run.dialect, malformed):
        header = raw.iloc[0:0] if header is None else header
        every_malformed += malformed
        if on_progress is not None:
            on_progress(len(raw) + len(malformed))
        malformed.clear()
        if raw.empty:
            continue
        decide_on_first_chunk(run, raw)
        table = pa.Table.from_pandas(raw, schema=schema, preserve_index=False)
        if schema is None:  # CSV: text, whatever a chunk's values look like
            table = table.cast(
                pa.schema([(name, pa.large_string()) for name in table.column_names])
            )
        rows = pa.array(raw.index.to_numpy(), type=pa.int64())
        pq.write_table(table.append_column(ROW, rows), folder / f"chunk-{written:06d}.parquet")
        written += 1
    return written, header if header is not None else pd.DataFrame(), every_malformed


def _raw_chunk(batch: pd.DataFrame) -> pd.DataFrame:
    """A staged batch as the local job reads a chunk: indexed by source row, text columns."""
    raw = batch.drop(columns=[ROW])
    raw.index = pd.Index(batch[ROW].to_numpy(), dtype="int64")
    return raw


def _score_on_spark(
    spark: Any, run: PipelineRun, model: WalkawayModel, chunk_size: int, work: Path
) -> list[ScoredChunk]:
    """Steps 2 and 3: find the repeated deal ids over the whole file, then score every chunk;
    the chunks' totals, in file order."""
    from pyspark.sql import Window
    from pyspark.sql import functions as F

    spark.conf.set("spark.sql.execution.arrow.maxRecordsPerBatch", str(chunk_size))
    staged = spark.read.parquet(str(work / "staged"))
    mapping, setting = run.mapping, run.setting

    def good_ids(batches: Iterator[pd.DataFrame]) -> Iterator[pd.DataFrame]:
        for batch in batches:
            good, _ = check_chunk(_raw_chunk(batch), mapping, setting.file, setting.reading)
            ids = pd.DataFrame({ROW: good.index.to_numpy(), "deal_id": good["deal_id"]})
            yield _plain(ids)

    ids = staged.mapInPandas(good_ids, f"{ROW} bigint, deal_id string")
    first = F.min(ROW).over(Window.partitionBy("deal_id"))
    repeats = ids.withColumn("_first", first).filter(F.col(ROW) != F.col("_first"))
    found = repeats.select(ROW, "_first").toPandas()
    known = KnownRepeats(
        dict(zip(found[ROW].astype(int), found["_first"].astype(int), strict=True))
    )

    threads = int(spark.conf.get("spark.task.cpus", "1"))
    shared = spark.sparkContext.broadcast((model, known, setting, threads))
    as_of = run.as_of

    def score(batches: Iterator[pd.DataFrame]) -> Iterator[pd.DataFrame]:
        model, known, setting, threads = shared.value
        setting = replace(setting, threads=threads)
        for batch in batches:
            raw = _raw_chunk(batch)
            part = score_chunk(raw, model, mapping, as_of, run=setting, repeats=known.repeats)
            yield _step_rows(part, int(raw.index.min()))

    step = staged.mapInPandas(score, STEP_SCHEMA)
    step.write.parquet(str(work / "step"))
    totals = (
        spark.read.parquet(str(work / "step"))
        .filter(F.col(KIND) == "totals")
        .select(ROW, TOTALS)
        .toPandas()
        .sort_values(ROW)
    )
    return [pickle.loads(blob) for blob in totals[TOTALS]]


def _step_rows(part: ScoredChunk, first_row: int) -> pd.DataFrame:
    """A scored chunk as rows of :data:`STEP_SCHEMA`."""
    scored = part.scored.assign(**{KIND: "scored", ROW: part.scored.index})
    rejected = pd.DataFrame(
        {
            KIND: "rejected",
            ROW: part.rejected["row"].to_numpy(),
            "deal_id": part.rejected["deal_id"].to_numpy(),
            "reason": part.rejected["reason"].to_numpy(),
        }
    )
    totals = pd.DataFrame(
        {KIND: ["totals"], ROW: [first_row], TOTALS: [pickle.dumps(part.totals())]}
    )
    rows = pd.concat([scored, rejected, totals], ignore_index=True)
    columns = [KIND, ROW, *OUTPUT_COLUMNS, "reason", TOTALS]
    return _plain(rows.reindex(columns=columns))


def _plain(frame: pd.DataFrame) -> pd.DataFrame:
    """Text columns as Python objects (None where missing): pyspark 4 converts pandas 3's
    ``str`` columns (Arrow chunked arrays), and all-missing float columns, to Arrow text only
    as objects."""
    text = [c for c in frame.columns if c in TEXT_COLUMNS or c in (KIND, "reason")]
    plain = frame.astype({c: object for c in text})
    for column in text:
        plain[column] = plain[column].where(plain[column].notna(), None)
    return plain


def _assemble(
    spark: Any,
    work: Path,
    *,
    malformed_rejects: pd.DataFrame,
    output: ScoresWriter,
    rejects: TableWriter,
    chunk_size: int,
) -> None:
    """Step 4: the scored rows and the rejects, sorted by source row by Spark, written in file
    order into the outputs (the malformed lines' rejects among them)."""
    from pyspark.sql import functions as F

    step = spark.read.parquet(str(work / "step"))
    scored = step.filter(F.col(KIND) == "scored").orderBy(ROW).select(ROW, *OUTPUT_COLUMNS)
    scored.write.parquet(str(work / "scored"))
    rejected = step.filter(F.col(KIND) == "rejected").orderBy(ROW)
    rejected.select(F.col(ROW).alias("row"), "deal_id", "reason").write.parquet(
        str(work / "rejected")
    )
    for frame in _sorted_parts(work / "scored", chunk_size):
        output.write(frame.drop(columns=[ROW]).reset_index(drop=True))
    malformed = malformed_rejects.sort_values("row")
    for frame in _sorted_parts(work / "rejected", chunk_size):
        before = malformed[malformed["row"] < frame["row"].iloc[-1]]
        malformed = malformed.iloc[len(before) :]
        rows = (
            pd.concat([frame, before]).sort_values("row", kind="stable") if len(before) else frame
        )
        rejects.write(rows.reset_index(drop=True))
    if len(malformed):
        rejects.write(malformed.reset_index(drop=True))


def _sorted_parts(folder: Path, chunk_size: int) -> Iterator[pd.DataFrame]:
    """The rows of a folder Spark wrote sorted, in order: its part files by name, each in
    batches."""
    for part in sorted(folder.glob("part-*.parquet")):
        for batch in pq.ParquetFile(part).iter_batches(batch_size=chunk_size):
            frame = batch.to_pandas()
            if len(frame):
                yield frame
