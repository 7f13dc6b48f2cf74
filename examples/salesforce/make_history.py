"""Write OpportunityHistory.csv beside Opportunity.csv: a made-up stage history in the layout of
Salesforce's OpportunityHistory object (one row per change of stage or close date).

Run from the repository root: ``.venv/bin/python examples/salesforce/make_history.py``. Seeded:
the same Opportunity.csv gives the same file. Each opportunity starts in Prospecting with a
close date 30 to 90 days out, moves through the default stages in order, and has its close
date pushed back by a month each time that date passes while it is still open; a closed one
ends with its final stage on its close date, an open one in its current stage.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

FOLDER = Path(__file__).resolve().parent
STAGES = (
    "Prospecting",
    "Qualification",
    "Needs Analysis",
    "Value Proposition",
    "Id. Decision Makers",
    "Perception Analysis",
    "Proposal/Price Quote",
    "Negotiation/Review",
)
EXPORT = pd.Timestamp("2025-03-04")  # the latest day in Opportunity.csv: its CloseDate max


def history_of(opportunity: pd.Series, rng: np.random.Generator) -> list[dict[str, object]]:
    created = pd.Timestamp(opportunity["CreatedDate"]).tz_localize(None)
    closed = opportunity["IsClosed"]
    end = pd.Timestamp(opportunity["CloseDate"]) if closed else EXPORT
    stage = opportunity["StageName"]
    last = STAGES.index(stage) if stage in STAGES else int(rng.integers(1, len(STAGES)))
    span = max((end - created).days, 1)
    entries = sorted(rng.uniform(0, span, last).round())  # days of the later stages' entries
    expected = created.normalize() + pd.Timedelta(days=int(rng.integers(30, 91)))
    changes = [(created, 0)] + [
        (created + pd.Timedelta(days=d), i + 1) for i, d in enumerate(entries)
    ]
    rows, slipped = [], expected
    for when, index in changes:
        while slipped < when.normalize() and slipped < end:  # the close date passed: push it
            rows.append(
                (slipped, STAGES[index - 1 if index else 0], slipped + pd.Timedelta(days=30))
            )
            slipped += pd.Timedelta(days=30)
        rows.append((when, STAGES[index], slipped))
    if closed:
        rows.append((end, stage, end))
    return [
        {
            "Id": "",
            "OpportunityId": opportunity["Id"],
            "CreatedDate": when.strftime("%Y-%m-%dT%H:%M:%S.000Z"),
            "StageName": name,
            "CloseDate": close.strftime("%Y-%m-%d"),
            "Amount": opportunity["Amount"],
        }
        for when, name, close in rows
    ]


def main() -> None:
    opportunities = pd.read_csv(FOLDER / "Opportunity.csv")
    rng = np.random.default_rng(11)
    rows = [row for _, o in opportunities.iterrows() for row in history_of(o, rng)]
    table = pd.DataFrame(rows)
    table["Id"] = [f"008Dn{n:013d}AAA" for n in range(len(table))]
    table.to_csv(FOLDER / "OpportunityHistory.csv", index=False, lineterminator="\n")
    print(f"wrote {len(table)} rows for {opportunities['Id'].nunique()} opportunities")


if __name__ == "__main__":
    main()
