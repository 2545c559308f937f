"""Generate the SYNTHETIC demo survey, ingest it, and check the round trip against the generator's own
manifest (dirt counts) and truth (kelurahan rates): the build stage ``analysis.survey.stage`` end to end."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from analysis import sources
from analysis.build import BuildContext
from analysis.csv_safety import escape_formula
from analysis.privacy import scan_for_pii
from analysis.survey import kobo_export, stage
from analysis.survey.export_files import export_files
from analysis.survey.ingest import OpaqueKeys, ingest_export, ingest_export_to_dir
from analysis.survey.schema import HOUSEHOLDS, PERSONS, validate
from analysis.tables import write_table
from tests.survey.bad_exports.base import csv_bytes, to_labels


@pytest.fixture(scope="module")
def register():
    from analysis.etl.registers import load_register

    return load_register()


@pytest.fixture(scope="module")
def demo(tmp_path_factory, register):
    """The build stage run once: the dirty export stays in ``export_dir`` for the checks below."""
    from analysis.tables import Table

    processed = tmp_path_factory.mktemp("processed")
    ctx = BuildContext(raw=tmp_path_factory.mktemp("raw"), processed=processed, manifest=sources.load_manifest())
    ctx.tables["wilayah_register"] = Table("wilayah_register", "register", "", register, [], [])
    tables, details = stage.run(ctx, tmp_path_factory.mktemp("export"))
    for t in tables:
        write_table(t, processed)
    return {"ctx": ctx, "tables": {t.name: t for t in tables}, **details}


def _dirt(demo) -> dict:
    return demo["truth"]["dirt"]["counts"]


def test_stage_returns_the_three_synthetic_tables(demo):
    tables = demo["tables"]
    assert set(tables) == {"survey_households", "survey_persons", "survey_truth"}
    for t in tables.values():
        t.check()
        assert t.synthetic and "SYNTHETIC" in t.title
    assert tables["survey_households"].data["synthetic"].all()
    assert tables["survey_persons"].data["synthetic"].all()
    validate(tables["survey_households"].data, HOUSEHOLDS)
    validate(tables["survey_persons"].data, PERSONS)
    truth = tables["survey_truth"].data
    assert set(truth["kind"]) == {"kelurahan_rate", "city_rate", "coefficient"}
    assert truth.loc[truth["kind"] == "city_rate"].set_index("indicator").loc["has_internet", "value"] == pytest.approx(0.9333, abs=0.02)


def test_rows_in_equal_rows_out_plus_rejected(demo):
    r = demo["result"]
    manifest = demo["truth"]["dirt"]
    assert r.households_in == manifest["submissions_exported"]
    assert r.persons_in == manifest["roster_rows_exported"]
    assert r.households_in == len(r.households) + len(r.household_rejects)
    assert r.persons_in == len(r.persons) + len(r.person_rejects)
    hh = demo["tables"]["survey_households"]
    assert hh.rows_in == hh.rows_used + hh.rows_rejected


def test_every_injected_dirt_is_caught(demo):
    r, dirt = demo["result"], _dirt(demo)
    h = r.reject_counts()["households"]
    p = r.reject_counts()["persons"]
    assert h["duplicate _uuid"] == dirt["duplicate_submission"]
    assert h["test submission"] == dirt["test_submission"]
    assert h["no consent"] == dirt["no_consent"]
    # every misspelled kelurahan is either matched back to its code or rejected as unknown, never guessed
    matched = sum(int(n.split()[0]) for n in r.notes if "matched to the register" in n)
    assert matched + h.get("unknown kelurahan", 0) == dirt["kelurahan_misspelled"]
    assert matched >= 0.8 * dirt["kelurahan_misspelled"]
    assert p["age missing or out of range"] == dirt["age_out_of_range"]
    # members of rejected households are rejected with their household's reason
    rejected_ids = set(r.household_rejects["hh_id"])
    hr = r.person_rejects[r.person_rejects["reason"].str.startswith("household rejected")]
    assert set(hr["hh_id"]) <= rejected_ids
    assert not r.persons["hh_id"].isin(rejected_ids - set(r.households["hh_id"])).any()
    # the injected identifiers, counted per kind, exactly
    assert r.pii_removed["nik"] == dirt["pii_nik_in_notes"]
    assert r.pii_removed["kk"] == dirt["pii_kk_in_notes"]
    assert r.pii_removed["phone"] == dirt["pii_phone_in_notes"]


def test_no_identifier_pattern_in_any_output(demo):
    # the generated export does hold the fake identifiers (so the scanner is looking at real dirt) ...
    raw = scan_for_pii(demo["export_dir"], exclude=["truth.json"])
    assert raw.counts["nik"] >= _dirt(demo)["pii_nik_in_notes"] and raw.counts["phone"] >= _dirt(demo)["pii_phone_in_notes"]
    # ... and nothing written by the stage does, including the published demo export
    processed = demo["ctx"].processed
    scan = scan_for_pii(processed)
    assert scan.files_scanned >= 8
    assert scan.clean, str(scan)
    assert (processed / "demo_survey" / f"{kobo_export.FILE_STEM}.xlsx").is_file()
    published = {r["path"] for r in demo["ctx"].extra_resources}
    assert f"demo_survey/{kobo_export.FILE_STEM}.xlsx" in published
    assert all(r["synthetic"] for r in demo["ctx"].extra_resources)


def test_published_export_is_ingested_like_the_original(demo, register):
    """The scrubbed demo export (what users try the upload page with) gives the same tables, minus nothing."""
    d = demo["ctx"].processed / "demo_survey"
    again = ingest_export(d / f"{kobo_export.FILE_STEM}.xlsx", register=register, design=d / "design.csv", source_name="demo", survey_id=demo["result"].survey_id, synthetic=True, salt=stage.DEMO_SALT)
    pd.testing.assert_frame_equal(again.households, demo["result"].households)
    pd.testing.assert_frame_equal(again.persons, demo["result"].persons)
    assert sum(v for k, v in again.pii_removed.items() if k != "cells_changed") == 0


def test_labels_export_equals_xml_export(demo, register):
    """The same submissions exported as labels (English headers and values, comma CSV) give identical tables."""
    src = demo["export_dir"]
    read = lambda p: pd.read_csv(p, sep=";", dtype=str, keep_default_na=False).replace("", None)  # noqa: E731
    main = read(src / f"{kobo_export.FILE_STEM}.csv")
    rep = read(src / f"{kobo_export.FILE_STEM}-anggota.csv")
    main = main[[c for c in main.columns if c.count("/") < 2]]  # to_labels writes its own 0/1 option columns
    lm, lr = to_labels(main, rep, lang="English (en)")
    files = {"labels.csv": csv_bytes(lm), "labels-anggota.csv": csv_bytes(lr)}
    res = ingest_export(files, register=register, design=src / "design.csv", source_name="labels", survey_id=demo["result"].survey_id, synthetic=True, salt=stage.DEMO_SALT)
    assert res.format["headers"] == "English (en)" and res.format["values"] == "labels"
    pd.testing.assert_frame_equal(res.households, demo["result"].households)
    pd.testing.assert_frame_equal(res.persons, demo["result"].persons)


def test_without_design_the_export_is_a_simple_random_sample(demo, register):
    src = demo["export_dir"]
    res = ingest_export(export_files(src / f"{kobo_export.FILE_STEM}.csv"), register=register, source_name="ngo")
    assert not res.weighted
    assert (res.households["weight"] == 1.0).all()
    assert (res.households["psu"] == res.households["hh_id"]).all()
    assert (res.households["stratum"] == res.households["kode_kemendagri"]).all()
    assert any("simple random sample" in n for n in res.notes)
    assert not res.synthetic or res.households["synthetic"].all()


def test_design_columns_and_derivations(demo):
    hh, pp = demo["result"].households, demo["result"].persons
    design = pd.read_csv(demo["export_dir"] / "design.csv", dtype={"kode_kemendagri": str, "stratum": str})
    # the PSU leaves only as its opaque key (issue 13): the demo's fixed salt reproduces it
    keys = OpaqueKeys(stage.DEMO_SALT)
    design["psu"] = design["psu"].map(lambda v: keys.key("psu", v.strip()))
    w = hh.merge(design[["psu", "design_weight"]].drop_duplicates("psu"), on="psu", how="left")
    assert w["design_weight"].notna().all()
    np.testing.assert_allclose(w["weight"], w["design_weight"])
    assert set(hh["stratum"]) <= set(design["stratum"])
    # household internet = any member used it (BPS)
    any_use = pp.groupby("hh_id")["uses_internet"].apply(lambda s: bool(s.fillna(False).any()))
    has = hh.set_index("hh_id")["has_internet"]
    assert (has[has.fillna(False)].index.isin(any_use[any_use].index)).all()
    # five education levels, age groups, NA under 5
    assert set(pp["education"].dropna()) <= {"no_diploma", "sd", "smp", "sma", "tertiary"}
    assert pp.loc[pp["age"] < 5, "age_group"].isna().all()
    assert (pp.loc[pp["age"].between(15, 24), "age_group"] == "15-24").all()
    # persons carry their household's design columns
    j = pp.merge(hh[["hh_id", "weight", "psu", "income_quintile"]], on="hh_id", suffixes=("", "_hh"))
    assert (j["weight"] == j["weight_hh"]).all() and (j["psu"] == j["psu_hh"]).all()
    # quintiles from the fixed cut-points: every quintile is present and the poorest are not rare
    q = hh["income_quintile"].value_counts(normalize=True)
    assert set(q.index) == {1, 2, 3, 4, 5} and q.min() > 0.05
    # the respondent is an adult from the roster
    assert (hh["respondent_age"].dropna() >= 15).all()


def _coverage(df: pd.DataFrame, y: str, truth: pd.Series) -> tuple[float, int]:
    """Share of kelurahan whose true rate lies in the 95% CI of the design-based estimate.

    Estimator: analysis.stats.design (Hajek ratio, Taylor linearisation with RW as PSU, domains as
    subpopulations); interval estimate +- t(m - 1) * se with m the kelurahan's sampled RW (the degrees of
    freedom of a domain estimated from m clusters, Korn & Graubard 1999 sec. 5.2)."""
    from analysis.stats.design import SurveyDesign

    d = df[df[y].notna()].copy()
    d["y"] = d[y].astype(float)
    r = SurveyDesign(d, weight="weight", strata="stratum", psu="psu").prop("y", by="kode_kemendagri", suppress=False)
    r = r.set_index("kode_kemendagri").join(truth.rename("true"), how="inner")
    m = d.groupby("kode_kemendagri")["psu"].nunique().reindex(r.index)
    t = stats.t.ppf(0.975, np.maximum(m - 1, 1))
    inside = (r["true"] >= r["estimate"] - t * r["se"]) & (r["true"] <= r["estimate"] + t * r["se"])
    return float(inside.mean()), len(r)


def test_recovers_true_kelurahan_rates_within_their_confidence_intervals(demo):
    truth = demo["tables"]["survey_truth"].data
    kel = truth[truth["kind"] == "kelurahan_rate"]
    hh, pp = demo["result"].households, demo["result"].persons
    results = {}
    for y, df in (("uses_internet", pp[pp["age"] >= 5]), ("owns_smartphone", pp[pp["age"] >= 5]), ("knows_jaki", hh)):
        t = kel[kel["indicator"] == y].set_index("kode_kemendagri")["value"]
        results[y] = _coverage(df, y, t)
    for y, (cover, n) in results.items():
        assert n >= 60, y  # ~80 sampled kelurahan + the two oversampled field sites
        assert cover >= 0.85, (y, cover)
    pooled = np.mean([c for c, _ in results.values()])
    # One seed, 246 correlated intervals: after the DKI 2019 calibration (issue 11) the demo seed gives 0.898;
    # seeds 1, 2, 3 give 0.915, 0.935, 0.947 (/tmp-free re-measure: stage.DEMO_SEED = s; stage.run(...)).
    # The floor is a single-draw guard against a broken interval, not the coverage study (tests/stats).
    assert 0.89 <= pooled <= 0.995, results


def test_ingest_to_dir_writes_tables_rejects_and_a_value_free_report(demo, tmp_path, register):
    src = demo["export_dir"]
    res = ingest_export_to_dir(src / f"{kobo_export.FILE_STEM}.csv", tmp_path, register=register, design_path=src / "design.csv")
    for name in ("survey_households.parquet", "survey_households.csv", "survey_persons.parquet", "ingest_report.json", "rejects/survey_households.rejects.csv"):
        assert (tmp_path / name).is_file(), name
    report = json.loads((tmp_path / "ingest_report.json").read_text())
    assert report["households"]["rows_in"] == report["households"]["rows_out"] + report["households"]["rows_rejected"]
    assert report["pii_removed"]["nik"] == _dirt(demo)["pii_nik_in_notes"]
    assert scan_for_pii(tmp_path).clean
    assert len(res.households) == len(demo["result"].households)


def test_escape_formula_neutralises_spreadsheet_formulas():
    df = pd.DataFrame({"t": ["=1+1", "+62 812", "-cmd", "@SUM(A1)", "\tx", "\rx", "ok", None], "n": [-1, 2, 3, 4, 5, 6, 7, 8]})
    out = escape_formula(df)
    assert out["t"].tolist()[:7] == ["'=1+1", "'+62 812", "'-cmd", "'@SUM(A1)", "'\tx", "'\rx", "ok"]
    assert pd.isna(out["t"].iloc[7])
    assert out["n"].tolist() == df["n"].tolist()
    assert df["t"].iloc[0] == "=1+1"  # the input is not modified


def test_design_file_kelurahan_stage_reaches_households_and_persons(demo, register):
    """The design file's kelurahan stage (certainty kelurahan, RW count of the kelurahan frame) is carried, so
    the city and kota estimates can use the kelurahan as first-stage unit; without a design file it is NA."""
    hh, pp = demo["result"].households, demo["result"].persons
    design = pd.read_csv(demo["export_dir"] / "design.csv", dtype={"kode_kemendagri": str, "stratum": str})
    first = design.drop_duplicates("kode_kemendagri").set_index("kode_kemendagri")
    assert hh["certainty_kelurahan"].notna().all() and hh["n_rw_kelurahan"].notna().all()
    assert (hh["certainty_kelurahan"].astype(bool) == hh["kode_kemendagri"].map(first["certainty_kelurahan"]).astype(bool)).all()
    assert (hh["n_rw_kelurahan"] == hh["kode_kemendagri"].map(first["n_rw_kelurahan"])).all()
    assert {"31.75.04.1002", "31.75.05.1001"} <= set(hh.loc[hh["certainty_kelurahan"].astype(bool), "kode_kemendagri"])  # Tengah, Gedong
    j = pp.merge(hh[["hh_id", "certainty_kelurahan", "n_rw_kelurahan"]], on="hh_id", suffixes=("", "_hh"))
    assert (j["certainty_kelurahan"] == j["certainty_kelurahan_hh"]).all() and (j["n_rw_kelurahan"] == j["n_rw_kelurahan_hh"]).all()
    src = demo["export_dir"]
    res = ingest_export(export_files(src / f"{kobo_export.FILE_STEM}.csv"), register=register, source_name="ngo")
    assert res.households["certainty_kelurahan"].isna().all() and res.households["n_rw_kelurahan"].isna().all()
