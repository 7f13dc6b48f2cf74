"""What ``walkaway explain`` and ``whatif`` take from a user: which deal, and which changes.

- :func:`find_deal` picks a deal out of a pipeline read as the batch job reads it
  (:func:`walkaway.serving.pipeline_reading.read_open_deals`), or says in one line why it cannot;
- :func:`parse_changes` reads ``column=value`` settings with the data contract's own parsers
  and rules (:func:`walkaway.data.contracts.parse_value`).

The deal and the changes then go to :mod:`walkaway.serving.one_deal`. Pure logic: no file is
read here.
"""

from __future__ import annotations

import difflib
from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from walkaway.data.contracts import (
    ACCOUNT_COLUMNS,
    DEAL_COLUMNS,
    EXTRA_PREFIX,
    LABEL_ONLY_COLUMNS,
    parse_value,
)
from walkaway.errors import WalkawayError

if TYPE_CHECKING:
    from walkaway.serving.pipeline_reading import OpenPipeline


# Columns a what-if cannot change, and why: they name the deal, or are not known before the
# close. (The account's firmographics can change: they are columns of the deal once joined.)
FIXED_COLUMNS = {
    "deal_id": "it names the deal: explain another deal instead",
    "account_id": "it names the account: explain a deal of that account instead",
    "outcome": "only open deals are scored",
    "stage_history": "it comes from the deal-history file",
    **{c: "it is known only after the close: never an input" for c in LABEL_ONLY_COLUMNS},
}


class DealNotFound(WalkawayError, LookupError):
    """The deal asked for is not an open deal of the pipeline file."""


class BadChange(WalkawayError, ValueError):
    """A what-if setting that names no column a deal has, or a value its column's rules
    refuse."""


def settable_columns() -> dict[str, str]:
    """Every canonical column a what-if can set, and its table (``deals`` or ``accounts``)."""
    columns = {c: "deals" for c in DEAL_COLUMNS if c not in FIXED_COLUMNS}
    columns.update({c: "accounts" for c in ACCOUNT_COLUMNS if c not in FIXED_COLUMNS})
    return columns


def parse_changes(settings: Sequence[str], deal: pd.DataFrame | None = None) -> dict[str, object]:
    """``column=value`` settings as canonical columns and typed values.

    Values are parsed and checked by the data contract's own parsers and rules (yes/no words,
    numbers with a decimal point, ISO dates, categories compared trimmed and lower-cased; an
    empty value is missing). A mapping's extra columns (``x_...``) that the deal carries are
    taken as written; without ``deal``, any ``x_...`` column is (to check settings before the
    deal is read).

    Raises
    ------
    BadChange
        A setting without ``=``, a column no deal has (with the nearest names), a column that
        cannot change (the deal's id, its outcome, a label), or a value its column's rules
        refuse; the message names the column and the rule.

    Examples
    --------
    >>> parse_changes(["decision_maker_access=yes", "competitor_count=1", "industry= Retail"])
    {'decision_maker_access': True, 'competitor_count': 1.0, 'industry': 'retail'}
    >>> parse_changes(["competitor_count=-2"])
    Traceback (most recent call last):
    ...
    walkaway.serving.deal_inputs.BadChange: --set competitor_count=-2: column 'competitor_count': must be >= 0
    >>> parse_changes(["competitors=2"])
    Traceback (most recent call last):
    ...
    walkaway.serving.deal_inputs.BadChange: --set competitors=2: unknown column 'competitors' (did you mean competitor_count?)
    """
    known = settable_columns()
    extras = [c for c in (deal.columns if deal is not None else []) if c.startswith(EXTRA_PREFIX)]
    any_extra = deal is None  # without the deal, which extras it carries is not known yet
    changes: dict[str, object] = {}
    for setting in settings:
        column, equals, text = setting.partition("=")
        column = column.strip()
        if not equals or not column:
            raise BadChange(
                f"--set {setting!r}: expected COLUMN=VALUE with a canonical column name, e.g. "
                "decision_maker_access=yes"
            )
        if column in FIXED_COLUMNS:
            raise BadChange(
                f"--set {setting}: column '{column}' cannot change: {FIXED_COLUMNS[column]}"
            )
        if column in extras or (any_extra and column.startswith(EXTRA_PREFIX)):
            changes[column] = text.strip() or np.nan  # extras are kept as written
            continue
        if column not in known:
            near = difflib.get_close_matches(column, [*known, *extras], n=3, cutoff=0.6)
            hint = (
                f"did you mean {' or '.join(near)}?"
                if near
                else f"canonical columns: {', '.join([*known, *extras])}"
            )
            raise BadChange(f"--set {setting}: unknown column '{column}' ({hint})")
        value, rule = parse_value(known[column], column, text)
        if rule:
            raise BadChange(f"--set {setting}: column '{column}': {rule}")
        changes[column] = value
    return changes


def find_deal(pipeline: OpenPipeline, deal_id: str, file: str) -> pd.DataFrame:
    """One open deal of a pipeline read by :func:`walkaway.serving.pipeline_reading.read_open_deals`, as
    a one-row frame.

    Raises
    ------
    DealNotFound
        No row holds the id, or its row was left out (a broken rule, a closed deal, a repeated
        id): one line naming the file, the row, the column and the rule.
    """
    wanted = str(deal_id).strip()
    deals = pipeline.deals
    found = deals[deals["deal_id"].astype(str) == wanted]
    if len(found):
        return found.head(1)
    rejects = pipeline.rejects
    left_out = rejects[rejects["deal_id"].map(lambda v: isinstance(v, str) and v.strip() == wanted)]
    if len(left_out):
        row = int(left_out["row"].iloc[0])
        broken = [p for p in pipeline.problems if p.row == row]
        more = f" (and {len(broken) - 1} more)" if len(broken) > 1 else ""
        first = str(broken[0]) if broken else f"{file}, row {row}: {left_out['reason'].iloc[0]}"
        raise DealNotFound(f"deal {wanted!r} cannot be scored: {first}{more}")
    column = pipeline.mapping.source_names("deals").get("deal_id", "deal_id")
    some = ", ".join(repr(str(d)) for d in deals["deal_id"].head(3))
    said = (
        f"; its {len(deals):,} open deals include {some}" if len(deals) else ": it has no open deal"
    )
    raise DealNotFound(f"{file}, column '{column}': no row holds deal id {wanted!r}{said}")
