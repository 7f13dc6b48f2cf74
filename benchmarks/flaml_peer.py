"""FLAML as a tuned AutoML peer: walkaway's own rows and features, a fixed time budget.

The peer answers "would a tuned gradient-boosting search do better with the same inputs?". For
each head it is fit on exactly the deals walkaway's head learns from
(:func:`walkaway.model.training.split_holdouts`), described by walkaway's own encoded feature columns
(``model._encode(model.featurise(deals))``, each deal as at its creation, as in training), and
judged on the same holdout with the same metrics. FLAML searches LightGBM only
(``estimator_list=["lgbm"]``), minimising log loss within ``time_budget`` seconds, with a fixed
seed. Its result still depends on how many trials fit in the budget, so on a busy machine it
can differ between runs.

FLAML is an optional dependency (``pip install -e '.[bench]'``, which ``make bench`` does); it is
imported only when a peer is fit.
"""

from __future__ import annotations

import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from walkaway.model.evaluation import CLIP, probability_metrics
from walkaway.model.training import TrainingResult

DEFAULT_SEED = 7
BOOTSTRAP_RESAMPLES = 1000
# FLAML's search settings shown in the report, in this order, when the chosen config has them.
SHOWN_SETTINGS = (
    "n_estimators",
    "num_leaves",
    "min_child_samples",
    "learning_rate",
    "colsample_bytree",
    "reg_alpha",
    "reg_lambda",
)


@dataclass
class Bootstrap:
    """Paired bootstrap of the holdout: how often walkaway's log loss is the lower one."""

    resamples: int
    share_walkaway_lower: float
    # Mean of walkaway's log loss minus the peer's, and its 2.5% and 97.5% percentiles.
    difference: float
    low: float
    high: float


@dataclass
class PeerRun:
    """One head: walkaway and FLAML on the same training rows and holdout."""

    head: str
    training_deals: int
    y: np.ndarray
    walkaway: np.ndarray
    flaml: np.ndarray
    walkaway_seconds: float
    flaml_seconds: float
    budget_seconds: float
    chosen: str
    bootstrap: Bootstrap | None = None
    metrics: dict[str, dict[str, float]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.metrics = {
            "walkaway": probability_metrics(self.y, self.walkaway),
            "flaml": probability_metrics(self.y, self.flaml),
        }


def walkaway_features(result: TrainingResult, deals: pd.DataFrame) -> pd.DataFrame:
    """Deals described by the feature columns of the model the holdouts judged, encoded as its
    heads see them (text as categories, numbers as floats), each deal as at its creation."""
    model = result.evaluated_model or result.model
    return model._encode(model.featurise(deals))


def fit_flaml(
    X: pd.DataFrame, y: np.ndarray, budget_seconds: float, seed: int = DEFAULT_SEED
) -> tuple[Callable[[pd.DataFrame], np.ndarray], float, str]:
    """Fit FLAML's AutoML (LightGBM only, log loss) within ``budget_seconds``.

    Returns
    -------
    tuple
        A function giving P(y = 1) for rows like ``X``; the wall seconds of the search and
        final refit; the chosen settings in words.
    """
    from flaml import AutoML

    automl = AutoML()
    started = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        automl.fit(
            X,
            np.asarray(y, dtype=int),
            task="classification",
            metric="log_loss",
            estimator_list=["lgbm"],
            time_budget=budget_seconds,
            seed=seed,
            verbose=0,
            log_file_name="",
            mlflow_logging=False,
        )
    seconds = time.perf_counter() - started
    config = automl.best_config or {}
    chosen = ", ".join(
        f"{name} {config[name]:.3g}"
        if isinstance(config[name], float)
        else f"{name} {config[name]}"
        for name in SHOWN_SETTINGS
        if name in config
    )

    def predict(rows: pd.DataFrame) -> np.ndarray:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return automl.predict_proba(rows)[:, 1]

    return predict, seconds, chosen


def paired_bootstrap(
    y: np.ndarray,
    ours: np.ndarray,
    theirs: np.ndarray,
    resamples: int = BOOTSTRAP_RESAMPLES,
    seed: int = 0,
) -> Bootstrap:
    """Resample holdout deals with replacement; in each resample compare the two predictors'
    log loss on the same deals.

    Examples
    --------
    >>> y = np.array([1, 0, 1, 0, 1, 0])
    >>> sharp = np.array([0.9, 0.1, 0.8, 0.2, 0.9, 0.1])
    >>> vague = np.full(6, 0.5)
    >>> paired_bootstrap(y, sharp, vague, resamples=200).share_walkaway_lower
    1.0
    """
    y = np.asarray(y, dtype=float)

    def losses(p: np.ndarray) -> np.ndarray:
        p = np.clip(np.asarray(p, dtype=float), CLIP, 1 - CLIP)
        return -(y * np.log(p) + (1 - y) * np.log(1 - p))

    difference = losses(ours) - losses(theirs)  # per deal: below zero where walkaway is better
    rng = np.random.default_rng(seed)
    means = np.array([difference[rng.integers(0, len(y), len(y))].mean() for _ in range(resamples)])
    return Bootstrap(
        resamples=resamples,
        share_walkaway_lower=float((means < 0).mean()),
        difference=float(difference.mean()),
        low=float(np.quantile(means, 0.025)),
        high=float(np.quantile(means, 0.975)),
    )


def compare_with_flaml(
    result: TrainingResult,
    train: pd.DataFrame,
    walkaway_seconds: float,
    budget_seconds: float,
    heads: tuple[str, ...] = ("win", "regret"),
    seed: int = DEFAULT_SEED,
    resamples: int = BOOTSTRAP_RESAMPLES,
) -> list[PeerRun]:
    """FLAML per head on walkaway's training rows and features, judged on walkaway's holdouts.

    Parameters
    ----------
    result
        walkaway trained and evaluated (:func:`walkaway.model.training.train_and_evaluate`).
    train
        walkaway's training deals (the first part of :func:`walkaway.model.training.split_holdouts`).
    walkaway_seconds
        Wall seconds walkaway took to train (reported beside FLAML's).
    budget_seconds
        FLAML's time budget per head.
    heads
        Which heads to compare; a head without a holdout is skipped.
    """
    runs = []
    for head in heads:
        holdout = result.win if head == "win" else result.regret
        if holdout is None:
            continue
        label = "won" if head == "win" else "regret_label"
        rows = train[train[label].notna()]
        predict, seconds, chosen = fit_flaml(
            walkaway_features(result, rows), rows[label].to_numpy(), budget_seconds, seed
        )
        run = PeerRun(
            head=head,
            training_deals=len(rows),
            y=holdout.y,
            walkaway=holdout.predictions["walkaway"],
            flaml=predict(walkaway_features(result, holdout.deals)),
            walkaway_seconds=walkaway_seconds,
            flaml_seconds=seconds,
            budget_seconds=budget_seconds,
            chosen=chosen,
        )
        run.bootstrap = paired_bootstrap(run.y, run.walkaway, run.flaml, resamples)
        runs.append(run)
    return runs
