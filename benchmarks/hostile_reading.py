"""A pipeline with every 7th line broken, scored at several chunk sizes, and what the strict CSV
reader costs against pandas alone (issue 13).

The pipeline is a synthetic export's deals, all made open and repeated with fresh ids to
``--deals`` lines; every 7th line from line 70 (past the first 4 KB) is damaged in turn by each kind of ``DAMAGES`` (the kinds of
``tests/hostile/``). ``walkaway score`` runs on it at each ``--chunk-sizes``, as a user runs it;
each run must account for every line (read = scored + rejected), reject exactly the broken
lines, and score the rest exactly as the other runs do. `make bench` runs it as its hostile
section::

    .venv/bin/python -m benchmarks.hostile_reading --deals 100000 --chunk-sizes 1000,10000,100000
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import pandas as pd

from benchmarks.run import (
    AS_OF,
    ROOT,
    WALKAWAY,
    code_version,
    measure,
    open_pipeline,
    synthetic_export,
)
from benchmarks.training_time import print_and_write, version_env

EVERY = 7
# A NUL byte in a file's first 4 KB marks it binary (an Excel or Parquet file saved as .csv), and
# the whole file is refused: damage starts past it.
FIRST_DAMAGED = 70
DAMAGES = {
    "an extra field": lambda fields: [*fields, "extra"],
    "too few fields": lambda fields: fields[:5],
    "an unbalanced quote": lambda fields: [fields[0], '"' + fields[1], *fields[2:]],
    "a NUL byte": lambda fields: [fields[0] + "\x00", *fields[1:]],
    "an infinite amount": lambda fields: [*fields[:AMOUNT], "inf", *fields[AMOUNT + 1 :]],
}
AMOUNT = 5  # "Amount" in the synthetic export's header


def broken_pipeline(clean: Path, deals: int, out: Path, damage: bool = True) -> dict[int, str]:
    """Write ``deals`` lines from ``clean`` (repeated, ids made unique) with every 7th line
    damaged (unless not ``damage``); returns the damaged file lines and what was done to each."""
    lines = clean.read_text(encoding="utf-8").splitlines()
    header, body = lines[0], lines[1:]
    assert header.split(",")[AMOUNT] == "Amount", header
    kinds = list(DAMAGES)
    damaged: dict[int, str] = {}
    with out.open("w", encoding="utf-8", newline="") as file:
        file.write(header + "\n")
        for i in range(deals):
            line_number = i + 2  # the header is line 1
            fields = body[i % len(body)].split(",")
            fields[0] = f"D{i:08d}"
            if damage and line_number >= FIRST_DAMAGED and line_number % EVERY == 0:
                kind = kinds[(line_number // EVERY) % len(kinds)]
                fields = DAMAGES[kind](fields)
                damaged[line_number] = kind
            file.write(",".join(fields) + "\n")
    return damaged


def reading_seconds(pipeline: Path, repeat: int = 3) -> tuple[float, float]:
    """Median seconds to read the whole file with walkaway's reader and with pandas alone."""
    from walkaway.data.raw_files import read_table

    def median(work) -> float:
        times = []
        for _ in range(repeat):
            started = time.perf_counter()
            work()
            times.append(time.perf_counter() - started)
        return sorted(times)[len(times) // 2]

    ours = median(lambda: read_table(pipeline, malformed=[]))
    pandas = median(lambda: pd.read_csv(pipeline, dtype=str, keep_default_na=False))
    return ours, pandas


def run(deals: int, chunk_sizes: list[int], work: Path) -> list[str]:
    """The section's lines (Markdown), without a title."""
    env = version_env(ROOT / "src")
    env.pop("MLFLOW_TRACKING_URI", None)
    export = synthetic_export(10_000, 3, work, env)
    models = work / "hostile-models"
    train = [*WALKAWAY, "train", "--history", str(export), "--models-dir", str(models)]
    measure("train on 10,000 deals", train, 1, env)
    clean = work / "hostile-clean.csv"
    open_pipeline(export, clean)
    pipeline = work / f"hostile-{deals}.csv"
    damaged = broken_pipeline(clean, deals, pipeline)

    lines = [
        f"{deals:,} open deals; every {EVERY}th file line from line {FIRST_DAMAGED} "
        f"({len(damaged):,} lines) damaged in "
        f"turn with {', '.join(DAMAGES)}. Model: `walkaway train` on 10,000 synthetic deals.",
        "",
        "| chunk size | seconds | peak MB | lines read | scored | rejected | read = scored + "
        "rejected | rejected lines = damaged lines | scores as at the first chunk size |",
        "|---:|---:|---:|---:|---:|---:|:--|:--|:--|",
    ]
    first: pd.DataFrame | None = None
    for chunk_size in chunk_sizes:
        out = work / f"hostile-scored-{chunk_size}.csv"
        args = [
            *WALKAWAY,
            "score",
            *("--deals", str(pipeline), "--out", str(out), "--models-dir", str(models)),
            *("--as-of", AS_OF, "--chunk-size", str(chunk_size)),
        ]
        run = measure(f"score, chunk size {chunk_size:,}", args, 1, env)
        scored = pd.read_csv(out, dtype=str, keep_default_na=False).drop(columns="scored_at")
        rejects = pd.read_csv(out.with_name(out.name + ".rejects.csv"), dtype=str)
        rejected_lines = set(rejects["row"].astype(int))
        accounted = len(scored) + len(rejects) == deals
        same_lines = rejected_lines == set(damaged)
        same_scores = first is None or scored.equals(first)
        first = scored if first is None else first
        lines.append(
            f"| {chunk_size:,} | {run.seconds:.1f} | {run.peak_mb:,.0f} | {deals:,} | "
            f"{len(scored):,} | {len(rejects):,} | {'yes' if accounted else 'NO'} | "
            f"{'yes' if same_lines else 'NO'} | {'yes' if same_scores else 'NO'} |"
        )
    by_kind = pd.Series(damaged).value_counts()
    lines += ["", "Damaged lines by kind: " + ", ".join(f"{k} {v:,}" for k, v in by_kind.items())]

    undamaged = work / f"hostile-{deals}-undamaged.csv"
    broken_pipeline(clean, deals, undamaged, damage=False)
    ours, pandas = reading_seconds(undamaged)
    lines += [
        "",
        "## Reading cost",
        "",
        f"Reading the same {deals:,} lines undamaged, whole, median of 3 (every value as text):",
        "",
        "| reader | seconds | per 100,000 lines |",
        "|:--|---:|---:|",
        f"| `walkaway.data.raw_files.read_table` (strict lines, malformed set aside) | {ours:.2f} | "
        f"{ours / deals * 100_000:.2f} |",
        f"| `pandas.read_csv(dtype=str)` alone (stops at the first bad line) | {pandas:.2f} | "
        f"{pandas / deals * 100_000:.2f} |",
        "",
        f"pandas alone on the damaged pipeline: {pandas_reads(pipeline)}.",
    ]
    return lines


def pandas_reads(pipeline: Path) -> str:
    """What pandas alone does with the damaged file (for the note above)."""
    try:
        pd.read_csv(pipeline, dtype=str, keep_default_na=False)
    except Exception as error:  # noqa: BLE001 - the point is what it raises
        return f"{type(error).__name__}: {str(error).splitlines()[0]}"
    return "read without an error"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--deals", type=int, default=100_000)
    parser.add_argument(
        "--chunk-sizes",
        type=lambda text: [int(part) for part in text.split(",")],
        default=[1_000, 10_000, 100_000],
    )
    parser.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "HOSTILE-issue-13.md")
    options = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="walkaway-hostile-") as work:
        lines = run(options.deals, options.chunk_sizes, Path(work))
    title = [
        "# A pipeline with every 7th line broken, and the cost of strict reading",
        "",
        f"Written by `python -m benchmarks.hostile_reading --deals {options.deals} --chunk-sizes "
        f"{','.join(map(str, options.chunk_sizes))}` at {code_version()}.",
        "",
    ]
    print_and_write(title + lines, options.out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
