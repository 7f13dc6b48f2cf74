"""Were the scores right, and has the pipeline drifted? The logic of ``notebooks/04-monitor``.

Monitoring needs time to pass: scores given months ago, and an export taken since that says
how those deals ended. On the synthetic CRM, time is simulated. The notebook's world is the
demo export, continued a month at a time by ``walkaway synth --continue-from``'s own function
(:func:`continue_world`), optionally with a documented shift of the world's rules switched on
(``rival:EMEA`` by default: a rival becomes entrenched in EMEA, see
:mod:`walkaway.data.synth_continuation`). Each month's open pipeline is scored as of that
month's export date by ``walkaway score``'s job (:func:`score_months`), which writes the drift
figures beside each scored file. Then:

- the **backtest** (:func:`backtest`): ``walkaway monitor``'s job
  (:func:`walkaway.jobs.monitor_job`) joins the months' scores with the outcomes of the latest
  export: the verdict, and the table by month of scoring (:func:`by_month`), read in words
  (:func:`closed_rate_in_words`), and the shifted segment against the others
  (:func:`shifted_segment`, :func:`shift_in_words`);
- **reliability over time** (:mod:`walkaway.analysis.reliability_over_time`): a
  reliability curve of each scoring month's closed deals (by quarter when a month has too few),
  beside wins observed against wins expected by now, month by month;
- **drift by sign** (:mod:`walkaway.analysis.drift_over_time`): each month's population
  stability index per sign, against the
  thresholds of :mod:`walkaway.model.drift`.

One function per notebook cell, so that the notebook holds no logic and every step is tested.
Nothing here recomputes what the jobs and :mod:`walkaway.serving.monitoring` compute. Figures
are built without pyplot, so none is left in global state; nothing runs at import.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from walkaway.serving import monitoring

if TYPE_CHECKING:
    from walkaway.analysis.review_common import ReviewModel
    from walkaway.jobs import MonitorRun

DEFAULT_MONTHS = 6
DEFAULT_SHIFT = "rival:EMEA"
# The column of the segment each kind of shift changes (see walkaway.data.synth_continuation).
SHIFT_COLUMNS = {"rival": "region", "churn": "industry"}
# About the size of world at which the verdict tells a rival:REGION shift from noise.
FULL_SIZE_DEALS = 20_000

BY_MONTH_COLUMNS = {
    "scored_month": "month scored",
    "scored": "scored",
    "won": "won",
    "lost": "lost",
    "still_open": "still open",
    "missing": "missing",
    "mean_p_win": "mean p_win",
    "win_rate_closed": "win rate of the closed",
    "expected_won": "wins expected by now",
    "won_ratio": "won / expected",
    "z": "z",
    "roc_auc": "ROC AUC",
    "brier": "Brier",
}


# --------------------------------------------------------------------------------------------
# Simulated time


@dataclass(frozen=True)
class Month:
    """One export of the simulated world.

    Attributes
    ----------
    month
        Months after the export the world started from (0: that export itself).
    export_date
        The day the export was taken.
    folder
        The export's folder (deals.csv, pipeline.csv, accounts.csv, synth.json...).
    deals, open_deals
        Deals in the export, and how many of them are open.
    created, closed, won
        Deals created in the month before it, and the deals open a month before that closed
        in it, and won (0 for the first export).
    shifts
        The shifts in force for the deals created in the month (empty for the first export).
    """

    month: int
    export_date: pd.Timestamp
    folder: Path
    deals: int
    open_deals: int
    created: int = 0
    closed: int = 0
    won: int = 0
    shifts: tuple[str, ...] = ()

    @property
    def label(self) -> str:
        """The month as YYYY-MM (the month the export was taken in)."""
        return f"{self.export_date:%Y-%m}"


@dataclass(frozen=True)
class World:
    """A synthetic export and its continuations, a month apart (oldest first)."""

    export: Path
    work: Path
    shift: str | None
    months: tuple[Month, ...]

    @property
    def latest(self) -> Month:
        """The newest export: the outcomes the backtest judges the older scores against."""
        return self.months[-1]

    def table(self) -> pd.DataFrame:
        """One row per month: its export date, deals, open deals, and what happened in it."""
        rows = [
            {
                "month": m.month,
                "export date": f"{m.export_date:%Y-%m-%d}",
                "deals": m.deals,
                "open": m.open_deals,
                "created in the month": m.created,
                "closed in the month": m.closed,
                "of which won": m.won,
                "shifts in force": ", ".join(m.shifts) or "–",
                "folder": str(m.folder),
            }
            for m in self.months
        ]
        return pd.DataFrame(rows).set_index("month")


def continue_world(
    export: Path, work: Path, months: int = DEFAULT_MONTHS, shift: str | None = DEFAULT_SHIFT
) -> World:
    """Continue the synthetic world of ``export`` a month at a time, ``months`` times, with
    ``shift`` switched on for the deals created from the first month on.

    Each month is ``walkaway synth --continue-from PREVIOUS --months 1 --shift SHIFT --out
    work/month-N`` (:func:`walkaway.data.synth_continuation.continue_synthetic_history`):
    deals open a month before close or stay open, new deals open, and continuing six times by a
    month gives the same files as continuing once by six. ``export`` is only read.

    Parameters
    ----------
    export
        A folder written by ``walkaway synth`` (it has ``synth.json``): the demo export.
    work
        Where the months are written (``work/month-1`` ... ``work/month-N``); created when
        missing, earlier files of the same names replaced.
    months
        How many months to continue by (at least 1).
    shift
        A shift spec (``rival:REGION`` or ``churn:INDUSTRY``), or None for a world whose rules
        do not change.

    Returns
    -------
    World
        The export and its continuations, oldest first.

    Raises
    ------
    SynthManifestError
        When ``export`` is not a synthetic export that can be continued (a real CRM export
        cannot: its future is not known).
    ValueError
        For a bad shift spec, or fewer than 1 month.
    """
    from walkaway.data.synth_continuation import continue_synthetic_history, parse_shift
    from walkaway.data.synth_manifest import read_manifest

    if months < 1:
        raise ValueError(f"months must be at least 1, got {months}")
    specs = [parse_shift(shift).spec] if shift else []  # a bad spec fails before any writing
    export, work = Path(export), Path(work)
    manifest = read_manifest(export)
    pipeline = export / "pipeline.csv"
    first = Month(0, manifest.export_date, export, manifest.deals, _rows(pipeline))
    work.mkdir(parents=True, exist_ok=True)
    world = [first]
    for month in range(1, months + 1):
        summary = continue_synthetic_history(world[-1].folder, 1, specs, work / f"month-{month}")
        world.append(
            Month(
                month,
                summary.export_date,
                summary.out_dir,
                summary.n_deals,
                summary.earlier.n_open + summary.new.n_open,
                created=summary.new.n_deals,
                closed=summary.earlier.n_closed_after,
                won=summary.earlier.n_won_after,
                shifts=summary.shifts,
            )
        )
    return World(export, work, specs[0] if specs else None, tuple(world))


def _rows(table: Path) -> int:
    """Data rows of a CSV file written by ``walkaway synth`` (one deal a line)."""
    with table.open("rb") as file:
        return max(0, sum(1 for _ in file) - 1)


@dataclass(frozen=True)
class ScoredMonth:
    """One month's pipeline scored as of its export date (``walkaway score``'s outputs)."""

    month: Month
    scored: Path
    deals: int
    rejected: int
    seconds: float

    @property
    def drift_figures(self) -> Path:
        """The drift figures the batch job wrote beside the scores (``<scored>.drift.csv``)."""
        from walkaway.serving.batch_outputs import drift_path

        return drift_path(self.scored)


@dataclass(frozen=True)
class ScoredWorld:
    """Every month of a world scored by one model."""

    world: World
    months: tuple[ScoredMonth, ...]
    model: str

    def table(self) -> pd.DataFrame:
        """One row per scoring: as of when, deals scored and left out, the file, the time."""
        rows = [
            {
                "month scored": s.month.label,
                "as of": f"{s.month.export_date:%Y-%m-%d}",
                "model": self.model,
                "deals scored": s.deals,
                "rows left out": s.rejected,
                "seconds": round(s.seconds, 1),
                "scored file": str(s.scored),
            }
            for s in self.months
        ]
        return pd.DataFrame(rows)

    def backtest_files(self) -> list[Path]:
        """The scored files to judge: those scored before the latest export (the latest
        month's own scores have no outcome yet)."""
        latest = self.world.latest.export_date
        return [s.scored for s in self.months if s.month.export_date < latest]


def score_months(world: World, reviewed: ReviewModel) -> ScoredWorld:
    """Score each month's open pipeline as of its export date, into ``world.work/scores``.

    Each month is scored as ``walkaway score --deals MONTH/pipeline.csv --as-of EXPORT_DATE``
    scores it (:func:`walkaway.analysis.pipeline_review.write_for_crm`: the score job
    :func:`walkaway.jobs.score_job` with the reviewed model's registered version, which also
    logs the drift figures to its MLflow store; a model not registered is scored by the batch
    job the score job wraps). The scores, rejects and drift figures are written as
    ``scores-YYYY-MM.csv``, ``.rejects.csv`` and ``.drift.csv``.

    Parameters
    ----------
    world
        The months to score (:func:`continue_world`).
    reviewed
        The model to score with (the champion, in the notebook), the same for every month: the
        one a team would have had in use all along.

    Returns
    -------
    ScoredWorld
        Each month's scored file and counts.
    """
    from walkaway.analysis.pipeline_review import write_for_crm

    folder = world.work / "scores"
    folder.mkdir(parents=True, exist_ok=True)
    scored = []
    for month in world.months:
        out = folder / f"scores-{month.label}.csv"
        written = write_for_crm(
            month.folder / "pipeline.csv", out, reviewed, as_of=month.export_date
        ).iloc[:, 0]
        scored.append(
            ScoredMonth(
                month, out, int(written["scored"]), int(written["rejected"]), written["seconds"]
            )
        )
    return ScoredWorld(world, tuple(scored), reviewed.label)


# --------------------------------------------------------------------------------------------
# The backtest


def backtest(scored: ScoredWorld, report: Path | None = None) -> MonitorRun:
    """``walkaway monitor --scored <the months before the latest> --history <the latest>
    [--report report]``: :func:`walkaway.jobs.monitor_job` on the simulated months.

    Parameters
    ----------
    scored
        The scored months (:func:`score_months`).
    report
        Also write the monitoring page (HTML) here, as ``--report`` does.

    Returns
    -------
    walkaway.jobs.MonitorRun
        Every scored row with its deal's outcome, the tables by version, month and
        recommendation, the live model's reliability and the verdict.
    """
    from walkaway.jobs import monitor_job

    files = scored.backtest_files()
    if not files:
        raise ValueError("no month was scored before the latest export: continue by a month")
    return monitor_job(files, scored.world.latest.folder, report=report)


def by_month(run: MonitorRun) -> pd.DataFrame:
    """The backtest by month of scoring, with the command line's column names: how the deals
    scored that month stand now, wins observed against wins expected by now, and ROC AUC and
    Brier score of those closed (figures rounded to 3 decimals, for reading)."""
    columns = [c for c in BY_MONTH_COLUMNS if c in run.by_month.columns]
    table = run.by_month[columns].rename(columns=BY_MONTH_COLUMNS).set_index("month scored")
    return table.round(3)


def closed_rate_in_words(run: MonitorRun) -> str:
    """Why the win rate of the closed deals misleads, on the newest month of scoring whose
    deals have closed in part: its closed deals' win rate against its mean p_win, and its wins
    observed against wins expected by now.

    Examples
    --------
    >>> from types import SimpleNamespace
    >>> table = pd.DataFrame({"scored_month": ["2026-03"], "scored": [600], "won": [60],
    ...     "lost": [240], "still_open": [300], "missing": [0], "mean_p_win": [0.1],
    ...     "win_rate_closed": [0.2], "expected_won": [55.0], "won_ratio": [60 / 55]})
    >>> print(closed_rate_in_words(SimpleNamespace(by_month=table)))  # doctest: +NORMALIZE_WHITESPACE
    Of the 600 deals scored in 2026-03, 300 have closed and 20% of those won, while the
    model gave them 10% on average: read as it stands, it under-predicts by 2.0 times. But
    300 (50%) are still open, and wins close sooner than losses, so the deals closed by now
    are rich in wins. Counting for each deal the chance that a win of its age would have
    closed by now, 55 wins were expected by now and 60 came: 1.09 times as many.
    """
    table = run.by_month
    closed = table[(table["won"] + table["lost"] > 0) & table["still_open"].gt(0)]
    row = (closed if len(closed) else table).iloc[-1]
    n_closed = int(row["won"] + row["lost"])
    if n_closed == 0:
        return f"None of the deals scored in {row['scored_month']} has closed yet."
    rate, mean = float(row["win_rate_closed"]), float(row["mean_p_win"])
    naive = rate / mean if mean > 0 else np.nan
    way = "under-predicts" if naive >= 1 else "over-predicts"
    factor = naive if naive >= 1 else 1 / naive
    return (
        f"Of the {int(row['scored']):,} deals scored in {row['scored_month']}, {n_closed:,} "
        f"have closed and {rate:.0%} of those won, while the model gave them {mean:.0%} on "
        f"average: read as it stands, it {way} by {factor:.1f} times. But "
        f"{int(row['still_open']):,} ({row['still_open'] / row['scored']:.0%}) are still open, "
        "and wins close sooner than losses, so the deals closed by now are rich in wins. "
        "Counting for each deal the chance that a win of its age would have closed by now, "
        f"{row['expected_won']:.0f} wins were expected by now and {int(row['won']):,} came: "
        f"{row['won_ratio']:.2f} times as many."
    )


def plain(name: object) -> str:
    """A name compared without case, and with any run of spaces, hyphens or underscores as one
    space, as shift specs are read.

    >>> plain("North_America") == plain("north america")
    True
    """
    return re.sub(r"[\s_-]+", " ", str(name)).strip().lower()


def shift_segment(shift: str | None) -> tuple[str, str] | None:
    """The column and value of the segment a shift changes (``('region', 'EMEA')``)."""
    if not shift:
        return None
    from walkaway.data.synth_continuation import parse_shift

    parsed = parse_shift(shift)
    return SHIFT_COLUMNS[parsed.kind], parsed.target


def shifted_segment(run: MonitorRun, shift: str | None = DEFAULT_SHIFT) -> pd.DataFrame:
    """The segments of the shifted column (the regions, for ``rival:REGION``), each against the
    typical one, as the verdict weighs them (:func:`walkaway.serving.monitoring.segment_drift`):
    among all the live model's deals, and among those created since it first scored (the deals
    a shift can change). ``shifted`` marks the segment the shift changed. Empty without a
    shift, or when too few wins are expected for the verdict to compare segments."""
    segment = shift_segment(shift)
    segments = run.verdict.segments
    if segment is None or segments.empty:
        return pd.DataFrame()
    column, target = segment
    rows = segments[segments["column"].eq(column)].copy()
    rows["shifted"] = rows["value"].map(plain).eq(plain(target))
    shown = [
        "cohort",
        "value",
        "shifted",
        "scored",
        "won",
        "lost",
        "still_open",
        "expected_won",
        "won_ratio",
        "relative",
        "z",
        "drifted",
    ]
    rows = rows.sort_values(["cohort", "shifted", "relative"], ascending=[True, False, True])
    return rows[shown].rename(columns={"value": column}).reset_index(drop=True)


def shift_in_words(run: MonitorRun, world: World) -> str:
    """What the backtest says of the world's shift, in words, and how much it can say at the
    world's size: the shifted segment's relative win ratio among the deals created since the
    first scoring, whether the verdict flags it, and how many wins it would take.

    The verdict flags a segment whose wins by now stray :data:`~walkaway.serving.monitoring.
    SEGMENT_RATIO` times from the typical segment's at :data:`~walkaway.serving.monitoring.
    NOISE_Z` standard errors. With a relative ratio ``r``, z is about (r - 1) x sqrt(E), E the
    wins expected at the typical rate, so it takes E of (3 / (1 - r))^2 to pass.
    """
    segment = shift_segment(world.shift)
    deals = world.latest.deals
    if segment is None:
        return (
            "No shift is switched on: the world's rules did not change, so any drift the "
            "verdict reports is a false alarm."
        )
    column, target = segment
    if world.shift and world.shift.startswith("churn:"):
        return (
            f"The shift {world.shift} makes wins in {target} likelier to be regretted; it does "
            "not change who wins. The win verdict cannot see it: regret shows once a win has "
            "matured (the regret horizon, a year), after the months simulated here. Its "
            f"{column}'s win ratio below should stay near the others'."
        )
    table = shifted_segment(run, world.shift)
    recent = table[table["shifted"] & ~table["cohort"].eq("all deals")] if len(table) else table
    if recent.empty:
        return (
            f"Too few wins were expected among the {target} deals created since the first "
            f"scoring (fewer than {monitoring.MIN_EXPECTED_WINS:.0f}) to compare them with the "
            f"other {column}s: a world of {deals:,} deals is too small for this view (about "
            f"{FULL_SIZE_DEALS:,} are needed)."
        )
    row = recent.iloc[0]
    relative = float(row["relative"])
    at_level = float(row["won"]) / relative if relative > 0 else float(row["expected_won"])
    said = (
        f"In {target}, where {world.shift} made winning harder for the deals created after "
        f"{world.months[0].export_date:%Y-%m-%d}, those scored won {int(row['won']):,} by now "
        f"against {row['expected_won']:.1f} expected: {relative:.2f} times the rate of a "
        f"typical {column} (z {row['z']:+.1f})."
    )
    if bool(row["drifted"]):
        return said + " The verdict flags it."
    needed = (monitoring.NOISE_Z / (1 - relative)) ** 2 if relative < 1 else np.inf
    if relative >= 1:
        size = f"it does not even point the way the shift does at {deals:,} deals"
    else:
        size = (
            f"at this ratio it takes about {needed:.0f} wins expected (at a typical {column}'s "
            f"rate) to pass {monitoring.NOISE_Z:g} standard errors, and the {target} deals of "
            f"this world of {deals:,} give {at_level:.0f}"
        )
    return (
        said
        + f" The verdict does not flag it: {size}. The verdict is weak at this size; the shift "
        f"is told from noise at about {FULL_SIZE_DEALS:,} deals (write a bigger world with "
        "`walkaway synth --deals 20000`)."
    )
