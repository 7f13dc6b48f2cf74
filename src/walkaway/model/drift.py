"""Drift: how far the deals being scored have moved from the deals the model learned from.

At training, :class:`FeatureProfile` records each feature's distribution on the rows the win
head learned from (the closed deals' snapshots at the ages open deals are scored at): ten
equal-count bins of a number, the commonest values of a category, and each one's missing
share. At scoring, :class:`DriftCounter` counts the pipeline's features into the same bins,
chunk by chunk, and :meth:`DriftCounter.report` gives, per feature, the population stability
index (PSI) and the share of values never seen in training, and per sign the sum of its
features' PSI.

Thresholds (the usual reading of PSI, per feature; a sign sums several features):

- a feature's PSI of :data:`FEATURE_PSI_WARN` (0.25) or more is a major shift;
- a sign whose features' PSI sum to :data:`SIGN_PSI_WARN` (0.25) or more has drifted;
- a category feature whose pipeline values were never seen in training on
  :data:`UNSEEN_WARN` (10%) or more of its filled rows is scored on values it knows nothing of.

Features that depend on the day they are computed are not compared (:data:`AS_OF_FEATURES`):
a deal's age and progress, and what the CRM's own history says by that day (a seller's record,
the account's record, the shares learned from similar accounts). They move with the calendar by
construction: a year on, every seller has closed more deals. What drift measures is the deals
themselves: who they are with, against whom, for what.

PSI = sum over bins of (a - e) * ln(a / e), with e the training share and a the pipeline share
of a bin (both floored at :data:`SHARE_FLOOR` so an empty bin is finite). Noise alone gives
about (bins - 1) / rows per feature: 0.02 for a 500-deal pipeline.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

AS_OF_FEATURES = frozenset(
    {
        "days_open",
        "days_open_vs_usual",
        "stage_now",
        "days_in_stage",
        "days_to_expected_close",
        "close_date_moves",
        "seller_win_rate",
        "seller_closed_deals",
        "prior_wins_at_account",
        "prior_losses_at_account",
        "icp_similarity",
        "icp_regretted_share",
    }
)
FEATURE_PSI_WARN = 0.25
SIGN_PSI_WARN = 0.25
UNSEEN_WARN = 0.10
SHARE_FLOOR = 1e-4
NUMBER_BINS = 10
TOP_CATEGORIES = 20
OTHER = "(other)"

DRIFT_COLUMNS = ["feature", "sign", "rows", "psi", "unseen_share", "shifted"]


def psi(expected: np.ndarray, actual: np.ndarray) -> float:
    """Population stability index of ``actual`` shares against ``expected`` shares.

    Examples
    --------
    >>> psi(np.array([0.5, 0.5]), np.array([0.5, 0.5]))
    0.0
    >>> round(psi(np.array([0.5, 0.5]), np.array([0.9, 0.1])), 3)
    0.879
    """
    e = np.maximum(np.asarray(expected, dtype=float), SHARE_FLOOR)
    a = np.maximum(np.asarray(actual, dtype=float), SHARE_FLOOR)
    return float(np.sum((a - e) * np.log(a / e)))


@dataclass(frozen=True)
class FeatureBins:
    """One feature's bins and its training shares of them (the last bin: missing)."""

    sign: str
    edges: tuple[float, ...] | None  # inner edges of a number's bins; None for a category
    categories: tuple[str, ...] | None  # a category's commonest values, then OTHER
    seen: frozenset[str] | None  # every value of a category seen in training
    shares: tuple[float, ...]

    def counts(self, values: pd.Series) -> np.ndarray:
        """How many of ``values`` fall in each bin (missing last)."""
        missing = values.isna().to_numpy()
        counts = np.zeros(len(self.shares), dtype=np.int64)
        counts[-1] = int(missing.sum())
        filled = values[~missing]
        if self.edges is not None:
            numbers = pd.to_numeric(filled, errors="coerce").to_numpy(dtype=float)
            where = np.searchsorted(np.asarray(self.edges), numbers, side="right")
            counts[:-1] += np.bincount(where, minlength=len(self.shares) - 1)
        else:
            assert self.categories is not None
            common = pd.Index(self.categories[:-1]).get_indexer(filled.astype(str))
            other = len(self.categories) - 1  # OTHER is last: any value not among the common
            where = np.where(common < 0, other, common)
            counts[:-1] += np.bincount(where, minlength=len(self.shares) - 1)
        return counts

    def unseen(self, values: pd.Series) -> int:
        """How many filled ``values`` of a category were never seen in training."""
        if self.seen is None:
            return 0
        filled = values.dropna().astype(str)
        return int((~filled.isin(self.seen)).sum())


def _number_bins(values: pd.Series, sign: str) -> FeatureBins:
    numbers = pd.to_numeric(values, errors="coerce").astype(float)
    known = numbers.dropna().to_numpy()
    quantiles = np.linspace(0, 1, NUMBER_BINS + 1)[1:-1]
    edges = tuple(np.unique(np.quantile(known, quantiles))) if len(known) else ()
    bins = FeatureBins(sign, edges, None, None, tuple(np.zeros(len(edges) + 2)))
    counts = bins.counts(numbers)
    return FeatureBins(sign, edges, None, None, tuple(counts / max(1, counts.sum())))


def _category_bins(values: pd.Series, sign: str) -> FeatureBins:
    text = values.dropna().astype(str)
    common = tuple(text.value_counts().index[:TOP_CATEGORIES])
    categories = (*common, OTHER)
    bins = FeatureBins(sign, None, categories, frozenset(text.unique()), (0.0,) * (len(common) + 2))
    counts = bins.counts(values)
    shares = tuple(counts / max(1, counts.sum()))
    return FeatureBins(sign, None, categories, frozenset(text.unique()), shares)


