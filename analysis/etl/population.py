"""Population 2024 (Satu Data Jakarta) and the register indicators of digital-exclusion risk: table
``register_indicators``.

Stage ``analysis.etl.population``, after ``registers`` and ``covariates``. Input: source
``satudata_population_2024`` (267 rows, 2024: ``year, city, district, subdistrict, population,
population_density_per_km2``; kecamatan and kelurahan in UPPER case, **names only, no codes**). Each row's
kelurahan name is matched to a Kemendagri code with the project's :class:`analysis.etl.names.KelurahanMatcher`,
with its kecamatan and kota as hints. A row whose name matches no kelurahan, or several, is a reject with the
matcher's reason and candidates; so is a second row matched to a kelurahan already taken. On the mirror all
267 rows match exactly (total 11,038,216 residents).

The output has one row per kelurahan of ``wilayah_register`` (267): the 2024 population joined with the
Dukcapil register of 30 June 2019 (``kelurahan_covariates``). Every indicator is a **fact from a register**, not
an estimate (no confidence interval), labelled ``register (Dukcapil 2019 / Satu Data Jakarta 2024)``:

- ``share_low_education_15plus``: residents aged 15+ with no schooling or primary school at most. Universe:
  residents aged 15+, because Dukcapil's education counts include young children under "tidak/belum sekolah"
  and "belum tamat SD"; the residents aged 0-14 are removed from the lowest categories in order exactly as in
  ``kelurahan_covariates`` (``share_adult_no_diploma + share_adult_sd``);
- ``share_60plus``: residents aged 60+ among all residents (Dukcapil 2019);
- ``share_low_connectivity_occupation``: adults 15+ in Dukcapil's broad occupation groups pertanian (farming),
  nelayan (fishing), pensiunan (pensioners) and lainnya (other: about 98% homemakers, "mengurus rumah tangga",
  in the detailed list). Why these: farming and fishing are manual primary-sector jobs with the lowest
  internet use in BPS's ICT statistics; pensioners are almost all aged 55+, the group whose use falls fastest
  with age; homemakers are outside the workplaces and schools through which adults get online, and DKI's women
  use the internet less than its men (70.74% vs 76.17%, Susenas March 2019). Not chosen: "belum/tidak
  bekerja" (mixes jobless young adults, heavy users, with the non-working old), "wiraswasta" (Dukcapil's
  group for all private employees, traders and labourers: too broad) and the ~90 detailed columns (they do not
  sum to the population);
- ``density_2024``: the file's population_density_per_km2 (Satu Data Jakarta 2024);
- ``mean_household_size``: residents per family card (Dukcapil 2019, population / KK);
- ``population_change_2019_2024``: population_2024 / population_2019 - 1 (Satu Data 2024 over Dukcapil's
  register of 30 June 2019; both count residents of record).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from analysis.errors import InputError
from analysis.etl import readers
from analysis.etl.names import KelurahanMatcher
from analysis.tables import Field, Table

STAGE = "analysis.etl.population"
SOURCE_ID = "satudata_population_2024"
LABEL = "register (Dukcapil 2019 / Satu Data Jakarta 2024)"
COLUMNS = ["year", "city", "district", "subdistrict", "population", "population_density_per_km2"]
LOW_CONNECTIVITY_OCCUPATIONS = ["agriculture", "fishing", "retired", "other"]  # share_occ_* of kelurahan_covariates

FIELDS = [
    Field("kode_kemendagri", "Dotted Kemendagri kelurahan code (wilayah_register)"),
    Field("kelurahan", "Kelurahan name (wilayah_register)"),
    Field("kecamatan", "Kecamatan name (wilayah_register)"),
    Field("kode_kab_kemendagri", "Kemendagri kab/kota code (wilayah_register)"),
    Field("kab_kota", "Kab/kota short name (wilayah_register)"),
    Field("population_2024", "Residents in 2024 (Satu Data Jakarta; row matched by kecamatan + kelurahan name)",
          "integer", "persons"),
    Field("density_2024", "population_density_per_km2 as published by Satu Data Jakarta, 2024", "number",
          "persons per km2"),
    Field("population_2019", "Residents of record on 30 June 2019 (Dukcapil, JUMLAH_PEN)", "integer", "persons"),
    Field("population_change_2019_2024", "population_2024 / population_2019 - 1 (Satu Data 2024 over Dukcapil "
          "30 June 2019)", "number", "proportion"),
    Field("share_low_education_15plus", "Residents aged 15+ with no schooling or primary school at most "
          "(tidak/belum sekolah + belum tamat SD + tamat SD, after removing the residents aged 0-14 from the lowest "
          "categories in order) / residents aged 15+. Universe: residents aged 15+ (Dukcapil 2019)", "number",
          "proportion"),
    Field("share_60plus", "Residents aged 60+ / all residents (Dukcapil 2019, U60 + U65 + U70 + U75)", "number",
          "proportion"),
    Field("share_low_connectivity_occupation", "Adults 15+ in the Dukcapil broad occupation groups PERTANIAN "
          "(farming), NELAYAN (fishing), PENSIUNAN (pensioners) and LAINNYA (other, about 98% homemakers 'mengurus "
          "rumah tangga'): manual primary-sector work, old age and work at home, the groups least reached by "
          "workplace and school connectivity. Not included: BELUM_TIDA (mixes young jobless users with the old), "
          "WIRASWASTA (all private employees, too broad). Universe: residents aged 15+ (Dukcapil 2019)", "number",
          "proportion"),
    Field("mean_household_size", "Residents per family card (Dukcapil 2019, JUMLAH_PEN / JUMLAH_KK)", "number",
          "persons"),
    Field("match_method", "How the 2024 row's name was matched (exact, normalised, fuzzy); empty when no row"),
    Field("label", "Provenance label shown with every value: facts from registers, not estimates"),
]


def read_population(path: Path | str | bytes) -> pd.DataFrame:
    return readers.read_table(path, expected_columns=COLUMNS, source=SOURCE_ID)


def match_population(raw: pd.DataFrame, register: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Match the rows to Kemendagri codes: (matched rows with ``kode_kemendagri``, rejects with reasons)."""
    missing = [c for c in COLUMNS if c not in raw.columns]
    if missing:
        raise InputError("missing_columns", f"population file lacks columns {missing}", SOURCE_ID)
    df = raw.reset_index(drop=False)
    if "row" not in df.columns:
        df["row"] = np.arange(1, len(df) + 1)
    matcher = KelurahanMatcher(register)
    res = matcher.match(df["subdistrict"], kecamatan=df["district"].tolist(), kota=df["city"].tolist())
    pop = pd.to_numeric(df["population"], errors="coerce")
    dens = pd.to_numeric(df["population_density_per_km2"], errors="coerce")
    rejects, keep = [], []
    seen: dict[str, int] = {}
    for i in range(len(df)):
        r = res.iloc[i]
        row = int(df["row"].iat[i])
        base = {"row": row, "kecamatan": str(df["district"].iat[i]), "kelurahan": str(df["subdistrict"].iat[i]),
                "candidates": "" if pd.isna(r["candidates"]) else str(r["candidates"])}
        if r["status"] != "matched":
            rejects.append(base | {"reason": f"name {r['status']}: {r['reason']}"})
            continue
        code = str(r["kode_kemendagri"])
        if code in seen:
            rejects.append(base | {"reason": f"kelurahan {code} already matched by row {seen[code]}"})
            continue
        if pd.isna(pop.iat[i]) or pop.iat[i] <= 0:
            rejects.append(base | {"reason": "population is missing or not positive"})
            continue
        seen[code] = row
        keep.append({"kode_kemendagri": code, "population_2024": int(pop.iat[i]),
                     "density_2024": float(dens.iat[i]) if pd.notna(dens.iat[i]) else np.nan,
                     "match_method": str(r["method"])})
    matched = pd.DataFrame(keep, columns=["kode_kemendagri", "population_2024", "density_2024", "match_method"])
    rej = pd.DataFrame(rejects, columns=["row", "kecamatan", "kelurahan", "candidates", "reason"])
    return matched, rej


