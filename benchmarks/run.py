"""walkaway benchmarks: `make bench` (or `python benchmarks/run.py [--quick]`).

Each command step runs the real command line in a fresh process, so its wall time and peak
memory (the process's maximum resident set size) are what a user gets. The explanation step
runs in this process on one model and one set of rows, so the methods are compared side by
side. Results go to benchmarks/RESULTS.md with the machine and the exact commands; timings are
medians of ``--repeat`` runs.
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
from dataclasses import dataclass
from importlib.metadata import version
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parent.parent
WALKAWAY = [sys.executable, "-m", "walkaway"]
AS_OF = "2025-12-31"


@dataclass
class Measurement:
    name: str
    command: str
    seconds: float
    peak_mb: float
    note: str = ""
    output: str = ""


def measure(name: str, args: list[str], repeat: int, env: dict[str, str]) -> Measurement:
    """Median wall time and the largest peak RSS of ``repeat`` runs of one command; the last
    run's standard output is kept."""
    times, peaks, output = [], [], ""
    for _ in range(repeat):
        with tempfile.TemporaryFile() as errors, tempfile.TemporaryFile() as printed:
            started = time.perf_counter()
            process = subprocess.Popen(args, env=env, stdout=printed, stderr=errors)
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


def explanation_costs(models: Path, export: Path, rows: int, repeat: int) -> list[str]:
    """Prediction alone vs LightGBM pred_contrib vs shap.TreeExplainer, same model and rows."""
    import shap

    from walkaway.exports import load_history
    from walkaway.registry import load_model

    model = load_model(models_dir=models).model
    deals = load_history(export).deal_frame().head(rows)
    X = model._encode(model.featurise(deals, pd.Timestamp(AS_OF)))
    lines = [
        f"Same model (both heads), same {len(X):,} rows; seconds are medians of {repeat} run(s).",
        "",
        "| head | trees | predict (s) | pred_contrib (s) | shap.TreeExplainer (s) | "
        "TreeExplainer / pred_contrib | pred_contrib / predict | max abs difference |",
        "|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for head in (model.win_head_, model.regret_head_):
        booster = head.booster
        predict = median_seconds(lambda b=booster: b.predict(X, raw_score=True), repeat)
        contrib = median_seconds(lambda b=booster: b.predict(X, pred_contrib=True), repeat)
        explainer = shap.TreeExplainer(booster)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            tree_shap = median_seconds(lambda e=explainer: e.shap_values(X), repeat)
            difference = np.abs(
                np.asarray(explainer.shap_values(X)) - booster.predict(X, pred_contrib=True)[:, :-1]
            ).max()
        lines.append(
            f"| {head.name} | {booster.num_trees()} | {predict:.3f} | {contrib:.3f} | "
            f"{tree_shap:.3f} | {tree_shap / contrib:.2f} | {contrib / predict:.1f} | "
            f"{difference:.1e} |"
        )
    lines += [
        "",
        "shap.TreeExplainer in its default mode (tree_path_dependent, no background data) hands a "
        "LightGBM model to LightGBM's own pred_contrib: the same numbers at the same cost. shap's "
        "own implementations (interventional, with background data) refuse models with "
        "categorical splits, which walkaway's heads have, so there is no faster or slower shap "
        "path to compare; walkaway calls pred_contrib directly and uses shap only for plots.",
    ]
    return lines


def time_breakdown(output: str) -> str:
    match = re.search(r"^Time: (.*)$", output, flags=re.MULTILINE)
    return match.group(1).strip().rstrip(",") if match else ""


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="small sizes, one run each")
    parser.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "RESULTS.md")
    options = parser.parse_args(argv)
    repeat = 1 if options.quick else 3
    synth_sizes = [100_000] if options.quick else [100_000, 1_000_000]
    train_sizes = [5_000] if options.quick else [5_000, 20_000]
    score_sizes = [20_000] if options.quick else [100_000, 1_000_000]

    work = Path(tempfile.mkdtemp(prefix="walkaway-bench-"))
    env = {k: v for k, v in os.environ.items() if k != "MLFLOW_TRACKING_URI"}
    steps: list[Measurement] = []
    scoring: list[Measurement] = []
    try:
        for n in synth_sizes:
            out = work / f"synth-{n}"
            args = [*WALKAWAY, "synth", "--deals", str(n), "--seed", "7", "--out", str(out)]
            steps.append(measure(f"synth {n:,} deals", args, repeat, env))
        for n in train_sizes:
            export = work / f"export-{n}"
            subprocess.run(
                [*WALKAWAY, "synth", "--deals", str(n), "--seed", "11", "--out", str(export)],
                check=True,
                env=env,
                stdout=subprocess.DEVNULL,
            )
            args = [
                *WALKAWAY,
                "train",
                "--history",
                str(export),
                "--models-dir",
                str(work / f"models-{n}"),
            ]
            steps.append(
                measure(f"train on {n:,} deals (both heads, baselines, MLflow)", args, repeat, env)
            )

        # Batch scoring with the demo-sized model (trained on 5,000 deals), as a user runs it.
        models = work / f"models-{train_sizes[0]}"
        for n in score_sizes:
            export = work / f"score-export-{n}"
            subprocess.run(
                [*WALKAWAY, "synth", "--deals", str(n), "--seed", "3", "--out", str(export)],
                check=True,
                env=env,
                stdout=subprocess.DEVNULL,
            )
            pipeline = work / f"pipeline-{n}.csv"
            rows = open_pipeline(export, pipeline)
            formats = [("csv", pipeline)]
            if n == score_sizes[0]:
                as_parquet = work / f"pipeline-{n}.parquet"
                pd.read_csv(pipeline, dtype=str, keep_default_na=False).to_parquet(
                    as_parquet, index=False
                )
                formats.append(("parquet", as_parquet))
            for kind, source in formats:
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
                    f"score {rows:,} open deals, {kind} in and out",
                    args,
                    1 if n >= 1_000_000 else repeat,
                    env,
                )
                run.note = (
                    f"{rows / run.seconds:,.0f} deals/s end to end; {time_breakdown(run.output)}"
                )
                scoring.append(run)
        explained = explanation_costs(
            models, work / f"score-export-{score_sizes[0]}", 20_000, repeat
        )
    finally:
        shutil.rmtree(work, ignore_errors=True)

    def table(rows: list[Measurement]) -> list[str]:
        return [
            "| step | median seconds | peak memory (MB) | note |",
            "|---|---:|---:|---|",
            *[f"| {m.name} | {m.seconds:.1f} | {m.peak_mb:,.0f} | {m.note} |" for m in rows],
        ]

    command = f"python benchmarks/run.py{' --quick' if options.quick else ''}"
    lines = [
        "# walkaway benchmarks",
        "",
        f"Written by `{command}` (`make bench{'-quick' if options.quick else ''}`). Each step "
        f"is a fresh process; times are medians of {repeat} run(s) (one run at 1,000,000 deals); "
        "peak memory is the process's maximum resident set size.",
        "",
        *machine(),
        "",
        "## Synthetic data and training",
        "",
        *table(steps),
        "",
        "## Batch scoring (`walkaway score`)",
        "",
        "Model trained on the demo-sized history (5,000 deals). Pipelines are synthetic exports "
        "with every deal open; the time includes starting Python, loading the model from MLflow, "
        "reading, checking, scoring, explaining and writing. The note splits the job's own time "
        "by step.",
        "",
        *table(scoring),
        "",
        "## Explanation cost",
        "",
        *explained,
        "",
        "## Commands",
        "",
        "Temporary folders are shown as `<tmp>`.",
        "",
        *[f"- `{m.command.replace(str(work), '<tmp>')}`" for m in [*steps, *scoring]],
        "",
    ]
    options.out.parent.mkdir(parents=True, exist_ok=True)
    options.out.write_text("\n".join(lines), encoding="utf-8")
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    sys.exit(main())
