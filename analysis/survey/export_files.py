"""The files of a KoboToolbox / ODK export: finding them on disk, loading them as bytes, telling CSV from XLSX
(and refusing anything else), reading each CSV file or workbook sheet, and picking the main (household)
table and the roster (repeat ``anggota``) among them.

Size limits and the workbook checks (zip bombs, XML entities) run before any parser sees the bytes. CSV text
is decoded and its delimiter sniffed by ``analysis.etl.readers`` (the project's one decoder and sniffer).
"""

from __future__ import annotations

import csv
import io
import re
import zipfile
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from analysis.errors import InputError
from analysis.etl.readers import decode_text, sniff_delimiter
from analysis.privacy import redact_errors
from analysis.survey.headers import count_matches, normalise_header
from analysis.survey.questionnaire import FormDefinition

# --- limits -------------------------------------------------------------------------------------------------

MAX_FILE_BYTES = 50 * 1024 * 1024  # issue 6: uploads up to 50 MB
MAX_XLSX_UNCOMPRESSED = 400 * 1024 * 1024  # all members of a workbook, decompressed
MAX_XLSX_MEMBER = 300 * 1024 * 1024
MAX_XLSX_RATIO = 200  # decompressed / compressed size of one member (text XML compresses ~10-30x)
MAX_XLSX_MEMBERS = 1000
# Bounded work (issue 13): checked on the bytes or the sheet XML before any table is materialised.
MAX_COLUMNS = 2_000  # the form has 40 fields; with one 0/1 column per option an export has ~150
MAX_CELLS = 10_000_000  # rows x columns of a sheet's bounding box (what the XLSX reader allocates), and per CSV
MAX_CELL_CHARS = 32_767  # Excel's own limit for one cell
MAX_ROW_CHARS = 1_000_000  # one line of a CSV file


# --- input files --------------------------------------------------------------------------------------------


@dataclass
class ExportFile:
    name: str
    data: bytes


def load_files(files, max_bytes: int | None = MAX_FILE_BYTES) -> list[ExportFile]:
    """Normalise the accepted inputs to named byte strings (size-checked before anything is parsed)."""
    if isinstance(files, (bytes, bytearray, memoryview)):
        items = [("upload", bytes(files))]
    elif isinstance(files, (str, Path)):
        p = Path(files)
        items = [(p.name, p)] if not p.is_dir() else [(q.name, q) for q in sorted(p.iterdir()) if q.suffix.lower() in (".csv", ".xlsx")]
    elif isinstance(files, Mapping):
        items = list(files.items())
    else:
        items = []
        for f in files:
            if isinstance(f, tuple):
                items.append(f)
            elif hasattr(f, "getvalue") and hasattr(f, "name"):  # an uploaded file object
                items.append((f.name, f.getvalue()))
            else:
                items.append((Path(f).name, Path(f)))
    if not items:
        raise InputError("empty_file", "no file was given")
    if len(items) > 4:
        raise InputError("too_many_files", f"{len(items)} files given; give the main table and the roster (CSV) or one workbook (XLSX)")
    out = []
    for name, payload in items:
        name = str(name)
        if isinstance(payload, (str, Path)):
            p = Path(payload)
            size = p.stat().st_size
            if max_bytes is not None and size > max_bytes:
                raise InputError("file_too_large", f"{size / 1e6:.1f} MB is over the {max_bytes // (1024 * 1024)} MB limit", name)
            payload = p.read_bytes()
        payload = bytes(payload)
        if max_bytes is not None and len(payload) > max_bytes:
            raise InputError("file_too_large", f"{len(payload) / 1e6:.1f} MB is over the {max_bytes // (1024 * 1024)} MB limit", name)
        out.append(ExportFile(name, payload))
    return out