def indicators_frame(register: pd.DataFrame, matched: pd.DataFrame, covariates: pd.DataFrame | None) -> pd.DataFrame:
    """One row per register kelurahan with the 2024 population and the 2019 register indicators."""
    out = register[["kode_kemendagri", "kelurahan", "kecamatan", "kode_kab_kemendagri"]].copy()
    short = register["kab_kota_short"] if "kab_kota_short" in register.columns else register["kab_kota"]
    out["kab_kota"] = short.astype(str).to_numpy()
    out = out.merge(matched, on="kode_kemendagri", how="left")
    if covariates is not None and len(covariates):
        cov = covariates.set_index("kode_kemendagri")
        codes = out["kode_kemendagri"]
        out["population_2019"] = codes.map(cov["population"]).astype("Int64")
        low_edu = cov["share_adult_no_diploma"] + cov["share_adult_sd"]
        out["share_low_education_15plus"] = codes.map(low_edu).astype("float64")
        out["share_60plus"] = codes.map(cov["share_60plus"]).astype("float64")
        occ = sum(cov[f"share_occ_{g}"] for g in LOW_CONNECTIVITY_OCCUPATIONS)
        out["share_low_connectivity_occupation"] = codes.map(occ).astype("float64")
        out["mean_household_size"] = codes.map(cov["mean_household_size"]).astype("float64")
    else:
        out["population_2019"] = pd.array([pd.NA] * len(out), dtype="Int64")
        for c in ("share_low_education_15plus", "share_60plus", "share_low_connectivity_occupation",
                  "mean_household_size"):
            out[c] = np.nan
    out["population_2024"] = out["population_2024"].astype("Int64")
    out["population_change_2019_2024"] = (
        out["population_2024"].astype("float64") / out["population_2019"].astype("float64") - 1.0
    )
    out["match_method"] = out["match_method"].fillna("").astype(str)
    out["label"] = LABEL
    out = out[[f.name for f in FIELDS]].sort_values("kode_kemendagri", kind="mergesort").reset_index(drop=True)
    for c in ("kode_kemendagri", "kelurahan", "kecamatan", "kode_kab_kemendagri", "kab_kota", "label"):
        out[c] = out[c].astype(str)
    return out


