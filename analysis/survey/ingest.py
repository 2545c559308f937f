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

The steps live in: ``analysis.survey.export_files`` (finding, loading and reading the files; main table vs
roster), ``analysis.survey.headers`` (columns to questionnaire fields), ``analysis.survey.derive`` (answers to
canonical values and the analysis variables); this module holds the ingest itself (the order above,
duplicates, kelurahan, design, rejects) and its result.
"""


from __future__ import annotations

import functools
import hashlib
import io
import json
import re
import secrets
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from analysis.errors import InputError
from analysis.etl.readers import decode_text, sniff_delimiter
from analysis.privacy import MARKER, Scrubber, redact_errors
from analysis.survey import schema as S
from analysis.survey.derive import TEST_PATTERN, add_respondent, canonical_frame, derive_households, derive_persons
from analysis.survey.export_files import MAX_FILE_BYTES, SEP_LINE, export_files, find_tables, load_files
from analysis.survey.headers import map_headers, normalise_header, require_columns
from analysis.survey.questionnaire import FormDefinition, load_form
from analysis.tables import Table

AGE_MIN, AGE_MAX = 0, 110  # roster ages outside this range are rejects

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
    "bad_encoding": "The text of a CSV file contradicts its byte-order mark (UTF-8 or UTF-16).",
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
    "row_too_long": "A line of the CSV is far longer than any survey export's.",
    "too_many_columns": "The table has far more columns than the questionnaire (or a stray cell far to the right).",
    "too_many_cells": "The table (or its bounding box: a stray cell far away) is too large to read.",
    "cell_too_long": "A cell holds more text than a spreadsheet cell can (32,767 characters).",
    "duplicate_fields": "The same question appears in two columns under different headers.",
    "pii_in_output": "An identifier pattern survived cleaning: nothing is shown or written.",
    "parse_timeout": "Reading the file took longer than the time limit.",
    "parse_failed": "Reading the file needed more memory than allowed, or the reader stopped.",
}

# Answers whose value must lie in a range for the record to be used (schema ranges): a value outside is a
# reject of that row (with its row number), never a refusal of the file. hh_size and age have their own reasons.
HOUSEHOLD_RANGES = {"n_phones": (0, 20), "respondent_line_no": (1, 30)}
PERSON_RANGES = {"line_no": (1, 30)}


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
    # The kept households' keys under a second salt (``match_salt``), aligned with ``households``; in memory
    # only, never in a table: lets the upload page tell which households are also in the city survey.
    match_keys: list | None = None

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



# --- design -------------------------------------------------------------------------------------------------


def _read_design(design) -> pd.DataFrame:
    """The design file (a DataFrame, or CSV bytes or path read with ``analysis.etl.readers``' decoder and
    sniffer, comma or semicolon); every problem is ``bad_design``."""
    if isinstance(design, pd.DataFrame):
        df = design.copy()
    else:
        with redact_errors("bad_design", "the design file cannot be read as CSV"):
            raw = bytes(design) if isinstance(design, (bytes, bytearray)) else Path(design).read_bytes()
            try:
                text, _ = decode_text(raw)
                text = text.replace("\r\n", "\n").replace("\r", "\n") if "\r" in text else text
                m = SEP_LINE.match(text)  # Excel's "sep=;" first line
                if m and m.group(1) in (",", ";"):
                    sep, text = m.group(1), text[m.end():]
                else:
                    sep = sniff_delimiter(text, allowed=(",", ";"))
            except InputError as exc:
                raise InputError("bad_design", f"the design file cannot be read: {exc}") from None
            df = pd.read_csv(io.StringIO(text), sep=sep, dtype=str)
    df.columns = [str(c).strip() for c in df.columns]
    if "_uuid" in df.columns and "hh_id" not in df.columns:
        df = df.rename(columns={"_uuid": "hh_id"})
    if "weight" not in df.columns and "design_weight" in df.columns:
        df = df.rename(columns={"design_weight": "weight"})
    need = {"stratum", "psu", "weight"}
    if not need <= set(df.columns):
        raise InputError("bad_design", f"the design file needs columns {sorted(need)}; it has {len(df.columns)} other column(s)")
    if "hh_id" not in df.columns and not {"kode_kemendagri", "rw"} <= set(df.columns):
        raise InputError("bad_design", "the design file needs a household key (hh_id or _uuid) or kode_kemendagri + rw")
    df["weight"] = pd.to_numeric(df["weight"], errors="coerce")
    if df["weight"].isna().any() or (df["weight"] <= 0).any() or not np.isfinite(df["weight"].to_numpy(dtype=float)).all():
        raise InputError("bad_design", "weights must be positive finite numbers")
    if "fpc_psu" in df.columns:
        df["fpc_psu"] = pd.to_numeric(df["fpc_psu"], errors="coerce")
        df.loc[~np.isfinite(df["fpc_psu"].to_numpy(dtype=float)), "fpc_psu"] = np.nan
    else:
        df["fpc_psu"] = np.nan
    # the kelurahan stage (optional): certainty kelurahan and the RW count of the kelurahan's frame
    if "certainty_kelurahan" in df.columns:
        df["certainty_kelurahan"] = df["certainty_kelurahan"].astype(object).str.strip().str.lower().map({"true": True, "false": False, "1": True, "0": False})
    else:
        df["certainty_kelurahan"] = pd.NA
    if "n_rw_kelurahan" in df.columns:
        df["n_rw_kelurahan"] = pd.to_numeric(df["n_rw_kelurahan"], errors="coerce")
        df.loc[~(df["n_rw_kelurahan"] >= 1), "n_rw_kelurahan"] = np.nan
    else:
        df["n_rw_kelurahan"] = np.nan
    # the kelurahan's first-stage inclusion probability (optional; anything outside (0, 1] is unknown)
    if "pi_kelurahan" in df.columns:
        df["pi_kelurahan"] = pd.to_numeric(df["pi_kelurahan"], errors="coerce")
        df.loc[~((df["pi_kelurahan"] > 0) & (df["pi_kelurahan"] <= 1)), "pi_kelurahan"] = np.nan
    else:
        df["pi_kelurahan"] = np.nan
    return df


# --- the ingest ---------------------------------------------------------------------------------------------


@functools.lru_cache(maxsize=1)
def default_form() -> FormDefinition:
    """The committed questionnaire, parsed once per process (read-only afterwards)."""
    return load_form()


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
    salt: bytes | None = None,
    match_salt: bytes | None = None,
) -> IngestResult:
    """Read an export (bytes or paths, see ``load_files``) into canonical tables, in memory.

    ``register``: the kelurahan register (``analysis.etl.registers.load_register()`` or the build's
    ``wilayah_register``). ``design``: None, a DataFrame, or CSV bytes/path with ``stratum, psu, weight``
    (optional ``fpc_psu``) keyed by ``hh_id``/``_uuid`` or by ``kode_kemendagri`` + ``rw``.
    ``synthetic``: label the tables synthetic (also set when the export carries a true ``synthetic`` column).
    ``max_file_bytes``: the upload limit (50 MB); None for trusted local files (the CLI, benchmarks).
    ``salt``: key of the opaque household and design ids (``OpaqueKeys``); random per call by default, so an
    id cannot be traced back to a ``_uuid`` (which some forms compute from the NIK). Pass one only to compare
    two runs of synthetic data. ``match_salt``: also key the kept households with this salt
    (``IngestResult.match_keys``, memory only), to find the households a build keyed with it holds.

    Every ``InputError`` leaves through ``safe_error`` (file names and messages scrubbed), and every output
    table and note is scanned for identifier patterns before it is returned: a hit refuses (fails closed).
    """
    try:
        result = _ingest(files, register=register, design=design, source_name=source_name, survey_id=survey_id,
                         synthetic=synthetic, form=form, max_file_bytes=max_file_bytes, salt=salt,
                         match_salt=match_salt)
    except InputError as err:
        raise safe_error(err) from None
    check_outputs(result)
    return result


def safe_error(err: InputError) -> InputError:
    """``err`` with its message and source passed through the scrubber (a header or a file name the user
    wrote could hold a NIK); if the scan still sees an identifier, a message that says only the code."""
    from analysis.privacy import scan_text_clean, scrub_text

    source = scrub_text(str(err.source))[0] if err.source else err.source
    text = str(err)
    if err.source and text.startswith(f"{err.source}: "):
        text = text[len(err.source) + 2:]
    message = scrub_text(text)[0]
    if not scan_text_clean(message) or not scan_text_clean(source or ""):
        message, source = ERROR_CODES.get(err.code, "the file cannot be read"), None
    out = InputError(err.code, message, source)
    out.__suppress_context__ = True
    return out


def check_outputs(result: IngestResult) -> None:
    """Fail closed: refuse the result if any table, reject list, note or report string holds an identifier."""
    from analysis.privacy import scan_for_pii, scan_text_clean

    for df in (result.households, result.persons, result.household_rejects, result.person_rejects):
        if not scan_for_pii(df).clean:
            raise InputError("pii_in_output", "an identifier pattern (NIK, KK or phone) survived cleaning; nothing is shown or written")
    if not all(scan_text_clean(t) for t in _strings(result.report())):
        raise InputError("pii_in_output", "an identifier pattern (NIK, KK or phone) survived cleaning in the report; nothing is shown or written")


def _strings(obj):
    if isinstance(obj, dict):
        for k, v in obj.items():
            yield str(k)
            yield from _strings(v)
    elif isinstance(obj, (list, tuple)):
        for v in obj:
            yield from _strings(v)
    elif obj is not None:
        yield str(obj)


class OpaqueKeys:
    """Ids that carry no value of the export: a keyed BLAKE2b hash (the key random per run unless given) of
    the normalised ``_uuid`` or design value, written with letters only (no digit run can read as a NIK or a
    phone). The same input gives the same key within a run, so joins and duplicates still work."""

    def __init__(self, salt: bytes | None = None):
        self.salt = salt if salt is not None else secrets.token_bytes(16)

    def key(self, prefix: str, value) -> str | None:
        if value is None or (not isinstance(value, str) and pd.isna(value)):
            return None
        d = hashlib.blake2b(str(value).encode("utf-8", "surrogatepass"), key=self.salt[:64], digest_size=12, person=prefix.encode()[:16]).digest()
        return prefix + "-" + "".join(chr(97 + b % 26) for b in d)

    def series(self, prefix: str, values: pd.Series) -> pd.Series:
        codes, uniques = pd.factorize(values, use_na_sentinel=True)
        keys = np.array([self.key(prefix, u) for u in uniques] + [None], dtype=object)
        return pd.Series(keys[codes], index=values.index, dtype=object)


def normalise_id(values: pd.Series) -> pd.Series:
    """Submission ids compared as KoboToolbox and ODK mean them: case-insensitive, without ``uuid:``, trimmed."""
    s = values.astype(object).where(values.notna())
    s = s.str.strip().str.casefold().str.replace(r"^uuid:\s*", "", regex=True)
    return s.where(s.notna() & s.ne(""))


_REGION_CODE = re.compile(r"^\d{2}(?:\.\d{2}){0,2}(?:\.\d{4})?$")


def _design_ids(values: pd.Series, keys: OpaqueKeys, prefix: str) -> pd.Series:
    """Design strata that are Kemendagri region codes (``31.75``) are kept; any other value becomes an opaque key."""
    v = values.astype(object).str.strip()
    region = v.str.match(_REGION_CODE.pattern, na=False)
    return v.where(region, keys.series(prefix, v))


def _parts_rows(parts: list[int], label: str) -> tuple[np.ndarray, np.ndarray]:
    """Spreadsheet row (header = row 1) within its batch, and the batch's label, for each row of a table."""
    rows = np.concatenate([np.arange(2, n + 2) for n in parts]) if parts else np.array([], dtype=np.int64)
    names = [label] if len(parts) == 1 else [f"{label}, batch {i + 1}" for i in range(len(parts))]
    sheets = np.repeat(np.array(names, dtype=object), parts) if parts else np.array([], dtype=object)
    return rows, sheets


