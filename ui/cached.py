"""Every cache of built content: what a page shows, computed once per (inputs, language, build) and shared.

Why: Streamlit reruns the page on every widget change. The overview is the page every visitor opens first, and
shaping its numbers (the city summary, the readings with their contrasts, the BPS series joined with the
published figures) is about 0.4 s of pandas work; the map means joining the GeoJSON with the estimates and
formatting tooltips for 267 kelurahan before it is serialised. A first visit should not pay that, and 20
visitors arriving together should not pay it 20 times.

Keys are cheap: every function takes the build's bundle (``ui.data.Built``), hashed by its ``key`` (data
directory and build version, ``HASH_BUILT``), never by its frames, so a rebuild is shown at once.
``st.cache_data`` hands each caller a copy, so a page that tweaks a cached result (e.g. a figure's height)
cannot change the cached one. Vega-Lite specs are cached as JSON and parsed once per process into a dict
that every session shares read-only (``map_spec``), so Streamlit sees the same spec on every rerun (it
identifies a chart, and keeps its click selection, by the spec). What every run of every page asks for
(labels, the build report, the geometry's URL, the map specs) is a per-process dict lookup (``per_process``),
cheaper under load than an ``st.cache_*`` hit.
"""

from __future__ import annotations

import functools
import hashlib
import json
import os
import threading
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from types import MappingProxyType

import pandas as pd
import plotly.graph_objects as go
import streamlit as st

from analysis import config, html_tables, svg_charts, tables, upload, vega_charts
from analysis import formatting as fmt
from ui import banners, data, i18n
from ui.data import Built
from ui.views import common
from ui.views import map as map_view
from ui.views import overview as overview_view
from ui.views import profile as profile_view
from ui.views import real as real_view

HASH_BUILT = {Built: lambda b: b.key}
KEPULAUAN_SERIBU = "31.01"  # Kemendagri code of the kabupaten drawn in the map's inset
# The app's static files (``server.enableStaticServing``): ``static/`` beside ``dashboard.py``, served at
# ``app/static/<name>`` (a URL relative to the page, so it also works under a proxy's path prefix).
STATIC_DIR = Path(__file__).resolve().parent.parent / "static"
STATIC_URL = "app/static/"
GEOMETRY_MTIME = 946_684_800  # 2000-01-01T00:00:00Z: see ``_written_geometry``


# --- every page ------------------------------------------------------------------------------------------------


def per_process(memo: dict, key, make, limit: int = 4, lock: threading.Lock | None = None):
    """``memo[key]``, made by ``make()`` the first time in this process; ``memo`` keeps at most ``limit`` keys
    (older builds are dropped all at once). A plain dict lookup on a hit, cheaper under load than a
    ``st.cache_*`` hit (no hashing, no file-system call, no GIL hand-off). Without ``lock`` two sessions racing
    on a miss make equal values twice; with it (``make`` writes a file) only one makes it."""
    try:
        return memo[key]
    except KeyError:
        pass
    if lock is None:
        value = make()
    else:
        with lock:
            if key in memo:
                return memo[key]
            value = make()
    if len(memo) >= limit:
        memo.clear()
    memo[key] = value
    return value


_PER_BUILD_MEMOS: list[dict] = []  # every ``per_build`` function's memo (``clear_memos``)


def per_build(limit: int = 64):
    """Decorator: ``f(built, *args)`` made once per build and arguments in this process, then shared read-only
    by every session (``per_process``): for what a page draws on every run. An ``st.cache_data`` hit costs
    ~0.5 ms plus unpickling a copy of the value (a DataFrame: more), and under 50 sessions every call that
    releases the GIL waits to get it back; a dict lookup does neither. Callers must not change the value."""
    def wrap(f):
        memo: dict = {}
        _PER_BUILD_MEMOS.append(memo)

        @functools.wraps(f)
        def shared(built: Built, *args):
            return per_process(memo, (built.key, *args), lambda: f(built, *args), limit=limit)

        return shared

    return wrap


@per_build(limit=4)
def kelurahan_labels(built: Built) -> Mapping[str, str]:
    """The sidebar's kelurahan search options (``common.kelurahan_labels``), read-only: every run of every page
    asks for them. A sort of the register, built on every run before (~10 ms of a ~50 ms warm map run), then an
    ``st.cache_data`` hit (~0.5 ms: hashing, a pickled copy), now a dict lookup (issue 16)."""
    return MappingProxyType(common.kelurahan_labels(built.register))


