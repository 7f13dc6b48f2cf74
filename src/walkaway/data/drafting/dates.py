"""The deals' dates: which columns are created, closed and churn dates, and their one format.

The steps of :class:`walkaway.data.drafting.deals.DealsDrafter` that concern dates, as
functions of the drafter: a date column is found by its values and named by its words, the one
``strptime`` format is the one that reads them all (day-first against month-first is settled by
deals that would close before they were created), and blank or backwards dates become TODOs.
Kept apart because dates are the subtlest guess, and the one the contract is strictest about.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from walkaway.data.cell_values import DATE_FORMATS
from walkaway.data.contracts import ContractError
from walkaway.data.drafting.column_profile import ColumnProfile
from walkaway.data.drafting.vocabulary import (
    CLOSED_WORDS,
    CREATED_WORDS,
    LABEL_RULES,
    NOT_ACTUAL_CLOSE_WORDS,
    matches,
)
from walkaway.data.drafting.wording import listed
from walkaway.data.mapping_document import parse_mapping

if TYPE_CHECKING:
    from walkaway.data.drafting.deals import DealsDrafter


def find_dates(drafter: DealsDrafter) -> None:
    """Map the created, closed and churn dates and choose their format, or say there are none."""
    dated = [c for c in drafter.free() if c.dated]
    if not dated:
        drafter.undated = format_allows_undated()
        consequence = (
            "the draft says `dates: none`, so the export loads without them"
            if drafter.undated
            else "created_date and closed_date are required by the contract, so loading "
            "this export fails until dates are added"
        )
        (drafter.note if drafter.undated else drafter.todo)(
            f"no date columns: {consequence}. Without dates a time-ordered holdout (train "
            "on older deals, test on the newest) is not possible, nor can history features "
            "be counted point in time."
        )
        return
    roles: dict[str, ColumnProfile] = {}
    for canonical, words, avoid in (
        ("churn_date", LABEL_RULES[0][1], None),
        ("created_date", CREATED_WORDS, None),
        ("closed_date", CLOSED_WORDS, NOT_ACTUAL_CLOSE_WORDS),
    ):
        for column in dated:
            taken = column in roles.values()
            if taken or not matches(column.key, words):
                continue
            if avoid and matches(column.key, avoid):
                continue
            roles[canonical] = column
            break
    unnamed = [c for c in dated if c not in roles.values()]
    for canonical in ("created_date", "closed_date"):
        if canonical not in roles and unnamed:
            roles[canonical] = unnamed.pop(0)
            drafter.todo(
                f"'{roles[canonical].name}' was taken as {canonical} only because it holds "
                "dates and no column is named for it: check it."
            )
    drafter.date_format = choose_date_format(drafter, roles)
    for canonical, column in roles.items():
        drafter.columns[canonical] = column.name
        if canonical == "churn_date":
            drafter.post_outcome[column.name] = (
                f"'{column.name}' mapped to churn_date (a label of the regret head, never "
                "a feature) and listed as post_outcome."
            )
    if "closed_date" not in roles:
        find_empty_close_date(drafter)
    order = ("created_date", "closed_date", "churn_date")
    shown = ", ".join(f"{c} <- '{roles[c].name}'" for c in order if c in roles)
    drafter.note(f"dates: {shown}, read as {drafter.date_format}.")
    if unnamed:
        drafter.note(f"other date columns, not mapped: {listed(c.name for c in unnamed)}.")
    check_dates(drafter, roles)


def find_empty_close_date(drafter: DealsDrafter) -> None:
    """An export of open deals has a close date column with nothing in it yet."""
    for column in drafter.free():
        if column.n_filled or not matches(column.key, CLOSED_WORDS):
            continue
        if matches(column.key, NOT_ACTUAL_CLOSE_WORDS):
            continue
        drafter.columns["closed_date"] = column.name
        drafter.note(
            f"closed_date: '{column.name}', by its name: it is empty in the sample (open "
            "deals have no close date yet)."
        )
        return


def choose_date_format(drafter: DealsDrafter, roles: dict[str, ColumnProfile]) -> str:
    """The one format of the mapped date columns; doubts become findings."""
    chosen = [c for c in roles.values() if not c.typed_dates]
    if not chosen:
        return "%Y-%m-%d"  # typed dates only: the format is never used
    common = [f for f in DATE_FORMATS if all(f in c.full_date_formats for c in chosen)]
    if len(common) == 1:
        return common[0]
    if not common:
        fmt = max(
            DATE_FORMATS,
            key=lambda f: sum(c.date_shares.get(f, 0.0) * c.n_filled for c in chosen),
        )
        for column in chosen:
            bad = column.filled[column.dates(fmt)[column.filled.index].isna()]
            if len(bad):
                drafter.todo(
                    f"{len(bad):,} values of '{column.name}' do not read as {fmt} (e.g. "
                    f"{listed(bad.unique()[:3])}): the contract will reject their rows; "
                    "fix them in the export (one date format for all date columns)."
                )
        return fmt
    # Several formats read every value: dd/mm against mm/dd. A close before the creation
    # is impossible, so the reading with fewer of those wins; a tie keeps DATE_FORMATS order.
    created, closed = roles.get("created_date"), roles.get("closed_date")

    def backwards(fmt: str) -> int:
        if created is None or closed is None:
            return 0
        return int((closed.dates(fmt) < created.dates(fmt)).sum())

    fmt = min(common, key=lambda f: (backwards(f), common.index(f)))
    drafter.todo(
        f"the dates read equally as {' and '.join(common)} (no day above 12 in the "
        f"sample); chose {fmt} ({backwards(fmt):,} deals would close before they were "
        "created, against "
        + ", ".join(f"{backwards(f):,} with {f}" for f in common if f != fmt)
        + "). Check a date you know and change date_format if needed."
    )
    return fmt


def check_dates(drafter: DealsDrafter, roles: dict[str, ColumnProfile]) -> None:
    """TODOs for the rows the contract will reject: blank or backwards dates."""
    fmt = drafter.date_format
    assert fmt is not None
    created, closed = roles.get("created_date"), roles.get("closed_date")
    if created is not None and created.text.isna().any():
        blank = created.text.isna()
        drafter.todo(
            f"'{created.name}' (created_date) is empty in {int(blank.sum()):,} of "
            f"{drafter.sample.rows:,} rows{drafter.by_outcome(blank)}; the contract needs a "
            "creation date on every deal, so these rows will be rejected: fill them in the "
            "export, or drop them."
        )
    if closed is not None and drafter.outcomes is not None:
        undated = drafter.outcomes.isin(["won", "lost"]) & closed.text.isna()
        if undated.any():
            drafter.todo(
                f"'{closed.name}' (closed_date) is empty for {int(undated.sum()):,} won or "
                f"lost deals{drafter.by_outcome(undated)}; the contract needs a close date on "
                "closed deals, so these rows will be rejected."
            )
    if created is not None and closed is not None:
        backwards = closed.dates(fmt) < created.dates(fmt)
        if backwards.any():
            drafter.todo(
                f"{int(backwards.sum()):,} deals close before they were created (read as "
                f"{fmt}); the contract rejects them."
            )


def format_allows_undated() -> bool:
    """Whether this walkaway's mapping format can declare an export without dates
    (``dates: none``); older formats reject the key, and the draft then leaves it out."""
    probe = {"dates": "none", "tables": {"deals": {"columns": {"deal_id": "id"}}}}
    try:
        parse_mapping(probe)
    except ContractError:
        return False
    return True
