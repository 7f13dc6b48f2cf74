"""Heads: the served learner like the ones the calibrator learned from, the learners chosen
for additive effects, interactions and both, a head that cannot learn, a large head's sample.

The frames and outcomes here are shared with the tests of the candidates, cross-fitting, choice
and the logistic model."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from walkaway.model import choice
from walkaway.model.calibration import Calibrator
from walkaway.model.candidates import Candidate, candidates
from walkaway.model.choice import BLEND_WEIGHTS
from walkaway.model.cross_fitting import cross_fit
from walkaway.model.heads import fit_head
from walkaway.model.linear import LinearScorer
from walkaway.model.splits import sample_rows, time_folds

ROWS = 1600


def frame(seed: int, rows: int = ROWS) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    return pd.DataFrame(
        {
            "a": rng.normal(size=rows),
            "b": rng.normal(size=rows),
            "noise": rng.normal(size=rows),
            "colour": pd.Categorical(rng.choice(["red", "blue", "green"], rows)),
        }
    )


def additive(X: pd.DataFrame, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    margin = 1.2 * X["a"] - 0.8 * X["b"] + 0.5 * (X["colour"] == "red")
    return (rng.uniform(size=len(X)) < 1 / (1 + np.exp(-margin))).astype(int).to_numpy()


def interacting(X: pd.DataFrame, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    margin = 2.5 * np.sign(X["a"]) * np.sign(X["b"])  # XOR: no additive part at all
    return (rng.uniform(size=len(X)) < 1 / (1 + np.exp(-margin))).astype(int).to_numpy()


def dates(rows: int = ROWS) -> pd.Series:
    return pd.Series(pd.date_range("2022-01-01", periods=rows, freq="12h"))


def shallow() -> Candidate:
    return next(c for c in candidates(ROWS) if c.name == "shallow")


def test_the_served_learner_is_like_the_ones_the_calibrator_learned_from() -> None:
    """The calibrator learns on the fold boosters' margins; the served booster has their tree
    count (averaged by the rows each learned from) and the same settings."""
    X = frame(2)
    y = additive(X, 2)
    head, _ = fit_head("win", X, y, dates(), pool=[shallow()])
    folds = time_folds(dates(), 4, y)
    fit = cross_fit(shallow(), X, y, folds, "sigmoid")
    learned_from = [int((folds < fold).sum()) for fold in range(4)]
    assert head.trees == int(round(np.average(fit.trees, weights=learned_from)))
    assert head.booster.num_trees() == head.trees
    judged = folds >= 0
    refit = Calibrator("sigmoid").fit(fit.margins[judged], y[judged], folds[judged])
    assert head.calibrator.slope_ == pytest.approx(refit.slope_)
    assert head.calibrator.intercept_ == pytest.approx(refit.intercept_)


def test_a_head_chooses_the_logistic_model_for_additive_effects() -> None:
    X = frame(3, 3000)
    y = additive(X, 3)
    head, probabilities = fit_head("win", X, y, dates(3000))
    assert head.shape.startswith("logistic"), head.table
    assert head.booster is None and isinstance(head.linear, LinearScorer)
    assert head.tree_weight == 0.0
    parts = head.contributions(X)
    np.testing.assert_allclose(parts.sum(axis=1), head.margin(X))
    # Out of fold for every row but the oldest block, which only ever teaches.
    oldest = time_folds(dates(3000), 4, y) == -1
    assert probabilities.shape == (3000,) and np.isnan(probabilities[oldest]).all()
    assert ((probabilities[~oldest] > 0) & (probabilities[~oldest] < 1)).all()


def test_a_head_chooses_trees_for_interactions() -> None:
    X = frame(4, 3000)
    y = interacting(X, 4)
    head, _ = fit_head("win", X, y, dates(3000))
    assert head.booster is not None and head.linear is None and head.tree_weight == 1.0
    table = head.table.set_index("candidate")["log_loss"]
    assert table[head.shape] < table["logistic"] - 0.05


def test_a_blend_is_chosen_by_out_of_fold_log_loss_and_explained_exactly() -> None:
    """Additive effects plus an interaction: neither learner alone has it all."""
    X = frame(7, 3000)
    margin = 1.2 * X["a"] + 1.5 * np.sign(X["b"]) * np.sign(X["noise"])
    y = (np.random.default_rng(7).uniform(size=3000) < 1 / (1 + np.exp(-margin))).astype(int)
    head, _ = fit_head("win", X, y.to_numpy(), dates(3000))
    blends = head.table[head.table["candidate"].str.startswith("blend")]
    assert len(blends) == len(BLEND_WEIGHTS)
    best = blends.loc[blends["log_loss"].idxmin(), "candidate"]
    assert best == f"blend: trees {head.tree_weight:.0%}"
    if 0 < head.tree_weight < 1:
        assert head.booster is not None and head.linear is not None
    np.testing.assert_allclose(head.contributions(X).sum(axis=1), head.margin(X), atol=1e-9)


def test_a_head_that_cannot_beat_the_base_rate_predicts_it() -> None:
    X = frame(5)
    y = np.random.default_rng(5).integers(0, 2, ROWS)  # nothing to learn
    head, probabilities = fit_head("win", X, y, dates())
    assert head.calibrator.flat_ and "cannot beat the base rate" in head.note
    assert np.allclose(head.calibrate(head.margin(X)), y.mean())
    predicted = ~np.isnan(probabilities)  # all but the oldest block, which only teaches
    assert predicted.mean() > 0.7 and np.allclose(probabilities[predicted], y.mean())


def test_a_large_head_calibrates_on_a_sample_of_its_rows(monkeypatch: pytest.MonkeyPatch) -> None:
    """Above SAMPLE_ROWS rows, cross-fitting (and so the calibrator) uses a seeded sample; the
    served learners still learn from every row."""
    monkeypatch.setattr(choice, "SAMPLE_ROWS", 800)
    X = frame(8)
    y = additive(X, 8)
    head, probabilities = fit_head("win", X, y, dates(), pool=[shallow()])
    sampled = ~np.isnan(probabilities)
    in_sample = sample_rows(ROWS, 800)
    judged = in_sample[time_folds(dates(), 4, y)[in_sample] >= 0]
    assert sampled.sum() == len(judged) and set(np.flatnonzero(sampled)) == set(judged)
    assert head.rows == ROWS
    assert head.table["rows"].max() == 800
    assert ((probabilities[sampled] > 0) & (probabilities[sampled] < 1)).all()
