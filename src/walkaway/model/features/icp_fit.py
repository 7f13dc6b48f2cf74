"""Outside the Ideal Customer Profile: the prospect does not look like our best customers.

Our *best customers* are wins we kept past the regret horizon; our *regretted* ones are wins
that churned, ran at a loss or were flagged. The ICP compares an account's firmographics
(industry, size, revenue, ownership) with both groups, using only customers whose status was
known strictly before the deal's as-of time:

- ``icp_similarity``: naive-Bayes log-odds that an account with these firmographics is a best
  rather than a regretted customer (each attribute's smoothed likelihood ratio, summed);
- ``icp_regretted_share``: share of regretted customers in the account's own segment
  (industry x size band), shrunk towards the overall share when the segment is small;
The raw firmographics are features of this sign too. :func:`icp_in_words` says the learned
ICP in plain words, for ``walkaway icp``.

How many customers the comparison rests on (``icp_known_customers``) is evidence about the
ICP, not a property of the prospect: it only grows with time, so as a model input it stood
for the deal's date (and every open deal has the latest count). It is no model input; with
``evidence_counts=True`` the transformer adds it for exploring the history.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.utils.validation import check_is_fitted

from walkaway.model.features.point_in_time import EventTimeline
from walkaway.signs import Feature

EMPLOYEE_BANDS = (0, 50, 200, 1000, 5000, np.inf)
EMPLOYEE_LABELS = ("under 50", "50-199", "200-999", "1,000-4,999", "5,000+")
REVENUE_BANDS = (0, 10e6, 50e6, 250e6, 1e9, np.inf)
REVENUE_LABELS = ("under $10M", "$10M-50M", "$50M-250M", "$250M-1B", "over $1B")
ATTRIBUTES = ("industry", "employees_band", "revenue_band", "ownership")
ATTRIBUTE_WORDS = {
    "industry": "industry",
    "employees_band": "employees",
    "revenue_band": "annual revenue",
    "ownership": "ownership",
}
SEGMENT_PRIOR_WEIGHT = 5.0  # a segment needs about this many customers to speak for itself


def _say_similarity(value: float) -> str:
    if value >= 0.5:
        return "looks like our best customers"
    if value <= -0.5:
        return "looks like the customers we regret"
    return "looks neither like our best nor our regretted customers"


FEATURES = {
    "industry": Feature("icp_fit", "industry", lambda v: f"{v} industry"),
    "employees": Feature("icp_fit", "company size", lambda v: f"{float(v):,.0f} employees"),
    "annual_revenue": Feature(
        "icp_fit", "annual revenue", lambda v: f"revenue ${float(v) / 1e6:,.0f}M a year"
    ),
    "ownership": Feature("icp_fit", "ownership", lambda v: f"{v} company"),
    "icp_similarity": Feature("icp_fit", "ICP similarity", _say_similarity),
    "icp_regretted_share": Feature(
        "icp_fit",
        "regret among similar customers",
        lambda v: f"{float(v):.0%} of similar customers were regretted",
    ),
}
EVIDENCE_COUNTS = ("icp_known_customers",)  # with evidence_counts=True only: no model input


def firmographic_segments(frame: pd.DataFrame) -> pd.DataFrame:
    """The ICP's attributes of each row: industry, size band, revenue band, ownership.

    Examples
    --------
    >>> firmographic_segments(pd.DataFrame({"industry": ["retail"], "employees": [120.0]}))
      industry employees_band revenue_band ownership
    0   retail         50-199          NaN       NaN
    """

    def column(name: str) -> pd.Series:
        return frame[name] if name in frame else pd.Series(np.nan, index=frame.index)

    def band(name: str, edges: tuple, labels: tuple) -> pd.Series:
        values = pd.to_numeric(column(name), errors="coerce")
        return pd.cut(values, edges, labels=labels, right=False).astype(object)

    return pd.DataFrame(
        {
            "industry": column("industry").astype(object),
            "employees_band": band("employees", EMPLOYEE_BANDS, EMPLOYEE_LABELS),
            "revenue_band": band("annual_revenue", REVENUE_BANDS, REVENUE_LABELS),
            "ownership": column("ownership").astype(object),
        },
        index=frame.index,
    )


class IcpFit(TransformerMixin, BaseEstimator):
    """Point-in-time similarity of an account to our best and our regretted customers.

    ``fit`` needs labelled deals (``regret_status`` and ``status_known_date``, from
    :func:`walkaway.data.labels.label_deals`) with their account firmographics; ``transform`` needs
    the firmographics and an ``as_of`` date per row.

    Parameters
    ----------
    segment_prior_weight
        Pseudo-count pulling a small segment's regretted share towards the overall share.
    evidence_counts
        Also output :data:`EVIDENCE_COUNTS`: how many best and regretted customers were known
        at each deal's as-of time (for exploration; not a model input).
    """

    def __init__(
        self, segment_prior_weight: float = SEGMENT_PRIOR_WEIGHT, evidence_counts: bool = False
    ):
        self.segment_prior_weight = segment_prior_weight
        self.evidence_counts = evidence_counts

    def fit(self, X: pd.DataFrame, y: object = None) -> IcpFit:
        missing = {"regret_status", "status_known_date"} - set(X.columns)
        if missing:
            raise ValueError(f"IcpFit.fit needs labelled deals; missing {sorted(missing)}")
        segments = firmographic_segments(X)
        segments["segment"] = _segment_key(segments)
        known = X["status_known_date"]
        self.timelines_: dict[tuple[str, str], EventTimeline] = {}
        self.cardinality_: dict[str, int] = {}
        for status in ("kept", "regrettable"):
            rows = X["regret_status"].eq(status)
            everyone = pd.Series("all", index=X.index[rows])
            self.timelines_[(status, "all")] = EventTimeline(everyone, known[rows])
            for attribute in (*ATTRIBUTES, "segment"):
                self.timelines_[(status, attribute)] = EventTimeline(
                    segments.loc[rows, attribute], known[rows]
                )
        for attribute in ATTRIBUTES:
            self.cardinality_[attribute] = max(1, segments[attribute].nunique())
        customers = X["regret_status"].isin(["kept", "regrettable"])
        self.profile_ = _profile(segments[customers], X.loc[customers, "regret_status"])
        return self

    def transform(self, X: pd.DataFrame) -> pd.DataFrame:
        check_is_fitted(self)
        segments = firmographic_segments(X)
        segments["segment"] = _segment_key(segments)
        as_of = X["as_of"]
        everyone = pd.Series("all", index=X.index)
        best_total = self.timelines_[("kept", "all")].count_before(everyone, as_of)
        regret_total = self.timelines_[("regrettable", "all")].count_before(everyone, as_of)

        log_odds = np.zeros(len(X))
        for attribute in ATTRIBUTES:
            values = segments[attribute]
            best = self.timelines_[("kept", attribute)].count_before(values, as_of)
            regret = self.timelines_[("regrettable", attribute)].count_before(values, as_of)
            k = self.cardinality_[attribute]
            ratio = np.log((best + 1) / (best_total + k)) - np.log(
                (regret + 1) / (regret_total + k)
            )
            log_odds += np.where(values.notna(), ratio, 0.0)

        best_seg = self.timelines_[("kept", "segment")].count_before(segments["segment"], as_of)
        regret_seg = self.timelines_[("regrettable", "segment")].count_before(
            segments["segment"], as_of
        )
        overall = (regret_total + 1) / (best_total + regret_total + 2)
        weight = self.segment_prior_weight
        share = (regret_seg + weight * overall) / (best_seg + regret_seg + weight)

        out = pd.DataFrame(index=X.index)
        for column in ("industry", "ownership"):
            out[column] = (
                X[column].astype(object) if column in X else pd.Series(np.nan, X.index, object)
            )
        for column in ("employees", "annual_revenue"):
            out[column] = pd.to_numeric(X[column], errors="coerce") if column in X else np.nan
        out["icp_similarity"] = log_odds
        out["icp_regretted_share"] = np.where(segments["segment"].notna(), share, np.nan)
        out["icp_known_customers"] = best_total + regret_total
        return out[list(self.get_feature_names_out())]

    def get_feature_names_out(self, input_features: object = None) -> np.ndarray:
        return np.array(
            [*FEATURES, *(EVIDENCE_COUNTS if self.evidence_counts else ())], dtype=object
        )


def _segment_key(segments: pd.DataFrame) -> pd.Series:
    key = (
        segments["industry"].astype("string") + " | " + segments["employees_band"].astype("string")
    )
    return key.astype(object).where(key.notna(), np.nan)


def _profile(segments: pd.DataFrame, status: pd.Series) -> pd.DataFrame:
    """Counts of best and regretted customers by attribute value, with their lift."""
    rows = []
    best_total = max(1, int(status.eq("kept").sum()))
    regret_total = max(1, int(status.eq("regrettable").sum()))
    for attribute in ATTRIBUTES:
        table = pd.crosstab(segments[attribute], status)
        for value, counts in table.iterrows():
            best, regret = int(counts.get("kept", 0)), int(counts.get("regrettable", 0))
            everyone = (best + regret) / (best_total + regret_total)
            rows.append(
                {
                    "attribute": attribute,
                    "value": value,
                    "best": best,
                    "regretted": regret,
                    "share_of_best": best / best_total,
                    "share_of_regretted": regret / regret_total,
                    "share_of_customers": everyone,
                }
            )
    profile = pd.DataFrame(rows)
    if profile.empty:
        return profile
    profile["best_lift"] = profile["share_of_best"] / profile["share_of_customers"]
    profile["regret_lift"] = profile["share_of_regretted"] / profile["share_of_customers"]
    return profile


def icp_in_words(profile: pd.DataFrame, min_customers: int = 10, top: int = 2) -> list[str]:
    """The learned ICP as sentences: what best customers share, and what regretted ones do.

    Best and regretted customers are compared with each other: a value is named for a group
    when the group holds it at least 1.3 times as often as the other group does, and at least
    ``min_customers`` of the group have it; the ``top`` most lopsided values per attribute.
    """
    if profile.empty:
        return ["No matured customers yet: the ICP cannot be learned from this history."]
    best_total = int(profile.groupby("attribute")["best"].sum().max())
    regret_total = int(profile.groupby("attribute")["regretted"].sum().max())
    lines = []
    for group, mine, theirs, count, total, other in (
        ("Best customers", "share_of_best", "share_of_regretted", "best", best_total, "regretted"),
        (
            "Regretted customers",
            "share_of_regretted",
            "share_of_best",
            "regretted",
            regret_total,
            "best",
        ),
    ):
        ratio = profile[mine] / profile[theirs].clip(lower=1e-9)
        chosen = profile.assign(ratio=ratio)
        chosen = chosen[(chosen[count] >= min_customers) & (chosen["ratio"] >= 1.3)]
        traits = []
        for attribute in ATTRIBUTES:
            rows = chosen[chosen["attribute"] == attribute].nlargest(top, "ratio")
            traits += [
                f"{ATTRIBUTE_WORDS[attribute]} {row.value} ({getattr(row, mine):.0%} of them vs "
                f"{getattr(row, theirs):.0%} of {other} customers)"
                for row in rows.itertuples()
            ]
        if traits:
            lines.append(f"{group} ({total}) are more often: " + "; ".join(traits) + ".")
        else:
            lines.append(f"{group} ({total}) share no clear trait yet.")
    return lines
