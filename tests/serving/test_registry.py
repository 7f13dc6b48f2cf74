"""MLflow integration: real SQLite tracking, the registry, champion and challenger."""

from __future__ import annotations

import copy
import dataclasses
import shutil
import sys
import types
from pathlib import Path

import joblib
import numpy as np
import pandas as pd
import pytest
from scipy.special import expit, logit

from walkaway.cli import main
from walkaway.data.exports import load_history
from walkaway.data.wire_format import to_wire
from walkaway.jobs import TrainingRun, train_job
from walkaway.model.training import TrainingResult, train_and_evaluate
from walkaway.serving import model_store, pyfunc_contract, registry


@pytest.fixture(scope="module")
def models_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("models")


@pytest.fixture(scope="module")
def first_run(synthetic_dir: Path, models_dir: Path) -> TrainingRun:
    with pytest.MonkeyPatch.context() as patch:
        patch.delenv("MLFLOW_TRACKING_URI", raising=False)
        return train_job(synthetic_dir, models_dir=models_dir)


@pytest.fixture(autouse=True)
def default_tracking(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)


@pytest.fixture(scope="module")
def gate_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One temporary store for the champion-gate tests; each registers its own model name."""
    return tmp_path_factory.mktemp("gate-models")


def changed(
    result: TrainingResult,
    win: np.ndarray | None = None,
    regret: np.ndarray | None = None,
    data: str | None = None,
    leak: str | None = None,
    model: object | None = None,
) -> TrainingResult:
    """A copy of a training result with other walkaway holdout predictions, another data hash,
    a suspected leak or another registered model (the original is shared by the session)."""
    changes: dict[str, object] = {}
    for name, p in (("win", win), ("regret", regret)):
        if p is not None:
            holdout = getattr(result, name)
            predictions = {**holdout.predictions, "walkaway": np.asarray(p, dtype=float)}
            changes[name] = dataclasses.replace(holdout, predictions=predictions)
    if data is not None:
        changes["fingerprint"] = {**result.fingerprint, "data_sha256": data}
    if leak is not None:
        changes["suspected_leak"] = leak
    if model is not None:
        changes["model"] = model
    return dataclasses.replace(result, **changes)


def log_loss(y: np.ndarray, p: np.ndarray) -> np.ndarray:
    """Per-deal log loss."""
    p = np.clip(p, 1e-6, 1 - 1e-6)
    return -(y * np.log(p) + (1 - y) * np.log1p(-p))


def closer_to_truth(result: TrainingResult, share: float) -> np.ndarray:
    """Win-head predictions moved ``share`` of the way to the true probabilities: better."""
    win = result.win.predictions
    return (1 - share) * win["walkaway"] + share * win["truth"]


def log(result: TrainingResult, name: str, models_dir: Path) -> registry.RegisteredRun:
    return registry.log_training_run(result, {}, {}, model_name=name, models_dir=models_dir)


def test_first_model_becomes_champion_in_sqlite_under_models_dir(
    first_run: TrainingRun, models_dir: Path
) -> None:
    assert first_run.registered.champion
    assert first_run.registered.version == 1
    assert (models_dir / "mlflow.db").is_file()
    assert first_run.registered.tracking_uri == f"sqlite:///{(models_dir / 'mlflow.db').resolve()}"
    assert registry.champion_version(models_dir=models_dir) == 1


def test_champion_pyfunc_scores_like_the_in_memory_model(
    first_run: TrainingRun, models_dir: Path
) -> None:
    deals = first_run.result.win.deals.head(200)
    wire = to_wire(deals).assign(as_of="2025-12-31").reset_index(drop=True)
    loaded = registry.load_model("models:/walkaway@champion", models_dir=models_dir)
    assert loaded.version == 1 and loaded.name == "walkaway"
    from_mlflow = loaded.pyfunc.predict(wire)
    in_memory = pyfunc_contract.score_canonical(first_run.result.model, wire)
    pd.testing.assert_frame_equal(
        from_mlflow.reset_index(drop=True), in_memory.reset_index(drop=True)
    )
    assert from_mlflow["p_win"].between(0, 1).all() and len(from_mlflow) == 200


def test_run_logs_metrics_params_fingerprint_and_plots(
    first_run: TrainingRun, models_dir: Path
) -> None:
    client = registry.connect(models_dir)
    run = client.get_run(first_run.registered.run_id)
    metrics, params = run.data.metrics, run.data.params
    for name in (
        "win_walkaway_roc_auc",
        "win_logistic_brier",
        "win_base_rate_log_loss",
        "regret_walkaway_roc_auc",
        "win_truth_roc_auc",
        "sign_attribution_share",
    ):
        assert name in metrics
    assert np.isclose(
        metrics["win_walkaway_roc_auc"],
        first_run.result.metrics_table().loc[("win", "walkaway"), "roc_auc"],
    )
    assert params["data_rows"] == "3000" and len(params["data_sha256"]) == 16
    assert "policy_pursue_p_good" in params
    artifacts = {a.path for a in client.list_artifacts(run.info.run_id, "plots")}
    assert artifacts == {"plots/calibration.png", "plots/sign_importance.png"}


def test_retraining_on_the_same_data_ties_and_is_promoted_then_rollback_and_promote(
    first_run: TrainingRun,
    synthetic_dir: Path,
    models_dir: Path,
) -> None:
    second = train_job(synthetic_dir, models_dir=models_dir)
    assert second.registered.version == 2
    assert second.registered.champion, second.registered.decision
    assert "replaces version 1" in second.registered.decision
    assert "logged holdout predictions" in second.registered.decision
    assert "difference +0.0000" in second.registered.decision

    assert "version 1 is @champion again" in registry.rollback(models_dir=models_dir)
    assert registry.champion_version(models_dir=models_dir) == 1
    with pytest.raises(registry.RegistryError, match="no earlier champion"):
        registry.rollback(models_dir=models_dir)
    registry.promote(2, models_dir=models_dir)
    assert registry.champion_version(models_dir=models_dir) == 2
    with pytest.raises(registry.RegistryError, match="has no version 9"):
        registry.promote(9, models_dir=models_dir)


def test_a_worse_model_stays_a_challenger(
    trained: TrainingResult, synthetic_dir: Path, gate_dir: Path, tmp_path: Path
) -> None:
    """A model trained on scrambled older deals loses on the (intact) newest holdout, which the
    champion (fitted without the newest deals) never learned from."""
    name = "scrambled"
    evaluated = trained.evaluated_model or trained.model
    assert log(changed(trained, model=evaluated), name, gate_dir).champion
    scrambled = tmp_path / "scrambled"
    scrambled.mkdir()
    for file in ("accounts.csv", "products.csv"):
        (scrambled / file).write_bytes((synthetic_dir / file).read_bytes())
    deals = pd.read_csv(synthetic_dir / "deals.csv", dtype=str)
    feature_columns = [
        "Incumbent Tenure (years)",
        "Competitors",
        "Formal Tender",
        "Decision Maker Access",
        "Required Capabilities",
        "Product",
        "Amount",
        "Lead Source",
        "Account ID",
    ]
    closed = pd.to_datetime(deals["Close Date"], format="%d/%m/%Y")
    older = (closed < closed.quantile(0.75)).to_numpy()
    rng = np.random.default_rng(0)
    for column in feature_columns:
        deals.loc[older, column] = rng.permutation(deals.loc[older, column].to_numpy())
    deals.to_csv(scrambled / "deals.csv", index=False)
    run = log(train_and_evaluate(load_history(scrambled)), name, gate_dir)
    assert not run.champion
    assert "stays a challenger: its win head is worse" in run.decision
    assert "deals closed after champion version 1's training data" in run.decision
    assert registry.champion_version(name, gate_dir) == 1


def test_a_suspected_leak_is_never_promoted_and_promote_needs_force(
    trained: TrainingResult, gate_dir: Path, capsys: pytest.CaptureFixture
) -> None:
    leak = "win head holdout ROC AUC 0.999 is implausibly high"
    first = registry.log_training_run(changed(trained, leak=leak), {}, {}, models_dir=gate_dir)
    assert not first.champion, first.decision  # not even as the first model
    assert "suspected leak" in first.decision and leak in first.decision
    assert registry.champion_version(models_dir=gate_dir) is None
    clean = registry.log_training_run(trained, {}, {}, models_dir=gate_dir)
    assert clean.champion
    better_but_leaky = changed(trained, win=closer_to_truth(trained, 0.5), leak=leak)
    third = registry.log_training_run(better_but_leaky, {}, {}, models_dir=gate_dir)
    assert not third.champion and "suspected leak" in third.decision

    with pytest.raises(registry.RegistryError, match="suspected leak.*--force"):
        registry.promote(first.version, models_dir=gate_dir)
    assert main(["promote", str(third.version), "--models-dir", str(gate_dir)]) == 1
    err = capsys.readouterr().err.strip()
    assert f"version {third.version} is not promoted" in err and leak in err and "--force" in err
    assert "\n" not in err
    assert registry.champion_version(models_dir=gate_dir) == clean.version

    args = ["promote", str(third.version), "--force", "--models-dir", str(gate_dir)]
    assert main(args) == 0
    assert "forced despite a suspected leak" in capsys.readouterr().out
    assert registry.champion_version(models_dir=gate_dir) == third.version


def test_a_regret_difference_within_noise_does_not_keep_a_better_win_head_behind(
    trained: TrainingResult, gate_dir: Path
) -> None:
    name = "regret-noise"
    log(trained, name, gate_dir)
    better_win = closer_to_truth(trained, 0.5)
    y, p = trained.regret.y, trained.regret.predictions["walkaway"]
    # A nudge of 0.03 in log-odds, in the direction the head is already off: a little worse.
    nudge = 0.03 if p.mean() >= y.mean() else -0.03
    noisy = expit(logit(np.clip(p, 1e-6, 1 - 1e-6)) + nudge)
    worse = log_loss(y, noisy) - log_loss(y, p)
    # The premise: a little worse on average, well within two standard errors.
    assert len(y) >= 100  # enough deals for the guard to apply
    assert 0 < worse.mean() < 2 * worse.std(ddof=1) / np.sqrt(len(y))
    assert (
        log_loss(trained.win.y, better_win).mean()
        < log_loss(trained.win.y, trained.win.predictions["walkaway"]).mean()
    )

    run = log(changed(trained, win=better_win, regret=noisy), name, gate_dir)
    assert run.champion, run.decision
    assert "win head is no worse and its regret head is within 2 standard errors" in run.decision
    assert f"difference {worse.mean():+.4f}" in run.decision
    assert f"{len(y):,} deals" in run.decision

    # A regret head worse beyond noise is still kept out, however good the win head.
    wrong = np.clip(noisy + 0.3 * (1 - 2 * y), 0.01, 0.99)
    blocked = log(changed(trained, win=better_win, regret=wrong), name, gate_dir)
    assert not blocked.champion
    assert "regret head is worse than champion version 2's by more than 2" in blocked.decision


def test_same_data_compares_both_runs_logged_holdout_predictions(
    trained: TrainingResult, gate_dir: Path
) -> None:
    """On the same data, the champion's registered model may have learned from the holdout
    (the refit): its logged holdout predictions are what it is judged by, not a fresh score.
    Here the champion's logged predictions are better than its model's scores, and the new
    run lies between them."""
    name = "same-data"
    y = trained.win.y
    theirs, ours = closer_to_truth(trained, 0.5), closer_to_truth(trained, 0.2)
    assert log_loss(y, theirs).mean() < log_loss(y, ours).mean()
    assert log_loss(y, ours).mean() < log_loss(y, trained.win.predictions["walkaway"]).mean()
    log(changed(trained, win=theirs), name, gate_dir)

    run = log(changed(trained, win=ours), name, gate_dir)
    assert not run.champion, run.decision
    assert "Same data" in run.decision
    assert "both runs' logged holdout predictions, paired by deal" in run.decision
    assert f"{trained.fingerprint['data_sha256']}" in run.decision
    assert (
        f"Win head log loss {log_loss(y, ours).mean():.4f} vs {log_loss(y, theirs).mean():.4f}"
        in run.decision
    )
    assert f"{len(y):,} deals" in run.decision


def test_new_data_is_compared_on_deals_closed_after_the_champion_learned(
    trained: TrainingResult, gate_dir: Path
) -> None:
    """On other data, the champion is scored only on deals closed after its training data: the
    new run is hopeless on the earlier holdout deals, and still replaces it."""
    name = "unseen"
    deals, y = trained.win.deals, trained.win.y
    champion = copy.copy(trained.evaluated_model or trained.model)
    champion.trained_until_ = deals["closed_date"].median()
    champion.regret_trained_until_ = trained.regret.deals["closed_date"].median()
    log(changed(trained, model=champion), name, gate_dir)

    after = (deals["closed_date"] > champion.trained_until_).to_numpy()
    hopeless = np.where(y == 1, 0.02, 0.98)
    ours = np.where(after, closer_to_truth(trained, 0.5), hopeless)
    run = log(changed(trained, win=ours, data="a newer export"), name, gate_dir)
    assert run.champion, run.decision
    assert f"{after.sum():,} deals)" in run.decision
    assert f"win head after {champion.trained_until_:%Y-%m-%d}" in run.decision
    assert f"regret head after {champion.regret_trained_until_:%Y-%m-%d}" in run.decision
    regret_after = (trained.regret.deals["closed_date"] > champion.regret_trained_until_).sum()
    assert f"regret head: only {regret_after:,} fair deals, not compared" in run.decision


def test_a_champion_that_learned_from_every_new_deal_leaves_too_few_to_compare(
    trained: TrainingResult, gate_dir: Path
) -> None:
    """A champion refit on all its deals has seen the new holdout: the newer model is
    promoted, and the decision says why."""
    name = "refit-champion"
    champion = copy.copy(trained.evaluated_model or trained.model)
    champion.trained_until_ = trained.win.deals["closed_date"].max()
    log(changed(trained, model=champion), name, gate_dir)
    run = log(changed(trained, data="a newer export"), name, gate_dir)
    assert run.champion
    assert "too few deals neither model learned from" in run.decision
    assert "Win head: only 0 fair deals" in run.decision


def test_every_decision_is_kept_through_promote_rollback_and_training(
    trained: TrainingResult, gate_dir: Path
) -> None:
    name = "history"
    started = pd.Timestamp.now(tz="UTC").floor("s")
    first = log(trained, name, gate_dir)
    second = log(trained, name, gate_dir)  # a tie on the same data: it replaces version 1
    assert second.champion, second.decision
    rolled = registry.rollback(model_name=name, models_dir=gate_dir)
    promoted = registry.promote(2, model_name=name, models_dir=gate_dir)
    third = log(trained, name, gate_dir)
    assert third.champion, third.decision

    history = {v: registry.decisions(v, model_name=name, models_dir=gate_dir) for v in (1, 2, 3)}
    assert [(d.action, d.text) for d in history[1]] == [
        ("train", first.decision),
        ("train", second.decision),
        ("rollback", rolled),
        ("promote", promoted),
    ]
    assert [(d.action, d.text) for d in history[2]] == [
        ("train", second.decision),
        ("rollback", rolled),
        ("promote", promoted),
        ("train", third.decision),
    ]
    assert [(d.action, d.text) for d in history[3]] == [("train", third.decision)]
    assert "version 1 is @champion again (was version 2)" in rolled
    assert promoted == "version 2 promoted to @champion by hand (was version 1)"
    for decisions in history.values():
        times = [d.time for d in decisions]
        assert all(
            t.tzname() == "UTC" and started <= t <= pd.Timestamp.now(tz="UTC") for t in times
        )
        assert times == sorted(times)
    client = registry.connect(gate_dir)
    tags = client.get_model_version(name, "2").tags
    assert tags["decision"] == third.decision  # the latest, for readers of the single tag
    assert tags["decision.1"].endswith(f"train: {second.decision}")
    with pytest.raises(registry.RegistryError, match="has no version 9"):
        registry.decisions(9, model_name=name, models_dir=gate_dir)


def test_missing_model_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(registry.RegistryError, match="model not found: models:/walkaway@champion"):
        registry.load_model(models_dir=tmp_path)


class Gone:
    """Stands for a class an older walkaway pickled into its model, since moved or renamed."""


def test_a_model_saved_by_code_since_moved_says_to_retrain(
    first_run: TrainingRun, models_dir: Path, tmp_path: Path
) -> None:
    moved = tmp_path / "models"
    shutil.copytree(models_dir, moved)
    old_module = types.ModuleType("walkaway.model.old_heads")
    Gone.__module__ = old_module.__name__
    old_module.Gone = Gone
    sys.modules[old_module.__name__] = old_module
    try:
        for saved in moved.rglob("walkaway_model.joblib"):
            joblib.dump(Gone(), saved)
    finally:
        del sys.modules[old_module.__name__]
        Gone.__module__ = __name__
    with pytest.raises(registry.RegistryError) as raised:
        registry.load_model(models_dir=moved)
    message = str(raised.value)
    assert "was saved by a walkaway whose code this one no longer has" in message
    assert "walkaway.model.old_heads" in message and "train it again" in message
    assert "\n" not in message


def test_artifacts_stay_under_the_models_dir(first_run: TrainingRun, models_dir: Path) -> None:
    client = registry.connect(models_dir)
    run = client.get_run(first_run.registered.run_id)
    assert run.info.artifact_uri.startswith((models_dir / "artifacts").resolve().as_uri())
    assert any((models_dir / "artifacts").rglob("MLmodel"))


def test_tracking_uri_override_is_respected(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    server = f"sqlite:///{tmp_path / 'team.db'}"
    monkeypatch.setenv("MLFLOW_TRACKING_URI", server)
    assert model_store.tracking_uri(tmp_path / "ignored") == server
    registry.connect(tmp_path / "ignored")
    assert model_store.tracking_uri(tmp_path / "ignored") == server
    assert not (tmp_path / "ignored").exists()
