"""Model cards: what the registry knows about each registered version, shaped into rows and
words for ``walkaway models`` (one row per version) and ``walkaway models show`` (one card).

A version's :class:`VersionRecord` is the plain data the registry holds: its aliases, when its
run trained it, the run's params (the data it learned from, as
:meth:`walkaway.data.history.History.fingerprint` gives it, the policy, the learners chosen) and
metrics (:func:`walkaway.serving.run_record.flat_metrics`), and every decision about it
(:mod:`walkaway.serving.decision_log`). A :class:`VersionCard` adds the files the run and the
model logged: the mapping it was trained with, its holdout predictions, its notes.

Pure pandas, apart from :mod:`walkaway.serving.registry`, which reads these from MLflow
(:func:`~walkaway.serving.registry.list_versions`, :func:`~walkaway.serving.registry.version_card`).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import pandas as pd

from walkaway.model.evaluation import METRICS, reliability_curve
from walkaway.serving.decision_log import Decision

HEADS = ("win", "regret")
# In the order training prints them (walkaway, its baselines, then the truth when known).
PREDICTORS = ("walkaway", "logistic", "base_rate", "truth")
RELIABILITY_BINS = 10  # as the training run's calibration plot and ECE bin them

# What each threshold of the recommendation policy decides (walkaway.model.recommendation.Policy).
POLICY_MEANINGS = {
    "pursue_p_good": "pursue a deal whose p_good is at least this",
    "compete_expected_value": "glass walls are worth a fight when p_win x amount is at least "
    "this (nan: never)",
    "walk_away_p_regret": "an ICP or need misfit means walk away when p_regret is at least this",
    "walk_away_p_win": "...or when p_win is at most this",
    "dominance_points": "a sign dominates when it costs at least this many points of p_good",
    "dominance_ratio": "...and at least this many times what the next one costs",
    "min_evidence": "below this share of the sign inputs known, the evidence is thin: qualify",
    "stalled_ratio": "a deal open this many times the usual cycle of deals like it is stalled",
}


@dataclass(frozen=True)
class VersionRecord:
    """What the registry keeps about one registered version, as plain data."""

    model_name: str
    version: int
    aliases: tuple[str, ...]
    trained_at: pd.Timestamp  # UTC: its run's start, else its registration
    run_id: str | None
    params: Mapping[str, str] = field(default_factory=dict)  # the run's, as MLflow keeps them
    metrics: Mapping[str, float] = field(default_factory=dict)
    decisions: tuple[Decision, ...] = ()  # oldest first
    suspected_leak: str = ""  # why it must not be promoted without force; "" when clean


@dataclass(frozen=True)
class VersionCard:
    """One version's record and the files its run and model logged (None: not logged)."""

    record: VersionRecord
    mapping_yaml: str | None = None  # the mapping it was trained with
    holdout_predictions: pd.DataFrame | None = None  # head, deal_id, snapshot_age, y, p
    notes: tuple[str, ...] = ()  # what training noted (censored wins, deals left out...)


@dataclass(frozen=True)
class ListingRow:
    """One version in ``walkaway models``, as text (a cell may hold two lines)."""

    version: str
    aliases: str
    trained: str
    trained_on: str  # the export, then its deals and dates
    win_roc_auc: str
    win_brier: str
    regret_roc_auc: str
    regret_brier: str
    decision: str  # the latest decision, then when, and how many came before


def number(value: object, digits: int = 4) -> str:
    """A figure as text: ``digits`` decimals for a fraction, thousands separated for a count
    or an amount, empty when missing.

    Examples
    --------
    >>> number(0.81234), number("3000"), number("12345.6"), number(None), number("nan")
    ('0.8123', '3,000', '12,346', '', '')
    >>> number("sigmoid")
    'sigmoid'
    """
    if value is None:
        return ""
    try:
        figure = float(str(value))
    except ValueError:
        return str(value)
    if math.isnan(figure):
        return ""
    if (figure.is_integer() and abs(figure) >= 1) or abs(figure) >= 1000:
        return f"{figure:,.0f}"
    return f"{figure:.{digits}f}"


def head_metric(record: VersionRecord, head: str, metric: str, predictor: str = "walkaway") -> str:
    """One holdout metric of a head, as text (empty when the run did not log it).

    Examples
    --------
    >>> record = VersionRecord("walkaway", 1, (), pd.Timestamp("2025-01-01", tz="UTC"), None,
    ...                        metrics={"win_walkaway_roc_auc": 0.7812})
    >>> head_metric(record, "win", "roc_auc"), head_metric(record, "regret", "roc_auc")
    ('0.7812', '')
    """
    return number(record.metrics.get(f"{head}_{predictor}_{metric}"))


