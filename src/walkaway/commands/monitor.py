"""``walkaway monitor``: were past scores right, and has the live model drifted?"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.table import Table

from walkaway.terminal import HistoryOption, MappingOption, console

if TYPE_CHECKING:
    import pandas as pd


def _rate(value: float) -> str:
    return "–" if value != value else f"{value:.1%}"  # NaN is not equal to itself


def _metric(value: float | None) -> str:
    return "–" if value is None or value != value else f"{value:.3f}"


def outcomes_table(title: str, frame: pd.DataFrame, first: str) -> Table:
    """How each group's deals stand, and its wins observed against those expected by now."""
    table = Table(title=title)
    table.add_column(first)
    for column in ("scored", "won", "lost", "still open", "missing", "mean p_win"):
        table.add_column(column, justify="right")
    for column in ("wins expected by now", "won / expected", "z", "ROC AUC", "Brier"):
        table.add_column(column, justify="right")
    for row in frame.to_dict("records"):
        table.add_row(
            str(row[first]),
            f"{row['scored']:,}",
            f"{row['won']:,}",
            f"{row['lost']:,}",
            f"{row['still_open']:,}",
            f"{row['missing']:,}",
            _rate(row["mean_p_win"]),
            f"{row['expected_won']:,.1f}",
            _metric(row["won_ratio"]),
            f"{row['z']:+.1f}",
            _metric(row.get("roc_auc")),
            _metric(row.get("brier")),
        )
    return table


def recommendation_outcomes(frame: pd.DataFrame) -> Table:
    """What became of the deals given each recommendation."""
    table = Table(title="By recommendation")
    table.add_column("recommendation")
    for column in ("scored", "closed", "still open", "won", "win rate (closed)", "value won"):
        table.add_column(column, justify="right")
    table.add_column("wins matured", justify="right")
    table.add_column("regrettable", justify="right")
    for row in frame.to_dict("records"):
        table.add_row(
            str(row["recommendation"]),
            f"{row['scored']:,}",
            f"{row['closed']:,}",
            f"{row['still_open']:,}",
            f"{row['won']:,}",
            _rate(row["win_rate_closed"]),
            f"{row['value_won']:,.0f}",
            f"{row['wins_matured']:,}",
            f"{row['regrettable']:,}",
        )
    return table


def monitor(
    context: typer.Context,
    scored: Annotated[
        Path,
        typer.Option(
            "--scored",
            help="Past scored files of walkaway score (CSV or Parquet); name several after it.",
        ),
    ],
    history: HistoryOption,
    mapping: MappingOption = None,
    report: Annotated[
        Path | None, typer.Option(help="Also write the monitoring page (HTML) here.")
    ] = None,
) -> None:
    """Join past scored files with the outcomes of a newer export: were the scores right, and
    has the live model's calibration drifted?"""
    from walkaway.jobs import monitor_job

    files = [scored, *(Path(extra) for extra in context.args)]
    run = monitor_job(files, history, mapping=mapping, report=report)
    verdict = run.verdict
    console.print(
        f"Read {len(run.joined):,} scored rows from {len(files)} file(s) against {history} "
        f"(exported {run.export_date:%Y-%m-%d}) in {run.seconds:.1f} s"
    )
    console.print(outcomes_table("By model version", run.by_version, "model_version"))
    console.print(outcomes_table("By month of scoring", run.by_month, "scored_month"))
    console.print(recommendation_outcomes(run.by_recommendation))
    segments = verdict.segments
    if len(segments):
        flagged = segments[segments["drifted"]]
        shown = flagged if len(flagged) else segments.head(5)
        title = (
            "Segments past the threshold"
            if len(flagged)
            else "Segments furthest from a typical one (none past the threshold)"
        )
        labels = shown["cohort"] + ": " + shown["column"] + " = " + shown["value"].astype(str)
        console.print(outcomes_table(title, shown.assign(segment=labels), "segment"))
    style = "red" if verdict.drifted else "green"
    console.print(f"[{style}]{verdict.text}[/{style}]", soft_wrap=True)
    if run.report is not None:
        console.print(f"Report: {run.report}")
