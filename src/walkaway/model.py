"""The walkaway model: features for the three signs, two calibrated LightGBM heads, explanations
and the recommendation policy, in one object that scores raw canonical deals.

- The **win head** learns P(won) from closed deals.
- The **regret head** learns P(regrettable | won) from matured wins only (see
  :mod:`walkaway.labels`): censored wins are left out.

Each head is a LightGBM classifier calibrated by cross-fitting (as scikit-learn's
``CalibratedClassifierCV(ensemble=False)``): boosters fit on K-1 of K time-ordered folds give
each training deal a margin from a model that never saw it, and stop the boosting early; the
calibrator (Platt sigmoid by default, or isotonic) learns on those out-of-fold margins, and the
head is refit on all its rows with the mean tree count. So every calibrator has learned on
margins of deals their booster was not fit on. Text columns become pandas categories here, and only here, with the
categories seen in training; a value never seen is treated as missing and said so in reasons.
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

import lightgbm as lgb
import numpy as np
import pandas as pd
from scipy.special import expit, logit
from sklearn.isotonic import IsotonicRegression
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import log_loss, roc_auc_score
from sklearn.model_selection import StratifiedKFold, train_test_split

from walkaway.contracts import normalise_category
from walkaway.errors import WalkawayError
from walkaway.explanations import by_sign, effects_on_p_good, group_matrix, p_good, reasons
from walkaway.features import FEATURES, build_features
from walkaway.labels import DEFAULT_HORIZON_DAYS
from walkaway.recommendation import Policy, recommend
from walkaway.signs import GROUPS, SIGNS, Feature

MIN_WON = 40
MIN_LOST = 40
MIN_REGRET_CLASS = 40
LEAK_AUC = 0.97  # one feature alone this good at predicting the outcome is a leak, not a signal
# Names of export columns that measure the sales process up to its end: known only once the deal
# has closed, whatever their single-column AUC (IBM's process-duration columns score 0.5-0.75).
POST_CLOSE_NAMES = re.compile(
    r"elapsed|duration|stage change|ratio days|total days|days identified|through clos|"
    r"to clos|until clos|clos(e|ed|ing) (value|amount|date|reason)|(won|lost|win|loss) (date|reason)",
    re.IGNORECASE,
)

# Shallow trees: sales outcomes are mostly sums of separate effects with a few pairwise
# interactions (a tender at an entrenched incumbent), and shallow trees keep TreeSHAP cheap
# (its cost grows with leaves x depth^2). Extra-randomised thresholds smooth the steps.
DEFAULT_LGBM_PARAMS: dict[str, object] = {
    "objective": "binary",
    "learning_rate": 0.05,
    "num_leaves": 3,
    "max_depth": 2,
    "extra_trees": True,
    "feature_fraction": 0.8,
    "bagging_fraction": 0.8,
    "bagging_freq": 1,
    "lambda_l2": 1.0,
    "max_cat_to_onehot": 4,
    "cat_smooth": 10,
    "min_data_per_group": 20,
    "verbose": -1,
    "seed": 7,
    "deterministic": True,
    "num_threads": 0,
}
MAX_TREES = 3000
# Leaves hold at least 5% of a head's rows (within 20..200): enough to average out noise on
# a small export without starving a large one.
MIN_LEAF_SHARE, MIN_LEAF_ROWS, MAX_LEAF_ROWS = 0.05, 20, 200
EARLY_STOPPING_ROUNDS = 60
CALIBRATION_FOLDS = 4
# Each tree learns from a bagged sample of at most this many rows. A tree of a few leaves is
# estimated well from far fewer, and across trees every row is used, so a million-deal history
# trains in minutes instead of a quarter of an hour (benchmarks/RESULTS.md).
MAX_BAGGED_ROWS = 200_000
# A head with more rows than this learns at twice the rate (0.1): on 100,000 synthetic deals
# (`make bench`) the win head's holdout ROC AUC is 0.7558 with 634 trees, where rate 0.05 gave
# 0.7564 with 1,302, so training and explaining take half the time. Smaller heads keep 0.05.
FAST_RATE_ROWS = 50_000
# Choosing between tree shapes, and reading the policy's quantiles, needs no more rows than
# this: larger heads make both choices on a seeded random sample of this size.
SAMPLE_ROWS = 200_000


class NotEnoughData(WalkawayError, ValueError):
    """The history is too small to learn from."""


class LeakageError(WalkawayError, ValueError):
    """A feature gives the outcome away: it must be known only after the deal closed."""


@dataclass
class Calibrator:
    """Maps a head's raw margin (log-odds) to a calibrated probability."""

    method: str = "sigmoid"
    slope_: float = 1.0
    intercept_: float = 0.0
    isotonic_: IsotonicRegression | None = None
    flat_: bool = False  # the head could not rank deals out of fold: it predicts the base rate

    def fit(self, margin: np.ndarray, y: np.ndarray) -> Calibrator:
        if self.method == "isotonic":
            self.isotonic_ = IsotonicRegression(y_min=1e-4, y_max=1 - 1e-4, out_of_bounds="clip")
            self.isotonic_.fit(margin, y)
        else:
            platt = LogisticRegression(C=1e4).fit(margin.reshape(-1, 1), y)
            self.slope_, self.intercept_ = float(platt.coef_[0, 0]), float(platt.intercept_[0])
            if self.slope_ < 0:  # out of fold, the ranking is worse than chance: trust the rate
                rate = float(np.clip(np.mean(y), 1e-6, 1 - 1e-6))
                self.slope_, self.intercept_ = 0.0, float(logit(rate))
                self.flat_ = True
        return self

    def __call__(self, margin: np.ndarray) -> np.ndarray:
        if self.isotonic_ is not None:
            return self.isotonic_.predict(margin)
        return expit(self.slope_ * margin + self.intercept_)


