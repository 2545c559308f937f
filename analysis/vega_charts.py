"""Vega-Lite chart specs (plain dicts) for the kelurahan map. Pages hand them to ``st.vega_lite_chart``; the
overview's charts are SVG written on the server (``svg_charts.py``: no chart JavaScript at all on the first
page a visitor opens), every other chart is plotly (``figures.py``).

Why not plotly for the map (measured with ``bench/bench_dashboard.py``, headless Chromium, 2 cores):
- plotly.js is a 4.7 MB bundle that every new browser tab parses (about 1.7 s here) before the first plotly
  chart appears; Streamlit's Vega bundle is 0.8 MB. Keeping plotly off the overview and the map keeps both
  first visits near a bare Streamlit app.
- plotly's offline map is maplibre, drawn with WebGL, which a machine without a GPU emulates in software
  (SwiftShader): seconds per map, and 20 tabs at once saturate the machine. Vega draws SVG (or canvas).

Rules, as in ``figures.py``:
- colour-blind-safe schemes: viridis for values, PuOr ("purpleorange") pinned at zero for gaps, Okabe-Ito for
  categories; grey for "no reliable estimate", never a colour of the scale;
- every title, legend name and tooltip label is an argument (copy lives in ``locales/``); numbers in tooltips
  are formatted by the caller, numbers on axes and legends follow ``locale(lang)`` (decimal comma in
  Indonesian);
- the projection is planar (``identity`` with ``reflectY``: longitude and latitude as x and y). At Jakarta's
  latitude (6 degrees south) that stretches east-west by 0.5%, which no reader can see, and it needs none of
  d3's spherical clipping or ring-winding rules. The projection is fitted to one bounding box computed here:
  Vega's own fit concatenates the features one by one (quadratic: 9 s of the 12 s a 7,509-desa map took).
"""

from __future__ import annotations

import json
import math

from analysis.figures import DIVERGING, FLAG_OUTLINE, NO_ESTIMATE_GREY, OKABE_ITO

SELECTED_OUTLINE = OKABE_ITO[5]  # vermillion, distinct from every viridis and PuOr colour
PICK = "pick"  # the map's click selection: Streamlit returns {"selection": {"pick": [{"kode": ...}]}}
_SCHEME = {"viridis": "viridis", DIVERGING: "purpleorange"}
_NUMBER_LOCALE = {
    "id": {"decimal": ",", "thousands": ".", "grouping": [3], "currency": ["Rp", ""]},
    "en": {"decimal": ".", "thousands": ",", "grouping": [3], "currency": ["Rp", ""]},
}
_FONT = "Source Sans, Liberation Sans, Arial, sans-serif"


def locale(lang: str) -> dict:
    """Vega's number locale for ``lang``: axis ticks and legend labels use it."""
    return {"number": _NUMBER_LOCALE[lang]}


def _config(lang: str, aria: bool = True) -> dict:
    return {
        "locale": locale(lang),
        "font": _FONT,
        "view": {"stroke": None},
        "aria": aria,
        "legend": {"labelFontSize": 12, "titleFontSize": 12, "orient": "right"},
        "axis": {"labelFontSize": 12, "titleFontSize": 12},
    }


# --- the map ----------------------------------------------------------------------------------------------


def _points(coords):
    """Every position of a GeoJSON ``coordinates`` array, however deeply nested."""
    if coords and isinstance(coords[0], (int, float)):
        yield coords
    else:
        for c in coords:
            yield from _points(c)


def _bounds(geometries) -> tuple[float, float, float, float]:
    xs, ys = [], []
    for g in geometries:
        for p in _points(g["coordinates"]):
            xs.append(p[0])
            ys.append(p[1])
    return min(xs), min(ys), max(xs), max(ys)


def _box(x0: float, y0: float, x1: float, y1: float) -> dict:
    return {"type": "Polygon", "coordinates": [[[x0, y0], [x1, y0], [x1, y1], [x0, y1], [x0, y0]]]}


