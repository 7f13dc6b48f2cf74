"""Were the scores right? Past scored pipelines against the outcomes of a newer export.

:func:`join_outcomes` gives each row of past scored files (a deal, the model version and day it
was scored as of, its p_win and recommendation) the deal's status in the newer export: won,
lost, still open, or missing from it; and for a win, whether it turned regrettable once matured
(the regret rule and horizon of the mapping the export is read with, as the model defines it).

Open deals close on their own clock, wins sooner than losses, so the deals scored a few months
ago that have closed by now are richer in wins than all of them will be: comparing p_win with
the win rate of the closed deals alone would accuse a good model. So each scored deal is given
the wins it should have brought *by now*: its p_win times the share of won deals of its age
that close within the time since it was scored (:class:`CloseClock`, read from the cycles of
the export's mature deals, created at least :data:`MATURE_DAYS` before it). Summed over a group,
these expected wins are compared with the wins observed (a ratio, and a z-score on the
binomial noise).

The verdict is on the live model (the version of the latest scoring), each of its deals once,
at its first scoring (its last one would be chosen by the outcome: the scoring just before it
closed). The live model has drifted when

- over all its deals, wins observed are :data:`OVERALL_RATIO` (1.5) times the expected or more,
  or 1 / 1.5 or less, at :data:`NOISE_Z` (3) standard errors or more; or
- in a segment (a region, industry, product...; among all its deals, or among the deals
  created since it first scored), the ratio is :data:`SEGMENT_RATIO` (1.6) times the median
  ratio of its column's segments, or 1 / 1.6 or less, at 3 standard errors or more, with at least :data:`MIN_EXPECTED_WINS`
  (5) wins expected: that segment has moved away from what the model learned (a rival
  entrenched in a region, say) even where the model's overall level still holds.

The reliability table, ROC AUC and Brier score are of the closed deals; read them with the
open share beside them.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from sklearn.metrics import brier_score_loss, roc_auc_score

from walkaway.model.evaluation import reliability_curve
from walkaway.serving.scoring import FORMULA_STARTS

MATURE_DAYS = 730
MIN_CYCLES = 50
OVERALL_RATIO = 1.5
SEGMENT_RATIO = 1.6
NOISE_Z = 3.0
MIN_EXPECTED_WINS = 5.0
SEGMENT_COLUMNS = (
    "region",
    "industry",
    "product",
    "lead_source",
    "deal_type",
    "ownership",
    "incumbent_vendor",
)
RECOMMENDATION_ORDER = ("pursue", "compete", "qualify", "keep_presence", "walk_away")


def deal_id_as_exported(deal_id: pd.Series) -> pd.Series:
    """A scored file's deal ids as the export writes them: the apostrophe that keeps a
    spreadsheet from running an id as a formula is taken off.

    >>> deal_id_as_exported(pd.Series(["'=HYPERLINK(1)", "D-2", "'plain"])).tolist()
    ['=HYPERLINK(1)', 'D-2', "'plain"]
    """
    text = deal_id.astype(str)
    inert = text.str.startswith("'") & text.str[1:].str.startswith(FORMULA_STARTS)
    return text.where(~inert, text.str[1:])


def scoring_day(scored: pd.DataFrame) -> pd.Series:
    """The day each row was scored as of: its ``as_of`` (files of walkaway 0.1 after issue 15),
    else the day its job ran (``scored_at``).

    >>> scoring_day(pd.DataFrame({"as_of": ["2025-12-31", None],
    ...                           "scored_at": ["2026-12-03T04:00:00+00:00"] * 2})).tolist()
    [Timestamp('2025-12-31 00:00:00'), Timestamp('2026-12-03 00:00:00')]
    """
    ran = pd.to_datetime(scored["scored_at"], utc=True, errors="coerce").dt.tz_localize(None)
    ran = ran.dt.normalize()
    if "as_of" not in scored:
        return ran
    return pd.to_datetime(scored["as_of"], errors="coerce").fillna(ran)


def join_outcomes(scored: pd.DataFrame, labelled: pd.DataFrame) -> pd.DataFrame:
    """Each scored row with its deal's status in the newer export and its segments.

    Parameters
    ----------
    scored
        Rows of past scored files: ``deal_id``, ``p_win``, ``recommendation``, ``amount``,
        ``model_version`` and ``scored_at`` at least.
    labelled
        The newer export's labelled deal frame (:meth:`walkaway.data.history.History.labelled`).

    Returns
    -------
    pandas.DataFrame
        ``scored`` with ``status`` (won, lost, open or missing), ``won`` (1/0, NaN unless
        closed), ``regret_label`` (1/0 for matured wins), ``scored_month`` (YYYY-MM) and the
        segment columns the export has.
    """
    outcomes = labelled.drop_duplicates("deal_id", keep="last").set_index("deal_id")
    # Each scored row's deal in the newer export (all NaN where it is missing from it).
    aligned = outcomes.reindex(deal_id_as_exported(scored["deal_id"]).to_numpy())
    aligned.index = scored.index
    joined = scored.copy()
    status = aligned["outcome"].astype(object).fillna("missing")
    joined["status"] = status
    joined["won"] = np.where(status.eq("won"), 1.0, np.where(status.eq("lost"), 0.0, np.nan))
    joined["regret_label"] = aligned.get("regret_label", np.nan)
    for column in ("created_date", "closed_date"):
        joined[column] = pd.to_datetime(aligned[column]) if column in aligned else pd.NaT
    for column in SEGMENT_COLUMNS:
        if column in aligned:
            joined[column] = aligned[column].astype(object)
    joined["scored_month"] = scoring_day(joined).dt.strftime("%Y-%m").fillna("unknown")
    joined["p_win"] = pd.to_numeric(joined["p_win"], errors="coerce")
    joined["amount"] = pd.to_numeric(joined.get("amount"), errors="coerce")
    return joined


@dataclass(frozen=True)
class CloseClock:
    """How long won and lost deals take to close (days from creation), from an export's mature
    deals: those created at least :data:`MATURE_DAYS` before it, whose cycles are all seen."""

    won: np.ndarray  # sorted cycle lengths in days
    lost: np.ndarray
    note: str = ""

    @classmethod
    def of(cls, labelled: pd.DataFrame, export_date: pd.Timestamp) -> CloseClock:
        """The clock of a labelled export; all its closed deals when too few are mature (then
        ``note`` says cycles are under-read: the slow ones are not closed yet)."""
        closed = labelled[labelled["outcome"].isin(["won", "lost"])]
        cycles = (closed["closed_date"] - closed["created_date"]).dt.days
        mature = closed["created_date"] <= export_date - pd.Timedelta(days=MATURE_DAYS)

        def sorted_cycles(outcome: str, rows: pd.Series) -> np.ndarray:
            return np.sort(cycles[rows & closed["outcome"].eq(outcome)].dropna().to_numpy(float))

        won, lost = sorted_cycles("won", mature), sorted_cycles("lost", mature)
        if min(len(won), len(lost)) >= MIN_CYCLES:
            return cls(won, lost)
        everything = pd.Series(True, index=closed.index)
        note = (
            f"fewer than {MIN_CYCLES} won and lost deals created {MATURE_DAYS} days before the "
            "export: cycles are read from every closed deal, and wins expected by now are "
            "overstated for slow deals"
        )
        return cls(sorted_cycles("won", everything), sorted_cycles("lost", everything), note)

    def share_closing(self, outcome: str, age: np.ndarray, horizon: np.ndarray) -> np.ndarray:
        """The share of deals of ``outcome`` open at ``age`` days that close within ``horizon``
        more days (1 past every cycle seen: such a deal is overdue).

        Examples
        --------
        >>> clock = CloseClock(np.array([10.0, 20, 30, 40]), np.array([50.0]))
        >>> clock.share_closing("won", np.array([0, 15, 45]), np.array([20, 10, 5])).round(3)
        array([0.5  , 0.333, 1.   ])
        """
        cycles = self.won if outcome == "won" else self.lost
        if len(cycles) == 0:
            return np.ones(len(age))

        def done(days: np.ndarray) -> np.ndarray:
            return np.searchsorted(cycles, days, side="right") / len(cycles)

        open_at = 1 - done(age)
        closing = done(age + horizon) - done(age)
        return np.where(open_at > 0, closing / np.where(open_at > 0, open_at, 1), 1.0)


def expect_by_now(
    joined: pd.DataFrame, clock: CloseClock, export_date: pd.Timestamp
) -> pd.DataFrame:
    """``joined`` with ``expected_won``: each deal's wins expected by the export (p_win times
    the share of won deals of its age closing since it was scored); NaN when missing."""
    day = scoring_day(joined)
    age = (day - joined["created_date"]).dt.days.clip(lower=0).to_numpy(float)
    horizon = (export_date - day).dt.days.clip(lower=0).to_numpy(float)
    known = ~np.isnan(age) & ~np.isnan(horizon) & joined["status"].ne("missing").to_numpy()
    expected = np.full(len(joined), np.nan)
    share = clock.share_closing("won", np.nan_to_num(age), np.nan_to_num(horizon))
    expected[known] = (joined["p_win"].to_numpy(float) * share)[known]
    return joined.assign(expected_won=expected)


def outcome_counts(group: pd.DataFrame) -> dict[str, float]:
    """How a group's deals stand now, and the wins observed against those expected by now.

    Examples
    --------
    >>> group = pd.DataFrame({"status": ["won", "lost", "open", "missing"],
    ...                       "p_win": [0.5, 0.5, 0.5, 0.9], "expected_won": [0.5, 0.4, 0.1, None]})
    >>> counts = outcome_counts(group)
    >>> counts["won"], counts["expected_won"], counts["won_ratio"]
    (1, 1.0, 1.0)
    """
    status = group["status"]
    present = group[status.ne("missing")]
    won, lost, still_open = (int(status.eq(s).sum()) for s in ("won", "lost", "open"))
    expected = present["expected_won"].astype(float)
    total = float(expected.sum())
    noise = float(np.sqrt((expected * (1 - expected)).sum()))
    return {
        "scored": len(group),
        "won": won,
        "lost": lost,
        "still_open": still_open,
        "missing": int(status.eq("missing").sum()),
        "mean_p_win": float(present["p_win"].mean()) if len(present) else np.nan,
        "win_rate_closed": won / (won + lost) if won + lost else np.nan,
        "expected_won": total,
        "won_ratio": won / total if total > 0 else np.nan,
        "z": (won - total) / noise if noise > 0 else 0.0,
    }


def _scores(group: pd.DataFrame) -> dict[str, float]:
    """Ranking and accuracy of p_win on the closed deals of a group (NaN when it cannot say)."""
    closed = group[group["status"].isin(["won", "lost"])]
    y, p = closed["won"].to_numpy(dtype=float), closed["p_win"].to_numpy(dtype=float)
    both = len(np.unique(y)) == 2
    return {
        "roc_auc": float(roc_auc_score(y, p)) if both else np.nan,
        "brier": float(brier_score_loss(y, p)) if len(y) else np.nan,
    }


def calibration_by(joined: pd.DataFrame, by: str) -> pd.DataFrame:
    """Per value of ``by`` (``model_version``, ``scored_month``...): how its deals stand, the
    wins observed against those expected by now, and ROC AUC and Brier of the closed."""
    rows = []
    for value, group in joined.groupby(by, sort=True, dropna=False):
        rows.append({by: value, **outcome_counts(group), **_scores(group)})
    return pd.DataFrame(rows)


def reliability(joined: pd.DataFrame) -> pd.DataFrame:
    """Mean p_win against the win rate, in equal-count bins of the closed deals' p_win."""
    closed = joined[joined["status"].isin(["won", "lost"])]
    bins = 10 if len(closed) >= 200 else 5
    if len(closed) < bins:
        return pd.DataFrame(columns=["mean_predicted", "observed_rate", "count"])
    return reliability_curve(closed["won"].to_numpy(), closed["p_win"].to_numpy(), bins)


