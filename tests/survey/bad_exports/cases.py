"""The corpus of broken and hostile exports (issue 6, item 3): each case, the files it uploads, and the exact
error code and message ingestion must produce.

Every case starts from the small valid export of ``base.py`` and breaks one thing. The files are made in
memory, so the same corpus runs through ``ingest_export`` (tests/survey/test_bad_exports.py) and through the
upload page (which receives the same bytes). ``CASES`` are refused with an ``InputError``; ``ACCEPTED`` are
read, with the effect each must have (a reject reason, a match, a scrub).

Use: ``for case in CASES: case.files()`` -> ``{file name: bytes}``; ``case.code``, ``case.message``.
"""

from __future__ import annotations

import io
import zipfile
from collections.abc import Callable
from dataclasses import dataclass, field

import pandas as pd

from .base import base_frames, csv_bytes, to_labels, xlsx_bytes

MAIN_CSV = "akses_digital_jakarta.csv"
ROSTER_CSV = "anggota.csv"
XLSX = "akses_digital_jakarta.xlsx"
MAIN_SHEET = "Akses Digital dan Layanan Publ"


@dataclass(frozen=True)
class Case:
    id: str
    what: str
    files: Callable[[], dict[str, bytes]]
    code: str
    message: str  # the exact str() of the InputError
    design: Callable[[], bytes] | None = None


@dataclass(frozen=True)
class Accepted:
    id: str
    what: str
    files: Callable[[], dict[str, bytes]]
    households_rejected: dict = field(default_factory=dict)  # reason -> count
    persons_rejected: dict = field(default_factory=dict)
    pii: dict = field(default_factory=dict)  # kind -> count removed
    households_out: int | None = None


def _csv(main: pd.DataFrame, roster: pd.DataFrame, sep: str = ",", encoding: str = "utf-8") -> dict[str, bytes]:
    return {MAIN_CSV: csv_bytes(main, sep, encoding), ROSTER_CSV: csv_bytes(roster, sep, encoding)}


def _xlsx(main: pd.DataFrame | None, roster: pd.DataFrame | None, **extra) -> dict[str, bytes]:
    sheets = {MAIN_SHEET: main}
    if roster is not None or "roster_empty" in extra:
        sheets["anggota"] = roster
    return {XLSX: xlsx_bytes(sheets)}


def _frames(n=6):
    return base_frames(n)


def _with_main(edit) -> Callable[[], dict[str, bytes]]:
    def make():
        main, roster = _frames()
        main = edit(main.copy())
        return _csv(main, roster)

    return make


def _with_roster(edit) -> Callable[[], dict[str, bytes]]:
    def make():
        main, roster = _frames()
        return _csv(main, edit(roster.copy()))

    return make


def _set(df: pd.DataFrame, row: int, col: str, value) -> pd.DataFrame:
    df.loc[row, col] = value
    return df


# --- hostile workbooks ---------------------------------------------------------------------------------------


def _rezip(xlsx: bytes, replace: dict[str, bytes] | None = None, add: dict[str, bytes] | None = None) -> bytes:
    src = zipfile.ZipFile(io.BytesIO(xlsx))
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as out:
        for info in src.infolist():
            data = (replace or {}).get(info.filename, src.read(info.filename))
            out.writestr(info.filename, data)
        for name, data in (add or {}).items():
            out.writestr(name, data)
    return buf.getvalue()


def _valid_xlsx() -> bytes:
    main, roster = _frames()
    return _xlsx(main, roster)[XLSX]


def _xxe() -> dict[str, bytes]:
    x = _valid_xlsx()
    sheet = zipfile.ZipFile(io.BytesIO(x)).read("xl/worksheets/sheet1.xml")
    evil = sheet.replace(
        b"<worksheet", b'<!DOCTYPE worksheet [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>\n<worksheet', 1
    )
    return {XLSX: _rezip(x, replace={"xl/worksheets/sheet1.xml": evil})}


def _billion_laughs() -> dict[str, bytes]:
    x = _valid_xlsx()
    lol = (
        b'<?xml version="1.0"?>\n<!DOCTYPE lolz [<!ENTITY lol "lol">'
        + b"".join(b'<!ENTITY lol%d "%s">' % (i, (b"&lol%d;" % (i - 1) if i > 1 else b"&lol;") * 10) for i in range(1, 10))
        + b']>\n<sst xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" count="1" uniqueCount="1"><si><t>&lol9;</t></si></sst>'
    )
    return {XLSX: _rezip(x, add={"xl/sharedStrings.xml": lol})}


