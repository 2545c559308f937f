"""``python -m analysis estimate``: published reference values through the command line, CSV and Parquet
input, JSON and CSV output, suppression in every format, and one-line errors for bad input."""

from __future__ import annotations

import io
import json
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from analysis.cli import main

ROOT = Path(__file__).resolve().parents[2]
APICLUS1 = Path(__file__).parent / "fixtures" / "apiclus1.csv"
DESIGN = ["--weight", "pw", "--psu", "dnum", "--fpc", "fpc"]


def run(capsys, *argv):
    rc = main(["estimate", *map(str, argv)])
    out = capsys.readouterr()
    return rc, out.out, out.err


def test_json_reproduces_published_r_survey_mean(capsys):
    rc, out, _ = run(capsys, APICLUS1, *DESIGN, "--mean", "api00")
    assert rc == 0
    payload = json.loads(out)
    (row,) = payload["results"]
    assert row["estimate"] == pytest.approx(644.169399, abs=5e-7)  # svymean(~api00, dclus1), R survey docs
    assert row["se"] == pytest.approx(23.5422, abs=5e-5)
    assert row["n"] == 183 and row["df"] == 14
    assert row["ci_low"] < row["estimate"] < row["ci_high"] and row["cv"] == pytest.approx(row["se"] / row["estimate"])


def test_csv_output_and_parquet_input_agree(capsys, tmp_path):
    parquet = tmp_path / "apiclus1.parquet"
    pd.read_csv(APICLUS1).to_parquet(parquet)
    rc1, csv_out, _ = run(capsys, APICLUS1, *DESIGN, "--total", "enroll", "--format", "csv")
    rc2, pq_out, _ = run(capsys, parquet, *DESIGN, "--total", "enroll", "--format", "csv")
    assert rc1 == rc2 == 0 and csv_out == pq_out
    row = pd.read_csv(io.StringIO(csv_out)).iloc[0]
    assert row["statistic"] == "total" and row["estimate"] == pytest.approx(3404940.13, abs=0.005)
    assert row["se"] == pytest.approx(932235.03, abs=0.005)


def test_suppressed_domains_print_no_number_in_json_or_csv(capsys):
    rc, out, _ = run(capsys, APICLUS1, *DESIGN, "--mean", "api00", "--by", "stype")
    rows = {r["stype"]: r for r in json.loads(out)["results"]}
    assert rows["H"]["reliability"] == "suppressed" and rows["H"]["n"] == 14
    assert all(rows["H"][k] is None for k in ("estimate", "se", "ci_low", "ci_high", "cv", "deff"))
    assert rows["E"]["estimate"] == pytest.approx(648.868, abs=1e-3)
    rc, out, _ = run(capsys, APICLUS1, *DESIGN, "--mean", "api00", "--by", "stype", "--format", "csv")
    lines = {line.split(",")[2]: line for line in out.splitlines()[1:]}
    cells = lines["H"].split(",")
    assert cells[3:8] == ["", "", "", "", ""] and cells[10] == "" and cells[11] == "suppressed"
    assert "659" not in lines["H"] and "618" not in lines["H"]
    rc, out, _ = run(capsys, APICLUS1, *DESIGN, "--mean", "api00", "--by", "stype", "--no-suppress")
    rows = {r["stype"]: r for r in json.loads(out)["results"]}
    assert rows["H"]["estimate"] is not None and rows["H"]["reliability"] == "suppressed"


def test_proportion_with_logit_interval_and_two_domain_columns(capsys):
    rc, out, _ = run(capsys, APICLUS1, *DESIGN, "--prop", "sch.wide_yes", "--by", "stype")
    assert rc == 2  # no such column
    rc, out, _ = run(capsys, APICLUS1, "--weight", "pw", "--psu", "dnum", "--prop", "comp.imp", "--ci", "logit")
    assert rc == 2  # "Yes"/"No" text is not boolean: a clear error, not a guess


