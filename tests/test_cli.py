"""The command line end to end: synth, train, score, icp, promote, rollback — real files, real
MLflow (SQLite in a temporary folder), exit codes and one-line errors."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from walkaway.cli import main
from walkaway.signs import GROUPS


@pytest.fixture(autouse=True)
def default_tracking(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)


@pytest.fixture(scope="module")
def workspace(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("cli")
    with pytest.MonkeyPatch.context() as patch:
        patch.delenv("MLFLOW_TRACKING_URI", raising=False)
        assert (
            main(["synth", "--deals", "2500", "--seed", "5", "--out", str(folder / "export")]) == 0
        )
        code = main(
            ["train", "--history", str(folder / "export"), "--models-dir", str(folder / "models")]
        )
    assert code == 0
    return folder


def test_synth_writes_the_export(workspace: Path) -> None:
    files = {p.name for p in (workspace / "export").iterdir()}
    assert files == {
        "deals.csv",
        "pipeline.csv",
        "accounts.csv",
        "products.csv",
        "truth.parquet",
        "synth.json",
    }


def test_train_prints_the_metrics_attribution_and_decision(
    workspace: Path, capsys: pytest.CaptureFixture
) -> None:
    code = main(
        ["train", "--history", str(workspace / "export"), "--models-dir", str(workspace / "models")]
    )
    out = capsys.readouterr().out
    assert code == 0
    assert "ROC AUC" in out and "logistic" in out and "base_rate" in out and "truth" in out
    assert "Sign attribution:" in out
    assert "Decision: version 2" in out


def test_score_writes_every_open_deal_with_reasons(
    workspace: Path, capsys: pytest.CaptureFixture
) -> None:
    out_file = workspace / "scored.csv"
    code = main(
        [
            "score",
            "--deals",
            str(workspace / "export" / "pipeline.csv"),
            "--out",
            str(out_file),
            "--models-dir",
            str(workspace / "models"),
            "--as-of",
            "2025-12-31",
        ]
    )
    assert code == 0, capsys.readouterr().err
    scores = pd.read_csv(out_file)
    raw = pd.read_csv(workspace / "export" / "deals.csv")
    open_ids = raw.loc[~raw["Stage"].isin(["Closed Won", "Closed Lost"]), "Opportunity ID"]
    assert sorted(scores["deal_id"]) == sorted(open_ids)
    expected = {
        "p_win",
        "p_regret",
        "p_good",
        "recommendation",
        "model_name",
        "model_version",
        "scored_at",
    }
    expected |= {f"effect_{g}" for g in GROUPS} | {f"reasons_{g}" for g in GROUPS}
    assert expected <= set(scores.columns)
    assert scores["p_good"].between(0, 1).all()
    assert (scores["model_name"] == "walkaway").all()
    assert scores["reasons_glass_walls"].notna().any()
    assert "Open pipeline by recommendation" in capsys.readouterr().out
    assert not list(workspace.glob(".scored.csv.partial*"))


def test_icp_prints_the_profile_in_words(workspace: Path, capsys: pytest.CaptureFixture) -> None:
    assert main(["icp", "--history", str(workspace / "export")]) == 0
    out = capsys.readouterr().out
    assert "Best customers" in out and "Regretted customers" in out


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (
            [
                "score",
                "--deals",
                "{ws}/export/pipeline.csv",
                "--out",
                "{ws}/x.csv",
                "--model",
                "models:/nothing@champion",
            ],
            "model not found: models:/nothing@champion",
        ),
        (
            ["train", "--history", "{ws}/export", "--mapping", "{ws}/no-such.yaml"],
            "no such mapping",
        ),
        (["train", "--history", "{ws}/missing-folder"], "not found"),
        (["rollback", "--models-dir", "{ws}/empty-models"], "no registered model 'walkaway'"),
    ],
)
def test_configuration_errors_are_one_line(
    workspace: Path, capsys: pytest.CaptureFixture, argv: list[str], message: str
) -> None:
    args = [a.format(ws=workspace) for a in argv]
    if "--models-dir" not in args:
        args += ["--models-dir", str(workspace / "models")]
    assert main(args) == 1
    err = capsys.readouterr().err.strip()
    assert message in err
    assert "\n" not in err and "Traceback" not in err


def test_usage_errors_exit_2(capsys: pytest.CaptureFixture) -> None:
    assert main(["train"]) == 2
    assert "--history" in capsys.readouterr().err


def test_too_little_history_is_one_line(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    rows = ["deal_id,account_id,created_date,closed_date,amount,outcome"]
    rows += [
        f"d{i},a{i % 7},2024-01-01,2024-02-01,100,{'won' if i < 12 else 'lost'}" for i in range(90)
    ]
    (tmp_path / "deals.csv").write_text("\n".join(rows) + "\n", encoding="utf-8")
    code = main(["train", "--history", str(tmp_path), "--models-dir", str(tmp_path / "models")])
    err = capsys.readouterr().err.strip()
    assert code == 1
    assert (
        "needs at least 40 won and 40 lost closed deals" in err and "has 12 won and 78 lost" in err
    )
    assert "\n" not in err


def test_policy_thresholds_set_by_hand_reach_the_model(
    workspace: Path, tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    policy = tmp_path / "policy.yaml"
    policy.write_text("pursue_p_good: 0.99\n", encoding="utf-8")
    models = tmp_path / "models"
    args = ["train", "--history", str(workspace / "export"), "--models-dir", str(models)]
    assert main([*args, "--policy", str(policy)]) == 0
    out_file = tmp_path / "scored.csv"
    score = ["score", "--deals", str(workspace / "export" / "pipeline.csv"), "--out", str(out_file)]
    assert main([*score, "--models-dir", str(models)]) == 0
    assert "pursue" not in set(pd.read_csv(out_file)["recommendation"])  # nobody reaches 99%

    policy.write_text("pursue_everything: 1\n", encoding="utf-8")
    capsys.readouterr()
    assert main([*args, "--policy", str(policy)]) == 1
    assert "policy.yaml, column 'pursue_everything': unknown threshold" in capsys.readouterr().err


def test_the_holdout_is_called_newest_only_when_it_is(trained) -> None:
    from walkaway.cli import metrics_table

    assert metrics_table(trained.metrics_table()).title.startswith("Newest holdout")
    title = metrics_table(trained.metrics_table(), newest=False).title
    assert title.startswith("Stratified holdout (no dates)")


def test_the_browse_hint_names_the_store_the_run_used(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from walkaway.cli import browse_command
    from walkaway.serving.model_store import tracking_uri

    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    assert browse_command(tracking_uri()) == "make mlflow-ui"
    elsewhere = tracking_uri(tmp_path / "models")
    assert browse_command(elsewhere) == f"mlflow ui --backend-store-uri {elsewhere}"


def test_the_command_line_loads_no_data_or_model_library_until_a_command_needs_it() -> None:
    """`walkaway --help` answers without pandas, scikit-learn, LightGBM, SHAP or MLflow (their
    import takes seconds); `make bench` times it."""
    heavy = ("pandas", "sklearn", "lightgbm", "shap", "mlflow", "pyarrow")
    probe = f"import sys, walkaway.cli; print(','.join(m for m in {heavy!r} if m in sys.modules))"
    loaded = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True
    ).stdout.strip()
    assert loaded == ""