def span(params: Mapping[str, str]) -> str:
    """The dates the data covers: its first deal's creation to the export date.

    Examples
    --------
    >>> span({"data_first_created": "2021-01-04", "data_export_date": "2025-12-31"})
    '2021-01-04 to 2025-12-31'
    >>> span({})
    ''
    """
    first, last = params.get("data_first_created", ""), params.get("data_export_date", "")
    if not first or first == last:
        return last
    return f"{first} to {last}"


def headline(text: str, longest: int = 60) -> str:
    """What was decided, without the figures behind it: a decision's first sentence, cut at its
    first colon when longer than ``longest`` characters.

    Examples
    --------
    >>> headline("version 2 stays a challenger: its win head is worse than champion version 1's. "
    ...          "Win head: log loss 0.51")
    'version 2 stays a challenger'
    >>> headline("rolled back: version 1 is @champion again (was version 2)")
    'rolled back: version 1 is @champion again (was version 2)'
    """
    sentence = text.split(". ", 1)[0].rstrip(".")
    if len(sentence) > longest and ": " in sentence:
        return sentence.split(": ", 1)[0]
    return sentence


def latest_decision(decisions: Sequence[Decision]) -> str:
    """The latest decision in two lines: what was decided, then its action, day and how many
    decisions came before it.

    Examples
    --------
    >>> first = Decision(pd.Timestamp("2025-03-01 09:30", tz="UTC"), "train", "version 1 is the first model")
    >>> later = Decision(pd.Timestamp("2025-03-04 10:00", tz="UTC"), "rollback", "rolled back. Details")
    >>> latest_decision([first, later]).splitlines()
    ['rolled back', '(rollback, 2025-03-04; 1 earlier)']
    >>> latest_decision([])
    ''
    """
    if not decisions:
        return ""
    last = decisions[-1]
    when = [last.action] + ([] if pd.isna(last.time) else [f"{last.time:%Y-%m-%d}"])
    earlier = f"; {len(decisions) - 1} earlier" if len(decisions) > 1 else ""
    return f"{headline(last.text)}\n({', '.join(when)}{earlier})"


def listing_rows(records: Sequence[VersionRecord]) -> list[ListingRow]:
    """One row per version, oldest first: what ``walkaway models`` shows."""
    rows = []
    for record in sorted(records, key=lambda r: r.version):
        params = record.params
        data = ", ".join(
            part
            for part in (
                f"{number(params.get('data_rows'))} deals" if "data_rows" in params else "",
                span(params),
            )
            if part
        )
        leak = "suspected leak\n" if record.suspected_leak else ""
        rows.append(
            ListingRow(
                version=str(record.version),
                aliases=", ".join(f"@{alias}" for alias in record.aliases),
                trained=f"{record.trained_at:%Y-%m-%d %H:%M}",
                trained_on="\n".join([params.get("history", "") or "unknown", data]).strip(),
                win_roc_auc=head_metric(record, "win", "roc_auc"),
                win_brier=head_metric(record, "win", "brier"),
                regret_roc_auc=head_metric(record, "regret", "roc_auc"),
                regret_brier=head_metric(record, "regret", "brier"),
                decision=leak + latest_decision(record.decisions),
            )
        )
    return rows


def status(record: VersionRecord) -> str:
    """Where a version stands: its aliases, or a challenger, and a suspected leak.

    Examples
    --------
    >>> when = pd.Timestamp("2025-01-01", tz="UTC")
    >>> status(VersionRecord("walkaway", 2, ("champion",), when, None))
    '@champion'
    >>> status(VersionRecord("walkaway", 3, (), when, None, suspected_leak="ROC AUC 0.99"))
    'challenger (suspected leak: ROC AUC 0.99)'
    """
    where = ", ".join(f"@{alias}" for alias in record.aliases) or "challenger"
    return f"{where} (suspected leak: {record.suspected_leak})" if record.suspected_leak else where


