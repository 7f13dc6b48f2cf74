"""MLflow: tracking runs and the model registry. The only module that imports mlflow.

- Tracking: SQLite under ``models/`` by default (``sqlite:///models/mlflow.db``, artifacts in
  ``models/artifacts``); ``MLFLOW_TRACKING_URI`` overrides, so a team server works unchanged.
  A default models folder can be moved or copied: its artifacts are wherever its
  ``mlflow.db`` is (see :func:`connect`), and a store that is not a readable SQLite database
  is a :class:`RegistryError`, not a traceback.
- The whole model (features, both heads, calibrators, explainer, policy) is logged as one
  pyfunc, :class:`WalkawayPyfunc`, with a signature and an input example, and registered as
  ``walkaway``. Calling ``predict`` on canonical deals returns scores, sign effects, reasons
  and recommendations. The run also logs its holdout predictions
  (``metrics/holdout_predictions.parquet``: head, deal_id, y, p).

Champion and challenger: the rule is :mod:`walkaway.serving.promotion`'s; this module gathers
the figures it compares (see :func:`_fair_comparisons`) and moves ``@champion``.

A run flagged as a suspected leak (``TrainingResult.suspected_leak``) is never promoted
automatically, and :func:`promote` refuses it unless forced. Every decision (the automatic one
after training, each ``promote`` and ``rollback``) is appended to the versions it concerns as
numbered tags ``decision.1``, ``decision.2``, ... (UTC time, action, text); ``decision`` holds
the latest, and :func:`decisions` reads a version's history back. Promotions are remembered,
so ``rollback`` can return to the previous champion.
"""

from __future__ import annotations

import contextlib
import fcntl
import io
import logging
import os
import re
import sqlite3
import tempfile
import warnings
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, replace
from pathlib import Path
from urllib.parse import urlsplit
from urllib.request import url2pathname

import joblib
import mlflow
import numpy as np
import pandas as pd
import yaml
from mlflow.models import ModelSignature
from mlflow.types import ColSpec, Schema

from walkaway import __version__
from walkaway.data.contracts import WIRE_COLUMNS, parse_canonical, to_wire
from walkaway.data.mapping import Mapping, load_mapping
from walkaway.errors import WalkawayError
from walkaway.model.training import TrainingResult
from walkaway.model.walkaway_model import WalkawayModel
from walkaway.serving.promotion import CHAMPION, HeadComparison, verdict
from walkaway.serving.scoring import score_deals
from walkaway.signs import day_text

MODEL_NAME = "walkaway"
HISTORY_TAG = "champion_history"
DEFAULT_MODELS_DIR = Path("models")
DECISION_TAG = "decision"  # the latest decision; ``decision.1``, ``decision.2``... keep them all
LEAK_TAG = "suspected_leak"  # why a version must not be promoted without force
PREDICTIONS_ARTIFACT = "metrics/holdout_predictions.parquet"
MAPPING_ARTIFACT = "mapping"  # the pyfunc artifact holding the mapping the model trained with


class RegistryError(WalkawayError, RuntimeError):
    """A registry operation that cannot be done (no such model, version or alias)."""


def tracking_uri(models_dir: Path = DEFAULT_MODELS_DIR) -> str:
    """``MLFLOW_TRACKING_URI`` when set, else SQLite in ``models_dir``."""
    return (
        os.environ.get("MLFLOW_TRACKING_URI") or f"sqlite:///{(models_dir / 'mlflow.db').resolve()}"
    )


