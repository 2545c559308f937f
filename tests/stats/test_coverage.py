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
terms get its few df)."""

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


@pytest.fixture(scope="module")
def inputs(raw_dir, tmp_path_factory):
    return coverage.load_inputs(raw_dir, tmp_path_factory.mktemp("cov_inputs"))


@pytest.fixture(scope="module")
def replicates(inputs):
    return [coverage.replicate(inputs, s, **SIZE) for s in SEEDS]


@pytest.fixture(scope="module")
def rows(inputs, replicates):
    return pd.concat([coverage.replicate_coverage(r, inputs.covariates) for r in replicates], ignore_index=True)


def test_reference_truth_is_the_generators_city_definition(replicates):
    """The kota and city truths of the gaps are the generator's ``city_truth_weighted`` definition."""
    rep = replicates[0]
    kel = coverage.kelurahan_truth(rep)
    city = coverage.truth_weighted_rate(rep, kel, pd.Series("31", index=rep.pi_kelurahan.index))
    truth = rep.truth[rep.truth["kind"] == "city_rate"].set_index("indicator")["value"]
    for name, iid in coverage.TRUTH_INDICATORS.items():
        assert city[(iid, "31")] == pytest.approx(truth[name], rel=1e-12)
    kota = coverage.truth_weighted_rate(rep, kel, rep.kota_of)
    assert kota.index.get_level_values(1).nunique() == rep.kota_of.nunique()
    # the population the models' census parameters are fitted on is the generator's own (same true rates)
    rates = kel[kel["indicator_id"] == "person_internet"].set_index("kode_kemendagri")["value"]
    np.testing.assert_allclose(rep.census["kelurahan_rate"].reindex(rates.index), rates, rtol=0, atol=1e-12)


@pytest.mark.parametrize("kind", ["direct", "gap_kota", "gap_city", "sae_sampled", "sae_unsampled", "gap_modelled", "model_coefficient", "marginal_effect"])
def test_interval_covers_the_truth_at_the_nominal_rate(rows, kind):
    s = coverage.summarise(rows).set_index("type")
    assert kind in s.index, s
    row = s.loc[kind]
    band = 3 * max(row["mc_se"], 0.005)
    lo, hi = 0.94 - band, min(0.97 + band, 1.0)
    assert lo > BEFORE.get(kind, BROKEN), (kind, lo, "too few intervals to tell an honest interval from the old one")
    if kind == "direct":
        hi = 1.0  # Korn-Graubard is conservative by construction (Clopper-Pearson); only under-coverage is a bug
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
