"""The accounts file and the product catalogue: their key, joined to the deals by values.

A side file's key is the column that holds most of the deals' account ids or product names
(compared as the contract compares them, products also letters only, so 'GTXPro' finds
'GTX Pro'); its other columns are mapped by name. The findings say how many deals find their
account or product, and near spellings get a value map on the deals' side.
"""

from __future__ import annotations

from typing import Any

import pandas as pd

from walkaway.data.contracts import TABLE_COLUMNS
from walkaway.data.drafting.column_profile import ColumnProfile, FileSample, fits
from walkaway.data.drafting.deals import DealsDrafter
from walkaway.data.drafting.vocabulary import (
    ACCOUNT_RULES,
    ACCOUNT_WORDS,
    OWNERSHIP_WORDS,
    PRODUCT_KEY_WORDS,
    PRODUCT_RULES,
    category,
    compact,
    matches,
)
from walkaway.data.drafting.wording import MAX_SHOWN, deal_count, listed

MAX_PARENT_VALUES = 200  # parent-company names turned into 'subsidiary' by a value map


def _claim(
    sample: FileSample,
    rules: tuple[tuple[str, str, str], ...],
    columns: dict[str, str],
    table: str,
    drafter: DealsDrafter,
) -> None:
    """Map the columns of an accounts or products file whose names and values fit the rules."""
    for canonical, words, kind in rules:
        for column in sample.columns.values():
            if column.name in columns.values() or not matches(column.key, words):
                continue
            if not column.n_filled:
                continue
            if column.name in drafter.post_outcome:  # one name, two files: never a feature
                drafter.note(
                    f"{sample.path.name}: '{column.name}' looks like {canonical} but the deals' "
                    "column of that name is post_outcome, and a mapping lists post_outcome "
                    "columns by name for all tables: left out."
                )
                break
            if not fits(column, kind):
                drafter.note(
                    f"{sample.path.name}: '{column.name}' looks like {canonical} but is not "
                    f"numeric ({listed(column.counts.index[:3])}): left out."
                )
                break
            columns[canonical] = column.name
            spec = TABLE_COLUMNS[table][canonical]
            if spec.minimum is not None and (column.numbers < spec.minimum).any():
                drafter.todo(
                    f"{sample.path.name}: {int((column.numbers < spec.minimum).sum()):,} values "
                    f"of '{column.name}' ({canonical}) are below {spec.minimum:g}: the contract "
                    "rejects their rows."
                )
            break


def _pick_key(
    sample: FileSample, deal_values: pd.Series | None, compare: Any, name_words: str
) -> tuple[ColumnProfile, float, float]:
    """The column of a side file whose values hold most of the deals' values.

    Returns the column, the share of deal rows and the share of distinct deal values found.
    """
    ranked = []
    for position, column in enumerate(sample.columns.values()):
        named = bool(matches(column.key, name_words))
        row_share = value_share = 0.0
        if deal_values is not None and len(deal_values) and column.n_filled:
            keys = {compare(v) for v in column.counts.index}
            found = deal_values.map(compare).isin(keys)
            row_share = float(found.mean())
            value_share = float(found.groupby(deal_values).first().mean())
        ranked.append((row_share, named, -position, column, value_share))
    best = max(ranked, key=lambda r: r[:3])
    return best[3], best[0], best[4]


