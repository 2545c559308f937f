"""The synthetic demo survey: Kobo export structure, the form's constraints, counted dirt, determinism,
calibration to the published targets, design weights, and the SYNTHETIC label on every file."""

from __future__ import annotations

import json
import re

import numpy as np
import pandas as pd
import pytest
from openpyxl import load_workbook

from analysis.survey import design as design_mod
from analysis.survey import kobo_export as kx
from analysis.survey import questionnaire as q
from analysis.survey.generate import GenerateOptions, generate
from analysis.survey.kobo_export import FIELDWORK_START

STEM = kx.FILE_STEM


@pytest.fixture(scope="session")
def covariates(raw_dir, manifest):
    """The Dukcapil covariates as the ETL stage builds them from the mirror."""
    from analysis.etl.covariates import covariates_from_frame, read_dukcapil

    src = manifest["dukcapil_2019"]
    shp = next(f.path for f in src.files if f.path.endswith(".shp"))
    return covariates_from_frame(read_dukcapil(raw_dir / shp)).data


@pytest.fixture(scope="session")
def demo(tmp_path_factory, covariates):
    """The default demo (80 PPS kelurahan + the oversample), with dirt, both formats, XML values."""
    out = tmp_path_factory.mktemp("demo")
    truth = generate(GenerateOptions(out=out, households=2500), covariates=covariates)
    return out, truth


def read_csv(path, sep=";"):
    return pd.read_csv(path, sep=sep, dtype=str, keep_default_na=False)


def small(tmp_path, name, **kw):
    out = tmp_path / name
    opts = dict(out=out, households=300, kelurahan=10, format="csv")
    opts.update(kw)
    truth = generate(GenerateOptions(**opts))
    return out, truth


def test_clean_export_passes_every_constraint_and_choice_list(tmp_path):
    out, truth = small(tmp_path, "clean", dirt=False)
    main, rep = read_csv(out / f"{STEM}.csv"), read_csv(out / f"{STEM}-anggota.csv")
    form = q.load_form()
    assert q.check_export(main, rep, form) == {}
    assert truth["dirt"]["counts"] == {}
    # the constraints check_export does not evaluate: 'none' is exclusive; the respondent is a member aged 15+
    for col in ("rumah_tangga/connection", "informasi/info_bansos"):
        multi = main[col].str.split()
        assert not any("none" in v and len(v) > 1 for v in multi)
    ages = rep.assign(age=rep["anggota/age"].astype(int), line=rep["anggota/line_no"].astype(int),
                      _parent_index=rep["_parent_index"].astype(int))
    resp = main[["_index", "penutup/respondent_line_no", "rumah_tangga/hh_size"]].astype(int)
    joined = resp.merge(ages, left_on=["_index", "penutup/respondent_line_no"], right_on=["_parent_index", "line"])
    assert len(joined) == len(main) and (joined["age"] >= 15).all()
    # the roster has exactly hh_size members
    counts = ages.groupby("_parent_index").size()
    assert (counts.reindex(resp["_index"]).to_numpy() == resp["rumah_tangga/hh_size"].to_numpy()).all()


