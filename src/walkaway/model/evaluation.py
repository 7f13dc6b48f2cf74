"""Honest evaluation: metrics of probabilities on a holdout, baselines, calibration, attribution.

Every head is judged on the same holdout with ROC AUC, PR AUC, log loss, Brier score, lift in
the top decile, expected calibration error (ECE) and the calibration slope and intercept (a
logistic recalibration of the outcome on the predicted log-odds), next to a logistic-regression
baseline on the same features and the base rate (the training positive rate for everyone), so
the gain is visible.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy.special import expit
from sklearn.compose import ColumnTransformer
from sklearn.impute import SimpleImputer
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import average_precision_score, brier_score_loss, log_loss, roc_auc_score
from sklearn.pipeline import Pipeline, make_pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler

from walkaway.signs import SIGNS

METRICS = (
    "roc_auc",
    "pr_auc",
    "log_loss",
    "brier",
    "lift_top_decile",
    "ece",
    "calibration_slope",
    "calibration_intercept",
)
# Predictions are clipped to [CLIP, 1 - CLIP] before any log is taken.
CLIP = 1e-6


def probability_metrics(y: np.ndarray, p: np.ndarray) -> dict[str, float]:
    """Discrimination and calibration figures of predicted probabilities.

    Examples
    --------
    >>> m = probability_metrics(np.array([0, 0, 1, 1]), np.array([0.1, 0.4, 0.35, 0.8]))
    >>> round(m["roc_auc"], 2), round(m["brier"], 4)
    (0.75, 0.1581)
    >>> list(m) == list(METRICS)
    True
    """
    y = np.asarray(y, dtype=float)
    p = np.clip(np.asarray(p, dtype=float), CLIP, 1 - CLIP)
    both = len(np.unique(y)) == 2
    slope, intercept = calibration_slope_intercept(y, p)
    return {
        "roc_auc": roc_auc_score(y, p) if both else np.nan,
        "pr_auc": average_precision_score(y, p) if both else np.nan,
        "log_loss": log_loss(y, p, labels=[0, 1]),
        "brier": brier_score_loss(y, p),
        "lift_top_decile": lift_top_decile(y, p),
        "ece": expected_calibration_error(y, p),
        "calibration_slope": slope,
        "calibration_intercept": intercept,
    }


def bootstrap_auc(
    y: np.ndarray,
    p: np.ndarray,
    groups: np.ndarray | None = None,
    rounds: int = 1000,
    level: float = 0.95,
    seed: int = 0,
) -> tuple[float, float]:
    """Percentile interval of the ROC AUC over bootstrap resamples of whole ``groups`` (the
    snapshots of one deal are not independent: they are drawn together), or of rows.

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> p = rng.uniform(size=400)
    >>> y = (rng.uniform(size=400) < p).astype(int)
    >>> low, high = bootstrap_auc(y, p, rounds=200)
    >>> bool(low < roc_auc_score(y, p) < high), bool(high - low < 0.15)
    (True, True)
    """
    y, p = np.asarray(y, dtype=float), np.asarray(p, dtype=float)
    groups = np.arange(len(y)) if groups is None else np.asarray(groups)
    codes, members = np.unique(groups, return_inverse=True)
    rows_of = np.argsort(members, kind="stable")
    starts = np.searchsorted(members[rows_of], np.arange(len(codes)))
    sizes = np.diff(np.append(starts, len(y)))
    rng = np.random.default_rng(seed)
    aucs = []
    for _ in range(rounds):
        drawn = rng.integers(0, len(codes), len(codes))
        rows = np.concatenate([rows_of[starts[g] : starts[g] + sizes[g]] for g in drawn])
        if len(np.unique(y[rows])) == 2:
            aucs.append(roc_auc_score(y[rows], p[rows]))
    tail = (1 - level) / 2
    return float(np.quantile(aucs, tail)), float(np.quantile(aucs, 1 - tail))


def lift_top_decile(y: np.ndarray, p: np.ndarray) -> float:
    """Positive rate among the 10% highest-scored rows over the overall positive rate."""
    if y.mean() == 0:
        return np.nan
    top = np.argsort(-p, kind="stable")[: max(1, int(np.ceil(len(p) * 0.1)))]
    return float(y[top].mean() / y.mean())


def reliability_curve(y: np.ndarray, p: np.ndarray, bins: int = 10) -> pd.DataFrame:
    """Mean predicted vs observed rate in equal-count bins of the prediction.

    Where no tie straddles a bin edge this is scikit-learn's
    ``calibration_curve(y, p, n_bins=bins, strategy="quantile")`` (a test holds them equal).
    It is kept for what that one does not give: each bin's count (the expected calibration
    error weights by it, and the reliability tables show it), and bins of equal count even when
    many deals share a score (ties split by rank instead of merging bins).

    Examples
    --------
    >>> curve = reliability_curve(np.array([0, 1] * 50), np.linspace(0, 1, 100), bins=2)
    >>> curve["count"].tolist()
    [50, 50]
    """
    frame = pd.DataFrame({"y": np.asarray(y, dtype=float), "p": np.asarray(p, dtype=float)})
    frame["bin"] = pd.qcut(frame["p"].rank(method="first"), bins, labels=False)
    curve = frame.groupby("bin").agg(
        mean_predicted=("p", "mean"), observed_rate=("y", "mean"), count=("y", "size")
    )
    return curve.reset_index(drop=True)


def expected_calibration_error(y: np.ndarray, p: np.ndarray, bins: int = 10) -> float:
    """Count-weighted mean gap between predicted and observed rates (equal-count bins)."""
    if len(y) < bins:
        return np.nan
    curve = reliability_curve(y, p, bins)
    gaps = (curve["mean_predicted"] - curve["observed_rate"]).abs()
    return float((gaps * curve["count"]).sum() / curve["count"].sum())


def calibration_slope_intercept(
    y: np.ndarray, p: np.ndarray, max_iterations: int = 100, tolerance: float = 1e-10
) -> tuple[float, float]:
    """Slope and intercept of the logistic recalibration of ``y`` on the log-odds of ``p``.

    An unpenalised logistic regression of the outcome on ``logit(p)``: P(y = 1) =
    sigmoid(intercept + slope * logit(p)). A well-calibrated predictor has slope 1 and
    intercept 0; a slope below 1 means over-confident predictions (too extreme: the truth is
    closer to the average), above 1 under-confident ones; the intercept then shifts them all
    up or down. Fitted by Newton-Raphson with step halving, so it needs no solver settings.

    Parameters
    ----------
    y
        Outcomes, 0 or 1.
    p
        Predicted probabilities, clipped to [CLIP, 1 - CLIP].
    max_iterations, tolerance
        Newton steps at most, and the largest parameter change at which the fit has converged.

    Returns
    -------
    tuple of float
        ``(slope, intercept)``; both NaN when ``y`` has a single class, when ``p`` is constant
        (the slope is then undefined, as for the base rate) or when ``logit(p)`` separates the
        classes (the slope is then unbounded).

    Examples
    --------
    >>> y = np.array([0, 0, 1, 0, 1, 1, 1, 0])
    >>> p = np.array([0.1, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.35])
    >>> slope, intercept = calibration_slope_intercept(y, p)
    >>> round(slope, 3), round(intercept, 3)
    (3.288, 0.481)
    >>> calibration_slope_intercept(np.array([1, 1, 1]), np.array([0.2, 0.5, 0.9]))
    (nan, nan)
    """
    y = np.asarray(y, dtype=float)
    p = np.clip(np.asarray(p, dtype=float), CLIP, 1 - CLIP)
    log_odds = np.log(p / (1 - p))
    if len(np.unique(y)) < 2 or np.ptp(log_odds) < 1e-9:
        return np.nan, np.nan
    design = np.column_stack([np.ones_like(log_odds), log_odds])

    def log_likelihood(beta: np.ndarray) -> float:
        margin = design @ beta
        return float(np.sum(y * margin - np.logaddexp(0.0, margin)))

    beta = np.zeros(2)  # intercept, slope
    current = log_likelihood(beta)
    for _ in range(max_iterations):
        fitted = expit(design @ beta)
        gradient = design.T @ (y - fitted)
        hessian = design.T @ (design * (fitted * (1 - fitted))[:, None])
        try:
            step = np.linalg.solve(hessian, gradient)
        except np.linalg.LinAlgError:
            return np.nan, np.nan
        # Halve the step until the likelihood does not fall (it is concave, so this ends).
        for _ in range(50):
            candidate = log_likelihood(beta + step)
            if candidate >= current - 1e-12:
                break
            step = step / 2
        beta, current = beta + step, candidate
        if np.max(np.abs(step)) < tolerance:
            return float(beta[1]), float(beta[0])
    return np.nan, np.nan  # no convergence: the classes are (nearly) separated by p


def logistic_baseline(X_train: pd.DataFrame, y_train: np.ndarray) -> Pipeline:
    """A logistic regression on the same features: median-imputed, scaled numbers with
    missing-value flags, one-hot text categories."""
    numeric = [c for c in X_train.columns if not isinstance(X_train[c].dtype, pd.CategoricalDtype)]
    text = [c for c in X_train.columns if c not in numeric]
    prepare = ColumnTransformer(
        [
            (
                "numbers",
                make_pipeline(
                    SimpleImputer(strategy="median", add_indicator=True, keep_empty_features=True),
                    StandardScaler(),
                ),
                numeric,
            ),
            (
                "text",
                make_pipeline(
                    SimpleImputer(
                        strategy="constant", fill_value="(missing)", keep_empty_features=True
                    ),
                    OneHotEncoder(handle_unknown="ignore", min_frequency=20),
                ),
                text,
            ),
        ]
    )
    model = make_pipeline(prepare, LogisticRegression(C=1.0, max_iter=2000))
    return model.fit(_as_text(X_train, text), y_train)


def _as_text(X: pd.DataFrame, text: list[str]) -> pd.DataFrame:
    out = X.copy()
    for column in text:
        out[column] = out[column].astype(object).where(out[column].notna(), np.nan)
    return out


def predict_baseline(model: Pipeline, X: pd.DataFrame) -> np.ndarray:
    text = [c for c in X.columns if isinstance(X[c].dtype, pd.CategoricalDtype)]
    return model.predict_proba(_as_text(X, text))[:, 1]


def sign_attribution(
    explained: pd.DataFrame, true_effects: pd.DataFrame, dominance: float = 2.0
) -> dict[str, float]:
    """How often the sign with the most negative explained effect is the true one.

    Only deals whose true most-negative sign effect is clearly the driver count: it must be
    negative and at least ``dominance`` times as large as the second most negative one (or the
    second must not be negative at all).

    Parameters
    ----------
    explained, true_effects
        Effects on p_good per sign, columns named after :data:`walkaway.signs.SIGNS`, same index.

    Examples
    --------
    >>> truth = pd.DataFrame({"glass_walls": [-10, -1, -5], "icp_fit": [-2, -8, -4],
    ...                       "need_fit": [1, 0, 0]})
    >>> explained = pd.DataFrame({"glass_walls": [-7, -3, 0], "icp_fit": [-1, -2, -1],
    ...                           "need_fit": [0, 0, 0]})
    >>> sign_attribution(explained, truth)
    {'deals': 2, 'matched': 1, 'share': 0.5}
    """
    truth = true_effects[list(SIGNS)].to_numpy(dtype=float)
    ordered = np.sort(truth, axis=1)
    first, second = ordered[:, 0], ordered[:, 1]
    clear = (first < 0) & (-first >= dominance * np.maximum(-second, 0.0))
    true_sign = truth.argmin(axis=1)
    explained_sign = explained[list(SIGNS)].to_numpy(dtype=float).argmin(axis=1)
    matched = int((true_sign[clear] == explained_sign[clear]).sum())
    deals = int(clear.sum())
    return {"deals": deals, "matched": matched, "share": matched / deals if deals else np.nan}
