"""Multistage without-replacement variance, certainty strata and the lonely-PSU rules against R's survey package.

References (typed from their published output):

- ``apiclus2``, R ``?svydesign`` / Lumley (2010) *Complex Surveys* sec. 3.2: ``dclus2 <- svydesign(id=~dnum+snum,
  fpc=~fpc1+fpc2, data=apiclus2)``; ``svymean(~api00, dclus2)`` 670.81 SE 30.099; ``svytotal(~enroll, dclus2,
  na.rm=TRUE)`` 2639273 SE 799638. The R docs also state that without the fpc the second stage has no effect
  (``dclus2wr`` and ``dclus2wr2`` are equivalent).
- ``cran/survey`` ``tests/lonely.psu.Rout.save``: ``svydesign(id=~1, weights=~pw, strata=~dnum, data=apiclus1)``,
  ``svymean(~api00)`` SE 5.8058 (remove, certainty), 5.8281 (adjust), 6.0096 (average), error (fail); with
  ``fpc = ifelse(dnum == 413, 1, 1000)`` (district 413, the one-school stratum, taken with certainty) every
  option, "fail" and "average" included, gives SE 5.7344.
- The two-stage formula of Sarndal, Swensson & Wretman (1992, *Model Assisted Survey Sampling*, eq. 4.3.22-4.3.23)
  and Cochran (1977, eq. 10.8 / 11.24), computed here from the data by hand, checks totals of other variables.

R's ``data(mu284)`` sample (``svytotal(~y1)`` 15080, SE 2274.3) is not tested: its 15 rows are not available
as text anywhere we could reach (see the fixtures README).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from analysis.errors import InputError
from analysis.stats.design import SurveyDesign, linearized_covariance

FIXTURES = Path(__file__).parent / "fixtures"


@pytest.fixture(scope="module")
def apiclus2() -> pd.DataFrame:
    return pd.read_csv(FIXTURES / "apiclus2.csv")


def one(frame: pd.DataFrame) -> pd.Series:
    assert len(frame) == 1
    return frame.iloc[0]


# --- two-stage without replacement ------------------------------------------------------------------------------


@pytest.mark.parametrize("weight", ["pw", None])
def test_two_stage_apiclus2_matches_published_r(apiclus2, weight):
    d = SurveyDesign(apiclus2, weight, psu=["dnum", "snum"], fpc=["fpc1", "fpc2"])
    m = one(d.mean("api00", suppress=False))
    assert m["estimate"] == pytest.approx(670.81, abs=0.005)  # svymean(~api00, dclus2)
    assert m["se"] == pytest.approx(30.099, abs=0.0005)
    t = one(d.total("enroll", suppress=False))
    assert t["estimate"] == pytest.approx(2639273, abs=0.5)  # svytotal(~enroll, dclus2, na.rm=TRUE)
    assert t["se"] == pytest.approx(799638, abs=0.5)
    assert d.df == 39


def test_weights_computed_from_the_fpcs_are_rs(apiclus2):
    """R computes the weights of ``svydesign(id=~dnum+snum, fpc=~fpc1+fpc2)`` as ``prod N_k / n_k``; the
    published ``pw`` column of apiclus2 is exactly that."""
    d = SurveyDesign(apiclus2, None, psu=["dnum", "snum"], fpc=["fpc1", "fpc2"])
    assert np.allclose(d.w, apiclus2["pw"], rtol=1e-12)


def test_first_stage_only_fpc_is_smaller_and_no_fpc_is_the_ultimate_cluster(apiclus2):
    """Without an fpc the later stages add nothing (R docs: dclus2wr == dclus2wr2); with the first-stage fpc
    only (one stage) the within-district variance is missing and the SE is smaller than R's two-stage one."""
    two = one(SurveyDesign(apiclus2, "pw", psu=["dnum", "snum"]).mean("api00", suppress=False))
    first = one(SurveyDesign(apiclus2, "pw", psu="dnum").mean("api00", suppress=False))
    assert two["se"] == pytest.approx(first["se"], rel=1e-12)
    wor1 = one(SurveyDesign(apiclus2, "pw", psu="dnum", fpc="fpc1").mean("api00", suppress=False))
    assert wor1["se"] < 30.099


