"""BPS web-table exports -> one tidy long table ``bps_indicators``.

Stage ``analysis.etl.bps``. Inputs (all optional; a missing one is noted and skipped):

- ``bps_internet_households_2022``: CSV, 4 header rows ("38 Provinsi" / title / Perkotaan, Perdesaan,
  Perkotaan+Perdesaan / 2022), 38 provinces + INDONESIA. ``-`` marks the four provinces created in 2022
  that BPS did not estimate separately; those rows have no value and go to rejects with that reason.
  DKI's *perdesaan* is printed as ``0`` but DKI has no rural area (every kelurahan is classified urban):
  the value is kept as NA with a note, never as a real 0.
- ``bps_ict_skills_2015_2021``: XLSX, ``Sheet2`` (the other sheet is a re-saved copy with notes); 34-province
  layout + "RATA-RATA INDONESIA", 2015-2021 (SDG 4.4.1, persons aged 15-59).
- ``bps_internet_media_2015_2021``: XLSX, national, by access media (no 2018 column upstream).
- ``dki_expenditure_kota_2023_2024``: CSV by kab/kota of DKI (level ``kota``; region_code is the dotted
  Kemendagri kab/kota code ``31.71`` taken from ``wilayah_register`` when the registers stage produced it,
  else from the six codes in ``DKI_KOTA`` below) plus the DKI average (level ``province``).

Region codes. Provinces use **BPS province codes** (2 digits) from ``analysis/embedded/bps_provinces.csv``,
the 38-province coding BPS uses since the 2022 split of Papua: Papua Barat 91, Papua Barat Daya 92, Papua 94,
Papua Selatan 95, Papua Tengah 96, Papua Pegunungan 97 (BPS kept 91 and 94 for the remaining provinces and
numbered the new ones 92, 95-97; Kemendagri numbers them differently, Papua 91 / Papua Barat 92 / Selatan 93 /
Tengah 94 / Pegunungan 95 / Barat Daya 96, kept in the same file). Checked against BPS API ``vervar`` codes
(9200, 9500, 9600, 9700) quoted in public code; the 34 older codes are the long-standing BPS/Kemendagri ones.
Indonesia is ``"00"`` (two digits like a province code, never a real province). Kota rows use the Kemendagri
kab/kota code (BPS numbers DKI's kota differently; never join by prefix).

34 -> 38 provinces. ``province_layout`` says which layout a row came from: a table that contains any of the
four new provinces is ``"38"``, else ``"34"``. In a 34-province table "PAPUA" and "PAPUA BARAT" are the
pre-2022 provinces; they keep codes 94 and 91 (the codes BPS used for them) and the row's ``note`` says that
the territory is larger than today's province of that code. Compare such rows across layouts with care.

Province names are matched after normalising case, dots and abbreviations ("D.K.I. Jakarta", "Dki Jakarta",
"KEP. BANGKA BELITUNG", "D I Yogyakarta", "PROVINSI ..."); an unknown name goes to rejects with the name.

Row accounting is per input data row: a row is used when it gives at least one value (or the documented NA);
otherwise it is rejected with a reason (unknown province, duplicate region, no value, a cell that is not a
number, a value out of range).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from analysis import config
from analysis.errors import InputError
from analysis.etl import readers
from analysis.tables import Field, Table

STAGE = "analysis.etl.bps"
NATIONAL_CODE = "00"
NATIONAL_NAME = "Indonesia"
PROVINCES_CSV = config.EMBEDDED_DIR / "bps_provinces.csv"

# DKI Jakarta's kab/kota with their Kemendagri codes (used only when wilayah_register is absent).
DKI_KOTA = {
    "KEPULAUAN SERIBU": ("31.01", "Kepulauan Seribu"),
    "JAKARTA PUSAT": ("31.71", "Jakarta Pusat"),
    "JAKARTA UTARA": ("31.72", "Jakarta Utara"),
    "JAKARTA BARAT": ("31.73", "Jakarta Barat"),
    "JAKARTA SELATAN": ("31.74", "Jakarta Selatan"),
    "JAKARTA TIMUR": ("31.75", "Jakarta Timur"),
}

INDICATORS = {
    "households_internet_3m": {
        "label_en": "Households in which a member accessed the internet in the last 3 months",
        "label_id": "Rumah tangga yang pernah mengakses internet dalam 3 bulan terakhir",
        "unit": "% of households",
    },
    "ict_skills_15_59": {
        "label_en": "Persons aged 15-59 with ICT skills (SDG 4.4.1)",
        "label_id": "Remaja dan dewasa usia 15-59 tahun dengan keterampilan TIK",
        "unit": "% of persons aged 15-59",
    },
    "households_internet_by_media": {
        "label_en": "Internet-accessing households by access device (several devices possible)",
        "label_id": "Rumah tangga yang pernah mengakses internet menurut media akses",
        "unit": "% of households that accessed the internet",
    },
    "per_capita_expenditure": {
        "label_en": "Mean monthly per-capita expenditure",
        "label_id": "Rata-rata pengeluaran per kapita sebulan",
        "unit": "Rp per person per month",
    },
}

URBAN_RURAL = {
    "perkotaan": "urban",
    "perdesaan": "rural",
    "perkotaan_perdesaan": "total",
    "total": "total",
    "jumlah": "total",
}
MEDIA = {
    "komputer": "computer",
    "laptop": "laptop",
    "telepon_seluler": "mobile_phone",
    "hp": "mobile_phone",
    "lainnya": "other",
}
# (province code, breakdown) cells that are structurally not applicable: printed as 0, stored as NA
NOT_APPLICABLE = {
    ("31", "rural"): "not applicable: DKI Jakarta has no rural (perdesaan) area, every kelurahan is urban; "
    "BPS prints 0",
}

FIELDS = [
    Field("indicator", "Indicator id (see analysis.etl.bps.INDICATORS for labels)"),
    Field("region_code", "BPS province code (2 digits; '00' = Indonesia) or, for level kota, the dotted "
          "Kemendagri kab/kota code (e.g. '31.71'); never join BPS and Kemendagri codes by prefix"),
    Field("region_name", "Canonical region name (BPS province spelling, 'Indonesia', or the kota name)"),
    Field("level", "national | province | kota"),
    Field("year", "Reference year of the estimate", "integer"),
    Field("breakdown", "urban | rural | total, or the access device (computer, laptop, mobile_phone, other)"),
    Field("value", "The published value; NA only where the source cell is structurally not applicable (see note)",
          "number"),
    Field("unit", "Unit of value"),
    Field("source_id", "Source id in data/sources.toml"),
    Field("province_layout", "For province rows: '34' when the source table uses the pre-2022 34-province "
          "layout, '38' for the current layout; empty otherwise"),
    Field("note", "Caveat for this value (not-applicable cell, pre-2022 territory), else empty"),
]


# --- provinces ------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Province:
    code: str
    kemendagri_code: str
    name: str
    since_2022_split: bool
    note_34_layout: str


def region_key(name: object) -> str:
    """Normalise a region name: upper case, dots and punctuation as spaces, spaced initials joined
    ("D K I" -> "DKI", "D I" -> "DI"), "KEP" -> "KEPULAUAN", "PROVINSI"/"PROV" dropped."""
    text = str(name).upper().replace("\u00a0", " ")
    text = re.sub(r"[^A-Z0-9+]+", " ", text).strip()
    words = text.split()
    joined: list[str] = []
    run: list[str] = []
    for w in words + [""]:
        if len(w) == 1 and w.isalpha():
            run.append(w)
            continue
        if run:
            joined.append("".join(run))
            run = []
        if w:
            joined.append(w)
    words = ["KEPULAUAN" if w == "KEP" else w for w in joined]
    while words and words[0] in ("PROVINSI", "PROV", "PROPINSI"):
        words = words[1:]
    return " ".join(words)


def load_provinces(path: Path = PROVINCES_CSV) -> list[Province]:
    df = pd.read_csv(path, dtype=str, keep_default_na=False)
    provinces = [
        Province(r.bps_code, r.kemendagri_code, r.name, r.since_2022_split == "true", r.note_34_layout)
        for r in df.itertuples()
    ]
    if len(provinces) != 38 or len({p.code for p in provinces}) != 38:
        raise InputError("bad_province_table", "the province table must list 38 provinces with unique codes", str(path))
    return provinces


class ProvinceMatcher:
    """Name -> Province, or NATIONAL for Indonesia; None when unknown."""

    NATIONAL = "national"
    _NATIONAL_KEYS = {"INDONESIA", "RATA RATA INDONESIA", "NASIONAL", "NATIONAL", "TOTAL INDONESIA"}

    def __init__(self, provinces: list[Province] | None = None):
        self.provinces = provinces or load_provinces()
        self.by_code = {p.code: p for p in self.provinces}
        self._by_key: dict[str, Province] = {}
        df = pd.read_csv(PROVINCES_CSV, dtype=str, keep_default_na=False)
        aliases = dict(zip(df.bps_code, df.aliases))
        for p in self.provinces:
            for name in [p.name] + [a for a in aliases.get(p.code, "").split(";") if a]:
                self._by_key[region_key(name)] = p

    def match(self, name: object):
        key = region_key(name)
        if key in self._NATIONAL_KEYS:
            return self.NATIONAL
        return self._by_key.get(key)


# --- wide -> long ---------------------------------------------------------------------------------------------


@dataclass
class SourceResult:
    source_id: str
    rows: list[dict]
    rejects: list[dict]
    rows_in: int
    rows_used: int


def _year_of(parts: list[str]) -> int | None:
    for part in reversed(parts):
        if re.fullmatch(r"(19|20)\d{2}", part.strip()):
            return int(part.strip())
    return None


def _value_columns(df: pd.DataFrame, breakdowns: dict[str, str] | None, source_id: str) -> dict[str, tuple[int, str]]:
    """Map each value column to (year, breakdown) from its (possibly multi-row) header."""
    out = {}
    for col in df.columns[1:]:
        parts = [p.strip() for p in str(col).split(" | ")]
        year = _year_of(parts)
        if year is None:
            raise InputError("unknown_column", f"column {col!r} names no year", source_id)
        if breakdowns is None:
            breakdown = "total"
        else:
            rest = [p for p in parts if not re.fullmatch(r"(19|20)\d{2}", p)]
            label = readers.normalise_name(rest[-1]) if rest else ""
            if label not in breakdowns:
                raise InputError(
                    "unknown_column", f"column {col!r}: breakdown {rest[-1] if rest else ''!r} is not one of "
                    f"{sorted(breakdowns)}", source_id
                )
            breakdown = breakdowns[label]
        out[col] = (year, breakdown)
    return out


def _provinces_long(
    df: pd.DataFrame,
    *,
    source_id: str,
    indicator: str,
    breakdowns: dict[str, str] | None,
    matcher: ProvinceMatcher,
    value_range: tuple[float, float | None] = (0.0, 100.0),
) -> SourceResult:
    """A province x (year, breakdown) wide table -> long rows + rejects (one reject per rejected input row)."""
    label_col = df.columns[0]
    columns = _value_columns(df, breakdowns, source_id)
    parsed = {col: readers.to_numbers(df[col]) for col in columns}
    matches = {row: matcher.match(df.at[row, label_col]) for row in df.index}
    layout = "38" if any(isinstance(m, Province) and m.since_2022_split for m in matches.values()) else "34"
    unit = INDICATORS[indicator]["unit"]
    rows, rejects, seen = [], [], {}
    used = 0
    for rownum in df.index:
        raw_name = df.at[rownum, label_col]
        match = matches[rownum]

        def reject(reason, rownum=rownum, raw_name=raw_name):
            rejects.append({"source_id": source_id, "row": int(rownum), "region": str(raw_name), "reason": reason})

        if pd.isna(raw_name) or not str(raw_name).strip():
            reject("no region name")
            continue
        if match is None:
            reject(f"unknown province name {str(raw_name)!r}")
            continue
        if match == ProvinceMatcher.NATIONAL:
            code, name, level, note, prov_layout = NATIONAL_CODE, NATIONAL_NAME, "national", "", ""
        else:
            code, name, level, prov_layout = match.code, match.name, "province", layout
            note = match.note_34_layout if layout == "34" else ""
        if code in seen:
            reject(f"duplicate region {name!r} (code {code}); first seen in row {seen[code]}")
            continue
        bad = [col for col in columns if parsed[col][1].at[rownum]]
        if bad:
            year, _ = columns[bad[0]]
            reject(f"value for {year} ({columns[bad[0]][1]}) is not a number")
            continue
        out = []
        problem = None
        for col, (year, breakdown) in columns.items():
            value = parsed[col][0].at[rownum]
            cell_note = note
            na_reason = NOT_APPLICABLE.get((code, breakdown))
            if na_reason is not None:
                if not np.isnan(value) and value != 0:
                    problem = f"{breakdown} {year} should be not applicable (0) but is {value}"
                    break
                value, cell_note = np.nan, na_reason
            elif np.isnan(value):
                continue
            else:
                lo, hi = value_range
                if value < lo or (hi is not None and value > hi):
                    problem = f"value for {year} ({breakdown}) is {value}, outside [{lo}, {hi if hi is not None else 'inf'}]"
                    break
            out.append(
                {
                    "indicator": indicator,
                    "region_code": code,
                    "region_name": name,
                    "level": level,
                    "year": year,
                    "breakdown": breakdown,
                    "value": value,
                    "unit": unit,
                    "source_id": source_id,
                    "province_layout": prov_layout,
                    "note": cell_note,
                }
            )
        if problem:
            reject(problem)
            continue
        if not out:
            reject("no value in any column (all cells are '-' or empty: not available)"
                   + ("; a province created in 2022 that this table does not estimate separately"
                      if isinstance(match, Province) and match.since_2022_split else ""))
            continue
        seen[code] = int(rownum)
        rows.extend(out)
        used += 1
    return SourceResult(source_id, rows, rejects, len(df), used)


# --- the four sources -----------------------------------------------------------------------------------------


def parse_internet_households(path_or_bytes, matcher: ProvinceMatcher | None = None,
                              source_id: str = "bps_internet_households_2022") -> SourceResult:
    """BPS CSV export: provinces x (Perkotaan, Perdesaan, Perkotaan+Perdesaan) x year, 4 header rows."""
    df = readers.read_table(path_or_bytes, header_rows=4, source=source_id)
    return _provinces_long(df, source_id=source_id, indicator="households_internet_3m", breakdowns=URBAN_RURAL,
                           matcher=matcher or ProvinceMatcher())


def parse_ict_skills(path_or_bytes, matcher: ProvinceMatcher | None = None,
                     source_id: str = "bps_ict_skills_2015_2021", sheet="Sheet2") -> SourceResult:
    """BPS SDG 4.4.1 workbook: provinces x years on ``Sheet2``."""
    df = readers.read_table(path_or_bytes, sheet=sheet, expected_columns=["Provinsi"], source=source_id)
    return _provinces_long(df, source_id=source_id, indicator="ict_skills_15_59", breakdowns=None,
                           matcher=matcher or ProvinceMatcher())


def parse_internet_media(path_or_bytes, source_id: str = "bps_internet_media_2015_2021") -> SourceResult:
    """BPS workbook, national: access media (rows) x years (columns)."""
    df = readers.read_table(path_or_bytes, expected_columns=["Media"], source=source_id)
    columns = _value_columns(df, None, source_id)
    unit = INDICATORS["households_internet_by_media"]["unit"]
    rows, rejects, seen, used = [], [], {}, 0
    parsed = {col: readers.to_numbers(df[col]) for col in columns}
    for rownum in df.index:
        raw = df.at[rownum, "Media"]
        key = readers.normalise_name(raw) if not pd.isna(raw) else ""
        media = MEDIA.get(key)
        if media is None:
            rejects.append({"source_id": source_id, "row": int(rownum), "region": str(raw),
                            "reason": f"unknown access media {str(raw)!r}"})
            continue
        if media in seen:
            rejects.append({"source_id": source_id, "row": int(rownum), "region": str(raw),
                            "reason": f"duplicate access media {media!r}; first seen in row {seen[media]}"})
            continue
        bad = [col for col in columns if parsed[col][1].at[rownum]]
        values = {col: parsed[col][0].at[rownum] for col in columns}
        out_of_range = [c for c, v in values.items() if not np.isnan(v) and not 0 <= v <= 100]
        if bad or out_of_range:
            col = (bad or out_of_range)[0]
            what = "is not a number" if bad else f"is {values[col]}, outside [0, 100]"
            rejects.append({"source_id": source_id, "row": int(rownum), "region": str(raw),
                            "reason": f"value for {columns[col][0]} {what}"})
            continue
        out = [
            {"indicator": "households_internet_by_media", "region_code": NATIONAL_CODE, "region_name": NATIONAL_NAME,
             "level": "national", "year": columns[c][0], "breakdown": media, "value": v, "unit": unit,
             "source_id": source_id, "province_layout": "", "note": ""}
            for c, v in values.items() if not np.isnan(v)
        ]
        if not out:
            rejects.append({"source_id": source_id, "row": int(rownum), "region": str(raw),
                            "reason": "no value in any column"})
            continue
        seen[media] = int(rownum)
        rows.extend(out)
        used += 1
    return SourceResult(source_id, rows, rejects, len(df), used)


def kota_key(name: object) -> str:
    """'Kota Adm. Jakarta Selatan' / 'JAKARTA SELATAN' / 'Kab. Adm. Kep. Seribu' -> 'JAKARTA SELATAN' / 'KEPULAUAN SERIBU'."""
    key = region_key(name)
    key = re.sub(r"^(KOTA|KABUPATEN|KAB)( (ADMINISTRASI|ADM))? ", "", key)
    return key


def kota_lookup(register: pd.DataFrame | None) -> tuple[dict[str, tuple[str, str]], str]:
    """kota_key -> (Kemendagri kab/kota code, display name), from ``wilayah_register`` when given."""
    if register is None or "kode_kab_kemendagri" not in register.columns:
        return dict(DKI_KOTA), "built-in list of DKI's six Kemendagri kab/kota codes"
    lookup = {}
    name_cols = [c for c in ("kab_kota_short", "kab_kota") if c in register.columns]
    for _, r in register.drop_duplicates("kode_kab_kemendagri").iterrows():
        keys = [kota_key(r[c]) for c in name_cols if isinstance(r[c], str) and r[c].strip()]
        if not keys:
            continue
        short = r.get("kab_kota_short")
        display = short if isinstance(short, str) and short.strip() else DKI_KOTA.get(keys[0], (None, keys[0].title()))[1]
        for key in keys:
            lookup[key] = (str(r["kode_kab_kemendagri"]), display)
    return lookup, "wilayah_register"


def parse_expenditure_kota(path_or_bytes, register: pd.DataFrame | None = None,
                           matcher: ProvinceMatcher | None = None,
                           source_id: str = "dki_expenditure_kota_2023_2024") -> SourceResult:
    """Per-capita expenditure by DKI kab/kota (columns ``pengeluaran_<year>_rp``) + the DKI average row."""
    df = readers.read_table(path_or_bytes, expected_columns=["kabupaten_kota"], source=source_id)
    years = {c: int(m.group(1)) for c in df.columns if (m := re.fullmatch(r"pengeluaran_(\d{4})_rp", str(c)))}
    if not years:
        raise InputError("missing_columns", "no column named pengeluaran_<year>_rp", source_id)
    matcher = matcher or ProvinceMatcher()
    lookup, _ = kota_lookup(register)
    unit = INDICATORS["per_capita_expenditure"]["unit"]
    parsed = {col: readers.to_numbers(df[col]) for col in years}
    rows, rejects, seen, used = [], [], {}, 0
    for rownum in df.index:
        raw = df.at[rownum, "kabupaten_kota"]

        def reject(reason, rownum=rownum, raw=raw):
            rejects.append({"source_id": source_id, "row": int(rownum), "region": str(raw), "reason": reason})

        if pd.isna(raw) or not str(raw).strip():
            reject("no region name")
            continue
        key = kota_key(raw)
        if key in lookup:
            code, name = lookup[key]
            level = "kota"
        else:
            prov = matcher.match(re.sub(r"^RATA RATA ", "", region_key(raw)))
            if isinstance(prov, Province) and prov.code == "31":
                code, name, level = prov.code, prov.name, "province"
            else:
                reject(f"unknown DKI kab/kota name {str(raw)!r}")
                continue
        if code in seen:
            reject(f"duplicate region {name!r} (code {code}); first seen in row {seen[code]}")
            continue
        bad = [c for c in years if parsed[c][1].at[rownum]]
        if bad:
            reject(f"value for {years[bad[0]]} is not a number")
            continue
        values = {c: parsed[c][0].at[rownum] for c in years}
        negative = [c for c, v in values.items() if not np.isnan(v) and v <= 0]
        if negative:
            reject(f"value for {years[negative[0]]} is {values[negative[0]]}, not a positive amount")
            continue
        out = [
            {"indicator": "per_capita_expenditure", "region_code": code, "region_name": name, "level": level,
             "year": years[c], "breakdown": "total", "value": v, "unit": unit, "source_id": source_id,
             "province_layout": "", "note": ""}
            for c, v in values.items() if not np.isnan(v)
        ]
        if not out:
            reject("no value in any column")
            continue
        seen[code] = int(rownum)
        rows.extend(out)
        used += 1
    return SourceResult(source_id, rows, rejects, len(df), used)


# --- assembling -----------------------------------------------------------------------------------------------

_LEVEL_ORDER = {"national": 0, "province": 1, "kota": 2}


def assemble(results: list[SourceResult]) -> Table:
    rows = [r for res in results for r in res.rows]
    columns = [f.name for f in FIELDS]
    data = pd.DataFrame(rows, columns=columns)
    if len(data):
        data["_lvl"] = data["level"].map(_LEVEL_ORDER)
        data = data.sort_values(["indicator", "_lvl", "region_code", "year", "breakdown"], kind="mergesort")
        data = data.drop(columns="_lvl").reset_index(drop=True)
    data = data.astype({"year": "int64", "value": "float64"})
    for col in ("indicator", "region_code", "region_name", "level", "breakdown", "unit", "source_id",
                "province_layout", "note"):
        data[col] = data[col].astype("str")
    rejects = pd.DataFrame([r for res in results for r in res.rejects],
                           columns=["source_id", "row", "region", "reason"])
    return Table(
        name="bps_indicators",
        title="BPS indicators: internet access, ICT skills, access media, per-capita expenditure",
        description=(
            "Tidy long table of BPS web-table exports (Susenas): households that accessed the internet by "
            "province and urban/rural (2022), ICT skills of persons aged 15-59 by province (2015-2021), "
            "internet households by access device (national, 2015-2021, no 2018), and DKI per-capita "
            "expenditure by kota (2023-2024). Province codes are BPS codes ('00' = Indonesia); kota codes are "
            "Kemendagri codes."
        ),
        data=data,
        fields=FIELDS,
        sources=[res.source_id for res in results],
        rows_in=sum(res.rows_in for res in results),
        rows_used=sum(res.rows_used for res in results),
        rejects=rejects,
    )


def build(ctx) -> list[Table]:
    matcher = ProvinceMatcher()
    register_table = ctx.tables.get("wilayah_register")
    register = register_table.data if register_table is not None else None
    parsers = [
        ("bps_internet_households_2022", lambda p: parse_internet_households(p, matcher)),
        ("bps_ict_skills_2015_2021", lambda p: parse_ict_skills(p, matcher)),
        ("bps_internet_media_2015_2021", lambda p: parse_internet_media(p)),
        ("dki_expenditure_kota_2023_2024", lambda p: parse_expenditure_kota(p, register, matcher)),
    ]
    results = []
    for source_id, parse in parsers:
        if source_id not in ctx.manifest or not ctx.available(source_id):
            ctx.note(STAGE, f"{source_id} is missing: its indicators are left out of bps_indicators")
            continue
        results.append(parse(ctx.path(source_id)))
        if source_id == "dki_expenditure_kota_2023_2024":
            _, how = kota_lookup(register)
            ctx.note(STAGE, f"kota codes for {source_id} from the {how}")
    if not results:
        ctx.note(STAGE, "no BPS source available: bps_indicators not built", "warning")
        return []
    return [assemble(results)]
