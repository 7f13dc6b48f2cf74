"""Figures of a training run: reliability curves of both heads, and what each sign weighs."""

from __future__ import annotations

import pandas as pd
from matplotlib.figure import Figure  # no pyplot: no global state, no GUI backend on servers

from walkaway.signs import TITLES

PREDICTOR_STYLE = {
    "walkaway": {"color": "#1b6ca8", "marker": "o", "label": "walkaway"},
    "logistic": {"color": "#e07b39", "marker": "s", "label": "logistic baseline"},
    "truth": {"color": "#6b6b6b", "marker": "^", "label": "true probability"},
}
SIGN_COLOURS = {
    "glass_walls": "#4c72b0",
    "icp_fit": "#dd8452",
    "need_fit": "#55a868",
    "deal_context": "#8c8c8c",
}


def calibration_figure(curves: dict[str, dict[str, pd.DataFrame]]) -> Figure:
    """One reliability panel per head: predicted vs observed rate, by equal-count bins."""
    heads = list(curves)
    figure = Figure(figsize=(5.2 * max(1, len(heads)), 4.6))
    axes = figure.subplots(1, max(1, len(heads)), squeeze=False)
    for axis, head in zip(axes[0], heads, strict=False):
        axis.plot([0, 1], [0, 1], color="#bbbbbb", linestyle="--", linewidth=1, label="perfect")
        top = 0.0
        for predictor, curve in curves[head].items():
            if predictor not in PREDICTOR_STYLE:
                continue
            style = PREDICTOR_STYLE[predictor]
            axis.plot(curve["mean_predicted"], curve["observed_rate"], linewidth=1.5, **style)
            top = max(top, curve["mean_predicted"].max(), curve["observed_rate"].max())
        limit = min(1.0, top * 1.1 + 0.02)
        axis.set(
            xlim=(0, limit),
            ylim=(0, limit),
            xlabel="predicted probability",
            ylabel="observed rate",
            title=f"{head} head: reliability on the holdout",
        )
        axis.legend(loc="upper left", frameon=False, fontsize=9)
        axis.grid(alpha=0.3)
    figure.tight_layout()
    return figure


def sign_importance_figure(importance: pd.Series) -> Figure:
    """Mean absolute effect of each sign on p_good, in points, over the holdout deals."""
    ordered = importance.sort_values()
    figure = Figure(figsize=(6.4, 3.2))
    axis = figure.subplots()
    axis.barh(
        [TITLES[s] for s in ordered.index],
        ordered.to_numpy(),
        color=[SIGN_COLOURS[s] for s in ordered.index],
    )
    for y, value in enumerate(ordered.to_numpy()):
        axis.text(value, y, f" {value:.1f}", va="center", fontsize=9)
    axis.set(xlabel="mean |effect on p_good| (points)", title="What moves p_good, by sign")
    axis.spines[["top", "right"]].set_visible(False)
    figure.tight_layout()
    return figure
