"""MLflow: tracking runs and the model registry. The only module that imports mlflow: it makes
the MLflow calls, and what needs no MLflow is in the modules beside it.

- :func:`connect` points MLflow at the store and returns a client (the store on disk, its lock
  and a moved, copied or damaged models folder: :mod:`~walkaway.serving.model_store`).
- :func:`log_training_run` logs a run (metrics, params, holdout predictions:
  :mod:`~walkaway.serving.run_record`) and the whole model (features, both heads, calibrators,
  explainer, policy) as one pyfunc, :class:`WalkawayPyfunc`, registered as ``walkaway``; its
  artifacts, signature, scoring, requirements and the code it carries (walkaway itself, so that
  it loads and serves where walkaway is not installed) are
  :mod:`~walkaway.serving.pyfunc_contract`'s. :func:`load_model` loads it back.
- Champion and challenger: the rule is :mod:`~walkaway.serving.promotion`'s and the figures it
  compares :mod:`~walkaway.serving.fair_comparison`'s; :func:`_fair_comparisons` fetches what
  they need, and ``@champion`` moves after training, by :func:`promote` or by :func:`rollback`.
  A run flagged as a suspected leak is never promoted automatically, and :func:`promote`
  refuses it unless forced.
- Every decision is appended to the versions it concerns as tags
  (:mod:`~walkaway.serving.decision_log`); :func:`decisions` reads a version's history back.
- :func:`list_versions` and :func:`version_card` read what ``walkaway models`` shows, as the
  plain records of :mod:`~walkaway.serving.model_cards`.
"""

from __future__ import annotations

import contextlib
import io
import logging
import os
import tempfile
import warnings
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import mlflow
import pandas as pd
from mlflow.entities.model_registry import ModelVersion
from mlflow.exceptions import MlflowException
from mlflow.models import ModelSignature
from mlflow.pyfunc import PythonModel, PythonModelContext
from mlflow.types import ColSpec, Schema, TensorSpec

from walkaway.data.mapping import Mapping
from walkaway.data.wire_format import to_wire
from walkaway.errors import WalkawayError
from walkaway.model.drift import DriftReport
from walkaway.model.training import TrainingResult
from walkaway.model.walkaway_model import WalkawayModel
from walkaway.serving import decision_log, model_cards, model_store, pyfunc_contract, run_record
from walkaway.serving.fair_comparison import compare_logged_predictions, compare_on_unseen_deals
from walkaway.serving.promotion import CHAMPION, HeadComparison, verdict

MODEL_NAME = "walkaway"
LEAK_TAG = "suspected_leak"  # why a version must not be promoted without force
PREDICTIONS_ARTIFACT = "metrics/holdout_predictions.parquet"


class RegistryError(WalkawayError, RuntimeError):
    """A registry operation that cannot be done (no such model, version or alias)."""


