"""The upload page, ``analysis.upload`` and ``ui.views.upload``: a generated kampung export against a generated city, in memory.

The city and the kampung are disjoint parts of one seeded SYNTHETIC demo survey (``kampung_support``), so the
kampung is an independent sample, as an NGO's own survey is. Numbers are checked against the project's own
engines recomputed here (estimates, decomposition), and against hand formulas.
"""

from __future__ import annotations

import dataclasses
import io
import logging
import os
import threading
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from analysis import upload
from analysis.privacy import scan_for_pii
from analysis.stats import indicators as ind
from analysis.stats import inequality
from analysis.survey.ingest import ERROR_CODES, OpaqueKeys
from analysis.survey.stage import DEMO_SALT
from tests.pages import kampung_support as ks
from ui import i18n
from ui.views import upload as upload_view

ROOT = Path(__file__).resolve().parents[2]
DASHBOARD = str(ROOT / "dashboard.py")
PAGE = "pages/unggah.py"  # relative to the dashboard


def tr_for(lang):
    return i18n.translator(lang)


@pytest.fixture(scope="session")
def demo(tmp_path_factory):
    return ks.generate_demo(tmp_path_factory.mktemp("demo_survey"))


@pytest.fixture(scope="session")
def split(demo):
    return ks.split_export(demo)


@pytest.fixture(scope="session")
def data_dir(tmp_path_factory, demo, split):
    data = tmp_path_factory.mktemp("data")
    ks.build_city(data / "processed", split[0], (demo / "design.csv").read_bytes())
    return data


@pytest.fixture(scope="session")
def city(data_dir):
    processed = data_dir / "processed"
    return upload.CityArtefacts.from_tables(
        pd.read_parquet(processed / "estimates.parquet"),
        pd.read_parquet(processed / "wilayah_register.parquet"),
        pd.read_parquet(processed / "decomposition_model.parquet"),
        pd.read_parquet(processed / "survey_households.parquet"),
        pd.read_parquet(processed / "survey_persons.parquet"),
    )


@pytest.fixture(scope="session")
def outcome(split, city):
    return upload.handle_upload(split[1], city)


# --- the statistics --------------------------------------------------------------------------------------------


def test_independent_contrast_adds_variances_with_satterthwaite_df():
    res = upload.contrast_independent(0.62, 0.05, 40, 0.80, 0.01, 300)
    vk, vr = 0.05**2, 0.01**2
    df = (vk + vr) ** 2 / (vk**2 / 40 + vr**2 / 300)
    se = np.sqrt(vk + vr)
    t = stats.t.ppf(0.975, df)
    assert res["diff"] == pytest.approx(-0.18)
    assert res["se"] == pytest.approx(se)
    assert res["df"] == pytest.approx(df)
    assert 40 < res["df"] < 340  # between the smaller df and the sum
    assert (res["ci_low"], res["ci_high"]) == pytest.approx((-0.18 - t * se, -0.18 + t * se))
    assert res["p_value"] == pytest.approx(2 * stats.t.sf(0.18 / se, df))
    # a reference known without error leaves the kampung's own SE and df
    exact = upload.contrast_independent(0.5, 0.1, 25, 0.4, 0.0, 100)
    assert exact["se"] == pytest.approx(0.1) and exact["df"] == pytest.approx(25)


def test_independent_contrast_covers_the_true_difference():
    """Two independent simple random samples: the 95% CI covers the true difference about 95% of the time."""
    rng = np.random.default_rng(7)
    p1, p2, n1, n2, reps = 0.55, 0.7, 60, 400, 2000
    hits = 0
    for _ in range(reps):
        a, b = rng.random(n1) < p1, rng.random(n2) < p2
        se1, se2 = a.std(ddof=1) / np.sqrt(n1), b.std(ddof=1) / np.sqrt(n2)
        r = upload.contrast_independent(a.mean(), se1, n1 - 1, b.mean(), se2, n2 - 1)
        hits += r["ci_low"] <= p1 - p2 <= r["ci_high"]
    assert 0.93 <= hits / reps <= 0.97


