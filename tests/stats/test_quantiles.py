"""Quantiles with Woodruff (1952) intervals (``SurveyDesign.quantile``) and the weighted quantile rule
(``analysis.stats.design.weighted_quantile``), pinned to R ``survey`` (>= 4.1, ``svyquantile`` with its defaults
``interval.type = "mean"``, ``qrule = "math"``).

References:
- R survey vignette "A survey analysis example" (T. Lumley, survey 4.x, dated 28 August 2025), printed output of
  ``svyquantile(~api00, dclus1, quantile=c(0.25,0.5,0.75), ci=TRUE)`` with
  ``dclus1 <- svydesign(id=~dnum, weights=~pw, data=apiclus1, fpc=~fpc)``;
- R survey ``tests/newquantile.R``: with equal weights ``qrule="hfN"`` equals base R ``quantile(type=N)``, and
  ``qrule="math"`` is ``"hf1"``: the type-1 (inverse empirical CDF) quantile, ``numpy.quantile(method=
  "inverted_cdf")``.
"""

from __future__ import annotations

import numpy as np
import pytest

from analysis.errors import InputError
from analysis.stats.design import SurveyDesign, weighted_quantile


def test_quartiles_and_woodruff_intervals_reproduce_the_r_vignette(dclus1):
    out = dclus1.quantile("api00", q=(0.25, 0.5, 0.75), suppress=False)
    # svyquantile(~api00, dclus1, c(.25,.5,.75), ci=TRUE): quantile, ci.2.5, ci.97.5, se
    expected = [(0.25, 552, 492, 627, 31.47166), (0.5, 652, 561, 714, 35.66788), (0.75, 719, 696, 777, 18.88300)]
    assert out["quantile"].tolist() == [0.25, 0.5, 0.75]
    for (_, row), (p, q, lo, hi, se) in zip(out.iterrows(), expected):
        assert row["quantile"] == p and (row["estimate"], row["ci_low"], row["ci_high"]) == (q, lo, hi)
        assert row["se"] == pytest.approx(se, abs=5e-6)
        assert row["n"] == 183 and row["df"] == 14 and np.isnan(row["deff"])


@pytest.mark.parametrize("p", [0.1, 0.2, 0.25, 0.5, 0.9, 0.95])
def test_math_rule_with_equal_weights_is_the_type_1_quantile(apiclus1, p):
    # R tests/newquantile.R: svyquantile(~ell, dclus1, p, qrule="hf1") == quantile(apiclus1$ell, p, type=1)
    y = apiclus1["ell"].to_numpy(dtype=float)
    assert weighted_quantile(y, np.ones_like(y), p)[0] == np.quantile(y, p, method="inverted_cdf")
    assert weighted_quantile(y, apiclus1["pw"].to_numpy(), p)[0] == np.quantile(y, p, method="inverted_cdf")


def test_domain_quantiles_are_subpopulations_with_their_own_df(apiclus1, dclus1):
    by = dclus1.quantile("api00", q=(0.5,), by="stype", suppress=False).set_index("stype")
    districts = apiclus1.groupby("stype")["dnum"].nunique()
    assert by["df"].to_dict() == {k: int(v) - 1 for k, v in districts.items()}
    # the same domain through where= gives the same numbers
    high = dclus1.quantile("api00", q=(0.5,), where=(apiclus1["stype"] == "H").to_numpy(), suppress=False).iloc[0]
    assert high["estimate"] == by.loc["H", "estimate"] and high["se"] == pytest.approx(by.loc["H", "se"])
    # the point estimate is the weighted median of the domain's own rows
    h = apiclus1[apiclus1["stype"] == "H"]
    assert by.loc["H", "estimate"] == weighted_quantile(h["api00"], h["pw"], 0.5)[0]


def test_a_narrower_level_gives_a_nested_interval(dclus1):
    wide = dclus1.quantile("api00", q=(0.5,), level=0.95, suppress=False).iloc[0]
    narrow = dclus1.quantile("api00", q=(0.5,), level=0.80, suppress=False).iloc[0]
    assert wide["ci_low"] <= narrow["ci_low"] <= narrow["estimate"] <= narrow["ci_high"] <= wide["ci_high"]


def test_small_domains_are_suppressed(dclus1):
    out = dclus1.quantile("api00", q=(0.5,), by="stype").set_index("stype")
    assert out.loc["H", "reliability"] == "suppressed" and np.isnan(out.loc["H", "estimate"])
    assert out.loc["E", "reliability"] == "ok"


