"""Each sign's raw evidence against the outcomes of closed deals: outcomes by band of one input.

Section 4 of ``notebooks/01-explore-history``. The closed deals are split into bands of one
input per view, from their point-in-time features (:func:`walkaway.analysis.exploration.explore`):

- the bands: :func:`tenure_bands` and :func:`tender_bands` (glass walls),
  :func:`icp_similarity_bands` (the ICP) and :func:`coverage_bands` (need fit);
- :func:`sign_evidence`: each view's win rate and regret rate by band
  (:func:`walkaway.analysis.outcome_rates.rates_by_band`), as a :class:`SignEvidence`. An export
  without the columns a view needs gets an empty table and the reason;
- :func:`evidence_table` and :func:`plot_sign_evidence`: all views in one table, and one
  figure panel per view (a view the export cannot show says why).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.figure import Figure

from walkaway.analysis.figure_parts import PERCENT, REGRET_COLOUR, say_missing, upper_limit
from walkaway.analysis.outcome_rates import RATE_COLUMNS, empty_rates, rates_by_band
from walkaway.analysis.plots import SIGN_COLOURS
from walkaway.signs import TITLES

__all__ = [
    "SignEvidence",
    "coverage_bands",
    "evidence_table",
    "icp_similarity_bands",
    "plot_sign_evidence",
    "sign_evidence",
    "tender_bands",
    "tenure_bands",
]

SHORT_WINDOW_DAYS = 14  # a tender answered in two weeks or less was probably written for a rival
ICP_QUANTILES = 5
NOT_IN_EXPORT = "not in this export"
FIRMOGRAPHICS = ("industry", "employees", "annual_revenue", "ownership")
TENURE_BANDS = (
    "no incumbent",
    "under 3 years",
    "3-5 years",
    "6-9 years",
    "10+ years",
    "tenure unknown",
)
TENDER_BANDS = (
    "no tender",
    f"tender, window <= {SHORT_WINDOW_DAYS} days",
    f"tender, window > {SHORT_WINDOW_DAYS} days",
    "tender, window unknown",
)
COVERAGE_BANDS = ("under 50%", "50-74%", "75-99%", "100%")
NO_CUSTOMERS_BAND = "no customers known yet"
NO_BAND = np.asarray(None)  # np.select's default: a deal no condition holds for has no band


@dataclass(frozen=True)
class SignEvidence:
    """One view of a sign's raw evidence: outcomes by band of one input.

    Attributes
    ----------
    sign : str
        The sign the input belongs to (``glass_walls``, ``icp_fit`` or ``need_fit``).
    title : str
        What the bands are of, in words ("incumbent tenure").
    table : pandas.DataFrame
        Indexed by ``band`` (in their natural order), with the columns of
        :func:`~walkaway.analysis.outcome_rates.rates_by_band`; empty when the export cannot
        show this evidence.
    missing : str or None
        Why the table is empty (starting "not in this export" when the export lacks the
        columns); None when it is not.
    """

    sign: str
    title: str
    table: pd.DataFrame
    missing: str | None = None


# ----------------------------------------------------------------------------- bands


def tenure_bands(features: pd.DataFrame) -> pd.Series:
    """Each deal's incumbent-tenure band, from the glass-walls features.

    Examples
    --------
    >>> features = pd.DataFrame({"incumbent_present": [0.0, 1.0, 1.0, 1.0],
    ...                          "incumbent_tenure_years": [0.0, 2.0, 11.0, np.nan]})
    >>> tenure_bands(features).tolist()
    ['no incumbent', 'under 3 years', '10+ years', 'tenure unknown']
    """
    present = features["incumbent_present"].eq(1)
    tenure = features["incumbent_tenure_years"]
    choices = [
        ~present,
        present & tenure.isna(),
        present & (tenure < 3),
        present & (tenure < 6),
        present & (tenure < 10),
        present & (tenure >= 10),
    ]
    names = [TENURE_BANDS[i] for i in (0, 5, 1, 2, 3, 4)]
    return _ordered(np.select(choices, names, default=NO_BAND), TENURE_BANDS, features.index)


def tender_bands(features: pd.DataFrame) -> pd.Series:
    """Each deal's tender type: no tender, a short response window, a longer one.

    Examples
    --------
    >>> features = pd.DataFrame({"formal_tender": [0.0, 1.0, 1.0, np.nan],
    ...                          "response_window_days": [np.nan, 10.0, 30.0, np.nan]})
    >>> tender_bands(features).tolist()
    ['no tender', 'tender, window <= 14 days', 'tender, window > 14 days', nan]
    """
    tender = features["formal_tender"]
    window = features["response_window_days"]
    choices = [
        tender.eq(0),
        tender.eq(1) & window.isna(),
        tender.eq(1) & (window <= SHORT_WINDOW_DAYS),
        tender.eq(1) & (window > SHORT_WINDOW_DAYS),
    ]
    names = [TENDER_BANDS[i] for i in (0, 3, 1, 2)]
    return _ordered(np.select(choices, names, default=NO_BAND), TENDER_BANDS, features.index)


def coverage_bands(features: pd.DataFrame) -> pd.Series:
    """Each deal's band of capability coverage (share of required capabilities covered).

    Examples
    --------
    >>> coverage_bands(pd.DataFrame({"capability_coverage": [0.2, 0.5, 0.8, 1.0, np.nan]})).tolist()
    ['under 50%', '50-74%', '75-99%', '100%', nan]
    """
    coverage = features["capability_coverage"]
    choices = [coverage < 0.5, coverage < 0.75, coverage < 1, coverage >= 1]
    return _ordered(
        np.select(choices, COVERAGE_BANDS, default=NO_BAND), COVERAGE_BANDS, coverage.index
    )


def icp_similarity_bands(features: pd.DataFrame, quantiles: int = ICP_QUANTILES) -> pd.Series:
    """Each deal's quantile band of point-in-time ICP similarity.

    Deals created before any customer's regret was known have nothing to be compared with:
    they get their own first band, and the quantiles are of the other deals.

    Examples
    --------
    >>> features = pd.DataFrame({"icp_similarity": [0.0, -2.0, -1.0, 1.0, 2.0],
    ...                          "icp_known_customers": [0, 9, 9, 9, 9]})
    >>> icp_similarity_bands(features, quantiles=2).tolist()
    ['no customers known yet', '-2.0 to +0.0', '-2.0 to +0.0', '+0.0 to +2.0', '+0.0 to +2.0']
    """
    similarity = features["icp_similarity"]
    compared = features["icp_known_customers"].gt(0) & similarity.notna()
    bands = pd.Series(None, index=features.index, dtype=object)
    bands[features["icp_known_customers"].eq(0)] = NO_CUSTOMERS_BAND
    names = [NO_CUSTOMERS_BAND]
    if compared.any():
        codes, edges = pd.qcut(
            similarity[compared], quantiles, labels=False, retbins=True, duplicates="drop"
        )
        ranges = [
            f"{low:+.1f} to {high:+.1f}" for low, high in zip(edges[:-1], edges[1:], strict=True)
        ]
        names += ranges
        bands[compared] = [ranges[int(code)] for code in codes]
    return _ordered(bands.to_numpy(), tuple(dict.fromkeys(names)), features.index)


def _ordered(values: np.ndarray, order: Sequence[str], index: pd.Index) -> pd.Series:
    values = pd.Series(values, index=index, dtype=object)
    return pd.Series(pd.Categorical(values, categories=list(order), ordered=True), index=index)


# ----------------------------------------------------------------------------- evidence


def sign_evidence(labelled: pd.DataFrame, features: pd.DataFrame) -> dict[str, SignEvidence]:
    """Each sign's raw evidence against the outcomes of the closed deals.

    - ``incumbent_tenure`` (glass walls): no incumbent, then bands of the rival's tenure;
    - ``tender`` (glass walls): no tender, a tender answered in 14 days or less, a longer one;
    - ``icp_similarity`` (ICP): quantile bands of point-in-time ICP similarity, after the
      deals created before any customer's regret was known;
    - ``capability_coverage`` (need fit): bands of the share of required capabilities the
      offered product covers.

    A view whose inputs the export does not have gets an empty table and its reason.

    Parameters
    ----------
    labelled
        Labelled deals (:attr:`~walkaway.analysis.exploration.Exploration.labelled`): the rows
        of ``features`` are looked up in it, and its columns say which inputs the export has.
    features
        Point-in-time features of the closed deals
        (:attr:`~walkaway.analysis.exploration.Exploration.features`).

    Returns
    -------
    dict of str to SignEvidence
        In the order above.
    """
    closed = labelled.loc[features.index]

    def has(*columns: str) -> bool:
        return any(c in closed and closed[c].notna().any() for c in columns)

    def view(
        sign: str,
        title: str,
        make_bands: Callable[[pd.DataFrame], pd.Series],
        available: str | None,
    ) -> SignEvidence:
        if available is not None:
            return SignEvidence(sign, title, empty_rates(), available)
        return SignEvidence(sign, title, rates_by_band(closed, make_bands(features)))

    icp_missing = None
    if not has(*FIRMOGRAPHICS):
        icp_missing = f"{NOT_IN_EXPORT}: no account industry, size, revenue or ownership"
    elif not features["icp_known_customers"].gt(0).any():
        icp_missing = (
            "no best or regretted customer known yet: no win has passed the regret "
            "horizon or shown regret (churn, flag or margin)"
        )
    need_missing = None
    if not has("required_capabilities"):
        need_missing = f"{NOT_IN_EXPORT}: no required capabilities per deal"
    elif not features["capability_coverage"].notna().any():
        need_missing = f"{NOT_IN_EXPORT}: no product catalogue of capabilities"
    return {
        "incumbent_tenure": view(
            "glass_walls",
            "incumbent tenure",
            tenure_bands,
            None
            if has("incumbent_tenure_years", "incumbent_vendor")
            else f"{NOT_IN_EXPORT}: no incumbent vendor or tenure",
        ),
        "tender": view(
            "glass_walls",
            "tender type",
            tender_bands,
            None if has("formal_tender") else f"{NOT_IN_EXPORT}: no formal tender column",
        ),
        "icp_similarity": view(
            "icp_fit",
            "ICP similarity (log-odds best vs regretted, quantiles)",
            icp_similarity_bands,
            icp_missing,
        ),
        "capability_coverage": view(
            "need_fit", "capability coverage", coverage_bands, need_missing
        ),
    }


def evidence_table(evidence: dict[str, SignEvidence]) -> pd.DataFrame:
    """All evidence tables in one, for reading: sign, evidence, band and the rates.

    Views the export cannot show are one row saying why, with empty counts.
    """
    rows = []
    for item in evidence.values():
        if item.table.empty:
            rows.append(
                {"sign": TITLES[item.sign], "evidence": item.title, "band": item.missing or ""}
            )
            continue
        for band, values in item.table.iterrows():
            rows.append(
                {"sign": TITLES[item.sign], "evidence": item.title, "band": str(band)}
                | values.to_dict()
            )
    table = pd.DataFrame.from_records(rows, columns=["sign", "evidence", "band", *RATE_COLUMNS])
    counts = ["deals", "won", "matured_wins", "regretted"]
    table[counts] = table[counts].astype("Int64")
    table[["win_rate", "regret_rate"]] = table[["win_rate", "regret_rate"]].astype(float)
    return table


def plot_sign_evidence(evidence: dict[str, SignEvidence]) -> Figure:
    """One panel per view: win rate by band (bars, with their deal counts) and the regret
    rate of their matured wins (diamonds); a view the export cannot show says why.

    Examples
    --------
    >>> table = rates_by_band(pd.DataFrame({"won": [1.0, 0.0], "regret_label": [0.0, np.nan]}),
    ...                       pd.Series(["a", "b"]))
    >>> figure = plot_sign_evidence({
    ...     "x": SignEvidence("glass_walls", "x", table),
    ...     "y": SignEvidence("need_fit", "y", empty_rates(), "not in this export: no y")})
    >>> len(figure.axes)
    2
    """
    items = list(evidence.values())
    columns = 2 if len(items) > 1 else 1
    rows = max(1, int(np.ceil(len(items) / columns)))
    figure = Figure(figsize=(6.2 * columns, 4.3 * rows), layout="constrained")
    axes = figure.subplots(rows, columns, squeeze=False).ravel()
    for axis, item in zip(axes, items, strict=False):
        title = f"{TITLES[item.sign]}: {item.title}"
        if item.table.empty:
            say_missing(axis, title, item.missing or NOT_IN_EXPORT)
        else:
            _evidence_panel(axis, title, item)
    for axis in axes[len(items) :]:
        axis.set_axis_off()
    figure.suptitle("Each sign's raw evidence against the outcomes of closed deals")
    return figure


def _evidence_panel(axis: Axes, title: str, item: SignEvidence) -> None:
    table = item.table
    x = np.arange(len(table))
    win_rate = table["win_rate"].to_numpy(dtype=float)
    axis.bar(x, win_rate, color=SIGN_COLOURS[item.sign], alpha=0.85, label="win rate")
    for position, rate, deals in zip(x, win_rate, table["deals"], strict=True):
        # Inside the bar, at its foot: clear of the regret markers above.
        axis.text(
            float(position),
            0.005,
            f"{rate:.0%}\nn={int(deals):,}",
            ha="center",
            va="bottom",
            fontsize=8,
            color="#1a1a1a",
        )
    overall = table["won"].sum() / table["deals"].sum()
    axis.axhline(overall, color="#555555", linestyle="--", linewidth=1, label="win rate, all shown")
    if table["regret_rate"].notna().any():
        axis.plot(
            x,
            table["regret_rate"].to_numpy(dtype=float),
            linestyle="none",
            marker="D",
            color=REGRET_COLOUR,
            label="regret rate (matured wins)",
        )
    axis.set_ylim(0, upper_limit(table[["win_rate", "regret_rate"]], headroom=1.3))
    axis.yaxis.set_major_formatter(PERCENT)
    axis.set_xticks(x, [str(band) for band in table.index], rotation=25, ha="right", fontsize=9)
    axis.set_title(title, fontsize=11)
    axis.legend(loc="upper right", frameon=False, fontsize=8)
    axis.spines[["top", "right"]].set_visible(False)