def data_lines(record: VersionRecord) -> list[tuple[str, str]]:
    """The data a version learned from, as (what, value) lines: the export, its deals and
    dates (the run's fingerprint), the holdouts it was judged on.

    Examples
    --------
    >>> params = {"history": "crm", "mapping": "synthetic-crm", "data_rows": "3000",
    ...           "data_won": "1200", "data_lost": "1300", "data_open": "500"}
    >>> record = VersionRecord("walkaway", 1, (), pd.Timestamp("2025-01-01", tz="UTC"), None, params)
    >>> data_lines(record)[:2]
    [('export', 'crm (mapping synthetic-crm)'), ('deals', '3,000: 1,200 won, 1,300 lost, 500 open')]
    """
    params, metrics = record.params, record.metrics
    lines = []
    if "history" in params or "mapping" in params:
        mapping = f" (mapping {params['mapping']})" if "mapping" in params else ""
        lines.append(("export", f"{params.get('history', 'unknown')}{mapping}"))
    if "data_rows" in params:
        counts = ", ".join(
            f"{number(params[f'data_{kind}'])} {kind}"
            for kind in ("won", "lost", "open")
            if f"data_{kind}" in params
        )
        accounts = params.get("data_accounts", "0")
        with_accounts = f"; {number(accounts)} accounts" if accounts not in ("", "0") else ""
        lines.append(("deals", f"{number(params['data_rows'])}: {counts}{with_accounts}"))
    if "data_matured_wins" in params:
        censored = params.get("data_censored_wins", "0")
        lines.append(
            (
                "wins",
                f"{number(params['data_matured_wins']) or '0'} old enough for their regret to be "
                f"known, {number(censored) or '0'} too young (left out of the regret head)",
            )
        )
    if span(params):
        lines.append(("dates", f"{span(params)} (first deal created to export date)"))
    if "data_sha256" in params:
        lines.append(("sha256", params["data_sha256"]))
    holdouts = []
    if "win_holdout_deals" in metrics:
        cutoff = params.get("win_holdout_cutoff", "")
        since = f" of deals closed from {cutoff}" if cutoff and cutoff != "no dates" else ""
        holdouts.append(f"{number(metrics['win_holdout_deals'])} win snapshots{since}")
    if "regret_holdout_deals" in metrics:
        holdouts.append(f"{number(metrics['regret_holdout_deals'])} matured wins for regret")
    if holdouts:
        lines.append(("holdout", ", ".join(holdouts)))
    if params.get("deals_still_open", "") not in ("", "0"):
        lines.append(
            ("left out", f"{number(params['deals_still_open'])} deals still open at the export")
        )
    if "regret_horizon_days" in params:
        lines.append(("regret", f"a win is judged {params['regret_horizon_days']} days on"))
    if "refit_on_all_closed_deals" in params:
        refit = params["refit_on_all_closed_deals"] == "True"
        lines.append(
            (
                "refit",
                "on every closed deal after the holdout evaluation"
                if refit
                else "no: the registered model is the evaluated one",
            )
        )
    return lines


def learner_lines(params: Mapping[str, str]) -> list[tuple[str, str]]:
    """What each head chose to learn with: its learners and their blend, and its trees (params
    ``win_learner``, ``win_trees``...).

    Examples
    --------
    >>> learner_lines({"win_learner": "medium 75% + logistic-strong 25%", "win_trees": "220"})
    [('win head', 'medium 75% + logistic-strong 25%, 220 trees')]
    """
    lines = []
    for head in HEADS:
        if f"{head}_learner" not in params:
            continue
        parts = [params[f"{head}_learner"]]
        if params.get(f"{head}_trees", "0") not in ("", "0"):
            parts.append(f"{number(params[f'{head}_trees'])} trees")
        lines.append((f"{head} head", ", ".join(parts)))
    return lines


def metrics_frame(metrics: Mapping[str, float]) -> pd.DataFrame:
    """A run's holdout metrics as training printed them: one row per (head, predictor), one
    column per metric (:data:`walkaway.model.evaluation.METRICS`), from the run's flat metrics
    (``win_walkaway_roc_auc``...). Empty when the run logged none.

    Examples
    --------
    >>> frame = metrics_frame({"win_walkaway_roc_auc": 0.78, "win_base_rate_brier": 0.24})
    >>> frame.index.tolist(), float(frame.loc[("win", "walkaway"), "roc_auc"])
    ([('win', 'walkaway'), ('win', 'base_rate')], 0.78)
    """
    rows: dict[tuple[str, str], dict[str, float]] = {}
    for head in HEADS:
        for predictor in PREDICTORS:
            found = {
                metric: metrics[f"{head}_{predictor}_{metric}"]
                for metric in METRICS
                if f"{head}_{predictor}_{metric}" in metrics
            }
            if found:
                rows[(head, predictor)] = found
    if not rows:
        return pd.DataFrame(columns=list(METRICS))
    frame = pd.DataFrame.from_dict(rows, orient="index").reindex(columns=list(METRICS))
    frame.index = pd.MultiIndex.from_tuples(frame.index, names=["head", "predictor"])
    return frame.astype(float)


