"""Reading back what ``walkaway score`` wrote: past scored pipelines, for ``walkaway monitor``.

A scored file is read like any export (:func:`walkaway.data.raw_files.read_table`: CSV in its
dialect, or Parquet; rows numbered as the file numbers them), and checked for what monitoring
needs: the columns, and a probability in [0, 1] on every row. A file that is not a scored file
is one line naming the file, the row and the column, never a traceback.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from walkaway.data.contracts import ContractError, Problem
from walkaway.data.raw_files import read_table

REQUIRED_COLUMNS = ("deal_id", "p_win", "recommendation", "model_version", "scored_at")


def read_scored(paths: list[Path]) -> pd.DataFrame:
    """The rows of past scored files, one frame, with ``source_file`` naming each row's file.

    Raises
    ------
    ContractError
        A file is missing or unreadable, lacks a column monitoring needs, or has a p_win that is
        not a probability.
    """
    frames = []
    for path in paths:
        raw = read_table(Path(path))
        missing = [c for c in REQUIRED_COLUMNS if c not in raw.columns]
        if missing:
            shown = ", ".join(f"'{c}'" for c in missing)
            rule = f"missing column {shown}: not a file written by walkaway score"
            raise ContractError([Problem(path.name, None, None, rule)])
        p_win = pd.to_numeric(raw["p_win"], errors="coerce")
        bad = p_win.isna() | (p_win < 0) | (p_win > 1)
        if bad.any():
            row = raw.index[bad.to_numpy()][0]
            value = str(raw.at[row, "p_win"])
            rule = "not a probability between 0 and 1"
            raise ContractError([Problem(path.name, int(row), "p_win", rule, value)])
        frames.append(raw.assign(p_win=p_win, source_file=path.name))
    return pd.concat(frames, ignore_index=True)
