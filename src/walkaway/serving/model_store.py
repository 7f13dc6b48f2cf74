"""The default MLflow store on disk: where it lives, one command at a time at its door, and
keeping it usable when its models folder is moved, copied or damaged.

By default the store is SQLite under ``models/`` (``sqlite:///models/mlflow.db``, artifacts in
``models/artifacts``); ``MLFLOW_TRACKING_URI`` overrides it, so a team server works unchanged,
and none of the upkeep here applies to it. A default models folder can be moved or copied: its
artifacts are wherever its ``mlflow.db`` is (:func:`settle_default_store`), and a store that is
not a readable SQLite database is a :class:`StoreError`, not a traceback.

This is plain SQLite and filesystem work, apart from :mod:`walkaway.serving.registry` so that
the registry holds only the MLflow calls (it stays the only module importing mlflow): it takes
:func:`store_lock` and calls :func:`settle_default_store` before every connection.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import sqlite3
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit
from urllib.request import url2pathname

from walkaway.errors import WalkawayError

DEFAULT_MODELS_DIR = Path("models")

# Where a SQLite store keeps artifact locations, as absolute file URIs fixed when the
# experiment, run, logged model or model version was created.
_LOCATION_COLUMNS = (
    ("experiments", "artifact_location"),
    ("runs", "artifact_uri"),
    ("logged_models", "artifact_location"),
    ("model_versions", "source"),  # a path for versions registered by MLflow 2
    ("model_versions", "storage_location"),
)


class StoreError(WalkawayError, RuntimeError):
    """The default store cannot be used: not a readable SQLite database, or moved and not
    writable."""


def tracking_uri(models_dir: Path = DEFAULT_MODELS_DIR) -> str:
    """``MLFLOW_TRACKING_URI`` when set, else SQLite in ``models_dir``."""
    return (
        os.environ.get("MLFLOW_TRACKING_URI") or f"sqlite:///{(models_dir / 'mlflow.db').resolve()}"
    )


def artifact_root(models_dir: Path) -> str:
    """The artifact location of the default store's experiments: ``models_dir/artifacts``.

    Examples
    --------
    >>> artifact_root(Path("/srv/models"))
    'file:///srv/models/artifacts'
    """
    return (models_dir / "artifacts").resolve().as_uri()


@contextlib.contextmanager
def store_lock(models_dir: Path) -> Iterator[None]:
    """Hold an exclusive lock on ``models_dir/.mlflow.db.lock`` (waiting for it): one command
    at a time checks, re-anchors or creates the default store."""
    with (models_dir / ".mlflow.db.lock").open("a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def settle_default_store(models_dir: Path) -> None:
    """Check that ``models_dir/mlflow.db`` is a readable SQLite database, and point its artifact
    locations into ``models_dir`` when the folder was moved or copied.

    MLflow records artifact locations as absolute paths, so a copied folder would log new runs
    into the original's ``artifacts`` and a moved one could not find its models. In the default
    store the artifacts always live beside ``mlflow.db``, so locations under another folder's
    ``artifacts`` are rewritten to this one's: MLflow (and ``mlflow ui``) then resolve them as
    before. A store that has not moved is only read. A missing ``mlflow.db`` is left for MLflow
    to create.

    Raises
    ------
    StoreError
        When the file is not a readable SQLite database, or cannot be updated (read-only).
    """
    database = models_dir / "mlflow.db"
    if not database.exists():
        return
    with contextlib.closing(_checked_store(database)) as db:
        try:
            _reanchor(db, artifact_root(models_dir))
        except sqlite3.Error as error:
            raise StoreError(
                f"{database} was moved or copied from another models folder and its artifact "
                f"locations cannot be updated ({one_line(str(error), 160)}): make the folder "
                "writable and run the command again"
            ) from None


def one_line(text: str, limit: int = 500) -> str:
    """Text for a tag and a one-line error: no line breaks, not too long.

    Examples
    --------
    >>> one_line("disk I/O error\\n  at page 7")
    'disk I/O error at page 7'
    >>> one_line("x" * 20, limit=10)
    'xxxxxxx...'
    """
    line = " ".join(str(text).split())
    return line if len(line) <= limit else line[: limit - 3] + "..."


def _checked_store(database: Path) -> sqlite3.Connection:
    """A connection to a SQLite file whose every page reads.

    MLflow's own error for a damaged file is a SQLAlchemy traceback, and a file truncated by
    a crash or a bad copy may only fail halfway through logging a run: checking first costs
    milliseconds.

    Raises
    ------
    StoreError
        When the file cannot be opened or is not an intact SQLite database.
    """
    db = None
    try:
        db = sqlite3.connect(database)
        (verdict,) = db.execute("PRAGMA quick_check(1)").fetchone()
        if verdict != "ok":
            raise sqlite3.DatabaseError(verdict)
    except sqlite3.Error as error:
        if db is not None:
            db.close()
        raise StoreError(
            f"{database} is not a readable MLflow store ({one_line(str(error), 160)}): "
            "restore it from a backup, or point --models-dir at another models folder"
        ) from None
    return db


def _reanchor(db: sqlite3.Connection, root: str) -> None:
    """Rewrite the artifact locations under another models folder's ``artifacts`` to ``root``.

    MLflow has no API to change a stored location, hence an update of its own columns
    (:data:`_LOCATION_COLUMNS`, those present), in one transaction.
    """
    columns = {
        table: {row[1] for row in db.execute(f"PRAGMA table_info({table})")}
        for table in {table for table, _ in _LOCATION_COLUMNS}
    }
    if "artifact_location" not in columns["experiments"]:
        return  # MLflow has not set the store up yet
    locations = db.execute("SELECT DISTINCT artifact_location FROM experiments").fetchall()
    moved = [old for (old,) in locations if old and _another_models_folder(old, root)]
    if not moved:
        return
    with db:
        for old in moved:
            for table, column in _LOCATION_COLUMNS:
                if column not in columns[table]:
                    continue
                # A prefix compared by substr, not LIKE: file URIs hold '%' and '_'.
                db.execute(
                    f"UPDATE {table} SET {column} = ? || substr({column}, ?) "
                    f"WHERE {column} = ? OR substr({column}, 1, ?) = ?",
                    (root, len(old) + 1, old, len(old) + 1, old + "/"),
                )


def _another_models_folder(location: str, root: str) -> bool:
    """Whether an experiment's artifact location is another models folder's ``artifacts``
    (as :func:`artifact_root` names them), rather than ``root`` or a location of the user's.
    """
    if location == root or not location.startswith("file://"):
        return False
    old = Path(url2pathname(urlsplit(location).path))
    if old.name != "artifacts":
        return False
    try:  # the same folder reached by another path (a mount, a link) needs no rewriting
        return not old.samefile(url2pathname(urlsplit(root).path))
    except OSError:  # either is missing: not the same folder
        return True
