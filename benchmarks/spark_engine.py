"""`walkaway score --engine spark` against the local job, on the same pipelines (issue 16).

A model is trained once on a synthetic world (``--train-deals``, seed 7); its open pipeline is
repeated with fresh deal ids to each ``--deals`` size, with every 7th line broken in turn in
each way of ``tests/hostile/`` (:func:`benchmarks.hostile_reading.broken_pipeline`). At each
size ``walkaway score`` runs as a user runs it, one run at a time: the local engine, then Spark
``local[2]``. Measured: wall time, deals per second (rows read / wall time), and the peak
resident memory of the process tree, sampled every 0.2 s: the driver (the walkaway Python
process), Spark's JVM, and the executors' Python workers. Checked: read = scored + rejected
for both, the scored files equal row for row apart from ``scored_at``, the rejects and drift
files byte for byte. `make bench` runs it as its spark section::

    .venv/bin/python -m benchmarks.spark_engine --deals 100000,1000000

With ``--compare PIPELINE --models-dir DIR``, it only checks that both engines give the same
outputs on an existing pipeline with an existing champion (a copy of the models folder is
used): after `make demo`, the demo pipeline::

    .venv/bin/python -m benchmarks.spark_engine --compare data/raw/synthetic-crm/pipeline.csv \
        --models-dir models
"""

from __future__ import annotations

import argparse
import filecmp
import importlib.util
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

import numpy as np
import pandas as pd

from benchmarks.hostile_reading import DAMAGES, EVERY, FIRST_DAMAGED, broken_pipeline
from benchmarks.run import AS_OF, ROOT, WALKAWAY, code_version, machine, time_breakdown
from benchmarks.training_time import print_and_write, version_env

MASTER = "local[2]"
SPARK_CORES = 2  # the cores `local[2]` runs tasks on
CHUNK_SIZE = 50_000  # walkaway score's default
SAMPLE_SECONDS = 0.2
STDERR_LINES = 8  # of each run's standard error, in the report
# The sizing note's cluster (extrapolated, not measured).
NODES, CORES_PER_NODE = 10, 8
READ_LINE = re.compile(r"Read ([\d,]+) rows of .*?: scored ([\d,]+), rejected ([\d,]+)")


@dataclass
class Run:
    """One `walkaway score` run: its time, counts and peak memory by group (MB)."""

    engine: str
    seconds: float
    read: int
    scored: int
    rejected: int
    peaks: dict[str, float]
    maxrss_mb: float  # the root process's ru_maxrss, as benchmarks.run.measure reports it
    breakdown: str  # the CLI's "Time:" line
    stderr: str
    problems: list[str] = field(default_factory=list)

    @property
    def deals_per_second(self) -> float:
        return self.read / self.seconds


def spark_missing() -> str:
    """Why the Spark engine cannot run here, or "" when it can."""
    if importlib.util.find_spec("pyspark") is None:
        return "pyspark is not installed"
    if shutil.which("java") is None:
        return "no Java runtime on PATH"
    return ""


def source_state() -> str:
    """The commit and a digest of src/'s uncommitted changes: equal before and after a run
    when nobody changed the code benchmarked meanwhile."""
    import hashlib

    digest = hashlib.sha256()
    for args in (["rev-parse", "HEAD"], ["diff", "HEAD", "--", "src"], ["status", "-s", "src"]):
        done = subprocess.run(["git", *args], cwd=ROOT, capture_output=True, check=False)
        digest.update(done.stdout)
    for path in sorted((ROOT / "src").rglob("*.py")):
        digest.update(str(path).encode() + path.read_bytes())
    return digest.hexdigest()


def java_version() -> str:
    try:
        printed = subprocess.run(["java", "-version"], capture_output=True, text=True, check=True)
    except (OSError, subprocess.CalledProcessError):
        return "unknown"
    return (printed.stderr.splitlines() or ["unknown"])[0].strip()


