"""A CRM history in canonical form: deals, with the accounts and products they refer to."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from typing import TypedDict

import numpy as np
import pandas as pd

from walkaway.data.cell_values import normalise_category
from walkaway.data.contracts import ACCOUNT_COLUMNS, DEAL_COLUMNS, EXTRA_PREFIX
from walkaway.data.labels import label_deals
from walkaway.data.mapping import Mapping, RelatedTable
from walkaway.signs import day_text

ACCOUNT_FEATURE_COLUMNS = [c for c in ACCOUNT_COLUMNS if c not in ("account_id", "account_name")]
# How a deal's stage history is folded into one text value of the deals table.
EVENT_SEPARATOR = ";"
FIELD_SEPARATOR = "|"


class Fingerprint(TypedDict):
    """What identifies a history's data in a training run (see :meth:`History.fingerprint`)."""

    data_sha256: str
    data_rows: int
    data_first_created: str
    data_export_date: str
    data_won: int
    data_lost: int
    data_open: int
    data_accounts: int


@dataclass
class History:
    """Checked canonical tables of one export.

    ``deals`` is indexed by the source row; ``accounts`` and ``products`` are optional.
    """

    deals: pd.DataFrame
    accounts: pd.DataFrame | None
    products: pd.DataFrame | None
    mapping: Mapping
    source: str
    notes: list[str] = field(default_factory=list)  # what reading the export dropped, and why
    # Category column -> {compared value: the export's spelling}: reasons say "Product D".
    spellings: dict[str, dict[str, str]] = field(default_factory=dict)

    @property
    def export_date(self) -> pd.Timestamp:
        """The day the export was taken, as the labels are: the mapping's ``export_date`` when
        it sets one, else the latest real event in the export (a deal created, a closed deal's
        close, a churn). An open deal's close date is never an event: CRMs such as Salesforce
        hold the *expected* close there, often in the future, and counting it would make young
        wins look old enough for their regret to be known."""
        if self.mapping.export_date is not None:
            return self.mapping.export_date
        deals = self.deals
        closed = deals["outcome"].isin(["won", "lost"]) if "outcome" in deals else False
        events = [
            deals[column] if column != "closed_date" else deals[column].where(closed)
            for column in ("created_date", "closed_date", "churn_date")
            if column in deals
        ]
        known = [latest for latest in (e.max() for e in events) if pd.notna(latest)]
        return max(known).normalize() if known else pd.NaT

    def deal_frame(self) -> pd.DataFrame:
        """Deals with their account's firmographics joined on ``account_id`` (left join)."""
        return join_accounts(self.deals, self.accounts)

    def labelled(self) -> pd.DataFrame:
        """The deal frame with its labels (won, regret) under the mapping's regret horizon and
        rule, as of the export date (see :func:`walkaway.data.labels.label_deals`)."""
        mapping = self.mapping
        return label_deals(
            self.deal_frame(), self.export_date, mapping.regret_horizon_days, mapping.regret_rule
        )

    def catalogue(self) -> dict[str, str]:
        """Product -> its capabilities text, from the products table (empty without one)."""
        if self.products is None or "capabilities" not in self.products:
            return {}
        table = self.products.dropna(subset=["product"])
        return dict(zip(table["product"], table["capabilities"].fillna(""), strict=True))

    def list_prices(self) -> dict[str, float]:
        """Product -> list price, from the products table (empty without one)."""
        if self.products is None or "list_price" not in self.products:
            return {}
        table = self.products.dropna(subset=["product", "list_price"])
        return dict(zip(table["product"], table["list_price"].astype(float), strict=True))

    def fingerprint(self) -> Fingerprint:
        """What identifies this data in a training run: a content hash, size, dates, classes."""
        digest = hashlib.sha256()
        for frame in (self.deals, self.accounts, self.products):
            if frame is not None:
                digest.update(pd.util.hash_pandas_object(frame, index=False).to_numpy().tobytes())
        outcomes = self.deals["outcome"].value_counts()
        return {
            "data_sha256": digest.hexdigest()[:16],
            "data_rows": len(self.deals),
            "data_first_created": day_text(self.deals["created_date"].min()),
            "data_export_date": day_text(self.export_date),
            "data_won": int(outcomes.get("won", 0)),
            "data_lost": int(outcomes.get("lost", 0)),
            "data_open": int(outcomes.get("open", 0)),
            "data_accounts": 0 if self.accounts is None else len(self.accounts),
        }


