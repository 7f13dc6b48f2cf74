"""``walkaway models``, ``walkaway models show`` and ``walkaway --version`` through the CLI, on a
real MLflow store (SQLite, temporary) holding two versions, a promotion and a rollback."""

from __future__ import annotations

import importlib.metadata
import re
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

from walkaway.cli import main
from walkaway.data.history import History
from walkaway.model.training import TrainingResult
from walkaway.serving import registry


@dataclass(frozen=True)
class Store:
    """A store with versions 1 and 2: ``champion`` holds @champion after the promotion by hand
    of ``promoted`` and the rollback that followed it."""

    models_dir: Path
    champion: int
    promoted: int
    win_roc_auc: dict[int, float]  # each version's, as its run logged it


@pytest.fixture(autouse=True)
def default_tracking(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)


@pytest.fixture(scope="module")
def store(
    champion_models_dir: Path,
    trained: TrainingResult,
    history: History,
    synthetic_dir: Path,
    tmp_path_factory: pytest.TempPathFactory,
) -> Store:
    """A copy of the session's champion store (version 1), with the session's trained result
    registered as version 2, then the other version promoted by hand and rolled back."""
    models_dir = tmp_path_factory.mktemp("two-versions") / "models"
    shutil.copytree(champion_models_dir, models_dir)  # the session's store stays as it is
    with pytest.MonkeyPatch.context() as patch:
        patch.delenv("MLFLOW_TRACKING_URI", raising=False)
        params = {"history": str(synthetic_dir), "mapping": history.mapping.name}
        second = registry.log_training_run(
            trained, {}, params, models_dir=models_dir, mapping=history.mapping
        )
        assert second.version == 2
        champion = 2 if second.champion else 1
        promoted = 3 - champion
        assert main(["promote", str(promoted), "--models-dir", str(models_dir)]) == 0
        assert main(["rollback", "--models-dir", str(models_dir)]) == 0
        client = registry.connect(models_dir)
        win_roc_auc = {
            version: client.get_run(
                client.get_model_version("walkaway", str(version)).run_id
            ).data.metrics["win_walkaway_roc_auc"]
            for version in (1, 2)
        }
    return Store(models_dir, champion, promoted, win_roc_auc)


