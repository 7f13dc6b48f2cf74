"""A head's choice: the best tree shape by successive halving, the best logistic model, and the
weight of each in their blend, all by out-of-fold log loss.

Apart from cross-fitting (:mod:`walkaway.model.cross_fitting`), which judges one candidate,
because choosing is a search over many: which candidates reach the larger sample, and which
blend of the two winners serves.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from sklearn.metrics import log_loss

from walkaway.model.candidates import Candidate
from walkaway.model.cross_fitting import CrossFit, cross_calibrated, cross_fit
from walkaway.model.splits import SAMPLE_ROWS, sample_rows

# Every candidate is tried on this many rows; the best third goes on to the full sample.
FIRST_RUNG_ROWS = 20_000
SURVIVOR_SHARE = 1 / 3

# Weight of the trees in the blend with the logistic model; pure learners first, so that a tie
# keeps the simpler one.
BLEND_WEIGHTS = (1.0, 0.0, 0.75, 0.5, 0.25)


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
    fits: list[CrossFit] = []
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
    return fits[0], records


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
        margins = np.zeros(len(rows))
        if trees is not None:
            margins += weight * trees.margins
        if linear is not None:
            margins += (1 - weight) * linear.margins
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
    if best is None:
        raise ValueError("no blend weight to choose from")
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