def connect(models_dir: Path = model_store.DEFAULT_MODELS_DIR) -> mlflow.MlflowClient:
    """Point MLflow at the tracking store and return a client.

    With the default store (no ``MLFLOW_TRACKING_URI``), ``models_dir/mlflow.db`` is first
    checked and its artifact locations re-anchored to ``models_dir``
    (:func:`walkaway.serving.model_store.settle_default_store`): every command (train, score,
    promote, rollback) connects here, so a moved or copied folder and a corrupted store are
    dealt with in one place.

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
    uri = model_store.tracking_uri(models_dir)
    mlflow.set_tracking_uri(uri)
    mlflow.set_registry_uri(uri)
    # MLflow exports the URI it is given as MLFLOW_TRACKING_URI; put back the user's own choice
    # so that the next call (another models_dir) does not mistake ours for theirs.
    if users_choice is None:
        os.environ.pop("MLFLOW_TRACKING_URI", None)
    if users_choice is not None:
        return mlflow.MlflowClient(uri, uri)
    models_dir.mkdir(parents=True, exist_ok=True)
    with model_store.store_lock(models_dir):
        try:  # every registry operation fails with a RegistryError
            model_store.settle_default_store(models_dir)
        except model_store.StoreError as error:
            raise RegistryError(str(error)) from None
        # MLflow creates and migrates a new store's tables when a client first opens it; two
        # commands doing it at once collide ("duplicate column name"): one at a time.
        client = mlflow.MlflowClient(uri, uri)
        client.search_registered_models(max_results=1)
    return client


class WalkawayPyfunc(PythonModel):
    """The walkaway model as an MLflow pyfunc: canonical deals in, scores and reasons out.

    Input: canonical deal columns (and account firmographics) as plain text and numbers; an
    optional ``as_of`` column (ISO date) sets each deal's as-of time, by default today.
    """

    def load_context(self, context: PythonModelContext) -> None:
        # The model, and the mapping it was trained with (None when it was logged without one).
        self.model, self.mapping = pyfunc_contract.read_artifacts(context.artifacts)

    def predict(
        self,
        context: PythonModelContext,
        model_input: pd.DataFrame,
        params: dict | None = None,
    ) -> pd.DataFrame:
        return pyfunc_contract.score_canonical(self.model, model_input)


def _signature(output: pd.DataFrame, model: WalkawayModel) -> ModelSignature:
    """The pyfunc's signature: :func:`walkaway.serving.pyfunc_contract.input_columns` in, the
    columns of ``output`` (what it returned for the input example) out."""
    inputs: list[ColSpec | TensorSpec] = [
        ColSpec(kind, name, required=required)
        for name, kind, required in pyfunc_contract.input_columns(model)
    ]
    outputs: list[ColSpec | TensorSpec] = [
        ColSpec(kind, name) for name, kind in pyfunc_contract.output_columns(output)
    ]
    return ModelSignature(Schema(inputs), Schema(outputs))


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
    models_dir: Path = model_store.DEFAULT_MODELS_DIR,
    mapping: Mapping | None = None,
) -> RegisteredRun:
    """Log a training run (params, metrics, fingerprint, plots, holdout predictions, model and
    the mapping it was trained with), register the model and decide whether it becomes the
    champion."""
    client = connect(models_dir)
    experiment_id = _experiment_id(client, experiment, models_dir)
    with mlflow.start_run(experiment_id=experiment_id) as run:
        mlflow.log_params(
            {**params, **result.fingerprint, **run_record.policy_params(result.model)}
        )
        mlflow.log_metrics(run_record.flat_metrics(result))
        for name, figure in figures.items():
            mlflow.log_figure(figure, f"plots/{name}.png")
        mlflow.log_text(result.metrics_table().round(4).to_csv(), "metrics/holdout_metrics.csv")
        mlflow.log_text("\n".join(result.notes) or "none", "metrics/notes.txt")
        example = to_wire(result.win.deals.head(5)).reset_index(drop=True)
        output = pyfunc_contract.score_canonical(result.model, example)
        with tempfile.TemporaryDirectory() as folder:
            # A later run on the same data compares its own holdout predictions with these.
            predictions = Path(folder) / Path(PREDICTIONS_ARTIFACT).name
            run_record.holdout_predictions(result).to_parquet(predictions, index=False)
            mlflow.log_artifact(str(predictions), str(Path(PREDICTIONS_ARTIFACT).parent))
            artifacts = pyfunc_contract.write_artifacts(result.model, mapping, Path(folder))
            # MLflow prints its own registration notices to stderr; the job prints its summary.
            with warnings.catch_warnings(), contextlib.redirect_stderr(io.StringIO()):
                warnings.simplefilter("ignore")
                info = mlflow.pyfunc.log_model(
                    name="model",
                    python_model=WalkawayPyfunc(),
                    artifacts=artifacts,
                    signature=_signature(output, result.model),
                    input_example=example,
                    pip_requirements=pyfunc_contract.requirements(),
                    code_paths=pyfunc_contract.code_paths(),
                    registered_model_name=model_name,
                )
        version = int(info.registered_model_version)
        leak = model_store.one_line(result.suspected_leak)
        if leak:  # before deciding: `promote` must see the flag whatever happens next
            mlflow.set_tag(LEAK_TAG, leak)
            client.set_model_version_tag(model_name, str(version), LEAK_TAG, leak)
        current = _alias_version(client, model_name)
        champion, decision = _decide(client, model_name, version, current, result, models_dir)
        mlflow.set_tag("champion_decision", decision)
    # A promotion concerns the version that lost the alias as well as the one that gained it.
    _record(
        client, model_name, [version, current if champion else None], "train", decision, models_dir
    )
    return RegisteredRun(
        run.info.run_id, version, champion, decision, model_store.tracking_uri(models_dir)
    )


def _experiment_id(client: mlflow.MlflowClient, name: str, models_dir: Path) -> str:
    found = client.get_experiment_by_name(name)
    if found is not None:
        return found.experiment_id
    location = None
    if "MLFLOW_TRACKING_URI" not in os.environ:
        location = model_store.artifact_root(models_dir)
    return client.create_experiment(name, artifact_location=location)


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
            f"({model_store.one_line(result.suspected_leak)}), and a suspected leak is never "
            f"promoted automatically; `walkaway promote {version} --force` overrides"
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
    sentence saying how they were chosen: both runs' logged holdout predictions when the
    champion's run had the same data and logged them, else the champion's model scoring the
    new holdout's deals it never saw (see :mod:`walkaway.serving.fair_comparison`).
    """
    run_id = client.get_model_version(model_name, str(current)).run_id
    if run_id is None:  # a version registered from outside a run: nothing to compare with
        raise RegistryError(f"champion version {current} has no run")
    champion_run = client.get_run(run_id)
    sha = str(result.fingerprint.get("data_sha256", ""))
    same_data = bool(sha) and champion_run.data.params.get("data_sha256") == sha
    theirs = _logged_predictions(client, champion_run.info.run_id) if same_data else None
    if theirs is not None:
        return compare_logged_predictions(result, theirs, sha)
    champion = load_model(f"models:/{model_name}/{current}", models_dir).model
    return compare_on_unseen_deals(result, champion, current, same_data)


