"""Ingest a KoboToolbox / ODK Collect export of the project's questionnaire into the canonical survey tables.

``ingest_export(files, *, register, design=None, source_name)`` works entirely in memory (bytes or paths in,
DataFrames out) so the upload page never writes an NGO's data to disk; ``ingest_export_to_dir`` is the CLI
wrapper that writes the tables, their rejects and a report.

What an export may look like (all accepted):
- **CSV** (comma or semicolon; UTF-8 with or without BOM, or Windows-1252): a main file with one row per
  submission and a repeat file (the roster ``anggota``) with one row per member, joined by ``_index`` /
  ``_parent_index`` as KoboToolbox writes them;
- **XLSX**: a main sheet and a repeat sheet in one workbook (KoboToolbox's XLS export);
- headers as XML names with group paths (``lokasi/kelurahan``, any of ``/ . - :`` as separator, or without
  the group) or as **labels** in either language of the form; values as XML values or as labels (mapped back
  through the form's choice lists, both languages); select_multiple as a space-separated column and/or as
  one 0/1 column per option.

What ingestion does, in order (Lohr 2022 ch. 8 on nonresponse and data cleaning; Kobo/ODK export formats):
1. refuses files that are not an export of this form with a specific ``InputError`` (see ``ERROR_CODES``);
2. scrubs every free-text field (enumerator code, "other" kelurahan, other reason, notes) with
   ``analysis.privacy`` **before** anything else reads it, and counts what was removed;
3. drops duplicate submissions (same ``_uuid``), test submissions, refused consent; harmonises the kelurahan
   to its Kemendagri code (choice value, label, or free text through the project's name matcher); rejects
   roster rows without a household, members of rejected households and ages outside 0-110;
4. derives the analysis variables: income quintile from the expenditure bracket (``QUINTILE_OF_BRACKET``),
   five education levels, age groups, the household's internet use from the roster (BPS: any member used
   the internet in the last 3 months), the respondent's characteristics, quota burden;
5. attaches the design (stratum, PSU, weight, fpc) from a design file when given; otherwise treats the export
   as a simple random sample of each kampung (kelurahan = stratum, household = PSU, equal weights) and says so
   in ``IngestResult.notes``;
6. validates both tables against ``analysis.survey.schema`` (pandera).

Every dropped row lands in a rejects table with its reason; households and persons each satisfy
rows in = rows out + rows rejected. Free text is never kept. Messages never quote a cell.
"""

from __future__ import annotations

import csv
import functools
import io
import json
import re
import zipfile
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from analysis.csv_safety import FORMULA_PREFIXES, escape_formula  # noqa: F401  (re-exported)
from analysis.errors import InputError
from analysis.privacy import MARKER, Scrubber, redact_errors
from analysis.survey import schema as S
from analysis.survey.questionnaire import FormDefinition, load_form
from analysis.survey.schema import EDUCATION_LEVEL, EXPENDITURE_BRACKETS
from analysis.tables import Field, Table

# --- limits -------------------------------------------------------------------------------------------------

MAX_FILE_BYTES = 50 * 1024 * 1024  # issue 6: uploads up to 50 MB
MAX_XLSX_UNCOMPRESSED = 400 * 1024 * 1024  # all members of a workbook, decompressed
MAX_XLSX_MEMBER = 300 * 1024 * 1024
MAX_XLSX_RATIO = 200  # decompressed / compressed size of one member (text XML compresses ~10-30x)
MAX_XLSX_MEMBERS = 1000

ERROR_CODES = {
    "empty_file": "The file is empty.",
    "file_too_large": "The file is larger than the 50 MB limit.",
    "not_a_table": "The file is not a CSV or XLSX table (an image, a PDF or another binary file).",
    "unsupported_format": "Old Excel (.xls) or encrypted workbooks are not supported; save as .xlsx or CSV.",
    "zip_bomb": "The workbook decompresses to far more data than a survey export can hold.",
    "xml_entities": "The workbook's XML declares a DTD or entities, which an export never does.",
    "empty_sheet": "A sheet or CSV file has no header or no rows.",
    "missing_roster": "The household roster (repeat 'anggota') is missing: export with repeat groups.",
    "missing_main": "The main (household) table is missing: only the roster was given.",
    "wrong_delimiter": "The CSV columns are not separated by a comma or semicolon.",
    "malformed_csv": "The CSV cannot be parsed (unbalanced quotes or broken rows).",
    "malformed_xlsx": "The workbook cannot be read.",
    "another_questionnaire": "The file is not an export of this questionnaire.",
    "missing_columns": "Columns of the questionnaire are missing.",
    "renamed_columns": "Columns of the questionnaire appear under another name.",
    "duplicate_columns": "Two columns have the same name.",
    "missing_uuid_column": "The export has no _uuid column (export with the metadata columns).",
    "missing_index_columns": "The export has no _index/_parent_index columns to join the roster.",
    "no_rows": "No household remains after cleaning (every submission was rejected).",
    "bad_design": "The design file cannot be used.",
    "too_many_files": "Too many files: give the main table and the roster.",
}

# --- fixed derivations --------------------------------------------------------------------------------------

# Expenditure bracket -> quintile. Fixed cut-points, the same for the demo survey and every upload, so that
# an NGO's kampung is placed on the city's scale rather than on its own. Quintile boundaries of DKI monthly
# household expenditure (Susenas DKI: mean per-capita expenditure about Rp2.3 million in 2022, 3.6 persons
# per household; poverty line about Rp0.8 million per capita) fall near Rp3, 5, 7.5 and 10 million; the
# form's two lowest brackets (under Rp1.5 million and Rp1.5-3 million) together form the poorest fifth, so
# the brackets map onto quintiles as:
QUINTILE_OF_BRACKET = {
    "lt1500": 1,
    "1500_3000": 1,
    "3000_5000": 2,
    "5000_7500": 3,
    "7500_10000": 4,
    "ge10000": 5,
}
# Midpoint (Rp) of each bracket for the quota burden; the open top bracket at 1.25 x its floor.
BRACKET_MIDPOINT = {
    name: ((lo + hi) / 2 if hi is not None else 1.25 * lo) for name, (lo, hi) in EXPENDITURE_BRACKETS.items()
}
AGE_BINS = [(5, 14, "5-14"), (15, 24, "15-24"), (25, 44, "25-44"), (45, 59, "45-59"), (60, 200, "60+")]
AGE_MIN, AGE_MAX = 0, 110

