"""Podes (Potensi Desa) for DKI's kab/kota and provinces, and the official kota context: tables ``kota_context``
and ``podes2021_province``.

Stage ``analysis.etl.podes``, after ``registers``, ``published`` and ``population``.

**Podes 2024 per kab/kota** (source ``podes2024_dki_kabkota``: the header and the 6 DKI rows of a national
514-row file, BPS Statistik Potensi Desa Indonesia 2024). Counts of kelurahan per kab/kota: ``desa_kelurahan``,
``bts_ada`` (with a BTS tower), ``internet_5g_4g_lte``, ``sinyal_sangat_kuat`` and ``sinyal_kuat``. **Trap:** the
file's ``boundary_code_kab`` is a *Kemendagri* code (3174 = Jakarta Selatan = Kemendagri 31.74; BPS numbers
Jakarta Selatan 3171), so a row is joined on the Kemendagri code ``31.74`` to ``kabkota_register``, never by a
BPS prefix; the row's name must agree with the register's name for that code, else it is a reject. A row for a
kab/kota outside DKI (``boundary_code_prov`` not 31) is ignored and counted (a reject with the reason
"outside DKI Jakarta", so the build report counts it).

**Context from published figures** (``published_figures``, each with its citation): BPS kab/kota poverty rates,
March 2023 and March 2024, and JakWifi locations per kota (March 2022). Joined by the kota's short name.

**Podes 2021 by province** (source ``podes2021_province``): BPS web tables with a title row and **two header
rows** (the column label, then the year) before one row per province; ``-`` means none / not applicable (DKI
has no rural kelurahan). Table 12 (desa/kelurahan per province 2024) has a single header row. The long table
``podes2021_province`` has one row per (table, province, column).
"""

from __future__ import annotations

import csv
import io
from pathlib import Path

import numpy as np
import pandas as pd

from analysis.errors import InputError
from analysis.etl import readers
from analysis.etl.names import key_of
from analysis.tables import Field, Table

STAGE = "analysis.etl.podes"
PODES2024_ID = "podes2024_dki_kabkota"
PODES2021_ID = "podes2021_province"
PROVINCE = "31"
PODES2024_COUNTS = {
    "desa_kelurahan": "podes2024_kelurahan",
    "bts_ada": "podes2024_with_bts",
    "internet_5g_4g_lte": "podes2024_with_4g_5g",
}
SIGNAL = ["sinyal_sangat_kuat", "sinyal_kuat"]
PODES2024_REQUIRED = ["boundary_code_prov", "kabupaten_kota", "boundary_code_kab", *PODES2024_COUNTS, *SIGNAL]
KOTA_WORDS = {"kota", "kabupaten", "kab", "administrasi", "adm"}

KOTA_FIELDS = [
    Field("kode_kab_kemendagri", "Kemendagri kab/kota code (31.71 = Jakarta Pusat); Podes 2024's boundary_code_kab "
          "3174 is Kemendagri 31.74"),
    Field("kode_kab_bps", "BPS kab/kota code from the crosswalk (BPS 3171 = Jakarta Selatan)"),
    Field("kab_kota", "Kab/kota short name (kabkota_register)"),
    Field("population_2024", "Residents 2024, sum of register_indicators.population_2024 (Satu Data Jakarta)",
          "integer", "persons"),
    Field("podes2024_kelurahan", "Kelurahan in the kab/kota (Podes 2024, desa_kelurahan)", "integer", "kelurahan"),
    Field("podes2024_with_bts", "Kelurahan with a BTS tower (Podes 2024, bts_ada)", "integer", "kelurahan"),
    Field("podes2024_with_4g_5g", "Kelurahan with 4G/LTE or 5G signal (Podes 2024, internet_5g_4g_lte)", "integer",
          "kelurahan"),
    Field("podes2024_strong_signal", "Kelurahan with a strong or very strong phone signal (Podes 2024, "
          "sinyal_sangat_kuat + sinyal_kuat)", "integer", "kelurahan"),
    Field("poverty_rate_2023", "Poverty rate, March 2023 (BPS, Susenas; published_figures)", "number", "% of persons"),
    Field("poverty_rate_2024", "Poverty rate, March 2024 (BPS, Susenas; published_figures)", "number", "% of persons"),
    Field("jakwifi_locations_2022", "JakWifi public wifi locations, March 2022 (Diskominfotik via beritajakarta.id; "
          "published_figures)", "integer", "locations"),
    Field("sources", "Where each group of columns comes from"),
]
PODES2021_FIELDS = [
    Field("table_no", "Number of the BPS web table (file prefix 06-12)"),
    Field("title", "Title of the BPS table"),
    Field("province", "Province as spelled in the table"),
    Field("column", "Column label (first header row), e.g. Perkotaan, Ada Sinyal Kuat"),
    Field("year", "Year (second header row)", "integer"),
    Field("value", "Desa/kelurahan count; NA where the table prints '-' (none or not applicable)", "number",
          "desa/kelurahan"),
]
SOURCES_TEXT = ("Podes 2024: BPS, Statistik Potensi Desa Indonesia 2024; poverty: BPS Susenas March 2023/2024 "
                "(see published_figures for each citation); JakWifi: Diskominfotik DKI, 'Potret Jakarta', "
                "beritajakarta.id 30 March 2022; population: Satu Data Jakarta 2024")