@per_build(limit=4)
def indicator_ids(built: Built) -> list[str]:
    """The build's indicator ids in order (the sidebar's options). Shared: do not change the list."""
    return [] if built.indicators is None else list(built.indicators["indicator_id"])


@per_build(limit=8)
def indicator_labels(built: Built, lang: str) -> Mapping[str, str]:
    """``{indicator_id: label}`` in ``lang`` (``common.indicator_labels``), read-only. Every run of every page asks
    for them (the sidebar's indicator list, the page's heading)."""
    return MappingProxyType(common.indicator_labels(built.indicators, lang))


@per_build(limit=4)
def banner_inputs(built: Built) -> tuple[dict | None, dict[str, str]]:
    """The build report and the sources' titles for ``banners.render`` (shared, read only). The build's version is
    the report's modification time (``data.data_version``), so this is the report of ``built``; read every run
    before, a ``stat`` and an unpickled copy of the report per run."""
    return data.build_report(), data.manifest_titles()


# --- overview --------------------------------------------------------------------------------------------------


@per_build(limit=8)
def city_summary(built: Built, lang: str) -> pd.DataFrame:
    return overview_view.city_summary(built, lang)


@per_build(limit=256)
def readings(built: Built, indicator: str, lang: str) -> list[str]:
    return overview_view.readings(indicator, built, lang, i18n.translator(lang))


@per_build(limit=4)
def bps_series_ids(built: Built) -> list[str]:
    return overview_view.bps_indicators_with_series(built.bps)


@per_build(limit=256)
def gradient_figure(built: Built, indicator: str, domain_var: str, lang: str) -> str | None:
    """The overview's picture of the gap: city access by income quintile or education, with CIs: an SVG file
    (``write_static``) shown as an image with its download link (HTML for ``markup.show_block``,
    ``svg_charts.image_figure``); None when fewer than two groups have an estimate."""
    t = i18n.translator(lang)
    frame = overview_view.gradient_frame(built, indicator, domain_var, lang, t)
    if frame["estimate"].notna().sum() < 2:
        return None
    rows = [svg_charts.GroupEstimate(*r) for r in frame[["label", "estimate", "ci_low", "ci_high", "hover"]].itertuples(index=False)]
    synthetic = banners.survey_is_synthetic(banner_inputs(built)[0])
    svg = svg_charts.group_estimates(rows, lang=lang, title=t(f"domain_vars.{domain_var}"), missing_note=t("overview.gradient_missing"),
                                     notes=[t("overview.figure_synthetic")] if synthetic else [])
    name = vega_charts.file_slug(t("overview.file_gradient"), indicator, domain_var) + ".svg"
    return svg_charts.image_figure(svg, write_static("figure", svg, ".svg"), name, t("overview.download_svg"))


@per_build(limit=128)
def context_figure(built: Built, indicator: str, lang: str) -> str:
    """DKI against Indonesia for one BPS indicator: an SVG file shown as an image with its download link (as
    ``gradient_figure``)."""
    t = i18n.translator(lang)
    series = overview_view.bps_series(built.bps, indicator, lang, t("overview.dki"), t("overview.indonesia"), built.published)
    points = [svg_charts.SeriesPoint(r, int(y), float(v), h) for r, y, v, h in zip(series["region"], series["year"], series["value"], series["hover"])]
    svg = svg_charts.line_series(points, lang=lang, title=overview_view.bps_label(indicator, t), percent=bool(series["percent"].all()) if len(series) else True,
                                 gap_note=t("overview.series_gap"), notes=[t("overview.figure_source", sources=context_sources(built, indicator))])
    name = vega_charts.file_slug(t("overview.file_context"), indicator) + ".svg"
    return svg_charts.image_figure(svg, write_static("figure", svg, ".svg"), name, t("overview.download_svg"))


@per_build(limit=64)
def context_sources(built: Built, indicator: str) -> str:
    return overview_view.bps_sources(built.bps, indicator)


@per_build(limit=8)
def published_table(built: Built, lang: str) -> pd.DataFrame | None:
    return overview_view.published_table(built.published, lang, i18n.translator(lang))


@per_build(limit=256)
def headline(built: Built, indicator: str | None, lang: str) -> pd.DataFrame:
    """The city figures the overview shows as metrics (``overview_view.headline``), the selected one first."""
    return overview_view.headline(city_summary(built, lang), indicator)