# Free-text fields of the form (scrubbed, then dropped); the kelurahan text is read by the matcher first.
TEST_PATTERN = re.compile(r"^\s*(?:test|tes|testing|uji|ujicoba|uji[ _-]?coba|coba|percobaan|dummy|trial|demo[ _-]?enum)\b", re.I)
KOBO_META = (
    "_id", "_uuid", "_index", "_parent_index", "_parent_table_name", "_submission_time", "_validation_status",
    "_notes", "_status", "_submitted_by", "__version__", "_tags", "_submission__id", "_submission__uuid",
    "_submission__submission_time", "_submission__validation_status", "_submission__notes", "_submission__status",
    "_submission__submitted_by", "_submission__tags", "_submission___version__", "meta/instanceID", "meta/rootUuid",
    "meta/deprecatedID", "formhub/uuid", "synthetic", "_synthetic", "_version", "_xform_id_string", "instanceID",
)

INFO_COLUMNS = {
    "rt_rw": "info_rt_rw", "kelurahan_office": "info_kelurahan_office", "poster": "info_poster",
    "door_to_door": "info_door_to_door", "whatsapp": "info_whatsapp", "social_media": "info_social_media",
    "online_news": "info_online_news", "jaki": "info_jaki", "tv_radio": "info_tv_radio",
    "community_org": "info_community_org",
}
REASON_COLUMNS = {
    "did_not_know": "reason_did_not_know", "no_smartphone": "reason_no_smartphone", "no_quota": "reason_no_quota",
    "cannot_operate": "reason_cannot_operate", "distrust": "reason_distrust",
}
CONN_COLUMNS = {"mobile_data": "conn_mobile_data", "fixed_broadband": "conn_fixed_broadband", "public_wifi": "conn_public_wifi"}

REJECT_COLUMNS = ["row", "reason", "sheet", "hh_id"]


# --- result -------------------------------------------------------------------------------------------------


@dataclass
class IngestResult:
    households: pd.DataFrame
    persons: pd.DataFrame
    household_rejects: pd.DataFrame
    person_rejects: pd.DataFrame
    households_in: int
    persons_in: int
    pii_removed: dict[str, int]
    notes: list[str] = field(default_factory=list)
    format: dict = field(default_factory=dict)
    weighted: bool = False
    synthetic: bool = False
    survey_id: str = ""

    def reject_counts(self) -> dict[str, dict[str, int]]:
        return {
            "households": {k: int(v) for k, v in self.household_rejects["reason"].value_counts().sort_index().items()},
            "persons": {k: int(v) for k, v in self.person_rejects["reason"].value_counts().sort_index().items()},
        }

    def report(self) -> dict:
        """Counts only (never values): rows in/out/rejected, rejects by reason, personal data removed, notes."""
        return {
            "survey_id": self.survey_id,
            "synthetic": self.synthetic,
            "format": self.format,
            "weighted": self.weighted,
            "households": {"rows_in": self.households_in, "rows_out": len(self.households), "rows_rejected": len(self.household_rejects)},
            "persons": {"rows_in": self.persons_in, "rows_out": len(self.persons), "rows_rejected": len(self.person_rejects)},
            "rejects": self.reject_counts(),
            "pii_removed": self.pii_removed,
            "notes": self.notes,
        }

    def tables(self, sources: Sequence[str] = ()) -> list[Table]:
        """``survey_households`` and ``survey_persons`` as build Tables (rejects attached, codebook fields)."""
        out = []
        for sch, data, rejects, rows_in in (
            (S.HOUSEHOLDS, self.households, self.household_rejects, self.households_in),
            (S.PERSONS, self.persons, self.person_rejects, self.persons_in),
        ):
            t = Table(
                name=sch.name,
                title=sch.title + (" - SYNTHETIC" if self.synthetic else ""),
                description=sch.description + (" Weighted with the survey design." if self.weighted else " Unweighted: treated as a simple random sample of each kampung."),
                data=data.reset_index(drop=True),
                fields=S.fields(sch),
                sources=list(sources),
                rows_in=rows_in,
                rows_used=len(data),
                rejects=rejects.reset_index(drop=True),
                synthetic=self.synthetic,
            )
            t.check()
            out.append(t)
        return out


# --- input files --------------------------------------------------------------------------------------------


@dataclass
class _File:
    name: str
    data: bytes


def _load_files(files, max_bytes: int | None = MAX_FILE_BYTES) -> list[_File]:
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
        out.append(_File(name, payload))
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


def _kind(f: _File) -> str:
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


def _decode(data: bytes, name: str) -> str:
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        return data.decode("utf-16")
    for enc in ("utf-8-sig", "cp1252", "latin-1"):
        try:
            return data.decode(enc)
        except UnicodeDecodeError:
            continue
    raise InputError("not_a_table", "the text encoding cannot be read", name)  # pragma: no cover (latin-1 decodes all)


def _delimiter(text: str, name: str) -> str:
    first = text.split("\n", 1)[0]
    counts = {d: first.count(d) for d in (",", ";", "\t", "|")}
    best = max(counts, key=lambda d: counts[d])
    if counts[best] == 0:
        raise InputError("wrong_delimiter", "the header has a single column: the file is not comma- or semicolon-separated", name)
    if best in ("\t", "|"):
        what = "tabs" if best == "\t" else "'|'"
        raise InputError("wrong_delimiter", f"columns are separated by {what}; export the CSV with a comma or a semicolon", name)
    return best


def _read_csv(f: _File) -> pd.DataFrame:
    text = _decode(f.data, f.name)
    sep = _delimiter(text, f.name)
    with redact_errors("malformed_csv", "the CSV cannot be parsed (unbalanced quotes or a broken row)", f.name):
        df = pd.read_csv(
            io.StringIO(text), sep=sep, dtype=object, keep_default_na=False, na_values=[""], engine="c",
            quoting=csv.QUOTE_MINIMAL, on_bad_lines="error", skip_blank_lines=True,
        )
    header = next(csv.reader(io.StringIO(text.split("\n", 1)[0]), delimiter=sep), [])
    seen, dupes = set(), []
    for h in header:
        k = _norm(h)
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


def _check_xlsx(f: _File) -> None:
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


def _read_xlsx(f: _File) -> dict[str, pd.DataFrame | None]:
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


# --- headers ------------------------------------------------------------------------------------------------


def _norm(s: str) -> str:
    return re.sub(r"\s+", " ", str(s)).strip().casefold()


@dataclass
class _HeaderMap:
    """How the export's headers map onto the form: column -> (field name, option or None)."""

    columns: dict[str, tuple[str, str | None]]
    mode: str  # "xml" or the label language
    unmatched: list[str]