def _two_stage_total_variance(data: pd.DataFrame, y: str, n1_over_N1: float | None = None) -> float:
    """Sarndal et al. (1992) eq. 4.3.23: ``N1^2 (1 - f1) S_t^2 / n1 + (N1 / n1) sum_i N_i^2 (1 - f_i) S_i^2 / n_i``
    with ``t_i = N_i ybar_i`` the estimated district totals, written from the textbook, not from our code."""
    groups = data.groupby("dnum")
    N1 = float(data["fpc1"].iloc[0])
    n1 = groups.ngroups
    t = groups.apply(lambda g: g["fpc2"].iloc[0] * g[y].mean())
    between = N1**2 * (1 - n1 / N1) * t.var(ddof=1) / n1
    within = 0.0
    for _, g in groups:
        Ni, ni = float(g["fpc2"].iloc[0]), len(g)
        if ni > 1:
            within += Ni**2 * (1 - ni / Ni) * g[y].var(ddof=1) / ni
    return between + N1 / n1 * within


@pytest.mark.parametrize("y", ["api00", "api99", "api.stu"])
def test_two_stage_total_matches_the_textbook_formula(apiclus2, y):
    t = one(SurveyDesign(apiclus2, "pw", psu=["dnum", "snum"], fpc=["fpc1", "fpc2"]).total(y, suppress=False))
    assert t["se"] ** 2 == pytest.approx(_two_stage_total_variance(apiclus2, y), rel=1e-10)


def test_sampling_fractions_and_population_sizes_give_the_same_variance(apiclus2):
    data = apiclus2.assign(f1=40 / apiclus2["fpc1"], f2=apiclus2.groupby("dnum")["snum"].transform("size") / apiclus2["fpc2"])
    a = SurveyDesign(data, "pw", psu=["dnum", "snum"], fpc=["fpc1", "fpc2"]).mean("api00", by="stype", suppress=False)
    b = SurveyDesign(data, "pw", psu=["dnum", "snum"], fpc=["f1", "f2"]).mean("api00", by="stype", suppress=False)
    assert np.allclose(a["se"], b["se"], rtol=1e-12)


def test_domain_variance_and_covariance_of_scores_agree_in_a_two_stage_design(apiclus2):
    """The sparse per-domain path (``mean(by=...)``) and the dense covariance of the domain's linearised scores
    are the same estimator; both include the second stage."""
    d = SurveyDesign(apiclus2, "pw", psu=["dnum", "snum"], fpc=["fpc1", "fpc2"])
    res = d.mean("api00", by="stype", suppress=False).set_index("stype")
    for stype in ("E", "H", "M"):
        z = d.scores_mean("api00", apiclus2["stype"] == stype)
        assert np.sqrt(d.covariance(z)[0, 0]) == pytest.approx(res.loc[stype, "se"], rel=1e-10)
        direct = linearized_covariance(z, None, [apiclus2["dnum"].to_numpy(), apiclus2["snum"].to_numpy()], [apiclus2["fpc1"].to_numpy(), apiclus2["fpc2"].to_numpy()])
        assert np.sqrt(direct[0, 0]) == pytest.approx(res.loc[stype, "se"], rel=1e-10)


