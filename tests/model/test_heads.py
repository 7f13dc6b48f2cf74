"""Heads: honest cross-fitting, calibration on learners like the served one, the candidates
(tree shapes and a logistic model) and how one is chosen."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from walkaway.model import heads
from walkaway.model.heads import (
    MAX_BAGGED_ROWS,
    Candidate,
    candidates,
    cross_fit,
    fit_head,
    halve,
)
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


def test_early_stopping_never_sees_the_fold_it_predicts() -> None:
    """Shuffling the labels of one fold cannot change that fold's out-of-fold margins: its
    booster neither learned from it nor stopped on it."""
    X = frame(0)
    y = additive(X)
    folds = time_folds(dates(), 4, y)
    before = cross_fit(shallow(), X, y, folds, "sigmoid")
    shuffled = y.copy()
    held = folds == 0
    shuffled[held] = np.random.default_rng(1).permutation(y[held])
    after = cross_fit(shallow(), X, shuffled, folds, "sigmoid")
    np.testing.assert_array_equal(before.margins[held], after.margins[held])
    assert before.trees[0] == after.trees[0]
    assert not np.array_equal(before.margins[~held], after.margins[~held])  # the others learn it


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
    refit = heads.Calibrator("sigmoid").fit(fit.margins[judged], y[judged], folds[judged])
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
    assert len(blends) == len(heads.BLEND_WEIGHTS)
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


def test_successive_halving_tries_every_tree_shape_then_the_best_third(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(heads, "FIRST_RUNG_ROWS", 600)
    X = frame(6)
    y = additive(X, 6)
    pool = [c for c in candidates(100_000) if not c.linear]  # every tree shape
    best, records = halve(pool, X, y, time_folds(dates(), 4, y), "sigmoid")
    table = pd.DataFrame.from_records(records)
    first, second = (table[table["rows"] == n] for n in sorted(table["rows"].unique()))
    assert len(first) == len(pool) and first["rows"].iloc[0] == 600
    assert len(second) == max(2, int(np.ceil(len(pool) / 3))) and second["rows"].iloc[0] == ROWS
    assert set(second["candidate"]) <= set(first.nsmallest(len(second), "log_loss")["candidate"])
    assert best.candidate.name == second.iloc[0]["candidate"]


def test_candidates_widen_with_the_data() -> None:
    small, large = candidates(2_000), candidates(5_000_000)
    assert {c.name for c in small} == {"shallow", "medium", "logistic", "logistic-strong"}
    leaves = sorted(c.params["num_leaves"] for c in large if not c.linear)
    assert leaves[0] == 3 and leaves[-1] == 63
    for candidate in large:
        if not candidate.linear:
            # every tree draws a bagged sample of bounded size
            assert candidate.params["bagging_fraction"] * 5_000_000 <= MAX_BAGGED_ROWS + 1
            assert candidate.params["bagging_freq"] >= 1
    assert [c.name for c in candidates(2_000, {"num_leaves": 5})] == ["custom"]


@settings(max_examples=30, deadline=None)
@given(
    rows=st.integers(min_value=30, max_value=120),
    missing=st.floats(min_value=0.0, max_value=0.6),
    seed=st.integers(min_value=0, max_value=10_000),
)
def test_logistic_contributions_add_up_to_its_margin(rows: int, missing: float, seed: int) -> None:
    """Whatever the values, missing ones and categories never seen in training included."""
    rng = np.random.default_rng(seed)
    X = frame(seed, rows)
    X.loc[rng.uniform(size=rows) < missing, "a"] = np.nan
    X.loc[rng.uniform(size=rows) < missing, "colour"] = np.nan
    y = np.r_[0, 1, rng.integers(0, 2, rows - 2)]
    scorer = LinearScorer(min_frequency=5).fit(X, y)
    unseen = X.assign(colour=pd.Categorical(["purple"] * rows), b=X["b"] * 1e6)
    for rows_to_explain in (X, unseen):
        parts = scorer.contributions(rows_to_explain)
        assert parts.shape == (rows, X.shape[1] + 1)
        assert np.isfinite(parts).all()
        np.testing.assert_allclose(parts.sum(axis=1), scorer.margin(rows_to_explain))


def test_a_large_head_calibrates_on_a_sample_of_its_rows(monkeypatch: pytest.MonkeyPatch) -> None:
    """Above SAMPLE_ROWS rows, cross-fitting (and so the calibrator) uses a seeded sample; the
    served learners still learn from every row."""
    monkeypatch.setattr(heads, "SAMPLE_ROWS", 800)
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
