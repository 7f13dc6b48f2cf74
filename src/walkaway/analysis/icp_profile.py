"""The Ideal Customer Profile learned from a history, as a figure: best vs regretted customers.

Section 5 of ``notebooks/01-explore-history``. The profile itself is learned by
:class:`walkaway.model.features.icp_fit.IcpFit` and kept as
:attr:`walkaway.analysis.exploration.Exploration.profile`; its sentences are
:meth:`walkaway.analysis.exploration.Exploration.icp_in_words`.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from walkaway.analysis.figure_parts import PERCENT, REGRET_COLOUR, WIN_COLOUR, say_missing
from walkaway.model.features.icp_fit import EMPLOYEE_LABELS, REVENUE_LABELS, icp_in_words

__all__ = ["icp_profile_figure"]

ATTRIBUTE_ORDER = {"employees_band": EMPLOYEE_LABELS, "revenue_band": REVENUE_LABELS}
ATTRIBUTE_TITLES = {
    "industry": "industry",
    "employees_band": "company size (employees)",
    "revenue_band": "annual revenue",
    "ownership": "ownership",
}


def icp_profile_figure(
    profile: pd.DataFrame,
    attributes: Sequence[str] = ("industry", "employees_band", "revenue_band"),
) -> Figure:
    """The learned ICP: the share of best and of regretted customers holding each value.

    One panel per attribute the profile has (industry, size band, revenue band...); an
    empty profile (no customer whose regret is known) gives one panel saying so.

    Parameters
    ----------
    profile
        :attr:`~walkaway.analysis.exploration.Exploration.profile` (``attribute``, ``value``,
        ``share_of_best``, ``share_of_regretted``...).
    attributes
        The attributes to show, in order; those the profile lacks are skipped.

    Examples
    --------
    >>> profile = pd.DataFrame({"attribute": ["industry", "industry"],
    ...                         "value": ["retail", "logistics"], "best": [5, 15],
    ...                         "regretted": [8, 2], "share_of_best": [0.25, 0.75],
    ...                         "share_of_regretted": [0.8, 0.2]})
    >>> len(icp_profile_figure(profile).axes)
    1
    >>> icp_profile_figure(pd.DataFrame()).axes[0].texts[0].get_text()[:27]
    'No matured customers yet: t'
    """
    shown = [a for a in attributes if not profile.empty and profile["attribute"].eq(a).any()]
    if not shown:
        figure = Figure(figsize=(7, 2.5), layout="constrained")
        say_missing(figure.subplots(), "The learned ICP", icp_in_words(pd.DataFrame())[0])
        return figure
    heights = [max(2.0, 0.42 * profile["attribute"].eq(a).sum() + 1.0) for a in shown]
    figure = Figure(figsize=(5.2 * len(shown), max(heights) + 0.6), layout="constrained")
    axes = figure.subplots(1, len(shown), squeeze=False)[0]
    for axis, attribute in zip(axes, shown, strict=True):
        rows = profile[profile["attribute"].eq(attribute)]
        order = ATTRIBUTE_ORDER.get(attribute)
        if order is None:  # most typical of best customers on top
            ratio = rows["share_of_best"] / rows["share_of_regretted"].clip(lower=1e-9)
            rows = rows.assign(_ratio=ratio).sort_values("_ratio")
        else:
            position = {value: i for i, value in enumerate(order)}
            rows = rows.assign(_order=rows["value"].map(position)).sort_values(
                "_order", ascending=False
            )
        y = np.arange(len(rows))
        axis.barh(y + 0.2, rows["share_of_best"], height=0.4, color=WIN_COLOUR, label="best")
        axis.barh(
            y - 0.2, rows["share_of_regretted"], height=0.4, color=REGRET_COLOUR, label="regretted"
        )
        axis.set_yticks(y, [str(v) for v in rows["value"]])
        axis.xaxis.set_major_formatter(PERCENT)
        axis.set_xlabel("share of the group's customers")
        axis.set_title(ATTRIBUTE_TITLES.get(attribute, attribute), fontsize=11)
        axis.spines[["top", "right"]].set_visible(False)
    handles, labels = axes[0].get_legend_handles_labels()
    figure.legend(handles, labels, loc="outside lower center", ncols=2, frameon=False)
    best = int(profile.groupby("attribute")["best"].sum().max())
    regretted = int(profile.groupby("attribute")["regretted"].sum().max())
    figure.suptitle(
        f"The learned ICP: {best:,} best customers (wins kept) vs {regretted:,} regretted"
    )
    return figure
