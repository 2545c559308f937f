"""AppTest of the real-data layers on the full build: the map's "Real data" layers, the profile's register
table, the overview's kota context table."""

from __future__ import annotations

import pytest

from tests.pages.test_app import (
    TENGAH,
    block_text,
    go,
    html_tables,
    map_values,
    no_exception,
    t,
    table,
    value_layer,
    vega_specs,
)


@pytest.mark.parametrize("lang", ["en", "id"])
def test_map_real_data_layers_are_offline_distinct_and_equal_the_tables(make_app, dashboard_data, lang):
    ind = table(dashboard_data, "register_indicators").set_index("kode_kemendagri")
    indirect = table(dashboard_data, "indirect_internet").set_index("kode_kemendagri")
    at = make_app(dashboard_data, lang=lang)
    go(at, "peta")
    at.segmented_control(key="map_mode").set_value("real").run()
    no_exception(at)
    for layer, expected in (("share_60plus", ind["share_60plus"]), ("indirect_internet", indirect["indirect_internet"])):
        at.selectbox(key="real_layer").set_value(layer).run()
        no_exception(at)
        spec = vega_specs(at)[0]
        drawn = map_values(spec)
        assert len(drawn) == 267 and all(v == pytest.approx(expected[c], abs=1e-5) for c, (v, _) in drawn.items())
        title = value_layer(spec)["encoding"]["color"]["legend"]["title"]
        prefix = t(lang, "real.legend_modelled" if layer == "indirect_internet" else "real.legend_real")
        assert title.startswith(prefix)
        assert "url" not in spec["data"]  # offline
        shown = block_text(at)  # the heading's block names the source and year
        assert t(lang, "real.caption_indirect" if layer == "indirect_internet" else "real.caption_register") in shown
        assert t(lang, "map.synthetic_layer") not in shown  # real data is not labelled synthetic
    assert t(lang, "real.assumption") in [i.value for i in at.info]


def test_profile_and_overview_show_the_real_tables(make_app, dashboard_data):
    at = make_app(dashboard_data, lang="en")
    at.sidebar.selectbox(key="w_kel").set_value(TENGAH).run()
    no_exception(at)
    real = at.table[0].value
    assert t("en", "real.layer.share_60plus") in set(real.iloc[:, 0])
    go(at, "ringkasan")
    no_exception(at)
    caption, kota = next((c, tb) for c, tb in html_tables(at) if t("en", "real.kota.bts") in tb.columns)
    kota = kota.set_index(kota.columns[0])
    assert kota.loc["Jakarta Pusat", t("en", "real.kota.bts")] == "35 / 44"
    assert caption == t("en", "real.kota_sources")
