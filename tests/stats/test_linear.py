"""Survey-weighted regression (``analysis.stats.linear``; ``python -m analysis regress``) pinned to R ``svyglm``.

References (design ``dclus1 <- svydesign(id=~dnum, weights=~pw, data=apiclus1, fpc=~fpc)``): the R survey vignette
"A survey analysis example" (T. Lumley, 28 August 2025), printed ``summary(svyglm(api00~ell+meals, design=dclus1))``
and ``summary(svyglm(I(sch.wide=="Yes")~ell+meals, design=dclus1, family=quasibinomial()))``.
"""

from __future__ import annotations

import io
import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from analysis.cli import main
from analysis.errors import InputError
from analysis.stats.design import SurveyDesign
from analysis.stats.linear import fit_survey_regression

APICLUS1 = Path(__file__).parent / "fixtures" / "apiclus1.csv"
DESIGN = ["--weight", "pw", "--psu", "dnum", "--fpc", "fpc"]


def test_linear_model_reproduces_r_svyglm_on_the_cluster_sample(dclus1):
    table = fit_survey_regression(dclus1, "api00", ["ell", "meals"]).table().set_index("term")
    # Estimate, Std. Error, t value, Pr(>|t|) as printed by summary(svyglm(api00 ~ ell + meals, design = dclus1))
    expected = {"intercept": (817.1823, 18.6709, 43.768, 1.32e-14), "ell": (-0.5088, 0.3259, -1.561, 0.144),
                "meals": (-3.1456, 0.3018, -10.423, 2.29e-07)}
    for term, (b, se, t, p) in expected.items():
        row = table.loc[term]
        assert row["estimate"] == pytest.approx(b, abs=5e-5) and row["se"] == pytest.approx(se, abs=5e-5)
        assert row["t"] == pytest.approx(t, abs=5e-4) and row["p_value"] == pytest.approx(p, rel=5e-3)
    assert (table["df"] == 14 + 1 - 3).all()  # degf(dclus1) + 1 - length(coef)


def test_logistic_model_reproduces_r_svyglm_quasibinomial(dclus1):
    table = fit_survey_regression(dclus1, "schwide", ["ell", "meals"], family="binomial").table().set_index("term")
    expected = {"intercept": (1.899557, 0.509915, 3.725, 0.00290), "ell": (0.039925, 0.012443, 3.209, 0.00751),
                "meals": (-0.019115, 0.008825, -2.166, 0.05117)}
    for term, (b, se, t, p) in expected.items():
        row = table.loc[term]
        assert row["estimate"] == pytest.approx(b, abs=5e-7) and row["se"] == pytest.approx(se, abs=5e-7)
        assert row["t"] == pytest.approx(t, abs=5e-4) and row["p_value"] == pytest.approx(p, rel=5e-3)


def test_interval_uses_the_residual_df_and_the_level(dclus1):
    fit = fit_survey_regression(dclus1, "api00", ["ell", "meals"])
    row = fit.table(level=0.9).set_index("term").loc["meals"]
    # qt(0.95, 12) = 1.782288 (t table), SE 0.3018 printed by R
    assert (row["ci_high"] - row["ci_low"]) / 2 == pytest.approx(1.782288 * 0.301803, abs=1e-5)


def test_rows_with_a_missing_covariate_stay_in_the_design_with_zero_score(apiclus1):
    data = apiclus1.assign(ell=apiclus1["ell"].where(apiclus1.index % 10 != 0))
    design = SurveyDesign(data, "pw", psu="dnum", fpc="fpc")
    fit = fit_survey_regression(design, "api00", ["ell", "meals"])
    assert fit.n == int(data["ell"].notna().sum())
    # the same numbers as a where= domain of the complete rows
    same = fit_survey_regression(design, "api00", ["ell", "meals"], where=data["ell"].notna().to_numpy())
    assert np.allclose(fit.coef, same.coef) and np.allclose(fit.cov, same.cov)


