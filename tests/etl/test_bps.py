"""bps_indicators from the real BPS exports (cross-checked against the mirror's tidy conversions) and from
malformed tables the tests write."""

from __future__ import annotations

import io

import numpy as np
import openpyxl
import pandas as pd
import pytest

from analysis.build import BuildContext
from analysis.errors import InputError
from analysis.etl import bps

HEADER_2022 = (
    "\ufeff38 Provinsi,,,\n"
    ",Persentase Rumah Tangga yang Pernah Mengakses Internet,,\n"
    ",Perkotaan,Perdesaan,Perkotaan+Perdesaan\n"
    ",2022,2022,2022\n"
)


@pytest.fixture(scope="module")
def table(raw_dir, manifest):
    ctx = BuildContext(raw=raw_dir, processed=raw_dir.parent / "unused", manifest=manifest)
    tables = bps.build(ctx)
    assert len(tables) == 1
    tables[0].check()
    return tables[0]


def _value(data, indicator, code, year, breakdown="total"):
    sel = data[(data.indicator == indicator) & (data.region_code == code) & (data.year == year)
               & (data.breakdown == breakdown)]
    assert len(sel) == 1, sel
    return sel["value"].iloc[0]


# --- the real sources -----------------------------------------------------------------------------------------


def test_published_anchor_values(table):
    d = table.data
    assert _value(d, "households_internet_3m", "31", 2022) == pytest.approx(95.39)
    assert _value(d, "ict_skills_15_59", "31", 2015) == pytest.approx(53.25)
    assert _value(d, "ict_skills_15_59", "31", 2021) == pytest.approx(91.79)
    assert _value(d, "households_internet_3m", "00", 2022) == pytest.approx(86.54)


def test_row_accounting_per_input_row(table):
    # 39 + 35 + 4 + 7 input data rows; the four '-' provinces of 2022 are rejected with a reason
    assert table.rows_in == 85
    assert table.rows_rejected == 4
    assert table.rows_used == 81
    assert set(table.rejects["region"]) == {"PAPUA BARAT DAYA", "PAPUA SELATAN", "PAPUA TENGAH", "PAPUA PEGUNUNGAN"}
    assert table.rejects["reason"].str.contains("created in 2022").all()
    assert table.rejects["row"].tolist() == [38, 40, 41, 42]


def test_internet_2022_matches_tidy_reference(table, mirror):
    tidy = pd.read_csv(mirror / "bps_ict" / "bps_pct_households_internet_by_province_urbanrural_2022_tidy.csv")
    matcher = bps.ProvinceMatcher()
    d = table.data[table.data.indicator == "households_internet_3m"]
    compared = 0
    for r in tidy.itertuples():
        m = matcher.match(r.provinsi)
        code = bps.NATIONAL_CODE if m == matcher.NATIONAL else m.code
        for col, breakdown in (("perkotaan", "urban"), ("perdesaan", "rural"), ("total", "total")):
            ref = getattr(r, col)
            sel = d[(d.region_code == code) & (d.breakdown == breakdown)]
            if pd.isna(ref):
                assert sel.empty  # '-' cells give no row
                continue
            if code == "31" and breakdown == "rural":
                assert ref == 0 and np.isnan(sel["value"].iloc[0])  # not applicable, not a real zero
                assert "not applicable" in sel["note"].iloc[0]
                continue
            assert sel["value"].iloc[0] == pytest.approx(ref)
            compared += 1
    assert compared == 35 * 3 - 1


def test_ict_and_media_match_tidy_reference(table, mirror):
    tidy = pd.read_csv(mirror / "bps_ict" / "bps_ict_skills_age15_59_by_province_2015_2021_tidy.csv")
    d = table.data[table.data.indicator == "ict_skills_15_59"]
    assert len(d) == len(tidy) == 245
    matcher = bps.ProvinceMatcher()
    for r in tidy.itertuples():
        m = matcher.match(r.provinsi)
        code = bps.NATIONAL_CODE if m == matcher.NATIONAL else m.code
        assert _value(d, "ict_skills_15_59", code, r.tahun) == pytest.approx(r.pct_ict_skills_15_59)
    media_ref = pd.read_csv(mirror / "bps_ict" / "bps_pct_households_internet_by_access_media_2015_2021_tidy.csv")
    m = table.data[table.data.indicator == "households_internet_by_media"]
    assert len(m) == len(media_ref) == 24
    assert 2018 not in set(m.year)
    names = {"Komputer": "computer", "Laptop": "laptop", "Telepon Seluler": "mobile_phone", "Lainnya": "other"}
    for r in media_ref.itertuples():
        assert _value(m, "households_internet_by_media", "00", r.tahun, names[r.media]) == pytest.approx(r.pct_households)


