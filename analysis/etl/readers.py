"""Reading messy tabular exports (BPS web tables, KoboToolbox/ODK exports, spreadsheets) robustly.

``read_table`` turns a CSV/TSV or XLSX file (a path or raw bytes) into a DataFrame of clean cells, or raises an
``InputError`` with a stable ``code`` that says precisely what is wrong:

=====================  =================================================================================
code                   meaning
=====================  =================================================================================
``empty_file``         0 bytes (or only whitespace / a byte-order mark)
``not_a_table``        binary content (an image, a PDF, an archive that is not a workbook) or a workbook
                       openpyxl cannot open
``bad_encoding``       the bytes contradict the file's byte-order mark (UTF-8 or UTF-16 with BOM)
``empty_sheet``        the worksheet (or every worksheet) of an XLSX holds no cell
``sheet_not_found``    the requested sheet does not exist (the message lists the sheets)
``header_only``        a header and no data row
``truncated_file``     the last row has fewer fields than the header (the export was cut off) or ends
                       inside a quoted field
``ragged_row``         a row in the middle has more/fewer fields than the header
``duplicate_columns``  two columns have the same name (after normalising case and punctuation)
``missing_columns``    expected columns are absent (named in the message)
``renamed_columns``    expected columns are absent but a present column looks like one of them (the message
                       suggests the closest expected name)
=====================  =================================================================================

What it detects, so callers do not have to:

- **Encoding** (``decode_text``, the project's one CSV decoder, also used by the register and survey
  ingestion): UTF-8 with or without BOM, else Windows-1252 (a superset of Latin-1 for printable text), else
  Latin-1 (which decodes any byte). UTF-16 with a BOM is also accepted (Excel "Unicode text").
- **Delimiter** (``sniff_delimiter``, likewise shared): ``,`` ``;`` tab or ``|``: the candidate that splits the
  first lines into the most consistent number (> 1) of fields wins; ``;`` files from Indonesian-locale Excel
  usually carry decimal commas.
- **Missing markers** used by BPS and spreadsheets: ``-`` ``–`` ``—`` ``…`` ``...`` ``NA`` ``N/A`` ``n.a.``
  ``null`` and empty cells become ``<NA>``.
- **Numbers**: per column, decimal commas (``95,39``) and thousands separators (``2.743.643`` or
  ``2,743,643``) are recognised; a column whose every non-missing cell is a number becomes float64. A column
  of identifiers stays text: values with a leading zero (``0812...``, ``01``) or integers of 10 digits or more
  (NIK, KK and BPS/Kemendagri codes) are never converted, nor are columns whose name says code/id/phone
  (``kode_*``, ``*_code``, ``*_id``, ``nik``, ``no_hp``, ``rt``, ``rw``...) or that are listed in ``text_columns``.
- **Extra header rows**: with ``expected_columns`` the header is the first row (within the first 30) that
  holds them; without, leading title rows (one non-empty cell in a wider table) and blank rows are skipped.
  ``header_rows=k`` declares a k-row header (BPS exports): the column names join the non-empty header cells
  of each column with `` | ``, spanning cells (a title written once over several columns) filled rightwards.
- **Footers**: trailing blank rows and notes (``Sumber: BPS``, ``Catatan``, ``Source Url: ...``) are dropped.

The returned DataFrame is indexed by the 1-based row number in the file (index name ``row``) so that a stage
can write ``rejects`` rows that point at the exact line, and carries ``attrs`` ``encoding``, ``delimiter``
(``None`` for XLSX), ``sheet`` and ``header_row`` (1-based row number of the last header row).

Cell values never appear in error messages, only column names, row numbers and counts, because uploads may
hold personal data (see ``analysis.errors``).
"""

from __future__ import annotations

import csv
import difflib
import io
import re
from collections import Counter
from collections.abc import Iterable
from pathlib import Path

import numpy as np
import pandas as pd

from analysis.errors import InputError

