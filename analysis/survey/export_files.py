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

import pandas as pd

from analysis.errors import InputError
from analysis.etl.readers import decode_text, sniff_delimiter
from analysis.privacy import redact_errors
from analysis.survey.headers import normalise_header
from analysis.survey.questionnaire import FormDefinition

# --- limits -------------------------------------------------------------------------------------------------

MAX_FILE_BYTES = 50 * 1024 * 1024  # issue 6: uploads up to 50 MB
MAX_XLSX_UNCOMPRESSED = 400 * 1024 * 1024  # all members of a workbook, decompressed
MAX_XLSX_MEMBER = 300 * 1024 * 1024
MAX_XLSX_RATIO = 200  # decompressed / compressed size of one member (text XML compresses ~10-30x)
MAX_XLSX_MEMBERS = 1000


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


def read_csv(f: ExportFile) -> pd.DataFrame:
    """One CSV file as a string DataFrame, decoded and split with the project's one decoder and sniffer
    (``analysis.etl.readers``); only comma and semicolon are accepted (what KoboToolbox and ODK write)."""
    text, _ = decode_text(f.data, f.name)
    sep = sniff_delimiter(text, allowed=(",", ";"), single_column=False, source=f.name)
    with redact_errors("malformed_csv", "the CSV cannot be parsed (unbalanced quotes or a broken row)", f.name):
        df = pd.read_csv(
            io.StringIO(text), sep=sep, dtype=object, keep_default_na=False, na_values=[""], engine="c",
            quoting=csv.QUOTE_MINIMAL, on_bad_lines="error", skip_blank_lines=True,
        )
    header = next(csv.reader(io.StringIO(text.split("\n", 1)[0]), delimiter=sep), [])
    seen, dupes = set(), []
    for h in header:
        k = normalise_header(h)
        if k in seen and k and k not in dupes:
            dupes.append(k)
        seen.add(k)
    if dupes:
        raise InputError("duplicate_columns", f"column(s) appear twice: {[d[:40] for d in dupes[:5]]}", f.name)
    if df.shape[1] < 2:
        raise InputError("wrong_delimiter", "the rows have a single column: the file is not comma- or semicolon-separated", f.name)
    if len(df) == 0:
        raise InputError("empty_sheet", "the CSV has a header but no rows", f.name)
    return df




# --- XLSX ---------------------------------------------------------------------------------------------------

_DTD = re.compile(rb"<!\s*(?:DOCTYPE|ENTITY)", re.I)


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
            data = []
            for r in rows[1:]:
                r = [_xl_cell(v) for v in r[:width]]
                if all(v is None for v in r):
                    continue
                data.append(r + [None] * (width - len(r)))
            frame = pd.DataFrame(data, columns=cols, dtype=object)
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


def find_tables(files: list[ExportFile], form: FormDefinition) -> tuple[pd.DataFrame, pd.DataFrame | None, dict, str, str]:
    """Find the main and roster tables among the files / sheets. Returns (main, roster, format, main name, roster name)."""
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
    main = roster = None
    main_name = roster_name = ""
    repeat_names = {normalise_header(fl.name) for fl in form.repeat_fields}
    for label, df in tables:
        if df is None:
            continue
        cols = {normalise_header(c) for c in df.columns}
        bare = {c.split("/")[-1] for c in cols}
        looks_roster = "_parent_index" in cols or (len(bare & repeat_names) >= 4 and "_uuid" not in cols)
        if looks_roster and roster is None:
            roster, roster_name = df, label
        elif not looks_roster and main is None:
            main, main_name = df, label
    empties = [label for label, df in tables if df is None or len(df) == 0]
    if main is None:
        if empties:
            raise InputError("empty_sheet", "the sheet has no header or no rows", empties[0])
        if roster is not None:
            raise InputError("missing_main", "only the roster (repeat 'anggota') was given; add the main table", roster_name)
        raise InputError("another_questionnaire", "no table in the file looks like an export of this questionnaire", files[0].name)
    if len(main) == 0:
        raise InputError("empty_sheet", "the main table has a header but no rows", main_name)
    if roster is None:
        if empties and any(label != main_name for label in empties):
            raise InputError("empty_sheet", "the roster sheet has no header or no rows", [e for e in empties if e != main_name][0])
        raise InputError("missing_roster", "the household roster (repeat 'anggota') is missing: export with repeat groups as a sheet or a second CSV", main_name)
    fmt = {"kind": "xlsx" if "xlsx" in kinds else "csv", "files": len(files)}
    return main, roster, fmt, main_name, roster_name


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