def test_injected_dirt_is_what_breaks_the_form_and_is_counted(demo):
    out, truth = demo
    counts = truth["dirt"]["counts"]
    assert all(counts[k] > 0 for k in kx.DIRT_RATES)
    main, rep = read_csv(out / f"{STEM}.csv"), read_csv(out / f"{STEM}-anggota.csv")
    problems = q.check_export(main, rep)
    # no answer outside its choice list; the only out-of-range numbers are the injected ages
    assert not any("unknown_choice" in v or "not_a_number" in v for v in problems.values())
    assert {k for k, v in problems.items() if "out_of_range" in v} == {"anggota/age"}
    assert problems["anggota/age"]["out_of_range"] == counts["age_out_of_range"]
    # duplicates share a _uuid; test submissions are by test/coba and before fieldwork
    assert main["_uuid"].duplicated().sum() == counts["duplicate_submission"]
    test_rows = main["enumerator"].str.lower().str.match(r"^(test|coba)")
    assert test_rows.sum() == counts["test_submission"]
    assert (main.loc[test_rows, "today"] < FIELDWORK_START).all()
    assert (main.loc[~test_rows, "today"] >= FIELDWORK_START).all()
    first = main[~main["_uuid"].duplicated() & ~test_rows]
    assert (first["consent"] == "no").sum() == counts["no_consent"]
    assert (first["lokasi/kelurahan"] == "other").sum() == counts["kelurahan_misspelled"]
    known = {c.labels["Indonesian (id)"] for c in q.load_form().choices["kelurahan"]}
    assert not first.loc[first["lokasi/kelurahan"] == "other", "lokasi/kelurahan_other"].isin(known).any()
    # personal numbers in the notes: 16-digit NIK/KK with a DKI prefix, phones +62 / 08
    notes = first["penutup/catatan"]
    sixteen = notes.str.findall(r"(?<!\d)(3[01]\d{14})(?!\d)").str.len().sum()
    assert sixteen == counts["pii_nik_in_notes"] + counts["pii_kk_in_notes"]
    phones = notes.str.findall(r"(?:\+62 8\d{2}-\d{4}-\d{4}|(?<!\d)08\d{2}-?\d{4}-?\d{4}(?!\d))").str.len().sum()
    assert phones == counts["pii_phone_in_notes"]
    # the manifest holds counts only, never a value
    assert not re.search(r"\d{10,}", json.dumps(truth["dirt"]))


def test_same_seed_same_bytes_and_another_seed_differs(tmp_path):
    a, _ = small(tmp_path, "a", format="both")
    b, _ = small(tmp_path, "b", format="both")
    c, _ = small(tmp_path, "c", format="both", seed=7)
    names = sorted(p.name for p in a.iterdir())
    assert names == sorted(p.name for p in b.iterdir())
    for name in names:
        assert (a / name).read_bytes() == (b / name).read_bytes(), name
    assert (a / f"{STEM}.csv").read_bytes() != (c / f"{STEM}.csv").read_bytes()


def test_xlsx_has_the_kobo_sheets_and_columns(demo):
    out, _ = demo
    wb = load_workbook(out / f"{STEM}.xlsx", read_only=True)
    assert wb.sheetnames == [kx.MAIN_SHEET, q.REPEAT_NAME] and "SYNTHETIC" in wb.sheetnames[0]
    main = pd.read_excel(out / f"{STEM}.xlsx", sheet_name=0, dtype=str, keep_default_na=False)
    rep = pd.read_excel(out / f"{STEM}.xlsx", sheet_name=q.REPEAT_NAME, dtype=str, keep_default_na=False)
    assert list(main.columns) == list(read_csv(out / f"{STEM}.csv").columns)
    assert list(main.columns[-10:]) == kx.META_COLUMNS
    assert list(rep.columns[-len(kx.REPEAT_META):]) == kx.REPEAT_META
    assert {"lokasi/kota", "rumah_tangga/connection", "rumah_tangga/connection/mobile_data", "anggota/age"} <= set(main.columns) | set(rep.columns)
    # the repeat joins its submission by _parent_index -> _index and copies the submission's _uuid
    parent = rep.merge(main[["_index", "_uuid", "_id"]], left_on="_parent_index", right_on="_index", how="left")
    assert parent["_uuid"].notna().all() and (parent["_uuid"] == parent["_submission__uuid"]).all()
    assert (rep["_parent_table_name"] == kx.MAIN_SHEET).all()
    assert (main["_index"].astype(int) == np.arange(1, len(main) + 1)).all()
    # select_multiple: the space-separated answer agrees with the 0/1 columns
    form = q.load_form()
    for f in [f for f in form.main_fields if f.type == "select_multiple"]:
        asked = main[f.path] != ""
        for opt in form.choice_names(f.list_name):
            col = main[f"{f.path}/{opt}"]
            has = main[f.path].str.split().apply(lambda v, o=opt: o in v)
            assert (col[asked] == np.where(has[asked], "1", "0")).all()
            assert (col[~asked] == "").all()
    assert (main["_tags"] == "synthetic").all() and (rep["_submission__tags"] == "synthetic").all()


