"""Access models (analysis.stats.models) on a simulated stratified two-stage sample with known coefficients.

Second implementation for the cross-check: ``svy`` 0.35 (polars-based; ``Sample.glm.fit(..., family="binomial",
where=...)``, Taylor linearisation with strata and PSUs, R ``svyglm`` semantics). It installs and works on
Python 3.11 (unlike svy-sae). Coefficients must agree to 1e-6 and SEs to 1e-6 relative: both are the Binder
(1983) sandwich with stratum-centred PSU totals.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from analysis.stats import logit, models

EDU = list(models.EDUCATION_LEVELS)
AGES = list(models.AGE_GROUPS)
TRUE = {
    "intercept": -1.2,
    "income": {2: 0.4, 3: 0.8, 4: 1.2, 5: 1.6},
    "education": {"sd": 0.5, "smp": 1.0, "sma": 1.6, "tertiary": 2.2},
    "age": {"5-14": 0.2, "15-24": 0.6, "45-59": -0.5, "60+": -1.4},
    "sex_P": -0.2,
    "hh_size": -0.05,
}


def simulate_persons(seed: int, n_strata=5, psu_per_stratum=30, hh_per_psu=12) -> pd.DataFrame:
    """Stratified two-stage sample of households (PSU = RW), all members aged 5+, unequal weights, a PSU effect."""
    rng = np.random.default_rng(seed)
    rows = []
    for h in range(n_strata):
        kota = f"31.7{h + 1}"
        for j in range(psu_per_stratum):
            psu_effect = rng.normal(scale=0.3)
            psu_wealth = rng.normal()
            w_psu = rng.uniform(50, 150)
            for _k in range(hh_per_psu):
                q = int(np.clip(np.round(3 + psu_wealth + rng.normal()), 1, 5))
                size = int(rng.integers(1, 7))
                for _m in range(size):
                    ages = rng.choice(len(AGES), p=[0.2, 0.2, 0.3, 0.2, 0.1])
                    e = int(np.clip(np.round(q / 2 + rng.normal() + (ages != 0) * 0.8), 0, 4))
                    rows.append((kota, f"{kota}/RW{j:02d}", q, EDU[e], AGES[ages], "LP"[rng.integers(2)], size, w_psu * rng.uniform(0.8, 1.2), psu_effect))
    df = pd.DataFrame(rows, columns=["kode_kab_kemendagri", "psu", "income_quintile", "education", "age_group", "sex", "hh_size", "weight", "u"])
    eta = (
        TRUE["intercept"]
        + df["income_quintile"].map(TRUE["income"]).fillna(0)
        + df["education"].map(TRUE["education"]).fillna(0)
        + df["age_group"].map(TRUE["age"]).fillna(0)
        + TRUE["sex_P"] * (df["sex"] == "P")
        + TRUE["hh_size"] * df["hh_size"]
        + df["u"]
    )
    df["uses_internet"] = pd.array(rng.random(len(df)) < 1 / (1 + np.exp(-eta)), dtype="boolean")
    df["age"] = df["age_group"].map({"5-14": 10, "15-24": 20, "25-44": 35, "45-59": 50, "60+": 70})
    df["stratum"] = df["kode_kab_kemendagri"]
    df["fpc_psu"] = np.nan
    df["income_quintile"] = df["income_quintile"].astype("Int64")
    df["hh_size"] = df["hh_size"].astype("Int64")
    return df.drop(columns="u")


SPEC = models.MODELS[0]


@pytest.fixture(scope="module")
def persons():
    df = simulate_persons(7)
    # a domain: a few persons with a missing answer and a few children under 5 are outside the model
    df.loc[df.index[::97], "uses_internet"] = pd.NA
    return df


@pytest.fixture(scope="module")
def fitted(persons):
    frame = models.model_frame(SPEC, persons=persons)
    return frame, logit.fit_survey_logit(frame, SPEC.terms)


def test_coefficients_and_design_ses_match_svy(persons, fitted):
    import polars as pl
    import svy

    frame, fit = fitted
    data = persons.copy()
    data["y"] = frame["y"].fillna(0.0)
    data["in_model"] = frame["in_model"]
    data["income_quintile"] = data["income_quintile"].astype(int)
    data["hh_size"] = data["hh_size"].astype(float)
    pl_df = pl.from_pandas(data[["y", "in_model", "income_quintile", "education", "age_group", "sex", "hh_size", "kode_kab_kemendagri", "stratum", "psu", "weight"]])
    sample = svy.Sample(pl_df, svy.Design(stratum="stratum", psu="psu", wgt="weight"))
    res = sample.glm.fit(
        y="y",
        x=[svy.Cat("income_quintile", ref=1), svy.Cat("education", ref="no_diploma"), svy.Cat("age_group", ref="25-44"),
           svy.Cat("sex", ref="L"), "hh_size", svy.Cat("kode_kab_kemendagri", ref="31.71")],
        family="binomial",
        where=svy.col("in_model"),
    ).fitted
    ref = {c.term: c for c in res.coefs}
    mine = dict(zip(fit.names, zip(fit.beta, np.sqrt(np.diag(fit.cov)))))

    def svy_name(name):
        if name == "intercept":
            return "_intercept_"
        if "[" in name:
            var, lv = name[:-1].split("[")
            return f"{'kode_kab_kemendagri' if var == 'kota' else var}_{lv}"
        return name

    assert len(ref) == len(mine)
    for name, (b, se) in mine.items():
        r = ref[svy_name(name)]
        assert b == pytest.approx(r.est, abs=1e-6), name
        assert se == pytest.approx(r.se, rel=1e-6), name
    # svy's t tests use the same residual df as R svyglm
    assert fit.df == next(iter(ref.values())).wald.df


def test_statsmodels_cluster_ses_are_close_and_freq_weights_are_not(persons, fitted):
    import statsmodels.api as sm

    frame, fit = fitted
    m = frame["in_model"].to_numpy()
    sub = frame.loc[m]
    X = logit.design_matrix(sub, fit.terms, fit.names, fit.term_of, fit.level_of)
    y = sub["y"].to_numpy()
    w = sub["weight"].to_numpy()
    glm = sm.GLM(y, X, family=sm.families.Binomial(), var_weights=w)
    res = glm.fit(cov_type="cluster", cov_kwds={"groups": pd.factorize(sub["psu"])[0]})
    np.testing.assert_allclose(res.params, fit.beta, atol=1e-7)
    ratio = res.bse / np.sqrt(np.diag(fit.cov))
    assert np.all((ratio > 0.85) & (ratio < 1.2))  # clustered-on-PSU ignores strata and the domain's zero scores
    wrong = sm.GLM(y, X, family=sm.families.Binomial(), freq_weights=w).fit()
    assert np.median(np.sqrt(np.diag(fit.cov)) / wrong.bse) > 5


def test_recovers_the_generating_coefficients():
    """A large simulated sample: each coefficient within 3.5 design SEs of the truth (attenuated slightly by
    the PSU random effect, a marginal-vs-conditional difference smaller than the SEs here)."""
    df = simulate_persons(11, psu_per_stratum=60)
    frame = models.model_frame(SPEC, persons=df)
    fit = logit.fit_survey_logit(frame, SPEC.terms)
    se = dict(zip(fit.names, np.sqrt(np.diag(fit.cov))))
    b = dict(zip(fit.names, fit.beta))
    for q, v in TRUE["income"].items():
        assert abs(b[f"income_quintile[{q}]"] - v) < 3.5 * se[f"income_quintile[{q}]"] + 0.05 * abs(v)
    for e, v in TRUE["education"].items():
        assert abs(b[f"education[{e}]"] - v) < 3.5 * se[f"education[{e}]"] + 0.05 * abs(v)
    assert abs(b["sex[P]"] - TRUE["sex_P"]) < 3.5 * se["sex[P]"] + 0.02


def test_reports_have_the_contract_columns_and_sane_values(persons, fitted):
    frame, fit = fitted
    ors = models.odds_ratios("internet_use", fit)
    assert list(ors.columns) == [f.name for f in models.OR_FIELDS]
    assert (ors["ci_low"] < ors["odds_ratio"]).all() and (ors["odds_ratio"] < ors["ci_high"]).all()
    assert ors.loc[ors["term"] == "income_quintile[5]", "odds_ratio"].iloc[0] > 2

    ame = models.marginal_effects("internet_use", fit)
    # AME of a level = weighted mean of p(level) - p(reference): check against a brute-force computation
    sub = frame.loc[frame["in_model"]]
    X1 = logit.design_matrix(sub.assign(education="tertiary"), fit.terms, fit.names, fit.term_of, fit.level_of)
    X0 = logit.design_matrix(sub.assign(education="no_diploma"), fit.terms, fit.names, fit.term_of, fit.level_of)
    w = sub["weight"].to_numpy()
    brute = np.sum(w * (fit.predict(X1) - fit.predict(X0))) / w.sum()
    row = ame[(ame["variable"] == "education") & (ame["level"] == "tertiary")].iloc[0]
    assert row["ame"] == pytest.approx(brute, rel=1e-10)
    assert 0 < row["se"] < 0.1 and row["ci_low"] < row["ame"] < row["ci_high"]

    grid = models.predicted_grid("internet_use", fit, "main_effects")
    assert len(grid) == 25
    assert grid["predicted"].between(0, 1).all()
    assert (grid["ci_low"] <= grid["predicted"]).all() and (grid["predicted"] <= grid["ci_high"]).all()
    g = grid.set_index(["income_quintile", "education"])["predicted"]
    assert g[(5, "tertiary")] > g[(1, "no_diploma")]

    inter = logit.fit_survey_logit(frame, SPEC.terms, interaction=True)
    summary = models.fit_summary("internet_use", fit, inter)
    assert summary["n"] == int(frame["in_model"].sum())
    assert 0.5 < summary["auc"] < 1 and 0 < summary["pseudo_r2_mcfadden"] < 1
    assert summary["interaction_df_num"] == len(inter.interactions) > 0
    # data generated without an interaction: the test should usually not reject
    assert summary["interaction_p_value"] > 0.001
    assert summary["al_df_num"] == 9 and 0 <= summary["al_p_value"] <= 1


def with_small_stratum(persons: pd.DataFrame, psus: int = 4) -> pd.DataFrame:
    """``persons`` plus a kota stratum "31.01" sampled in ``psus`` PSUs (like Kepulauan Seribu in the demo: 6)."""
    small = simulate_persons(8, n_strata=1, psu_per_stratum=psus)
    small["kode_kab_kemendagri"] = small["stratum"] = "31.01"
    small["psu"] = "31.01/" + small["psu"]
    return pd.concat([persons, small], ignore_index=True)


def test_stratum_satterthwaite_df_is_the_satterthwaite_formula_over_the_strata(persons):
    """``df = (sum_h v_h)^2 / sum_h v_h^2 / (n_h - 1)`` (Satterthwaite 1946; Korn & Graubard 1999 sec. 5.2) with
    ``v_h`` each stratum's part of the ultimate-cluster variance, here computed independently as the variance of
    the scores with every other stratum's set to zero; scores in one stratum alone give that stratum's n_h - 1."""
    from analysis.stats.design import linearized_covariance, psu_layout

    frame = with_small_stratum(persons)
    layout = psu_layout(frame)
    rng = np.random.default_rng(5)
    Z = rng.normal(size=(layout.n_psu, 3)) * np.where(layout.strata == "31.01", 6.0, 1.0)[:, None]
    n_h = pd.Series(layout.strata).value_counts()
    v_h = {h: np.diag(linearized_covariance(np.where((layout.strata == h)[:, None], Z, 0.0), layout.strata, np.arange(layout.n_psu), layout.fpc))
           for h in n_h.index}
    expected = sum(v_h.values()) ** 2 / sum(v_h[h] ** 2 / (n_h[h] - 1) for h in n_h.index)
    np.testing.assert_allclose(logit.stratum_satterthwaite_df(layout, Z), expected, rtol=1e-10)
    assert np.all(expected < layout.df)
    only_small = np.where((layout.strata == "31.01")[:, None], Z, 0.0)
    np.testing.assert_allclose(logit.stratum_satterthwaite_df(layout, only_small), n_h["31.01"] - 1, rtol=1e-12)


def test_published_intervals_give_kota_terms_of_a_small_reference_stratum_its_few_df(persons):
    """Issue 12: against a reference kota sampled in 4 PSUs every kota coefficient is a contrast with those PSUs.
    svyglm (``logit.PLAIN``) gives it the design's ~150 df; the published method gives it about 3 (its own
    Satterthwaite df) with the very same SEs, and the kota with the most PSUs as reference leaves the small kota
    alone with few df. The build's tables say which method they use (``df_method``)."""
    frame = models.model_frame(SPEC, persons=with_small_stratum(persons))
    plain = logit.fit_survey_logit(frame, SPEC.terms)
    honest = logit.fit_survey_logit(frame, SPEC.terms, inference=logit.SATTERTHWAITE)
    np.testing.assert_allclose(honest.cov, plain.cov, rtol=1e-12)  # the SEs stay R svyglm's
    kota = np.array([t == "kota" for t in plain.term_of])
    assert next(t.reference for t in plain.terms if t.column == "kota") == "31.01"
    assert np.all(plain.coef_df == plain.df) and plain.df > 100
    other = ~kota & (np.array(plain.names) != "intercept")  # the intercept is the small kota's log-odds: few df too
    assert np.all(honest.coef_df[kota] < 6) and np.all(honest.coef_df[other] > 60)

    largest = logit.fit_survey_logit(frame, SPEC.terms, inference=logit.SATTERTHWAITE, kota_reference=logit.MOST_PSUS)
    assert next(t.reference for t in largest.terms if t.column == "kota") == "31.71"  # 30 PSUs each: the first code
    ors = models.odds_ratios("internet_use", largest).set_index("term")
    assert (ors["df_method"] == logit.SATTERTHWAITE).all()
    assert ors.loc["kota[31.01]", "df"] < 6 and (ors.loc[ors["variable"].eq("kota") & (ors.index != "kota[31.01]"), "df"] > 30).all()
    row = ors.loc["kota[31.01]"]
    assert row["ci_high"] == pytest.approx(np.exp(row["coef"] + stats.t.ppf(0.975, row["df"]) * row["se"]), rel=1e-12)
    ame = models.marginal_effects("internet_use", largest).set_index(["variable", "level"])
    assert ame.loc[("kota", "31.01"), "df"] < 6 and ame.loc[("income_quintile", "5"), "df"] > 60
    grid = models.predicted_grid("internet_use", largest, "main_effects")
    assert (grid["df_method"] == logit.SATTERTHWAITE).all() and grid["df"].between(1, largest.df).all()