MISSING_MARKERS = frozenset({"", "-", "–", "—", "…", "...", "..", "na", "n/a", "n.a.", "nan", "null", "none", "#n/a"})
FOOTER_PATTERN = re.compile(r"^\s*(sumber|source|catatan|note|notes|keterangan)\b", re.IGNORECASE)
DELIMITERS = (",", ";", "\t", "|")
HEADER_SEARCH_ROWS = 30

_BINARY_SIGNATURES = {
    b"\x89PNG": "a PNG image",
    b"\xff\xd8\xff": "a JPEG image",
    b"GIF8": "a GIF image",
    b"%PDF": "a PDF document",
    b"\x1f\x8b": "a gzip archive",
    b"Rar!": "a RAR archive",
    b"7z\xbc\xaf": "a 7-Zip archive",
    b"\xd0\xcf\x11\xe0": "a legacy Excel/Office file (.xls); save it as .xlsx or CSV",
}

# number shapes (sign, digits); groups of exactly three after a thousands separator
_PLAIN_INT = re.compile(r"^[+-]?\d+$")
_DOT_DECIMAL = re.compile(r"^[+-]?\d*\.\d+$")
_COMMA_DECIMAL = re.compile(r"^[+-]?\d*,\d+$")
_DOT_THOUSANDS = re.compile(r"^[+-]?\d{1,3}(\.\d{3})+(,\d+)?$")  # 2.743.643 or 1.234,5
_COMMA_THOUSANDS = re.compile(r"^[+-]?\d{1,3}(,\d{3})+(\.\d+)?$")  # 2,743,643 or 1,234.5


# --- small helpers ------------------------------------------------------------------------------------------


def normalise_name(name: object) -> str:
    """Column-name key used for matching: lower case, runs of non-alphanumerics as one ``_``."""
    text = str(name).replace("\ufeff", "").strip().lower()
    return re.sub(r"[^0-9a-z]+", "_", text).strip("_")


def is_missing(cell: object) -> bool:
    if cell is None:
        return True
    if isinstance(cell, float) and np.isnan(cell):
        return True
    return str(cell).strip().lower() in MISSING_MARKERS


def _label(source: str | None, path_or_bytes) -> str:
    if source:
        return source
    if isinstance(path_or_bytes, (str, Path)):
        return Path(path_or_bytes).name
    return "uploaded file"


# --- numbers --------------------------------------------------------------------------------------------------


def number_style(values: Iterable[str], delimiter: str | None = None) -> str | None:
    """Decide how a column writes numbers: ``"dot"`` (95.39, 2,743,643) or ``"comma"`` (95,39, 2.743.643).

    Returns None when a value is not a number in either style. Ambiguous columns (every value like ``1.234`` or
    ``1,234``) follow the file: a ``;``-delimited file uses decimal commas, anything else decimal points.
    """
    dot_votes = comma_votes = 0
    for v in values:
        if _PLAIN_INT.match(v):
            continue
        dot_ok = bool(_DOT_DECIMAL.match(v) or _COMMA_THOUSANDS.match(v))
        comma_ok = bool(_COMMA_DECIMAL.match(v) or _DOT_THOUSANDS.match(v))
        if not dot_ok and not comma_ok:
            return None
        ambiguous = dot_ok and comma_ok  # "1.234" / "1,234"
        if ambiguous:
            continue
        if dot_ok:
            dot_votes += 1
        else:
            comma_votes += 1
    if dot_votes and comma_votes:
        return None
    if comma_votes:
        return "comma"
    if dot_votes:
        return "dot"
    return "comma" if delimiter == ";" else "dot"


