"""The open pipeline review: one self-contained HTML page for a sales leader.

:func:`render_report` turns a :class:`~walkaway.serving.pipeline_digest.PipelineDigest`, the
run's figures and the model's own evaluation into one HTML page (CSS inline, plots as embedded
PNG, no external URL); the batch job writes it atomically with the scores
(:mod:`walkaway.serving.batch`).

This module decides what the page shows: the figures, the numbers of each table and how they
read (the formatting helpers, also the template's filters). The page itself, its words and its
markup, is the Jinja2 template ``templates/report.html.j2``, rendered with autoescape so that
every text from the data (deal ids, reasons, file names) is escaped by Jinja2 and never by hand.
"""

from __future__ import annotations

import base64
import io
import math
from collections.abc import Mapping
from functools import cache
from typing import Literal, NamedTuple

import numpy as np
import pandas as pd
from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape
from matplotlib.axes import Axes
from matplotlib.figure import Figure  # no pyplot: no global state, no GUI backend on servers

from walkaway.analysis.plots import SIGN_COLOURS, calibration_figure
from walkaway.serving.pipeline_digest import PipelineDigest
from walkaway.signs import GROUPS, SIGNS, TITLES

COLOURS = {
    "pursue": "#2e8b57",
    "compete": "#2f6fb5",
    "keep_presence": "#e3a21a",
    "walk_away": "#c8412f",
    "qualify": "#8a9099",
}
OTHER_COLOUR = "#b5b9c0"
LABELS = {
    "pursue": "Pursue",
    "compete": "Compete",
    "keep_presence": "Keep presence",
    "walk_away": "Walk away",
    "qualify": "Qualify",
}
MEANINGS = {
    "pursue": "Good enough to work now.",
    "compete": "A rival is entrenched, but the return justifies a head-to-head.",
    "keep_presence": "Entrenched rival and a modest return: stay present as the second option.",
    "walk_away": (
        "Outside our ideal customer profile or a poor fit for their needs, "
        "with a high risk of regret or loss."
    ),
    "qualify": "No sign dominates, or the evidence is thin: find out more.",
}
SECTIONS = (
    "Deals and pipeline value by recommendation",
    "Spread of p_good across the pipeline",
    "Sign effects across the pipeline",
    "Deals to walk away from",
    "Deals to keep presence in",
    "Calibration of the model used",
)
PREDICTORS = {"walkaway": "walkaway", "logistic": "logistic baseline", "base_rate": "base rate"}
HEADS = {"win": "Win: will we win it?", "regret": "Regret: will a win be regretted?"}
METRICS = {"roc_auc": ("ROC AUC", max), "brier": ("Brier", min), "log_loss": ("Log loss", min)}
TEMPLATE = "report.html.j2"  # in walkaway/serving/templates, with report.css.j2
DPI = 110


# --------------------------------------------------------------------------------------------
# Words and numbers (the template's filters)


def as_float(value: object) -> float:
    """A number from the data, NaN when missing or not a number.

    >>> as_float(3), as_float(None), as_float(pd.NA), as_float("x")
    (3.0, nan, nan, nan)
    """
    try:
        number = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return float("nan")
    return number


def text(value: object) -> str:
    """Text from the data as it is shown, missing values empty (the template escapes it).

    >>> text("<b>Acme</b>"), text(None), text(float("nan")), text(42)
    ('<b>Acme</b>', '', '', '42')
    """
    if value is None or (pd.api.types.is_scalar(value) and pd.isna(value)):
        return ""
    return str(value)


def number(value: int) -> str:
    """A count with thousands separators.

    >>> number(1234567)
    '1,234,567'
    """
    return f"{value:,}"


def deals(value: int) -> str:
    """A count of deals, singular or plural.

    >>> deals(1), deals(1234)
    ('1 deal', '1,234 deals')
    """
    return f"{value:,} {'deal' if value == 1 else 'deals'}"


