"""Jobs: the steps a user runs, wiring files, the pure logic and MLflow together.

Each job takes paths and options and returns what it did; printing is the CLI's business.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import pandas as pd

from walkaway import __version__
from walkaway.data.contracts import ContractError, Problem
from walkaway.data.exports import load_history
from walkaway.data.history import History
from walkaway.data.labels import HOLDOUT_SHARE
from walkaway.data.yaml_files import read_yaml
from walkaway.errors import WalkawayError
from walkaway.model.cross_fitting import CALIBRATION_FOLDS
from walkaway.model.features.icp_fit import IcpFit, icp_in_words
from walkaway.model.heads import Head
from walkaway.model.recommendation import Policy
from walkaway.model.training import (
    TrainingResult,
    model_for,
    too_few_deals,
    train_and_evaluate,
)
from walkaway.model.walkaway_model import NotEnoughData
from walkaway.serving import DEFAULT_CHUNK_SIZE
from walkaway.serving.batch import BatchResult, score_file
from walkaway.serving.batch_outputs import check_output_paths, rejects_path
from walkaway.serving.worklist import Capacity

if TYPE_CHECKING:  # the registry imports MLflow: only load it when a job needs it
    from walkaway.data.quality import QualityReport
    from walkaway.serving.monitoring import Verdict
    from walkaway.serving.registry import RegisteredRun

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
    document = read_yaml(path, "policy") or {}
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
    refit: bool = True,
) -> TrainingRun:
    """Read an export, train and evaluate both heads, refit them on every closed deal (unless
    ``refit`` is False), log the run and register the model."""
    from walkaway.analysis import plots
    from walkaway.serving import registry  # MLflow only when a job needs it

    started = time.perf_counter()
    overrides = read_policy(policy) if policy is not None else None
    checked = load_history(history, mapping)
    truth_path = Path(history) / TRUTH_FILE if Path(history).is_dir() else None
    truth = pd.read_parquet(truth_path) if truth_path and truth_path.exists() else None
    model = model_for(checked, calibration=calibration, policy_overrides=overrides)
    result = train_and_evaluate(checked, truth=truth, model=model, refit=refit)
    figures: dict[str, object] = {  # as registry.log_training_run takes them
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
        "refit_on_all_closed_deals": refit,
        "age_aware": result.model.age_aware,
        "win_snapshot_rows": result.model.snapshot_rows_,
        "win_holdout_cutoff": str(result.holdout_cutoff.date())
        if result.holdout_cutoff is not None and pd.notna(result.holdout_cutoff)
        else "no dates",
        "deals_still_open": result.still_open,
        **head_params(result.model.win_head_),
        **head_params(result.model.regret_head_),
    }
    registered = registry.log_training_run(
        result,
        figures,
        params,
        experiment=experiment,
        models_dir=models_dir,
        mapping=checked.mapping,
    )
    mapping = f"{checked.mapping.name} ({checked.mapping.chosen_because})"
    return TrainingRun(result, registered, mapping, time.perf_counter() - started)


def head_params(head: Head) -> dict[str, object]:
    """What a head chose, as run parameters: its learners, blend weight and tree settings."""
    params: dict[str, object] = {
        f"{head.name}_learner": head.shape,
        f"{head.name}_trees": head.trees,
        f"{head.name}_folds": head.folds,
        f"{head.name}_tree_weight": head.tree_weight if head.trained else 0.0,
    }
    if head.booster is not None:
        chosen = head.booster.params
        for key in (
            "num_leaves",
            "max_depth",
            "min_child_samples",
            "learning_rate",
            "feature_fraction",
            "lambda_l2",
            "extra_trees",
        ):
            if key in chosen:
                params[f"{head.name}_{key}"] = chosen[key]
    return params


@dataclass
class ScoringRun:
    """A finished scoring job."""

    batch: BatchResult
    out: Path
    rejects: Path
    report: Path | None
    model_uri: str
    model_name: str | None
    model_version: int | None
    # The MLflow run the drift figures were logged to; None when the model records no training
    # profile or the store could not be reached.
    drift_run_id: str | None = None


def score_job(
    deals: Path,
    out: Path,
    mapping: str | Path | None = None,
    model_uri: str = "models:/walkaway@champion",
    as_of: pd.Timestamp | None = None,
    models_dir: Path = Path("models"),
    accounts: Path | None = None,
    report: Path | None = None,
    chunk_size: int = DEFAULT_CHUNK_SIZE,
    on_progress: Callable[[int], None] | None = None,
    capacity: Capacity | None = None,
    spark_master: str | None = None,
    out_parts: bool = False,
) -> ScoringRun:
    """Score the open deals of an export with an MLflow model: output, rejects and report.
    Every deal gets a priority; with ``capacity``, the deals it covers are marked to work.
    With ``spark_master``, the chunks are scored on Apache Spark
    (:mod:`walkaway.serving.spark_engine`), with the same rules and outputs.

    Raises
    ------
    RegistryError, ContractError
        The model or the input cannot be used at all.
    EverythingRejected
        Every row was rejected (<out>.failed-rejects.csv says why; the previous outputs are
        kept).
    """
    from walkaway.serving import registry
    from walkaway.serving.report import render_report

    check_output_paths(Path(deals), Path(out), report, parts=out_parts)  # before the model loads
    loaded = registry.load_model(model_uri, models_dir=models_dir)
    engine = None
    if spark_master is not None:
        from walkaway.serving.spark_engine import SparkEngine

        engine = SparkEngine(spark_master)

    def page(batch: BatchResult) -> str:
        return render_report(
            batch.digest,
            model_name=loaded.name,
            model_version=loaded.version,
            model_uri=model_uri,
            evaluation=getattr(loaded.model, "evaluation_", None),
            read=batch.read,
            scored=batch.scored,
            rejected=batch.rejected,
            scored_at=pd.Timestamp.now(tz="UTC").isoformat(timespec="seconds"),
            source=str(deals),
            worked=batch.worked,
            capacity=str(batch.capacity) if batch.capacity is not None else None,
            drift=batch.drift,
        )

    batch = score_file(
        Path(deals),
        Path(out),
        loaded.model,
        model_name=loaded.name or model_uri,
        model_version=loaded.version,
        accounts=accounts,
        mapping=mapping,
        remembered_mapping=loaded.mapping,
        chunk_size=chunk_size,
        as_of=as_of,
        on_progress=on_progress,
        report=Path(report) if report is not None else None,
        render_report=page,
        capacity=capacity,
        engine=engine,
        out_parts=out_parts,
    )
    drift_run_id = None
    if batch.drift is not None:
        drift_run_id = registry.log_drift(
            batch.drift,
            model_name=loaded.name,
            model_version=loaded.version,
            source=str(deals),
            models_dir=models_dir,
        )
    return ScoringRun(
        batch,
        Path(out),
        rejects_path(Path(out)),
        report,
        model_uri,
        loaded.name,
        loaded.version,
        drift_run_id,
    )


def validate_job(history: Path, mapping: str | Path | None = None) -> QualityReport:
    """Check an export as ``walkaway train`` would, without training: every contract problem
    of every row and the export's quality (:func:`walkaway.data.quality.assess_export`), then, when
    the rows keep the contract, what training would refuse it for: duplicates the mapping does
    not allow, too few deals, and the leakage guard on the very features training builds."""
    from walkaway.data.quality import assess_export

    report = assess_export(history, mapping)
    if report.problems:
        return report  # training refuses a file that breaks the contract: nothing more to try
    try:
        checked = load_history(history, mapping)
        labelled = checked.labelled()
        few = too_few_deals(labelled[labelled["won"].notna()], checked.source)
        report.refusals = [few] if few else []  # counted as train counts: before the holdout
        report.refusals += model_for(checked).leak_refusals(labelled)
    except (ContractError, NotEnoughData) as error:
        report.refusals = [str(error)]
        return report
    if not report.refusals:
        failure = dry_run(checked)
        report.refusals = [failure] if failure else []
    return report


DRY_RUN_DEALS = 1_000  # validate trains on at most this many deals, as `train` would


def dry_run(history: History) -> str | None:
    """Train and evaluate on a seeded sample of the export as ``walkaway train`` does (nothing
    is logged); why it failed, or None. What only the whole export has (enough deals) is not
    judged on the sample."""
    deals = history.deals
    if len(deals) > DRY_RUN_DEALS:
        deals = deals.sample(DRY_RUN_DEALS, random_state=0).sort_index()
    try:
        train_and_evaluate(dataclasses.replace(history, deals=deals), refit=False)
    except NotEnoughData:
        return None  # the sample may be short of deals the whole export has
    except WalkawayError as error:
        return str(error)
    except Exception as error:  # a defect of walkaway's, said in one line rather than a trace
        detail = str(error).strip().splitlines()[0][:160] if str(error).strip() else ""
        return (
            f"training failed on a sample of {len(deals):,} deals ({type(error).__name__}"
            f"{': ' + detail if detail else ''}): a defect in walkaway; please report it"
        )
    return None


def icp_job(history: Path, mapping: str | Path | None = None) -> tuple[list[str], pd.DataFrame]:
    """The ICP learned from a whole history: sentences and the table behind them."""
    checked = load_history(history, mapping)
    labelled = checked.labelled()
    icp = IcpFit().fit(labelled)
    return icp_in_words(icp.profile_), icp.profile_


@dataclass
class MonitorRun:
    """A finished monitoring job: past scores against a newer export's outcomes."""

    joined: pd.DataFrame  # every scored row with its deal's status (monitoring.join_outcomes)
    by_version: pd.DataFrame
    by_month: pd.DataFrame
    by_recommendation: pd.DataFrame
    reliability: pd.DataFrame  # the live model's closed deals
    verdict: Verdict
    history: str
    export_date: pd.Timestamp
    report: Path | None
    seconds: float


