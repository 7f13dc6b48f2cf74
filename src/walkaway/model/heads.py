"""One outcome's head: learners chosen among candidates, blended and calibrated honestly.

A head learns one outcome (won, or regrettable given a win) from a feature frame. How:

1. **Candidates.** LightGBM tree shapes from shallow (3 leaves: additive effects, cheap
   TreeSHAP) to deep (63 leaves: many interactions), varying leaves, minimum leaf size,
   learning rate, feature fraction and regularisation (the deep ones only once a head has rows
   enough for them); and regularised logistic regressions on the same features
   (:class:`walkaway.model.linear.LinearScorer`).
2. **Cross-fitting.** The rows are cut into K folds (at most :data:`LARGE_HEAD_FOLDS` on a
   head of more than :data:`FAST_RATE_ROWS` rows). With dates, they are K + 1 consecutive
   blocks in time, and each fold is predicted by a candidate fit on every *earlier* block, as
   the served model will predict deals later than any it learned from: history counts (a
   seller's closed deals) only grow, and an export's first months hold only the deals that
   closed quickly, so a fold predicted from later ones is off in a way the served model never
   is. Without dates, each fold is predicted by a candidate fit on the other folds. These
   *out-of-fold* margins are honest: a booster stops early on a stratified 15% of its own
   training rows, never on the fold it predicts.
3. **Choice.** Candidates are judged by the out-of-fold log loss of their calibrated margins
   (each fold's calibrator fit on the other folds' margins). The tree shapes compete by
   successive halving on large heads: all of them on a sample of :data:`FIRST_RUNG_ROWS`
   rows, the best third on up to :data:`walkaway.model.splits.SAMPLE_ROWS`. The best tree shape and
   the best logistic model are then blended: margin = w x trees + (1 - w) x logistic, with w
   in :data:`BLEND_WEIGHTS` chosen the same way (w = 1 or 0 when one alone is best). A blend
   of two exactly additive explanations is exactly additive too.
4. **Calibration.** The calibrator (Platt sigmoid or isotonic) learns on the chosen blend's
   out-of-fold margins (those of the last rung: every row, or a sample of
   :data:`walkaway.model.splits.SAMPLE_ROWS` on a larger head), and the served learners are refit
   on all rows with the same settings and the fold boosters' tree counts averaged (weighted by
   the rows each learned from), so the
   calibrator maps margins of learners like the ones it learned from.

A head that cannot beat the base rate out of fold predicts the base rate and says so.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import lightgbm as lgb
import numpy as np
import pandas as pd
from scipy.special import expit, logit
from sklearn.isotonic import IsotonicRegression
from sklearn.metrics import log_loss

from walkaway.errors import WalkawayError
from walkaway.model.linear import LinearScorer
from walkaway.model.splits import (
    SAMPLE_ROWS,
    fold_training_rows,
    sample_rows,
    stopping_split,
    time_folds,
)

CALIBRATION_FOLDS = 4
# A head of more than FAST_RATE_ROWS rows cross-fits on at most this many folds: each fold's
# learners still see over 33,000 rows, and a quarter of the training time goes (on 100,000
# synthetic deals, for the same holdout ROC AUC).
LARGE_HEAD_FOLDS = 3
MAX_TREES = 3000
# Patience, in trees x learning rate: a booster stops after 3 / rate trees (30 at rate 0.1, 100
# at 0.03) without a better log loss on its stopping rows. A fixed count either wastes trees on
# fast-learning shapes or cuts slow deep ones short (as it did on IBM's export).
PATIENCE = 3.0
STOPPING_SHARE = 0.15
# Every candidate is tried on this many rows; the best third goes on to the full sample.
FIRST_RUNG_ROWS = 20_000
SURVIVOR_SHARE = 1 / 3
# Each tree learns from a bagged sample of at most this many rows. A tree of a few leaves is
# estimated well from far fewer, and across trees every row is used, so a million-deal history
# trains in minutes instead of a quarter of an hour (benchmarks/RESULTS.md).
MAX_BAGGED_ROWS = 200_000
# A head with more rows than this learns at twice the rate: on 100,000 synthetic deals the win
# head's holdout ROC AUC was 0.7558 at 0.1 vs 0.7564 at 0.05, in half the trees.
FAST_RATE_ROWS = 50_000

BASE_PARAMS: dict[str, object] = {
    "objective": "binary",
    "learning_rate": 0.05,
    "bagging_fraction": 0.8,
    "bagging_freq": 1,
    "feature_fraction": 0.8,
    "lambda_l2": 1.0,
    "max_cat_to_onehot": 4,
    "cat_smooth": 10,
    "min_data_per_group": 20,
    # Numbers keep up to 4,095 thresholds rather than LightGBM's default 255: an amount can
    # carry signal at a fine grain (IBM's export does; the synthetic history is indifferent).
    # Only columns with that many distinct values get that many bins: histograms stay small.
    "max_bin": 4095,
    "verbose": -1,
    "seed": 7,
    "deterministic": True,
    # Every core (OpenMP's default, so OMP_NUM_THREADS limits it) for one learner at a time:
    # LightGBM is not safe to train from several Python threads at once (folds trained side
    # by side crashed a benchmark run with a segfault). On 2 cores, two threads trained
    # 100,000 synthetic deals faster than one.
    "num_threads": 0,
}
# name -> (settings, minimum leaf size as a share of the rows, bounds of that size, fewest rows
# to be a candidate at all). Shallow trees with extra-randomised thresholds suit additive
# effects; the deep ones find the interactions of exports such as IBM's, but on a few thousand
# deals they only add noise to the choice, so they compete once there are rows enough. (Shapes
# of 127 and 255 leaves lost to 63 leaves on IBM's export and to 3 leaves on synthetic ones, and
# cost a third of a 100,000-deal training: they are left out.)
TREE_SHAPES: dict[str, tuple[dict[str, object], float, tuple[int, int], int]] = {
    "shallow": ({"num_leaves": 3, "max_depth": 2, "extra_trees": True}, 0.05, (20, 200), 0),
    "medium": ({"num_leaves": 7, "max_depth": 3}, 0.02, (20, 200), 0),
    "regularised": (
        {"num_leaves": 15, "feature_fraction": 0.5, "lambda_l2": 10.0},
        0.01,
        (20, 100),
        5_000,
    ),
    "deeper": ({"num_leaves": 31, "learning_rate": 0.1}, 0.002, (20, 100), 10_000),
    "deep": (
        {"num_leaves": 63, "feature_fraction": 0.7, "learning_rate": 0.03},
        0.0003,
        (10, 20),
        20_000,
    ),
}
# A histogram bin is worth its cost only with rows enough to place it: a booster learning from
# n rows gets at most n / ROWS_PER_BIN bins per column (never fewer than LightGBM's default
# 255). Split finding scans every bin of every leaf, so on the small samples of the first rung
# a deep tree shape trains in about half the time, while a full head of IBM's size keeps its
# fine grain.
ROWS_PER_BIN = 16
LINEAR_STRENGTHS = {"logistic": 1.0, "logistic-strong": 0.05}
# Weight of the trees in the blend with the logistic model; pure learners first, so that a tie
# keeps the simpler one.
BLEND_WEIGHTS = (1.0, 0.0, 0.75, 0.5, 0.25)


class NotEnoughData(WalkawayError, ValueError):
    """The history is too small to learn from."""


@dataclass(frozen=True)
class Candidate:
    """One learner a head may choose: a tree shape (LightGBM parameters) or a logistic model."""

    name: str
    params: dict[str, object] = field(default_factory=dict)
    linear: bool = False

    def fit(self, X: pd.DataFrame, y: np.ndarray, rounds: int) -> lgb.Booster | LinearScorer:
        """Fit on all the given rows (``rounds`` trees for a tree shape)."""
        if self.linear:
            return LinearScorer(C=float(self.params["C"])).fit(X, y)
        return lgb.train(self.booster_params(len(y)), lgb.Dataset(X, y), max(1, rounds))

    @property
    def patience(self) -> int:
        """Trees without progress before a booster stops early: :data:`PATIENCE` / rate.

        >>> Candidate("slow", {"learning_rate": 0.03}).patience, Candidate("x", {}).patience
        (100, 30)
        """
        return int(np.ceil(PATIENCE / float(self.params.get("learning_rate", 0.1))))

    def booster_params(self, rows: int) -> dict[str, object]:
        """LightGBM's settings for a booster learning from ``rows`` rows: at most
        ``rows / ROWS_PER_BIN`` histogram bins per column.

        Examples
        --------
        >>> shape = Candidate("shallow", {"max_bin": 4095})
        >>> shape.booster_params(10_000)["max_bin"], shape.booster_params(1_000_000)["max_bin"]
        (625, 4095)
        """
        ceiling = int(self.params.get("max_bin", 255))
        return {**self.params, "max_bin": min(ceiling, max(255, rows // ROWS_PER_BIN))}


def candidates(rows: int, overrides: dict[str, object] | None = None) -> list[Candidate]:
    """The candidates for a head of ``rows`` rows: the tree shapes with rows enough, and the
    logistic models. With ``overrides`` (LightGBM settings given by hand) the shallow shape
    with those settings is the only one.

    Examples
    --------
    >>> [c.name for c in candidates(5_000)][:2], candidates(5_000)[0].params["min_child_samples"]
    (['shallow', 'medium'], 200)
    >>> [c.name for c in candidates(5_000, {"num_leaves": 7})]
    ['custom']
    """
    fast = rows > FAST_RATE_ROWS
    bagging = min(float(BASE_PARAMS["bagging_fraction"]), MAX_BAGGED_ROWS / max(rows, 1))
    shapes = []
    for name, (settings, leaf_share, (low, high), fewest_rows) in TREE_SHAPES.items():
        if rows < fewest_rows:
            continue
        params = {
            **BASE_PARAMS,
            "max_depth": -1,
            "extra_trees": False,
            **settings,
            "min_child_samples": int(np.clip(rows * leaf_share, low, high)),
            "bagging_fraction": round(bagging, 4),
        }
        if fast and "learning_rate" not in settings:
            params["learning_rate"] = 0.1
        shapes.append(Candidate(name, params))
    if overrides:
        return [Candidate("custom", {**shapes[0].params, **overrides})]
    return shapes + [Candidate(n, {"C": c}, linear=True) for n, c in LINEAR_STRENGTHS.items()]


def platt(
    margin: np.ndarray, y: np.ndarray, iterations: int = 50, folds: np.ndarray | None = None
) -> tuple[float, float]:
    """Slope and intercept of Platt scaling, P(y) = sigmoid(slope x margin + intercept), by
    Newton's method on the log loss (a tiny ridge keeps a separable case finite). Calibration
    runs thousands of times in cross-fitting: this takes a millisecond where a general solver
    takes a hundred.

    With ``folds``, the slope is learned *within* folds (one intercept per fold), then the
    intercept over all rows at that slope. Out-of-fold margins of different folds come from
    learners fit on different rows, each with its own offset (time-ordered folds of an export
    whose win rate swings from one period to the next learn different base rates); pooled,
    those offsets can make a ranking that holds within every fold look flat or reversed.

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> m = rng.normal(size=20_000)
    >>> y = (rng.uniform(size=20_000) < 1 / (1 + np.exp(-(0.5 * m - 1)))).astype(float)
    >>> [round(v, 1) for v in platt(m, y)]
    [0.5, -1.0]
    >>> folds = np.repeat([0, 1], 10_000)
    >>> shifted = m + np.where(folds == 1, -3.0, 3.0)  # each fold's learner off by its own offset
    >>> round(platt(shifted, y)[0], 2), round(platt(shifted, y, folds=folds)[0], 1)
    (0.05, 0.5)
    """
    margin = np.asarray(margin, dtype=float)
    y = np.asarray(y, dtype=float)
    if folds is None or len(np.unique(folds)) < 2:
        design = np.column_stack([margin, np.ones(len(margin))])
        slope, intercept = _newton(design, y, iterations)
        return float(slope), float(intercept)
    dummies = (np.asarray(folds)[:, None] == np.unique(folds)[None, :]).astype(float)
    slope = _newton(np.column_stack([margin, dummies]), y, iterations)[0]
    # The intercept over all rows, the slope held: one parameter, an offset in the design.
    intercept = _newton(np.ones((len(y), 1)), y, iterations, offset=slope * margin)[0]
    return float(slope), float(intercept)


def _newton(
    design: np.ndarray, y: np.ndarray, iterations: int, offset: np.ndarray | float = 0.0
) -> np.ndarray:
    """Logistic regression coefficients by Newton's method, a tiny ridge on the first (the
    slope, when the design has other columns)."""
    weights = np.zeros(design.shape[1])
    ridge = np.zeros(design.shape[1])
    if design.shape[1] > 1:
        ridge[0] = 1e-6 * len(y)
    ridge[1:] = 1e-9
    for _ in range(iterations):
        p = expit(design @ weights + offset)
        gradient = design.T @ (p - y) + ridge * weights
        hessian = (design * (p * (1 - p))[:, None]).T @ design + np.diag(ridge + 1e-12)
        step = np.linalg.solve(hessian, gradient)
        weights -= step
        if np.abs(step).max() < 1e-10:
            break
    return weights


@dataclass
class Calibrator:
    """Maps a head's raw margin (log-odds) to a calibrated probability."""

    method: str = "sigmoid"
    slope_: float = 1.0
    intercept_: float = 0.0
    isotonic_: IsotonicRegression | None = None
    flat_: bool = False  # the head could not beat the base rate out of fold: it predicts it
    rate_: float = 0.5

    def fit(self, margin: np.ndarray, y: np.ndarray, folds: np.ndarray | None = None) -> Calibrator:
        """Learn the map; ``folds`` (of out-of-fold margins) lets Platt scaling learn its
        slope within folds (see :func:`platt`)."""
        self.rate_ = float(np.clip(np.mean(y), 1e-6, 1 - 1e-6))
        if self.method == "isotonic":
            self.isotonic_ = IsotonicRegression(y_min=1e-4, y_max=1 - 1e-4, out_of_bounds="clip")
            self.isotonic_.fit(margin, y)
        else:
            self.slope_, self.intercept_ = platt(margin, y, folds=folds)
            if self.slope_ < 0:  # out of fold, the ranking is worse than chance
                self.flatten()
        return self

    def flatten(self, rate: float | None = None) -> None:
        """Predict the base rate (``rate``, else the one it was fit on) whatever the margin."""
        if rate is not None:
            self.rate_ = float(np.clip(rate, 1e-6, 1 - 1e-6))
        self.flat_ = True
        self.isotonic_ = None
        self.slope_, self.intercept_ = 0.0, float(logit(self.rate_))

    def __call__(self, margin: np.ndarray) -> np.ndarray:
        if self.isotonic_ is not None:
            return self.isotonic_.predict(margin)
        return expit(self.slope_ * margin + self.intercept_)


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

        TreeSHAP (LightGBM's ``pred_contrib``, on every core) for trees, coefficient x (value -
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
                total += weight * np.asarray(learner.predict(X, pred_contrib=True, num_threads=0))
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
                total += weight * np.asarray(learner.predict(X, raw_score=True, num_threads=0))
        return total

    def calibrate(self, margin: np.ndarray) -> np.ndarray:
        if not self.trained:
            return np.full(len(margin), self.base_rate)
        return self.calibrator(margin)


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
            return held, candidate.fit(X_fit, y_fit, 0).margin(X[held]), 0
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
        return held, booster.predict(X[held], raw_score=True), trees

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


def halve(
    pool: list[Candidate],
    X: pd.DataFrame,
    y: np.ndarray,
    folds: np.ndarray,
    calibration: str,
    groups: np.ndarray | None = None,
) -> tuple[CrossFit, list[dict[str, object]]]:
    """Successive halving by out-of-fold log loss: every candidate on a sample of
    :data:`FIRST_RUNG_ROWS` rows (when the head is larger), the best third on up to
    :data:`SAMPLE_ROWS` (all rows of a smaller head). Returns the winner's cross-fit on that
    last sample, whose rows are ``sample_rows(len(y), min(len(y), SAMPLE_ROWS))``, and a record
    of every candidate's results."""
    records: list[dict[str, object]] = []
    rungs = [FIRST_RUNG_ROWS] if len(y) > 2 * FIRST_RUNG_ROWS and len(pool) > 2 else []
    rungs.append(min(len(y), SAMPLE_ROWS))
    best: CrossFit | None = None
    for size in rungs:
        rows = sample_rows(len(y), size)
        sample_groups = None if groups is None else groups[rows]
        fits = [
            cross_fit(c, X.iloc[rows], y[rows], folds[rows], calibration, sample_groups)
            for c in pool
        ]
        fits.sort(key=lambda fit: fit.log_loss)  # stable: ties keep the listed order
        records += [
            {
                "candidate": f.candidate.name,
                "rows": len(rows),
                "log_loss": f.log_loss,
                "trees": int(np.mean(f.trees)) if f.trees else 0,
                "seconds": f.seconds,
            }
            for f in fits
        ]
        pool = [f.candidate for f in fits[: max(2, int(np.ceil(len(fits) * SURVIVOR_SHARE)))]]
        best = fits[0]
    return best, records


@dataclass
class Choice:
    """What a head chose: its tree shape and logistic model (either may be None) and the weight
    of the trees in their blend, with the blend's out-of-fold results."""

    trees: CrossFit | None
    linear: CrossFit | None
    tree_weight: float
    rows: np.ndarray  # positions of the rows the out-of-fold results below belong to
    margins: np.ndarray
    probabilities: np.ndarray
    log_loss: float
    table: pd.DataFrame

    @property
    def shape(self) -> str:
        """The choice in words, e.g. ``shallow`` or ``shallow 75% + logistic-strong 25%``."""
        names = [f.candidate.name for f in (self.trees, self.linear) if f is not None]
        if self.trees is None or self.linear is None:
            return names[0]
        return f"{names[0]} {self.tree_weight:.0%} + {names[1]} {1 - self.tree_weight:.0%}"


def choose(
    pool: list[Candidate],
    X: pd.DataFrame,
    y: np.ndarray,
    folds: np.ndarray,
    calibration: str,
    weights: tuple[float, ...] = BLEND_WEIGHTS,
    groups: np.ndarray | None = None,
) -> Choice:
    """The best tree shape (by successive halving) and the best logistic model, blended with
    the weight of lowest out-of-fold log loss. On a head of more than :data:`SAMPLE_ROWS`
    rows, the out-of-fold margins (and so the calibrator) are those of a seeded sample of that
    many rows: plenty for a calibrator of one or a few parameters."""
    trees_pool = [c for c in pool if not c.linear]
    linear_pool = [c for c in pool if c.linear]
    rows = sample_rows(len(y), min(len(y), SAMPLE_ROWS))  # the rows of the last rung
    records: list[dict[str, object]] = []
    trees = linear = None
    if trees_pool:
        trees, tree_records = halve(trees_pool, X, y, folds, calibration, groups)
        records += tree_records
    if linear_pool:
        linear, linear_records = halve(linear_pool, X, y, folds, calibration, groups)
        records += linear_records
    if trees is None or linear is None:
        weights = (1.0,) if linear is None else (0.0,)
    best: tuple[float, float, np.ndarray, np.ndarray] | None = None
    for weight in weights:
        margins = (weight * trees.margins if trees is not None else 0.0) + (
            (1 - weight) * linear.margins if linear is not None else 0.0
        )
        probabilities = cross_calibrated(margins, y[rows], folds[rows], calibration)
        judged = folds[rows] >= 0
        loss = log_loss(y[rows][judged], probabilities[judged], labels=[0, 1])
        if trees is not None and linear is not None:
            records.append(
                {
                    "candidate": f"blend: trees {weight:.0%}",
                    "rows": len(y),
                    "log_loss": loss,
                    "trees": 0,
                    "seconds": 0.0,
                }
            )
        if best is None or loss < best[1] - 1e-12:
            best = (weight, loss, margins, probabilities)
    weight, loss, margins, probabilities = best
    return Choice(
        trees if weight > 0 else None,
        linear if weight < 1 else None,
        weight,
        rows,
        margins,
        probabilities,
        loss,
        pd.DataFrame.from_records(records),
    )


def fold_count(rows: int, folds: int = CALIBRATION_FOLDS) -> int:
    """Folds to cross-fit a head of ``rows`` rows on: at most :data:`LARGE_HEAD_FOLDS` once
    it has more than :data:`FAST_RATE_ROWS` rows.

    >>> fold_count(10_000), fold_count(60_000), fold_count(60_000, folds=2)
    (4, 3, 2)
    """
    return min(folds, LARGE_HEAD_FOLDS) if rows > FAST_RATE_ROWS else folds


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
    :data:`SAMPLE_ROWS` rows that its cross-fitting sample left out.

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
    booster = chosen.trees.candidate.fit(X, y, trees) if chosen.trees is not None else None
    linear = chosen.linear.candidate.fit(X, y, 0) if chosen.linear is not None else None
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
