"""The wire format: canonical deal columns as plain text and floats, as the MLflow model takes them.

A model served over MLflow (pyfunc, ``spark_udf``, ``mlflow models serve``) receives plain
columns, not the typed frame the batch job builds. :func:`to_wire` writes canonical deals in that
format; :func:`parse_canonical` types it back leniently on the model's side.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from walkaway.data.contracts import (
    ACCOUNT_COLUMNS,
    DEAL_COLUMNS,
    EXTRA_PREFIX,
    ColumnSpec,
    parse_column,
)

WIRE_COLUMNS: dict[str, ColumnSpec] = {
    **{k: v for k, v in DEAL_COLUMNS.items() if not v.label_only},
    **{k: v for k, v in ACCOUNT_COLUMNS.items() if k not in ("account_id", "account_name")},
    "account_found": ColumnSpec("bool", meaning="the deal's account is in the accounts table"),
}


def parse_canonical(frame: pd.DataFrame) -> pd.DataFrame:
    """Leniently type a frame of canonical deal columns (text or already typed).

    The model's own entry point for callers that bring canonical columns, such as the MLflow
    pyfunc: values that do not parse become missing instead of failing the whole batch (the
    batch job checks rows strictly before this). Dates are ISO 8601.

    Examples
    --------
    >>> typed = parse_canonical(pd.DataFrame({"amount": ["1,200"], "formal_tender": ["Yes"],
    ...                                       "created_date": ["2024-05-01"], "misc": ["kept"]}))
    >>> typed.loc[0, "amount"], typed.loc[0, "formal_tender"], str(typed.loc[0, "created_date"])
    (np.float64(1200.0), True, '2024-05-01 00:00:00')
    """
    typed = frame.copy()
    for name in typed.columns:
        spec = WIRE_COLUMNS.get(name) or (ColumnSpec("date") if name == "as_of" else None)
        if spec is None:
            continue
        values = typed[name]
        parsed, _, _ = parse_column(values, spec, None)
        typed[name] = parsed
    return typed


def to_wire(frame: pd.DataFrame) -> pd.DataFrame:
    """Canonical deal columns in the plain types the MLflow pyfunc takes: text, and floats for
    numbers (dates as ISO text, yes/no as 'true'/'false')."""
    columns = [
        c for c in frame.columns if c in WIRE_COLUMNS or c == "as_of" or c.startswith(EXTRA_PREFIX)
    ]
    wire = pd.DataFrame(index=frame.index)
    for name in columns:
        kind = (
            WIRE_COLUMNS[name].kind
            if name in WIRE_COLUMNS
            else ("date" if name == "as_of" else "text")
        )
        values = frame[name]
        if kind == "number":
            wire[name] = pd.to_numeric(values, errors="coerce").astype(float)
        elif kind == "date":
            wire[name] = pd.to_datetime(values).dt.strftime("%Y-%m-%d").astype(object)
        elif kind == "bool":
            wire[name] = values.map({True: "true", False: "false"}).astype(object)
        else:
            wire[name] = values.astype(object).map(str).astype(object)
        wire[name] = wire[name].where(values.notna(), None if kind != "number" else np.nan)
    return wire
