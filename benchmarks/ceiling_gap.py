"""Each head's ROC AUC gap to the true probabilities, this work tree against an earlier commit,
over several synthetic seeds.

One seed's holdout is small for the regret head (about 870 matured wins at 20,000 deals, a
standard error near 0.015 ROC AUC), so a difference between two versions of the code on one
seed may be noise. This trains both versions on the same exports of several seeds and reports
the gap per seed and its mean, with the paired difference::

    .venv/bin/python -m benchmarks.ceiling_gap --before b305430 --deals 20000 --seeds 11,12,13

The earlier commit is checked out in a temporary git worktree and imported through PYTHONPATH.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np

from benchmarks.run import ROOT, code_version, synthetic_export
from benchmarks.training_time import checked_out, imported_from, print_and_write, version_env

# Runs in the process of either version: only APIs both have (train_and_evaluate with truth).
TRAIN = """
import json, sys
from pathlib import Path
import pandas as pd
from walkaway.data.exports import load_history
from walkaway.model.training import train_and_evaluate
export = Path(sys.argv[1])
result = train_and_evaluate(load_history(export), truth=pd.read_parquet(export / "truth.parquet"))
table = result.metrics_table()
gaps = {}
for head in ("win", "regret"):
    if (head, "walkaway") in table.index:
        gaps[head] = table.loc[(head, "walkaway"), "roc_auc"] - table.loc[(head, "truth"), "roc_auc"]
print(json.dumps(gaps))
"""


def gaps_of(env: dict[str, str], export: Path) -> dict[str, float]:
    printed = subprocess.run(
        [sys.executable, "-c", TRAIN, str(export)],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    return json.loads(printed.stdout.strip().splitlines()[-1])


def compare(before: str, deals: int, seeds: list[int], work: Path) -> list[str]:
    with checked_out(before, work) as source:
        envs = {"before": version_env(source), "after": version_env(ROOT / "src")}
        lines = [
            f"# ROC AUC gap to the ceiling, {deals:,} synthetic deals: before and after",
            "",
            f"Written by `python -m benchmarks.ceiling_gap --before {before} --deals {deals} "
            f"--seeds {','.join(map(str, seeds))}`.",
            "",
            f"- After: this work tree, {code_version()}; walkaway imported from "
            f"`{imported_from(envs['after'])}`",
            f"- Before: commit {before}; walkaway imported from `{imported_from(envs['before'])}`",
            "",
            "| seed | head | before | after | after - before |",
            "|---:|---|---:|---:|---:|",
        ]
        found: dict[str, dict[str, list[float]]] = {}
        for seed in seeds:
            export = synthetic_export(deals, seed, work, envs["after"])
            runs = {side: gaps_of(env, export) for side, env in envs.items()}
            for head in ("win", "regret"):
                if head not in runs["before"] or head not in runs["after"]:
                    continue
                old, new = runs["before"][head], runs["after"][head]
                found.setdefault(head, {"before": [], "after": []})
                found[head]["before"].append(old)
                found[head]["after"].append(new)
                lines.append(f"| {seed} | {head} | {old:+.4f} | {new:+.4f} | {new - old:+.4f} |")
                print(lines[-1], flush=True)
        lines.append("")
        for head, sides in found.items():
            difference = np.subtract(sides["after"], sides["before"])
            spread = difference.std(ddof=1) / np.sqrt(len(difference)) if len(difference) > 1 else 0
            lines.append(
                f"- {head} head: mean gap {np.mean(sides['before']):+.4f} before, "
                f"{np.mean(sides['after']):+.4f} after; mean paired difference "
                f"{difference.mean():+.4f} (standard error {spread:.4f}); after is no worse on "
                f"{int((difference >= 0).sum())} of {len(difference)} seeds"
            )
        return lines


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--before", required=True, help="the earlier commit to compare with")
    parser.add_argument("--deals", type=int, default=20_000)
    parser.add_argument("--seeds", default="11,12,13,14,15")
    parser.add_argument("--out", type=Path, help="also write the table to this file")
    args = parser.parse_args(argv)
    seeds = [int(seed) for seed in args.seeds.split(",")]
    with tempfile.TemporaryDirectory() as work:
        lines = compare(args.before, args.deals, seeds, Path(work))
    print_and_write(lines, args.out)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
