"""Model quality and decision value for the benchmarks: walkaway against the ceiling and peers.

The peer recipes are what a data scientist would write first, given the same export and the
same split: a gradient-boosted classifier with its library defaults on the raw canonical
columns (the deal and its account as exported, numbers as numbers, text as categories), with
none of walkaway's sign features (no point-in-time history, no capability coverage, no ICP
similarity). Each head is fit on exactly the rows walkaway's head learns from
(:func:`walkaway.model.training.split_holdouts`) and judged on the same holdout, so the difference
is the value of the sign features and of walkaway's calibration.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import lightgbm as lgb
import numpy as np
import pandas as pd
from sklearn.ensemble import HistGradientBoostingClassifier

from walkaway.data.contracts import ACCOUNT_COLUMNS, DEAL_COLUMNS, EXTRA_PREFIX
from walkaway.data.history import History
from walkaway.model.evaluation import probability_metrics
from walkaway.model.training import TrainingResult, split_holdouts, train_and_evaluate
from walkaway.serving.worklist import rank, work_value

# Not a description of the deal: keys, dates, the outcome, the final stage of a closed deal.
NOT_RAW = frozenset({"deal_id", "account_id", "account_name", "stage"})
# HistGradientBoosting takes at most this many categories per column (its max_bins).
MAX_CATEGORIES = 255
PRIORITY = ("pursue", "compete", "qualify", "keep_presence", "walk_away")
# The decision-value rows of issue 15's worklist target, and the target itself.
WORKLIST = "walkaway worklist (priority)"
ORACLE_VALUE = "oracle: top by true p_good x amount"
ORACLE_P_GOOD = "oracle: top by true p_good"
CAPTURE_TARGET = 0.97  # share of the value oracle's expected good value
REGRET_MARGIN = 0.01  # mean true p_regret above the p_good oracle's


def raw_columns(deals: pd.DataFrame) -> pd.DataFrame:
    """The deal as exported: numbers and yes/no as floats, text as strings (see
    :func:`as_categories`); no keys, dates, outcome, final stage or label-only columns.

    Examples
    --------
    >>> deals = pd.DataFrame({"deal_id": ["d1", "d2"], "amount": [10.0, None],
    ...                       "region": ["EMEA", None], "formal_tender": [True, False],
    ...                       "churn_date": [None, None]})
    >>> raw = raw_columns(deals)
    >>> list(raw.columns), raw["formal_tender"].tolist(), str(raw["region"].dtype)
    (['amount', 'region', 'formal_tender'], [1.0, 0.0], 'string')
    """
    specs = {**ACCOUNT_COLUMNS, **DEAL_COLUMNS}
    columns = [
        c
        for c in deals.columns
        if c.startswith(EXTRA_PREFIX)
        or (
            c in specs
            and c not in NOT_RAW
            and not specs[c].label_only
            and specs[c].kind in ("category", "text", "number", "bool")
        )
    ]
    raw = pd.DataFrame(index=deals.index)
    for column in columns:
        values = deals[column]
        # Canonical columns have a declared kind; an extra column is what its dtype says.
        numeric = pd.api.types.is_numeric_dtype(values)
        kind = specs[column].kind if column in specs else ("number" if numeric else "text")
        if kind == "bool":
            raw[column] = values.map({True: 1.0, False: 0.0})
        elif kind == "number":
            raw[column] = pd.to_numeric(values, errors="coerce").astype(float)
        else:
            raw[column] = values.astype("string")
    return raw


def as_categories(train: pd.DataFrame, other: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Text columns as categories learnt on the training rows (the most frequent
    MAX_CATEGORIES - 1, the rest 'other'); values unseen in training become missing."""
    train, other = train.copy(), other.copy()
    for column in train.columns:
        if pd.api.types.is_numeric_dtype(train[column]):
            continue
        counts = train[column].value_counts()
        kept = list(counts.index[: MAX_CATEGORIES - 1])
        rare = list(counts.index[MAX_CATEGORIES - 1 :])
        categories = kept + ["other"] * bool(rare)
        for frame in (train, other):
            values = frame[column].where(~frame[column].isin(rare), "other")
            values = values.where(values.isin(categories))  # unseen in training: missing
            frame[column] = pd.Categorical(values, categories=categories)
    return train, other