@per_build(limit=8)
def city_table_html(built: Built, lang: str) -> str:
    """The overview's table of every city figure as HTML (``html_tables``), once per build and language."""
    summary = city_summary(built, lang)
    t = i18n.translator(lang)
    shown = summary[["label", "value_text", "ci_text", "n", "reliability"]].assign(n=[fmt.format_int(n, lang) for n in summary["n"]]).rename(
        columns={"label": t("common.indicator"), "value_text": t("map.col_value"), "ci_text": t("common.ci95"), "reliability": t("common.reliability")})
    return html_tables.html_table(shown, caption=t("overview.metric_help"))


@per_build(limit=8)
def quota_table_html(built: Built, lang: str) -> str | None:
    """The quota-spending quartiles (``quota_spend_quantiles``) as an HTML table, or None when not built."""
    t = i18n.translator(lang)
    quota = overview_view.quota_spending_table(data.table("quota_spend_quantiles"), lang, t)
    if quota is None:
        return None
    return html_tables.html_table(quota, caption=t("overview.quota_note"), numeric=[c for c in quota.columns if c != t("overview.quota_area")])


@per_build(limit=256)
def concentration_caption(built: Built, indicator: str, lang: str) -> str | None:
    """The sentence on the concentration index of ``indicator`` (``overview_view.concentration_sentence``)."""
    return overview_view.concentration_sentence(data.table("concentration_index"), indicator, lang, i18n.translator(lang))


@per_build(limit=8)
def kota_table_html(built: Built, lang: str) -> str | None:
    """The kota context table (real data, ``kota_table``) as HTML with its sources as caption, or None."""
    kota = kota_table(built, lang)
    return None if kota is None else html_tables.html_table(kota, caption=i18n.translator(lang)("real.kota_sources"))


@per_build(limit=8)
def published_table_html(built: Built, lang: str) -> str | None:
    """The published figures (``published_table``) as HTML, or None."""
    t = i18n.translator(lang)
    published = published_table(built, lang)
    return None if published is None else html_tables.html_table(published, numeric=[t("common.year"), t("common.value")])  # values carry their unit words


@per_build(limit=4)
def default_series(built: Built) -> int:
    """The index in ``bps_series_ids`` of the BPS series the overview shows first (the longest)."""
    return overview_view.longest_series(built.bps, bps_series_ids(built))


# --- map -------------------------------------------------------------------------------------------------------


def _geometry_source() -> Path | None:
    """The kelurahan geometry the map draws: the build's web copy, else the embedded default."""
    built_copy = data.processed_dir() / "boundaries_kelurahan.geojson"
    if built_copy.is_file():
        return built_copy
    embedded = config.EMBEDDED_DIR / "boundaries" / "boundaries_kelurahan.geojson"
    return embedded if embedded.is_file() else None


def map_geometry_url(built: Built) -> str | None:
    """The URL of the map's geometry as a static file (``static/`` beside ``dashboard.py``, served by
    Streamlit at ``app/static/...`` with ``server.enableStaticServing``), written once per build.

    Called on every run of every page (``dashboard.py``), so the file exists from the server's first run on,
    on a fresh checkout with no build (from the embedded default map) as after one. A dict lookup keyed by the
    build, with no file-system call and no ``st.cache_*`` hit (~0.5 ms each): under load, each call that
    releases the GIL waits to get it back.
    """
    written = _written_geometry(built)
    return None if written is None else written[0]


_GEOMETRY_BY_BUILD: dict = {}  # build key -> (URL, text) or None: a dict lookup, cheaper than a cache hit
_GEOMETRY_LOCK = threading.Lock()


def map_geometry(built: Built) -> dict | None:
    """The map's geometry as drawn (``vega_charts.map_geometry``): the content of ``map_geometry_url``."""
    written = _written_geometry(built)
    return None if written is None else json.loads(written[1])


def _written_geometry(built: Built) -> tuple[str, str] | None:
    """``_write_geometry`` once per build and process (sessions' threads share it, under a lock)."""
    return per_process(_GEOMETRY_BY_BUILD, built.key, lambda: _write_geometry(map_view.places(built.register)), lock=_GEOMETRY_LOCK)


def clear_geometry() -> None:
    """Forget which geometry files were written (as a new server process would)."""
    with _GEOMETRY_LOCK:
        _GEOMETRY_BY_BUILD.clear()


