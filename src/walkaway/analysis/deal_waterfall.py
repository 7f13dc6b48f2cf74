"""One deal's waterfall: how each sign, and the inputs inside it, moved the deal's two scores.

Per head, from the bias (an average deal) each sign adds its features' exact TreeSHAP
contributions on the log-odds (as in :mod:`walkaway.model.explanations`) up to the deal's own
margin; :func:`waterfall` gives the table, :func:`waterfall_figure` draws it. Notebook 03 shows
it for the deal worth explaining first. Figures are built without pyplot.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.figure import Figure  # no pyplot: no global state, no GUI backend on servers

from walkaway.analysis import plots
from walkaway.model.explanations import explain_p_good
from walkaway.model.walkaway_model import WalkawayModel
from walkaway.signs import GROUPS, TITLES

HEAD_TITLES = {"win": "win head: log-odds of winning", "regret": "regret head: log-odds of regret"}


def waterfall(
    model: WalkawayModel,
    deal: pd.DataFrame,
    as_of: pd.Timestamp | None = None,
    top_features: int = 3,
) -> pd.DataFrame:
    """One deal's TreeSHAP contributions on each head's log-odds, by sign and by feature.

    Per head (``win``, ``regret``) the rows are, in order: the ``bias`` (the log-odds of an
    average deal), one ``sign`` row per group (the sum of its features' contributions), the
    ``feature`` rows (the ``top_features`` of each group by size, then one row for the rest of
    the group, so a group's feature rows add up to its sign row), and the ``margin`` (the
    head's raw log-odds: bias plus the sign rows).

    Returns
    -------
    pandas.DataFrame
        ``head``, ``part``, ``group``, ``feature`` (name, or ``other`` for the rest),
        ``words`` (the value in a seller's words), ``log_odds``, ``p_good_points`` (the part's
        effect on p_good in points, both heads together, as in the scores: a sign's features
        add up to it; NaN for bias and margin) and
        ``probability`` (on margin rows: the calibrated p_win or p_regret).
    """
    if len(deal) != 1:
        raise ValueError(f"a waterfall explains one deal, got {len(deal)}")
    deal = model.with_amounts(deal)
    explained = model.explain(deal, as_of)
    raw = explained["raw"].iloc[0]
    contributions = {"win": explained["win_contrib"][0], "regret": explained["regret_contrib"][0]}
    heads = {"win": model.win_head_, "regret": model.regret_head_}
    catalogue = model.feature_catalogue
    names = model.feature_names_
    members = {g: [i for i, n in enumerate(names) if catalogue[n].sign == g] for g in GROUPS}
    ranked = {
        g: sorted(m, key=lambda i: -abs(contributions["win"][i]) - abs(contributions["regret"][i]))
        for g, m in members.items()
    }

    parts: list[tuple[str, str, str, str, list[int]]] = []  # part, group, feature, words, columns
    for group in GROUPS:
        parts.append(("sign", group, "", TITLES[group], members[group]))
    for group in GROUPS:
        shown = ranked[group][:top_features]
        for i in shown:
            parts.append(
                ("feature", group, names[i], catalogue[names[i]].describe(raw[names[i]]), [i])
            )
        rest = ranked[group][top_features:]
        if rest:
            parts.append(("feature", group, "other", f"{len(rest)} other features", rest))

    p_good_points = explain_p_good(
        explained["win_contrib"],
        explained["regret_contrib"],
        model.groups_,
        model.win_head_.calibrate,
        model.regret_head_.calibrate,
    )
    points = [
        p_good_points.groups[0, GROUPS.index(group)]
        if part == "sign"
        else p_good_points.features[0, columns].sum()
        for part, group, _, _, columns in parts
    ]

    rows = []
    for head, values in contributions.items():
        rows.append((head, "bias", "", "", "average deal", values[-1], np.nan, np.nan))
        for (part, group, feature, words, columns), effect in zip(parts, points, strict=True):
            rows.append((head, part, group, feature, words, values[columns].sum(), effect, np.nan))
        margin = values.sum()
        probability = float(heads[head].calibrate(np.array([margin]))[0])
        rows.append((head, "margin", "", "", "this deal", margin, np.nan, probability))
    return pd.DataFrame(
        rows,
        columns=[
            "head",
            "part",
            "group",
            "feature",
            "words",
            "log_odds",
            "p_good_points",
            "probability",
        ],
    )


def waterfall_figure(table: pd.DataFrame, title: str = "") -> Figure:
    """One row of panels per head that learned (a constant head has nothing to show): on the
    left, the waterfall from the average deal's log-odds through each sign to this deal's; on
    the right, the features inside each sign that move it most.
    """
    heads = [
        h
        for h in ("win", "regret")
        if (table.loc[(table["head"] == h) & (table["part"] == "feature"), "log_odds"] != 0).any()
    ]
    figure = Figure(figsize=(13, 3.6 * max(1, len(heads)) + 0.6), layout="constrained")
    axes = figure.subplots(max(1, len(heads)), 2, squeeze=False, width_ratios=[1, 1.25])
    for (left, right), head in zip(axes, heads, strict=False):
        rows = table[table["head"] == head]
        _draw_waterfall(left, rows, head)
        _draw_features(right, rows)
    probabilities = table[table["part"] == "margin"].set_index("head")["probability"]
    p_win, p_regret = probabilities.get("win", np.nan), probabilities.get("regret", np.nan)
    summary = f"p_win {p_win:.0%} · p_regret {p_regret:.0%} · p_good {p_win * (1 - p_regret):.0%}"
    if "regret" not in heads:
        summary += " (the regret head did not learn: p_regret is the base rate)"
    figure.suptitle(f"{title}  {summary}".strip(), fontsize=11)
    return figure


def _draw_waterfall(axis: Axes, rows: pd.DataFrame, head: str) -> None:
    bias = float(rows.loc[rows["part"] == "bias", "log_odds"].iloc[0])
    margin_row = rows[rows["part"] == "margin"].iloc[0]
    signs = rows[rows["part"] == "sign"]
    labels = [
        "average deal",
        *[
            f"{TITLES[g]}\n({points:+.1f} pts of p_good)"
            for g, points in zip(signs["group"], signs["p_good_points"], strict=True)
        ],
        "this deal",
    ]
    starts, widths, colours = [0.0], [bias], ["#bbbbbb"]
    running = bias
    for _, row in signs.iterrows():
        starts.append(running)
        widths.append(float(row["log_odds"]))
        colours.append(plots.SIGN_COLOURS.get(row["group"], "#8c8c8c"))
        running += float(row["log_odds"])
    starts.append(0.0)
    widths.append(float(margin_row["log_odds"]))
    colours.append("#202124")
    y = np.arange(len(labels))
    axis.barh(y, widths, left=starts, color=colours, height=0.6)
    for position, (start, width) in enumerate(zip(starts, widths, strict=True)):
        text = f"{width:+.2f}" if 0 < position < len(labels) - 1 else f"{width:.2f}"
        axis.text(max(start, start + width), position, f" {text}", va="center", fontsize=8.5)
    for position in range(1, len(labels) - 1):  # connectors between the steps
        end = starts[position] + widths[position]
        axis.plot([end, end], [position - 0.3, position + 0.7], color="#9aa0a6", linewidth=0.7)
    axis.set_yticks(y, labels)
    axis.invert_yaxis()
    axis.axvline(0, color="#5f6368", linewidth=0.8)
    axis.set_title(
        f"{HEAD_TITLES[head]} → {'p_win' if head == 'win' else 'p_regret'} "
        f"{margin_row['probability']:.0%}",
        fontsize=10,
        loc="left",
    )
    axis.set_xlabel("log-odds (TreeSHAP, pred_contrib)")
    axis.spines[["top", "right"]].set_visible(False)
    _pad_right(axis)


def _draw_features(axis: Axes, rows: pd.DataFrame) -> None:
    features = rows[(rows["part"] == "feature") & (rows["log_odds"] != 0)]
    features = features[features["feature"] != "other"]
    features = features.reindex(features["log_odds"].abs().sort_values(ascending=False).index)
    features = features.head(10)
    y = np.arange(len(features))
    axis.barh(
        y,
        features["log_odds"].to_numpy(float),
        color=[plots.SIGN_COLOURS.get(g, "#8c8c8c") for g in features["group"]],
        height=0.6,
    )
    axis.set_yticks(y, [_shorten(w) for w in features["words"]])
    axis.invert_yaxis()
    axis.axvline(0, color="#5f6368", linewidth=0.8)
    axis.set_title("the features that move it most (colour: sign)", fontsize=10, loc="left")
    axis.set_xlabel("contribution to log-odds")
    axis.tick_params("y", labelsize=8.5)
    axis.spines[["top", "right"]].set_visible(False)


def _pad_right(axis: Axes) -> None:
    low, high = axis.get_xlim()
    axis.set_xlim(low, high + 0.18 * (high - low))


def _shorten(text: str, limit: int = 48) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"
