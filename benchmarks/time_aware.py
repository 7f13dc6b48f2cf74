"""Time-aware scoring against the age-blind model, on synthetic exports whose truth knows time.

Each export's open deals are scored at their age on the export date by the model `walkaway
train` registers (refit on every closed deal), once age-aware (landmark snapshots, the
default) and once blind to age (``WalkawayModel(age_aware=False)``: the model before issue
11). Both are compared with the true chance of winning given each deal's age
(``truth.parquet``) on the outcome every open deal eventually reaches (``won_eventually``:
known to the simulation, not to the export), overall and by age band; the training time and
peak memory of each are measured in a process of its own. A last section fits one booster on
the same snapshots with and without weights of one over each deal's number of snapshots, to
show what such weights do to p_win; a last one, Maven's export (when ``../shared/data`` has it)
by age band with bootstrap intervals. `make bench` runs it as its time section::

    .venv/bin/python -m benchmarks.time_aware --deals 20000,100000 --seeds 7
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
from walkaway.model.landmarks import AGE_BAND_LABELS

BANDS = AGE_BAND_LABELS
MAVEN = ROOT.parent / "shared" / "data" / "maven-crm-opportunities"


def open_deal_metrics(export: Path, age_aware: bool) -> dict[str, object]:
    """Train (as `walkaway train` does, without the registry) and score the export's open
    deals at their age on the export date; every figure the report needs, as a dict."""
    from walkaway.data.exports import load_history
    from walkaway.model.evaluation import expected_calibration_error, probability_metrics
    from walkaway.model.landmarks import age_band
    from walkaway.model.training import model_for, train_and_evaluate

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
    """One shallow booster on the closed deals' snapshots at every landmark, unweighted and
    with weights of one over the deal's number of snapshots: per landmark, the share of its
    snapshots won and each booster's mean p_win on them (in sample: what each has learned the
    chance at that age to be)."""
    import lightgbm as lgb

    from walkaway.data.exports import load_history
    from walkaway.model.landmarks import LANDMARK_AGES, snapshots
    from walkaway.model.training import model_for

    history = load_history(export)
    labelled = history.labelled()
    closed = labelled[labelled["won"].notna()]
    model = model_for(history).fit(closed)  # for its fitted features
    rows = snapshots(closed, max_snapshots=len(LANDMARK_AGES))
    X = model.encoded_features(rows, rows["as_of"])
    per_deal = rows.groupby("deal_row")["deal_row"].transform("size").to_numpy()
    params = {"objective": "binary", "num_leaves": 7, "learning_rate": 0.05, "verbose": -1}
    ages = rows["snapshot_age"].to_numpy()
    out = {"won": {str(a): float(rows["won"][ages == a].mean()) for a in LANDMARK_AGES}}
    out["snapshots"] = {str(a): float((ages == a).sum()) for a in LANDMARK_AGES}
    for name, weight in (("unweighted", None), ("one over snapshots", 1.0 / per_deal)):
        booster = lgb.train(params, lgb.Dataset(X, rows["won"], weight=weight), 300)
        p = booster.predict(X)
        out[name] = {str(a): float(p[ages == a].mean()) for a in LANDMARK_AGES}
    return out


def real_export_metrics(export: Path) -> dict[str, object]:
    """A real export (no truth): the win holdout as `walkaway train` scores it, a backtest by
    age band, for the age-aware and the age-blind model, with a 95% bootstrap interval of
    each ROC AUC (deals resampled with all their snapshots)."""
    from walkaway.data.exports import load_history
    from walkaway.model.evaluation import bootstrap_auc, probability_metrics
    from walkaway.model.landmarks import age_band
    from walkaway.model.training import model_for, train_and_evaluate

    history = load_history(export)
    out: dict[str, object] = {}
    for name, aware in (("aware", True), ("blind", False)):
        result = train_and_evaluate(history, model=model_for(history, age_aware=aware))
        holdout = result.win
        bands = age_band(holdout.deals["snapshot_age"]).to_numpy()
        deal_of = holdout.deals["deal_row"].to_numpy()
        rows = {}
        for band in (*BANDS, "all"):
            mask = np.ones(len(holdout.y), dtype=bool) if band == "all" else bands == band
            p, y = holdout.predictions["walkaway"][mask], holdout.y[mask]
            low, high = bootstrap_auc(y, p, deal_of[mask])
            rows[band] = {
                "snapshots": int(mask.sum()),
                "deals": int(len(np.unique(deal_of[mask]))),
                "won": float(y.mean()),
                "roc_auc": float(probability_metrics(y, p)["roc_auc"]),
                "low": low,
                "high": high,
                "predicted_spread": float(np.std(p)),
            }
        out[name] = {
            "bands": rows,
            "learner": result.model.win_head_.shape,
            "note": result.model.win_head_.note,
            "holdout": result.holdout_summary(),
        }
    return out


def worker(argv: list[str]) -> int:
    """``--worker EXPORT aware|blind|weights|real``: print one JSON line of figures."""
    export, what = Path(argv[0]), argv[1]
    if what == "real":
        figures = real_export_metrics(export)
    elif what == "weights":
        figures = weights_effect(export)
    else:
        figures = open_deal_metrics(export, what == "aware")
    print(json.dumps(figures))
    return 0


def worker_figures(
    export: Path, what: str, env: dict[str, str]
) -> tuple[dict[str, object], object]:
    """Run ``--worker EXPORT WHAT`` in a process of its own: its figures and its measurement
    (wall time, peak memory)."""
    args = [sys.executable, "-m", "benchmarks.time_aware", "--worker", str(export), what]
    measured = measure(f"{what} {export.name}", args, 1, env)
    return json.loads(measured.output.strip().splitlines()[-1]), measured


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
            runs = {what: worker_figures(export, what, env) for what in ("aware", "blind")}
            lines += section(n, seed, runs)
            if weights is None:
                weights = (n, seed, worker_figures(export, "weights", env)[0])
    if weights is not None:
        lines += weights_lines(*weights)
    if MAVEN.is_dir():
        lines += maven_lines(worker_figures(MAVEN, "real", env)[0])
    return lines


def maven_lines(figures: dict[str, dict]) -> list[str]:
    aware, blind = figures["aware"], figures["blind"]
    lines = [
        "## Maven's export: the win holdout by age",
        "",
        "Maven's CRM export (`../shared/data/maven-crm-opportunities`), trained as `walkaway "
        "train` does. " + aware["holdout"] + ". No truth: ROC AUC on the outcomes, with a 95% "
        "bootstrap interval (1,000 resamples of deals, each with all its snapshots). Spread: "
        "the standard deviation of p_win over the snapshots (0 for a model predicting the base "
        "rate).",
        "",
        "| age (days open) | snapshots | deals | won | age-aware ROC AUC [95%] | spread | "
        "age-blind ROC AUC [95%] | spread |",
        "|---|---:|---:|---:|---|---:|---|---:|",
    ]
    for band in (*BANDS, "all"):
        a, b = aware["bands"][band], blind["bands"][band]
        lines.append(
            f"| {band} | {a['snapshots']:,} | {a['deals']:,} | {a['won']:.3f} | "
            f"{a['roc_auc']:.4f} [{a['low']:.4f}, {a['high']:.4f}] | "
            f"{a['predicted_spread']:.4f} | {b['roc_auc']:.4f} [{b['low']:.4f}, "
            f"{b['high']:.4f}] | {b['predicted_spread']:.4f} |"
        )
    blind_note = f" ({blind['note']})" if blind["note"] else ""
    lines += [
        "",
        f"Win head chosen: age-aware {aware['learner']}; age-blind {blind['learner']}{blind_note}.",
        "",
    ]
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
        "One shallow booster (7 leaves, 300 trees) on every closed deal's snapshots at every "
        "landmark, unweighted and weighted by one over the deal's number of snapshots; per "
        "landmark, the share of its snapshots won and each booster's mean p_win on them (in "
        "sample). A deal's number of snapshots is its cycle length, which depends on its "
        "outcome: the weights count quick deals more than slow ones, and so the quicker "
        "outcome (here the win) more than the other, at every age. walkaway leaves snapshots "
        "unweighted and bounds them at 4 per deal instead (creation and 3 landmarks drawn "
        "before the cycle is looked at).",
        "",
        "| landmark (days open) | snapshots | won | unweighted mean p_win | weighted mean p_win |",
        "|---|---:|---:|---:|---:|",
    ]
    for age in weights["won"]:
        lines.append(
            f"| {age} | {weights['snapshots'][age]:,.0f} | {weights['won'][age]:.3f} | "
            f"{weights['unweighted'][age]:.3f} | {weights['one over snapshots'][age]:.3f} |"
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
