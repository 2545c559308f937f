"""AppTest of the whole dashboard on the full build of the mirror: every page, widgets, URL state, and the
numbers on screen against the processed tables (formatted the same way)."""

from __future__ import annotations

import html
import json
import re
import xml.etree.ElementTree as ET
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pytest

from analysis import formatting as fmt
from ui import cached, i18n

PAGES = ["ringkasan", "peta", "profil", "bandingkan", "model", "data", "metodologi"]
TENGAH = "31.75.04.1002"  # an oversampled kelurahan: has direct estimates


def t(lang, key, **kw):
    return i18n.translate(lang, key, **kw)


def go(at, slug):
    return at.switch_page(f"pages/{slug}.py").run()


def specs(at):
    """AppTest has no plotly accessor: the figure is the JSON spec of the element's proto."""
    return [json.loads(c.proto.spec) for c in at.get("plotly_chart")]


def vega_specs(at):
    """The Vega-Lite specs drawn (the maps; the overview's charts are SVG, ``svg_charts``). Streamlit keeps a map's GeoJSON
    inline and moves other inline data to an Arrow table beside the spec: put it back as ``data.values``."""
    out = []
    for c in at.get("vega_lite_chart"):
        spec = cached.values_from_layer(json.loads(c.proto.spec))  # the map's values travel in a layer of their own
        if "data" not in spec and c.proto.data.data:
            spec["data"] = {"values": pa.ipc.open_stream(c.proto.data.data).read_pandas().to_dict("records")}
        out.append(spec)
    return out


SVG = "{http://www.w3.org/2000/svg}"


def html_blocks(at) -> list[str]:
    """The HTML of every ``st.html`` element (``ui.markup.show_block``: the overview's parts)."""
    return [e.proto.body for e in at.get("html")]


def svg_charts(at) -> list[ET.Element]:
    """The overview's charts (``analysis.svg_charts``), parsed from the SVG files its images show
    (``svg_charts.image_figure``), which are also what the download links give."""
    out = []
    for body in html_blocks(at):
        for src, href in re.findall(r'<img class="svg-chart-img" src="([^"]+)".*?<a class="svg-download" href="([^"]+)"', body):
            assert src == href  # the download is the drawn file
            out.append(ET.parse(cached.STATIC_DIR / src.removeprefix(cached.STATIC_URL)).getroot())
    return out


def chart_marks(chart: ET.Element) -> list[str]:
    """The hover text of every mark of an SVG chart, in drawing order."""
    return [g.find(f"{SVG}title").text for g in chart.iter(f"{SVG}g") if "mark" in (g.get("class") or "").split()]


def metric_cards(at) -> list[tuple[str, str]]:
    """The overview's city figures (``html_tables.metric_cards``): ``(label, value)`` per card."""
    return [(html.unescape(label), html.unescape(value)) for body in html_blocks(at)
            for label, value in re.findall(r'<dl class="dd-card"><dt>(.*?)</dt><dd class="dd-value">(.*?)</dd>', body)]


def block_text(at) -> str:
    """The text of every ``st.html`` element, tags removed and unescaped (its CSS left out)."""
    return "\n".join(html.unescape(re.sub(r"<[^>]+>", " ", re.sub(r"<style>.*?</style>", "", b))) for b in html_blocks(at))


def html_tables(at) -> list[tuple[str | None, pd.DataFrame]]:
    """The HTML tables (``analysis.html_tables``) drawn with ``st.html`` or ``st.markdown``: ``(caption, frame of
    cell texts)``."""
    out = []
    for value in [e.value for e in at.markdown] + html_blocks(at):
        for markup in re.findall(r"<table .*?</table>", value):
            root = ET.fromstring(markup)
            caption = root.find("caption")
            rows = [[td.text or "" for td in tr.iter("td")] for tr in root.find("tbody")]
            out.append((None if caption is None else caption.text, pd.DataFrame(rows, columns=[th.text for th in root.iter("th")])))
    return out


def map_values(spec) -> dict[str, tuple]:
    """kode -> (value, status) of every area drawn on a ``vega_charts.choropleth`` map."""
    return {f["kode"]: (f["value"], f["status"]) for f in spec["data"]["values"]}


def value_layer(spec) -> dict:
    return next(layer for layer in spec["layer"] if layer.get("encoding", {}).get("color", {}).get("field") == "value")


def table(data_dir, name):
    return pd.read_parquet(data_dir / "processed" / f"{name}.parquet")


def no_exception(at):
    assert not at.exception, [e.value for e in at.exception]