@pytest.mark.parametrize("y,x,family,code,words", [
    ("stype", ["ell"], "gaussian", "non_numeric", "stype"),
    ("api00", ["typo"], "gaussian", "non_numeric", "typo"),  # numbers with a stray text value: not a factor
    ("api00", ["ell", "ell"], "gaussian", "collinear", "ell"),
    ("api00", ["ell", "ell2"], "gaussian", "collinear", "'ell2' is a linear combination of 'intercept', 'ell'"),
    ("api00", ["ell", "one"], "gaussian", "collinear", "'one' is constant"),
    ("api00", ["ell"], "binomial", "non_binary", "api00"),
    ("api00", ["ell"], "poisson", "bad_option", "family"),
])
def test_bad_input(apiclus1, y, x, family, code, words):
    data = apiclus1.assign(ell2=2 * apiclus1["ell"] + 1, one=1.0, typo=apiclus1["ell"].astype(object))
    data.loc[3, "typo"] = "12,5"
    design = SurveyDesign(data, "pw", psu="dnum", fpc="fpc")
    with pytest.raises(InputError) as err:
        fit_survey_regression(design, y, x, family=family)
    assert err.value.code == code and words in str(err.value)


def run(capsys, *argv):
    rc = main(["regress", *map(str, argv)])
    out = capsys.readouterr()
    return rc, out.out, out.err


def test_regress_command_json_and_csv(capsys):
    rc, out, _ = run(capsys, APICLUS1, *DESIGN, "--y", "api00", "--x", "ell", "meals")
    assert rc == 0
    payload = json.loads(out)
    coef = {r["term"]: r for r in payload["coefficients"]}
    assert coef["meals"]["estimate"] == pytest.approx(-3.1456, abs=5e-5) and payload["df"] == 12 and payload["n"] == 183
    assert payload["design"]["psu"] == "dnum" and payload["level"] == 0.95 and payload["family"] == "gaussian"
    rc, out, _ = run(capsys, APICLUS1, *DESIGN, "--y", "api00", "--x", "ell", "meals", "--format", "csv", "--conf-level", "0.9")
    table = pd.read_csv(io.StringIO(out))
    assert list(table["term"]) == ["intercept", "ell", "meals"] and (table["level"] == 0.9).all()


@pytest.mark.parametrize("args,code", [
    (["--y", "api00", "--x", "ell", "ell"], "collinear"),
    (["--y", "stype", "--x", "ell"], "non_numeric"),
    (["--y", "api00", "--x", "ell", "--conf-level", "1.5"], "bad_level"),
])
def test_regress_command_errors_are_one_line(capsys, args, code):
    rc, out, err = run(capsys, APICLUS1, *DESIGN, *args)
    assert rc == 2 and out == "" and err.startswith(f"error [{code}]") and len(err.strip().splitlines()) == 1


# --- the stratified sample: R svyglm help example ------------------------------------------------------------
# summary(svyglm(api00 ~ ell + meals + mobility, design = dstrat)),
# dstrat <- svydesign(id=~1, strata=~stype, weights=~pw, data=apistrat, fpc=~fpc); the printed output of the R
# help example as reproduced in the lecture notes Japhilko/IntroR ("Regression mit dem survey Paket").

APISTRAT = Path(__file__).parent / "fixtures" / "apistrat.csv"


def test_linear_model_reproduces_r_svyglm_on_the_stratified_sample():
    dstrat = SurveyDesign(pd.read_csv(APISTRAT), "pw", strata="stype", fpc="fpc")
    table = fit_survey_regression(dstrat, "api00", ["ell", "meals", "mobility"]).table().set_index("term")
    expected = {"intercept": (820.8873, 10.0777, 81.456), "ell": (-0.4806, 0.3920, -1.226),
                "meals": (-3.1415, 0.2839, -11.064), "mobility": (0.2257, 0.3932, 0.574)}
    for term, (b, se, t) in expected.items():
        row = table.loc[term]
        assert row["estimate"] == pytest.approx(b, abs=5e-5) and row["se"] == pytest.approx(se, abs=5e-5)
        assert row["t"] == pytest.approx(t, abs=5e-4)
    assert table.loc["ell", "p_value"] == pytest.approx(0.222, abs=5e-4) and table.loc["mobility", "p_value"] == pytest.approx(0.567, abs=5e-4)
    assert (table["df"] == 197 + 1 - 4).all()  # degf(dstrat) = 200 - 3


