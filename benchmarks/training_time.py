"""Training time of this work tree against an earlier commit, measured side by side.

`make bench` times training once per run, and a shared 2-core machine can be twice as slow in
one run as in another (even `walkaway synth`, which trains nothing, varies so). To compare two
versions of the code fairly, this runs `walkaway train` of each, alternately, on the same
synthetic exports in the same minutes, and reports the median times and their ratio::

    .venv/bin/python -m benchmarks.training_time --before b305430 --out /tmp/training-time.md

The earlier commit is checked out in a temporary git worktree and imported through PYTHONPATH;
the report prints where each side imported walkaway from, to prove it.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from benchmarks.run import (
    ROOT,
    WALKAWAY,
    code_version,
    machine,
    measure,
    synthetic_export,
    walkaway_sources,
)

SIZES = (10_000, 100_000, 1_000_000)


def version_env(source: Path) -> dict[str, str]:
    """An environment whose `python -m walkaway` imports walkaway from ``source``."""
    return {**os.environ, "PYTHONPATH": str(source), "PYTHONDONTWRITEBYTECODE": "1"}


def imported_from(env: dict[str, str]) -> str:
    """Where a `python` started with ``env`` imports walkaway from."""
    return walkaway_sources(env)[1]


@contextmanager
def checked_out(commit: str, work: Path) -> Iterator[Path]:
    """``commit`` in a temporary git worktree under ``work``: its ``src`` folder."""
    tree = work / "before"
    subprocess.run(["git", "worktree", "add", "--detach", str(tree), commit], cwd=ROOT, check=True)
    try:
        yield tree / "src"
    finally:
        subprocess.run(["git", "worktree", "remove", "--force", str(tree)], cwd=ROOT, check=False)


def print_and_write(lines: list[str], out: Path | None) -> None:
    text = "\n".join(lines) + "\n"
    print(text)
    if out:
        out.write_text(text, encoding="utf-8")


def compare(before: str, sizes: tuple[int, ...], rounds: int, work: Path) -> list[str]:
    """Alternate `walkaway train` of the earlier commit and of this work tree at each size."""
    with checked_out(before, work) as source:
        envs = {"before": version_env(source), "after": version_env(ROOT / "src")}
        lines = [
            "# Training time: before and after, side by side",
            "",
            f"Written by `python -m benchmarks.training_time --before {before}`.",
            "",
            *machine(),
            f"- After: this work tree, {code_version()}; walkaway imported from "
            f"`{imported_from(envs['after'])}`",
            f"- Before: commit {before}; walkaway imported from `{imported_from(envs['before'])}`",
            "",
            "| deals | runs each | before (s) | after (s) | after / before |",
            "|---:|---:|---:|---:|---:|",
        ]
        for n in sizes:
            export = synthetic_export(n, 11, work, envs["after"])
            times: dict[str, list[float]] = {"before": [], "after": []}
            repeat = 1 if n >= 1_000_000 else rounds
            for round_number in range(repeat):
                # Alternate who goes first, so a slow spell does not always hit the same side.
                order = ("before", "after") if round_number % 2 == 0 else ("after", "before")
                for side in order:
                    models = work / f"models-{side}-{n}"
                    args = [
                        *WALKAWAY,
                        "train",
                        "--history",
                        str(export),
                        "--models-dir",
                        str(models),
                    ]
                    run = measure(f"{side} {n}", args, 1, envs[side])
                    times[side].append(run.seconds)
                    print(f"{side} {n:,}: {run.seconds:.1f} s", flush=True)
            old, new = statistics.median(times["before"]), statistics.median(times["after"])
            lines.append(f"| {n:,} | {repeat} | {old:.1f} | {new:.1f} | {new / old:.2f} |")
        return lines


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--before", required=True, help="the earlier commit to compare with")
    parser.add_argument("--sizes", default=",".join(str(n) for n in SIZES))
    parser.add_argument("--rounds", type=int, default=2, help="runs per side below 1,000,000")
    parser.add_argument("--out", type=Path, help="also write the table to this file")
    args = parser.parse_args(argv)
    sizes = tuple(int(n) for n in args.sizes.split(","))
    with tempfile.TemporaryDirectory() as work:
        lines = compare(args.before, sizes, args.rounds, Path(work))
    print_and_write(lines, args.out)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
