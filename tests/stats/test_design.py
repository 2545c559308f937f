"""Design-based estimation engine: pinned to published reference results, cross-checked against samplics,
and checked by simulation.

Published references (R package ``survey``, T. Lumley, documentation pages printed from its own examples on
the ``apiclus1`` data, design ``svydesign(id=~dnum, weights=~pw, data=apiclus1, fpc=~fpc)``):

- "Simple summary statistics", https://r-survey.r-forge.r-project.org/survey/example-summary.html
  (``svymean(~api00+api99+stype, dclus1)``, ``svytotal(~enroll+stype, dclus1)``);
- "Tables of summary statistics", same site, ``example-tables.html``
  (``svymean(~interaction(stype, comp.imp), dclus1)`` and its ``ftable``);
- "Domain estimators", same site, ``example-domain.html``
  (``svytotal(~enroll, subset(dclus1, sch.wide=="Yes" & comp.imp=="Yes"))``, ``svyby(~api99, ~stype, dclus1,
  svymean)``, ``svyby(~api99+api00, ~stype+sch.wide, dclus1, svymean, keep.var=TRUE)``).

The same design without the fpc is pinned to the R outputs recorded by Survey.jl's R-parity suite
(xKDR/Survey.jl, ``test/r_reference/est_basic.csv``, design ``clus1_w``), generated with R ``survey``.
The fixture and its licence: ``tests/stats/fixtures/README.md``.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from analysis.errors import InputError
from analysis.stats import design as design_module
from analysis.stats import reliability
from analysis.stats.design import SurveyDesign, linearized_covariance

NHANES2 = Path(importlib.util.find_spec("samplics").submodule_search_locations[0]) / "datasets" / "data" / "nhanes2.csv"


def one(frame: pd.DataFrame, **where) -> pd.Series:
    rows = frame
    for k, v in where.items():
        rows = rows[rows[k] == v]
    assert len(rows) == 1, rows
    return rows.iloc[0]


# --- published R survey results ----------------------------------------------------------------------------


def test_dclus1_means_match_published_r_survey(dclus1):
    api00 = one(dclus1.mean("api00", suppress=False))
    assert api00["estimate"] == pytest.approx(644.169399, abs=5e-7)
    assert api00["se"] == pytest.approx(23.5422, abs=5e-5)
    api99 = one(dclus1.mean("api99", suppress=False))
    assert api99["estimate"] == pytest.approx(606.978142, abs=5e-7)
    assert api99["se"] == pytest.approx(24.2250, abs=5e-5)
    assert dclus1.df == 14 and api00["df"] == 14 and api00["n"] == 183


@pytest.mark.parametrize("stype,mean,se,total,total_se", [
    ("E", 0.786885, 0.0463, 4873.97, 1333.32),
    ("H", 0.076503, 0.0268, 473.86, 158.70),
    ("M", 0.136612, 0.0296, 846.17, 167.55),
])
def test_dclus1_factor_proportions_and_totals_match_published(dclus1, stype, mean, se, total, total_se):
    p = one(dclus1.prop(f"stype{stype}", suppress=False))
    assert p["estimate"] == pytest.approx(mean, abs=5e-7)
    assert p["se"] == pytest.approx(se, abs=5e-5)
    t = one(dclus1.total(f"stype{stype}", suppress=False))
    assert t["estimate"] == pytest.approx(total, abs=0.005)
    assert t["se"] == pytest.approx(total_se, abs=0.005)


def test_dclus1_enrolment_total_matches_published(dclus1):
    t = one(dclus1.total("enroll", suppress=False))
    assert t["estimate"] == pytest.approx(3404940.13, abs=0.005)
    assert t["se"] == pytest.approx(932235.03, abs=0.005)


@pytest.mark.parametrize("stype,comp,mean,se", [
    ("E", "No", 0.17486339, 0.02599552), ("H", "No", 0.03825137, 0.01607602), ("M", "No", 0.06010929, 0.02457177),
    ("E", "Yes", 0.61202186, 0.04167572), ("H", "Yes", 0.03825137, 0.01605469), ("M", "Yes", 0.07650273, 0.02167084),
])
def test_dclus1_cell_proportions_match_published_ftable(apiclus1, dclus1, stype, comp, mean, se):
    cell = (apiclus1["stype"] == stype) & (apiclus1["comp.imp"] == comp)
    p = one(dclus1.prop(cell.to_numpy(), suppress=False))
    assert p["estimate"] == pytest.approx(mean, abs=5e-9)
    assert p["se"] == pytest.approx(se, abs=5e-9)


def test_domain_estimates_match_published_svyby(apiclus1, dclus1):
    by_type = dclus1.mean("api99", by="stype", suppress=False)
    assert by_type["estimate"].tolist() == pytest.approx([607.7917, 595.7143, 608.6000], abs=5e-5)
    both = dclus1.mean("api99", by=["stype", "sch.wide"], suppress=False)
    both00 = dclus1.mean("api00", by=["stype", "sch.wide"], suppress=False)
    published = [  # stype, sch.wide, api99, api00, SE api99, SE api00
        ("E", "No", 601.6667, 596.3333, 47.27582, 43.49010),
        ("E", "Yes", 608.3485, 653.6439, 21.52493, 20.31720),
        ("H", "No", 662.0000, 659.3333, 29.23003, 27.00275),
        ("H", "Yes", 577.6364, 607.4545, 46.50125, 43.70468),
        ("M", "No", 611.3750, 606.3750, 41.11886, 41.11686),
    ]
    for stype, sw, m99, m00, se99, se00 in published:
        r99 = one(both, stype=stype, **{"sch.wide": sw})
        r00 = one(both00, stype=stype, **{"sch.wide": sw})
        assert r99["estimate"] == pytest.approx(m99, abs=5e-5)
        assert r00["estimate"] == pytest.approx(m00, abs=5e-5)
        assert r99["se"] == pytest.approx(se99, abs=5e-6)
        assert r00["se"] == pytest.approx(se00, abs=5e-6)
    # svytotal(~enroll, subset(dclus1, sch.wide == "Yes" & comp.imp == "Yes")): a domain, all PSUs kept
    met = (apiclus1["sch.wide"] == "Yes") & (apiclus1["comp.imp"] == "Yes")
    t = one(dclus1.total("enroll", where=met.to_numpy(), suppress=False))
    assert t["estimate"] == pytest.approx(2406420, abs=0.5)
    assert t["se"] == pytest.approx(645444, abs=0.5)


def test_without_fpc_matches_r_reference(apiclus1):
    """R ``svydesign(id=~dnum, weights=~pw, data=apiclus1)`` (with-replacement PSUs), design clus1_w."""
    d = SurveyDesign(apiclus1, "pw", psu="dnum")
    m = one(d.mean("api00", suppress=False))
    assert m["se"] == pytest.approx(23.7790107208869, rel=1e-9)
    t = one(d.total("api00", suppress=False))
    assert t["estimate"] == pytest.approx(3989985.46570206, rel=1e-9)
    assert t["se"] == pytest.approx(907398.705597438, rel=1e-9)
    e = one(d.mean("enroll", suppress=False))
    assert e["estimate"] == pytest.approx(549.715846994536, rel=1e-9)
    assert e["se"] == pytest.approx(45.6458729407598, rel=1e-9)


def test_domain_is_not_a_subset(apiclus1, dclus1):
    """High schools as a domain reproduce R; rebuilding the design on the high-school rows alone loses the
    districts without a high school (and their zero contributions) and gives a different, smaller SE."""
    domain = one(dclus1.total("stypeH", suppress=False))
    assert domain["se"] == pytest.approx(158.70, abs=0.005)
    high = apiclus1[apiclus1["stype"] == "H"]
    subset = SurveyDesign(high, "pw", psu="dnum", fpc="fpc")
    wrong = one(subset.total("stypeH", suppress=False))
    assert wrong["estimate"] == pytest.approx(domain["estimate"])
    assert wrong["se"] < 0.8 * domain["se"]
    assert subset.df < dclus1.df
    # the same through `by` and through `where`
    by = one(dclus1.total("enroll", by="stype", suppress=False), stype="H")
    where = one(dclus1.total("enroll", where=(apiclus1["stype"] == "H").to_numpy(), suppress=False))
    assert by["estimate"] == pytest.approx(where["estimate"]) and by["se"] == pytest.approx(where["se"])


# --- cross-check against samplics' TaylorEstimator (stratified, clustered NHANES II extract) ----------------


@pytest.fixture(scope="module")
def nhanes2() -> pd.DataFrame:
    return pd.read_csv(NHANES2)


def _samplics(param, y, data, domain=None):
    from samplics.estimation import TaylorEstimator
    from samplics.utils.types import PopParam

    est = TaylorEstimator(getattr(PopParam, param))
    est.estimate(
        y=data[y].to_numpy(dtype=float), samp_weight=data["finalwgt"].to_numpy(dtype=float),
        stratum=data["stratid"].to_numpy(), psu=data["psuid"].to_numpy(),
        domain=None if domain is None else data[domain].to_numpy(), remove_nan=True,
    )
    return est


@pytest.mark.filterwarnings("ignore::FutureWarning")
def test_matches_samplics_taylor_estimator(nhanes2):
    d = SurveyDesign(nhanes2, "finalwgt", strata="stratid", psu="psuid")
    assert d.df == 62 - 31
    ref = _samplics("mean", "zinc", nhanes2)
    ours = one(d.mean("zinc", suppress=False))
    assert ours["estimate"] == pytest.approx(ref.point_est, rel=1e-10)
    assert ours["se"] == pytest.approx(ref.stderror, rel=1e-8)
    assert (ours["ci_low"], ours["ci_high"]) == pytest.approx((ref.lower_ci, ref.upper_ci), rel=1e-8)
    ref = _samplics("mean", "zinc", nhanes2, domain="race")
    ours = d.mean("zinc", by="race", suppress=False)
    for _, row in ours.iterrows():
        assert row["estimate"] == pytest.approx(ref.point_est[row["race"]], rel=1e-10)
        assert row["se"] == pytest.approx(ref.stderror[row["race"]], rel=1e-8)
    ref = _samplics("mean", "highbp", nhanes2, domain="region")
    ours = d.prop("highbp", by="region", suppress=False)
    for _, row in ours.iterrows():
        assert row["se"] == pytest.approx(ref.stderror[row["region"]], rel=1e-8)
    ref = _samplics("total", "diabetes", nhanes2)
    ours = one(d.total("diabetes", suppress=False))
    assert ours["estimate"] == pytest.approx(ref.point_est, rel=1e-10)
    assert ours["se"] == pytest.approx(ref.stderror, rel=1e-8)


def test_dense_and_sparse_psu_totals_agree(nhanes2, monkeypatch):
    d = SurveyDesign(nhanes2, "finalwgt", strata="stratid", psu="psuid")
    dense = d.mean("zinc", by=["race", "region"], suppress=False)
    monkeypatch.setattr(design_module, "_DENSE_LIMIT", 0)
    sparse = d.mean("zinc", by=["race", "region"], suppress=False)
    pd.testing.assert_frame_equal(dense, sparse)


# --- scores and covariance ---------------------------------------------------------------------------------


def lonely_sample(seed=3) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    rows = []
    for h, n_psu in enumerate([3, 4, 1, 2, 1]):
        for p in range(n_psu):
            for _ in range(rng.integers(3, 8)):
                rows.append({"h": f"s{h}", "p": p, "w": rng.uniform(1, 5), "y": rng.normal(10 + h, 2), "g": rng.choice(["a", "b"])})
    return pd.DataFrame(rows)


@pytest.mark.parametrize("lonely", ["adjust", "remove", "certainty", "average"])
def test_scores_and_covariance_reproduce_the_domain_variance(lonely):
    data = lonely_sample()
    d = SurveyDesign(data, "w", strata="h", psu="p", lonely_psu=lonely)
    res = d.mean("y", by="g", suppress=False)
    for _, row in res.iterrows():
        z = d.scores_mean("y", (data["g"] == row["g"]).to_numpy())
        assert z.sum() == pytest.approx(0.0, abs=1e-12)
        assert np.sqrt(d.covariance(z)[0, 0]) == pytest.approx(row["se"], rel=1e-10)
        assert np.sqrt(linearized_covariance(z, data["h"], data["p"], lonely_psu=lonely)[0, 0]) == pytest.approx(row["se"], rel=1e-10)


def test_covariance_of_overlapping_domains_gives_the_contrast_variance(nhanes2):
    d = SurveyDesign(nhanes2, "finalwgt", strata="stratid", psu="psuid")
    za = d.scores_mean("zinc", (nhanes2["region"] == 1).to_numpy())
    zall = d.scores_mean("zinc")
    cov = d.covariance(np.column_stack([za, zall]))
    assert cov.shape == (2, 2) and cov[0, 1] == pytest.approx(cov[1, 0])
    contrast = d.covariance(za - zall)[0, 0]
    assert contrast == pytest.approx(cov[0, 0] + cov[1, 1] - 2 * cov[0, 1], rel=1e-10)
    assert contrast < cov[0, 0] + cov[1, 1]  # a domain is part of the whole: positively correlated


def test_lonely_psu_options():
    data = lonely_sample()
    with pytest.raises(InputError) as err:
        SurveyDesign(data, "w", strata="h", psu="p", lonely_psu="fail")
    assert err.value.code == "lonely_psu"
    se = {opt: one(SurveyDesign(data, "w", strata="h", psu="p", lonely_psu=opt).mean("y", suppress=False))["se"] for opt in ("adjust", "remove", "certainty", "average")}
    assert se["remove"] == se["certainty"]
    assert se["adjust"] > se["remove"]
    assert se["average"] ** 2 == pytest.approx(se["remove"] ** 2 * 5 / 3)
    # adjust: the lonely PSU's total of the mean scores, uncentred (their grand mean is zero), as R does
    d = SurveyDesign(data, "w", strata="h", psu="p", lonely_psu="adjust")
    z = d.scores_mean("y")
    extra = sum(z[((data["h"] == s) & (data["p"] == 0)).to_numpy()].sum() ** 2 for s in ("s2", "s4"))
    assert se["adjust"] ** 2 == pytest.approx(se["remove"] ** 2 + extra, rel=1e-10)
    with pytest.raises(InputError):
        SurveyDesign(data, "w", strata="h", psu="p", lonely_psu="collapse")


# --- confidence intervals ------------------------------------------------------------------------------------


@pytest.mark.parametrize("ci", ["wald", "logit", "korn-graubard"])
def test_proportion_intervals_stay_in_unit_interval(ci):
    rng = np.random.default_rng(5)
    n = 600
    data = pd.DataFrame({"w": rng.uniform(1, 3, n), "psu": rng.integers(0, 40, n), "g": rng.integers(0, 4, n)})
    data["rare"] = rng.random(n) < np.where(data["g"] == 0, 0.0, 0.02)  # group 0: no event at all
    data["common"] = rng.random(n) < 0.995
    d = SurveyDesign(data, "w", psu="psu")
    for var in ("rare", "common"):
        res = d.prop(var, by="g", ci=ci, suppress=False)
        assert (res["ci_low"] >= 0).all() and (res["ci_high"] <= 1).all()
        assert (res["ci_low"] <= res["estimate"] + 1e-12).all() and (res["estimate"] <= res["ci_high"] + 1e-12).all()
    zero = one(d.prop("rare", by="g", ci=ci, suppress=False), g=0)
    assert zero["estimate"] == 0 and zero["ci_low"] == 0


def test_logit_interval_formula(nhanes2):
    d = SurveyDesign(nhanes2, "finalwgt", strata="stratid", psu="psuid")
    r = one(d.prop("highbp", ci="logit", suppress=False))
    from scipy import stats

    t = stats.t.ppf(0.975, d.df)
    p, se = r["estimate"], r["se"]
    logit, half = np.log(p / (1 - p)), t * se / (p * (1 - p))
    assert r["ci_low"] == pytest.approx(1 / (1 + np.exp(-(logit - half))))
    assert r["ci_high"] == pytest.approx(1 / (1 + np.exp(-(logit + half))))
    wald = one(d.prop("highbp", suppress=False))
    assert wald["ci_low"] == pytest.approx(p - t * se) and wald["ci_high"] == pytest.approx(p + t * se)
    with pytest.raises(InputError):
        d.mean("zinc", ci="logit")


def _cluster_population(seed=11):
    rng = np.random.default_rng(seed)
    H, C, M = 4, 60, 15
    h = np.repeat(np.arange(H), C * M)
    c = np.repeat(np.arange(H * C), M)
    cluster_effect = rng.normal(0, 1.0, H * C)[c]
    pop = pd.DataFrame({"h": h, "c": c})
    pop["y"] = 50 + 3 * h + 4 * cluster_effect + rng.normal(0, 6, len(pop))
    pop["x"] = rng.random(len(pop)) < 0.3  # a domain that cuts across clusters
    pop["b"] = rng.random(len(pop)) < 1 / (1 + np.exp(-(-0.3 + 0.8 * cluster_effect)))
    return pop, H, C


def test_confidence_interval_coverage_by_simulation():
    """300 one-stage cluster samples (8 of 60 clusters per stratum, SRSWOR, fpc) from a known finite
    population: the 95% intervals of a mean, a proportion (logit) and a domain mean cover the true values
    about 95% of the time (Monte-Carlo SD 1.26 points; the band is 3 SD)."""
    pop, H, C = _cluster_population()
    truth = {"mean": pop["y"].mean(), "prop": pop["b"].mean(), "domain": pop.loc[pop["x"], "y"].mean()}
    rng = np.random.default_rng(12)
    reps, n_c = 300, 8
    hits = dict.fromkeys(truth, 0)
    M = len(pop) // (H * C)  # units per cluster; clusters are contiguous row blocks
    for _ in range(reps):
        chosen = np.concatenate([rng.choice(np.arange(hh * C, (hh + 1) * C), n_c, replace=False) for hh in range(H)])
        rows = (chosen[:, None] * M + np.arange(M)).ravel()
        s = pop.iloc[rows].reset_index(drop=True).assign(w=C / n_c, N=C)
        d = SurveyDesign(s, "w", strata="h", psu="c", fpc="N")
        m = one(d.mean("y", suppress=False))
        p = one(d.prop("b", ci="logit", suppress=False))
        dm = one(d.mean("y", where="x", suppress=False))
        hits["mean"] += m["ci_low"] <= truth["mean"] <= m["ci_high"]
        hits["prop"] += p["ci_low"] <= truth["prop"] <= p["ci_high"]
        hits["domain"] += dm["ci_low"] <= truth["domain"] <= dm["ci_high"]
    coverage = {k: v / reps for k, v in hits.items()}
    for _k, cov in coverage.items():
        assert 0.912 <= cov <= 0.988, coverage


# --- reliability and suppression ---------------------------------------------------------------------------


def test_reliability_thresholds():
    n = np.array([29, 30, 100, 100, 100, 100, 100, 100])
    est = np.array([0.5, 0.5, 0.5, 0.5, 0.5, 0.5, 0.0, 0.0])
    se = np.array([0.01, 0.01, 0.125, 0.1251, 0.25, 0.2501, 0.0, 0.01])
    assert reliability.classify(n, est, se).tolist() == ["suppressed", "ok", "ok", "flag", "flag", "suppressed", "flag", "suppressed"]


def test_suppressed_estimates_carry_no_number(apiclus1, dclus1):
    res = dclus1.mean("api00", by=["stype", "sch.wide"])  # several cells have n < 30
    small = res[res["n"] < 30]
    assert len(small) >= 4 and (small["reliability"] == "suppressed").all()
    assert small[["estimate", "se", "ci_low", "ci_high", "cv", "deff"]].isna().all().all()
    big = res[res["n"] >= 30]
    assert big["estimate"].notna().all()
    raw = dclus1.mean("api00", by=["stype", "sch.wide"], suppress=False)
    assert raw["estimate"].notna().all() and (raw["reliability"] == res["reliability"]).all()


# --- bad input ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("mutate,kwargs,code", [
    (lambda d: d, {"weight": "nope"}, "unknown_column"),
    (lambda d: d, {"weight": "pw", "psu": "district"}, "unknown_column"),
    (lambda d: d.assign(pw=d["pw"].astype(str).where(d.index != 3, "heavy")), {"weight": "pw"}, "non_numeric_weight"),
    (lambda d: d.assign(pw=-d["pw"]), {"weight": "pw"}, "negative_weight"),
    (lambda d: d.assign(pw=d["pw"].where(d.index != 0)), {"weight": "pw"}, "missing_weight"),
    (lambda d: d.assign(dnum=d["dnum"].where(d.index != 0)), {"weight": "pw", "psu": "dnum"}, "missing_design"),
    (lambda d: d.assign(fpc=d["fpc"].where(d.index != 0, 700)), {"weight": "pw", "psu": "dnum", "fpc": "fpc"}, "bad_fpc"),
    (lambda d: d.assign(fpc=10), {"weight": "pw", "psu": "dnum", "fpc": "fpc"}, "bad_fpc"),
])
def test_bad_design_input_is_rejected_with_a_code(apiclus1, mutate, kwargs, code):
    with pytest.raises(InputError) as err:
        SurveyDesign(mutate(apiclus1.copy()), **kwargs)
    assert err.value.code == code


def test_bad_analysis_variables(dclus1):
    with pytest.raises(InputError) as err:
        dclus1.prop("api00")
    assert err.value.code == "non_binary"
    with pytest.raises(InputError) as err:
        dclus1.mean("stype")
    assert err.value.code == "non_numeric"
    with pytest.raises(InputError) as err:
        dclus1.mean("api00", by="district")
    assert err.value.code == "unknown_column"
