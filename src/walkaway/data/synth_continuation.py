"""Continuing a synthetic world: the same deals months later, the deals created since, and
shifts of the world's rules (``walkaway synth --continue-from DIR --months N --shift ...``).

A world is its first export (``walkaway synth``) plus one cohort of new deals per calendar
month after it, each from random streams of its own (:class:`walkaway.data.synth.Cohort`).
Everything a deal will ever do is drawn when it is created, so a later export is the same
deals seen on a later date: deals open in DIR keep their ids, accounts and every field known
before the close; those whose close falls by the new export date show it, the others are
older; wins' regret shows once it happens. New deals are created uniformly over the months
since, at the first export's rate per day, and numbered on from DIR's last deal. The folder
is written again from ``synth.json`` alone (:mod:`walkaway.data.synth_manifest`): DIR's other
files are not read, and continuing by 3 months and then by 3 more gives the same files as
continuing by 6 at once.

A shift (:func:`parse_shift`) changes the rules for the deals of one segment created after
DIR's export date; deals created before it, open ones included, keep the outcomes they always
had. Once on, a shift stays on in later continuations (the world has changed):

- ``rival:REGION``: a rival becomes entrenched in the region. Its new deals have an incumbent
  with chance 0.85 (else 0.45), 80% of the time that one rival, with a tenure uniform over
  6..15 years (else 1..15), and a formal tender with chance 0.6 (else 0.25, public sector
  0.55); competitors and decision-maker access follow the incumbent as usual. On top of what
  those features explain, winning there is harder: -1.0 on the log-odds of winning, shown by
  no column, so a model trained before the shift over-predicts p_win there.
- ``churn:INDUSTRY``: the industry starts churning: +1.0 on the log-odds of regret of its new
  deals, shown by no column (its features do not change).

The truth of a shifted deal includes the hidden term. Pure apart from writing the files: the
same DIR, months and shifts give byte-identical files.
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, fields
from pathlib import Path

import pandas as pd

from walkaway.data.synth import (
    EXPORT_DATE,
    INDUSTRIES,
    REGIONS,
    RIVAL_VENDORS,
    Cohort,
    CohortCounts,
    SegmentShift,
    count_accounts,
    day_of,
    write_cohorts,
)
from walkaway.data.synth_manifest import (
    SynthManifest,
    SynthManifestError,
    month_end,
    read_manifest,
)
from walkaway.errors import WalkawayError

__all__ = [
    "SHIFT_KINDS",
    "ContinuationError",
    "ContinuationSummary",
    "Shift",
    "continue_synthetic_history",
    "parse_shift",
    "world_cohorts",
]

# rival:REGION -- what an entrenched rival changes for the region's new deals.
RIVAL_INCUMBENT_RATE = 0.85
RIVAL_ENTRENCHED_SHARE = 0.8
RIVAL_MIN_TENURE = 6
RIVAL_TENDER_RATE = 0.6
RIVAL_WIN_LOGIT = -1.0
# churn:INDUSTRY -- how much likelier its new wins are to be regretted (log-odds).
CHURN_REGRET_LOGIT = 1.0

SHIFT_KINDS: dict[str, str] = {
    "rival": "a rival becomes entrenched in REGION: more incumbents, longer tenure, more "
    f"tenders, and {RIVAL_WIN_LOGIT:+.1f} on the win log-odds that no feature shows",
    "churn": "INDUSTRY starts churning: "
    f"{CHURN_REGRET_LOGIT:+.1f} on the regret log-odds of its new deals",
}


class ContinuationError(WalkawayError):
    """A continuation that cannot be written as asked (for example over its own source)."""


@dataclass(frozen=True, order=True)
class Shift:
    """A change of the world's rules: ``kind`` (rival or churn) in ``target`` (a region or an
    industry, spelled as the generator does)."""

    kind: str
    target: str

    @property
    def spec(self) -> str:
        """The shift as written on the command line and in synth.json (``rival:EMEA``)."""
        return f"{self.kind}:{self.target}"

    def segment_shift(self) -> SegmentShift:
        """The generator's rules for the shifted segment.

        >>> parse_shift("churn:retail").segment_shift().regret_logit
        1.0
        """
        if self.kind == "rival":
            region = REGIONS.index(self.target)
            return SegmentShift(
                region=region,
                incumbent_rate=RIVAL_INCUMBENT_RATE,
                entrenched_rival=region % len(RIVAL_VENDORS),
                entrenched_share=RIVAL_ENTRENCHED_SHARE,
                min_tenure=RIVAL_MIN_TENURE,
                tender_rate=RIVAL_TENDER_RATE,
                win_logit=RIVAL_WIN_LOGIT,
            )
        return SegmentShift(industry=INDUSTRIES.index(self.target), regret_logit=CHURN_REGRET_LOGIT)


def parse_shift(spec: str) -> Shift:
    """Read a shift spec: ``rival:REGION`` or ``churn:INDUSTRY``, names in any case, with
    spaces, hyphens or underscores between words (``rival:north-america``).

    Raises
    ------
    ValueError
        One line saying what is wrong and what would be right.

    Examples
    --------
    >>> parse_shift("rival:emea").spec, parse_shift("churn:Public_Sector").spec
    ('rival:EMEA', 'churn:public sector')
    >>> parse_shift("rival:Mars")
    Traceback (most recent call last):
    ...
    ValueError: 'rival:Mars' names no region: expected one of EMEA, North America, APAC, LATAM
    """
    kind, colon, target = spec.partition(":")
    kind = kind.strip().lower()
    if not colon or kind not in SHIFT_KINDS:
        raise ValueError(f"{spec!r} is not a shift: expected rival:REGION or churn:INDUSTRY")
    names, what = (REGIONS, "region") if kind == "rival" else (INDUSTRIES, "industry")
    wanted = _plain(target)
    for name in names:
        if _plain(name) == wanted:
            return Shift(kind, name)
    raise ValueError(f"{spec!r} names no {what}: expected one of {', '.join(names)}")


def _plain(name: str) -> str:
    """A name compared without case, and with any run of spaces, hyphens or underscores as one
    space."""
    return re.sub(r"[\s_-]+", " ", name).strip().lower()


def _canonical(shifts: Iterable[Shift]) -> tuple[Shift, ...]:
    """Shifts without repeats, in a fixed order (so the same set gives the same files)."""
    return tuple(sorted(set(shifts)))


def world_cohorts(manifest: SynthManifest) -> list[Cohort]:
    """Every cohort of the world a manifest describes: the first export's, then one per month
    after it, with the shifts in force that month.

    Month ``m`` holds the deals created after the first export date plus ``m - 1`` months, up
    to and including it plus ``m`` months; the deals created by then number the first export's
    rate per day times the days since it, rounded, so the rate does not drift.

    Raises
    ------
    SynthManifestError
        When the manifest holds a shift this version does not know.
    """
    first_day = day_of(manifest.first_export_date)
    per_day = manifest.deals / (first_day + 1)  # the first export's deals span days 0..first_day
    cohorts = [Cohort.first_export(manifest.deals)]
    month, created = 0, 0
    for continuation in manifest.continuations:
        try:
            rules = tuple(parse_shift(spec).segment_shift() for spec in continuation.shifts)
        except ValueError as error:
            raise SynthManifestError(f"synth.json: {error}") from None
        for _ in range(continuation.months):
            month += 1
            start = day_of(month_end(manifest.first_export_date, month - 1)) + 1
            end = day_of(month_end(manifest.first_export_date, month))
            created_by_end = round(per_day * (end - first_day))
            number = manifest.deals + created + 1
            cohorts.append(
                Cohort.of_month(month, number, created_by_end - created, (start, end), rules)
            )
            created = created_by_end
    return cohorts


@dataclass(frozen=True)
class ContinuationSummary:
    """What :func:`continue_synthetic_history` wrote.

    Attributes
    ----------
    out_dir, source_dir : Path
        The continued export, and the one it continues.
    previous_export_date, export_date : pd.Timestamp
        Export dates of the source and of the continuation.
    months : int
        Months between them.
    shifts : tuple of str
        Specs of the shifts in force for the new deals (earlier continuations' included).
    earlier : CohortCounts
        The deals the source already had, as of the new date; ``n_closed_after`` and
        ``n_won_after`` count those closed and won since the source's export date (all of them
        open in the source).
    new : CohortCounts
        The deals created since.
    n_regret_shown_since : int
        Wins whose regret showed since the source's export date.
    n_accounts : int
        Rows of accounts.csv.
    seconds : float
        Wall-clock time taken.
    """

    out_dir: Path
    source_dir: Path
    previous_export_date: pd.Timestamp
    export_date: pd.Timestamp
    months: int
    shifts: tuple[str, ...]
    earlier: CohortCounts
    new: CohortCounts
    n_regret_shown_since: int
    n_accounts: int
    seconds: float

    @property
    def n_deals(self) -> int:
        """Rows of deals.csv and truth.parquet."""
        return self.earlier.n_deals + self.new.n_deals

    def lines(self) -> list[str]:
        """The summary in words, a line each: the source's open deals, the new ones, the file."""
        earlier, new = self.earlier, self.new
        was_open = earlier.n_closed_after + earlier.n_open
        shifts = ", ".join(self.shifts) + " (new deals only)" if self.shifts else "none"
        total_won, total_open = earlier.n_won + new.n_won, earlier.n_open + new.n_open
        total_lost = earlier.n_lost + new.n_lost
        return [
            f"Continued {self.source_dir} (exported {_day(self.previous_export_date)}) by "
            f"{self.months} month{'s' if self.months != 1 else ''} to "
            f"{_day(self.export_date)}; shifts: {shifts}",
            f"Its {was_open:,} open deals: {earlier.n_closed_after:,} closed since "
            f"({earlier.n_won_after:,} won, {earlier.n_closed_after - earlier.n_won_after:,} "
            f"lost), {earlier.n_open:,} still open; regret showed on "
            f"{self.n_regret_shown_since:,} wins",
            f"{new.n_deals:,} new deals: {new.n_won + new.n_lost:,} closed ({new.n_won:,} won, "
            f"{new.n_lost:,} lost), {new.n_open:,} open",
            f"Wrote {self.n_deals:,} deals ({total_won:,} won, {total_lost:,} lost, "
            f"{total_open:,} open) for {self.n_accounts:,} accounts to {self.out_dir} "
            f"in {self.seconds:.1f} s",
        ]