def _logged_predictions(client: mlflow.MlflowClient, run_id: str) -> pd.DataFrame | None:
    """A run's logged holdout predictions, or None when it logged none (an older run)."""
    with tempfile.TemporaryDirectory() as folder:
        try:
            path = client.download_artifacts(run_id, PREDICTIONS_ARTIFACT, folder)
        except Exception:  # MLflow raises its own errors for a missing artifact
            return None
        return run_record.read_holdout_predictions(path)


def _promote(client: mlflow.MlflowClient, model_name: str, version: int) -> None:
    history = _champion_history(client, model_name)
    if not history or history[-1] != version:
        history.append(version)
    client.set_registered_model_alias(model_name, CHAMPION, str(version))
    client.set_registered_model_tag(
        model_name, decision_log.HISTORY_TAG, decision_log.champion_history_text(history)
    )


def _champion_history(client: mlflow.MlflowClient, model_name: str) -> list[int]:
    return decision_log.read_champion_history(client.get_registered_model(model_name).tags)


def _alias_version(client: mlflow.MlflowClient, model_name: str) -> int | None:
    try:
        return int(client.get_model_version_by_alias(model_name, CHAMPION).version)
    except Exception:  # MLflow raises its own exception for a missing model or alias
        return None


def champion_version(
    model_name: str = MODEL_NAME, models_dir: Path = model_store.DEFAULT_MODELS_DIR
) -> int | None:
    """The version behind ``@champion``, or None when there is no champion (or no model)."""
    return _alias_version(connect(models_dir), model_name)


