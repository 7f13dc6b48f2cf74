"""A regularised logistic regression whose predictions split exactly into per-feature parts.

Sales outcomes are often close to additive, and on small histories a linear model can beat
boosted trees (on the demo's 5,000 deals the win head lost to its own logistic baseline). So
each head also considers :class:`LinearScorer`, on the same features as the trees: numbers
clipped to their training range (the 0.5% and 99.5% quantiles), missing ones filled with the
median and flagged, text categories one-hot (rare ones pooled, missing its own level); the
coefficients are L2-regularised on standardised columns.

Its explanation is exact and additive, as TreeSHAP is for the trees: a feature's contribution
is the sum, over the columns it becomes, of coefficient x (value - training mean). With the
intercept as the bias, the contributions of a deal add up to its margin, so the signs, effects
and reasons work the same way whichever learner a head chose.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from sklearn.linear_model import LogisticRegression

from walkaway.model.splits import sample_rows

MISSING_LEVEL = "(missing)"
OTHER_LEVEL = "(other)"
# A linear head's coefficients are estimated well from this many rows; larger heads fit on a
# seeded sample (its design matrix would take gigabytes at a million deals).
MAX_LINEAR_ROWS = 200_000


class LinearScorer:
    """L2-regularised logistic regression on a feature frame, with exact contributions.

    Parameters
    ----------
    C
        Inverse regularisation strength, on standardised columns.
    max_categories
        Most frequent levels of a text feature kept; the rest are pooled.
    min_frequency
        Levels seen on fewer training rows are pooled.
    clip_quantile
        Numbers are clipped to this quantile and its mirror (training values).

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> X = pd.DataFrame({"x": rng.normal(size=400), "colour": pd.Categorical(
    ...     rng.choice(["red", "blue"], 400))})
    >>> y = (X["x"] + (X["colour"] == "red") + rng.normal(size=400) > 0.5).astype(int).to_numpy()
    >>> scorer = LinearScorer().fit(X, y)
    >>> parts = scorer.contributions(X)
    >>> bool(np.allclose(parts.sum(axis=1), scorer.margin(X))), parts.shape
    (True, (400, 3))
    """

    def __init__(
        self,
        C: float = 1.0,
        max_categories: int = 30,
        min_frequency: int = 20,
        clip_quantile: float = 0.005,
    ):
        self.C = C
        self.max_categories = max_categories
        self.min_frequency = min_frequency
        self.clip_quantile = clip_quantile

    def fit(self, X: pd.DataFrame, y: np.ndarray) -> LinearScorer:
        rows = sample_rows(len(X), MAX_LINEAR_ROWS)
        X, y = X.iloc[rows], np.asarray(y)[rows]
        self.columns_ = list(X.columns)
        self.numbers_: dict[str, tuple[float, float, float, bool]] = {}
        self.levels_: dict[str, list[str]] = {}
        for name in self.columns_:
            values = X[name]
            if isinstance(values.dtype, pd.CategoricalDtype):
                text = _as_text(values)
                counts = text.value_counts()
                kept = counts[counts >= self.min_frequency].index[: self.max_categories]
                self.levels_[name] = [str(v) for v in kept] + [OTHER_LEVEL]
            else:
                numbers = values.to_numpy(dtype=float)
                known = numbers[~np.isnan(numbers)]
                low, high = (
                    np.quantile(known, [self.clip_quantile, 1 - self.clip_quantile])
                    if len(known)
                    else (0.0, 0.0)
                )
                median = float(np.median(np.clip(known, low, high))) if len(known) else 0.0
                self.numbers_[name] = (
                    float(low),
                    float(high),
                    median,
                    bool(np.isnan(numbers).any()),
                )
        design, self.owners_ = self._design(X)
        self.center_ = design.mean(axis=0)
        scale = design.std(axis=0)
        scale[scale == 0] = 1.0
        model = LogisticRegression(C=self.C, max_iter=2000)
        model.fit((design - self.center_) / scale, y)
        self.coef_ = model.coef_[0] / scale  # per design column, on its own (unscaled) units
        self.intercept_ = float(model.intercept_[0])
        return self

    def _design(self, X: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
        """The numeric design matrix and, per column, the feature it comes from."""
        blocks, owners = [], []
        for position, name in enumerate(self.columns_):
            if name in self.levels_:
                levels = self.levels_[name]
                text = _as_text(X[name])
                text = text.where(text.isin(levels), OTHER_LEVEL)
                codes = pd.Categorical(text, categories=levels).codes
                block = np.zeros((len(X), len(levels)))
                block[np.arange(len(X)), codes] = 1.0
            else:
                low, high, median, flag = self.numbers_[name]
                numbers = pd.to_numeric(X[name], errors="coerce").to_numpy(dtype=float)
                missing = np.isnan(numbers)
                filled = np.where(missing, median, np.clip(numbers, low, high))
                block = np.column_stack([filled, missing.astype(float)] if flag else [filled])
            blocks.append(block)
            owners += [position] * block.shape[1]
        return np.hstack(blocks), np.asarray(owners)

    def margin(self, X: pd.DataFrame) -> np.ndarray:
        """Raw log-odds."""
        return self.contributions(X).sum(axis=1)

    def contributions(self, X: pd.DataFrame) -> np.ndarray:
        """Per feature, coefficient x (value - training mean) summed over its columns, then the
        intercept (last column): each row adds up to the margin."""
        design, _ = self._design(X)
        parts = (design - self.center_) * self.coef_
        out = np.empty((len(X), len(self.columns_) + 1))
        for position in range(len(self.columns_)):
            out[:, position] = parts[:, self.owners_ == position].sum(axis=1)
        out[:, -1] = self.intercept_
        return out


def _as_text(values: pd.Series) -> pd.Series:
    """Category values as text, missing as its own level."""
    return values.astype(object).where(values.notna(), MISSING_LEVEL).astype(str)
