"""Fay-Herriot small-area estimation (analysis.stats.sae).

Reference implementation: samplics 0.6.1 ``EblupAreaModel`` (REML) on samplics' shipped "expenditure on milk"
data (Arora & Lahiri 1997; used in Rao & Molina 2015, Example 6.1.x and in the samplics documentation), read
through ``area_est`` / ``area_mse`` because its ``to_dataframe`` breaks on pandas 3.
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest

from analysis.stats import sae


def _milk():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)
        from samplics.datasets import load_expenditure_milk
        from samplics.sae import EblupAreaModel
        from samplics.utils.types import FitMethod
    milk = load_expenditure_milk()["data"]
    X = pd.get_dummies(milk["major_area"], drop_first=True).to_numpy(float)
    return milk, X, EblupAreaModel, FitMethod


def test_reml_eblup_and_mse_match_samplics_on_milk_data():
    milk, X, EblupAreaModel, FitMethod = _milk()
    ref = EblupAreaModel(method=FitMethod.reml)
    ref.fit(yhat=milk["direct_est"], X=X, area=milk["small_area"], error_std=milk["std_error"], intercept=True, tol=1e-12)
    ref.predict(X=X, area=milk["small_area"], intercept=True)

    Xi = np.column_stack([np.ones(len(X)), X])
    psi = milk["std_error"].to_numpy() ** 2
    fit = sae.fit_fay_herriot(milk["direct_est"], Xi, psi)
    pred = sae.predict_sampled(fit, milk["direct_est"], Xi, psi)

    assert fit.converged
    assert fit.sigma2_u == pytest.approx(ref.re_std**2, rel=1e-8)
    np.testing.assert_allclose(fit.beta, ref.fixed_effects, rtol=1e-8)
    np.testing.assert_allclose(pred.estimate, np.array(list(ref.area_est.values())), rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(pred.mse, np.array(list(ref.area_mse.values())), rtol=1e-8, atol=1e-14)
    # published REML value for these data (Rao & Molina 2015): sigma2_u ~= 0.019
    assert fit.sigma2_u == pytest.approx(0.0186, abs=5e-4)


def test_moment_estimator_is_zero_when_direct_estimates_are_less_dispersed_than_their_errors():
    rng = np.random.default_rng(3)
    m = 40
    X = np.column_stack([np.ones(m), rng.normal(size=m)])
    psi = np.full(m, 1.0)
    y = X @ np.array([1.0, 0.5]) + rng.normal(scale=0.2, size=m)  # far less noise than psi says
    assert sae.fh_moment_sigma2(y, X, psi) == 0.0
    fit = sae.fit_fay_herriot(y, X, psi)
    assert fit.sigma2_u == 0.0
    pred = sae.predict_sampled(fit, y, X, psi)
    np.testing.assert_allclose(pred.gamma, 0.0)
    np.testing.assert_allclose(pred.estimate, X @ fit.beta)


def test_bad_inputs_are_rejected():
    X = np.column_stack([np.ones(5), np.arange(5.0)])
    with pytest.raises(ValueError, match="strictly positive"):
        sae.fit_fay_herriot(np.ones(5), X, np.array([1, 1, 0, 1, 1.0]))
    with pytest.raises(ValueError, match="rank deficient"):
        sae.fit_fay_herriot(np.ones(5), np.column_stack([X, X[:, 1]]), np.ones(5))


def _binomial_population(rng, m=200, sampled=120):
    """Areas with a covariate, true proportions from a logistic area model, binomial samples in some areas."""
    x = rng.normal(size=m)
    kota = rng.integers(0, 5, size=m)
    p_true = 1 / (1 + np.exp(-(0.6 + 0.9 * x + rng.normal(scale=0.35, size=m))))
    n = np.zeros(m, dtype=int)
    idx = rng.choice(m, size=sampled, replace=False)
    n[idx] = rng.integers(12, 80, size=sampled)
    hits = rng.binomial(n, p_true)
    return x, kota, p_true, n, hits


def test_sae_beats_direct_estimates_against_known_truth():
    """On a synthetic population with known area proportions, EBLUP has lower MSE than the direct estimates."""
    rng = np.random.default_rng(20240501)
    mse_direct, mse_sae, mse_synth, est_mse_synth = [], [], [], []
    for _ in range(20):
        x, kota, p_true, n, hits = _binomial_population(rng)
        s = n > 0
        direct = hits[s] / n[s]
        kota_p = pd.Series(hits).groupby(kota).sum() / pd.Series(n).groupby(kota).sum()
        p_ref = kota_p.reindex(kota).to_numpy()
        direct_all = np.where(s, hits / np.maximum(n, 1), np.nan)
        var_all = direct_all * (1 - direct_all) / np.maximum(n, 1)  # binomial sampling: design effect 1
        X = np.column_stack([np.ones(len(x)), x])
        res = sae.fay_herriot_proportion(direct_all, var_all, n, X, p_ref, sampled=s)
        assert res.deff == pytest.approx(1.0, rel=1e-9)
        assert set(res.kind[s]) == {"composite"} and set(res.kind[~s]) == {"synthetic"}
        mse_direct.append(np.mean((direct - p_true[s]) ** 2))
        mse_sae.append(np.mean((res.estimate[s] - p_true[s]) ** 2))
        mse_synth.append(np.mean((res.estimate[~s] - p_true[~s]) ** 2))
        est_mse_synth.append(np.mean(res.mse[~s]))
        assert np.all((res.gamma[s] > 0) & (res.gamma[s] < 1))
        assert np.all(res.mse[~s] > res.fit.sigma2_u)
    assert np.mean(mse_sae) < 0.7 * np.mean(mse_direct)
    # the synthetic estimate for unsampled areas is honest about its error: estimated MSE ~ realised MSE
    assert np.mean(mse_synth) == pytest.approx(np.mean(est_mse_synth), rel=0.35)


def test_ratio_benchmark_hits_the_target_and_respects_the_upper_bound():
    est = np.array([0.99, 0.97, 0.90, 0.80, 0.60])
    w = np.array([1.0, 2.0, 3.0, 2.0, 1.0])
    out, ratio = sae.ratio_benchmark(est, w, target=0.93)
    assert np.sum(w * out) / np.sum(w) == pytest.approx(0.93, abs=1e-12)
    assert np.all(out <= 1.0)
    assert out[0] == 1.0  # held at the bound
    free = out < 1.0
    assert free.sum() >= 2
    np.testing.assert_allclose(ratio[free], ratio[free][0])  # one common ratio for the rest
    assert ratio[free][0] > 1.0
    down, r = sae.ratio_benchmark(est, w, target=0.80)
    np.testing.assert_allclose(r, r[0])
    assert np.sum(w * down) / np.sum(w) == pytest.approx(0.80, abs=1e-12)


# --- the build-level computation on the simulated two-stage survey -------------------------------------------


def _sim_covariates(households, n_unsampled=25, seed=0):
    """Covariates for the simulated survey's kelurahan plus unsampled ones; informative: the low-education share
    follows the kelurahan's mean income quintile."""
    rng = np.random.default_rng(seed)
    q = households.groupby("kode_kemendagri")["income_quintile"].mean()
    codes = list(q.index) + [f"31.75.09.{2001 + i}" for i in range(n_unsampled)]
    qq = np.concatenate([q.to_numpy(dtype=float), rng.uniform(2, 4, n_unsampled)])
    return pd.DataFrame({
        "kode_kemendagri": codes,
        "population": rng.integers(10_000, 60_000, len(codes)),
        "households": rng.integers(3_000, 18_000, len(codes)),
        "density": rng.uniform(2_000, 40_000, len(codes)),
        "share_adult_no_diploma": 0.25 - 0.05 * qq + rng.normal(0, 0.01, len(codes)),
        "share_adult_tertiary": 0.05 + 0.04 * qq + rng.normal(0, 0.01, len(codes)),
        "share_60plus": rng.uniform(0.05, 0.12, len(codes)),
        "share_0_14": rng.uniform(0.2, 0.3, len(codes)),
    })