def by_recommendation(joined: pd.DataFrame) -> pd.DataFrame:
    """Per recommendation given: deals, how they ended, value won, and regrettable wins."""
    rows = []
    for recommendation, group in joined.groupby("recommendation", sort=False):
        won = group["status"].eq("won")
        closed = group["status"].isin(["won", "lost"])
        matured = won & group["regret_label"].notna()
        rows.append(
            {
                "recommendation": recommendation,
                "scored": len(group),
                "closed": int(closed.sum()),
                "still_open": int(group["status"].eq("open").sum()),
                "won": int(won.sum()),
                "win_rate_closed": float(won.sum() / closed.sum()) if closed.any() else np.nan,
                "value_won": float(group.loc[won, "amount"].sum()),
                "wins_matured": int(matured.sum()),
                "regrettable": int(group.loc[matured, "regret_label"].eq(1).sum()),
            }
        )
    order = {name: i for i, name in enumerate(RECOMMENDATION_ORDER)}
    table = pd.DataFrame(rows)
    if table.empty:
        return table
    return table.sort_values(
        "recommendation", key=lambda s: s.map(lambda r: order.get(r, len(order)))
    ).reset_index(drop=True)


def live_deals(joined: pd.DataFrame) -> tuple[int | None, pd.DataFrame]:
    """The live model (the version of the latest scoring: the latest day scored as of, then
    the latest run) and its deals, each once: at its first scoring by that model."""
    versions = pd.to_numeric(joined["model_version"], errors="coerce")
    if versions.notna().sum() == 0:
        return None, joined.iloc[0:0]
    order = pd.DataFrame(
        {
            "day": scoring_day(joined),
            "ran": pd.to_datetime(joined["scored_at"], utc=True, errors="coerce"),
            "version": versions,
        }
    ).sort_values(["day", "ran", "version"], na_position="first", kind="stable")
    live = int(order["version"].dropna().iloc[-1])
    mine = joined.loc[order.index[order["version"].eq(live)]]  # oldest scoring first
    # Each deal at its first scoring: its last one is where it was scored just before it closed,
    # a choice made by the outcome that would bias every comparison.
    return live, mine.drop_duplicates("deal_id", keep="first")