def test_labels_export_in_english_with_comma(tmp_path):
    out, _ = small(tmp_path, "labels", values="labels", lang="English (en)", delimiter=",")
    main = read_csv(out / f"{STEM}.csv", sep=",")
    rep = read_csv(out / f"{STEM}-anggota.csv", sep=",")
    form = q.load_form()
    mapping = form.header_map("English (en)")
    assert all(c in mapping or c in kx.META_COLUMNS for c in main.columns)
    assert all(c in mapping or c in kx.REPEAT_META for c in rep.columns)
    assert set(main["Do you agree to be interviewed?"]) <= {"Yes", "No"}
    assert set(rep["Sex"]) <= {"Male", "Female", ""}
    assert set(main["Internet connections used at home/Mobile data (quota)"]) <= {"0", "1", ""}  # "" = refused


def test_calibration_targets_on_the_synthetic_city(demo):
    """The generator's truth meets the Susenas 2019 DKI targets within 1.5 pp each (docs/CALIBRATION.md)."""
    from analysis.survey.generate import CALIBRATION_TARGETS

    _, truth = demo
    city = truth["city_truth_weighted"]
    targets = {
        "uses_internet": 0.7346,  # persons 5+, Susenas March 2019
        "has_internet": 0.9333,  # households, BPS Statistik Telekomunikasi 2019
        "uses_internet_male": 0.7617,
        "uses_internet_female": 0.7074,
        "uses_internet_smp_plus": 0.8760,
        "uses_internet_no_diploma_15plus": 0.0735,  # SMERU
    }
    assert CALIBRATION_TARGETS == targets
    for key, target in targets.items():
        assert city[key] == pytest.approx(target, abs=0.015), key
    # the published direction: bottom 40% < middle 40% < top 20% of expenditure
    assert city["uses_internet_bottom40"] < city["uses_internet_middle40"] < city["uses_internet_top20"]
    assert truth["model"]["targets"]["households_with_internet_pct"] == 93.33
    assert truth["model"]["kota_poverty_pct"]["31.01"] == 13.03  # Kepulauan Seribu, March 2024


def test_weighted_sample_reproduces_the_targets(demo):
    """The design-weighted sample (clean submissions only) lands near the published figures."""
    out, _ = demo
    main, rep = read_csv(out / f"{STEM}.csv"), read_csv(out / f"{STEM}-anggota.csv")
    design = pd.read_csv(out / "design.csv", dtype={"rw": str})
    ok = ~main["_uuid"].duplicated() & ~main["enumerator"].str.lower().str.match(r"^(test|coba)") & (main["consent"] == "yes")
    hh = main[ok & (main["lokasi/kelurahan"] != "other")].merge(
        design[["kode_kemendagri", "rw", "design_weight"]], left_on=["lokasi/kelurahan", "lokasi/rw"],
        right_on=["kode_kemendagri", "rw"], how="left")
    assert hh["design_weight"].notna().all()
    users = rep[rep["anggota/uses_internet"] == "yes"].groupby("_parent_index").size()
    hh["has_internet"] = hh["_index"].map(users).fillna(0) > 0
    share = np.average(hh["has_internet"], weights=hh["design_weight"])
    assert share == pytest.approx(0.9333, abs=0.02)
    persons = rep.merge(hh[["_index", "design_weight"]], left_on="_parent_index", right_on="_index")
    persons = persons[pd.to_numeric(persons["anggota/age"]).between(15, 110) & (persons["anggota/education"] == "tidak_punya")]
    nd = np.average(persons["anggota/uses_internet"] == "yes", weights=persons["design_weight"])
    assert nd == pytest.approx(0.0735, abs=0.04)
    # the education gradient: tertiary >> no diploma
    assert nd < 0.25