def test_three_stage_design_adds_the_third_stage_scaled_by_both_fractions(apiclus2):
    """Each school made of 4 halves-units of which 2 are sampled (values api00 + 10 and api00 - 10): the
    estimated school total is 4 api00, so stages 1-2 give 16 x the two-stage variance of the api00 total, and the
    third stage adds, per school, ``(1 / (f1 f2_i)) N3^2 (1 - f3) s3^2 / n3 = pw_i 16 (1/2) 200 / 2 = 800 pw_i``
    (Sarndal et al. 1992 sec. 4.4, the third-stage term weighted by the inverse first two inclusion probabilities)."""
    halves = pd.concat([apiclus2.assign(half=1, y=apiclus2["api00"] + 10.0), apiclus2.assign(half=2, y=apiclus2["api00"] - 10.0)], ignore_index=True)
    halves = halves.assign(fpc3=4, pw3=halves["pw"] * 2)
    three = one(SurveyDesign(halves, "pw3", psu=["dnum", "snum", "half"], fpc=["fpc1", "fpc2", "fpc3"]).total("y", suppress=False))
    expected = 16 * _two_stage_total_variance(apiclus2, "api00") + 800 * apiclus2["pw"].sum()
    assert three["se"] ** 2 == pytest.approx(expected, rel=1e-10)
    computed = SurveyDesign(halves, None, psu=["dnum", "snum", "half"], fpc=["fpc1", "fpc2", "fpc3"])
    assert np.allclose(computed.w, halves["pw3"], rtol=1e-12)


# --- certainty units --------------------------------------------------------------------------------------------


def test_certainty_strata_keep_their_later_stage_variance_and_are_not_lonely(apiclus2):
    """Each district its own stratum, taken with certainty (fpc1 = 1): no first-stage variance, no lonely
    stratum ("fail" does not fail), and the variance is the second stage alone, factor n1/N1 = 1 (R ``onestrat``
    returns zero for ``(N - n)/N < 1e-7`` and ``multistage`` still adds the stage below)."""
    data = apiclus2.assign(one=1)
    for lonely in ("fail", "adjust", "average", "remove"):
        d = SurveyDesign(data, None, strata="dnum", psu=["dnum", "snum"], fpc=["one", "fpc2"], lonely_psu=lonely)
        t = one(d.total("api00", suppress=False))
        expected = 0.0
        for _, g in apiclus2.groupby("dnum"):
            Ni, ni = float(g["fpc2"].iloc[0]), len(g)
            if ni > 1:
                expected += Ni**2 * (1 - ni / Ni) * g["api00"].var(ddof=1) / ni
        assert t["se"] ** 2 == pytest.approx(expected, rel=1e-10)
        assert t["estimate"] == pytest.approx((apiclus2.groupby("dnum").apply(lambda g: g["fpc2"].iloc[0] * g["api00"].mean())).sum(), rel=1e-12)


@pytest.mark.parametrize("lonely,se", [("remove", 5.8058), ("certainty", 5.8058), ("adjust", 5.8281), ("average", 6.0096)])
def test_lonely_psu_options_match_r_lonely_psu_rout_save(apiclus1, lonely, se):
    d = SurveyDesign(apiclus1, "pw", strata="dnum", lonely_psu=lonely)
    assert one(d.mean("api00", suppress=False))["se"] == pytest.approx(se, abs=5e-5)


@pytest.mark.parametrize("lonely", ["fail", "remove", "certainty", "adjust", "average"])
def test_certainty_stratum_is_not_lonely_as_in_r(apiclus1, lonely):
    """tests/lonely.psu.Rout.save, fpc = ifelse(dnum == 413, 1, 1000): district 413 (one school) is a
    certainty stratum, so "fail" does not fail and "average" does not scale up: SE 5.7344 for every option.
    Before: "fail" raised and "average" gave 5.7344 * sqrt(15/14) = 5.936."""
    data = apiclus1.assign(f=np.where(apiclus1["dnum"] == 413, 1, 1000))
    d = SurveyDesign(data, "pw", strata="dnum", fpc="f", lonely_psu=lonely)
    assert one(d.mean("api00", suppress=False))["se"] == pytest.approx(5.7344, abs=5e-5)


