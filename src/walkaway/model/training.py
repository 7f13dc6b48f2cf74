"""The training job's logic: split by time, fit, evaluate honestly against baselines, refit.

:func:`train_and_evaluate` is pure (no files, no MLflow): given a checked history it returns the
fitted model with everything a training run reports. The CLI wires it to reading the export
and to the registry.

The holdouts judge the *procedure*: a model fitted without them. The model then registered is
the same procedure refit on every closed deal (every matured win for the regret head), keeping
the learners the evaluation chose, so that its history features (earlier wins at an account,
the seller's record, the ICP) reach the export date instead of stopping at the holdout's
cut-off. Its holdout metrics are those of the evaluated fit: the estimate of how it does.

Holdouts (DESIGN section 5):

- win head: the newest ``holdout_share`` of the closed deals' landmark snapshots by snapshot
  date (each deal at creation and at every landmark age it was still open at, see
  :func:`walkaway.model.landmarks.snapshots`), so the figures say how p_win does at every age, and
  by age band (:data:`walkaway.model.landmarks.AGE_BANDS`). The model they judge learns only from
  deals closed before the first of them (the cut-off): no outcome known after it;
- regret head: the newest ``holdout_share`` of *matured* wins by close date (younger wins
  have no known regret yet, so they cannot judge it), as at their creation.

Neither holdout is seen by the model it judges: holdout deals are left out of fitting, and
regret-holdout wins give the regret head no label. Deals open on the cut-off or created since
that are still open at the export have no outcome yet and cannot be in the win holdout; as
wins and losses take different times, the holdout leans towards the quicker outcome, and the
training summary says how many deals that leaves out.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TypedDict, Unpack

import numpy as np
import pandas as pd

from walkaway.data.column_signal import LEAK_AUC
from walkaway.data.history import Fingerprint, History
from walkaway.data.labels import HOLDOUT_SHARE, MIN_LOST, MIN_WON
from walkaway.data.synth import p_win_at_age
from walkaway.model.evaluation import (
    logistic_baseline,
    predict_baseline,
    probability_metrics,
    reliability_curve,
    sign_attribution,
)
from walkaway.model.landmarks import AGE_BAND_LABELS, LANDMARK_AGES, age_band, snapshots
from walkaway.model.splits import newest_split, sample_rows
from walkaway.model.walkaway_model import (
    HeadChoice,
    ModelEvaluation,
    NotEnoughData,
    WalkawayModel,
)
from walkaway.signs import GROUPS, SIGNS

# Sign importance and attribution are means over deals: a seeded sample of this many holdout
# deals measures them to well under a point, and explaining every deal of a deep model's
# holdout would cost far more than training it (TreeSHAP on deep trees costs a hundred
# predictions or more).
EXPLAINED_ROWS = 5_000


class RunFingerprint(Fingerprint):
    """The data's fingerprint plus how many wins the regret head could and could not learn from."""

    data_censored_wins: int
    data_matured_wins: int


@dataclass
class Holdout:
    """One head's holdout: its deals, their labels, and every predictor's probabilities."""

    deals: pd.DataFrame
    y: np.ndarray
    predictions: dict[str, np.ndarray] = field(default_factory=dict)

    def metrics(self) -> pd.DataFrame:
        rows = {name: probability_metrics(self.y, p) for name, p in self.predictions.items()}
        return pd.DataFrame(rows).T.rename_axis("predictor")

    def metrics_by_age(self) -> pd.DataFrame:
        """Every predictor's metrics per age band of the snapshots (with the band's count)."""
        if "snapshot_age" not in self.deals:
            return pd.DataFrame()
        bands = age_band(self.deals["snapshot_age"]).to_numpy()
        tables = []
        for band in AGE_BAND_LABELS:
            rows = bands == band
            if rows.sum() < 2:
                continue
            table = pd.DataFrame(
                {
                    name: probability_metrics(self.y[rows], p[rows])
                    for name, p in self.predictions.items()
                }
            ).T
            tables.append(table.assign(age_band=band, deals=int(rows.sum())))
        if not tables:
            return pd.DataFrame()
        return (
            pd.concat(tables)
            .rename_axis("predictor")
            .reset_index()
            .set_index(["age_band", "predictor"])
        )