def parse_number(text: object, style: str = "dot") -> float:
    """One cell as a float under ``style`` (see ``number_style``); NaN for a missing marker.

    Raises ValueError for text that is not a number in that style.
    """
    if isinstance(text, (int, float, np.integer, np.floating)) and not isinstance(text, bool):
        return float(text)
    if is_missing(text):
        return float("nan")
    s = str(text).strip().replace("\u00a0", "").replace(" ", "")
    if _PLAIN_INT.match(s):
        return float(s)
    if style == "comma":
        if _COMMA_DECIMAL.match(s) or _DOT_THOUSANDS.match(s) or _PLAIN_INT.match(s.replace(".", "")):
            return float(s.replace(".", "").replace(",", "."))
    else:
        if _DOT_DECIMAL.match(s) or _COMMA_THOUSANDS.match(s):
            return float(s.replace(",", ""))
    raise ValueError("not a number")


def _clean_text(series: pd.Series) -> tuple[pd.Series, pd.Series]:
    """(stripped text without spaces, mask of missing cells) for a column, vectorised."""
    text = series.astype("str").str.strip().str.replace("\u00a0", "", regex=False).str.replace(" ", "", regex=False)
    missing = series.isna() | text.isna() | text.str.lower().isin(MISSING_MARKERS)
    return text.where(~missing), missing


def to_numbers(series: pd.Series, delimiter: str | None = None) -> tuple[pd.Series, pd.Series]:
    """Parse a column cell by cell: (float64 values, boolean mask of cells that are present but not numbers).

    The column's style (``number_style``) decides ambiguous cells; a cell that is a number in only the other
    style (``"88,08"`` among ``91.5``-style cells, as when some XLSX cells were typed as text) is read that way.
    Vectorised with pandas string methods (100,000 rows in well under a second).

    Stages use it to reject individual rows whose value cell is junk instead of failing the whole file.
    """
    if series.dtype.kind in "fiu":
        return series.astype("float64"), pd.Series(False, index=series.index)
    text, missing = _clean_text(series)
    plain = text.str.fullmatch(_PLAIN_INT.pattern.strip("^$")).fillna(False).astype(bool)
    dot_ok = (text.str.fullmatch(_DOT_DECIMAL.pattern.strip("^$")).fillna(False)
              | text.str.fullmatch(_COMMA_THOUSANDS.pattern.strip("^$")).fillna(False)).astype(bool)
    comma_ok = (text.str.fullmatch(_COMMA_DECIMAL.pattern.strip("^$")).fillna(False)
                | text.str.fullmatch(_DOT_THOUSANDS.pattern.strip("^$")).fillna(False)).astype(bool)
    only_dot = dot_ok & ~comma_ok & ~plain
    only_comma = comma_ok & ~dot_ok & ~plain
    if only_comma.any() and not only_dot.any():
        style = "comma"
    elif only_dot.any():
        style = "dot"
    else:
        style = "comma" if delimiter == ";" else "dot"
    as_dot = pd.to_numeric(text.where(plain | dot_ok).str.replace(",", "", regex=False), errors="coerce")
    as_comma = pd.to_numeric(
        text.where(plain | comma_ok).str.replace(".", "", regex=False).str.replace(",", ".", regex=False),
        errors="coerce",
    )
    if style == "comma":
        values = as_comma.where(~only_dot, as_dot)
    else:
        values = as_dot.where(~only_comma, as_comma)
    values = values.astype("float64")
    bad = (~missing & values.isna()).astype(bool)
    return values, bad


_IDENTIFIER_NAME = re.compile(
    r"(^|_)(kode|code|codes|id|nik|kk|no_kk|parent|phone|telp|telepon|hp|wa|postal|kodepos|rt|rw)(_|$)"
)


def _is_identifier_name(name: str) -> bool:
    """Column names that hold codes or phone numbers (``kode_desa``, ``bps_parent``, ``no_hp``): kept as text."""
    return bool(_IDENTIFIER_NAME.search(normalise_name(name)))


# --- decoding and splitting -----------------------------------------------------------------------------------