def money(value: float) -> str:
    """An amount with thousands separators, no decimals; missing is a dash.

    >>> money(1234567.4), money(float("nan"))
    ('1,234,567', '–')
    """
    value = as_float(value)
    if not math.isfinite(value):
        return "–"
    return f"{value:,.0f}"


def compact(value: float) -> str:
    """A large amount made short (three significant digits) for a chart label.

    >>> compact(1_234_567), compact(2_000_000), compact(45_600), compact(999), compact(999_999)
    ('1.23 M', '2 M', '45.6 k', '999', '1 M')
    """
    for size, unit in ((1e9, " bn"), (1e6, " M"), (1e3, " k")):
        if abs(value) >= size * 0.9995:  # what would round to 1000 of a unit takes the next
            return f"{value / size:.3g}{unit}"
    return f"{value:.0f}"


def percent(value: float) -> str:
    """A probability as a percentage; below one percent says so.

    >>> percent(0.3687), percent(0.004), percent(0.0), percent(float("nan"))
    ('37%', '<1%', '0%', '–')
    """
    value = as_float(value)
    if not math.isfinite(value):
        return "–"
    if 0 < value < 0.005:
        return "<1%"
    return f"{value:.0%}"


def points(value: float) -> str:
    """An effect in probability points, always signed.

    >>> points(4.21), points(-12.0), points(float("nan"))
    ('+4.2', '-12.0', '–')
    """
    value = as_float(value)
    if not math.isfinite(value):
        return "–"
    return f"{value:+.1f}"


def tone(value: float) -> str:
    """The CSS class of an effect: ``neg`` when it costs the deal, ``pos`` when it helps.

    >>> tone(-3.0), tone(0.01), tone(2.5), tone(float("nan"))
    ('neg', '', 'pos', '')
    """
    value = as_float(value)
    return "neg" if value <= -0.05 else "pos" if value >= 0.05 else ""


def decimal(value: object) -> str:
    """A metric with three decimals; missing is a dash.

    >>> decimal(0.83456), decimal(None)
    ('0.835', '–')
    """
    number = as_float(value)
    return f"{number:.3f}" if math.isfinite(number) else "–"


def label(recommendation: str) -> str:
    """A recommendation as a seller reads it.

    >>> label("keep_presence"), label("something_else")
    ('Keep presence', 'Something else')
    """
    return LABELS.get(recommendation, recommendation.replace("_", " ").capitalize())


def colour(recommendation: str) -> str:
    """The colour of a recommendation, the same in every table and chart."""
    return COLOURS.get(recommendation, OTHER_COLOUR)


FILTERS = {
    f.__name__: f
    for f in (number, deals, money, compact, percent, points, tone, decimal, label, colour)
}


# --------------------------------------------------------------------------------------------
# Figures


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


# --------------------------------------------------------------------------------------------
# What each section shows (the template lays it out)


class RecommendationRow(NamedTuple):
    """A line of the recommendation table; shares and means are fractions (NaN unknown)."""

    recommendation: str  # empty on the line of all deals
    meaning: str
    deals: int
    deal_share: float
    value: float
    value_share: float
    good_value: float
    p_win: float
    p_good: float


class EffectRow(NamedTuple):
    """A line of the sign effect table: mean effect per group of :data:`GROUPS`, in points."""

    recommendation: str  # empty on the line of all deals
    deals: int
    effects: list[float]


class RecommendationTable(NamedTuple):
    """The recommendation table, the line of all deals, and the value figure (None when no
    deal has an amount: the value is unknown then, not 0)."""

    rows: list[RecommendationRow]
    total: RecommendationRow
    figure: str | None


class EffectTable(NamedTuple):
    """The sign effect table and its line of all deals."""

    rows: list[EffectRow]
    total: EffectRow


class DealRow(NamedTuple):
    """A listed deal; ``effects`` per sign of :data:`SIGNS` with whether it is the costliest,
    ``reasons`` as (sign title, reason) for the signs that give one."""

    deal_id: str
    account_id: str
    amount: float
    p_good: float
    effects: list[tuple[float, bool]]
    reason: str
    reasons: list[tuple[str, str]]