def test_kampung_upload_is_compared_with_its_kota_and_the_city(outcome, split, city):
    assert outcome.ok, outcome.error_code
    assert list(outcome.kelurahan["kode_kemendagri"]) == [ks.KAMPUNG_CODE]
    assert outcome.kelurahan["kab_kota"].iloc[0].endswith("Jakarta Timur")
    assert not outcome.weighted  # no design file: a simple random sample of the kampung
    # without weights the kampung is a simple random sample of its N households: each household proportion is the
    # plain share of the n households in its universe, with the SRS (with replacement) standard error of a
    # domain mean, sqrt(N / (N - 1) * sum((y - ybar)^2)) / n (Lohr 2022, sec. 4.3); s / sqrt(n) when n = N
    k = outcome.estimates.set_index("indicator_id")
    households = outcome.households
    checked = 0
    for indicator in ind.REGISTRY:
        if indicator.unit != ind.HOUSEHOLD or indicator.measure != ind.PROPORTION or indicator.indicator_id not in k.index:
            continue
        y, universe = indicator.values(households)
        y = np.asarray(y, dtype=float)[np.asarray(universe, dtype=bool)]
        y = y[~np.isnan(y)]
        assert k.loc[indicator.indicator_id, "n"] == len(y), indicator.indicator_id
        if k.loc[indicator.indicator_id, "reliability"] != "suppressed":
            assert k.loc[indicator.indicator_id, "estimate"] == pytest.approx(y.mean(), abs=1e-12), indicator.indicator_id
            N = len(households)
            se = np.sqrt(N / (N - 1) * np.sum((y - y.mean()) ** 2)) / len(y)
            assert k.loc[indicator.indicator_id, "se"] == pytest.approx(se, rel=1e-6), indicator.indicator_id
            checked += 1
    assert checked >= 5
    comp = outcome.comparison
    assert set(comp["vs"]) == {"kota", "city"}
    assert set(comp.loc[comp["vs"] == "kota", "reference_code"]) == {"31.75"}
    assert set(comp.loc[comp["vs"] == "city", "reference_code"]) == {"31"}
    published = comp[comp["reliability"] != "suppressed"]
    assert len(published) >= 6  # person indicators (n > 100) at least, against kota and city
    e = city.estimates[city.estimates["domain_var"].isna()].set_index(["indicator_id", "level", "area_code"])
    for r in published.itertuples():
        c = e.loc[(r.indicator_id, r.vs, r.reference_code)]
        assert r.reference_estimate == pytest.approx(c["estimate"])
        assert r.diff == pytest.approx(r.kampung_estimate - c["estimate"])
        assert r.se == pytest.approx(np.hypot(r.kampung_se, c["se"]))
        assert r.ci_low < r.diff < r.ci_high
    # a suppressed side (n < 30 or RSE > 50%) never yields a number
    sup = comp[comp["reliability"] == "suppressed"]
    assert sup[["diff", "se", "ci_low", "ci_high", "p_value"]].isna().all().all()
    assert (comp.loc[comp["kampung_reliability"] == "suppressed", "reliability"] == "suppressed").all()


def test_an_ngo_sample_is_compared_as_independent(outcome):
    """The kampung (Tengah) is not in the city sample: no shared household, the published kota and city."""
    assert outcome.comparison_basis == "independent" and outcome.shared_households == 0
    assert set(outcome.comparison["basis"]) == {"independent"}
    assert upload_view.basis_note(outcome, ks.KAMPUNG_CODE, "en", tr_for("en")) == i18n.translate("en", "upload.independent_note")


def _hand_two_stage_domain_ratio(frame, y, domain):
    """The same proportion with the city/kota design of ``estimates.survey_design`` by hand: kelurahan drawn
    by PPS without replacement within each kota, Brewer's approximation n_h/(n_h - 1) sum_i (1 - pi_i)
    (z_i - zbar_h)^2 (R ``svydesign(..., pps="brewer")``), and every kelurahan contributing its RW stage
    carried with pi_i (1 for a certainty kelurahan), V_i = (1 - m_i/M_i) m_i/(m_i - 1) sum_j (z_ij - zbar_i)^2
    with M_i = n_rw_kelurahan (R's ``multistage``: nPSU / popsize = pi_i)."""
    w = frame["weight"].to_numpy(dtype=float) * domain
    yv = np.nan_to_num(np.asarray(y, dtype=float))
    r = (w * yv).sum() / w.sum()
    z = pd.DataFrame({"h": frame["stratum"].to_numpy(), "k": frame["kode_kemendagri"].to_numpy(), "i": frame["psu"].to_numpy(),
                      "z": w * (yv - r) / w.sum(), "cert": frame["certainty_kelurahan"].astype(bool).to_numpy(),
                      "M": pd.to_numeric(frame["n_rw_kelurahan"]).astype(float).to_numpy(),
                      "pi": pd.to_numeric(frame["pi_kelurahan"]).astype(float).to_numpy()})
    v = 0.0
    kel = z[~z["cert"]].groupby(["h", "k"], as_index=False).agg(z=("z", "sum"), pi=("pi", "first"))
    for _, g in kel.groupby("h"):
        n_h = len(g)
        v += n_h / (n_h - 1) * ((1 - g["pi"]) * (g["z"] - g["z"].mean()) ** 2).sum()
    for _, g in z.groupby("k"):
        rw = g.groupby("i").agg(z=("z", "sum"), M=("M", "first"))
        m = len(rw)
        pi = 1.0 if g["cert"].iloc[0] else g["pi"].iloc[0]
        v += pi * (1 - m / rw["M"].iloc[0]) * m / (m - 1) * ((rw["z"] - rw["z"].mean()) ** 2).sum()
    return r, np.sqrt(v)