def _zip_bomb() -> dict[str, bytes]:
    x = _valid_xlsx()
    return {XLSX: _rezip(x, add={"xl/media/padding.bin": b"\0" * (60 * 1024 * 1024)})}


def _many_parts() -> dict[str, bytes]:
    x = _valid_xlsx()
    return {XLSX: _rezip(x, add={f"xl/media/p{i}.bin": b"x" for i in range(1100)})}


def _zip_not_workbook() -> dict[str, bytes]:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr("foto.jpg", b"\xff\xd8\xff\xe0" + b"0" * 100)
    return {"export.xlsx": buf.getvalue()}


def _truncated_xlsx() -> dict[str, bytes]:
    x = _valid_xlsx()
    return {XLSX: x[: len(x) // 2]}


# --- CSVs --------------------------------------------------------------------------------------------------


def _tab() -> dict[str, bytes]:
    main, roster = _frames()
    return _csv(main, roster, sep="\t")


def _pipe() -> dict[str, bytes]:
    main, roster = _frames()
    return _csv(main, roster, sep="|")


def _single_column() -> dict[str, bytes]:
    return {MAIN_CSV: b"_uuid\nabc\ndef\n", ROSTER_CSV: b"_parent_index\n1\n"}


def _unbalanced_quote() -> dict[str, bytes]:
    files = _csv(*_frames())
    files[MAIN_CSV] = files[MAIN_CSV] + b'"an unterminated note,E01,yes\n'
    return files


def _ragged() -> dict[str, bytes]:
    files = _csv(*_frames())
    lines = files[MAIN_CSV].split(b"\n")
    lines[2] = lines[2] + b",extra,cells"
    files[MAIN_CSV] = b"\n".join(lines)
    return files


def _another_form() -> dict[str, bytes]:
    other = pd.DataFrame(
        {"nama_posyandu": ["Melati", "Mawar"], "jumlah_balita": ["12", "9"], "desa": ["Cibubur", "Gedong"], "_uuid": ["a", "b"], "_index": ["1", "2"]}
    )
    roster = pd.DataFrame({"berat_badan": ["9.5", "11"], "_parent_index": ["1", "2"], "_index": ["1", "2"]})
    return _csv(other, roster)


def _drop(cols):
    return lambda df: df.drop(columns=cols)


def _rename(mapping):
    return lambda df: df.rename(columns=mapping)


def _duplicate_column(df: pd.DataFrame) -> pd.DataFrame:
    out = df.copy()
    out.insert(len(out.columns), "x", out["lokasi/rw"])
    cols = list(out.columns)
    cols[-1] = "lokasi/rw"
    out.columns = cols
    return out


def _all_tests(df: pd.DataFrame) -> pd.DataFrame:
    df["enumerator"] = "test"
    return df


def _orphans(df: pd.DataFrame) -> pd.DataFrame:
    df.loc[0, "_parent_index"] = "999"
    df.loc[0, "_submission__uuid"] = None
    return df


def _design_without_weights() -> bytes:
    return b"kode_kemendagri,rw,stratum,psu\n31.75.04.1005,1,31.75,31.75.04.1005-RW01\n"


def _design_negative_weight() -> bytes:
    main, _ = _frames()
    rows = ["kode_kemendagri,rw,stratum,psu,design_weight"]
    for kel, rw in zip(main["lokasi/kelurahan"], main["lokasi/rw"]):
        rows.append(f"{kel},{rw},{kel[:5]},{kel}-RW{int(rw):02d},-3")
    return ("\n".join(rows) + "\n").encode()


CASES: list[Case] = [
    Case("empty_csv", "a 0-byte CSV", lambda: {MAIN_CSV: b""}, "empty_file", "akses_digital_jakarta.csv: the file is empty"),
    Case("bom_only_csv", "a CSV holding only a byte-order mark and blank lines", lambda: {MAIN_CSV: b"\xef\xbb\xbf\r\n\r\n", ROSTER_CSV: b"a,b\n1,2\n"}, "empty_file", "akses_digital_jakarta.csv: the file is empty"),
    Case("empty_xlsx_file", "a 0-byte .xlsx", lambda: {XLSX: b""}, "empty_file", "akses_digital_jakarta.xlsx: the file is empty"),
    Case("too_large", "a CSV over 50 MB", lambda: {MAIN_CSV: b"_uuid,x\n" + b"a,b\n" * (13 * 1024 * 1024 + 1)}, "file_too_large", "akses_digital_jakarta.csv: 54.5 MB is over the 50 MB limit"),
    Case("photo_as_csv", "a JPEG photo renamed .csv", lambda: {MAIN_CSV: b"\xff\xd8\xff\xe0\x00\x10JFIF\x00" + bytes(range(256)) * 4}, "not_a_table", "akses_digital_jakarta.csv: this is a JPEG image, not a CSV or XLSX export"),
    Case("png_as_xlsx", "a PNG screenshot renamed .xlsx", lambda: {XLSX: b"\x89PNG\r\n\x1a\n" + b"\x00" * 64}, "not_a_table", "akses_digital_jakarta.xlsx: this is a PNG image, not a CSV or XLSX export"),
    Case("pdf_as_csv", "a PDF report renamed .csv", lambda: {MAIN_CSV: b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj\n"}, "not_a_table", "akses_digital_jakarta.csv: this is a PDF document, not a CSV or XLSX export"),
    Case("binary_as_csv", "random binary bytes renamed .csv", lambda: {MAIN_CSV: bytes(range(1, 256)) * 8 + b"\x00"}, "not_a_table", "akses_digital_jakarta.csv: this is a binary file, not a CSV or XLSX export"),
    Case("old_xls", "an Excel 97 .xls (OLE2) file", lambda: {"export.xls": b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 512}, "unsupported_format", "export.xls: this is an old Excel (.xls) or encrypted workbook; save it as .xlsx or CSV"),
    Case("zip_not_workbook", "a zip archive of photos named .xlsx", _zip_not_workbook, "not_a_table", "export.xlsx: the zip archive is not an Excel workbook (.xlsx)"),
    Case("truncated_xlsx", "an XLSX cut off half-way through the download", _truncated_xlsx, "not_a_table", "akses_digital_jakarta.xlsx: the file is a damaged or non-workbook zip archive (BadZipFile; cell values are not shown to protect personal data)"),
    Case("zip_bomb", "an XLSX with a part that decompresses 1000-fold", _zip_bomb, "zip_bomb", "akses_digital_jakarta.xlsx: a part of the workbook decompresses 1029-fold to 63 MB; refused"),
    Case("zip_many_parts", "an XLSX with more than 1,000 parts", _many_parts, "zip_bomb", "akses_digital_jakarta.xlsx: the workbook has 1110 parts; refused"),
    Case("xxe", "an XLSX whose sheet XML declares an external entity (XXE)", _xxe, "xml_entities", "akses_digital_jakarta.xlsx: the workbook's XML declares a DTD or entities (XXE / entity expansion); refused"),
    Case("billion_laughs", "an XLSX whose shared strings expand entities exponentially", _billion_laughs, "xml_entities", "akses_digital_jakarta.xlsx: the workbook's XML declares a DTD or entities (XXE / entity expansion); refused"),
    Case("xlsx_main_sheet_empty", "an XLSX whose main sheet is empty", lambda: _xlsx(None, _frames()[1]), "empty_sheet", "akses_digital_jakarta.xlsx[Akses Digital dan Layanan Publ]: the sheet has no header or no rows"),
    Case("xlsx_roster_sheet_empty", "an XLSX whose roster sheet is empty", lambda: _xlsx(_frames()[0], None, roster_empty=True), "empty_sheet", "akses_digital_jakarta.xlsx[anggota]: the roster sheet has no header or no rows"),
    Case("xlsx_no_roster", "an XLSX exported without repeat groups", lambda: _xlsx(_frames()[0], None), "missing_roster", "akses_digital_jakarta.xlsx[Akses Digital dan Layanan Publ]: the household roster (repeat 'anggota') is missing: export with repeat groups as a sheet or a second CSV"),
    Case("csv_no_roster", "only the main CSV", lambda: {MAIN_CSV: csv_bytes(_frames()[0])}, "missing_roster", "akses_digital_jakarta.csv: the household roster (repeat 'anggota') is missing: export with repeat groups as a sheet or a second CSV"),
    Case("csv_roster_only", "only the roster CSV", lambda: {ROSTER_CSV: csv_bytes(_frames()[1])}, "missing_main", "anggota.csv: only the roster (repeat 'anggota') was given; add the main table"),
    Case("header_only", "a main CSV with a header and no rows", lambda: {MAIN_CSV: csv_bytes(_frames()[0].iloc[:0]), ROSTER_CSV: csv_bytes(_frames()[1])}, "empty_sheet", "akses_digital_jakarta.csv: the CSV has a header but no rows"),
    Case("tab_delimited", "a tab-separated export saved as .csv", _tab, "wrong_delimiter", "akses_digital_jakarta.csv: columns are separated by tabs; export the CSV with a comma or a semicolon"),
    Case("pipe_delimited", "a pipe-separated export", _pipe, "wrong_delimiter", "akses_digital_jakarta.csv: columns are separated by '|'; export the CSV with a comma or a semicolon"),
    Case("single_column", "a CSV with one column", _single_column, "wrong_delimiter", "akses_digital_jakarta.csv: the header has a single column: the file is not comma- or semicolon-separated"),
    Case("unbalanced_quote", "a CSV ending inside a quoted field", _unbalanced_quote, "malformed_csv", "akses_digital_jakarta.csv: the CSV cannot be parsed (unbalanced quotes or a broken row) (ParserError; cell values are not shown to protect personal data)"),
    Case("ragged_row", "a CSV row with more cells than the header", _ragged, "malformed_csv", "akses_digital_jakarta.csv: the CSV cannot be parsed (unbalanced quotes or a broken row) (ParserError; cell values are not shown to protect personal data)"),
    Case("another_questionnaire", "an export of a different (posyandu) form", _another_form, "another_questionnaire", "akses_digital_jakarta.csv: the main table has 0 of the questionnaire's 23 coded columns: this is not an export of the 'akses_digital_jakarta' form"),
    Case("missing_columns", "the RW and household-size columns deleted", _with_main(_drop(["lokasi/rw", "rumah_tangga/hh_size"])), "missing_columns", "akses_digital_jakarta.csv: main table: missing column(s) ['lokasi/rw', 'rumah_tangga/hh_size']"),
    Case("renamed_columns", "the expenditure column renamed by hand", _with_main(_rename({"rumah_tangga/expenditure_bracket": "rumah_tangga/expenditure_brackets_rp"})), "renamed_columns", "akses_digital_jakarta.csv: main table: column(s) renamed: 'rumah_tangga/expenditure_brackets_rp' looks like 'rumah_tangga/expenditure_bracket'; missing: ['rumah_tangga/expenditure_bracket']"),
    Case("roster_missing_columns", "the roster without its age and sex columns", _with_roster(_drop(["anggota/age", "anggota/sex"])), "missing_columns", "anggota.csv: roster: missing column(s) ['anggota/age', 'anggota/sex']"),
    Case("duplicate_columns", "the RW column twice", _with_main(_duplicate_column), "duplicate_columns", "akses_digital_jakarta.csv: columns 10 and 41 have the same name"),
    Case("no_uuid", "an export without metadata columns", _with_main(_drop(["_uuid"])), "missing_uuid_column", "akses_digital_jakarta.csv: the main table has no _uuid column: export with the metadata columns"),
    Case("no_parent_index", "a roster without _parent_index / _submission__uuid", _with_roster(_drop(["_parent_index", "_submission__uuid"])), "missing_index_columns", "anggota.csv: the roster has no _parent_index (or _submission__uuid) column to join it to its household"),
    Case("only_test_submissions", "every submission is a pilot ('test' enumerator)", _with_main(_all_tests), "no_rows", "upload: no household remains after cleaning (6 submitted; all rejected)"),
    Case("too_many_files", "five files at once", lambda: {f"f{i}.csv": b"a,b\n1,2\n" for i in range(5)}, "too_many_files", "5 files given; give the main table and the roster (CSV) or one workbook (XLSX)"),
    Case("design_without_weights", "a design file without a weight column", lambda: _csv(*_frames()), "bad_design", "the design file needs columns ['psu', 'stratum', 'weight']; it has 4 other column(s)", design=_design_without_weights),
    Case("design_negative_weights", "a design file with negative weights", lambda: _csv(*_frames()), "bad_design", "weights must be positive finite numbers", design=_design_negative_weight),
]


# --- accepted exports with a specific effect -------------------------------------------------------------


def _labels_csv(lang: str, sep: str = ",", encoding: str = "utf-8"):
    def make():
        main, roster = to_labels(*_frames(), lang=lang)
        return _csv(main, roster, sep=sep, encoding=encoding)

    return make


def _no_group_paths() -> dict[str, bytes]:
    main, roster = _frames()
    strip = lambda df: df.rename(columns={c: c.split("/")[-1] for c in df.columns if not c.startswith("_")})  # noqa: E731
    return _csv(strip(main), strip(roster))


def _unknown_kelurahan(df):
    df.loc[1, "lokasi/kelurahan"] = "other"
    df.loc[1, "lokasi/kelurahan_other"] = "Kampung Atlantis"
    return df


def _misspelled_kelurahan(df):
    df.loc[0, "lokasi/kelurahan"] = "other"
    df.loc[0, "lokasi/kelurahan_other"] = "kel. balekambng"
    return df


def _duplicate_submission():
    main, roster = _frames()
    main = pd.concat([main, main.iloc[[2]].assign(_index="7")], ignore_index=True)
    extra = roster[roster["_parent_index"] == "3"].assign(_parent_index="7")
    extra["_index"] = [str(100 + i) for i in range(len(extra))]
    roster = pd.concat([roster, extra], ignore_index=True)
    return _csv(main, roster)


def _pii_in_notes(df):
    df.loc[0, "penutup/catatan"] = "Responden minta dihubungi di 0812-3456-7890, NIK 3175044101850003"
    df.loc[1, "layanan/jaki_reasons_other"] = "No KK 3175040101090012 hilang, Ibu Sari tidak bisa cek"
    df.loc[2, "enumerator"] = "=HYPERLINK(\"http://x\")"
    return df


def _invalid_answers(df):
    df.loc[0, "rumah_tangga/dtks"] = "mungkin"
    df.loc[1, "consent"] = "no"
    return df


ACCEPTED: list[Accepted] = [
    Accepted("labels_id_semicolon", "labels export in Indonesian, semicolon-separated", _labels_csv("Indonesian (id)", ";"), households_out=6),
    Accepted("labels_en_cp1252", "labels export in English, Windows-1252", _labels_csv("English (en)", ",", "cp1252"), households_out=6),
    Accepted("xml_xlsx", "XML-values XLSX", lambda: _xlsx(*_frames()), households_out=6),
    Accepted("no_group_paths", "headers without group paths", _no_group_paths, households_out=6),
    Accepted("unknown_kelurahan", "a kelurahan that is not in the register", _with_main(_unknown_kelurahan),
             households_rejected={"unknown kelurahan": 1}, persons_rejected={"household rejected: unknown kelurahan": 3}, households_out=5),
    Accepted("misspelled_kelurahan", "a misspelled kelurahan typed as 'other'", _with_main(_misspelled_kelurahan), households_out=6),
    Accepted("duplicate_submission", "a submission sent twice (same _uuid)", _duplicate_submission,
             households_rejected={"duplicate _uuid": 1}, persons_rejected={"household rejected: duplicate _uuid": 4}, households_out=6),
    Accepted("test_submission", "a pilot submission", _with_main(lambda df: _set(df, 3, "enumerator", "uji coba")),
             households_rejected={"test submission": 1}, persons_rejected={"household rejected: test submission": 2}, households_out=5),
    Accepted("age_out_of_range", "an age of 150 and a missing age", _with_roster(lambda df: _set(_set(df, 0, "anggota/age", "150"), 1, "anggota/age", None)),
             persons_rejected={"age missing or out of range": 2}, households_out=6),
    Accepted("orphan_roster_row", "a roster row pointing to no submission", _with_roster(_orphans),
             persons_rejected={"roster row without a household": 1}, households_out=6),
    Accepted("pii_in_free_text", "NIK, KK, phone and a name typed into free text; a formula as enumerator code", _with_main(_pii_in_notes),
             pii={"nik": 1, "kk": 1, "phone": 1, "name": 1}, households_out=6),
    Accepted("invalid_answers", "an answer outside the choices and a refused consent", _with_main(_invalid_answers),
             households_rejected={"no consent": 1}, persons_rejected={"household rejected: no consent": 3}, households_out=5),
]