def test_lonely_psu_fail_without_fpc(apiclus1):
    with pytest.raises(InputError) as err:
        SurveyDesign(apiclus1, "pw", strata="dnum", lonely_psu="fail")
    assert err.value.code == "lonely_psu"


def test_a_lonely_second_stage_unit_follows_the_lonely_rule(apiclus2):
    """District 15 has one school of N = 1 (certainty, not lonely); declare N = 3 instead and its single
    sampled school is lonely at stage 2: "fail" fails, "remove" drops it, "adjust" adds a term."""
    data = apiclus2.assign(fpc2=np.where(apiclus2["dnum"] == 15, 3, apiclus2["fpc2"]))
    base = one(SurveyDesign(apiclus2, "pw", psu=["dnum", "snum"], fpc=["fpc1", "fpc2"]).mean("api00", suppress=False))["se"]
    with pytest.raises(InputError) as err:
        SurveyDesign(data, "pw", psu=["dnum", "snum"], fpc=["fpc1", "fpc2"], lonely_psu="fail")
    assert err.value.code == "lonely_psu" and "stage-2" in str(err.value)
    removed = one(SurveyDesign(data, "pw", psu=["dnum", "snum"], fpc=["fpc1", "fpc2"], lonely_psu="remove").mean("api00", suppress=False))["se"]
    adjusted = one(SurveyDesign(data, "pw", psu=["dnum", "snum"], fpc=["fpc1", "fpc2"], lonely_psu="adjust").mean("api00", suppress=False))["se"]
    assert removed == pytest.approx(base, rel=1e-12) and adjusted > base


# --- bad design input: column and first offending row ---------------------------------------------------------


def _row_of(d: pd.DataFrame, i: int) -> str:
    return f"data row {i + 1}"


@pytest.mark.parametrize("edit,kwargs,code,column,row", [
    (lambda d: d, {"psu": ["dnum", "school"], "fpc": ["fpc1", "fpc2"]}, "unknown_column", "school", None),
    (lambda d: d.assign(snum=d["snum"].where(d.index != 7)), {}, "missing_design", "snum", 7),
    (lambda d: d.assign(fpc2=d["fpc2"].where(d.index != 9)), {}, "missing_design", "fpc2", 9),
    (lambda d: d.assign(fpc2=d["fpc2"].astype(object).where(d.index != 4, "many")), {}, "bad_fpc", "fpc2", 4),
    (lambda d: d.assign(fpc1=d["fpc1"].where(d.index != 11, -757)), {}, "bad_fpc", "fpc1", 11),
    (lambda d: d.assign(fpc2=d["fpc2"].where(d.index != 12, 0)), {}, "bad_fpc", "fpc2", 12),
    (lambda d: d.assign(fpc2=d["fpc2"].where(d.index != 13, np.inf)), {}, "bad_fpc", "fpc2", 13),
    (lambda d: d.assign(fpc1=d["fpc1"].where(d.index != 20, 700)), {}, "bad_fpc", "fpc1", 20),  # varies in the stratum
    (lambda d: d.assign(fpc2=d["fpc2"].where(d.index != 3, 4)), {}, "bad_fpc", "fpc2", 3),  # varies within district 83
    (lambda d: d.assign(fpc2=np.where(d["dnum"] == 200, 4, d["fpc2"])), {}, "bad_fpc", "fpc2", 21),  # N = 4 < n = 5
    (lambda d: d.assign(fpc1=30), {}, "bad_fpc", "fpc1", 0),  # 30 districts < 40 sampled
    (lambda d: d.assign(pw=d["pw"].where(d.index != 5)), {"weight": "pw"}, "missing_weight", "pw", 5),
    (lambda d: d.assign(pw=d["pw"].where(d.index != 6, -1.0)), {"weight": "pw"}, "negative_weight", "pw", 6),
    (lambda d: d.assign(pw=d["pw"].where(d.index != 8, np.inf)), {"weight": "pw"}, "non_numeric_weight", "pw", 8),
    (lambda d: d.assign(pw=d["pw"].astype(object).where(d.index != 2, "heavy")), {"weight": "pw"}, "non_numeric_weight", "pw", 2),
    (lambda d: d, {"fpc": ["fpc1"]}, "bad_fpc", "fpc1", None),  # one fpc for two stages
    (lambda d: d, {"weight": None, "fpc": None}, "missing_weight", None, None),
])
def test_bad_design_input_names_column_and_first_row(apiclus2, edit, kwargs, code, column, row):
    args = {"weight": None, "psu": ["dnum", "snum"], "fpc": ["fpc1", "fpc2"]} | kwargs
    with pytest.raises(InputError) as err:
        SurveyDesign(edit(apiclus2.copy()), args["weight"], psu=args["psu"], fpc=args["fpc"])
    assert err.value.code == code
    message = str(err.value)
    if column is not None:
        assert f"'{column}'" in message
    if row is not None:
        assert _row_of(apiclus2, row) in message and f"data row {row + 2}" not in message