def _reject_binary(raw: bytes, label: str) -> None:
    for magic, what in _BINARY_SIGNATURES.items():
        if raw.startswith(magic):
            raise InputError("not_a_table", f"this is {what}, not a table (CSV or XLSX)", label)
    head = raw[:8192]
    if head.startswith((b"\xff\xfe", b"\xfe\xff")):
        return  # UTF-16 text with a BOM
    if b"\x00" in head:
        raise InputError("not_a_table", "binary content (NUL bytes), not a text table", label)
    control = sum(1 for b in head if b < 32 and b not in (9, 10, 13))
    if head and control / len(head) > 0.05:
        raise InputError("not_a_table", "binary content (control characters), not a text table", label)


UTF8_BOM = b"\xef\xbb\xbf"
UTF16_BOMS = (b"\xff\xfe", b"\xfe\xff")
TEXT_FALLBACKS = ("cp1252", "latin-1")  # Excel on Windows writes cp1252; Latin-1 decodes any byte
DELIMITER_NAMES = {",": "comma", ";": "semicolon", "\t": "tab", "|": "pipe"}
SNIFF_LINES = 50
SNIFF_CHARS = 1 << 20  # the sniffer reads at most the first MiB (an upload may hold 50 MB)


def decode_text(raw: bytes, source: str | None = None, fallbacks: Iterable[str] = TEXT_FALLBACKS) -> tuple[str, str]:
    """The project's one text decoder for CSV files; returns (text without BOM, encoding used).

    A byte-order mark is a declaration: UTF-8 with a BOM (``utf-8-sig``) or UTF-16 with a BOM, and bytes that
    contradict it are ``bad_encoding`` (the file was damaged or concatenated from two encodings). Without a
    BOM: UTF-8, else each of ``fallbacks`` in turn (by default Windows-1252, then Latin-1, which decodes any
    byte). The message never quotes the undecodable bytes.
    """
    if raw.startswith(UTF8_BOM):
        candidates, body = [("utf-8", "utf-8-sig")], raw[3:]
    elif raw.startswith(UTF16_BOMS):
        candidates, body = [("utf-16", "utf-16")], raw
    else:
        candidates, body = [("utf-8", "utf-8"), *((enc, enc) for enc in fallbacks)], raw
    for codec, name in candidates:
        try:
            return body.decode(codec), name
        except UnicodeDecodeError:
            continue
    declared = candidates[0][1] if len(candidates) == 1 else "UTF-8 or " + ", ".join(fallbacks)
    raise InputError("bad_encoding", f"the text is not valid {declared}: save the file again as UTF-8", source)


def _sample_lines(text: str) -> list[str]:
    """The first ``SNIFF_LINES`` non-blank lines, read from at most ``SNIFF_CHARS`` characters."""
    lines = text[:SNIFF_CHARS].splitlines()
    if len(text) > SNIFF_CHARS and len(lines) > 1:
        lines = lines[:-1]  # the sample ends inside this line
    return [ln for ln in lines if ln.strip()][:SNIFF_LINES]


def _either(names: list[str], word: str = "or") -> str:
    return names[0] if len(names) == 1 else ", ".join(names[:-1]) + f" {word} " + names[-1]


def sniff_delimiter(
    text: str, *, allowed: Iterable[str] = DELIMITERS, single_column: bool = True, source: str | None = None
) -> str:
    """The project's one delimiter sniffer: of ``,`` ``;`` tab and ``|``, the one that splits the first 50
    non-blank lines (quote-aware) into the most consistent number (> 1) of fields.

    ``allowed``: the delimiters the caller accepts; a file clearly split by another one is ``wrong_delimiter``
    (saying which it is). ``single_column``: when no delimiter splits the lines, return the first allowed one
    (a one-column table) if True, else raise ``wrong_delimiter``.
    """
    allowed = tuple(allowed)
    lines = _sample_lines(text)
    best, best_score = None, -1.0
    for delim in DELIMITERS:
        try:
            counts = [len(r) for r in csv.reader(lines, delimiter=delim)]
        except csv.Error:
            continue
        if not counts:
            continue
        modal, freq = Counter(counts).most_common(1)[0]
        if modal < 2:
            continue
        score = freq / len(counts) + 0.001 * min(modal, 50)
        if score > best_score + 1e-9:
            best, best_score = delim, score
    if best is None:
        if single_column:
            return allowed[0]
        seps = [DELIMITER_NAMES[d] + "-" for d in allowed]
        seps[-1] += "separated"
        raise InputError("wrong_delimiter", f"the header has a single column: the file is not {_either(seps)}", source)
    if best not in allowed:
        what = "tabs" if best == "\t" else repr(best)
        wanted = _either([f"a {DELIMITER_NAMES[d]}" for d in allowed])
        raise InputError("wrong_delimiter", f"columns are separated by {what}; export the CSV with {wanted}", source)
    return best


