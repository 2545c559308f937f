"""The direct-estimates stage on a simulated two-stage sample shaped like the survey tables: every indicator at
every level, domains estimated within the one design, the contract columns, and no suppressed number in any
written file."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from simulated_survey import make_survey

from analysis import sources
from analysis.build import BuildContext
from analysis.stats import estimates, indicators
from analysis.stats.design import SurveyDesign
from analysis.tables import Table, write_table

CONTRACT = ["indicator_id", "level", "area_code", "domain_var", "domain_value", "estimate", "se", "ci_low", "ci_high", "cv", "n", "df", "reliability"]


def _ctx(tmp_path: Path, households=None, persons=None) -> BuildContext:
    ctx = BuildContext(raw=tmp_path / "raw", processed=tmp_path / "processed", manifest=sources.load_manifest())
    if households is not None:
        ctx.tables["survey_households"] = Table("survey_households", "hh", "hh", households, [], ["demo_survey"], synthetic=True)
        ctx.tables["survey_persons"] = Table("survey_persons", "p", "p", persons, [], ["demo_survey"], synthetic=True)
    return ctx


@pytest.fixture(scope="module")
def survey():
    return make_survey(kel_per_kota=3, rw_per_kel=3, hh_per_rw=12, seed=7)


@pytest.fixture(scope="module")
def built_demo(tmp_path_factory):
    """Only the stages the survey needs (register, demo survey), not the whole build."""
    from analysis.build import run_build

    tmp = tmp_path_factory.mktemp("demo")
    ctx = run_build(raw=tmp / "raw", processed=tmp / "processed", stages=["analysis.etl.registers", "analysis.survey.stage"])
    return ctx.tables["survey_households"].data, ctx.tables["survey_persons"].data, ctx.tables["survey_truth"].data


@pytest.fixture(scope="module")
def built(survey, tmp_path_factory):
    households, persons = survey
    ctx = _ctx(tmp_path_factory.mktemp("est"), households, persons)
    return ctx, estimates.build(ctx)


def test_no_survey_means_no_tables_and_a_note(tmp_path):
    ctx = _ctx(tmp_path)
    assert estimates.build(ctx) == []
    assert any(n["stage"] == estimates.STAGE and "no survey" in n["message"] for n in ctx.notes)


def test_stage_returns_registry_and_estimates_per_contract(built, survey):
    ctx, tables = built
    by_name = {t.name: t for t in tables}
    assert set(by_name) == {"indicators", "estimates", "quota_spend_quantiles"}
    est = by_name["estimates"]
    est.check()
    assert est.data.columns.tolist() == CONTRACT + ["synthetic", "area_name"]
    assert est.synthetic and est.data["synthetic"].all()
    households, persons = survey
    assert est.rows_in == est.rows_used == len(households) + len(persons)
    assert any("direct estimates" in n["message"] for n in ctx.notes)


def test_every_indicator_at_every_level(built, survey):
    households, _ = survey
    data = {t.name: t for t in built[1]}["estimates"].data
    kota = sorted(households["kode_kab_kemendagri"].unique())
    kel = sorted(households["kode_kemendagri"].unique())
    for i in indicators.REGISTRY:
        rows = data[data["indicator_id"] == i.indicator_id]
        assert rows.loc[rows["level"] == "city", "area_code"].tolist() == ["31"]
        assert sorted(rows.loc[rows["level"] == "kota", "area_code"]) == kota
        assert sorted(rows.loc[rows["level"] == "kelurahan", "area_code"]) == kel
        dom = rows[rows["level"] == "domain"]
        assert set(dom["domain_var"]) == set(estimates.DOMAIN_VARS)
        # the city, every sampled kota and every sampled kelurahan by group (issue 14.1: who is left out, locally)
        assert set(dom["area_code"]) == {"31", *kota, *kel}
        assert rows.loc[rows["level"] != "domain", ["domain_var", "domain_value"]].isna().all().all()
        assert set(dom.loc[dom["domain_var"] == "income_quintile", "domain_value"]) <= {"1", "2", "3", "4", "5"}


def test_values_are_domains_of_the_whole_design(survey):
    households, persons = survey
    raw = estimates.compute(households, persons, suppress=False)
    design = SurveyDesign(households, "weight", strata="stratum", psu="psu", fpc="fpc_psu")
    city = raw[(raw.indicator_id == "hh_internet") & (raw.level == "city")].iloc[0]
    ref = design.prop("has_internet", ci="logit", suppress=False).iloc[0]
    assert city["estimate"] == pytest.approx(ref["estimate"]) and city["se"] == pytest.approx(ref["se"])
    kel = raw[(raw.indicator_id == "hh_internet") & (raw.level == "kelurahan")].set_index("area_code")
    ref = design.prop("has_internet", by="kode_kemendagri", ci="logit", suppress=False).set_index("kode_kemendagri")
    assert np.allclose(kel["se"], ref.loc[kel.index, "se"])
    # domain degrees of freedom: the kelurahan's PSUs (RWs) minus its one stratum (kota)
    rws = households.groupby("kode_kemendagri")["psu"].nunique()
    assert (kel["df"] == rws.loc[kel.index] - 1).all()
    city_df = raw.loc[(raw.indicator_id == "hh_internet") & (raw.level == "city"), "df"].iloc[0]
    assert city_df == design.df
    # person indicators: universe persons aged 5+ as a domain; n counts answers in the universe
    pdesign = SurveyDesign(persons, "weight", strata="stratum", psu="psu", fpc="fpc_psu")
    row = raw[(raw.indicator_id == "person_internet") & (raw.level == "city")].iloc[0]
    five_plus = (persons["age"] >= 5) & persons["uses_internet"].notna()
    assert row["n"] == int(five_plus.sum())
    ref = pdesign.prop("uses_internet", where=(persons["age"] >= 5).to_numpy(), ci="logit", suppress=False).iloc[0]
    assert row["se"] == pytest.approx(ref["se"])
    # a kelurahan by group is a domain of the whole design too: the women of the largest sampled kelurahan, by hand
    tengah = persons["kode_kemendagri"].value_counts().index[0]
    dom = raw[(raw.indicator_id == "person_internet") & (raw.level == "domain") & (raw.area_code == tengah)
              & (raw.domain_var == "sex") & (raw.domain_value == "P")].iloc[0]
    mask = ((persons["age"] >= 5) & (persons["kode_kemendagri"] == tengah) & (persons["sex"] == "P")).to_numpy()
    ref = pdesign.prop("uses_internet", where=mask, ci="logit", suppress=False).iloc[0]
    assert dom["estimate"] == pytest.approx(ref["estimate"]) and dom["se"] == pytest.approx(ref["se"])


def test_household_groups_use_the_respondent(survey):
    households, persons = survey
    raw = estimates.compute(households, persons, suppress=False, indicator_ids={"jaki_aware"})
    edu = raw[(raw.level == "domain") & (raw.domain_var == "education") & (raw.area_code == "31")].set_index("domain_value")
    counts = households.loc[households["knows_jaki"].notna(), "respondent_education"].value_counts()
    assert edu["n"].to_dict() == counts.to_dict()


def test_proportion_intervals_inside_unit_interval_and_means_unbounded(built):
    data = {t.name: t for t in built[1]}["estimates"].data.dropna(subset=["estimate"])
    props = data[data["indicator_id"] != "quota_burden"]
    eps = 1e-12
    assert ((props["ci_low"] >= 0) & (props["ci_high"] <= 1) & (props["ci_low"] <= props["estimate"] + eps) & (props["estimate"] <= props["ci_high"] + eps)).all()


def test_suppressed_estimates_never_reach_a_file(built, survey, tmp_path):
    est = {t.name: t for t in built[1]}["estimates"]
    suppressed = est.data["reliability"] == "suppressed"
    assert suppressed.any(), "the small simulated sample must have suppressed cells for this test"
    number_cols = ["estimate", "se", "ci_low", "ci_high", "cv"]
    assert est.data.loc[suppressed, number_cols].isna().all().all()
    shown = est.data[~suppressed]
    assert shown[["estimate", "se", "ci_low", "ci_high"]].notna().all().all()
    assert (shown["cv"].notna() | (shown["estimate"] == 0)).all()  # CV undefined only at an estimate of 0
    write_table(est, tmp_path)
    back = pd.read_parquet(tmp_path / "estimates.parquet")
    assert back.loc[back["reliability"] == "suppressed", number_cols].isna().all().all()
    csv = pd.read_csv(tmp_path / "estimates.csv", dtype=str, keep_default_na=False)
    assert (csv.loc[csv["reliability"] == "suppressed", number_cols] == "").all().all()
    # the numbers exist internally (for small-area models) but only there
    households, persons = survey
    raw = estimates.compute(households, persons, suppress=False)
    key = ["indicator_id", "level", "area_code", "domain_var", "domain_value"]
    merged = est.data.merge(raw, on=key, suffixes=("", "_raw"))
    assert merged.loc[merged["reliability"] == "suppressed", "estimate_raw"].notna().any()


def test_deterministic(survey):
    households, persons = survey
    a = estimates.estimates_table(households, persons, ["demo_survey"]).data
    b = estimates.estimates_table(households.sample(frac=1, random_state=3), persons.sample(frac=1, random_state=4), ["demo_survey"]).data
    pd.testing.assert_frame_equal(a, b, check_exact=False, rtol=1e-9)


def test_intervals_cover_the_known_truth_of_the_synthetic_demo_survey(built_demo):
    """The survey stage's SYNTHETIC demo comes with the true kelurahan rates of its generating population
    (``survey_truth``). Kelurahan are sampled in a few RWs, so the domain df and Korn-Graubard intervals
    matter: they must cover the truth at least at the nominal rate (logit intervals with the design df
    covered only 83% here)."""
    households, persons, truth = built_demo
    mapping = {"has_internet": "hh_internet", "uses_internet": "person_internet", "owns_smartphone": "person_smartphone",
               "digital_skill_basic": "person_digital_skill", "knows_jaki": "jaki_aware", "installed_jaki": "jaki_installed",
               "used_bst_check": "bst_check_used", "info_rt_rw": "info_rt_rw", "info_whatsapp": "info_whatsapp", "info_jaki": "info_jaki"}
    raw = estimates.compute(households, persons, suppress=False, indicator_ids=set(mapping.values()))
    rates = truth[truth["kind"] == "kelurahan_rate"].assign(indicator_id=lambda d: d["indicator"].map(mapping)).dropna(subset=["indicator_id"])
    joined = raw[raw["level"] == "kelurahan"].merge(rates, left_on=["area_code", "indicator_id"], right_on=["kode_kemendagri", "indicator_id"])
    assert len(joined) >= 500
    covered = (joined["ci_low"] <= joined["value"]) & (joined["value"] <= joined["ci_high"])
    assert covered.mean() >= 0.94, covered.mean()
    city = raw[raw["level"] == "city"].merge(truth[truth["kind"] == "city_rate"].assign(indicator_id=lambda d: d["indicator"].map(mapping)), on="indicator_id")
    assert len(city) == len(mapping)
    assert ((city["ci_low"] <= city["value"]) & (city["value"] <= city["ci_high"])).mean() >= 0.8


def test_published_tables_name_their_areas():
    """``estimates``, ``gaps`` and ``sae_estimates`` carry the area's name beside its code (last column): the
    register's kelurahan or kota name, DKI Jakarta for 31; pinned by a hand lookup in the register."""
    from analysis.areas import area_names, with_area_name
    from analysis.etl.registers import load_register
    from analysis.stats import gaps, sae

    register = load_register()
    names = area_names(register)
    kel = register.iloc[0]
    assert names["31"] == "DKI Jakarta"
    assert names[kel["kode_kemendagri"]] == kel["kelurahan"] and names[kel["kode_kab_kemendagri"]] == kel["kab_kota"]
    for fields in (estimates.TABLE_FIELDS, gaps.TABLE_FIELDS, sae.TABLE_FIELDS):
        assert fields[-1].name == "area_name" and fields[-1].description
    frame = pd.DataFrame({"area_code": ["31", kel["kode_kab_kemendagri"], kel["kode_kemendagri"], "99.99"]})
    assert with_area_name(frame, register)["area_name"].tolist()[:3] == ["DKI Jakarta", kel["kab_kota"], kel["kelurahan"]]
    assert pd.isna(with_area_name(frame, register)["area_name"].iloc[3])
    assert with_area_name(frame, None)["area_name"].tolist()[0] == "DKI Jakarta"
