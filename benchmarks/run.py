"""walkaway benchmarks: `make bench` (or `python -m benchmarks.run [--quick] [--sections ...]`).

Each command step runs the real command line in a fresh process, so its wall time and peak
memory (the process's maximum resident set size) are what a user gets. Explanation cost, model
quality, decision value, the FLAML peer, calibration and the baseline across seeds run in this
process, each comparing its contenders on one model and one set of rows, side by side; walkaway
is trained once per export and reused by every section that needs it. Results go to
benchmarks/RESULTS.md with the machine and the exact commands; timings are medians of
``--repeat`` runs.
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import platform
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from importlib.metadata import version
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from benchmarks.flaml_peer import PeerRun, compare_with_flaml
from benchmarks.honesty import (
    MIN_EFFECT_POINTS,
    SUM_TOLERANCE_POINTS,
    against_logistic,
    calibration_table,
    icp_evidence_as_points,
    reason_agreement,
)
from benchmarks.quality import (
    ORACLE_VALUE,
    WorklistTarget,
    add_peers,
    decision_value_of,
    quality_table,
)

if TYPE_CHECKING:
    from walkaway.data.history import History
    from walkaway.model.training import TrainingResult

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT.parent / "shared" / "data"
REAL_EXPORTS = {
    "IBM sales win/loss": DATA / "ibm-sales-win-loss",
    "Maven CRM": DATA / "maven-crm-opportunities",
}
WALKAWAY = [sys.executable, "-m", "walkaway"]
AS_OF = "2025-12-31"
WORK_SHARE = 0.5
PREDICTORS = (
    "walkaway",
    "lightgbm_raw",
    "histgradientboosting_raw",
    "logistic",
    "base_rate",
    "truth",
)
PREDICTOR_NAMES = {
    "walkaway": "walkaway",
    "lightgbm_raw": "LightGBM, raw columns",
    "histgradientboosting_raw": "HistGradientBoosting, raw columns",
    "logistic": "logistic on walkaway's features",
    "base_rate": "base rate",
    "truth": "truth (ceiling)",
}
CALIBRATION_NAMES = {**PREDICTOR_NAMES, "truth": "truth (reference)"}
# What `--sections` can name, in the order they run (explanation cost uses the model and export
# of the command steps, so it belongs to them).
SECTIONS = {
    "commands": "synth, train and score on the command line, the MLflow pyfunc, explanation cost",
    "quality": "model quality against the ceiling and the peers, decision value (synthetic)",
    "real": "walkaway vs the peers on the public exports in ../shared/data",
    "flaml": "walkaway vs FLAML (tuned AutoML, walkaway's rows and features, fixed budget) on "
    "IBM's export and synthetic deals, with a paired bootstrap",
    "calibration": "holdout ECE, calibration slope and intercept per head and predictor",
    "seeds": "walkaway vs its logistic baseline on several seeds",
    "reasons": "reasons that contradict their sign in the demo pipeline",
    "time": "open deals scored at their age: age-aware vs age-blind against the truth given age",
    "hostile": "a pipeline with every 7th line broken at several chunk sizes; strict reading cost",
    "spark": "walkaway score on Spark local[2] against the local engine: deals/s, peak memory of "
    "driver and executors, identical outputs",
}
IBM = "IBM sales win/loss"


@dataclass(frozen=True)
class Sizes:
    """How big each section runs, and how many times each timing is repeated."""

    repeat: int
    synth: list[int]
    train: list[int]
    score: list[int]
    pyfunc: list[int]
    explain_rows: int
    quality: list[int]
    # FLAML peer: synthetic deals (seed 11), and its time budget per head in seconds.
    flaml_synth: int
    flaml_budget_real: float
    flaml_budget_synth: float
    # Calibration at (deals, seed); walkaway vs logistic at seed_deals for each seed.
    calibration: list[tuple[int, int]]
    seed_deals: int
    seeds: list[int]
    # The demo pipeline (`make demo`'s sizes) whose reasons are checked.
    demo_deals: int
    demo_seed: int
    # Time-aware against age-blind, on the open deals of these synthetic exports (seed 7).
    time_deals: list[int]
    # A pipeline with every 7th line broken (benchmarks.hostile_reading), scored at these chunks.
    hostile_deals: int
    hostile_chunks: list[int]
    # The same pipelines scored by the local engine and Spark local[2] (benchmarks.spark_engine).
    spark_deals: list[int]


# The pyfunc holds every deal in memory at once; at a million deals use `walkaway score`.
DEFAULT = Sizes(
    repeat=3,
    synth=[1_000_000],
    train=[10_000, 100_000, 1_000_000],
    score=[10_000, 100_000, 1_000_000],
    pyfunc=[10_000, 100_000],
    explain_rows=20_000,
    quality=[20_000, 100_000],
    flaml_synth=20_000,
    flaml_budget_real=300,
    flaml_budget_synth=120,
    calibration=[(3_000, 3), (20_000, 11)],
    seed_deals=5_000,
    seeds=[1, 2, 3, 4, 5],
    demo_deals=5_000,
    demo_seed=7,
    time_deals=[20_000, 100_000],
    hostile_deals=100_000,
    hostile_chunks=[1_000, 10_000, 100_000],
    spark_deals=[100_000, 1_000_000],
)
QUICK = Sizes(
    repeat=1,
    synth=[20_000],
    train=[10_000],
    score=[10_000],
    pyfunc=[10_000],
    explain_rows=5_000,
    quality=[10_000],
    flaml_synth=10_000,
    flaml_budget_real=10,
    flaml_budget_synth=10,
    calibration=[(3_000, 3), (10_000, 11)],
    seed_deals=5_000,
    seeds=[1, 2],
    demo_deals=5_000,
    demo_seed=7,
    time_deals=[10_000],
    hostile_deals=10_000,
    hostile_chunks=[1_000, 10_000],
    spark_deals=[20_000],
)


@dataclass
class Measurement:
    name: str
    command: str
    seconds: float
    peak_mb: float
    deals: int = 0
    note: str = ""
    output: str = ""


@dataclass
class Results:
    """Everything measured, for the report and its headline table."""

    steps: list[Measurement] = field(default_factory=list)
    scoring: list[Measurement] = field(default_factory=list)
    explanation: list[dict[str, float]] = field(default_factory=list)
    explanation_rows: int = 0
    quality: dict[int, pd.DataFrame] = field(default_factory=dict)
    attribution: dict[int, dict[str, float]] = field(default_factory=dict)
    decisions: dict[int, pd.DataFrame] = field(default_factory=dict)
    real: dict[str, pd.DataFrame] = field(default_factory=dict)
    real_skipped: str = ""
    flaml: dict[str, list[PeerRun]] = field(default_factory=dict)
    flaml_skipped: list[str] = field(default_factory=list)
    calibration: dict[tuple[int, int], pd.DataFrame] = field(default_factory=dict)
    seeds: pd.DataFrame | None = None
    reasons: pd.DataFrame | None = None
    icp_evidence: dict[str, int] = field(default_factory=dict)
    demo_steps: list[Measurement] = field(default_factory=list)
    demo_scored: int = 0
    minutes: dict[str, float] = field(default_factory=dict)  # wall minutes per section run
    time_aware: list[str] = field(default_factory=list)  # the time section, as written
    hostile: list[str] = field(default_factory=list)  # the hostile section, as written
    spark: list[str] = field(default_factory=list)  # the spark section, as written


@dataclass
class Trained:
    """walkaway trained and evaluated on one export, as `walkaway train` does."""

    history: History
    result: TrainingResult
    train: pd.DataFrame  # walkaway's training deals (from walkaway.model.training.split_holdouts)
    seconds: float  # wall time of train_and_evaluate
    truth: pd.DataFrame | None = None


class Trainings:
    """walkaway trained once per export and shared by every section that needs it.

    Synthetic exports are written by `walkaway synth` into the work folder, one per (deals,
    seed), and also shared with the command steps.
    """

    def __init__(self, work: Path, env: dict[str, str]) -> None:
        self.work = work
        self.env = env
        self._trained: dict[Path, Trained] = {}

    def synthetic(self, deals: int, seed: int) -> Trained:
        """walkaway on `walkaway synth --deals DEALS --seed SEED`, with its truth."""
        export = synthetic_export(deals, seed, self.work, self.env)
        return self.export(export, pd.read_parquet(export / "truth.parquet"))

    def export(self, folder: Path, truth: pd.DataFrame | None = None) -> Trained:
        """walkaway on an export folder read with its shipped (or found) mapping."""
        if folder not in self._trained:
            from walkaway.data.exports import load_history
            from walkaway.model.training import split_holdouts, train_and_evaluate

            history = load_history(folder)
            started = time.perf_counter()
            result = train_and_evaluate(history, truth=truth)
            seconds = time.perf_counter() - started
            labelled = history.labelled()
            train, _, _ = split_holdouts(labelled[labelled["won"].notna()])
            self._trained[folder] = Trained(history, result, train, seconds, truth)
        return self._trained[folder]


def measure(name: str, args: list[str], repeat: int, env: dict[str, str]) -> Measurement:
    """Median wall time and the largest peak RSS of ``repeat`` runs of one command; the last
    run's standard output is kept."""
    times, peaks, output = [], [], ""
    for _ in range(repeat):
        with tempfile.TemporaryFile() as errors, tempfile.TemporaryFile() as printed:
            started = time.perf_counter()
            process = subprocess.Popen(args, env=env, stdout=printed, stderr=errors, cwd=ROOT)
            _, status, usage = os.wait4(process.pid, 0)
            times.append(time.perf_counter() - started)
            peaks.append(usage.ru_maxrss / 1024)  # ru_maxrss is in kilobytes on Linux
            if os.waitstatus_to_exitcode(status) != 0:
                errors.seek(0)
                raise RuntimeError(f"{name} failed:\n{errors.read().decode()}")
            printed.seek(0)
            output = printed.read().decode()
    shown = " ".join("python" if a == sys.executable else a for a in args)
    return Measurement(name, shown, statistics.median(times), max(peaks), output=output)