@pytest.mark.parametrize("edit,args,code", [
    (None, ["--weight", "weight", "--mean", "api00"], "unknown_column"),
    (None, ["--weight", "pw", "--mean", "api_2000"], "unknown_column"),
    (None, ["--weight", "pw", "--psu", "district", "--mean", "api00"], "unknown_column"),
    (None, ["--weight", "stype", "--mean", "api00"], "non_numeric_weight"),
    (lambda d: d.assign(pw=-d["pw"]), ["--weight", "pw", "--mean", "api00"], "negative_weight"),
    (lambda d: d.assign(pw=d["pw"].astype(object).where(d.index != 5, "heavy")), ["--weight", "pw", "--mean", "api00"], "non_numeric_weight"),
    (None, ["--weight", "pw", "--mean", "stype"], "non_numeric"),
    (None, ["--weight", "pw", "--prop", "api00"], "non_binary"),
])
def test_bad_input_gives_one_line_error(capsys, tmp_path, edit, args, code):
    path = APICLUS1
    if edit is not None:
        path = tmp_path / "edited.csv"
        edit(pd.read_csv(APICLUS1)).to_csv(path, index=False)
    rc, out, err = run(capsys, path, *args)
    assert rc == 2 and out == ""
    assert err.startswith(f"error [{code}]") and len(err.strip().splitlines()) == 1


def test_missing_and_unsupported_files(capsys, tmp_path):
    rc, _, err = run(capsys, tmp_path / "none.csv", "--weight", "w", "--mean", "y")
    assert rc == 2 and "missing_file" in err
    bad = tmp_path / "data.xlsx"
    bad.write_bytes(b"PK")
    rc, _, err = run(capsys, bad, "--weight", "w", "--mean", "y")
    assert rc == 2 and "unsupported_format" in err
    rc, _, err = run(capsys, APICLUS1, "--weight", "pw", "--mean", "api00", "--ci", "logit")
    assert rc == 2


def test_real_command_line():
    proc = subprocess.run(
        [sys.executable, "-m", "analysis", "estimate", str(APICLUS1), *DESIGN, "--prop", "is_high", "--format", "json"],
        cwd=ROOT, capture_output=True, text=True,
    )
    assert proc.returncode == 2 and "unknown_column" in proc.stderr
    proc = subprocess.run(
        [sys.executable, "-m", "analysis", "estimate", str(APICLUS1), *DESIGN, "--mean", "api99"],
        cwd=ROOT, capture_output=True, text=True, check=True,
    )
    row = json.loads(proc.stdout)["results"][0]
    assert row["estimate"] == pytest.approx(606.978142, abs=5e-7) and row["se"] == pytest.approx(24.2250, abs=5e-5)


def test_domain_degrees_of_freedom_option(capsys):
    rc, out, _ = run(capsys, APICLUS1, *DESIGN, "--mean", "api00", "--by", "stype", "--df", "domain", "--no-suppress")
    rows = {r["stype"]: r for r in json.loads(out)["results"]}
    apiclus1 = pd.read_csv(APICLUS1)
    districts = apiclus1.groupby("stype")["dnum"].nunique()
    assert {k: r["df"] for k, r in rows.items()} == {k: int(v) - 1 for k, v in districts.items()}
    rc, out, _ = run(capsys, APICLUS1, *DESIGN, "--mean", "api00", "--by", "stype", "--no-suppress")
    design_rows = {r["stype"]: r for r in json.loads(out)["results"]}
    assert all(r["df"] == 14 for r in design_rows.values())
    # same SE, wider interval with fewer df
    assert rows["H"]["se"] == pytest.approx(design_rows["H"]["se"])
    assert rows["H"]["ci_high"] - rows["H"]["ci_low"] > design_rows["H"]["ci_high"] - design_rows["H"]["ci_low"]


# --- issue 12, item 5: each of these failed before the fix ----------------------------------------------------


def test_where_on_a_non_boolean_column_is_refused(capsys):
    """``--where stype`` (text E/H/M) used to keep every row silently."""
    rc, out, err = run(capsys, APICLUS1, *DESIGN, "--mean", "api00", "--where", "stype")
    assert rc == 2 and out == "" and err.startswith("error [non_boolean]") and "stype" in err
    rc, out, err = run(capsys, APICLUS1, *DESIGN, "--mean", "api00", "--where", "api00")  # numbers other than 0/1
    assert rc == 2 and err.startswith("error [non_boolean]")


