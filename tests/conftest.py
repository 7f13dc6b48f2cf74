"""Shared fixtures: one small synthetic CRM history, and a model trained on it, per session."""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import pytest

from walkaway.data.exports import load_history
from walkaway.data.history import History
from walkaway.data.labels import label_deals
from walkaway.data.synth import write_synthetic_history
from walkaway.model.training import TrainingResult, train_and_evaluate

SMALL_HISTORY_DEALS = 3000

REPO = Path(__file__).resolve().parents[1]
# The user's own store and data, and the folder MLflow writes to when no tracking URI is set.
GUARDED = ("models", "data", "mlruns")


def tree_state(root: Path) -> dict[str, tuple]:
    """Every file, folder and link under ``root``'s guarded folders, by path relative to
    ``root``: a file's size, mtime and SHA-256, a folder's mtime (it changes when an entry is
    added or removed, even one removed again), a link's target."""
    state: dict[str, tuple] = {}
    for top in GUARDED:
        base = root / top
        if not base.exists() and not base.is_symlink():
            continue
        for path in [base, *sorted(base.rglob("*"))]:
            name = path.relative_to(root).as_posix()
            info = path.lstat()
            if path.is_symlink():
                state[name] = ("link", os.readlink(path))
            elif path.is_dir():
                state[name + "/"] = ("folder", info.st_mtime_ns)
            else:
                with path.open("rb") as file:
                    digest = hashlib.file_digest(file, "sha256").hexdigest()
                state[name] = ("file", info.st_size, info.st_mtime_ns, digest)
    return state


def tree_changes(before: dict[str, tuple], after: dict[str, tuple]) -> list[str]:
    """One line per path added, removed or changed between two :func:`tree_state` snapshots."""
    fields = {"file": ("size", "mtime", "content"), "folder": ("mtime",), "link": ("target",)}
    lines = [f"added    {name}" for name in sorted(after.keys() - before.keys())]
    lines += [f"removed  {name}" for name in sorted(before.keys() - after.keys())]
    for name in sorted(before.keys() & after.keys()):
        old, new = before[name], after[name]
        if old != new:
            changed = (
                [f for f, a, b in zip(fields[old[0]], old[1:], new[1:], strict=True) if a != b]
                if old[0] == new[0]
                else [f"{old[0]} -> {new[0]}"]
            )
            lines.append(f"changed  {name} ({', '.join(changed)})")
    return lines


@pytest.fixture(scope="session", autouse=True)
def project_store_and_data_untouched() -> Iterator[None]:
    """The session leaves the project's own ``models/`` and ``data/`` exactly as it found them,
    and makes no ``mlruns/`` in the repository: tests write to temporary folders only.

    The snapshot is taken before the first test of ``tests/`` and compared when the session
    ends (after the doctests and the benchmarks' tests too); a difference fails the session.
    """
    before = tree_state(REPO)
    yield
    changes = tree_changes(before, tree_state(REPO))
    if changes:
        shown = changes[:40] + ([f"... and {len(changes) - 40} more"] if len(changes) > 40 else [])
        pytest.fail(
            f"the test session wrote into the project at {REPO} (tests must write to temporary "
            "folders only):\n  " + "\n  ".join(shown),
            pytrace=False,
        )


@pytest.fixture(scope="session")
def synthetic_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A synthetic export (deals, accounts, products, truth) of 3,000 deals."""
    folder = tmp_path_factory.mktemp("synthetic-crm")
    write_synthetic_history(folder, n_deals=SMALL_HISTORY_DEALS, seed=3)
    return folder


@pytest.fixture(scope="session")
def history(synthetic_dir: Path) -> History:
    return load_history(synthetic_dir)


@pytest.fixture(scope="session")
def labelled(history: History) -> pd.DataFrame:
    return label_deals(history.deal_frame(), history.export_date, 365)


@pytest.fixture(scope="session")
def trained(history: History, synthetic_dir: Path) -> TrainingResult:
    """Both heads trained and evaluated on the small history, with its truth."""
    truth = pd.read_parquet(synthetic_dir / "truth.parquet")
    return train_and_evaluate(history, truth=truth)


@pytest.fixture(scope="session")
def champion_models_dir(synthetic_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An MLflow store (SQLite, temporary) whose @champion was trained on the small history."""
    from walkaway.jobs import train_job

    models_dir = tmp_path_factory.mktemp("champion-models")
    with pytest.MonkeyPatch.context() as patch:
        patch.delenv("MLFLOW_TRACKING_URI", raising=False)
        train_job(synthetic_dir, models_dir=models_dir)
    return models_dir


@pytest.fixture(scope="session")
def spark() -> Iterator[object]:
    """One local Spark session (2 cores) for the tests that need Spark; Java 17 and pyspark
    (the spark extra) are required: `make test` installs them."""
    from walkaway.serving.spark_engine import start_session

    session, _ = start_session("local[2]")
    yield session
    session.stop()