def segment_drift(deals: pd.DataFrame) -> pd.DataFrame:
    """Each segment of the live model's deals, among all of them and among those created since
    it first scored: wins observed against expected by now, and against the typical segment of
    its column (``relative``: its ratio over the median ratio of the column's segments, so that
    one segment gone wrong does not make the others look wrong too; ``z`` at that level), the
    furthest first."""
    first = scoring_day(deals).min()
    cohorts = {
        "all deals": deals,
        f"deals created since {first:%Y-%m-%d}": deals[deals["created_date"] > first],
    }
    rows = []
    for cohort, frame in cohorts.items():
        present = frame[frame["status"].ne("missing")]
        for column in SEGMENT_COLUMNS:
            if column not in present:
                continue
            counted = [
                {"cohort": cohort, "column": column, "value": value, **outcome_counts(group)}
                for value, group in present.groupby(column, sort=True)
            ]
            counted = [c for c in counted if c["expected_won"] >= MIN_EXPECTED_WINS]
            if len(counted) < 2:
                continue
            level = float(np.median([c["won_ratio"] for c in counted]))
            for counts in counted:
                expected = counts["expected_won"] * level
                counts["relative"] = counts["won_ratio"] / level if level else np.nan
                counts["z"] = (counts["won"] - expected) / np.sqrt(max(expected, 1e-9))
                rows.append(counts)
    table = pd.DataFrame(rows)
    if table.empty:
        return table
    far = np.abs(np.log(table["relative"].clip(lower=1e-9)))
    table["drifted"] = (far >= np.log(SEGMENT_RATIO)) & (table["z"].abs() >= NOISE_Z)
    order = table["z"].abs().sort_values(ascending=False).index
    return table.loc[order].reset_index(drop=True)


