"""MLflow: tracking runs and the model registry. The only module that imports mlflow.

- Tracking: SQLite under ``models/`` by default (``sqlite:///models/mlflow.db``, artifacts in
  ``models/artifacts``); ``MLFLOW_TRACKING_URI`` overrides, so a team server works unchanged.
- The whole model (features, both heads, calibrators, explainer, policy) is logged as one
  pyfunc, :class:`WalkawayPyfunc`, with a signature and an input example, and registered as
  ``walkaway``. Calling ``predict`` on canonical deals returns scores, sign effects, reasons
  and recommendations.
- Champion / challenger: a new version becomes ``@champion`` when there is none, or when it is
  at least as good as the champion on the new run's holdout (log loss of each head, no worse).
  Otherwise it stays a challenger, and the decision says why. Promotions are remembered, so
  ``rollback`` can return to the previous champion. Every decision is a tag on the version.
"""

from __future__ import annotations

import contextlib
import io
import logging
import os
import tempfile
import warnings
from dataclasses import dataclass
from pathlib import Path

import joblib
import mlflow
import pandas as pd
from mlflow.models import ModelSignature
from mlflow.types import ColSpec, Schema

from walkaway import __version__
from walkaway.contracts import WIRE_COLUMNS, parse_canonical, to_wire
from walkaway.errors import WalkawayError
from walkaway.evaluation import probability_metrics
from walkaway.model import WalkawayModel
from walkaway.scoring import score_deals
from walkaway.training import Holdout, TrainingResult

MODEL_NAME = "walkaway"
CHAMPION = "champion"
HISTORY_TAG = "champion_history"
DEFAULT_MODELS_DIR = Path("models")


class RegistryError(WalkawayError, RuntimeError):
    """A registry operation that cannot be done (no such model, version or alias)."""


def tracking_uri(models_dir: Path = DEFAULT_MODELS_DIR) -> str:
    """``MLFLOW_TRACKING_URI`` when set, else SQLite in ``models_dir``."""
    return (
        os.environ.get("MLFLOW_TRACKING_URI") or f"sqlite:///{(models_dir / 'mlflow.db').resolve()}"
    )


def connect(models_dir: Path = DEFAULT_MODELS_DIR) -> mlflow.MlflowClient:
    """Point MLflow at the tracking store and return a client."""
    # MLflow's own progress bars and notices would drown the job's summary.
    os.environ.setdefault("MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR", "false")
    for name in ("mlflow", "alembic"):
        logging.getLogger(name).setLevel(logging.ERROR)
    if "MLFLOW_TRACKING_URI" not in os.environ:
        models_dir.mkdir(parents=True, exist_ok=True)
    uri = tracking_uri(models_dir)
    users_choice = os.environ.get("MLFLOW_TRACKING_URI")
    mlflow.set_tracking_uri(uri)
    mlflow.set_registry_uri(uri)
    # MLflow exports the URI it is given as MLFLOW_TRACKING_URI; put back the user's own choice
    # so that the next call (another models_dir) does not mistake ours for theirs.
    if users_choice is None:
        os.environ.pop("MLFLOW_TRACKING_URI", None)
    return mlflow.MlflowClient(uri, uri)


class WalkawayPyfunc(mlflow.pyfunc.PythonModel):
    """The walkaway model as an MLflow pyfunc: canonical deals in, scores and reasons out.

    Input: canonical deal columns (and account firmographics) as plain text and numbers; an
    optional ``as_of`` column (ISO date) sets each deal's as-of time, by default today.
    """

    def load_context(self, context: mlflow.pyfunc.PythonModelContext) -> None:
        self.model: WalkawayModel = joblib.load(context.artifacts["walkaway_model"])

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
) -> RegisteredRun:
    """Log a training run (params, metrics, fingerprint, plots, model), register the model and
    decide whether it becomes the champion."""
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
            path = Path(folder) / "walkaway_model.joblib"
            joblib.dump(result.model, path)
            # MLflow prints its own registration notices to stderr; the job prints its summary.
            with warnings.catch_warnings(), contextlib.redirect_stderr(io.StringIO()):
                warnings.simplefilter("ignore")
                info = mlflow.pyfunc.log_model(
                    name="model",
                    python_model=WalkawayPyfunc(),
                    artifacts={"walkaway_model": str(path)},
                    signature=_signature(output, result.model),
                    input_example=example,
                    pip_requirements=_requirements(),
                    registered_model_name=model_name,
                )
        version = int(info.registered_model_version)
        champion, decision = _decide(client, model_name, version, result, models_dir)
        mlflow.set_tag("champion_decision", decision)
    client.set_model_version_tag(model_name, str(version), "decision", decision)
    return RegisteredRun(run.info.run_id, version, champion, decision, tracking_uri(models_dir))