@dataclass(frozen=True)
class FeatureProfile:
    """Each feature's training distribution, for comparing a pipeline against it."""

    features: dict[str, FeatureBins]
    rows: int

    @classmethod
    def of(cls, raw: pd.DataFrame, signs: dict[str, str]) -> FeatureProfile:
        """The profile of features ``raw`` (as the model computes them, before encoding), but
        :data:`AS_OF_FEATURES`; ``signs`` gives each feature's sign (or group).

        Examples
        --------
        >>> raw = pd.DataFrame({"tenure": np.arange(100.0), "region": ["emea", "apac"] * 50})
        >>> profile = FeatureProfile.of(raw, {"tenure": "glass_walls", "region": "deal_context"})
        >>> len(profile.features["tenure"].edges), profile.features["region"].categories
        (9, ('emea', 'apac', '(other)'))
        >>> "days_open" in FeatureProfile.of(raw.assign(days_open=1.0), {}).features
        False
        """
        features = {}
        for name in raw.columns:
            if name in AS_OF_FEATURES:
                continue
            values = raw[name]
            numeric = pd.api.types.is_numeric_dtype(values) and not pd.api.types.is_bool_dtype(
                values
            )
            sign = signs.get(name, "deal_context")
            features[name] = _number_bins(values, sign) if numeric else _category_bins(values, sign)
        return cls(features, len(raw))


@dataclass
class DriftCounter:
    """The pipeline's features counted into a profile's bins, chunk by chunk."""

    profile: FeatureProfile
    counts: dict[str, np.ndarray] = field(default_factory=dict)
    unseen: dict[str, int] = field(default_factory=dict)
    filled: dict[str, int] = field(default_factory=dict)
    rows: int = 0

    def add(self, raw: pd.DataFrame) -> None:
        """Count one chunk of features (as the model computes them, before encoding)."""
        self.rows += len(raw)
        for name, bins in self.profile.features.items():
            if name not in raw:
                continue
            values = raw[name]
            counts = bins.counts(values)
            self.counts[name] = self.counts.get(name, 0) + counts
            self.unseen[name] = self.unseen.get(name, 0) + bins.unseen(values)
            self.filled[name] = self.filled.get(name, 0) + int(values.notna().sum())

    def merge(self, other: DriftCounter) -> None:
        """Add the counts of another part of the same pipeline (same profile)."""
        self.rows += other.rows
        for name, counts in other.counts.items():
            self.counts[name] = self.counts.get(name, 0) + counts
        for tally, more in ((self.unseen, other.unseen), (self.filled, other.filled)):
            for name, count in more.items():
                tally[name] = tally.get(name, 0) + count

    def report(self) -> DriftReport:
        """PSI and unseen share of each feature, and PSI per sign."""
        records = []
        for name, bins in self.profile.features.items():
            counts = self.counts.get(name)
            if counts is None or counts.sum() == 0:
                continue
            value = psi(np.asarray(bins.shares), counts / counts.sum())
            filled = self.filled.get(name, 0)
            unseen = self.unseen.get(name, 0) / filled if filled and bins.seen is not None else 0.0
            records.append((name, bins.sign, int(counts.sum()), value, unseen))
        features = pd.DataFrame.from_records(records, columns=DRIFT_COLUMNS[:-1])
        features["shifted"] = (features["psi"] >= FEATURE_PSI_WARN) | (
            features["unseen_share"] >= UNSEEN_WARN
        )
        return DriftReport(
            features.sort_values("psi", ascending=False, ignore_index=True), self.rows
        )


@dataclass(frozen=True)
class DriftReport:
    """Drift of one pipeline against the model's training data."""

    features: pd.DataFrame  # DRIFT_COLUMNS, biggest PSI first
    rows: int

    def by_sign(self) -> pd.DataFrame:
        """Per sign (and the deal context): the summed PSI of its features, its most shifted
        feature, and whether it drifted (:data:`SIGN_PSI_WARN`).

        Examples
        --------
        >>> features = pd.DataFrame({"feature": ["a", "b", "c"], "sign": ["x", "x", "y"],
        ...     "rows": 9, "psi": [0.2, 0.1, 0.01], "unseen_share": 0.0, "shifted": False})
        >>> DriftReport(features, 9).by_sign()[["sign", "psi", "top_feature", "drifted"]]
          sign   psi top_feature  drifted
        0    x  0.30           a     True
        1    y  0.01           c    False
        """
        if self.features.empty:
            return pd.DataFrame(columns=["sign", "psi", "top_feature", "drifted"])
        ordered = self.features.sort_values("psi", ascending=False)
        grouped = ordered.groupby("sign", sort=False)
        signs = pd.DataFrame(
            {"psi": grouped["psi"].sum(), "top_feature": grouped["feature"].first()}
        ).reset_index()
        signs["drifted"] = signs["psi"] >= SIGN_PSI_WARN
        return signs.sort_values("psi", ascending=False, ignore_index=True)

    def warnings(self) -> list[str]:
        """The shifts worth a user's attention, in words; none when nothing passed a threshold."""
        said = []
        for row in self.by_sign().itertuples(index=False):
            if row.drifted:
                said.append(
                    f"the pipeline has drifted from the training data on {row.sign} (PSI "
                    f"{row.psi:.2f} >= {SIGN_PSI_WARN}; most of all {row.top_feature})"
                )
        for row in self.features.itertuples(index=False):
            if row.unseen_share >= UNSEEN_WARN:
                said.append(
                    f"{row.unseen_share:.0%} of the pipeline's {row.feature} values were never "
                    "seen in training"
                )
        return said