def tree_memory(root) -> dict[str, float]:  # noqa: ANN001 (a psutil.Process)
    """Resident memory now (bytes) of ``root`` and its descendants, by group: the driver (the
    root process), the JVM (java), Python workers (Python processes below the root) and other."""
    import psutil

    memory = {"driver": 0.0, "jvm": 0.0, "workers": 0.0, "other": 0.0}
    try:
        memory["driver"] = root.memory_info().rss
        children = root.children(recursive=True)
    except psutil.Error:
        return memory
    for child in children:
        try:
            name, rss = child.name(), child.memory_info().rss
        except psutil.Error:
            continue  # it ended between the listing and the reading
        group = "jvm" if name == "java" else "workers" if name.startswith("python") else "other"
        memory[group] += rss
    return memory


def sampled(args: list[str], env: dict[str, str], work: Path) -> tuple[float, dict, float, str]:
    """Run ``args``; its wall seconds, peak MB by group (each the largest sum of the group at
    one sample, and ``total`` the largest sum of all), the root's ru_maxrss in MB, and its
    standard output (standard error goes to ``work/stderr.txt``)."""
    import psutil

    peaks = {"driver": 0.0, "jvm": 0.0, "workers": 0.0, "other": 0.0, "total": 0.0}
    errors_path = work / "stderr.txt"
    with tempfile.TemporaryFile() as printed, errors_path.open("wb") as errors:
        started = time.perf_counter()
        process = subprocess.Popen(args, env=env, stdout=printed, stderr=errors, cwd=ROOT)
        root = psutil.Process(process.pid)
        while True:
            pid, status, usage = os.wait4(process.pid, os.WNOHANG)
            if pid:
                break
            now = tree_memory(root)
            for group, rss in now.items():
                peaks[group] = max(peaks[group], rss / 2**20)
            peaks["total"] = max(peaks["total"], sum(now.values()) / 2**20)
            time.sleep(SAMPLE_SECONDS)
        seconds = time.perf_counter() - started
        process.returncode = os.waitstatus_to_exitcode(status)
        if process.returncode != 0:
            raise RuntimeError(f"{' '.join(args[2:5])} failed:\n{errors_path.read_text()[-4000:]}")
        printed.seek(0)
        output = printed.read().decode()
    return seconds, peaks, usage.ru_maxrss / 1024, output


def score(
    engine: str, pipeline: Path, out: Path, models: Path, env: dict[str, str], work: Path
) -> Run:
    args = [
        *WALKAWAY,
        "score",
        *("--deals", str(pipeline), "--out", str(out), "--models-dir", str(models)),
        *("--as-of", AS_OF, "--chunk-size", str(CHUNK_SIZE)),
    ]
    if engine == "spark":
        args += ["--engine", "spark", "--spark-master", MASTER]
    seconds, peaks, maxrss, output = sampled(args, env, work)
    stderr = (work / "stderr.txt").read_text(errors="replace")
    found = READ_LINE.search(output)
    if found is None:
        raise RuntimeError(f"no 'Read N rows' line in walkaway score's output:\n{output}")
    read, scored, rejected = (int(group.replace(",", "")) for group in found.groups())
    return Run(
        engine, seconds, read, scored, rejected, peaks, maxrss, time_breakdown(output), stderr
    )


def first_difference(local: pd.DataFrame, spark: pd.DataFrame) -> str:
    """Where two scored files (as text, without scored_at) first differ."""
    if list(local.columns) != list(spark.columns):
        return f"columns differ: local {list(local.columns)}, spark {list(spark.columns)}"
    rows = min(len(local), len(spark))
    differs = local.iloc[:rows].to_numpy() != spark.iloc[:rows].to_numpy()
    if differs.any():
        row, column = np.argwhere(differs)[0]
        name = local.columns[column]
        return (
            f"first at data row {row} (deal {local.iloc[row, 0]}), column '{name}': "
            f"local {local.iloc[row, column]!r}, spark {spark.iloc[row, column]!r}; "
            f"{int(differs.any(axis=1).sum()):,} rows differ"
        )
    return f"row counts differ: local {len(local):,}, spark {len(spark):,}"


def first_line_difference(local: Path, spark: Path) -> str:
    with local.open(encoding="utf-8") as a, spark.open(encoding="utf-8") as b:
        for number, (x, y) in enumerate(zip(a, b, strict=False), start=1):
            if x != y:
                return f"first at line {number}: local {x.rstrip()!r}, spark {y.rstrip()!r}"
    return (
        f"one file is longer: local {local.stat().st_size:,} bytes, spark {spark.stat().st_size:,}"
    )


