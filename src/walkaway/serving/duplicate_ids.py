"""The duplicate rule of a pipeline: a deal id already given by an earlier row is a reject.

Only rows that pass the contract and are open count: a rejected or closed row does not make a
later row with its id a duplicate. The rule is one step of its own in both engines, because it
is the one check that needs the whole file:

- the local batch job reads the file in order, so :class:`SeenIds` remembers each id's first
  row as the chunks go by;
- Spark scores chunks in any order, so the repeats of the whole file are found first, in one
  step (a window over the file: :mod:`walkaway.serving.spark_engine`), and
  :class:`KnownRepeats` hands each chunk its own.

Either way, :func:`walkaway.serving.pipeline_reading.reject_repeats` asks a ``Repeats``
function which of a chunk's rows repeat an earlier row.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import pandas as pd

# The deal ids of a chunk's good open rows (indexed by source row) -> {row: the id's first row}
# for the rows that repeat an earlier one.
Repeats = Callable[[pd.Series], dict[int, int]]


@dataclass
class SeenIds:
    """Each deal id's first row, remembered as the chunks of a file go by in file order.

    Examples
    --------
    >>> seen = SeenIds()
    >>> seen.repeats(pd.Series(["a", "b", "a"], index=[2, 3, 5]))
    {5: 2}
    >>> seen.repeats(pd.Series(["b", "c"], index=[7, 8]))
    {7: 3}
    """

    first_row: dict[str, int] = field(default_factory=dict)

    def repeats(self, ids: pd.Series) -> dict[int, int]:
        """The rows of ``ids`` whose id came before (in this chunk or an earlier one)."""
        repeated: dict[int, int] = {}
        for row, deal_id in ids.items():
            first = self.first_row.setdefault(deal_id, int(row))
            if first != row:
                repeated[int(row)] = first
        return repeated


@dataclass(frozen=True)
class KnownRepeats:
    """The repeats of a whole file, found before scoring; each chunk asks for its own.

    Examples
    --------
    >>> known = KnownRepeats({5: 2, 9: 2})
    >>> known.repeats(pd.Series(["a", "c"], index=[5, 6]))
    {5: 2}
    """

    first_rows: dict[int, int]

    def repeats(self, ids: pd.Series) -> dict[int, int]:
        """The rows of ``ids`` that repeat an earlier row of the file."""
        return {int(r): self.first_rows[int(r)] for r in ids.index if int(r) in self.first_rows}
