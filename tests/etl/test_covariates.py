"""kelurahan_covariates from the real Dukcapil DBF (cross-checked with the mirror's attribute conversion) and
from small frames and DBF files the tests make."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyogrio
import pytest

from analysis.build import BuildContext
from analysis.errors import InputError
from analysis.etl import covariates as cov


@pytest.fixture(scope="module")
def raw_frame(raw_dir):
    return cov.read_dukcapil(raw_dir / "kelurahan_covariates" / "dukcapil_batas_desa_2019_dki.shp")


@pytest.fixture(scope="module")
def built(raw_dir, manifest, tmp_path_factory):
    """registers + covariates stages, as the build runs them."""
    from analysis.etl import registers

    ctx = BuildContext(raw=raw_dir, processed=tmp_path_factory.mktemp("proc"), manifest=manifest)
    for table in registers.build(ctx):
        ctx.tables[table.name] = table
    tables = cov.build(ctx)
    assert [t.name for t in tables] == ["kelurahan_covariates"]
    tables[0].check()
    return ctx, tables[0]


def _row(raw_frame, code="3173031006") -> pd.DataFrame:
    return raw_frame[raw_frame["KODE_DESA"] == code].copy()


# --- the real register ----------------------------------------------------------------------------------------


def test_267_kelurahan_and_two_lakes_rejected(built):
    _, t = built
    assert t.rows_in == 269 and t.rows_out == 267 and t.rows_rejected == 2
    assert (t.rejects["kode_desa"] == "31888888").all()
    assert t.rejects["reason"].str.startswith("lake polygon").all()
    assert t.data["kode_kemendagri"].is_unique
    assert t.data["population"].sum() == 11_011_862


def test_codes_match_the_register(built):
    ctx, t = built
    register = ctx.tables["wilayah_register"].data
    assert set(t.data["kode_kemendagri"]) == set(register["kode_kemendagri"])


def test_against_reference_attribute_conversion(built, mirror):
    _, t = built
    ref = pd.read_csv(mirror / "kelurahan_covariates" / "dukcapil_2019_kelurahan_attributes.csv",
                      dtype={"kode_kemendagri": str})
    merged = t.data.merge(ref, on="kode_kemendagri", validate="1:1")
    assert len(merged) == 267
    assert (merged["population"] == merged["JUMLAH_PEN"]).all()
    assert (merged["households"] == merged["JUMLAH_KK"]).all()
    # density recomputed from the rounded area stays close to Dukcapil's own KEPADATAN
    assert np.median(np.abs(merged["density"] / merged["KEPADATAN"] - 1)) < 0.01
    assert merged["share_female"].to_numpy() == pytest.approx((merged["WANITA"] / merged["JUMLAH_PEN"]).to_numpy())


def test_shares_are_partitions_of_adults(built):
    _, t = built
    d = t.data
    edu = d[[f"share_adult_{k}" for k in cov.EDUCATION_LEVELS]].sum(axis=1)
    occ = d[[c for c in d.columns if c.startswith("share_occ_")]].sum(axis=1)
    assert np.allclose(edu, 1.0) and np.allclose(occ, 1.0)
    assert len([c for c in d.columns if c.startswith("share_occ_")]) == 11
    for col in d.columns:
        if col.startswith("share_"):
            assert d[col].between(0, 1).all(), col
    # the documented choice (0-14): children spill into TAMAT_SD in 11 kelurahan only
    assert (d["edu_children_in_sd"] > 0).sum() == 11
    assert np.allclose(d["adults_15plus"], d["population"] * (1 - d["share_0_14"]))


def test_adult_shares_computed_by_hand(raw_frame):
    r = _row(raw_frame).iloc[0]  # KEAGUNGAN, Taman Sari
    t = cov.covariates_from_frame(_row(raw_frame))
    got = t.data.iloc[0]
    children = r.U0 + r.U5 + r.U10  # 5026
    adults = r.JUMLAH_PEN - children
    no_diploma_left = max(r.TIDAK_BELU + r.BELUM_TAMA - children, 0)
    assert got["kode_kemendagri"] == "31.73.03.1006"
    assert got["adults_15plus"] == adults
    assert got["share_adult_no_diploma"] == pytest.approx(no_diploma_left / adults)
    assert got["share_adult_sma"] == pytest.approx(r.SLTA / adults)
    tertiary = r.DIPLOMA_I + r.DIPLOMA_II + r.DIPLOMA_IV + r.STRATA_II + r.STRATA_III
    assert got["share_adult_tertiary"] == pytest.approx(tertiary / adults)
    student_left = max(r.PELAJAR_MA - (r.U5 + r.U10), 0)
    assert got["share_occ_student"] == pytest.approx(student_left / adults)
    assert got["share_occ_private_sector"] == pytest.approx(r.WIRASWASTA / adults)
    assert got["density"] == pytest.approx(r.JUMLAH_PEN / r.LUAS_WILAY)


def test_every_column_is_documented(built):
    _, t = built
    assert [f.name for f in t.fields] == list(t.data.columns)
    for f in t.fields:
        if f.name.startswith("share_") or f.name in ("density", "mean_household_size", "dependency_ratio"):
            assert "/" in f.description, f.name  # the formula is in the description


# --- malformed inputs -----------------------------------------------------------------------------------------


def test_unknown_kelurahan_code_rejected_with_register(raw_frame):
    rows = pd.concat([_row(raw_frame), _row(raw_frame, "3101011001")])
    rows.loc[rows["KODE_DESA"] == "3101011001", "KODE_DESA"] = "3199011001"
    t = cov.covariates_from_frame(rows, register_codes={"31.73.03.1006", "31.01.01.1001"})
    assert t.rows_out == 1
    assert t.rejects["reason"].iloc[0] == "unknown kelurahan code 31.99.01.1001: not in wilayah_register"


def test_duplicate_code_rejected(raw_frame):
    rows = pd.concat([_row(raw_frame), _row(raw_frame)])
    t = cov.covariates_from_frame(rows)
    t.check()
    assert t.rows_out == 1
    assert t.rejects["reason"].iloc[0] == "duplicate kelurahan code 31.73.03.1006 (first in row 1)"


def test_partition_that_does_not_sum_is_rejected(raw_frame):
    rows = _row(raw_frame)
    rows["SLTA"] = rows["SLTA"] + 10
    t = cov.covariates_from_frame(rows)
    assert t.rows_out == 0
    assert "education groups sum to 21619, not the population 21609" in t.rejects["reason"].iloc[0]


def test_bad_code_zero_population_and_missing_count(raw_frame):
    a, b, c = (_row(raw_frame) for _ in range(3))
    a["KODE_DESA"] = "31730310"
    b["KODE_DESA"] = "3173031007"
    b[["JUMLAH_PEN"] + cov.SEX + cov.AGE + cov.EDUCATION + list(cov.OCCUPATION)] = 0
    c["KODE_DESA"] = "3173031008"
    c["JUMLAH_KK"] = np.nan
    t = cov.covariates_from_frame(pd.concat([a, b, c]))
    t.check()
    reasons = t.rejects["reason"].tolist()
    assert reasons[0] == "KODE_DESA is not a 10-digit Kemendagri kelurahan code"
    assert reasons[1] == "population (JUMLAH_PEN) is 0"
    assert reasons[2].startswith("missing or non-numeric count in ['JUMLAH_KK']")


def test_children_outnumbering_categories_rejected(raw_frame):
    rows = _row(raw_frame)
    # move everyone's education into S3 except a handful: children can no longer be removed from the low groups
    pop = rows["JUMLAH_PEN"].iloc[0]
    rows[cov.EDUCATION] = 0
    rows["STRATA_III"] = pop
    t = cov.covariates_from_frame(rows)
    assert t.rows_out == 0
    assert "outnumber" in t.rejects["reason"].iloc[0]


def test_missing_columns_is_an_input_error(raw_frame):
    with pytest.raises(InputError) as e:
        cov.covariates_from_frame(_row(raw_frame).drop(columns=["SLTP", "U75"]))
    assert e.value.code == "missing_columns"
    assert "SLTP" in str(e.value) and "U75" in str(e.value)


def test_reads_a_dbf_written_by_the_test(raw_frame, tmp_path):
    rows = pd.concat([_row(raw_frame), raw_frame[raw_frame["KODE_DESA"] == "31888888"]])
    keep = cov.REQUIRED
    path = tmp_path / "tiny.dbf"
    pyogrio.write_dataframe(rows[keep].reset_index(drop=True), path, driver="ESRI Shapefile")
    t = cov.covariates_from_frame(cov.read_dukcapil(path))
    assert t.rows_in == 3 and t.rows_out == 1 and t.rows_rejected == 2


def test_unreadable_file(tmp_path):
    p = tmp_path / "broken.dbf"
    p.write_bytes(b"\x89PNG\r\n\x1a\nnot a dbf")
    with pytest.raises(InputError) as e:
        cov.read_dukcapil(p)
    assert e.value.code == "unreadable"


def test_missing_source_gives_no_table_and_a_note(tmp_path, manifest):
    ctx = BuildContext(raw=tmp_path, processed=tmp_path / "p", manifest=manifest)
    assert cov.build(ctx) == []
    assert any(n["stage"] == cov.STAGE and "dukcapil_2019 is missing" in n["message"] for n in ctx.notes)
