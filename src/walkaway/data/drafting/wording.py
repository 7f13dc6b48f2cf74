"""How findings name values and counts: short quoted lists and "N deals", in plain words.

Every drafting step writes its findings with these, so that all of them cut long lists the same
way (at most :data:`MAX_SHOWN` values, then "and N more").
"""

from __future__ import annotations

from collections.abc import Iterable

import pandas as pd

MAX_SHOWN = 8  # values or columns named in one finding before "and N more"


def listed(items: Iterable[str], limit: int = MAX_SHOWN) -> str:
    """Quoted names, at most ``limit`` of them, then how many more."""
    items = list(items)
    shown = ", ".join(f"'{item}'" for item in items[:limit])
    more = len(items) - limit
    return shown + (f" and {more} more" if more > 0 else "")


def counted(counts: pd.Series, limit: int = MAX_SHOWN) -> str:
    """'Prospecting 500, Engaging 12' from value counts, biggest first."""
    ordered = counts[counts > 0].sort_values(ascending=False, kind="stable")
    shown = ", ".join(f"{value} {int(n):,}" for value, n in ordered.iloc[:limit].items())
    more = len(ordered) - limit
    return shown + (f" and {more} more" if more > 0 else "")


def deal_count(n: int) -> str:
    """'1 deal', '1,480 deals'."""
    return f"{n:,} deal" + "s" * (n != 1)