def _disc(cx: float, cy: float, r: float, sides: int = 24) -> dict:
    ring = [[round(cx + r * math.cos(2 * math.pi * i / sides), 5), round(cy + r * math.sin(2 * math.pi * i / sides), 5)] for i in range(sides)]
    return {"type": "Polygon", "coordinates": [ring + [ring[0]]]}


def _inset(features: list[dict], inset_prefix: str | None):
    """Draw the areas whose code starts with ``inset_prefix`` as discs in a framed box west of the others.

    Kepulauan Seribu lies 20 to 150 km out to sea north of mainland Jakarta, and its kelurahan are scatters
    of islets a few hundred metres across: drawn where and as they are, the mainland would shrink to a third
    of the map and the islands would be specks nobody can hover or click. Like BPS's maps of DKI, they go into
    an inset: each kelurahan a disc at its place scaled into a box 0.6 times as tall as the mainland, so they keep their
    north-south order, can be read by colour and clicked. The tooltip names the kelurahan. Returns the
    features (discs where inset) and the inset's frame (or None).
    """
    if not inset_prefix:
        return features, None
    inside = [f for f in features if str(f["kode"]).startswith(inset_prefix)]
    outside = [f for f in features if not str(f["kode"]).startswith(inset_prefix)]
    if not inside or not outside:
        return features, None
    mx0, my0, mx1, my1 = _bounds(f["geometry"] for f in outside)
    centres = {}
    for f in inside:
        x0, y0, x1, y1 = _bounds([f["geometry"]])
        centres[id(f)] = ((x0 + x1) / 2, (y0 + y1) / 2)
    cx0, cy0 = min(c[0] for c in centres.values()), min(c[1] for c in centres.values())
    cx1, cy1 = max(c[0] for c in centres.values()), max(c[1] for c in centres.values())
    height = my1 - my0
    r = 0.035 * height
    k = (0.6 * height - 2 * r) / max(cy1 - cy0, 1e-9)
    pad = 0.04 * height
    width = (cx1 - cx0) * k + 2 * r
    left = mx0 - 3 * pad - width  # the box's west edge: one ``pad`` of sea between the box and the mainland
    top = my1

    def place(c):
        return left + pad + r + (c[0] - cx0) * k, top - pad - r - (cy1 - c[1]) * k

    moved = {id(f): {**f, "geometry": _disc(*place(centres[id(f)]), r)} for f in inside}
    frame = _box(left, top - 2 * pad - (cy1 - cy0) * k - 2 * r, left + width + 2 * pad, top)
    return [moved.get(id(f), f) for f in features], frame


def _drawn_features(geojson: dict, inset_prefix: str | None) -> tuple[list[dict], dict | None]:
    """``[{"kode", "geometry"}]`` as drawn (Kepulauan Seribu moved into the inset) and the inset's frame."""
    features = []
    for f in geojson["features"]:
        code = f.get("id") or (f.get("properties") or {}).get("kode_kemendagri")
        features.append({"kode": str(code), "geometry": f["geometry"]})
    return _inset(features, inset_prefix)


def map_geometry(geojson: dict, inset_prefix: str | None = None, places: dict[str, tuple[str, str]] | None = None) -> dict:
    """The areas exactly as ``choropleth`` draws them, as a GeoJSON FeatureCollection (``id`` = the area's code,
    the inset's discs in place of its areas): the file a map spec loads with ``geometry_url``.

    ``places``: ``{code: (name, where)}``, each area's name and where it is (e.g. kecamatan and kota), kept as
    the feature's properties ``n`` and ``w``; a ``choropleth`` with ``place_titles`` shows them in its tooltip
    and aria label from here, so a spec does not repeat them on every script run (they were ~43 KB of the
    map's ~73 KB spec; issue 16). Without ``places`` a feature has no properties.

    Deterministic: the same ``geojson`` gives the same collection, so its serialisation can name the file by
    its hash. Features whose ``id`` is missing are read by ``properties.kode_kemendagri`` (the boundaries
    stage's web copy and the embedded default carry it there).
    """
    features, _ = _drawn_features(geojson, inset_prefix)
    return {"type": "FeatureCollection", "features": _features(features, places)}