def test_compute_on_the_simulated_survey():
    from simulated_survey import make_survey

    from analysis.stats import estimates

    households, persons = make_survey(seed=21, kel_per_kota=6)
    cov = _sim_covariates(households)
    direct = estimates.compute(households, persons, suppress=False, indicator_ids=sae.SAE_INDICATORS)
    published = estimates.compute(households, persons, suppress=True, indicator_ids=sae.SAE_INDICATORS)
    out = sae.compute(direct, cov, published)
    assert list(out.columns) == [f.name for f in sae.FIELDS]
    for iid, g in out.groupby("indicator_id"):
        assert len(g) == len(cov) and g["kode_kemendagri"].is_unique
        sampled = g["kode_kemendagri"].isin(households["kode_kemendagri"])
        assert (g.loc[sampled, "kind"] == "composite").all() and (g.loc[~sampled, "kind"] == "synthetic").all()
        weight = cov.set_index("kode_kemendagri").loc[g["kode_kemendagri"], "population" if iid.startswith("person") else "households"].to_numpy()
        city = direct[(direct["indicator_id"] == iid) & (direct["level"] == "city")]["estimate"].iloc[0]
        # benchmarked to the published city estimate, which the raked weights reproduce
        assert city == pytest.approx(published[(published["indicator_id"] == iid) & (published["level"] == "city") & published["domain_var"].isna()]["estimate"].iloc[0], abs=1e-9)
        assert np.sum(weight * g["estimate"]) / weight.sum() == pytest.approx(city, abs=1e-10)
        assert g["estimate"].between(0, 1).all() and (g["mse"] > 0).all()
        assert ((g["ci_low"] <= g["estimate"]) & (g["estimate"] <= g["ci_high"])).all()
        # a synthetic estimate is never more precise than the model's area variance allows
        assert (g.loc[~sampled, "mse"] >= g["sigma2_u"].iloc[0] * g.loc[~sampled, "benchmark_ratio"] ** 2 - 1e-15).all()
        # a suppressed direct estimate is never shown
        pub = published[(published["indicator_id"] == iid) & (published["level"] == "kelurahan")].set_index("area_code")["reliability"]
        sup = g["kode_kemendagri"].map(pub).eq("suppressed")
        assert g.loc[sup, ["direct_estimate", "direct_se"]].isna().all().all()
        assert g.loc[sampled & ~sup, "direct_estimate"].notna().all()