def median_seconds(work: Callable[[], object], repeat: int) -> float:
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        work()
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def synthesise(n: int, seed: int, out: Path, env: dict[str, str]) -> Path:
    if not (out / "deals.csv").exists():
        args = [*WALKAWAY, "synth", "--deals", str(n), "--seed", str(seed), "--out", str(out)]
        subprocess.run(args, check=True, env=env, stdout=subprocess.DEVNULL, cwd=ROOT)
    return out


def synthetic_export(n: int, seed: int, work: Path, env: dict[str, str]) -> Path:
    """The work folder's synthetic export of ``n`` deals at ``seed``, written once."""
    return synthesise(n, seed, work / f"synthetic-{n}-seed-{seed}", env)


def open_pipeline(export: Path, out: Path) -> int:
    """Every deal of a synthetic export as an open deal: a pipeline of the export's size."""
    written = 0
    for index, chunk in enumerate(
        pd.read_csv(export / "deals.csv", dtype=str, keep_default_na=False, chunksize=200_000)
    ):
        chunk["Stage"] = "Prospecting"
        for column in ("Close Date", "Churn Date", "Regret Flag", "Gross Margin %"):
            chunk[column] = ""
        chunk.to_csv(out, mode="w" if index == 0 else "a", header=index == 0, index=False)
        written += len(chunk)
    return written


def wire_pipeline(pipeline: Path, accounts: Path, out: Path) -> None:
    """The pipeline as the pyfunc takes it: canonical columns as plain text and numbers, with
    the accounts' firmographics joined and an as-of date."""
    from walkaway.data.exports import load_history
    from walkaway.data.wire_format import to_wire

    export = out.parent / f"{out.stem}-export"
    export.mkdir(exist_ok=True)
    shutil.copy(pipeline, export / "deals.csv")
    shutil.copy(accounts, export / "accounts.csv")
    deals = load_history(export, "synthetic-crm").deal_frame()
    to_wire(deals).assign(as_of=AS_OF).reset_index(drop=True).to_parquet(out, index=False)
    shutil.rmtree(export)


def machine() -> list[str]:
    memory = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    packages = ", ".join(
        f"{p} {version(p)}"
        for p in ("pandas", "numpy", "lightgbm", "scikit-learn", "mlflow", "shap", "pyarrow")
    )
    return [
        f"- Machine: {platform.machine()}, {os.cpu_count()} cores, {memory:.0f} GiB memory, "
        f"{platform.system()}",
        f"- Python {platform.python_version()}; {packages}",
    ]


def time_breakdown(output: str) -> str:
    match = re.search(r"^Time: (.*)$", output, flags=re.MULTILINE)
    return match.group(1).strip().rstrip(",") if match else ""


