"""The learners a head may choose: LightGBM tree shapes with their settings, and logistic models.

A :class:`Candidate` is one learner's settings and how to fit it on all the rows it is given;
:func:`candidates` lists those a head of a given size competes with. They are apart from the
head because they are the search space, tuned on benchmarks: cross-fitting
(:mod:`walkaway.model.cross_fitting`) judges them and the head (:mod:`walkaway.model.heads`)
serves the chosen ones, without either knowing a tree shape's settings.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import lightgbm as lgb
import numpy as np
import pandas as pd

from walkaway.model.linear import LinearScorer

# Patience, in trees x learning rate: a booster stops after 3 / rate trees (30 at rate 0.1, 100
# at 0.03) without a better log loss on its stopping rows. A fixed count either wastes trees on
# fast-learning shapes or cuts slow deep ones short (as it did on IBM's export).
PATIENCE = 3.0
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


@dataclass(frozen=True)
class Candidate:
    """One learner a head may choose: a tree shape (LightGBM parameters) or a logistic model."""

    name: str
    params: dict[str, object] = field(default_factory=dict)
    linear: bool = False

    def fit_booster(self, X: pd.DataFrame, y: np.ndarray, rounds: int) -> lgb.Booster:
        """Fit a tree shape on all the given rows, ``rounds`` trees (at least one)."""
        return lgb.train(self.booster_params(len(y)), lgb.Dataset(X, y), max(1, rounds))

    def fit_linear(self, X: pd.DataFrame, y: np.ndarray) -> LinearScorer:
        """Fit a logistic model on all the given rows."""
        return LinearScorer(C=_number(self.params["C"])).fit(X, y)

    @property
    def patience(self) -> int:
        """Trees without progress before a booster stops early: :data:`PATIENCE` / rate.

        >>> Candidate("slow", {"learning_rate": 0.03}).patience, Candidate("x", {}).patience
        (100, 30)
        """
        return int(np.ceil(PATIENCE / _number(self.params.get("learning_rate", 0.1))))

    def booster_params(self, rows: int) -> dict[str, object]:
        """LightGBM's settings for a booster learning from ``rows`` rows: at most
        ``rows / ROWS_PER_BIN`` histogram bins per column.

        Examples
        --------
        >>> shape = Candidate("shallow", {"max_bin": 4095})
        >>> shape.booster_params(10_000)["max_bin"], shape.booster_params(1_000_000)["max_bin"]
        (625, 4095)
        """
        ceiling = int(_number(self.params.get("max_bin", 255)))
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
    bagging = min(_number(BASE_PARAMS["bagging_fraction"]), MAX_BAGGED_ROWS / max(rows, 1))
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


def _number(setting: object) -> float:
    """A numeric LightGBM setting as a float: settings mix numbers, text and flags, so a
    dictionary of them holds objects (NumPy's numbers and numeric text are numbers too)."""
    if not isinstance(setting, int | float | str | np.number):
        raise TypeError(f"a LightGBM setting that should be a number is {setting!r}")
    return float(setting)