def test_an_upload_inside_the_city_sample_is_compared_with_the_rest_of_the_city(demo, city, data_dir):
    """Gedong's submissions are part of the city sample (the city is every kelurahan but Tengah): its households
    are found in ``survey_households`` and it is compared with the rest of its kota and the rest of the city,
    checked against a hand domain estimator and the hand independent contrast."""
    _, gedong = ks.split_export(demo, ks.OTHER_KAMPUNG_CODE)
    out = upload.handle_upload(gedong, city, isolate=False)
    assert out.ok, out.error_code
    city_h = pd.read_parquet(data_dir / "processed" / "survey_households.parquet")
    # the city's key of each uploaded submission, by hand: the demo's keyed hash of its normalised _uuid
    uuids = pd.read_csv(io.BytesIO(gedong[ks.MAIN_NAME]), dtype=str)["_uuid"]
    keys = OpaqueKeys(DEMO_SALT)
    mine = {keys.key("hh", u.strip().casefold().removeprefix("uuid:").strip()) for u in uuids.dropna()}
    in_city = city_h["hh_id"].isin(mine)
    assert in_city.sum() > 30 and (city_h.loc[in_city, "kode_kemendagri"] == ks.OTHER_KAMPUNG_CODE).all()
    assert out.comparison_basis == "rest_of_city"
    assert out.shared_households == int(in_city.sum()) == len(out.households)
    assert set(out.comparison["basis"]) == {"rest_of_city"}
    assert upload_view.basis_note(out, ks.OTHER_KAMPUNG_CODE, "en", tr_for("en")) == i18n.translate(
        "en", "upload.rest_of_city_note", households=f"{int(in_city.sum()):,}")
    frame = upload.est_mod.household_frame(city_h)
    checked = 0
    for indicator in ind.REGISTRY:
        if indicator.unit != ind.HOUSEHOLD or indicator.measure != ind.PROPORTION:
            continue
        for vs, area in (("city", None), ("kota", "31.75")):
            row = out.comparison[(out.comparison["indicator_id"] == indicator.indicator_id) & (out.comparison["vs"] == vs)]
            if row.empty or row["reliability"].iloc[0] == "suppressed":
                continue
            row = row.iloc[0]
            y, universe = indicator.values(frame)
            dom = np.asarray(universe, dtype=bool) & ~in_city.to_numpy() & ~pd.isna(np.asarray(y, dtype=float))
            if area is not None:
                dom &= (city_h["kode_kab_kemendagri"] == area).to_numpy()
            r, se = _hand_two_stage_domain_ratio(frame, y, dom.astype(float))
            assert row["reference_estimate"] == pytest.approx(r, abs=1e-12), (indicator.indicator_id, vs)
            assert row["reference_se"] == pytest.approx(se, rel=1e-6), (indicator.indicator_id, vs)
            assert row["diff"] == pytest.approx(row["kampung_estimate"] - r)
            assert row["se"] == pytest.approx(np.hypot(row["kampung_se"], se), rel=1e-6)
            checked += 1
    assert checked >= 6
    # the published city estimate holds Gedong's households: it differs from the rest of the city
    pub = city.estimates[city.estimates["domain_var"].isna() & (city.estimates["level"] == "city")].set_index("indicator_id")
    ref = out.comparison[out.comparison["vs"] == "city"].set_index("indicator_id")
    assert (ref["reference_estimate"] - pub.loc[ref.index, "estimate"]).abs().max() > 1e-6