@pytest.mark.parametrize("lang", ["id", "en"])
def test_every_page_runs_and_shows_the_synthetic_banner(make_app, dashboard_data, lang):
    at = make_app(dashboard_data, lang=lang, kel=TENGAH)
    for slug in PAGES:
        go(at, slug)
        no_exception(at)
        assert at.title, slug
        assert any(t(lang, "banner.synthetic") == w.value for w in at.warning), slug
        assert at.query_params["page"] == slug
        assert at.query_params["lang"] == lang and at.query_params["kel"] == TENGAH  # kept across page switches


def test_without_a_build_every_page_says_what_is_missing(make_app, empty_data):
    at = make_app(empty_data)
    for slug in PAGES:
        go(at, slug)
        no_exception(at)
        assert any("python -m analysis build" in e.value for e in at.error), slug
    go(at, "peta")
    assert at.info[0].value == t("id", "common.not_available", what=t("id", "artefacts.indicators"))
    assert not at.get("vega_lite_chart")


def test_overview_metrics_equal_the_city_estimates_in_both_languages(make_app, dashboard_data):
    estimates = table(dashboard_data, "estimates")
    indicators = table(dashboard_data, "indicators")
    city = estimates[(estimates["level"] == "city") & estimates["domain_var"].isna()].set_index("indicator_id")
    at = make_app(dashboard_data)
    for lang in ("id", "en"):
        if lang == "en":
            at.sidebar.radio(key="w_lang").set_value("en").run()
        labels = dict(zip(indicators["label_id" if lang == "id" else "label_en"], indicators["indicator_id"]))
        cards = metric_cards(at)
        assert len(cards) == 6 and not at.metric  # one HTML block, not six st.metric (issue 16)
        for label, value in cards:
            expected = fmt.format_percent(city.loc[labels[label], "estimate"], lang)
            assert value.rstrip(" †") == expected
        assert ("," in cards[0][1]) == (lang == "id")
    assert at.query_params["lang"] == "en"


def test_overview_shows_the_quota_spending_quartiles_of_the_build(make_app, dashboard_data):
    spend = table(dashboard_data, "quota_spend_quantiles")
    city = spend[(spend["level"] == "city") & (spend["quantile"] == 0.5)].iloc[0]
    at = make_app(dashboard_data, lang="en")
    no_exception(at)
    assert not at.table  # no Arrow table on the overview: its JavaScript held back the first visit (issue 16)
    caption, shown = next((c, tb) for c, tb in html_tables(at) if t("en", "overview.quota_median") in tb.columns)
    assert caption == t("en", "overview.quota_note")
    ci = fmt.format_ci(city["ci_low"], city["ci_high"], "en", decimals=0, scale=1.0, percent=False)
    assert shown.iloc[0][t("en", "overview.quota_median")] == f"Rp {fmt.format_number(city['estimate'], 'en', 0)} ({ci})"
    assert len(shown) == 1 + spend.loc[spend["level"] == "kota", "area_code"].nunique()


def test_overview_readings_and_bps_context(make_app, dashboard_data):
    at = make_app(dashboard_data, lang="en", indicator="person_internet")
    text = "\n".join(m.value for m in at.markdown) + block_text(at)
    estimates = table(dashboard_data, "estimates")
    q1 = estimates[(estimates["indicator_id"] == "person_internet") & (estimates["domain_var"] == "income_quintile") & (estimates["domain_value"].astype(str) == "1")]
    assert fmt.format_percent(q1["estimate"].iloc[0], "en") in text
    assert f'(95% CI {fmt.format_ci(q1["ci_low"].iloc[0], q1["ci_high"].iloc[0], "en")})' in text  # no number without its uncertainty
    assert "poorest fifth" in text
    # no plotly.js (4.7 MB), no Vega (0.8 MB): the overview's charts are SVG written on the server
    assert not at.get("plotly_chart") and not at.get("vega_lite_chart")
    chart = next(c for c in svg_charts(at) if c.get("data-chart") == "series")  # the BPS series
    shown = chart_marks(chart)
    assert {m.split(",")[0] for m in shown} == {"DKI Jakarta", "Indonesia"}
    bps = table(dashboard_data, "bps_indicators")
    dki = bps[(bps["indicator"] == "ict_skills_15_59") & (bps["region_code"].astype(str) == "31")].sort_values("year")  # the longest series
    row = dki.iloc[-1]
    assert f"DKI Jakarta, {int(row['year'])}: {fmt.format_percent(row['value'], 'en', 2, scale=1)}" in shown
    legend = [r.get("fill") for r in chart.iter(f"{SVG}rect")]
    assert legend[-2:] == ["#0072B2", "#E69F00"]  # Okabe-Ito, set explicitly
    axis = [" ".join(x.itertext()) for x in chart.iter(f"{SVG}text") if x.text and x.text.endswith("%")]
    assert axis and all("," not in a for a in axis)  # English axis numbers


