"""One outcome's head: learners chosen among candidates, blended and calibrated honestly.

A head learns one outcome (won, or regrettable given a win) from a feature frame. How:

1. **Candidates** (:mod:`walkaway.model.candidates`). LightGBM tree shapes from shallow (3
   leaves: additive effects, cheap TreeSHAP) to deep (63 leaves: many interactions), varying
   leaves, minimum leaf size, learning rate, feature fraction and regularisation (the deep ones
   only once a head has rows enough for them); and regularised logistic regressions on the same
   features (:class:`walkaway.model.linear.LinearScorer`).
2. **Cross-fitting** (:mod:`walkaway.model.cross_fitting`). The rows are cut into K folds (at
   most :data:`walkaway.model.cross_fitting.LARGE_HEAD_FOLDS` on a head of more than
   :data:`walkaway.model.candidates.FAST_RATE_ROWS` rows). With dates, they are K + 1
   consecutive blocks in time, and each fold is predicted by a candidate fit on every *earlier*
   block, as the served model will predict deals later than any it learned from: history counts
   (a seller's closed deals) only grow, and an export's first months hold only the deals that
   closed quickly, so a fold predicted from later ones is off in a way the served model never
   is. Without dates, each fold is predicted by a candidate fit on the other folds. These
   *out-of-fold* margins are honest: a booster stops early on a stratified 15% of its own
   training rows, never on the fold it predicts.
3. **Choice** (:mod:`walkaway.model.choice`). Candidates are judged by the out-of-fold log loss
   of their calibrated margins (each fold's calibrator fit on the other folds' margins). The
   tree shapes compete by successive halving on large heads: all of them on a sample of
   :data:`walkaway.model.choice.FIRST_RUNG_ROWS` rows, the best third on up to
   :data:`walkaway.model.splits.SAMPLE_ROWS`. The best tree shape and the best logistic model
   are then blended: margin = w x trees + (1 - w) x logistic, with w in
   :data:`walkaway.model.choice.BLEND_WEIGHTS` chosen the same way (w = 1 or 0 when one alone
   is best). A blend of two exactly additive explanations is exactly additive too.
4. **Calibration** (:mod:`walkaway.model.calibration`). The calibrator (Platt sigmoid or
   isotonic) learns on the chosen blend's out-of-fold margins (those of the last rung: every
   row, or a sample of :data:`walkaway.model.splits.SAMPLE_ROWS` on a larger head), and the
   served learners are refit on all rows with the same settings and the fold boosters' tree
   counts averaged (weighted by the rows each learned from), so the calibrator maps margins of
   learners like the ones it learned from.

A head that cannot beat the base rate out of fold predicts the base rate and says so.

This module holds the head itself (:class:`Head`: its learners, margins, contributions and
calibrated probabilities) and :func:`fit_head`, which runs the four steps; each step has its
own module above.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field

import lightgbm as lgb
import numpy as np
import pandas as pd
from scipy.special import logit

from walkaway.errors import WalkawayError
from walkaway.model.calibration import Calibrator
from walkaway.model.candidates import Candidate, candidates
from walkaway.model.choice import BLEND_WEIGHTS, choose
from walkaway.model.cross_fitting import (
    CALIBRATION_FOLDS,
    base_rate_log_loss,
    fold_count,
    served_trees,
)
from walkaway.model.linear import LinearScorer
from walkaway.model.splits import fold_training_rows, time_folds

# Threads LightGBM predicts and explains with: 0 = every core (one batch job on one machine).
# A Spark task sets its task's CPUs (:func:`prediction_threads`), so that tasks side by side do
# not each take every core.
PREDICTION_THREADS: ContextVar[int] = ContextVar("PREDICTION_THREADS", default=0)


@contextmanager
def prediction_threads(threads: int) -> Iterator[None]:
    """Predict and explain on ``threads`` threads (0: every core) inside the block.

    Examples
    --------
    >>> with prediction_threads(2):
    ...     PREDICTION_THREADS.get()
    2
    >>> PREDICTION_THREADS.get()
    0
    """
    token = PREDICTION_THREADS.set(threads)
    try:
        yield
    finally:
        PREDICTION_THREADS.reset(token)


class NotEnoughData(WalkawayError, ValueError):
    """The history is too small to learn from."""


@dataclass
class Head:
    """One outcome's learners and calibrator, or a constant rate when it cannot learn.

    The head's margin is ``tree_weight`` x the booster's + (1 - ``tree_weight``) x the logistic
    model's (a learner with no weight is not kept). With neither learner (too few examples, or
    no regret data at all) the head predicts ``base_rate`` and every contribution is zero.
    """

    name: str
    base_rate: float
    booster: lgb.Booster | None = None
    linear: LinearScorer | None = None
    tree_weight: float = 1.0
    calibrator: Calibrator = field(default_factory=Calibrator)
    note: str = ""
    rows: int = 0  # deals the head learned from
    shape: str = "constant"  # what cross-fitting chose, in words
    choice: dict[str, object] = field(default_factory=dict)  # the candidates chosen, for refits
    trees: int = 0
    folds: int = 0  # of the cross-fitting that chose the learners and fit the calibrator
    table: pd.DataFrame | None = None  # every candidate's out-of-fold log loss

    @property
    def trained(self) -> bool:
        return self.booster is not None or self.linear is not None

    def _parts(self) -> list[tuple[float, lgb.Booster | LinearScorer]]:
        parts: list[tuple[float, lgb.Booster | LinearScorer]] = []
        if self.booster is not None:
            parts.append((self.tree_weight, self.booster))
        if self.linear is not None:
            parts.append((1.0 - self.tree_weight if self.booster is not None else 1.0, self.linear))
        return parts

    def contributions(self, X: pd.DataFrame) -> np.ndarray:
        """Exact per-feature contributions plus the bias (last column); rows sum to the margin.

        TreeSHAP (LightGBM's ``pred_contrib``, on :data:`PREDICTION_THREADS` threads) for trees, coefficient x (value -
        mean) for the logistic model, weighted as the blend weighs them.
        """
        if not self.trained:
            out = np.zeros((len(X), X.shape[1] + 1))
            out[:, -1] = logit(np.clip(self.base_rate, 1e-6, 1 - 1e-6))
            return out
        total = np.zeros((len(X), X.shape[1] + 1))
        for weight, learner in self._parts():
            if isinstance(learner, LinearScorer):
                total += weight * learner.contributions(X)
            else:
                total += weight * np.asarray(
                    learner.predict(X, pred_contrib=True, num_threads=PREDICTION_THREADS.get())
                )
        return total

    def margin(self, X: pd.DataFrame) -> np.ndarray:
        """Raw log-odds before calibration."""
        if not self.trained:
            return np.full(len(X), logit(np.clip(self.base_rate, 1e-6, 1 - 1e-6)))
        total = np.zeros(len(X))
        for weight, learner in self._parts():
            if isinstance(learner, LinearScorer):
                total += weight * learner.margin(X)
            else:
                total += weight * np.asarray(
                    learner.predict(X, raw_score=True, num_threads=PREDICTION_THREADS.get())
                )
        return total

    def calibrate(self, margin: np.ndarray) -> np.ndarray:
        if not self.trained:
            return np.full(len(margin), self.base_rate)
        return self.calibrator(margin)


def fit_head(
    name: str,
    X: pd.DataFrame,
    y: np.ndarray,
    dates: pd.Series,
    calibration: str = "sigmoid",
    folds: int = CALIBRATION_FOLDS,
    pool: list[Candidate] | None = None,
    weights: tuple[float, ...] = BLEND_WEIGHTS,
    groups: np.ndarray | None = None,
) -> tuple[Head, np.ndarray]:
    """Choose, calibrate and fit one head (see the module docstring). Rows of one of
    ``groups`` (the snapshots of one deal) stay together in every fold and stopping set.

    Returns the head and each row's out-of-fold calibrated probability (what the head would
    have said of a row it never saw: the honest input for thresholds); NaN for the oldest
    block of a time order (never predicted) and for the rows of a head of more than
    :data:`walkaway.model.splits.SAMPLE_ROWS` rows that its cross-fitting sample left out.

    Raises
    ------
    NotEnoughData
        A fold holds a single class.
    """
    folds = fold_count(len(y), folds)
    fold_of = time_folds(dates, folds, y, groups)
    for fold in range(folds):
        if len(np.unique(y[fold_training_rows(fold_of, fold)])) < 2:
            raise NotEnoughData(f"the {name} head has a fold with a single class: too few deals")
    pool = pool if pool is not None else candidates(len(y))
    chosen = choose(pool, X, y, fold_of, calibration, weights, groups)
    sampled_folds = fold_of[chosen.rows]
    trees = served_trees(chosen.trees.trees, sampled_folds) if chosen.trees is not None else 0
    booster = chosen.trees.candidate.fit_booster(X, y, trees) if chosen.trees is not None else None
    linear = chosen.linear.candidate.fit_linear(X, y) if chosen.linear is not None else None
    judged = sampled_folds >= 0
    calibrator = Calibrator(calibration).fit(
        chosen.margins[judged], y[chosen.rows][judged], sampled_folds[judged]
    )
    rate = float(np.mean(y))
    note = ""
    if calibrator.flat_ or chosen.log_loss >= base_rate_log_loss(
        y[chosen.rows], fold_of[chosen.rows]
    ):
        calibrator.flatten(rate)  # the head's whole base rate, not only its judged rows
        note = (
            f"the {name} head cannot beat the base rate out of fold (log loss "
            f"{chosen.log_loss:.4f}): it predicts the base rate {rate:.1%} for every deal"
        )
    probabilities = np.full(len(y), np.nan)
    probabilities[chosen.rows] = np.where(
        judged, rate if calibrator.flat_ else chosen.probabilities, np.nan
    )
    head = Head(
        name,
        rate,
        booster=booster,
        linear=linear,
        tree_weight=chosen.tree_weight,
        calibrator=calibrator,
        note=note,
        rows=len(y),
        shape=chosen.shape,
        choice={
            "trees": chosen.trees.candidate.name if chosen.trees is not None else None,
            "linear": chosen.linear.candidate.name if chosen.linear is not None else None,
            "tree_weight": chosen.tree_weight,
        },
        trees=trees,
        folds=folds,
        table=chosen.table,
    )
    return head, probabilities