def draft_accounts(sample: FileSample, drafter: DealsDrafter, file: str) -> dict[str, Any]:
    name = sample.path.name
    account_column = drafter.columns.get("account_id")
    deal_values = (
        drafter.sample.columns[account_column].filled if account_column is not None else None
    )
    key, row_share, value_share = _pick_key(sample, deal_values, str, ACCOUNT_WORDS + r"|id\b")
    columns: dict[str, str] = {"account_id": key.name}
    values: dict[str, dict[str, str]] = {}
    if deal_values is None:
        drafter.note(
            f"{name}: key '{key.name}' chosen by its name; the deals have no account column "
            "to match it with."
        )
    elif row_share == 0:
        drafter.todo(
            f"{name}: no column holds the deals' '{account_column}' values; '{key.name}' was "
            "taken as its key by its name. Deals will find no account facts until the ids match."
        )
    else:
        distinct = deal_values.nunique()
        drafter.note(
            f"{name}: key '{key.name}' matches the deals' '{account_column}': "
            f"{row_share:.0%} of the deals with an account find it "
            f"({round(value_share * distinct):,} of {distinct:,} distinct accounts)."
        )
        if row_share < 0.9:
            missing = deal_values[~deal_values.isin(set(key.counts.index))]
            drafter.todo(
                f"{name}: {1 - row_share:.0%} of the deals' accounts are not in it (e.g. "
                f"{listed(missing.unique()[:3])}); their deals are scored without account facts."
            )
    repeats = key.counts[key.counts > 1]
    if len(repeats):
        drafter.todo(
            f"{name}: {len(repeats):,} account ids repeat in '{key.name}' (e.g. "
            f"{listed(repeats.index[:3])}); the contract needs one row per account."
        )
    _claim(sample, ACCOUNT_RULES, columns, "accounts", drafter)
    revenue = columns.get("annual_revenue")
    if revenue is not None:
        median = float(sample.columns[revenue].numbers.median())
        if median < 100_000:
            drafter.note(
                f"{name}: '{revenue}' is small (median {median:,.0f}): probably in thousands "
                "or millions. The contract reads it as written, which is fine as long as every "
                "account uses the same unit."
            )
    ownership = columns.get("ownership")
    if ownership is not None:
        column = sample.columns[ownership]
        kinds = [v for v in column.counts.index if category(v) not in OWNERSHIP_WORDS]
        if matches(column.key, r"subsidiar|parent") and kinds:
            if len(kinds) <= MAX_PARENT_VALUES:
                values["ownership"] = {v: "subsidiary" for v in kinds}
                drafter.note(
                    f"{name}: '{ownership}' names a parent company: mapped to ownership with "
                    f"every parent ({len(kinds):,}) -> 'subsidiary'; accounts without a parent "
                    "stay empty (a value map cannot fill blanks)."
                )
            else:
                del columns["ownership"]
    drafter.left_out[name] = [c for c in sample.columns if c not in columns.values()]
    spec: dict[str, Any] = {"file": file, "columns": columns}
    if values:
        spec["values"] = values
    return spec


def draft_products(sample: FileSample, drafter: DealsDrafter, file: str) -> dict[str, Any]:
    name = sample.path.name
    product_column = drafter.columns.get("product")
    deal_values = (
        drafter.sample.columns[product_column].filled if product_column is not None else None
    )
    key, row_share, _ = _pick_key(sample, deal_values, compact, PRODUCT_KEY_WORDS)
    columns: dict[str, str] = {"product": key.name}
    if deal_values is None:
        drafter.note(
            f"{name}: key '{key.name}' chosen by its name; the deals have no product column "
            "to match it with."
        )
    else:
        _match_products(deal_values, key, drafter, name)
    repeats = key.counts.groupby(key.counts.index.map(category)).sum()
    if (repeats > 1).any():
        drafter.todo(
            f"{name}: {listed(repeats[repeats > 1].index)} appear more than once in "
            f"'{key.name}'; the contract needs one row per product."
        )
    _claim(sample, PRODUCT_RULES, columns, "products", drafter)
    drafter.left_out[name] = [c for c in sample.columns if c not in columns.values()]
    return {"file": file, "columns": columns}


def _match_products(
    deal_values: pd.Series, key: ColumnProfile, drafter: DealsDrafter, name: str
) -> None:
    """Report the deals' products missing from the catalogue; map the near spellings."""
    product_column = drafter.columns["product"]
    catalogue = {category(v): v for v in key.counts.index}
    by_letters = {compact(v): v for v in key.counts.index}
    rows = deal_values.value_counts(sort=False)
    near: dict[str, str] = {}
    missing: dict[str, int] = {}
    for value, n in rows.items():
        if category(value) in catalogue:
            continue
        if compact(value) in by_letters:
            near[value] = by_letters[compact(value)]
        else:
            missing[value] = missing.get(value, 0) + int(n)
    found = deal_values.map(lambda v: category(v) in catalogue).mean()
    drafter.note(
        f"{name}: key '{key.name}' matches the deals' '{product_column}': {found:.0%} of the "
        "deals' products are in it as written (compared trimmed and lower-case)."
    )
    if near:
        drafter.values["product"] = dict(near)
        pairs = ", ".join(f"'{k}' ({deal_count(int(rows[k]))}) -> '{v}'" for k, v in near.items())
        drafter.todo(
            f"the deals' '{product_column}' spells products differently from {name}: {pairs} "
            "(same letters once spaces and case are removed); a value map "
            "(tables.deals.values.product) now maps them: check it."
        )
    if missing:
        shown = ", ".join(f"'{k}' ({deal_count(n)})" for k, n in list(missing.items())[:MAX_SHOWN])
        drafter.todo(
            f"products of the deals' '{product_column}' not in {name}: {shown}; their deals "
            "get no capabilities or list price. Add them to the catalogue or a value map."
        )
