"""The walkaway model: features for the three signs, two calibrated heads, explanations and the
recommendation policy, in one object that scores raw canonical deals.

- The **win head** learns P(won | still open at its age) from landmark snapshots of closed
  deals (:mod:`walkaway.model.landmarks`): each deal as it stood at creation and at the later
  landmark ages at which it was still open, its features point in time, its age among them.
  An open deal scored at its age on the scoring date gets the chance of winning *given that it
  is still open at that age*.
- The **regret head** learns P(regrettable | won) from matured wins only, as at their creation
  (see :mod:`walkaway.data.labels`): censored wins are left out. Regret is a property of the win,
  not of the age.

Each head chooses its learner (LightGBM tree shapes or a regularised logistic regression) by
honest out-of-fold log loss and is calibrated by cross-fitting (see :mod:`walkaway.model.heads`).
Before any head is fit, the leakage guard (:mod:`walkaway.model.leakage`) stops training on a
feature that gives the outcome away. Text columns become pandas categories here, and only
here, with the categories seen in training; a value never seen is treated as missing and said
so in reasons. The recommendation thresholds are set from out-of-fold predictions, never from
the heads' predictions on the deals they learned from.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TypedDict

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, clone
from sklearn.utils.validation import check_is_fitted

from walkaway.data.cell_values import normalise_category
from walkaway.data.labels import DEFAULT_HORIZON_DAYS, MIN_LOST, MIN_WON
from walkaway.model.candidates import Candidate, candidates
from walkaway.model.cross_fitting import CALIBRATION_FOLDS
from walkaway.model.drift import FeatureProfile
from walkaway.model.explanations import explain_p_good, group_matrix, p_good, reasons
from walkaway.model.features import FEATURES, build_features, with_signs
from walkaway.model.features.deal_age import FEATURES as AGE_FEATURES
from walkaway.model.heads import Head, NotEnoughData, fit_head
from walkaway.model.landmarks import snapshots
from walkaway.model.leakage import LeakageError, refuse_leaks, refuse_post_close_names
from walkaway.model.recommendation import Policy, recommend
from walkaway.model.splits import sample_rows
from walkaway.signs import GROUPS, SIGNS, Feature

MIN_REGRET_CLASS = 40

__all__ = [
    "DealExplanation",
    "HeadChoice",
    "LeakageError",
    "ModelEvaluation",
    "NotEnoughData",
    "WalkawayModel",
]


class HeadChoice(TypedDict):
    """The learners a head chose (candidate names, None for a learner not kept) and their blend
    weight: what a refit must choose again (``head_shapes``)."""

    trees: str | None
    linear: str | None
    tree_weight: float


class DealExplanation(TypedDict):
    """What :meth:`WalkawayModel.explain` gives for some deals, row for row."""

    raw: pd.DataFrame  # the features as computed
    X: pd.DataFrame  # the features as the heads read them
    win_contrib: np.ndarray  # per-feature contributions to the win head's margin, bias last
    regret_contrib: np.ndarray  # the same for the regret head


class ModelEvaluation(TypedDict):
    """The holdout evaluation a trained model carries (its ``evaluation_``)."""

    metrics: pd.DataFrame  # one row per (head, predictor)
    calibration: dict[str, dict[str, pd.DataFrame]]  # reliability curves per head and predictor
    sign_importance: pd.Series  # mean absolute effect of each group on p_good, in points


class _HeadOptions(TypedDict, total=False):
    """What a head may choose from: its candidate learners and blend weights."""

    pool: list[Candidate]
    weights: tuple[float, ...]


@contextmanager
def _timed(timings: dict[str, float], step: str) -> Iterator[None]:
    """Add the seconds spent in the block to ``timings[step]``."""
    started = time.perf_counter()
    try:
        yield
    finally:
        timings[step] = timings.get(step, 0.0) + time.perf_counter() - started


class WalkawayModel(BaseEstimator):
    """Both heads, their features, explainer and recommendation policy.

    Parameters
    ----------
    catalogue
        Product -> capabilities text; the catalogue that need fit is judged against.
    calibration
        ``"sigmoid"`` (Platt) or ``"isotonic"``.
    calibration_folds
        Folds (time-ordered when there are dates) whose out-of-fold margins choose each head's
        learner and fit its calibrator (at most three on a head of more than 50,000 rows).
    lgbm_params
        LightGBM settings set by hand: the shallow tree shape with them is then the only
        candidate.
    policy_overrides
        Thresholds of :class:`~walkaway.model.recommendation.Policy` set by hand.
    horizon_days
        Regret horizon the labels were made with (recorded with the model).
    extra_features
        A mapping's extra columns: canonical name -> (sign, export name).
    list_prices
        Product -> list price: the value of a deal whose amount is unknown.
    head_shapes
        Head name (``win``, ``regret``) -> what it must choose: ``{"trees": shape or None,
        "linear": logistic model or None, "tree_weight": w}``. The refit after evaluation keeps
        the choices the evaluated model made.
    age_aware
        Learn from landmark snapshots with the deal's age among the features (the default);
        False learns from each deal as at its creation, blind to age (the model before issue
        11, which the benchmarks compare with).
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
        head_shapes: dict[str, HeadChoice] | None = None,
        age_aware: bool = True,
        signs: dict[str, str] | None = None,
        spellings: dict[str, dict[str, str]] | None = None,
    ):
        self.catalogue = catalogue
        self.calibration = calibration
        self.calibration_folds = calibration_folds
        self.lgbm_params = lgbm_params
        self.policy_overrides = policy_overrides
        self.horizon_days = horizon_days
        self.extra_features = extra_features
        self.list_prices = list_prices
        self.head_shapes = head_shapes
        self.age_aware = age_aware
        self.signs = signs  # canonical column -> the sign its features count in (the mapping's)
        self.spellings = spellings  # category column -> {compared value: the export's spelling}

    # ------------------------------------------------------------------ fitting
    def fit(self, labelled: pd.DataFrame) -> WalkawayModel:
        """Learn from labelled deals (see :func:`walkaway.data.labels.label_deals`) with their
        account firmographics. Only closed deals are used: the win head learns from their
        landmark snapshots (only creation when the model is not ``age_aware``), the regret head
        and the leakage guard see each deal as at its creation.

        Raises
        ------
        NotEnoughData
            Fewer than 40 won or 40 lost closed deals.
        LeakageError
            A feature that alone, by its values or by being filled, predicts an outcome almost
            perfectly; or an extra feature named like a measure of the sales process.
        """
        closed = self._closed(labelled)
        snaps = self.snapshots(closed)
        X, X_snaps = self._fit_features(closed, snaps)
        for guard in self._guards(X, closed):
            guard()
        y_win = snaps["won"].to_numpy()
        deal_of_snapshot = closed.index.get_indexer(snaps["deal_row"])
        self.win_head_, p_win = fit_head(
            "win",
            X_snaps,
            y_win,
            snaps["closed_date"],
            self.calibration,
            self.calibration_folds,
            groups=deal_of_snapshot,
            **self._choices("win", len(y_win)),
        )
        self.snapshot_rows_ = len(snaps)
        matured = closed["regret_label"].notna().to_numpy()
        y_regret = closed["regret_label"].to_numpy()[matured]
        regrets = int(y_regret.sum())
        if regrets >= MIN_REGRET_CLASS and len(y_regret) - regrets >= MIN_REGRET_CLASS:
            self.regret_head_, p_regret_matured = fit_head(
                "regret",
                X[matured],
                y_regret,
                closed.loc[matured, "closed_date"],
                self.calibration,
                self.calibration_folds,
                **self._choices("regret", len(y_regret)),
            )
            # Deals the regret head did not learn from (lost, censored) are out of its sample;
            # matured wins get their out-of-fold probability (on a head so large that its
            # cross-fitting used a sample, those left out keep the head's own prediction).
            p_regret = self.regret_head_.calibrate(self.regret_head_.margin(X))
            p_regret[matured] = np.where(
                np.isnan(p_regret_matured), p_regret[matured], p_regret_matured
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
            p_regret = np.full(len(X), rate)

        # The policy's quantiles, on the snapshots (deals at the ages they are scored at) the
        # win head predicted out of fold: no more rows are needed than its seeded sample.
        rows = sample_rows(len(snaps))
        rows = rows[~np.isnan(p_win[rows])]
        # An export without amounts: no expected return, so glass walls never say compete.
        known = "amount" in snaps
        amount = (
            snaps["amount"].to_numpy(dtype=float)[rows] if known else np.full(len(rows), np.nan)
        )
        policy = Policy.from_training(
            p_win[rows], p_regret[deal_of_snapshot[rows]], amount, self.regret_head_.base_rate
        )
        self.policy_ = policy.with_overrides(self.policy_overrides or {})
        self.trained_until_ = closed["closed_date"].max()
        self.regret_trained_until_ = (
            closed.loc[matured, "closed_date"].max() if matured.any() else pd.NaT
        )
        return self

    def refit_copy(self) -> WalkawayModel:
        """An unfitted copy with the same settings that keeps the learners (and blend weight)
        this fitted model chose: the refit on every closed deal once the holdouts have judged
        this one."""
        shapes = {
            head.name: head.choice for head in (self.win_head_, self.regret_head_) if head.trained
        }
        return clone(self).set_params(head_shapes=shapes)

    def leak_refusals(self, labelled: pd.DataFrame) -> list[str]:
        """What the leakage guard would stop training with on these labelled deals, without
        fitting any head: one message per head (and for names of the sales process), or none."""
        closed = self._closed(labelled)
        X, _ = self._fit_features(closed)
        refusals = []
        for guard in self._guards(X, closed):
            try:
                guard()
            except LeakageError as error:
                refusals.append(str(error))
        return refusals

    def snapshots(self, closed: pd.DataFrame) -> pd.DataFrame:
        """The win head's rows: landmark snapshots of closed deals when the model is
        ``age_aware`` (see :func:`walkaway.model.landmarks.snapshots`), else each deal at creation."""
        return snapshots(closed) if self.age_aware else snapshots(closed, ages=(0,))

    def _closed(self, labelled: pd.DataFrame) -> pd.DataFrame:
        """The closed deals to learn from, checked for size and settings."""
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
        return closed

    def _fit_features(
        self, closed: pd.DataFrame, snaps: pd.DataFrame | None = None
    ) -> tuple[pd.DataFrame, pd.DataFrame | None]:
        """Fit the feature pipeline on closed deals; their encoded features as at creation,
        and those of their snapshots (when given) as at each snapshot's day. Text categories
        are those seen at either: a stage is only ever reached after creation."""
        # A deal-history table (stage changes) gives the deal's progress; only with ages.
        self.progress_ = bool(
            self.age_aware and "stage_history" in closed and closed["stage_history"].notna().any()
        )
        self.features_ = build_features(
            self.catalogue, self.extra_features, age=self.age_aware, progress=self.progress_
        ).fit(closed)
        raw = self.features_.transform(closed.assign(as_of=closed["created_date"]))
        raw_snaps = None if snaps is None else self.features_.transform(snaps)
        seen = raw if raw_snaps is None else pd.concat([raw, raw_snaps], ignore_index=True)
        self.feature_names_ = list(raw.columns)
        self.categories_ = {
            name: sorted(seen[name].dropna().unique().tolist())
            for name in self.feature_names_
            if seen[name].dtype == object
        }
        # Features the export never fills carry no evidence: leave them out of "thin evidence".
        self.available_features_ = [n for n in self.feature_names_ if seen[n].notna().any()]
        self.groups_ = group_matrix(self.feature_names_, self.feature_catalogue)
        # What the win head learned from (the snapshots, at the ages deals are scored at): the
        # baseline the batch job measures the pipeline's drift against.
        catalogue = self.feature_catalogue
        self.feature_profile_ = FeatureProfile.of(
            raw if raw_snaps is None else raw_snaps,
            {name: catalogue[name].sign for name in self.feature_names_ if name in catalogue},
        )
        return self._encode(raw), (None if raw_snaps is None else self._encode(raw_snaps))

    def _guards(self, X: pd.DataFrame, closed: pd.DataFrame) -> list[Callable[[], object]]:
        """The leakage guard's checks, each raising :class:`LeakageError`: extra features
        named like the sales process, then leaks of the win and the regret outcome."""
        names = {name: export for name, (_, export) in (self.extra_features or {}).items()}
        matured = closed["regret_label"].notna().to_numpy()
        y_regret = closed["regret_label"].to_numpy()[matured]
        checks: list[Callable[[], object]] = [
            lambda: refuse_post_close_names(self.extra_features),
            lambda: refuse_leaks(X, closed["won"].to_numpy(), "win", names),
        ]
        if len(np.unique(y_regret)) == 2:
            checks.append(lambda: refuse_leaks(X[matured], y_regret, "regret", names))
        return checks

    def _choices(self, head: str, rows: int) -> _HeadOptions:
        """The candidates a head may choose from and the blend weights it may use: all of them,
        or only what ``head_shapes`` fixes for it."""
        pool = candidates(rows, self.lgbm_params)
        fixed = (self.head_shapes or {}).get(head)
        if fixed is None:
            return {"pool": pool}
        names = {name for name in (fixed["trees"], fixed["linear"]) if name is not None}
        chosen = [c for c in pool if c.name in names]
        if len(chosen) != len(names):
            raise ValueError(f"the {head} head has no candidates named {sorted(names)}")
        return {"pool": chosen, "weights": (float(fixed["tree_weight"]),)}

    def _as_spelled(self, raw: pd.DataFrame) -> pd.DataFrame:
        """Feature values with categories in the training export's spelling ("Product D"),
        for reasons; values it never held stay as compared (lower case)."""
        spellings = getattr(self, "spellings", None) or {}  # older models: none
        said = raw
        for column, spelled in spellings.items():
            if column in raw and not pd.api.types.is_numeric_dtype(raw[column]):
                said = said if said is not raw else raw.copy()
                values = raw[column].astype(object)
                said[column] = values.map(
                    lambda v, s=spelled: s.get(v, v) if isinstance(v, str) else v
                )
        return said

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
        built_in = with_signs(FEATURES, getattr(self, "signs", None))  # older models: none
        return {**built_in, **(extras.catalogue() if extras is not None else {})}

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

    def featurise(
        self, deals: pd.DataFrame, as_of: pd.Timestamp | pd.Series | None = None
    ) -> pd.DataFrame:
        """Raw (unencoded) features of canonical deals as at ``as_of`` (a date, or one per
        deal; each deal's creation date when None, as for the regret head: age 0)."""
        dated = deals.assign(as_of=deals["created_date"] if as_of is None else as_of)
        return self.features_.transform(dated)

    def encoded_features(
        self, deals: pd.DataFrame, as_of: pd.Timestamp | pd.Series | None = None
    ) -> pd.DataFrame:
        """The features the heads see (text as the training categories) of canonical deals,
        as at ``as_of`` (each deal's creation date when None)."""
        check_is_fitted(self)
        return self._encode(self.featurise(deals, as_of))

    # ------------------------------------------------------------------ scoring
    def predict_probabilities(
        self, deals: pd.DataFrame, as_of: pd.Timestamp | pd.Series | None = None
    ) -> pd.DataFrame:
        """``p_win``, ``p_regret`` and ``p_good`` of canonical deals, without explanations:
        the same numbers as :meth:`predict` at a fraction of the cost (TreeSHAP costs tens of
        predictions, hundreds on deep trees), for evaluating on many deals."""
        check_is_fitted(self)
        X = self.encoded_features(self.with_amounts(deals), as_of)
        p_win = self.win_head_.calibrate(self.win_head_.margin(X))
        p_regret = self.regret_head_.calibrate(self.regret_head_.margin(X))
        return pd.DataFrame(
            {"p_win": p_win, "p_regret": p_regret, "p_good": p_good(p_win, p_regret)},
            index=deals.index,
        )

    def explain(self, deals: pd.DataFrame, as_of: pd.Timestamp | None = None) -> DealExplanation:
        """Per head: raw features, margin, per-feature contributions (bias last)."""
        check_is_fitted(self)
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
        on_features: Callable[[pd.DataFrame], None] | None = None,
    ) -> pd.DataFrame:
        """Scores, sign effects, reasons and recommendation for canonical deals.

        Returns one row per input row, same index, with ``p_win``, ``p_regret``, ``p_good``,
        ``p_good_base`` (p_good at the base margins), ``effect_<group>`` (points of p_good:
        p_good = p_good_base + their sum / 100), ``reasons_<group>``, ``recommendation`` and
        ``recommendation_reason``. ``timings``, when given, accumulates the seconds of each
        step (features, treeshap, effects, reasons, recommendation). ``on_features``, when
        given, is called with the deals' features as computed (before encoding), as the batch
        job's drift counter needs them.
        """
        check_is_fitted(self)
        timings = timings if timings is not None else {}
        deals = self.with_amounts(deals)
        with _timed(timings, "features"):
            raw = self.featurise(deals, as_of)
            X = self._encode(raw)
        if on_features is not None:
            on_features(raw)
        with _timed(timings, "treeshap"):  # pred_contrib: exact TreeSHAP, all cores
            win_c = self.win_head_.contributions(X)
            regret_c = self.regret_head_.contributions(X)
        with _timed(timings, "effects"):
            win_margin, regret_margin = win_c.sum(axis=1), regret_c.sum(axis=1)
            p_win = self.win_head_.calibrate(win_margin)
            p_regret = self.regret_head_.calibrate(regret_margin)
            points = explain_p_good(
                win_c, regret_c, self.groups_, self.win_head_.calibrate, self.regret_head_.calibrate
            )
            effects = pd.DataFrame(points.groups, columns=list(GROUPS), index=deals.index)
            feature_points = pd.DataFrame(
                points.features, columns=self.feature_names_, index=deals.index
            )
        out = pd.DataFrame(index=deals.index)
        out["p_win"] = p_win
        out["p_regret"] = p_regret
        out["p_good"] = p_good(p_win, p_regret)
        out["p_good_base"] = points.base  # p_good = p_good_base + the effects / 100
        for group in GROUPS:
            out[f"effect_{group}"] = effects[group]
        with _timed(timings, "reasons"):
            notes = self._unseen_notes(raw)
            said = self._as_spelled(raw)
            for group in GROUPS:
                out[f"reasons_{group}"] = reasons(
                    feature_points, said, self.feature_catalogue, group, notes
                )
        with _timed(timings, "recommendation"):
            amount = pd.to_numeric(deals["amount"], errors="coerce") if "amount" in deals else None
            amount = np.full(len(deals), np.nan) if amount is None else amount.to_numpy(dtype=float)
            what, why = recommend(
                self.policy_,
                p_win,
                p_regret,
                amount,
                effects,
                self._evidence(raw),
                self._age(raw, feature_points),
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

    def _age(self, raw: pd.DataFrame, feature_points: pd.DataFrame) -> pd.DataFrame | None:
        """Each deal's age, against deals like it, and the points of p_good it costs (None
        for a model blind to age)."""
        names = [n for n in AGE_FEATURES if n in feature_points]
        if len(names) < len(AGE_FEATURES):
            return None
        return pd.DataFrame(
            {
                "days_open": raw["days_open"].to_numpy(dtype=float),
                "days_open_vs_usual": raw["days_open_vs_usual"].to_numpy(dtype=float),
                "points": feature_points[names].sum(axis=1).to_numpy(dtype=float),
            },
            index=raw.index,
        )

    def _evidence(self, raw: pd.DataFrame) -> np.ndarray:
        """Share of the available sign inputs (not deal context) known for each deal."""
        catalogue = self.feature_catalogue
        names = [n for n in self.available_features_ if catalogue[n].sign in SIGNS]
        if not names:
            return np.ones(len(raw))
        return raw[names].notna().mean(axis=1).to_numpy()