def bench_commands(sizes: Sizes, work: Path, env: dict[str, str], results: Results) -> Path:
    """Synth, train and score as a user runs them. Returns the models folder used to score."""
    help_run = measure("`walkaway --help`", [*WALKAWAY, "--help"], max(sizes.repeat, 5), env)
    help_run.note = "the command line loads pandas, LightGBM and MLflow only when a command runs"
    results.steps.append(help_run)
    for n in sizes.synth:
        args = [*WALKAWAY, "synth", "--deals", str(n), "--seed", "7", "--out", str(work / "s")]
        results.steps.append(measure(f"synth {n:,} deals", args, repeat_for(n, sizes), env))
        shutil.rmtree(work / "s")
    for n in sizes.train:
        export = synthetic_export(n, 11, work, env)
        models = work / f"models-{n}"
        args = [*WALKAWAY, "train", "--history", str(export), "--models-dir", str(models)]
        # Each run registers a new version in the same store: the last one is as good as the
        # first, so the champion stays a model trained on these n deals.
        run = measure(f"train on {n:,} deals", args, repeat_for(n, sizes), env)
        run.note = "both heads, calibration, baselines, explanations and plots logged to MLflow"
        results.steps.append(run)
    # Score with the model trained on 100,000 deals (the largest below a million; the
    # smallest in quick mode): scoring cost depends on the model's trees, not the pipeline.
    trained = [n for n in sizes.train if n <= 100_000]
    models = work / f"models-{max(trained)}"
    for n in sizes.score:
        export = synthetic_export(n, 3, work, env)
        pipeline = work / f"pipeline-{n}.csv"
        rows = open_pipeline(export, pipeline)
        as_parquet = work / f"pipeline-{n}.parquet"
        pd.read_csv(pipeline, dtype=str, keep_default_na=False).to_parquet(as_parquet, index=False)
        for kind, source in (("csv", pipeline), ("parquet", as_parquet)):
            args = [
                *WALKAWAY,
                "score",
                "--deals",
                str(source),
                "--accounts",
                str(export / "accounts.csv"),
                "--out",
                str(work / f"scored-{n}.{kind}"),
                "--models-dir",
                str(models),
                "--as-of",
                AS_OF,
            ]
            run = measure(
                f"`walkaway score`, {rows:,} deals, {kind} in and out",
                args,
                repeat_for(n, sizes),
                env,
            )
            if kind == "csv":
                csv_run = run
            describe_scoring(run, rows, csv_run)
            results.scoring.append(run)
        if n in sizes.pyfunc:
            wire = work / f"wire-{n}.parquet"
            wire_pipeline(pipeline, export / "accounts.csv", wire)
            args = [
                sys.executable,
                "-m",
                "benchmarks.pyfunc_predict",
                str(wire),
                "--models-dir",
                str(models),
            ]
            run = measure(
                f"MLflow pyfunc `predict`, {rows:,} deals in one DataFrame",
                args,
                repeat_for(n, sizes),
                env,
            )
            describe_scoring(run, rows, csv_run)
            results.scoring.append(run)
        for path in (pipeline, as_parquet, *work.glob(f"scored-{n}.*"), *work.glob("wire-*")):
            path.unlink(missing_ok=True)
    return models


def describe_scoring(run: Measurement, deals: int, csv_run: Measurement) -> None:
    """Speed, the comparison with `walkaway score` on the same deals as CSV, and time by step."""
    run.deals = deals
    compared = (
        ""
        if run is csv_run
        else f" ({csv_run.seconds / run.seconds:.2f}x the speed and "
        f"{run.peak_mb / csv_run.peak_mb:.2f}x the peak memory of the CSV run)"
    )
    run.note = (
        f"{deals / run.seconds:,.0f} deals/s end to end{compared}; {time_breakdown(run.output)}"
    )


def repeat_for(n: int, sizes: Sizes) -> int:
    """One run at a million deals (minutes each); the median of ``sizes.repeat`` below."""
    return 1 if n >= 1_000_000 else sizes.repeat


def bench_explanations(models: Path, export: Path, sizes: Sizes, results: Results) -> None:
    """Prediction alone vs LightGBM pred_contrib vs shap.TreeExplainer, same model and rows."""
    import shap

    from walkaway.data.exports import load_history
    from walkaway.serving.registry import load_model

    model = load_model(models_dir=models).model
    deals = load_history(export).deal_frame().head(sizes.explain_rows)
    X = model._encode(model.featurise(deals, pd.Timestamp(AS_OF)))
    results.explanation_rows = len(X)
    for head in (model.win_head_, model.regret_head_):
        booster = head.booster
        if booster is None:  # the head chose a logistic model alone: no trees to explain
            continue
        predict = median_seconds(lambda b=booster: b.predict(X, raw_score=True), sizes.repeat)
        contrib = median_seconds(lambda b=booster: b.predict(X, pred_contrib=True), sizes.repeat)
        explainer = shap.TreeExplainer(booster)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            tree_shap = median_seconds(lambda e=explainer: e.shap_values(X), sizes.repeat)
            difference = np.abs(
                np.asarray(explainer.shap_values(X)) - booster.predict(X, pred_contrib=True)[:, :-1]
            ).max()
        results.explanation.append(
            {
                "head": head.name,
                "trees": booster.num_trees(),
                "predict": predict,
                "pred_contrib": contrib,
                "tree_explainer": tree_shap,
                "difference": difference,
            }
        )


def bench_quality(sizes: Sizes, trainings: Trainings, results: Results) -> None:
    """walkaway vs the ceiling, the peers and the baselines; decision value; same holdouts."""
    for n in sizes.quality:
        trained = trainings.synthetic(n, 11)
        add_peers(trained.result, trained.train)
        results.quality[n] = quality_table(trained.result, PREDICTORS)
        results.attribution[n] = trained.result.attribution or {}
        results.decisions[n] = decision_value_of(trained.result, trained.truth, WORK_SHARE)


def bench_real_data(trainings: Trainings, results: Results) -> None:
    """walkaway vs the peers on the public exports in ../shared/data, when present."""
    missing = [str(p) for p in REAL_EXPORTS.values() if not p.is_dir()]
    if missing:
        results.real_skipped = f"skipped: {', '.join(missing)} not found (see DESIGN.md)"
        return
    for name, folder in REAL_EXPORTS.items():
        trained = trainings.export(folder)
        add_peers(trained.result, trained.train)
        results.real[name] = quality_table(trained.result, PREDICTORS)


def bench_time(sizes: Sizes, work: Path, results: Results) -> None:
    """Age-aware vs age-blind on open deals by age band (benchmarks.time_aware)."""
    from benchmarks import time_aware

    lines = time_aware.run(sizes.time_deals, [7], work)
    # Its own title and code line are the report's: keep the sections below them.
    results.time_aware = lines[lines.index("") + 1 :]