def lightgbm_raw(X: pd.DataFrame, y: np.ndarray) -> Callable[[pd.DataFrame], np.ndarray]:
    """LightGBM with its defaults (100 trees, 31 leaves) on the raw columns."""
    model = lgb.LGBMClassifier(verbose=-1, random_state=7).fit(X, y)
    return lambda rows: model.predict_proba(rows)[:, 1]


def histgradientboosting_raw(
    X: pd.DataFrame, y: np.ndarray
) -> Callable[[pd.DataFrame], np.ndarray]:
    """scikit-learn's HistGradientBoostingClassifier with its defaults on the raw columns."""
    model = HistGradientBoostingClassifier(categorical_features="from_dtype", random_state=7)
    model.fit(X, y)
    return lambda rows: model.predict_proba(rows)[:, 1]


PEERS: dict[str, Callable[[pd.DataFrame, np.ndarray], Callable[[pd.DataFrame], np.ndarray]]] = {
    "lightgbm_raw": lightgbm_raw,
    "histgradientboosting_raw": histgradientboosting_raw,
}


def add_peers(result: TrainingResult, train: pd.DataFrame) -> None:
    """Fit each peer recipe per head on walkaway's training rows; add its holdout predictions
    to ``result`` next to walkaway's."""
    heads = [(result.win, "won", train)]
    if result.regret is not None:
        heads.append((result.regret, "regret_label", train[train["regret_label"].notna()]))
    for holdout, label, rows in heads:
        X_train, X_holdout = as_categories(raw_columns(rows), raw_columns(holdout.deals))
        y = rows[label].to_numpy(dtype=float)
        for name, recipe in PEERS.items():
            holdout.predictions[name] = recipe(X_train, y)(X_holdout)


def train_with_peers(history: History, truth: pd.DataFrame | None = None) -> TrainingResult:
    """Train and evaluate walkaway as `walkaway train` does, with the peers' holdout
    predictions added next to its own."""
    result = train_and_evaluate(history, truth=truth)
    labelled = history.labelled()
    train, _, _ = split_holdouts(labelled[labelled["won"].notna()])
    add_peers(result, train)
    return result


def quality_table(result: TrainingResult, predictors: tuple[str, ...]) -> pd.DataFrame:
    """ROC AUC, log loss and Brier per head and predictor, with the gap to the ceiling (the
    true probabilities, when known) and ratios to walkaway's figures."""
    rows = []
    heads = [("win", result.win), ("regret", result.regret)]
    for head, holdout in heads:
        if holdout is None:
            continue
        metrics = {
            name: probability_metrics(holdout.y, holdout.predictions[name])
            for name in predictors
            if name in holdout.predictions
        }
        ours = metrics["walkaway"]
        ceiling = metrics.get("truth")
        for name, m in metrics.items():
            row = {
                "head": head,
                "predictor": name,
                "deals": len(holdout.y),
                "roc_auc": m["roc_auc"],
                "log_loss": m["log_loss"],
                "brier": m["brier"],
                "log_loss_vs_walkaway": m["log_loss"] / ours["log_loss"],
                "brier_vs_walkaway": m["brier"] / ours["brier"],
            }
            if ceiling is not None:
                row["auc_gap_to_ceiling"] = m["roc_auc"] - ceiling["roc_auc"]
                # How much of the ranking the truth achieves above chance this predictor gets.
                row["share_of_ceiling_lift"] = (m["roc_auc"] - 0.5) / (ceiling["roc_auc"] - 0.5)
            rows.append(row)
    return pd.DataFrame(rows)


@dataclass(frozen=True)
class Outcomes:
    """What happened to each holdout deal, and its true chances (from the truth file)."""

    amount: np.ndarray
    won: np.ndarray
    regrettable: np.ndarray  # a win that turned out regrettable (latent truth, even if censored)
    p_good: np.ndarray  # true P(won and not regrettable)
    p_regret: np.ndarray | None = None  # true P(regrettable | won), when known


def choose(order: np.ndarray, capacity: int) -> np.ndarray:
    """A mask of the first ``capacity`` deals in ``order`` (positions, best first)."""
    chosen = np.zeros(len(order), dtype=bool)
    chosen[order[:capacity]] = True
    return chosen