def _split_csv(text: str, delimiter: str, label: str) -> list[list[str]]:
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, strict=True)
    rows = []
    try:
        for row in reader:
            rows.append(row)
    except csv.Error as exc:
        if "EOF" in str(exc) or "end" in str(exc).lower():
            raise InputError(
                "truncated_file", f"the file ends inside a quoted field after row {len(rows)}: it was cut off", label
            ) from exc
        raise InputError("not_a_table", f"row {len(rows) + 1} cannot be split into fields ({exc})", label) from exc
    if text and not text.endswith(("\n", "\r")) and rows and _unterminated_quote(text):
        raise InputError("truncated_file", "the file ends inside a quoted field: it was cut off", label)
    return rows


def _unterminated_quote(text: str) -> bool:
    return text.count('"') % 2 == 1


def _read_xlsx(raw: bytes, sheet, label: str) -> tuple[list[list], str]:
    import zipfile

    import openpyxl

    try:
        wb = openpyxl.load_workbook(io.BytesIO(raw), read_only=True, data_only=True)
    except (zipfile.BadZipFile, KeyError, OSError, ValueError) as exc:
        raise InputError("not_a_table", f"the workbook cannot be opened ({type(exc).__name__})", label) from exc
    try:
        names = wb.sheetnames
        if sheet is None:
            candidates = names
        elif isinstance(sheet, int):
            if not 0 <= sheet < len(names):
                raise InputError("sheet_not_found", f"sheet index {sheet} does not exist; sheets: {names}", label)
            candidates = [names[sheet]]
        else:
            if sheet not in names:
                raise InputError("sheet_not_found", f"sheet {sheet!r} does not exist; sheets: {names}", label)
            candidates = [sheet]
        for name in candidates:
            rows = []
            for values in wb[name].iter_rows(values_only=True):
                rows.append(["" if v is None else _cell_text(v) for v in values])
            if any(any(c.strip() for c in r) for r in rows):
                return rows, name
        which = f"sheet {candidates[0]!r} is" if len(candidates) == 1 else "every sheet is"
        raise InputError("empty_sheet", f"{which} empty", label)
    finally:
        wb.close()


def _cell_text(v) -> str:
    if isinstance(v, float) and v.is_integer() and abs(v) < 1e15:
        return str(int(v))
    if hasattr(v, "isoformat"):
        return v.isoformat()
    return str(v)


# --- the table --------------------------------------------------------------------------------------------------


def _strip_row(row: list[str]) -> list[str]:
    return [c.replace("\ufeff", "").strip() for c in row]


def _blank(row: list[str]) -> bool:
    return not "".join(row).strip()


def _trim(rows: list[list[str]]) -> list[list[str]]:
    """Strip the cells of the first rows (header candidates); drop trailing blank rows and footer notes.
    Data cells are stripped later, column by column."""
    head = min(len(rows), HEADER_SEARCH_ROWS + 10)
    rows[:head] = [_strip_row(r) for r in rows[:head]]
    while rows:
        last = _strip_row(rows[-1])
        filled = [c for c in last if c]
        if not filled or (len(filled) == 1 and last[0] and FOOTER_PATTERN.match(last[0])):
            rows.pop()
            continue
        rows[-1] = last
        break
    return rows