def _header_candidates(form: FormDefinition) -> dict[str, dict[str, tuple[str, str | None]]]:
    """Per mode ("xml", each language): normalised header -> (field name, option)."""
    modes: dict[str, dict[str, tuple[str, str | None]]] = {"xml": {}}
    variants_of = {}
    for f in form.fields:  # first every field's own header, so an option column never shadows a field
        parts = f.path.split("/")
        variants_of[f.name] = {f.path, f.name} | {sep.join(parts) for sep in (".", "-", ":", "_")}
        for v in variants_of[f.name]:
            modes["xml"].setdefault(_norm(v), (f.name, None))
        for lang in form.languages:
            label = f.labels.get(lang)
            if label:
                modes.setdefault(lang, {}).setdefault(_norm(label), (f.name, None))
    for f in form.fields:  # then the 0/1 option columns of select_multiple ("path/option", "label/option label")
        if f.type != "select_multiple":
            continue
        for c in form.choices[f.list_name]:
            for v in variants_of[f.name]:
                for sep in ("/", ".", ":"):
                    modes["xml"].setdefault(_norm(f"{v}{sep}{c.name}"), (f.name, c.name))
            for lang in form.languages:
                label = f.labels.get(lang)
                if label:
                    modes[lang].setdefault(_norm(f"{label}/{c.labels.get(lang) or c.name}"), (f.name, c.name))
                    modes[lang].setdefault(_norm(f"{label}/{c.name}"), (f.name, c.name))
    # A label export still has XML-named fields where a field has no label (calculates, metadata).
    for lang in form.languages:
        for k, v in modes["xml"].items():
            modes.setdefault(lang, {}).setdefault(k, v)
    return modes


def _map_headers(df: pd.DataFrame, form: FormDefinition, fields: list, name: str) -> _HeaderMap:
    wanted = {f.name for f in fields}
    cands = _header_candidates(form)
    meta = {_norm(m) for m in KOBO_META}
    norm_cols = [_norm(c) for c in df.columns]
    dupes = sorted({c for c in norm_cols if norm_cols.count(c) > 1 and c})
    if dupes:
        raise InputError("duplicate_columns", f"column(s) appear twice: {[d[:40] for d in dupes[:5]]}", name)
    best_mode, best_hits = "xml", -1
    for mode, table in cands.items():
        hits = sum(1 for c in norm_cols if c in table and table[c][0] in wanted)
        if hits > best_hits:
            best_mode, best_hits = mode, hits
    table = cands[best_mode]
    columns, unmatched = {}, []
    for col, n in zip(df.columns, norm_cols):
        if n in table and table[n][0] in wanted:
            columns[col] = table[n]
        elif n in meta or n.startswith("_"):
            continue
        else:
            unmatched.append(col)
    return _HeaderMap(columns, best_mode, unmatched)


def _require(hmap: _HeaderMap, fields: list, form: FormDefinition, name: str, sheet: str) -> None:
    """Raise when the questionnaire's coded columns are not there (text fields and calculates are optional)."""
    present = {fname for fname, opt in hmap.columns.values()}
    present_opts = {fname for fname, opt in hmap.columns.values() if opt}
    required = [f for f in fields if f.type in ("select_one", "select_multiple", "integer", "decimal") and f.name != "line_no"]
    missing = [f.path for f in required if f.name not in present and f.name not in present_opts]
    if not missing:
        return
    share = 1 - len(missing) / max(len(required), 1)
    if share < 0.3:
        raise InputError(
            "another_questionnaire",
            f"the {sheet} has {len(required) - len(missing)} of the questionnaire's {len(required)} coded columns: "
            f"this is not an export of the '{form.form_id}' form",
            name,
        )
    from rapidfuzz import fuzz, process

    suggestions = []
    for path in missing:
        hit = process.extractOne(_norm(path.split("/")[-1]), [_norm(c) for c in hmap.unmatched], scorer=fuzz.WRatio, score_cutoff=80)
        if hit:
            suggestions.append(f"'{hmap.unmatched[hit[2]][:40]}' looks like '{path}'")
    if suggestions:
        raise InputError("renamed_columns", f"{sheet}: column(s) renamed: {'; '.join(suggestions[:5])}; missing: {missing[:10]}", name)
    raise InputError("missing_columns", f"{sheet}: missing column(s) {missing[:10]}" + (" ..." if len(missing) > 10 else ""), name)


# --- values -------------------------------------------------------------------------------------------------


def _choice_lookup(form: FormDefinition, list_name: str) -> dict[str, str]:
    """Normalised value or label (any language) -> choice name."""
    out = {}
    for c in form.choices[list_name]:
        out.setdefault(_norm(c.name), c.name)
    for c in form.choices[list_name]:
        for lab in c.labels.values():
            out.setdefault(_norm(lab), c.name)
    return out


def _map_select_one(series: pd.Series, lookup: dict[str, str]) -> tuple[pd.Series, int]:
    """Map values/labels to choice names; unknown answers become NA (returned count, never the values)."""
    codes, uniques = pd.factorize(series, use_na_sentinel=True)
    mapped = np.array([lookup.get(_norm(u)) for u in uniques] + [None], dtype=object)
    out = pd.Series(mapped[codes], index=series.index, dtype=object)  # code -1 (missing) -> the trailing None
    invalid = int(((codes >= 0) & pd.isna(mapped[codes])).sum())
    return out, invalid


def _split_multiple(series: pd.Series, form: FormDefinition, list_name: str) -> tuple[pd.DataFrame, int]:
    """A select_multiple column (values space-separated, or labels space-joined as Kobo writes them) -> one
    nullable boolean column per option (NA where unanswered) and the number of unreadable answers.

    Vectorised over distinct answers: each distinct string is parsed once (labels contain spaces, so they
    are matched greedily, longest first), then the option matrix is indexed by the factorised codes.
    """
    options = form.choice_names(list_name)
    lookup = _choice_lookup(form, list_name)
    labels = sorted(lookup.items(), key=lambda kv: -len(kv[0]))
    names = set(options)

    def parse(text: str):
        t = _norm(text)
        toks = t.split(" ")
        if all(tok in names for tok in toks):
            return set(toks)
        got, rest = set(), t
        while rest:
            for lab, name in labels:
                if rest == lab or rest.startswith(lab + " "):
                    got.add(name)
                    rest = rest[len(lab):].strip()
                    break
            else:
                return None
        return got

    codes, uniques = pd.factorize(series, use_na_sentinel=True)
    mat = np.zeros((len(uniques) + 1, len(options)), dtype=np.int8)  # last row: unanswered (-1)
    mat[-1, :] = -1
    invalid = 0
    bad_codes = []
    for u, text in enumerate(uniques):
        got = parse(str(text)) if str(text).strip() else None
        if got is None:
            mat[u, :] = -1
            if str(text).strip():
                bad_codes.append(u)
            continue
        for j, o in enumerate(options):
            mat[u, j] = 1 if o in got else 0
    if bad_codes:
        invalid = int(np.isin(codes, bad_codes).sum())
    rows = mat[codes]  # codes == -1 picks the last row
    out = {}
    for j, o in enumerate(options):
        col = rows[:, j]
        out[o] = pd.array(np.where(col < 0, pd.NA, col == 1), dtype="boolean")
    return pd.DataFrame(out, index=series.index), invalid