@dataclass
class Head:
    """One outcome's LightGBM booster and calibrator, or a constant rate when it cannot learn.

    ``booster`` is None for a constant head (too few examples, or no regret data at all); it
    then predicts ``base_rate`` and every contribution is zero.
    """

    name: str
    base_rate: float
    booster: lgb.Booster | None = None
    calibrator: Calibrator = field(default_factory=Calibrator)
    note: str = ""
    rows: int = 0  # deals the head learned from
    shape: str = "constant"  # the tree shape chosen by cross-fitting

    @property
    def trained(self) -> bool:
        return self.booster is not None

    def contributions(self, X: pd.DataFrame) -> np.ndarray:
        """Exact TreeSHAP per feature plus the bias (last column); rows sum to the margin."""
        if self.booster is None:
            out = np.zeros((len(X), X.shape[1] + 1))
            out[:, -1] = logit(np.clip(self.base_rate, 1e-6, 1 - 1e-6))
            return out
        return np.asarray(self.booster.predict(X, pred_contrib=True))

    def margin(self, X: pd.DataFrame) -> np.ndarray:
        """Raw log-odds before calibration."""
        if self.booster is None:
            return np.full(len(X), logit(np.clip(self.base_rate, 1e-6, 1 - 1e-6)))
        return np.asarray(self.booster.predict(X, raw_score=True))

    def calibrate(self, margin: np.ndarray) -> np.ndarray:
        if self.booster is None:
            return np.full(len(margin), self.base_rate)
        return self.calibrator(margin)


@contextmanager
def _timed(timings: dict[str, float], step: str) -> Iterator[None]:
    """Add the seconds spent in the block to ``timings[step]``."""
    started = time.perf_counter()
    try:
        yield
    finally:
        timings[step] = timings.get(step, 0.0) + time.perf_counter() - started


def sample_rows(rows: int, size: int = SAMPLE_ROWS) -> np.ndarray:
    """Positions of a seeded random sample of ``size`` of ``rows`` rows, in order (all of them
    when there are no more than ``size``).

    Examples
    --------
    >>> sample_rows(5).tolist(), len(sample_rows(10, size=3))
    ([0, 1, 2, 3, 4], 3)
    """
    if rows <= size:
        return np.arange(rows)
    return np.sort(np.random.default_rng(0).choice(rows, size, replace=False))


