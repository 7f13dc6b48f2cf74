"""Drift by sign, month by month: the batch job's drift figures of each scored month of
notebook 04, as one table month x sign, the features that moved most, the warnings
``walkaway score`` gave, and a figure with the thresholds of :mod:`walkaway.model.drift`.

Figures are built without pyplot, so none is left in global state; nothing runs at import.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
from matplotlib.figure import Figure  # no pyplot: no global state, no GUI backend on servers

from walkaway.analysis.plots import SIGN_COLOURS
from walkaway.model import drift
from walkaway.signs import GROUPS, TITLES

if TYPE_CHECKING:
    from walkaway.analysis.monitor_review import ScoredWorld

TOP_FEATURES = 5


def drift_reports(scored: ScoredWorld) -> dict[str, drift.DriftReport]:
    """Each month's drift from the training data, as the batch job wrote it beside the scores
    (``<scored>.drift.csv``), by month scored (YYYY-MM). A month without figures (a model
    trained before they were recorded) is left out."""
    reports = {}
    for month in scored.months:
        path = month.drift_figures
        if not path.is_file():
            continue
        features = pd.read_csv(path, dtype={"feature": str, "sign": str})
        reports[month.month.label] = drift.DriftReport(features, month.deals)
    return reports


def drift_by_sign(reports: dict[str, drift.DriftReport]) -> pd.DataFrame:
    """Month scored x sign: the summed PSI of each sign's features
    (:meth:`walkaway.model.drift.DriftReport.by_sign`), the signs in their usual order; a sign
    of :data:`~walkaway.model.drift.SIGN_PSI_WARN` or more has drifted."""
    rows = {month: report.by_sign().set_index("sign")["psi"] for month, report in reports.items()}
    table = pd.DataFrame(rows).T
    order = [g for g in GROUPS if g in table.columns]
    table = table[order + [c for c in table.columns if c not in order]]
    table.index.name = "month scored"
    table.columns.name = "sign"
    return table


def drift_by_feature(
    reports: dict[str, drift.DriftReport], top: int = TOP_FEATURES
) -> pd.DataFrame:
    """Month scored x feature: the PSI of the ``top`` features that moved most in any month
    (a feature of :data:`~walkaway.model.drift.FEATURE_PSI_WARN` or more has shifted)."""
    rows = {month: report.features.set_index("feature")["psi"] for month, report in reports.items()}
    table = pd.DataFrame(rows).T
    if table.empty:
        return table
    chosen = table.max().sort_values(ascending=False).index[:top]
    table = table[chosen]
    table.index.name = "month scored"
    table.columns.name = "feature"
    return table


def drift_warnings(reports: dict[str, drift.DriftReport]) -> pd.DataFrame:
    """Each month's drift warnings as ``walkaway score`` prints them
    (:meth:`walkaway.model.drift.DriftReport.warnings`); none when no threshold was passed."""
    rows = [
        {"month scored": month, "warning": said}
        for month, report in reports.items()
        for said in report.warnings()
    ]
    return pd.DataFrame(rows, columns=["month scored", "warning"])


def drift_figure(reports: dict[str, drift.DriftReport], top: int = TOP_FEATURES) -> Figure:
    """Two panels over the months scored. Left: each sign's summed PSI, with
    :data:`~walkaway.model.drift.SIGN_PSI_WARN` drawn. Right: the ``top`` features that moved
    most, with :data:`~walkaway.model.drift.FEATURE_PSI_WARN` drawn.

    Examples
    --------
    >>> features = pd.DataFrame({"feature": ["tenure", "employees"],
    ...     "sign": ["glass_walls", "icp_fit"], "rows": 9, "psi": [0.3, 0.01],
    ...     "unseen_share": 0.0, "shifted": [True, False]})
    >>> figure = drift_figure({"2026-01": drift.DriftReport(features, 9)})
    >>> [axis.get_title(loc="left") for axis in figure.axes]
    ['Drift by sign (summed PSI)', 'The features that moved most (PSI)']
    """
    signs, features = drift_by_sign(reports), drift_by_feature(reports, top)
    figure = Figure(figsize=(12, 4.4), layout="constrained")
    left, right = figure.subplots(1, 2, sharex=True)
    months = list(signs.index)
    x = np.arange(len(months))
    for sign in signs.columns:
        left.plot(
            x,
            signs[sign],
            marker="o",
            color=SIGN_COLOURS.get(sign, "#333333"),
            label=TITLES.get(sign, sign),
        )
    for name in features.columns:
        right.plot(x, features[name], marker="o", label=name)
    for axis, level, words in (
        (left, drift.SIGN_PSI_WARN, "a sign has drifted"),
        (right, drift.FEATURE_PSI_WARN, "a major shift"),
    ):
        axis.axhline(level, color="#c44e52", linestyle="--", linewidth=1)
        axis.text(
            1.0,
            level,
            f"{words} (PSI {level:g}) ",
            transform=axis.get_yaxis_transform(),
            va="top",
            ha="right",
            fontsize=8,
            color="#c44e52",
        )
        axis.set_xticks(x, months)
        axis.set_ylim(0, max(level * 1.5, float(np.nanmax(axis.get_ylim()))))
        axis.set_xlabel("month scored")
        axis.legend(loc="upper left", frameon=False, fontsize=8)
        axis.grid(alpha=0.3)
    left.set_ylabel("PSI summed over the sign's features")
    right.set_ylabel("PSI")
    left.set_title("Drift by sign (summed PSI)", loc="left", fontsize=11)
    right.set_title("The features that moved most (PSI)", loc="left", fontsize=11)
    return figure