def _flags_from_columns(df: pd.DataFrame, cols: dict[str, str], options: list[str], index) -> pd.DataFrame:
    """The 0/1 option columns of Kobo's "both" format -> nullable booleans (NA where every option is empty)."""
    raw = {o: df[c].reset_index(drop=True) for o, c in cols.items()}
    answered = pd.concat([v.notna() & v.astype(object).str.strip().ne("") for v in raw.values()], axis=1).any(axis=1).to_numpy()
    out = {}
    for o in options:
        if o in raw:
            v = raw[o].astype(object).str.strip().isin(["1", "1.0", "True", "true"]).to_numpy()
        else:
            v = np.zeros(len(answered), dtype=bool)
        out[o] = pd.array(np.where(answered, v, pd.NA), dtype="boolean")
    return pd.DataFrame(out, index=index)


def _to_int(series: pd.Series) -> tuple[pd.Series, pd.Series]:
    """Integers (NA when missing); the second series flags non-missing cells that are not whole numbers."""
    num = pd.to_numeric(series.astype(object).str.strip().str.replace(",", ".", regex=False).where(series.notna()), errors="coerce")
    bad = series.notna() & (num.isna() | (num.notna() & (num % 1 != 0)))
    out = num.where(~bad).round().astype("Int64")
    return out, bad


def _yes_no(series: pd.Series) -> pd.Series:
    """'yes' -> True, 'no' -> False, anything else (missing, 'dk') -> NA."""
    v = series.to_numpy(dtype=object)
    yes, no = v == "yes", v == "no"
    return pd.Series(pd.arrays.BooleanArray(yes, ~(yes | no)), index=series.index)


# --- kelurahan ----------------------------------------------------------------------------------------------


class _RegisterMatcher:
    """Kelurahan answers -> Kemendagri codes with the project's name matcher (``analysis.etl.names``).

    Only answers that are not already a register code reach it (the "other" free text, a label that is not
    in the choice list, a misspelling); the kecamatan and kota answers are passed as hints (names from the
    register), so a name shared by two kecamatan resolves to the one the respondent chose. Only matches the
    matcher calls ``matched`` are used: ambiguous and unmatched answers become "unknown kelurahan" rejects.
    """

    def __init__(self, register: pd.DataFrame):
        from analysis.etl.names import KelurahanMatcher

        self.matcher = KelurahanMatcher(register)
        self.kec_name = dict(zip(register["kode_kec_kemendagri"], register["kecamatan"]))
        short = register["kab_kota_short"] if "kab_kota_short" in register.columns else register["kab_kota"]
        self.kab_name = dict(zip(register["kode_kab_kemendagri"], short))

    def match(self, texts: pd.Series, kecamatan: pd.Series, kota: pd.Series) -> pd.Series:
        kec = [self.kec_name.get(k) if isinstance(k, str) else None for k in kecamatan]
        kab = [self.kab_name.get(k) if isinstance(k, str) else None for k in kota]
        res = self.matcher.match(texts.astype(object).where(texts.notna(), None).tolist(), kecamatan=kec, kota=kab)
        code = res["kode_kemendagri"].where(res["status"].eq("matched"))
        return pd.Series(code.to_numpy(), index=texts.index, dtype=object)


def _norm_place(s: str) -> str:
    s = re.sub(r"[^a-z0-9 ]", " ", str(s).lower())
    s = re.sub(r"\b(kelurahan|kel|desa)\b", " ", s)
    return re.sub(r"\s+", " ", s).strip()


# --- design -------------------------------------------------------------------------------------------------


def _read_design(design) -> pd.DataFrame:
    if isinstance(design, pd.DataFrame):
        df = design.copy()
    else:
        with redact_errors("bad_design", "the design file cannot be read as CSV"):
            if isinstance(design, (bytes, bytearray)):
                df = pd.read_csv(io.BytesIO(bytes(design)), dtype=str)
            else:
                df = pd.read_csv(Path(design), dtype=str)
    df.columns = [str(c).strip() for c in df.columns]
    if "_uuid" in df.columns and "hh_id" not in df.columns:
        df = df.rename(columns={"_uuid": "hh_id"})
    if "weight" not in df.columns and "design_weight" in df.columns:
        df = df.rename(columns={"design_weight": "weight"})
    need = {"stratum", "psu", "weight"}
    if not need <= set(df.columns):
        raise InputError("bad_design", f"the design file needs columns {sorted(need)}; it has {sorted(df.columns)[:12]}")
    if "hh_id" not in df.columns and not {"kode_kemendagri", "rw"} <= set(df.columns):
        raise InputError("bad_design", "the design file needs a household key (hh_id or _uuid) or kode_kemendagri + rw")
    df["weight"] = pd.to_numeric(df["weight"], errors="coerce")
    if df["weight"].isna().any() or (df["weight"] <= 0).any():
        raise InputError("bad_design", "weights must be positive numbers")
    if "fpc_psu" in df.columns:
        df["fpc_psu"] = pd.to_numeric(df["fpc_psu"], errors="coerce")
    else:
        df["fpc_psu"] = np.nan
    return df


# --- the ingest ---------------------------------------------------------------------------------------------


@functools.lru_cache(maxsize=1)
def _default_form() -> FormDefinition:
    """The committed questionnaire, parsed once per process (read-only afterwards)."""
    return load_form()


def _split_tables(files: list[_File], form: FormDefinition) -> tuple[pd.DataFrame, pd.DataFrame | None, dict, str, str]:
    """Find the main and roster tables among the files / sheets. Returns (main, roster, format, main name, roster name)."""
    tables: list[tuple[str, pd.DataFrame | None]] = []
    kinds = set()
    for f in files:
        kind = _kind(f)
        kinds.add(kind)
        if kind == "xlsx":
            for sheet, df in _read_xlsx(f).items():
                tables.append((f"{f.name}[{sheet}]", df))
        else:
            tables.append((f.name, _read_csv(f)))
    main = roster = None
    main_name = roster_name = ""
    repeat_names = {_norm(fl.name) for fl in form.repeat_fields}
    for label, df in tables:
        if df is None:
            continue
        cols = {_norm(c) for c in df.columns}
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


def _blank_rejects() -> pd.DataFrame:
    return pd.DataFrame({"row": pd.Series([], dtype="Int64"), "reason": pd.Series([], dtype="str"), "sheet": pd.Series([], dtype="str"), "hh_id": pd.Series([], dtype="str")})


