"""Kelurahan gaps from kota and city (analysis.stats.gaps) on the seeded simulated two-stage survey
(``tests/stats/simulated_survey.py``, synthetic) and on a simulated finite population for CI coverage."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import stats
from simulated_survey import make_survey

from analysis.stats import estimates, gaps
from analysis.stats import indicators as ind
from analysis.stats.design import PsuAggregator, SurveyDesign, linearized_covariance


@pytest.fixture(scope="module")
def survey():
    return make_survey(seed=4)


def test_contrast_se_equals_the_unit_level_linearisation_of_both_estimators(survey):
    """PSU-aggregated contrast == stacking SurveyDesign.scores_mean of the domain and the population."""
    households, persons = survey
    indicator = ind.get("person_internet")
    y, universe = indicator.values(persons)
    y = np.where(universe, y, np.nan)
    design = SurveyDesign(persons, "weight", strata="stratum", psu="psu", fpc="fpc_psu")
    kel = persons["kode_kemendagri"].iloc[0]
    kota = persons["kode_kab_kemendagri"].iloc[0]
    d = (persons["kode_kemendagri"] == kel).to_numpy()
    k = (persons["kode_kab_kemendagri"] == kota).to_numpy()
    for pop in (k, None):
        res = gaps.contrast(persons, y, d, pop)
        z = np.column_stack([design.scores_mean(y, d), design.scores_mean(y, pop)])
        V = design.covariance(z)
        var_diff = V[0, 0] + V[1, 1] - 2 * V[0, 1]
        assert res["se"] == pytest.approx(np.sqrt(var_diff), rel=1e-10)
        direct = design.prop(y, where=d, suppress=False)["estimate"].iloc[0]
        ref = design.prop(y, where=pop, suppress=False)["estimate"].iloc[0] if pop is not None else design.prop(y, suppress=False)["estimate"].iloc[0]
        assert res["diff"] == pytest.approx(direct - ref, abs=1e-12)
        # the kelurahan is part of the reference: positively correlated, so the independent-samples SE overstates
        assert V[0, 1] > 0
        assert res["se"] < np.sqrt(V[0, 0] + V[1, 1])


def test_indicator_gaps_agree_with_contrast_for_every_kelurahan(survey):
    """Same difference as ``contrast``; the SE is the unit-level linearisation of both estimators with the
    kelurahan's RWs as a stratum of their own (the second-stage variance given the kelurahan) and every other
    PSU in its kota stratum with the kota's fpc, and it is larger than the kota-centred ``contrast`` SE."""
    households, persons = survey
    indicator = ind.get("hh_internet")
    table = gaps.indicator_gaps(households, indicator)
    assert set(table["vs"]) == {"kota", "city"} and set(table["method"]) == {"direct"}
    assert table["kode_kemendagri"].nunique() == households["kode_kemendagri"].nunique()
    y, universe = indicator.values(households)
    y = np.where(universe, y, np.nan)
    design = SurveyDesign(households, "weight", strata="stratum", psu="psu", fpc="fpc_psu")
    n_h = households.groupby("stratum")["psu"].nunique()
    f_h = households["stratum"].map(n_h).to_numpy() / households["fpc_psu"].to_numpy(dtype=float)
    for _, row in table.sample(6, random_state=0).iterrows():
        d = (households["kode_kemendagri"] == row["kode_kemendagri"]).to_numpy()
        pop = None if row["vs"] == "city" else (households["kode_kab_kemendagri"] == row["reference_code"]).to_numpy()
        ref = gaps.contrast(households, y, d, pop)
        assert row["diff"] == pytest.approx(ref["diff"], abs=1e-12)
        z = design.scores_mean(y, d) - design.scores_mean(y, pop)
        strata = np.where(d, "kel", households["stratum"].to_numpy(dtype=object))
        fpc = np.where(d, np.nan, f_h)
        var = linearized_covariance(z[:, None], strata, households["psu"], fpc)[0, 0]
        assert row["se"] == pytest.approx(np.sqrt(var), rel=1e-10)
        assert row["se"] > ref["se"]
        assert row["ci_low"] < row["diff"] < row["ci_high"]
        # the kelurahan's few RWs set the df: between its domain df and the design's; contrast() counts its df
        # the same way (Satterthwaite of the domain's PSUs and the rest), no longer the design df (issue 12)
        rws = households.loc[d, "psu"].nunique()
        design_df = PsuAggregator(households).df
        assert rws - 1 <= row["df"] < 0.5 * design_df
        assert rws - 1 <= ref["df"] < 0.5 * design_df


def test_suppressed_sides_never_emit_a_gap(survey):
    households, persons = survey
    est = estimates.compute(households, persons, suppress=True)
    table = gaps.compute(households, persons, est)
    assert list(table.columns) == gaps.GAP_COLUMNS
    kel = est[(est["level"] == "kelurahan")].set_index(["indicator_id", "area_code"])["reliability"]
    merged = table.join(kel.rename("kel_rel"), on=["indicator_id", "kode_kemendagri"])
    sup = merged["kel_rel"] == "suppressed"
    assert sup.any(), "the simulated survey should have some suppressed kelurahan estimates"
    assert (merged.loc[sup, "reliability"] == "suppressed").all()
    assert merged.loc[sup, ["diff", "se", "ci_low", "ci_high", "p_value"]].isna().all().all()
    published = table["reliability"] != "suppressed"
    assert table.loc[published, ["diff", "se", "p_value"]].notna().all().all()