def test_strata_and_stage_one_psu_missing_values_name_the_row(apiclus1):
    with pytest.raises(InputError) as err:
        SurveyDesign(apiclus1.assign(stype=apiclus1["stype"].where(apiclus1.index != 17)), "pw", strata="stype", psu="dnum")
    assert err.value.code == "missing_design" and "'stype'" in str(err.value) and "data row 18" in str(err.value)


# --- the demo design's kelurahan stage (analysis.stats.estimates.survey_design) ------------------------------


def kelurahan_stage_sample(seed: int = 5) -> pd.DataFrame:
    """SYNTHETIC: two kota strata of 5 PPS kelurahan x 3 RW x 4 households, plus one certainty kelurahan (6 of its
    10 RW sampled) in the second kota; household values depend on the kelurahan and the RW."""
    rng = np.random.default_rng(seed)
    rows = []
    for kota in ("31.71", "31.72"):
        for k in range(6 if kota == "31.72" else 5):
            certain = kota == "31.72" and k == 5
            kel = f"{kota}.01.10{k:02d}"
            level = rng.normal(0.0, 1.0)
            for r in range(6 if certain else 3):
                rw_level = level + rng.normal(0.0, 0.5)
                for _ in range(4):
                    rows.append({"kode_kab_kemendagri": kota, "stratum": kota, "kode_kemendagri": kel, "psu": f"{kel}-RW{r:02d}",
                                 "weight": 50.0 if certain else 400.0 * (1 + k / 10), "y": rw_level + rng.normal(0.0, 1.0),
                                 "fpc_psu": 60.0, "certainty_kelurahan": certain, "n_rw_kelurahan": 10 if certain else 12})
    return pd.DataFrame(rows)