def test_indicator_choice_changes_the_map_and_values_equal_estimates(make_app, dashboard_data):
    estimates = table(dashboard_data, "estimates")
    register = table(dashboard_data, "wilayah_register")
    at = make_app(dashboard_data)
    go(at, "peta")
    no_exception(at)
    at.segmented_control(key="map_mode").set_value("direct").run()  # the default layer is small-area
    seen = {}
    for ind in ("hh_internet", "jaki_aware"):
        at.sidebar.selectbox(key="w_indicator").set_value(ind).run()
        spec = vega_specs(at)[0]
        kel = estimates[(estimates["indicator_id"] == ind) & (estimates["level"] == "kelurahan")].set_index("area_code")
        drawn = map_values(spec)
        shown = {code: v for code, (v, status) in drawn.items() if status != "none"}
        reliable = kel[kel["reliability"] != "suppressed"]
        assert set(shown) == set(reliable.index)
        for code, z in shown.items():
            assert z == pytest.approx(reliable.loc[code, "estimate"], abs=1e-5)
        assert {drawn[c][1] for c in reliable.index if reliable.loc[c, "reliability"] == "flag"} <= {"flag"}
        assert set(drawn) == set(register["kode_kemendagri"])  # every kelurahan is drawn, grey if no estimate
        assert all(v is None for v, status in drawn.values() if status == "none")  # suppressed: no number sent
        assert "url" not in spec["data"] and "tiles" not in json.dumps(spec)  # offline: geometry inline, no tile server
        assert value_layer(spec)["encoding"]["color"]["scale"]["scheme"] == "viridis"
        seen[ind] = shown
        assert at.query_params["indicator"] == ind
    assert seen["hh_internet"] != seen["jaki_aware"]


def test_map_modes_small_area_and_gap(make_app, dashboard_data):
    sae = table(dashboard_data, "sae_estimates")
    gaps = table(dashboard_data, "gaps")
    at = make_app(dashboard_data, indicator="hh_internet")
    go(at, "peta")
    at.segmented_control(key="map_mode").set_value("sae").run()
    spec = vega_specs(at)[0]
    expected = sae[sae["indicator_id"] == "hh_internet"].set_index("kode_kemendagri")["estimate"]
    shown = {code: v for code, (v, status) in map_values(spec).items() if status != "none"}
    assert len(shown) == 267
    assert all(z == pytest.approx(expected[c], abs=1e-5) for c, z in shown.items())
    at.segmented_control(key="map_mode").set_value("gap").run()
    spec = vega_specs(at)[0]
    scale = value_layer(spec)["encoding"]["color"]["scale"]
    assert scale["domainMid"] == 0 and scale["domain"][0] == -scale["domain"][1]  # diverging around the city value
    assert scale["scheme"] == "purpleorange"  # ColorBrewer PuOr: colour-blind safe
    assert value_layer(spec)["encoding"]["color"]["legend"]["labelExpr"] == "format(datum.value * 100, '+.0f')"  # pp, not %
    city_gaps = gaps[(gaps["indicator_id"] == "hh_internet") & (gaps["vs"] == "city")].dropna(subset=["diff"]).set_index("kode_kemendagri")["diff"]
    shown = {code: v for code, (v, status) in map_values(spec).items() if status != "none"}
    assert set(shown) == set(city_gaps.index)
    assert all(z == pytest.approx(city_gaps[c], abs=1e-5) for c, z in shown.items())


def test_map_heading_block_names_the_layer_its_colours_and_that_the_survey_is_synthetic(make_app, dashboard_data):
    label = table(dashboard_data, "indicators").set_index("indicator_id").loc["hh_internet", "label_en"]
    for mode in ("direct", "sae", "gap"):
        at = make_app(dashboard_data, page="peta", lang="en", indicator="hh_internet", layer=mode)
        no_exception(at)
        shown = block_text(at)
        assert f"{label}: {t('en', f'map.mode_{mode}').lower()}" in shown
        assert t("en", f"map.legend_note_{mode}") in shown and t("en", "map.intro") in shown
        assert t("en", "map.synthetic_layer") in shown  # the demo survey's layers say so beside the map
        assert len(html_blocks(at)) == 1 and not at.main.get("heading")[1:]  # title only, the rest in one block


