"""The NCHS standard for proportions (Parker et al. 2017) beside the BPS RSE rule (issue 12 item 6)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from analysis.stats import reliability as rel
from analysis.stats.design import SurveyDesign, korn_graubard_interval


def test_each_nchs_rule():
    p = np.array([0.5, 0.5, 0.5, 0.02, 0.02, 0.5, 0.5])
    se = np.array([0.02, 0.10, 0.05, 0.012, 0.004, 0.02, 0.0])
    n = np.array([900, 900, 900, 900, 2000, 900, 40])
    lo = np.array([0.46, 0.30, 0.40, 0.005, 0.010, 0.46, 0.38])
    hi = np.array([0.54, 0.70, 0.60, 0.060, 0.030, 0.54, 0.62])
    df = np.array([50, 50, 50, 50, 50, 5, 50])
    got = rel.nchs_classify(p, se, n, lo, hi, df)
    assert got[0] == rel.OK
    assert got[1] == rel.SUPPRESSED  # n_eff 25
    assert got[3] == rel.SUPPRESSED  # relative width 275%
    assert got[4] == rel.OK  # absolute width below 5 points: relative width not judged
    assert got[5] == rel.FLAG  # fewer than 8 df
    assert got[6] == rel.OK
    wide = rel.nchs_classify(np.array([0.5]), np.array([0.06]), np.array([5000]), np.array([0.34]), np.array([0.66]), np.array([50]))
    assert wide[0] == rel.SUPPRESSED  # 32 points wide with n_eff 69


def test_worst_of_two_labels():
    a = np.array(["ok", "flag", "suppressed", "ok"], dtype=object)
    b = np.array(["flag", "ok", "ok", "ok"], dtype=object)
    assert rel.worst(a, b).tolist() == ["flag", "flag", "suppressed", "ok"]


def test_a_proportion_with_a_30_point_interval_is_never_ok():
    """A domain the BPS rule alone calls ok (n >= 30, RSE < 25%) but whose Korn-Graubard interval with its few
    df is 30+ points wide: suppressed."""
    rng = np.random.default_rng(5)
    psu = np.repeat(np.arange(4), 12)
    y = (rng.random(len(psu)) < np.where(psu < 2, 0.35, 0.75)).astype(float)
    data = pd.DataFrame({"y": y, "psu": psu, "w": 1.0, "d": True})
    design = SurveyDesign(data, "w", psu="psu")
    res = design.prop("y", ci="logit", suppress=False).iloc[0]
    assert res["n"] >= 30 and res["cv"] < 0.25
    assert rel.classify(np.array([res["n"]]), np.array([res["estimate"]]), np.array([res["se"]]))[0] == rel.OK
    lo, hi = korn_graubard_interval(np.array([res["estimate"]]), np.array([res["se"]]), np.array([res["n"]]), np.array([res["df"]]))
    assert hi[0] - lo[0] >= 0.30
    assert res["reliability"] == rel.SUPPRESSED