class Listing(NamedTuple):
    """The biggest deals of a listed recommendation, out of ``total`` such deals."""

    recommendation: str
    total: int
    deals: list[DealRow]


class MetricRow(NamedTuple):
    """A line of the metrics table: the first of its question carries the question (spanning
    ``span`` lines); ``cells`` per metric of :data:`METRICS`, with whether it is the best."""

    question: str | None
    span: int
    predictor: str
    cells: list[tuple[float, bool]]


class Calibration(NamedTuple):
    """The reliability figure (None with too few test deals) and the metrics (None without)."""

    figure: str | None
    metrics: list[MetricRow] | None


def _recommendations(digest: PipelineDigest) -> RecommendationTable:
    """Deals, value, shares and means per recommendation, and the value figure."""
    table = digest.by_recommendation()
    unvalued = bool(digest.deals) and table["valued"].sum() == 0
    figure = None if unvalued else png(value_figure(table))
    if unvalued:  # an export without amounts: the value is unknown, not 0
        table[["value", "good_value"]] = np.nan
    deals, value = max(digest.deals, 1), digest.value or 1.0
    rows = [
        RecommendationRow(
            recommendation=row.Index,
            meaning=MEANINGS.get(row.Index, ""),
            deals=row.deals,
            deal_share=row.deals / deals,
            value=row.value,
            value_share=row.value / value,
            good_value=row.good_value,
            p_win=row.p_win,
            p_good=row.p_good,
        )
        for row in table.itertuples()
    ]
    overall = table[["deals", "value", "good_value"]].sum(min_count=1)
    total = RecommendationRow(
        recommendation="",
        meaning="",
        deals=int(overall["deals"]),
        deal_share=1.0 if digest.deals else float("nan"),
        value=overall["value"],
        value_share=1.0 if digest.value else float("nan"),
        good_value=overall["good_value"],
        p_win=digest.overall_mean("p_win"),
        p_good=digest.overall_mean("p_good"),
    )
    return RecommendationTable(rows, total, figure)


def _effects(digest: PipelineDigest) -> EffectTable:
    """Mean effect per group and recommendation, and over all deals."""
    table = digest.by_recommendation()
    rows = [
        EffectRow(str(rec), int(deals), [table.at[rec, f"effect_{g}"] for g in GROUPS])
        for rec, deals in table["deals"].items()
    ]
    overall = [digest.overall_mean(f"effect_{g}") for g in GROUPS]
    return EffectTable(rows, EffectRow("", digest.deals, overall))


def _importance(evaluation: Mapping | None) -> list[tuple[str, float]] | None:
    """The mean size of each group's effect on the test deals, when the model recorded it."""
    if evaluation is None or evaluation.get("sign_importance") is None:
        return None
    sizes = evaluation["sign_importance"]
    return [(TITLES.get(str(g), str(g)), float(v)) for g, v in sizes.items()]


def _listing(digest: PipelineDigest, recommendation: str) -> Listing:
    """The biggest deals of ``recommendation``, each with its costliest sign marked."""
    rows = []
    for deal in digest.top_deals(recommendation).itertuples(index=False):
        record = deal._asdict()
        effects = [as_float(record[f"effect_{s}"]) for s in SIGNS]
        costliest = min(
            range(len(SIGNS)), key=lambda i: effects[i] if math.isfinite(effects[i]) else 0.0
        )
        reasons = [(TITLES[s].capitalize(), text(record[f"reasons_{s}"])) for s in SIGNS]
        rows.append(
            DealRow(
                deal_id=text(record["deal_id"]),
                account_id=text(record["account_id"]),
                amount=as_float(record["amount"]),
                p_good=as_float(record["p_good"]),
                effects=[
                    (effect, i == costliest and effect <= -0.05) for i, effect in enumerate(effects)
                ],
                reason=text(record["recommendation_reason"]),
                reasons=[(title, reason) for title, reason in reasons if reason],
            )
        )
    total = int(digest.by_recommendation().loc[recommendation, "deals"])
    return Listing(recommendation, total, rows)