_MAGIC = {
    b"\xff\xd8\xff": "a JPEG image",
    b"\x89PNG": "a PNG image",
    b"GIF8": "a GIF image",
    b"%PDF": "a PDF document",
    b"RIFF": "a media file",
    b"\x1f\x8b": "a gzip archive",
    b"BM": None,  # bitmap; checked with the NUL test below (BM could start a CSV header)
    b"7z\xbc\xaf": "a 7z archive",
    b"Rar!": "a RAR archive",
    b"\x00\x00\x00": "a binary file",
}


def file_kind(f: ExportFile) -> str:
    """'xlsx' or 'csv', or an InputError for anything else."""
    data = f.data
    if not data.strip(b" \t\r\n\x00\xef\xbb\xbf"):
        raise InputError("empty_file", "the file is empty", f.name)
    if data.startswith(b"PK\x03\x04") or data.startswith(b"PK\x05\x06"):
        return "xlsx"
    if data.startswith(b"\xd0\xcf\x11\xe0"):
        raise InputError("unsupported_format", "this is an old Excel (.xls) or encrypted workbook; save it as .xlsx or CSV", f.name)
    for magic, what in _MAGIC.items():
        if what and data.startswith(magic):
            raise InputError("not_a_table", f"this is {what}, not a CSV or XLSX export", f.name)
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        return "csv"  # UTF-16 text with a BOM
    head = data[:65536]
    if b"\x00" in head:
        raise InputError("not_a_table", "this is a binary file, not a CSV or XLSX export", f.name)
    control = sum(1 for b in head if b < 9 or 13 < b < 32)
    if control > len(head) * 0.01:
        raise InputError("not_a_table", "this is a binary file, not a CSV or XLSX export", f.name)
    return "csv"



# --- CSV ----------------------------------------------------------------------------------------------------


SEP_LINE = re.compile(r"\Asep=(.)[ \t]*(?:\n|\Z)", re.I)


def _longest_line(text: str) -> int:
    return max(map(len, text.split("\n"))) if text else 0


def read_csv(f: ExportFile) -> pd.DataFrame:
    """One CSV file as a string DataFrame, decoded and split with the project's one decoder and sniffer
    (``analysis.etl.readers``); only comma and semicolon are accepted (what KoboToolbox and ODK write).

    CR-only line endings (old Mac Excel) are read as line breaks; Excel's ``sep=;`` first line names the
    delimiter. The size of a line, the number of columns and cells and the length of a cell are checked
    before and right after parsing, so a hostile file costs time linear in its size.
    """
    text, _ = decode_text(f.data, f.name)
    if "\r" in text:
        text = text.replace("\r\n", "\n").replace("\r", "\n")
    longest = _longest_line(text)
    if longest > MAX_ROW_CHARS:
        raise InputError("row_too_long", f"a line holds {longest:,} characters (the limit is {MAX_ROW_CHARS:,}); this is not a survey export", f.name)
    m = SEP_LINE.match(text)
    if m:
        sep = m.group(1)
        text = text[m.end():]
        if sep not in (",", ";"):
            raise InputError("wrong_delimiter", "the file's sep= line names a delimiter other than a comma or semicolon", f.name)
    else:
        sep = sniff_delimiter(text, allowed=(",", ";"), single_column=False, source=f.name)
    first = text.split("\n", 1)[0]
    with redact_errors("malformed_csv", "the CSV header cannot be parsed", f.name):
        header = next(csv.reader([first], delimiter=sep), [])
    check_header(header, f.name)
    lines = text.count("\n") + 1
    if len(header) * lines > MAX_CELLS:
        raise InputError("too_many_cells", f"{len(header):,} columns x {lines:,} lines is over the {MAX_CELLS:,}-cell limit", f.name)
    with redact_errors("malformed_csv", "the CSV cannot be parsed (unbalanced quotes or a broken row)", f.name):
        df = pd.read_csv(
            io.StringIO(text), sep=sep, dtype=object, keep_default_na=False, na_values=[""], engine="c",
            quoting=csv.QUOTE_MINIMAL, on_bad_lines="error", skip_blank_lines=True,
        )
    if df.shape[1] < 2:
        raise InputError("wrong_delimiter", "the rows have a single column: the file is not comma- or semicolon-separated", f.name)
    if len(df) == 0:
        raise InputError("empty_sheet", "the CSV has a header but no rows", f.name)
    check_cells(df, f.name)
    return df