def ingest_export(
    files,
    *,
    register: pd.DataFrame,
    design=None,
    source_name: str = "upload",
    survey_id: str | None = None,
    synthetic: bool = False,
    form: FormDefinition | None = None,
    max_file_bytes: int | None = MAX_FILE_BYTES,
) -> IngestResult:
    """Read an export (bytes or paths, see ``_load_files``) into canonical tables, in memory.

    ``register``: the kelurahan register (``analysis.etl.registers.load_register()`` or the build's
    ``wilayah_register``). ``design``: None, a DataFrame, or CSV bytes/path with ``stratum, psu, weight``
    (optional ``fpc_psu``) keyed by ``hh_id``/``_uuid`` or by ``kode_kemendagri`` + ``rw``.
    ``synthetic``: label the tables synthetic (also set when the export carries a true ``synthetic`` column).
    ``max_file_bytes``: the upload limit (50 MB); None for trusted local files (the CLI, benchmarks).
    """
    form = form or _default_form()
    loaded = _load_files(files, max_file_bytes)
    main, roster, fmt, main_name, roster_name = _split_tables(loaded, form)
    if "_uuid" not in {_norm(c) for c in main.columns}:
        raise InputError("missing_uuid_column", "the main table has no _uuid column: export with the metadata columns", main_name)
    hmain = _map_headers(main, form, form.main_fields, main_name)
    hrost = _map_headers(roster, form, form.repeat_fields, roster_name)
    _require(hmain, form.main_fields, form, main_name, "main table")
    _require(hrost, form.repeat_fields, form, roster_name, "roster")
    fmt |= {"headers": hmain.mode, "ignored_columns": len(hmain.unmatched) + len(hrost.unmatched)}
    notes: list[str] = []
    scrubber = Scrubber()

    # Text of a repeated submission (same _uuid) is never kept and never read: only the first copy is scrubbed,
    # so the personal-data counts describe the submissions once.
    uuid_col = next(c for c in main.columns if _norm(c) == "_uuid")
    repeat_copy = (main[uuid_col].notna() & main[uuid_col].duplicated(keep="first")).to_numpy()
    H = _canonical_frame(main, hmain, form, form.main_fields, scrubber, skip_text=repeat_copy)
    P = _canonical_frame(roster, hrost, form, form.repeat_fields, scrubber)
    invalid = Counter(H.attrs.pop("invalid", {})) + Counter(P.attrs.pop("invalid", {}))
    fmt["values"] = "labels" if (H.attrs.pop("label_values", 0) + P.attrs.pop("label_values", 0)) else "xml"
    if invalid:
        notes.append(f"{sum(invalid.values())} answer(s) outside the form's choices or not whole numbers were set to missing: " + ", ".join(f"{k} {v}" for k, v in sorted(invalid.items())))

    households_in, persons_in = len(H), len(P)
    H["_row"] = np.arange(2, len(H) + 2)  # spreadsheet row (the header is row 1)
    H["_pos"] = np.arange(len(H))
    P["_row"] = np.arange(2, len(P) + 2)
    main_uuid = H["_uuid"].tolist()
    h_rej: list[pd.DataFrame] = []
    h_rej_pos: list[np.ndarray] = []

    def reject_h(mask: pd.Series, reason: str) -> None:
        nonlocal H
        mask = mask.fillna(True).astype(bool) if mask.dtype != bool else mask
        if mask.any():
            r = H.loc[mask]
            h_rej.append(pd.DataFrame({"row": r["_row"].to_numpy(), "reason": reason, "sheet": main_name, "hh_id": r["_uuid"].to_numpy()}))
            h_rej_pos.append(r["_pos"].to_numpy())
            H = H.loc[~mask]

    # 1. submissions without an id, duplicates, tests, refusals
    reject_h(H["_uuid"].isna() | (H["_uuid"].astype(object).str.strip() == ""), "missing _uuid")
    reject_h(H["_uuid"].duplicated(keep="first"), "duplicate _uuid")
    reject_h(_is_test(H), "test submission")
    if "consent" in H.columns:
        reject_h(H["consent"].ne("yes").fillna(True).astype(bool), "no consent")

    # 2. kelurahan: a register code (the form's choice value, or a label mapped back), else the matcher
    reg_codes = set(register["kode_kemendagri"])
    code = H["kelurahan"].where(H["kelurahan"].isin(reg_codes)) if "kelurahan" in H.columns else pd.Series(pd.NA, index=H.index, dtype=object)
    need = code.isna()
    if need.any():
        other = H["kelurahan_other"] if "kelurahan_other" in H.columns else pd.Series(pd.NA, index=H.index, dtype=object)
        raw_kel = H["_kelurahan_raw"] if "_kelurahan_raw" in H.columns else pd.Series(pd.NA, index=H.index, dtype=object)
        text = other.where(other.notna() & other.astype(object).str.strip().ne(""), raw_kel)
        text = text.where(text.astype(object).str.strip().ne(MARKER))
        todo = need & text.notna()
        if todo.any():
            kec = H["kecamatan"] if "kecamatan" in H.columns else pd.Series(None, index=H.index, dtype=object)
            kota = H["kota"] if "kota" in H.columns else pd.Series(None, index=H.index, dtype=object)
            found = _RegisterMatcher(register).match(text[todo], kec[todo], kota[todo])
            code = code.astype(object)
            code.loc[found.index] = found
            matched = int(found.notna().sum())
            if matched:
                notes.append(f"{matched} kelurahan answer(s) written as free text or misspelled were matched to the register")
    H["kode_kemendagri"] = code
    reject_h(H["kode_kemendagri"].isna(), "unknown kelurahan")

    # 3. household answers that make the record unusable
    reject_h(H["hh_size"].isna() | (H["hh_size"] < 1) | (H["hh_size"] > 30), "household size missing or out of range")

    # 4. design: join before deriving, so a household missing from the design file is a reject like any other
    export_synthetic = bool(H["_synthetic"].any()) if "_synthetic" in H.columns else False
    synthetic = synthetic or export_synthetic
    rw_valid = H["rw"].where((H["rw"] >= 1) & (H["rw"] <= 99)) if "rw" in H.columns else pd.Series(pd.NA, index=H.index, dtype="Int64")
    if design is not None:
        d = _read_design(design)
        if "hh_id" in d.columns:
            d = d.drop_duplicates("hh_id").set_index("hh_id")
            joined = d.reindex(H["_uuid"].to_numpy())
        else:
            d["rw"] = pd.to_numeric(d["rw"], errors="coerce").astype("Int64")
            d = d.drop_duplicates(["kode_kemendagri", "rw"]).set_index(["kode_kemendagri", "rw"])
            joined = d.reindex(pd.MultiIndex.from_arrays([H["kode_kemendagri"].to_numpy(), rw_valid.to_numpy()]))
        joined.index = H.index
        H["_stratum"] = joined["stratum"]
        H["_psu"] = joined["psu"]
        H["_weight"] = joined["weight"]
        H["_fpc"] = joined["fpc_psu"]
        reject_h(H["_weight"].isna(), "not in the design file")
        weighted = True
    else:
        H["_stratum"] = H["kode_kemendagri"]
        H["_psu"] = H["_uuid"]
        H["_weight"] = 1.0
        H["_fpc"] = np.nan
        weighted = False
        notes.append(
            "No design file: the export is treated as a simple random sample of households in each kampung "
            "(kelurahan = stratum, household = PSU, equal weights); estimates describe the households interviewed."
        )

    # 5. persons: each roster row belongs to one main-table row (its submission), kept or rejected
    P_rej: list[pd.DataFrame] = []

    def reject_p(mask: pd.Series, reason) -> None:
        """``reason``: a string, or a Series of strings aligned with P."""
        nonlocal P
        if mask.any():
            r = P.loc[mask]
            why = reason.loc[mask].to_numpy() if isinstance(reason, pd.Series) else reason
            P_rej.append(pd.DataFrame({"row": r["_row"].to_numpy(), "reason": why, "sheet": roster_name, "hh_id": r["_hh_id"].to_numpy()}))
            P = P.loc[~mask]

    parent_pos = _roster_parent(P, main, main_name, roster_name)
    P["_parent_pos"] = parent_pos
    uuid_arr = np.array(main_uuid + [None], dtype=object)
    P["_hh_id"] = uuid_arr[parent_pos.fillna(-1).to_numpy(dtype=np.int64)]
    reject_p(P["_parent_pos"].isna(), "roster row without a household")
    rejected_reason = {}
    for rj, pos in zip(h_rej, h_rej_pos):
        for i, reason in zip(pos, rj["reason"]):
            rejected_reason[int(i)] = reason
    kept_pos = set(H["_pos"].tolist())
    gone = ~P["_parent_pos"].isin(kept_pos)
    if gone.any():
        reason_of = np.array(["household rejected: unknown"] * len(main_uuid), dtype=object)
        for i, reason in rejected_reason.items():
            reason_of[i] = "household rejected: " + reason
        reject_p(gone, pd.Series(reason_of[P["_parent_pos"].fillna(0).to_numpy(dtype=np.int64)], index=P.index))
    age_bad = P["age"].isna() | P["age"].lt(AGE_MIN).fillna(True) | P["age"].gt(AGE_MAX).fillna(True)
    reject_p(age_bad.astype(bool), "age missing or out of range")
    # line numbers: the form's calculate, else the order within the household
    order = P.groupby("_hh_id", sort=False).cumcount() + 1
    line = P["line_no"] if "line_no" in P.columns else pd.Series(pd.NA, index=P.index, dtype="Int64")
    P["line_no"] = line.fillna(order.astype("Int64")).astype("Int64")
    reject_p(P.duplicated(["_hh_id", "line_no"], keep="first"), "duplicate roster line")

    if H.empty:
        raise InputError("no_rows", f"no household remains after cleaning ({households_in} submitted; all rejected)", source_name)

    # 6. derived variables
    H = H.merge(
        register[["kode_kemendagri", "kode_kab_kemendagri", "kelurahan", "kab_kota"]].rename(columns={"kelurahan": "_kel_name"}),
        on="kode_kemendagri", how="left", validate="many_to_one",
    )
    Hd = _derive_households(H, P)
    Hd["stratum"] = H["_stratum"].astype("str").to_numpy()
    Hd["psu"] = H["_psu"].astype("str").to_numpy()
    Hd["weight"] = pd.to_numeric(H["_weight"]).astype(float).to_numpy()
    Hd["fpc_psu"] = pd.array(pd.to_numeric(H["_fpc"]).astype(float).to_numpy(), dtype="Float64")
    Hd["survey_id"] = survey_id or source_name
    Hd["synthetic"] = synthetic
    Pd = _derive_persons(P)
    copy_cols = ["survey_id", "synthetic", "kode_kemendagri", "kode_kab_kemendagri", "stratum", "psu", "weight", "fpc_psu", "income_quintile", "hh_size"]
    Pd = Pd.join(Hd.set_index("hh_id")[copy_cols], on="hh_id")
    Hd = _respondent(Hd, Pd)
    households = S.coerce(Hd.reset_index(drop=True), S.HOUSEHOLDS)
    persons = S.coerce(Pd.reset_index(drop=True), S.PERSONS)
    # Order: as submitted (main table order; members in roster order), deterministic for the same export.
    S.validate(households, S.HOUSEHOLDS, source_name)
    S.validate(persons, S.PERSONS, source_name)

    hrej = pd.concat([_blank_rejects(), *h_rej], ignore_index=True) if h_rej else _blank_rejects()
    prej = pd.concat([_blank_rejects(), *P_rej], ignore_index=True) if P_rej else _blank_rejects()
    for rj in (hrej, prej):
        rj["row"] = rj["row"].astype("Int64")
        rj["reason"] = rj["reason"].astype("str")
        rj["sheet"] = rj["sheet"].astype("str")
        rj["hh_id"] = rj["hh_id"].astype("str").where(rj["hh_id"].notna())
    pii = scrubber.report()
    if sum(v for k, v in pii.items() if k != "cells_changed"):
        notes.append(
            "Personal data removed from free-text answers before anything was kept: "
            + ", ".join(f"{k} {v}" for k, v in pii.items() if v and k != "cells_changed")
        )
    result = IngestResult(
        households=households,
        persons=persons,
        household_rejects=hrej,
        person_rejects=prej,
        households_in=households_in,
        persons_in=persons_in,
        pii_removed=pii,
        notes=notes,
        format=fmt,
        weighted=weighted,
        synthetic=synthetic,
        survey_id=survey_id or source_name,
    )
    assert households_in == len(households) + len(hrej), "household rows lost"
    assert persons_in == len(persons) + len(prej), "person rows lost"
    return result