def clear_memos() -> None:
    """Forget every per-process memo of this module (as a new server process would): tests."""
    clear_geometry()
    data.forget_built()
    for memo in (*_PER_BUILD_MEMOS, _MAP_SPECS, _STATIC_VALUES):
        memo.clear()


def _write_geometry(places: dict[str, tuple[str, str]]) -> tuple[str, str] | None:
    """Write ``static/kelurahan-<sha256[:16]>.json`` once per build from the build's web boundaries, else the
    embedded default; (URL, text), or None when there is neither. Each feature carries its kelurahan's name
    and place (``places``, from the register: ``map_view.places``), which the map's tooltips read from it.

    - *Content-addressed*: the name is the hash of the text, so a build with other boundaries gets a new URL
      and no browser can draw a cached old map, and the file never needs to expire.
    - *Deterministic* (compact JSON, keys sorted): every server process of a deployment (``deploy/``) writes
      the same bytes under the same name, so concurrent writers agree; written atomically (a temporary file in
      ``static/``, then ``os.replace``), so a browser never reads half a file.
    - *Modification time fixed* (``GEOMETRY_MTIME``): Streamlit 1.67 serves app static files with
      ``ETag`` and ``Last-Modified`` (from size and mtime) but no ``Cache-Control``, so a browser keeps them
      for a heuristic 10% of their age (RFC 9111 section 4.2.2); an old mtime makes that long, and the same
      ETag in every process. A proxy can say it outright (``deploy/nginx.conf``: ``immutable``).
    - Not committed (``.gitignore``): it is derived from the build's boundaries (or the embedded default).
      A file removed while the server runs is written again by the next build or server start.
    """
    source = _geometry_source()
    if source is None:
        return None
    with open(source, encoding="utf-8") as fh:
        geojson = json.load(fh)
    geometry = vega_charts.map_geometry(geojson, KEPULAUAN_SERIBU, places)
    text = json.dumps(geometry, separators=(",", ":"), ensure_ascii=False, sort_keys=True)
    return write_static("kelurahan", text), text


def write_static(prefix: str, text: str, suffix: str = ".json") -> str:
    """Write ``text`` as ``static/<prefix>-<sha256[:16]><suffix>`` (content-addressed, atomic, modification time
    ``GEOMETRY_MTIME``: see ``_write_geometry``) unless that file already holds it; its URL."""
    name = f"{prefix}-{hashlib.sha256(text.encode('utf-8')).hexdigest()[:16]}{suffix}"
    path = STATIC_DIR / name
    if not path.is_file() or path.read_text(encoding="utf-8") != text:
        tables.atomic_write_text(path, text)
        path.chmod(0o644)  # public by nature (the temporary file it was renamed from is private)
    os.utime(path, (GEOMETRY_MTIME, GEOMETRY_MTIME))
    return STATIC_URL + name


@st.cache_data(show_spinner=False, max_entries=32, hash_funcs=HASH_BUILT)
def map_png(built: Built, mode: str, indicator_id: str, lang: str, selected: str | None, title: str) -> bytes:
    """The map as a titled PNG (rendered on the first download of each view, then kept)."""
    spec = values_from_layer(map_spec(built, mode, indicator_id, lang, selected))
    return vega_charts.to_png(vega_charts.inline_geometry(spec, map_geometry(built)), title)


_MAP_SPECS: dict = {}  # (kind, build key, ...) -> a parsed map spec, shared read-only by every session
MAP_SPECS_KEPT = 256  # parsed specs kept per process (~0.1 MB each); on overflow they are parsed again


def map_spec(built: Built, mode: str, indicator_id: str, lang: str, selected: str | None) -> dict | None:
    """The Vega-Lite choropleth of ``indicator_id`` (``mode`` direct | sae | gap) for every kelurahan, or None.

    Shared and read-only: every session showing this view gets the same parsed dict (Streamlit's
    ``vega_lite_chart`` copies the spec before it changes it, and serialises it to JSON on every run, so the
    chart is identified by the same spec on every rerun). Parsing the cached JSON on each run, after an
    ``st.cache_data`` hit that unpickled it, cost ~1 ms of a map run's ~10 ms of server CPU (issue 16).
    Callers that need a changed spec build a new dict (``values_from_layer``, ``inline_geometry`` do)."""
    url = map_geometry_url(built)
    return _parsed_spec(("map", built.key, mode, indicator_id, lang, selected, url),
                        lambda: _map_spec_json(built, mode, indicator_id, lang, selected, url))