def check_header(header: list, name: str) -> None:
    """Refuse too many columns and duplicated names (linear: one pass with a set). Names are never quoted."""
    if len(header) > MAX_COLUMNS:
        raise InputError("too_many_columns", f"{len(header):,} columns (the limit is {MAX_COLUMNS:,}); this is not a survey export", name)
    seen: dict[str, int] = {}
    for i, h in enumerate(header, start=1):
        k = normalise_header(h) if h is not None else ""
        if not k:
            continue
        if k in seen:
            raise InputError("duplicate_columns", f"columns {seen[k]} and {i} have the same name", name)
        seen[k] = i


def check_cells(df: pd.DataFrame, name: str) -> None:
    """Refuse a cell longer than ``MAX_CELL_CHARS``, naming its row and column. Lengths are taken of each
    column's distinct values (factorised: survey answers repeat), so the check costs a hash per cell."""
    for j, c in enumerate(df.columns, start=1):
        s = df[c]
        if s.dtype != object:
            continue
        codes, uniques = pd.factorize(s, use_na_sentinel=True)
        lens = np.fromiter((len(u) if isinstance(u, str) else 0 for u in uniques), dtype=np.int64, count=len(uniques))
        if not len(lens) or lens.max() <= MAX_CELL_CHARS:
            continue
        u = int(np.argmax(lens))
        pos = int(np.flatnonzero(codes == u)[0])
        raise InputError("cell_too_long", f"row {pos + 2}, column {j}: a cell holds {int(lens[u]):,} characters (the limit is {MAX_CELL_CHARS:,})", name)


# --- XLSX ---------------------------------------------------------------------------------------------------

_DTD = re.compile(rb"<!\s*(?:DOCTYPE|ENTITY)", re.I)
_TAG = re.compile(rb"<(?:[A-Za-z_][\w.-]*:)?(row|c)\b([^>]*?)(/?)>")  # <c>, <row>, also namespace-prefixed (<x:c>)
_REF = re.compile(rb"""\br\s*=\s*["']([A-Za-z]{0,3})(\d{1,8})["']""")


def _col_number(letters: bytes) -> int:
    n = 0
    for ch in letters.upper():
        n = n * 26 + ch - 64
    return n


class _SheetExtent:
    """The bounding box of a worksheet's non-empty cells, read from its XML as it streams (no table built).

    A spreadsheet reader allocates every cell of the bounding box: one stray cell at XFD1048576 is 17 billion
    cells (549 GB). ``<c .../>`` elements (formatting only, no value) do not count; cells without an ``r``
    attribute take the next column, rows without one the next row.
    """

    def __init__(self) -> None:
        self.rows = self.cols = self.cells = 0
        self._row = self._col = 0
        self.oversized_tag = False
        self._carry = b""

    def feed(self, chunk: bytes) -> None:
        data = self._carry + chunk
        cut = data.rfind(b"<")
        if cut == -1 or data.find(b">", cut) != -1:
            cut = len(data)
        self._carry = data[cut:]
        if len(self._carry) > 1 << 16:  # no spreadsheet writes a 64 KB tag: refuse rather than guess
            self.oversized_tag = True
            self._carry = b""
        for m in _TAG.finditer(data, 0, cut):
            ref = _REF.search(m.group(2))
            if m.group(1) == b"row":
                self._row = int(ref.group(2)) if ref else self._row + 1
                self._col = 0
                continue
            if ref:
                if ref.group(1):
                    self._col = _col_number(ref.group(1))
                else:
                    self._col += 1
                self._row = int(ref.group(2)) or self._row
            else:
                self._col += 1
            if m.group(3):
                continue  # <c r=".." s=".."/>: styled, empty
            self.cells += 1
            self.rows = max(self.rows, self._row)
            self.cols = max(self.cols, self._col)

    def check(self, name: str) -> None:
        if self.oversized_tag:
            raise InputError("malformed_xlsx", "a sheet's XML holds a tag longer than 64 KB; refused", name)
        if self.cols > MAX_COLUMNS:
            raise InputError("too_many_columns", f"a sheet has a cell in column {self.cols:,} (the limit is {MAX_COLUMNS:,}): delete the stray cells or export again", name)
        if self.rows * self.cols > MAX_CELLS or self.cells > MAX_CELLS:
            raise InputError("too_many_cells", f"a sheet spans {self.rows:,} rows x {self.cols:,} columns (the limit is {MAX_CELLS:,} cells): delete the stray cells or export again", name)


