"""One chunk of an open pipeline, scored: the step both engines run, the same way.

:func:`score_chunk` takes a chunk's raw rows (as :func:`walkaway.data.raw_files.iter_table`
gives them, indexed by source row) and returns its scored deals, its rejected rows with their
reasons, and its part of what the run adds up (:class:`ScoredChunk`: the report's digest, the
drift counts, the reject reasons, the worklist's work values). It has no side effects, so the
local batch job (:mod:`walkaway.serving.batch`) calls it in a loop and the Spark engine
(:mod:`walkaway.serving.spark_engine`) inside ``mapInPandas``.

What needs the whole file stays outside, decided once per run and handed in: how dates are
read (:func:`walkaway.serving.pipeline_reading.decide_reading`), which rows repeat a deal id
(:mod:`walkaway.serving.duplicate_ids`), the side tables, ``as_of`` and ``scored_at`` (so that a
run crossing midnight agrees with itself); and the parts are merged in file order
(:meth:`ScoredChunk.merge`).
"""

from __future__ import annotations

import time
from collections import Counter, defaultdict
from dataclasses import dataclass, field, replace

import numpy as np
import pandas as pd

from walkaway.data.contracts import Problem
from walkaway.data.mapping import Mapping
from walkaway.model.drift import DriftCounter
from walkaway.model.heads import prediction_threads
from walkaway.model.walkaway_model import WalkawayModel
from walkaway.serving.duplicate_ids import Repeats
from walkaway.serving.pipeline_digest import PipelineDigest
from walkaway.serving.pipeline_reading import (
    REJECT_COLUMNS,
    ChunkReading,
    SideTables,
    check_chunk,
    reject_repeats,
    reject_rows,
)
from walkaway.serving.scoring import SCORE_COLUMNS, score_deals
from walkaway.serving.worklist import work_value

# The scored file's columns, before the worklist's (added once every chunk is scored).
OUTPUT_COLUMNS = (*SCORE_COLUMNS, "model_name", "model_version", "scored_at", "as_of")


@dataclass(frozen=True)
class RunSetting:
    """What every chunk of one run shares, fixed before the first chunk is scored."""

    file: str  # the pipeline file's name, for the reasons
    reading: ChunkReading  # decided on the first chunk
    side: SideTables
    model_name: str | None
    model_version: int | None
    scored_at: str  # when the run started (UTC, ISO 8601)
    threads: int = 0  # LightGBM's threads: 0 = every core; a Spark task, its task's CPUs


@dataclass
class ScoredChunk:
    """A chunk's scored deals and rejected rows, and its part of the run's totals."""

    scored: pd.DataFrame  # OUTPUT_COLUMNS, indexed by source row
    rejected: pd.DataFrame  # REJECT_COLUMNS, by source row
    read: int  # rows read
    rejected_count: int  # rows rejected: read = scored + rejected
    digest: PipelineDigest
    drift: DriftCounter | None  # None for a model without a training profile
    reasons: Counter = field(default_factory=Counter)  # (column, rule) of each row's 1st problem
    work_values: np.ndarray = field(default_factory=lambda: np.empty(0))  # in file order
    timings: dict[str, float] = field(default_factory=lambda: defaultdict(float))

    @classmethod
    def nothing(cls) -> ScoredChunk:
        """The totals of no rows, to merge chunks into."""
        return cls(
            pd.DataFrame(columns=list(OUTPUT_COLUMNS)),
            pd.DataFrame(columns=REJECT_COLUMNS),
            0,
            0,
            PipelineDigest.empty(),
            None,
        )

    @property
    def scored_count(self) -> int:
        return len(self.work_values)

    def merge(self, later: ScoredChunk) -> None:
        """Add the totals of the chunk that follows (not its rows: an engine writes those)."""
        self.read += later.read
        self.rejected_count += later.rejected_count
        self.digest.merge(later.digest)
        if self.drift is None:
            self.drift = later.drift
        elif later.drift is not None:
            self.drift.merge(later.drift)
        self.reasons.update(later.reasons)
        self.work_values = np.concatenate([self.work_values, later.work_values])
        for step, seconds in later.timings.items():
            self.timings[step] += seconds

    def totals(self) -> ScoredChunk:
        """This chunk's totals without its rows (what Spark sends back to the driver)."""
        return replace(self, scored=self.scored.iloc[0:0], rejected=self.rejected.iloc[0:0])


def score_chunk(
    raw: pd.DataFrame,
    model: WalkawayModel,
    mapping: Mapping,
    as_of: pd.Timestamp,
    *,
    run: RunSetting,
    repeats: Repeats,
    malformed: list[Problem] | tuple[Problem, ...] = (),
) -> ScoredChunk:
    """Score one chunk of raw pipeline rows; reject, with reasons, the rows that cannot be.

    Parameters
    ----------
    raw
        The chunk's rows as read (text, indexed by source row).
    model, mapping
        The model, and the mapping the file is read with.
    as_of
        The day deals are scored as of (ages count to it), the same for every chunk of a run.
    run
        What the run's chunks share (:class:`RunSetting`).
    repeats
        Which of the chunk's good rows repeat an earlier row's deal id
        (:mod:`walkaway.serving.duplicate_ids`).
    malformed
        The malformed lines read with the chunk (they are not in ``raw``): rejects too.

    Raises
    ------
    ContractError
        A problem of the whole file (a date column the mapping's format misreads).
    """
    timings: dict[str, float] = defaultdict(float)
    clock = time.perf_counter()
    good, problems = check_chunk(raw, mapping, run.file, run.reading)
    good, repeated = reject_repeats(good, repeats, mapping, run.file)
    problems += repeated + list(malformed)
    rejected = reject_rows(raw, problems, mapping)
    first = {p.row: p for p in reversed(problems)}  # each row's first problem
    reasons = Counter((p.column, p.rule) for p in first.values())
    timings["validating"] += time.perf_counter() - clock

    profile = getattr(model, "feature_profile_", None)
    drift = DriftCounter(profile) if profile is not None else None
    digest = PipelineDigest.empty()
    scores = pd.DataFrame(columns=list(OUTPUT_COLUMNS))
    values = np.empty(0)
    if len(good):
        clock = time.perf_counter()
        frame = run.side.join(good)
        timings["joining"] += time.perf_counter() - clock
        with prediction_threads(run.threads):
            scores = score_deals(
                model,
                frame,
                as_of,
                timings=timings,
                on_features=drift.add if drift is not None else None,
            )
        scores["model_name"] = run.model_name
        scores["model_version"] = run.model_version
        scores["scored_at"] = run.scored_at
        scores["as_of"] = as_of.strftime("%Y-%m-%d")
        clock = time.perf_counter()
        digest.add(scores)
        values = work_value(scores)
        timings["summing"] += time.perf_counter() - clock
    return ScoredChunk(
        scores,
        rejected,
        len(raw) + len(malformed),
        len(rejected),
        digest,
        drift,
        reasons,
        values,
        timings,
    )