def _parsed_spec(key: tuple, make_json) -> dict | None:
    def parse():
        text = make_json()
        return None if text is None else values_to_static(json.loads(text))

    return per_process(_MAP_SPECS, key, parse, limit=MAP_SPECS_KEPT)


_STATIC_VALUES: dict = {}  # URL of a map-values file -> its rows, as written by this process


def values_to_static(spec: dict) -> dict:
    """``spec`` (a map in the ``values_in_layer`` form) with its rows (267 values with their tooltips, ~40 KB)
    in a static file (``static/mapvalues-<hash>.json``, ``write_static``) that the browser fetches, and the
    spec pointing at it: the spec shrinks to a few KB.

    Why: Streamlit turns a chart's spec into JSON, parses it back and rewrites it on every run
    (``vega_lite_chart``: ``json.dumps``, ``_stabilize_vega_json_spec``, ``json.loads`` of the result), then
    hashes and serialises the message; for the map that was ~40% of a warm map run's server time (py-spy,
    ``--gil``, 10 sessions; issue 16). The values of a view (build, layer, indicator, language) do not change
    between runs, so like the geometry they are a file the browser caches: one per view, whatever kelurahan is
    selected (the outline of the selected one stays in the spec)."""
    inner = spec["layer"][0] if len(spec.get("layer", ())) == 1 else {}
    values = inner.get("data", {}).get("values")
    if values is None:
        return spec
    text = json.dumps(values, separators=(",", ":"), ensure_ascii=False, sort_keys=True)
    url = write_static("mapvalues", text)
    if len(_STATIC_VALUES) >= MAP_SPECS_KEPT:
        _STATIC_VALUES.clear()  # read back from the files when asked (``static_values``)
    _STATIC_VALUES[url] = values
    inner["data"] = {"url": url, "format": {"type": "json"}}
    return spec


def static_values(url: str) -> list | None:
    """The rows of a map-values file (``values_to_static``) by its URL: this process's copy, else the file."""
    if url in _STATIC_VALUES:
        return _STATIC_VALUES[url]
    path = STATIC_DIR / url.removeprefix(STATIC_URL)
    return json.loads(path.read_text(encoding="utf-8")) if url.startswith(STATIC_URL) and path.is_file() else None


@st.cache_data(show_spinner=False, max_entries=128, hash_funcs=HASH_BUILT)
def _map_spec_json(built: Built, mode: str, indicator_id: str, lang: str, selected: str | None, geometry_url: str | None) -> str | None:
    geojson = data.web_geojson("boundaries_kelurahan")
    if geojson is None or built.register is None or geometry_url is None:
        return None
    t = i18n.translator(lang)
    frame = map_view.map_frame(mode, indicator_id, built, lang, t)
    if (frame["status"] == "none").all():
        return None
    label = indicator_labels(built, lang).get(indicator_id, indicator_id)
    spec = vega_charts.choropleth(
        geojson,
        frame,
        lang=lang,
        legend_title=t("map.legend_gap") if mode == "gap" else label,
        no_estimate_name=t("common.no_reliable_estimate"),
        diverging=mode == "gap",
        value_range=None if mode == "gap" else map_view.common_range(built, indicator_id),
        value_format=".0%",
        # gaps are differences of shares: the legend reads in percentage points ("+20"), as its title says
        legend_label_expr="format(datum.value * 100, '+.0f')" if mode == "gap" else None,
        selected=selected,
        inset_prefix=KEPULAUAN_SERIBU,
        inset_label=t("map.inset"),
        geometry_url=geometry_url,
        place_titles=place_titles(t),
    )
    return json.dumps(values_in_layer(spec), separators=(",", ":"), ensure_ascii=False)


def place_titles(t) -> tuple[str, str]:
    """The tooltip titles of a kelurahan's name and place, which the map takes from its static geometry."""
    return (t("common.kelurahan"), t("common.kecamatan"))


def values_in_layer(spec: dict) -> dict:
    """The choropleth's values (``data``, 267 rows) and their geometry lookup (``transform``) moved into a
    layer of its own, which holds the drawing layers.

    Why: Streamlit moves top-level inline data that is not GeoJSON into an Arrow table beside the spec (the
    rows' ``tooltip`` is an object, which Arrow would turn into a struct of every title); it leaves a layer's
    own data alone. Same data, same layers, same selection (``PICK``).
    """
    inner = {"data": spec.pop("data"), "transform": spec.pop("transform"), "layer": spec.pop("layer")}
    if "resolve" in spec:
        inner["resolve"] = spec["resolve"]
    spec["layer"] = [inner]
    return spec


