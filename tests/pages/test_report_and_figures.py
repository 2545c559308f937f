"""The printable profile (ui.report) and the figure factories (analysis.figures) outside Streamlit."""

import json

import pandas as pd

from analysis import figures
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


def test_choropleth_sends_each_feature_once_and_greys_missing_units():
    square = lambda x: {"type": "Polygon", "coordinates": [[[x, 0], [x + 1, 0], [x + 1, 1], [x, 1], [x, 0]]]}
    geo = {"type": "FeatureCollection", "features": [{"type": "Feature", "id": c, "properties": {}, "geometry": square(i)} for i, c in enumerate("abc")]}
    frame = pd.DataFrame({"kode_kemendagri": list("abc"), "value": [0.9, 0.5, None], "status": ["ok", "flag", "none"], "hover": list("xyz")})
    fig = figures.choropleth(geo, frame, separators=".,", legend_title="t", status_names={"ok": "ok", "flag": "flag", "none": "none"})
    spec = json.loads(fig.to_json())
    ids = [f["id"] for t in spec["data"] for f in t["geojson"]["features"]]
    assert sorted(ids) == ["a", "b", "c"]  # the GeoJSON is split across traces, never repeated
    assert spec["data"][1]["marker"]["line"]["width"] == 2.0  # flagged: thick outline
    assert spec["data"][2]["colorscale"][0][1] == figures.NO_ESTIMATE_GREY
    assert spec["layout"]["map"]["style"] == "white-bg"
    gap = figures.choropleth(geo, frame, separators=".,", legend_title="t", status_names={"ok": "ok", "flag": "flag", "none": "none"}, diverging=True)
    axis = json.loads(gap.to_json())["layout"]["coloraxis"]
    assert axis["cmid"] == 0 and axis["cmin"] == -axis["cmax"]


def test_png_export_button():
    config = figures.png_config("peta-hh_internet")
    assert config["toImageButtonOptions"] == {"format": "png", "filename": "peta-hh_internet", "scale": 2}