def _ingest(files, *, register, design, source_name, survey_id, synthetic, form, max_file_bytes, salt, match_salt=None) -> IngestResult:
    form = form or default_form()
    keys = OpaqueKeys(salt)
    loaded = load_files(files, max_file_bytes)
    tables = find_tables(loaded, form)
    main, roster, fmt, main_name, roster_name = tables.main, tables.roster, tables.format, tables.main_name, tables.roster_name
    if "_uuid" not in {normalise_header(c) for c in main.columns}:
        raise InputError("missing_uuid_column", "the main table has no _uuid column: export with the metadata columns", main_name)
    hmain = map_headers(main, form, form.main_fields, main_name)
    hrost = map_headers(roster, form, form.repeat_fields, roster_name)
    require_columns(hmain, form.main_fields, form, main_name, "main table")
    require_columns(hrost, form.repeat_fields, form, roster_name, "roster")
    fmt |= {"headers": hmain.mode, "ignored_columns": len(hmain.unmatched) + len(hrost.unmatched)}
    notes: list[str] = []
    scrubber = Scrubber()

    # Text of a repeated submission (same _uuid) is never kept and never read: only the first copy is scrubbed,
    # so the personal-data counts describe the submissions once.
    uuid_col = next(c for c in main.columns if normalise_header(c) == "_uuid")
    uuid_key = normalise_id(main[uuid_col])
    repeat_copy = (uuid_key.notna() & uuid_key.duplicated(keep="first")).to_numpy()
    H = canonical_frame(main, hmain, form, form.main_fields, scrubber, skip_text=repeat_copy)
    P = canonical_frame(roster, hrost, form, form.repeat_fields, scrubber)
    invalid = Counter(H.attrs.pop("invalid", {})) + Counter(P.attrs.pop("invalid", {}))
    fmt["values"] = "labels" if (H.attrs.pop("label_values", 0) + P.attrs.pop("label_values", 0)) else "xml"
    if invalid:
        notes.append(f"{sum(invalid.values())} answer(s) outside the form's choices or not whole numbers were set to missing: " + ", ".join(f"{k} {v}" for k, v in sorted(invalid.items())))

    households_in, persons_in = len(H), len(P)
    H["_row"], H["_sheet"] = _parts_rows(tables.main_parts, "main table")  # spreadsheet row (the header is row 1)
    H["_pos"] = np.arange(len(H))
    P["_row"], P["_sheet"] = _parts_rows(tables.roster_parts, "roster")
    # From here on a household is known by its normalised id (duplicates in case or "uuid:" are one) and
    # leaves only as an opaque key.
    H["_uuid"] = normalise_id(H["_uuid"]) if "_uuid" in H.columns else pd.Series(None, index=H.index, dtype=object)
    H["_key"] = keys.series("hh", H["_uuid"])
    main_uuid = H["_uuid"].tolist()
    main_key = H["_key"].tolist()
    h_rej: list[pd.DataFrame] = []
    h_rej_pos: list[np.ndarray] = []

    def reject_h(mask: pd.Series, reason: str) -> None:
        nonlocal H
        mask = mask.fillna(True).astype(bool) if mask.dtype != bool else mask
        if mask.any():
            r = H.loc[mask]
            h_rej.append(pd.DataFrame({"row": r["_row"].to_numpy(), "reason": reason, "sheet": r["_sheet"].to_numpy(), "hh_id": r["_key"].to_numpy()}))
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
    for name, (lo, hi) in HOUSEHOLD_RANGES.items():
        if name in H.columns:
            reject_h(H[name].notna() & ((H[name] < lo) | (H[name] > hi)), f"{name} out of range")

    # 4. design: join before deriving, so a household missing from the design file is a reject like any other
    export_synthetic = bool(H["_synthetic"].any()) if "_synthetic" in H.columns else False
    synthetic = synthetic or export_synthetic
    rw_valid = H["rw"].where((H["rw"] >= 1) & (H["rw"] <= 99)) if "rw" in H.columns else pd.Series(pd.NA, index=H.index, dtype="Int64")
    if design is not None:
        d = _read_design(design)
        d["stratum"] = _design_ids(d["stratum"], keys, "stratum")
        d["psu"] = keys.series("psu", d["psu"].astype(object).str.strip())
        if "hh_id" in d.columns:
            d["hh_id"] = normalise_id(d["hh_id"])
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
        H["_certain"] = joined["certainty_kelurahan"]
        H["_n_rw"] = joined["n_rw_kelurahan"]
        H["_pi_kel"] = joined["pi_kelurahan"]
        reject_h(H["_weight"].isna(), "not in the design file")
        weighted = True
    else:
        H["_stratum"] = H["kode_kemendagri"]
        H["_psu"] = H["_key"]
        H["_weight"] = 1.0
        H["_fpc"] = np.nan
        H["_certain"] = pd.NA
        H["_n_rw"] = np.nan
        H["_pi_kel"] = np.nan
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
            P_rej.append(pd.DataFrame({"row": r["_row"].to_numpy(), "reason": why, "sheet": r["_sheet"].to_numpy(), "hh_id": r["_hh_id"].to_numpy()}))
            P = P.loc[~mask]

    parent_pos, disagree = _roster_parent(P, main, main_uuid, main_name, roster_name)
    P["_parent_pos"] = parent_pos
    key_arr = np.array(main_key + [None], dtype=object)
    P["_hh_id"] = key_arr[parent_pos.fillna(-1).to_numpy(dtype=np.int64)]
    reject_p(disagree, "roster keys disagree (_parent_index and _submission__uuid name different households)")
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
    for name, (lo, hi) in PERSON_RANGES.items():
        if name in P.columns:
            reject_p((P[name].notna() & ((P[name] < lo) | (P[name] > hi))).astype(bool), f"{name} out of range")
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
    Hd = derive_households(H, P)
    Hd["stratum"] = H["_stratum"].astype("str").to_numpy()
    Hd["psu"] = H["_psu"].astype("str").to_numpy()
    Hd["weight"] = pd.to_numeric(H["_weight"]).astype(float).to_numpy()
    Hd["fpc_psu"] = pd.array(pd.to_numeric(H["_fpc"]).astype(float).to_numpy(), dtype="Float64")
    Hd["certainty_kelurahan"] = pd.array(H["_certain"].to_numpy(dtype=object), dtype="boolean")
    Hd["n_rw_kelurahan"] = pd.array(pd.to_numeric(H["_n_rw"]).round().to_numpy(dtype=float), dtype="Float64").astype("Int64")
    Hd["pi_kelurahan"] = pd.array(pd.to_numeric(H["_pi_kel"]).astype(float).to_numpy(), dtype="Float64")
    Hd["survey_id"] = survey_id or "survey"  # never the file name (the user chose it: it could hold anything)
    Hd["synthetic"] = synthetic
    Pd = derive_persons(P)
    copy_cols = ["survey_id", "synthetic", "kode_kemendagri", "kode_kab_kemendagri", "stratum", "psu", "weight", "fpc_psu", "certainty_kelurahan", "n_rw_kelurahan", "pi_kelurahan", "income_quintile", "hh_size"]
    Pd = Pd.join(Hd.set_index("hh_id")[copy_cols], on="hh_id")
    Hd = add_respondent(Hd, Pd)
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
        survey_id=survey_id or "survey",
    )
    if match_salt is not None:
        other = dict(zip(H["_key"], OpaqueKeys(match_salt).series("hh", H["_uuid"]), strict=True))
        result.match_keys = [other.get(k) for k in households["hh_id"]]
    assert households_in == len(households) + len(hrej), "household rows lost"
    assert persons_in == len(persons) + len(prej), "person rows lost"
    return result