def values_from_layer(spec: dict) -> dict:
    """The inverse of ``values_in_layer`` and ``values_to_static`` (``data.values`` and ``transform`` at the top
    again, the rows read back from their static file), for the PNG, tests and tools that read the map's spec;
    any other spec is returned as it is. A new dict: ``spec`` is not changed."""
    inner = spec.get("layer", [{}])[0] if len(spec.get("layer", ())) == 1 else {}
    if "data" in spec or "transform" not in inner or "data" not in inner:
        return spec
    data_ = inner["data"]
    if "url" in data_:
        values = static_values(data_["url"])
        data_ = {"values": values} if values is not None else data_
    return {**spec, "data": data_, "transform": inner["transform"], "layer": inner["layer"]}


@st.cache_data(show_spinner=False, max_entries=128, hash_funcs=HASH_BUILT)
def map_table(built: Built, mode: str, indicator_id: str, lang: str) -> pd.DataFrame:
    """The map's numbers as a table (its accessible twin), cached like the map."""
    return map_view.map_table(mode, indicator_id, built, lang, i18n.translator(lang))


@st.cache_data(show_spinner=False, max_entries=16, hash_funcs=HASH_BUILT)
def real_map_png(built: Built, layer: str, lang: str, selected: str | None, title: str) -> bytes:
    """A real-data map as a titled PNG (rendered on the first download of each view, then kept)."""
    spec = values_from_layer(real_map_spec(built, layer, lang, selected))
    return vega_charts.to_png(vega_charts.inline_geometry(spec, map_geometry(built)), title)


def real_map_spec(built: Built, layer: str, lang: str, selected: str | None) -> dict | None:
    """The choropleth of a real-data layer (register indicator or indirect estimate), or None."""
    url = map_geometry_url(built)
    return _parsed_spec(("real", built.key, layer, lang, selected, url),
                        lambda: _real_map_spec_json(built, layer, lang, selected, url))


@st.cache_data(show_spinner=False, max_entries=64, hash_funcs=HASH_BUILT)
def _real_map_spec_json(built: Built, layer: str, lang: str, selected: str | None, geometry_url: str | None) -> str | None:
    geojson = data.web_geojson("boundaries_kelurahan")
    if geojson is None or built.register is None or geometry_url is None or layer not in real_view.available_layers(built):
        return None
    t = i18n.translator(lang)
    frame = real_view.layer_frame(layer, built, lang, t)
    kind = real_view.REAL_LAYERS[layer][2]
    # its own legend title ("Real data: ..." / "Modelled: ..."), so a real layer is never read as a survey one
    prefix = t("real.legend_modelled" if layer == "indirect_internet" else "real.legend_real")
    spec = vega_charts.choropleth(
        geojson, frame, lang=lang, legend_title=f"{prefix}: {t(f'real.layer.{layer}')}",
        no_estimate_name=t("map.no_value"), diverging=kind == "change",
        value_format=real_view.VEGA_FORMAT[kind],
        legend_label_expr="format(datum.value * 100, '+.0f') + '%'" if kind == "change" else None,
        selected=selected, inset_prefix=KEPULAUAN_SERIBU, inset_label=t("map.inset"), geometry_url=geometry_url,
        place_titles=place_titles(t),
    )
    return json.dumps(values_in_layer(spec), separators=(",", ":"), ensure_ascii=False)


@st.cache_data(show_spinner=False, max_entries=64, hash_funcs=HASH_BUILT)
def real_table(built: Built, layer: str, lang: str) -> pd.DataFrame:
    return real_view.layer_table(layer, built, lang, i18n.translator(lang))


# --- model and compare pages ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class ModelPage:
    """What the model page draws for one outcome: the odds-ratio forest, the predicted grid (per
    specification), the marginal effects and the fit table (each None when not available)."""

    has_interaction: bool
    odds: go.Figure | None
    grid: dict[str, go.Figure | None]
    effects: go.Figure | None
    fit: pd.DataFrame | None


def _model_tables():
    return tuple(data.table(n) for n in ("model_odds_ratios", "model_marginal_effects", "model_predicted_grid", "model_fit"))


