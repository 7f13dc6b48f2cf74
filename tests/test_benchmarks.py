"""The benchmarks' own logic: peer recipes, quality tables, decision value, the pyfunc script."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from benchmarks.flaml_peer import compare_with_flaml, paired_bootstrap, walkaway_features
from benchmarks.honesty import (
    against_logistic,
    calibration_table,
    reason_agreement,
    reason_points,
)
from benchmarks.quality import (
    MAX_CATEGORIES,
    ORACLE_P_GOOD,
    ORACLE_VALUE,
    WORKLIST,
    Outcomes,
    WorklistTarget,
    as_categories,
    choose,
    decision_value,
    decision_value_of,
    quality_table,
    raw_columns,
    train_with_peers,
    walkaway_order,
)
from benchmarks.run import (
    QUICK,
    SECTIONS,
    Results,
    parse_sections,
    parser,
    report,
)
from walkaway.data.contracts import LABEL_ONLY_COLUMNS
from walkaway.data.history import History
from walkaway.data.wire_format import to_wire
from walkaway.model.training import TrainingResult, split_holdouts

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def with_peers(history: History, synthetic_dir: Path) -> TrainingResult:
    """walkaway trained on the small history, with the peer recipes' holdout predictions."""
    return train_with_peers(history, pd.read_parquet(synthetic_dir / "truth.parquet"))


def test_raw_columns_describe_the_deal_without_keys_dates_labels_or_stage(
    history: History,
) -> None:
    raw = raw_columns(history.deal_frame())
    assert {"amount", "region", "incumbent_vendor", "formal_tender", "industry"} <= set(raw)
    leaked = {"deal_id", "account_id", "stage", "outcome", "created_date", "closed_date"}
    assert not (leaked | LABEL_ONLY_COLUMNS) & set(raw)
    assert raw["formal_tender"].dropna().isin([0.0, 1.0]).all()


def test_categories_are_learnt_on_training_rows_and_capped() -> None:
    train = pd.DataFrame({"owner": [f"seller {i}" for i in range(400)] + ["seller 0"] * 5})
    other = pd.DataFrame({"owner": ["seller 0", "seller 399", "never seen", None]})
    train_cats, other_cats = as_categories(train, other)
    assert len(train_cats["owner"].cat.categories) == MAX_CATEGORIES
    assert other_cats["owner"].iloc[0] == "seller 0"
    # A rare seller is lumped with the others; one never seen in training is unknown.
    assert other_cats["owner"].iloc[1] == "other"
    assert other_cats["owner"].iloc[2:].isna().all()


def test_peers_predict_probabilities_for_both_holdouts(with_peers: TrainingResult) -> None:
    for holdout in (with_peers.win, with_peers.regret):
        for peer in ("lightgbm_raw", "histgradientboosting_raw"):
            p = holdout.predictions[peer]
            assert len(p) == len(holdout.y) and np.all((p >= 0) & (p <= 1))
    # The raw columns carry signal: a peer ranks the win holdout better than chance.
    table = quality_table(with_peers, ("walkaway", "lightgbm_raw", "truth"))
    win = table[table["head"] == "win"].set_index("predictor")
    assert win.loc["lightgbm_raw", "roc_auc"] > 0.6


def test_quality_table_measures_against_walkaway_and_the_ceiling(
    with_peers: TrainingResult,
) -> None:
    table = quality_table(with_peers, ("walkaway", "histgradientboosting_raw", "truth"))
    assert set(table["head"]) == {"win", "regret"}
    ours = table[table["predictor"] == "walkaway"]
    assert np.allclose(ours[["log_loss_vs_walkaway", "brier_vs_walkaway"]], 1.0)
    truth = table[table["predictor"] == "truth"]
    assert np.allclose(truth["auc_gap_to_ceiling"], 0.0)
    assert np.allclose(truth["share_of_ceiling_lift"], 1.0)
    # The synthetic truth is the best possible ranking in expectation; walkaway sits just below.
    # The regret holdout of this small history holds about 120 matured wins: a standard error
    # of about 0.05 on an ROC AUC, so its bound is wider.
    gaps = ours.set_index("head")["auc_gap_to_ceiling"]
    assert -0.05 <= gaps["win"] <= 0.0
    assert -0.15 <= gaps["regret"] <= 0.0