def join_related(
    deals: pd.DataFrame, related: dict[str, tuple[RelatedTable, pd.DataFrame]]
) -> tuple[pd.DataFrame, list[str]]:
    """Join each related table's feature columns onto deals by its key; say which deals found
    no match (their features from that table stay empty).

    Examples
    --------
    >>> from walkaway.data.mapping import RelatedTable
    >>> teams = pd.DataFrame({"agent": ["Ann", "Bob"], "x_office": ["East", "West"]})
    >>> table = RelatedTable("teams.csv", key="agent", on="owner", features={"office": "deal_context"})
    >>> joined, notes = join_related(pd.DataFrame({"owner": ["ann", "zed"]}), {"teams": (table, teams)})
    >>> joined["x_office"].tolist(), notes
    (['East', nan], ["teams.csv: 1 of 2 deals have an owner it does not list (e.g. 'zed'): its features stay empty for them"])
    """
    notes = []
    for _name, (table, frame) in related.items():
        if table.on not in deals:
            continue
        kind = DEAL_COLUMNS[table.on].kind
        keys = (
            normalise_category(frame[table.key])
            if kind == "category"
            else frame[table.key].str.strip()
        )
        lookup = frame.drop(columns=[table.key]).assign(_key=keys).dropna(subset=["_key"])
        lookup = lookup.drop_duplicates("_key").set_index("_key")
        lookup = lookup.drop(columns=[c for c in lookup.columns if c in deals.columns])
        deals = deals.join(lookup, on=table.on)
        unmatched = deals[table.on].notna() & ~deals[table.on].isin(lookup.index)
        if unmatched.any():
            example = deals.loc[unmatched, table.on].iloc[0]
            notes.append(
                f"{table.file}: {int(unmatched.sum()):,} of {len(deals):,} deals have an "
                f"{table.on.replace('_', ' ')} it does not list (e.g. '{example}'): its features "
                "stay empty for them"
            )
    return deals, notes


def join_accounts(deals: pd.DataFrame, accounts: pd.DataFrame | None) -> pd.DataFrame:
    """Left-join account firmographics onto deals, keeping the deals' index and order.

    Examples
    --------
    >>> deals = pd.DataFrame({"deal_id": ["d1", "d2"], "account_id": ["a1", "zz"]}, index=[2, 3])
    >>> accounts = pd.DataFrame({"account_id": ["a1"], "industry": ["retail"]})
    >>> join_accounts(deals, accounts)[["deal_id", "industry"]]
      deal_id industry
    2      d1   retail
    3      d2      NaN
    """
    if accounts is None:
        return deals.copy()
    extras = [c for c in accounts.columns if c.startswith(EXTRA_PREFIX)]
    columns = (
        ["account_id"] + [c for c in ACCOUNT_FEATURE_COLUMNS if c in accounts.columns] + extras
    )
    firmographics = accounts[columns].drop_duplicates("account_id").set_index("account_id")
    firmographics = firmographics.drop(columns=[c for c in firmographics if c in deals.columns])
    return deals.join(firmographics, on="account_id")


def stage_history_text(history: pd.DataFrame) -> pd.Series:
    """Each deal's changes as one text value, by ``deal_id``: ``day|stage|expected close`` per
    change, oldest first, separated by ``;`` (the form the deals table carries them in, so that
    a deal's history travels with it: in batch chunks, on the wire, into a snapshot).

    Examples
    --------
    >>> history = pd.DataFrame({"deal_id": ["d1", "d1", "d2"],
    ...     "changed_date": pd.to_datetime(["2024-02-01", "2024-01-01", "2024-03-01"]),
    ...     "stage": ["Proposal", "Prospecting", None],
    ...     "expected_close_date": pd.to_datetime(["2024-04-01", "2024-03-01", None])})
    >>> stage_history_text(history).to_dict()
    {'d1': '2024-01-01|prospecting|2024-03-01;2024-02-01|proposal|2024-04-01', 'd2': '2024-03-01||'}
    """
    events = history.dropna(subset=["deal_id", "changed_date"])
    events = events.sort_values(["deal_id", "changed_date"], kind="stable")
    stage = events["stage"] if "stage" in events else pd.Series(np.nan, events.index)
    stage = normalise_category(stage).fillna("").astype(str)
    stage = stage.str.replace(FIELD_SEPARATOR, " ").str.replace(EVENT_SEPARATOR, " ")
    close = events.get("expected_close_date", pd.Series(pd.NaT, index=events.index))
    close_text = pd.to_datetime(close).dt.strftime("%Y-%m-%d").fillna("")
    text = (
        events["changed_date"].dt.strftime("%Y-%m-%d")
        + FIELD_SEPARATOR
        + stage
        + FIELD_SEPARATOR
        + close_text
    )
    return text.groupby(events["deal_id"].astype(str)).agg(EVENT_SEPARATOR.join)


def join_stage_history(
    deals: pd.DataFrame, history: pd.DataFrame | None, file: str = "deal_history"
) -> tuple[pd.DataFrame, list[str]]:
    """Deals with their ``stage_history`` (see :func:`stage_history_text`) from a checked
    deal-history table, and a note on its rows for deals the table of deals does not hold.

    Examples
    --------
    >>> history = pd.DataFrame({"deal_id": ["d1", "zz"], "changed_date": pd.to_datetime(
    ...     ["2024-01-01", "2024-01-01"]), "stage": ["Prospecting", "Closed Won"]})
    >>> joined, notes = join_stage_history(pd.DataFrame({"deal_id": ["d1", "d2"]}), history)
    >>> joined["stage_history"].tolist(), notes
    (['2024-01-01|prospecting|', nan], ["deal_history: 1 of 2 rows are for deals not in the deals table (e.g. 'zz'): left out"])
    """
    if history is None:
        return deals, []
    texts = stage_history_text(history)
    ids = deals["deal_id"].astype(str)
    joined = deals.assign(stage_history=ids.map(texts).astype(object))
    unknown = ~history["deal_id"].astype(str).isin(set(ids))
    notes = []
    if unknown.any():
        example = history.loc[unknown, "deal_id"].iloc[0]
        notes.append(
            f"{file}: {int(unknown.sum()):,} of {len(history):,} rows are for deals not in the "
            f"deals table (e.g. '{example}'): left out"
        )
    return joined, notes
