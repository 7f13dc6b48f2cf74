"""Time-aware scoring against the age-blind model, on synthetic exports whose truth knows time.

Each export's open deals are scored at their age on the export date by the model `walkaway
train` registers (refit on every closed deal), once age-aware (landmark snapshots, the
default) and once blind to age (``WalkawayModel(age_aware=False)``: the model before issue
11). Both are compared with the true chance of winning given each deal's age
(``truth.parquet``) on the outcome every open deal eventually reaches (``won_eventually``:
known to the simulation, not to the export), overall and by age band; the training time and
peak memory of each are measured in a process of its own. A last section fits one booster on
the same snapshots with and without weights of one over each deal's number of snapshots, to
show what such weights do to p_win::

    .venv/bin/python -m benchmarks.time_aware --deals 20000,100000 --seeds 7 \\
        --out benchmarks/TIME-AWARE.md
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

from benchmarks.run import ROOT, code_version, measure, synthetic_export
from benchmarks.training_time import print_and_write, version_env

BANDS = ("0-30", "30-90", "over 90")


def open_deal_metrics(export: Path, age_aware: bool) -> dict[str, object]:
    """Train (as `walkaway train` does, without the registry) and score the export's open
    deals at their age on the export date; every figure the report needs, as a dict."""
    from walkaway.evaluation import expected_calibration_error, probability_metrics
    from walkaway.exports import load_history
    from walkaway.landmarks import age_band
    from walkaway.training import model_for, train_and_evaluate

    history = load_history(export)
    truth = pd.read_parquet(export / "truth.parquet").set_index("deal_id")
    started = time.perf_counter()
    result = train_and_evaluate(history, truth=None, model=model_for(history, age_aware=age_aware))
    seconds = time.perf_counter() - started
    deals = history.deal_frame()
    open_deals = deals[deals["outcome"].eq("open")]
    scored = result.model.predict_probabilities(open_deals, history.export_date)
    true = truth.loc[open_deals["deal_id"]]
    y = true["won_eventually"].astype(float).to_numpy()
    age = true["age_days"].to_numpy(dtype=float)
    bands = age_band(age).to_numpy()
    rows = {}
    for band in (*BANDS, "all"):
        mask = np.ones(len(y), dtype=bool) if band == "all" else bands == band
        model = probability_metrics(y[mask], scored["p_win"].to_numpy()[mask])
        ceiling = probability_metrics(y[mask], true["p_win"].to_numpy()[mask])
        rows[band] = {
            "deals": int(mask.sum()),
            "won": float(y[mask].mean()),
            "mean_p_win": float(scored["p_win"].to_numpy()[mask].mean()),
            "mean_truth": float(true["p_win"].to_numpy()[mask].mean()),
            "roc_auc": model["roc_auc"],
            "truth_roc_auc": ceiling["roc_auc"],
            "ece": expected_calibration_error(y[mask], scored["p_win"].to_numpy()[mask]),
            "truth_ece": expected_calibration_error(y[mask], true["p_win"].to_numpy()[mask]),
        }
    return {
        "seconds": seconds,
        "win_rows": int(result.model.snapshot_rows_),
        "closed": int(deals["outcome"].isin(["won", "lost"]).sum()),
        "learner": result.model.win_head_.shape,
        "open": rows,
    }


def weights_effect(export: Path) -> dict[str, dict[str, float]]:
    """One shallow booster on the training snapshots of every landmark, unweighted and with
    weights of one over the deal's snapshots: mean p_win and the mean true chance per age band
    of the win holdout's snapshots."""
    import lightgbm as lgb

    from walkaway.exports import load_history
    from walkaway.landmarks import LANDMARK_AGES, age_band, snapshots
    from walkaway.synth import p_win_at_age
    from walkaway.training import model_for, split_holdouts, win_backtest

    history = load_history(export)
    labelled = history.labelled()
    train, holdout, _ = split_holdouts(labelled[labelled["won"].notna()])
    model = model_for(history).fit(train)  # for its fitted features
    rows = snapshots(train, max_snapshots=len(LANDMARK_AGES))
    X = model.encoded_features(rows, rows["as_of"])
    per_deal = rows.groupby("deal_row")["deal_row"].transform("size").to_numpy()
    tested = win_backtest(holdout, holdout["closed_date"].min())
    X_tested = model.encoded_features(tested, tested["as_of"])
    truth = pd.read_parquet(export / "truth.parquet").set_index("deal_id")
    true = p_win_at_age(truth.loc[tested["deal_id"]], tested["snapshot_age"].to_numpy())
    params = {"objective": "binary", "num_leaves": 7, "learning_rate": 0.05, "verbose": -1}
    out = {}
    for name, weight in (("unweighted", None), ("one over snapshots", 1.0 / per_deal)):
        booster = lgb.train(params, lgb.Dataset(X, rows["won"], weight=weight), 300)
        p = booster.predict(X_tested)
        bands = age_band(tested["snapshot_age"]).to_numpy()
        out[name] = {band: float(p[bands == band].mean()) for band in BANDS}
    out["truth"] = {band: float(true[bands == band].mean()) for band in BANDS}
    return out


def worker(argv: list[str]) -> int:
    """``--worker EXPORT aware|blind|weights``: print one JSON line of figures."""
    export, what = Path(argv[0]), argv[1]
    figures = (
        weights_effect(export) if what == "weights" else open_deal_metrics(export, what == "aware")
    )
    print(json.dumps(figures))
    return 0


