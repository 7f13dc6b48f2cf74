"""What the walkaway pyfunc holds, takes, does and needs, in plain terms: its artifacts (the model
and the mapping it trained with, :func:`write_artifacts`, :func:`read_artifacts`), canonical
deals as plain text and numbers in (:func:`input_columns`), scores out (:func:`score_canonical`,
:func:`output_columns`), the packages it pins (:func:`requirements`) and the code it carries
(:func:`code_paths`: walkaway itself, so that it loads where walkaway is not installed).

Apart from :mod:`walkaway.serving.registry`, which turns these into MLflow's pyfunc, signature
and requirements (it stays the only module importing mlflow), so that the champion gate can
score a champion the way the pyfunc does without MLflow.
"""

from __future__ import annotations

from dataclasses import replace
from importlib.metadata import version
from pathlib import Path

import joblib
import pandas as pd
import yaml

import walkaway
from walkaway.data.mapping import Mapping
from walkaway.data.mapping_files import load_mapping
from walkaway.data.wire_format import WIRE_COLUMNS, parse_canonical
from walkaway.model.walkaway_model import WalkawayModel
from walkaway.serving.scoring import score_deals

MODEL_ARTIFACT = "walkaway_model"  # the pyfunc artifact holding the model
MAPPING_ARTIFACT = "mapping"  # the pyfunc artifact holding the mapping the model trained with

# The packages the logged model needs to load and score, pinned to the versions that trained it:
# what walkaway's scoring path imports (its model classes, its pickle, its mapping's YAML and
# pydantic document). Not walkaway itself: the model carries its code (:func:`code_paths`).
_REQUIRED_PACKAGES = (
    "pandas",
    "numpy",
    "scikit-learn",
    "lightgbm",
    "scipy",
    "pandera",
    "mlflow",
    "pyarrow",
    "joblib",
    "PyYAML",
    "pydantic",
)


def write_artifacts(model: WalkawayModel, mapping: Mapping | None, folder: Path) -> dict[str, str]:
    """Write the pyfunc's artifacts into ``folder``: the model (joblib) and, when given, the
    mapping it trained with (YAML), so that scoring reads the export the way training did.

    Returns
    -------
    dict
        Artifact name to file, as MLflow's ``log_model`` takes them.
    """
    path = folder / "walkaway_model.joblib"
    joblib.dump(model, path)
    artifacts = {MODEL_ARTIFACT: str(path)}
    if mapping is not None:
        mapping_path = folder / "mapping.yaml"
        text = yaml.safe_dump(mapping.to_document(), sort_keys=False, allow_unicode=True)
        mapping_path.write_text(text, encoding="utf-8")
        artifacts[MAPPING_ARTIFACT] = str(mapping_path)
    return artifacts


def read_artifacts(artifacts: dict[str, str]) -> tuple[WalkawayModel, Mapping | None]:
    """The model and the mapping it was trained with (None for models logged before issue 12)
    from the pyfunc's artifacts, as MLflow hands them to ``load_context``."""
    model: WalkawayModel = joblib.load(artifacts[MODEL_ARTIFACT])
    path = artifacts.get(MAPPING_ARTIFACT)
    if path is None:
        return model, None
    return model, replace(load_mapping(path), source="the model's mapping.yaml")


def score_canonical(model: WalkawayModel, frame: pd.DataFrame) -> pd.DataFrame:
    """Score canonical deals given as plain text and numbers (the pyfunc's contract)."""
    deals = parse_canonical(frame.reset_index(drop=True))
    as_of = deals.pop("as_of") if "as_of" in deals else pd.Timestamp.now().normalize()
    return score_deals(model, deals, as_of)


def input_columns(model: WalkawayModel) -> list[tuple[str, str, bool]]:
    """The pyfunc's input columns as (name, MLflow type, required): plain text and numbers (no
    categories: MLflow's schema check rejects them), an optional ``as_of`` (ISO date) and the
    extra numeric columns the model learned from, as text (the model parses them)."""
    required = {"deal_id"}
    columns = [
        (name, "double" if spec.kind == "number" else "string", name in required)
        for name, spec in WIRE_COLUMNS.items()
    ]
    columns.append(("as_of", "string", False))
    extras = model.features_.named_transformers.get("extra")
    for name in extras.numeric_ if extras is not None else {}:
        columns.append((name, "string", False))
    return columns


def output_columns(output: pd.DataFrame) -> list[tuple[str, str]]:
    """The pyfunc's output columns as (name, MLflow type), from a frame it returned.

    Examples
    --------
    >>> output_columns(pd.DataFrame({"deal_id": ["D-1"], "p_win": [0.4]}))
    [('deal_id', 'string'), ('p_win', 'double')]
    """
    return [
        (c, "double" if pd.api.types.is_numeric_dtype(output[c]) else "string")
        for c in output.columns
    ]


def requirements() -> list[str]:
    """The pip requirements of a logged model: the installed versions of what it needs (walkaway
    is not one: it travels with the model, :func:`code_paths`)."""
    return [f"{name}=={version(name)}" for name in _REQUIRED_PACKAGES]


def code_paths() -> list[str]:
    """The code a logged model carries: the folder of the walkaway package that trained it.

    MLflow copies it under the model's ``code/`` folder (leaving ``__pycache__`` out; the
    package's templates and shipped mappings go along) and puts that folder first on
    ``sys.path`` when it loads the model, so that a Python without walkaway installed (an
    ``mlflow models serve``, a colleague's notebook) unpickles and scores it with the code it
    was trained with.
    """
    return [str(Path(walkaway.__file__).parent)]