def test_design_weights_sum_to_the_frame(demo):
    out, truth = demo
    design = pd.read_csv(out / "design.csv")
    total = (design["design_weight"] * design["households_sampled"]).sum()
    assert total == pytest.approx(truth["design"]["frame_households"], rel=0.02)
    by_stratum = (design["design_weight"] * design["households_sampled"]).groupby(design["stratum"].astype(str)).sum()
    for stratum, n in truth["design"]["frame_households_by_stratum"].items():
        assert by_stratum[stratum] == pytest.approx(n, rel=0.05), stratum
    assert design["size_source"].eq("dukcapil").all()
    assert truth["design"]["kelurahan_sampled"] == 82
    over = design[design["kode_kemendagri"].isin(design_mod.OVERSAMPLE)]
    assert set(over["kode_kemendagri"]) == set(design_mod.OVERSAMPLE) and over["certainty_kelurahan"].all()
    per_kel = design.groupby("kode_kemendagri")["households_sampled"].sum()
    assert per_kel[list(design_mod.OVERSAMPLE)].min() > 2 * per_kel.drop(list(design_mod.OVERSAMPLE)).median()
    assert (design["pi_kelurahan"].between(0, 1) & design["pi_rw"].between(0, 1) & design["pi_household"].between(0, 1)).all()


def test_every_file_is_labelled_synthetic(demo):
    out, truth = demo
    assert truth["synthetic"] is True
    assert "SYNTHETIC" in (out / "README.txt").read_text()
    for name in ("design.csv", "truth_kelurahan.csv"):
        assert pd.read_csv(out / name)["synthetic"].all()
    for path in out.iterdir():
        if path.name.startswith("akses"):
            assert "SYNTHETIC" in path.name
    assert set(truth["files"]) == {p.name for p in out.iterdir()}


def test_truth_rates_are_population_rates(demo):
    out, truth = demo
    tk = pd.read_csv(out / "truth_kelurahan.csv")
    assert set(tk["kode_kemendagri"]) >= set(design_mod.OVERSAMPLE)
    assert (tk["rate"] == tk["numerator"] / tk["denominator"]).all()
    rates = tk.pivot(index="kode_kemendagri", columns="indicator", values="rate")
    sites = list(design_mod.OVERSAMPLE)
    # the two field sites are poorer by construction: more DTKS, fewer know JAKI, fewer persons online
    assert (rates.loc[sites, "dtks"] > rates["dtks"].median()).all()
    assert (rates.loc[sites, "knows_jaki"] < rates["knows_jaki"].median()).all()
    assert (rates.loc[sites, "uses_internet"] < rates["uses_internet"].median()).all()
    # the denominators are whole populations, far larger than the sample
    assert tk.loc[tk["unit"] == "household", "denominator"].min() > 500


def test_cli_generate_and_ingest(tmp_path):
    from analysis.cli import main

    out = tmp_path / "cli"
    assert main(["survey", "generate", "--out", str(out), "--households", "200", "--kelurahan", "8", "--format", "csv"]) == 0
    assert (out / f"{STEM}.csv").is_file() and (out / "design.csv").is_file()
    rc = main(["survey", "ingest", str(out / f"{STEM}.csv"), "--out", str(tmp_path / "ingested"),
               "--design", str(out / "design.csv")])
    assert rc == 0


def test_a_tiny_demo_with_no_duplicate_drawn_is_written(tmp_path):
    """100 households in 4 kelurahan draw no duplicate submission (rate 1%): the export is still written, with
    every roster row attached to its household (this raised IndexError when the empty duplicates' parent
    column came back as object dtype)."""
    out, truth = small(tmp_path, "tiny", households=100, kelurahan=4)
    assert truth["dirt"]["counts"]["duplicate_submission"] == 0
    main = read_csv(out / f"{STEM}.csv")
    roster = read_csv(out / f"{STEM}-anggota.csv")
    assert len(main) == truth["dirt"]["submissions_exported"]
    assert len(roster) == truth["dirt"]["roster_rows_exported"]
    assert set(roster["_parent_index"].astype(int)) <= set(main["_index"].astype(int))


