"""Reading an open pipeline as the batch job reads it: chunk by chunk, every row scored or
rejected with its reason.

A chunk's raw rows go through the mapping and the contract (:func:`check_chunk`, with the date
format fixed on the first chunk so that every chunk reads dates alike); a deal id seen before, a
closed deal and an empty line are rejects too (:func:`reject_rows` writes them as the rejects
file holds them). The side tables (accounts, related tables, the deal history) are read once
and joined to each chunk's good rows (:class:`SideTables`). :func:`read_open_deals` reads a
whole file this way for ``walkaway explain`` and ``whatif`` and notebook 03.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from walkaway.data.contracts import ContractError, Problem
from walkaway.data.exports import check_raw, load_related, read_checked
from walkaway.data.history import join_accounts, join_related, join_stage_history
from walkaway.data.mapping import Mapping, RelatedTable, apply_mapping
from walkaway.data.raw_files import export_file, iter_table, read_dialect
from walkaway.serving.duplicate_ids import Repeats, SeenIds

REJECT_COLUMNS = ["row", "deal_id", "reason"]


def load_accounts(path: Path | None, mapping: Mapping) -> tuple[pd.DataFrame | None, str]:
    """The accounts table (good rows only) and a note on what was left out."""
    if path is None:
        return None, "no accounts file: ICP firmographics are unknown for every deal"
    return _good_rows(path, mapping, "accounts", "account")


def load_deal_history(folder: Path, mapping: Mapping) -> tuple[pd.DataFrame | None, str]:
    """The mapping's deal-history table beside the pipeline (good rows only), or None when the
    mapping names none or the file is absent, and a note on what was left out."""
    if "deal_history" not in mapping.tables:
        return None, ""
    path = export_file(folder, mapping.tables["deal_history"].file)
    if not path.is_file():
        return None, ""
    return _good_rows(path, mapping, "deal_history", "deal-history")


def _good_rows(path: Path, mapping: Mapping, table: str, what: str) -> tuple[pd.DataFrame, str]:
    """A side table's rows that keep the contract, and a note on the rows left out."""
    checked = read_checked(path, mapping, table)
    note = ""
    if checked.problems:
        first = checked.problems[0]
        note = f"{len(checked.rejected_rows)} {what} rows left out (first: {first})"
    return checked.frame, note


@dataclass
class SideTables:
    """What the batch job joins to each checked chunk of open deals: the accounts, the
    mapping's related tables and the deal history, read once (good rows only)."""

    accounts: pd.DataFrame | None
    related: dict[str, tuple[RelatedTable, pd.DataFrame]]
    stage_history: pd.DataFrame | None
    note: str  # the rows of the side tables left out, and a missing accounts file

    @classmethod
    def beside(cls, deals: Path, mapping: Mapping, accounts: Path | None = None) -> SideTables:
        """The side tables of a pipeline file: ``accounts`` when given, else the mapping's
        accounts file beside it; the related tables and deal history beside it."""
        if accounts is None and "accounts" in mapping.tables:
            beside = export_file(deals.parent, mapping.tables["accounts"].file)
            accounts = beside if beside.is_file() and beside != deals else None
        account_table, note = load_accounts(accounts, mapping)
        stage_history, history_note = load_deal_history(deals.parent, mapping)
        note = "; ".join(n for n in (note, history_note) if n)
        return cls(account_table, load_related(deals.parent, mapping), stage_history, note)

    def join(self, good: pd.DataFrame) -> pd.DataFrame:
        """Checked open deals with their account's firmographics, related tables and stage
        history joined, and ``account_found`` when there is an accounts table."""
        frame, _ = join_related(join_accounts(good, self.accounts), self.related)
        frame, _ = join_stage_history(frame, self.stage_history)
        if self.accounts is not None:
            frame["account_found"] = good["account_id"].isin(self.accounts["account_id"])
        return frame


@dataclass
class OpenPipeline:
    """A whole pipeline file read as the batch job reads each of its chunks, without scoring
    (:func:`read_open_deals`)."""

    deals: pd.DataFrame  # canonical open deals, side tables joined, indexed by source row
    rejects: pd.DataFrame  # REJECT_COLUMNS: source row, deal id as written, every reason
    problems: list[Problem]  # every broken rule of the rows left out, located
    mapping: Mapping
    notes: list[str]  # how the file was read (delimiter, dates, ids, side tables)