def _kota_key(name: str) -> str:
    from analysis.etl.names import tokens_of

    return key_of([t for t in tokens_of(name) if t not in KOTA_WORDS])


def kemendagri_kab(code: str) -> str:
    """``"3174"`` -> ``"31.74"`` (the Podes 2024 file's codes are Kemendagri's, written without the dot)."""
    code = str(code).strip()
    if len(code) != 4 or not code.isdigit():
        raise ValueError(code)
    return f"{code[:2]}.{code[2:]}"


def parse_podes2024(raw: pd.DataFrame, kabkota: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(one row per DKI kab/kota with the Podes counts, rejects): join on the Kemendagri code."""
    missing = [c for c in PODES2024_REQUIRED if c not in raw.columns]
    if missing:
        raise InputError("missing_columns", f"Podes 2024 file lacks columns {missing}", PODES2024_ID)
    reg = kabkota.set_index("kode_kab_kemendagri")
    rows, rejects, seen = [], [], set()
    for n, (idx, r) in enumerate(raw.iterrows()):
        row_no = int(idx) if isinstance(idx, (int, np.integer)) else n + 1
        base = {"row": row_no, "kabupaten_kota": str(r["kabupaten_kota"]), "boundary_code_kab": str(r["boundary_code_kab"])}
        if str(r["boundary_code_prov"]).strip() != PROVINCE:
            rejects.append(base | {"reason": "outside DKI Jakarta: ignored"})
            continue
        try:
            code = kemendagri_kab(r["boundary_code_kab"])
        except ValueError:
            rejects.append(base | {"reason": "boundary_code_kab is not a 4-digit Kemendagri code"})
            continue
        dotted = str(r.get("boundary_code_kab_dot", "") or "").strip()
        if dotted and dotted not in ("nan", "<NA>") and dotted != code:
            rejects.append(base | {"reason": f"boundary_code_kab_dot {dotted} disagrees with {code}"})
            continue
        if code not in reg.index:
            rejects.append(base | {"reason": f"Kemendagri code {code} is not a DKI kab/kota"})
            continue
        if _kota_key(r["kabupaten_kota"]) != _kota_key(reg.at[code, "kab_kota_short"]):
            rejects.append(base | {"reason": f"name disagrees with the register's {reg.at[code, 'kab_kota_short']!r} "
                                             f"for Kemendagri {code}"})
            continue
        if code in seen:
            rejects.append(base | {"reason": f"second row for {code}"})
            continue
        counts = pd.to_numeric(pd.Series([r[c] for c in [*PODES2024_COUNTS, *SIGNAL]]), errors="coerce")
        if counts.isna().any() or (counts < 0).any():
            rejects.append(base | {"reason": "missing or negative count"})
            continue
        seen.add(code)
        out = {"kode_kab_kemendagri": code}
        for src, dst in PODES2024_COUNTS.items():
            out[dst] = int(float(r[src]))
        out["podes2024_strong_signal"] = int(sum(float(r[c]) for c in SIGNAL))
        rows.append(out)
    cols = ["kode_kab_kemendagri", *PODES2024_COUNTS.values(), "podes2024_strong_signal"]
    return (pd.DataFrame(rows, columns=cols),
            pd.DataFrame(rejects, columns=["row", "kabupaten_kota", "boundary_code_kab", "reason"]))


def _published_by_kota(published: pd.DataFrame | None, indicator: str, year: int) -> dict[str, float]:
    if published is None or published.empty:
        return {}
    rows = published[(published["indicator"] == indicator) & (published["year"] == year)]
    if "group_dim" in rows:
        rows = rows[rows["group_dim"] == "all"]
    return {_kota_key(r): float(v) for r, v in zip(rows["region"], rows["value"])}


def kota_context_frame(kabkota: pd.DataFrame, podes: pd.DataFrame, published: pd.DataFrame | None,
                       indicators: pd.DataFrame | None) -> pd.DataFrame:
    out = kabkota[["kode_kab_kemendagri", "kode_kab_bps", "kab_kota_short"]].rename(columns={"kab_kota_short": "kab_kota"})
    out = out.astype(str)
    if indicators is not None and "population_2024" in indicators:
        pop = indicators.groupby("kode_kab_kemendagri")["population_2024"].sum(min_count=1)
        out["population_2024"] = out["kode_kab_kemendagri"].map(pop).astype("Int64")
    else:
        out["population_2024"] = pd.array([pd.NA] * len(out), dtype="Int64")
    out = out.merge(podes, on="kode_kab_kemendagri", how="left")
    for c in [*PODES2024_COUNTS.values(), "podes2024_strong_signal"]:
        out[c] = out[c].astype("Int64")
    keys = out["kab_kota"].map(_kota_key)
    out["poverty_rate_2023"] = keys.map(_published_by_kota(published, "poverty_rate", 2023)).astype("float64")
    out["poverty_rate_2024"] = keys.map(_published_by_kota(published, "poverty_rate", 2024)).astype("float64")
    out["jakwifi_locations_2022"] = keys.map(_published_by_kota(published, "public_wifi_points", 2022)).astype("Int64")
    out["sources"] = SOURCES_TEXT
    return out[[f.name for f in KOTA_FIELDS]].sort_values("kode_kab_kemendagri", kind="mergesort").reset_index(drop=True)


def parse_podes2021(path: Path | str) -> tuple[pd.DataFrame, int]:
    """One BPS Podes web table (title row, two header rows, one row per province) in long form; rows read."""
    path = Path(path)
    text, _ = readers.decode_text(path.read_bytes(), path.name)
    lines = [r for r in csv.reader(io.StringIO(text)) if any(c.strip() for c in r)]
    table_no = path.name[:2]
    if len(lines) < 3:
        raise InputError("header_only", "no data rows", path.name)
    if lines[0] and lines[0][0].strip().lower().startswith("provinsi"):  # table 12: one header row
        title, labels, years, body = path.stem[3:], lines[0][1:], [path.stem[-4:]] * (len(lines[0]) - 1), lines[1:]
    else:
        title = next((c for c in lines[1] if c.strip()), path.stem[3:])
        labels, years, body = lines[2][1:], lines[3][1:], lines[4:]
    rows = []
    for r in body:
        province = r[0].strip()
        for label, year, cell in zip(labels, years, r[1:]):
            value = np.nan if readers.is_missing(cell) else float(readers.parse_number(cell))
            rows.append({"table_no": table_no, "title": title.strip(), "province": province, "column": label.strip(),
                         "year": int(float(year)), "value": value})
    return pd.DataFrame(rows, columns=[f.name for f in PODES2021_FIELDS]), len(body)


def build(ctx) -> list[Table]:
    tables = []
    kab_t = ctx.tables.get("kabkota_register")
    if kab_t is not None and PODES2024_ID in ctx.manifest and ctx.available(PODES2024_ID):
        raw = readers.read_table(ctx.path(PODES2024_ID), text_columns=["boundary_code_prov", "boundary_code_kab",
                                                                       "boundary_code_kab_dot"], source=PODES2024_ID)
        podes, rejects = parse_podes2024(raw, kab_t.data)
        ignored = int(rejects["reason"].str.startswith("outside DKI").sum())
        ctx.note(STAGE, f"Podes 2024: {len(podes)} DKI kab/kota rows joined on the Kemendagri code; "
                        f"{ignored} rows outside DKI ignored, {len(rejects) - ignored} rejected")
        pub = ctx.tables.get("published_figures")
        ind = ctx.tables.get("register_indicators")
        data = kota_context_frame(kab_t.data, podes, pub.data if pub is not None else None,
                                  ind.data if ind is not None else None)
        srcs = [PODES2024_ID, "published_figures"] + (list(ind.sources[:1]) if ind is not None else [])
        tables.append(Table(
            name="kota_context",
            title="Official context per kab/kota: Podes 2024 connectivity, poverty 2023-2024, JakWifi 2022",
            description=(
                "One row per kab/kota of DKI Jakarta: kelurahan with a BTS tower, with 4G/5G and with a strong "
                "signal (BPS Podes 2024, joined on the Kemendagri code), BPS poverty rates March 2023 and 2024 and "
                "JakWifi locations March 2022 (typed published figures, each with its citation). Real data."
            ),
            data=data, fields=KOTA_FIELDS, sources=srcs, rows_in=len(raw), rows_used=len(podes), rejects=rejects,
        ))
    else:
        ctx.note(STAGE, f"{PODES2024_ID} or kabkota_register missing: no kota_context", "warning")
    if PODES2021_ID in ctx.manifest and ctx.available(PODES2021_ID):
        frames, n_in = [], 0
        for i in range(len(ctx.manifest[PODES2021_ID].files)):
            df, n = parse_podes2021(ctx.path(PODES2021_ID, i))
            frames.append(df)
            n_in += n
        data = pd.concat(frames, ignore_index=True)
        data["value"] = data["value"].astype("float64")
        data["year"] = data["year"].astype("int64")
        tables.append(Table(
            name="podes2021_province",
            title="Podes 2021 by province: internet at the kantor desa/lurah, BTS towers, signal (BPS web tables)",
            description=("BPS Podes 2021 web tables in long form (one row per table, province and column) and the "
                         "count of desa/kelurahan per province 2024. DKI Jakarta: internet at the kantor lurah 267 of "
                         "267, a BTS in 244, strong signal in 266."),
            data=data, fields=PODES2021_FIELDS, sources=[PODES2021_ID], rows_in=n_in, rows_used=n_in,
        ))
    return tables