def differences(local: Path, spark: Path) -> list[str]:
    """How the Spark run's outputs differ from the local run's (none: identical)."""
    problems = []
    frames = [
        pd.read_csv(path, dtype=str, keep_default_na=False).drop(columns="scored_at")
        for path in (local, spark)
    ]
    if not frames[0].equals(frames[1]):
        problems.append("scored file: " + first_difference(*frames))
    del frames
    for suffix in (".rejects.csv", ".drift.csv"):
        ours, theirs = (path.with_name(path.name + suffix) for path in (local, spark))
        missing = [str(p.name) for p in (ours, theirs) if not p.exists()]
        if missing:
            problems.append(f"{suffix}: missing {', '.join(missing)}")
        elif not filecmp.cmp(ours, theirs, shallow=False):
            problems.append(f"{suffix}: " + first_line_difference(ours, theirs))
    return problems


def train(work: Path, train_deals: int, env: dict[str, str]) -> tuple[Path, Path]:
    """A synthetic world and a model trained on it: the world's folder and the models folder."""
    world, models = work / "world", work / "models"
    for args in (
        ["synth", "--deals", str(train_deals), "--seed", "7", "--out", str(world)],
        ["train", "--history", str(world), "--models-dir", str(models)],
    ):
        done = subprocess.run([*WALKAWAY, *args], env=env, capture_output=True, text=True, cwd=ROOT)
        if done.returncode != 0:
            raise RuntimeError(f"walkaway {args[0]} failed:\n{done.stderr}")
    return world, models


def seconds_by_step(breakdown: str) -> dict[str, float]:
    """The CLI's "Time:" line as seconds by step.

    >>> seconds_by_step("spark 27.2 s, assembling 8.1 s")
    {'spark': 27.2, 'assembling': 8.1}
    """
    return {
        step: float(seconds)
        for step, seconds in re.findall(r"([a-z][a-z ]*?) ([\d.]+) s", breakdown)
    }


def mb(value: float) -> str:
    return f"{value:,.0f}"