def test_decomposition_of_a_city_kelurahan_matches_the_build(city, data_dir):
    """A kelurahan *inside* the city sample, decomposed with the city model as the build wrote it
    (``decomposition_model``, read back from Parquet), gives exactly the build's Fairlie/Yun decomposition
    (the same model, the same persons): no refit, no drift between the two."""
    persons = pd.read_parquet(data_dir / "processed" / "survey_persons.parquet")
    code = persons["kode_kemendagri"].value_counts().index[0]
    sub = persons[persons["kode_kemendagri"] == code]
    mine = upload.decompose_kampung(sub, city.decomposition).set_index("indicator_id")
    for iid in inequality.DECOMPOSITION_INDICATORS:
        y, universe = ind.get(iid).values(persons)
        ref = inequality.decompose(persons, np.where(universe, y, np.nan), persons["kode_kemendagri"])
        ref = ref[ref["kode_kemendagri"] == code].iloc[0]
        for col in ("n", "total_gap", "explained", "explained_income", "explained_education", "explained_age", "unexplained", "city_mean"):
            assert mine.loc[iid, col] == pytest.approx(ref[col], abs=1e-9), (iid, col)


def test_uploaded_kampung_decomposition_adds_up(outcome):
    d = outcome.decomposition
    assert set(d["indicator_id"]) == set(inequality.DECOMPOSITION_INDICATORS)
    assert (d["n"] >= 30).all()
    parts = d[["explained_income", "explained_education", "explained_age"]].sum(axis=1)
    assert np.allclose(parts, d["explained"])
    assert np.allclose(d["explained"] + d["unexplained"], d["total_gap"])
    k = outcome.estimates.set_index("indicator_id")
    for r in d.itertuples():  # total gap = kampung mean - city mean, both on the model's persons
        assert abs(r.total_gap - (k.loc[r.indicator_id, "estimate"] - r.city_mean)) < 0.02


# --- downloads and privacy ---------------------------------------------------------------------------------------


def test_downloads_hold_no_personal_data_and_escape_formulas(outcome, tmp_path):
    for name, payload in (("h.csv", upload.cleaned_csv(outcome, "households")), ("p.csv", upload.cleaned_csv(outcome, "persons")),
                          ("r.html", upload_view.report_html(outcome, "id", tr_for("id")))):
        path = tmp_path / name
        path.write_bytes(payload)
        assert scan_for_pii(path).clean, name
    back = pd.read_csv(io.BytesIO(upload.cleaned_csv(outcome)))
    assert len(back) == len(outcome.households) and back["synthetic"].all()
    tricky = upload.UploadOutcome(ok=True, households=outcome.households.assign(kelurahan="=HYPERLINK(\"x\")").head(2))
    assert pd.read_csv(io.BytesIO(upload.cleaned_csv(tricky)))["kelurahan"].tolist() == ["'=HYPERLINK(\"x\")"] * 2
    html = upload_view.report_html(outcome, "en", tr_for("en")).decode()
    assert "<script" not in html and "http" not in html.split("</style>", 1)[1]
    assert "Tengah" in html and i18n.translate("en", "upload.unweighted") in html


def test_pii_typed_in_free_text_is_counted_and_removed(city):
    from tests.survey.bad_exports.cases import ACCEPTED

    case = next(a for a in ACCEPTED if a.id == "pii_in_free_text")
    out = upload.handle_upload(case.files(), city)
    assert out.ok
    assert upload.pii_removed_total(out) == {"nik": 1, "kk": 1, "phone": 1, "name": 1}
    text = upload_view.pii_text(out, "en", tr_for("en"))
    assert text.startswith("Personal data removed") and "total 4" in text
    assert scan_for_pii(out.households).clean and scan_for_pii(out.persons).clean


def test_every_error_code_has_a_message_in_both_languages():
    for code in list(ERROR_CODES) + list(upload.PAGE_ERROR_CODES):
        for lang in i18n.LANGUAGES:
            assert i18n.has(lang, f"upload.errors.{code}"), (lang, code)
    assert upload_view.error_message("no_such_code", tr_for("en")) == i18n.translate("en", "upload.errors.unknown")


