"""Kelurahan covariates from the Dukcapil register (30 June 2019): table ``kelurahan_covariates``.

Stage ``analysis.etl.covariates``. Input: source ``dukcapil_2019``, the attribute table (DBF) of Dukcapil's
"Batas Desa" layer for DKI, read with ``pyogrio.read_dataframe(..., read_geometry=False)``. One output row
per kelurahan (267); these covariates feed the small-area models (Fay-Herriot area-level covariates, Rao &
Molina 2015, ch. 6), so every column is a rate or a count with its formula in its description.

What the register is: counts of residents *by domicile of record* (KTP/KK), not a survey; it is larger than
BPS's projection (11.0 M vs ~10.6 M for 2019). Education is the attainment recorded on the family card.

**Adult education (assumption, documented).** The register puts children under "tidak/belum sekolah" (not yet
in school) and "belum tamat SD" (in primary school), so shares over all residents mostly measure the share of
children. Adult shares use the population aged 15+ (the BPS working-age and ICT-indicator threshold, and the
survey's youngest adult age group 15-24). The residents aged 0-14 (``U0+U5+U10``) are removed from the lowest
categories *in order*: first from TIDAK_BELU, then BELUM_TAMA, then TAMAT_SD (13-14-year-olds have finished
primary school), then SLTP. Why 0-14 and not 0-19: on the 2019 file, removing 0-14 never reaches SLTP and
reaches TAMAT_SD in only 11 of 267 kelurahan, i.e. the two lowest categories hold about as many people as the
children (median ratio 1.06); removing 0-19 would eat into SD in all 267 and into SLTP in 48, because
15-19-year-olds are recorded with the level they attained (SD/SMP) rather than as "no school". The adults'
"no diploma" share therefore counts adults who never finished primary school, and it is a lower bound where
children were counted in TAMAT_SD (``edu_children_in_sd`` says how many).

The survey's five levels: no_diploma = tidak/belum sekolah + belum tamat SD; sd = tamat SD; smp = SLTP;
sma = SLTA; tertiary = D1/D2 + D3/akademi + D4/S1 + S2 + S3.

**Occupation (same logic).** The 11 broad Dukcapil groups partition all residents, children included (as
"belum/tidak bekerja" and "pelajar/mahasiswa"). Shares are per resident aged 15+: children 0-4 are removed
from BELUM_TIDA (then PELAJAR_MA), children 5-14 from PELAJAR_MA (then BELUM_TIDA). Dukcapil's broad
"wiraswasta" group is wider than self-employment: it holds the private employees (karyawan swasta), traders
and labourers of the detailed list. "Lainnya" holds homemakers (mengurus rumah tangga). The ~90 detailed
occupation columns do not sum to the population and are not used.

Checks (a failing row goes to rejects with the reason; rows in = rows used + rows rejected): the two lake
polygons (code 31888888, "DANAU SUNTER") are not kelurahan; the code must be 10 digits and, when the
registers stage ran, a kelurahan of ``wilayah_register``; codes must be unique; population, households and
area must be positive; sex (2), age (16), education (10) and broad occupation (11) groups must each sum
exactly to JUMLAH_PEN (SOURCES.md: they do for all 267).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from analysis.errors import InputError
from analysis.tables import Field, Table

STAGE = "analysis.etl.covariates"
SOURCE_ID = "dukcapil_2019"
LAKE_CODE = "31888888"

SEX = ["PRIA", "WANITA"]
AGE = ["U0", "U5", "U10", "U15", "U20", "U25", "U30", "U35", "U40", "U45", "U50", "U55", "U60", "U65", "U70", "U75"]
CHILD_AGE = ["U0", "U5", "U10"]  # 0-14
AGE_60PLUS = ["U60", "U65", "U70", "U75"]
AGE_65PLUS = ["U65", "U70", "U75"]
EDUCATION = ["TIDAK_BELU", "BELUM_TAMA", "TAMAT_SD", "SLTP", "SLTA", "DIPLOMA_I", "DIPLOMA_II", "DIPLOMA_IV",
             "STRATA_II", "STRATA_III"]
EDUCATION_LEVELS = {
    "no_diploma": ["TIDAK_BELU", "BELUM_TAMA"],
    "sd": ["TAMAT_SD"],
    "smp": ["SLTP"],
    "sma": ["SLTA"],
    "tertiary": ["DIPLOMA_I", "DIPLOMA_II", "DIPLOMA_IV", "STRATA_II", "STRATA_III"],
}
CHILD_REMOVAL_EDUCATION = ["TIDAK_BELU", "BELUM_TAMA", "TAMAT_SD", "SLTP"]
OCCUPATION = {
    "BELUM_TIDA": ("not_working", "belum/tidak bekerja (not or not yet working)"),
    "APARATUR_P": ("government", "aparatur/pejabat negara (civil servants, officials, military, police)"),
    "TENAGA_PEN": ("teaching", "tenaga pengajar (teachers, lecturers)"),
    "WIRASWASTA": ("private_sector", "wiraswasta: Dukcapil's group for private employees, traders, labourers "
                   "and the self-employed"),
    "PERTANIAN": ("agriculture", "pertanian/peternakan (farming, livestock)"),
    "NELAYAN": ("fishing", "nelayan/perikanan (fishing)"),
    "AGAMA_DAN": ("religious", "agama dan kepercayaan (religious occupations)"),
    "PELAJAR_MA": ("student", "pelajar/mahasiswa (pupils and students)"),
    "TENAGA_KES": ("health", "tenaga kesehatan (health workers)"),
    "PENSIUNAN": ("retired", "pensiunan (pensioners)"),
    "LAINNYA": ("other", "lainnya (other, incl. homemakers 'mengurus rumah tangga')"),
}
TOTALS = ["JUMLAH_PEN", "JUMLAH_KK", "LUAS_WILAY", "WAJIB_KTP"]
REQUIRED = ["KODE_DESA", "DESA"] + TOTALS + SEX + AGE + EDUCATION + list(OCCUPATION)
PARTITIONS = {"sex": SEX, "age": AGE, "education": EDUCATION, "occupation": list(OCCUPATION)}


def _fields() -> list[Field]:
    f = [
        Field("kode_kemendagri", "Dotted Kemendagri kelurahan code, from KODE_DESA (3173031006 -> 31.73.03.1006)"),
        Field("kelurahan", "Kelurahan name as spelled in the Dukcapil register (DESA)"),
        Field("population", "Residents of record on 30 June 2019 (JUMLAH_PEN)", "integer", "persons"),
        Field("households", "Family cards (kartu keluarga, JUMLAH_KK): Dukcapil's household count", "integer",
              "family cards"),
        Field("area_km2", "Area in km2 (LUAS_WILAY, rounded to 0.01 km2 by Dukcapil)", "number", "km2"),
        Field("density", "population / area_km2", "number", "persons per km2"),
        Field("mean_household_size", "population / households (persons per family card)", "number", "persons"),
        Field("share_female", "WANITA / population", "number"),
        Field("share_0_14", "(U0 + U5 + U10) / population", "number"),
        Field("share_15_24", "(U15 + U20) / population", "number"),
        Field("share_60plus", "(U60 + U65 + U70 + U75) / population", "number"),
        Field("dependency_ratio", "(population aged 0-14 + aged 65+) / population aged 15-64", "number"),
        Field("adults_15plus", "population - (U0 + U5 + U10): residents aged 15+, the denominator of every "
              "share_adult_* and share_occ_* column", "integer", "persons"),
    ]
    for level, cols in EDUCATION_LEVELS.items():
        f.append(Field(
            f"share_adult_{level}",
            f"Adults 15+ whose highest level is {level}: ({' + '.join(cols)}, after removing the residents aged "
            "0-14 from TIDAK_BELU, then BELUM_TAMA, then TAMAT_SD, then SLTP) / adults_15plus",
            "number",
        ))
    f.append(Field("edu_children_in_sd", "Residents aged 0-14 that had to be removed from TAMAT_SD or SLTP "
                   "because TIDAK_BELU + BELUM_TAMA held fewer people (0 in most kelurahan); share_adult_no_diploma "
                   "is a lower bound where it is > 0", "integer", "persons"))
    for col, (name, meaning) in OCCUPATION.items():
        extra = ""
        if col == "BELUM_TIDA":
            extra = ", after removing residents aged 0-4 (then any 5-14 not counted as pupils)"
        elif col == "PELAJAR_MA":
            extra = ", after removing residents aged 5-14 (then any 0-4 left over)"
        f.append(Field(f"share_occ_{name}", f"{col} ({meaning}){extra} / adults_15plus", "number"))
    f += [
        Field("share_pelajar", "PELAJAR_MA / population: pupils and students among all residents, children "
              "included", "number"),
        Field("share_wajib_ktp", "WAJIB_KTP / population: residents obliged to hold an identity card (NIK-based "
              "services such as JAKI's bansos check need one)", "number"),
    ]
    return f


FIELDS = _fields()


def read_dukcapil(path: Path | str) -> pd.DataFrame:
    """The attribute table of the Dukcapil shapefile (geometry not read)."""
    import pyogrio

    try:
        return pyogrio.read_dataframe(str(path), read_geometry=False)
    except Exception as exc:  # pyogrio raises DataSourceError and friends
        raise InputError("unreadable", f"cannot read the attribute table ({type(exc).__name__})", str(Path(path).name)) from exc


def dotted_code(code: str) -> str:
    return f"{code[0:2]}.{code[2:4]}.{code[4:6]}.{code[6:10]}"


def remove_in_order(counts: pd.DataFrame, order: list[str], amount: pd.Series) -> tuple[pd.DataFrame, pd.Series]:
    """Subtract ``amount`` from the columns in ``order``, each down to zero before the next; return the new
    counts and what could not be removed."""
    counts = counts.copy()
    remaining = amount.astype("float64").copy()
    for col in order:
        take = np.minimum(counts[col], remaining)
        counts[col] = counts[col] - take
        remaining = remaining - take
    return counts, remaining


def covariates_from_frame(raw: pd.DataFrame, register_codes: set[str] | None = None) -> Table:
    """Validate the Dukcapil attribute rows and derive the covariates (see the module docstring)."""
    missing = [c for c in REQUIRED if c not in raw.columns]
    if missing:
        raise InputError("missing_columns", f"Dukcapil attribute table lacks columns {missing}", SOURCE_ID)
    df = raw.reset_index(drop=True).copy()
    df["_row"] = np.arange(1, len(df) + 1)
    codes = df["KODE_DESA"].astype("str").str.strip()
    numeric = [c for c in REQUIRED if c not in ("KODE_DESA", "DESA")]
    nums = df[numeric].apply(pd.to_numeric, errors="coerce")

    # vectorised facts, looked up per row below (pandas scalar access per cell is slow)
    values = nums.to_numpy(dtype="float64")
    col = {c: j for j, c in enumerate(numeric)}
    has_gap = np.isnan(values)
    is_negative = np.nan_to_num(values, nan=0.0) < 0
    partition_sums = {part: np.nansum(values[:, [col[c] for c in cols]], axis=1) for part, cols in PARTITIONS.items()}
    pop_all = values[:, col["JUMLAH_PEN"]]

    reasons: dict[int, str] = {}
    first_seen: dict[str, int] = {}
    for i in range(len(df)):
        code = codes.iat[i]
        if code == LAKE_CODE:
            reasons[i] = f"lake polygon (code {LAKE_CODE}, {str(df['DESA'].iat[i])!r}): not a kelurahan, no residents"
            continue
        if not (len(code) == 10 and code.isdigit()):
            reasons[i] = "KODE_DESA is not a 10-digit Kemendagri kelurahan code"
            continue
        dotted = dotted_code(code)
        if register_codes is not None and dotted not in register_codes:
            reasons[i] = f"unknown kelurahan code {dotted}: not in wilayah_register"
            continue
        if dotted in first_seen:
            reasons[i] = f"duplicate kelurahan code {dotted} (first in row {first_seen[dotted]})"
            continue
        if has_gap[i].any():
            reasons[i] = f"missing or non-numeric count in {[c for c in numeric if has_gap[i, col[c]]][:3]}"
            continue
        if is_negative[i].any():
            reasons[i] = f"negative count in {[c for c in numeric if is_negative[i, col[c]]][:3]}"
            continue
        if pop_all[i] <= 0:
            reasons[i] = "population (JUMLAH_PEN) is 0"
            continue
        if values[i, col["JUMLAH_KK"]] <= 0:
            reasons[i] = "household count (JUMLAH_KK) is 0"
            continue
        if values[i, col["LUAS_WILAY"]] <= 0:
            reasons[i] = "area (LUAS_WILAY) is not positive"
            continue
        bad = [
            f"{part} groups sum to {int(sums[i])}, not the population {int(pop_all[i])}"
            for part, sums in partition_sums.items()
            if sums[i] != pop_all[i]
        ]
        if bad:
            reasons[i] = "; ".join(bad)
            continue
        first_seen[dotted] = int(df["_row"].iat[i])

    ok = np.array([i not in reasons for i in range(len(df))], dtype=bool)
    n = nums[ok].reset_index(drop=True)
    pop = n["JUMLAH_PEN"]
    children = n[CHILD_AGE].sum(axis=1)
    adults = pop - children

    edu, edu_left = remove_in_order(n[EDUCATION], CHILD_REMOVAL_EDUCATION, children)
    # children beyond TIDAK_BELU + BELUM_TAMA that had to come out of TAMAT_SD / SLTP
    edu_in_sd = (children - np.minimum(children, n["TIDAK_BELU"] + n["BELUM_TAMA"])).round().astype("int64")
    occ = n[list(OCCUPATION)].copy()
    occ, left_0_4 = remove_in_order(occ, ["BELUM_TIDA", "PELAJAR_MA"], n["U0"])
    occ, left_5_14 = remove_in_order(occ, ["PELAJAR_MA", "BELUM_TIDA"], n["U5"] + n["U10"])

    # a row whose children outnumber every category they could be removed from cannot give adult shares
    kept_index = np.flatnonzero(ok)
    overflow = (edu_left > 0) | (left_0_4 > 0) | (left_5_14 > 0) | (adults <= 0)
    for j in np.flatnonzero(overflow.to_numpy()):
        reasons[int(kept_index[j])] = "residents aged 0-14 outnumber the education/occupation categories they " \
                                      "are removed from: adult shares cannot be derived"
    keep = ~overflow.to_numpy()

    out = pd.DataFrame({
        "kode_kemendagri": [dotted_code(c) for c in codes[ok]],
        "kelurahan": df.loc[ok, "DESA"].astype("str").str.strip().to_numpy(),
        "population": pop.astype("int64"),
        "households": n["JUMLAH_KK"].astype("int64"),
        "area_km2": n["LUAS_WILAY"].astype("float64"),
        "density": pop / n["LUAS_WILAY"],
        "mean_household_size": pop / n["JUMLAH_KK"],
        "share_female": n["WANITA"] / pop,
        "share_0_14": children / pop,
        "share_15_24": (n["U15"] + n["U20"]) / pop,
        "share_60plus": n[AGE_60PLUS].sum(axis=1) / pop,
        "dependency_ratio": (children + n[AGE_65PLUS].sum(axis=1)) / (pop - children - n[AGE_65PLUS].sum(axis=1)),
        "adults_15plus": adults.astype("int64"),
    })
    for level, cols in EDUCATION_LEVELS.items():
        out[f"share_adult_{level}"] = edu[cols].sum(axis=1) / adults
    out["edu_children_in_sd"] = edu_in_sd
    for col, (name, _) in OCCUPATION.items():
        out[f"share_occ_{name}"] = occ[col] / adults
    out["share_pelajar"] = n["PELAJAR_MA"] / pop
    out["share_wajib_ktp"] = n["WAJIB_KTP"] / pop
    out = out[keep].sort_values("kode_kemendagri", kind="mergesort").reset_index(drop=True)
    for col in out.columns:
        if out[col].dtype.kind == "f":
            out[col] = out[col].astype("float64")
    out["kode_kemendagri"] = out["kode_kemendagri"].astype("str")
    out["kelurahan"] = out["kelurahan"].astype("str")

    rejects = pd.DataFrame(
        [{"row": int(df["_row"].iat[i]), "kode_desa": codes.iat[i], "reason": reasons[i]} for i in sorted(reasons)],
        columns=["row", "kode_desa", "reason"],
    )
    return Table(
        name="kelurahan_covariates",
        title="Kelurahan covariates from the Dukcapil register (30 June 2019)",
        description=(
            "One row per kelurahan: population, households (family cards), area and density, age and sex "
            "structure, education of adults aged 15+ in the survey's five levels, broad occupation of adults, "
            "from Dukcapil's register aggregates of 30 June 2019. Adult shares remove the residents aged 0-14 "
            "from the lowest categories (documented assumption, see each column)."
        ),
        data=out,
        fields=FIELDS,
        sources=[SOURCE_ID],
        rows_in=len(df),
        rows_used=len(out),
        rejects=rejects,
    )


def build(ctx) -> list[Table]:
    if SOURCE_ID not in ctx.manifest or not ctx.available(SOURCE_ID):
        ctx.note(STAGE, f"{SOURCE_ID} is missing: no kelurahan covariates (small-area models run without them)",
                 "warning")
        return []
    shp = next(i for i, f in enumerate(ctx.manifest[SOURCE_ID].files) if f.path.endswith(".shp"))
    raw = read_dukcapil(ctx.path(SOURCE_ID, shp))
    register = ctx.tables.get("wilayah_register")
    codes = set(register.data["kode_kemendagri"].astype(str)) if register is not None else None
    if codes is None:
        ctx.note(STAGE, "wilayah_register absent: kelurahan codes checked for shape only, not against the register")
    return [covariates_from_frame(raw, codes)]