def monitor_job(
    scored: list[Path],
    history: Path,
    mapping: str | Path | None = None,
    report: Path | None = None,
) -> MonitorRun:
    """Join past scored files with the outcomes of a newer export and judge the live model
    (see :mod:`walkaway.serving.monitoring`); write the HTML report when asked.

    Raises
    ------
    ContractError
        A scored file or the export cannot be read.
    """
    from walkaway.output_files import write_text
    from walkaway.serving import monitoring
    from walkaway.serving.monitor_report import render_monitor
    from walkaway.serving.scored_files import read_scored

    started = time.perf_counter()
    past = read_scored([Path(p) for p in scored])
    newer = load_history(Path(history), mapping)
    labelled = newer.labelled()
    clock = monitoring.CloseClock.of(labelled, newer.export_date)
    joined = monitoring.expect_by_now(
        monitoring.join_outcomes(past, labelled), clock, newer.export_date
    )
    version, live = monitoring.live_deals(joined)
    verdict = monitoring.judge(version, live, str(history), clock.note)
    run = MonitorRun(
        joined=joined,
        by_version=monitoring.calibration_by(joined, "model_version"),
        by_month=monitoring.calibration_by(joined, "scored_month"),
        by_recommendation=monitoring.by_recommendation(joined),
        reliability=monitoring.reliability(live),
        verdict=verdict,
        history=str(history),
        export_date=newer.export_date,
        report=Path(report) if report is not None else None,
        seconds=0.0,
    )
    if run.report is not None:
        write_text(run.report, render_monitor(run))
    run.seconds = time.perf_counter() - started
    return run