def test_map_table_on_demand_shows_the_same_numbers(make_app, dashboard_data):
    estimates = table(dashboard_data, "estimates")
    at = make_app(dashboard_data, lang="en", indicator="hh_internet", layer="direct")
    go(at, "peta")
    assert not at.dataframe  # no data grid until asked for
    at.toggle(key="map_table").set_value(True).run()
    no_exception(at)
    shown = at.dataframe[0].value
    assert len(shown) == 267
    kel = estimates[(estimates["indicator_id"] == "hh_internet") & (estimates["level"] == "kelurahan") & (estimates["reliability"] != "suppressed")]
    top = kel.sort_values("estimate", ascending=False).iloc[0]
    assert shown[t("en", "map.col_value")].iloc[0] == fmt.format_percent(top["estimate"], "en")  # sorted by value


def test_map_table_tells_not_sampled_from_suppressed(make_app, dashboard_data):
    estimates = table(dashboard_data, "estimates")
    kel = estimates[(estimates["indicator_id"] == "hh_internet") & (estimates["level"] == "kelurahan") & estimates["domain_var"].isna()]
    at = make_app(dashboard_data, lang="en", indicator="hh_internet", layer="direct")
    go(at, "peta")
    at.toggle(key="map_table").set_value(True).run()
    status = at.dataframe[0].value[t("en", "map.col_status")]
    assert (status == t("en", "map.not_sampled")).sum() == 267 - kel["area_code"].nunique()
    assert (status == t("en", "common.no_reliable_estimate")).sum() == (kel["reliability"] == "suppressed").sum()


def test_map_payload_is_small(make_app, dashboard_data):
    at = make_app(dashboard_data)
    go(at, "peta")
    assert len(at.get("vega_lite_chart")[0].proto.spec.encode()) <= 250_000


def test_search_opens_the_profile_with_numbers_from_the_tables(make_app, dashboard_data):
    estimates = table(dashboard_data, "estimates")
    at = make_app(dashboard_data, lang="en", indicator="hh_internet")
    at.sidebar.selectbox(key="w_kel").set_value(TENGAH).run()
    no_exception(at)
    assert at.title[0].value == "Kelurahan Tengah"
    assert at.query_params["page"] == "profil" and at.query_params["kel"] == TENGAH
    profile = at.dataframe[0].value.set_index(t("en", "profile.col_indicator"))
    row = estimates[(estimates["indicator_id"] == "hh_internet") & (estimates["level"] == "kelurahan") & (estimates["area_code"] == TENGAH)].iloc[0]
    label = table(dashboard_data, "indicators").set_index("indicator_id").loc["hh_internet", "label_en"]
    expected = fmt.format_estimate(row["estimate"], row["ci_low"], row["ci_high"], "en")
    assert profile.loc[label, t("en", "profile.col_kelurahan")].startswith(expected)
    assert at.download_button  # printable profile


def test_shared_link_reopens_the_same_view(make_app, dashboard_data):
    at = make_app(dashboard_data, page="peta", lang="en", indicator="jaki_aware", kel=TENGAH)
    no_exception(at)
    assert at.title[0].value == t("en", "map.title")
    assert at.sidebar.selectbox(key="w_indicator").value == "jaki_aware"
    assert at.sidebar.selectbox(key="w_kel").value == TENGAH
    assert at.query_params == {"page": "peta", "lang": "en", "indicator": "jaki_aware", "kel": TENGAH, "layer": "sae"}
    outlined = [layer for layer in vega_specs(at)[0]["layer"] if layer.get("transform") == [{"filter": {"field": "kode", "equal": TENGAH}}]]
    assert len(outlined) == 1  # the chosen kelurahan is outlined on the map


COMPARED = ["31.75.04.1002", "31.75.05.1001", "31.71.01.1001"]


def test_a_compare_link_reopens_all_its_kelurahan(make_app, dashboard_data):
    at = make_app(dashboard_data, page="bandingkan", lang="en", kel=",".join(COMPARED))
    no_exception(at)
    assert at.multiselect(key="cmp_kel").value == COMPARED
    assert at.query_params["kel"] == ",".join(COMPARED) and at.query_params["page"] == "bandingkan"
    assert at.sidebar.selectbox(key="w_kel").value == COMPARED[0]  # the sidebar keeps one: the first
    at.multiselect(key="cmp_kel").unselect(COMPARED[1]).run()
    assert at.query_params["kel"] == f"{COMPARED[0]},{COMPARED[2]}"  # the URL follows the selection
    shared = at.sidebar.code[0].value
    assert shared.endswith(f"/bandingkan?page=bandingkan&lang=en&indicator={at.query_params['indicator']}&kel={COMPARED[0]},{COMPARED[2]}")
    go(at, "profil")
    assert at.query_params["kel"] == COMPARED[0]  # off the compare page, kel is the one kelurahan again


