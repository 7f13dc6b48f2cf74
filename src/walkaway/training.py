"""The training job's logic: split by time, fit, and evaluate honestly against baselines.

:func:`train_and_evaluate` is pure (no files, no MLflow): given a checked history it returns the
fitted model with everything a training run reports. The CLI wires it to reading the export
and to the registry.

Holdouts (DESIGN section 5):

- win head: the newest ``holdout_share`` of closed deals by close date;
- regret head: the newest ``holdout_share`` of *matured* wins by close date (younger wins
  have no known regret yet, so they cannot judge it).

Neither holdout is seen by the model it judges: holdout deals are left out of fitting, and
regret-holdout wins give the regret head no label.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from walkaway.evaluation import (
    logistic_baseline,
    predict_baseline,
    probability_metrics,
    reliability_curve,
    sign_attribution,
)
from walkaway.history import History
from walkaway.model import MIN_LOST, MIN_WON, NotEnoughData, WalkawayModel, newest_split
from walkaway.signs import GROUPS, SIGNS

HOLDOUT_SHARE = 0.2


@dataclass
class Holdout:
    """One head's holdout: its deals, their labels, and every predictor's probabilities."""

    deals: pd.DataFrame
    y: np.ndarray
    predictions: dict[str, np.ndarray] = field(default_factory=dict)

    def metrics(self) -> pd.DataFrame:
        rows = {name: probability_metrics(self.y, p) for name, p in self.predictions.items()}
        return pd.DataFrame(rows).T.rename_axis("predictor")


@dataclass
class TrainingResult:
    """A fitted model and what its training run reports."""

    model: WalkawayModel
    win: Holdout
    regret: Holdout | None
    sign_effects: pd.DataFrame  # effect of each group on p_good, per win-holdout deal
    attribution: dict[str, float] | None
    fingerprint: dict[str, object]
    notes: list[str]
    # The model the holdouts judged (fitted without them); ``model`` is the one to register.
    evaluated_model: WalkawayModel | None = None
    # Why this run must never be promoted automatically (empty when nothing looks leaked).
    suspected_leak: str = ""

    def metrics_table(self) -> pd.DataFrame:
        """Holdout metrics, one row per (head, predictor)."""
        tables = [self.win.metrics().assign(head="win")]
        if self.regret is not None:
            tables.append(self.regret.metrics().assign(head="regret"))
        table = pd.concat(tables).reset_index().set_index(["head", "predictor"])
        return table

    def sign_importance(self) -> pd.Series:
        """Mean absolute effect on p_good (points) of each group over the win holdout."""
        return self.sign_effects.abs().mean().rename("mean_abs_points")

    def calibration_curves(self) -> dict[str, dict[str, pd.DataFrame]]:
        """Reliability curves per head and predictor (for the calibration plots)."""
        curves = {}
        for head, holdout in (("win", self.win), ("regret", self.regret)):
            if holdout is not None and len(holdout.y) >= 20:
                curves[head] = {
                    n: reliability_curve(holdout.y, p) for n, p in holdout.predictions.items()
                }
        return curves


def train_and_evaluate(
    history: History,
    truth: pd.DataFrame | None = None,
    holdout_share: float = HOLDOUT_SHARE,
    model: WalkawayModel | None = None,
) -> TrainingResult:
    """Label, split by time, fit the two heads, and evaluate them on the newest deals.

    Parameters
    ----------
    history
        A checked CRM history (see :func:`walkaway.exports.load_history`).
    truth
        Optional true probabilities per ``deal_id`` (a synthetic history's ``truth.parquet``):
        adds the ceiling to the metrics and measures sign attribution.
    model
        An unfitted :class:`WalkawayModel` with non-default settings.
    """
    labelled = history.labelled()
    closed = labelled[labelled["won"].notna()]
    won = int(closed["won"].sum())
    if won < MIN_WON or len(closed) - won < MIN_LOST:
        raise NotEnoughData(
            f"walkaway needs at least {MIN_WON} won and {MIN_LOST} lost closed deals to learn "
            f"from; {history.source} has {won} won and {len(closed) - won} lost"
        )
    train, win_holdout, regret_holdout = split_holdouts(closed, holdout_share)
    model = model or WalkawayModel(
        catalogue=history.catalogue(),
        horizon_days=history.mapping.regret_horizon_days,
        extra_features=history.mapping.extra_features() or None,
        list_prices=history.list_prices() or None,
    )
    model.fit(train)
    notes = list(history.notes)
    if closed["closed_date"].isna().all():
        notes.append(
            "the export has no dates: the holdouts are stratified random samples (no time "
            "order is known), and history features (earlier wins, the seller's record, the ICP) "
            "cannot be computed point in time, so they stay empty"
        )
    notes += [head.note for head in (model.win_head_, model.regret_head_) if head.note]

    X_train = model._encode(model.featurise(train))
    win_scores = model.predict(win_holdout)
    win = Holdout(win_holdout, win_holdout["won"].to_numpy())
    win.predictions["walkaway"] = win_scores["p_win"].to_numpy()
    baseline = logistic_baseline(X_train, train["won"].to_numpy())
    win.predictions["logistic"] = predict_baseline(
        baseline, model._encode(model.featurise(win_holdout))
    )
    win.predictions["base_rate"] = np.full(len(win_holdout), train["won"].mean())

    regret = None
    if (
        model.regret_head_.trained
        and len(regret_holdout)
        and regret_holdout["regret_label"].nunique() == 2
    ):
        regret = Holdout(regret_holdout, regret_holdout["regret_label"].to_numpy())
        regret.predictions["walkaway"] = model.predict(regret_holdout)["p_regret"].to_numpy()
        learns = train["regret_label"].notna().to_numpy()
        regret_baseline = logistic_baseline(
            X_train[learns], train.loc[learns, "regret_label"].to_numpy()
        )
        regret.predictions["logistic"] = predict_baseline(
            regret_baseline, model._encode(model.featurise(regret_holdout))
        )
        regret.predictions["base_rate"] = np.full(
            len(regret_holdout), train.loc[learns, "regret_label"].mean()
        )

    sign_effects = win_scores[[f"effect_{g}" for g in GROUPS]].set_axis(list(GROUPS), axis=1)
    attribution = None
    if truth is not None:
        attribution = _add_truth(truth, win, regret, sign_effects)
    result = TrainingResult(
        model, win, regret, sign_effects, attribution, history.fingerprint(), notes
    )
    # The model carries its own evaluation, so any report made with it can show how it did.
    model.evaluation_ = {
        "metrics": result.metrics_table(),
        "calibration": result.calibration_curves(),
        "sign_importance": result.sign_importance(),
    }
    return result


def split_holdouts(
    closed: pd.DataFrame, holdout_share: float = HOLDOUT_SHARE
) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """Training deals, the win holdout and the regret holdout of labelled closed deals.

    The win holdout is the newest ``holdout_share`` of closed deals; the regret holdout the
    newest ``holdout_share`` of matured wins. Training deals are the rest of the closed deals,
    with the regret label removed from regret-holdout wins so the regret head never learns from
    the wins that judge it. Anyone comparing against walkaway (the benchmarks' peer recipes)
    uses this same split.
    """
    _, win_holdout_rows = newest_split(
        closed["closed_date"], holdout_share, closed["won"].to_numpy()
    )
    win_holdout = closed[win_holdout_rows]
    train = closed[~win_holdout_rows].copy()
    matured = closed[closed["regret_label"].notna()]
    _, regret_holdout_rows = newest_split(
        matured["closed_date"], holdout_share, matured["regret_label"].to_numpy()
    )
    regret_holdout = matured[regret_holdout_rows]
    train.loc[train.index.isin(regret_holdout.index), "regret_label"] = np.nan
    return train, win_holdout, regret_holdout


def _add_truth(
    truth: pd.DataFrame, win: Holdout, regret: Holdout | None, sign_effects: pd.DataFrame
) -> dict[str, float]:
    """Add the true probabilities as the 'truth' predictor (the ceiling) and measure how often
    the explained most negative sign is the true one."""
    truth = truth.set_index("deal_id")
    win.predictions["truth"] = truth.loc[win.deals["deal_id"], "p_win"].to_numpy()
    if regret is not None:
        regret.predictions["truth"] = truth.loc[regret.deals["deal_id"], "p_regret"].to_numpy()
    true_effects = truth.loc[win.deals["deal_id"], [f"effect_{s}" for s in SIGNS]]
    true_effects = true_effects.set_axis(list(SIGNS), axis=1).set_axis(sign_effects.index)
    return sign_attribution(sign_effects[list(SIGNS)], true_effects)
