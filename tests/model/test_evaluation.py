"""Holdout metrics: calibration slope and intercept, expected calibration error."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn.calibration import calibration_curve
from sklearn.linear_model import LogisticRegression

from walkaway.model.evaluation import (
    METRICS,
    calibration_slope_intercept,
    expected_calibration_error,
    probability_metrics,
    reliability_curve,
)


def simulated(
    deals: int, seed: int, sharpen: float = 1.0, shift: float = 0.0
) -> tuple[np.ndarray, np.ndarray]:
    """Outcomes drawn from true probabilities, and a prediction whose log-odds are the true
    log-odds times ``sharpen`` plus ``shift`` (1 and 0: the truth itself)."""
    rng = np.random.default_rng(seed)
    true_log_odds = rng.normal(-0.5, 1.2, deals)
    y = (rng.random(deals) < 1 / (1 + np.exp(-true_log_odds))).astype(float)
    predicted = 1 / (1 + np.exp(-(sharpen * true_log_odds + shift)))
    return y, predicted


def test_a_perfectly_calibrated_predictor_has_slope_one_and_intercept_zero() -> None:
    y, p = simulated(50_000, seed=1)
    slope, intercept = calibration_slope_intercept(y, p)
    assert slope == pytest.approx(1.0, abs=0.05)
    assert intercept == pytest.approx(0.0, abs=0.05)


def test_an_over_confident_predictor_has_slope_below_one() -> None:
    # Log-odds twice as extreme as the truth: recalibration halves them.
    y, p = simulated(50_000, seed=2, sharpen=2.0)
    slope, _ = calibration_slope_intercept(y, p)
    assert slope == pytest.approx(0.5, abs=0.05)
    # And an under-confident one (log-odds half as extreme) has a slope above one.
    y, p = simulated(50_000, seed=2, sharpen=0.5)
    assert calibration_slope_intercept(y, p)[0] == pytest.approx(2.0, abs=0.1)


def test_a_predictor_too_high_everywhere_has_a_negative_intercept() -> None:
    y, p = simulated(50_000, seed=3, shift=1.0)
    slope, intercept = calibration_slope_intercept(y, p)
    assert slope == pytest.approx(1.0, abs=0.05)
    assert intercept == pytest.approx(-1.0, abs=0.05)


def test_slope_and_intercept_match_an_unpenalised_logistic_regression() -> None:
    y, p = simulated(3_000, seed=4, sharpen=1.3, shift=-0.4)
    log_odds = np.log(p / (1 - p)).reshape(-1, 1)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the spelling of "no penalty" changes across versions
        reference = LogisticRegression(C=np.inf, tol=1e-10, max_iter=10_000).fit(log_odds, y)
    slope, intercept = calibration_slope_intercept(y, p)
    assert slope == pytest.approx(reference.coef_[0, 0], abs=1e-4)
    assert intercept == pytest.approx(reference.intercept_[0], abs=1e-4)


@pytest.mark.parametrize(
    ("y", "p"),
    [
        ([1, 1, 1, 1], [0.2, 0.4, 0.6, 0.8]),  # one class
        ([0, 1, 0, 1], [0.3, 0.3, 0.3, 0.3]),  # a constant prediction: the base rate
        ([0, 0, 1, 1], [0.1, 0.2, 0.8, 0.9]),  # separated classes: the slope is unbounded
    ],
)
def test_slope_and_intercept_are_nan_when_undefined(y: list[int], p: list[float]) -> None:
    slope, intercept = calibration_slope_intercept(np.array(y), np.array(p))
    assert np.isnan(slope) and np.isnan(intercept)


def test_probability_metrics_report_every_metric_with_calibration() -> None:
    y, p = simulated(5_000, seed=5)
    metrics = probability_metrics(y, p)
    assert list(metrics) == list(METRICS)
    assert metrics["calibration_slope"] == pytest.approx(1.0, abs=0.15)
    assert metrics["ece"] < 0.05
    # The base rate: calibrated in the large, but with no slope to speak of.
    constant = probability_metrics(y, np.full(len(y), y.mean()))
    assert np.isnan(constant["calibration_slope"]) and constant["roc_auc"] == 0.5
    assert np.isnan(probability_metrics(np.ones(20), p[:20])["calibration_intercept"])


@settings(max_examples=100, deadline=None)
@given(
    st.lists(st.tuples(st.booleans(), st.floats(0, 1)), min_size=10, max_size=200),
    st.integers(2, 20),
)
def test_expected_calibration_error_is_a_probability_gap(
    rows: list[tuple[bool, float]], bins: int
) -> None:
    y = np.array([r[0] for r in rows], dtype=float)
    p = np.array([r[1] for r in rows])
    ece = expected_calibration_error(y, p, bins)
    if len(rows) < bins:
        assert np.isnan(ece)
    else:
        assert 0.0 <= ece <= 1.0


@settings(max_examples=100, deadline=None)
@given(st.lists(st.tuples(st.booleans(), st.floats(0, 1)), min_size=2, max_size=200))
def test_calibration_slope_and_intercept_are_finite_or_nan(rows: list[tuple[bool, float]]) -> None:
    y = np.array([r[0] for r in rows], dtype=float)
    p = np.array([r[1] for r in rows])
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no overflow or division warning on any input
        slope, intercept = calibration_slope_intercept(y, p)
    assert np.isnan(slope) == np.isnan(intercept)
    assert np.isnan(slope) or (np.isfinite(slope) and np.isfinite(intercept))


@pytest.mark.parametrize("bins", [5, 10])
def test_the_reliability_curve_is_scikit_learns_quantile_calibration_curve(bins: int) -> None:
    y, p = simulated(2_000, seed=11, sharpen=0.7)
    observed, predicted = calibration_curve(y, p, n_bins=bins, strategy="quantile")
    curve = reliability_curve(y, p, bins)
    np.testing.assert_allclose(curve["observed_rate"], observed)
    np.testing.assert_allclose(curve["mean_predicted"], predicted)
    assert curve["count"].tolist() == [2_000 // bins] * bins


def test_tied_scores_still_give_bins_of_equal_count() -> None:
    y = np.tile([0.0, 1.0], 50)
    p = np.repeat([0.2, 0.8], 50)  # two scores: scikit-learn's quantile bins collapse to two
    assert reliability_curve(y, p, bins=4)["count"].tolist() == [25, 25, 25, 25]