def test_map_layer_and_model_outcome_are_in_the_link(make_app, dashboard_data):
    at = make_app(dashboard_data, page="peta", lang="en", layer="direct")
    no_exception(at)
    assert at.segmented_control(key="map_mode").value == "direct" and at.query_params["layer"] == "direct"
    default = make_app(dashboard_data, page="peta", lang="en")
    assert default.query_params["layer"] == "sae"  # by default the layer that covers every kelurahan
    model = make_app(dashboard_data, page="model", lang="en", outcome="jaki_awareness")
    no_exception(model)
    assert model.selectbox(key="model_outcome").value == "jaki_awareness"
    assert model.query_params["outcome"] == "jaki_awareness"
    bad = make_app(dashboard_data, page="model", lang="en", outcome="nope")
    assert bad.query_params["outcome"] == bad.selectbox(key="model_outcome").value == "internet_use"  # the first


def test_the_planner_gives_the_households_for_a_gap(make_app, dashboard_data):
    from analysis.stats import planning

    estimates, households = table(dashboard_data, "estimates"), table(dashboard_data, "survey_households")
    at = make_app(dashboard_data, page="unggah", lang="en")
    no_exception(at)
    at.selectbox(key="plan_indicator").set_value("hh_internet").run()
    at.slider(key="plan_gap").set_value(-8).run()
    city = estimates[(estimates["indicator_id"] == "hh_internet") & (estimates["level"] == "city") & estimates["domain_var"].isna()].iloc[0]
    effect = planning.cluster_effect(city["estimate"], city["se"], city["n"], len(households) / households["psu"].nunique())
    expected = planning.plan_kampung_sample(city["estimate"], -0.08, effect, per_cluster=12)
    assert at.metric[0].value == f"{expected.n_households:,}"
    assert expected.n_households % 12 == 0 and expected.n_households >= expected.n_srs  # whole RW, clustering costs
    at.slider(key="plan_per_cluster").set_value(6).run()
    assert int(at.metric[0].value.replace(",", "")) != expected.n_households  # the plan follows the inputs


def test_overview_draws_the_gap_by_income_and_education_with_cis(make_app, dashboard_data):
    estimates = table(dashboard_data, "estimates")
    concentration = table(dashboard_data, "concentration_index")
    at = make_app(dashboard_data, lang="en", indicator="person_internet")
    no_exception(at)
    drawn = {c.get("aria-label"): c for c in svg_charts(at) if c.get("data-chart") == "groups"}
    assert set(drawn) == {t("en", "domain_vars.income_quintile"), t("en", "domain_vars.education")}
    city = estimates[(estimates["indicator_id"] == "person_internet") & (estimates["area_code"] == "31") & (estimates["domain_var"] == "income_quintile")]
    city = city.assign(q=city["domain_value"].astype(int)).sort_values("q")
    expected = [
        f"{t('en', f'domain_values.income_quintile.{r.q}')}: {fmt.format_percent(r.estimate, 'en')} (95% CI {fmt.format_ci(r.ci_low, r.ci_high, 'en')}), n = {fmt.format_int(r.n, 'en')}"
        for r in city.itertuples()
    ]
    assert chart_marks(drawn[t("en", "domain_vars.income_quintile")]) == expected  # one mark per quintile, its value and CI on hover
    assert t("en", "overview.figure_synthetic") in " ".join(drawn[t("en", "domain_vars.education")].itertext())  # the file says it
    ci = concentration[(concentration["indicator_id"] == "person_internet") & (concentration["level"] == "city")].iloc[0]
    caption = block_text(at)
    assert fmt.format_number(ci["erreygers"], "en", 2) in caption and "Concentration index" in caption
    # each quintile's estimate and CI are written on the chart, not only on hover (an image has none)
    written = [" ".join(x.itertext()) for x in drawn[t("en", "domain_vars.income_quintile")].iter(f"{SVG}text")]
    for r in city.itertuples():
        assert fmt.format_percent(r.estimate, "en") in written and f"({fmt.format_ci(r.ci_low, r.ci_high, 'en')})" in written