def _find_header(rows: list[list[str]], expected: list[str] | None) -> int:
    """Index of the (last) header row."""
    if expected:
        keys = {normalise_name(e) for e in expected}
        best, best_hits = None, 0
        for i, row in enumerate(rows[:HEADER_SEARCH_ROWS]):
            hits = len(keys & {normalise_name(c) for c in row if c})
            if hits > best_hits:
                best, best_hits = i, hits
            if hits == len(keys):
                return i
        if best is not None:
            return best
    widths = [sum(1 for c in r if c) for r in rows[:HEADER_SEARCH_ROWS]]
    table_width = max(widths or [0])
    for i, w in enumerate(widths[:HEADER_SEARCH_ROWS]):
        if w == 0:
            continue
        if table_width > 2 and w == 1:
            continue  # a title line above the table
        return i
    return 0


def _compose_header(header_block: list[list[str]], width: int) -> list[str]:
    filled = []
    for row in header_block:
        row = row + [""] * (width - len(row))
        out, last = [], ""
        for j, cell in enumerate(row):
            if cell and j > 0:
                last = cell
            # a spanning title is carried rightwards; the first (label) column's header never spans
            out.append(cell if cell or j == 0 else last)
        filled.append(out)
    names = []
    for j in range(width):
        parts = []
        for row in filled:
            part = row[j]
            if part and (not parts or parts[-1] != part):
                parts.append(part)
        names.append(" | ".join(parts))
    return names