def test_an_unexpected_failure_is_caught_and_logs_only_a_code(split, city, monkeypatch, caplog):
    secret = "3171234567890123 0812-3456-7890"

    def boom(result):
        raise RuntimeError(secret)

    monkeypatch.setattr(upload, "kampung_estimates", boom)
    with caplog.at_level(logging.DEBUG, logger="digidiv.upload"):
        out = upload.handle_upload(split[1], city, isolate=False)  # in-process: the patched statistics run
    assert not out.ok and out.error_code == "internal_error"
    assert upload_view.error_message(out.error_code, tr_for("id")) == i18n.translate("id", "upload.errors.internal_error")
    assert secret not in caplog.text and "internal_error" in caplog.text
    assert out.households is None
    # the same in the sandbox's child, where the statistics run too: a city table without its columns
    broken = dataclasses.replace(city, estimates=pd.DataFrame({"secret": [secret]}))
    caplog.clear()
    with caplog.at_level(logging.DEBUG, logger="digidiv.upload"):
        out = upload.handle_upload(split[1], broken)
    assert not out.ok and out.error_code == "internal_error" and out.households is None
    assert secret not in caplog.text and "internal_error" in caplog.text


def test_no_register_is_a_clear_error():
    out = upload.handle_upload({"a.csv": b"x,y\n1,2\n"}, None)
    assert out.error_code == "no_city_data"


# --- the page (AppTest) ------------------------------------------------------------------------------------------


@pytest.fixture
def app(data_dir, monkeypatch):
    import streamlit as st
    from streamlit.testing.v1 import AppTest

    monkeypatch.setenv("DIGIDIV_DATA", str(data_dir))
    st.cache_data.clear()
    st.cache_resource.clear()

    def make(lang="id", files=None, design=None):
        at = AppTest.from_file(DASHBOARD, default_timeout=120)
        at.switch_page(PAGE)
        at.session_state["lang"] = lang
        if files is not None:
            at.session_state["_upload_files_for_test"] = files
        if design is not None:
            at.session_state["_upload_design_for_test"] = design
        return at

    return make


def test_page_without_a_file_waits(app):
    at = app().run()
    assert not at.exception
    assert i18n.translate("id", "upload.waiting") in [i.value for i in at.info]
    assert "upload_outcome" not in at.session_state


def test_page_shows_the_kampung_against_kota_and_city(app, split, outcome):
    at = app("en", split[1]).run()
    assert not at.exception
    assert i18n.translate("en", "upload.title") in [t.value for t in at.title]
    assert any(w.value == i18n.translate("en", "upload.unweighted") for w in at.warning)
    shown = next(df.value for df in at.dataframe if i18n.translate("en", "upload.col_gap_city") in df.value.columns)
    expected = upload_view.comparison_table(outcome, ks.KAMPUNG_CODE, "en", tr_for("en"))
    assert shown[i18n.translate("en", "upload.col_kampung")].tolist() == expected[i18n.translate("en", "upload.col_kampung")].tolist()
    assert shown[i18n.translate("en", "upload.col_gap_city")].tolist() == expected[i18n.translate("en", "upload.col_gap_city")].tolist()
    assert any("Tengah" in m.value for m in at.markdown)
    labels = [b.proto.label for b in at.get("download_button")]
    assert labels == [i18n.translate("en", k) for k in ("upload.download_households", "upload.download_persons", "upload.download_report")]
    # the outcome lives in this session only, and a rerun with the same bytes does not recompute it
    first = at.session_state["upload_outcome"]
    at.run()
    assert at.session_state["upload_outcome"] is first


def test_page_switches_language_without_reuploading(app, split):
    at = app("id", split[1]).run()
    head_id = next(df.value for df in at.dataframe if i18n.translate("id", "upload.col_gap_city") in df.value.columns)
    at.session_state["lang"] = "en"
    at.run()
    assert not at.exception
    head_en = next(df.value for df in at.dataframe if i18n.translate("en", "upload.col_gap_city") in df.value.columns)
    assert len(head_id) == len(head_en)
    assert "," in head_id.iloc[1, 2] and "." in head_en.iloc[1, 2]  # 75,4% vs 75.4%