def test_weighted_auc_matches_the_pairwise_definition():
    rng = np.random.default_rng(0)
    s = rng.integers(0, 6, 40).astype(float)
    pw, nw = rng.uniform(0, 2, 40), rng.uniform(0, 2, 40)
    num = sum(pw[i] * nw[j] * ((s[i] > s[j]) + 0.5 * (s[i] == s[j])) for i in range(40) for j in range(40))
    assert models.weighted_auc(s, pw, nw) == pytest.approx(num / (pw.sum() * nw.sum()), rel=1e-12)


# --- the demo survey of the full build (conftest ``built``): tables and the generator's known coefficients ----


def test_demo_survey_model_tables_and_known_income_coefficients(built):
    """The generator's logit for internet use has quintile coefficients 0.5, 0.9, 1.3, 1.8 (vs quintile 1,
    ``survey_truth``). The fitted survey logit is a marginal model (the generator adds kelurahan and RW effects,
    which attenuate coefficients) with education also for children, so it recovers them within 3 design SEs
    plus 30% attenuation, and in the same order."""
    for name, fields in (("model_odds_ratios", models.OR_FIELDS), ("model_marginal_effects", models.AME_FIELDS),
                         ("model_predicted_grid", models.GRID_FIELDS), ("model_fit", models.FIT_FIELDS)):
        table = built.tables[name]
        assert table.synthetic and list(table.data.columns) == [f.name for f in fields]
    for name in ("model_odds_ratios", "model_marginal_effects", "model_predicted_grid"):
        assert (built.tables[name].data["df_method"] == models.PUBLISHED_INFERENCE).all(), name
    kota_ref = built.tables["model_odds_ratios"].data.query("model == 'internet_use' and variable == 'kota'")["reference"]
    assert set(kota_ref) == {"31.75"}  # Jakarta Timur, the most PSUs, not Kepulauan Seribu (31.01) and its 6 PSUs
    fit = built.tables["model_fit"].data.set_index("model")
    assert set(fit.index) == {"internet_use", "household_internet", "jaki_awareness"}
    assert (fit["n"] > 1000).all() and (fit["auc"] > 0.6).all()
    truth = built.tables["survey_truth"].data
    coef = truth[truth["kind"] == "coefficient"].set_index("indicator")["value"]
    ors = built.tables["model_odds_ratios"].data
    inc = ors[(ors["model"] == "internet_use") & (ors["variable"] == "income_quintile")].set_index("level")
    for q in ("2", "3", "4", "5"):
        true = coef[f"internet.quintile.{q}"]
        assert abs(inc.loc[q, "coef"] - true) < 3 * inc.loc[q, "se"] + 0.3 * true, q
    assert inc.loc["5", "coef"] > inc.loc["2", "coef"] > 0
    grid = built.tables["model_predicted_grid"].data
    assert len(grid) == 3 * 2 * 25
