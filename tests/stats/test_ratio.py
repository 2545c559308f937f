"""Ratio estimator (``SurveyDesign.ratio``) pinned to R ``survey`` ``svyratio`` (linearised SE).

References:
- R survey vignette "A survey analysis example" (T. Lumley, 28 August 2025), design
  ``dclus1 <- svydesign(id=~dnum, weights=~pw, data=apiclus1, fpc=~fpc)``: ``svyratio(~api.stu, ~enroll, dclus1)``
  = 0.8497087 (SE 0.008386297) and ``svyratio(~api.stu, ~enroll, design=subset(dclus1, stype=="H"))`` =
  0.8300683 (SE 0.01472607);
- Survey.jl's R-parity suite (xKDR/Survey.jl ``test/r_reference/est_basic.csv``, R survey 4.5):
  ``svyratio(~api00, ~enroll, d)`` for ``clus1_fpc`` = 1.17182250144138 (SE 0.126274636133836) and ``clus1_w``
  (no fpc) SE 0.127544610789565.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from analysis.errors import InputError
from analysis.stats.design import SurveyDesign


def test_ratio_reproduces_r_svyratio(dclus1):
    row = dclus1.ratio("api.stu", "enroll").iloc[0]
    assert row["estimate"] == pytest.approx(0.8497087, abs=5e-8) and row["se"] == pytest.approx(0.008386297, abs=5e-10)
    assert row["n"] == 183 and row["df"] == 14
    row = dclus1.ratio("api00", "enroll").iloc[0]
    assert row["estimate"] == pytest.approx(1.17182250144138, abs=1e-12) and row["se"] == pytest.approx(0.126274636133836, abs=1e-12)


def test_ratio_without_fpc(apiclus1):
    row = SurveyDesign(apiclus1, "pw", psu="dnum").ratio("api00", "enroll").iloc[0]
    assert row["se"] == pytest.approx(0.127544610789565, abs=1e-12)


def test_domain_ratio_is_a_subpopulation_like_r_subset(apiclus1, dclus1):
    # R subset(dclus1, stype=="H") keeps every PSU: the same as a domain here (where= or by=)
    high = dclus1.ratio("api.stu", "enroll", where=(apiclus1["stype"] == "H").to_numpy(), suppress=False).iloc[0]
    assert high["estimate"] == pytest.approx(0.8300683, abs=5e-8) and high["se"] == pytest.approx(0.01472607, abs=5e-9)
    by = dclus1.ratio("api.stu", "enroll", by="stype", suppress=False).set_index("stype")
    assert by.loc["H", "se"] == pytest.approx(high["se"]) and by.loc["H", "n"] == 14
    assert by.loc["H", "reliability"] == "suppressed"  # n = 14 < 30


def test_ninety_percent_interval(dclus1):
    # confint at level 0.9 with the design df: ratio +- qt(0.95, 14) SE, qt(0.95, 14) = 1.761310 (t table)
    row = dclus1.ratio("api.stu", "enroll", level=0.9).iloc[0]
    assert (row["ci_high"] - row["ci_low"]) / 2 == pytest.approx(1.761310 * 0.008386297, abs=1e-8)


def test_zero_denominator_in_a_domain_is_an_error(apiclus1):
    data = apiclus1.assign(enroll=apiclus1["enroll"].where(apiclus1["stype"] != "H", 0))
    with pytest.raises(InputError) as err:
        SurveyDesign(data, "pw", psu="dnum").ratio("api.stu", "enroll", by="stype")
    assert err.value.code == "zero_denominator" and "'H'" in str(err.value) and "enroll" in str(err.value)


@pytest.mark.parametrize("num,den,level,code", [
    ("stype", "enroll", 0.95, "non_numeric"),
    ("api.stu", "sch.wide", 0.95, "non_numeric"),
    ("api.stu", "enroll", 1.2, "bad_level"),
    ("api.stu", "nope", 0.95, "unknown_column"),
])
def test_bad_input(dclus1, num, den, level, code):
    with pytest.raises(InputError) as err:
        dclus1.ratio(num, den, level=level)
    assert err.value.code == code


def test_ratio_on_the_stratified_sample():
    # est_basic.csv, design strat_fpc: svydesign(id=~1, strata=~stype, fpc=~fpc) (weights N_h / n_h from the fpc)
    data = pd.read_csv(Path(__file__).parent / "fixtures" / "apistrat.csv")
    data["w"] = data["fpc"] / data.groupby("stype")["fpc"].transform("size")
    row = SurveyDesign(data, "w", strata="stype", fpc="fpc").ratio("api00", "enroll").iloc[0]
    assert row["estimate"] == pytest.approx(1.11256046332155, abs=1e-12) and row["se"] == pytest.approx(0.0413595064404803, abs=1e-12)
    assert row["df"] == 197
