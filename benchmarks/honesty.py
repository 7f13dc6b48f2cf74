"""Measures of an honest model (issue 10): calibration per head, walkaway against its own
logistic baseline across seeds, and reasons that agree with the sign they explain.

Everything here reads what the public API and the command line produce (a
:class:`walkaway.model.training.TrainingResult`, a scored CSV), so the same measures apply to any
version of the model.
"""

from __future__ import annotations

import math
import re

import numpy as np
import pandas as pd

from walkaway.model.evaluation import probability_metrics
from walkaway.model.training import TrainingResult
from walkaway.signs import GROUPS

CALIBRATION_PREDICTORS = ("walkaway", "logistic", "base_rate", "truth")
# A reason ends with its points on p_good, e.g. "5 earlier losses at this account (-1 pts)".
REASON_POINTS = re.compile(r"\(([+-]\d+(?:\.\d+)?) pts?\)\s*$")
# Evidence about the ICP itself, not a property of the deal: never a cost.
ICP_EVIDENCE = re.compile(r"ICP rests on [\d,.]+ customers?")
MIN_EFFECT_POINTS = 2.0
SUM_TOLERANCE_POINTS = 1.0


def calibration_table(
    result: TrainingResult, predictors: tuple[str, ...] = CALIBRATION_PREDICTORS
) -> pd.DataFrame:
    """Holdout ECE, calibration slope and intercept (and log loss) per head and predictor."""
    rows = []
    for head, holdout in (("win", result.win), ("regret", result.regret)):
        if holdout is None:
            continue
        for name in predictors:
            if name not in holdout.predictions:
                continue
            m = probability_metrics(holdout.y, holdout.predictions[name])
            rows.append(
                {
                    "head": head,
                    "predictor": name,
                    "deals": len(holdout.y),
                    "positive_rate": float(np.mean(holdout.y)),
                    "ece": m["ece"],
                    "calibration_slope": m["calibration_slope"],
                    "calibration_intercept": m["calibration_intercept"],
                    "log_loss": m["log_loss"],
                }
            )
    return pd.DataFrame(rows)


def against_logistic(result: TrainingResult, seed: int) -> pd.DataFrame:
    """Holdout log loss and ROC AUC of walkaway and its logistic baseline, per head.

    ``walkaway_no_worse`` is whether walkaway's log loss is at most the baseline's.
    """
    rows = []
    for head, holdout in (("win", result.win), ("regret", result.regret)):
        if holdout is None:
            continue
        ours = probability_metrics(holdout.y, holdout.predictions["walkaway"])
        baseline = probability_metrics(holdout.y, holdout.predictions["logistic"])
        rows.append(
            {
                "seed": seed,
                "head": head,
                "deals": len(holdout.y),
                "walkaway_log_loss": ours["log_loss"],
                "logistic_log_loss": baseline["log_loss"],
                "walkaway_roc_auc": ours["roc_auc"],
                "logistic_roc_auc": baseline["roc_auc"],
                "walkaway_no_worse": bool(ours["log_loss"] <= baseline["log_loss"]),
            }
        )
    return pd.DataFrame(rows)


def reason_points(text: object) -> list[float]:
    """The points of each reason with points in a ``reasons_<sign>`` cell, in order.

    Reasons are ``"; "``-separated; notes without points are skipped. A displayed "-0" keeps
    its sign (as -0.0), since the sign is what the seller reads.

    Examples
    --------
    >>> reason_points("ICP rests on 12 customers; 4 competitors (-6 pts); no tender (+3 pts)")
    [-6.0, 3.0]
    >>> reason_points("'- 2 lost (-0 pts)"), reason_points(float("nan"))
    ([-0.0], [])
    """
    if not isinstance(text, str):
        return []
    points = []
    for reason in text.lstrip("'").split("; "):
        found = REASON_POINTS.search(reason.strip())
        if found:
            points.append(float(found.group(1)))
    return points


def reason_agreement(
    scored: pd.DataFrame,
    groups: tuple[str, ...] = GROUPS,
    min_effect: float = MIN_EFFECT_POINTS,
    tolerance: float = SUM_TOLERANCE_POINTS,
) -> pd.DataFrame:
    """Per sign (and in total): do a scored pipeline's reasons go the way of their sign?

    A cell is one deal and one sign. Among cells whose effect on p_good is at least
    ``min_effect`` points either way, a cell *contradicts* its sign when its first reason with
    points has the opposite sign to the effect ("glass walls +8.5: 5 earlier losses at this
    account (-1 pts)"); cells without any reason with points are counted apart. Informative:
    the share of cells whose listed reasons' points add up to the effect within ``tolerance``
    points, among the large-effect cells and among all cells.

    Parameters
    ----------
    scored
        The output of ``walkaway score``: ``effect_<sign>`` and ``reasons_<sign>`` columns.
    """
    rows = []
    for group in groups:
        effect = pd.to_numeric(scored[f"effect_{group}"], errors="coerce").to_numpy(dtype=float)
        points = [reason_points(text) for text in scored[f"reasons_{group}"]]
        first = np.array([math.copysign(1.0, p[0]) if p else np.nan for p in points])
        total = np.array([sum(p) for p in points])
        large = np.abs(effect) >= min_effect
        has_points = ~np.isnan(first)
        contradicts = large & has_points & (np.sign(effect) != first)
        adds_up = np.abs(total - effect) <= tolerance
        rows.append(
            {
                "sign": group,
                "cells": len(effect),
                "large_cells": int(large.sum()),
                "contradicting": int(contradicts.sum()),
                "without_points": int((large & ~has_points).sum()),
                "adds_up_large": int((adds_up & large).sum()),
                "adds_up_all": int(adds_up.sum()),
            }
        )
    table = pd.DataFrame(rows)
    total_row = table.drop(columns="sign").sum().to_dict() | {"sign": "all"}
    return pd.concat([table, pd.DataFrame([total_row])], ignore_index=True)


def icp_evidence_as_points(scored: pd.DataFrame) -> dict[str, int]:
    """How often "ICP rests on N customers", evidence rather than a property of the deal, is
    shown with points, and how often with negative points (as a cost).

    Examples
    --------
    >>> scored = pd.DataFrame({"reasons_icp_fit": [
    ...     "ICP rests on 2,364 customers (-1 pts)", "ICP rests on 1 customer",
    ...     "industry software (+4 pts); ICP rests on 12 customers (+1 pts)"]})
    >>> icp_evidence_as_points(scored)
    {'with_points': 2, 'negative': 1}
    """
    with_points = negative = 0
    for column in [c for c in scored.columns if c.startswith("reasons_")]:
        for text in scored[column].dropna().astype(str):
            for reason in text.lstrip("'").split("; "):
                if not ICP_EVIDENCE.search(reason):
                    continue
                found = REASON_POINTS.search(reason.strip())
                if found:
                    with_points += 1
                    negative += found.group(1).startswith("-")
    return {"with_points": with_points, "negative": negative}
