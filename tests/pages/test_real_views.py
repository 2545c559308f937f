"""ui/views/real.py: the real-data map layers, the profile's register table and the kota context table."""

from __future__ import annotations

import pytest

from tests.stages import run_stages
from ui import i18n
from ui.data import Built
from ui.views import real as real_view


@pytest.fixture(scope="module")
def built(raw_dir, manifest, tmp_path_factory):
    from analysis.etl import covariates, podes, population, published, registers
    from analysis.stats import indirect

    ctx = run_stages(raw_dir, manifest, tmp_path_factory.mktemp("proc"), registers, covariates, population, published,
                     podes, indirect)
    t = ctx.tables
    return Built(register=t["wilayah_register"].data, covariates=t["kelurahan_covariates"].data,
                 published=t["published_figures"].data, register_indicators=t["register_indicators"].data,
                 indirect=t["indirect_internet"].data, kota_context=t["kota_context"].data, root="x", version=1)


@pytest.mark.parametrize("lang", ["en", "id"])
def test_every_layer_has_a_value_and_a_sourced_tooltip_for_all_267(built, lang):
    t = i18n.translator(lang)
    assert real_view.available_layers(built) == list(real_view.REAL_LAYERS)
    for layer in real_view.REAL_LAYERS:
        frame = real_view.layer_frame(layer, built, lang, t)
        assert len(frame) == 267 and (frame["status"] == "ok").all(), layer
        assert all(t("real.source") in tip for tip in frame["tooltip"])
        assert len(real_view.layer_table(layer, built, lang, t)) == 267


def test_profile_compares_the_kelurahan_with_its_kota_and_the_city(built):
    t = i18n.translator("en")
    rows = real_view.profile_rows("31.75.04.1002", built, "en", t)  # Tengah, Kramat Jati
    assert len(rows) == 7
    assert rows.iloc[-1, 0].endswith("*")  # the modelled row is marked
    assert real_view.profile_rows("99.99.99.9999", built, "en", t) is None


def test_city_aggregates_use_the_right_denominators(built):
    agg = real_view._aggregate(built.register_indicators, built.covariates)
    cov = built.covariates
    assert agg["share_60plus"] == pytest.approx((cov["share_60plus"] * cov["population"]).sum() / cov["population"].sum())
    assert agg["mean_household_size"] == pytest.approx(cov["population"].sum() / cov["households"].sum())
    assert agg["population_change_2019_2024"] == pytest.approx(11_038_216 / cov["population"].sum() - 1)


def test_kota_table_shows_the_podes_counts(built):
    table = real_view.kota_table(built, "id", i18n.translator("id")).set_index("Kota/kabupaten")
    assert table.loc["Jakarta Pusat", "Kelurahan dengan menara BTS"] == "35 / 44"
    assert table.loc["Jakarta Timur", "Kelurahan dengan menara BTS"] == "61 / 65"
    assert table.loc["Jakarta Selatan", "Kelurahan dengan menara BTS"] == "65 / 65"


def test_overview_opens_on_the_longest_bps_series():
    import pandas as pd

    from ui.views import overview as overview_view

    bps = pd.DataFrame({
        "indicator": ["a", "a", "b", "b", "b"], "region_code": ["31"] * 5, "region_name": ["DKI Jakarta"] * 5,
        "level": ["province"] * 5, "year": [2019, 2022, 2015, 2016, 2017], "breakdown": ["total"] * 5,
        "value": [1.0] * 5, "unit": ["%"] * 5,
    })
    assert overview_view.longest_series(bps, ["a", "b"]) == 1
    assert overview_view.longest_series(None, ["a"]) == 0