def test_profile_breakdown_at_the_smallest_level_the_sample_supports(make_app, dashboard_data):
    estimates = table(dashboard_data, "estimates")
    at = make_app(dashboard_data, page="profil", lang="en", kel=TENGAH, indicator="person_internet")
    no_exception(at)
    said = [m.value for m in at.markdown if "against the city" in m.value]
    assert said and said[0].startswith("**Tengah** against the city")  # Tengah is oversampled: its own breakdown
    bars = next(s for s in specs(at) if any("Q1" in str(y) for tr_ in s["data"] for y in tr_.get("y", [])))
    groups = {tr_.get("name") for tr_ in bars["data"]}
    assert "DKI Jakarta" in groups and any("Tengah" in str(g) for g in groups) and not any("Jakarta Timur" in str(g) for g in groups)
    own = estimates[(estimates["level"] == "domain") & (estimates["area_code"] == TENGAH) & (estimates["indicator_id"] == "person_internet") & (estimates["domain_var"] == "income_quintile")]
    assert len(own) and (own["reliability"] != "suppressed").sum() >= 2


def test_the_map_downloads_as_a_titled_png_named_after_its_view(make_app, dashboard_data):
    import io

    from PIL import Image

    from analysis import vega_charts
    from ui import cached, data

    at = make_app(dashboard_data, page="peta", lang="en", indicator="hh_internet", layer="sae")
    no_exception(at)
    button = next(b for b in at.get("download_button") if b.proto.id.endswith("-map_png"))
    assert button.proto.label == t("en", "map.download_png") and button.proto.deferred_file_id  # made on click
    png = cached.map_png(data.built(), "sae", "hh_internet", "en", None, "Households with internet access: small-area")
    image = Image.open(io.BytesIO(png))
    assert image.format == "PNG" and image.width >= 1200 and image.height >= 400
    assert len(set(image.convert("RGB").getdata())) > 20  # a coloured map, not a blank canvas
    assert vega_charts.file_slug(t("id", "map.file_prefix"), "hh_internet", "sae") == "peta-hh_internet-sae"


def test_a_real_data_layer_is_in_the_link(make_app, dashboard_data):
    at = make_app(dashboard_data, page="peta", lang="en", layer="real", real="indirect_internet")
    no_exception(at)
    assert at.segmented_control(key="map_mode").value == "real"
    assert at.selectbox(key="real_layer").value == "indirect_internet"
    assert at.query_params["layer"] == "real" and at.query_params["real"] == "indirect_internet"
    assert at.sidebar.code[0].value.endswith("layer=real&real=indirect_internet")  # the share box has it too
    at.segmented_control(key="map_mode").set_value("direct").run()
    assert "real" not in at.query_params and at.query_params["layer"] == "direct"
    older = make_app(dashboard_data, page="peta", lang="en", group="real", real="share_60plus")  # a link made before
    assert older.segmented_control(key="map_mode").value == "real" and older.selectbox(key="real_layer").value == "share_60plus"
    assert "group" not in older.query_params and older.query_params["layer"] == "real"
    from ui import cached, data

    png = cached.real_map_png(data.built(), "indirect_internet", "en", None, "Internet use, modelled from published rates")
    assert png[:8] == b"\x89PNG\r\n\x1a\n"


def test_bad_query_params_fall_back_to_defaults(make_app, dashboard_data):
    at = make_app(dashboard_data, lang="fr", indicator="nope", kel="99.99.99.9999")
    no_exception(at)
    assert at.query_params["lang"] == "id" and at.query_params["indicator"] == "hh_internet"
    assert "kel" not in at.query_params


def test_compare_shows_each_kelurahan_against_the_city(make_app, dashboard_data):
    gaps = table(dashboard_data, "gaps")
    at = make_app(dashboard_data, lang="en", indicator="hh_internet")
    go(at, "bandingkan")
    gedong = "31.75.05.1001"
    at.multiselect(key="cmp_kel").set_value([TENGAH, gedong]).run()
    no_exception(at)
    shown = at.dataframe[0].value
    assert shown[t("en", "common.kelurahan")].tolist() == ["Tengah", "Gedong"]
    g = gaps[(gaps["indicator_id"] == "hh_internet") & (gaps["kode_kemendagri"] == TENGAH) & (gaps["vs"] == "city")].iloc[0]
    assert shown[t("en", "compare.col_gap")].iloc[0] == fmt.format_points(g["diff"], "en")
    bars = specs(at)[0]["data"]  # one trace per area: the chosen kelurahan in order, then the city
    assert [b["name"] for b in bars] == ["Tengah", "Gedong", t("en", "common.city")]
    estimates = table(dashboard_data, "estimates")
    city = estimates[(estimates["indicator_id"] == "hh_internet") & (estimates["level"] == "city") & estimates["domain_var"].isna()].iloc[0]
    assert bars[-1]["x"] == [pytest.approx(city["estimate"])]