def test_kelurahan_stage_design_is_the_with_replacement_kelurahan_design_plus_certainty_rw_stage():
    """The two-stage design with a with-replacement PPS first stage and certainty kelurahan equals the one-stage
    design in which the PPS kelurahan are the PSUs of their kota (no fpc) and each certainty kelurahan is a
    stratum of its own whose PSUs are its RWs with the RW-count fpc (Sarndal et al. 1992 sec. 4.3 with f1 = 1
    and sec. 4.5 for the with-replacement stage)."""
    from analysis.stats import estimates

    frame = kelurahan_stage_sample()
    assert estimates.has_kelurahan_stage(frame)
    staged = estimates.survey_design(frame, "synthetic")
    certain = frame["certainty_kelurahan"].to_numpy()
    flat = frame.assign(h=np.where(certain, frame["kode_kemendagri"], frame["stratum"]),
                        p=np.where(certain, frame["psu"], frame["kode_kemendagri"]))
    # the one-stage equivalent: no fpc for the PPS kelurahan; the RW-count fpc only in the certainty stratum
    z_by = {}
    for by in (None, "kode_kab_kemendagri"):
        got = staged.mean("y", by=by, suppress=False)
        z_by[by] = got
    one_stage = SurveyDesign(flat, "weight", strata="h", psu="p")
    for by, got in z_by.items():
        labels = [None] if by is None else sorted(frame[by].unique())
        for i, label in enumerate(labels):
            mask = None if by is None else (frame[by] == label).to_numpy()
            z = one_stage.scores_mean("y", mask)
            fpc = np.where(certain, frame["n_rw_kelurahan"].astype(float), np.nan)
            var = linearized_covariance(z, flat["h"].to_numpy(), flat["p"].to_numpy(), fpc)[0, 0]
            assert got["se"].iloc[i] ** 2 == pytest.approx(var, rel=1e-10)
    # without the kelurahan stage the RW design is used, as before
    plain = estimates.survey_design(frame.drop(columns=["certainty_kelurahan"]), "synthetic")
    assert one(plain.mean("y", suppress=False))["se"] == pytest.approx(one(estimates.rw_design(frame, "synthetic").mean("y", suppress=False))["se"], rel=1e-12)
    assert one(plain.mean("y", suppress=False))["se"] < one(staged.mean("y", suppress=False))["se"]
    assert staged.df == 10 - 2 + 1 - 1  # 10 PPS kelurahan in 2 kota strata, 1 certainty kelurahan in its own


# --- PPS without replacement at the first stage: Brewer's approximation (R svydesign(pps="brewer")) -----------


def test_brewer_with_equal_probabilities_is_the_published_two_stage_result(apiclus2):
    """With every district's inclusion probability n / N = 40 / 757 given as a per-PSU probability, Brewer's
    first stage ``(1 - pi_i) n / (n - 1)`` is simple random sampling's ``(1 - f) n / (n - 1)``, and the later
    stage is carried with ``pi_i = f``: R's ``svydesign(id=~dnum+snum, fpc=~I(40/fpc1)+I(pmin(1,5/fpc2)),
    pps="brewer")`` gives the published ``dclus2`` result (mean api00 670.81, SE 30.099)."""
    data = apiclus2.assign(pi1=40 / apiclus2["fpc1"], f2=apiclus2.groupby("dnum")["snum"].transform("size") / apiclus2["fpc2"])
    d = SurveyDesign(data, "pw", psu=["dnum", "snum"], fpc=["pi1", "f2"], pps="brewer")
    m = one(d.mean("api00", suppress=False))
    assert m["estimate"] == pytest.approx(670.81, abs=0.005)
    assert m["se"] == pytest.approx(30.099, abs=0.0005)
    t = one(d.total("enroll", suppress=False))
    assert t["se"] == pytest.approx(799_638, rel=1e-5)


def _brewer_sample():
    """A stratified PPS sample by hand: stratum A with 4 PSUs of unequal probability (one a certainty unit),
    stratum B with 3; two to three rows per PSU, each row its own second-stage unit (fpc2 = 1: all taken)."""
    rows = []
    pis = {"A": [0.2, 0.4, 0.55, 1.0], "B": [0.1, 0.3, 0.6]}
    rng = np.random.default_rng(7)
    for h, ps in pis.items():
        for i, pi in enumerate(ps):
            for j in range(2 + (i % 2)):
                rows.append({"h": h, "psu": f"{h}{i}", "ssu": j, "pi": pi, "f2": 1.0, "w": 1 / pi,
                             "y": float(rng.normal(10 + 3 * i, 2)), "d": bool(j == 0 or h == "B")})
    return pd.DataFrame(rows)