def bench_hostile(sizes: Sizes, work: Path, results: Results) -> None:
    """Every 7th line broken, at several chunk sizes (benchmarks.hostile_reading)."""
    from benchmarks import hostile_reading

    results.hostile = hostile_reading.run(sizes.hostile_deals, sizes.hostile_chunks, work)


def bench_spark(sizes: Sizes, work: Path, results: Results) -> None:
    """Spark local[2] against the local engine on the same pipelines (benchmarks.spark_engine)."""
    from benchmarks import spark_engine

    folder = work / "spark"
    folder.mkdir()
    results.spark = spark_engine.run(sizes.spark_deals, folder)


def bench_flaml(sizes: Sizes, trainings: Trainings, results: Results) -> None:
    """walkaway vs FLAML on IBM's export (win head) and on synthetic deals (both heads)."""
    try:
        import flaml.automl  # noqa: F401  (only to know it is there)
    except ImportError:
        results.flaml_skipped.append(
            "skipped: FLAML is not installed (`pip install -e '.[bench]'`, as `make bench` does)"
        )
        return
    folder = REAL_EXPORTS[IBM]
    if folder.is_dir():
        trained = trainings.export(folder)
        results.flaml[IBM] = compare_with_flaml(
            trained.result,
            trained.train,
            trained.seconds,
            sizes.flaml_budget_real,
            heads=("win",),
        )
    else:
        results.flaml_skipped.append(f"{IBM} skipped: {folder} not found")
    trained = trainings.synthetic(sizes.flaml_synth, 11)
    results.flaml[f"synthetic, {sizes.flaml_synth:,} deals (seed 11)"] = compare_with_flaml(
        trained.result, trained.train, trained.seconds, sizes.flaml_budget_synth
    )


def bench_calibration(sizes: Sizes, trainings: Trainings, results: Results) -> None:
    """Holdout ECE, calibration slope and intercept per head, on synthetic histories."""
    for n, seed in sizes.calibration:
        results.calibration[(n, seed)] = calibration_table(trainings.synthetic(n, seed).result)


def bench_seeds(sizes: Sizes, trainings: Trainings, results: Results) -> None:
    """walkaway vs its logistic baseline (holdout log loss, ROC AUC) on several seeds."""
    results.seeds = pd.concat(
        [
            against_logistic(trainings.synthetic(sizes.seed_deals, seed).result, seed)
            for seed in sizes.seeds
        ],
        ignore_index=True,
    )


def bench_reasons(sizes: Sizes, work: Path, env: dict[str, str], results: Results) -> None:
    """The demo, as `make demo` runs it (into temporary folders): do the scored pipeline's
    reasons go the way of the sign they explain?"""
    export, models, scored = work / "demo-export", work / "demo-models", work / "demo-scored.csv"
    steps = {
        "synth": ["synth", "--deals", str(sizes.demo_deals), "--seed", str(sizes.demo_seed)]
        + ["--out", str(export)],
        "train": ["train", "--history", str(export), "--models-dir", str(models)],
        "score": ["score", "--deals", str(export / "pipeline.csv"), "--out", str(scored)]
        + ["--models-dir", str(models), "--as-of", AS_OF],
    }
    for name, args in steps.items():
        results.demo_steps.append(measure(f"demo: {name}", [*WALKAWAY, *args], 1, env))
    frame = pd.read_csv(scored, dtype=str, keep_default_na=False)
    results.demo_scored = len(frame)
    results.reasons = reason_agreement(frame)
    results.icp_evidence = icp_evidence_as_points(frame)


def table(rows: list[Measurement]) -> list[str]:
    return [
        "| step | median seconds | peak memory (MB) | note |",
        "|---|---:|---:|---|",
        *[f"| {m.name} | {m.seconds:.1f} | {m.peak_mb:,.0f} | {m.note} |" for m in rows],
    ]


def quality_lines(frame: pd.DataFrame, ceiling: bool) -> list[str]:
    heading = "| head | predictor | holdout deals | ROC AUC | log loss | Brier |"
    rule = "|---|---|---:|---:|---:|---:|"
    if ceiling:
        heading += " AUC gap to ceiling | share of ceiling's lift over chance |"
        rule += "---:|---:|"
    heading += " log loss / walkaway's | Brier / walkaway's |"
    rule += "---:|---:|"
    lines = [heading, rule]
    for row in frame.itertuples(index=False):
        line = (
            f"| {row.head} | {PREDICTOR_NAMES[row.predictor]} | {row.deals:,} | "
            f"{row.roc_auc:.4f} | {row.log_loss:.4f} | {row.brier:.4f} |"
        )
        if ceiling:
            line += f" {row.auc_gap_to_ceiling:+.4f} | {row.share_of_ceiling_lift:.1%} |"
        line += f" {row.log_loss_vs_walkaway:.3f} | {row.brier_vs_walkaway:.3f} |"
        lines.append(line)
    return lines