@dataclass
class TrainingResult:
    """A fitted model and what its training run reports."""

    model: WalkawayModel  # the model to register: refit on every closed deal unless asked not to
    win: Holdout
    regret: Holdout | None
    sign_effects: pd.DataFrame  # effect of each group on p_good: a sample of win-holdout deals
    attribution: dict[str, float] | None
    fingerprint: RunFingerprint
    notes: list[str]
    # The model the holdouts judged (fitted without them); ``model`` is the one to register.
    evaluated_model: WalkawayModel | None = None
    # Why this run must never be promoted automatically (empty when nothing looks leaked).
    suspected_leak: str = ""
    export_date: pd.Timestamp | None = None  # the day the labels are as of
    export_date_set: bool = False  # True: the mapping set it; else the latest real event
    censored_wins: int = 0  # wins younger than the regret horizon: no regret label yet
    holdout_cutoff: pd.Timestamp | None = None  # the win holdout's first snapshot day
    still_open: int = 0  # deals open on the cut-off or created since, still open at the export

    def labels_summary(self) -> str:
        """The export date the labels are as of, where it came from, and the censored wins."""
        if self.export_date is None or pd.isna(self.export_date):
            return "The export has no dates: no win can be known to have matured"
        origin = (
            "set by the mapping"
            if self.export_date_set
            else "its latest real event: a creation, a close or a churn, never an open deal's "
            "expected close"
        )
        wins = int(self.fingerprint.get("data_won", 0))
        return (
            f"Labels as of {self.export_date.date()} ({origin}): {self.censored_wins:,} of "
            f"{wins:,} wins are younger than the {self.model.horizon_days}-day regret horizon, "
            "censored (left out of the regret head)"
        )

    def holdout_summary(self) -> str:
        """What the win holdout is, and the deals it cannot hold because they are still open."""
        if self.holdout_cutoff is None or pd.isna(self.holdout_cutoff):
            return f"Win holdout: {len(self.win.y):,} closed deals at creation (no dates: no ages)"
        deals = self.win.deals["deal_row"].nunique() if "deal_row" in self.win.deals else 0
        return (
            f"Win holdout: the newest {len(self.win.y):,} snapshots, dated from "
            f"{self.holdout_cutoff.date()}, of {deals:,} deals (each at creation and at the "
            f"landmark ages it was still open at); the model they judge learned from deals "
            f"closed before that day. {self.still_open:,} deals open on that day or created "
            "since are still open at the export: no outcome yet, so not in it (the holdout "
            "leans towards the quicker outcome)"
        )

    def metrics_table(self) -> pd.DataFrame:
        """Holdout metrics, one row per (head, predictor)."""
        tables = [self.win.metrics().assign(head="win")]
        if self.regret is not None:
            tables.append(self.regret.metrics().assign(head="regret"))
        table = pd.concat(tables).reset_index().set_index(["head", "predictor"])
        return table

    def sign_importance(self) -> pd.Series:
        """Mean absolute effect on p_good (points) of each group over the win holdout."""
        return self.sign_effects.abs().mean().rename("mean_abs_points")

    def calibration_curves(self) -> dict[str, dict[str, pd.DataFrame]]:
        """Reliability curves per head and predictor (for the calibration plots)."""
        curves = {}
        for head, holdout in (("win", self.win), ("regret", self.regret)):
            if holdout is not None and len(holdout.y) >= 20:
                curves[head] = {
                    n: reliability_curve(holdout.y, p) for n, p in holdout.predictions.items()
                }
        return curves