def test_where_by_df_and_suppression_are_recorded_in_the_json_design_block(capsys, tmp_path):
    data = pd.read_csv(APICLUS1).assign(big=lambda d: d["enroll"] > 400)
    path = tmp_path / "with_flag.csv"
    data.to_csv(path, index=False)
    rc, out, _ = run(capsys, path, *DESIGN, "--mean", "api00", "--where", "big", "--by", "stype", "--df", "domain", "--no-suppress")
    assert rc == 0
    design = json.loads(out)["design"]
    assert design["where"] == "big" and design["by"] == ["stype"] and design["df"] == "domain" and design["suppress"] is False
    assert design["ci"] == "wald" and design["level"] == 0.95


def test_zero_weight_rows_do_not_count_toward_n(capsys, tmp_path):
    """Rows with weight 0 are not respondents of the estimate: they used to count toward n, so padding a domain
    with zero-weight rows got it past the n < 30 rule."""
    data = pd.read_csv(APICLUS1)
    padded = pd.concat([data, data[data["stype"] == "H"].assign(pw=0.0), data[data["stype"] == "H"].assign(pw=0.0)], ignore_index=True)
    path = tmp_path / "padded.csv"
    padded.to_csv(path, index=False)
    rc, out, _ = run(capsys, path, *DESIGN, "--mean", "api00", "--by", "stype")
    rows = {r["stype"]: r for r in json.loads(out)["results"]}
    assert rows["H"]["n"] == 14 and rows["H"]["reliability"] == "suppressed" and rows["H"]["estimate"] is None


def test_all_weights_zero_is_an_error(capsys, tmp_path):
    path = tmp_path / "zero.csv"
    pd.read_csv(APICLUS1).assign(pw=0.0).to_csv(path, index=False)
    rc, out, err = run(capsys, path, *DESIGN, "--mean", "api00")
    assert rc == 2 and out == "" and err.startswith("error [zero_weights]") and "pw" in err


def test_one_psu_without_strata_is_refused_with_no_suppress(capsys, tmp_path):
    """One PSU and no strata: no variance can be estimated; --no-suppress used to print SE 0."""
    path = tmp_path / "one_psu.csv"
    pd.read_csv(APICLUS1).assign(one=1).to_csv(path, index=False)
    rc, out, err = run(capsys, path, "--weight", "pw", "--psu", "one", "--mean", "api00", "--no-suppress")
    assert rc == 2 and out == "" and err.startswith("error [no_variance]")
    rc, out, _ = run(capsys, path, "--weight", "pw", "--psu", "one", "--mean", "api00")
    assert rc == 0 and json.loads(out)["results"][0]["estimate"] is None  # suppressed without --no-suppress


def test_csv_output_describes_design_and_interval(capsys):
    rc, out, _ = run(capsys, APICLUS1, *DESIGN, "--mean", "api00", "--df", "domain", "--format", "csv")
    assert rc == 0
    row = pd.read_csv(io.StringIO(out)).iloc[0]
    assert row["level"] == 0.95 and row["ci_method"] == "wald" and row["df_method"] == "domain"
    assert "weight=pw" in row["design"] and "psu=dnum" in row["design"] and "fpc=fpc" in row["design"] and "lonely_psu=adjust" in row["design"]


APICLUS2 = Path(__file__).parent / "fixtures" / "apiclus2.csv"


@pytest.mark.parametrize("weight", [["--weight", "pw"], []])
def test_two_stage_design_reproduces_published_r_and_is_recorded(capsys, weight):
    """svydesign(id=~dnum+snum, fpc=~fpc1+fpc2, data=apiclus2): svymean(~api00) 670.81 SE 30.099 (R docs,
    Lumley 2010 sec. 3.2); without --weight the weights come from the fpcs, as in R."""
    rc, out, _ = run(capsys, APICLUS2, *weight, "--psu", "dnum", "snum", "--fpc", "fpc1", "fpc2", "--mean", "api00")
    assert rc == 0
    payload = json.loads(out)
    (row,) = payload["results"]
    assert row["estimate"] == pytest.approx(670.81, abs=0.005) and row["se"] == pytest.approx(30.099, abs=5e-4)
    assert payload["design"]["psu"] == ["dnum", "snum"] and payload["design"]["fpc"] == ["fpc1", "fpc2"]
    rc, out, _ = run(capsys, APICLUS2, *weight, "--psu", "dnum", "snum", "--fpc", "fpc1", "fpc2", "--total", "enroll", "--format", "csv")
    row = pd.read_csv(io.StringIO(out)).iloc[0]
    assert row["estimate"] == pytest.approx(2639273, abs=0.5) and row["se"] == pytest.approx(799638, abs=0.5)
    assert "psu=dnum snum" in row["design"] and "fpc=fpc1 fpc2" in row["design"]