def test_two_sessions_keep_their_own_uploads(app, demo):
    _, kampung_a = ks.split_export(demo, ks.KAMPUNG_CODE)
    _, kampung_b = ks.split_export(demo, ks.OTHER_KAMPUNG_CODE)
    a, b = app("en", kampung_a).run(), app("en", kampung_b).run()
    assert list(a.session_state["upload_outcome"].kelurahan["kelurahan"]) == ["Tengah"]
    assert list(b.session_state["upload_outcome"].kelurahan["kelurahan"]) == ["Gedong"]
    assert not any("Gedong" in m.value for m in a.markdown) and not any("Tengah" in m.value for m in b.markdown)


def test_page_with_a_design_file_uses_the_weights(app, demo, split):
    at = app("en", split[1], (demo / "design.csv").read_bytes()).run()
    assert not at.exception
    assert at.session_state["upload_outcome"].weighted
    assert any(i.value == i18n.translate("en", "upload.weighted") for i in at.info)


def test_removing_the_file_forgets_the_upload(app, split):
    at = app("en", split[1]).run()
    assert "upload_outcome" in at.session_state
    at.session_state["_upload_files_for_test"] = {}
    at.run()
    assert "upload_outcome" not in at.session_state


def test_a_file_of_several_kelurahan_opens_on_the_one_with_most_households(app, demo):
    """Tengah comes first in the register but has at most 5 households in this file; Gedong has them all: the page
    opens on Gedong, and the choices run from the most households down."""
    files = ks.mixed_export(demo, {ks.KAMPUNG_CODE: 5, ks.OTHER_KAMPUNG_CODE: None})
    at = app("en", files).run()
    assert not at.exception
    out = at.session_state["upload_outcome"]
    counts = out.kelurahan.set_index("kode_kemendagri")["households"]
    assert counts[ks.KAMPUNG_CODE] <= 5 < counts[ks.OTHER_KAMPUNG_CODE]  # (a dirty submission may be set aside)
    assert list(out.kelurahan["kode_kemendagri"])[0] == ks.KAMPUNG_CODE  # register order would pick Tengah
    assert upload_view.kelurahan_choices(out) == [ks.OTHER_KAMPUNG_CODE, ks.KAMPUNG_CODE]
    box = at.selectbox(key="upload_kel")
    assert box.value == ks.OTHER_KAMPUNG_CODE and "Gedong" in list(box.options)[0] and "Tengah" in list(box.options)[1]
    assert any(m.value == "**" + i18n.translate("en", "upload.kampung_heading", kelurahan="Gedong", kecamatan="Pasar Rebo", kota=out.kelurahan.set_index("kode_kemendagri").loc[ks.OTHER_KAMPUNG_CODE, "kab_kota"]) + "**" for m in at.markdown)


def test_kelurahan_choices_order_by_households_then_code():
    kel = pd.DataFrame({"kode_kemendagri": ["31.01.01.1001", "31.75.04.1002", "31.71.01.1001"], "households": [3, 40, 40]})
    out = upload.UploadOutcome(ok=True, kelurahan=kel)
    assert upload_view.kelurahan_choices(out) == ["31.71.01.1001", "31.75.04.1002", "31.01.01.1001"]


@pytest.mark.parametrize("lang", ["id", "en"])
def test_page_draws_the_kampung_against_kota_and_city_with_cis(app, split, outcome, lang):
    """One chart: for the main indicators, the kampung, its kota and the city with 95% CIs, in the page's
    language, the numbers those of the comparison."""
    import json

    at = app(lang, split[1]).run()
    assert not at.exception
    assert i18n.translate(lang, "upload.chart_title") in [s.value for s in at.subheader]
    charts = at.get("plotly_chart")
    assert len(charts) == 1
    fig = json.loads(charts[0].proto.spec)
    names = [t["name"] for t in fig["data"]]
    assert names == [i18n.translate(lang, f"upload.chart_{g}") for g in ("kampung", "kota", "city")]
    frame = upload_view.chart_frame(outcome, ks.KAMPUNG_CODE, lang, tr_for(lang))
    assert 3 <= frame["category"].nunique() <= upload_view.CHART_INDICATORS
    kampung = fig["data"][0]
    k = outcome.estimates.set_index("indicator_id")
    comp = outcome.comparison[outcome.comparison["vs"] == "city"].set_index("indicator_id")
    labels = {(ind.get(i).label_id if lang == "id" else ind.get(i).label_en): i for i in k.index}
    for y, x, hi, lo in zip(kampung["y"], kampung["x"], kampung["error_x"]["array"], kampung["error_x"]["arrayminus"], strict=True):
        iid = labels[y]
        assert x == pytest.approx(k.loc[iid, "estimate"])
        assert (x - lo, x + hi) == pytest.approx((k.loc[iid, "ci_low"], k.loc[iid, "ci_high"]))
        assert k.loc[iid, "reliability"] != "suppressed"
    city = fig["data"][2]
    for y, x in zip(city["y"], city["x"], strict=True):
        assert x == pytest.approx(comp.loc[labels[y], "reference_estimate"])
    assert i18n.translate(lang, "upload.chart_note") in [c.value for c in at.caption]


