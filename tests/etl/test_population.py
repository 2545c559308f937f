"""register_indicators: population 2024 (names only) matched to Kemendagri codes, and the register indicators."""

from __future__ import annotations

import pandas as pd
import pytest

from analysis.etl import population as popmod
from tests.stages import run_stages


@pytest.fixture(scope="module")
def ctx(raw_dir, manifest, tmp_path_factory):
    from analysis.etl import covariates, registers

    return run_stages(raw_dir, manifest, tmp_path_factory.mktemp("proc"), registers, covariates, popmod)


def test_all_267_rows_match_and_the_total_is_the_published_one(ctx):
    t = ctx.tables["register_indicators"]
    assert t.report() == {"table": "register_indicators", "rows_in": 267, "rows_used": 267, "rows_rejected": 0,
                          "rows_out": 267}
    df = t.data
    assert df["kode_kemendagri"].is_unique and df["population_2024"].notna().all()
    assert int(df["population_2024"].sum()) == 11_038_216
    assert set(df["label"]) == {"register (Dukcapil 2019 / Satu Data Jakarta 2024)"}


def test_register_indicators_are_proportions_and_consistent(ctx):
    df = ctx.tables["register_indicators"].data
    cov = ctx.tables["kelurahan_covariates"].data.set_index("kode_kemendagri")
    for c in ("share_low_education_15plus", "share_60plus", "share_low_connectivity_occupation"):
        assert df[c].between(0, 1).all(), c
    row = df.set_index("kode_kemendagri").loc["31.75.04.1002"]  # Tengah, Kramat Jati
    assert row["share_low_education_15plus"] == pytest.approx(
        cov.loc["31.75.04.1002", "share_adult_no_diploma"] + cov.loc["31.75.04.1002", "share_adult_sd"])
    assert row["population_change_2019_2024"] == pytest.approx(row["population_2024"] / row["population_2019"] - 1)
    assert df["density_2024"].gt(0).all() and df["mean_household_size"].between(1.5, 6).all()


def test_unknown_ambiguous_and_duplicate_names_are_rejects_with_candidates(ctx):
    register = ctx.tables["wilayah_register"].data
    raw = pd.DataFrame({
        "year": [2024] * 4,
        "city": ["Jakarta Timur", "Jakarta Timur", "Jakarta Timur", "Jakarta Utara"],
        "district": ["KRAMAT JATI", "KRAMAT JATI", "KRAMAT JATI", ""],
        "subdistrict": ["TENGAH", "TENGAH", "ZZZ QQQ", "RAWA BADAK"],
        "population": [1000, 1000, 5, 7],
        "population_density_per_km2": [1.0, 1.0, 1.0, 1.0],
    })
    matched, rejects = popmod.match_population(raw, register)
    assert list(matched["kode_kemendagri"]) == ["31.75.04.1002"]
    assert len(matched) + len(rejects) == len(raw)
    reasons = dict(zip(rejects["kelurahan"], rejects["reason"]))
    assert "already matched" in reasons["TENGAH"]
    assert reasons["ZZZ QQQ"].startswith("name unmatched")
    assert reasons["RAWA BADAK"].startswith("name ambiguous")
    assert "Rawa Badak" in rejects.set_index("kelurahan").loc["RAWA BADAK", "candidates"]
