"""What both review notebooks start from: the export, the model under review, one deal in words.

Notebook 02 (:mod:`walkaway.analysis.model_review`) and notebook 03
(:mod:`walkaway.analysis.pipeline_review`) both write the demo export on a fresh clone
(:func:`ensure_demo_export`), review a :class:`ReviewModel` that is either the registry's
champion (:func:`matching_champion`) or trained and registered by ``walkaway train``'s own job
(:func:`train_and_register`), and show one deal sign by sign (:func:`deal_summary`). That code
lives here once, so that neither module copies the other's. MLflow is only imported when a step
needs the registry (:func:`quiet_registry`).
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from walkaway.model.walkaway_model import WalkawayModel
from walkaway.serving import model_store
from walkaway.signs import GROUPS, TITLES, day_text

if TYPE_CHECKING:  # MLflow is only loaded when a step needs the registry
    from walkaway.model.training import TrainingResult

DEMO_DEALS = 5000
DEMO_SEED = 7
TABLE_SUFFIXES = (".csv", ".gz", ".parquet", ".pq")


def quiet_registry() -> ModuleType:
    """:mod:`walkaway.serving.registry`, imported on first use.

    MLflow imports ``tqdm.auto``, which in a notebook without ipywidgets warns that it cannot
    draw widgets; walkaway draws no progress bar in a notebook, so that warning is noise.

    Returns
    -------
    types.ModuleType
        The registry module.
    """
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="IProgress not found")
        from walkaway.serving import registry
    return registry


def ensure_demo_export(folder: Path, deals: int = DEMO_DEALS, seed: int = DEMO_SEED) -> str:
    """Write the synthetic demo export into ``folder`` when it holds no export yet.

    The writing is :func:`walkaway.analysis.exploration.ensure_demo_export`'s (the same export as
    ``make demo``). This guard adds one rule: a folder holding any CSV or Parquet file is an
    export already and is only read, whatever its deals file is called, so pointing a notebook
    at a real export (Maven's ``sales_pipeline.csv`` beside its ``accounts.csv``) never writes
    demo files into it.

    Parameters
    ----------
    folder
        The export folder (created when missing).
    deals, seed
        Size and seed of the synthetic history (see :func:`walkaway.data.synth.write_synthetic_history`).

    Returns
    -------
    str
        What was found or written, in one sentence.

    Examples
    --------
    >>> import tempfile
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     first = ensure_demo_export(Path(tmp) / "crm", deals=300, seed=1)
    ...     second = ensure_demo_export(Path(tmp) / "crm", deals=300, seed=1)
    >>> first.split(":")[0], second.split(":")[0]
    ('wrote the synthetic demo export of 300 deals (seed 1)', 'using the export in place')
    """
    from walkaway.analysis.exploration import ensure_demo_export as write_demo_export

    folder = Path(folder)
    tables = _table_files(folder)
    if tables:
        return f"using the export in place: {folder} ({', '.join(p.name for p in tables)})"
    write_demo_export(folder, n_deals=deals, seed=seed)
    written = ", ".join(p.name for p in _table_files(folder))
    return f"wrote the synthetic demo export of {deals:,} deals (seed {seed}): {folder} ({written})"


def _table_files(folder: Path) -> list[Path]:
    if not folder.is_dir():
        return []
    return sorted(
        p for p in folder.iterdir() if p.is_file() and p.name.lower().endswith(TABLE_SUFFIXES)
    )


@dataclass
class ReviewModel:
    """A model to review with, and where it came from.

    Attributes
    ----------
    model
        The fitted walkaway model (both heads, features, policy and its own evaluation).
    name, version
        Its registered name and version in MLflow; None when it was trained here and not
        registered.
    trained_on
        The mapping of the export it learned from (``synthetic-crm``, ``maven-crm``...).
    story
        How it was obtained, in words (trained, loaded, why).
    tracking_uri
        The MLflow store it is registered in, or would have been.
    result
        The training run's result when the model was trained in this session, else None.
    models_dir
        The folder of the MLflow store it was loaded from or registered in (the SQLite store's
        folder unless ``MLFLOW_TRACKING_URI`` is set), so that the score job can load it again;
        None when it is not registered.
    """

    model: WalkawayModel
    name: str | None
    version: int | None
    trained_on: str | None
    story: str
    tracking_uri: str
    result: TrainingResult | None = None
    models_dir: Path | None = None

    @property
    def label(self) -> str:
        """``walkaway v3``, or ``walkaway (not registered)``."""
        if self.version is None:
            return f"{self.name or 'walkaway'} (not registered)"
        return f"{self.name} v{self.version}"

    def summary(self) -> pd.DataFrame:
        """The model's name, version, origin and store, for display (one column)."""
        return pd.Series(
            {
                "model": self.label,
                "trained on (mapping)": self.trained_on or "unknown",
                "trained until": day_text(getattr(self.model, "trained_until_", pd.NaT), "unknown"),
                "how": self.story,
                "MLflow store": self.tracking_uri,
            },
            name="model",
        ).to_frame()


def matching_champion(models_dir: Path, wanted: str) -> tuple[ReviewModel | None, str]:
    """The champion when it learned from an export of mapping ``wanted``; else why not.

    Parameters
    ----------
    models_dir
        The MLflow store's folder.
    wanted
        The name of the mapping the export under review is read with.

    Returns
    -------
    tuple
        The champion to review (None when there is none, or it learned from another kind of
        export) and, when None, why, in words.
    """
    registry = quiet_registry()

    version = registry.champion_version(models_dir=models_dir)
    if version is None:
        return None, f"the MLflow store {model_store.tracking_uri(models_dir)} has no champion yet"
    loaded = registry.load_model(models_dir=models_dir)
    trained_on = _training_mapping(loaded, models_dir)
    if trained_on is not None and trained_on != wanted:
        return None, (
            f"the champion (version {version}) learned from a '{trained_on}' export, "
            f"not a '{wanted}' one"
        )
    model = ReviewModel(
        loaded.model,
        loaded.name,
        loaded.version,
        trained_on,
        f"loaded @champion (version {loaded.version}) from the MLflow registry",
        model_store.tracking_uri(models_dir),
        models_dir=Path(models_dir),
    )
    return model, ""


def _training_mapping(loaded: object, models_dir: Path) -> str | None:
    """The mapping a registered model's training run read its export with (a run param)."""
    registry = quiet_registry()

    try:
        run_id = loaded.pyfunc.metadata.run_id  # type: ignore[attr-defined]
        return registry.connect(models_dir).get_run(run_id).data.params.get("mapping")
    except Exception:  # an older run without the param, or a store that cannot say
        return None


def train_and_register(
    history: Path, models_dir: Path, mapping: str | Path | None, why: str
) -> ReviewModel:
    """Train, log and register a model exactly as ``walkaway train`` does
    (:func:`walkaway.jobs.train_job`).

    Parameters
    ----------
    history
        The export folder (or deals file) to learn from.
    models_dir
        The MLflow store's folder.
    mapping
        A mapping file or shipped name; None detects it from the export's columns.
    why
        Why a model is trained rather than loaded, in words (it goes into the story).

    Returns
    -------
    ReviewModel
        The registered version, with the training run's result.
    """
    registry = quiet_registry()
    from walkaway.jobs import train_job

    run = train_job(Path(history), mapping, models_dir=models_dir)
    registered = run.registered
    return ReviewModel(
        run.result.model,
        registry.MODEL_NAME,
        registered.version,
        run.mapping,
        f"trained on {history} in {run.seconds:.0f} s ({why}) and registered: "
        f"{registered.decision}",
        registered.tracking_uri,
        run.result,
        Path(models_dir),
    )


def deal_summary(
    model: WalkawayModel, deal: pd.DataFrame, as_of: pd.Timestamp | None = None
) -> pd.DataFrame:
    """One deal at a glance (one column, named by its id): its amount, what the model knows of
    it inside each sign (every input in words), and its scores and recommendation.

    Parameters
    ----------
    model
        A fitted model.
    deal
        One canonical deal (a one-row frame, with its account's columns joined).
    as_of
        The scoring date; None scores the deal as at its creation (as training does).

    Returns
    -------
    pandas.DataFrame
        One column of facts, indexed by what they are.
    """
    if len(deal) != 1:
        raise ValueError(f"a summary is of one deal, got {len(deal)}")
    deal = model.with_amounts(deal)
    raw = model.featurise(deal, as_of).iloc[0]
    scores = model.predict(deal, as_of=as_of).iloc[0]
    catalogue = model.feature_catalogue
    facts: dict[str, object] = {
        "deal_id": deal["deal_id"].iloc[0],
        "amount": deal["amount"].iloc[0] if "amount" in deal else np.nan,
    }
    if "outcome" in deal:
        facts["outcome"] = deal["outcome"].iloc[0]
    for group in GROUPS:
        names = [n for n in model.available_features_ if catalogue[n].sign == group]
        facts[TITLES[group]] = "; ".join(catalogue[n].describe(raw[n]) for n in names) or "–"
    for column in ("p_win", "p_regret", "p_good", "recommendation", "recommendation_reason"):
        facts[column] = scores[column]
    return pd.Series(facts, name=str(facts["deal_id"]), dtype=object).to_frame()