def time_folds(dates: pd.Series, folds: int, y: np.ndarray | None = None) -> np.ndarray:
    """Fold number of each row: consecutive blocks of equal size in date order, or stratified
    random folds of ``y`` when there are no dates.

    >>> time_folds(pd.Series(pd.to_datetime(["2024-04-01", "2024-01-01", "2024-03-01",
    ...                                      "2024-02-01"])), 2).tolist()
    [1, 0, 1, 0]
    """
    if dates.isna().all() and y is not None:
        splitter = StratifiedKFold(folds, shuffle=True, random_state=0)
        fold = np.empty(len(dates), dtype=int)
        for number, (_, held) in enumerate(splitter.split(np.zeros(len(y)), y)):
            fold[held] = number
        return fold
    order = np.argsort(dates.to_numpy(), kind="stable")
    fold = np.empty(len(dates), dtype=int)
    fold[order] = np.arange(len(dates)) * folds // max(1, len(dates))
    return fold


def newest_split(
    dates: pd.Series, share: float, y: np.ndarray | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """Boolean masks (older, newest) putting the newest ``share`` of rows by date last.

    Ties are broken by position, so the split is deterministic. Without any date (and with
    ``y``), the "newest" part is a stratified random sample instead: no order is known.

    Examples
    --------
    >>> older, newest = newest_split(pd.Series(pd.to_datetime(
    ...     ["2024-03-01", "2024-01-01", "2024-02-01", "2024-04-01", "2024-05-01"])), 0.4)
    >>> newest.tolist()
    [False, False, False, True, True]
    """
    if dates.isna().all() and y is not None and len(np.unique(y)) == 2:
        _, held = train_test_split(np.arange(len(y)), test_size=share, stratify=y, random_state=0)
        newest = np.zeros(len(dates), dtype=bool)
        newest[held] = True
        return ~newest, newest
    order = np.argsort(dates.to_numpy(), kind="stable")
    n_newest = int(np.ceil(len(dates) * share))
    newest = np.zeros(len(dates), dtype=bool)
    if n_newest:
        newest[order[-n_newest:]] = True
    return ~newest, newest


class WalkawayModel:
    """Both heads, their features, explainer and recommendation policy.

    Parameters
    ----------
    catalogue
        Product -> capabilities text; the catalogue that need fit is judged against.
    calibration
        ``"sigmoid"`` (Platt) or ``"isotonic"``.
    calibration_folds
        Time-ordered folds whose out-of-fold margins stop the boosting and fit the calibrator.
    lgbm_params
        Overrides of :data:`DEFAULT_LGBM_PARAMS`.
    policy_overrides
        Thresholds of :class:`~walkaway.recommendation.Policy` set by hand.
    horizon_days
        Regret horizon the labels were made with (recorded with the model).
    extra_features
        A mapping's extra columns: canonical name -> (sign, export name).
    list_prices
        Product -> list price: the value of a deal whose amount is unknown.
    """

    def __init__(
        self,
        catalogue: dict[str, str] | None = None,
        calibration: str = "sigmoid",
        calibration_folds: int = CALIBRATION_FOLDS,
        lgbm_params: dict[str, object] | None = None,
        policy_overrides: dict[str, float] | None = None,
        horizon_days: int = DEFAULT_HORIZON_DAYS,
        extra_features: dict[str, tuple[str, str]] | None = None,
        list_prices: dict[str, float] | None = None,
    ):
        self.catalogue = catalogue
        self.calibration = calibration
        self.calibration_folds = calibration_folds
        self.lgbm_params = lgbm_params
        self.policy_overrides = policy_overrides
        self.horizon_days = horizon_days
        self.extra_features = extra_features
        self.list_prices = list_prices

    # ------------------------------------------------------------------ fitting
    def fit(self, labelled: pd.DataFrame) -> WalkawayModel:
        """Learn from labelled deals (see :func:`walkaway.labels.label_deals`) with their
        account firmographics. Only closed deals are used; each is featurised as at creation.

        Raises
        ------
        NotEnoughData
            Fewer than 40 won or 40 lost closed deals.
        LeakageError
            A feature that alone predicts the outcome almost perfectly.
        """
        closed = self.with_amounts(labelled[labelled["won"].notna()])
        won = int(closed["won"].sum())
        lost = len(closed) - won
        if won < MIN_WON or lost < MIN_LOST:
            raise NotEnoughData(
                f"walkaway needs at least {MIN_WON} won and {MIN_LOST} lost closed deals to "
                f"learn from; this history has {won} won and {lost} lost"
            )
        if self.calibration not in ("sigmoid", "isotonic"):
            raise ValueError(
                f"calibration must be 'sigmoid' or 'isotonic', not {self.calibration!r}"
            )

        self.features_ = build_features(self.catalogue, self.extra_features).fit(closed)
        raw = self.features_.transform(closed.assign(as_of=closed["created_date"]))
        self.feature_names_ = list(raw.columns)
        self.categories_ = {
            name: sorted(raw[name].dropna().unique().tolist())
            for name in self.feature_names_
            if raw[name].dtype == object
        }
        X = self._encode(raw)
        # Features the export never fills carry no evidence: leave them out of "thin evidence".
        self.available_features_ = [n for n in self.feature_names_ if raw[n].notna().any()]
        self.groups_ = group_matrix(self.feature_names_, self.feature_catalogue)

        for _, (_, export) in (self.extra_features or {}).items():
            if POST_CLOSE_NAMES.search(export):
                raise LeakageError(
                    f"extra feature '{export}' looks like it measures the sales process up to "
                    "the close, so it is only known once the deal has closed. Declare it "
                    "post_outcome in the mapping, or leave it out"
                )
        y_win = closed["won"].to_numpy()
        check_leakage(X, y_win, "win")
        self.win_head_ = self._fit_head("win", X, y_win, closed["closed_date"])

        matured = closed["regret_label"].notna().to_numpy()
        y_regret = closed["regret_label"].to_numpy()[matured]
        regrets = int(y_regret.sum())
        if regrets >= MIN_REGRET_CLASS and len(y_regret) - regrets >= MIN_REGRET_CLASS:
            check_leakage(X[matured], y_regret, "regret")
            self.regret_head_ = self._fit_head(
                "regret", X[matured], y_regret, closed.loc[matured, "closed_date"]
            )
        else:
            rate = float(y_regret.mean()) if len(y_regret) else 0.0
            self.regret_head_ = Head(
                "regret",
                base_rate=rate,
                note=(
                    f"regret head not trained: {regrets} regrettable and "
                    f"{len(y_regret) - regrets} kept matured wins (needs {MIN_REGRET_CLASS} of "
                    f"each); p_regret is the base rate {rate:.1%}"
                ),
            )

        rows = sample_rows(len(X))  # the policy's quantiles need no more
        p_win = self.win_head_.calibrate(self.win_head_.margin(X.iloc[rows]))
        p_regret = self.regret_head_.calibrate(self.regret_head_.margin(X.iloc[rows]))
        amount = closed["amount"].to_numpy(dtype=float)[rows]
        policy = Policy.from_training(p_win, p_regret, amount, self.regret_head_.base_rate)
        self.policy_ = policy.with_overrides(self.policy_overrides or {})
        self.trained_until_ = closed["closed_date"].max()
        return self

    def _fit_head(self, name: str, X: pd.DataFrame, y: np.ndarray, dates: pd.Series) -> Head:
        """Cross-fit each candidate tree shape on K folds (time-ordered when there are dates):
        every row gets an out-of-fold margin and each fold an early-stopped tree count. The
        shape with the lowest out-of-fold log loss wins (chosen on a sample of
        :data:`SAMPLE_ROWS` rows for a larger head, then cross-fitted on all); the calibrator
        learns on its out-of-fold margins, and the head's booster is refit on all rows."""
        folds = time_folds(dates, self.calibration_folds, y)
        for fold in range(self.calibration_folds):
            held = folds == fold
            if len(np.unique(y[~held])) < 2 or len(np.unique(y[held])) < 2:
                raise NotEnoughData(
                    f"the {name} head has a fold with a single class: too few deals"
                )
        candidates = self._candidate_params(len(y))
        if len(candidates) > 1 and len(y) > SAMPLE_ROWS:
            rows = sample_rows(len(y))
            sampled = self._choose_shape(candidates, X.iloc[rows], y[rows], folds[rows])
            candidates = {sampled[1]: sampled[2]}
        loss, shape, params, out_of_fold, trees = self._choose_shape(candidates, X, y, folds)
        # The refit sees K/(K-1) times the rows each fold model saw: let it grow as much longer.
        rounds = int(np.mean(trees) * self.calibration_folds / (self.calibration_folds - 1))
        booster = lgb.train(params, lgb.Dataset(X, y), num_boost_round=max(1, rounds))
        calibrator = Calibrator(self.calibration).fit(out_of_fold, y)
        note = (
            f"the {name} head ranks deals no better than chance out of fold: it predicts the "
            f"base rate {y.mean():.1%} for every deal"
            if calibrator.flat_
            else ""
        )
        return Head(name, float(y.mean()), booster, calibrator, note=note, rows=len(y), shape=shape)

    def _choose_shape(
        self,
        candidates: dict[str, dict[str, object]],
        X: pd.DataFrame,
        y: np.ndarray,
        folds: np.ndarray,
    ) -> tuple[float, str, dict[str, object], np.ndarray, list[int]]:
        """Cross-fit each candidate; the one with the lowest out-of-fold log loss, as (loss,
        shape, params, out-of-fold margins, tree count per fold)."""
        best = None
        for shape, params in candidates.items():
            out_of_fold, trees = self._cross_fit(params, X, y, folds)
            loss = log_loss(y, expit(out_of_fold), labels=[0, 1])
            if best is None or loss < best[0] - 1e-6:
                best = (loss, shape, params, out_of_fold, trees)
        return best

    def _candidate_params(self, rows: int) -> dict[str, dict[str, object]]:
        """Tree shapes to choose from: the data decide how much interaction they hold. Given
        ``lgbm_params``, the default shape with those settings is the only candidate."""
        leaf_rows = int(np.clip(rows * MIN_LEAF_SHARE, MIN_LEAF_ROWS, MAX_LEAF_ROWS))
        bagging = min(float(DEFAULT_LGBM_PARAMS["bagging_fraction"]), MAX_BAGGED_ROWS / rows)
        shallow = {
            **DEFAULT_LGBM_PARAMS,
            "min_child_samples": leaf_rows,
            "bagging_fraction": round(bagging, 4),
            "learning_rate": 0.1 if rows > FAST_RATE_ROWS else DEFAULT_LGBM_PARAMS["learning_rate"],
        }
        if self.lgbm_params:
            return {"custom": {**shallow, **self.lgbm_params}}
        return {
            "shallow": shallow,
            "deeper": {
                **shallow,
                "num_leaves": 31,
                "max_depth": -1,
                "extra_trees": False,
                "min_child_samples": int(np.clip(rows * 0.002, MIN_LEAF_ROWS, 100)),
                "learning_rate": 0.1,
            },
        }

    def _cross_fit(
        self, params: dict[str, object], X: pd.DataFrame, y: np.ndarray, folds: np.ndarray
    ) -> tuple[np.ndarray, list[int]]:
        out_of_fold = np.empty(len(y))
        trees = []
        for fold in range(self.calibration_folds):
            held = folds == fold
            train = lgb.Dataset(X[~held], y[~held])
            valid = lgb.Dataset(X[held], y[held], reference=train)
            booster = lgb.train(
                params,
                train,
                num_boost_round=MAX_TREES,
                valid_sets=[valid],
                callbacks=[lgb.early_stopping(EARLY_STOPPING_ROUNDS, verbose=False)],
            )
            out_of_fold[held] = booster.predict(X[held], raw_score=True)
            trees.append(booster.best_iteration or booster.current_iteration())
        return out_of_fold, trees

    def with_amounts(self, deals: pd.DataFrame) -> pd.DataFrame:
        """Deals whose unknown amount is their product's list price (when the model knows it).

        Examples
        --------
        >>> model = WalkawayModel(list_prices={"core": 100.0})
        >>> model.with_amounts(pd.DataFrame({"product": ["Core", "lite"], "amount": [None, None]}))["amount"].tolist()
        [100.0, nan]
        """
        if not self.list_prices or "product" not in deals:
            return deals
        prices = pd.Series(self.list_prices)
        prices.index = normalise_category(pd.Series(prices.index, dtype=object)).to_numpy()
        amount = deals["amount"] if "amount" in deals else pd.Series(np.nan, index=deals.index)
        listed = normalise_category(deals["product"]).map(prices)
        return deals.assign(amount=pd.to_numeric(amount, errors="coerce").fillna(listed))

    @property
    def feature_catalogue(self) -> dict[str, Feature]:
        """Every feature's sign and words: the built-in ones and the mapping's extras."""
        extras = self.features_.named_transformers.get("extra")
        return {**FEATURES, **(extras.catalogue() if extras is not None else {})}

    # ------------------------------------------------------------------ features
    def _encode(self, raw: pd.DataFrame) -> pd.DataFrame:
        """Text features as categories with the training categories (unseen -> missing)."""
        X = raw[self.feature_names_].copy()
        for name, categories in self.categories_.items():
            known = X[name].astype(object).where(X[name].isin(categories))  # unseen -> missing
            X[name] = pd.Categorical(known, categories=categories)
        for name in self.feature_names_:
            if name not in self.categories_:
                X[name] = pd.to_numeric(X[name], errors="coerce").astype(float)
        return X

    def featurise(self, deals: pd.DataFrame, as_of: pd.Timestamp | None = None) -> pd.DataFrame:
        """Raw (unencoded) features of canonical deals as at ``as_of`` (each deal's creation
        date when None, as in training and backtests)."""
        dated = deals.assign(as_of=deals["created_date"] if as_of is None else as_of)
        return self.features_.transform(dated)

    # ------------------------------------------------------------------ scoring
    def explain(self, deals: pd.DataFrame, as_of: pd.Timestamp | None = None) -> dict[str, object]:
        """Per head: raw features, margin, per-feature contributions (bias last)."""
        raw = self.featurise(deals, as_of)
        X = self._encode(raw)
        return {
            "raw": raw,
            "X": X,
            "win_contrib": self.win_head_.contributions(X),
            "regret_contrib": self.regret_head_.contributions(X),
        }

    def predict(
        self,
        deals: pd.DataFrame,
        as_of: pd.Timestamp | pd.Series | None = None,
        timings: dict[str, float] | None = None,
    ) -> pd.DataFrame:
        """Scores, sign effects, reasons and recommendation for canonical deals.

        Returns one row per input row, same index, with ``p_win``, ``p_regret``, ``p_good``,
        ``effect_<group>`` (points of p_good), ``reasons_<group>``, ``recommendation`` and
        ``recommendation_reason``. ``timings``, when given, accumulates the seconds of each
        step (features, treeshap, effects, reasons, recommendation).
        """
        timings = timings if timings is not None else {}
        deals = self.with_amounts(deals)
        with _timed(timings, "features"):
            raw = self.featurise(deals, as_of)
            X = self._encode(raw)
        with _timed(timings, "treeshap"):  # pred_contrib: exact TreeSHAP, all cores
            win_c = self.win_head_.contributions(X)
            regret_c = self.regret_head_.contributions(X)
        with _timed(timings, "effects"):
            win_margin, regret_margin = win_c.sum(axis=1), regret_c.sum(axis=1)
            p_win = self.win_head_.calibrate(win_margin)
            p_regret = self.regret_head_.calibrate(regret_margin)
            calibrators = (self.win_head_.calibrate, self.regret_head_.calibrate)
            sign_effects = effects_on_p_good(
                win_margin,
                by_sign(win_c, self.groups_),
                regret_margin,
                by_sign(regret_c, self.groups_),
                *calibrators,
            )
            feature_effects = pd.DataFrame(
                effects_on_p_good(
                    win_margin, win_c[:, :-1], regret_margin, regret_c[:, :-1], *calibrators
                ),
                columns=self.feature_names_,
                index=deals.index,
            )
        out = pd.DataFrame(index=deals.index)
        out["p_win"] = p_win
        out["p_regret"] = p_regret
        out["p_good"] = p_good(p_win, p_regret)
        for column, group in enumerate(GROUPS):
            out[f"effect_{group}"] = sign_effects[:, column]
        with _timed(timings, "reasons"):
            notes = self._unseen_notes(raw)
            for group in GROUPS:
                out[f"reasons_{group}"] = reasons(
                    feature_effects, raw, self.feature_catalogue, group, notes
                )
        with _timed(timings, "recommendation"):
            amount = pd.to_numeric(deals["amount"], errors="coerce") if "amount" in deals else None
            amount = np.full(len(deals), np.nan) if amount is None else amount.to_numpy(dtype=float)
            what, why = recommend(
                self.policy_,
                p_win,
                p_regret,
                amount,
                pd.DataFrame(sign_effects[:, : len(SIGNS)], columns=list(SIGNS)),
                self._evidence(raw),
            )
        out["recommendation"] = what
        out["recommendation_reason"] = why
        return out

    def _unseen_notes(self, raw: pd.DataFrame) -> pd.DataFrame:
        """Per feature, a note where a deal has a text value never seen in training."""
        notes = pd.DataFrame(index=raw.index, columns=self.feature_names_, dtype=object)
        for name, categories in self.categories_.items():
            values = raw[name]
            unseen = values.notna() & ~values.isin(categories)
            if unseen.any():
                label = self.feature_catalogue[name].label
                notes.loc[unseen, name] = [
                    f"new {label} '{v}' (not seen in training)" for v in values[unseen]
                ]
        known_products = self.features_.named_transformers["need_fit"].capabilities_by_product_
        if known_products and "capability_coverage" in raw and "product" in raw:
            unknown = raw["product"].notna() & raw["capability_coverage"].isna()
            unknown &= ~raw["product"].isin(list(known_products))
            notes.loc[unknown, "capability_coverage"] = [
                f"product '{p}' is not in the catalogue: need fit unknown"
                for p in raw.loc[unknown, "product"]
            ]
        return notes

    def _evidence(self, raw: pd.DataFrame) -> np.ndarray:
        """Share of the available sign inputs (not deal context) known for each deal."""
        catalogue = self.feature_catalogue
        names = [n for n in self.available_features_ if catalogue[n].sign in SIGNS]
        if not names:
            return np.ones(len(raw))
        return raw[names].notna().mean(axis=1).to_numpy()


def single_feature_auc(X: pd.DataFrame, y: np.ndarray) -> pd.Series:
    """How well each feature alone separates the classes (ROC AUC folded to >= 0.5).

    Text features are target-encoded out of fold first, so a many-valued column cannot look
    predictive by memorising the labels.
    """
    scores = {}
    for name in X.columns:
        column = X[name]
        known = column.notna().to_numpy()
        if known.sum() < 20 or len(np.unique(y[known])) < 2:
            continue
        if isinstance(column.dtype, pd.CategoricalDtype):
            score = roc_auc_score(y[known], out_of_fold_rate(column[known], y[known]))
        else:
            score = roc_auc_score(y[known], column[known].to_numpy())
        scores[name] = max(score, 1 - score)
    return pd.Series(scores, dtype=float).sort_values(ascending=False)


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


def check_leakage(X: pd.DataFrame, y: np.ndarray, head: str) -> None:
    """Stop training when one feature alone predicts the outcome almost perfectly."""
    scores = single_feature_auc(X, y)
    leaks = scores[scores >= LEAK_AUC]
    if len(leaks):
        name, auc = leaks.index[0], leaks.iloc[0]
        raise LeakageError(
            f"feature '{name}' alone predicts the {head} outcome with ROC AUC {auc:.3f}: it looks "
            "known only after the deal closed (e.g. a value that is 0 for every lost deal). "
            "Declare its export column post_outcome in the mapping, or leave it unmapped"
        )