def _roster_parent(P: pd.DataFrame, main: pd.DataFrame, main_name: str, roster_name: str) -> pd.Series:
    """Position (0-based row of the main table) of each roster row's submission: ``_parent_index`` -> the main
    table's ``_index`` (KoboToolbox), else ``_submission__uuid`` -> the first main row with that ``_uuid``.
    NA when the parent is not in the main table."""
    mcols = {_norm(c): c for c in main.columns}
    if "_parent_index" in P.columns and "_index" in mcols:
        idx = main[mcols["_index"]].astype(object).str.strip()
        lookup = pd.Series(np.arange(len(main)), index=idx.to_numpy())
        lookup = lookup[~lookup.index.duplicated(keep="first")]
        return P["_parent_index"].astype(object).str.strip().where(P["_parent_index"].notna()).map(lookup).astype("Int64")
    if "_submission__uuid" in P.columns:
        uuid = main[mcols["_uuid"]].astype(object).str.strip()
        lookup = pd.Series(np.arange(len(main)), index=uuid.to_numpy())
        lookup = lookup[~lookup.index.duplicated(keep="first")]
        return P["_submission__uuid"].map(lookup).astype("Int64")
    if "_parent_index" not in P.columns:
        raise InputError("missing_index_columns", "the roster has no _parent_index (or _submission__uuid) column to join it to its household", roster_name)
    raise InputError("missing_index_columns", "the main table has no _index column to join the roster", main_name)