def walkaway_order(recommendation: np.ndarray, p_good: np.ndarray) -> np.ndarray:
    """Following the recommendations: pursue first, then compete, qualify, keep presence and
    walk away last; within each, the highest p_good first."""
    rank = pd.Series(recommendation).map({r: i for i, r in enumerate(PRIORITY)}).to_numpy()
    return np.lexsort((-p_good, rank))


def decision_value(
    outcomes: Outcomes, selections: dict[str, np.ndarray], work_share: float
) -> pd.DataFrame:
    """Good wins captured, regrettable wins avoided and value won by each way of choosing the
    ``work_share`` of deals the team can work, against working them without triage.

    Without triage the team works a random ``work_share`` of deals, so on average it captures
    that share of everything: computed exactly rather than drawn. A good win is worth its
    amount; a regrettable win is counted as avoided when the deal is not worked. Value won is
    the expected good value, the sum of amount x true p_good over the deals worked. With the
    true p_regret known, ``mean_true_p_regret`` is its mean over the deals worked (NaN else).

    Examples
    --------
    >>> outcomes = Outcomes(amount=np.array([10.0, 10.0, 10.0, 10.0]),
    ...                     won=np.array([True, True, False, False]),
    ...                     regrettable=np.array([False, True, False, False]),
    ...                     p_good=np.array([0.8, 0.3, 0.2, 0.1]))
    >>> table = decision_value(outcomes, {"best": np.array([True, False, True, False])}, 0.5)
    >>> shown = ["good_wins_captured", "regrettable_wins_avoided", "value_vs_no_triage"]
    >>> table.loc["best", shown].round(2).tolist()
    [1.0, 1.0, 1.43]
    >>> table.loc["no triage (random 50% of deals)", shown].round(2).tolist()
    [0.5, 0.5, 1.0]
    """
    good = outcomes.won & ~outcomes.regrettable
    regret = outcomes.won & outcomes.regrettable
    value = outcomes.amount * outcomes.p_good
    p_regret = outcomes.p_regret if outcomes.p_regret is not None else np.full(len(good), np.nan)
    rows = {
        f"no triage (random {work_share:.0%} of deals)": {
            "deals_worked": work_share * len(good),
            "good_wins": work_share * good.sum(),
            "good_wins_captured": work_share,
            "regrettable_wins": work_share * regret.sum(),
            "regrettable_wins_avoided": 1 - work_share,
            "expected_value_won": work_share * value.sum(),
            "mean_true_p_regret": np.mean(p_regret),
        }
    }
    for name, chosen in selections.items():
        rows[name] = {
            "deals_worked": chosen.sum(),
            "good_wins": good[chosen].sum(),
            "good_wins_captured": good[chosen].sum() / max(good.sum(), 1),
            "regrettable_wins": regret[chosen].sum(),
            "regrettable_wins_avoided": 1 - regret[chosen].sum() / max(regret.sum(), 1),
            "expected_value_won": value[chosen].sum(),
            "mean_true_p_regret": np.mean(p_regret[chosen]) if chosen.any() else np.nan,
        }
    table = pd.DataFrame(rows).T.rename_axis("strategy")
    baseline = table["expected_value_won"].iloc[0]
    table["value_vs_no_triage"] = table["expected_value_won"] / baseline
    return table