def _record(
    client: mlflow.MlflowClient,
    model_name: str,
    versions: Iterable[int | None],
    action: str,
    text: str,
    models_dir: Path,
) -> None:
    """Append a decision to each version it concerns (``None`` entries are skipped): a new
    numbered tag, never overwriting one, and ``decision`` as the latest for older readers
    (:func:`walkaway.serving.decision_log.decision_tags`)."""
    now = pd.Timestamp.now(tz="UTC")
    # Reading the next number and setting it is one step: two commands deciding at once (two
    # trains promoted over one champion) would otherwise both write the same numbered tag.
    one_at_a_time = (
        contextlib.nullcontext()
        if "MLFLOW_TRACKING_URI" in os.environ
        else model_store.store_lock(models_dir)
    )
    with one_at_a_time:
        for version in dict.fromkeys(v for v in versions if v is not None):
            tags = client.get_model_version(model_name, str(version)).tags
            for key, value in decision_log.decision_tags(tags, action, text, now).items():
                client.set_model_version_tag(model_name, str(version), key, value)


def decisions(
    version: int, model_name: str = MODEL_NAME, models_dir: Path = model_store.DEFAULT_MODELS_DIR
) -> list[decision_log.Decision]:
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
    return decision_log.read_decisions(tags)


def list_versions(
    model_name: str = MODEL_NAME, models_dir: Path = model_store.DEFAULT_MODELS_DIR
) -> list[model_cards.VersionRecord]:
    """Every registered version of a model, oldest first: its aliases, its run's params and
    metrics, its decisions. Empty when none was trained (a default store is never created just
    to be read)."""
    client = _existing_store(models_dir)
    if client is None:
        return []
    try:
        aliases = _aliases(client, model_name)
    except Exception:  # MLflow raises its own exception for a model never registered
        return []
    try:
        found = client.search_model_versions(f"name = '{model_name}'")
    except Exception as error:
        raise RegistryError(f"cannot list the versions of '{model_name}': {error}") from None
    records = [_version_record(client, one, aliases) for one in found]
    return sorted(records, key=lambda record: record.version)


def version_card(
    version: int, model_name: str = MODEL_NAME, models_dir: Path = model_store.DEFAULT_MODELS_DIR
) -> model_cards.VersionCard:
    """One version's whole card: its record (:func:`list_versions`), the mapping it was trained
    with, its run's holdout predictions and notes (None or empty when not logged).

    Raises
    ------
    RegistryError
        When the model has no such version, saying which it has.
    """
    client = _existing_store(models_dir)
    try:
        if client is None:
            raise LookupError(version)
        found = client.get_model_version(model_name, str(version))
        aliases = _aliases(client, model_name)
    except Exception:
        known = [record.version for record in list_versions(model_name, models_dir)]
        has = f"its versions are {', '.join(map(str, known))}" if known else "no model trained yet"
        raise RegistryError(f"model '{model_name}' has no version {version}: {has}") from None
    record = _version_record(client, found, aliases)
    location = client.get_model_version_download_uri(model_name, str(version))
    mapping = _logged_text(f"{location.rstrip('/')}/artifacts/mapping.yaml")
    predictions, notes = None, ""
    if found.run_id:
        predictions = _logged_predictions(client, found.run_id)
        notes = _logged_text(f"runs:/{found.run_id}/metrics/notes.txt") or ""
    kept = tuple(line for line in notes.splitlines() if line.strip() and line != "none")
    return model_cards.VersionCard(record, mapping, predictions, kept)


def _existing_store(models_dir: Path) -> mlflow.MlflowClient | None:
    """A client on the store, or None when the default store was never created."""
    if "MLFLOW_TRACKING_URI" not in os.environ and not (models_dir / "mlflow.db").exists():
        return None
    return connect(models_dir)


def _aliases(client: mlflow.MlflowClient, model_name: str) -> dict[int, list[str]]:
    """Each version's aliases (``champion``...)."""
    aliases: dict[int, list[str]] = {}
    for alias, version in client.get_registered_model(model_name).aliases.items():
        aliases.setdefault(int(version), []).append(alias)
    return aliases


