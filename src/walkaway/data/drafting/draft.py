"""Drafting a mapping from an export's header and values: the engine of ``walkaway mapping init``.

A user with a new CRM export should not write a mapping (:mod:`walkaway.data.mapping`) from a blank
page. :func:`draft_mapping` reads the first rows of the deals file (and, when given, of an
accounts file and a product catalogue) as text, and guesses, column by column:

- the ids: the deal id is nearly unique and named like an id; the account id is named like an
  account, client or customer and repeats;
- the outcome: the column whose values look like stages or results, with a value map
  (``won`` when a value says won/win, ``lost`` when it says lost/loss, ``open`` otherwise);
- the dates and their one ``strptime`` format, the amount, and the columns known only after
  the close (``post_outcome``: by their name, or because they are 0 for every lost deal);
- the obvious sign columns (competitors, tender, product, region, seller, lead source, type),
  the account facts, and the product catalogue joined to the deals by overlapping values.

Every decision and every doubt becomes a finding in plain words, ``TODO:`` when the user must
act and ``NOTE:`` when the draft explains itself. The document always passes
:func:`walkaway.data.mapping_document.parse_mapping`; what the mapping format cannot express goes
to the findings, never to keys it would reject.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from walkaway.data.drafting.column_profile import FileSample
from walkaway.data.drafting.deals import DealsDrafter
from walkaway.data.drafting.side_tables import draft_accounts, draft_products
from walkaway.data.drafting.yaml_render import mapping_yaml
from walkaway.data.exports import read_dialect
from walkaway.data.mapping_document import parse_mapping

__all__ = ["MappingDraft", "draft_mapping"]


@dataclass
class MappingDraft:
    """A drafted mapping and what a reviewer should know about it.

    Attributes
    ----------
    document : dict
        A mapping document that :func:`walkaway.data.mapping_document.parse_mapping` accepts.
    findings : list of str
        One plain-words note per decision or doubt: ``TODO: ...`` when the user must act
        before training, ``NOTE: ...`` when the draft explains a decision.
    """

    document: dict[str, Any]
    findings: list[str] = field(default_factory=list)

    def to_yaml(self) -> str:
        """The mapping as YAML, headed by a comment block listing the findings.

        Keys come in a readable order (name, description, date_format, post_outcome, regret,
        tables; in each table file, columns, values), so the file reads top to bottom.

        Examples
        --------
        >>> draft = MappingDraft({"name": "x", "tables": {"deals": {"file": "d.csv",
        ...     "columns": {"deal_id": "Id"}}}}, ["TODO: map the dates."])
        >>> print(draft.to_yaml())  # doctest: +ELLIPSIS
        # Mapping drafted by `walkaway mapping init`. Review it before training:
        ...
        # TODO: map the dates.
        <BLANKLINE>
        name: x
        tables:
          deals:
            file: d.csv
            columns:
              deal_id: Id
        <BLANKLINE>
        """
        return mapping_yaml(self.document, self.findings)


def draft_mapping(
    deals: Path,
    accounts: Path | None = None,
    products: Path | None = None,
    sample_rows: int = 20_000,
) -> MappingDraft:
    """Draft a mapping from a deals export (and optional accounts and products files).

    Parameters
    ----------
    deals : Path
        The deals file (CSV, ``.csv.gz`` or Parquet).
    accounts : Path, optional
        A file of account facts (industry, employees, revenue, year founded, ownership).
    products : Path, optional
        A product catalogue (product name, capabilities, list price, description).
    sample_rows : int
        How many rows of each file to read; the guesses and the counts in the findings are
        about these rows.

    Returns
    -------
    MappingDraft
        The document (accepted by :func:`walkaway.data.mapping_document.parse_mapping`) and the
        findings, ``TODO`` first.

    Raises
    ------
    ContractError
        When a file cannot be read (its message names the file and the reason).
    ValueError
        When ``sample_rows`` is not positive.
    """
    if sample_rows < 1:
        raise ValueError(f"sample_rows must be at least 1, got {sample_rows}")
    deals = Path(deals)
    drafter = DealsDrafter(FileSample.read(deals, sample_rows))
    drafter.draft()
    side_tables: dict[str, dict[str, Any]] = {}
    if accounts is not None:
        accounts = Path(accounts)
        side_tables["accounts"] = draft_accounts(
            FileSample.read(accounts, sample_rows), drafter, _relative_file(accounts, deals)
        )
    if products is not None:
        products = Path(products)
        side_tables["products"] = draft_products(
            FileSample.read(products, sample_rows), drafter, _relative_file(products, deals)
        )
    # The deals' spec comes last: matching the products can add a value map to it.
    tables = {"deals": drafter.table_spec(deals.name), **side_tables}
    drafter.report_missing_required(tables)
    drafter.report_left_out()
    drafter.report_files_beside(deals, [p for p in (accounts, products) if p is not None])

    document: dict[str, Any] = {
        "name": _slug(deals),
        "description": (
            f"Drafted by `walkaway mapping init` from the first {sample_rows:,} rows of "
            f"{deals.name}."
        ),
    }
    dialect = read_dialect(deals)  # as detected: written down, so a reviewer sees it
    if dialect.delimiter != ",":
        document["delimiter"] = dialect.delimiter
    if dialect.decimal != ".":
        document["decimal"] = dialect.decimal
    drafter.findings += [f"NOTE: {note}." for note in dialect.notes]
    if drafter.date_format is not None:
        document["date_format"] = drafter.date_format
    if drafter.undated:
        document["dates"] = "none"
    if drafter.post_outcome:
        document["post_outcome"] = list(drafter.post_outcome)
    document["regret"] = {"horizon_days": 365}
    document["tables"] = tables
    parse_mapping(document, source=f"draft of {deals.name}")  # the draft must always be valid
    findings = [f for f in drafter.findings if f.startswith("TODO")]
    findings += [f for f in drafter.findings if not f.startswith("TODO")]
    return MappingDraft(document=document, findings=findings)


def _slug(path: Path) -> str:
    stem = path.name
    for suffix in (".gz", ".csv", ".parquet", ".pq", ".txt"):
        stem = stem.removesuffix(suffix)
    return re.sub(r"[^a-z0-9]+", "-", stem.lower()).strip("-") or "my-crm"


def _relative_file(path: Path, deals: Path) -> str:
    """The file name as the mapping gives it: relative to the deals file's folder."""
    relative = os.path.relpath(path.resolve(), deals.resolve().parent)
    return Path(relative).as_posix()