def _check_xlsx(f: ExportFile) -> None:
    """Refuse zip bombs and XML entity tricks before openpyxl reads anything.

    Declared sizes are checked first (count, per-member size, ratio, total), then every member is streamed
    through the decompressor with a hard cap (declared sizes can lie) and its XML is searched for a DTD or an
    entity declaration (XXE, "billion laughs"); openpyxl itself parses through defusedxml as a second line.
    """
    with redact_errors("not_a_table", "the file is a damaged or non-workbook zip archive", f.name):
        z = zipfile.ZipFile(io.BytesIO(f.data))
        infos = z.infolist()
    names = {i.filename for i in infos}
    if len(infos) > MAX_XLSX_MEMBERS:
        raise InputError("zip_bomb", f"the workbook has {len(infos)} parts; refused", f.name)
    total = 0
    for i in infos:
        if i.flag_bits & 0x1:
            raise InputError("unsupported_format", "the workbook is encrypted", f.name)
        ratio = i.file_size / max(i.compress_size, 1)
        if i.file_size > MAX_XLSX_MEMBER or (i.file_size > 1_000_000 and ratio > MAX_XLSX_RATIO):
            raise InputError("zip_bomb", f"a part of the workbook decompresses {ratio:.0f}-fold to {i.file_size / 1e6:.0f} MB; refused", f.name)
        total += i.file_size
    if total > MAX_XLSX_UNCOMPRESSED:
        raise InputError("zip_bomb", f"the workbook decompresses to {total / 1e6:.0f} MB; refused", f.name)
    if "xl/workbook.xml" not in names or "[Content_Types].xml" not in names:
        raise InputError("not_a_table", "the zip archive is not an Excel workbook (.xlsx)", f.name)
    seen = 0
    for i in infos:
        xml = i.filename.endswith((".xml", ".rels", ".vml"))
        n = 0
        tail = b""
        extent = _SheetExtent() if i.filename.startswith("xl/worksheets/") and i.filename.endswith(".xml") else None
        with redact_errors("not_a_table", "the workbook is damaged", f.name):
            fh = z.open(i)
        with fh:
            while True:
                with redact_errors("not_a_table", "the workbook is damaged", f.name):
                    chunk = fh.read(1 << 20)
                if not chunk:
                    break
                n += len(chunk)
                seen += len(chunk)
                if n > max(i.file_size, 0) + 1024 or n > MAX_XLSX_MEMBER or seen > MAX_XLSX_UNCOMPRESSED:
                    raise InputError("zip_bomb", "a part of the workbook decompresses to more than it declares; refused", f.name)
                if xml and _DTD.search(tail + chunk):
                    raise InputError("xml_entities", "the workbook's XML declares a DTD or entities (XXE / entity expansion); refused", f.name)
                tail = chunk[-16:]
                if extent is not None:
                    extent.feed(chunk)
                    extent.check(f.name)