def train_and_evaluate(
    history: History,
    truth: pd.DataFrame | None = None,
    holdout_share: float = HOLDOUT_SHARE,
    model: WalkawayModel | None = None,
    refit: bool = True,
) -> TrainingResult:
    """Label, split by time, fit the two heads, evaluate them on the newest deals, and refit
    on every closed deal.

    Parameters
    ----------
    history
        A checked CRM history (see :func:`walkaway.data.exports.load_history`).
    truth
        Optional true probabilities per ``deal_id`` (a synthetic history's ``truth.parquet``):
        adds the ceiling to the metrics and measures sign attribution.
    model
        An unfitted :class:`WalkawayModel` with non-default settings.
    refit
        False keeps the evaluated model (fitted without the holdouts) as the one to register:
        for experiments that need the registered model to be exactly the judged one.
    """
    labelled = history.labelled()
    closed = labelled[labelled["won"].notna()]
    refusal = too_few_deals(closed, history.source, holdout_share)
    if refusal:
        raise NotEnoughData(refusal)
    train, win_holdout, regret_holdout = split_holdouts(closed, holdout_share)
    model = model or model_for(history)
    evaluated = model.fit(train)
    notes = list(history.notes)
    if closed["closed_date"].isna().all():
        notes.append(
            "the export has no dates: the holdouts are stratified random samples (no time "
            "order is known), and history features (earlier wins, the seller's record, the ICP) "
            "cannot be computed point in time, so they stay empty"
        )

    cutoff = win_holdout["as_of"].min()
    win = Holdout(win_holdout, win_holdout["won"].to_numpy())
    win.predictions["walkaway"] = evaluated.predict_probabilities(
        win_holdout, win_holdout["as_of"]
    )["p_win"].to_numpy()
    learned = evaluated.snapshots(train)  # the rows the win head learned from
    X_learned = evaluated.encoded_features(learned, learned["as_of"])
    baseline = logistic_baseline(X_learned, learned["won"].to_numpy())
    win.predictions["logistic"] = predict_baseline(
        baseline, evaluated.encoded_features(win_holdout, win_holdout["as_of"])
    )
    win.predictions["base_rate"] = np.full(len(win_holdout), learned["won"].mean())
    X_train = evaluated.encoded_features(train)
    still_open = 0
    if pd.notna(cutoff):
        open_deals = labelled[labelled["outcome"].eq("open")]
        still_open = int(open_deals["created_date"].notna().sum())

    regret = None
    if (
        evaluated.regret_head_.trained
        and len(regret_holdout)
        and regret_holdout["regret_label"].nunique() == 2
    ):
        regret = Holdout(regret_holdout, regret_holdout["regret_label"].to_numpy())
        regret.predictions["walkaway"] = evaluated.predict_probabilities(regret_holdout)[
            "p_regret"
        ].to_numpy()
        learns = train["regret_label"].notna().to_numpy()
        regret_baseline = logistic_baseline(
            X_train[learns], train.loc[learns, "regret_label"].to_numpy()
        )
        regret.predictions["logistic"] = predict_baseline(
            regret_baseline, evaluated.encoded_features(regret_holdout)
        )
        regret.predictions["base_rate"] = np.full(
            len(regret_holdout), train.loc[learns, "regret_label"].mean()
        )

    # Sign effects as at creation, as the truth's are: what the signs do, whatever the age.
    holdout_deals = closed.loc[win_holdout["deal_row"].unique()]
    explained = holdout_deals.iloc[sample_rows(len(holdout_deals), EXPLAINED_ROWS)]
    effects = evaluated.predict(explained)[[f"effect_{g}" for g in GROUPS]]
    sign_effects = effects.set_axis(list(GROUPS), axis=1)
    attribution = None
    if truth is not None:
        attribution = _add_truth(truth, win, regret, sign_effects, explained)

    final = evaluated.refit_copy().fit(closed) if refit else evaluated
    notes += [head.note for head in (final.win_head_, final.regret_head_) if head.note]
    if refit:
        notes.append(
            f"the registered model is refit on all {len(closed):,} closed deals (the holdouts "
            "included) with the learners the evaluation chose; the holdout metrics estimate it"
        )
    censored = int(closed["regret_status"].eq("censored").sum())
    fingerprint: RunFingerprint = {
        **history.fingerprint(),
        "data_censored_wins": censored,
        "data_matured_wins": int(closed["regret_label"].notna().sum()),
    }
    result = TrainingResult(
        final,
        win,
        regret,
        sign_effects,
        attribution,
        fingerprint,
        notes,
        evaluated_model=evaluated,
        export_date=history.export_date,
        export_date_set=history.mapping.export_date is not None,
        censored_wins=censored,
        holdout_cutoff=cutoff,
        still_open=still_open,
    )
    result.suspected_leak = suspected_leak(result)
    # The model carries its own evaluation, so any report made with it can show how it did.
    final.evaluation_ = ModelEvaluation(
        metrics=result.metrics_table(),
        calibration=result.calibration_curves(),
        sign_importance=result.sign_importance(),
    )
    return result


class ModelSettings(TypedDict, total=False):
    """The :class:`WalkawayModel` settings that do not come from the history."""

    calibration: str
    calibration_folds: int
    lgbm_params: dict[str, object] | None
    policy_overrides: dict[str, float] | None
    head_shapes: dict[str, HeadChoice] | None
    age_aware: bool


def model_for(history: History, **settings: Unpack[ModelSettings]) -> WalkawayModel:
    """An unfitted model set up for a history: its catalogue, list prices, regret horizon and
    the mapping's extra features (plus any other :class:`WalkawayModel` settings)."""
    return WalkawayModel(
        catalogue=history.catalogue(),
        horizon_days=history.mapping.regret_horizon_days,
        extra_features=history.mapping.extra_features() or None,
        list_prices=history.list_prices() or None,
        signs=history.mapping.signs or None,
        spellings=history.spellings or None,
        **settings,
    )


