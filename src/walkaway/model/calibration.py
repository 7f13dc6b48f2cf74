"""Calibrators: a head's raw margin (log-odds) mapped to a probability, by Platt scaling or
isotonic regression.

Apart from the head because calibration is a small numerical matter of its own, run thousands
of times in cross-fitting (:func:`walkaway.model.cross_fitting.cross_calibrated`) and once
more for the served head, and because it knows nothing of learners: only margins and labels.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.special import expit, logit
from sklearn.isotonic import IsotonicRegression


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