def _is_test(H: pd.DataFrame) -> pd.Series:
    """Test submissions: Kobo validation status "not approved", a 'test' tag, or an enumerator code such as
    'test', 'uji coba', 'coba' (what field teams type while piloting a form)."""
    flag = pd.Series(False, index=H.index)
    if "_validation_status" in H.columns:
        vs = H["_validation_status"].astype(object).str.lower()
        flag |= vs.str.contains("not_approved|on_hold", regex=True, na=False)
    if "_tags" in H.columns:
        flag |= H["_tags"].astype(object).str.lower().str.contains(r"\btest\b|\buji", regex=True, na=False)
    if "_enumerator_raw" in H.columns:
        flag |= H["_enumerator_raw"].astype(object).str.match(TEST_PATTERN, na=False)
    return flag.fillna(False).astype(bool)


_TEXT_TYPES = ("text",)


def _canonical_frame(df: pd.DataFrame, hmap: _HeaderMap, form: FormDefinition, fields: list, scrubber: Scrubber, skip_text=None) -> pd.DataFrame:
    """Columns renamed to field names, free text scrubbed, choices mapped to names, integers parsed."""
    out = pd.DataFrame(index=pd.RangeIndex(len(df)))
    ncols = {_norm(c): c for c in df.columns}
    for m in ("_uuid", "_index", "_parent_index", "_submission__uuid", "_validation_status", "_tags", "_submission_time"):
        if m in ncols:
            s = df[ncols[m]].reset_index(drop=True)
            out[m] = s.astype(object).str.strip().where(s.notna())
    if "_tags" in ncols:
        out["_synthetic"] = df[ncols["_tags"]].reset_index(drop=True).astype(object).str.lower().str.contains(r"\bsynthetic\b", regex=True, na=False)
    for m in ("synthetic", "_synthetic"):
        if m in ncols:
            out["_synthetic"] = df[ncols[m]].reset_index(drop=True).astype(object).str.strip().str.lower().isin(["true", "1", "yes", "ya"])
    by_field: dict[str, str] = {}
    options: dict[str, dict[str, str]] = {}
    for col, (fname, opt) in hmap.columns.items():
        if opt is None:
            by_field.setdefault(fname, col)
        else:
            options.setdefault(fname, {})[opt] = col
    invalid: Counter = Counter()
    label_values = 0
    for f in fields:
        col = by_field.get(f.name)
        s = df[col].reset_index(drop=True) if col is not None else None
        if f.type in _TEXT_TYPES:
            if s is None:
                continue
            if skip_text is not None and skip_text.any():
                s = s.where(~skip_text)
            if f.name == "enumerator":
                # test-submission codes are read before scrubbing removes anything from the column
                out["_enumerator_raw"] = s.astype(object).str.strip().str.slice(0, 12).str.lower().where(s.notna()).map(
                    lambda v: v if isinstance(v, str) and TEST_PATTERN.match(v) else None
                )
            out[f.name] = scrubber.scrub_series(s.astype(object).where(s.notna()))
        elif f.type == "select_one":
            if s is None:
                continue
            lookup = _choice_lookup(form, f.list_name)
            mapped, bad = _map_select_one(s, lookup)
            nonvalue = s.notna() & ~s.astype(object).isin(form.choice_names(f.list_name))
            label_values += int((nonvalue & mapped.notna()).sum())
            if f.name == "kelurahan":
                out["_kelurahan_raw"] = scrubber.scrub_series(s.astype(object).where(s.notna() & mapped.isna()))
                bad = 0
            if bad:
                invalid[f.name] += bad
            out[f.name] = mapped
        elif f.type == "select_multiple":
            opts = form.choice_names(f.list_name)
            flags = None
            if s is not None:
                flags, bad = _split_multiple(s, form, f.list_name)
                if bad:
                    invalid[f.name] += bad
            if f.name in options:  # the 0/1 columns fill in (or stand in for) the space-separated answer
                from_cols = _flags_from_columns(df, options[f.name], opts, out.index)
                flags = from_cols if flags is None else flags.where(flags.notna(), from_cols).astype("boolean")
            if flags is None:
                continue
            for o in opts:
                out[f"{f.name}/{o}"] = flags[o].to_numpy()
        elif f.type in ("integer", "decimal") or (f.type == "calculate" and f.name == "line_no"):
            if s is None:
                continue
            vals, bad = _to_int(s)
            if bad.any():
                invalid[f.name] += int(bad.sum())
            out[f.name] = vals
        # start/end/today/calculates other than line_no are not kept
    out.attrs["invalid"] = dict(invalid)
    out.attrs["label_values"] = label_values
    return out


def _option(H: pd.DataFrame, field_name: str, option: str, asked: pd.Series | None = None) -> pd.Series:
    """The boolean column of one select_multiple option (NA when unanswered or not asked)."""
    col = f"{field_name}/{option}"
    out = H[col].astype("boolean") if col in H.columns else pd.Series(pd.array([pd.NA] * len(H), dtype="boolean"), index=H.index)
    if asked is not None:
        out = out.where(asked.fillna(False).astype(bool)).astype("boolean")
    return out