def read_xlsx(f: ExportFile) -> dict[str, pd.DataFrame | None]:
    """Every sheet as a string DataFrame (header = first row); empty sheets map to None.

    Read with python-calamine (Rust; about 7x faster than openpyxl on a 4,000-household export) only after
    ``_check_xlsx`` has refused bombs and DTDs; its XML reader does not expand entities either.
    """
    _check_xlsx(f)
    from python_calamine import CalamineWorkbook

    sheets: dict[str, pd.DataFrame | None] = {}
    with redact_errors("malformed_xlsx", "the workbook cannot be read", f.name):
        wb = CalamineWorkbook.from_filelike(io.BytesIO(f.data))
        for name in wb.sheet_names:
            rows = wb.get_sheet_by_name(name).to_python(skip_empty_area=False)
            header = rows[0] if rows else None
            if header is None or all(h is None or str(h).strip() == "" for h in header):
                sheets[name] = None
                continue
            width = max(i for i, h in enumerate(header) if h is not None and str(h).strip() != "") + 1
            cols = [_xl_cell(h) or "" for h in header[:width]]
            check_header(cols, f"{f.name}[{name}]")
            data = []
            for r in rows[1:]:
                r = [_xl_cell(v) for v in r[:width]]
                if all(v is None for v in r):
                    continue
                data.append(r + [None] * (width - len(r)))
            frame = pd.DataFrame(data, columns=cols, dtype=object)
            check_cells(frame, f"{f.name}[{name}]")
            sheets[name] = frame if data else pd.DataFrame(columns=cols)
    return sheets


def _xl_cell(v):
    if v is None or v == "":
        return None
    if isinstance(v, float) and v.is_integer():
        return str(int(v))
    if hasattr(v, "isoformat"):
        return v.isoformat()
    s = str(v)
    return s if s.strip() else None



# --- main table and roster ----------------------------------------------------------------------------------


# ODK Central names the submission key KEY (``uuid:...``) and a repeat row's parent PARENT_KEY; KoboToolbox
# writes _uuid and _submission__uuid. Both are read as the latter.
ID_ALIASES = {"key": "_uuid", "meta/instanceid": "_uuid", "meta-instanceid": "_uuid", "instanceid": "_uuid", "parent_key": "_submission__uuid"}
_ROSTER_KEYS = {"_parent_index", "_submission__uuid", "parent_key"}


@dataclass
class Tables:
    """The main table and the roster, each possibly made of several batches (parts) of the same export."""

    main: pd.DataFrame
    roster: pd.DataFrame
    format: dict
    main_name: str
    roster_name: str
    main_parts: list[int]  # rows of each batch, in order
    roster_parts: list[int]


def _with_id_aliases(df: pd.DataFrame, roster: bool) -> pd.DataFrame:
    """ODK Central's KEY / PARENT_KEY renamed to Kobo's names when the Kobo ones are absent."""
    cols = {normalise_header(c): c for c in df.columns}
    ren = {}
    for alias, target in ID_ALIASES.items():
        if alias in cols and target not in cols and target not in {normalise_header(v) for v in ren.values()}:
            if roster and target == "_uuid":
                continue  # a roster row's own KEY is not its household's
            if not roster and target == "_submission__uuid":
                continue
            ren[cols[alias]] = target
    return df.rename(columns=ren) if ren else df


def _concat(parts: list[pd.DataFrame]) -> pd.DataFrame:
    """Batches of one table: columns matched by their normalised name (the first batch's spelling wins)."""
    if len(parts) == 1:
        return parts[0]
    spelling = {normalise_header(c): c for c in parts[0].columns}
    fixed = []
    for p in parts:
        fixed.append(p.rename(columns={c: spelling.setdefault(normalise_header(c), c) for c in p.columns}))
    return pd.concat(fixed, ignore_index=True, sort=False)


