"""Coverage of every published interval type against the SYNTHETIC demo survey's known truth (issue 12), on a
few small seeded demo surveys: the fast form of ``bench/bench_coverage.py`` (same harness,
``analysis.stats.coverage``).

The accepted band is the issue's target, 94-97%, widened by 3 Monte Carlo SEs of the measured coverage
(cluster-robust over seed x kelurahan; floored at 0.5 points) on each side, so an interval whose true coverage
is inside the target fails well under once in 700 runs. Where the band would reach down to what the interval
covered before its fix (``BEFORE``: the gaps 80-84%), the test could not tell the difference and says so by
failing.

What the Monte Carlo SE allows for the model terms: 4 seeds give 76 odds ratios (19 terms each), MC SE about 3
points, so the band reaches down to about 85%. It tells a broken model interval (80%) from an honest one, but
not the 91% of the svyglm df with Kepulauan Seribu as kota reference (``bench/RESULTS.md``) from 95%: that needs
an MC SE under 1 point, about 45 seeds at this size (10 minutes). ``bench/bench_coverage.py`` measures both
methods on the same seeds; ``tests/stats/test_models.py`` checks the mechanism (a small reference stratum's
terms get its few df).

Every interval here comes from the build's published pipeline: person weights raked to the SYNTHETIC
population's own kota x sex and kota x age-band totals (``coverage.synthetic_margins``: the WHOLE synthetic
population's, every kelurahan of the frame; Dukcapil's totals would move the demo away from its own truth), the
raked weights for gaps, SAE and models. The kota, city and gap truths are the whole synthetic population's
(``coverage.reference_truth``: all 267 kelurahan, the unsampled ones built by
``generate.build_unsampled_populations``), so the published two-stage intervals (kelurahan by PPS without
replacement, Brewer's approximation, then RW) are tested two-sided; the truth given the sampled kelurahan (the
harness's truth before) is kept for the variants it validates. What the MC SE allows: 4 seeds give 4 city
clusters (40 intervals, MC SE about 5 points once one misses), too few to tell a broken interval (80%) from a
nominal one, so the city rows are tested together with the kota rows (``reference_direct``, 28 clusters);
``bench/bench_coverage.py`` (12 seeds, the demo's size) measures the city alone."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from analysis.stats import coverage

SEEDS = (101, 102, 103, 104)
SIZE = {"households": 1500, "kelurahan": 30}
# coverage before the issue-12 fix where the CI's MC SE can tell it apart (bench/RESULTS.md); others: a broken 80%
BEFORE = {"gap_kota": 0.836, "gap_city": 0.803}
BROKEN = 0.80
# only bounded below: Korn-Graubard is conservative by construction (Clopper-Pearson; 97.4% at the demo's size),
# and a modelled gap's SE leaves out the positive covariance of the small-area estimate and the reference
# (``sae.modelled_gaps``; 97.4% for the frame's unsampled kelurahan at the demo's size)
CONSERVATIVE = {"direct", "gap_modelled_frame"}
# the city (one cluster per seed) is tested with the kota rows: ``reference_direct``
REFERENCE_DIRECT = "reference_direct"


@pytest.fixture(scope="module")
def inputs(raw_dir, tmp_path_factory):
    return coverage.load_inputs(raw_dir, tmp_path_factory.mktemp("cov_inputs"))


@pytest.fixture(scope="module")
def replicates(inputs):
    return [coverage.replicate(inputs, s, **SIZE) for s in SEEDS]


@pytest.fixture(scope="module")
def rows(inputs, replicates):
    """Every interval against the whole truth (published pipeline), and the city, kota and gap intervals against
    the truth given the sampled kelurahan (``coverage.CONDITIONAL_TRUTH_SUFFIX``)."""
    return pd.concat([coverage.replicate_coverage(r, inputs.covariates, variants=True) for r in replicates]
                     + [coverage.replicate_coverage(r, None, variants=True, truth=coverage.CONDITIONAL_TRUTH, models=False) for r in replicates],
                     ignore_index=True)


def test_whole_truth_is_every_kelurahan_of_the_frame(replicates):
    """The default kota and city truth is the rate over every kelurahan of the frame (the sampled ones' full
    populations, as in ``truth_kelurahan.csv``, and the unsampled ones'), each person or household once; it is not
    the conditional truth (the sampled kelurahan weighted by 1 / pi_kelurahan)."""
    rep = replicates[0]
    t = rep.frame_truth
    assert t.groupby("indicator_id")["kode_kemendagri"].nunique().eq(267).all()
    assert len(t) == 267 * len(coverage.TRUTH_INDICATORS)
    assert set(t.loc[t["sampled"], "kode_kemendagri"]) == set(rep.pi_kelurahan.index)
    kel = coverage.kelurahan_truth(rep).set_index(["indicator_id", "kode_kemendagri"])
    mine = t[t["sampled"]].set_index(["indicator_id", "kode_kemendagri"]).loc[kel.index]
    np.testing.assert_allclose(mine["value"], kel["value"], rtol=0, atol=1e-12)
    np.testing.assert_array_equal(mine["denominator"], kel["denominator"])
    city, kota = coverage.reference_truth(rep)
    i = t[t["indicator_id"] == "person_internet"]
    assert city[("person_internet", "31")] == pytest.approx(i["numerator"].sum() / i["denominator"].sum(), rel=1e-12)
    east = i[i["kota"] == "31.75"]
    assert kota[("person_internet", "31.75")] == pytest.approx(east["numerator"].sum() / east["denominator"].sum(), rel=1e-12)
    _, kota_given = coverage.reference_truth(rep, coverage.CONDITIONAL_TRUTH)
    assert (kota - kota_given.reindex(kota.index)).abs().max() > 0.005  # another target, not a relabelling


def test_conditional_reference_truth_is_the_generators_city_definition(replicates):
    """The conditional kota and city truths (the variant) are the generator's ``city_truth_weighted`` definition."""
    rep = replicates[0]
    city, kota = coverage.reference_truth(rep, coverage.CONDITIONAL_TRUTH)
    truth = rep.truth[rep.truth["kind"] == "city_rate"].set_index("indicator")["value"]
    for name, iid in coverage.TRUTH_INDICATORS.items():
        assert city[(iid, "31")] == pytest.approx(truth[name], rel=1e-12)
    assert kota.index.get_level_values(1).nunique() == rep.kota_of.nunique()
    kel = coverage.kelurahan_truth(rep)
    # the population the models' census parameters are fitted on is the generator's own (same true rates)
    assert rep.census_whole is not None and set(rep.census_whole["odds_ratios"]["term"]) == set(rep.census["odds_ratios"]["term"])
    rates = kel[kel["indicator_id"] == "person_internet"].set_index("kode_kemendagri")["value"]
    np.testing.assert_allclose(rep.census["kelurahan_rate"].reindex(rates.index), rates, rtol=0, atol=1e-12)


def test_raking_margins_are_the_synthetic_populations_and_the_raked_weights_meet_them(replicates):
    """The harness rakes to the WHOLE synthetic population's totals (every person of every kelurahan of the frame
    once, as the build rakes to Dukcapil's whole-kota totals; the conditional variant: persons of the sampled
    kelurahan weighted by 1 / pi_kelurahan) and the published pipeline's weights meet them."""
    from analysis.stats import estimates

    rep = replicates[0]
    m = rep.margins
    # both margins count the same persons (one population): equal kota totals
    np.testing.assert_allclose(m.sex.groupby(estimates.KOTA)["total"].sum(), m.age.groupby(estimates.KOTA)["total"].sum(), rtol=1e-12)
    # whole counts are whole persons; the conditional totals are another (weighted) population of the same size
    assert np.allclose(m.sex["total"], m.sex["total"].round())
    c = rep.conditional_margins
    assert not np.allclose(m.sex["total"], c.sex["total"])
    np.testing.assert_allclose(c.sex["total"].sum(), m.sex["total"].sum(), rtol=0.05)
    # the population's size is what the design weights estimate: within 10% per kota
    design = rep.persons.groupby(estimates.KOTA)["weight"].sum()
    np.testing.assert_allclose(design.reindex(m.sex.groupby(estimates.KOTA)["total"].sum().index), m.sex.groupby(estimates.KOTA)["total"].sum(), rtol=0.10)
    raked = estimates.calibrated_persons(rep.persons, m)
    known = raked["sex"].notna()
    got = raked[known].groupby([estimates.KOTA, "sex"])["weight"].sum()
    want = m.sex.set_index([estimates.KOTA, "sex"])["total"]
    # persons with a missing sex keep their design weight (missing="keep"), a small share
    np.testing.assert_allclose(got.reindex(want.index), want, rtol=0.02)
    assert not np.allclose(raked["weight"], rep.persons["weight"])


def test_published_city_and_kota_rows_are_the_two_stage_design_and_wider_than_rw(replicates):
    """The harness's city/kota rows are the published ones (kelurahan-stage design, raked), and their SE holds
    the first-stage variance the RW-as-PSU design leaves out (larger on average)."""
    from analysis.stats import estimates

    rep = replicates[0]
    ids = set(coverage.TRUTH_INDICATORS.values())
    pub = estimates.compute(rep.households, rep.persons, indicator_ids=ids, margins=rep.margins)
    pub = pub[pub["level"].isin(["city", "kota"]) & pub["domain_var"].isna()]
    two = coverage.reference_estimates(rep.households, rep.persons, rep.margins, coverage.TWO_STAGE, indicator_ids=ids)
    rw = coverage.reference_estimates(rep.households, rep.persons, rep.margins, coverage.RW_AS_PSU, indicator_ids=ids)
    j = pub.merge(two, on=["indicator_id", "level", "area_code"], suffixes=("", "_two"))
    assert len(j) == len(pub) > 0
    np.testing.assert_allclose(j["se"].astype(float), j["se_two"].astype(float), rtol=1e-12)
    k = two.merge(rw, on=["indicator_id", "level", "area_code"], suffixes=("", "_rw")).dropna(subset=["se", "se_rw"])
    assert (k["se"] / k["se_rw"]).median() > 1.05, k[["indicator_id", "area_code", "se", "se_rw"]]
    # the first stage is without replacement (Brewer): smaller than with replacement for most rows
    wr = coverage.reference_estimates(rep.households, rep.persons, rep.margins, coverage.TWO_STAGE_WR, indicator_ids=ids)
    b = two.merge(wr, on=["indicator_id", "level", "area_code"], suffixes=("", "_wr")).dropna(subset=["se", "se_wr"])
    assert rep.households["pi_kelurahan"].notna().all()
    assert (b["se"] / b["se_wr"]).median() < 0.99, b[["indicator_id", "area_code", "se", "se_wr"]]


@pytest.mark.parametrize("kind", ["direct", REFERENCE_DIRECT, "kota_direct", "gap_kota", "gap_city", "sae_sampled", "sae_unsampled", "gap_modelled",
                                  "sae_unsampled_frame", "gap_modelled_frame", "model_coefficient", "marginal_effect"])
def test_interval_covers_the_truth_at_the_nominal_rate(rows, kind):
    reference = rows[rows["type"].isin(["city_direct", "kota_direct"])].assign(type=REFERENCE_DIRECT)
    s = coverage.summarise(pd.concat([rows, reference], ignore_index=True)).set_index("type")
    assert kind in s.index, s
    row = s.loc[kind]
    band = 3 * max(row["mc_se"], 0.005)
    lo, hi = 0.94 - band, min(0.97 + band, 1.0)
    assert lo > BEFORE.get(kind, BROKEN), (kind, lo, "too few intervals to tell an honest interval from the old one")
    if kind in CONSERVATIVE:
        hi = 1.0  # only under-coverage is a bug (CONSERVATIVE)
    assert lo <= row["coverage"] <= hi, s
    assert np.isfinite(row["mean_width"]) and row["mean_width"] > 0


def test_quantile_woodruff_intervals_cover_the_true_quartiles(inputs, replicates):
    """Quota-spending quartiles (``analysis.stats.quantiles``, Woodruff 1952) of the city and each kota against
    the quartiles of the full synthetic population. Measured at this size, seeds 201-220 (420 intervals): 98.1%
    with the build's centring on p, 96.7% with R's (95.2% over seeds 201-240); here the four seeds of the other
    types, with the build's centring."""
    rows = pd.concat([coverage.quantile_coverage(r, coverage.quantile_truth(inputs, r.seed, **SIZE)) for r in replicates], ignore_index=True)
    row = coverage.summarise(rows).set_index("type").loc[coverage.QUANTILE_TYPE]
    band = 3 * max(row["mc_se"], 0.005)
    assert row["intervals"] >= 60 and 0.94 - band > 0.80, row
    assert 0.94 - band <= row["coverage"] <= min(0.97 + band, 1.0), row
    assert np.isfinite(row["mean_width"]) and row["mean_width"] > 0


def test_gap_reference_side_has_its_published_variance(rows):
    """The direct gaps' reference side carries the published (kelurahan-stage) variance of the kota and city
    (``gaps.REFERENCE_VARIANCE``): wider intervals than with the RW design's reference variance, on the same rows,
    and the RW form still covers the truth given the sampled kelurahan (which holds the first stage fixed, as
    the RW reference variance does)."""
    from analysis.stats import gaps

    assert gaps.REFERENCE_VARIANCE == gaps.TWO_STAGE
    s = coverage.summarise(rows).set_index("type")
    for vs in ("kota", "city"):
        assert s.loc[f"gap_{vs}", "mean_width"] > s.loc[f"gap_{vs} (RW reference SE)", "mean_width"], s
        rw = s.loc[f"gap_{vs} (RW reference SE){coverage.CONDITIONAL_TRUTH_SUFFIX}"]
        band = 3 * max(rw["mc_se"], 0.005)
        assert 0.94 - band <= rw["coverage"] <= 0.97 + band, s


def test_the_whole_truth_moves_with_the_first_stage(rows):
    """Against the whole population the kota truth is not the sampled kelurahan's: the variance GIVEN the sampled
    kelurahan (``coverage.conditional_design``), which covers the conditional truth at the nominal rate, falls
    short of the whole truth, because the whole kota's rate differs from its sampled kelurahan's by the
    first-stage sampling error; the published two-stage interval covers both."""
    s = coverage.summarise(rows).set_index("type")
    given = s.loc[f"kota_direct{coverage.CONDITIONAL_SUFFIX}"]
    given_cond = s.loc[f"kota_direct{coverage.CONDITIONAL_SUFFIX}{coverage.CONDITIONAL_TRUTH_SUFFIX}"]
    band = 3 * max(given_cond["mc_se"], 0.005)
    assert 0.94 - band <= given_cond["coverage"] <= 0.97 + band, s
    assert given["coverage"] < given_cond["coverage"] - 0.05, s
    assert s.loc["kota_direct", "coverage"] >= 0.94 - 3 * max(s.loc["kota_direct", "mc_se"], 0.005), s


def test_gap_two_stage_reference_adds_the_kotas_first_stage_variance(replicates):
    """``Var(diff)`` with the two-stage reference is the RW form's plus the published kota variance's excess over
    the RW design's kota variance (the covariance of the two sides unchanged): checked against the ``estimates``
    kota rows (two-stage) and the RW design's kota SE, per kelurahan."""
    from analysis.stats import estimates, gaps
    from analysis.stats import indicators as ind

    rep = replicates[0]
    persons = estimates.calibrated_persons(rep.persons, rep.margins)
    indicator = ind.get("person_internet")
    two = gaps.indicator_gaps(persons, indicator, reference_variance=gaps.TWO_STAGE)
    rw = gaps.indicator_gaps(persons, indicator, reference_variance=gaps.RW)
    published = estimates.compute(rep.households, persons, suppress=False, indicator_ids={"person_internet"})
    kota_two = published[(published["level"] == "kota")].set_index("area_code")["se"] ** 2
    y, universe = indicator.values(persons)
    kota_rw = estimates.rw_design(persons, "survey_persons").prop(y, by=estimates.KOTA, where=universe, suppress=False, df="domain")
    kota_rw = kota_rw.set_index(kota_rw[estimates.KOTA].astype(str))["se"] ** 2
    k = two["vs"] == "kota"
    extra = (kota_two - kota_rw).clip(lower=0)
    got = two.loc[k, "se"].to_numpy() ** 2 - rw.loc[k, "se"].to_numpy() ** 2
    want = two.loc[k, "reference_code"].astype(str).map(extra).to_numpy(dtype=float)
    np.testing.assert_allclose(got, want, rtol=1e-6, atol=1e-12)
    assert (want > 0).mean() > 0.5  # the two-stage kota variance is the larger for most kota
