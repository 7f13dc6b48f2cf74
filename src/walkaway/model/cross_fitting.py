"""Cross-fitting: how many folds a head has, each candidate's out-of-fold margins, and the log
loss they are judged by.

For each fold, a candidate learns from the rows that may teach it (every earlier block of a
time order, or the other folds) and predicts the fold; a booster stops early on a share of its
own training rows, never on the fold it predicts. Each fold's margins then go through a
calibrator fit on the other folds' margins (:mod:`walkaway.model.calibration`), so a candidate
is judged by probabilities that no learner and no calibrator saw the labels of. This honesty is
the whole point of a head's procedure, so it has a module of its own: choosing among the
results (:mod:`walkaway.model.choice`) and serving the winner (:mod:`walkaway.model.heads`)
only read them.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import lightgbm as lgb
import numpy as np
import pandas as pd
from sklearn.metrics import log_loss

from walkaway.model.calibration import Calibrator
from walkaway.model.candidates import FAST_RATE_ROWS, Candidate
from walkaway.model.splits import fold_training_rows, stopping_split

CALIBRATION_FOLDS = 4
# A head of more than FAST_RATE_ROWS rows cross-fits on at most this many folds: each fold's
# learners still see over 33,000 rows, and a quarter of the training time goes (on 100,000
# synthetic deals, for the same holdout ROC AUC).
LARGE_HEAD_FOLDS = 3
MAX_TREES = 3000
STOPPING_SHARE = 0.15


def fold_count(rows: int, folds: int = CALIBRATION_FOLDS) -> int:
    """Folds to cross-fit a head of ``rows`` rows on: at most :data:`LARGE_HEAD_FOLDS` once
    it has more than :data:`walkaway.model.candidates.FAST_RATE_ROWS` rows.

    >>> fold_count(10_000), fold_count(60_000), fold_count(60_000, folds=2)
    (4, 3, 2)
    """
    return min(folds, LARGE_HEAD_FOLDS) if rows > FAST_RATE_ROWS else folds


@dataclass
class CrossFit:
    """A candidate's out-of-fold margins, tree count per fold and calibrated log loss."""

    candidate: Candidate
    margins: np.ndarray
    trees: list[int]
    log_loss: float
    probabilities: np.ndarray  # each fold's margins through a calibrator fit on the others
    seconds: float


def cross_fit(
    candidate: Candidate,
    X: pd.DataFrame,
    y: np.ndarray,
    folds: np.ndarray,
    calibration: str,
    groups: np.ndarray | None = None,
) -> CrossFit:
    """Out-of-fold margins of one candidate: for each fold, fit on the others (a booster
    stopping early on a stratified share of its own training rows, whole ``groups`` at a
    time when given) and predict the fold."""
    started = time.perf_counter()

    def fit_fold(fold: int) -> tuple[np.ndarray, np.ndarray, int]:
        held = folds == fold
        learns = fold_training_rows(folds, fold)
        X_fit, y_fit = X[learns], y[learns]
        if candidate.linear:
            return held, candidate.fit_linear(X_fit, y_fit).margin(X[held]), 0
        stop = stopping_split(
            y_fit, STOPPING_SHARE, groups=None if groups is None else groups[learns]
        )
        train = lgb.Dataset(X_fit[~stop], y_fit[~stop])
        booster = lgb.train(
            candidate.booster_params(int((~stop).sum())),
            train,
            num_boost_round=MAX_TREES,
            valid_sets=[lgb.Dataset(X_fit[stop], y_fit[stop], reference=train)],
            callbacks=[lgb.early_stopping(candidate.patience, verbose=False)],
        )
        trees = booster.best_iteration or booster.current_iteration()
        return held, np.asarray(booster.predict(X[held], raw_score=True)), trees

    done = [fit_fold(fold) for fold in judged_folds(folds)]
    margins = np.full(len(y), np.nan)  # the oldest block of a time order is never predicted
    for held, fold_margins, _ in done:
        margins[held] = fold_margins
    trees = [] if candidate.linear else [fold_trees for _, _, fold_trees in done]
    probabilities = cross_calibrated(margins, y, folds, calibration)
    judged = folds >= 0
    return CrossFit(
        candidate,
        margins,
        trees,
        log_loss(y[judged], probabilities[judged], labels=[0, 1]),
        probabilities,
        time.perf_counter() - started,
    )


def judged_folds(folds: np.ndarray) -> np.ndarray:
    """The folds that are predicted out of fold (all but a time order's oldest block, -1)."""
    return np.unique(folds[folds >= 0])


def served_trees(trees: list[int], folds: np.ndarray) -> int:
    """Trees for the learner fit on every row: the folds' early-stopped counts, each weighted by
    the rows its learner learned from (in a time order, later folds learned from more).

    >>> served_trees([100, 200, 300], np.array([-1, 0, 1, 2]))
    233
    """
    rows = [int(fold_training_rows(folds, fold).sum()) for fold in judged_folds(folds)]
    return int(round(np.average(trees, weights=rows)))


def cross_calibrated(
    margins: np.ndarray, y: np.ndarray, folds: np.ndarray, calibration: str
) -> np.ndarray:
    """Each fold's out-of-fold margins through a calibrator fit on the other folds' margins:
    probabilities no calibrator has seen the labels of, to judge candidates by (NaN for the
    rows no fold predicts)."""
    probabilities = np.full(len(y), np.nan)
    for fold in judged_folds(folds):
        held = folds == fold
        others = (folds >= 0) & ~held
        if len(np.unique(y[others])) < 2:
            probabilities[held] = np.mean(y[others])
            continue
        calibrator = Calibrator(calibration).fit(margins[others], y[others], folds[others])
        probabilities[held] = calibrator(margins[held])
    return np.clip(probabilities, 1e-6, 1 - 1e-6)


def base_rate_log_loss(y: np.ndarray, folds: np.ndarray) -> float:
    """Out-of-fold log loss of predicting each fold the positive rate of the rows that learn
    to predict it."""
    judged = folds >= 0
    rates = np.full(len(y), np.nan)
    for fold in judged_folds(folds):
        rates[folds == fold] = np.clip(np.mean(y[fold_training_rows(folds, fold)]), 1e-6, 1 - 1e-6)
    return log_loss(y[judged], rates[judged], labels=[0, 1])
