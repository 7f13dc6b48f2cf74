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
:func:`walkaway.data.mapping.parse_mapping`; what the mapping format cannot express goes to the
findings, never to keys it would reject.
"""

from __future__ import annotations

import os
import re
import textwrap
from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from walkaway.data.contracts import (
    DATE_FORMATS,
    FALSE_WORDS,
    TABLE_COLUMNS,
    TRUE_WORDS,
    ContractError,
)
from walkaway.data.exports import iter_table, read_dialect
from walkaway.data.mapping import ROW_NUMBER, parse_mapping
from walkaway.data.yaml_files import yaml_text
from walkaway.model.leakage import POST_CLOSE_NAMES
from walkaway.signs import GROUPS, TITLES

__all__ = ["DATE_FORMATS", "MappingDraft", "draft_mapping"]

NEARLY_UNIQUE = 0.98  # share of distinct values among filled cells for a deal id
MIN_ACCOUNTS = 10  # fewer accounts, each with 10 deals or more: a category, not an id
MOSTLY = 0.95  # share of filled cells that must parse for a numeric or date column
MOSTLY_YES_NO = 0.9  # share of filled cells that must be yes/no words for a yes/no column
MAX_OUTCOME_VALUES = 50  # an outcome or stage column has a handful of distinct values
MAX_SHOWN = 8  # values or columns named in one finding before "and N more"
MAX_PARENT_VALUES = 200  # parent-company names turned into 'subsidiary' by a value map

# Name patterns, matched on normalised names (see normalise_name) from a word start.
DEAL_ID_WORDS = r"id\b|ids\b|number\b|no\b|nr\b|num\b|key\b|ref\b|reference\b|code\b"
DEAL_WORDS = r"opportunit|opp\b|opps\b|deal\b|deals\b"
ACCOUNT_WORDS = r"account|client|company|customer|organi[sz]ation|org\b|buyer\b"
NOT_ACCOUNT_ID_WORDS = (
    r"size|revenue|employee|count|type|industry|sector|since|past|manager|executive|owner"
    r"|rep\b|name\b|segment|tier|city|country|region"
)
OWNER_WORDS = (
    r"owner|agent|rep\b|reps\b|representative|seller|salesperson|sales person"
    r"|account manager|account executive|ae\b"
)
OUTCOME_NAME_WORDS = r"stage|status|result|outcome|state\b|phase"
STAGE_VALUE_WORDS = (
    r"won|win|lost|loss|clos|open|engag|prospect|qualif|proposal|negotiat|discover|demo"
    r"|pending|progress|active|pipeline|lead|commit|contract|evaluat|quote|cancel|abandon"
    r"|no decision|dead|hold|identif|validat|verbal|perception|needs analysis|decision"
)
CLOSED_SOUNDING_WORDS = (
    r"clos|cancel|abandon|disqualif|dead|reject|declin|no decision|lapsed|churn|withdr|void"
    r"|duplicate|junk|omit|lost|loss"
)
CREATED_WORDS = r"creat|engag|open|start|entered|identif|received|submitted|first contact|lead date"
CLOSED_WORDS = r"clos|end\b|ended\b|won\b|lost\b|decision|finish"
NOT_ACTUAL_CLOSE_WORDS = r"expected|forecast|target|planned|estimated|projected"
POST_OUTCOME_WORDS = (
    r"clos|elapsed|days?\b|duration|stage change|ratio|churn|margin|regret|reason"
    r"|probability|forecast categor|won\b|lost\b|loss\b|actual"
)
AMOUNT_WORDS = (
    r"amount",
    r"value|acv\b|tcv\b|arr\b|mrr\b|contract size|booking",
    r"deal size",
    r"price",
    r"revenue",
)
NOT_AMOUNT_WORDS = r"client|customer|account|company|categor|band|bucket|size by|past|count"
CUSTOMER_FACT_WORDS = r"employee|headcount|revenue|industry|sector|client size|company size|segment"
NONE_WORDS = frozenset(
    {"none", "no", "n/a", "na", "-", "no competitor", "no incumbent", "nobody", "null", "nil"}
)
OWNERSHIP_WORDS = frozenset(
    {"public", "private", "subsidiary", "government", "nonprofit", "non-profit", "cooperative"}
)

# Deal columns known only after the outcome: the labels of the regret head. Mapped to their
# label-only canonical column and listed as post_outcome.
LABEL_RULES: tuple[tuple[str, str, str], ...] = (
    ("churn_date", r"churn|cancell?ation date|cancel date|terminat", "date"),
    ("regrettable", r"regret", "bool"),
    ("margin", r"margin", "number"),
    ("support_cost", r"support cost|cost to serve|service cost|cost of service", "number"),
)
# Deal features named precisely enough to be taken before the post-outcome names ("days").
SPECIFIC_FEATURE_RULES: tuple[tuple[str, str, str], ...] = (
    ("incumbent_tenure_years", r"tenure|incumbent since|incumbent years", "number"),
    ("response_window_days", r"response window|response deadline|days to respond", "number"),
)
# The other deal features, in the order they claim columns.
FEATURE_RULES: tuple[tuple[str, str, str], ...] = (
    ("competitor_count", r"competitor|competition|rival|incumbent|bidder", "number"),
    ("incumbent_vendor", r"competitor|competition|rival|incumbent|vendor", "text"),
    ("formal_tender", r"tender|rfp\b|rfq\b|rfi\b|formal bid", "bool"),
    ("decision_maker_access", r"decision maker|economic buyer|dm access", "bool"),
    ("must_have_capabilities", r"must have|mandatory|critical requirement", "text"),
    ("required_capabilities", r"required capabilit|capabilit|requirements\b", "text"),
    ("customisation_required", r"customi[sz]ation|custom work|custom development|bespoke", "bool"),
    ("needs_defined", r"needs? defined|defined needs|requirements defined", "bool"),
)
CONTEXT_RULES: tuple[tuple[str, str, str], ...] = (
    ("product", r"product|supplies group|item\b|sku\b|offering", "text"),
    ("lead_source", r"lead source|source\b|route to market|channel|origin", "text"),
    ("region", r"region|territory|office|geo\b|geography|country|zone\b|area\b", "text"),
    ("owner", OWNER_WORDS, "text"),
    ("deal_type", r"type\b|new business", "text"),
)
ACCOUNT_RULES: tuple[tuple[str, str, str], ...] = (
    (
        "account_name",
        r"account name|company name|customer name|client name|legal name|name\b",
        "text",
    ),
    ("industry", r"industry|industries|sector|vertical", "text"),
    ("employees", r"employee|headcount|head count|staff|fte\b|workforce", "number"),
    ("annual_revenue", r"revenue|turnover|annual sales|sales volume", "number"),
    ("founded_year", r"found|establish|incorporat|year\b", "number"),
    ("ownership", r"ownership|owned|subsidiar|parent|legal form|company type", "text"),
)
PRODUCT_RULES: tuple[tuple[str, str, str], ...] = (
    ("capabilities", r"capabilit|feature|module|function", "text"),
    ("list_price", r"list price|price|msrp\b|rrp\b", "number"),
    ("description", r"descr|summary|about\b", "text"),
)
PRODUCT_KEY_WORDS = r"product|name\b|sku\b|item\b"
# Deal columns whose choice has its own finding (not repeated in the list of features).
REPORTED_ELSEWHERE = frozenset(
    {"deal_id", "account_id", "created_date", "closed_date", "outcome", "amount", "stage"}
)


@dataclass
class MappingDraft:
    """A drafted mapping and what a reviewer should know about it.

    Attributes
    ----------
    document : dict
        A mapping document that :func:`walkaway.data.mapping.parse_mapping` accepts.
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
        header = [
            "Mapping drafted by `walkaway mapping init`. Review it before training:",
            "act on every TODO; NOTE lines explain the decisions taken.",
        ]
        lines = [f"# {line}" for line in header] + ["#"]
        for finding in self.findings:
            lines += textwrap.wrap(
                finding,
                width=98,
                initial_indent="# ",
                subsequent_indent="#   ",
                break_long_words=False,
                break_on_hyphens=False,
            )
        body = yaml_text(
            _ordered_document(self.document),
            sort_keys=False,
            allow_unicode=True,
            default_flow_style=False,
            width=120,
        )
        return "\n".join(lines) + "\n\n" + body


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
        The document (accepted by :func:`walkaway.data.mapping.parse_mapping`) and the findings,
        ``TODO`` first.

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
    drafter = _DealsDrafter(_Sample.read(deals, sample_rows))
    drafter.draft()
    side_tables: dict[str, dict[str, Any]] = {}
    if accounts is not None:
        accounts = Path(accounts)
        side_tables["accounts"] = _draft_accounts(
            _Sample.read(accounts, sample_rows), drafter, _relative_file(accounts, deals)
        )
    if products is not None:
        products = Path(products)
        side_tables["products"] = _draft_products(
            _Sample.read(products, sample_rows), drafter, _relative_file(products, deals)
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


# --------------------------------------------------------------------------- names and values


# The sign an extra column's name suggests, first match wins; anything else is deal context.
SIGN_WORDS: tuple[tuple[str, str], ...] = (
    (
        "glass_walls",
        r"competit|rival|incumbent|vendor|supplier|tender|rfp\b|rfq\b|rfi\b|bid|"
        r"relationship|decision maker|sponsor|champion|access|procurement|framework",
    ),
    (
        "need_fit",
        r"need|requirement|capabilit|feature|fit\b|customi[sz]|bespoke|integrat|use case|pain|"
        r"scope|"
        r"module|spec|solution|technical|demo|trial|pilot|proof",
    ),
    (
        "icp_fit",
        r"industry|sector|vertical|employee|headcount|revenue|turnover|size|segment|"
        r"customer|client|company|ownership|founded|status|tier|market",
    ),
)


def guess_sign(key: str) -> str:
    """The sign a normalised column name suggests (deal context when none does).

    Examples
    --------
    >>> guess_sign("competitors present"), guess_sign("customer status"), guess_sign("rfi")
    ('glass_walls', 'icp_fit', 'glass_walls')
    >>> guess_sign("needs documented"), guess_sign("discount")
    ('need_fit', 'deal_context')
    """
    for sign, words in SIGN_WORDS:
        if _matches(key, words):
            return sign
    return "deal_context"


def name_fit(key: str, canonical: str) -> int:
    """How well a normalised column name names a canonical column: 2 exactly ("formal
    tender"), 1 abbreviated word by word ("forml tend", "frml tndr"), else 0.

    Examples
    --------
    >>> name_fit("formal tender", "formal_tender"), name_fit("forml tend", "formal_tender")
    (2, 1)
    >>> name_fit("rfi", "formal_tender"), name_fit("tender", "formal_tender")
    (0, 0)
    """
    words = canonical.split("_")
    parts = key.split()
    if parts == words:
        return 2
    if len(parts) != len(words):
        return 0
    return int(all(_abbreviates(part, word) for part, word in zip(parts, words, strict=True)))


def _abbreviates(part: str, word: str) -> bool:
    """``part`` starts like ``word`` and its letters appear in ``word`` in order."""
    if not part or part[0] != word[0] or len(part) > len(word):
        return False
    rest = iter(word)
    return all(letter in rest for letter in part)


def normalise_name(name: str) -> str:
    """A column name in lower-case words, for matching name patterns.

    Examples
    --------
    >>> normalise_name("OpportunityID"), normalise_name("Incumbent Tenure (years)")
    ('opportunity id', 'incumbent tenure years')
    >>> normalise_name("Must-Have Capabilities"), normalise_name("close_value")
    ('must have capabilities', 'close value')
    """
    spaced = re.sub(r"(?<=[a-z0-9])(?=[A-Z])", " ", str(name))
    spaced = re.sub(r"(?<=[A-Z])(?=[A-Z][a-z])", " ", spaced)
    return " ".join(re.sub(r"[^0-9a-z]+", " ", spaced.lower()).split())


def outcome_of(value: str) -> str:
    """The canonical outcome a stage or result value most likely means.

    Examples
    --------
    >>> [outcome_of(v) for v in ["Closed Won", "Loss", "Closed Lost", "Engaging", "Win"]]
    ['won', 'lost', 'lost', 'open', 'won']
    """
    low = value.lower()
    won = "won" in low or "win" in low
    lost = "lost" in low or "loss" in low
    if won and not lost:
        return "won"
    if lost and not won:
        return "lost"
    return "open"


def _matches(key: str, words: str) -> str | None:
    """The word of ``words`` found in a normalised name (from a word start), or None."""
    found = re.search(rf"\b(?:{words})", key)
    return found.group(0) if found else None


def _compact(value: str) -> str:
    """Letters and digits only, lower-cased: 'GTX Pro' and 'GTXPro' both give 'gtxpro'."""
    return re.sub(r"[^0-9a-z]", "", value.lower())


def _category(value: str) -> str:
    """A category as the contract compares it: trimmed, inner spaces collapsed, lower-case."""
    return " ".join(value.split()).lower()


def _listed(items: Iterable[str], limit: int = MAX_SHOWN) -> str:
    """Quoted names, at most ``limit`` of them, then how many more."""
    items = list(items)
    shown = ", ".join(f"'{item}'" for item in items[:limit])
    more = len(items) - limit
    return shown + (f" and {more} more" if more > 0 else "")


def _counted(counts: pd.Series, limit: int = MAX_SHOWN) -> str:
    """'Prospecting 500, Engaging 12' from value counts, biggest first."""
    ordered = counts[counts > 0].sort_values(ascending=False, kind="stable")
    shown = ", ".join(f"{value} {int(n):,}" for value, n in ordered.iloc[:limit].items())
    more = len(ordered) - limit
    return shown + (f" and {more} more" if more > 0 else "")


def _deals(n: int) -> str:
    """'1 deal', '1,480 deals'."""
    return f"{n:,} deal" + "s" * (n != 1)


def _slug(path: Path) -> str:
    stem = path.name
    for suffix in (".gz", ".csv", ".parquet", ".pq", ".txt"):
        stem = stem.removesuffix(suffix)
    return re.sub(r"[^a-z0-9]+", "-", stem.lower()).strip("-") or "my-crm"


def _relative_file(path: Path, deals: Path) -> str:
    """The file name as the mapping gives it: relative to the deals file's folder."""
    relative = os.path.relpath(path.resolve(), deals.resolve().parent)
    return Path(relative).as_posix()


def _ordered_document(document: dict[str, Any]) -> dict[str, Any]:
    """The document with keys in reading order and canonical columns in contract order."""
    top = (
        "name",
        "description",
        "delimiter",
        "decimal",
        "date_format",
        "dates",
        "post_outcome",
        "regret",
        "tables",
    )
    ordered = {key: document[key] for key in top if key in document}
    ordered.update({k: v for k, v in document.items() if k not in ordered})
    tables = document.get("tables")
    if isinstance(tables, dict):
        ordered["tables"] = {name: _ordered_table(name, spec) for name, spec in tables.items()}
    return ordered


def _ordered_table(table: str, spec: Any) -> Any:
    """A table's keys as file, columns, values; its columns in the contract's order."""
    if not isinstance(spec, dict):
        return spec
    rank = {name: position for position, name in enumerate(TABLE_COLUMNS.get(table, {}))}
    columns = spec.get("columns") or {}
    by_rank = sorted(columns.items(), key=lambda item: rank.get(item[0], len(rank)))
    ordered = {key: spec[key] for key in ("file",) if key in spec}
    if columns:
        ordered["columns"] = dict(by_rank)
    if spec.get("values"):
        ordered["values"] = spec["values"]
    ordered.update({k: v for k, v in spec.items() if k not in ("file", "columns", "values")})
    return ordered


# --------------------------------------------------------------------------- samples


@dataclass
class _Column:
    """One column of a sample: its values as trimmed text (None when blank) and their kinds."""

    name: str
    text: pd.Series
    typed_dates: bool = False  # Parquet dates: the contract takes them as they are

    @cached_property
    def key(self) -> str:
        return normalise_name(self.name)

    @cached_property
    def filled(self) -> pd.Series:
        return self.text.dropna()

    @property
    def n_filled(self) -> int:
        return len(self.filled)

    @cached_property
    def counts(self) -> pd.Series:
        """Rows per distinct value, in order of first appearance."""
        return self.filled.value_counts(sort=False)

    @cached_property
    def unique_share(self) -> float:
        return len(self.counts) / self.n_filled if self.n_filled else 0.0

    @cached_property
    def numbers(self) -> pd.Series:
        """Each row's value as a number (as the contract parses numbers), NaN when not one."""
        uniques = pd.Series(self.counts.index, dtype=object)
        cleaned = uniques.astype(str).str.replace(r"[,\s$€£]", "", regex=True)
        parsed = pd.to_numeric(cleaned, errors="coerce").astype(float)
        lookup = dict(zip(uniques, parsed, strict=True))
        return self.text.map(lookup).astype(float)

    @cached_property
    def numeric(self) -> bool:
        if not self.n_filled:
            return False
        return self.numbers.notna().sum() >= MOSTLY * self.n_filled

    @cached_property
    def yes_no_share(self) -> float:
        if not self.n_filled:
            return 0.0
        lowered = self.filled.astype(str).str.lower()
        return float(lowered.isin(TRUE_WORDS | FALSE_WORDS).mean())

    @property
    def yes_no(self) -> bool:
        return self.n_filled > 0 and self.yes_no_share >= MOSTLY_YES_NO

    @cached_property
    def date_shares(self) -> dict[str, float]:
        """Share of filled rows each date format reads (formats reading none left out)."""
        if not self.n_filled or self.numeric:
            return {}
        if self.typed_dates:  # any format "reads" them: the contract does not parse them
            return dict.fromkeys(DATE_FORMATS, 1.0)
        uniques = pd.Series(self.counts.index, dtype=object).astype(str)
        looks_dated = uniques.str.contains(r"\d{1,4}[-/.]\d{1,2}[-/.]\d{1,4}", regex=True)
        if self.counts.to_numpy()[looks_dated.to_numpy()].sum() < MOSTLY * self.n_filled:
            return {}
        shares = {}
        for fmt in DATE_FORMATS:
            parsed = pd.to_datetime(uniques, format=fmt, errors="coerce")
            rows = self.counts.to_numpy()[parsed.notna().to_numpy()].sum()
            if rows:
                shares[fmt] = rows / self.n_filled
        return shares

    @property
    def full_date_formats(self) -> list[str]:
        """The formats that read every filled value."""
        return [fmt for fmt, share in self.date_shares.items() if share >= 1.0]

    @property
    def dated(self) -> bool:
        return bool(self.date_shares) and max(self.date_shares.values()) >= MOSTLY

    def dates(self, fmt: str) -> pd.Series:
        """Each row's value read as a date (ISO for typed dates), NaT when unreadable."""
        fmt = "%Y-%m-%d" if self.typed_dates else fmt
        return pd.to_datetime(self.text.astype(object), format=fmt, errors="coerce")


@dataclass
class _Sample:
    """The first rows of one file, as text columns."""

    path: Path
    rows: int
    columns: dict[str, _Column]

    @classmethod
    def read(cls, path: Path, sample_rows: int) -> _Sample:
        chunks = iter_table(path, chunk_size=sample_rows)
        try:
            frame = next(chunks)
        finally:
            chunks.close()
        frame = frame.dropna(how="all")
        columns = {}
        for name in frame.columns:
            values = frame[name]
            typed_dates = pd.api.types.is_datetime64_any_dtype(values)
            if typed_dates:
                values = values.dt.strftime("%Y-%m-%d")
            text = values.astype(object).where(values.notna(), None)
            text = text.map(lambda v: None if v is None else (str(v).strip() or None))
            columns[str(name)] = _Column(str(name), text.astype(object), typed_dates)
        return cls(path, len(frame), columns)


# --------------------------------------------------------------------------- deals


class _DealsDrafter:
    """Guesses the deals table's mapping, column by column, and notes why."""

    def __init__(self, sample: _Sample) -> None:
        self.sample = sample
        self.file = sample.path.name
        self.columns: dict[str, str] = {}  # canonical -> export column
        self.values: dict[str, dict[str, str]] = {}
        self.post_outcome: dict[str, str] = {}  # export column -> why
        self.findings: list[str] = []
        self.date_format: str | None = None
        self.outcomes: pd.Series | None = None  # each row's canonical outcome
        self.left_out: dict[str, list[str]] = {}  # file -> columns not mapped
        self.features: dict[str, str] = {}  # extra export column -> the sign guessed
        self.ignored: dict[str, str] = {}  # export column -> why it is no feature
        self.undated = False  # no dates, and the mapping format can say so (`dates: none`)

    # -- bookkeeping

    def todo(self, text: str) -> None:
        self.findings.append(f"TODO: {text}")

    def note(self, text: str) -> None:
        self.findings.append(f"NOTE: {text}")

    @property
    def used(self) -> set[str]:
        return set(self.columns.values()) | set(self.post_outcome)

    def free(self) -> list[_Column]:
        return [c for c in self.sample.columns.values() if c.name not in self.used]

    def by_outcome(self, mask: pd.Series) -> str:
        """How the rows of ``mask`` split by the export's outcome value, in words."""
        if "outcome" not in self.columns:
            return ""
        stages = self.sample.columns[self.columns["outcome"]].text[mask]
        return f" ({self.columns['outcome']}: {_counted(stages.value_counts())})"

    def table_spec(self, file: str) -> dict[str, Any]:
        spec: dict[str, Any] = {"file": file, "columns": dict(self.columns)}
        if self.values:
            spec["values"] = {k: v for k, v in self.values.items() if k in self.columns}
        if self.features:
            spec["features"] = dict(self.features)
        return spec

    # -- the steps, in the order they claim columns

    def draft(self) -> None:
        self.find_deal_id()
        self.find_outcome()
        self.find_account_id()
        self.find_dates()
        self.find_labels()
        self.find_value_leaks()
        self.find_features(SPECIFIC_FEATURE_RULES)
        self.find_post_outcome_names()
        self.find_features(FEATURE_RULES)
        self.find_amount()
        self.find_features(CONTEXT_RULES)
        self.find_stage()
        self.find_extra_features()
        self.report_features()

    def find_deal_id(self) -> None:
        candidates = []
        for column in self.free():
            if not column.n_filled or column.unique_share < NEARLY_UNIQUE:
                continue
            if column.n_filled < MOSTLY * self.sample.rows:
                continue
            if _matches(column.key, ACCOUNT_WORDS) or _matches(column.key, r"amount|value|date"):
                continue
            score = 2 * bool(_matches(column.key, DEAL_ID_WORDS))
            score += 2 * bool(_matches(column.key, DEAL_WORDS)) + 5 * (column.key == "deal id")
            if score:
                candidates.append((score, column.unique_share, column))
        if not candidates:
            self.columns["deal_id"] = ROW_NUMBER
            self.note(
                "no deal id column (named like an id or number, every value different): "
                "deal_id: row_number gives each row its number as its id (row-2 is the first "
                "deal), which names a deal in this file only; map an id column instead if the "
                "export has one."
            )
            return
        column = max(candidates, key=lambda c: (c[0], c[1]))[2]
        self.columns["deal_id"] = column.name
        repeats = column.counts[column.counts > 1]
        if len(repeats):
            self.todo(
                f"deal id '{column.name}': {len(repeats):,} values repeat in the sample "
                f"({int(repeats.sum()):,} rows, e.g. {_listed(repeats.index[:3])}); the "
                "contract needs unique deal ids, so repeats are dropped or rejected when the "
                "export is read: check whether they are one deal exported twice or different "
                "deals sharing an id."
            )
        else:
            self.note(f"deal id: '{column.name}' (every value different).")

    def find_outcome(self) -> None:
        best: tuple[float, _Column] | None = None
        for column in self.free():
            if not column.n_filled or column.numeric:
                continue
            folded = column.counts.groupby(column.counts.index.map(_category)).sum()
            if len(folded) > MAX_OUTCOME_VALUES:
                continue
            outcomes = [outcome_of(v) for v in folded.index]
            named = bool(_matches(column.key, OUTCOME_NAME_WORDS))
            stage_like = [bool(_matches(v, STAGE_VALUE_WORDS)) for v in folded.index]
            share = folded[stage_like].sum() / folded.sum()
            if "won" in outcomes and "lost" in outcomes:
                score = 2 + share + 0.5 * named
            elif named and share >= MOSTLY:  # an export of open deals only: stages, no results
                score = share
            else:
                continue
            if best is None or score > best[0]:
                best = (score, column)
        if best is None:
            self.todo(
                "no outcome column found (values such as Won / Lost / Open): outcome is "
                "required; map it under tables.deals.columns with a value map to won, lost, open."
            )
            return
        column = best[1]
        value_map: dict[str, str] = {}
        for value in column.counts.index:
            if _category(value) not in {_category(k) for k in value_map}:
                value_map[value] = outcome_of(value)
        ordered = {
            value: target
            for wanted in ("won", "lost", "open")
            for value, target in value_map.items()
            if target == wanted
        }
        self.columns["outcome"] = column.name
        if any(_category(value) != target for value, target in ordered.items()):
            self.values["outcome"] = ordered
        lookup = {_category(v): t for v, t in ordered.items()}
        self.outcomes = column.text.map(lambda v: None if v is None else lookup.get(_category(v)))
        rows = column.counts.groupby(column.counts.index.map(_category)).sum()
        shown = {
            target: [v for v, t in ordered.items() if t == target] for target in ("won", "lost")
        }
        if shown["won"] or shown["lost"]:
            self.note(
                f"outcome: '{column.name}', {_listed(shown['won']) or 'no value'} -> won, "
                f"{_listed(shown['lost']) or 'no value'} -> lost."
            )
        else:
            self.note(
                f"outcome: '{column.name}', named like a stage; no value says won or lost: an "
                "export of the open pipeline (it can be scored; training needs closed deals)."
            )
        opened = [v for v, t in ordered.items() if t == "open"]
        if not opened:
            self.note(
                f"no value of '{column.name}' was mapped to open: the export holds only closed "
                "deals (there is no open pipeline in it to score)."
            )
            return
        counts = ", ".join(f"'{v}' ({int(rows[_category(v)]):,} rows)" for v in opened)
        if [_category(v) for v in opened] == ["open"]:
            self.note(f"open deals: {counts}.")
            return
        self.todo(
            f"check the values of '{column.name}' mapped to open (deals still in the "
            f"pipeline): {counts}. Change any that mean a closed deal to won or lost in "
            "tables.deals.values.outcome."
        )
        closed_sounding = [v for v in opened if _matches(_category(v), CLOSED_SOUNDING_WORDS)]
        if closed_sounding:
            self.todo(
                f"{_listed(closed_sounding)} sound like closed deals but say neither won nor "
                "lost: they were mapped to open; a deal we gave up on is usually lost."
            )

    def find_account_id(self) -> None:
        candidates = []
        for column in self.free():
            if not column.n_filled or not _matches(column.key, ACCOUNT_WORDS):
                continue
            if _matches(column.key, NOT_ACCOUNT_ID_WORDS) and not _matches(
                column.key, r"id\b|number\b|code\b|key\b"
            ):
                continue
            if _matches(column.key, OWNER_WORDS) or column.unique_share >= 1.0:
                continue
            if len(column.counts) < MIN_ACCOUNTS and column.n_filled >= 10 * len(column.counts):
                continue  # a few values (New / Current / Past) describe, they do not identify
            score = 2 * bool(_matches(column.key, r"id\b|number\b|code\b|key\b"))
            score += 5 * (column.key == "account id")
            candidates.append((score, -list(self.sample.columns).index(column.name), column))
        if not candidates:
            required = TABLE_COLUMNS["deals"]["account_id"].required
            (self.todo if required else self.note)(
                "no account column found (named like account, client, company or customer, "
                "with repeating values): "
                + ("account_id is required by the contract; " if required else "")
                + "without it deals meet no account facts and no record at the account; add "
                "it under tables.deals.columns if the export has one."
            )
            return
        column = max(candidates, key=lambda c: (c[0], c[1]))[2]
        self.columns["account_id"] = column.name
        self.note(f"account id: '{column.name}' ({len(column.counts):,} accounts in the sample).")
        blank = column.text.isna()
        if blank.any():
            self.note(
                f"'{column.name}' is empty in {int(blank.sum()):,} of {self.sample.rows:,} rows"
                f"{self.by_outcome(blank)}: those deals get no account facts nor account record."
            )

    def find_dates(self) -> None:
        dated = [c for c in self.free() if c.dated]
        if not dated:
            self.undated = _format_allows_undated()
            consequence = (
                "the draft says `dates: none`, so the export loads without them"
                if self.undated
                else "created_date and closed_date are required by the contract, so loading "
                "this export fails until dates are added"
            )
            (self.note if self.undated else self.todo)(
                f"no date columns: {consequence}. Without dates a time-ordered holdout (train "
                "on older deals, test on the newest) is not possible, nor can history features "
                "be counted point in time."
            )
            return
        roles: dict[str, _Column] = {}
        for canonical, words, avoid in (
            ("churn_date", LABEL_RULES[0][1], None),
            ("created_date", CREATED_WORDS, None),
            ("closed_date", CLOSED_WORDS, NOT_ACTUAL_CLOSE_WORDS),
        ):
            for column in dated:
                taken = column in roles.values()
                if taken or not _matches(column.key, words):
                    continue
                if avoid and _matches(column.key, avoid):
                    continue
                roles[canonical] = column
                break
        unnamed = [c for c in dated if c not in roles.values()]
        for canonical in ("created_date", "closed_date"):
            if canonical not in roles and unnamed:
                roles[canonical] = unnamed.pop(0)
                self.todo(
                    f"'{roles[canonical].name}' was taken as {canonical} only because it holds "
                    "dates and no column is named for it: check it."
                )
        self.date_format = self.choose_date_format(roles)
        for canonical, column in roles.items():
            self.columns[canonical] = column.name
            if canonical == "churn_date":
                self.post_outcome[column.name] = (
                    f"'{column.name}' mapped to churn_date (a label of the regret head, never "
                    "a feature) and listed as post_outcome."
                )
        if "closed_date" not in roles:
            self.find_empty_close_date()
        order = ("created_date", "closed_date", "churn_date")
        shown = ", ".join(f"{c} <- '{roles[c].name}'" for c in order if c in roles)
        self.note(f"dates: {shown}, read as {self.date_format}.")
        if unnamed:
            self.note(f"other date columns, not mapped: {_listed(c.name for c in unnamed)}.")
        self.check_dates(roles)

    def find_empty_close_date(self) -> None:
        """An export of open deals has a close date column with nothing in it yet."""
        for column in self.free():
            if column.n_filled or not _matches(column.key, CLOSED_WORDS):
                continue
            if _matches(column.key, NOT_ACTUAL_CLOSE_WORDS):
                continue
            self.columns["closed_date"] = column.name
            self.note(
                f"closed_date: '{column.name}', by its name: it is empty in the sample (open "
                "deals have no close date yet)."
            )
            return

    def choose_date_format(self, roles: dict[str, _Column]) -> str:
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
                    self.todo(
                        f"{len(bad):,} values of '{column.name}' do not read as {fmt} (e.g. "
                        f"{_listed(bad.unique()[:3])}): the contract will reject their rows; "
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
        self.todo(
            f"the dates read equally as {' and '.join(common)} (no day above 12 in the "
            f"sample); chose {fmt} ({backwards(fmt):,} deals would close before they were "
            "created, against "
            + ", ".join(f"{backwards(f):,} with {f}" for f in common if f != fmt)
            + "). Check a date you know and change date_format if needed."
        )
        return fmt

    def check_dates(self, roles: dict[str, _Column]) -> None:
        fmt = self.date_format
        assert fmt is not None
        created, closed = roles.get("created_date"), roles.get("closed_date")
        if created is not None and created.text.isna().any():
            blank = created.text.isna()
            self.todo(
                f"'{created.name}' (created_date) is empty in {int(blank.sum()):,} of "
                f"{self.sample.rows:,} rows{self.by_outcome(blank)}; the contract needs a "
                "creation date on every deal, so these rows will be rejected: fill them in the "
                "export, or drop them."
            )
        if closed is not None and self.outcomes is not None:
            undated = self.outcomes.isin(["won", "lost"]) & closed.text.isna()
            if undated.any():
                self.todo(
                    f"'{closed.name}' (closed_date) is empty for {int(undated.sum()):,} won or "
                    f"lost deals{self.by_outcome(undated)}; the contract needs a close date on "
                    "closed deals, so these rows will be rejected."
                )
        if created is not None and closed is not None:
            backwards = closed.dates(fmt) < created.dates(fmt)
            if backwards.any():
                self.todo(
                    f"{int(backwards.sum()):,} deals close before they were created (read as "
                    f"{fmt}); the contract rejects them."
                )

    def find_labels(self) -> None:
        for canonical, words, kind in LABEL_RULES:
            if canonical in self.columns:
                continue
            for column in self.free():
                if not _matches(column.key, words):
                    continue
                if _fits(column, kind):
                    self.columns[canonical] = column.name
                    self.post_outcome[column.name] = (
                        f"'{column.name}' mapped to {canonical} (a label of the regret head, "
                        "never a feature) and listed as post_outcome."
                    )
                else:
                    self.post_outcome[column.name] = (
                        f"'{column.name}' listed as post_outcome: its name says "
                        f"'{_matches(column.key, words)}', known only after the sale; its values "
                        f"are not {kind}s, so it is not mapped to {canonical}."
                    )
                break

    def find_value_leaks(self) -> None:
        """Numbers that are 0 or empty for every lost deal but set for won ones record the
        result (an invoiced value, a margin): post-outcome whatever their name."""
        if self.outcomes is None:
            return
        lost = self.outcomes.eq("lost").to_numpy()
        won = self.outcomes.eq("won").to_numpy()
        if lost.sum() < 5 or won.sum() < 5:
            return
        for column in self.free():
            if not column.numeric:
                continue
            numbers = column.numbers.to_numpy()
            set_values = ~np.isnan(numbers) & (numbers != 0)
            if set_values[lost].any() or set_values[won].mean() < 0.5:
                continue
            self.post_outcome[column.name] = (
                f"'{column.name}' listed as post_outcome: it is 0 or empty for all "
                f"{int(lost.sum()):,} lost deals but set for {int(set_values[won].sum()):,} of "
                f"{int(won.sum()):,} won deals, so it records the result (as a feature it "
                "would leak the outcome)."
            )

    def find_post_outcome_names(self) -> None:
        for column in self.free():
            word = _matches(column.key, POST_OUTCOME_WORDS)
            if word is None:
                continue
            self.post_outcome[column.name] = (
                f"'{column.name}' listed as post_outcome, not a feature: its name says "
                f"'{word}', a measure of the finished sales process or its result, known only "
                "after the close (remove it from post_outcome if it is known before)."
            )

    def find_features(self, rules: tuple[tuple[str, str, str], ...]) -> None:
        for canonical, words, kind in rules:
            if canonical in self.columns:
                continue
            named = [(name_fit(c.key, canonical), c) for c in self.free()]
            ranked = sorted(
                ((fit, c) for fit, c in named if fit or _matches(c.key, words)),
                key=lambda pair: -pair[0],
            )
            for _, column in ranked:
                if not column.n_filled:
                    continue
                if canonical == "incumbent_vendor" and column.yes_no:
                    continue  # "competitors present: yes" says a rival bids, not who is in
                if _fits(column, kind):
                    self.columns[canonical] = column.name
                    self.check_feature(canonical, column)
                    break
                if kind == "bool":
                    self.note(
                        f"'{column.name}' looks like {canonical} but its values are not yes/no "
                        f"({_listed(column.counts.index[:5])}): left out; map it with a value "
                        "map to yes/no if it is one."
                    )
                    break

    def check_feature(self, canonical: str, column: _Column) -> None:
        spec = TABLE_COLUMNS["deals"][canonical]
        if spec.kind == "number":
            bad = column.filled[column.numbers[column.filled.index].isna()]
            if len(bad):
                self.todo(
                    f"{len(bad):,} values of '{column.name}' ({canonical}) are not numbers "
                    f"(e.g. {_listed(bad.unique()[:3])}): the contract rejects their rows."
                )
            if spec.minimum is not None and (column.numbers < spec.minimum).any():
                below = int((column.numbers < spec.minimum).sum())
                self.todo(
                    f"{below:,} values of '{column.name}' ({canonical}) are below "
                    f"{spec.minimum:g}: the contract rejects their rows."
                )
        if spec.kind == "bool" and column.yes_no_share < 1.0:
            lowered = column.filled.astype(str).str.lower()
            bad = column.filled[~lowered.isin(TRUE_WORDS | FALSE_WORDS)]
            self.todo(
                f"{len(bad):,} values of '{column.name}' ({canonical}) are not yes/no "
                f"(e.g. {_listed(bad.unique()[:3])}): the contract rejects their rows."
            )
        if canonical == "incumbent_vendor":
            self.check_incumbent(column)

    def check_incumbent(self, column: _Column) -> None:
        """A blank incumbent means none; values that say 'none' are mapped to blank."""
        nothing = [v for v in column.counts.index if _category(v) in NONE_WORDS]
        if nothing:
            self.values["incumbent_vendor"] = {v: "" for v in nothing}
        unknown = [v for v in column.counts.index if "unknown" in _category(v)]
        few = len(column.counts) <= 6
        values = f" (values: {_counted(column.counts)})" if few else ""
        self.note(
            f"'{column.name}' mapped to incumbent_vendor{values}: any non-empty value counts "
            "as a rival in place"
            + (f"; {_listed(nothing)} mapped to empty (no rival)" if nothing else "")
            + "."
        )
        if unknown:
            self.todo(
                f"'{column.name}': {_listed(unknown)} is kept as a rival in place; if it means "
                "no known rival, add it to tables.deals.values.incumbent_vendor with an empty "
                "value ('')."
            )

    def find_amount(self) -> None:
        for words in AMOUNT_WORDS:
            for column in self.free():
                if not column.numeric or not _matches(column.key, words):
                    continue
                if _matches(column.key, NOT_AMOUNT_WORDS):
                    continue
                self.columns["amount"] = column.name
                self.note(f"amount: '{column.name}'.")
                self.check_feature("amount", column)
                return
        leaky = [
            c for c in self.post_outcome if _matches(normalise_name(c), "|".join(AMOUNT_WORDS))
        ]
        because = (
            f" ({_listed(leaky)} looks like one but is known only after the close)" if leaky else ""
        )
        self.note(
            f"no deal amount known before the close was found{because}: amount is optional, "
            "but without it there is no expected return (glass walls never say compete) and "
            "no pipeline value; map one under tables.deals.columns if the export has it."
        )

    def find_stage(self) -> None:
        """A column of its own named like a stage, else the outcome column when it holds
        open stages."""
        if "stage" in self.columns or "outcome" not in self.columns:
            return
        for column in self.free():
            named = _matches(column.key, r"stage|phase")
            if named and not column.numeric and 0 < len(column.counts) <= MAX_OUTCOME_VALUES:
                self.columns["stage"] = column.name
                self.note(f"stage: '{column.name}' (reported, never a feature).")
                return
        outcome_map = self.values.get("outcome", {})
        if "open" in outcome_map.values():
            self.columns["stage"] = self.columns["outcome"]
            self.note(
                f"stage: '{self.columns['outcome']}' too, as it holds the open stages (the "
                "pipeline stage is reported, never a feature)."
            )

    def report_features(self) -> None:
        features = [
            f"{canonical} <- '{self.columns[canonical]}'"
            for canonical in TABLE_COLUMNS["deals"]
            if canonical in self.columns
            and canonical not in REPORTED_ELSEWHERE
            and not TABLE_COLUMNS["deals"][canonical].label_only
        ]
        if features:
            self.note(f"features mapped by their names: {', '.join(features)}.")
        for why in self.post_outcome.values():
            self.note(why)

    def find_extra_features(self) -> None:
        """Every column still free is a feature of the sign its name suggests (a TODO to
        review), or is ignored for a reason a reviewer can check."""
        for column in self.free():
            reason = self.ignore_reason(column)
            if reason:
                self.ignored[column.name] = reason
                continue
            self.features[column.name] = guess_sign(column.key)
        if self.features:
            by_sign = {
                sign: [name for name, s in self.features.items() if s == sign] for sign in GROUPS
            }
            said = "; ".join(
                f"{TITLES[sign]}: {_listed(names, 40)}" for sign, names in by_sign.items() if names
            )
            self.todo(
                f"features guessed from their names (tables.deals.features), check each sign: "
                f"{said}."
            )

    def ignore_reason(self, column: _Column) -> str | None:
        """Why a free column is no feature, or None when it can be one."""
        if not column.n_filled:
            return "empty"
        if len(column.counts) == 1:
            return f"one value only ({_listed(column.counts.index)})"
        if column.unique_share >= NEARLY_UNIQUE and not column.numeric and column.n_filled > 20:
            return "id-like (every value different)"
        if POST_CLOSE_NAMES.search(column.name):
            return "named like a measure of the sales process up to the close (post-outcome)"
        if column.dated:
            return "a date (walkaway reads dates as the deal's creation and close only)"
        return None

    # -- the end: what is missing, left out, or beside the export

    def report_missing_required(self, tables: dict[str, dict[str, Any]]) -> None:
        for table, spec in tables.items():
            mapped = spec.get("columns", {})
            undated = {"created_date", "closed_date"} if self.undated else set()
            missing = [
                c
                for c, s in TABLE_COLUMNS[table].items()
                if s.required and c not in mapped and c not in undated
            ]
            if missing:
                self.todo(
                    f"tables.{table} lacks required column(s) {', '.join(missing)}: loading "
                    "the export through this mapping fails until they are mapped."
                )

    def report_left_out(self) -> None:
        self.left_out[self.file] = [c.name for c in self.free() if c.name not in self.features]
        ignored = [f"'{name}' ({why})" for name, why in self.ignored.items()]
        if ignored:
            self.note(f"{self.file}: ignored: {', '.join(ignored)}.")
        others = {
            file: names for file, names in self.left_out.items() if file != self.file and names
        }
        parts = [f"{file}: {_listed(names, 40)}" for file, names in others.items()]
        if parts:
            self.note(
                "left out (not mapped; map any that is a feature walkaway knows, see "
                f"walkaway.data.contracts): {'; '.join(parts)}."
            )

    def report_files_beside(self, deals: Path, given: list[Path]) -> None:
        folder = deals.resolve().parent
        given_names = {p.resolve() for p in [deals, *given]}
        others = sorted(
            p.name
            for p in folder.iterdir()
            if p.is_file()
            and p.resolve() not in given_names
            and re.search(r"\.(csv|csv\.gz|parquet|pq)$", p.name.lower())
        )
        if others:
            self.note(
                f"files beside the export were not read: {_listed(others)}. Pass account facts "
                "with --accounts and a product catalogue with --products; the mapping format "
                "has no other tables (a sales-team file's region would have to be joined into "
                "the deals first)."
            )


def _format_allows_undated() -> bool:
    """Whether this walkaway's mapping format can declare an export without dates
    (``dates: none``); older formats reject the key, and the draft then leaves it out."""
    probe = {"dates": "none", "tables": {"deals": {"columns": {"deal_id": "id"}}}}
    try:
        parse_mapping(probe)
    except ContractError:
        return False
    return True


def _fits(column: _Column, kind: str) -> bool:
    """Whether a column's values suit a canonical kind."""
    if kind == "number":
        return column.numeric
    if kind == "bool":
        return column.yes_no
    if kind == "date":
        return column.dated
    return column.n_filled > 0


# --------------------------------------------------------------------------- accounts, products


def _claim(
    sample: _Sample,
    rules: tuple[tuple[str, str, str], ...],
    columns: dict[str, str],
    table: str,
    drafter: _DealsDrafter,
) -> None:
    """Map the columns of an accounts or products file whose names and values fit the rules."""
    for canonical, words, kind in rules:
        for column in sample.columns.values():
            if column.name in columns.values() or not _matches(column.key, words):
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
            if not _fits(column, kind):
                drafter.note(
                    f"{sample.path.name}: '{column.name}' looks like {canonical} but is not "
                    f"numeric ({_listed(column.counts.index[:3])}): left out."
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
    sample: _Sample, deal_values: pd.Series | None, compare: Any, name_words: str
) -> tuple[_Column, float, float]:
    """The column of a side file whose values hold most of the deals' values.

    Returns the column, the share of deal rows and the share of distinct deal values found.
    """
    ranked = []
    for position, column in enumerate(sample.columns.values()):
        named = bool(_matches(column.key, name_words))
        row_share = value_share = 0.0
        if deal_values is not None and len(deal_values) and column.n_filled:
            keys = {compare(v) for v in column.counts.index}
            found = deal_values.map(compare).isin(keys)
            row_share = float(found.mean())
            value_share = float(found.groupby(deal_values).first().mean())
        ranked.append((row_share, named, -position, column, value_share))
    best = max(ranked, key=lambda r: r[:3])
    return best[3], best[0], best[4]


def _draft_accounts(sample: _Sample, drafter: _DealsDrafter, file: str) -> dict[str, Any]:
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
                f"{_listed(missing.unique()[:3])}); their deals are scored without account facts."
            )
    repeats = key.counts[key.counts > 1]
    if len(repeats):
        drafter.todo(
            f"{name}: {len(repeats):,} account ids repeat in '{key.name}' (e.g. "
            f"{_listed(repeats.index[:3])}); the contract needs one row per account."
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
        kinds = [v for v in column.counts.index if _category(v) not in OWNERSHIP_WORDS]
        if _matches(column.key, r"subsidiar|parent") and kinds:
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


def _draft_products(sample: _Sample, drafter: _DealsDrafter, file: str) -> dict[str, Any]:
    name = sample.path.name
    product_column = drafter.columns.get("product")
    deal_values = (
        drafter.sample.columns[product_column].filled if product_column is not None else None
    )
    key, row_share, _ = _pick_key(sample, deal_values, _compact, PRODUCT_KEY_WORDS)
    columns: dict[str, str] = {"product": key.name}
    if deal_values is None:
        drafter.note(
            f"{name}: key '{key.name}' chosen by its name; the deals have no product column "
            "to match it with."
        )
    else:
        _match_products(deal_values, key, drafter, name)
    repeats = key.counts.groupby(key.counts.index.map(_category)).sum()
    if (repeats > 1).any():
        drafter.todo(
            f"{name}: {_listed(repeats[repeats > 1].index)} appear more than once in "
            f"'{key.name}'; the contract needs one row per product."
        )
    _claim(sample, PRODUCT_RULES, columns, "products", drafter)
    drafter.left_out[name] = [c for c in sample.columns if c not in columns.values()]
    return {"file": file, "columns": columns}


def _match_products(
    deal_values: pd.Series, key: _Column, drafter: _DealsDrafter, name: str
) -> None:
    """Report the deals' products missing from the catalogue; map the near spellings."""
    product_column = drafter.columns["product"]
    catalogue = {_category(v): v for v in key.counts.index}
    by_letters = {_compact(v): v for v in key.counts.index}
    rows = deal_values.value_counts(sort=False)
    near: dict[str, str] = {}
    missing: dict[str, int] = {}
    for value, n in rows.items():
        if _category(value) in catalogue:
            continue
        if _compact(value) in by_letters:
            near[value] = by_letters[_compact(value)]
        else:
            missing[value] = missing.get(value, 0) + int(n)
    found = deal_values.map(lambda v: _category(v) in catalogue).mean()
    drafter.note(
        f"{name}: key '{key.name}' matches the deals' '{product_column}': {found:.0%} of the "
        "deals' products are in it as written (compared trimmed and lower-case)."
    )
    if near:
        drafter.values["product"] = dict(near)
        pairs = ", ".join(f"'{k}' ({_deals(int(rows[k]))}) -> '{v}'" for k, v in near.items())
        drafter.todo(
            f"the deals' '{product_column}' spells products differently from {name}: {pairs} "
            "(same letters once spaces and case are removed); a value map "
            "(tables.deals.values.product) now maps them: check it."
        )
    if missing:
        shown = ", ".join(f"'{k}' ({_deals(n)})" for k, n in list(missing.items())[:MAX_SHOWN])
        drafter.todo(
            f"products of the deals' '{product_column}' not in {name}: {shown}; their deals "
            "get no capabilities or list price. Add them to the catalogue or a value map."
        )
