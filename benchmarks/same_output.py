"""The demo, as `make demo` runs it, at an earlier commit and in this work tree: are the scores
the same? (issue 14: a restructure must change no output.)

Both run in temporary folders with this checkout's virtual environment; the earlier commit's
package is imported from a temporary git worktree. Compared: the scored pipeline row for row
apart from ``scored_at``, the rejects byte for byte, and ``walkaway train``'s printout with
paths, run ids and timings taken out::

    .venv/bin/python -m benchmarks.same_output --before 6d120d4
"""

from __future__ import annotations

import argparse
import re
import subprocess
import sys
import tempfile
from pathlib import Path

import pandas as pd

from benchmarks.run import ROOT, WALKAWAY
from benchmarks.training_time import checked_out, version_env

DEMO_DEALS, DEMO_SEED, AS_OF = 5_000, 7, "2025-12-31"


def demo(source: Path, out: Path) -> str:
    """Synth, train and score as `make demo` does, importing walkaway from ``source``;
    returns train's printout."""
    env = version_env(source)
    env.pop("MLFLOW_TRACKING_URI", None)
    crm, models = out / "crm", out / "models"

    def run(*args: str) -> str:
        done = subprocess.run([*WALKAWAY, *args], env=env, capture_output=True, text=True)
        if done.returncode != 0:
            raise RuntimeError(f"walkaway {args[0]} failed:\n{done.stderr}")
        return done.stdout

    run("synth", "--deals", str(DEMO_DEALS), "--seed", str(DEMO_SEED), "--out", str(crm))
    printed = run("train", "--history", str(crm), "--models-dir", str(models))
    run(
        *("score", "--deals", str(crm / "pipeline.csv"), "--out", str(out / "scored.csv")),
        *("--report", str(out / "report.html"), "--as-of", AS_OF, "--models-dir", str(models)),
    )
    return printed


def comparable(printed: str, out: Path) -> str:
    """Train's printout without what differs from run to run: paths, run ids, seconds."""
    printed = printed.replace(str(out), "<out>")
    printed = re.sub(r"MLflow run [0-9a-f]{32}", "MLflow run <id>", printed)
    return re.sub(r"\d+(\.\d+)? s\b", "<s> s", printed)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--before", required=True, help="the earlier commit")
    options = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="walkaway-same-") as folder:
        # checked_out puts the earlier commit's worktree in <folder>/before: outputs go apart.
        work = Path(folder) / "runs"
        with checked_out(options.before, Path(folder)) as source:
            before = comparable(demo(source, work / "before"), work / "before")
        after = comparable(demo(ROOT / "src", work / "after"), work / "after")
        scored = {
            side: pd.read_csv(work / side / "scored.csv", dtype=str, keep_default_na=False)
            for side in ("before", "after")
        }
        rejects = {side: (work / side / "scored.csv.rejects.csv").read_bytes() for side in scored}
        same_scores = (
            scored["before"]
            .drop(columns="scored_at")
            .equals(scored["after"].drop(columns="scored_at"))
        )
        lines = [
            f"The demo ({DEMO_DEALS:,} synthetic deals, seed {DEMO_SEED}) at {options.before} "
            "and in this work tree:",
            f"- scored deals: {len(scored['before']):,} and {len(scored['after']):,}; "
            f"identical apart from scored_at: {'yes' if same_scores else 'NO'}",
            f"- rejects identical: {'yes' if rejects['before'] == rejects['after'] else 'NO'}",
            f"- train's printout identical (paths, run ids, seconds aside): "
            f"{'yes' if before == after else 'NO'}",
        ]
    print("\n".join(lines))
    return 0 if same_scores and before == after else 1


if __name__ == "__main__":
    sys.exit(main())