def connect(models_dir: Path = DEFAULT_MODELS_DIR) -> mlflow.MlflowClient:
    """Point MLflow at the tracking store and return a client.

    With the default store (no ``MLFLOW_TRACKING_URI``), ``models_dir/mlflow.db`` is first
    checked and its artifact locations re-anchored to ``models_dir`` (see
    :func:`_settle_default_store`): every command (train, score, promote, rollback) connects
    here, so a moved or copied folder and a corrupted store are dealt with in one place.

    Raises
    ------
    RegistryError
        When the default store is not a readable SQLite database, or was moved and cannot be
        updated.
    """
    # MLflow's own progress bars and notices would drown the job's summary.
    os.environ.setdefault("MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR", "false")
    for name in ("mlflow", "alembic"):
        logging.getLogger(name).setLevel(logging.ERROR)
    users_choice = os.environ.get("MLFLOW_TRACKING_URI")
    uri = tracking_uri(models_dir)
    mlflow.set_tracking_uri(uri)
    mlflow.set_registry_uri(uri)
    # MLflow exports the URI it is given as MLFLOW_TRACKING_URI; put back the user's own choice
    # so that the next call (another models_dir) does not mistake ours for theirs.
    if users_choice is None:
        os.environ.pop("MLFLOW_TRACKING_URI", None)
    if users_choice is not None:
        return mlflow.MlflowClient(uri, uri)
    models_dir.mkdir(parents=True, exist_ok=True)
    with _store_lock(models_dir):
        _settle_default_store(models_dir)
        # MLflow creates and migrates a new store's tables when a client first opens it; two
        # commands doing it at once collide ("duplicate column name"): one at a time.
        client = mlflow.MlflowClient(uri, uri)
        client.search_registered_models(max_results=1)
    return client