def suspected_leak(result: TrainingResult) -> str:
    """Why a run looks leaked though no single feature gave the outcome away (empty when it
    does not): sales outcomes are never predictable almost perfectly, so a head that ranks its
    holdout with ROC AUC >= :data:`walkaway.data.column_signal.LEAK_AUC` has found a combination of
    columns known only after the close."""
    reasons = []
    for head, holdout in (("win", result.win), ("regret", result.regret)):
        if holdout is None:
            continue
        auc = probability_metrics(holdout.y, holdout.predictions["walkaway"])["roc_auc"]
        if pd.notna(auc) and auc >= LEAK_AUC:
            reasons.append(
                f"the {head} head ranks its holdout with ROC AUC {auc:.3f}: too good to be true "
                "for sales outcomes, so some columns together probably give the outcome away"
            )
    return "; ".join(reasons)


def too_few_deals(
    closed: pd.DataFrame, source: str, holdout_share: float = HOLDOUT_SHARE
) -> str | None:
    """Why training refuses ``closed`` (labelled closed deals) for having too few, or None.

    The heads learn from the deals before the newest ``holdout_share`` held out to evaluate
    them, so that is where the minimum of won and lost deals is counted; the message gives
    both counts, so that "40 lost" in the export and "33 lost" to learn from agree.
    """
    won = int(closed["won"].sum())
    lost = len(closed) - won
    needed = (
        f"walkaway needs at least {MIN_WON} won and {MIN_LOST} lost closed deals to learn from, "
        f"besides the newest {holdout_share:.0%} it holds out to evaluate on"
    )
    if won < MIN_WON or lost < MIN_LOST:
        return f"{needed}; {source} has {won} won and {lost} lost in all"
    train, _, _ = split_holdouts(closed, holdout_share)
    train_won = int(train["won"].sum())
    train_lost = len(train) - train_won
    if train_won < MIN_WON or train_lost < MIN_LOST:
        return (
            f"{needed}; {source} has {won} won and {lost} lost in all, {train_won} won and "
            f"{train_lost} lost before the holdout"
        )
    return None


def split_holdouts(
    closed: pd.DataFrame, holdout_share: float = HOLDOUT_SHARE
) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """Training deals, the win holdout and the regret holdout of labelled closed deals.

    The win holdout is the newest ``holdout_share`` of the closed deals' landmark snapshots
    (every landmark: each row one scoring situation) by snapshot date; the training deals are
    those closed before the first of them, so nothing learned was known after it. Without
    dates, it is a stratified random ``holdout_share`` of the deals, each at creation. The
    regret holdout is the newest ``holdout_share`` of matured wins by close date; training
    deals among them lose their regret label, so the regret head never learns from the wins
    that judge it. Anyone comparing against walkaway (the benchmarks' peer recipes) uses this
    same split.
    """
    if closed["closed_date"].isna().all():
        _, held = newest_split(closed["closed_date"], holdout_share, closed["won"].to_numpy())
        # Each deal at creation, its age unknown (no dates): no age band.
        win_holdout = snapshots(closed[held], ages=(0,)).assign(snapshot_age=np.nan)
        train = closed[~held].copy()
    else:
        rows = snapshots(closed, max_snapshots=len(LANDMARK_AGES))
        _, newest = newest_split(rows["as_of"], holdout_share)
        win_holdout = rows[newest].reset_index(drop=True)
        train = closed[closed["closed_date"] < win_holdout["as_of"].min()].copy()
    matured = closed[closed["regret_label"].notna()]
    _, regret_holdout_rows = newest_split(
        matured["closed_date"], holdout_share, matured["regret_label"].to_numpy()
    )
    regret_holdout = matured[regret_holdout_rows]
    train.loc[train.index.isin(regret_holdout.index), "regret_label"] = np.nan
    return train, win_holdout, regret_holdout


def _add_truth(
    truth: pd.DataFrame,
    win: Holdout,
    regret: Holdout | None,
    sign_effects: pd.DataFrame,
    explained: pd.DataFrame,
) -> dict[str, float]:
    """Add the true probabilities as the 'truth' predictor (the ceiling: each snapshot's true
    chance given its age) and measure how often the explained most negative sign is the true
    one."""
    truth = truth.set_index("deal_id")
    ages = win.deals["snapshot_age"].fillna(0).to_numpy()
    win.predictions["truth"] = p_win_at_age(truth.loc[win.deals["deal_id"]], ages)
    if regret is not None:
        regret.predictions["truth"] = truth.loc[regret.deals["deal_id"], "p_regret"].to_numpy()
    true_effects = truth.loc[explained["deal_id"], [f"effect_{s}" for s in SIGNS]]
    true_effects = true_effects.set_axis(list(SIGNS), axis=1).set_axis(sign_effects.index)
    return sign_attribution(sign_effects[list(SIGNS)], true_effects)