def build(ctx) -> list[Table]:
    register_t = ctx.tables.get("wilayah_register")
    if register_t is None:
        ctx.note(STAGE, "wilayah_register absent: no register_indicators", "warning")
        return []
    register = register_t.data
    cov_t = ctx.tables.get("kelurahan_covariates")
    covariates = cov_t.data if cov_t is not None else None
    sources = []
    if SOURCE_ID in ctx.manifest and ctx.available(SOURCE_ID):
        raw = read_population(ctx.path(SOURCE_ID))
        matched, rejects = match_population(raw, register)
        rows_in = len(raw)
        sources.append(SOURCE_ID)
        total = int(matched["population_2024"].sum())
        ctx.note(STAGE, f"population 2024: {len(matched)} of {rows_in} rows matched to a kelurahan "
                        f"({len(rejects)} rejected); total {total:,} residents")
    else:
        ctx.note(STAGE, f"{SOURCE_ID} is missing: register_indicators without the 2024 population", "warning")
        matched = pd.DataFrame(columns=["kode_kemendagri", "population_2024", "density_2024", "match_method"])
        rejects = pd.DataFrame(columns=["row", "kecamatan", "kelurahan", "candidates", "reason"])
        rows_in = 0
    if covariates is None and not sources:
        return []
    if covariates is not None:
        sources.append("dukcapil_2019")
    data = indicators_frame(register, matched, covariates)
    return [
        Table(
            name="register_indicators",
            title="Register indicators of digital-exclusion risk per kelurahan (Dukcapil 2019 / Satu Data Jakarta 2024)",
            description=(
                "One row per kelurahan: population 2024 (Satu Data Jakarta, matched by name), density 2024, and "
                "from the Dukcapil register of 30 June 2019 the share of adults 15+ with primary school at most, "
                "the share aged 60+, the share of adults in low-connectivity occupations, household size and the "
                "change in population 2019-2024. Facts from registers, not estimates: no confidence interval."
            ),
            data=data,
            fields=FIELDS,
            sources=sources + [register_t.sources[0]] if register_t.sources else sources,
            rows_in=rows_in,
            rows_used=len(matched),
            rejects=rejects,
        )
    ]