@per_build(limit=4)
def model_outcomes(built: Built) -> tuple[str, ...] | None:
    """The outcomes the build fitted access models for, or None when it fitted none."""
    from ui.views import model as model_view

    odds, effects, grid, _ = _model_tables()
    if odds is None and effects is None and grid is None:
        return None
    return tuple(model_view.model_outcomes(odds, effects, grid))


@per_build(limit=64)
def model_page(built: Built, outcome: str | None, lang: str) -> ModelPage:
    """The model page's figures and table for ``outcome`` (one of ``model_outcomes``), once per build, outcome and
    language. Rebuilt on every run before (three plotly figures: ~70 ms of server CPU per run,
    ``bench/bench_load.py --page model``)."""
    from analysis import figures
    from ui.views import model as model_view

    t = i18n.translator(lang)
    odds, effects, grid, fit = _model_tables()
    seps = fmt.plotly_separators(lang)
    forest = model_view.model_forest(odds, outcome, "or", lang, t)
    ame = model_view.model_forest(effects, outcome, "ame", lang, t)
    grids = {}
    for specification in ("main_effects", "interaction"):
        heat = model_view.model_heatmap(grid, outcome, lang, t, specification)
        grids[specification] = None if heat is None else figures.heatmap(
            heat["z"], heat["x"], heat["y"], heat["text"], heat["hover"], separators=seps, x_title=t("domain_vars.income_quintile"),
            y_title=t("domain_vars.education"), legend_title=t("model.predicted_short"))
    return ModelPage(
        has_interaction=grid is not None and "specification" in grid and grid["specification"].nunique() > 1,
        odds=None if forest.empty else figures.forest_plot(forest, separators=seps, x_title=t("model.or_axis")),
        grid=grids,
        effects=None if ame.empty else figures.forest_plot(ame, separators=seps, x_title=t("model.ame_axis"), reference=0.0, log_x=False),
        fit=None if fit is None or fit.empty else model_view.model_fit_table(fit, outcome, lang, t).set_index(t("model.fit_measure")),
    )


@dataclass(frozen=True)
class ComparePage:
    """What the compare page draws for one indicator and set of kelurahan."""

    bars: go.Figure | None
    table: pd.DataFrame
    decomposition: pd.DataFrame | None


@per_build(limit=256)
def compare_page(built: Built, indicator: str, chosen: tuple[str, ...], lang: str) -> ComparePage:
    """The compare page's chart and tables, once per build, indicator, kelurahan set and language (~50 ms of
    server CPU per run before, ``bench/bench_load.py --page bandingkan``)."""
    from analysis import figures
    from ui.views import compare as compare_view

    t = i18n.translator(lang)
    ind_label = indicator_labels(built, lang).get(indicator, indicator)
    bars = common.area_comparison(indicator, list(chosen), built, lang, t, with_kota=False)
    city = common.city_row(built.estimates, indicator)
    figure = None
    if not bars.empty:
        figure = figures.estimate_bars(bars, separators=fmt.plotly_separators(lang), x_title=ind_label,
                                       reference=None if city is None else city["estimate"], reference_name=t("common.city"))
    return ComparePage(figure, compare_view.compare_table(indicator, list(chosen), built, lang, t),
                       compare_view.decomposition_table(built, indicator, list(chosen), lang, t))


# --- the kelurahan profile --------------------------------------------------------------------------------------

@dataclass(frozen=True)
class ProfileTables:
    """What the profile shows whatever the indicator: the table of every indicator (``None`` when the build has
    no estimates), the Dukcapil covariates and the printable HTML report."""

    table: pd.DataFrame | None
    covariates: pd.DataFrame
    report_html: str


@dataclass(frozen=True)
class ProfileFigures:
    """The profile's charts of one indicator: the kelurahan against its kota and the city, the breakdowns
    (domain variable, the level shown, the figure or None), the JAKI funnel and the information channels."""

    selected: go.Figure | None
    breakdowns: tuple[tuple[str, str | None, go.Figure | None], ...]
    funnel: go.Figure | None
    channels: go.Figure | None