def test_demo_survey_sae_is_closer_to_the_truth_than_the_direct_estimates(built):
    """The full build's demo survey: all 267 kelurahan per indicator, benchmarked to the city, and over the
    sampled kelurahan the small-area estimates have a lower mean squared error against the generator's true
    kelurahan rates (``survey_truth``) than the direct estimates."""
    from analysis.stats import estimates

    out = built.tables["sae_estimates"].data
    assert built.tables["sae_estimates"].synthetic
    assert out.groupby("indicator_id")["kode_kemendagri"].nunique().eq(267).all()
    hh, pe = built.tables["survey_households"].data, built.tables["survey_persons"].data
    # the person weights the published estimates use (raked to the Dukcapil register), as the sae stage does
    pe = estimates.calibrated_persons(pe, estimates.dukcapil_margins(built.tables["kelurahan_covariates"].data))
    direct = estimates.compute(hh, pe, suppress=False, indicator_ids=sae.SAE_INDICATORS)
    published = built.tables["estimates"].data
    cov = built.tables["kelurahan_covariates"].data.set_index("kode_kemendagri")
    truth = built.tables["survey_truth"].data
    rates = truth[truth["kind"] == "kelurahan_rate"]
    for iid, tname in (("person_internet", "uses_internet"), ("hh_internet", "has_internet"), ("jaki_aware", "knows_jaki")):
        g = out[out["indicator_id"] == iid].set_index("kode_kemendagri")
        city = direct[(direct["indicator_id"] == iid) & (direct["level"] == "city")]["estimate"].iloc[0]
        # benchmarked to the published city estimate, which the raked weights reproduce
        assert city == pytest.approx(published[(published["indicator_id"] == iid) & (published["level"] == "city") & published["domain_var"].isna()]["estimate"].iloc[0], abs=1e-9)
        wcol = "population" if iid.startswith("person") else "households"
        w = cov.loc[g.index, wcol].to_numpy(dtype=float)
        assert np.sum(w * g["estimate"]) / w.sum() == pytest.approx(city, abs=1e-9)
        t = rates[rates["indicator"] == tname].set_index("kode_kemendagri")["value"]
        d = direct[(direct["indicator_id"] == iid) & (direct["level"] == "kelurahan")].set_index("area_code")["estimate"]
        comp = g[g["kind"] == "composite"].index.intersection(t.index).intersection(d.index)
        assert len(comp) >= 30
        mse_direct = np.mean((d[comp] - t[comp]) ** 2)
        mse_sae = np.mean((g.loc[comp, "estimate"] - t[comp]) ** 2)
        assert mse_sae < mse_direct, (iid, mse_sae, mse_direct)