def _roster_parent(P: pd.DataFrame, main: pd.DataFrame, main_uuid: list, main_name: str, roster_name: str) -> tuple[pd.Series, pd.Series]:
    """Position (0-based row of the main table) of each roster row's submission, and where the two keys
    disagree.

    ``_submission__uuid`` (or ODK Central's ``PARENT_KEY``) -> the first main row with that normalised
    ``_uuid``; ``_parent_index`` -> the main table's ``_index`` (KoboToolbox). With both, the id wins and a
    row whose index points at another household is flagged (attaching it to either would be a guess). The
    index is not used when it repeats in the main table (batches restart it). NA when the parent is not there.
    """
    mcols = {normalise_header(c): c for c in main.columns}
    by_index = by_uuid = None
    if "_parent_index" in P.columns and "_index" in mcols:
        idx = main[mcols["_index"]].astype(object).str.strip()
        unique = not idx.duplicated().any()
        if unique or "_submission__uuid" not in P.columns:
            lookup = pd.Series(np.arange(len(main)), index=idx.to_numpy())
            lookup = lookup[~lookup.index.duplicated(keep=False)]  # an index that repeats names no household
            by_index = P["_parent_index"].astype(object).str.strip().where(P["_parent_index"].notna()).map(lookup).astype("Int64")
    if "_submission__uuid" in P.columns:
        keys = pd.Series(main_uuid, dtype=object)
        lookup = pd.Series(np.arange(len(main)), index=keys.to_numpy())
        lookup = lookup[lookup.index.notna() & ~lookup.index.duplicated(keep="first")]
        parent = normalise_id(P["_submission__uuid"]).str.split("/", n=1).str[0]
        by_uuid = parent.map(lookup).astype("Int64")
    if by_index is None and by_uuid is None:
        if "_parent_index" not in P.columns:
            raise InputError("missing_index_columns", "the roster has no _parent_index (or _submission__uuid) column to join it to its household", roster_name)
        raise InputError("missing_index_columns", "the main table has no _index column to join the roster", main_name)
    if by_uuid is None:
        return by_index, pd.Series(False, index=P.index)
    if by_index is None:
        return by_uuid, pd.Series(False, index=P.index)
    # Both keys: they agree when the index's household has the row's submission id (a resent copy of a
    # submission has the same id: its members follow the copy, and are rejected with it).
    uid = np.array(list(main_uuid) + [None], dtype=object)[by_index.fillna(-1).to_numpy(dtype=np.int64)]
    agree = pd.Series(uid == parent.to_numpy(dtype=object), index=P.index) & by_index.notna()
    given = parent.notna()
    disagree = (given & by_index.notna() & ~agree).astype(bool)
    pos = by_index.where(agree | ~given, by_uuid)
    return pos.astype("Int64"), disagree


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



