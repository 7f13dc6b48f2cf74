"""`walkaway monitor` at scale: six months of monthly scorings of a large synthetic world,
against the export six months on (issue 15).

A model is trained on a ``--world-deals`` synthetic world, which is then continued month by
month with ``--shift``, its pipeline scored as of each month's export date; ``walkaway monitor``
then reads every scored file against month 6, as a user runs it. (A model trained on a smaller
world of the same rules will not do: the sellers' and accounts' records grow with the world's
size, and it would be miscalibrated everywhere.) Printed (and written to ``--out``): scored rows, wall time and peak memory of the
monitor command, and its verdict::

    .venv/bin/python -m benchmarks.monitoring --world-deals 150000 --out benchmarks/MONITOR-issue-15.md
"""

from __future__ import annotations

import argparse
import json
import subprocess
import tempfile
from pathlib import Path

from benchmarks.run import ROOT, WALKAWAY, measure
from benchmarks.training_time import print_and_write, version_env


def run(args: list[str], env: dict[str, str]) -> None:
    done = subprocess.run([*WALKAWAY, *args], env=env, capture_output=True, text=True)
    if done.returncode != 0:
        raise RuntimeError(f"walkaway {args[0]} failed:\n{done.stderr}")


def monitor_at_scale(world_deals: int, shift: str, work: Path) -> list[str]:
    env = version_env(ROOT / "src")
    env.pop("MLFLOW_TRACKING_URI", None)
    models = work / "models"
    run(["synth", "--deals", str(world_deals), "--seed", "7", "--out", str(work / "month-0")], env)
    run(["train", "--history", str(work / "month-0"), "--models-dir", str(models)], env)
    scored = []
    for month in range(6):
        world = work / f"month-{month}"
        if month:
            previous = work / f"month-{month - 1}"
            options = ["--continue-from", str(previous), "--months", "1", "--out", str(world)]
            run(["synth", *options, *(["--shift", shift] if shift else [])], env)
        as_of = json.loads((world / "synth.json").read_text())["export_date"]
        out = work / f"scored-month-{month}.csv"
        options = ["--models-dir", str(models), "--as-of", as_of, "--out", str(out)]
        run(["score", "--deals", str(world / "pipeline.csv"), *options], env)
        scored.append(out)
    options = ["--continue-from", str(work / "month-5"), "--months", "1"]
    run(
        ["synth", *options, "--out", str(work / "month-6"), *(["--shift", shift] if shift else [])],
        env,
    )
    rows = sum(sum(1 for _ in path.open(encoding="utf-8")) - 1 for path in scored)
    command = [*WALKAWAY, "monitor", "--scored", *map(str, scored)]
    command += ["--history", str(work / "month-6"), "--report", str(work / "monitor.html")]
    timed = measure("monitor", command, repeat=1, env=env)
    verdict = next(
        (line for line in timed.output.splitlines() if line.startswith(("Drift:", "No drift:"))),
        "(no verdict printed)",
    )
    return [
        "# walkaway monitor at scale (issue 15)",
        "",
        f"Model trained on a {world_deals:,}-deal synthetic world (seed 7), then the world "
        f"continued month by month for 6 months{f' with --shift {shift}' if shift else ''}; "
        "its pipeline scored as of each month's export date (months 0-5); "
        "`walkaway monitor` on the 6 scored files against month 6.",
        "",
        "| scored rows | files | monitor wall time (s) | peak memory (MB) |",
        "|---:|---:|---:|---:|",
        f"| {rows:,} | {len(scored)} | {timed.seconds:.1f} | {timed.peak_mb:.0f} |",
        "",
        f"Verdict: {verdict}",
        "",
        "Rerun: `.venv/bin/python -m benchmarks.monitoring --world-deals "
        f"{world_deals}{f' --shift {shift}' if shift else ''}`",
    ]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--world-deals", type=int, default=150_000)
    parser.add_argument("--shift", default="rival:EMEA", help="'' for none")
    parser.add_argument("--out", type=Path, default=None)
    options = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as folder:
        lines = monitor_at_scale(options.world_deals, options.shift, Path(folder))
    print_and_write(lines, options.out)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
