"""Reliability over time, for notebook 04: each scoring month's closed deals as a reliability
curve, and wins by now against wins expected by now, month by month, for all deals and for the
segment a shift touched, with the verdict's thresholds drawn (:mod:`walkaway.serving.monitoring`).

Figures are built without pyplot, so none is left in global state; nothing runs at import.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
from matplotlib.figure import Figure  # no pyplot: no global state, no GUI backend on servers

from walkaway.analysis.monitor_review import DEFAULT_SHIFT, plain, shift_segment
from walkaway.serving import monitoring

if TYPE_CHECKING:
    from walkaway.jobs import MonitorRun

MIN_CLOSED_PER_CURVE = 100


# A reliability curve is drawn per scoring month when every month has this many closed deals,
# else per quarter of scoring.


def reliability_over_time(run: MonitorRun, min_closed: int = MIN_CLOSED_PER_CURVE) -> pd.DataFrame:
    """A reliability curve of the closed deals of each scoring month, or of each quarter of
    scoring when a month has fewer than ``min_closed`` closed deals (a deal scored in several
    months of a quarter counts once, at its first scoring in it).

    Each curve is :func:`walkaway.serving.monitoring.reliability`'s (equal-count bins of
    p_win: mean p_win against the win rate).

    Returns
    -------
    pandas.DataFrame
        ``period`` (YYYY-MM, or YYYYQn), ``closed`` (its closed deals), ``mean_predicted``,
        ``observed_rate`` and ``count`` per bin.
    """
    joined = run.joined
    day = monitoring.scoring_day(joined)
    closed = joined["status"].isin(["won", "lost"])
    per_month = closed.groupby(joined["scored_month"]).sum()
    by_quarter = bool((per_month < min_closed).any())
    period = day.dt.to_period("Q").astype(str) if by_quarter else joined["scored_month"]
    ordered = joined.assign(period=period.to_numpy(), day=day.to_numpy()).sort_values(
        "day", kind="stable"
    )
    curves = []
    for name, group in ordered.groupby("period", sort=True):
        once = group.drop_duplicates("deal_id", keep="first")
        curve = monitoring.reliability(once)
        if curve.empty:
            continue
        n_closed = int(once["status"].isin(["won", "lost"]).sum())
        curves.append(curve.assign(period=name, closed=n_closed))
    if not curves:
        return pd.DataFrame(
            columns=["period", "closed", "mean_predicted", "observed_rate", "count"]
        )
    frame = pd.concat(curves, ignore_index=True)
    return frame[["period", "closed", "mean_predicted", "observed_rate", "count"]]


def _ratio_by_month(joined: pd.DataFrame) -> pd.DataFrame:
    """Wins observed over wins expected by now per scoring month
    (:func:`walkaway.serving.monitoring.calibration_by`), with the standard error of the
    ratio from the binomial noise of the expected wins."""
    table = monitoring.calibration_by(joined, "scored_month").set_index("scored_month")
    present = joined[joined["status"].ne("missing")]
    expected = present["expected_won"].astype(float)
    noise = np.sqrt((expected * (1 - expected)).groupby(present["scored_month"]).sum())
    table["ratio_error"] = noise.reindex(table.index) / table["expected_won"].where(
        table["expected_won"] > 0
    )
    return table


def reliability_figure(
    curves: pd.DataFrame, run: MonitorRun, shift: str | None = DEFAULT_SHIFT
) -> Figure:
    """Two panels. Left: the reliability curve of each period's closed deals, oldest light,
    newest dark. Right: wins observed over wins expected by now, per month of scoring, for
    all the deals and for the shifted segment, with error bars of
    :data:`~walkaway.serving.monitoring.NOISE_Z` standard errors and the verdict's overall
    thresholds (:data:`~walkaway.serving.monitoring.OVERALL_RATIO`).

    Examples
    --------
    >>> from types import SimpleNamespace
    >>> joined = pd.DataFrame({"scored_month": ["2026-01"] * 4, "status": ["won", "lost"] * 2,
    ...     "p_win": [0.6, 0.2, 0.5, 0.3], "expected_won": [0.5, 0.1, 0.4, 0.2],
    ...     "region": ["emea", "apac"] * 2, "won": [1.0, 0.0] * 2})
    >>> curve = pd.DataFrame({"period": ["2026-01"], "closed": [4], "mean_predicted": [0.4],
    ...     "observed_rate": [0.5], "count": [4]})
    >>> figure = reliability_figure(curve, SimpleNamespace(joined=joined), "rival:EMEA")
    >>> [axis.get_title(loc="left") for axis in figure.axes]
    ['Reliability of the closed deals', 'Wins by now against wins expected by now']
    """
    figure = Figure(figsize=(12, 4.8), layout="constrained")
    left, right = figure.subplots(1, 2)
    periods = list(dict.fromkeys(curves["period"])) if len(curves) else []
    shades = np.linspace(0.35, 1.0, max(len(periods), 1))
    top = 0.0
    left.plot([0, 1], [0, 1], color="#bbbbbb", linestyle="--", linewidth=1, label="perfect")
    for shade, period in zip(shades, periods, strict=False):
        curve = curves[curves["period"].eq(period)]
        closed = int(curve["closed"].iloc[0])
        left.plot(
            curve["mean_predicted"],
            curve["observed_rate"],
            marker="o",
            linewidth=1.5,
            color=(0.11, 0.42, 0.66, shade),
            label=f"{period} ({closed:,} closed)",
        )
        top = max(top, curve["mean_predicted"].max(), curve["observed_rate"].max())
    limit = min(1.0, top * 1.1 + 0.02)
    left.set(
        xlim=(0, limit), ylim=(0, limit), xlabel="p_win given", ylabel="win rate of the closed"
    )
    left.set_title("Reliability of the closed deals", loc="left", fontsize=11)
    left.legend(loc="upper left", frameon=False, fontsize=8)
    left.grid(alpha=0.3)

    joined = run.joined
    series = [("all deals", joined, "#1b6ca8")]
    segment = shift_segment(shift)
    if segment is not None and segment[0] in joined:
        column, target = segment
        mine = joined[joined[column].map(plain).eq(plain(target))]
        if len(mine):
            series.append((f"{column} {target} (shifted)", mine, "#c44e52"))
    months: list[str] = []
    for offset, (name, frame, colour) in zip((-0.08, 0.08), series, strict=False):
        table = _ratio_by_month(frame)
        months = sorted(set(months) | set(table.index))
        x = np.array([months.index(m) for m in table.index], dtype=float) + offset
        right.errorbar(
            x,
            table["won_ratio"],
            yerr=monitoring.NOISE_Z * table["ratio_error"],
            marker="o",
            capsize=3,
            color=colour,
            label=name,
        )
    right.axhline(1.0, color="#bbbbbb", linestyle="--", linewidth=1)
    for level in (monitoring.OVERALL_RATIO, 1 / monitoring.OVERALL_RATIO):
        right.axhline(level, color="#999999", linestyle=":", linewidth=1)
    right.text(
        1.0,
        monitoring.OVERALL_RATIO,
        f"the verdict's overall threshold ({monitoring.OVERALL_RATIO:g} and "
        f"1/{monitoring.OVERALL_RATIO:g}) ",
        transform=right.get_yaxis_transform(),
        va="bottom",
        ha="right",
        fontsize=8,
        color="#666666",
    )
    right.set_xticks(range(len(months)), months)
    right.set_ylim(bottom=0)
    right.set(
        xlabel="month scored",
        ylabel=f"won / expected by now (bars: ±{monitoring.NOISE_Z:g} standard errors)",
    )
    right.set_title("Wins by now against wins expected by now", loc="left", fontsize=11)
    right.legend(loc="lower left", frameon=False, fontsize=8)
    right.grid(alpha=0.3)
    return figure
