"""The monitoring page: ``walkaway monitor --report``, one self-contained HTML file.

Rendered from ``templates/monitor.html.j2`` with the pipeline report's Jinja2 environment
(:func:`walkaway.serving.report.environment`: autoescape on, its number filters and style
sheet), so a file name or a segment value from the data is shown as text, never read as markup.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
from matplotlib.figure import Figure  # no pyplot: no global state, no GUI backend on servers

from walkaway.serving.report import environment
from walkaway.serving.report_figures import png

if TYPE_CHECKING:
    from walkaway.jobs import MonitorRun

TEMPLATE = "monitor.html.j2"
SHOWN_SEGMENTS = 12


def reliability_figure(curve: pd.DataFrame, version: int | None) -> Figure:
    """The live model's p_win against the win rate of its closed deals, by equal-count bins."""
    figure = Figure(figsize=(5.4, 4.4), layout="constrained")
    axis = figure.subplots()
    axis.plot([0, 1], [0, 1], color="#bbbbbb", linestyle="--", linewidth=1, label="perfect")
    axis.plot(
        curve["mean_predicted"],
        curve["observed_rate"],
        marker="o",
        color="#1a73e8",
        linewidth=1.5,
        label=f"version {version}" if version is not None else "live model",
    )
    top = float(np.nanmax([curve["mean_predicted"].max(), curve["observed_rate"].max(), 0.1]))
    limit = min(1.0, top * 1.1 + 0.02)
    axis.set(
        xlim=(0, limit),
        ylim=(0, limit),
        xlabel="p_win when scored",
        ylabel="win rate of the closed deals",
        title="closed deals: chance given vs outcome",
    )
    axis.legend(loc="upper left", frameon=False, fontsize=9)
    axis.grid(alpha=0.3)
    return figure


def _records(frame: pd.DataFrame) -> list[dict]:
    return [] if frame.empty else frame.replace({np.nan: None}).to_dict("records")


def render_monitor(run: MonitorRun) -> str:
    """The monitoring page of a finished :class:`~walkaway.jobs.MonitorRun`."""
    verdict = run.verdict
    segments = verdict.segments
    shown = segments.head(SHOWN_SEGMENTS) if len(segments) else segments
    figure = (
        png(reliability_figure(run.reliability, verdict.live_version))
        if len(run.reliability)
        else None
    )
    return (
        environment()
        .get_template(TEMPLATE)
        .render(
            history=run.history,
            export_date=run.export_date.strftime("%Y-%m-%d") if pd.notna(run.export_date) else "",
            files=sorted(run.joined["source_file"].unique().tolist()),
            scored_rows=len(run.joined),
            verdict=verdict,
            by_version=_records(run.by_version),
            by_month=_records(run.by_month),
            by_recommendation=_records(run.by_recommendation),
            reliability=_records(run.reliability),
            figure=figure,
            segments=_records(shown),
            more_segments=max(0, len(segments) - len(shown)),
        )
    )