def _features(features: list[dict], places: dict[str, tuple[str, str]] | None) -> list[dict]:
    out = []
    for f in features:
        place = (places or {}).get(f["kode"])
        props = {"n": place[0], "w": place[1]} if place else {}
        out.append({"type": "Feature", "id": f["kode"], "properties": props, "geometry": f["geometry"]})
    return out


def _place_expressions(place_titles: tuple[str, str]) -> list[dict]:
    """Vega-Lite ``calculate`` transforms that put the looked-up feature's name and place (``map_geometry``'s
    ``places``) first in each row's tooltip, and its name and code in its aria label. An area without them
    (a feature with no properties) keeps its tooltip and is labelled by its code."""
    name_title, where_title = (json.dumps(t, ensure_ascii=False) for t in place_titles)
    props = "(datum.geo && datum.geo.properties || {})"
    return [
        {"calculate": f"{props}.n ? merge({{{name_title}: {props}.n, {where_title}: {props}.w}}, datum.tooltip) : datum.tooltip",
         "as": "tooltip"},
        {"calculate": f"{props}.n ? {props}.n + ' (' + datum.kode + ')' : datum.kode", "as": "label"},
    ]


def _geometry_source(geometry_url: str | None, features: list[dict], places: dict[str, tuple[str, str]] | None) -> dict:
    if geometry_url:
        return {"url": geometry_url, "format": {"type": "json", "property": "features"}}
    return {"values": _features(features, places)}