def test_following_the_recommendations_works_pursue_first_and_walk_away_last() -> None:
    recommendation = np.array(["walk_away", "pursue", "qualify", "pursue", "compete"])
    p_good = np.array([0.9, 0.2, 0.5, 0.6, 0.1])
    assert walkaway_order(recommendation, p_good).tolist() == [3, 1, 4, 2, 0]
    assert choose(np.array([3, 1, 4, 2, 0]), 2).tolist() == [False, True, False, True, False]


@settings(max_examples=50, deadline=None)
@given(
    st.lists(
        # p_good is 0 or a probability a model gives (no subnormal floats, whose ratios
        # underflow), and an amount.
        st.tuples(
            st.booleans(),
            st.booleans(),
            st.one_of(st.just(0.0), st.floats(1e-9, 1)),
            st.floats(1, 1e6),
        ),
        min_size=2,
        max_size=60,
    ),
    st.floats(0.1, 0.9),
)
def test_decision_value_shares_are_shares_and_working_everything_captures_everything(
    deals: list[tuple[bool, bool, float, float]], work_share: float
) -> None:
    won = np.array([d[0] for d in deals])
    outcomes = Outcomes(
        amount=np.array([d[3] for d in deals]),
        won=won,
        regrettable=won & np.array([d[1] for d in deals]),
        p_good=np.array([d[2] for d in deals]),
    )
    everything = np.ones(len(deals), dtype=bool)
    table = decision_value(outcomes, {"all": everything, "none": ~everything}, work_share)
    shares = table[["good_wins_captured", "regrettable_wins_avoided"]].to_numpy()
    assert np.all((shares >= 0) & (shares <= 1))
    good, regret = (won & ~outcomes.regrettable).sum(), outcomes.regrettable.sum()
    assert table.loc["all", "good_wins_captured"] == (1.0 if good else 0.0)
    assert table.loc["all", "regrettable_wins_avoided"] == (0.0 if regret else 1.0)
    assert table.loc["none", "expected_value_won"] == 0
    if outcomes.p_good.sum() > 0:
        assert table.loc["all", "value_vs_no_triage"] == pytest.approx(1 / work_share)


def test_decision_value_of_a_trained_model_compares_equal_capacities(
    with_peers: TrainingResult, synthetic_dir: Path
) -> None:
    truth = pd.read_parquet(synthetic_dir / "truth.parquet")
    table = decision_value_of(with_peers, truth, work_share=0.5)
    assert "walkaway recommendations" in table.index
    assert "top by LightGBM-raw p_win" in table.index
    capacity = round(0.5 * len(with_peers.win.y))
    assert (table["deals_worked"].iloc[1:] == capacity).all()
    # Any ranking that knows something beats working a random half.
    assert table.loc["top by walkaway p_win", "good_wins_captured"] > 0.5
    # The oracle by true value is the most any choice of as many deals can win; the worklist
    # (the batch job's priority) gets near it, and the target check reads both oracles.
    value = table["expected_value_won"]
    assert value[ORACLE_VALUE] == value.max()
    assert value[WORKLIST] > value["walkaway recommendations"] * 0.95
    target = WorklistTarget.of(table)
    assert target.capture == pytest.approx(value[WORKLIST] / value[ORACLE_VALUE])
    assert target.oracle_regret == table.loc[ORACLE_P_GOOD, "mean_true_p_regret"]
    assert target.in_words().startswith("**PASS**" if target.passed else "**FAIL**")
    assert table["mean_true_p_regret"].between(0, 1).all()