# --- CLI helper ---------------------------------------------------------------------------------------------


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
    a list of files (the main CSV and the roster CSV given separately, or batches). Writes ``survey_households`` / ``survey_persons`` (Parquet + CSV), ``rejects/*.rejects.csv``
    and ``ingest_report.json`` (counts only) into ``out_dir``.
    """
    from analysis.csv_safety import escape_formula
    from analysis.tables import atomic_write_bytes, atomic_write_text, csv_bytes, parquet_bytes

    if register is None:
        from analysis.etl.registers import load_register

        register = load_register()
    if isinstance(path, (str, Path)):
        files = export_files(path)
    else:
        files = [q for p in path for q in (export_files(p) if isinstance(p, (str, Path)) and Path(p).is_dir() else [p])]
    result = ingest_export(
        files, register=register, design=design if design is not None else design_path, source_name=source_name or "export",
        survey_id=survey_id, synthetic=synthetic, max_file_bytes=max_file_bytes,
    )
    # ``ingest_export`` has scanned every table and the report (fails closed); the CSVs get the same formula
    # escaping as the upload's downloads.
    report = json.dumps(result.report(), indent=2, ensure_ascii=False) + "\n"
    out_dir = Path(out_dir)
    for t in result.tables(sources=[]):
        atomic_write_bytes(out_dir / f"{t.name}.parquet", parquet_bytes(t.data))
        atomic_write_bytes(out_dir / f"{t.name}.csv", csv_bytes(escape_formula(t.data)))
        rejects_path = out_dir / "rejects" / f"{t.name}.rejects.csv"
        if t.rows_rejected:
            atomic_write_bytes(rejects_path, csv_bytes(escape_formula(t.rejects)))
        elif rejects_path.exists():
            rejects_path.unlink()
    atomic_write_text(out_dir / "ingest_report.json", report)
    return result