def read_table(
    path_or_bytes: str | Path | bytes,
    *,
    sheet: str | int | None = None,
    expected_columns: Iterable[str] | None = None,
    header_rows: int | None = None,
    text_columns: Iterable[str] = (),
    convert_numbers: bool = True,
    source: str | None = None,
) -> pd.DataFrame:
    """Read a CSV/TSV/XLSX export into a clean DataFrame (see the module docstring for what is detected).

    ``expected_columns`` are matched case- and punctuation-insensitively and renamed to the spelling given;
    other columns keep their header text. ``source`` names the input in error messages (default: file name).
    """
    label = _label(source, path_or_bytes)
    if isinstance(path_or_bytes, (bytes, bytearray)):
        raw = bytes(path_or_bytes)
        name = ""
    else:
        path = Path(path_or_bytes)
        if not path.is_file():
            raise InputError("file_not_found", "file not found", label)
        raw = path.read_bytes()
        name = path.name.lower()
    if not raw.strip(b" \t\r\n\xef\xbb\xbf"):
        raise InputError("empty_file", "the file is empty (0 bytes of data)", label)

    is_xlsx = raw.startswith(b"PK\x03\x04")
    if is_xlsx:
        rows, sheet_name = _read_xlsx(raw, sheet, label)
        encoding, delimiter = None, None
    else:
        if name.endswith((".xlsx", ".xlsm")):
            _reject_binary(raw, label)
            raise InputError("not_a_table", "the file is named .xlsx but is not an Excel workbook", label)
        _reject_binary(raw, label)
        text, encoding = decode_text(raw, label)
        delimiter = sniff_delimiter(text)
        rows = _split_csv(text, delimiter, label)
        sheet_name = None

    rows = _trim(rows)
    if not rows:
        raise InputError("empty_file", "the file holds no rows", label)
    expected = list(expected_columns) if expected_columns is not None else None

    if header_rows is not None:
        start = 0
        while start < len(rows) and not any(rows[start]):
            start += 1
        header_end = start + header_rows - 1
    else:
        header_end = _find_header(rows, expected)
        start = header_end

    block = rows[start : header_end + 1]
    data_rows = rows[header_end + 1 :]
    width = max(len(r) for r in block)
    # column count: header width, widened when data rows are wider only by empty cells
    names = _compose_header(block, width)
    # drop trailing header cells that are empty and have no data
    while names and not names[-1] and all(len(r) < len(names) or not r[len(names) - 1].strip() for r in data_rows):
        names.pop()
    width = len(names)
    if not data_rows:
        raise InputError("header_only", "the file has a header but no data rows", label)

    # row numbers in the file (1-based), skipping blank lines inside the table
    records, numbers = [], []
    for offset, row in enumerate(data_rows):
        rownum = header_end + 2 + offset
        if _blank(row):
            continue
        if len(row) > width and any(c.strip() for c in row[width:]):
            raise InputError(
                "ragged_row", f"row {rownum} has {len(row)} fields but the header has {width}", label
            )
        if len(row) < width:
            is_last = offset == len(data_rows) - 1
            if is_last and not is_xlsx and len(row) < width:
                raise InputError(
                    "truncated_file",
                    f"the last row ({rownum}) has {len(row)} of {width} fields: the file was cut off",
                    label,
                )
            if not is_xlsx and len(row) > 1:
                raise InputError(
                    "ragged_row", f"row {rownum} has {len(row)} fields but the header has {width}", label
                )
            row = row + [""] * (width - len(row))
        records.append(row[:width])
        numbers.append(rownum)
    if not records:
        raise InputError("header_only", "the file has a header but no data rows", label)

    # column names: unnamed columns get a position name; duplicates are an error
    names = [n if n else f"column_{j + 1}" for j, n in enumerate(names)]
    keys = [normalise_name(n) for n in names]
    dupes = sorted({names[j] for j, k in enumerate(keys) if keys.count(k) > 1})
    if dupes:
        raise InputError("duplicate_columns", f"duplicate column names: {dupes}", label)

    if expected:
        names = _match_expected(names, keys, expected, label)

    df = pd.DataFrame(records, columns=names, index=pd.Index(numbers, name="row"), dtype="str")
    keep_text = {normalise_name(c) for c in text_columns}
    for col in df.columns:
        text, missing = _clean_text(df[col])
        df[col] = df[col].str.strip().where(~missing)
        if not convert_numbers or normalise_name(col) in keep_text or _is_identifier_name(col):
            continue
        present = text[~missing]
        if present.empty or not present.str.fullmatch(r"[+-]?[\d.,]*\d[\d.,]*").all():
            continue
        if present.str.match(r"[+-]?0\d").any() or present.str.fullmatch(r"[+-]?\d{10,}").any():
            continue  # identifiers: leading zeros (codes, phone numbers) or 10+ digit integers (NIK, KK, codes)
        values, bad = to_numbers(df[col], delimiter)
        if not bad.any():
            df[col] = values
    for col in df.columns:
        if df[col].dtype.kind != "f":
            df[col] = df[col].astype("str")
    df.attrs.update({"encoding": encoding, "delimiter": delimiter, "sheet": sheet_name, "header_row": header_end + 1})
    return df


def _match_expected(names: list[str], keys: list[str], expected: list[str], label: str) -> list[str]:
    by_key = {k: j for j, k in enumerate(keys)}
    renamed = list(names)
    missing = []
    for exp in expected:
        j = by_key.get(normalise_name(exp))
        if j is None:
            missing.append(exp)
        else:
            renamed[j] = exp
    if missing:
        expected_keys = {normalise_name(e) for e in expected}
        unmatched = [names[j] for j, k in enumerate(keys) if k not in expected_keys]
        suggestions = []
        for exp in missing:
            close = difflib.get_close_matches(
                normalise_name(exp), [normalise_name(u) for u in unmatched], n=1, cutoff=0.6
            )
            if close:
                actual = unmatched[[normalise_name(u) for u in unmatched].index(close[0])]
                suggestions.append(f"column {actual!r} looks like expected {exp!r} (renamed?)")
        if suggestions:
            raise InputError(
                "renamed_columns",
                f"expected columns missing: {missing}; " + "; ".join(suggestions),
                label,
            )
        raise InputError("missing_columns", f"expected columns missing: {missing}; found: {names}", label)
    return renamed
