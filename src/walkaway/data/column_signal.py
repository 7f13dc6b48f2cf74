"""How well one export or feature column alone tells won from lost: the measure behind the
leakage guard (:mod:`walkaway.model.leakage`), ``walkaway validate``'s table of suspected leaks
(:mod:`walkaway.data.quality`) and the mapping draft's warnings.

A column known only once a deal has closed (a final value, a process duration, a loss reason)
predicts the outcome too well. Two things give a column away, and both are scored here:

- its **values**: on the deals where it is filled, how well they alone tell won from lost
  (ROC AUC, either way round). A text column is scored by the out-of-fold win rate of its
  category, so that many rare values cannot look predictive by memorising outcomes; a number
  by the better of its values and the out-of-fold win rate of its value bands, so that a
  relation that is not monotone (short for quick wins and quick losses alike) shows;
- whether it is **filled at all**: a column recorded only for lost deals gives the outcome away
  even though its values say nothing.

A column reaching :data:`LEAK_AUC` either way is a leak. Names that say a column measures the
sales process up to the close (:data:`POST_CLOSE_NAMES`) are leaks whatever their AUC: IBM's
process-duration columns score only 0.51-0.74 alone.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy.stats import rankdata

LEAK_AUC = 0.97  # one column alone this good at predicting the outcome is a leak, not a signal
SUSPECT_AUC = 0.70  # below a leak, but one column this good deserves a look
MIN_ROWS_FOR_AUC = 20  # rows, both outcomes present, before any AUC is computed
MIN_GROUP_ROWS = 20  # smaller categories (and value bands) are pooled before out-of-fold rates
MAX_TEXT_CATEGORIES = 100  # rarer categories of a text column are pooled as one
MAX_NUMERIC_BANDS = 20  # quantile bands of a numeric column, for relations not monotone
OTHER_CATEGORY = "(other)"
# Names of export columns that measure the sales process up to its end: known only once the deal
# has closed, whatever their single-column AUC.
POST_CLOSE_NAMES = re.compile(
    r"elapsed|duration|stage change|ratio days|total days|days identified|through clos|"
    r"to clos|until clos|clos(e|ed|ing) (value|amount|date|reason)|(won|lost|win|loss) (date|reason)",
    re.IGNORECASE,
)


@dataclass(frozen=True)
class ColumnScore:
    """How well one column alone predicts the outcome.

    Attributes
    ----------
    values_auc
        From its values, on the rows where it is filled (NaN when they hold one outcome only,
        or too few rows).
    filled_auc
        From whether it is filled at all (NaN when it is filled everywhere or nowhere).
    filled_only_on
        ``"won"`` or ``"lost"`` when every filled row has that outcome, else empty.
    """

    values_auc: float
    filled_auc: float
    filled_only_on: str = ""

    @property
    def strongest(self) -> float:
        return float(np.nanmax([self.values_auc, self.filled_auc, -1.0]))

    @property
    def leaks(self) -> bool:
        return self.strongest >= LEAK_AUC

    def evidence(self, outcome: str) -> str:
        """What gives the outcome away, in words."""
        if not np.isnan(self.values_auc) and self.values_auc >= self.filled_auc_or_zero:
            return f"alone predicts the {outcome} outcome with ROC AUC {self.values_auc:.3f}"
        where = (
            f" (it is filled on {self.filled_only_on} deals only)" if self.filled_only_on else ""
        )
        return (
            f"predicts the {outcome} outcome by being filled or empty, with ROC AUC "
            f"{self.filled_auc:.3f}{where}"
        )

    @property
    def filled_auc_or_zero(self) -> float:
        return 0.0 if np.isnan(self.filled_auc) else self.filled_auc


def out_of_fold_rate(values: pd.Series, y: np.ndarray, folds: int = 5) -> np.ndarray:
    """Each row's category replaced by the positive rate of its category in the other folds.

    Examples
    --------
    >>> out_of_fold_rate(pd.Series(list("aabb") * 5), np.array([1, 1, 0, 0] * 5))[:4]
    array([1., 1., 0., 0.])
    """
    fold = np.arange(len(values)) % folds
    codes = pd.factorize(values)[0]
    encoded = np.empty(len(values))
    for k in range(folds):
        held = fold == k
        rates = pd.Series(y[~held]).groupby(codes[~held]).mean()
        encoded[held] = pd.Series(codes[held]).map(rates).fillna(y[~held].mean()).to_numpy()
    return encoded


def ranked_auc(y: np.ndarray, score: np.ndarray) -> float:
    """ROC AUC from the ranks of the scores (the Mann-Whitney U statistic), ties counted half.

    The same number as scikit-learn's ``roc_auc_score`` in a fraction of its time: the guard
    scores every feature several ways on each training, and the input checks of
    ``roc_auc_score`` cost more than the ranking itself.

    >>> ranked_auc(np.array([0, 0, 1, 1]), np.array([0.1, 0.4, 0.35, 0.8]))
    0.75
    >>> ranked_auc(np.array([0, 1]), np.array([2.0, 2.0]))
    0.5
    """
    positive = np.asarray(y) == 1
    n_positive = int(positive.sum())
    n_negative = len(positive) - n_positive
    ranks = rankdata(score)
    u = ranks[positive].sum() - n_positive * (n_positive + 1) / 2
    return float(u / (n_positive * n_negative))


def folded_auc(y: np.ndarray, score: np.ndarray) -> float:
    """ROC AUC of a score that may rank either way (a large value may mean lost).

    >>> folded_auc(np.array([0, 0, 1, 1]), np.array([4.0, 3.0, 2.0, 1.0]))
    1.0
    """
    auc = ranked_auc(y, score)
    return max(auc, 1.0 - auc)


def pooled(categories: pd.Series) -> pd.Series:
    """Categories with the rare ones pooled as one: beyond the :data:`MAX_TEXT_CATEGORIES`
    most frequent, or on fewer than :data:`MIN_GROUP_ROWS` rows. A tiny group's out-of-fold
    rate is the outcome of its few other rows, which says nothing about the held-out one."""
    categories = categories.astype(object)
    counts = categories.value_counts()
    kept = counts[counts >= MIN_GROUP_ROWS].index[:MAX_TEXT_CATEGORIES]
    return categories.where(categories.isin(kept) | categories.isna(), OTHER_CATEGORY)


def value_bands(numbers: pd.Series) -> pd.Series:
    """A numeric column as categories: its values when few, else quantile bands of at least
    :data:`MIN_GROUP_ROWS` rows, so that a relation that is not monotone (a U shape) shows."""
    if numbers.nunique() <= MAX_NUMERIC_BANDS:
        return pooled(numbers)
    bands = int(np.clip(numbers.notna().sum() // MIN_GROUP_ROWS, 2, MAX_NUMERIC_BANDS))
    return pd.qcut(numbers, bands, labels=False, duplicates="drop")


def out_of_fold_auc(categories: pd.Series, y: np.ndarray) -> float:
    """ROC AUC of the out-of-fold win rate of each category, on the rows that have one.

    An out-of-fold rate that ranks the wrong way is noise, not a signal: it counts as 0.5
    rather than being folded over.
    """
    known = categories.notna().to_numpy()
    if known.sum() < MIN_ROWS_FOR_AUC or len(np.unique(y[known])) < 2:
        return np.nan
    rates = out_of_fold_rate(categories[known].reset_index(drop=True), y[known])
    return max(0.5, ranked_auc(y[known], rates))


def numbers_auc(numbers: pd.Series, y: np.ndarray) -> float:
    """The better of a numeric column's values (either way) and its bands' out-of-fold rate."""
    known = numbers.notna().to_numpy()
    if known.sum() < MIN_ROWS_FOR_AUC or len(np.unique(y[known])) < 2:
        return np.nan
    by_value = folded_auc(y[known], numbers[known].to_numpy(dtype=float))
    return max(by_value, out_of_fold_auc(value_bands(numbers.reset_index(drop=True)), y))


def score_column(values: pd.Series, y: np.ndarray, numeric: bool) -> ColumnScore:
    """Score one column (numbers, or text categories) against a 0/1 outcome.

    Examples
    --------
    >>> y = np.array([0, 1] * 50)
    >>> lost_only = pd.Series(np.where(y == 0, np.arange(100.0), np.nan))
    >>> score = score_column(lost_only, y, numeric=True)
    >>> score.leaks, score.filled_only_on, round(score.filled_auc, 2)
    (True, 'lost', 1.0)
    >>> score_column(pd.Series(["a", "a", "b", "b"] * 25), y, numeric=False).leaks
    False
    """
    y = np.asarray(y, dtype=int)
    values = values.reset_index(drop=True)
    filled = values.notna().to_numpy()
    both = len(np.unique(y)) == 2 and len(y) >= MIN_ROWS_FOR_AUC
    filled_auc = (
        folded_auc(y, filled.astype(float)) if both and 0 < filled.sum() < len(y) else np.nan
    )
    outcomes = set(y[filled].tolist())
    only = {frozenset({1}): "won", frozenset({0}): "lost"}.get(frozenset(outcomes), "")
    if numeric:
        auc = numbers_auc(pd.to_numeric(values, errors="coerce").astype(float), y)
    else:
        auc = out_of_fold_auc(pooled(values), y)
    return ColumnScore(auc, filled_auc, only if both else "")