def test_brewer_total_variance_is_the_hand_computed_formula():
    """``V = sum_h n_h / (n_h - 1) sum_i (1 - pi_i) (z_hi - zbar_h)^2`` with ``z_hi = y_hi / pi_i`` the PSU's
    weighted total (Brewer 2002 sec. 9.5; R ``onestrat`` with a per-PSU fpc); the certainty PSU (pi = 1) adds
    nothing of its own but still counts in its stratum's mean and n_h; the second stage (all units taken) adds 0."""
    data = _brewer_sample()
    d = SurveyDesign(data, "w", strata="h", psu=["psu", "ssu"], fpc=["pi", "f2"], pps="brewer")
    got = one(d.total("y", suppress=False))["se"] ** 2
    want = 0.0
    for _, g in data.groupby("h"):
        z = (g["w"] * g["y"]).groupby(g["psu"]).sum()
        pi = g.groupby("psu")["pi"].first()
        n = len(z)
        want += n / (n - 1) * float(((1 - pi) * (z - z.mean()) ** 2).sum())
    assert got == pytest.approx(want, rel=1e-12)
    # smaller than the with-replacement first stage, which is the same formula without the (1 - pi_i)
    wr = one(SurveyDesign(data, "w", strata="h", psu="psu").total("y", suppress=False))["se"] ** 2
    assert got < wr


def test_brewer_domain_variance_counts_the_psus_outside_the_domain():
    """The sparse domain path (PSUs without domain rows held as zero totals) gives the dense covariance of the
    domain scores under per-PSU factors, and a one-stage Brewer design carries a second stage with ``pi_i``."""
    from analysis.stats.design import design_structure

    data = _brewer_sample()
    d = SurveyDesign(data, "w", strata="h", psu=["psu", "ssu"], fpc=["pi", "f2"], pps="brewer")
    res = d.total("y", by="d", suppress=False).set_index("d")
    for level in (True, False):
        z = np.where(data["d"] == level, data["w"] * data["y"], 0.0)
        s = design_structure(len(data), data["h"].to_numpy(), [data["psu"].to_numpy(), data["ssu"].to_numpy()], [data["pi"].to_numpy(), data["f2"].to_numpy()], pps="brewer")
        assert res.loc[level, "se"] ** 2 == pytest.approx(float(s.covariance(z)[0, 0]), rel=1e-10)
    # second stage sampled (f2 < 1): its within-PSU term is carried with the PSU's own pi_i
    part = data.assign(f2=0.5)
    s_part = design_structure(len(part), part["h"].to_numpy(), [part["psu"].to_numpy(), part["ssu"].to_numpy()], [part["pi"].to_numpy(), part["f2"].to_numpy()], pps="brewer")
    s_all = design_structure(len(data), data["h"].to_numpy(), [data["psu"].to_numpy(), data["ssu"].to_numpy()], [data["pi"].to_numpy(), data["f2"].to_numpy()], pps="brewer")
    z = (data["w"] * data["y"]).to_numpy()
    extra = 0.0
    for _, g in data.assign(z=z).groupby("psu"):
        m = len(g)
        extra += g["pi"].iloc[0] * 0.5 * m / (m - 1) * float(((g["z"] - g["z"].mean()) ** 2).sum())
    assert float(s_part.covariance(z)[0, 0]) - float(s_all.covariance(z)[0, 0]) == pytest.approx(extra, rel=1e-10)


def test_brewer_refuses_probabilities_that_are_not():
    data = _brewer_sample()
    with pytest.raises(InputError, match="'pi'.*data row 6"):
        SurveyDesign(data.assign(pi=data["pi"] * 2), "w", strata="h", psu=["psu", "ssu"], fpc=["pi", "f2"], pps="brewer")
    varies = data.copy()
    varies.loc[1, "pi"] = 0.25
    with pytest.raises(InputError, match="constant within each PSU.*data row 2"):
        SurveyDesign(varies, "w", strata="h", psu=["psu", "ssu"], fpc=["pi", "f2"], pps="brewer")
    with pytest.raises(InputError, match="pps must be"):
        SurveyDesign(data, "w", strata="h", psu=["psu", "ssu"], fpc=["pi", "f2"], pps="sampford")
