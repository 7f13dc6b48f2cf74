"""Model cards: a run's logged figures shaped back into what training printed, and the rows of
``walkaway models`` — from a real training result, without MLflow."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from walkaway.model.training import TrainingResult
from walkaway.serving import model_cards, run_record
from walkaway.serving.decision_log import Decision
from walkaway.serving.model_cards import VersionRecord

WHEN = pd.Timestamp("2025-06-01 09:30", tz="UTC")


def logged(trained: TrainingResult, **fields: object) -> VersionRecord:
    """The record MLflow would give back for a run of ``trained``: params as text, metrics as
    floats (what :func:`walkaway.serving.registry.log_training_run` logs)."""
    params = {
        **trained.fingerprint,
        **run_record.policy_params(trained.model),
        "history": "data/raw/synthetic-crm",
        "mapping": "synthetic-crm",
        "calibration": "sigmoid",
    }
    defaults: dict[str, object] = {
        "model_name": "walkaway",
        "version": 1,
        "aliases": (),
        "trained_at": WHEN,
        "run_id": "abc",
        "params": {key: str(value) for key, value in params.items()},
        "metrics": run_record.flat_metrics(trained),
    }
    return VersionRecord(**{**defaults, **fields})  # type: ignore[arg-type]


def test_the_logged_metrics_give_back_the_table_training_printed(trained: TrainingResult) -> None:
    printed = trained.metrics_table()
    rebuilt = model_cards.metrics_frame(run_record.flat_metrics(trained))

    assert rebuilt.index.tolist() == printed.index.tolist()
    assert rebuilt.columns.tolist() == printed.columns.tolist()
    np.testing.assert_allclose(
        rebuilt.to_numpy(dtype=float), printed.to_numpy(dtype=float), equal_nan=True
    )
    assert model_cards.metrics_frame({}).empty


def test_the_reliability_table_is_the_runs_calibration_curve(trained: TrainingResult) -> None:
    """From the logged holdout predictions, the very bins the run's calibration plot drew."""
    table = model_cards.reliability_frame(run_record.holdout_predictions(trained))
    curves = trained.calibration_curves()

    assert set(table["head"]) == set(curves) == {"win", "regret"}
    for head, curve in curves.items():
        rows = table[table["head"] == head]
        assert rows["bin"].tolist() == list(range(1, len(curve["walkaway"]) + 1))
        np.testing.assert_allclose(rows["mean_predicted"], curve["walkaway"]["mean_predicted"])
        np.testing.assert_allclose(rows["observed_rate"], curve["walkaway"]["observed_rate"])
        assert rows["count"].sum() == len(getattr(trained, head).y)
    assert model_cards.reliability_frame(None).empty


def test_every_policy_threshold_is_shown_with_what_it_decides(trained: TrainingResult) -> None:
    record = logged(trained)
    rows = model_cards.policy_rows(record.params)
    policy = vars(trained.model.policy_)

    assert [name for name, _, _ in rows] == list(policy)
    for name, value, meaning in rows:
        assert meaning, f"{name} has no words"
        figure = float(policy[name])
        if np.isnan(figure):  # e.g. no amounts: never compete
            assert value == "nan"
        else:  # four decimals, or a whole amount
            shown = float(value.replace(",", ""))
            assert shown == pytest.approx(figure, abs=0.5 if abs(figure) >= 1000 else 5e-5)


def test_the_data_lines_say_what_the_run_learned_from(trained: TrainingResult) -> None:
    lines = dict(model_cards.data_lines(logged(trained)))
    fingerprint = trained.fingerprint

    assert lines["export"] == "data/raw/synthetic-crm (mapping synthetic-crm)"
    assert lines["deals"].startswith(
        f"{fingerprint['data_rows']:,}: {fingerprint['data_won']:,} won, "
        f"{fingerprint['data_lost']:,} lost, {fingerprint['data_open']:,} open"
    )
    assert lines["dates"].startswith(
        f"{fingerprint['data_first_created']} to {fingerprint['data_export_date']}"
    )
    assert lines["sha256"] == fingerprint["data_sha256"]
    assert lines["holdout"].startswith(f"{len(trained.win.y):,} win snapshots")


def test_calibration_lines_give_each_heads_ece_slope_and_intercept(
    trained: TrainingResult,
) -> None:
    lines = dict(model_cards.calibration_lines(logged(trained)))
    walkaway = trained.metrics_table().xs("walkaway", level="predictor")

    assert lines["calibrator"] == "sigmoid"
    for head in ("win", "regret"):
        figures = walkaway.loc[head]
        assert lines[f"{head} head"] == (
            f"ECE {figures['ece']:.4f}, slope {figures['calibration_slope']:.4f}, "
            f"intercept {figures['calibration_intercept']:.4f}"
        )


def test_the_listing_has_one_row_per_version_oldest_first(trained: TrainingResult) -> None:
    first = Decision(WHEN, "train", "version 1 is the first model: it becomes @champion")
    moved = Decision(
        WHEN + pd.Timedelta(days=2),
        "train",
        "version 2 replaces version 1 as @champion: its win head is no worse and its regret head "
        "is within 2 standard errors. Win head: log loss 0.5 against 0.6",
    )
    records = [
        logged(trained, version=2, aliases=("champion",), decisions=(moved,)),
        logged(trained, version=1, decisions=(first, moved)),
        logged(trained, version=3, params={}, metrics={}, suspected_leak="ROC AUC 0.99"),
    ]

    rows = model_cards.listing_rows(records)

    assert [row.version for row in rows] == ["1", "2", "3"]
    assert [row.aliases for row in rows] == ["", "@champion", ""]
    win = trained.metrics_table().loc[("win", "walkaway")]
    assert rows[0].win_roc_auc == f"{win['roc_auc']:.4f}"
    assert rows[0].win_brier == f"{win['brier']:.4f}"
    assert rows[0].trained_on.splitlines() == [
        "data/raw/synthetic-crm",
        f"{trained.fingerprint['data_rows']:,} deals, "
        f"{trained.fingerprint['data_first_created']} to {trained.fingerprint['data_export_date']}",
    ]
    assert rows[0].decision.splitlines() == [
        "version 2 replaces version 1 as @champion",
        "(train, 2025-06-03; 1 earlier)",
    ]
    assert rows[2].trained_on == "unknown" and rows[2].win_roc_auc == ""
    assert rows[2].decision.startswith("suspected leak")


@pytest.mark.parametrize(
    ("text", "shown"),
    [
        ("version 1 is the first model: it becomes @champion", None),
        ("version 2 promoted to @champion by hand (was version 1)", None),
        (
            "version 3 stays a challenger: its run is flagged as a suspected leak (the win head "
            "ranks its holdout with ROC AUC 0.991); `walkaway promote 3 --force` overrides",
            "version 3 stays a challenger",
        ),
    ],
)
def test_a_decisions_headline_keeps_what_was_decided(text: str, shown: str | None) -> None:
    assert model_cards.headline(text) == (shown or text)


def test_decision_rows_keep_every_decision_in_order() -> None:
    decisions = [
        Decision(WHEN + pd.Timedelta(hours=i), action, f"decision {i}")
        for i, action in enumerate(["train", "train", "promote", "rollback"])
    ]

    rows = model_cards.decision_rows(decisions)

    assert [row[0] for row in rows] == ["1", "2", "3", "4"]
    assert [row[2] for row in rows] == ["train", "train", "promote", "rollback"]
    assert rows[3][1] == "2025-06-01 12:30:00" and rows[3][3] == "decision 3"
