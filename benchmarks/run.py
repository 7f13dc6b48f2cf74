"""walkaway benchmarks: run `make bench` (or `python benchmarks/run.py [--quick]`).

Each step runs the real command line in a fresh process, so its wall time and peak memory
(maximum resident set size of that process) are what a user gets. Results go to
benchmarks/RESULTS.md with the machine and the exact commands. Timings are medians of
``--repeat`` runs.
"""

from __future__ import annotations

import argparse
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from importlib.metadata import version
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
WALKAWAY = [sys.executable, "-m", "walkaway"]


@dataclass
class Measurement:
    name: str
    command: str
    seconds: float
    peak_mb: float
    note: str = ""


def measure(
    name: str, args: list[str], repeat: int, env: dict[str, str], note: str = ""
) -> Measurement:
    """Median wall time and the largest peak RSS of ``repeat`` runs of one command."""
    times, peaks = [], []
    for _ in range(repeat):
        with tempfile.TemporaryFile() as errors:
            started = time.perf_counter()
            process = subprocess.Popen(args, env=env, stdout=subprocess.DEVNULL, stderr=errors)
            _, status, usage = os.wait4(process.pid, 0)
            times.append(time.perf_counter() - started)
            peaks.append(usage.ru_maxrss / 1024)  # ru_maxrss is in kilobytes on Linux
            if os.waitstatus_to_exitcode(status) != 0:
                errors.seek(0)
                raise RuntimeError(f"{name} failed:\n{errors.read().decode()}")
    shown = " ".join(a if a != sys.executable else "python" for a in args)
    return Measurement(name, shown, statistics.median(times), max(peaks), note)


def machine() -> list[str]:
    cores = os.cpu_count()
    memory = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    packages = ", ".join(
        f"{p} {version(p)}"
        for p in ("pandas", "numpy", "lightgbm", "scikit-learn", "mlflow", "shap")
    )
    return [
        f"- Machine: {platform.machine()}, {cores} cores, {memory:.0f} GiB memory, {platform.system()}",
        f"- Python {platform.python_version()}; {packages}",
    ]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="small sizes, one run each")
    parser.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "RESULTS.md")
    options = parser.parse_args(argv)
    repeat = 1 if options.quick else 3
    synth_sizes = [100_000] if options.quick else [100_000, 1_000_000]
    train_sizes = [5_000] if options.quick else [5_000, 20_000]

    work = Path(tempfile.mkdtemp(prefix="walkaway-bench-"))
    env = {k: v for k, v in os.environ.items() if k != "MLFLOW_TRACKING_URI"}
    results: list[Measurement] = []
    try:
        for n in synth_sizes:
            out = work / f"synth-{n}"
            results.append(
                measure(
                    f"synth {n:,} deals",
                    [*WALKAWAY, "synth", "--deals", str(n), "--seed", "7", "--out", str(out)],
                    repeat,
                    env,
                )
            )
        for n in train_sizes:
            export = work / f"export-{n}"
            subprocess.run(
                [*WALKAWAY, "synth", "--deals", str(n), "--seed", "11", "--out", str(export)],
                check=True,
                env=env,
                stdout=subprocess.DEVNULL,
            )
            models = work / f"models-{n}"
            results.append(
                measure(
                    f"train {n:,} deals (both heads, baselines, MLflow run and registration)",
                    [*WALKAWAY, "train", "--history", str(export), "--models-dir", str(models)],
                    repeat,
                    env,
                )
            )
            open_deals = (
                sum(1 for line in (export / "deals.csv").open() if ",Closed " not in line) - 1
            )
            scored = measure(
                f"score the open deals of {n:,} ({open_deals:,} deals, CSV out)",
                [
                    *WALKAWAY,
                    "score",
                    "--deals",
                    str(export),
                    "--out",
                    str(work / f"scored-{n}.csv"),
                    "--models-dir",
                    str(models),
                    "--as-of",
                    "2025-12-31",
                ],
                repeat,
                env,
            )
            scored.note = f"{open_deals / scored.seconds:,.0f} open deals/s (whole command, export read included)"
            results.append(scored)
    finally:
        shutil.rmtree(work, ignore_errors=True)

    lines = [
        "# walkaway benchmarks",
        "",
        f"Written by `python benchmarks/run.py{' --quick' if options.quick else ''}` "
        f"(`make bench`{'-quick' if options.quick else ''}); median of {repeat} run(s) each, "
        "each run a fresh process. Peak memory is that process's maximum resident set size.",
        "",
        *machine(),
        "",
        "| step | median seconds | peak memory (MB) | note |",
        "|---|---:|---:|---|",
        *[f"| {m.name} | {m.seconds:.1f} | {m.peak_mb:,.0f} | {m.note} |" for m in results],
        "",
        "Commands (temporary folders shown as `<tmp>`):",
        "",
        *[f"- `{m.command.replace(str(work), '<tmp>')}`" for m in results],
        "",
    ]
    options.out.parent.mkdir(parents=True, exist_ok=True)
    options.out.write_text("\n".join(lines), encoding="utf-8")
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    sys.exit(main())