def test_gap_confidence_intervals_cover_the_true_difference():
    """Stratified cluster sampling from a fixed finite population: the 95% CI of (domain - population) covers
    the true difference in about 95% of 200 samples."""
    rng = np.random.default_rng(99)
    H, P_h, m = 4, 80, 25  # strata, PSUs per stratum in the population, persons per PSU
    psu_eff = rng.normal(0, 0.6, H * P_h)
    rows = np.repeat(np.arange(H * P_h), m)
    stratum = rows // P_h
    domain = (rows % 4 == 0) & (rng.random(len(rows)) < 0.9) | (rng.random(len(rows)) < 0.05)
    y = (rng.random(len(rows)) < 1 / (1 + np.exp(-(0.3 + psu_eff[rows] - 0.8 * domain)))).astype(float)
    truth = y[domain].mean() - y.mean()
    pop = pd.DataFrame({"psu": rows, "stratum": stratum, "y": y, "domain": domain})
    n_h = 12
    covered = 0
    reps = 200
    for _ in range(reps):
        chosen = np.concatenate([rng.choice(np.arange(h * P_h, (h + 1) * P_h), n_h, replace=False) for h in range(H)])
        s = pop[np.isin(pop["psu"], chosen)].copy()
        s["weight"] = P_h / n_h
        s["fpc_psu"] = float(P_h)
        res = gaps.contrast(s, s["y"].to_numpy(), s["domain"].to_numpy())
        covered += res["ci_low"] <= truth <= res["ci_high"]
    assert 0.90 <= covered / reps <= 0.99


def test_wilson_interval_of_a_simple_random_sample_is_newcombes_score_interval():
    """With ``var = p (1 - p) / n`` and unlimited df the effective n is n and the interval is Wilson's score
    interval; values from Newcombe (1998, *Statistics in Medicine* 17, 857-872, Table I, method 3: score interval
    without continuity correction), to the 4 decimals printed there."""
    published = {(81, 263): (0.2553, 0.3662), (15, 148): (0.0624, 0.1605), (0, 20): (0.0, 0.1611), (1, 29): (0.0061, 0.1718)}
    for (x, n), (lo, hi) in published.items():
        p = x / n
        low, high = gaps.wilson_interval(p, np.sqrt(p * (1 - p) / n), n, 1e9)
        assert (round(float(low), 4), round(float(high), 4)) == (lo, hi), (x, n)


def test_wilson_interval_widens_with_few_degrees_of_freedom_and_stays_inside_korn_graubard():
    """A kelurahan-like side: design effect 2 and 3 df. Fewer df shrink the effective n by (z / t_df)^2, as in
    Korn & Graubard (1998); the score interval is narrower than their Clopper-Pearson one on the same n and df."""
    from analysis.stats.design import korn_graubard_interval

    p, n = 0.3, 120
    se = np.sqrt(2 * p * (1 - p) / n)
    lo3, hi3 = gaps.wilson_interval(p, se, n, 3)
    lo_inf, hi_inf = gaps.wilson_interval(p, se, n, 1e9)
    assert lo3 < lo_inf < p < hi_inf < hi3
    klo, khi = korn_graubard_interval(p, se, n, 3)
    assert klo < lo3 and hi3 < khi


def test_fast_diagonal_variances_equal_the_design_covariance_diagonal(survey):
    households, _ = survey
    agg = PsuAggregator(households)
    rng = np.random.default_rng(2)
    Z = rng.normal(size=(agg.n_psu, 7))
    full = np.diag(linearized_covariance(Z, agg.strata, np.arange(agg.n_psu), agg.fpc))
    np.testing.assert_allclose(np.diag(agg.layout.covariance(Z)), full, rtol=1e-12)
    np.testing.assert_allclose(agg.variances(Z), full, rtol=1e-12)


def test_mover_p_value_inverts_the_interval():
    """For a symmetric normal interval the inverted p-value is the z test's; for any interval family p < 1 - level
    exactly when that level's interval excludes zero."""
    d, s = np.array([-0.05, 0.02, 0.0, 0.3]), np.array([0.02, 0.02, 0.01, 0.05])

    def normal(level):
        z = stats.norm.ppf(0.5 + np.asarray(level) / 2)
        return d - z * s, d + z * s

    p = gaps.mover_p_value(d, normal)
    np.testing.assert_allclose(p, 2 * stats.norm.sf(np.abs(d) / s), atol=1e-9)

    def skewed(level):  # an asymmetric interval: longer towards zero for the negative difference
        z = stats.norm.ppf(0.5 + np.asarray(level) / 2)
        return d - z * s * 0.5, d + z * s * 2.0

    p = gaps.mover_p_value(d, skewed)
    low, high = skewed(0.95)
    assert ((p < 0.05) == ((low > 0) | (high < 0))).all()


def test_demo_direct_gaps_are_significant_exactly_when_their_interval_excludes_zero(built):
    """On the full build every published direct gap has p < 0.05 exactly when its 95% interval excludes zero (the
    t test on the Satterthwaite df disagreed with the asymmetric MOVER interval in borderline rows)."""
    g = built.tables["gaps"].data
    d = g[(g["method"] == gaps.DIRECT) & g["p_value"].notna()]
    assert len(d) > 500
    excludes = (d["ci_low"] > 0) | (d["ci_high"] < 0)
    assert ((d["p_value"] < 0.05) == excludes).all()