def run(capsys: pytest.CaptureFixture, *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def first_lines(out: str) -> dict[int, list[str]]:
    """The cells of each table row's first line, by the version in its first cell."""
    rows = {}
    for line in out.splitlines():
        if match := re.match(r"│\s+(\d+) │", line):
            rows[int(match.group(1))] = [cell.strip() for cell in line.strip("│").split("│")]
    return rows


def decision_table(out: str) -> list[list[str]]:
    """The first line of each row of the card's decisions table: number, time, action, text."""
    table = out[out.index("oldest first") :]
    return [
        [cell.strip() for cell in line.strip("│").split("│")]
        for line in table.splitlines()
        if re.match(r"│\s*\d+ │", line)
    ]


def test_models_lists_each_version_with_its_alias_metrics_and_decision(
    store: Store, capsys: pytest.CaptureFixture
) -> None:
    code, out, err = run(capsys, "models", "--models-dir", str(store.models_dir))

    assert code == 0, err
    rows = first_lines(out)
    assert sorted(rows) == [1, 2]
    for version, cells in rows.items():
        alias = cells[1]
        assert alias == ("@champion" if version == store.champion else "")
        assert f"{store.win_roc_auc[version]:.4f}" in cells
        assert re.fullmatch(r"\d{4}-\d\d-\d\d \d\d:\d\d", cells[2])
    # Both were trained on the session's 3,000 deals; the champion's latest decision is the
    # rollback that gave the alias back to it.
    assert out.count("3,000 deals") == 2
    assert rows[store.champion][-1].startswith("rolled back")


def test_models_show_prints_the_whole_card(
    store: Store, trained: TrainingResult, capsys: pytest.CaptureFixture
) -> None:
    code, out, err = run(capsys, "models", "show", "2", "--models-dir", str(store.models_dir))

    assert code == 0, err
    assert out.startswith(
        f"walkaway version 2: {'@champion' if store.champion == 2 else 'challenger'}"
    )
    for section in (
        "The data it learned from",
        "both heads against their baselines",
        "Calibration on the holdout",
        "Reliability of walkaway on the holdout",
        "Recommendation policy",
        "The mapping it was trained with: synthetic-crm",
        "Decisions about version 2, oldest first",
    ):
        assert section in out
    assert re.search(rf"\n  sha256 +{trained.fingerprint['data_sha256']}\n", out)
    printed = trained.metrics_table()
    for (head, predictor), figures in printed.iterrows():
        assert re.search(rf"│ {head}\s+│ {predictor}\s+│\s+{figures['roc_auc']:.4f} │", out)
    assert "pursue_p_good" in out and "walk_away_p_regret" in out
    assert "name: synthetic-crm" in out and "deal_id: Opportunity ID" in out


def test_every_promotion_and_rollback_is_kept_in_order(
    store: Store, capsys: pytest.CaptureFixture
) -> None:
    """Nothing is overwritten: version 1 keeps its first decision, the one that moved the alias
    away from it when version 2 won (if it did), the promotion and the rollback."""
    tables = {}
    for version in (1, 2):
        code, out, err = run(
            capsys, "models", "show", str(version), "--models-dir", str(store.models_dir)
        )
        assert code == 0, err
        tables[version] = decision_table(out)

    for rows in tables.values():
        assert [row[0] for row in rows] == [str(i) for i in range(1, len(rows) + 1)]
        assert [row[1] for row in rows] == sorted(row[1] for row in rows)
        assert [row[2] for row in rows[-2:]] == ["promote", "rollback"]
        assert rows[0][2] == "train"
        assert rows[-2][3].startswith(f"version {store.promoted} promoted to @champion by hand")
        assert rows[-1][3].startswith(f"rolled back: version {store.champion} is @champion again")
    assert tables[1][0][3].startswith("version 1 is the first model")
    assert len(tables[1]) == (4 if store.champion == 2 else 3)
    assert len(tables[2]) == 3


def test_models_options_may_come_before_show(store: Store, capsys: pytest.CaptureFixture) -> None:
    before = run(capsys, "models", "--models-dir", str(store.models_dir), "show", "1")
    after = run(capsys, "models", "show", "1", "--models-dir", str(store.models_dir))

    assert before[0] == after[0] == 0
    assert before[1].splitlines()[2:] == after[1].splitlines()[2:]


def test_an_unknown_version_is_one_line_naming_the_known_ones(
    store: Store, capsys: pytest.CaptureFixture
) -> None:
    code, out, err = run(capsys, "models", "show", "9", "--models-dir", str(store.models_dir))

    assert code == 1 and out == ""
    assert err == "walkaway: error: model 'walkaway' has no version 9: its versions are 1, 2\n"


def test_an_empty_store_says_so_in_one_line_and_creates_nothing(
    tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    models_dir = tmp_path / "models"

    code, out, err = run(capsys, "models", "--models-dir", str(models_dir))

    assert code == 0 and err == ""
    assert out == (
        f"no model trained yet in {models_dir}: walkaway train --history EXPORT "
        f"--models-dir {models_dir}\n"
    )
    assert not models_dir.exists()
    code, out, err = run(capsys, "models", "show", "1", "--models-dir", str(models_dir))
    assert code == 1
    assert err == "walkaway: error: model 'walkaway' has no version 1: no model trained yet\n"


def test_version_prints_the_installed_version_without_loading_the_heavy_libraries() -> None:
    heavy = ("pandas", "sklearn", "lightgbm", "mlflow")
    probe = (
        "import sys; from walkaway.cli import main; code = main(['--version']); "
        f"print(code, [m for m in {heavy!r} if m in sys.modules])"
    )
    printed = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True
    ).stdout.splitlines()

    assert printed == [f"walkaway {importlib.metadata.version('walkaway')}", "0 []"]
