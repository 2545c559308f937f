"""The printable profile (ui.report) and the figure factories (analysis.figures) outside Streamlit."""

import itertools
import json

import pandas as pd
import shapely.geometry

from analysis import figures, vega_charts
from ui import report


def test_profile_html_is_self_contained_escaped_and_warns_synthetic():
    table = pd.DataFrame({"Indicator": ["<script>x</script>"], "Kelurahan": ["95.4% (93.1–97.2)"]})
    html = report.profile_html("Kelurahan Tengah", "Kecamatan **Kramat Jati**", "en", table, None, ["note"], "footer", warning="SYNTHETIC DATA").decode()
    assert html.startswith("<!DOCTYPE html>") and '<html lang="en">' in html
    assert "<script>" not in html and "&lt;script&gt;" in html  # no script, values escaped
    assert "<b>Kramat Jati</b>" in html
    assert "SYNTHETIC DATA" in html and "95.4% (93.1–97.2)" in html
    assert "http" not in html  # opens offline: no external resource


def test_figures_set_template_and_colours_explicitly():
    frame = pd.DataFrame({"label": ["A", "B"], "estimate": [0.5, 0.7], "ci_low": [0.4, 0.6], "ci_high": [0.6, 0.8], "hover": ["a", "b"]})
    fig = figures.estimate_bars(frame, separators=",.", x_title="x", reference=0.6, reference_name="city")
    spec = json.loads(fig.to_json())
    assert spec["layout"]["template"]["layout"]["paper_bgcolor"] == "white"  # plotly_white, not "streamlit"
    assert spec["layout"]["separators"] == ",."
    assert spec["data"][0]["marker"]["color"] == figures.OKABE_ITO[0]
    assert spec["data"][0]["textposition"] == "none"
    assert spec["data"][0]["error_x"]["array"] == [0.1, 0.1] or all(abs(a - 0.1) < 1e-9 for a in spec["data"][0]["error_x"]["array"])


def _square(x, y=0.0, size=1.0):
    return {"type": "Polygon", "coordinates": [[[x, y], [x + size, y], [x + size, y + size], [x, y + size], [x, y]]]}


def test_choropleth_sends_each_feature_once_and_greys_missing_units():
    geo = {"type": "FeatureCollection", "features": [{"type": "Feature", "id": c, "properties": {}, "geometry": _square(i)} for i, c in enumerate("abcd")]}
    frame = pd.DataFrame({"kode_kemendagri": list("abc"), "value": [0.9, 0.5, 0.7], "status": ["ok", "flag", "none"],
                          "tooltip": [{"Kelurahan": k} for k in "xyz"]})
    spec = vega_charts.choropleth(geo, frame, lang="id", legend_title="t", no_estimate_name="Tidak ada")
    values = {f["kode"]: f for f in spec["data"]["values"]}
    assert [f["kode"] for f in spec["data"]["values"]] == list("abcd")  # every area once, in one data set
    assert values["c"]["value"] is None and values["c"]["status"] == "none"  # suppressed: the number is not sent
    assert values["d"]["status"] == "none" and values["d"]["tooltip"] == {"": "d"}  # no row: grey, code shown
    assert values["a"]["tooltip"] == {"Kelurahan": "x"}
    assert all("geometry" not in v for v in spec["data"]["values"])  # values only; shapes by the lookup on the code
    lookup = spec["transform"][0]
    assert lookup["lookup"] == "kode" and lookup["from"]["key"] == "id" and lookup["as"] == "geo"
    assert [f["id"] for f in lookup["from"]["data"]["values"]] == list("abcd")  # no URL: the geometry inline
    assert all(layer["encoding"]["shape"] == {"field": "geo", "type": "geojson"} for layer in spec["layer"] if layer["mark"]["type"] == "geoshape")
    grey = spec["layer"][0]["encoding"]["color"]
    assert grey["scale"]["range"] == [figures.NO_ESTIMATE_GREY] and grey["scale"]["domain"] == ["Tidak ada"]
    colour = spec["layer"][1]["encoding"]
    assert colour["color"]["scale"] == {"scheme": "viridis", "domain": [0.5, 0.9]}
    assert colour["strokeWidth"]["condition"] == {"test": "datum.status === 'flag'", "value": 1.8}  # flagged: thick outline
    assert spec["config"]["locale"]["number"]["decimal"] == ","
    assert spec["projection"]["type"] == "identity" and spec["projection"]["fit"]["geometry"]["coordinates"][0][0] == [0, 0]
    hit = spec["layer"][-1]
    assert hit["params"][0]["name"] == vega_charts.PICK and hit["params"][0]["select"]["fields"] == ["kode"]
    gap = vega_charts.choropleth(geo, frame, lang="en", legend_title="t", no_estimate_name="none", diverging=True)
    scale = gap["layer"][1]["encoding"]["color"]["scale"]
    assert scale["domainMid"] == 0 and scale["domain"] == [-0.9, 0.9] and scale["scheme"] == "purpleorange"