def test_every_proportion_indicator_has_a_small_area_estimate():
    """Issue 12: a hand-picked 8 of the 22 indicators had small-area estimates; now every proportion has."""
    from analysis.stats import indicators as ind

    assert set(sae.SAE_INDICATORS) == {i.indicator_id for i in ind.REGISTRY if i.measure == ind.PROPORTION}
    assert len(sae.SAE_INDICATORS) == 21


def test_modelled_gaps_for_kelurahan_without_a_direct_gap():
    """Unsampled and suppressed kelurahan get a gap from their small-area estimate, labelled modelled, with
    variance MSE + Var(reference); a publishable direct gap is kept as it is."""
    from simulated_survey import make_survey

    from analysis.stats import estimates, gaps

    households, persons = make_survey(seed=21, kel_per_kota=6)
    cov = _sim_covariates(households)
    ids = ("hh_internet", "person_internet")
    direct = gaps.kelurahan_stage_se(estimates.compute(households, persons, suppress=False, indicator_ids=ids), households, persons)
    published = estimates.compute(households, persons, suppress=True, indicator_ids=ids)
    out = sae.compute(direct, cov, published, indicator_ids=ids)
    g = gaps.compute(households, persons, published, indicator_ids=ids)
    both = sae.modelled_gaps(out, g, published)
    assert list(both.columns) == gaps.GAP_COLUMNS
    assert set(both["method"]) == {"direct", "modelled"}
    key = ["indicator_id", "kode_kemendagri", "vs"]
    assert not both.duplicated(key).any()
    assert len(both) == 2 * len(out)  # every kelurahan x indicator x reference exactly once
    kept = g[g["reliability"] != "suppressed"]
    pd.testing.assert_frame_equal(both[both["method"] == "direct"].reset_index(drop=True), kept.reset_index(drop=True), check_dtype=False)
    mod = both[(both["method"] == "modelled") & (both["vs"] == "city")].merge(out, on=["indicator_id", "kode_kemendagri"], suffixes=("", "_sae"))
    unsampled = ~mod["kode_kemendagri"].isin(households["kode_kemendagri"])
    assert unsampled.any()
    city = published[(published["level"] == "city")].set_index("indicator_id")
    np.testing.assert_allclose(mod["diff"], mod["estimate"] - mod["indicator_id"].map(city["estimate"]), rtol=1e-12)
    np.testing.assert_allclose(mod["se"] ** 2, mod["mse"] + mod["indicator_id"].map(city["se"]) ** 2, rtol=1e-10)
    assert (mod["ci_low"] < mod["diff"]).all() and (mod["diff"] < mod["ci_high"]).all()
    assert mod["df"].isna().all()