def test_model_page_forest_plot_equals_the_odds_ratios(make_app, dashboard_data):
    path = dashboard_data / "processed" / "model_odds_ratios.parquet"
    at = make_app(dashboard_data, lang="en")
    go(at, "model")
    no_exception(at)
    assert path.exists()  # the full build fits the access models
    odds = pd.read_parquet(path)
    model = odds["model"].iloc[0]
    expected = odds[(odds["model"] == model) & (odds["variable"] != "Intercept") & odds["odds_ratio"].notna()]
    forest = specs(at)[0]["data"][0]
    assert forest["x"] == pytest.approx(expected["odds_ratio"].tolist(), rel=1e-9)
    assert specs(at)[0]["layout"]["xaxis"]["type"] == "log"


def test_model_page_marginal_effects_in_points_reference_groups_and_a_readable_fit(make_app, dashboard_data):
    effects = pd.read_parquet(dashboard_data / "processed" / "model_marginal_effects.parquet")
    fit = pd.read_parquet(dashboard_data / "processed" / "model_fit.parquet")
    at = make_app(dashboard_data, lang="en")
    go(at, "model")
    no_exception(at)
    model = effects["model"].iloc[0]
    expected = effects[(effects["model"] == model) & effects["ame"].notna()]
    ame = next(s for s in specs(at) if s["layout"]["xaxis"]["title"]["text"].startswith("Change in probability"))
    # the axis says percentage points, so the points are: 100 x the table's proportions
    assert ame["data"][0]["x"] == pytest.approx((100 * expected["ame"]).tolist(), rel=1e-9)
    assert "Income (expenditure quintile): Q2 vs Q1 (poorest 20%)" in ame["data"][0]["y"]  # reference group named
    table = at.table[0].value
    n = int(fit.loc[fit["model"] == model, "n"].iloc[0])
    weighted = round(float(fit.loc[fit["model"] == model, "weighted_n"].iloc[0]))
    assert table.loc["Respondents (unweighted n)"].iloc[0] == f"{n:,}"
    assert table.loc["Weighted population"].iloc[0] == f"{weighted:,}"  # whole people, no decimals
    assert not any("_" in str(label) for label in table.index)  # measures in words, not column names


def test_data_page_offers_every_table_with_provenance(make_app, dashboard_data):
    package = json.loads((dashboard_data / "processed" / "datapackage.json").read_text())
    names = {r["path"].rsplit(".", 1)[0] for r in package["resources"] if "/" not in r["path"] and r["format"] != "geojson"}
    at = make_app(dashboard_data, lang="en")
    go(at, "data")
    no_exception(at)
    keys = {b.key for b in at.download_button}
    assert {"dl_zip", "dl_datapackage", "dl_codebook"} <= keys
    for name in names:
        assert f"dl_csv_{name}" in keys and f"dl_parquet_{name}" in keys
    assert "dl_geojson_boundaries_kelurahan" in keys
    text = "\n".join(m.value for m in at.markdown)
    assert "Licence: MIT" in text  # boundaries
    assert "SYNTHETIC" in " ".join(e.label for e in at.expander)
    assert any(k.startswith("dl_akses_digital_jakarta_synthetic.xlsx") for k in keys)  # the demo export, to try the upload


def test_methodology_states_the_design_of_this_build(make_app, dashboard_data):
    households = table(dashboard_data, "survey_households")
    at = make_app(dashboard_data, lang="en")
    go(at, "metodologi")
    no_exception(at)
    persons = table(dashboard_data, "survey_persons")
    text = "\n".join(m.value for m in at.markdown)
    counts = [len(households), len(persons), households["stratum"].nunique(), households["psu"].nunique(), households["kode_kemendagri"].nunique()]
    assert "This build: {} households, {} persons, {} strata, {} PSUs, in {} kelurahan.".format(*(fmt.format_int(n, "en") for n in counts)) in text
    assert "fewer than 30" in text and "50%" in text


def test_compare_decomposition_shows_whole_names_and_says_it_has_no_intervals(make_app, dashboard_data):
    """The decomposition table names each kelurahan in full (the register's name, in a column wide enough for
    it) and its caption says the parts are point estimates without intervals (the table has no SEs)."""
    dec = table(dashboard_data, "gap_decomposition")
    assert not any(c.endswith("_se") or c.startswith("ci_") for c in dec.columns)  # no intervals to show
    register = table(dashboard_data, "wilayah_register").set_index("kode_kemendagri")["kelurahan"]
    for lang in ("id", "en"):
        at = make_app(dashboard_data, page="bandingkan", lang=lang, kel=",".join(COMPARED), indicator="person_internet")
        no_exception(at)
        header = t(lang, "compare.decomp.kode_kemendagri")
        shown = next(df for df in at.dataframe if header in df.value.columns and t(lang, "compare.decomp.unexplained") in df.value.columns)
        names = shown.value[header].tolist()
        assert names and set(names) <= {register[c] for c in COMPARED}
        assert json.loads(shown.proto.columns)[header]["width"] == "large"
        assert any(t(lang, "common.decomposition_no_ci") in c.value for c in at.caption)


