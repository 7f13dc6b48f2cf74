"""A models folder moved, copied or damaged: the default store follows its folder, and a
corrupted ``mlflow.db`` is refused with one line, never a traceback."""

from __future__ import annotations

import hashlib
import shutil
from collections.abc import Callable
from pathlib import Path

import pytest
from conftest import tree_changes, tree_state

from walkaway.cli import main
from walkaway.data.history import History
from walkaway.data.wire_format import to_wire
from walkaway.jobs import train_job
from walkaway.serving import registry

CHAMPION = "models:/walkaway@champion"


@pytest.fixture(autouse=True)
def default_tracking(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)


def settled_copy(champion_models_dir: Path, target: Path) -> Path:
    """A copy of the session's models folder, used once where it is, as a user's own folder
    would have been (its store then names this folder, not the session's)."""
    shutil.copytree(champion_models_dir, target)
    assert registry.champion_version(models_dir=target) == 1
    return target


def artifact_locations(models_dir: Path) -> list[str]:
    """Every run's artifact URI and every model version's download URI in a store."""
    client = registry.connect(models_dir)
    experiments = [e.experiment_id for e in client.search_experiments()]
    runs = [run.info.artifact_uri for run in client.search_runs(experiments)]
    versions = [
        client.get_model_version_download_uri(v.name, v.version)
        for v in client.search_model_versions(f"name = '{registry.MODEL_NAME}'")
    ]
    return runs + versions


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_a_store_in_its_own_folder_is_only_read(champion_models_dir: Path) -> None:
    database = champion_models_dir / "mlflow.db"
    before = digest(database)
    assert registry.load_model(CHAMPION, models_dir=champion_models_dir).version == 1
    assert digest(database) == before


def test_a_moved_models_folder_still_loads_and_scores_its_champion(
    champion_models_dir: Path, history: History, tmp_path: Path
) -> None:
    original = settled_copy(champion_models_dir, tmp_path / "before" / "models")
    moved = tmp_path / "after" / "models"
    moved.parent.mkdir()
    shutil.move(original, moved)
    assert not original.exists()

    loaded = registry.load_model(CHAMPION, models_dir=moved)

    assert loaded.version == 1
    wire = to_wire(history.deal_frame().head(5)).assign(as_of="2025-12-31")
    assert loaded.pyfunc.predict(wire)["p_good"].between(0, 1).all()
    root = (moved / "artifacts").resolve().as_uri() + "/"
    assert all(location.startswith(root) for location in artifact_locations(moved))


def test_training_into_a_copy_leaves_the_original_untouched(
    champion_models_dir: Path, synthetic_dir: Path, tmp_path: Path
) -> None:
    original = settled_copy(champion_models_dir, tmp_path / "original" / "models")
    before = tree_state(original.parent)
    copy = tmp_path / "copy" / "models"
    shutil.copytree(original, copy)

    run = train_job(synthetic_dir, models_dir=copy)

    assert tree_changes(before, tree_state(original.parent)) == []
    assert run.registered.version == 2
    root = (copy / "artifacts").resolve().as_uri() + "/"
    assert all(location.startswith(root) for location in artifact_locations(copy))
    assert (copy / "artifacts" / run.registered.run_id).is_dir()
    new = registry.load_model(f"models:/walkaway/{run.registered.version}", models_dir=copy)
    assert new.version == 2


def random_bytes(database: Path) -> None:
    database.write_bytes(hashlib.sha256(b"seed").digest() * (database.stat().st_size // 32))


def truncated_to_half(database: Path) -> None:
    data = database.read_bytes()
    database.write_bytes(data[: len(data) // 2])


@pytest.mark.parametrize("damage", [random_bytes, truncated_to_half])
@pytest.mark.parametrize("command", ["score", "promote", "rollback"])
def test_a_corrupted_store_is_one_line_not_a_traceback(
    damage: Callable[[Path], None],
    command: str,
    champion_models_dir: Path,
    synthetic_dir: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture,
) -> None:
    models = tmp_path / "models"
    models.mkdir()
    database = models / "mlflow.db"
    shutil.copyfile(champion_models_dir / "mlflow.db", database)
    damage(database)
    damaged = digest(database)
    out = tmp_path / "scored.csv"
    argv = {
        "score": ["score", "--deals", str(synthetic_dir / "pipeline.csv"), "--out", str(out)],
        "promote": ["promote", "1"],
        "rollback": ["rollback"],
    }[command]

    code = main([*argv, "--models-dir", str(models)])

    err = capsys.readouterr().err
    assert code == 1
    assert "Traceback" not in err and len(err.strip().splitlines()) == 1, err
    assert f"{database} is not a readable MLflow store" in err
    assert "restore it from a backup" in err
    assert digest(database) == damaged  # left as it was, for whoever restores it
    assert not out.exists()