def _day(date: pd.Timestamp) -> str:
    """A timestamp as YYYY-MM-DD."""
    return date.date().isoformat()


def _sum_counts(counts: Sequence[CohortCounts]) -> CohortCounts:
    """Counts of several cohorts added up."""
    return CohortCounts(
        **{f.name: sum(getattr(c, f.name) for c in counts) for f in fields(CohortCounts)}
    )


def continue_synthetic_history(
    source_dir: Path,
    months: int,
    shifts: Sequence[str],
    out_dir: Path,
    chunk_size: int = 100_000,
) -> ContinuationSummary:
    """Write the export of the world in ``source_dir`` taken ``months`` months later
    (``walkaway synth --continue-from source_dir --months months --shift ... --out out_dir``).

    Parameters
    ----------
    source_dir : Path
        A folder written by ``walkaway synth`` or by a continuation (it has synth.json).
    months : int
        Months from the source's export date to the new one (at least 1).
    shifts : sequence of str
        Shift specs (:func:`parse_shift`) switched on for the deals created from now on (may be
        empty); the source's own stay on.
    out_dir : Path
        Destination folder, not the source; existing files of the same names are replaced.
    chunk_size : int
        Deals formatted and appended per write; bounds memory, does not change the output.

    Returns
    -------
    ContinuationSummary
        What was written.

    Raises
    ------
    SynthManifestError
        When ``source_dir`` is not a synthetic export this version can continue.
    ContinuationError
        When ``out_dir`` is the source.
    ValueError
        For a bad shift spec, or fewer than 1 month.
    """
    started = time.perf_counter()
    if months < 1:
        raise ValueError(f"months must be at least 1, got {months}")
    wanted = [parse_shift(spec) for spec in shifts]  # a bad spec fails before anything is read
    source_dir, out_dir = Path(source_dir), Path(out_dir)
    manifest = read_manifest(source_dir)
    if manifest.first_export_date != EXPORT_DATE:
        raise SynthManifestError(
            f"{source_dir}: first exported on {manifest.first_export_date.date()}, but this "
            f"version of walkaway synth starts worlds on {EXPORT_DATE.date()}: it cannot "
            "continue that world"
        )
    if out_dir.resolve() == source_dir.resolve():
        raise ContinuationError(
            f"{out_dir} is the export being continued: give --out another folder"
        )
    in_force = list(wanted)
    if manifest.continuations:
        try:
            in_force += [parse_shift(spec) for spec in manifest.continuations[-1].shifts]
        except ValueError as error:
            raise SynthManifestError(f"{source_dir}/synth.json: {error}") from None
    specs = tuple(shift.spec for shift in _canonical(in_force))
    continued = manifest.continued(months, specs)

    cohorts = world_cohorts(continued)
    n_earlier = 1 + manifest.months  # the first export's cohort and one per month since
    counts = write_cohorts(
        out_dir,
        manifest.seed,
        cohorts,
        day_of(continued.export_date),
        stage_history=manifest.stage_history,
        chunk_size=chunk_size,
        after_day=day_of(manifest.export_date),
    )
    continued.write(out_dir)
    return ContinuationSummary(
        out_dir=out_dir,
        source_dir=source_dir,
        previous_export_date=manifest.export_date,
        export_date=continued.export_date,
        months=months,
        shifts=specs,
        earlier=_sum_counts(counts[:n_earlier]),
        new=_sum_counts(counts[n_earlier:]),
        n_regret_shown_since=sum(c.n_regret_shown_after for c in counts),
        n_accounts=count_accounts(manifest.deals),
        seconds=time.perf_counter() - started,
    )