def test_choropleth_with_a_geometry_url_sends_values_only_and_the_file_matches_the_inline_geometry():
    geo = {"type": "FeatureCollection", "features": [{"type": "Feature", "id": c, "properties": {}, "geometry": _square(i)} for i, c in enumerate("abcd")]}
    frame = pd.DataFrame({"kode_kemendagri": list("abcd"), "value": [0.9, 0.5, 0.7, 0.6], "status": ["ok"] * 4, "tooltip": [{}] * 4})
    inline = vega_charts.choropleth(geo, frame, lang="en", legend_title="t", no_estimate_name="none", selected="b")
    by_url = vega_charts.choropleth(geo, frame, lang="en", legend_title="t", no_estimate_name="none", selected="b", geometry_url="app/static/g.json")
    assert by_url["transform"][0]["from"]["data"] == {"url": "app/static/g.json", "format": {"type": "json", "property": "features"}}
    assert "coordinates" not in json.dumps(by_url["data"]) and by_url["layer"] == inline["layer"]  # the same drawing
    geometry = vega_charts.map_geometry(geo)
    assert geometry["features"] == inline["transform"][0]["from"]["data"]["values"]  # the file is what inline draws
    assert vega_charts.inline_geometry(by_url, geometry) == inline  # the PNG's self-contained spec
    # the embedded default and the boundaries stage's web copy carry the code as a property, not as ``id``
    as_property = {"type": "FeatureCollection", "features": [{"type": "Feature", "properties": {"kode_kemendagri": f["id"]}, "geometry": f["geometry"]} for f in geo["features"]]}
    assert vega_charts.map_geometry(as_property) == geometry


def test_choropleth_inset_draws_far_areas_as_discs_in_a_frame_beside_the_others():
    mainland = [{"type": "Feature", "id": f"31.71.0{i}", "properties": {}, "geometry": _square(106.7 + 0.1 * i, -6.3, 0.1)} for i in range(3)]
    islands = [{"type": "Feature", "id": f"31.01.0{i}", "properties": {}, "geometry": _square(106.5, -5.9 + 0.3 * i, 0.01)} for i in range(3)]
    geo = {"type": "FeatureCollection", "features": mainland + islands}
    frame = pd.DataFrame({"kode_kemendagri": [f["id"] for f in geo["features"]], "value": [0.5] * 6, "status": ["ok"] * 6, "tooltip": [{}] * 6})
    spec = vega_charts.choropleth(geo, frame, lang="en", legend_title="t", no_estimate_name="none", inset_prefix="31.01", inset_label="Kep. Seribu")
    drawn = {f["id"]: f["geometry"] for f in spec["transform"][0]["from"]["data"]["values"]}
    assert drawn["31.71.00"] == mainland[0]["geometry"]  # the mainland is untouched
    discs = [shapely.geometry.shape(drawn[f"31.01.0{i}"]) for i in range(3)]
    box = shapely.geometry.shape(next(layer["data"]["values"][0]["geometry"] for layer in spec["layer"] if layer.get("data") and layer["mark"]["type"] == "geoshape"))
    assert all(box.contains(d) for d in discs)  # inside the frame
    assert box.bounds[2] < 106.7  # west of the mainland
    assert [d.centroid.y for d in discs] == sorted(d.centroid.y for d in discs)  # north-south order kept
    assert all(not a.intersects(b) for a, b in itertools.combinations(discs, 2))
    assert len(set(round(d.area, 9) for d in discs)) == 1  # every island kelurahan equally visible


def test_png_export_button():
    config = figures.png_config("peta-hh_internet")
    assert config["toImageButtonOptions"] == {"format": "png", "filename": "peta-hh_internet", "scale": 2}