@contextlib.contextmanager
def _store_lock(models_dir: Path) -> Iterator[None]:
    """Hold an exclusive lock on ``models_dir/.mlflow.db.lock`` (waiting for it): one command
    at a time checks, re-anchors or creates the default store."""
    with (models_dir / ".mlflow.db.lock").open("a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


# Where a SQLite store keeps artifact locations, as absolute file URIs fixed when the
# experiment, run, logged model or model version was created.
_LOCATION_COLUMNS = (
    ("experiments", "artifact_location"),
    ("runs", "artifact_uri"),
    ("logged_models", "artifact_location"),
    ("model_versions", "source"),  # a path for versions registered by MLflow 2
    ("model_versions", "storage_location"),
)


def _artifact_root(models_dir: Path) -> str:
    """The artifact location of the default store's experiments: ``models_dir/artifacts``."""
    return (models_dir / "artifacts").resolve().as_uri()


def _settle_default_store(models_dir: Path) -> None:
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
    RegistryError
        When the file is not a readable SQLite database, or cannot be updated (read-only).
    """
    database = models_dir / "mlflow.db"
    if not database.exists():
        return
    with contextlib.closing(_checked_store(database)) as db:
        try:
            _reanchor(db, _artifact_root(models_dir))
        except sqlite3.Error as error:
            raise RegistryError(
                f"{database} was moved or copied from another models folder and its artifact "
                f"locations cannot be updated ({_one_line(str(error), 160)}): make the folder "
                "writable and run the command again"
            ) from None


def _checked_store(database: Path) -> sqlite3.Connection:
    """A connection to a SQLite file whose every page reads.

    MLflow's own error for a damaged file is a SQLAlchemy traceback, and a file truncated by
    a crash or a bad copy may only fail halfway through logging a run: checking first costs
    milliseconds.

    Raises
    ------
    RegistryError
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
        raise RegistryError(
            f"{database} is not a readable MLflow store ({_one_line(str(error), 160)}): "
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
    (as :func:`_experiment_id` creates them), rather than ``root`` or a location of the user's.
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


class WalkawayPyfunc(mlflow.pyfunc.PythonModel):
    """The walkaway model as an MLflow pyfunc: canonical deals in, scores and reasons out.

    Input: canonical deal columns (and account firmographics) as plain text and numbers; an
    optional ``as_of`` column (ISO date) sets each deal's as-of time, by default today.
    """

    def load_context(self, context: mlflow.pyfunc.PythonModelContext) -> None:
        self.model: WalkawayModel = joblib.load(context.artifacts["walkaway_model"])
        # The mapping it was trained with (models logged before issue 12 have none).
        path = context.artifacts.get(MAPPING_ARTIFACT)
        self.mapping: Mapping | None = None
        if path is not None:
            self.mapping = replace(load_mapping(path), source="the model's mapping.yaml")

    def predict(
        self,
        context: mlflow.pyfunc.PythonModelContext,
        model_input: pd.DataFrame,
        params: dict | None = None,
    ) -> pd.DataFrame:
        return score_canonical(self.model, model_input)


def score_canonical(model: WalkawayModel, frame: pd.DataFrame) -> pd.DataFrame:
    """Score canonical deals given as plain text and numbers (the pyfunc's contract)."""
    deals = parse_canonical(frame.reset_index(drop=True))
    as_of = deals.pop("as_of") if "as_of" in deals else pd.Timestamp.now().normalize()
    return score_deals(model, deals, as_of)


def _signature(output: pd.DataFrame, model: WalkawayModel) -> ModelSignature:
    """Plain text and numbers in (no categories: MLflow's schema check rejects them)."""
    required = {"deal_id"}
    inputs = [
        ColSpec("double" if spec.kind == "number" else "string", name, required=name in required)
        for name, spec in WIRE_COLUMNS.items()
    ]
    inputs.append(ColSpec("string", "as_of", required=False))
    extras = model.features_.named_transformers.get("extra")
    for name in extras.numeric_ if extras is not None else {}:  # text in; the model parses
        inputs.append(ColSpec("string", name, required=False))
    outputs = [
        ColSpec("double" if pd.api.types.is_numeric_dtype(output[c]) else "string", c)
        for c in output.columns
    ]
    return ModelSignature(Schema(inputs), Schema(outputs))


def _requirements() -> list[str]:
    from importlib.metadata import version

    packages = [
        "pandas",
        "numpy",
        "scikit-learn",
        "lightgbm",
        "scipy",
        "pandera",
        "mlflow",
        "pyarrow",
    ]
    return [f"{name}=={version(name)}" for name in packages] + [f"walkaway=={__version__}"]


@dataclass
class RegisteredRun:
    """What a training run left in MLflow, and the champion decision."""

    run_id: str
    version: int
    champion: bool
    decision: str
    tracking_uri: str


def log_training_run(
    result: TrainingResult,
    figures: dict[str, object],
    params: dict[str, object],
    experiment: str = MODEL_NAME,
    model_name: str = MODEL_NAME,
    models_dir: Path = DEFAULT_MODELS_DIR,
    mapping: Mapping | None = None,
) -> RegisteredRun:
    """Log a training run (params, metrics, fingerprint, plots, holdout predictions, model and
    the mapping it was trained with), register the model and decide whether it becomes the
    champion."""
    client = connect(models_dir)
    experiment_id = _experiment_id(client, experiment, models_dir)
    with mlflow.start_run(experiment_id=experiment_id) as run:
        mlflow.log_params({**params, **result.fingerprint, **_policy_params(result.model)})
        mlflow.log_metrics(_flat_metrics(result))
        for name, figure in figures.items():
            mlflow.log_figure(figure, f"plots/{name}.png")
        mlflow.log_text(result.metrics_table().round(4).to_csv(), "metrics/holdout_metrics.csv")
        mlflow.log_text("\n".join(result.notes) or "none", "metrics/notes.txt")
        example = to_wire(result.win.deals.head(5)).reset_index(drop=True)
        output = score_canonical(result.model, example)
        with tempfile.TemporaryDirectory() as folder:
            # A later run on the same data compares its own holdout predictions with these.
            predictions = Path(folder) / Path(PREDICTIONS_ARTIFACT).name
            holdout_predictions(result).to_parquet(predictions, index=False)
            mlflow.log_artifact(str(predictions), str(Path(PREDICTIONS_ARTIFACT).parent))
            path = Path(folder) / "walkaway_model.joblib"
            joblib.dump(result.model, path)
            artifacts = {"walkaway_model": str(path)}
            if mapping is not None:  # scoring reads the export the way training did
                mapping_path = Path(folder) / "mapping.yaml"
                text = yaml.safe_dump(mapping.to_document(), sort_keys=False, allow_unicode=True)
                mapping_path.write_text(text, encoding="utf-8")
                artifacts[MAPPING_ARTIFACT] = str(mapping_path)
            # MLflow prints its own registration notices to stderr; the job prints its summary.
            with warnings.catch_warnings(), contextlib.redirect_stderr(io.StringIO()):
                warnings.simplefilter("ignore")
                info = mlflow.pyfunc.log_model(
                    name="model",
                    python_model=WalkawayPyfunc(),
                    artifacts=artifacts,
                    signature=_signature(output, result.model),
                    input_example=example,
                    pip_requirements=_requirements(),
                    registered_model_name=model_name,
                )
        version = int(info.registered_model_version)
        leak = _one_line(result.suspected_leak)
        if leak:  # before deciding: `promote` must see the flag whatever happens next
            mlflow.set_tag(LEAK_TAG, leak)
            client.set_model_version_tag(model_name, str(version), LEAK_TAG, leak)
        current = _alias_version(client, model_name)
        champion, decision = _decide(client, model_name, version, current, result, models_dir)
        mlflow.set_tag("champion_decision", decision)
    # A promotion concerns the version that lost the alias as well as the one that gained it.
    _record(client, model_name, [version, current if champion else None], "train", decision)
    return RegisteredRun(run.info.run_id, version, champion, decision, tracking_uri(models_dir))


def holdout_predictions(result: TrainingResult) -> pd.DataFrame:
    """The run's holdout predictions, one row per head, deal and snapshot: ``head``,
    ``deal_id``, ``snapshot_age`` (days open when scored; 0 for the regret head), ``y`` (the
    label) and ``p`` (walkaway's probability, from the model fitted without the holdout).
    """
    frames = [
        pd.DataFrame(
            {
                "head": head,
                "deal_id": holdout.deals["deal_id"].astype(str).to_numpy(),
                "snapshot_age": (
                    holdout.deals["snapshot_age"].fillna(0).to_numpy(dtype=float)
                    if "snapshot_age" in holdout.deals
                    else np.zeros(len(holdout.y))
                ),
                "y": np.asarray(holdout.y, dtype=int),
                "p": np.asarray(holdout.predictions["walkaway"], dtype=float),
            }
        )
        for head, holdout in (("win", result.win), ("regret", result.regret))
        if holdout is not None
    ]
    return pd.concat(frames, ignore_index=True)


def _experiment_id(client: mlflow.MlflowClient, name: str, models_dir: Path) -> str:
    found = client.get_experiment_by_name(name)
    if found is not None:
        return found.experiment_id
    location = None
    if "MLFLOW_TRACKING_URI" not in os.environ:
        location = _artifact_root(models_dir)
    return client.create_experiment(name, artifact_location=location)


def _flat_metrics(result: TrainingResult) -> dict[str, float]:
    metrics = {}
    for (head, predictor), row in result.metrics_table().iterrows():
        for metric, value in row.items():
            if pd.notna(value):
                metrics[f"{head}_{predictor}_{metric}"] = float(value)
    for sign, value in result.sign_importance().items():
        metrics[f"sign_importance_{sign}"] = float(value)
    if result.attribution is not None and pd.notna(result.attribution["share"]):
        metrics["sign_attribution_share"] = float(result.attribution["share"])
        metrics["sign_attribution_deals"] = float(result.attribution["deals"])
    metrics["win_holdout_deals"] = float(len(result.win.y))
    by_age = result.win.metrics_by_age()
    for (band, predictor), row in by_age.iterrows():
        if predictor in ("walkaway", "truth"):
            slug = band.replace(" ", "_").replace("-", "_")
            for metric in ("roc_auc", "log_loss", "ece", "deals"):
                if pd.notna(row[metric]):
                    metrics[f"win_age_{slug}_{predictor}_{metric}"] = float(row[metric])
    if result.regret is not None:
        metrics["regret_holdout_deals"] = float(len(result.regret.y))
    return metrics


def _policy_params(model: WalkawayModel) -> dict[str, object]:
    return {f"policy_{k}": v for k, v in vars(model.policy_).items()}


def _decide(
    client: mlflow.MlflowClient,
    model_name: str,
    version: int,
    current: int | None,
    result: TrainingResult,
    models_dir: Path,
) -> tuple[bool, str]:
    """Promote the new version unless it is a suspected leak or loses to the champion (see the
    module docstring for the rule); return whether it was promoted and why."""
    if result.suspected_leak:
        return False, (
            f"version {version} stays a challenger: its run is flagged as a suspected leak "
            f"({_one_line(result.suspected_leak)}), and a suspected leak is never promoted "
            f"automatically; `walkaway promote {version} --force` overrides"
        )
    if current is None:
        _promote(client, model_name, version)
        return True, f"version {version} is the first model: it becomes @{CHAMPION}"
    try:
        comparisons, path = _fair_comparisons(client, model_name, current, result, models_dir)
    except Exception as error:  # e.g. the old model cannot score the new export's deals
        return False, (
            f"version {version} stays a challenger: it could not be compared with champion "
            f"version {current} ({type(error).__name__}); promote it with "
            f"`walkaway promote {version}`"
        )
    promoted, text = verdict(version, current, comparisons, path)
    if promoted:
        _promote(client, model_name, version)
    return promoted, text


def _fair_comparisons(
    client: mlflow.MlflowClient,
    model_name: str,
    current: int,
    result: TrainingResult,
    models_dir: Path,
) -> tuple[dict[str, HeadComparison], str]:
    """Each head of the new run against the champion on deals neither learned from, and a
    sentence saying how they were chosen.

    The champion's registered model may have been refit on every deal of its export, so it is
    never scored on deals its training data reached: on the same data, both runs' holdout
    predictions (each from a model fitted without its holdout) are compared instead.
    """
    ours = holdout_predictions(result)
    champion_run = client.get_run(client.get_model_version(model_name, str(current)).run_id)
    sha = str(result.fingerprint.get("data_sha256", ""))
    same_data = bool(sha) and champion_run.data.params.get("data_sha256") == sha
    theirs = _logged_predictions(client, champion_run.info.run_id) if same_data else None
    if theirs is not None:
        paired = ours.merge(
            theirs, on=["head", "deal_id", "snapshot_age", "y"], suffixes=("", "_champion")
        )
        comparisons = {
            head: HeadComparison.of(head, rows["y"], rows["p"], rows["p_champion"])
            for head in ours["head"].unique()
            for rows in [paired[paired["head"] == head]]
        }
        return comparisons, (
            f"same data (sha256 {sha}): compared on both runs' logged holdout predictions, "
            "paired by deal"
        )

    champion = load_model(f"models:/{model_name}/{current}", models_dir).model
    win_until = getattr(champion, "trained_until_", pd.NaT)
    cutoffs = {"win": win_until, "regret": getattr(champion, "regret_trained_until_", win_until)}
    comparisons = {}
    for head, holdout, column in (
        ("win", result.win, "p_win"),
        ("regret", result.regret, "p_regret"),
    ):
        if holdout is None:
            continue
        # Undated exports leave the cut-off unknown (NaT): then no deal is known to be unseen.
        unseen = (holdout.deals["closed_date"] > cutoffs[head]).to_numpy(dtype=bool)
        p_champion = _champion_scores(champion, holdout.deals[unseen], column)
        comparisons[head] = HeadComparison.of(
            head, holdout.y[unseen], holdout.predictions["walkaway"][unseen], p_champion
        )
    win_after = day_text(cutoffs["win"], "an unknown date")
    regret_after = day_text(cutoffs["regret"], "an unknown date")
    path = (
        f"compared on the new holdout's deals closed after champion version {current}'s "
        f"training data (win head after {win_after}, regret head after {regret_after}), "
        "scored by the champion"
    )
    if same_data:
        path = f"same data, but champion version {current} logged no holdout predictions: {path}"
    return comparisons, path


def _logged_predictions(client: mlflow.MlflowClient, run_id: str) -> pd.DataFrame | None:
    """A run's logged holdout predictions, or None when it logged none (an older run)."""
    with tempfile.TemporaryDirectory() as folder:
        try:
            path = client.download_artifacts(run_id, PREDICTIONS_ARTIFACT, folder)
        except Exception:  # MLflow raises its own errors for a missing artifact
            return None
        logged = pd.read_parquet(path)
    if "snapshot_age" not in logged:  # logged before snapshots: every deal at creation
        logged["snapshot_age"] = 0.0
    return logged.astype({"deal_id": str, "y": int, "snapshot_age": float})


def _champion_scores(model: WalkawayModel, deals: pd.DataFrame, column: str) -> np.ndarray:
    """The champion's probabilities for holdout deals, each scored as of its snapshot (its
    creation when it has none)."""
    if deals.empty:
        return np.array([], dtype=float)
    as_of = deals["as_of"] if "as_of" in deals else deals["created_date"]
    wire = to_wire(deals.assign(as_of=as_of))
    return score_canonical(model, wire)[column].to_numpy(dtype=float)


def _one_line(text: str, limit: int = 500) -> str:
    """Text for a tag and a one-line error: no line breaks, not too long."""
    line = " ".join(str(text).split())
    return line if len(line) <= limit else line[: limit - 3] + "..."


def _promote(client: mlflow.MlflowClient, model_name: str, version: int) -> None:
    history = _champion_history(client, model_name)
    if not history or history[-1] != version:
        history.append(version)
    client.set_registered_model_alias(model_name, CHAMPION, str(version))
    client.set_registered_model_tag(model_name, HISTORY_TAG, ",".join(map(str, history)))


def _champion_history(client: mlflow.MlflowClient, model_name: str) -> list[int]:
    tags = client.get_registered_model(model_name).tags
    return [int(v) for v in tags.get(HISTORY_TAG, "").split(",") if v]


def _alias_version(client: mlflow.MlflowClient, model_name: str) -> int | None:
    try:
        return int(client.get_model_version_by_alias(model_name, CHAMPION).version)
    except Exception:  # MLflow raises its own exception for a missing model or alias
        return None


def champion_version(
    model_name: str = MODEL_NAME, models_dir: Path = DEFAULT_MODELS_DIR
) -> int | None:
    """The version behind ``@champion``, or None when there is no champion (or no model)."""
    return _alias_version(connect(models_dir), model_name)


@dataclass(frozen=True)
class Decision:
    """One entry of a version's decision history."""

    time: pd.Timestamp  # UTC; NaT for a decision recorded before the history was kept
    action: str  # "train" (the automatic decision), "promote", "rollback" ("unknown": older)
    text: str


_NUMBERED = re.compile(rf"{DECISION_TAG}\.(\d+)")


def _record(
    client: mlflow.MlflowClient,
    model_name: str,
    versions: Iterable[int | None],
    action: str,
    text: str,
) -> None:
    """Append a decision to each version it concerns (``None`` entries are skipped): a new
    numbered tag, never overwriting one, and ``decision`` as the latest for older readers."""
    stamp = pd.Timestamp.now(tz="UTC").strftime("%Y-%m-%dT%H:%M:%SZ")
    for version in dict.fromkeys(v for v in versions if v is not None):
        tags = client.get_model_version(model_name, str(version)).tags
        numbers = [int(m.group(1)) for key in tags if (m := _NUMBERED.fullmatch(key))]
        key = f"{DECISION_TAG}.{max(numbers, default=0) + 1}"
        client.set_model_version_tag(model_name, str(version), key, f"{stamp} {action}: {text}")
        client.set_model_version_tag(model_name, str(version), DECISION_TAG, text)


def decisions(
    version: int, model_name: str = MODEL_NAME, models_dir: Path = DEFAULT_MODELS_DIR
) -> list[Decision]:
    """Every decision concerning a version, oldest first: its automatic decision after
    training, and each time it gained or lost ``@champion`` by promotion or rollback.

    Raises
    ------
    RegistryError
        When the model has no such version.
    """
    client = connect(models_dir)
    try:
        tags = client.get_model_version(model_name, str(version)).tags
    except Exception:
        raise RegistryError(f"model '{model_name}' has no version {version}") from None
    numbered = sorted(
        (int(m.group(1)), value) for key, value in tags.items() if (m := _NUMBERED.fullmatch(key))
    )
    if not numbered and DECISION_TAG in tags:  # registered before every decision was kept
        return [Decision(pd.NaT, "unknown", tags[DECISION_TAG])]
    history = []
    for _, value in numbered:
        stamp, _, rest = value.partition(" ")
        action, _, text = rest.partition(": ")
        history.append(Decision(pd.Timestamp(stamp), action, text))
    return history


def promote(
    version: int,
    model_name: str = MODEL_NAME,
    models_dir: Path = DEFAULT_MODELS_DIR,
    force: bool = False,
) -> str:
    """Make a version the champion by hand.

    Raises
    ------
    RegistryError
        When the model has no such version, or the version's run was flagged as a suspected
        leak and ``force`` is not given.
    """
    client = connect(models_dir)
    try:
        found = client.get_model_version(model_name, str(version))
    except Exception:
        raise RegistryError(f"model '{model_name}' has no version {version}") from None
    leak = found.tags.get(LEAK_TAG, "")
    if leak and not force:
        raise RegistryError(
            f"version {version} is not promoted: its run is flagged as a suspected leak "
            f"({leak}); promote it anyway with --force"
        )
    previous = _alias_version(client, model_name)
    _promote(client, model_name, version)
    message = f"version {version} promoted to @{CHAMPION} by hand"
    if previous not in (None, version):
        message += f" (was version {previous})"
    if leak:
        message += f", forced despite a suspected leak ({leak})"
    _record(client, model_name, [version, previous], "promote", message)
    return message


def rollback(model_name: str = MODEL_NAME, models_dir: Path = DEFAULT_MODELS_DIR) -> str:
    """Give ``@champion`` back to the version that held it before the current one."""
    client = connect(models_dir)
    try:
        history = _champion_history(client, model_name)
    except Exception:
        raise RegistryError(f"no registered model '{model_name}' to roll back") from None
    if len(history) < 2:
        raise RegistryError(f"'{model_name}' has no earlier champion to roll back to")
    current, previous = history[-1], history[-2]
    client.set_registered_model_alias(model_name, CHAMPION, str(previous))
    client.set_registered_model_tag(model_name, HISTORY_TAG, ",".join(map(str, history[:-1])))
    message = f"rolled back: version {previous} is @{CHAMPION} again (was version {current})"
    _record(client, model_name, [current, previous], "rollback", message)
    return message


@dataclass
class LoadedModel:
    """A model loaded from MLflow: the pyfunc, the walkaway model inside it, and its version."""

    pyfunc: object
    model: WalkawayModel
    uri: str
    name: str | None
    version: int | None
    mapping: Mapping | None = None  # the mapping it was trained with, when logged


def load_model(
    uri: str = f"models:/{MODEL_NAME}@{CHAMPION}", models_dir: Path = DEFAULT_MODELS_DIR
) -> LoadedModel:
    """Load any MLflow model URI holding a walkaway pyfunc.

    Raises
    ------
    RegistryError
        With a one-line message when the URI does not resolve to a walkaway model.
    """
    client = connect(models_dir)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            pyfunc = mlflow.pyfunc.load_model(uri)
    except Exception as error:
        hint = (
            " (train one first: walkaway train --history ...)" if uri.startswith("models:/") else ""
        )
        reason = (
            str(error).strip().splitlines()[0][:160] if str(error).strip() else type(error).__name__
        )
        raise RegistryError(f"model not found: {uri}{hint}: {reason}") from None
    name, version = _name_and_version(client, uri)
    inner = pyfunc.unwrap_python_model()
    if not hasattr(inner, "model"):
        raise RegistryError(f"{uri} is not a walkaway model")
    return LoadedModel(pyfunc, inner.model, uri, name, version, getattr(inner, "mapping", None))


def _name_and_version(client: mlflow.MlflowClient, uri: str) -> tuple[str | None, int | None]:
    if not uri.startswith("models:/"):
        return None, None
    reference = uri.removeprefix("models:/")
    if "@" in reference:
        name, alias = reference.split("@", 1)
        return name, int(client.get_model_version_by_alias(name, alias).version)
    name, _, version = reference.partition("/")
    return name, int(version) if version.isdigit() else None