def test_fpc_count_must_match_the_stages(capsys):
    rc, out, err = run(capsys, APICLUS2, "--weight", "pw", "--psu", "dnum", "snum", "--fpc", "fpc1", "--mean", "api00")
    assert rc == 2 and out == "" and err.startswith("error [bad_fpc]") and "--fpc" in err and len(err.strip().splitlines()) == 1
    rc, out, err = run(capsys, APICLUS2, "--psu", "dnum", "snum", "--mean", "api00")
    assert rc == 2 and err.startswith("error [missing_weight]")


def test_fpc_varying_within_a_psu_names_column_and_row(capsys, tmp_path):
    path = tmp_path / "bad_fpc2.csv"
    data = pd.read_csv(APICLUS2)
    data.loc[3, "fpc2"] = 4  # district 83 (rows 3-5 as a user counts them) has fpc2 3 elsewhere
    data.to_csv(path, index=False)
    rc, out, err = run(capsys, path, "--psu", "dnum", "snum", "--fpc", "fpc1", "fpc2", "--mean", "api00")
    assert rc == 2 and out == "" and err.startswith("error [bad_fpc]") and "'fpc2'" in err and "data row 4" in err
# --- issue 12, item 4: factor proportions and the confidence level --------------------------------------------
# References: R survey 4.5, svymean(~stype, svydesign(id=~dnum, fpc=~fpc, data=apiclus1)) as recorded by
# Survey.jl's R-parity suite (xKDR/Survey.jl, test/r_reference/proportions.csv, design clus1_fpc; the weights
# are constant in apiclus1, so pw + fpc gives the same proportions and SEs).


@pytest.mark.parametrize("category,estimate,se", [
    ("E", 0.78688524590164, 0.0463365536499119),
    ("H", 0.0765027322404373, 0.0268102190507709),
    ("M", 0.136612021857924, 0.0296490466402603),
])
def test_prop_of_a_factor_level_reproduces_r_svymean_factor(capsys, category, estimate, se):
    rc, out, _ = run(capsys, APICLUS1, *DESIGN, "--prop", "stype", "--level", category, "--no-suppress")
    assert rc == 0
    payload = json.loads(out)
    (row,) = payload["results"]
    assert row["estimate"] == pytest.approx(estimate, abs=1e-12) and row["se"] == pytest.approx(se, abs=1e-12)
    assert payload["category"] == category and payload["design"]["category"] == category and payload["level"] == 0.95


def test_prop_of_a_factor_level_by_domain_and_in_csv(capsys):
    # awards No/Yes in clus1_fpc: 0.289617486338798 (SE 0.033018299553719), proportions.csv as above
    rc, out, _ = run(capsys, APICLUS1, *DESIGN, "--prop", "awards", "--level", "No", "--format", "csv")
    assert rc == 0
    row = pd.read_csv(io.StringIO(out)).iloc[0]
    assert row["category"] == "No" and row["statistic"] == "proportion" and row["level"] == 0.95
    assert row["estimate"] == pytest.approx(0.289617486338798, abs=1e-12) and row["se"] == pytest.approx(0.033018299553719, abs=1e-12)


def test_prop_of_a_categorical_column_without_level_lists_its_levels(capsys):
    """``--prop stype`` used to fail with 'must be boolean or 0/1' and no way to ask for one level."""
    rc, out, err = run(capsys, APICLUS1, *DESIGN, "--prop", "stype")
    assert rc == 2 and out == "" and err.startswith("error [non_binary]") and "E, H, M" in err and len(err.strip().splitlines()) == 1
    rc, out, err = run(capsys, APICLUS1, *DESIGN, "--prop", "stype", "--level", "X")
    assert rc == 2 and err.startswith("error [unknown_level]") and "E, H, M" in err