def calibration_lines(record: VersionRecord) -> list[tuple[str, str]]:
    """How well calibrated each head was on its holdout: its expected calibration error and
    calibration slope and intercept (1 and 0 when calibrated), and the calibrator used.

    Examples
    --------
    >>> metrics = {"win_walkaway_ece": 0.021, "win_walkaway_calibration_slope": 0.97,
    ...            "win_walkaway_calibration_intercept": -0.02}
    >>> when = pd.Timestamp("2025-01-01", tz="UTC")
    >>> calibration_lines(VersionRecord("walkaway", 1, (), when, None, {"calibration": "sigmoid"}, metrics))
    [('calibrator', 'sigmoid'), ('win head', 'ECE 0.0210, slope 0.9700, intercept -0.0200')]
    """
    lines = []
    if "calibration" in record.params:
        lines.append(("calibrator", record.params["calibration"]))
    names = {"ece": "ECE", "calibration_slope": "slope", "calibration_intercept": "intercept"}
    for head in HEADS:
        figures = [
            f"{word} {head_metric(record, head, metric)}"
            for metric, word in names.items()
            if head_metric(record, head, metric)
        ]
        if figures:
            lines.append((f"{head} head", ", ".join(figures)))
    return lines


def reliability_frame(
    predictions: pd.DataFrame | None, bins: int = RELIABILITY_BINS
) -> pd.DataFrame:
    """The reliability table of each head's holdout predictions: in equal-count bins of
    walkaway's probability, the mean predicted and the observed rate (as the run's calibration
    plot draws them). Empty without predictions; a head with fewer deals than bins is left out.

    Examples
    --------
    >>> y = [1] * 2 + [0] * 8 + [1] * 7 + [0] * 3
    >>> logged = pd.DataFrame({"head": "win", "y": y, "p": [0.2] * 10 + [0.7] * 10})
    >>> reliability_frame(logged, bins=2)
      head  bin  mean_predicted  observed_rate  count
    0  win    1             0.2            0.2     10
    1  win    2             0.7            0.7     10
    """
    columns = ["head", "bin", "mean_predicted", "observed_rate", "count"]
    if predictions is None or predictions.empty:
        return pd.DataFrame(columns=columns)
    tables = []
    for head in HEADS:
        logged = predictions[predictions["head"] == head]
        if len(logged) < bins:
            continue
        curve = reliability_curve(logged["y"].to_numpy(), logged["p"].to_numpy(), bins)
        tables.append(curve.assign(head=head, bin=range(1, len(curve) + 1)))
    if not tables:
        return pd.DataFrame(columns=columns)
    return pd.concat(tables, ignore_index=True)[columns]


def policy_rows(params: Mapping[str, str]) -> list[tuple[str, str, str]]:
    """The recommendation policy's thresholds (params ``policy_...``) as (threshold, value,
    what it decides).

    Examples
    --------
    >>> policy_rows({"policy_pursue_p_good": "0.3125", "policy_compete_expected_value": "nan"})[1]
    ('compete_expected_value', 'nan', 'glass walls are worth a fight when p_win x amount is at least this (nan: never)')
    """
    rows = []
    for key, value in params.items():
        if key.startswith("policy_"):
            name = key.removeprefix("policy_")
            rows.append((name, number(value) or str(value), POLICY_MEANINGS.get(name, "")))
    order = list(POLICY_MEANINGS)
    return sorted(rows, key=lambda row: order.index(row[0]) if row[0] in order else len(order))


def decision_rows(decisions: Sequence[Decision]) -> list[tuple[str, str, str, str]]:
    """Every decision about a version, oldest first, as (number, UTC time, action, text).

    Examples
    --------
    >>> first = Decision(pd.Timestamp("2025-03-01 09:30", tz="UTC"), "train", "version 1 is the first model")
    >>> decision_rows([first, Decision(pd.NaT, "unknown", "kept before history")])
    [('1', '2025-03-01 09:30:00', 'train', 'version 1 is the first model'), ('2', 'unknown', 'unknown', 'kept before history')]
    """
    return [
        (
            str(position),
            "unknown" if pd.isna(decision.time) else f"{decision.time:%Y-%m-%d %H:%M:%S}",
            decision.action,
            decision.text,
        )
        for position, decision in enumerate(decisions, start=1)
    ]
