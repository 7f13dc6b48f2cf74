"""Write docs/real-data.md: walkaway on the two public CRM exports in ../shared/data.

Run `make real-data` (or `python docs/make_real_data.py`). For each export: its data-quality
summary, the win head's holdout metrics against the logistic baseline and the base rate, its
calibration and sign importance (plots in docs/real-data/), and three example deals with their
reasons. IBM is trained on non-leaky fields only; the leakage guard is shown stopping a mapping
that forgets to declare the process columns. Maven's open deals are scored.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import pandas as pd
import yaml

from walkaway.analysis.plots import calibration_figure, sign_importance_figure
from walkaway.data.exports import load_history
from walkaway.data.mapping_files import shipped_mappings
from walkaway.data.quality import assess_export
from walkaway.errors import WalkawayError
from walkaway.model.training import train_and_evaluate
from walkaway.model.walkaway_model import WalkawayModel
from walkaway.serving.scoring import score_deals
from walkaway.signs import GROUPS

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT.parent / "shared" / "data"
OUT = ROOT / "docs" / "real-data.md"
PLOTS = ROOT / "docs" / "real-data"
EXPORTS = {
    "ibm-sales-win-loss": DATA / "ibm-sales-win-loss",
    "maven-crm": DATA / "maven-crm-opportunities",
}
METRIC_NAMES = {
    "roc_auc": "ROC AUC",
    "pr_auc": "PR AUC",
    "log_loss": "log loss",
    "brier": "Brier",
    "ece": "ECE",
}


def markdown(frame: pd.DataFrame, digits: int = 4) -> str:
    """A small table as Markdown (no extra dependency)."""
    head = "| " + " | ".join(map(str, frame.columns)) + " |"
    rule = "|" + "|".join("---" for _ in frame.columns) + "|"
    rows = [
        "| " + " | ".join(f"{v:.{digits}f}" if isinstance(v, float) else str(v) for v in row) + " |"
        for row in frame.itertuples(index=False)
    ]
    return "\n".join([head, rule, *rows])


def quality_lines(folder: Path) -> list[str]:
    report = assess_export(folder)
    dates = (
        f"created {report.first_created.date()} to {report.last_created.date()}"
        if report.first_created is not None
        else "no dates"
    )
    lines = [
        f"- {report.rows:,} rows: {report.closed:,} closed ({report.won:,} won, {report.lost:,} "
        f"lost), {report.open:,} open; {dates}",
        f"- {report.exact_duplicates:,} exact duplicate rows, {report.conflicting_duplicates:,} "
        f"rows sharing an id with different values; {len(report.problems):,} contract problems",
    ]
    leaks = report.suspected_leaks
    flagged = leaks[leaks["flagged"]] if "flagged" in leaks else leaks.iloc[0:0]
    for row in flagged.itertuples():
        lines.append(
            f"- suspected leak: '{row.export_column}' (single-column AUC {row.auc:.3f}"
            f"{', declared post_outcome' if row.post_outcome else ''})"
        )
    lines += [f"- {note}" for note in report.notes]
    return lines


def examples(scores: pd.DataFrame, deals: pd.DataFrame, count: int = 3) -> list[str]:
    """A few deals with their scores and reasons, one of each recommendation when possible."""
    varied = scores.groupby("recommendation", sort=False).head(1)
    picked = pd.concat([varied, scores.drop(varied.index)]).head(count)
    lines = []
    for index, row in picked.iterrows():
        lines.append(
            f"- **{row['deal_id']}** ({deals.loc[index, 'outcome']}): p_win {row['p_win']:.0%}, "
            f"p_good {row['p_good']:.0%} → **{row['recommendation']}** ({row['recommendation_reason']})"
        )
        for group in GROUPS:
            if row[f"reasons_{group}"]:
                lines.append(f"  - {group}: {row[f'reasons_{group}']}")
    return lines


def icp_line(
    model: WalkawayModel, open_deals: pd.DataFrame, moment: pd.Timestamp, scores: pd.DataFrame
) -> str:
    """How the ICP sign was computed for the open deals: firmographics from the accounts table."""
    raw = model.explain(open_deals, moment)["raw"]
    known = raw[["industry", "employees"]].notna().all(axis=1)
    return (
        f"ICP fit from the accounts table: {known.sum():,} of {len(raw):,} open deals have their "
        f"account's industry and head count ({raw.loc[known, 'industry'].nunique()} industries); "
        f"the ICP sign moves p_good by {scores['effect_icp_fit'].abs().mean():.2f} points on "
        "average (mean |effect|)."
    )


def section(name: str, folder: Path) -> list[str]:
    started = time.perf_counter()
    history = load_history(folder)
    result = train_and_evaluate(history)
    seconds = time.perf_counter() - started
    metrics = result.win.metrics().reset_index()
    metrics = metrics[["predictor", *METRIC_NAMES]].rename(columns=METRIC_NAMES)
    PLOTS.mkdir(parents=True, exist_ok=True)
    calibration_figure(result.calibration_curves()).savefig(
        PLOTS / f"{name}-calibration.png", dpi=100
    )
    sign_importance_figure(result.sign_importance()).savefig(PLOTS / f"{name}-signs.png", dpi=100)
    holdout = (
        "newest 20% of closed deals"
        if history.deals["closed_date"].notna().any()
        else ("a stratified random 20% of closed deals (the export has no dates)")
    )
    lines = [
        f"## {name}",
        "",
        f"Mapping `src/walkaway/mappings/{name}.yaml`; trained in {seconds:.0f} s.",
        "",
        "### Data quality (`walkaway validate`)",
        "",
        *quality_lines(folder),
        "",
        f"### Win head on the holdout ({holdout}, {len(result.win.y):,} deals)",
        "",
        markdown(metrics),
        "",
        *(f"- {note}" for note in result.notes),
        "",
        f"![calibration](real-data/{name}-calibration.png) ![signs](real-data/{name}-signs.png)",
        "",
        "Mean |effect on p_good| by sign (points): "
        + ", ".join(f"{g} {v:.1f}" for g, v in result.sign_importance().items()),
        "",
        "### Example holdout deals",
        "",
        *examples(
            score_deals(result.model, result.win.deals, result.win.deals["created_date"]),
            result.win.deals,
        ),
        "",
    ]
    open_deals = history.deal_frame()
    open_deals = open_deals[open_deals["outcome"].eq("open")]
    if len(open_deals):
        moment = (
            history.export_date if pd.notna(history.export_date) else pd.Timestamp.now().normalize()
        )
        scores = score_deals(result.model, open_deals, moment)
        mix = scores["recommendation"].value_counts().rename_axis("recommendation").reset_index()
        lines += [
            f"### Its open pipeline, scored as of {moment.date()} ({len(scores):,} deals)",
            "",
            markdown(mix),
            "",
            icp_line(result.model, open_deals, moment, scores),
            "",
            *examples(scores, open_deals),
            "",
        ]
    return lines


def forgotten_leak(folder: Path) -> list[str]:
    """The IBM mapping with its process columns mapped as ordinary features: the guard stops it."""
    document = yaml.safe_load(shipped_mappings()["ibm-sales-win-loss"].read_text(encoding="utf-8"))
    leaky = document.pop("post_outcome")
    document["tables"]["deals"]["features"].update({column: "deal_context" for column in leaky})
    path = PLOTS / "ibm-forgotten-leak.yaml"
    path.write_text(yaml.safe_dump(document, sort_keys=False), encoding="utf-8")
    try:
        train_and_evaluate(load_history(folder, path))
        outcome = "training went ahead (the guard did not fire)"
    except WalkawayError as error:
        outcome = f"training stopped: `{error}`"
    path.unlink()
    return [
        "### Leakage guard",
        "",
        "The IBM mapping with the seven process columns mapped as ordinary features instead of "
        f"post_outcome: {outcome}",
        "",
    ]


def main() -> int:
    if not DATA.is_dir():
        print(f"no public exports at {DATA}: nothing to report")
        return 1
    lines = [
        "# walkaway on real CRM exports",
        "",
        "Written by `make real-data` (`python docs/make_real_data.py`) from the public exports in "
        "`../shared/data` (see its README). Every figure below is computed by that command.",
        "",
        "Published references for IBM: ROC AUC about 0.74 on client, product and competitor fields; "
        "about 0.84 with the deal amount added (5-fold CV); about 0.90 with the leaky process "
        "columns. walkaway uses the non-leaky fields plus the amount.",
        "",
    ]
    for name, folder in EXPORTS.items():
        lines += section(name, folder)
        if name == "ibm-sales-win-loss":
            lines += forgotten_leak(folder)
    OUT.write_text("\n".join(lines), encoding="utf-8")
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    sys.exit(main())
