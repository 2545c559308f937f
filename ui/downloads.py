"""Download payloads for the Data page: spreadsheet-safe CSV, the raw Parquet/GeoJSON bytes, one zip.

CSV formula injection (OWASP, "CSV Injection"): a spreadsheet treats a cell that starts with ``=``, ``+``,
``-``, ``@`` (or a tab / carriage return) as a formula. Every *text* cell that starts with one of these gets a
leading apostrophe, which spreadsheets display as text and never evaluate. Numeric columns are left as they
are (a negative number is a number, not a formula), so the escaped CSV still reads back with the same types.

Pure: no streamlit import.
"""

from __future__ import annotations

import functools
import io
import zipfile
from pathlib import Path

import pandas as pd

from analysis.csv_safety import FORMULA_PREFIXES
from analysis.csv_safety import escape_formula as escape_formulas


def escape_cell(value):
    if isinstance(value, str) and value.startswith(FORMULA_PREFIXES):
        return "'" + value
    return value


def safe_csv_bytes(df: pd.DataFrame) -> bytes:
    """CSV as the project writes it (UTF-8, ``\\n``, no index), with formula cells escaped."""
    buf = io.StringIO()
    escape_formulas(df).to_csv(buf, index=False, lineterminator="\n")
    return buf.getvalue().encode("utf-8")


def safe_csv_from_file(path: Path) -> bytes:
    """Escape a processed CSV file read as text (every column as string, so nothing is re-typed)."""
    df = pd.read_csv(path, dtype=str, keep_default_na=False)
    # Cells that are numbers (e.g. "-0.05") are not formulas: only escape cells that are not numeric text.
    out = df.copy()
    for col in out.columns:
        out[col] = [v if _is_number(v) else escape_cell(v) for v in out[col]]
    buf = io.StringIO()
    out.to_csv(buf, index=False, lineterminator="\n")
    return buf.getvalue().encode("utf-8")


def _is_number(text: str) -> bool:
    try:
        float(text)
        return True
    except ValueError:
        return False


def zip_everything(processed: Path) -> bytes:
    """One zip of the processed directory: every table (CSV escaped, Parquet), GeoJSON, codebook,
    datapackage.json, build report, rejects and the synthetic demo export. Deterministic: sorted names and a
    fixed timestamp."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        for path in sorted(p for p in processed.rglob("*") if p.is_file()):
            rel = path.relative_to(processed).as_posix()
            if rel.startswith(".") or "/." in rel:
                continue
            # The project's tables (top level and rejects/) are escaped against formula injection; the demo
            # survey export (``;``-delimited, already scrubbed and escaped by its stage) goes in as built.
            table_csv = path.suffix == ".csv" and not rel.startswith("demo_survey/")
            data = safe_csv_from_file(path) if table_csv else path.read_bytes()
            info = zipfile.ZipInfo(f"jakarta-digital-divide/{rel}", date_time=(1980, 1, 1, 0, 0, 0))
            info.compress_type = zipfile.ZIP_DEFLATED
            zf.writestr(info, data)
    return buf.getvalue()


# Cached per (file, build version): Streamlit runs a download callable on a worker thread when the button is
# clicked, outside any script run, so ``st.cache_data`` is not the right tool there; an LRU cache keyed by
# the build version (the build report's mtime) serves repeated clicks and is invalidated by a rebuild.
@functools.lru_cache(maxsize=64)
def cached_csv(path: str, version: int) -> bytes:
    return safe_csv_from_file(Path(path))


@functools.lru_cache(maxsize=64)
def cached_file(path: str, version: int) -> bytes:
    return Path(path).read_bytes()


@functools.lru_cache(maxsize=2)
def cached_zip(processed: str, version: int) -> bytes:
    return zip_everything(Path(processed))