def decision_lines(frame: pd.DataFrame) -> list[str]:
    """The decision-value table, then issue 15's target for the worklist, PASS or FAIL."""
    oracle = frame.loc[ORACLE_VALUE, "expected_value_won"]
    lines = [
        "| strategy | deals worked | good wins | share of good wins captured | regrettable wins "
        "| share of regrettable wins avoided | expected good value won | value / no triage "
        "| value / oracle's | mean true p_regret of deals worked |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for strategy, row in frame.iterrows():
        lines.append(
            f"| {strategy} | {row.deals_worked:,.0f} | {row.good_wins:,.0f} | "
            f"{row.good_wins_captured:.1%} | {row.regrettable_wins:,.0f} | "
            f"{row.regrettable_wins_avoided:.1%} | {row.expected_value_won:,.0f} | "
            f"{row.value_vs_no_triage:.2f} | {row.expected_value_won / oracle:.1%} | "
            f"{number(row.mean_true_p_regret)} |"
        )
    return [*lines, "", WorklistTarget.of(frame).in_words()]


def pick(frame: pd.DataFrame, head: str, predictor: str, column: str) -> float:
    rows = frame[(frame["head"] == head) & (frame["predictor"] == predictor)]
    return float(rows[column].iloc[0]) if len(rows) else float("nan")


def headline(results: Results) -> list[str]:
    """The figures the issue asks a closing note to quote, taken from the sections below."""
    lines = ["| figure | value |", "|---|---|"]
    for m in results.steps:
        if m.name.startswith("train on"):
            lines.append(
                f"| {m.name}: time, peak memory | {m.seconds:.1f} s, {m.peak_mb:,.0f} MB |"
            )
    largest = max((m.deals for m in results.scoring), default=0)
    for m in results.scoring:
        if m.deals == largest:
            speed = m.note.split(";")[0]
            lines.append(f"| {m.name} | {speed}, {m.peak_mb:,.0f} MB peak |")
    for e in results.explanation:
        lines.append(
            f"| {e['head']} head: TreeExplainer / pred_contrib; pred_contrib / predict | "
            f"{e['tree_explainer'] / e['pred_contrib']:.2f}; {e['pred_contrib'] / e['predict']:.1f} |"
        )
    for n, frame in results.quality.items():
        for head in ("win", "regret"):
            ours = pick(frame, head, "walkaway", "roc_auc")
            if np.isnan(ours):
                continue
            peers = ", ".join(
                f"{PREDICTOR_NAMES[p]} {pick(frame, head, p, 'roc_auc'):.4f}"
                for p in ("lightgbm_raw", "histgradientboosting_raw", "logistic")
            )
            lines.append(
                f"| {n:,} deals, {head} head: walkaway ROC AUC (gap to ceiling); peers | "
                f"{ours:.4f} ({pick(frame, head, 'walkaway', 'auc_gap_to_ceiling'):+.4f}); "
                f"{peers} |"
            )
    for n, frame in results.decisions.items():
        shown = "; ".join(
            f"{strategy} {row.value_vs_no_triage:.2f}x value, {row.good_wins_captured:.0%} of "
            f"good wins, {row.regrettable_wins_avoided:.0%} of regrettable wins avoided"
            for strategy, row in frame.iterrows()
        )
        lines.append(f"| {n:,} deals, working {WORK_SHARE:.0%} of the holdout | {shown} |")
        target = WorklistTarget.of(frame).in_words()
        lines.append(f"| {n:,} deals, the worklist's target (issue 15) | {target} |")
    for name, frame in results.real.items():
        peers = ", ".join(
            f"{PREDICTOR_NAMES[p]} {pick(frame, 'win', p, 'roc_auc'):.4f} / "
            f"{pick(frame, 'win', p, 'brier'):.4f}"
            for p in ("lightgbm_raw", "histgradientboosting_raw")
        )
        lines.append(
            f"| {name}, win head: walkaway ROC AUC / Brier; peers | "
            f"{pick(frame, 'win', 'walkaway', 'roc_auc'):.4f} / "
            f"{pick(frame, 'win', 'walkaway', 'brier'):.4f}; {peers} |"
        )
    return lines


def number(value: float, digits: int = 4, signed: bool = False) -> str:
    """A figure for a table: fixed decimals, 'n/a' when undefined."""
    if value is None or not np.isfinite(value):
        return "n/a"
    return f"{value:+.{digits}f}" if signed else f"{value:.{digits}f}"


def flaml_lines(runs: list[PeerRun]) -> list[str]:
    """walkaway and FLAML side by side per head, then the paired bootstrap of each head."""
    lines = [
        "| head | predictor | training deals | holdout deals | ROC AUC | log loss | Brier | "
        "training wall seconds | note |",
        "|---|---|---:|---:|---:|---:|---:|---:|---|",
    ]
    for run in runs:
        for name in ("walkaway", "flaml"):
            m = run.metrics[name]
            if name == "walkaway":
                seconds, note = run.walkaway_seconds, "`train_and_evaluate`, both heads"
            else:
                seconds = run.flaml_seconds
                note = f"budget {run.budget_seconds:.0f} s; chose {run.chosen}"
            lines.append(
                f"| {run.head} | {'walkaway' if name == 'walkaway' else 'FLAML (lgbm)'} | "
                f"{run.training_deals:,} | {len(run.y):,} | {number(m['roc_auc'])} | "
                f"{number(m['log_loss'])} | {number(m['brier'])} | {seconds:.1f} | {note} |"
            )
    lines.append("")
    for run in runs:
        b = run.bootstrap
        if b is None:
            continue
        lines.append(
            f"- {run.head} head, paired bootstrap ({b.resamples:,} resamples of the "
            f"{len(run.y):,} holdout deals): walkaway's log loss is lower in "
            f"{b.share_walkaway_lower:.1%} of resamples; walkaway minus FLAML log loss "
            f"{b.difference:+.4f} (95% interval {b.low:+.4f} to {b.high:+.4f})."
        )
    return lines


def calibration_lines(tables: dict[tuple[int, int], pd.DataFrame]) -> list[str]:
    lines = [
        "| synthetic deals (seed) | head | predictor | holdout deals | positive rate | ECE | "
        "calibration slope | calibration intercept | log loss |",
        "|---|---|---|---:|---:|---:|---:|---:|---:|",
    ]
    for (n, seed), frame in tables.items():
        for row in frame.itertuples(index=False):
            lines.append(
                f"| {n:,} ({seed}) | {row.head} | {CALIBRATION_NAMES[row.predictor]} | "
                f"{row.deals:,} | {row.positive_rate:.3f} | {number(row.ece)} | "
                f"{number(row.calibration_slope, 3)} | "
                f"{number(row.calibration_intercept, 3, signed=True)} | {number(row.log_loss)} |"
            )
    return lines


def seeds_summary(frame: pd.DataFrame) -> dict[str, tuple[int, int]]:
    """Per head: on how many seeds walkaway's log loss is no worse than the baseline's, of how
    many seeds."""
    return {
        head: (int(rows["walkaway_no_worse"].sum()), len(rows))
        for head, rows in frame.groupby("head", sort=False)
    }


def seeds_lines(frame: pd.DataFrame) -> list[str]:
    lines = [
        "| seed | head | holdout deals | walkaway log loss | logistic log loss | walkaway ROC AUC "
        "| logistic ROC AUC | walkaway's log loss no worse |",
        "|---:|---|---:|---:|---:|---:|---:|---|",
    ]
    for row in frame.itertuples(index=False):
        lines.append(
            f"| {row.seed} | {row.head} | {row.deals:,} | {row.walkaway_log_loss:.4f} | "
            f"{row.logistic_log_loss:.4f} | {number(row.walkaway_roc_auc)} | "
            f"{number(row.logistic_roc_auc)} | {'yes' if row.walkaway_no_worse else 'no'} |"
        )
    lines.append("")
    for head, (no_worse, seeds) in seeds_summary(frame).items():
        rows = frame[frame["head"] == head]
        lines.append(
            f"- {head} head: walkaway's holdout log loss is no worse than the logistic "
            f"baseline's on {no_worse} of {seeds} seeds (mean {rows['walkaway_log_loss'].mean():.4f}"
            f" vs {rows['logistic_log_loss'].mean():.4f}; mean ROC AUC "
            f"{rows['walkaway_roc_auc'].mean():.4f} vs {rows['logistic_roc_auc'].mean():.4f})."
        )
    return lines


def reasons_lines(results: Results, work: Path) -> list[str]:
    table = results.reasons
    lines = [
        f"| sign | cells | cells with abs(effect) >= {MIN_EFFECT_POINTS:g} points | first reason "
        f"contradicts the effect | no reason with points | points add up within "
        f"{SUM_TOLERANCE_POINTS:g} point (large cells) | points add up within "
        f"{SUM_TOLERANCE_POINTS:g} point (all cells) |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    for row in table.itertuples(index=False):
        large = max(row.large_cells, 1)
        lines.append(
            f"| {row.sign} | {row.cells:,} | {row.large_cells:,} | {row.contradicting:,} "
            f"({row.contradicting / large:.1%}) | {row.without_points:,} | "
            f"{row.adds_up_large / large:.1%} | {row.adds_up_all / max(row.cells, 1):.1%} |"
        )
    evidence = results.icp_evidence
    lines += [
        "",
        f'"ICP rests on N customers" (evidence, not a property of the deal) is shown with points '
        f"{evidence.get('with_points', 0):,} times, {evidence.get('negative', 0):,} of them "
        "negative (shown as a cost).",
        "",
        *table_of(results.demo_steps, work),
    ]
    return lines


def table_of(steps: list[Measurement], work: Path) -> list[str]:
    """Command steps with their wall time, temporary folders shown as <tmp>."""
    return [
        "| command | seconds |",
        "|---|---:|",
        *[f"| `{m.command.replace(str(work), '<tmp>')}` | {m.seconds:.1f} |" for m in steps],
    ]


def new_headline(results: Results) -> list[str]:
    """Headline rows of the FLAML, calibration, seeds and reasons sections."""
    lines = []
    for name, runs in results.flaml.items():
        for run in runs:
            w, f = run.metrics["walkaway"], run.metrics["flaml"]
            lines.append(
                f"| {name}, {run.head} head: ROC AUC / log loss / Brier / training seconds, "
                f"walkaway vs FLAML ({run.budget_seconds:.0f} s budget) | "
                f"{w['roc_auc']:.4f} / {w['log_loss']:.4f} / {w['brier']:.4f} / "
                f"{run.walkaway_seconds:.0f} vs {f['roc_auc']:.4f} / {f['log_loss']:.4f} / "
                f"{f['brier']:.4f} / {run.flaml_seconds:.0f}; walkaway's log loss lower in "
                f"{run.bootstrap.share_walkaway_lower:.1%} of bootstrap resamples |"
            )
    for (n, seed), frame in results.calibration.items():
        shown = "; ".join(
            f"{row.head} {number(row.ece)} / {number(row.calibration_slope, 3)} / "
            f"{number(row.calibration_intercept, 3, signed=True)}"
            for row in frame[frame["predictor"] == "walkaway"].itertuples(index=False)
        )
        lines.append(f"| {n:,} deals (seed {seed}): walkaway ECE / slope / intercept | {shown} |")
    if results.seeds is not None:
        shown = "; ".join(
            f"{head} head {no_worse} of {seeds}"
            for head, (no_worse, seeds) in seeds_summary(results.seeds).items()
        )
        lines.append(f"| seeds where walkaway's log loss is no worse than logistic's | {shown} |")
    if results.reasons is not None:
        total = results.reasons.set_index("sign").loc["all"]
        lines.append(
            f"| demo pipeline: sign cells with abs(effect) >= {MIN_EFFECT_POINTS:g} points whose "
            f"first reason contradicts the effect | {total['contradicting']:,} of "
            f"{total['large_cells']:,} |"
        )
    return lines


def walkaway_sources(env: dict[str, str]) -> tuple[str, str]:
    """Where this process and the command-line runs import walkaway from."""
    import walkaway

    printed = subprocess.run(
        [sys.executable, "-c", "import walkaway; print(walkaway.__file__)"],
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    )
    return str(Path(walkaway.__file__).parent), str(Path(printed.stdout.strip()).parent)


def code_version() -> str:
    """The commit of the benchmarked code, and whether its work tree has changes."""
    try:
        commit = subprocess.run(
            ["git", "rev-parse", "HEAD"], cwd=ROOT, capture_output=True, text=True, check=True
        ).stdout.strip()
        changed = subprocess.run(
            ["git", "status", "--porcelain", "--untracked-files=no"],
            cwd=ROOT,
            capture_output=True,
            text=True,
            check=True,
        ).stdout.splitlines()
    except (OSError, subprocess.CalledProcessError):
        return "unknown (not a git work tree)"
    return f"commit {commit}" + (
        f", with uncommitted changes to {len(changed)} tracked file(s)" if changed else ""
    )


def report(
    results: Results,
    sizes: Sizes,
    command: str,
    minutes: float,
    work: Path,
    sources: tuple[str, str],
) -> str:
    """RESULTS.md: the sections that ran, each comparing its contenders side by side."""
    quick = "--quick" in command
    ran = results.minutes
    in_process, command_line = sources
    everything = list(ran) == list(SECTIONS)
    make_target = f" (`make bench{'-quick' if quick else ''}`)" if everything else ""
    at_a_million = max(sizes.train + sizes.score) >= 1_000_000 and "commands" in ran
    lines = [
        "# walkaway benchmarks",
        "",
        f"Written by `{command}`{make_target} in {minutes:.1f} minutes. Command steps run in a fresh process each; times are medians "
        f"of {sizes.repeat} run(s)"
        f"{' (one run at 1,000,000 deals)' if at_a_million else ''}"
        "; peak memory is the process's maximum resident set size.",
        "",
        *machine(),
        f"- Code: {code_version()}; walkaway imported from `{in_process}` in this process and "
        f"`{command_line}` by the command-line runs",
        "- Sections (wall minutes): "
        + ", ".join(f"{name} {spent:.1f}" for name, spent in ran.items()),
        "",
        "## Headline",
        "",
        *headline(results),
        *new_headline(results),
        "",
    ]
    if "commands" in ran:
        lines += commands_lines(results, sizes)
    if "quality" in ran:
        lines += quality_section_lines(results)
    if "real" in ran:
        lines += real_lines(results)
    if "flaml" in ran:
        lines += [
            "## walkaway vs FLAML, a tuned AutoML peer",
            "",
            "FLAML searches LightGBM only (`estimator_list=['lgbm']`, `metric='log_loss'`, seed 7, "
            "its default evaluation split) within a fixed time budget per head, on exactly the "
            "deals each walkaway head learns from, described by walkaway's own encoded feature "
            "columns (`model._encode(model.featurise(deals))`), and is judged on the same holdout "
            "(`benchmarks/flaml_peer.py`). walkaway's time is the wall time of "
            "`train_and_evaluate` (featurising, both heads, baselines and evaluation); FLAML's is "
            "its search and final refit, given walkaway's features for free. The paired bootstrap "
            "resamples holdout deals with replacement and compares both log losses on the same "
            "deals. The machine has 2 cores shared with other work: timings, and what FLAML "
            "finds within its budget, vary between runs.",
            "",
        ]
        for line in results.flaml_skipped:
            lines += [line, ""]
        for name, runs in results.flaml.items():
            lines += [f"### {name}", "", *flaml_lines(runs), ""]
    if "calibration" in ran:
        lines += [
            "## Calibration per head",
            "",
            "Holdouts as `walkaway train` makes them (synthetic exports). The calibration slope and "
            "intercept come from an unpenalised logistic regression of the outcome on the "
            "prediction's log-odds: slope 1 and intercept 0 are perfect; a slope below 1 means "
            "over-confident predictions. ECE is the count-weighted gap between predicted and "
            "observed rates over 10 equal-count bins. The base rate has no slope (a constant); "
            "the true probabilities show what a perfectly calibrated predictor scores on a "
            "holdout of this size.",
            "",
            *calibration_lines(results.calibration),
            "",
        ]
    if "seeds" in ran and results.seeds is not None:
        lines += [
            f"## walkaway vs its logistic baseline, {sizes.seed_deals:,} deals, "
            f"{len(sizes.seeds)} seeds",
            "",
            f"`walkaway synth --deals {sizes.seed_deals} --seed S` for S in "
            f"{', '.join(map(str, sizes.seeds))}; the baseline is the logistic regression on "
            "walkaway's features that `walkaway train` reports, on the same holdout.",
            "",
            *seeds_lines(results.seeds),
            "",
        ]
    if "reasons" in ran and results.reasons is not None:
        lines += [
            "## Reasons against their sign (the demo pipeline)",
            "",
            f"The demo as `make demo` runs it, into temporary folders; {results.demo_scored:,} open "
            f"deals scored. A cell is one deal and one sign. For cells whose effect on p_good is "
            f"at least {MIN_EFFECT_POINTS:g} points either way, the first reason with points "
            "(notes without points are skipped) should go the way of the effect; the table counts "
            "those where it does not. Informative: the share of cells whose listed reasons' "
            f"points add up to the effect within {SUM_TOLERANCE_POINTS:g} point.",
            "",
            *reasons_lines(results, work),
            "",
        ]
    if "time" in ran:
        lines += [
            line.replace("## ", "## Time-aware: ", 1) if line.startswith("## ") else line
            for line in results.time_aware
        ]
        lines += [
            "This section alone: `.venv/bin/python -m benchmarks.time_aware --deals "
            f"{','.join(str(n) for n in sizes.time_deals)} --seeds 7`.",
            "",
        ]
    if "hostile" in ran:
        lines += [
            "## Hostile pipeline: every 7th line broken",
            "",
            *[line.replace("## ", "### ", 1) for line in results.hostile],
            "",
            "This section alone: `.venv/bin/python -m benchmarks.hostile_reading --deals "
            f"{sizes.hostile_deals} --chunk-sizes {','.join(map(str, sizes.hostile_chunks))}`.",
            "",
        ]
    if "spark" in ran:
        lines += [
            "## Spark `local[2]` against the local engine",
            "",
            *[line.replace("## ", "### ", 1) for line in results.spark],
            "",
            "This section alone: `.venv/bin/python -m benchmarks.spark_engine --deals "
            f"{','.join(map(str, sizes.spark_deals))}`.",
            "",
        ]
    if "commands" in ran:
        lines += [
            "## Commands",
            "",
            "Temporary folders are shown as `<tmp>`.",
            "",
            *[
                f"- `{m.command.replace(str(work), '<tmp>')}`"
                for m in [*results.steps, *results.scoring]
            ],
            "",
        ]
    return "\n".join(lines)


def commands_lines(results: Results, sizes: Sizes) -> list[str]:
    return [
        "## Synthetic data and training (`walkaway synth`, `walkaway train`)",
        "",
        *table(results.steps),
        "",
        "## Batch scoring",
        "",
        f"Scored with the model trained on {max(n for n in sizes.train if n <= 100_000):,} "
        "deals. Pipelines are synthetic exports with every deal open. `walkaway score` times "
        "include starting Python, loading the model from MLflow, reading, checking, scoring, "
        "explaining and writing, chunk by chunk; the note splits the job's own time by step. The "
        "MLflow pyfunc takes canonical columns already joined to the accounts, all in memory at "
        "once, and returns the same columns (reasons included) without checking or writing; its "
        "note splits reading the Parquet input, loading the model and `predict`.",
        "",
        *table(results.scoring),
        "",
        "## Explanation cost",
        "",
        f"Same model (both heads), same {results.explanation_rows:,} rows; seconds are medians "
        f"of {sizes.repeat} run(s).",
        "",
        "| head | trees | predict (s) | pred_contrib (s) | shap.TreeExplainer (s) | "
        "TreeExplainer / pred_contrib | pred_contrib / predict | max abs difference |",
        "|---|---:|---:|---:|---:|---:|---:|---:|",
        *[
            f"| {e['head']} | {e['trees']} | {e['predict']:.3f} | {e['pred_contrib']:.3f} | "
            f"{e['tree_explainer']:.3f} | {e['tree_explainer'] / e['pred_contrib']:.2f} | "
            f"{e['pred_contrib'] / e['predict']:.1f} | {e['difference']:.1e} |"
            for e in results.explanation
        ],
        "",
        "shap.TreeExplainer in its default mode (tree_path_dependent, no background data) hands a "
        "LightGBM model to LightGBM's own pred_contrib: the same numbers at the same cost. shap's "
        "own implementations (interventional, with background data) refuse models with "
        "categorical splits, which walkaway's heads have, so there is no faster or slower shap "
        "path to compare; walkaway calls pred_contrib directly and uses shap only for plots.",
        "",
    ]


def quality_section_lines(results: Results) -> list[str]:
    lines = [
        "## Model quality against the ceiling and peers (synthetic)",
        "",
        "`walkaway synth --seed 11`, trained and judged as `walkaway train` does: the win head on "
        "the newest 20% of closed deals, the regret head on the newest 20% of matured wins. The "
        "ceiling is the true probabilities from `truth.parquet`. The peers are what a data "
        "scientist would write first: LightGBM and scikit-learn HistGradientBoosting with their "
        "defaults on the raw canonical columns (deal and account as exported, no sign features), "
        "fit per head on exactly walkaway's training rows (`benchmarks/quality.py`). The "
        "logistic baseline is the one `walkaway train` reports, on walkaway's features. 'Share "
        "of the ceiling's lift' is (AUC - 0.5) / (ceiling AUC - 0.5).",
        "",
    ]
    for n, frame in results.quality.items():
        attribution = results.attribution.get(n, {})
        lines += [f"### {n:,} deals", "", *quality_lines(frame, ceiling=True), ""]
        if attribution:
            lines += [
                f"Sign attribution: the most negative explained sign is the true one for "
                f"{attribution['matched']:,} of {attribution['deals']:,} win-holdout deals with a "
                f"clear true driver ({attribution['share']:.1%}).",
                "",
            ]
    lines += [
        "## Decision value (synthetic)",
        "",
        f"The team can work {WORK_SHARE:.0%} of the deals in the win holdout above. Each "
        "strategy picks which: following walkaway's recommendations (pursue, then compete, "
        "qualify, keep presence, walk away; highest p_good first within each), walkaway's "
        "worklist (the `priority` column of `walkaway score`: p_good x amount x (1 - p_regret), "
        "with (1 - p_regret) twice for a walk-away deal; `src/walkaway/serving/worklist.py`), or "
        "the top deals by a single score. Without triage it works a random half, so it gets "
        "half of everything on average (computed exactly). The two oracles know the true "
        "chances: they rank by the true p_good x amount, or by the true p_good. Good and "
        "regrettable wins are the holdout's real outcomes (regret from the truth file, so wins "
        "too young to show it count too); expected good value is the sum of amount x true "
        "p_good over the deals worked. Issue 15's target: the worklist captures at least 97% of "
        "the first oracle's expected good value, and the mean true p_regret of the deals it "
        "works is at most 0.01 above the second oracle's.",
        "",
    ]
    for n, frame in results.decisions.items():
        lines += [f"### {n:,} deals", "", *decision_lines(frame), ""]
    return lines


def real_lines(results: Results) -> list[str]:
    lines = ["## Real exports", ""]
    if results.real_skipped:
        lines += [results.real_skipped, ""]
    for name, frame in results.real.items():
        lines += [
            f"### {name}",
            "",
            "Shipped mapping, holdout as `walkaway train` makes it; no truth, so no ceiling.",
            "",
            *quality_lines(frame, ceiling=False),
            "",
        ]
    return lines


def parse_sections(text: str) -> list[str]:
    """Section names from a comma-separated list, in the order they run.

    Examples
    --------
    >>> parse_sections("reasons, flaml")
    ['flaml', 'reasons']
    >>> parse_sections("all") == list(SECTIONS)
    True
    """
    asked = {name.strip() for name in text.split(",") if name.strip()}
    if asked == {"all"}:
        return list(SECTIONS)
    unknown = asked - set(SECTIONS)
    if unknown or not asked:
        raise argparse.ArgumentTypeError(
            f"unknown section(s) {', '.join(sorted(unknown)) or '(none)'}; choose from "
            f"{', '.join(SECTIONS)} or all"
        )
    return [name for name in SECTIONS if name in asked]


def parser() -> argparse.ArgumentParser:
    sections = "\n".join(f"  {name:<12} {what}" for name, what in SECTIONS.items())
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.run",
        description=__doc__,
        epilog=f"sections (--sections, comma-separated; default all):\n{sections}",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--quick", action="store_true", help="small sizes, one run each")
    parser.add_argument(
        "--sections",
        type=parse_sections,
        default=list(SECTIONS),
        help="comma-separated sections to run (see below); default: all",
    )
    parser.add_argument(
        "--flaml-budget-real",
        type=float,
        help="FLAML's time budget in seconds on IBM's export (default 300; 10 with --quick)",
    )
    parser.add_argument(
        "--flaml-budget-synth",
        type=float,
        help="FLAML's time budget in seconds per head on synthetic deals (default 120; 10 with "
        "--quick)",
    )
    parser.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "RESULTS.md")
    return parser


def main(argv: list[str] | None = None) -> int:
    arguments = sys.argv[1:] if argv is None else argv
    options = parser().parse_args(arguments)
    sizes = QUICK if options.quick else DEFAULT
    budgets = {
        "flaml_budget_real": options.flaml_budget_real,
        "flaml_budget_synth": options.flaml_budget_synth,
    }
    sizes = dataclasses.replace(sizes, **{k: v for k, v in budgets.items() if v is not None})
    started = time.perf_counter()
    work = Path(tempfile.mkdtemp(prefix="walkaway-bench-"))
    env = {k: v for k, v in os.environ.items() if k != "MLFLOW_TRACKING_URI"}
    results = Results()
    trainings = Trainings(work, env)
    runs: dict[str, Callable[[], object]] = {
        "commands": lambda: bench_commands_and_explanations(sizes, work, env, results),
        "quality": lambda: bench_quality(sizes, trainings, results),
        "real": lambda: bench_real_data(trainings, results),
        "flaml": lambda: bench_flaml(sizes, trainings, results),
        "calibration": lambda: bench_calibration(sizes, trainings, results),
        "seeds": lambda: bench_seeds(sizes, trainings, results),
        "reasons": lambda: bench_reasons(sizes, work, env, results),
        "time": lambda: bench_time(sizes, work, results),
        "hostile": lambda: bench_hostile(sizes, work, results),
        "spark": lambda: bench_spark(sizes, work, results),
    }
    try:
        sources = walkaway_sources(env)
        for name in options.sections:
            section_started = time.perf_counter()
            runs[name]()
            results.minutes[name] = (time.perf_counter() - section_started) / 60
    finally:
        shutil.rmtree(work, ignore_errors=True)
    shown = " ".join(["python -m benchmarks.run", *arguments])
    shown = shown.replace(str(ROOT) + os.sep, "")
    minutes = (time.perf_counter() - started) / 60
    text = report(results, sizes, shown, minutes, work, sources)
    options.out.parent.mkdir(parents=True, exist_ok=True)
    options.out.write_text(text, encoding="utf-8")
    print(text)
    return 0


def bench_commands_and_explanations(
    sizes: Sizes, work: Path, env: dict[str, str], results: Results
) -> None:
    """The command steps, then explanation cost on their scoring model and export."""
    models = bench_commands(sizes, work, env, results)
    explained = min((n for n in sizes.score if n >= sizes.explain_rows), default=sizes.score[-1])
    bench_explanations(models, synthetic_export(explained, 3, work, env), sizes, results)


if __name__ == "__main__":
    sys.exit(main())
