"""The deals table's mapping, column by column: ids, outcome, labels, leaks, features, extras.

:class:`DealsDrafter` walks the columns of a deals sample in a fixed order, each step claiming
the columns it recognises (by the names of :mod:`walkaway.data.drafting.vocabulary` and the
values of :mod:`walkaway.data.drafting.column_profile`) before the next one looks, and writes a
finding for every decision and doubt. The order matters: ids and the outcome first, then the
columns known only after the close (so that they never become features), then the features.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from walkaway.data.cell_values import FALSE_WORDS, TRUE_WORDS
from walkaway.data.column_signal import POST_CLOSE_NAMES
from walkaway.data.contracts import TABLE_COLUMNS
from walkaway.data.drafting.column_profile import MOSTLY, ColumnProfile, FileSample, fits
from walkaway.data.drafting.dates import find_dates
from walkaway.data.drafting.vocabulary import (
    ACCOUNT_WORDS,
    AMOUNT_WORDS,
    CLOSED_SOUNDING_WORDS,
    CONTEXT_RULES,
    DEAL_ID_WORDS,
    DEAL_WORDS,
    FEATURE_RULES,
    LABEL_RULES,
    NONE_WORDS,
    NOT_ACCOUNT_ID_WORDS,
    NOT_AMOUNT_WORDS,
    OUTCOME_NAME_WORDS,
    OWNER_WORDS,
    POST_OUTCOME_WORDS,
    SPECIFIC_FEATURE_RULES,
    STAGE_VALUE_WORDS,
    category,
    guess_sign,
    matches,
    name_fit,
    normalise_name,
    outcome_of,
)
from walkaway.data.drafting.wording import counted, listed
from walkaway.data.mapping import ROW_NUMBER
from walkaway.signs import GROUPS, TITLES

NEARLY_UNIQUE = 0.98  # share of distinct values among filled cells for a deal id
MIN_ACCOUNTS = 10  # fewer accounts, each with 10 deals or more: a category, not an id
MAX_OUTCOME_VALUES = 50  # an outcome or stage column has a handful of distinct values

# Deal columns whose choice has its own finding (not repeated in the list of features).
REPORTED_ELSEWHERE = frozenset(
    {"deal_id", "account_id", "created_date", "closed_date", "outcome", "amount", "stage"}
)


class DealsDrafter:
    """Guesses the deals table's mapping, column by column, and notes why."""

    def __init__(self, sample: FileSample) -> None:
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

    def free(self) -> list[ColumnProfile]:
        return [c for c in self.sample.columns.values() if c.name not in self.used]

    def by_outcome(self, mask: pd.Series) -> str:
        """How the rows of ``mask`` split by the export's outcome value, in words."""
        if "outcome" not in self.columns:
            return ""
        stages = self.sample.columns[self.columns["outcome"]].text[mask]
        return f" ({self.columns['outcome']}: {counted(stages.value_counts())})"

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
        find_dates(self)  # walkaway.data.drafting.dates
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
            if matches(column.key, ACCOUNT_WORDS) or matches(column.key, r"amount|value|date"):
                continue
            score = 2 * bool(matches(column.key, DEAL_ID_WORDS))
            score += 2 * bool(matches(column.key, DEAL_WORDS)) + 5 * (column.key == "deal id")
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
                f"({int(repeats.sum()):,} rows, e.g. {listed(repeats.index[:3])}); the "
                "contract needs unique deal ids, so repeats are dropped or rejected when the "
                "export is read: check whether they are one deal exported twice or different "
                "deals sharing an id."
            )
        else:
            self.note(f"deal id: '{column.name}' (every value different).")

    def find_outcome(self) -> None:
        best: tuple[float, ColumnProfile] | None = None
        for column in self.free():
            if not column.n_filled or column.numeric:
                continue
            folded = column.counts.groupby(column.counts.index.map(category)).sum()
            if len(folded) > MAX_OUTCOME_VALUES:
                continue
            outcomes = [outcome_of(v) for v in folded.index]
            named = bool(matches(column.key, OUTCOME_NAME_WORDS))
            stage_like = [bool(matches(v, STAGE_VALUE_WORDS)) for v in folded.index]
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
            if category(value) not in {category(k) for k in value_map}:
                value_map[value] = outcome_of(value)
        ordered = {
            value: target
            for wanted in ("won", "lost", "open")
            for value, target in value_map.items()
            if target == wanted
        }
        self.columns["outcome"] = column.name
        if any(category(value) != target for value, target in ordered.items()):
            self.values["outcome"] = ordered
        lookup = {category(v): t for v, t in ordered.items()}
        self.outcomes = column.text.map(lambda v: None if v is None else lookup.get(category(v)))
        rows = column.counts.groupby(column.counts.index.map(category)).sum()
        shown = {
            target: [v for v, t in ordered.items() if t == target] for target in ("won", "lost")
        }
        if shown["won"] or shown["lost"]:
            self.note(
                f"outcome: '{column.name}', {listed(shown['won']) or 'no value'} -> won, "
                f"{listed(shown['lost']) or 'no value'} -> lost."
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
        counts = ", ".join(f"'{v}' ({int(rows[category(v)]):,} rows)" for v in opened)
        if [category(v) for v in opened] == ["open"]:
            self.note(f"open deals: {counts}.")
            return
        self.todo(
            f"check the values of '{column.name}' mapped to open (deals still in the "
            f"pipeline): {counts}. Change any that mean a closed deal to won or lost in "
            "tables.deals.values.outcome."
        )
        closed_sounding = [v for v in opened if matches(category(v), CLOSED_SOUNDING_WORDS)]
        if closed_sounding:
            self.todo(
                f"{listed(closed_sounding)} sound like closed deals but say neither won nor "
                "lost: they were mapped to open; a deal we gave up on is usually lost."
            )

    def find_account_id(self) -> None:
        candidates = []
        for column in self.free():
            if not column.n_filled or not matches(column.key, ACCOUNT_WORDS):
                continue
            if matches(column.key, NOT_ACCOUNT_ID_WORDS) and not matches(
                column.key, r"id\b|number\b|code\b|key\b"
            ):
                continue
            if matches(column.key, OWNER_WORDS) or column.unique_share >= 1.0:
                continue
            if len(column.counts) < MIN_ACCOUNTS and column.n_filled >= 10 * len(column.counts):
                continue  # a few values (New / Current / Past) describe, they do not identify
            score = 2 * bool(matches(column.key, r"id\b|number\b|code\b|key\b"))
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

    def find_labels(self) -> None:
        for canonical, words, kind in LABEL_RULES:
            if canonical in self.columns:
                continue
            for column in self.free():
                if not matches(column.key, words):
                    continue
                if fits(column, kind):
                    self.columns[canonical] = column.name
                    self.post_outcome[column.name] = (
                        f"'{column.name}' mapped to {canonical} (a label of the regret head, "
                        "never a feature) and listed as post_outcome."
                    )
                else:
                    self.post_outcome[column.name] = (
                        f"'{column.name}' listed as post_outcome: its name says "
                        f"'{matches(column.key, words)}', known only after the sale; its values "
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
            word = matches(column.key, POST_OUTCOME_WORDS)
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
                ((fit, c) for fit, c in named if fit or matches(c.key, words)),
                key=lambda pair: -pair[0],
            )
            for _, column in ranked:
                if not column.n_filled:
                    continue
                if canonical == "incumbent_vendor" and column.yes_no:
                    continue  # "competitors present: yes" says a rival bids, not who is in
                if fits(column, kind):
                    self.columns[canonical] = column.name
                    self.check_feature(canonical, column)
                    break
                if kind == "bool":
                    self.note(
                        f"'{column.name}' looks like {canonical} but its values are not yes/no "
                        f"({listed(column.counts.index[:5])}): left out; map it with a value "
                        "map to yes/no if it is one."
                    )
                    break

    def check_feature(self, canonical: str, column: ColumnProfile) -> None:
        spec = TABLE_COLUMNS["deals"][canonical]
        if spec.kind == "number":
            bad = column.filled[column.numbers[column.filled.index].isna()]
            if len(bad):
                self.todo(
                    f"{len(bad):,} values of '{column.name}' ({canonical}) are not numbers "
                    f"(e.g. {listed(bad.unique()[:3])}): the contract rejects their rows."
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
                f"(e.g. {listed(bad.unique()[:3])}): the contract rejects their rows."
            )
        if canonical == "incumbent_vendor":
            self.check_incumbent(column)

    def check_incumbent(self, column: ColumnProfile) -> None:
        """A blank incumbent means none; values that say 'none' are mapped to blank."""
        nothing = [v for v in column.counts.index if category(v) in NONE_WORDS]
        if nothing:
            self.values["incumbent_vendor"] = {v: "" for v in nothing}
        unknown = [v for v in column.counts.index if "unknown" in category(v)]
        few = len(column.counts) <= 6
        values = f" (values: {counted(column.counts)})" if few else ""
        self.note(
            f"'{column.name}' mapped to incumbent_vendor{values}: any non-empty value counts "
            "as a rival in place"
            + (f"; {listed(nothing)} mapped to empty (no rival)" if nothing else "")
            + "."
        )
        if unknown:
            self.todo(
                f"'{column.name}': {listed(unknown)} is kept as a rival in place; if it means "
                "no known rival, add it to tables.deals.values.incumbent_vendor with an empty "
                "value ('')."
            )

    def find_amount(self) -> None:
        for words in AMOUNT_WORDS:
            for column in self.free():
                if not column.numeric or not matches(column.key, words):
                    continue
                if matches(column.key, NOT_AMOUNT_WORDS):
                    continue
                self.columns["amount"] = column.name
                self.note(f"amount: '{column.name}'.")
                self.check_feature("amount", column)
                return
        leaky = [c for c in self.post_outcome if matches(normalise_name(c), "|".join(AMOUNT_WORDS))]
        because = (
            f" ({listed(leaky)} looks like one but is known only after the close)" if leaky else ""
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
            named = matches(column.key, r"stage|phase")
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
                f"{TITLES[sign]}: {listed(names, 40)}" for sign, names in by_sign.items() if names
            )
            self.todo(
                f"features guessed from their names (tables.deals.features), check each sign: "
                f"{said}."
            )

    def ignore_reason(self, column: ColumnProfile) -> str | None:
        """Why a free column is no feature, or None when it can be one."""
        if not column.n_filled:
            return "empty"
        if len(column.counts) == 1:
            return f"one value only ({listed(column.counts.index)})"
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
        parts = [f"{file}: {listed(names, 40)}" for file, names in others.items()]
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
                f"files beside the export were not read: {listed(others)}. Pass account facts "
                "with --accounts and a product catalogue with --products; the mapping format "
                "has no other tables (a sales-team file's region would have to be joined into "
                "the deals first)."
            )