def test_page_decomposition_says_it_has_no_intervals(app, split):
    import json

    at = app("id", split[1]).run()
    assert not at.exception
    header = i18n.translate("id", "upload.col_unexplained")
    shown = next(df for df in at.dataframe if header in df.value.columns)
    assert json.loads(shown.proto.columns)[i18n.translate("id", "upload.col_indicator")]["width"] == "large"
    assert any(i18n.translate("id", "common.decomposition_no_ci") in c.value for c in at.caption)
    assert i18n.translate("en", "common.decomposition_no_ci") in upload_view.report_html(at.session_state["upload_outcome"], "en", tr_for("en")).decode()


# --- a bounded number of uploads read at once (issue 16) -----------------------------------------------------


def test_at_most_cores_minus_one_uploads_are_read_at_once():
    from analysis.survey import sandbox

    assert sandbox.SLOTS == max(1, len(os.sched_getaffinity(0)) - 1)


def test_an_upload_with_no_free_slot_says_it_waits_then_runs_with_the_same_result(monkeypatch, split, city, outcome):
    from analysis.survey import sandbox

    slots = threading.BoundedSemaphore(1)
    monkeypatch.setattr(sandbox, "_slots", slots)
    slots.acquire()  # another upload is being read
    told, box = threading.Event(), {}
    worker = threading.Thread(target=lambda: box.update(out=upload.handle_upload(split[1], city, on_wait=told.set)))
    worker.start()
    try:
        assert told.wait(120)  # the page is told before the upload waits
        assert "out" not in box  # and it does not start while the slot is taken
    finally:
        slots.release()
        worker.join()
    out = box["out"]
    assert out.ok  # it ran once the slot was free
    # ingestion and statistics run in the child: the same numbers as the outcome computed in-process
    in_process = upload.handle_upload(split[1], city, isolate=False)
    for name in ("estimates", "comparison", "decomposition", "kelurahan"):
        pd.testing.assert_frame_equal(getattr(out, name), getattr(in_process, name))
    assert out.report == in_process.report == outcome.report


def test_an_upload_that_waits_too_long_is_refused_with_its_own_message(monkeypatch):
    from analysis.errors import InputError
    from analysis.survey import sandbox

    slots = threading.BoundedSemaphore(1)
    monkeypatch.setattr(sandbox, "_slots", slots)
    slots.acquire()
    try:
        with pytest.raises(InputError) as err:
            sandbox.run_isolated(len, b"", queue_timeout=0)
    finally:
        slots.release()
    assert err.value.code == "upload_busy"
    for lang in ("en", "id"):
        tr = tr_for(lang)
        assert upload_view.error_message("upload_busy", tr) != tr("upload.errors.unknown")
    assert sandbox.run_isolated(len, b"ab") == 2  # the slot is free again


def test_rest_of_city_with_nothing_excluded_is_the_published_city_estimate(built):
    """With no household excluded the rest-of-city reference is the published estimate itself, persons
    included: on the full build the city persons carry the raked weights of ``estimates`` (a reference built
    on the design weights differed from the published city by ~0.8 points for internet use)."""
    t = built.tables
    city = upload.CityArtefacts.from_tables(t["estimates"].data, t["wilayah_register"].data, None, t["survey_households"].data,
                                            t["survey_persons"].data, t["kelurahan_covariates"].data)
    ref = upload.rest_of_city_estimates(city, set(), {"person_internet", "hh_internet"})
    pub = city.estimates[city.estimates["domain_var"].isna() & city.estimates["level"].isin(["city", "kota"])]
    both = ref.merge(pub, on=["indicator_id", "level", "area_code"], suffixes=("", "_pub"))
    assert set(both["indicator_id"]) == {"person_internet", "hh_internet"} and len(both) == 2 * 7
    assert np.allclose(both["estimate"], both["estimate_pub"], atol=1e-12, equal_nan=True)
