"""Cell text into values: numbers, dates, yes/no flags, categories and capability lists.

Exports are text typed by people in many locales. These parsers are the only place walkaway
decides what ``1.234,56``, ``03/05/2024``, ``Y`` or ``" EMEA "`` mean: the contract
(:mod:`walkaway.data.contracts`), ``validate``'s quality checks and the mapping drafter all read
cells through them, so a value is never read one way when checked and another when profiled.
"""

from __future__ import annotations

import re

import numpy as np
import pandas as pd

TRUE_WORDS = frozenset({"yes", "y", "true", "t", "1", "1.0"})
FALSE_WORDS = frozenset({"no", "n", "false", "f", "0", "0.0"})
# What people add to numbers that is not a digit or a mark: currency signs, spaces (also the
# no-break and narrow no-break spaces of French and Swiss exports) and Swiss apostrophes.
NUMBER_DECORATION = r"[$€£\s\u00a0\u202f']"


def is_blank(values: pd.Series) -> pd.Series:
    """Empty cells: missing, or only spaces.

    >>> is_blank(pd.Series(["a", " ", "", None])).tolist()
    [False, True, True, True]
    """
    return values.isna() | values.astype("string").str.strip().eq("").fillna(False)


def normalise_category(values: pd.Series) -> pd.Series:
    """Trim, collapse inner spaces and lower-case, so 'EMEA ', 'emea' and 'Emea' are one value.

    Examples
    --------
    >>> normalise_category(pd.Series([" North  America", "NORTH AMERICA", None])).tolist()
    ['north america', 'north america', nan]
    """
    text = values.astype("string").str.strip().str.replace(r"\s+", " ", regex=True).str.lower()
    return text.mask(text == "").astype(object).where(text.notna(), np.nan)


def parse_capabilities(text: object) -> frozenset[str]:
    """Split a ';' or ',' separated list of capabilities into a set of normalised names.

    Examples
    --------
    >>> sorted(parse_capabilities("SSO; api access,  Forecasting"))
    ['api access', 'forecasting', 'sso']
    >>> parse_capabilities(None)
    frozenset()
    """
    if not isinstance(text, str):
        return frozenset()
    parts = text.replace(",", ";").split(";")
    return frozenset(" ".join(p.split()).lower() for p in parts if p.strip())


def parse_numbers(text: pd.Series, decimal: str = ".") -> pd.Series:
    """Read numbers as people type them, with ``decimal`` as the decimal mark.

    Currency signs and spaces are dropped; the other mark is a thousands separator only where
    it groups digits in threes. Anything else is NaN, so ``1.234,56`` under a decimal point is
    rejected instead of becoming 1.23456, and so are infinities (``inf``, ``1e400``): no deal
    is worth infinity.

    Examples
    --------
    >>> parse_numbers(pd.Series(["1,234.5", "$ 1 200", "12.5", "1.234,56", "1,5", "-3e2"])).tolist()
    [1234.5, 1200.0, 12.5, nan, nan, -300.0]
    >>> parse_numbers(pd.Series(["inf", "1e400", "-Infinity", "NaN"])).tolist()
    [nan, nan, nan, nan]
    >>> parse_numbers(pd.Series(["1.234,56", "12,5", "1.500", "1,234.5"]), decimal=",").tolist()
    [1234.56, 12.5, 1500.0, nan]
    """
    group = "," if decimal == "." else "."
    compact = text.astype("string").str.replace(NUMBER_DECORATION, "", regex=True)
    grouped = compact.str.fullmatch(
        rf"[+-]?\d{{1,3}}(?:{re.escape(group)}\d{{3}})+(?:{re.escape(decimal)}\d+)?"
    ).fillna(False)
    ungrouped = ~compact.str.contains(group, regex=False).fillna(False)
    usable = (grouped | ungrouped).astype(bool)
    plain = compact.str.replace(group, "", regex=False).str.replace(decimal, ".", regex=False)
    parsed = pd.Series(pd.to_numeric(plain.where(usable), errors="coerce"), index=text.index)
    return parsed.astype(float).mask(np.isinf(parsed.astype(float)))


# strptime formats tried on date columns whose mapping gives no format, most common first. Pairs
# that read the same text differently (dd/mm vs mm/dd) are told apart by the values, else the
# first one wins and the notes say so. None is ISO 8601 (with or without a time and zone).
DATE_FORMATS: tuple[str, ...] = (
    "%Y-%m-%d",
    "%d/%m/%Y",
    "%m/%d/%Y",
    "%d.%m.%Y",
    "%Y/%m/%d",
    "%d/%m/%y",
    "%m/%d/%y",
    "%Y-%m-%d %H:%M:%S",
    "%Y-%m-%dT%H:%M:%S",
    "%d/%m/%Y %H:%M",
    "%m/%d/%Y %H:%M",
)


WRONG_FORMAT_SHARE = 0.05  # of a date column's filled values that the mapping's format rejects