def _derive_households(H: pd.DataFrame, P: pd.DataFrame) -> pd.DataFrame:
    n = len(H)
    idx = H.index
    col = lambda name: H[name] if name in H.columns else pd.Series([pd.NA] * n, index=idx, dtype=object)  # noqa: E731
    out = pd.DataFrame(index=idx)
    out["hh_id"] = H["_uuid"].astype(object)
    out["kode_kemendagri"] = H["kode_kemendagri"]
    out["kode_kab_kemendagri"] = H["kode_kab_kemendagri"]
    out["kelurahan"] = H["_kel_name"]
    out["kab_kota"] = H["kab_kota"]
    rw = col("rw").astype("Int64")
    out["rw"] = rw.where((rw >= 1) & (rw <= 99))
    out["hh_size"] = H["hh_size"].astype("Int64")
    bracket = col("expenditure_bracket")
    out["expenditure_bracket"] = bracket
    out["income_quintile"] = bracket.map(QUINTILE_OF_BRACKET).astype("Int64")
    for name in ("dtks", "received_bansos", "received_bst"):
        out[name] = _yes_no(col(name))  # "dk" (don't know) -> NA
    out["n_phones"] = col("n_phones").astype("Int64")
    out["phone_shared"] = _yes_no(col("phone_shared"))
    # household internet (BPS): any member used it in the last 3 months
    uses = P[["_hh_id", "uses_internet"]].copy() if "uses_internet" in P.columns else pd.DataFrame({"_hh_id": P["_hh_id"], "uses_internet": pd.NA})
    uses["yes"] = uses["uses_internet"].eq("yes")
    uses["no"] = uses["uses_internet"].eq("no")
    g = uses.groupby("_hh_id").agg(any_yes=("yes", "any"), any_no=("no", "any"))
    hh = out["hh_id"]
    any_yes = hh.map(g["any_yes"]).fillna(False).astype(bool)
    any_no = hh.map(g["any_no"]).fillna(False).astype(bool)
    has = pd.Series(pd.array([pd.NA] * n, dtype="boolean"), index=idx)
    has[any_yes] = True
    has[~any_yes & any_no] = False
    out["has_internet"] = has
    for opt, name in CONN_COLUMNS.items():
        out[name] = _option(H, "connection", opt)
    quota = col("quota_spend")
    mobile = out["conn_mobile_data"]
    q = pd.to_numeric(quota, errors="coerce").astype("Float64")
    q = q.where((q >= 0) & (q <= 5_000_000))
    no_mobile_data = (mobile == False).fillna(False).astype(bool)  # noqa: E712 - the question was not asked
    q = q.mask(no_mobile_data, 0.0)
    out["quota_spend_rp"] = q.astype("Float64")
    mid = bracket.map(BRACKET_MIDPOINT).astype("Float64")
    out["quota_burden"] = (q / mid).astype("Float64")
    knows = _yes_no(col("knows_jaki"))
    installed = _yes_no(col("installed_jaki"))
    installed = installed.where(~(knows == False), False).astype("boolean")  # noqa: E712
    used = _yes_no(col("used_bst_check"))
    used = used.where(~(installed == False), False).astype("boolean")  # noqa: E712
    out["knows_jaki"], out["installed_jaki"], out["used_bst_check"] = knows, installed, used
    asked = (used == False)  # noqa: E712 - reasons are asked of households that did not use the check
    for opt, name in REASON_COLUMNS.items():
        out[name] = _option(H, "jaki_reasons", opt, asked)
    out["used_qlue"] = _yes_no(col("used_qlue"))
    out["used_complaint_channel"] = _yes_no(col("used_complaint_channel"))
    for opt, name in INFO_COLUMNS.items():
        out[name] = _option(H, "info_bansos", opt)
    out["respondent_line_no"] = col("respondent_line_no").astype("Int64")
    return out


def _age_group(age: pd.Series) -> pd.Series:
    out = pd.Series(pd.NA, index=age.index, dtype=object)
    for lo, hi, label in AGE_BINS:
        out[(age >= lo) & (age <= hi)] = label
    return out


def _derive_persons(P: pd.DataFrame) -> pd.DataFrame:
    col = lambda name: P[name] if name in P.columns else pd.Series([pd.NA] * len(P), index=P.index, dtype=object)  # noqa: E731
    out = pd.DataFrame(index=P.index)
    out["hh_id"] = P["_hh_id"].astype(object)
    out["line_no"] = P["line_no"].astype("Int64")
    out["person_id"] = out["hh_id"] + "-" + out["line_no"].astype("str")
    age = P["age"].astype("Int64")
    out["age"] = age
    out["age_group"] = _age_group(age)
    out["sex"] = col("sex")
    five_plus = (age >= 5).fillna(False)
    out["education"] = col("education").map(EDUCATION_LEVEL).where(five_plus)
    out["occupation"] = col("occupation").where((age >= 10).fillna(False))
    for name in ("literate", "uses_internet", "owns_smartphone", "digital_skill_basic"):
        out[name] = _yes_no(col(name)).where(five_plus).astype("boolean")
    return out


def _respondent(Hd: pd.DataFrame, Pd: pd.DataFrame) -> pd.DataFrame:
    """The respondent's age, sex and education from their roster line (NA when the line is not in the roster)."""
    r = Pd[["hh_id", "line_no", "age", "sex", "education"]].rename(
        columns={"line_no": "respondent_line_no", "age": "respondent_age", "sex": "respondent_sex", "education": "respondent_education"}
    )
    out = Hd.merge(r, on=["hh_id", "respondent_line_no"], how="left", validate="one_to_one")
    out.index = Hd.index
    return out


# --- CLI helper and downloads --------------------------------------------------------------------------------


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


def ingest_export_to_dir(
    path,
    out_dir,
    *,
    register: pd.DataFrame | None = None,
    design=None,
    design_path=None,
    source_name: str | None = None,
    survey_id: str | None = None,
    synthetic: bool = False,
    max_file_bytes: int | None = None,
) -> IngestResult:
    """``python -m analysis survey ingest EXPORT --out DIR``: ingest and write the tables, rejects and a report.

    ``path``: an XLSX, the main CSV (its roster CSV is found beside it, see ``export_files``), a directory, or
    a list of files. Writes ``survey_households`` / ``survey_persons`` (Parquet + CSV), ``rejects/*.rejects.csv``
    and ``ingest_report.json`` (counts only) into ``out_dir``.
    """
    from analysis.tables import atomic_write_text, write_table

    if register is None:
        from analysis.etl.registers import load_register

        register = load_register()
    files = export_files(path) if isinstance(path, (str, Path)) else list(path)
    name = source_name or (Path(path).stem if isinstance(path, (str, Path)) else "export")
    result = ingest_export(
        files, register=register, design=design if design is not None else design_path, source_name=name,
        survey_id=survey_id, synthetic=synthetic, max_file_bytes=max_file_bytes,
    )
    out_dir = Path(out_dir)
    for t in result.tables(sources=[]):
        write_table(t, out_dir)
    atomic_write_text(out_dir / "ingest_report.json", json.dumps(result.report(), indent=2, ensure_ascii=False) + "\n")
    return result


def codebook_fields() -> dict[str, list[Field]]:
    return {S.HOUSEHOLDS.name: S.fields(S.HOUSEHOLDS), S.PERSONS.name: S.fields(S.PERSONS)}
