"""walkaway benchmarks: `make bench` (or `python -m benchmarks.run [--quick]`).

Each command step runs the real command line in a fresh process, so its wall time and peak
memory (the process's maximum resident set size) are what a user gets. Explanation cost, model
quality and decision value run in this process, each comparing its contenders on one model and
one set of rows, side by side. Results go to benchmarks/RESULTS.md with the machine and the
exact commands; timings are medians of ``--repeat`` runs.
"""

from __future__ import annotations

import argparse
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

import numpy as np
import pandas as pd

from benchmarks.quality import decision_value_of, quality_table, train_with_peers

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


# The pyfunc holds every deal in memory at once; at a million deals use `walkaway score`.
DEFAULT = Sizes(
    repeat=3,
    synth=[1_000_000],
    train=[10_000, 100_000, 1_000_000],
    score=[10_000, 100_000, 1_000_000],
    pyfunc=[10_000, 100_000],
    explain_rows=20_000,
    quality=[20_000, 100_000],
)
QUICK = Sizes(
    repeat=1,
    synth=[20_000],
    train=[10_000],
    score=[10_000],
    pyfunc=[10_000],
    explain_rows=5_000,
    quality=[10_000],
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
        subprocess.run(args, check=True, env=env, stdout=subprocess.DEVNULL)
    return out


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
    from walkaway.contracts import to_wire
    from walkaway.exports import load_history

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
    for n in sizes.synth:
        args = [*WALKAWAY, "synth", "--deals", str(n), "--seed", "7", "--out", str(work / "s")]
        results.steps.append(measure(f"synth {n:,} deals", args, repeat_for(n, sizes), env))
        shutil.rmtree(work / "s")
    for n in sizes.train:
        export = synthesise(n, 11, work / f"export-{n}", env)
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
        export = synthesise(n, 3, work / f"score-export-{n}", env)
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

    from walkaway.exports import load_history
    from walkaway.registry import load_model

    model = load_model(models_dir=models).model
    deals = load_history(export).deal_frame().head(sizes.explain_rows)
    X = model._encode(model.featurise(deals, pd.Timestamp(AS_OF)))
    results.explanation_rows = len(X)
    for head in (model.win_head_, model.regret_head_):
        booster = head.booster
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


def bench_quality(sizes: Sizes, work: Path, env: dict[str, str], results: Results) -> None:
    """walkaway vs the ceiling, the peers and the baselines; decision value; same holdouts."""
    from walkaway.exports import load_history

    for n in sizes.quality:
        export = synthesise(n, 11, work / f"export-{n}", env)
        truth = pd.read_parquet(export / "truth.parquet")
        result = train_with_peers(load_history(export), truth)
        results.quality[n] = quality_table(result, PREDICTORS)
        results.attribution[n] = result.attribution or {}
        results.decisions[n] = decision_value_of(result, truth, WORK_SHARE)


def bench_real_data(results: Results) -> None:
    """walkaway vs the peers on the public exports in ../shared/data, when present."""
    from walkaway.exports import load_history

    missing = [str(p) for p in REAL_EXPORTS.values() if not p.is_dir()]
    if missing:
        results.real_skipped = f"skipped: {', '.join(missing)} not found (see DESIGN.md)"
        return
    for name, folder in REAL_EXPORTS.items():
        results.real[name] = quality_table(train_with_peers(load_history(folder)), PREDICTORS)


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
    lines = [
        "| strategy | deals worked | good wins | share of good wins captured | regrettable wins "
        "| share of regrettable wins avoided | expected good value won | value / no triage |",
        "|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for strategy, row in frame.iterrows():
        lines.append(
            f"| {strategy} | {row.deals_worked:,.0f} | {row.good_wins:,.0f} | "
            f"{row.good_wins_captured:.1%} | {row.regrettable_wins:,.0f} | "
            f"{row.regrettable_wins_avoided:.1%} | {row.expected_value_won:,.0f} | "
            f"{row.value_vs_no_triage:.2f} |"
        )
    return lines


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


def report(results: Results, sizes: Sizes, quick: bool, minutes: float, work: Path) -> str:
    command = f"python -m benchmarks.run{' --quick' if quick else ''}"
    lines = [
        "# walkaway benchmarks",
        "",
        f"Written by `{command}` (`make bench{'-quick' if quick else ''}`) in {minutes:.1f} "
        f"minutes. Command steps run in a fresh process each; times are medians of "
        f"{sizes.repeat} run(s)"
        f"{' (one run at 1,000,000 deals)' if max(sizes.train + sizes.score) >= 1_000_000 else ''}"
        "; peak memory is the process's maximum resident set size.",
        "",
        *machine(),
        "",
        "## Headline",
        "",
        *headline(results),
        "",
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
        "qualify, keep presence, walk away; highest p_good first within each), or the top deals "
        "by a single score. Without triage it works a random half, so it gets half of "
        "everything on average (computed exactly). Good and regrettable wins are the holdout's "
        "real outcomes (regret from the truth file, so wins too young to show it count too); "
        "expected good value is the sum of amount x true p_good over the deals worked.",
        "",
    ]
    for n, frame in results.decisions.items():
        lines += [f"### {n:,} deals", "", *decision_lines(frame), ""]
    lines += ["## Real exports", ""]
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


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="small sizes, one run each")
    parser.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "RESULTS.md")
    options = parser.parse_args(argv)
    sizes = QUICK if options.quick else DEFAULT
    started = time.perf_counter()
    work = Path(tempfile.mkdtemp(prefix="walkaway-bench-"))
    env = {k: v for k, v in os.environ.items() if k != "MLFLOW_TRACKING_URI"}
    results = Results()
    try:
        models = bench_commands(sizes, work, env, results)
        explained = min(
            (n for n in sizes.score if n >= sizes.explain_rows), default=sizes.score[-1]
        )
        bench_explanations(models, work / f"score-export-{explained}", sizes, results)
        bench_quality(sizes, work, env, results)
        bench_real_data(results)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    text = report(results, sizes, options.quick, (time.perf_counter() - started) / 60, work)
    options.out.parent.mkdir(parents=True, exist_ok=True)
    options.out.write_text(text, encoding="utf-8")
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