APISTRAT = Path(__file__).parent / "fixtures" / "apistrat.csv"


def _dstrat(data=None):
    data = pd.read_csv(APISTRAT) if data is None else data
    return SurveyDesign(data, weight="pw", strata="stype", fpc="fpc")


def test_a_text_covariate_is_a_factor_with_r_treatment_contrasts():
    """Text covariates (``stype``: E/H/M, a made-up ``size``: big/small) are factors with the first sorted level
    as reference, named as R prints them (``stypeH``, ``stypeM``, ``sizesmall``); the fit equals the one on
    hand-made 0/1 columns (same design, same scores), and its coefficients equal statsmodels' weighted least
    squares on the same dummies (another library; design-based SEs differ from WLS's by design, so only the
    estimates)."""
    import statsmodels.api as sm

    data = pd.read_csv(APISTRAT)
    data["size"] = np.where(data["enroll"] > 500, "big", "small")
    fit = fit_survey_regression(_dstrat(data), "api00", ["ell", "stype", "size"])
    assert fit.names == ("intercept", "ell", "stypeH", "stypeM", "sizesmall")
    dummies = pd.DataFrame({"stype_h": data["stype"] == "H", "stype_m": data["stype"] == "M", "small": data["size"] == "small"}).astype(float)
    data = pd.concat([data, dummies], axis=1)
    by_hand = fit_survey_regression(_dstrat(data), "api00", ["ell", *dummies.columns])
    np.testing.assert_allclose(fit.coef, by_hand.coef, rtol=1e-12)
    np.testing.assert_allclose(fit.cov, by_hand.cov, rtol=1e-10)
    assert fit.df == by_hand.df == 200 - 3 + 1 - 5  # degf(dstrat) + 1 - p
    wls = sm.WLS(data["api00"], sm.add_constant(data[["ell", *dummies.columns]]), weights=data["pw"]).fit()
    np.testing.assert_allclose(fit.coef, wls.params.to_numpy(), rtol=1e-9)


def test_a_numeric_code_is_a_factor_when_asked_and_its_missing_rows_leave_the_model():
    data = pd.read_csv(APISTRAT)
    data["region"] = np.where(data["enroll"] > 800, 3, np.where(data["enroll"] > 400, 2, 1)).astype(float)
    data.loc[[0, 5], "region"] = np.nan
    fit = fit_survey_regression(_dstrat(data), "api00", ["meals", "region"], factors=("region",))
    assert fit.names == ("intercept", "meals", "region2.0", "region3.0") and fit.n == 198
    assert fit_survey_regression(_dstrat(data), "api00", ["meals", "region"]).names == ("intercept", "meals", "region")
    with pytest.raises(InputError) as err:
        fit_survey_regression(_dstrat(data.assign(one="x")), "api00", ["meals", "one"])
    assert err.value.code == "constant_factor" and "'one'" in str(err.value)
    with pytest.raises(InputError) as err:
        fit_survey_regression(_dstrat(data), "api00", ["meals"], factors=("region",))
    assert err.value.code == "bad_option"


def test_regress_command_takes_factors(capsys):
    assert main(["regress", str(APISTRAT), "--weight", "pw", "--strata", "stype", "--fpc", "fpc", "--y", "api00",
                 "--x", "ell", "stype", "--format", "json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["terms"] == ["intercept", "ell", "stypeH", "stypeM"]
    assert [r["term"] for r in out["coefficients"]] == out["terms"]