def choropleth(
    geojson: dict,
    frame,
    *,
    lang: str,
    legend_title: str,
    no_estimate_name: str,
    diverging: bool = False,
    value_range: tuple[float, float] | None = None,
    value_format: str = ".0%",
    legend_label_expr: str | None = None,
    selected: str | None = None,
    inset_prefix: str | None = None,
    inset_label: str | None = None,
    geometry_url: str | None = None,
    place_titles: tuple[str, str] | None = None,
    places: dict[str, tuple[str, str]] | None = None,
    height: int = 560,
    renderer: str = "svg",
    aria: bool = True,
) -> dict:
    """A Vega-Lite choropleth of every area in ``geojson`` (features carry ``id`` = kode_kemendagri).

    ``frame`` has one row per area: ``kode_kemendagri``, ``value`` (the number coloured), ``status`` one of
    "ok", "flag" (RSE 25-50%: thick black outline), "none" (suppressed or not sampled: grey, named
    ``no_estimate_name`` in the legend), ``tooltip``: a dict of title -> pre-formatted text, shown as a
    two-column table on hover, and optionally ``name`` (the area's accessible label, with its code). An area
    in ``geojson`` with no row is drawn grey, its code as the tooltip.

    The spec's data are the values only, one row per area (``kode, status, value, tooltip, label``); each
    row gets its shape by a ``lookup`` transform on the code into the geometry (the Vega-Lite "lookup" of a
    secondary data source, drawn through the ``shape`` channel of type ``geojson``). With ``geometry_url`` the
    geometry is loaded from that URL (``map_geometry(geojson, inset_prefix)`` serialised: a static file the
    browser fetches once and caches, instead of 150 KB re-sent with every script run); without it the
    geometry is inline in the lookup (a self-contained spec, e.g. for ``to_png``).

    ``place_titles`` (e.g. ("Kelurahan", "Kecamatan")): the two tooltip entries that name an area are taken
    from the geometry (``map_geometry(..., places)``, or ``places`` for inline geometry) instead of each row:
    they are dropped from the rows' tooltips, and the tooltip and the aria label are put together in the
    browser (``_place_expressions``). Same tooltip, same order, ~40% fewer bytes per spec.

    A click selects an area (selection parameter ``PICK`` over the field ``kode``); ``selected`` outlines one
    area in vermillion. ``value_format`` is the legend's d3 format, or ``legend_label_expr`` a Vega expression
    for its labels (e.g. gaps in percentage points). ``diverging`` uses PuOr centred on zero (gaps against the city) over a range
    symmetric around zero; otherwise viridis over ``value_range`` (default: the values' range).
    ``renderer`` "canvas" and ``aria`` False are for very large maps (thousands of areas).
    """
    rows = {str(r["kode_kemendagri"]): r for r in frame.to_dict("records")}
    features, inset_frame = _drawn_features(geojson, inset_prefix)
    values = []
    for f in features:
        code = f["kode"]
        r = rows.get(code, {})
        status = r.get("status", "none")
        value = r.get("value")
        value = None if status == "none" or value is None or (isinstance(value, float) and math.isnan(value)) else round(float(value), 5)
        tooltip = r.get("tooltip") or {"": code}
        if place_titles:
            values.append({"kode": code, "status": status, "value": value,
                           "tooltip": {k: v for k, v in tooltip.items() if k not in place_titles}})
        else:
            values.append({"kode": code, "status": status, "value": value,
                           "tooltip": tooltip, "label": f"{r['name']} ({code})" if r.get("name") else code})

    valued = [v["value"] for v in values if v["value"] is not None]
    if diverging:
        bound = max([abs(v) for v in valued] + ([abs(x) for x in value_range] if value_range else [])) or 0.01
        domain = [-bound, bound]
        scale = {"scheme": _SCHEME[DIVERGING], "domain": domain, "domainMid": 0}
    else:
        lo, hi = value_range if value_range else ((min(valued), max(valued)) if valued else (0.0, 1.0))
        domain = [lo, hi] if hi > lo else [lo - 0.01, hi + 0.01]
        scale = {"scheme": "viridis", "domain": domain}

    drawn = [f["geometry"] for f in features] + ([inset_frame] if inset_frame else [])
    x0, y0, x1, y1 = _bounds(drawn)
    fit = {"type": "Feature", "properties": {}, "geometry": _box(x0, y0, x1, y1)}
    thin = {"stroke": "#ffffff", "strokeWidth": 0.5}
    shape = {"shape": {"field": "geo", "type": "geojson"}}
    layers = [
        {  # no reliable estimate: grey, with its own legend entry
            "transform": [{"filter": "datum.status === 'none'"}],
            "mark": {"type": "geoshape", **thin},
            "encoding": {**shape, "color": {"datum": no_estimate_name, "type": "nominal", "scale": {"domain": [no_estimate_name], "range": [NO_ESTIMATE_GREY]}, "legend": {"title": None, "symbolType": "square"}}},
        },
        {  # values: viridis or PuOr; flagged areas get a thick black outline
            "transform": [{"filter": "datum.status !== 'none'"}],
            "mark": {"type": "geoshape"},
            "encoding": {
                **shape,
                "color": {"field": "value", "type": "quantitative", "scale": scale,
                          "legend": {"title": legend_title, "format": value_format, "gradientLength": 220, **({"labelExpr": legend_label_expr} if legend_label_expr else {})}},
                "stroke": {"condition": {"test": "datum.status === 'flag'", "value": FLAG_OUTLINE}, "value": "#ffffff"},
                "strokeWidth": {"condition": {"test": "datum.status === 'flag'", "value": 1.8}, "value": 0.5},
            },
        },
    ]
    if selected and any(f["kode"] == selected for f in features):
        layers.append({
            "transform": [{"filter": {"field": "kode", "equal": selected}}],
            "mark": {"type": "geoshape", "fill": None, "filled": False, "stroke": SELECTED_OUTLINE, "strokeWidth": 3.5},
            "encoding": shape,
        })
    layers.append({  # on top: transparent shapes that carry the tooltip and the click for every area
        "mark": {"type": "geoshape", "fill": "#ffffff", "fillOpacity": 0, "strokeOpacity": 0, "cursor": "pointer"},
        "params": [{"name": PICK, "select": {"type": "point", "fields": ["kode"], "on": "click", "clear": "dblclick"}}],
        # ``description`` is each shape's aria-label (SVG renderer): screen readers and tests find areas by it
        "encoding": {**shape, "tooltip": {"field": "tooltip", "type": "nominal"}, "description": {"field": "label", "type": "nominal"}},
    })
    if inset_frame:
        layers.append({
            "data": {"values": [{"type": "Feature", "geometry": inset_frame}]},
            "mark": {"type": "geoshape", "fill": None, "filled": False, "stroke": "#888888", "strokeWidth": 1, "strokeDash": [4, 3]},
        })
        if inset_label:
            fx0, _, _, fy1 = _bounds([inset_frame])
            layers.append({
                "data": {"values": [{"x": fx0, "y": fy1}]},
                "mark": {"type": "text", "align": "left", "baseline": "bottom", "dy": -3, "fontSize": 11, "color": "#555555"},
                "encoding": {"longitude": {"field": "x", "type": "quantitative"}, "latitude": {"field": "y", "type": "quantitative"}, "text": {"value": inset_label}},
            })
    return {
        "$schema": "https://vega.github.io/schema/vega-lite/v6.json",
        "usermeta": {"embedOptions": {"renderer": renderer}},
        "width": "container",
        "height": height,
        "data": {"values": values},
        # every row's shape: the feature whose ``id`` is the row's code (all rows have one: both come from ``geojson``)
        "transform": [{"lookup": "kode", "from": {"data": _geometry_source(geometry_url, features, places), "key": "id"}, "as": "geo"},
                      *(_place_expressions(place_titles) if place_titles else [])],
        "projection": {"type": "identity", "reflectY": True, "fit": fit},
        "layer": layers,
        "resolve": {"scale": {"color": "independent"}},
        "config": _config(lang, aria),
    }


