"""Spreadsheet-safe CSV: one rule for every CSV the project offers (Data page, upload downloads, CLI).

CSV formula injection (OWASP "CSV Injection"): a spreadsheet evaluates a cell starting with ``=``, ``+``, ``-``,
``@``, a tab or a carriage return as a formula. Such *text* cells get a leading apostrophe, which spreadsheets
show as text and never evaluate. Numeric, boolean and datetime columns are left alone (a negative number is a
number, not a formula), so an escaped CSV reads back with the same types.
"""

from __future__ import annotations

import pandas as pd

FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")


def escape_formula(df: pd.DataFrame) -> pd.DataFrame:
    """A copy of ``df`` whose text cells cannot be evaluated as spreadsheet formulas."""
    out = df.copy()
    for c in out.columns:
        s = out[c]
        if pd.api.types.is_numeric_dtype(s) or pd.api.types.is_bool_dtype(s) or pd.api.types.is_datetime64_any_dtype(s):
            continue
        mask = s.notna() & s.astype("str").str.startswith(FORMULA_PREFIXES)
        if mask.any():
            s = s.astype(object).copy()
            s[mask] = "'" + s[mask].astype(str)
            out[c] = s
    return out
