"""The map's tooltips name each kelurahan from the static geometry (issue 16): the spec of a run carries only
values, and the browser puts the name and place back in front of them. Checked by rendering with vl-convert
(the Vega project's own renderer, the one ``vega_charts.to_png`` uses), not by reading the spec."""

from __future__ import annotations

import re

import pandas as pd

from analysis import vega_charts
from ui.views import map as map_view

# Three kelurahan of the Kemendagri register (codes and names as in analysis/embedded/
# dki_bps_kemendagri_crosswalk.csv, upper case there; kecamatan as in the build's register): Gambir and Cideng
# in Kecamatan Gambir, Jakarta Pusat; Tengah in Kramat Jati, Jakarta Timur.
REGISTER = pd.DataFrame({
    "kode_kemendagri": ["31.71.01.1001", "31.71.01.1002", "31.75.04.1002"],
    "kelurahan": ["Gambir", "Cideng", "Tengah"],
    "kecamatan": ["Gambir", "Gambir", "Kramat Jati"],
    "kab_kota_short": ["Jakarta Pusat", "Jakarta Pusat", "Jakarta Timur"],
})
TITLES = ("Kelurahan", "Kecamatan")


def _square(x: float) -> dict:
    return {"type": "Polygon", "coordinates": [[[x, 0], [x + 1, 0], [x + 1, 1], [x, 1], [x, 0]]]}


GEO = {"type": "FeatureCollection", "features": [
    {"type": "Feature", "id": code, "properties": {}, "geometry": _square(i * 2)} for i, code in enumerate(REGISTER["kode_kemendagri"])]}


def _frame() -> pd.DataFrame:
    # the tooltips as map_frame writes them: name and place first, then the value
    return pd.DataFrame({
        "kode_kemendagri": list(REGISTER["kode_kemendagri"]), "value": [0.9, 0.5, 0.7], "status": ["ok"] * 3,
        "tooltip": [{"Kelurahan": n, "Kecamatan": f"{k}, {w}", "Value": v}
                    for n, k, w, v in zip(REGISTER["kelurahan"], REGISTER["kecamatan"], REGISTER["kab_kota_short"], ["90%", "50%", "70%"])],
        "name": list(REGISTER["kelurahan"]),
    })


def test_places_are_the_names_the_tooltips_show():
    assert map_view.places(REGISTER) == {
        "31.71.01.1001": ("Gambir", "Gambir, Jakarta Pusat"),
        "31.71.01.1002": ("Cideng", "Gambir, Jakarta Pusat"),
        "31.75.04.1002": ("Tengah", "Kramat Jati, Jakarta Timur"),
    }
    geometry = vega_charts.map_geometry(GEO, places=map_view.places(REGISTER))
    assert [f["properties"] for f in geometry["features"]][2] == {"n": "Tengah", "w": "Kramat Jati, Jakarta Timur"}


def test_the_spec_carries_no_names_and_the_rendered_map_has_them_back():
    import vl_convert

    places = map_view.places(REGISTER)
    spec = vega_charts.choropleth(GEO, _frame(), lang="en", legend_title="x", no_estimate_name="none",
                                  place_titles=TITLES, places=places)
    text = str(spec["data"])
    assert "Gambir" not in text and "Tengah" not in text and "label" not in spec["data"]["values"][0]
    assert spec["data"]["values"][0]["tooltip"] == {"Value": "90%"}
    # what the browser's tooltip shows, drawn as text so the renderer's output can be read: the looked-up
    # name, then the place, then the row's own entries
    spec["layer"].append({"mark": {"type": "text"}, "encoding": {
        "text": {"field": "tip_text", "type": "nominal"}, "x": {"value": 5}, "y": {"value": 5}},
        "transform": [{"calculate": "datum.tooltip['Kelurahan'] + ' / ' + datum.tooltip['Kecamatan'] + ' / ' + datum.tooltip['Value']",
                       "as": "tip_text"}]})
    spec["width"] = 300
    svg = vl_convert.vegalite_to_svg(spec)
    assert "Tengah / Kramat Jati, Jakarta Timur / 70%" in svg and "Gambir / Gambir, Jakarta Pusat / 90%" in svg
    # each shape's aria label: name and code, as before (screen readers and the browser tests find areas by it)
    assert set(re.findall(r'aria-label="(Tengah \(31\.75\.04\.1002\)|Cideng \(31\.71\.01\.1002\))"', svg)) == {
        "Tengah (31.75.04.1002)", "Cideng (31.71.01.1002)"}


def test_without_places_in_the_geometry_an_area_keeps_its_code():
    import vl_convert

    spec = vega_charts.choropleth(GEO, _frame(), lang="en", legend_title="x", no_estimate_name="none", place_titles=TITLES)
    spec["width"] = 300
    svg = vl_convert.vegalite_to_svg(spec)
    assert 'aria-label="31.75.04.1002"' in svg
