"""Concentration index and gap decomposition (analysis.stats.inequality).

Second implementation for the index and its SE: the "convenient regression" of O'Donnell et al. (2008, ch. 8),
``8 sigma_R^2 y = alpha + E R``, fitted with statsmodels WLS and PSU-clustered SEs.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from simulated_survey import make_survey

from analysis.stats import indicators as ind
from analysis.stats import inequality
from analysis.stats.design import PsuAggregator


@pytest.fixture(scope="module")
def survey():
    return make_survey(seed=8, kel_per_kota=5)


def test_fractional_rank_with_ties_and_weights():
    x = np.array([3, 1, 2, 1, 3])
    w = np.array([1.0, 1.0, 2.0, 1.0, 5.0])
    r = inequality.fractional_rank(x, w)
    # group 1: weight 2 of 10 -> midpoint 0.1; group 2: 0.2 + 0.1 = 0.3; group 3: 0.4 + 0.3 = 0.7
    np.testing.assert_allclose(r, [0.7, 0.1, 0.3, 0.1, 0.7])
    assert np.sum(w * r) / w.sum() == pytest.approx(0.5)


def _srs(n):
    return pd.DataFrame({"stratum": "s", "psu": np.arange(n).astype(str), "fpc_psu": np.nan})


def test_erreygers_index_known_values():
    n = 20000
    income = np.arange(n)
    w = np.ones(n)
    agg = PsuAggregator(_srs(n))
    top_half = (income >= n / 2).astype(float)
    assert inequality.concentration_index(top_half, income, w, agg)["erreygers"] == pytest.approx(1.0, abs=1e-3)
    assert inequality.concentration_index(1 - top_half, income, w, agg)["erreygers"] == pytest.approx(-1.0, abs=1e-3)
    rng = np.random.default_rng(1)
    flat = (rng.random(n) < 0.7).astype(float)
    res = inequality.concentration_index(flat, income, w, agg)
    assert abs(res["erreygers"]) < 3 * res["se"]


def test_index_and_se_agree_with_the_convenient_regression(survey):
    import statsmodels.api as sm

    households, persons = survey
    y, universe = ind.get("person_internet").values(persons)
    y = np.where(universe, y, np.nan)
    q = persons["income_quintile"].astype("Float64").to_numpy(dtype=float, na_value=np.nan)
    w = persons["weight"].to_numpy(dtype=float)
    agg = PsuAggregator(persons)
    res = inequality.concentration_index(y, q, w, agg)

    m = ~np.isnan(y)
    R = inequality.fractional_rank(q[m], w[m])
    var_R = np.sum(w[m] * (R - np.sum(w[m] * R) / w[m].sum()) ** 2) / w[m].sum()
    X = sm.add_constant(R)
    fit = sm.WLS(8 * var_R * y[m], X, weights=w[m]).fit(cov_type="cluster", cov_kwds={"groups": pd.factorize(persons["psu"][m])[0]})
    assert res["erreygers"] == pytest.approx(fit.params[1], rel=1e-10)
    assert res["se"] == pytest.approx(fit.bse[1], rel=0.2)
    # the simulated survey makes internet use rise with income
    assert res["erreygers"] > 0 and res["p_value"] < 0.05
    assert res["standard_ci"] == pytest.approx(res["erreygers"] / (4 * res["mean"]), rel=1e-12)


def test_concentration_table_city_and_kota(survey):
    households, persons = survey
    table = inequality.concentration_table(households, persons, ("person_internet", "hh_internet"))
    assert list(table.columns) == [f.name for f in inequality.CI_FIELDS]
    city = table[(table["level"] == "city")]
    assert set(city["indicator_id"]) == {"person_internet", "hh_internet"}
    assert table.loc[table["indicator_id"] == "person_internet", "level"].value_counts()["kota"] == 6
    assert ((table["ci_low"] < table["erreygers"]) & (table["erreygers"] < table["ci_high"])).all()
    assert table["erreygers"].between(-1, 1).all()


def test_decomposition_adds_up_on_the_survey(survey):
    households, persons = survey
    y, universe = ind.get("person_internet").values(persons)
    res = inequality.decompose(persons, np.where(universe, y, np.nan), persons["kode_kemendagri"])
    assert len(res) > 0 and (res["n"] >= 30).all()
    parts = res["explained_income"] + res["explained_education"] + res["explained_age"]
    np.testing.assert_allclose(parts, res["explained"], atol=1e-12)
    np.testing.assert_allclose(res["explained"] + res["unexplained"], res["total_gap"], atol=1e-12)
    assert res["city_predicted"].iloc[0] == pytest.approx(res["city_mean"].iloc[0], abs=1e-9)


def test_decomposition_attributes_a_pure_income_gap_to_income():
    """Kelurahan differ only in their income mix and the outcome depends only on income: the gap is explained
    by income, the unexplained part is small."""
    rng = np.random.default_rng(5)
    rows = []
    for k in range(8):
        poor = k == 0
        for j in range(6):  # PSUs
            for _ in range(150):
                q = int(rng.choice(5, p=[0.6, 0.25, 0.1, 0.04, 0.01] if poor else [0.15, 0.2, 0.2, 0.2, 0.25])) + 1
                rows.append((f"31.75.0{k}.1001", f"k{k}/RW{j}", q))
    df = pd.DataFrame(rows, columns=["kode_kemendagri", "psu", "income_quintile"])
    df["stratum"] = "31.75"
    df["weight"] = 1.0
    df["fpc_psu"] = np.nan
    df["education"] = rng.choice(["sd", "smp", "sma"], len(df))
    df["age_group"] = rng.choice(["15-24", "25-44", "45-59"], len(df))
    y = (rng.random(len(df)) < 1 / (1 + np.exp(-(-1.5 + 0.7 * df["income_quintile"])))).astype(float)
    res = inequality.decompose(df, y, df["kode_kemendagri"]).set_index("kode_kemendagri")
    poor = res.loc["31.75.00.1001"]
    assert poor["total_gap"] < -0.1
    assert poor["explained_income"] == pytest.approx(poor["total_gap"], abs=0.05)
    assert abs(poor["unexplained"]) < 0.05
    assert abs(poor["explained_education"]) < 0.02 and abs(poor["explained_age"]) < 0.02


def test_demo_survey_field_sites_lag_the_city_and_income_explains_part(built):
    """Tengah (Kramat Jati) and Gedong (Pasar Rebo) are poorer by construction in the demo generator: their
    persons' true internet use lies below the city's, the income composition explains part of the gap, and the
    estimated gap is within sampling error of the true one (one seed: the true lag, ~3 points, is only 1-2 SEs
    of a kelurahan estimate, so its sign is not asserted)."""
    dec = built.tables["gap_decomposition"].data
    ci = built.tables["concentration_index"].data
    gaps_t = built.tables["gaps"].data
    assert built.tables["gap_decomposition"].synthetic
    pi = dec[dec["indicator_id"] == "person_internet"].set_index("kode_kemendagri")
    est = built.tables["estimates"].data
    kel = est[(est["indicator_id"] == "person_internet") & (est["level"] == "kelurahan") & (est["reliability"] != "suppressed") & (est["n"] >= 30)]
    assert set(kel["area_code"]) <= set(pi.index)  # every kelurahan with enough sample is decomposed
    truth = built.tables["survey_truth"].data
    rates = truth[(truth["kind"] == "kelurahan_rate") & (truth["indicator"] == "uses_internet")].set_index("kode_kemendagri")["value"]
    city_truth = truth[(truth["kind"] == "city_rate") & (truth["indicator"] == "uses_internet")]["value"].iloc[0]
    kel_se = kel.set_index("area_code")["se"]
    for code in ("31.75.04.1002", "31.75.05.1001"):
        row = pi.loc[code]
        assert rates[code] < city_truth - 0.02
        assert row["explained_income"] < 0
        assert abs(row["total_gap"] - (rates[code] - city_truth)) < 3 * kel_se[code]
    city = ci[(ci["indicator_id"] == "person_internet") & (ci["level"] == "city")].iloc[0]
    assert city["erreygers"] > 0 and city["p_value"] < 0.05
    assert set(gaps_t["vs"]) == {"kota", "city"}
    assert gaps_t.loc[gaps_t["reliability"] == "suppressed", "diff"].isna().all()


def test_decomposition_model_table_reproduces_the_city_fit(built):
    """``decomposition_model`` is the city logit behind ``gap_decomposition``: read back as a ``CityModel`` it
    predicts every covariate pattern exactly as the fitted model does, and its city means are the fit's."""
    table = built.tables["decomposition_model"].data
    from analysis.stats import estimates

    # the build fits on the raked person weights of the published estimates
    persons = estimates.calibrated_persons(built.tables["survey_persons"].data, estimates.dukcapil_margins(built.tables["kelurahan_covariates"].data))
    assert set(table["indicator_id"]) == set(inequality.DECOMPOSITION_INDICATORS)
    fitted = inequality.city_models(persons)
    for iid, rows in table.groupby("indicator_id"):
        mf, city = fitted[iid]
        model = inequality.CityModel.from_rows(rows.reset_index(drop=True))
        assert model.names[0] == "intercept" and model.term_of[0] is None and model.xbar[0] == pytest.approx(1.0)
        values = city.fit.patterns[[t.column for t in inequality.DECOMPOSITION_TERMS]]
        assert np.allclose(model.predict(model.design(values)), city.fit.patterns["mu"].to_numpy(), atol=1e-12)
        assert model.city_mean == pytest.approx(city.city_mean) and model.city_predicted == pytest.approx(city.city_predicted)
        assert model.city_mean == pytest.approx(model.city_predicted, abs=1e-8)  # a logit with intercept reproduces the mean