def test_level_list_in_the_error_stops_at_twenty(capsys):
    rc, _, err = run(capsys, APICLUS1, *DESIGN, "--prop", "snum")  # 183 distinct school numbers
    assert rc == 2 and err.startswith("error [non_binary]") and "... and 163 more" in err


def test_ninety_percent_interval_through_conf_level_and_level(capsys):
    """R ``confint(svymean(~api00, dclus1), level=0.9, df=degf(dclus1))`` is ``coef +- qt(0.95, 14) * SE`` with the
    published SE 23.5422 (R survey docs, svymean(~api00, dclus1)); qt(0.95, 14) = 1.761310 (t table)."""
    expected_half = 1.761310 * 23.5422
    outs = []
    for flag in (["--conf-level", "0.9"], ["--level", "0.9"]):
        rc, out, _ = run(capsys, APICLUS1, *DESIGN, "--mean", "api00", *flag)
        assert rc == 0
        payload = json.loads(out)
        (row,) = payload["results"]
        assert payload["level"] == 0.9 and payload["design"]["level"] == 0.9
        assert (row["ci_high"] - row["ci_low"]) / 2 == pytest.approx(expected_half, abs=5e-3)
        outs.append(row)
    assert outs[0] == outs[1]
    rc, out, _ = run(capsys, APICLUS1, *DESIGN, "--total", "enroll", "--conf-level", "0.9", "--format", "csv")
    row = pd.read_csv(io.StringIO(out)).iloc[0]
    assert row["level"] == 0.9 and (row["ci_high"] - row["ci_low"]) / 2 == pytest.approx(1.761310 * 932235.03, rel=1e-6)


def test_ninety_percent_logit_interval_for_a_factor_level(capsys):
    # the logit interval at 90%: expit(logit(p) +- qt(0.95, 14) SE / (p (1 - p))), p and SE from proportions.csv
    import math
    p, se, t = 0.78688524590164, 0.0463365536499119, 1.761310
    half = t * se / (p * (1 - p))
    lo, hi = (1 / (1 + math.exp(-(math.log(p / (1 - p)) + s * half))) for s in (-1, 1))
    rc, out, _ = run(capsys, APICLUS1, *DESIGN, "--prop", "stype", "--level", "E", "--conf-level", "0.9", "--ci", "logit")
    (row,) = json.loads(out)["results"]
    assert row["ci_low"] == pytest.approx(lo, abs=1e-5) and row["ci_high"] == pytest.approx(hi, abs=1e-5)


@pytest.mark.parametrize("args,code", [
    (["--mean", "api00", "--conf-level", "1.5"], "bad_level"),
    (["--mean", "api00", "--conf-level", "0"], "bad_level"),
    (["--mean", "api00", "--level", "95"], "bad_level"),
    (["--mean", "api00", "--level", "E"], "bad_level"),
    (["--mean", "api00", "--level", "0.9", "--conf-level", "0.9"], "conflicting_level"),
])
def test_bad_confidence_levels_are_one_line_errors(capsys, args, code):
    rc, out, err = run(capsys, APICLUS1, *DESIGN, *args)
    assert rc == 2 and out == "" and err.startswith(f"error [{code}]") and len(err.strip().splitlines()) == 1


def test_help_explains_level_and_conf_level(capsys):
    with pytest.raises(SystemExit):
        main(["estimate", "--help"])
    text = " ".join(capsys.readouterr().out.split())
    assert "--conf-level X is always the confidence level" in text and "factor level" in text


# --- issue 12, item 4: --ratio and --quantile (R survey vignette "A survey analysis example", Lumley 2025) -----


def test_ratio_through_the_command_line(capsys):
    rc, out, _ = run(capsys, APICLUS1, *DESIGN, "--ratio", "api.stu", "enroll")
    assert rc == 0
    payload = json.loads(out)
    (row,) = payload["results"]
    assert payload["statistic"] == "ratio" and payload["variable"] == "api.stu/enroll"
    assert row["estimate"] == pytest.approx(0.8497087, abs=5e-8) and row["se"] == pytest.approx(0.008386297, abs=5e-10)


