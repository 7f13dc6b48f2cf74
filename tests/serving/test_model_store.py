"""The default store on disk, without MLflow: a file that is not SQLite is refused in one line,
and a store moved from another models folder points its artifact locations into its own."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from walkaway.serving.model_store import StoreError, artifact_root, settle_default_store


def test_a_file_that_is_not_sqlite_is_a_one_line_store_error(tmp_path: Path) -> None:
    (tmp_path / "mlflow.db").write_bytes(b"not a database, " * 256)
    with pytest.raises(StoreError) as raised:
        settle_default_store(tmp_path)
    assert str(raised.value).startswith(f"{tmp_path / 'mlflow.db'} is not a readable MLflow store")
    assert "restore it from a backup" in str(raised.value) and "\n" not in str(raised.value)


def test_a_missing_store_is_left_for_mlflow_to_create(tmp_path: Path) -> None:
    settle_default_store(tmp_path)
    assert not (tmp_path / "mlflow.db").exists()


def test_locations_under_another_models_folder_move_into_this_one(tmp_path: Path) -> None:
    """Only locations under the other folder's ``artifacts`` are rewritten, by prefix (a name
    holding '_' must not match as a LIKE pattern would), in every table that has them."""
    models = tmp_path / "moved" / "models"
    models.mkdir(parents=True)
    old = (tmp_path / "was_here" / "models" / "artifacts").as_uri()
    lookalike = old.replace("was_here", "wasXhere")  # what LIKE 'was_here%' would also match
    users = "s3://bucket/team-artifacts"
    with sqlite3.connect(models / "mlflow.db") as db:  # the tables of MLflow 2, no logged_models
        db.execute("CREATE TABLE experiments (artifact_location TEXT)")
        db.execute("CREATE TABLE runs (artifact_uri TEXT)")
        db.execute("CREATE TABLE model_versions (source TEXT, storage_location TEXT)")
        db.executemany("INSERT INTO experiments VALUES (?)", [(old,), (users,)])
        db.executemany("INSERT INTO runs VALUES (?)", [(f"{old}/1/abc/artifacts",), (lookalike,)])
        db.execute("INSERT INTO model_versions VALUES (?, ?)", (f"{old}/1/m", f"{old}/1/m"))
    db.close()

    settle_default_store(models)

    root = artifact_root(models)
    with sqlite3.connect(models / "mlflow.db") as db:
        experiments = [row[0] for row in db.execute("SELECT * FROM experiments")]
        runs = [row[0] for row in db.execute("SELECT * FROM runs")]
        versions = db.execute("SELECT * FROM model_versions").fetchall()
    db.close()
    assert experiments == [root, users]
    assert runs == [f"{root}/1/abc/artifacts", lookalike]
    assert versions == [(f"{root}/1/m", f"{root}/1/m")]