def run(deals: list[int], seeds: list[int], work: Path) -> list[str]:
    env = version_env(ROOT / "src")
    lines = [
        "# Time-aware scoring: open deals at their age, against the age-blind model",
        "",
        f"Code: {code_version()}. Command: `.venv/bin/python -m benchmarks.time_aware "
        f"--deals {','.join(map(str, deals))} --seeds {','.join(map(str, seeds))}`.",
        "",
        "Each synthetic export's open deals are scored at their age on the export date by the "
        "registered model (refit on every closed deal), age-aware (the default) and blind to "
        "age (`age_aware=False`, the model before issue 11), and compared with the true chance "
        "of winning given their age (the ceiling) on the outcome each eventually reaches "
        "(known to the simulation only). Gap = the model's ROC AUC minus the ceiling's. ECE: "
        "expected calibration error on those outcomes (10 equal-count bins).",
        "",
    ]
    weights = None
    for n in deals:
        for seed in seeds:
            export = synthetic_export(n, seed, work, env)
            runs = {}
            for what in ("aware", "blind"):
                args = [
                    sys.executable,
                    "-m",
                    "benchmarks.time_aware",
                    "--worker",
                    str(export),
                    what,
                ]
                measured = measure(f"{what} {n}", args, 1, env)
                runs[what] = (json.loads(measured.output.strip().splitlines()[-1]), measured)
            lines += section(n, seed, runs)
            if weights is None:
                args = [
                    sys.executable,
                    "-m",
                    "benchmarks.time_aware",
                    "--worker",
                    str(export),
                    "weights",
                ]
                weights = (
                    n,
                    seed,
                    json.loads(measure("weights", args, 1, env).output.strip().splitlines()[-1]),
                )
    if weights is not None:
        lines += weights_lines(*weights)
    return lines


def section(n: int, seed: int, runs: dict[str, tuple[dict, object]]) -> list[str]:
    aware, aware_run = runs["aware"]
    blind, blind_run = runs["blind"]
    rows = aware["open"]
    lines = [
        f"## {n:,} deals, seed {seed}: {rows['all']['deals']:,} open deals",
        "",
        "| age (days open) | open deals | won eventually | ceiling ROC AUC | age-aware ROC AUC "
        "(gap) | age-blind ROC AUC (gap) | age-aware ECE | age-blind ECE | ceiling ECE | "
        "mean p_win aware / blind / truth |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---|",
    ]
    for band in (*BANDS, "all"):
        a, b = rows[band], blind["open"][band]
        lines.append(
            f"| {band} | {a['deals']:,} | {a['won']:.3f} | {a['truth_roc_auc']:.4f} | "
            f"{a['roc_auc']:.4f} ({a['roc_auc'] - a['truth_roc_auc']:+.4f}) | "
            f"{b['roc_auc']:.4f} ({b['roc_auc'] - b['truth_roc_auc']:+.4f}) | {a['ece']:.4f} | "
            f"{b['ece']:.4f} | {a['truth_ece']:.4f} | {a['mean_p_win']:.3f} / "
            f"{b['mean_p_win']:.3f} / {a['mean_truth']:.3f} |"
        )
    lines += [
        "",
        f"Training (`train_and_evaluate`: choice, holdout evaluation and refit), each in a "
        f"process of its own: age-aware {aware_run.seconds:.0f} s, peak {aware_run.peak_mb:,.0f} "
        f"MB, win head on {aware['win_rows']:,} snapshot rows of {aware['closed']:,} closed "
        f"deals ({aware['win_rows'] / aware['closed']:.2f} per deal; learner "
        f"{aware['learner']}); age-blind {blind_run.seconds:.0f} s, peak "
        f"{blind_run.peak_mb:,.0f} MB, {blind['win_rows']:,} rows (learner {blind['learner']}).",
        "",
    ]
    return lines


def weights_lines(n: int, seed: int, weights: dict[str, dict[str, float]]) -> list[str]:
    lines = [
        f"## Weighting snapshots so that each deal counts once ({n:,} deals, seed {seed})",
        "",
        "One shallow booster (7 leaves, 300 trees) on the training deals' snapshots at every "
        "landmark, unweighted and weighted by one over the deal's number of snapshots; mean "
        "p_win over the win holdout's snapshots by age band, against the mean true chance. A "
        "deal's number of snapshots is its cycle length, which depends on its outcome, so the "
        "weights move p_win away from the truth; walkaway leaves snapshots unweighted and "
        "bounds them at 4 per deal instead.",
        "",
        "| age (days open) | truth | unweighted | one over snapshots |",
        "|---|---:|---:|---:|",
    ]
    for band in BANDS:
        lines.append(
            f"| {band} | {weights['truth'][band]:.3f} | {weights['unweighted'][band]:.3f} | "
            f"{weights['one over snapshots'][band]:.3f} |"
        )
    return [*lines, ""]


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv and argv[0] == "--worker":
        return worker(argv[1:])
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--deals", default="20000,100000")
    parser.add_argument("--seeds", default="7")
    parser.add_argument("--out", type=Path, default=None)
    parser.add_argument("--work", type=Path, default=None, help="Folder for the exports.")
    args = parser.parse_args(argv)
    deals = [int(n) for n in args.deals.split(",")]
    seeds = [int(s) for s in args.seeds.split(",")]
    with tempfile.TemporaryDirectory() as folder:
        lines = run(deals, seeds, args.work or Path(folder))
    print_and_write(lines, args.out)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
