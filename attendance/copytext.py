"""PostgreSQL's COPY text format, written a column at a time.

psycopg's ``write_row`` formats each value in Python (about ten microseconds a row), which at
millions of rows is more than the database's own work; these helpers turn whole columns
into text with array operations and join them into lines once.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np
import pandas as pd

# The four characters COPY's text format writes as escapes; \N is NULL.
ESCAPES = str.maketrans({"\\": "\\\\", "\t": "\\t", "\n": "\\n", "\r": "\\r"})
NULL = "\\N"


def texts(values: Iterable[object]) -> np.ndarray:
    """A text column (None for NULL) with special characters escaped."""
    return np.array([NULL if v is None else str(v).translate(ESCAPES) for v in values], dtype=object)


def jsons(values: Iterable[object]) -> np.ndarray:
    """A JSON column (None for NULL)."""
    return texts(None if v is None else json.dumps(v, ensure_ascii=False) for v in values)


def ints(series: pd.Series) -> np.ndarray:
    """An integer column, missing values as NULL."""
    values = series.astype("Int64")
    text = values.astype(str).to_numpy(dtype=object)
    text[values.isna().to_numpy()] = NULL
    return text


def bools(series: pd.Series) -> np.ndarray:
    """A boolean column without missing values."""
    return np.where(series.to_numpy(dtype=bool), "t", "f").astype(object)


def same(value: object, n: int) -> np.ndarray:
    """One value on every row."""
    return np.full(n, NULL if value is None else str(value).translate(ESCAPES), dtype=object)


def lines(columns: Sequence[np.ndarray]) -> str:
    """Columns of formatted values (equal lengths) as COPY text: tab between, a newline after each row."""
    if not len(columns) or not len(columns[0]):
        return ""
    joined: Any = columns[0]
    for column in columns[1:]:
        joined = joined + "\t" + column
    return "\n".join(joined.tolist()) + "\n"
