"""The open pipeline review: one self-contained HTML page for a sales leader.

:func:`render_report` turns a :class:`~walkaway.serving.pipeline_digest.PipelineDigest`, the
run's figures and the model's own evaluation into one HTML page (CSS inline, plots as embedded
PNG, no external URL); the batch job writes it atomically with the scores
(:mod:`walkaway.serving.batch`).

This module decides what the page shows: the numbers of each table, from the digest; how they
read is :mod:`walkaway.serving.page_words` (the template's filters), the charts are
:mod:`walkaway.serving.report_figures`. The page itself, its words and its
markup, is the Jinja2 template ``templates/report.html.j2``, rendered with autoescape so that
every text from the data (deal ids, reasons, file names) is escaped by Jinja2 and never by hand.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from functools import cache
from typing import NamedTuple

import numpy as np
import pandas as pd
from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape

from walkaway.analysis.plots import calibration_figure
from walkaway.model.drift import SIGN_PSI_WARN, DriftReport
from walkaway.serving.page_words import FILTERS, MEANINGS, as_float, text
from walkaway.serving.pipeline_digest import PipelineDigest
from walkaway.serving.report_figures import effects_figure, p_good_figure, png, value_figure
from walkaway.signs import GROUPS, SIGNS, TITLES

SECTIONS = (
    "Top deals to pursue",
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
SHOWN = 10  # rows of each deal list shown at first; the rest of the list folds out (<details>)


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


class PursueRow(NamedTuple):
    """A deal of the worklist's top: its priority, scores, and whether the capacity covers it."""

    priority: int
    deal_id: str
    account_id: str
    recommendation: str
    amount: float
    p_win: float
    p_good: float
    good_value: float
    worked: bool
    reason: str


class Worklist(NamedTuple):
    """The first deals of the worklist, out of ``total`` scored deals; ``worked`` deals are
    marked to work under ``capacity`` (both None without a capacity)."""

    deals: list[PursueRow]
    total: int
    worked: int | None
    capacity: str | None


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


def _worklist(digest: PipelineDigest, worked: int | None, capacity: str | None) -> Worklist:
    """The first deals of the worklist, by priority, each marked when the capacity covers it."""
    rows = [
        PursueRow(
            priority=priority,
            deal_id=text(deal.deal_id),
            account_id=text(deal.account_id),
            recommendation=text(deal.recommendation),
            amount=as_float(deal.amount),
            p_win=as_float(deal.p_win),
            p_good=as_float(deal.p_good),
            good_value=as_float(deal.expected_good_value),
            worked=worked is not None and priority <= worked,
            reason=text(deal.recommendation_reason),
        )
        for priority, deal in enumerate(digest.top_to_pursue().itertuples(index=False), start=1)
    ]
    return Worklist(rows, digest.deals, worked, capacity)


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


class DriftLine(NamedTuple):
    """The page's line on drift: PSI by sign, and a warning per shift past a threshold."""

    signs: list[tuple[str, float]]
    warnings: list[str]


def _drift(drift: DriftReport | None) -> DriftLine | None:
    if drift is None:
        return None
    signs = [(str(row.sign), float(row.psi)) for row in drift.by_sign().itertuples()]
    return DriftLine(signs, drift.warnings())


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
    worked: int | None = None,
    capacity: str | None = None,
    drift: DriftReport | None = None,
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
    worked, capacity
        How many deals the capacity marks to work, and the capacity in words (``--capacity``);
        None without one.
    drift
        The pipeline's drift from the training data (:mod:`walkaway.model.drift`); None when
        the model records no training profile.

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
            worklist=_worklist(digest, worked, capacity),
            shown=SHOWN,
            walk_away=_listing(digest, "walk_away"),
            keep_presence=_listing(digest, "keep_presence"),
            calibration=_calibration(evaluation),
            metric_names=[name for name, _ in METRICS.values()],
            drift=_drift(drift),
            drift_threshold=SIGN_PSI_WARN,
        )
    )
