"""The digest of a scored pipeline: what the report needs, folded in chunk by chunk.

The batch job scores millions of deals in chunks, so the report is not made from the scores
themselves but from a :class:`PipelineDigest` that each chunk is folded into: sums by
recommendation, histograms over fixed bins, the first deals of the worklist (the top deals to
pursue) and the biggest deals to walk away from or keep a presence in. Its memory does not grow
with the pipeline, and its figures do not depend on how the deals were chunked. It holds
numbers only; :mod:`walkaway.serving.report` makes the page.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from walkaway.model.recommendation import RECOMMENDATIONS
from walkaway.serving.worklist import NEEDED as WORKLIST_NEEDED
from walkaway.serving.worklist import work_value
from walkaway.signs import GROUPS, SIGNS

P_GOOD_EDGES = np.linspace(0.0, 1.0, 21)  # 20 bins of 5 points
EFFECT_EDGES = np.arange(-40.0, 42.0, 2.0)  # 40 bins of 2 points; outside values go to the ends
LISTED = ("walk_away", "keep_presence")  # recommendations whose biggest deals are listed
# The first deals of the worklist: its rank is the work value's (walkaway.serving.worklist),
# equal values in file order (``position``: the deal's row in the scored file, from 0).
PURSUE_COLUMNS = (
    "position",
    "work_value",
    "deal_id",
    "account_id",
    "amount",
    "recommendation",
    "p_win",
    "p_regret",
    "p_good",
    "expected_good_value",
    "recommendation_reason",
)
LIST_COLUMNS = (
    "deal_id",
    "account_id",
    "amount",
    "p_win",
    "p_good",
    *(f"effect_{s}" for s in SIGNS),
    *(f"reasons_{s}" for s in SIGNS),
    "recommendation_reason",
)
MEANED = ("p_win", "p_good", *(f"effect_{g}" for g in GROUPS))
REQUIRED = tuple(
    dict.fromkeys(
        (
            "recommendation",
            *LIST_COLUMNS,
            *MEANED,
            *WORKLIST_NEEDED,
            *(c for c in PURSUE_COLUMNS if c not in ("position", "work_value")),
        )
    )
)
UNKNOWN = "unknown"  # the recommendation of a row that has none


@dataclass
class PipelineDigest:
    """What the report needs of a scored pipeline, accumulated chunk by chunk (bounded memory).

    Build one with :meth:`empty` and fold each chunk of scores in with :meth:`add`. Every
    figure is a sum, a count or a top-N list, so the digest is the same whatever the chunking.

    Attributes
    ----------
    list_size
        How many deals the lists keep: the top deals to pursue, walk-away and keep-presence.
    totals
        Per recommendation (index): ``deals``, ``value`` (sum of amount, missing as 0),
        ``good_value`` (sum of p_good x amount), and for each of :data:`MEANED` its sum
        (``sum_<column>``) and how many rows had it (``n_<column>``).
    p_good_counts
        Per recommendation, deals in each of the 20 p_good bins of :data:`P_GOOD_EDGES`.
    effect_counts
        Per group, deals in each of the 40 effect bins of :data:`EFFECT_EDGES` (points).
    top
        Per listed recommendation (:data:`LISTED`), its biggest deals by amount, descending,
        ties by deal_id, with the columns of :data:`LIST_COLUMNS`.
    pursue
        The first deals of the worklist, in priority order (highest work value first, equal
        values by position), with the columns of :data:`PURSUE_COLUMNS`.

    Examples
    --------
    >>> digest = PipelineDigest.empty(list_size=2)
    >>> digest.deals, digest.value
    (0, 0.0)
    """

    list_size: int = 25
    totals: pd.DataFrame = field(default_factory=lambda: _empty_totals())
    p_good_counts: dict[str, np.ndarray] = field(default_factory=dict)
    effect_counts: dict[str, np.ndarray] = field(
        default_factory=lambda: {g: np.zeros(len(EFFECT_EDGES) - 1, dtype=np.int64) for g in GROUPS}
    )
    top: dict[str, pd.DataFrame] = field(
        default_factory=lambda: {r: pd.DataFrame(columns=list(LIST_COLUMNS)) for r in LISTED}
    )
    pursue: pd.DataFrame = field(default_factory=lambda: pd.DataFrame(columns=list(PURSUE_COLUMNS)))

    @classmethod
    def empty(cls, list_size: int = 25) -> PipelineDigest:
        """A digest of no deals, keeping the ``list_size`` biggest deals of each list."""
        if list_size < 0:
            raise ValueError(f"list_size must not be negative, got {list_size}")
        return cls(list_size=list_size)

    def add(self, scores: pd.DataFrame) -> None:
        """Fold one chunk of scored deals in, the chunks in file order.

        Parameters
        ----------
        scores
            Rows of :data:`walkaway.serving.scoring.SCORE_COLUMNS` (extra columns are ignored).

        Raises
        ------
        ValueError
            When a column the report needs is missing.
        """
        missing = [c for c in REQUIRED if c not in scores.columns]
        if missing:
            raise ValueError(f"scores lack the column(s) the report needs: {', '.join(missing)}")
        if scores.empty:
            return
        first_position = self.deals  # the deals folded in before this chunk
        recommendation = (
            scores["recommendation"].astype(object).where(scores["recommendation"].notna(), UNKNOWN)
        )
        labels = recommendation.astype(str).to_numpy()
        amount = pd.to_numeric(scores["amount"], errors="coerce").astype(float).fillna(0.0)
        p_good = pd.to_numeric(scores["p_good"], errors="coerce").astype(float)
        known = pd.to_numeric(scores["amount"], errors="coerce").notna()
        parts = {
            "deals": np.ones(len(scores)),
            "valued": known.to_numpy(dtype=float),  # deals with an amount
            "value": amount.to_numpy(),
            "good_value": (p_good.fillna(0.0) * amount).to_numpy(),
        }
        for column in MEANED:
            values = pd.to_numeric(scores[column], errors="coerce").astype(float)
            parts[f"sum_{column}"] = values.fillna(0.0).to_numpy()
            parts[f"n_{column}"] = values.notna().to_numpy(dtype=float)
        chunk = pd.DataFrame(parts).groupby(labels, sort=False).sum()
        self.totals = self.totals.add(chunk, fill_value=0.0)

        clipped = np.clip(p_good.to_numpy(), 0.0, 1.0)
        for label in pd.unique(labels):
            counts, _ = np.histogram(clipped[labels == label], bins=P_GOOD_EDGES)
            previous = self.p_good_counts.get(label, np.zeros(len(counts), dtype=np.int64))
            self.p_good_counts[label] = previous + counts
        for group in GROUPS:
            effect = pd.to_numeric(scores[f"effect_{group}"], errors="coerce").to_numpy(float)
            effect = np.clip(effect, EFFECT_EDGES[0], EFFECT_EDGES[-1])
            self.effect_counts[group] = (
                self.effect_counts[group] + np.histogram(effect, bins=EFFECT_EDGES)[0]
            )

        for listed in LISTED:
            rows = scores.loc[labels == listed, list(LIST_COLUMNS)]
            if rows.empty or self.list_size == 0:
                continue
            rows = rows.assign(amount=pd.to_numeric(rows["amount"], errors="coerce"))
            rows = top_by_amount(rows, self.list_size)  # this chunk's best first: bounded memory
            kept = self.top[listed]
            merged = rows if kept.empty else pd.concat([kept, rows], ignore_index=True)
            self.top[listed] = top_by_amount(merged, self.list_size)

        if self.list_size:
            rows = scores[[c for c in PURSUE_COLUMNS if c in scores.columns]].assign(
                position=np.arange(first_position, first_position + len(scores)),
                work_value=work_value(scores),
            )[list(PURSUE_COLUMNS)]
            rows = first_by_priority(rows, self.list_size)  # bounded memory, as above
            merged = rows if self.pursue.empty else pd.concat([self.pursue, rows])
            self.pursue = first_by_priority(merged, self.list_size)

    def merge(self, later: PipelineDigest) -> None:
        """Fold in the digest of the deals that follow this one's in the file (another engine's
        chunk, or a part of the file): the result is the digest :meth:`add` would have made
        of this one's deals and then ``later``'s.

        Examples
        --------
        >>> first, later = PipelineDigest.empty(list_size=2), PipelineDigest.empty(list_size=2)
        >>> first.merge(later)
        >>> first.deals
        0
        """
        if later.list_size != self.list_size:
            raise ValueError(f"list sizes differ: {self.list_size} and {later.list_size}")
        first_position = self.deals  # the later digest's positions count from 0
        self.totals = self.totals.add(later.totals, fill_value=0.0)
        for label, counts in later.p_good_counts.items():
            self.p_good_counts[label] = self.p_good_counts.get(label, 0) + counts
        for group in GROUPS:
            self.effect_counts[group] = self.effect_counts[group] + later.effect_counts[group]
        if self.list_size == 0:
            return
        for listed in LISTED:
            parts = [t for t in (self.top[listed], later.top[listed]) if not t.empty]
            if parts:
                merged = pd.concat(parts, ignore_index=True)
                self.top[listed] = top_by_amount(merged, self.list_size)
        shifted = later.pursue.assign(position=later.pursue["position"] + first_position)
        parts = [p for p in (self.pursue, shifted) if not p.empty]
        if parts:
            self.pursue = first_by_priority(pd.concat(parts), self.list_size)

    @property
    def deals(self) -> int:
        """How many deals were folded in."""
        return int(round(self.totals["deals"].sum()))

    @property
    def value(self) -> float:
        """Pipeline value: the sum of amounts, missing amounts counting as 0."""
        return float(self.totals["value"].sum())

    @property
    def good_value(self) -> float:
        """Expected good value: the sum of p_good x amount."""
        return float(self.totals["good_value"].sum())

    def recommendations(self) -> list[str]:
        """Every recommendation to show: the five known ones in policy order, then any other
        seen in the scores."""
        seen = [str(r) for r in self.totals.index if r not in RECOMMENDATIONS]
        return [*RECOMMENDATIONS, *sorted(seen)]

    def by_recommendation(self) -> pd.DataFrame:
        """Deals, value, expected good value and means per recommendation.

        Returns
        -------
        pandas.DataFrame
            Indexed by recommendation (every known one, even without deals), with ``deals``,
            ``valued`` (deals with an amount), ``value``, ``good_value``, ``p_win``, ``p_good``
            and ``effect_<group>`` (means; NaN without deals).

        Examples
        --------
        >>> table = PipelineDigest.empty().by_recommendation()
        >>> table.index.tolist(), table["deals"].tolist()
        (['pursue', 'compete', 'keep_presence', 'walk_away', 'qualify'], [0, 0, 0, 0, 0])
        """
        totals = self.totals.reindex(self.recommendations()).fillna(0.0)
        table = pd.DataFrame(index=totals.index.rename("recommendation"))
        table["deals"] = totals["deals"].round().astype(np.int64)
        table["valued"] = totals["valued"].round().astype(np.int64)
        table["value"] = totals["value"]
        table["good_value"] = totals["good_value"]
        for column in MEANED:
            known = totals[f"n_{column}"]
            table[column] = (totals[f"sum_{column}"] / known).where(known > 0)
        return table

    def overall_mean(self, column: str) -> float:
        """The mean of ``column`` (one of :data:`MEANED`) over every deal that has it; NaN
        when none has.

        Examples
        --------
        >>> PipelineDigest.empty().overall_mean("p_good")
        nan
        """
        known = self.totals[f"n_{column}"].sum()
        return float(self.totals[f"sum_{column}"].sum() / known) if known else float("nan")

    def p_good_histogram(self) -> pd.DataFrame:
        """Deals per p_good bin (rows, by lower edge) and recommendation (columns).

        The 20 bins are 5 points wide over [0, 1]; the last one includes 1.
        """
        columns = self.recommendations()
        zero = np.zeros(len(P_GOOD_EDGES) - 1, dtype=np.int64)
        counts = {r: self.p_good_counts.get(r, zero) for r in columns}
        return pd.DataFrame(counts, index=pd.Index(P_GOOD_EDGES[:-1], name="p_good_from"))

    def effect_histogram(self) -> pd.DataFrame:
        """Deals per effect bin (rows, by lower edge in points) and group (columns).

        The 40 bins are 2 points wide over [-40, +40]; effects beyond are counted in the end
        bins.
        """
        return pd.DataFrame(
            {g: self.effect_counts[g] for g in GROUPS},
            index=pd.Index(EFFECT_EDGES[:-1], name="points_from"),
        )

    def top_deals(self, recommendation: str) -> pd.DataFrame:
        """The biggest deals (by amount) kept for ``recommendation``, one of :data:`LISTED`."""
        if recommendation not in self.top:
            raise KeyError(f"only {', '.join(LISTED)} deals are listed, not {recommendation!r}")
        return self.top[recommendation].reset_index(drop=True).copy()

    def top_to_pursue(self) -> pd.DataFrame:
        """The first deals of the worklist, priority 1 first (:data:`PURSUE_COLUMNS`)."""
        return self.pursue.reset_index(drop=True).copy()


def first_by_priority(frame: pd.DataFrame, n: int) -> pd.DataFrame:
    """The first ``n`` rows of the worklist: highest ``work_value`` first, unknown values last,
    equal values by ``position`` (as :func:`walkaway.serving.worklist.rank` orders them).

    Examples
    --------
    >>> deals = pd.DataFrame({"position": [0, 1, 2, 3], "work_value": [5.0, None, 9.0, 5.0]})
    >>> first_by_priority(deals, 3)["position"].tolist()
    [2, 0, 3]
    """
    ordered = frame.assign(work_value=pd.to_numeric(frame["work_value"], errors="coerce"))
    ordered = ordered.sort_values(
        ["work_value", "position"], ascending=[False, True], na_position="last", kind="stable"
    )
    return ordered.head(n).reset_index(drop=True)


def _empty_totals() -> pd.DataFrame:
    columns = ["deals", "valued", "value", "good_value"]
    columns += [f"{kind}_{c}" for c in MEANED for kind in ("sum", "n")]
    return pd.DataFrame(columns=columns, dtype=float)


def top_by_amount(frame: pd.DataFrame, n: int) -> pd.DataFrame:
    """The ``n`` rows of largest amount (missing amounts last), ties by deal_id.

    Examples
    --------
    >>> deals = pd.DataFrame({"deal_id": ["b", "a", "c", "d"], "amount": [5.0, 5.0, None, 9.0]})
    >>> top_by_amount(deals, 3)["deal_id"].tolist()
    ['d', 'a', 'b']
    """
    ordered = frame.sort_values(
        ["amount", "deal_id"], ascending=[False, True], na_position="last", kind="stable"
    )
    return ordered.head(n).reset_index(drop=True)
