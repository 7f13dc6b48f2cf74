"""What notebook 01's figures share: the colours of winning and of regret, a percent axis, the
top of a rate axis, and a panel saying why a view is empty.

Used by :mod:`walkaway.analysis.outcome_rates`, :mod:`walkaway.analysis.sign_evidence` and
:mod:`walkaway.analysis.icp_profile`, so that their figures read alike.
"""

from __future__ import annotations

import textwrap

import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.ticker import FuncFormatter

__all__ = ["PERCENT", "REGRET_COLOUR", "WIN_COLOUR", "say_missing", "upper_limit"]

WIN_COLOUR = "#1b6ca8"
REGRET_COLOUR = "#c44e52"
PERCENT = FuncFormatter(lambda value, _: f"{100 * value:.3g}%")  # 0%, 2.5%, 35%


def say_missing(axis: Axes, title: str, reason: str) -> None:
    """Turn ``axis`` into a titled panel that says, in grey words, why it has nothing to show.

    Examples
    --------
    >>> from matplotlib.figure import Figure
    >>> axis = Figure().subplots()
    >>> say_missing(axis, "Outcomes over time", "no dated closed deals in this export")
    >>> axis.texts[0].get_text(), axis.axison
    ('no dated closed deals in this export', False)
    """
    axis.set_axis_off()
    axis.set_title(title, fontsize=11)
    axis.text(
        0.5,
        0.5,
        textwrap.fill(reason, 44),
        transform=axis.transAxes,
        ha="center",
        va="center",
        fontsize=10,
        color="#555555",
    )


def upper_limit(rates: pd.DataFrame, headroom: float = 1.15) -> float:
    """The top of a rate axis: the highest rate shown with some headroom, within 5% and 105%.

    Examples
    --------
    >>> upper_limit(pd.DataFrame({"win_rate": [0.2, 0.5], "regret_rate": [0.1, np.nan]}))
    0.575
    >>> upper_limit(pd.DataFrame({"win_rate": [np.nan]}))  # no rate known: the whole axis
    1.05
    """
    values = rates.to_numpy(dtype=float)
    top = float(np.nanmax(values)) if np.isfinite(values).any() else 1.0
    return min(1.05, max(0.05, top * headroom))