@dataclass(frozen=True)
class Verdict:
    """Whether the live model's calibration has drifted on recent outcomes, and what to do."""

    live_version: int | None
    drifted: bool
    overall: dict[str, float]
    segments: pd.DataFrame  # segment_drift of the live model's deals
    text: str


def judge(live: int | None, deals: pd.DataFrame, history: str, note: str = "") -> Verdict:
    """The verdict on the live model's deals (see the module docstring); ``history`` is the
    newer export, named in the advice to retrain; ``note`` is added as a caveat."""
    caveat = f" Note: {note}." if note else ""
    if live is None or deals.empty:
        return Verdict(live, False, {}, pd.DataFrame(), "No scored deal names its model version.")
    overall = outcome_counts(deals)
    segments = segment_drift(deals)
    flagged = segments[segments["drifted"]] if len(segments) else segments
    ratio = overall["won_ratio"]
    off = (
        not np.isnan(ratio)
        and abs(np.log(max(ratio, 1e-9))) >= np.log(OVERALL_RATIO)
        and abs(overall["z"]) >= NOISE_Z
    )
    found = overall["scored"] - overall["missing"]
    if not off and flagged.empty:
        text = (
            f"No drift: version {live} won {overall['won']:,} of its {found:,} deals by now "
            f"against {overall['expected_won']:.0f} expected (ratio {ratio:.2f}), and no "
            f"segment strays from the others.{caveat}"
        )
        return Verdict(live, False, overall, segments, text)
    said = []
    if off:
        said.append(
            f"over all its {found:,} deals, {overall['won']:,} won by now against "
            f"{overall['expected_won']:.0f} expected (ratio {ratio:.2f})"
        )
    for row in flagged.head(3).itertuples(index=False):
        said.append(
            f"{row.cohort} where {row.column} is {row.value}: {row.won:,} won against "
            f"{row.expected_won:.0f} expected, {row.relative:.2f} times the rate of a typical {row.column} "
            f"({'over' if row.relative < 1 else 'under'}-predicted)"
        )
    text = (
        f"Drift: version {live}'s calibration has drifted on recent outcomes: "
        + "; ".join(said)
        + f". Retrain with the newer export: walkaway train --history {history}.{caveat}"
    )
    return Verdict(live, True, overall, segments, text)