def test_layouts_and_papua_codes(table):
    d = table.data
    internet = d[(d.indicator == "households_internet_3m") & (d.level == "province")]
    skills = d[(d.indicator == "ict_skills_15_59") & (d.level == "province")]
    assert set(internet.province_layout) == {"38"}
    assert set(skills.province_layout) == {"34"}
    assert internet.region_code.nunique() == 34  # 38 minus the four '-' provinces
    assert skills.region_code.nunique() == 34
    papua_34 = skills[skills.region_code == "94"]
    assert papua_34.note.str.contains("pre-2022 Papua").all()
    assert (skills[skills.region_code == "31"].note == "").all()
    assert set(d[d.level == "national"].region_code) == {"00"}


def test_expenditure_kota_codes_without_register(table):
    e = table.data[table.data.indicator == "per_capita_expenditure"]
    kota = e[e.level == "kota"]
    assert set(kota.region_code) == {"31.01", "31.71", "31.72", "31.73", "31.74", "31.75"}
    assert _value(e, "per_capita_expenditure", "31.74", 2024) == 3274714  # Jakarta Selatan (BPS 3171!)
    assert _value(e, "per_capita_expenditure", "31", 2023) == 2791716
    assert (e.unit == "Rp per person per month").all()


def test_expenditure_kota_codes_through_register(mirror):
    # a register whose names are spelled differently from the source, as the registers stage writes them
    register = pd.DataFrame({
        "kode_kab_kemendagri": ["31.01", "31.71", "31.72", "31.73", "31.74", "31.75"],
        "kab_kota": ["KAB. ADM. KEP. SERIBU", "KOTA ADM. JAKARTA PUSAT", "KOTA ADM. JAKARTA UTARA",
                     "KOTA ADM. JAKARTA BARAT", "KOTA ADM. JAKARTA SELATAN", "KOTA ADM. JAKARTA TIMUR"],
    })
    res = bps.parse_expenditure_kota(mirror / "jakarta_econ" / "dki_per_capita_expenditure_by_kota_2023_2024.csv",
                                     register)
    assert res.rejects == []
    codes = {(r["region_name"], r["region_code"]) for r in res.rows}
    assert ("Kepulauan Seribu", "31.01") in codes and ("Jakarta Timur", "31.75") in codes


def test_build_notes_missing_sources(tmp_path, manifest):
    ctx = BuildContext(raw=tmp_path, processed=tmp_path / "p", manifest=manifest)
    assert bps.build(ctx) == []
    assert any("missing" in n["message"] for n in ctx.notes)


# --- province names -------------------------------------------------------------------------------------------


@pytest.mark.parametrize("name,code", [
    ("DKI JAKARTA", "31"), ("D.K.I. Jakarta", "31"), ("Dki Jakarta", "31"), ("Provinsi DKI Jakarta", "31"),
    ("KEP. BANGKA BELITUNG", "19"), ("Kepulauan Bangka Belitung", "19"), ("DI YOGYAKARTA", "34"),
    ("D I Yogyakarta", "34"), ("D.I. Yogyakarta", "34"), ("PAPUA BARAT DAYA", "92"), ("Papua Pegunungan", "97"),
    ("PAPUA", "94"), ("Papua Barat", "91"), ("KEP. RIAU", "21"), ("Sumatra Utara", "12"),
])
def test_province_name_variants(name, code):
    assert bps.ProvinceMatcher().match(name).code == code


def test_province_table_has_38_unique_codes():
    provinces = bps.load_provinces()
    assert len(provinces) == 38
    assert sum(p.since_2022_split for p in provinces) == 4
    assert {p.code for p in provinces if p.since_2022_split} == {"92", "95", "96", "97"}


