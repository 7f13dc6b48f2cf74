"""Jobs: the steps a user runs, wiring files, the pure logic and MLflow together.

Each job takes paths and options and returns what it did; printing is the CLI's business.
"""

from __future__ import annotations

import dataclasses
import os
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import pandas as pd
import yaml

from walkaway import __version__
from walkaway.contracts import ContractError, Problem, to_wire
from walkaway.exports import load_history
from walkaway.features.icp_fit import IcpFit, icp_in_words
from walkaway.labels import label_deals
from walkaway.model import CALIBRATION_FOLDS, DEFAULT_LGBM_PARAMS, WalkawayModel
from walkaway.recommendation import Policy
from walkaway.training import HOLDOUT_SHARE, TrainingResult, train_and_evaluate

if TYPE_CHECKING:  # the registry imports MLflow: only load it when a job needs it
    from walkaway.registry import RegisteredRun

TRUTH_FILE = "truth.parquet"


@dataclass
class TrainingRun:
    """A finished training job."""

    result: TrainingResult
    registered: RegisteredRun
    mapping: str
    seconds: float


def read_policy(path: Path) -> dict[str, float]:
    """Recommendation thresholds set by hand, from a YAML file of ``name: number``.

    Raises
    ------
    ContractError
        Naming the file and the unknown or non-numeric threshold.
    """
    known = [f.name for f in dataclasses.fields(Policy)]
    try:
        document = yaml.safe_load(Path(path).read_text(encoding="utf-8")) or {}
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as error:
        raise ContractError(
            [Problem(Path(path).name, None, None, f"unreadable policy ({type(error).__name__})")]
        ) from None
    if not isinstance(document, dict):
        raise ContractError(
            [Problem(Path(path).name, None, None, "a policy maps threshold names to numbers")]
        )
    for name, value in document.items():
        if name not in known:
            rule = f"unknown threshold (known: {', '.join(known)})"
            raise ContractError([Problem(Path(path).name, None, str(name), rule)])
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise ContractError(
                [Problem(Path(path).name, None, str(name), "must be a number", str(value))]
            )
    return {str(k): float(v) for k, v in document.items()}


def train_job(
    history: Path,
    mapping: str | Path | None = None,
    experiment: str = "walkaway",
    models_dir: Path = Path("models"),
    calibration: str = "sigmoid",
    policy: Path | None = None,
) -> TrainingRun:
    """Read an export, train and evaluate both heads, log the run and register the model."""
    from walkaway import plots, registry  # MLflow only when a job needs it

    started = time.perf_counter()
    overrides = read_policy(policy) if policy is not None else None
    checked = load_history(history, mapping)
    truth_path = Path(history) / TRUTH_FILE if Path(history).is_dir() else None
    truth = pd.read_parquet(truth_path) if truth_path and truth_path.exists() else None
    model = WalkawayModel(
        catalogue=checked.catalogue(),
        calibration=calibration,
        horizon_days=checked.mapping.regret_horizon_days,
        policy_overrides=overrides,
    )
    result = train_and_evaluate(checked, truth=truth, model=model)
    figures = {
        "calibration": plots.calibration_figure(result.calibration_curves()),
        "sign_importance": plots.sign_importance_figure(result.sign_importance()),
    }
    params = {
        "walkaway_version": __version__,
        "mapping": checked.mapping.name,
        "history": str(history),
        "holdout_share": HOLDOUT_SHARE,
        "calibration": calibration,
        "calibration_folds": CALIBRATION_FOLDS,
        "regret_horizon_days": checked.mapping.regret_horizon_days,
        "win_trees": result.model.win_head_.booster.num_trees(),
        "regret_trees": (
            result.model.regret_head_.booster.num_trees()
            if result.model.regret_head_.trained
            else 0
        ),
        **{f"lgbm_{k}": v for k, v in DEFAULT_LGBM_PARAMS.items()},
    }
    registered = registry.log_training_run(
        result, figures, params, experiment=experiment, models_dir=models_dir
    )
    return TrainingRun(result, registered, checked.mapping.name, time.perf_counter() - started)


@dataclass
class ScoringRun:
    """A finished scoring job."""

    scores: pd.DataFrame
    out: Path
    model_uri: str
    model_version: int | None
    read: int
    seconds: float


SCORE_COLUMNS_FIRST = ("deal_id", "account_id", "amount", "p_win", "p_regret", "p_good")


def score_job(
    deals: Path,
    out: Path,
    mapping: str | Path | None = None,
    model_uri: str = "models:/walkaway@champion",
    as_of: pd.Timestamp | None = None,
    models_dir: Path = Path("models"),
) -> ScoringRun:
    """Score the open deals of an export with a registered model and write them as CSV.

    The output is written beside its target and renamed when complete, so a failed run
    never leaves a partial file.
    """
    from walkaway import registry

    started = time.perf_counter()
    loaded = registry.load_model(model_uri, models_dir=models_dir)
    history = load_history(deals, mapping)
    frame = history.deal_frame()
    open_deals = frame[frame["outcome"].eq("open")]
    if open_deals.empty:
        raise ContractError([Problem(Path(deals).name, None, None, "no open deals to score")])
    moment = (as_of or pd.Timestamp.now()).normalize()
    wire = to_wire(open_deals).assign(as_of=moment.strftime("%Y-%m-%d"))
    scores = loaded.pyfunc.predict(wire.reset_index(drop=True))
    scores["model_name"] = loaded.name or model_uri
    scores["model_version"] = loaded.version
    scores["scored_at"] = pd.Timestamp.now(tz="UTC").isoformat(timespec="seconds")
    write_atomically(scores, out)
    return ScoringRun(
        scores, out, model_uri, loaded.version, len(frame), time.perf_counter() - started
    )


def write_atomically(frame: pd.DataFrame, out: Path) -> None:
    """Write CSV or Parquet (by extension) to a temporary file beside ``out``, then rename."""
    out.parent.mkdir(parents=True, exist_ok=True)
    partial = out.with_name(f".{out.name}.partial-{os.getpid()}")
    try:
        if out.suffix.lower() in (".parquet", ".pq"):
            frame.to_parquet(partial, index=False)
        else:
            frame.to_csv(partial, index=False)
        partial.replace(out)
    finally:
        partial.unlink(missing_ok=True)


def icp_job(history: Path, mapping: str | Path | None = None) -> tuple[list[str], pd.DataFrame]:
    """The ICP learned from a whole history: sentences and the table behind them."""
    checked = load_history(history, mapping)
    labelled = label_deals(
        checked.deal_frame(), checked.export_date, checked.mapping.regret_horizon_days
    )
    icp = IcpFit().fit(labelled)
    return icp_in_words(icp.profile_), icp.profile_