def inline_geometry(spec: dict, geometry: dict) -> dict:
    """``spec`` (a ``choropleth`` with ``geometry_url``) with the geometry inline instead (``geometry`` =
    ``map_geometry(...)``): for renderers with no server to fetch the URL from (``to_png``)."""
    lookup = spec["transform"][0]
    inline = {**lookup, "from": {**lookup["from"], "data": {"values": geometry["features"]}}}
    return {**spec, "transform": [inline, *spec["transform"][1:]]}


def selected_code(event) -> str | None:
    """The kode_kemendagri clicked on a ``choropleth`` map, from ``st.vega_lite_chart(on_select="rerun")``."""
    try:
        picked = event["selection"][PICK]
    except (KeyError, TypeError):
        return None
    if isinstance(picked, dict):
        picked = [picked]
    for p in picked or []:
        code = p.get("kode") if isinstance(p, dict) else None
        if code:
            return str(code)
    return None


# --- a chart as a file of its own -------------------------------------------------------------------------------


def to_png(spec: dict, title: str, *, width: int = 900, scale: float = 2.0) -> bytes:
    """The chart as a PNG with its title, rendered offline on the server (vl-convert: the Vega project's own
    renderer, no browser). The chart toolbar's PNG is named by Streamlit ``<timestamp>_chart.png`` whatever
    the chart shows (hard-coded in 1.67's frontend); this one is downloaded under a name that says what it is."""
    import copy

    import vl_convert

    out = copy.deepcopy(spec)
    out["title"] = {"text": title, "anchor": "start", "fontSize": 15}
    if out.get("width") == "container":
        out["width"] = width
    return vl_convert.vegalite_to_png(out, scale=scale)


def file_slug(*parts: str) -> str:
    """``file_slug("peta", "hh_internet", "sae")`` -> ``peta-hh_internet-sae``: letters, digits, _ and -."""
    import re

    return "-".join(re.sub(r"[^A-Za-z0-9_]+", "_", str(p)).strip("_") for p in parts if p)