def run(sizes: list[int], work: Path, train_deals: int = 20_000) -> list[str]:
    """The section's lines (Markdown), without a title; every problem also printed to stderr."""
    env = version_env(ROOT / "src")
    env.pop("MLFLOW_TRACKING_URI", None)
    missing = spark_missing()
    if missing:
        return [f"Not run: {missing} (the Spark engine needs pyspark and a Java 17 runtime)."]
    world, models = train(work, train_deals, env)
    clean = world / "pipeline.csv"
    open_deals = sum(1 for _ in clean.open(encoding="utf-8")) - 1
    rows: list[str] = []
    notes: list[str] = []
    failures: list[str] = []
    results: dict[int, dict[str, Run]] = {}
    for deals in sizes:
        # Beside the world's deals, so the side tables (accounts, products) are found as
        # `walkaway score` finds them for the world's own pipeline.csv.
        pipeline = world / f"pipeline-{deals}.csv"
        damaged = broken_pipeline(clean, deals, pipeline)
        runs: dict[str, Run] = {}
        outs = {engine: work / f"scored-{deals}-{engine}.csv" for engine in ("local", "spark")}
        for engine, out in outs.items():
            runs[engine] = score(engine, pipeline, out, models, env, work)
            print(
                f"{deals:,} deals, {engine}: {runs[engine].seconds:.1f} s, "
                f"{runs[engine].deals_per_second:,.0f} deals/s",
                flush=True,
            )
        for engine, each in runs.items():
            if each.read != deals or each.scored + each.rejected != each.read:
                each.problems.append(
                    f"{engine}: read {each.read:,} of {deals:,} lines, scored {each.scored:,}, "
                    f"rejected {each.rejected:,}"
                )
            rejects = outs[engine].with_name(outs[engine].name + ".rejects.csv")
            if set(pd.read_csv(rejects, dtype=str)["row"].astype(int)) != set(damaged):
                each.problems.append(f"{engine}: the rejected rows are not the damaged lines")
        runs["spark"].problems += differences(outs["local"], outs["spark"])
        results[deals] = runs
        for engine, each in runs.items():
            failures += [f"{deals:,} deals: {problem}" for problem in each.problems]
            workers = each.peaks["workers"]
            same = "(reference)" if engine == "local" else "yes"
            if each.problems:
                same = "**NO**"
            rows.append(
                f"| {deals:,} | {engine if engine == 'local' else f'Spark `{MASTER}`'} | "
                f"{each.seconds:.1f} | {each.deals_per_second:,.0f} | "
                f"{each.deals_per_second / SPARK_CORES:,.0f} | {mb(each.peaks['driver'])} | "
                f"{mb(each.peaks['jvm']) if each.peaks['jvm'] else '-'} | "
                f"{mb(workers) if workers else '-'} | {mb(each.peaks['total'])} | {same} |"
            )
            notes.append(f"- {deals:,} deals, {engine}: {each.breakdown}")
            printed = [line.strip() for line in each.stderr.splitlines() if line.strip()]
            if printed:
                notes.append(f"  - standard error, {len(printed)} line(s); the first ones:")
                notes += [f"    `{line[:160]}`" for line in printed[:STDERR_LINES]]
        for path in work.glob(f"scored-{deals}-*"):
            path.unlink()
        pipeline.unlink()
    for failure in failures:
        print(f"FAIL: {failure}", file=sys.stderr, flush=True)

    largest = max(results)
    spark, local = results[largest]["spark"], results[largest]["local"]
    per_core = spark.deals_per_second / SPARK_CORES
    cores = NODES * CORES_PER_NODE
    per_hour = per_core * cores * 3600
    on_spark = seconds_by_step(spark.breakdown).get("spark", 0.0)
    serial = spark.seconds - on_spark
    bounded = serial + on_spark * SPARK_CORES / cores
    lines = [
        f"Model: `walkaway train` on a {train_deals:,}-deal synthetic world (seed 7). Pipeline: "
        f"that world's {open_deals:,} open deals (`pipeline.csv`) repeated with fresh ids to each "
        f"size, every {EVERY}th file line from line {FIRST_DAMAGED} broken in turn with "
        f"{', '.join(DAMAGES)} (`benchmarks.hostile_reading.broken_pipeline`). At each size "
        "`walkaway score --as-of 2025-12-31` runs with the local engine, then with "
        f"`--engine spark --spark-master '{MASTER}'`, one run at a time, at the default chunk size "
        f"({CHUNK_SIZE:,} rows: one Spark task per chunk).",
        "",
        "| deals | engine | wall s | deals/s | deals/s per core | peak driver MB | peak JVM MB | "
        "peak executors MB | peak total MB | identical outputs |",
        "|---:|:--|---:|---:|---:|---:|---:|---:|---:|:--|",
        *rows,
        "",
        "- Wall time is the whole command (Python start, model load, Spark start and stop); "
        "deals/s = rows read / wall time. Per core: the Spark runs use `local[2]`, 2 cores; the "
        "local engine scores on every core of this machine, also 2.",
        "- Memory: the resident set (RSS) of the process tree, sampled every "
        f"{SAMPLE_SECONDS} s, largest sample per group. Driver: the walkaway Python process. JVM: "
        "Spark's Java process, which in local mode is driver and executor at once. Executors: "
        "the Python workers Spark forks to run the tasks (the sum at one sample; forked "
        "workers share pages, which RSS counts once per process). Total: the largest sum of "
        "the whole tree at one sample. The local runs' ru_maxrss (what `benchmarks.run` "
        "reports): "
        + ", ".join(f"{n:,} deals {mb(r['local'].maxrss_mb)} MB" for n, r in results.items())
        + ".",
        "- Identical: read = scored + rejected in both runs, the rejected rows are the damaged "
        "lines, the scored files equal row for row as text apart from `scored_at`, "
        "`<out>.rejects.csv` and `<out>.drift.csv` byte for byte.",
        "- The machine is shared with other work (2 cores): timings are noisy, one run each.",
        *(
            [
                f"- Below {SPARK_CORES * CHUNK_SIZE:,} deals the file is one chunk, so one Spark "
                "task: one of the two cores scores."
            ]
            if min(results) < SPARK_CORES * CHUNK_SIZE
            else []
        ),
        "",
        *(
            ["**FAIL: outputs differ.**", "", *[f"- {failure}" for failure in failures], ""]
            if failures
            else []
        ),
        "Where the time went (the command's `Time:` line):",
        "",
        *notes,
        "",
        "## Sizing (extrapolated, not measured)",
        "",
        f"Measured: Spark `{MASTER}` scored {spark.deals_per_second:,.0f} deals/s at "
        f"{largest:,} deals, {per_core:,.0f} deals/s per core (the local engine: "
        f"{local.deals_per_second / SPARK_CORES:,.0f} per core).",
        "",
        f"Extrapolated, not measured: a {NODES}-node cluster of {CORES_PER_NODE} cores each "
        f"({cores} cores) at that rate would score about {per_hour / 1e6:,.0f} million deals an "
        "hour, assuming linear scaling, a shared file system that keeps up, and no bottleneck "
        f"on the driver. The driver does not scale, though: of the {spark.seconds:.0f} s at "
        f"{largest:,} deals, the Spark step took {on_spark:.0f} s; the rest ({serial:.0f} s: "
        "starting, staging the file, assembling the outputs, ranking, writing) is the driver's "
        f"alone. If only the Spark step sped up {cores // SPARK_CORES}-fold, a "
        f"{largest:,}-deal job would take about {bounded:.0f} s, about "
        f"{largest / bounded * 3600 / 1e6:,.1f} million deals an hour per job (also "
        "extrapolated, not measured).",
    ]
    return lines


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--deals",
        type=lambda text: [int(part) for part in text.split(",")],
        default=[100_000, 1_000_000],
    )
    parser.add_argument("--train-deals", type=int, default=20_000)
    parser.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "SPARK-issue-16.md")
    parser.add_argument("--compare", type=Path, help="only compare the engines on this pipeline")
    parser.add_argument("--models-dir", type=Path, default=ROOT / "models")
    options = parser.parse_args(argv)
    if options.compare is not None:
        return compare(options.compare, options.models_dir)
    before, state = code_version(), source_state()
    with tempfile.TemporaryDirectory(prefix="walkaway-spark-") as work:
        lines = run(options.deals, Path(work), options.train_deals)
    changed = (
        f" (**src/ changed during the run**: {code_version()} at its end)"
        if source_state() != state
        else ""
    )
    try:
        pyspark = f"pyspark {version('pyspark')}"
    except PackageNotFoundError:
        pyspark = "pyspark not installed"
    trained = f" --train-deals {options.train_deals}" if options.train_deals != 20_000 else ""
    title = [
        "# The Spark engine against the local job (issue 16)",
        "",
        f"Written by `python -m benchmarks.spark_engine --deals "
        f"{','.join(map(str, options.deals))}{trained}` at {before}{changed}.",
        "",
        *machine(),
        f"- {pyspark}; {java_version()}",
        "",
    ]
    print_and_write(title + lines, options.out)
    return 1 if any("FAIL" in line for line in lines) else 0


def compare(pipeline: Path, models_dir: Path) -> int:
    """Score ``pipeline`` with both engines and the champion of (a copy of) ``models_dir``;
    print what was read, scored and rejected, and whether the outputs are the same."""
    env = version_env(ROOT / "src")
    env.pop("MLFLOW_TRACKING_URI", None)
    with tempfile.TemporaryDirectory(prefix="walkaway-compare-") as folder:
        work = Path(folder)
        models = work / "models"
        shutil.copytree(models_dir, models)
        runs = {
            engine: score(engine, pipeline.resolve(), work / f"{engine}.csv", models, env, work)
            for engine in ("local", "spark")
        }
        problems = differences(work / "local.csv", work / "spark.csv")
    for engine, done in runs.items():
        print(
            f"{engine}: read {done.read:,}, scored {done.scored:,}, rejected {done.rejected:,} "
            f"in {done.seconds:.1f} s"
        )
    print(
        "identical outputs (scores apart from scored_at, rejects, drift): "
        + ("yes" if not problems else "NO, FAIL: " + "; ".join(problems))
    )
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
