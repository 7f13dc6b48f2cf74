"""The pipeline report's charts, as embedded PNG: pipeline value by recommendation, the spread
of p_good, and the sign effects. Built without pyplot, so none is left in global state.
"""

from __future__ import annotations

import base64
import io
from typing import Literal

import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.figure import Figure  # no pyplot: no global state, no GUI backend on servers

from walkaway.analysis.plots import SIGN_COLOURS
from walkaway.serving.page_words import OTHER_COLOUR, colour, compact, deals, label, percent
from walkaway.signs import TITLES

DPI = 110


def png(figure: Figure) -> str:
    """A figure as a ``data:image/png;base64`` URI (no metadata, so no URL inside)."""
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=DPI, metadata={"Software": None})
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode("ascii")


def _tidy(axis: Axes, grid_axis: Literal["both", "x", "y"] = "x") -> None:
    axis.spines[["top", "right"]].set_visible(False)
    axis.spines[["left", "bottom"]].set_color("#9aa0a6")
    axis.tick_params(colors="#3c4043", labelsize=9)
    axis.grid(axis=grid_axis, color="#e3e6ea", linewidth=0.8)
    axis.set_axisbelow(True)


def value_figure(table: pd.DataFrame) -> Figure:
    """Horizontal bars: pipeline value per recommendation, labelled with value and deals."""
    figure = Figure(figsize=(9.6, 0.45 * len(table) + 0.9), layout="constrained")
    axis = figure.subplots()
    names = list(table.index)
    values = table["value"].to_numpy(dtype=float)
    axis.barh([label(r) for r in names], values, color=[colour(r) for r in names], height=0.62)
    axis.invert_yaxis()
    top = max(values.max(initial=0.0), 1.0)
    for y, (value, count) in enumerate(zip(values, table["deals"], strict=True)):
        axis.text(
            value + top * 0.01,
            y,
            f"{compact(value)}  ·  {deals(count)}",
            va="center",
            fontsize=9,
            color="#3c4043",
        )
    axis.set_xlim(0, top * 1.22)
    axis.xaxis.set_major_formatter(lambda x, _: compact(x))
    axis.set_xlabel("pipeline value (sum of amounts)", fontsize=9, color="#5f6368")
    _tidy(axis)
    axis.tick_params(axis="y", length=0, labelsize=10)
    return figure


def p_good_figure(histogram: pd.DataFrame, mean: float) -> Figure:
    """Deals per p_good bin, stacked by recommendation, with the mean marked."""
    figure = Figure(figsize=(9.6, 3.4), layout="constrained")
    axis = figure.subplots()
    centres = (histogram.index.to_numpy(dtype=float) + 0.025) * 100
    bottom = np.zeros(len(histogram))
    for recommendation in histogram.columns:
        counts = histogram[recommendation].to_numpy(dtype=float)
        if counts.sum() == 0:
            continue
        axis.bar(
            centres,
            counts,
            width=4.6,
            bottom=bottom,
            color=colour(recommendation),
            label=label(recommendation),
        )
        bottom += counts
    if np.isfinite(mean):
        axis.axvline(mean * 100, color="#202124", linestyle="--", linewidth=1)
        axis.annotate(
            f"mean {mean:.0%}",
            (mean * 100, 1),
            xycoords=("data", "axes fraction"),
            xytext=(4, -12),
            textcoords="offset points",
            fontsize=9,
            color="#202124",
        )
    axis.set_xlim(0, 100)
    axis.xaxis.set_major_formatter(lambda x, _: f"{x:.0f}%")
    axis.set_xlabel("p_good: chance the deal is won and not regretted", fontsize=9, color="#5f6368")
    axis.set_ylabel("deals", fontsize=9, color="#5f6368")
    _tidy(axis, "y")
    if bottom.sum():
        axis.legend(frameon=False, fontsize=9, ncols=5, loc="lower right", bbox_to_anchor=(1, 1.0))
    return figure


def effects_figure(histogram: pd.DataFrame) -> Figure:
    """Small multiples: per group, deals by its effect on p_good in points."""
    figure = Figure(figsize=(10, 3.1), layout="constrained")
    axes = figure.subplots(1, len(histogram.columns), sharex=True, sharey=True, squeeze=False)[0]
    lower = histogram.index.to_numpy(dtype=float)
    for axis, group in zip(axes, histogram.columns, strict=True):
        counts = histogram[group].to_numpy(dtype=float)
        axis.bar(lower + 1.0, counts, width=1.8, color=SIGN_COLOURS.get(group, OTHER_COLOUR))
        axis.axvline(0, color="#202124", linewidth=0.8)
        total = counts.sum()
        costly = counts[lower + 2 <= -4].sum() / total if total else np.nan
        axis.set_title(f"{TITLES.get(group, group).capitalize()}\n", fontsize=10, loc="left", pad=2)
        axis.text(
            0,
            1.02,
            f"costs over 4 points on {percent(costly)} of deals",
            transform=axis.transAxes,
            fontsize=8,
            color="#5f6368",
        )
        axis.set_xlim(-40, 40)
        axis.set_xticks([-40, -20, 0, 20, 40])
        axis.xaxis.set_major_formatter(lambda x, _: f"{x:+.0f}" if x else "0")
        _tidy(axis, "y")
    axes[0].set_ylabel("deals", fontsize=9, color="#5f6368")
    figure.supxlabel("effect on p_good (points)", fontsize=9, color="#5f6368")
    return figure
