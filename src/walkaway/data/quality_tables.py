"""A quality report as titled tables of text: what ``walkaway validate`` prints and notebook 01 shows."""

from __future__ import annotations

import pandas as pd

from walkaway.data.column_signal import LEAK_AUC
from walkaway.data.contracts import Problem
from walkaway.data.quality import QualityReport
from walkaway.signs import day_text


def quality_tables(report: QualityReport) -> list[tuple[str, pd.DataFrame]]:
    """Titled tables of a report, every cell already text, for a CLI to print.

    Returns the summary, the contract problems by column and rule (when there are any), the
    missing values of the mapped columns and the suspected leaks, in that order.
    """
    tables = [("Summary", _summary(report))]
    if report.problems:
        tables.append(("Contract problems by column and rule", _problem_summary(report.problems)))
    missing = report.missing.assign(
        missing=report.missing["missing"].map("{:,}".format),
        share=report.missing["share"].map("{:.1%}".format),
    )
    tables.append(("Missing values of the mapped columns", missing))
    leaks = report.suspected_leaks.assign(
        values=report.suspected_leaks["values"].map("{:,}".format),
        auc=report.suspected_leaks["auc"].map(_three_places),
        filled_auc=report.suspected_leaks["filled_auc"].map(_three_places),
        post_outcome=report.suspected_leaks["post_outcome"].map({True: "declared", False: ""}),
        flagged=report.suspected_leaks["flagged"].map({True: "yes", False: ""}),
    )
    tables.append(
        (f"Suspected leaks: one column alone, won vs lost (ROC AUC; leak >= {LEAK_AUC})", leaks)
    )
    return tables


def _three_places(value: float) -> str:
    return "" if pd.isna(value) else f"{value:.3f}"


def _summary(report: QualityReport) -> pd.DataFrame:
    won_share = f"; {report.won / report.closed:.1%} won" if report.closed else ""
    closed = f"{report.closed:,} ({report.won:,} / {report.lost:,}{won_share})"
    rows = [
        ("export", report.source),
        ("mapping", report.mapping),
        ("deal rows", f"{report.rows:,}"),
        ("rows breaking the contract", f"{report.rejected_rows:,}"),
        ("contract problems", f"{len(report.problems):,}"),
        ("closed deals (won / lost)", closed),
        ("open deals", f"{report.open:,}"),
        ("exact duplicate rows", f"{report.exact_duplicates:,}"),
        ("rows sharing a deal id, differing", f"{report.conflicting_duplicates:,}"),
        ("first created", day_text(report.first_created)),
        ("last created", day_text(report.last_created)),
        ("last closed", day_text(report.last_closed)),
    ]
    return pd.DataFrame(rows, columns=["measure", "value"])


def _problem_summary(problems: list[Problem]) -> pd.DataFrame:
    """Problems counted by column and rule, with the first row and value of each."""
    frame = pd.DataFrame(
        {
            "column": [p.column or "(whole row or file)" for p in problems],
            "rule": [p.rule for p in problems],
            "row": [p.row for p in problems],
            "value": ["" if p.value is None else p.value[:40] for p in problems],
        }
    )
    grouped = frame.groupby(["column", "rule"], sort=False)
    summary = grouped.agg(
        problems=("rule", "size"), first_row=("row", "first"), example=("value", "first")
    )
    summary = summary.sort_values("problems", ascending=False, kind="stable").reset_index()
    summary["problems"] = summary["problems"].map("{:,}".format)
    summary["first_row"] = summary["first_row"].map(lambda r: "" if pd.isna(r) else f"{int(r)}")
    return summary