def decision_value_of(
    result: TrainingResult, truth: pd.DataFrame, work_share: float = 0.5
) -> pd.DataFrame:
    """:func:`decision_value` on the win holdout of a synthetic history, with the holdout's
    true outcomes and chances, comparing walkaway's recommendations and its worklist (the
    ``priority`` of `walkaway score`) with ranking by p_win (walkaway's and the LightGBM
    peer's), by walkaway's p_good alone and by its expected good value, and with two oracles
    that know the true chances (:data:`ORACLE_VALUE`, :data:`ORACLE_P_GOOD`)."""
    deals = result.model.with_amounts(result.win.deals)
    scores = result.model.predict(deals)
    truth = truth.set_index("deal_id").loc[deals["deal_id"]]
    outcomes = Outcomes(
        amount=deals["amount"].to_numpy(dtype=float),
        won=result.win.y.astype(bool),
        regrettable=truth["regrettable"].fillna(False).astype(bool).to_numpy(),
        p_good=truth["p_good"].to_numpy(dtype=float),
        p_regret=truth["p_regret"].to_numpy(dtype=float),
    )
    capacity = int(round(work_share * len(deals)))
    p_win, p_good = scores["p_win"].to_numpy(), scores["p_good"].to_numpy()
    # The worklist exactly as the batch job ranks a scored file.
    priority = rank(work_value(scores.assign(amount=outcomes.amount)))
    selections = {
        "walkaway recommendations": choose(
            walkaway_order(scores["recommendation"].to_numpy(), p_good), capacity
        ),
        WORKLIST: choose(np.argsort(priority, kind="stable"), capacity),
        "top by walkaway p_good x amount": choose(
            np.argsort(-np.nan_to_num(p_good * outcomes.amount, nan=-np.inf), kind="stable"),
            capacity,
        ),
        "top by walkaway p_good": choose(np.argsort(-p_good, kind="stable"), capacity),
        "top by walkaway p_win": choose(np.argsort(-p_win, kind="stable"), capacity),
    }
    if "lightgbm_raw" in result.win.predictions:
        peer = result.win.predictions["lightgbm_raw"]
        selections["top by LightGBM-raw p_win"] = choose(np.argsort(-peer, kind="stable"), capacity)
    true_value = np.nan_to_num(outcomes.amount * outcomes.p_good, nan=-np.inf)
    selections[ORACLE_VALUE] = choose(np.argsort(-true_value, kind="stable"), capacity)
    selections[ORACLE_P_GOOD] = choose(np.argsort(-outcomes.p_good, kind="stable"), capacity)
    return decision_value(outcomes, selections, work_share)


@dataclass(frozen=True)
class WorklistTarget:
    """Issue 15's target for the worklist, from a :func:`decision_value_of` table: it captures
    at least :data:`CAPTURE_TARGET` of the expected good value of the oracle ranking by true
    p_good x amount, and the mean true p_regret of the deals it works is at most
    :data:`REGRET_MARGIN` above that of the oracle ranking by true p_good."""

    capture: float  # the worklist's expected good value / the value oracle's
    regret: float  # mean true p_regret of the deals the worklist works
    oracle_regret: float  # ... and of those the p_good oracle works

    @classmethod
    def of(cls, table: pd.DataFrame) -> WorklistTarget:
        value = table["expected_value_won"]
        regret = table["mean_true_p_regret"]
        return cls(
            capture=float(value[WORKLIST] / value[ORACLE_VALUE]),
            regret=float(regret[WORKLIST]),
            oracle_regret=float(regret[ORACLE_P_GOOD]),
        )

    @property
    def captures_enough(self) -> bool:
        return self.capture >= CAPTURE_TARGET

    @property
    def regret_within(self) -> bool:
        return self.regret - self.oracle_regret <= REGRET_MARGIN

    @property
    def passed(self) -> bool:
        return self.captures_enough and self.regret_within

    def in_words(self) -> str:
        """One line: both figures against their targets, PASS or FAIL each.

        Examples
        --------
        >>> WorklistTarget(capture=0.9927, regret=0.138, oracle_regret=0.160).in_words()
        '**PASS**: the worklist captures 99.3% of the expected good value of the oracle by true p_good x amount (target >= 97%: PASS); the mean true p_regret of its deals is 0.1380, -0.0220 from the oracle by true p_good (0.1600; target <= +0.01: PASS).'
        """
        verdict = "PASS" if self.passed else "FAIL"
        return (
            f"**{verdict}**: the worklist captures {self.capture:.1%} of the expected good value "
            f"of the oracle by true p_good x amount (target >= {CAPTURE_TARGET:.0%}: "
            f"{'PASS' if self.captures_enough else 'FAIL'}); the mean true p_regret of its deals "
            f"is {self.regret:.4f}, {self.regret - self.oracle_regret:+.4f} from the oracle by "
            f"true p_good ({self.oracle_regret:.4f}; target <= +{REGRET_MARGIN}: "
            f"{'PASS' if self.regret_within else 'FAIL'})."
        )