def test_pyfunc_benchmark_script_scores_through_mlflow(
    champion_models_dir: Path, trained: TrainingResult, tmp_path: Path
) -> None:
    wire = to_wire(trained.win.deals.head(300)).assign(as_of="2025-12-31")
    deals = tmp_path / "wire.parquet"
    wire.reset_index(drop=True).to_parquet(deals, index=False)
    done = subprocess.run(
        [sys.executable, "-m", "benchmarks.pyfunc_predict", str(deals)]
        + ["--models-dir", str(champion_models_dir)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        env={k: v for k, v in os.environ.items() if k != "MLFLOW_TRACKING_URI"},
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("Time: reading")


# --------------------------------------------------------------- issue 10: the honest model


@pytest.fixture(scope="module")
def training_rows(history: History) -> pd.DataFrame:
    """walkaway's training deals for the small history, as every peer gets them."""
    labelled = history.labelled()
    train, _, _ = split_holdouts(labelled[labelled["won"].notna()])
    return train


def test_paired_bootstrap_counts_resamples_where_walkaway_is_better() -> None:
    rng = np.random.default_rng(0)
    y = (rng.random(400) < 0.3).astype(float)
    sharp = np.where(y == 1, 0.7, 0.1)
    vague = np.full(len(y), 0.3)
    better = paired_bootstrap(y, sharp, vague, resamples=300)
    assert better.share_walkaway_lower == 1.0
    assert better.low <= better.difference <= better.high < 0
    assert paired_bootstrap(y, vague, sharp, resamples=300).share_walkaway_lower == 0.0
    # A tie is not a win: the same predictor is never lower than itself.
    assert paired_bootstrap(y, vague, vague, resamples=50).share_walkaway_lower == 0.0


@settings(max_examples=30, deadline=None)
@given(
    st.lists(st.tuples(st.booleans(), st.floats(0, 1), st.floats(0, 1)), min_size=1, max_size=80)
)
def test_paired_bootstrap_shares_of_both_sides_add_up_to_at_most_one(
    rows: list[tuple[bool, float, float]],
) -> None:
    y = np.array([r[0] for r in rows], dtype=float)
    ours, theirs = np.array([r[1] for r in rows]), np.array([r[2] for r in rows])
    forward = paired_bootstrap(y, ours, theirs, resamples=40, seed=3)
    backward = paired_bootstrap(y, theirs, ours, resamples=40, seed=3)
    assert 0 <= forward.share_walkaway_lower <= 1
    assert forward.share_walkaway_lower + backward.share_walkaway_lower <= 1
    assert forward.difference == pytest.approx(-backward.difference)


def test_flaml_learns_from_walkaways_rows_and_features_and_is_judged_on_its_holdouts(
    trained: TrainingResult, training_rows: pd.DataFrame
) -> None:
    pytest.importorskip("flaml.automl", reason="FLAML is the bench extra: pip install -e .[bench]")
    features = walkaway_features(trained, trained.win.deals)
    assert list(features.columns) == list(trained.model.feature_names_)
    runs = compare_with_flaml(trained, training_rows, 12.3, budget_seconds=2, resamples=50)
    assert [run.head for run in runs] == ["win", "regret"]
    for run, holdout, label in zip(
        runs, (trained.win, trained.regret), ("won", "regret_label"), strict=True
    ):
        assert run.training_deals == training_rows[label].notna().sum()
        assert np.array_equal(run.y, holdout.y)
        assert np.array_equal(run.walkaway, holdout.predictions["walkaway"])
        assert len(run.flaml) == len(holdout.y) and np.all((run.flaml >= 0) & (run.flaml <= 1))
        assert run.walkaway_seconds == 12.3 and run.flaml_seconds > 0
        assert run.metrics["flaml"]["roc_auc"] > 0.55  # it learnt something in 2 seconds
        assert 0 <= run.bootstrap.share_walkaway_lower <= 1


def test_calibration_table_reports_each_head_and_predictor(trained: TrainingResult) -> None:
    table = calibration_table(trained)
    assert set(table["head"]) == {"win", "regret"}
    assert set(table["predictor"]) == {"walkaway", "logistic", "base_rate", "truth"}
    assert table["ece"].between(0, 1).all()
    rows = table.set_index(["head", "predictor"])
    assert np.isnan(rows.loc[("win", "base_rate"), "calibration_slope"])
    assert np.isfinite(rows.loc[("win", "walkaway"), "calibration_slope"])
    assert np.isfinite(rows.loc[("win", "truth"), "calibration_intercept"])


def test_against_logistic_compares_both_heads_on_their_holdouts(trained: TrainingResult) -> None:
    table = against_logistic(trained, seed=3).set_index("head")
    assert list(table.index) == ["win", "regret"]
    win = table.loc["win"]
    assert win["deals"] == len(trained.win.y)
    assert win["walkaway_no_worse"] == (win["walkaway_log_loss"] <= win["logistic_log_loss"])


def test_reason_points_read_signed_points_and_skip_notes() -> None:
    assert reason_points("5 earlier losses at this account (-1 pts); incumbent (+12 pts)") == [
        -1.0,
        12.0,
    ]
    assert reason_points("industry never seen in training; 200 employees (+2.5 pts)") == [2.5]
    assert reason_points("") == [] and reason_points(None) == []
    # "-0" keeps its sign: the seller reads a cost.
    assert np.signbit(reason_points("tender (-0 pts)")[0])


def test_reason_agreement_counts_cells_whose_first_reason_goes_against_the_effect() -> None:
    scored = pd.DataFrame(
        {
            # contradicts; agrees (after a note without points); small effect; no points
            "effect_glass_walls": ["8.5", "-6.0", "1.5", "-3.0"],
            "reasons_glass_walls": [
                "5 earlier losses at this account (-1 pts); incumbent (+9 pts)",
                "vendor never seen in training; 4 competitors (-6 pts)",
                "formal tender (-2 pts)",
                "incumbent unknown",
            ],
            "effect_icp_fit": ["-2.0", "0.0", "2.0", "-4.0"],
            "reasons_icp_fit": [
                "industry (-2 pts)",
                "",
                "ICP rests on 12 customers (-1 pts)",
                "'+ size band (+1 pts)",
            ],
        }
    )
    table = reason_agreement(scored, groups=("glass_walls", "icp_fit")).set_index("sign")
    glass_walls, icp = table.loc["glass_walls"], table.loc["icp_fit"]
    assert (glass_walls["large_cells"], glass_walls["contradicting"]) == (3, 1)
    assert glass_walls["without_points"] == 1
    assert (icp["large_cells"], icp["contradicting"]) == (3, 2)
    assert table.loc["all", "contradicting"] == 3 and table.loc["all", "cells"] == 8
    # Points adding up to the effect within a point: glass walls' first two deals (8 for 8.5,
    # -6 for -6), ICP's first two (-2 for -2, nothing for 0).
    assert glass_walls["adds_up_all"] == 2 and glass_walls["adds_up_large"] == 2
    assert icp["adds_up_all"] == 2 and icp["adds_up_large"] == 1


def test_sections_can_be_chosen_and_are_listed_in_the_help(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert parse_sections("reasons,calibration") == ["calibration", "reasons"]
    assert parser().parse_args([]).sections == list(SECTIONS)
    with pytest.raises(SystemExit):
        parser().parse_args(["--sections", "flaml,nonsense"])
    assert "nonsense" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        parser().parse_args(["--help"])
    shown = capsys.readouterr().out
    assert all(name in shown for name in SECTIONS)


def test_report_shows_only_the_sections_that_ran(trained: TrainingResult, tmp_path: Path) -> None:
    results = Results()
    results.calibration[(3000, 3)] = calibration_table(trained)
    results.seeds = against_logistic(trained, seed=3)
    results.minutes = {"calibration": 0.1, "seeds": 0.2}
    text = report(
        results,
        QUICK,
        "python -m benchmarks.run --sections calibration,seeds",
        0.3,
        tmp_path,
        ("/src/walkaway", "/src/walkaway"),
    )
    assert "## Calibration per head" in text and "## walkaway vs its logistic baseline" in text
    assert "## Batch scoring" not in text and "FLAML" not in text
    assert "seeds where walkaway's log loss is no worse" in text
    assert "make bench" not in text.splitlines()[2]  # not every section: not `make bench`