def test_quantiles_through_the_command_line_json_and_csv(capsys):
    rc, out, _ = run(capsys, APICLUS1, *DESIGN, "--quantile", "api00", "--q", "0.25", "0.5", "0.75")
    assert rc == 0
    payload = json.loads(out)
    assert payload["statistic"] == "quantile" and payload["design"]["ci"] == "woodruff" and payload["design"]["df"] == "domain"
    got = [(r["quantile"], r["estimate"], r["ci_low"], r["ci_high"], round(r["se"], 5)) for r in payload["results"]]
    assert got == [(0.25, 552, 492, 627, 31.47166), (0.5, 652, 561, 714, 35.66788), (0.75, 719, 696, 777, 18.883)]
    rc, out, _ = run(capsys, APICLUS1, *DESIGN, "--quantile", "api00", "--format", "csv")
    row = pd.read_csv(io.StringIO(out)).iloc[0]
    assert row["quantile"] == 0.5 and row["estimate"] == 652 and row["ci_method"] == "woodruff" and row["df_method"] == "domain"


@pytest.mark.parametrize("args,code", [
    (["--quantile", "stype"], "non_numeric"),
    (["--quantile", "api00", "--q", "1.5"], "bad_quantile"),
    (["--ratio", "api.stu", "stype"], "non_numeric"),
    (["--quantile", "api00", "--conf-level", "2"], "bad_level"),
])
def test_bad_quantile_and_ratio_input(capsys, args, code):
    rc, out, err = run(capsys, APICLUS1, *DESIGN, *args)
    assert rc == 2 and out == "" and err.startswith(f"error [{code}]") and len(err.strip().splitlines()) == 1


def test_zero_denominator_domain_through_the_command_line(capsys, tmp_path):
    data = pd.read_csv(APICLUS1)
    path = tmp_path / "zero.csv"
    data.assign(enroll=data["enroll"].where(data["stype"] != "M", 0)).to_csv(path, index=False)
    rc, out, err = run(capsys, path, *DESIGN, "--ratio", "api.stu", "enroll", "--by", "stype")
    assert rc == 2 and out == "" and err.startswith("error [zero_denominator]") and "'M'" in err


def test_listed_levels_never_show_personal_data(capsys, tmp_path):
    data = pd.read_csv(APICLUS1)
    data["contact"] = "a"
    data.loc[3, "contact"] = "0812 3456 7890"  # a phone number typed into the column
    path = tmp_path / "contact.csv"
    data.to_csv(path, index=False)
    rc, _, err = run(capsys, path, *DESIGN, "--prop", "contact")
    assert rc == 2 and err.startswith("error [non_binary]") and "3456" not in err and "[dihapus]" in err


def test_regress_takes_the_two_stage_design_like_estimate(capsys):
    """``regress`` reads the same design options as ``estimate`` (it took one --psu column before): R's two-stage
    ``apiclus2`` design, the coefficients and SEs those of ``fit_survey_regression`` on that design, and the
    stages recorded in the JSON design block."""
    import json

    from analysis.cli import main
    from analysis.stats.design import SurveyDesign
    from analysis.stats.linear import fit_survey_regression

    data = Path(__file__).parent / "fixtures" / "apiclus2.csv"
    assert main(["regress", str(data), "--psu", "dnum", "snum", "--fpc", "fpc1", "fpc2", "--y", "api00", "--x", "api99"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["design"]["psu"] == ["dnum", "snum"] and out["design"]["fpc"] == ["fpc1", "fpc2"]
    design = SurveyDesign(pd.read_csv(data), None, psu=["dnum", "snum"], fpc=["fpc1", "fpc2"])
    want = fit_survey_regression(design, "api00", ["api99"]).table().set_index("term")
    for row in out["coefficients"]:
        assert row["estimate"] == pytest.approx(want.loc[row["term"], "estimate"], rel=1e-12)
        assert row["se"] == pytest.approx(want.loc[row["term"], "se"], rel=1e-12)