def test_a_page_that_ends_early_still_gets_the_share_box(make_app, empty_data):
    """With no build, the map and the profile end early ("not available"); the sidebar's share box, drawn after
    the page, is there all the same (it was missing: ``st.stop()`` refused every later element of the run)."""
    for page, slug in (("pages/peta.py", "peta"), ("pages/profil.py", "profil"), ("pages/model.py", "model")):
        at = make_app(empty_data, lang="en")
        at.switch_page(page).run()
        assert not at.exception, at.exception
        assert at.sidebar.code and f"/{slug}?" in at.sidebar.code[0].value, (page, [c.value for c in at.sidebar.code])


def test_the_profile_is_made_once_per_kelurahan_indicator_and_language(make_app, dashboard_data, monkeypatch):
    """A second visitor to the same profile (and a rerun) gets the figures and tables the first one's run made:
    the profile page made its table, seven plotly figures and its report on every run (~0.4 s of server CPU
    each), so 50 visitors took p95 33 s (bench/bench_load.py --page profil). The same numbers are drawn."""
    from analysis import figures

    made = []
    real = figures.estimate_bars
    monkeypatch.setattr(figures, "estimate_bars", lambda *a, **k: made.append(1) or real(*a, **k))
    first = make_app(dashboard_data, page="profil", lang="en", kel=TENGAH, indicator="person_internet")
    no_exception(first)
    assert made, "the first visit draws the profile's bar charts"
    n_first = len(made)
    second = make_app(dashboard_data, page="profil", lang="en", kel=TENGAH, indicator="person_internet")  # another session
    no_exception(second)
    assert len(made) == n_first  # nothing made again
    assert [c.proto.spec for c in second.get("plotly_chart")] == [c.proto.spec for c in first.get("plotly_chart")]
    assert second.dataframe[0].value.equals(first.dataframe[0].value)
    second.run()  # a rerun of the same view
    assert len(made) == n_first


@pytest.mark.parametrize("page,query,maker", [
    ("model", {}, "forest_plot"),
    ("bandingkan", {"kel": f"{TENGAH},31.71.01.1001"}, "estimate_bars"),
])
def test_a_second_session_on_the_same_view_makes_no_figure(make_app, dashboard_data, monkeypatch, page, query, maker):
    """The model and compare pages draw figures made once per view and process (``ui.cached``), not on every
    run (the profile: the test above); the second session is drawn with the same specs."""
    from analysis import figures

    made = []
    real = getattr(figures, maker)
    monkeypatch.setattr(figures, maker, lambda *a, **k: made.append(1) or real(*a, **k))
    first = make_app(dashboard_data, page=page, lang="en", indicator="person_internet", **query)
    no_exception(first)
    assert made
    n = len(made)
    second = make_app(dashboard_data, page=page, lang="en", indicator="person_internet", **query)
    no_exception(second)
    assert len(made) == n
    assert [c.proto.spec for c in second.get("plotly_chart")] == [c.proto.spec for c in first.get("plotly_chart")]


def element_types(at) -> list[str]:
    """The types of the elements a run drew, in order, containers left out (``at`` an AppTest)."""
    out = []

    def walk(node):
        children = getattr(node, "children", None)
        if children:
            for child in children.values():
                walk(child)
        elif node.type not in ("main", "sidebar", "event", "block"):
            out.append(node.type)

    walk(at._tree)
    return out


def test_the_load_benchmarks_skeleton_draws_what_the_map_page_draws(make_app, dashboard_data):
    """``bench/bench_load.py --apps skeleton`` stands for what Streamlit itself costs for the map page: it must
    keep drawing the same kinds of element, in the same order, as the page does (when the page changes, so
    must the skeleton, or the floor it measures is another page's)."""
    import sys

    from streamlit.testing.v1 import AppTest

    sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "bench"))
    import bench_load

    page = make_app(dashboard_data, page="peta", lang="en", indicator="hh_internet")
    no_exception(page)
    skeleton = AppTest.from_string(bench_load.SKELETON_APP, default_timeout=60).run()
    no_exception(skeleton)
    assert element_types(skeleton) == element_types(page)
    assert len(skeleton.sidebar.selectbox[1].options) == len(page.sidebar.selectbox(key="w_kel").options) == 267