@pytest.mark.parametrize("kwargs,code", [
    ({"y": "stype"}, "non_numeric"),
    ({"y": "api00", "q": (1.5,)}, "bad_quantile"),
    ({"y": "api00", "q": (-0.1,)}, "bad_quantile"),
    ({"y": "api00", "q": "median"}, "bad_quantile"),
    ({"y": "api00", "level": 1.0}, "bad_level"),
    ({"y": "api00", "level": 0}, "bad_level"),
])
def test_bad_input(dclus1, kwargs, code):
    with pytest.raises(InputError) as err:
        dclus1.quantile(**kwargs)
    assert err.value.code == code


def test_non_numeric_error_names_the_first_row(apiclus1):
    data = apiclus1.assign(api00=apiclus1["api00"].astype(object).where(apiclus1.index != 6, "n/a"))
    with pytest.raises(InputError, match="data row 7") as err:
        SurveyDesign(data, "pw", psu="dnum").quantile("api00")
    assert "api00" in str(err.value)


# --- the build's quota-spending quantile table ---------------------------------------------------------------


@pytest.fixture(scope="module")
def spend_table(tmp_path_factory):
    from simulated_survey import make_survey

    from analysis import sources
    from analysis.build import BuildContext
    from analysis.stats import estimates
    from analysis.tables import Table

    households, persons = make_survey(kel_per_kota=3, rw_per_kel=3, hh_per_rw=12, seed=7)
    tmp = tmp_path_factory.mktemp("quantiles")
    ctx = BuildContext(raw=tmp / "raw", processed=tmp / "processed", manifest=sources.load_manifest())
    ctx.tables["survey_households"] = Table("survey_households", "hh", "hh", households, [], ["demo_survey"], synthetic=True)
    ctx.tables["survey_persons"] = Table("survey_persons", "p", "p", persons, [], ["demo_survey"], synthetic=True)
    built = {t.name: t for t in estimates.build(ctx)}
    return households, built["quota_spend_quantiles"]


def test_quota_spending_table_has_city_and_every_kota_with_woodruff_intervals(spend_table):
    from analysis.stats import quantiles

    households, table = spend_table
    table.check()
    data = table.data
    assert data.columns.tolist() == quantiles.COLUMNS + ["area_name"]
    assert [f.name for f in table.fields] == data.columns.tolist()  # every column has its codebook entry
    assert table.synthetic and data["synthetic"].all()  # the build labels its datapackage entry SYNTHETIC DATA
    kota = sorted(households["kode_kab_kemendagri"].astype(str).unique())
    assert sorted(data.loc[data["level"] == "kota", "area_code"].unique()) == kota
    assert data.loc[data["level"] == "city", "quantile"].tolist() == [0.25, 0.5, 0.75]
    shown = data.dropna(subset=["estimate"])
    assert len(shown) and (shown["ci_low"] <= shown["estimate"]).all() and (shown["estimate"] <= shown["ci_high"]).all()
    # the city median is the design-weighted median of the buyers (qrule "math")
    buyers = households[households["quota_spend_rp"] > 0]
    city = data[(data["level"] == "city") & (data["quantile"] == 0.5)].iloc[0]
    assert city["estimate"] == weighted_quantile(buyers["quota_spend_rp"], buyers["weight"], 0.5)[0]
    assert city["n"] == len(buyers)


def test_centring_on_p_lets_the_interval_reach_below_a_heavily_tied_estimate(apiclus1):
    """With rounded values R's interval (centred on m = F(qhat), which exceeds p by the tie's mass) cannot
    reach below the estimate; Woodruff's original centring on p (as SAS) can."""
    rounded = apiclus1.assign(api_r=(apiclus1["api00"] / 100).round() * 100)
    design = SurveyDesign(rounded, "pw", psu="dnum", fpc="fpc")
    r_style = design.quantile("api_r", q=(0.5,), suppress=False).iloc[0]
    woodruff = design.quantile("api_r", q=(0.5,), suppress=False, centre="p").iloc[0]
    assert r_style["ci_low"] == r_style["estimate"] == woodruff["estimate"]
    assert woodruff["ci_low"] < woodruff["estimate"] <= woodruff["ci_high"]
    with pytest.raises(InputError) as err:
        design.quantile("api_r", centre="middle")
    assert err.value.code == "bad_option"
