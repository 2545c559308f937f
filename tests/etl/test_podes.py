"""kota_context (Podes 2024 joined on the Kemendagri code, poverty, JakWifi) and podes2021_province."""

from __future__ import annotations

import pandas as pd
import pytest

from analysis.etl import podes
from tests.stages import run_stages


@pytest.fixture(scope="module")
def ctx(raw_dir, manifest, tmp_path_factory):
    from analysis.etl import covariates, population, published, registers

    return run_stages(raw_dir, manifest, tmp_path_factory.mktemp("proc"), registers, covariates, population, published,
                      podes)


def test_kota_context_bts_counts_are_the_published_ones(ctx):
    t = ctx.tables["kota_context"]
    assert len(t.data) == 6 and t.rows_rejected == 0
    df = t.data.set_index("kab_kota")
    assert (df.loc["Jakarta Pusat", "podes2024_with_bts"], df.loc["Jakarta Pusat", "podes2024_kelurahan"]) == (35, 44)
    assert (df.loc["Jakarta Timur", "podes2024_with_bts"], df.loc["Jakarta Timur", "podes2024_kelurahan"]) == (61, 65)
    assert (df.loc["Jakarta Selatan", "podes2024_with_bts"], df.loc["Jakarta Selatan", "podes2024_kelurahan"]) == (65, 65)
    assert df.loc["Jakarta Selatan", "kode_kab_kemendagri"] == "31.74" and df.loc["Jakarta Selatan", "kode_kab_bps"] == "3171"
    assert int(df["podes2024_kelurahan"].sum()) == 267 and int(df["podes2024_with_bts"].sum()) == 242
    assert int(df["podes2024_with_4g_5g"].sum()) == 267
    assert df.loc["Jakarta Utara", "poverty_rate_2024"] == 6.44 and df.loc["Kepulauan Seribu", "poverty_rate_2023"] == 13.13
    assert df.loc["Jakarta Pusat", "jakwifi_locations_2022"] == 2451
    assert int(df["population_2024"].sum()) == 11_038_216


def _row(prov="31", name="Kota Jakarta Selatan", code="3174", dot="31.74"):
    return {"boundary_code_prov": prov, "kabupaten_kota": name, "boundary_code_kab": code, "boundary_code_kab_dot": dot,
            "desa_kelurahan": 65, "bts_ada": 65, "internet_5g_4g_lte": 65, "sinyal_sangat_kuat": 51, "sinyal_kuat": 14}


def test_rows_outside_dki_are_ignored_and_a_bps_style_code_is_refused(ctx):
    kab = ctx.tables["kabkota_register"].data
    raw = pd.DataFrame([
        _row(),
        _row(prov="32", name="Kabupaten Bogor", code="3201", dot="32.01"),
        _row(name="Kota Jakarta Selatan", code="3171", dot="31.71"),  # BPS's number for Jakarta Selatan
    ])
    rows, rejects = podes.parse_podes2024(raw, kab)
    assert list(rows["kode_kab_kemendagri"]) == ["31.74"]
    assert len(rows) + len(rejects) == len(raw)
    assert rejects["reason"].iloc[0] == "outside DKI Jakarta: ignored"
    assert "disagrees with the register's 'Jakarta Pusat'" in rejects["reason"].iloc[1]


def test_podes2021_two_header_rows(ctx):
    d = ctx.tables["podes2021_province"].data
    dki = d[d["province"].str.upper() == "DKI JAKARTA"].set_index(["table_no", "column"])["value"]
    assert dki[("06", "Perkotaan+Perdesaan")] == 267
    assert dki[("07", "Perkotaan+Perdesaan")] == 244
    assert dki[("09", "Perkotaan+Perdesaan")] == 266
    assert dki[("10", "Perkotaan+Perdesaan")] == 1
    assert pd.isna(dki[("07", "Perdesaan")])
    assert set(d["year"]) == {2021, 2024}
