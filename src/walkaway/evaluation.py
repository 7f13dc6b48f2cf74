"""Honest evaluation: metrics of probabilities on a holdout, baselines, calibration, attribution.

Every head is judged on the same holdout with ROC AUC, PR AUC, log loss, Brier score, lift in
the top decile and expected calibration error (ECE), next to a logistic-regression baseline on
the same features and the base rate (the training positive rate for everyone), so the gain is
visible.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from sklearn.compose import ColumnTransformer
from sklearn.impute import SimpleImputer
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import average_precision_score, brier_score_loss, log_loss, roc_auc_score
from sklearn.pipeline import Pipeline, make_pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler

from walkaway.signs import SIGNS

METRICS = ("roc_auc", "pr_auc", "log_loss", "brier", "lift_top_decile", "ece")


def probability_metrics(y: np.ndarray, p: np.ndarray) -> dict[str, float]:
    """Discrimination and calibration figures of predicted probabilities.

    Examples
    --------
    >>> m = probability_metrics(np.array([0, 0, 1, 1]), np.array([0.1, 0.4, 0.35, 0.8]))
    >>> round(m["roc_auc"], 2), round(m["brier"], 4)
    (0.75, 0.1581)
    """
    y = np.asarray(y, dtype=float)
    p = np.clip(np.asarray(p, dtype=float), 1e-6, 1 - 1e-6)
    both = len(np.unique(y)) == 2
    return {
        "roc_auc": roc_auc_score(y, p) if both else np.nan,
        "pr_auc": average_precision_score(y, p) if both else np.nan,
        "log_loss": log_loss(y, p, labels=[0, 1]),
        "brier": brier_score_loss(y, p),
        "lift_top_decile": lift_top_decile(y, p),
        "ece": expected_calibration_error(y, p),
    }


def lift_top_decile(y: np.ndarray, p: np.ndarray) -> float:
    """Positive rate among the 10% highest-scored rows over the overall positive rate."""
    if y.mean() == 0:
        return np.nan
    top = np.argsort(-p, kind="stable")[: max(1, int(np.ceil(len(p) * 0.1)))]
    return float(y[top].mean() / y.mean())


def reliability_curve(y: np.ndarray, p: np.ndarray, bins: int = 10) -> pd.DataFrame:
    """Mean predicted vs observed rate in equal-count bins of the prediction.

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