@per_build(limit=256)
def profile_tables(built: Built, code: str, lang: str) -> ProfileTables:
    """The profile's tables and report, once per build, kelurahan and language in this process, shared
    read-only. Made on every run before: the profile page's script took ~0.4 s of server CPU per run (the table
    of 22 indicators, seven plotly figures and the report), so 50 sessions on it took p95 33 s against a bare
    app's 0.18 s (``bench/bench_load.py --page profil``, issue 16)."""
    from ui import banners, report

    t = i18n.translator(lang)
    register = built.register
    name = register.loc[register["kode_kemendagri"] == code].iloc[0]
    _, kota_name = common.kota_of(register, code)
    table = None
    if built.indicators is not None and (built.estimates is not None or built.sae is not None):
        table = profile_view.profile_table(code, built, lang, t).drop(columns=["indicator_id", "_kel_value", "_source"])
    cov = profile_view.covariate_comparison(built.covariates, code, lang, t)
    html = report.profile_html(
        title=t("profile.title", name=name["kelurahan"]),
        subtitle=t("profile.where", kecamatan=name["kecamatan"], kota=kota_name, code=code),
        lang=lang, table=table, covariates=cov, notes=[t("profile.table_note"), t("common.sig_legend")],
        footer=t("profile.print_footer"),
        warning=t("banner.synthetic") if banners.survey_is_synthetic(data.build_report()) else None,
    )
    return ProfileTables(table, cov, html)


@per_build(limit=256)
def profile_figures(built: Built, code: str, indicator: str, lang: str) -> ProfileFigures:
    """The profile's plotly figures of ``indicator``, once per build, kelurahan, indicator and language in this
    process, shared read-only (``st.plotly_chart`` copies a figure with ``to_dict`` before it serialises it)."""
    from analysis import figures
    from analysis import formatting as fmt
    from analysis.areas import CITY_CODE
    from analysis.stats.estimates import DOMAIN_VARS

    t = i18n.translator(lang)
    register, estimates = built.register, built.estimates
    name = register.loc[register["kode_kemendagri"] == code].iloc[0]["kelurahan"]
    kota_code, kota_name = common.kota_of(register, code)
    ind_label = indicator_labels(built, lang).get(indicator, indicator)
    seps = fmt.plotly_separators(lang)
    selected = None
    bars = common.area_comparison(indicator, [code], built, lang, t)
    if not bars.empty:
        city = common.city_row(estimates, indicator)
        selected = figures.estimate_bars(bars, separators=seps, x_title=ind_label, reference=None if city is None else city["estimate"],
                                         reference_name=t("common.city"))
    breakdowns = []
    for var in DOMAIN_VARS:
        # the smallest level the sample supports, next to the city, and which one it is, said plainly
        level = profile_view.breakdown_level(estimates, indicator, var, code, kota_code)
        local = {"kelurahan": code, "kota": kota_code}.get(level)
        rows = profile_view.breakdown_frame(estimates, indicator, var, [local, CITY_CODE], {code: name, kota_code: kota_name, CITY_CODE: t("common.city")}, lang, t)
        breakdowns.append((var, level, None if rows.empty else figures.estimate_bars(rows, separators=seps, x_title=ind_label)))
    funnel = profile_view.funnel_frame(code, kota_code, built, lang, t)
    channels = profile_view.channels_frame(code, built, lang, t)
    return ProfileFigures(
        selected=selected,
        breakdowns=tuple(breakdowns),
        funnel=None if funnel.empty else figures.funnel(funnel, separators=seps, x_title=t("profile.share_households")),
        channels=None if channels.empty else figures.estimate_bars(channels, separators=seps, x_title=t("profile.share_households")),
    )


@per_build(limit=512)
def real_profile(built: Built, code: str, lang: str) -> pd.DataFrame | None:
    return real_view.profile_rows(code, built, lang, i18n.translator(lang))


@per_build(limit=8)
def kota_table(built: Built, lang: str) -> pd.DataFrame | None:
    return real_view.kota_table(built, lang, i18n.translator(lang))


# --- upload ----------------------------------------------------------------------------------------------------


@st.cache_resource(show_spinner=False, max_entries=2, hash_funcs=HASH_BUILT)
def city_artefacts(built: Built) -> upload.CityArtefacts:
    """The city side of an upload (published estimates, register, the build's city decomposition models), once
    per build. Shared read-only by every session: it holds public built data only, never an upload."""
    register = built.register
    if register is None:
        from analysis.etl.registers import load_register

        register = load_register()
    return upload.CityArtefacts.from_tables(built.estimates, register, data.table("decomposition_model"),
                                            data.table("survey_households"), data.table("survey_persons"), built.covariates)
