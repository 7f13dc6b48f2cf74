"""Win rate and regret rate of closed deals, by band of any input or by period of close.

Section 3 of ``notebooks/01-explore-history`` (outcomes over time) and the counts under each
sign's evidence (:mod:`walkaway.analysis.sign_evidence`):

- :func:`rates_by_band`: the rates of closed deals grouped by a band of one input;
- :func:`outcome_rates_over_time` and :func:`plot_rates_over_time`: the rates by period of
  close, and their figure.

A regret rate is always the regretted share of *matured* wins (their regret known), never of
all wins.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from walkaway.analysis.figure_parts import (
    PERCENT,
    REGRET_COLOUR,
    WIN_COLOUR,
    say_missing,
    upper_limit,
)

__all__ = [
    "RATE_COLUMNS",
    "empty_rates",
    "outcome_rates_over_time",
    "plot_rates_over_time",
    "rates_by_band",
]

COUNT_COLOUR = "#bbbbbb"
RATE_COLUMNS = ["deals", "won", "win_rate", "matured_wins", "regretted", "regret_rate"]


def rates_by_band(closed: pd.DataFrame, bands: pd.Series) -> pd.DataFrame:
    """Win rate and regret rate of closed deals by band, bands in their order.

    Deals whose band is missing are left out, and so are bands without deals. The regret rate
    is the regretted share of *matured* wins (``regret_label`` known); NaN without any.

    Parameters
    ----------
    closed
        Labelled closed deals (``won`` and ``regret_label``, from
        :func:`walkaway.data.labels.label_deals`).
    bands
        Each deal's band, aligned with ``closed``; an ordered categorical keeps its order.

    Returns
    -------
    pandas.DataFrame
        Indexed by ``band``: ``deals``, ``won``, ``win_rate``, ``matured_wins``, ``regretted``
        and ``regret_rate``.

    Examples
    --------
    >>> closed = pd.DataFrame({"won": [1.0, 0.0, 1.0, 1.0],
    ...                        "regret_label": [1.0, np.nan, 0.0, np.nan]})
    >>> rates_by_band(closed, pd.Series(["a", "a", "b", None])).reset_index()
      band  deals  won  win_rate  matured_wins  regretted  regret_rate
    0    a      2    1       0.5             1          1          1.0
    1    b      1    1       1.0             1          0          0.0
    """
    frame = pd.DataFrame(
        {
            "band": bands.array,  # a categorical keeps its order
            "won": closed["won"].eq(1).to_numpy(),
            "matured": closed["regret_label"].notna().to_numpy(),
            "regretted": closed["regret_label"].eq(1).to_numpy(),
        }
    )
    table = frame.groupby("band", observed=True, sort=True).agg(
        deals=("won", "size"),
        won=("won", "sum"),
        matured_wins=("matured", "sum"),
        regretted=("regretted", "sum"),
    )
    return _with_rates(table)


def empty_rates() -> pd.DataFrame:
    """A table of :func:`rates_by_band`'s columns without any band: a view that shows nothing.

    Examples
    --------
    >>> empty_rates().index.name, list(empty_rates()) == RATE_COLUMNS, len(empty_rates())
    ('band', True, 0)
    """
    table = pd.DataFrame({c: pd.Series(dtype=float) for c in RATE_COLUMNS})
    table.index.name = "band"
    return table


def _with_rates(counts: pd.DataFrame) -> pd.DataFrame:
    counts = counts.astype("int64")
    counts["win_rate"] = counts["won"] / counts["deals"].where(counts["deals"] > 0)
    counts["regret_rate"] = counts["regretted"] / counts["matured_wins"].where(
        counts["matured_wins"] > 0
    )
    return counts[RATE_COLUMNS]


def outcome_rates_over_time(labelled: pd.DataFrame, freq: str = "QE") -> pd.DataFrame:
    """Win rate and regret rate of closed deals by period of their close.

    The regret rate of a period is the regretted share of its *matured* wins: wins closed
    less than one regret horizon before the export are censored (their regret cannot be known
    yet), so the last periods have none and their regret rate is NaN. Closed deals without a
    close date are left out.

    Parameters
    ----------
    labelled
        Labelled deals (:func:`walkaway.data.labels.label_deals`); open deals are ignored.
    freq
        A pandas period-end frequency: ``"QE"`` (quarters), ``"ME"`` (months), ``"YE"``.

    Returns
    -------
    pandas.DataFrame
        One row per period from the first close to the last (empty periods included),
        indexed by ``period`` (a :class:`pandas.Period`), with the columns of
        :func:`rates_by_band` (``deals`` counts the closed deals).

    Examples
    --------
    >>> labelled = pd.DataFrame({
    ...     "closed_date": pd.to_datetime(["2024-01-15", "2024-02-01", "2024-08-01", None]),
    ...     "won": [1.0, 0.0, 1.0, np.nan], "regret_label": [0.0, np.nan, np.nan, np.nan]})
    >>> outcome_rates_over_time(labelled)[["deals", "win_rate", "regret_rate"]].reset_index()
       period  deals  win_rate  regret_rate
    0  2024Q1      2       0.5          0.0
    1  2024Q2      0       NaN          NaN
    2  2024Q3      1       1.0          NaN
    """
    closed = labelled[labelled["won"].notna() & labelled["closed_date"].notna()]
    dates = pd.to_datetime(closed["closed_date"])
    if dates.dt.tz is not None:  # zoned exports: periods of the UTC calendar
        dates = dates.dt.tz_convert("UTC").dt.tz_localize(None)
    frame = pd.DataFrame(
        {
            "closed_date": dates,
            "won": closed["won"].eq(1),
            "matured": closed["regret_label"].notna(),
            "regretted": closed["regret_label"].eq(1),
        }
    )
    counts = frame.groupby(pd.Grouper(key="closed_date", freq=freq)).agg(
        deals=("won", "size"),
        won=("won", "sum"),
        matured_wins=("matured", "sum"),
        regretted=("regretted", "sum"),
    )
    rates = _with_rates(counts)
    rates.index = rates.index.to_period() if len(rates) else pd.Index([], dtype=object)
    rates.index.name = "period"
    return rates


def plot_rates_over_time(rates: pd.DataFrame) -> Figure:
    """Win rate and regret rate by period (top) over the closed deals per period (bottom).

    Examples
    --------
    >>> rates = pd.DataFrame({"deals": [10, 12], "won": [3, 4], "win_rate": [0.3, 1 / 3],
    ...                       "matured_wins": [3, 0], "regretted": [1, 0],
    ...                       "regret_rate": [1 / 3, np.nan]},
    ...                      index=pd.PeriodIndex(["2024Q1", "2024Q2"], freq="Q"))
    >>> len(plot_rates_over_time(rates).axes)
    2
    """
    figure = Figure(figsize=(9.5, 5.5), layout="constrained")
    if rates.empty:
        axis = figure.subplots()
        say_missing(axis, "Outcomes over time", "no dated closed deals in this export")
        return figure
    top, bottom = figure.subplots(2, 1, sharex=True, height_ratios=[2, 1])
    x = np.arange(len(rates))
    labels = [str(period) for period in rates.index]
    top.plot(x, rates["win_rate"], color=WIN_COLOUR, marker="o", label="win rate")
    regret_known = rates["regret_rate"].notna().any()
    if regret_known:
        top.plot(
            x,
            rates["regret_rate"],
            color=REGRET_COLOUR,
            marker="s",
            label="regret rate (of matured wins)",
        )
    top.set_ylim(0, upper_limit(rates[["win_rate", "regret_rate"]]))
    top.yaxis.set_major_formatter(PERCENT)
    top.set_ylabel("rate")
    top.set_title("Win rate and regret rate by period of close")
    top.legend(loc="upper left", frameon=False, fontsize=9)
    top.grid(alpha=0.3)
    if not regret_known:
        top.text(
            0.99,
            0.97,
            "regret rate: no matured win with known regret in this export",
            transform=top.transAxes,
            ha="right",
            va="top",
            fontsize=9,
            color=REGRET_COLOUR,
        )
    bottom.bar(x, rates["deals"], color=COUNT_COLOUR, label="closed deals")
    bottom.bar(x, rates["won"], color=WIN_COLOUR, alpha=0.6, label="won")
    bottom.set_ylabel("deals")
    bottom.legend(loc="upper left", frameon=False, fontsize=9)
    step = max(1, int(np.ceil(len(x) / 20)))
    bottom.set_xticks(x[::step], labels[::step], rotation=45, ha="right")
    for axis in (top, bottom):
        axis.spines[["top", "right"]].set_visible(False)
    return figure
