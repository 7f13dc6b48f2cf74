"""Reading one canonical column for a feature: an export may lack any optional column, and then
every deal's value is unknown (NaN), never an error."""

from __future__ import annotations

import numpy as np
import pandas as pd


def column(frame: pd.DataFrame, name: str) -> pd.Series:
    """The column as it is, or all unknown when the frame lacks it.

    >>> column(pd.DataFrame({"a": [1]}), "b").isna().all()
    np.True_
    """
    return frame[name] if name in frame else pd.Series(np.nan, frame.index, object)


def numbers(frame: pd.DataFrame, name: str) -> pd.Series:
    """The column as floats (flags are 0/1 in the canonical frame); unknown when absent or
    not a number.

    >>> numbers(pd.DataFrame({"flag": [1, 0, None]}), "flag").tolist()
    [1.0, 0.0, nan]
    >>> numbers(pd.DataFrame({"flag": [1]}), "tender").tolist()
    [nan]
    """
    return pd.to_numeric(column(frame, name).astype(object), errors="coerce").astype(float)