def _calibration(evaluation: Mapping | None) -> Calibration | None:
    """What the model's own evaluation shows, None when it carries none."""
    if evaluation is None:
        return None
    curves = evaluation.get("calibration") or {}
    figure = png(calibration_figure(curves)) if curves else None
    metrics = evaluation.get("metrics")
    rows = _metric_rows(metrics) if metrics is not None and len(metrics) else None
    return Calibration(figure, rows)


def _metric_rows(metrics: pd.DataFrame) -> list[MetricRow]:
    """ROC AUC, Brier and log loss per head for walkaway, the logistic baseline, the base rate,
    the best per head marked."""
    rows = []
    for head in dict.fromkeys(metrics.index.get_level_values(0)):
        block = metrics.xs(head, level=0)
        block = block.loc[[p for p in PREDICTORS if p in block.index]]
        best = {c: pick(block[c].dropna()) for c, (_, pick) in METRICS.items() if c in block}
        for position, (predictor, row) in enumerate(block.iterrows()):
            rows.append(
                MetricRow(
                    question=HEADS.get(str(head), str(head)) if position == 0 else None,
                    span=len(block),
                    predictor=PREDICTORS[str(predictor)],
                    cells=[
                        (as_float(row.get(c)), bool(c in best and row[c] == best[c]))
                        for c in METRICS
                    ],
                )
            )
    return rows


# --------------------------------------------------------------------------------------------
# The page


@cache
def environment() -> Environment:
    """The Jinja2 environment of the report's templates: autoescape on (every ``{{ }}`` is
    escaped unless it is markup the template made), undefined names an error, and the
    formatting helpers as filters."""
    env = Environment(
        loader=PackageLoader("walkaway", "serving/templates"),
        autoescape=select_autoescape(enabled_extensions=("html", "j2"), default=True),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    env.filters.update(FILTERS)
    return env


def render_report(
    digest: PipelineDigest,
    *,
    model_name: str | None,
    model_version: int | None,
    model_uri: str,
    evaluation: dict | None,
    read: int,
    scored: int,
    rejected: int,
    scored_at: str,
    source: str,
) -> str:
    """One self-contained HTML page (plots embedded as base64 PNG, CSS inline, no external URL).

    Parameters
    ----------
    digest
        The scored pipeline, see :class:`~walkaway.serving.pipeline_digest.PipelineDigest`.
    model_name, model_version, model_uri
        The model that scored it.
    evaluation
        The model's ``evaluation_`` (metrics, calibration curves, sign importance), or None
        when it carries none.
    read, scored, rejected
        Deals read from the source, scored, and rejected by the data contract.
    scored_at, source
        When the deals were scored, and from which file.

    Returns
    -------
    str
        The page; every text from the data is HTML-escaped.
    """
    p_good_uri = png(p_good_figure(digest.p_good_histogram(), digest.overall_mean("p_good")))
    return (
        environment()
        .get_template(TEMPLATE)
        .render(
            sections=SECTIONS,
            source=source,
            scored_at=scored_at,
            model_name=model_name,
            model_version=model_version,
            model_uri=model_uri,
            read=read,
            scored=scored,
            rejected=rejected,
            deals=digest.deals,
            value=digest.value,
            good_value=digest.good_value,
            recommendations=_recommendations(digest),
            p_good_figure=p_good_uri,
            effects_figure=png(effects_figure(digest.effect_histogram())),
            group_titles=[TITLES[g].capitalize() for g in GROUPS],
            sign_titles=[TITLES[s].capitalize() for s in SIGNS],
            effects=_effects(digest),
            importance=_importance(evaluation),
            walk_away=_listing(digest, "walk_away"),
            keep_presence=_listing(digest, "keep_presence"),
            calibration=_calibration(evaluation),
            metric_names=[name for name, _ in METRICS.values()],
        )
    )
