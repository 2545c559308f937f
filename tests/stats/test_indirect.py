"""indirect_internet: the synthetic estimator on the real Dukcapil composition and the published DKI rates."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from analysis.stats import indirect, sae
from tests.stages import run_stages


@pytest.fixture(scope="module")
def ctx(raw_dir, manifest, tmp_path_factory):
    from analysis.etl import covariates, published, registers

    return run_stages(raw_dir, manifest, tmp_path_factory.mktemp("proc"), registers, covariates, published, indirect)


def test_every_kelurahan_gets_a_labelled_estimate_that_adds_up_to_the_city_total(ctx):
    t = ctx.tables["indirect_internet"]
    d = t.data
    assert len(d) == 267 and d["kode_kemendagri"].is_unique
    assert set(d["label"]) == {"modelled from published rates"}
    assert "same in every kelurahan" in d["assumption"].iat[0]
    # by construction the city composition x the group rates gives the published 73.46% of persons 5+
    assert np.average(d["indirect_internet"], weights=d["persons_5plus"]) == pytest.approx(0.7346, abs=0.002)
    assert ((d["range_low"] < d["indirect_internet"]) & (d["indirect_internet"] < d["range_high"])).all()
    # the solved rate of the unpublished group lies between the published extremes
    assert 0.0735 < d["rate_sd_solved"].iat[0] < 0.876
    shares = d[["share_no_diploma_5plus", "share_residual_5plus", "share_smp_plus_5plus"]].sum(axis=1)
    assert np.allclose(shares, 1.0)


def test_less_education_means_a_lower_estimate(ctx):
    d = ctx.tables["indirect_internet"].data
    assert np.corrcoef(d["share_smp_plus_5plus"], d["indirect_internet"])[0, 1] > 0.9


def test_estimator_on_a_two_kelurahan_city():
    rates = {"total": 0.5, "men": 0.5, "women": 0.5, "smp_plus": 0.8, "no_diploma": 0.1, "device_all": 0.8,
             "device_bottom40": 0.7, "device_top20": 0.9}
    comp = pd.DataFrame({"kode_kemendagri": ["a", "b"], "kelurahan": ["A", "B"], "persons_5plus": [100.0, 100.0],
                         "n_no_diploma": [0.0, 20.0], "n_residual": [50.0, 50.0], "n_smp_plus": [50.0, 30.0],
                         "share_female": [0.5, 0.5]})
    out = indirect.estimate(comp, rates)
    # r_residual solves 0.5 * 200 = 0.1 * 20 + r * 100 + 0.8 * 80  ->  r = 0.34
    assert out["rate_sd_solved"].iat[0] == pytest.approx(0.34)
    assert out["indirect_internet"].tolist() == pytest.approx([0.5 * 0.34 + 0.5 * 0.8, 0.2 * 0.1 + 0.5 * 0.34 + 0.3 * 0.8])


def test_offered_as_a_fay_herriot_covariate(ctx):
    cov = ctx.tables["kelurahan_covariates"].data.merge(indirect.as_covariate(ctx.tables["indirect_internet"].data),
                                                        on="kode_kemendagri")
    X, names = sae.covariate_matrix(cov, columns=sae.COVARIATES + ("indirect_internet",))
    assert X.shape[0] == 267 and "indirect_internet" in names