def _experiment_id(client: mlflow.MlflowClient, name: str, models_dir: Path) -> str:
    found = client.get_experiment_by_name(name)
    if found is not None:
        return found.experiment_id
    location = None
    if "MLFLOW_TRACKING_URI" not in os.environ:
        location = (models_dir / "artifacts").resolve().as_uri()
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
    if result.regret is not None:
        metrics["regret_holdout_deals"] = float(len(result.regret.y))
    return metrics


def _policy_params(model: WalkawayModel) -> dict[str, object]:
    return {f"policy_{k}": v for k, v in vars(model.policy_).items()}


def _decide(
    client: mlflow.MlflowClient,
    model_name: str,
    version: int,
    result: TrainingResult,
    models_dir: Path,
) -> tuple[bool, str]:
    """Promote the new version if there is no champion, or if it is no worse on this holdout."""
    current = champion_version(model_name, models_dir)
    if current is None:
        _promote(client, model_name, version)
        return True, f"version {version} is the first model: it becomes @{CHAMPION}"
    try:
        champion = load_model(f"models:/{model_name}@{CHAMPION}", models_dir).model
        theirs = _holdout_losses(champion, result)
    except Exception as error:  # any failure of the old model to score the new holdout
        return False, (
            f"version {version} stays a challenger: champion version {current} could not score "
            f"this holdout ({type(error).__name__}); promote it with `walkaway promote {version}`"
        )
    ours = {
        "win": probability_metrics(result.win.y, result.win.predictions["walkaway"])["log_loss"]
    }
    if result.regret is not None:
        ours["regret"] = probability_metrics(
            result.regret.y, result.regret.predictions["walkaway"]
        )["log_loss"]
    worse = [h for h in ours if h in theirs and ours[h] > theirs[h] + 1e-9]
    compared = ", ".join(
        f"{h} log loss {ours[h]:.4f} vs {theirs[h]:.4f}" for h in ours if h in theirs
    )
    if worse:
        return False, (
            f"version {version} stays a challenger: worse than champion version {current} on the "
            f"newest holdout ({compared})"
        )
    _promote(client, model_name, version)
    return True, f"version {version} replaces version {current} as @{CHAMPION} ({compared})"


def _holdout_losses(model: WalkawayModel, result: TrainingResult) -> dict[str, float]:
    losses = {"win": _loss(model, result.win, "p_win")}
    if result.regret is not None:
        losses["regret"] = _loss(model, result.regret, "p_regret")
    return losses


def _loss(model: WalkawayModel, holdout: Holdout, column: str) -> float:
    wire = to_wire(holdout.deals).assign(
        as_of=to_wire(holdout.deals[["created_date"]])["created_date"]
    )
    scores = score_canonical(model, wire)
    return probability_metrics(holdout.y, scores[column].to_numpy())["log_loss"]


def _promote(client: mlflow.MlflowClient, model_name: str, version: int) -> None:
    history = _champion_history(client, model_name)
    if not history or history[-1] != version:
        history.append(version)
    client.set_registered_model_alias(model_name, CHAMPION, str(version))
    client.set_registered_model_tag(model_name, HISTORY_TAG, ",".join(map(str, history)))


def _champion_history(client: mlflow.MlflowClient, model_name: str) -> list[int]:
    tags = client.get_registered_model(model_name).tags
    return [int(v) for v in tags.get(HISTORY_TAG, "").split(",") if v]


def champion_version(
    model_name: str = MODEL_NAME, models_dir: Path = DEFAULT_MODELS_DIR
) -> int | None:
    """The version behind ``@champion``, or None when there is no champion (or no model)."""
    client = connect(models_dir)
    try:
        return int(client.get_model_version_by_alias(model_name, CHAMPION).version)
    except Exception:  # MLflow raises its own exception for a missing model or alias
        return None


def promote(
    version: int, model_name: str = MODEL_NAME, models_dir: Path = DEFAULT_MODELS_DIR
) -> str:
    """Make a version the champion by hand."""
    client = connect(models_dir)
    try:
        client.get_model_version(model_name, str(version))
    except Exception:
        raise RegistryError(f"model '{model_name}' has no version {version}") from None
    _promote(client, model_name, version)
    message = f"version {version} promoted to @{CHAMPION} by hand"
    client.set_model_version_tag(model_name, str(version), "decision", message)
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
    client.set_model_version_tag(model_name, str(current), "decision", message)
    return message


@dataclass
class LoadedModel:
    """A model loaded from MLflow: the pyfunc, the walkaway model inside it, and its version."""

    pyfunc: object
    model: WalkawayModel
    uri: str
    name: str | None
    version: int | None


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
    return LoadedModel(pyfunc, inner.model, uri, name, version)


def _name_and_version(client: mlflow.MlflowClient, uri: str) -> tuple[str | None, int | None]:
    if not uri.startswith("models:/"):
        return None, None
    reference = uri.removeprefix("models:/")
    if "@" in reference:
        name, alias = reference.split("@", 1)
        return name, int(client.get_model_version_by_alias(name, alias).version)
    name, _, version = reference.partition("/")
    return name, int(version) if version.isdigit() else None
