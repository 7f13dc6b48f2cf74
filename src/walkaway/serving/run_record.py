"""What a training run records in MLflow beside its model, as plain data: its metrics under flat
names, its policy as params, and its holdout predictions (which a later run on the same data
reads back to be compared with, see :mod:`walkaway.serving.fair_comparison`).

Pure pandas, apart from :mod:`walkaway.serving.registry`, which logs them.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from walkaway.model.training import TrainingResult
from walkaway.model.walkaway_model import WalkawayModel


def flat_metrics(result: TrainingResult) -> dict[str, float]:
    """A run's figures as MLflow metrics, one name each: every head and predictor's holdout
    metrics (``win_walkaway_roc_auc``), each sign's importance, the sign attribution, the
    holdout sizes and the win head's metrics by deal age."""
    metrics = {}
    for (head, predictor), row in result.metrics_table().iterrows():
        for metric, value in row.items():
            if pd.notna(value):
                metrics[f"{head}_{predictor}_{metric}"] = float(value)
    for sign, value in result.sign_importance().items():
        metrics[f"sign_importance_{sign}"] = float(value)
    if result.attribution is not None and pd.notna(result.attribution["share"]):
        metrics["sign_attribution_share"] = float(result.attribution["share"])
        metrics["sign_attribution_deals"] = float(result.attribution["deals"])
    metrics["win_holdout_deals"] = float(len(result.win.y))
    by_age = result.win.metrics_by_age()
    for (band, predictor), row in by_age.iterrows():
        if predictor in ("walkaway", "truth"):
            slug = band.replace(" ", "_").replace("-", "_")
            for metric in ("roc_auc", "log_loss", "ece", "deals"):
                if pd.notna(row[metric]):
                    metrics[f"win_age_{slug}_{predictor}_{metric}"] = float(row[metric])
    if result.regret is not None:
        metrics["regret_holdout_deals"] = float(len(result.regret.y))
    return metrics


def policy_params(model: WalkawayModel) -> dict[str, object]:
    """The model's recommendation policy as MLflow params (``policy_pursue_p_good``, ...)."""
    return {f"policy_{k}": v for k, v in vars(model.policy_).items()}


def holdout_predictions(result: TrainingResult) -> pd.DataFrame:
    """The run's holdout predictions, one row per head, deal and snapshot: ``head``,
    ``deal_id``, ``snapshot_age`` (days open when scored; 0 for the regret head), ``y`` (the
    label) and ``p`` (walkaway's probability, from the model fitted without the holdout).
    """
    frames = [
        pd.DataFrame(
            {
                "head": head,
                "deal_id": holdout.deals["deal_id"].astype(str).to_numpy(),
                "snapshot_age": (
                    holdout.deals["snapshot_age"].fillna(0).to_numpy(dtype=float)
                    if "snapshot_age" in holdout.deals
                    else np.zeros(len(holdout.y))
                ),
                "y": np.asarray(holdout.y, dtype=int),
                "p": np.asarray(holdout.predictions["walkaway"], dtype=float),
            }
        )
        for head, holdout in (("win", result.win), ("regret", result.regret))
        if holdout is not None
    ]
    return pd.concat(frames, ignore_index=True)


def read_holdout_predictions(path: Path | str) -> pd.DataFrame:
    """Holdout predictions a run logged (:func:`holdout_predictions`, as Parquet), typed as
    written; a run logged before snapshots scored every deal at its creation."""
    logged = pd.read_parquet(path)
    if "snapshot_age" not in logged:  # logged before snapshots: every deal at creation
        logged["snapshot_age"] = 0.0
    return logged.astype({"deal_id": str, "y": int, "snapshot_age": float})