def test_unsampled_kelurahan_complete_the_city_with_the_sampled_ones_model(covariates):
    """``build_unsampled_populations`` completes the synthetic city (every kelurahan of the frame once, the sample
    and its population unchanged), on the sampled population's scale, and, because the first stage is PPS on the
    register's size (independent of the random effects), "sample, then generate the rest" is "generate all, then
    sample": the unsampled kelurahan's true rates have the sampled ones' distribution given the covariates. Over
    4 seeds (the field sites, whose poverty is raised by construction, left out): in ``logit(rate) ~ x + kota +
    log(households) + sampled`` the coefficient of ``sampled`` is within 3 SE of 0, and the residuals of the two
    groups pass a two-sample Kolmogorov-Smirnov test."""
    from scipy import stats

    from analysis.survey.generate import build_population, build_unsampled_populations, truth_tables

    frame = design_mod.kelurahan_frame(covariates=covariates)
    rows, shares = [], []
    for seed in (11, 12, 13, 14):
        rng = np.random.default_rng(seed)
        sample, rw = design_mod.select_sample(frame, design_mod.DesignSpec(households=1500, n_kelurahan=30), rng)
        pop = build_population(sample, rw, frame, rng)
        if seed == 11:  # its own scale given back, the same draws give the same population
            rng_again = np.random.default_rng(seed)
            design_mod.select_sample(frame, design_mod.DesignSpec(households=1500, n_kelurahan=30), rng_again)
            again = build_population(sample, rw, frame, rng_again, scale=pop.scale)
            np.testing.assert_array_equal(again.pp["internet"], pop.pp["internet"])
            np.testing.assert_array_equal(again.hh["quintile"], pop.hh["quintile"])
        parts = [(pop, True)] + [(p, False) for p in build_unsampled_populations(frame, sample, pop.scale, seed)]
        codes = np.concatenate([p.kel["kode_kemendagri"].to_numpy() for p, _ in parts])
        assert sorted(codes) == sorted(frame["kode_kemendagri"])  # every kelurahan of the frame, once
        households = {c: 0 for c in frame["kode_kemendagri"]}
        for p, is_sampled in parts:
            for code, n in zip(p.kel["kode_kemendagri"], np.bincount(p.hh["kel"], minlength=len(p.kel))):
                households[code] += n
            table, _ = truth_tables(p)
            table = table[table["indicator"].isin(["uses_internet", "has_internet"])]
            rows.append(table.assign(seed=seed, sampled=is_sampled))
        assert households == dict(zip(frame["kode_kemendagri"], frame["households"]))
        # one scale: the whole city's income quintiles (cut on the sampled part, weighted) are fifths of it
        quint = np.concatenate([p.hh["quintile"] for p, _ in parts])
        shares.append(np.bincount(quint, minlength=6)[1:] / len(quint))
    np.testing.assert_allclose(np.mean(shares, axis=0), 0.2, atol=0.01)
    t = pd.concat(rows, ignore_index=True)
    t = t[~t["kode_kemendagri"].isin(design_mod.OVERSAMPLE)]
    f = frame.set_index("kode_kemendagri")
    x_all = (f["share_adult_no_diploma"] - f["share_adult_no_diploma"].mean()) / f["share_adult_no_diploma"].std()
    for indicator in ("uses_internet", "has_internet"):
        d = t[t["indicator"] == indicator]
        kota = pd.get_dummies(f.loc[d["kode_kemendagri"], "kode_kab_kemendagri"].to_numpy(), drop_first=True, dtype=float)
        X = np.column_stack([np.ones(len(d)), x_all.loc[d["kode_kemendagri"]].fillna(0.0).to_numpy(),
                             np.log(f.loc[d["kode_kemendagri"], "households"].to_numpy(dtype=float)), kota.to_numpy(),
                             d["sampled"].to_numpy(dtype=float)])
        rate = d["rate"].to_numpy(dtype=float)
        y = np.log(rate / (1 - rate))
        beta, *_ = np.linalg.lstsq(X, y, rcond=None)
        resid = y - X @ beta
        sigma2 = resid @ resid / (len(y) - X.shape[1])
        se = np.sqrt(sigma2 * np.linalg.inv(X.T @ X)[-1, -1])
        assert abs(beta[-1]) < 3 * se, (indicator, beta[-1], se)
        s = d["sampled"].to_numpy()
        assert s.sum() > 100 and (~s).sum() > 800
        assert stats.ks_2samp(resid[s], resid[~s]).pvalue > 0.01, indicator
