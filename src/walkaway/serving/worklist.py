"""The worklist: which open deals to work first, and which ones a team's capacity covers.

Sorting by p_good alone ignores deal size, and sorting by p_win ignores regret. The worklist
ranks deals by their *work value*: the expected good value (amount x p_good) discounted by the
regret risk, p_good x amount x (1 - p_regret), and discounted by it once more when the model
says to walk away. A walk-away deal therefore comes after an otherwise equal deal, but a large
one can still be worth working. Chosen by experiment in the decision-value section of the
benchmarks (``benchmarks/quality.py``): at 50% capacity it captures 98.6% (20,000 synthetic
deals) and 99.3% (100,000) of the expected good value of an oracle ranking by the true
p_good x amount, working deals of less regret than an oracle ranking by the true p_good.
Following the recommendations in order captures 91-93%, and putting every walk-away deal last
93-95%: walk-away deals large enough to outweigh their risk are worth working.

The rank is over the whole scored file: the batch job folds each chunk's work values into a
:class:`WorklistRecord` (8 bytes a deal) and ranks them once every chunk is scored. Deals of
equal work value keep the file's order; deals without an amount (no value) come last.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from decimal import Decimal

import numpy as np
import pandas as pd

WORK_COLUMNS = ("priority", "work")  # added to the scored file once every chunk is scored
# What the work value needs of a scored deal.
NEEDED = ("amount", "p_good", "p_regret", "recommendation")
DISCOUNTED_TWICE = "walk_away"  # the recommendation whose regret risk counts twice
_CAPACITY = re.compile(r"^\s*(?:(\d+)|(\d+(?:\.\d+)?)\s*%)\s*$")


class CapacityError(ValueError):
    """A capacity that is neither a count of deals nor a share in percent."""


@dataclass(frozen=True)
class Capacity:
    """How many deals a team can work: a count (``count``) or a share of the scored deals in
    percent (``percent``), as ``--capacity 40`` or ``--capacity 30%``.

    Examples
    --------
    >>> Capacity.parse("30%").deals(1001), Capacity.parse("40").deals(25), str(Capacity.parse("12.5 %"))
    (300, 25, '12.5% of the scored deals')
    """

    count: int | None = None
    percent: Decimal | None = None

    @classmethod
    def parse(cls, text: str) -> Capacity:
        """A capacity from its text: a whole number of deals, or a percentage from 0% to 100%.

        Raises
        ------
        CapacityError
            Anything else, in one line.
        """
        match = _CAPACITY.match(text)
        if match is None:
            raise CapacityError(
                f"{text!r} is not a number of deals (like 40) or a share of them (like 30%)"
            )
        count, percent = match.groups()
        if count is not None:
            return cls(count=int(count))
        share = Decimal(percent)
        if share > 100:
            raise CapacityError(f"{text!r} is more than 100% of the deals")
        return cls(percent=share)

    def deals(self, scored: int) -> int:
        """How many of ``scored`` deals are worked: the count (at most every deal), or the
        share rounded down (computed exactly: 29% of 100 deals is 29)."""
        if self.count is not None:
            return min(self.count, scored)
        assert self.percent is not None
        return math.floor(self.percent * scored / 100)

    def __str__(self) -> str:
        if self.count is not None:
            return f"{self.count:,} deals"
        return f"{self.percent}% of the scored deals"


def work_value(scores: pd.DataFrame) -> np.ndarray:
    """Each deal's work value: p_good x amount x (1 - p_regret), with (1 - p_regret) twice
    for a walk-away deal; NaN when the amount (or a score) is unknown.

    Parameters
    ----------
    scores
        Scored deals with the columns of :data:`NEEDED`.

    Examples
    --------
    >>> scores = pd.DataFrame({"amount": [100.0, 100.0, None], "p_good": [0.5, 0.5, 0.5],
    ...                        "p_regret": [0.2, 0.2, 0.2],
    ...                        "recommendation": ["qualify", "walk_away", "pursue"]})
    >>> work_value(scores).round(1).tolist()
    [40.0, 32.0, nan]
    """
    amount = pd.to_numeric(scores["amount"], errors="coerce").to_numpy(dtype=float)
    p_good = pd.to_numeric(scores["p_good"], errors="coerce").to_numpy(dtype=float)
    kept = 1.0 - pd.to_numeric(scores["p_regret"], errors="coerce").to_numpy(dtype=float)
    twice = (scores["recommendation"] == DISCOUNTED_TWICE).to_numpy(dtype=bool)
    return amount * p_good * np.where(twice, kept * kept, kept)


def rank(values: np.ndarray) -> np.ndarray:
    """The priority of each deal (1 = work first): highest work value first, equal values in
    their given order, unknown values (NaN) last.

    Examples
    --------
    >>> rank(np.array([5.0, np.nan, 9.0, 5.0])).tolist()
    [2, 4, 1, 3]
    """
    values = np.asarray(values, dtype=float)
    order = np.lexsort((np.arange(len(values)), -np.nan_to_num(values, nan=-np.inf)))
    priority = np.empty(len(values), dtype=np.int64)
    priority[order] = np.arange(1, len(values) + 1)
    return priority


def work_marks(priority: np.ndarray, worked: int) -> np.ndarray:
    """``yes`` for the ``worked`` deals of highest priority, ``no`` for the others.

    Examples
    --------
    >>> work_marks(np.array([2, 4, 1, 3]), 2).tolist()
    ['yes', 'no', 'yes', 'no']
    """
    return np.where(np.asarray(priority) <= worked, "yes", "no").astype(object)


@dataclass
class WorklistRecord:
    """The work value of every scored deal, in file order, folded in chunk by chunk.

    Examples
    --------
    >>> record = WorklistRecord()
    >>> for chunk in ([3.0, 1.0], [], [7.0]):
    ...     record.add_values(np.array(chunk))
    >>> len(record), record.priorities().tolist()
    (3, [2, 3, 1])
    """

    chunks: list[np.ndarray] = field(default_factory=list)

    def add(self, scores: pd.DataFrame) -> None:
        """Fold in one chunk of scored deals (the columns of :data:`NEEDED`)."""
        self.add_values(work_value(scores))

    def add_values(self, values: np.ndarray) -> None:
        """Fold in one chunk's work values, in file order."""
        self.chunks.append(np.asarray(values, dtype=float))

    def __len__(self) -> int:
        return sum(len(c) for c in self.chunks)

    def values(self) -> np.ndarray:
        """Every deal's work value, in file order."""
        return np.concatenate(self.chunks) if self.chunks else np.empty(0)

    def priorities(self) -> np.ndarray:
        """Every deal's priority over the whole file (see :func:`rank`), in file order."""
        return rank(self.values())

    def columns(self, capacity: Capacity | None) -> dict[str, np.ndarray]:
        """The columns added to the scored file: ``priority``, and ``work`` (yes/no) when a
        capacity is given."""
        priority = self.priorities()
        added: dict[str, np.ndarray] = {"priority": priority}
        if capacity is not None:
            added["work"] = work_marks(priority, capacity.deals(len(priority)))
        return added