def _version_record(
    client: mlflow.MlflowClient, found: ModelVersion, aliases: dict[int, list[str]]
) -> model_cards.VersionRecord:
    """A version's record, from its registry entry and its run (when the run still exists)."""
    params: dict[str, str] = {}
    metrics: dict[str, float] = {}
    started = None
    if found.run_id:
        try:
            run = client.get_run(found.run_id)
            params, metrics, started = run.data.params, run.data.metrics, run.info.start_time
        except Exception:  # a deleted run: the version is still listed, without its figures
            pass
    version = int(found.version)
    tags = dict(found.tags)
    return model_cards.VersionRecord(
        model_name=found.name,
        version=version,
        aliases=tuple(sorted(aliases.get(version, []))),
        trained_at=pd.Timestamp(started or found.creation_timestamp, unit="ms", tz="UTC"),
        run_id=found.run_id,
        params=dict(params),
        metrics=dict(metrics),
        decisions=tuple(decision_log.read_decisions(tags)),
        suspected_leak=tags.get(LEAK_TAG, ""),
    )


def _logged_text(uri: str) -> str | None:
    """A small text artifact, or None when it was not logged."""
    try:
        return str(mlflow.artifacts.load_text(uri))
    except Exception:  # MLflow raises its own errors for a missing artifact
        return None


def promote(
    version: int,
    model_name: str = MODEL_NAME,
    models_dir: Path = model_store.DEFAULT_MODELS_DIR,
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
    _record(client, model_name, [version, previous], "promote", message, models_dir)
    return message


def rollback(
    model_name: str = MODEL_NAME, models_dir: Path = model_store.DEFAULT_MODELS_DIR
) -> str:
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
    client.set_registered_model_tag(
        model_name, decision_log.HISTORY_TAG, decision_log.champion_history_text(history[:-1])
    )
    message = f"rolled back: version {previous} is @{CHAMPION} again (was version {current})"
    _record(client, model_name, [current, previous], "rollback", message, models_dir)
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
    uri: str = f"models:/{MODEL_NAME}@{CHAMPION}", models_dir: Path = model_store.DEFAULT_MODELS_DIR
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
    except (ModuleNotFoundError, AttributeError) as error:  # a class it pickled is gone
        raise RegistryError(
            f"{uri} was saved by a walkaway whose code this one no longer has ({error}): train "
            "it again with this one (walkaway train --history ...)"
        ) from None
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


DRIFT_EXPERIMENT = "walkaway-drift"


def log_drift(
    drift: DriftReport,
    *,
    model_name: str | None,
    model_version: int | None,
    source: str,
    models_dir: Path = model_store.DEFAULT_MODELS_DIR,
) -> str | None:
    """Log a scored pipeline's drift as a run of the ``walkaway-drift`` experiment: PSI per sign
    (``psi_<sign>``), the largest feature PSI and unseen share, the per-feature table as an
    artifact, and the model version it was scored with. Returns the run id, or None when the
    store cannot be reached (scoring does not fail for want of a tracking server)."""
    try:
        client = connect(models_dir)
        experiment_id = _experiment_id(client, DRIFT_EXPERIMENT, models_dir)
        with mlflow.start_run(experiment_id=experiment_id) as run:
            mlflow.set_tags(
                {
                    "model_name": str(model_name),
                    "model_version": str(model_version),
                    "source": source,
                }
            )
            signs = drift.by_sign()
            metrics = {f"psi_{row.sign}": float(row.psi) for row in signs.itertuples()}
            features = drift.features
            metrics["max_feature_psi"] = float(features["psi"].max()) if len(features) else 0.0
            metrics["max_unseen_share"] = (
                float(features["unseen_share"].max()) if len(features) else 0.0
            )
            metrics["rows"] = float(drift.rows)
            mlflow.log_metrics(metrics)
            mlflow.log_text(features.to_csv(index=False), "drift.csv")
            return str(run.info.run_id)
    except (RegistryError, MlflowException, OSError):
        return None