# --- malformed inputs -----------------------------------------------------------------------------------------


def _csv_2022(body: str) -> bytes:
    return (HEADER_2022 + body).encode("utf-8")


def test_unknown_province_goes_to_rejects():
    res = bps.parse_internet_households(_csv_2022("ACEH,85.64,76.86,79.85\nATLANTIS,50,40,45\n"))
    assert res.rows_in == 2 and res.rows_used == 1
    assert res.rejects[0]["reason"] == "unknown province name 'ATLANTIS'"
    assert res.rejects[0]["row"] == 6


def test_duplicate_province_row_rejected():
    res = bps.parse_internet_households(_csv_2022("ACEH,85.64,76.86,79.85\nAceh,85.64,76.86,79.85\n"))
    assert len(res.rejects) == 1
    assert "duplicate region 'Aceh'" in res.rejects[0]["reason"]
    assert "first seen in row 5" in res.rejects[0]["reason"]


def test_non_numeric_and_out_of_range_cells_rejected():
    res = bps.parse_internet_households(_csv_2022("ACEH,85.64,abc,79.85\nBALI,93.78,85.09,191.21\nRIAU,93.93,89.05,91.01\n"))
    reasons = [r["reason"] for r in res.rejects]
    assert "not a number" in reasons[0]
    assert "outside [0.0, 100.0]" in reasons[1]
    assert res.rows_used == 1


def test_decimal_commas_and_semicolons_in_a_bps_export():
    text = HEADER_2022.replace(",", ";") + "DKI JAKARTA;95,39;0;95,39\nD.I. YOGYAKARTA;90,58;84,09;89,03\n"
    res = bps.parse_internet_households(text.encode("cp1252", errors="replace"))
    values = {(r["region_code"], r["breakdown"]): r["value"] for r in res.rows}
    assert values[("31", "total")] == 95.39
    assert values[("34", "rural")] == 84.09
    assert np.isnan(values[("31", "rural")])


def test_dki_rural_nonzero_is_suspicious():
    res = bps.parse_internet_households(_csv_2022("DKI JAKARTA,95.39,12.5,95.39\n"))
    assert res.rows_used == 0
    assert "should be not applicable" in res.rejects[0]["reason"]


def test_unknown_breakdown_column_is_an_input_error():
    text = HEADER_2022.replace("Perdesaan", "Pedalaman") + "ACEH,1,2,3\n"
    with pytest.raises(InputError) as e:
        bps.parse_internet_households(text.encode())
    assert e.value.code == "unknown_column"


def test_34_layout_ict_xlsx_with_unknown_and_variant_names():
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "Sheet2"
    for row in [["Provinsi", "2020", "2021"], ["Dki Jakarta", "88,08", "91,79"], ["PAPUA", 30.93, 30.58],
                ["Narnia", 1, 2], ["RATA-RATA INDONESIA", 64.26, 70.17]]:
        ws.append(row)
    buf = io.BytesIO()
    wb.save(buf)
    res = bps.parse_ict_skills(buf.getvalue())
    assert res.rows_in == 4 and res.rows_used == 3
    assert res.rejects[0]["reason"] == "unknown province name 'Narnia'"
    dki = [r for r in res.rows if r["region_code"] == "31"]
    assert [r["value"] for r in dki] == [88.08, 91.79]
    assert {r["province_layout"] for r in res.rows if r["level"] == "province"} == {"34"}


def test_expenditure_unknown_kota_and_missing_year_columns():
    res = bps.parse_expenditure_kota(b"kabupaten_kota,pengeluaran_2024_rp\nJakarta Tengah,100\nJak. Timur,200\n"
                                     b"Kota Adm. Jakarta Barat,-5\n")
    reasons = [r["reason"] for r in res.rejects]
    assert reasons[0] == "unknown DKI kab/kota name 'Jakarta Tengah'"
    assert reasons[1] == "unknown DKI kab/kota name 'Jak. Timur'"
    assert "not a positive amount" in reasons[2]
    with pytest.raises(InputError) as e:
        bps.parse_expenditure_kota(b"kabupaten_kota,belanja\nJakarta Barat,1\n")
    assert e.value.code == "missing_columns"