def parse_dates(text: pd.Series, date_format: str | None) -> pd.Series:
    """Dates in ``date_format`` (ISO 8601 when None); NaT where a value does not parse.

    Timestamps with a zone (Salesforce's 2024-01-15T10:22:31.000Z) become UTC wall time.
    """
    fmt = date_format or "ISO8601"
    return pd.to_datetime(text, format=fmt, errors="coerce", utc=True).dt.tz_localize(None)


def _filled_text(values: pd.Series) -> pd.Series:
    text = values.dropna().astype("string").str.strip()
    return text[text != ""]


def infer_date_format(columns: list[pd.Series]) -> tuple[str | None, str]:
    """The date format that reads every value of ``columns`` (text), and a note when the
    choice is not certain: ISO 8601 (None) first, then :data:`DATE_FORMATS` in order.

    Examples
    --------
    >>> infer_date_format([pd.Series(["2024-03-01", "2024-03-20T10:00:00Z"])])
    (None, '')
    >>> infer_date_format([pd.Series(["03/25/2024", "04/01/2024"])])
    ('%m/%d/%Y', '')
    >>> infer_date_format([pd.Series(["03/05/2024"])])[0]
    '%d/%m/%Y'
    """
    filled = [_filled_text(c) for c in columns]
    filled = [c for c in filled if len(c)]
    if not filled:
        return None, ""
    counts: dict[str | None, int] = {}
    for fmt in (None, *DATE_FORMATS):
        counts[fmt] = sum(int(parse_dates(c, fmt).notna().sum()) for c in filled)
    total = sum(len(c) for c in filled)
    complete = [fmt for fmt, n in counts.items() if n == total]
    if not complete:
        best = max(counts, key=lambda f: counts[f])  # the first of the best, in order
        shown = best or "ISO 8601"
        return best, f"dates read as {shown}, the format that reads most of them"
    chosen = complete[0]
    swapped = {"%d/%m/%Y": "%m/%d/%Y", "%d/%m/%y": "%m/%d/%y", "%d/%m/%Y %H:%M": "%m/%d/%Y %H:%M"}
    if chosen in swapped and swapped[chosen] in complete:
        return chosen, (
            f"dates read day first ({chosen}): no day is above 12, so month first "
            f"({swapped[chosen]}) would read them too; set date_format in the mapping if so"
        )
    return chosen, ""


def wrong_date_format(values: pd.Series, date_format: str | None) -> str | None:
    """Another format that reads every value of a date column that ``date_format`` rejects in
    part (at least :data:`WRONG_FORMAT_SHARE`), or None.

    Half-rejected US dates under ``%d/%m/%Y`` mean the other half were read with day and
    month swapped: the column must be refused, not half scored.

    >>> wrong_date_format(pd.Series(["01/02/2024", "12/25/2024"]), "%d/%m/%Y")
    '%m/%d/%Y'
    """
    filled = _filled_text(values)
    if filled.empty:
        return None
    rejected = int(parse_dates(filled, date_format).isna().sum())
    if rejected == 0 or rejected < WRONG_FORMAT_SHARE * len(filled):
        return None
    for fmt in (None, *DATE_FORMATS):
        if fmt != date_format and parse_dates(filled, fmt).notna().all():
            return fmt or "ISO 8601"
    return None


def spellings_of(values: pd.Series) -> dict[str, str]:
    """Each compared (normalised) value of a text column -> its most common spelling as written
    (trimmed, inner spaces collapsed), so that reasons say "Product D", not "product d".

    Examples
    --------
    >>> spellings_of(pd.Series(["Product D", " product  D", "Product D", "NA", None]))
    {'na': 'NA', 'product d': 'Product D'}
    """
    text = values.dropna().astype("string").str.strip().str.replace(r"\s+", " ", regex=True)
    text = text[text != ""]
    if text.empty:
        return {}
    counts = pd.DataFrame({"key": text.str.lower(), "spelling": text}).value_counts()
    ordered = counts.reset_index().sort_values(
        ["key", "count", "spelling"], ascending=[True, False, True]
    )
    return dict(ordered.drop_duplicates("key")[["key", "spelling"]].itertuples(index=False))


def parse_flags(text: pd.Series) -> pd.Series:
    """Yes/no words as True and False (:data:`TRUE_WORDS`, :data:`FALSE_WORDS`, any case);
    anything else, blank included, is NaN.

    Examples
    --------
    >>> parse_flags(pd.Series(["Yes", "n", "TRUE", "0", "maybe", None])).tolist()
    [True, False, True, False, nan, nan]
    """
    lowered = text.astype("string").str.strip().str.lower()
    parsed = pd.Series(np.nan, index=text.index, dtype=object)
    parsed[lowered.isin(TRUE_WORDS).fillna(False).astype(bool)] = True
    parsed[lowered.isin(FALSE_WORDS).fillna(False).astype(bool)] = False
    return parsed
