"""The three signs it is time to walk away, plus the deal's context, and how features say them.

Every feature belongs to exactly one group, declared where the feature is defined. A feature
also knows how to say its value in a seller's words, for the reasons shown beside a score.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

SIGNS = ("glass_walls", "icp_fit", "need_fit")
GROUPS = (*SIGNS, "deal_context")
TITLES = {
    "glass_walls": "glass walls",
    "icp_fit": "ideal customer profile",
    "need_fit": "need fit",
    "deal_context": "deal context",
}


@dataclass(frozen=True)
class Feature:
    """A model input: the sign it belongs to and how to say its value in words."""

    sign: str
    label: str
    # Numeric features say a number, categorical ones a text: the value's type is the feature's.
    say: Callable[[Any], str]

    def describe(self, value: object) -> str:
        """The value in words; missing values say so.

        Examples
        --------
        >>> Feature("glass_walls", "competitors", lambda v: f"{v:.0f} competitors").describe(3.0)
        '3 competitors'
        >>> Feature("glass_walls", "competitors", str).describe(float("nan"))
        'competitors unknown'
        """
        import pandas as pd  # here: the command line imports this module for its help

        if value is None or (not isinstance(value, str) and pd.isna(value)):
            return f"{self.label} unknown"
        return self.say(value)


def yes_no(yes: str, no: str) -> Callable[[float], str]:
    """Words for a 0/1 feature."""
    return lambda value: yes if float(value) >= 0.5 else no


def after(prefix: str) -> Callable[[object], str]:
    """Words for a feature said as its value after a fixed prefix.

    >>> after("region ")("EMEA"), after("Competitor Type: ")("incumbent")
    ('region EMEA', 'Competitor Type: incumbent')
    """
    return lambda value: f"{prefix}{value}"


def plural(count: float, noun: str, nouns: str | None = None) -> str:
    """'1 competitor', '3 competitors'.

    >>> plural(1, "competitor"), plural(3.0, "competitor"), plural(2, "loss", "losses")
    ('1 competitor', '3 competitors', '2 losses')
    """
    n = int(round(float(count)))
    return f"{n} {noun if n == 1 else (nouns or noun + 's')}"


def day_text(moment: object, missing: str = "no dates") -> str:
    """A day as ``YYYY-MM-DD``, or ``missing`` when there is none.

    >>> import pandas as pd
    >>> day_text(pd.Timestamp("2025-03-01 14:30")), day_text(None), day_text(pd.NaT, "unknown")
    ('2025-03-01', 'no dates', 'unknown')
    """
    import pandas as pd  # here: the command line imports this module for its help

    if moment is None or pd.isna(moment):
        return missing
    return pd.Timestamp(moment).strftime("%Y-%m-%d")