def read_open_deals(deals: Path, mapping: Mapping, accounts: Path | None = None) -> OpenPipeline:
    """Read a whole pipeline file as :func:`score_file` reads it chunk by chunk, for a notebook
    or one deal: the same checks (contract, closed deals, repeated ids, malformed lines) and the
    same side tables joined (:class:`SideTables`), so a deal read here scores as in the batch.

    Raises
    ------
    ContractError
        The file cannot be read or mapped at all (not for bad rows: they are rejects).
    """
    deals = Path(deals)
    dialect = read_dialect(deals, mapping.delimiter, mapping.decimal)
    malformed: list[Problem] = []
    raw = pd.concat(list(iter_table(deals, None, dialect, malformed)))
    reading = decide_reading(raw, mapping, deals.name, dialect.decimal)
    good, problems = check_chunk(raw, mapping, deals.name, reading)
    good, repeated = reject_repeats(good, SeenIds().repeats, mapping, deals.name)
    problems += repeated + malformed
    side = SideTables.beside(deals, mapping, accounts)
    id_note = mapping.tables["deals"].id_note(deals.name)
    notes = [*dialect.notes, *reading.notes, *(n for n in (id_note, side.note) if n)]
    rejects = reject_rows(raw, problems, mapping)
    return OpenPipeline(side.join(good), rejects, problems, mapping, notes)


@dataclass
class ChunkReading:
    """How the chunks of one file are read: decided once, on the first rows
    (:func:`decide_reading`), so that every chunk reads dates the same way."""

    date_format: str | None
    decided: bool
    decimal: str
    notes: list[str] = field(default_factory=list)


def decide_reading(raw: pd.DataFrame, mapping: Mapping, file: str, decimal: str) -> ChunkReading:
    """How every chunk of a file is read, decided on its first chunk ``raw``: the mapping's date
    format, or the one the first chunk's dates show (undecided while ``raw`` has no rows).

    Raises
    ------
    ContractError
        A problem of the whole file (a date column the mapping's format misreads).
    """
    if mapping.date_format is not None:
        return ChunkReading(mapping.date_format, True, decimal)
    if raw.empty:
        return ChunkReading(None, False, decimal)
    checked = check_raw(raw, mapping, "deals", file, decimal=decimal, unique=False)
    _raise_whole_file(checked.problems)
    # ISO 8601 is spelled out so that later chunks do not infer again.
    return ChunkReading(checked.date_format or "ISO8601", True, decimal, list(checked.notes))


def _raise_whole_file(problems: list[Problem]) -> None:
    whole_file = [p for p in problems if p.row is None]
    if whole_file:
        raise ContractError(whole_file)


def check_chunk(
    raw: pd.DataFrame, mapping: Mapping, file: str, reading: ChunkReading
) -> tuple[pd.DataFrame, list[Problem]]:
    """Typed open deals of one chunk, and the problems of the rows left out (the contract's,
    and closed deals). Repeated deal ids are the next step's (:func:`reject_repeats`).

    Raises
    ------
    ContractError
        A problem of the whole file (a date column the mapping's format misreads).
    """
    if raw.empty:  # a header and no rows (or only malformed lines): nothing to check
        return apply_mapping(raw, mapping, "deals", file), []
    checked = check_raw(
        raw,
        mapping,
        "deals",
        file,
        decimal=reading.decimal,
        date_format=reading.date_format,
        unique=False,
    )
    _raise_whole_file(checked.problems)
    good, problems = checked.frame, list(checked.problems)

    closed = good["outcome"].isin(["won", "lost"])
    outcome_column = mapping.source_names("deals").get("outcome", "outcome")
    problems += [
        Problem(
            file,
            int(row),
            outcome_column,
            f"already closed ({outcome}): only open deals are scored",
        )
        for row, outcome in good.loc[closed, "outcome"].items()
    ]
    return good[~closed], problems


def reject_repeats(
    good: pd.DataFrame, repeats: Repeats, mapping: Mapping, file: str
) -> tuple[pd.DataFrame, list[Problem]]:
    """The checked open deals of a chunk without the ones whose deal id an earlier row has
    (``repeats`` says which: see :mod:`walkaway.serving.duplicate_ids`), and their problems."""
    first_rows = repeats(good["deal_id"])
    id_column = mapping.source_names("deals").get("deal_id", "deal_id")
    problems = [
        Problem(
            file,
            row,
            id_column,
            f"duplicate deal_id (first at row {first})",
            good.at[row, "deal_id"],
        )
        for row, first in first_rows.items()
    ]
    return good.drop(index=list(first_rows)), problems


def reject_rows(raw: pd.DataFrame, problems: list[Problem], mapping: Mapping) -> pd.DataFrame:
    """One line per rejected row: its source row, its deal id as written, and every reason."""
    reasons: dict[int, list[str]] = defaultdict(list)
    for problem in problems:
        if problem.row is not None:  # a chunk's problems are all of rows
            reasons[problem.row].append(problem.reason)
    deals = mapping.tables["deals"]
    id_column = deals.columns.get("deal_id", "deal_id")
    rows = sorted(reasons)
    if deals.id_from:
        ids = deals.deal_ids(raw).reindex(rows)
    elif id_column in raw:
        ids = raw[id_column].reindex(rows)
    else:
        ids = pd.Series(index=rows, dtype=object)
    return pd.DataFrame(
        {
            "row": rows,
            "deal_id": [None if pd.isna(v) else str(v)[:200] for v in ids],
            "reason": ["; ".join(dict.fromkeys(reasons[r])) for r in rows],
        }
    )