def find_tables(files: list[ExportFile], form: FormDefinition) -> Tables:
    """Find the main and roster tables among the files / sheets.

    A table is the roster when it has a parent key (``_parent_index``, ``_submission__uuid``, ODK's
    ``PARENT_KEY``) or at least four roster questions and no ``_uuid``; the main table when it has a
    submission id (``_uuid`` or ODK's ``KEY``) and at least three household questions; anything else (an
    instructions or notes sheet, a choices sheet) is ignored. Several main tables (or rosters) are batches of
    one export: they are concatenated in file order and their rows counted.
    """
    tables: list[tuple[str, pd.DataFrame | None]] = []
    kinds = set()
    for f in files:
        kind = file_kind(f)
        kinds.add(kind)
        if kind == "xlsx":
            for sheet, df in read_xlsx(f).items():
                tables.append((f"{f.name}[{sheet}]", df))
        else:
            tables.append((f.name, read_csv(f)))
    mains: list[tuple[str, pd.DataFrame]] = []
    rosters: list[tuple[str, pd.DataFrame]] = []
    others: list[str] = []
    repeat_names = {normalise_header(fl.name) for fl in form.repeat_fields}
    for label, df in tables:
        if df is None:
            continue
        cols = {normalise_header(c) for c in df.columns}
        bare = {c.split("/")[-1] for c in cols}
        has_id = bool(cols & {"_uuid", "key", "meta/instanceid", "meta-instanceid", "instanceid"})
        looks_roster = bool(cols & _ROSTER_KEYS) or (len(bare & repeat_names) >= 4 and not has_id)
        if looks_roster:
            rosters.append((label, _with_id_aliases(df, roster=True)))
        elif has_id or count_matches(df.columns, form, form.main_fields) >= 3:
            mains.append((label, _with_id_aliases(df, roster=False)))
        else:
            others.append(label)
    empties = [label for label, df in tables if df is None or len(df) == 0]
    if not mains:
        if empties:
            raise InputError("empty_sheet", "the sheet has no header or no rows", empties[0])
        if rosters:
            raise InputError("missing_main", "only the roster (repeat 'anggota') was given; add the main table", rosters[0][0])
        raise InputError("another_questionnaire", "no table in the file looks like an export of this questionnaire", files[0].name)
    for label, df in mains:
        if len(df) == 0:
            raise InputError("empty_sheet", "the main table has a header but no rows", label)
    main_name = mains[0][0]
    if not rosters:
        rest = [e for e in empties if e not in {m[0] for m in mains}]
        if rest:
            raise InputError("empty_sheet", "the roster sheet has no header or no rows", rest[0])
        raise InputError("missing_roster", "the household roster (repeat 'anggota') is missing: export with repeat groups as a sheet or a second CSV", main_name)
    fmt = {"kind": "xlsx" if "xlsx" in kinds else "csv", "files": len(files), "main_batches": len(mains), "roster_batches": len(rosters), "ignored_tables": len(others)}
    return Tables(
        main=_concat([df for _, df in mains]), roster=_concat([df for _, df in rosters]), format=fmt,
        main_name=main_name, roster_name=rosters[0][0],
        main_parts=[len(df) for _, df in mains], roster_parts=[len(df) for _, df in rosters],
    )


def export_files(path) -> list[Path]:
    """The files of an export given as a path: an XLSX; a main CSV and its roster CSV beside it
    (``<stem>-anggota.csv`` / ``<stem>_anggota.csv`` / ``anggota.csv``); or a directory holding either (the
    XLSX wins when both are there)."""
    p = Path(path)
    if p.is_dir():
        found = sorted(p.iterdir())
        xlsx = [q for q in found if q.suffix.lower() == ".xlsx"]
        if xlsx:
            return xlsx[:1]
        return [q for q in found if q.suffix.lower() == ".csv" and q.name not in ("design.csv", "truth_kelurahan.csv")]
    if p.suffix.lower() == ".csv":
        for sib in (f"{p.stem}-anggota.csv", f"{p.stem}_anggota.csv", "anggota.csv"):
            if (p.parent / sib).is_file() and (p.parent / sib) != p:
                return [p, p.parent / sib]
    return [p]
