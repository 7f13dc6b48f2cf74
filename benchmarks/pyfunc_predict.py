"""Score deals through the MLflow pyfunc, as a Python user would: for the benchmarks.

    python benchmarks/pyfunc_predict.py DEALS.parquet --models-dir DIR

DEALS.parquet holds canonical deals as plain text and numbers (the pyfunc's input contract,
with an ``as_of`` column). The champion is loaded with ``mlflow.pyfunc.load_model`` and
scores every deal in one ``predict`` call; the script prints the seconds spent loading and
predicting, which the benchmark shows next to ``walkaway score``.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import pandas as pd

from walkaway.serving.registry import load_model


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("deals", type=Path)
    parser.add_argument("--models-dir", type=Path, required=True)
    options = parser.parse_args(argv)
    started = time.perf_counter()
    wire = pd.read_parquet(options.deals)
    read = time.perf_counter()
    pyfunc = load_model(models_dir=options.models_dir).pyfunc
    loaded = time.perf_counter()
    scores = pyfunc.predict(wire)
    predicted = time.perf_counter()
    if len(scores) != len(wire) or not scores["p_win"].between(0, 1).all():
        print(f"the pyfunc returned {len(scores)} rows for {len(wire)} deals", file=sys.stderr)
        return 1
    print(
        f"Time: reading {read - started:.1f} s, loading the model {loaded - read:.1f} s, "
        f"predict {predicted - loaded:.1f} s"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
