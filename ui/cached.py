"""Every cache of built content: what a page shows, computed once per (inputs, language, build) and shared.

Why: Streamlit reruns the page on every widget change. The overview is the page every visitor opens first, and
shaping its numbers (the city summary, the readings with their contrasts, the BPS series joined with the
published figures) is about 0.4 s of pandas work; the map means joining the GeoJSON with the estimates and
formatting tooltips for 267 kelurahan before it is serialised. A first visit should not pay that, and 20
visitors arriving together should not pay it 20 times.

Keys are cheap: every function takes the build's bundle (``ui.data.Built``), hashed by its ``key`` (data
directory and build version, ``HASH_BUILT``), never by its frames, so a rebuild is shown at once.
``st.cache_data`` hands each caller a copy, so a page that tweaks a cached result (e.g. a figure's height)
cannot change the cached one. Vega-Lite specs are cached as JSON and parsed fresh on each call, so Streamlit
sees the same spec on every rerun (it identifies a chart, and keeps its click selection, by the spec).
"""

from __future__ import annotations

import hashlib
import json
import os
import threading
from collections.abc import Mapping
from pathlib import Path
from types import MappingProxyType

import pandas as pd
import streamlit as st

from analysis import config, svg_charts, tables, upload, vega_charts
from ui import banners, data, i18n
from ui.data import Built
from ui.views import common
from ui.views import map as map_view
from ui.views import overview as overview_view
from ui.views import real as real_view

HASH_BUILT = {Built: lambda b: b.key}
KEPULAUAN_SERIBU = "31.01"  # Kemendagri code of the kabupaten drawn in the map's inset
# The app's static files (``server.enableStaticServing``): ``static/`` beside ``dashboard.py``, served at
# ``app/static/<name>`` (a URL relative to the page, so it also works under a proxy's path prefix).
STATIC_DIR = Path(__file__).resolve().parent.parent / "static"
STATIC_URL = "app/static/"
GEOMETRY_MTIME = 946_684_800  # 2000-01-01T00:00:00Z: see ``_written_geometry``


# --- every page ------------------------------------------------------------------------------------------------


@st.cache_data(show_spinner=False, max_entries=4, hash_funcs=HASH_BUILT)
def kelurahan_labels(built: Built) -> dict[str, str]:
    """The sidebar's kelurahan search options (``common.kelurahan_labels``): a sort of the register, built on
    every run of every page before (~10 ms of a ~50 ms warm map run, ``bench/bench_load.py --profile``)."""
    return common.kelurahan_labels(built.register)


_LABELS_BY_BUILD: dict = {}  # (build key, language) -> read-only labels: a dict lookup, cheaper than a cache hit


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


def indicator_labels(built: Built, lang: str) -> Mapping[str, str]:
    """``{indicator_id: label}`` in ``lang`` (``common.indicator_labels``), read-only, once per build, language
    and process. Every run of every page asks for them (the sidebar's indicator list, the page's heading):
    a dict lookup here, where building them was ~0.7 ms of a ~25 ms profiled warm map run twice over
    (``bench/bench_load.py --profile``)."""
    return per_process(_LABELS_BY_BUILD, (built.key, lang), lambda: MappingProxyType(common.indicator_labels(built.indicators, lang)), limit=8)


_BANNER_INPUTS: dict = {}  # build key -> (build report, manifest titles)


def banner_inputs(built: Built) -> tuple[dict | None, dict[str, str]]:
    """The build report and the sources' titles for ``banners.render``, once per build and process (shared,
    read only). The build's version is the report's modification time (``data.data_version``), so this is the
    report of ``built``; read every run before, a ``stat`` and an unpickled copy of the report per run."""
    return per_process(_BANNER_INPUTS, built.key, lambda: (data.build_report(), data.manifest_titles()))


# --- overview --------------------------------------------------------------------------------------------------


@st.cache_data(show_spinner=False, max_entries=16, hash_funcs=HASH_BUILT)
def city_summary(built: Built, lang: str) -> pd.DataFrame:
    return overview_view.city_summary(built, lang)


@st.cache_data(show_spinner=False, max_entries=256, hash_funcs=HASH_BUILT)
def readings(built: Built, indicator: str, lang: str) -> list[str]:
    return overview_view.readings(indicator, built, lang, i18n.translator(lang))


@st.cache_data(show_spinner=False, max_entries=4, hash_funcs=HASH_BUILT)
def bps_series_ids(built: Built) -> list[str]:
    return overview_view.bps_indicators_with_series(built.bps)


@st.cache_data(show_spinner=False, max_entries=64, hash_funcs=HASH_BUILT)
def gradient_figure(built: Built, indicator: str, domain_var: str, lang: str) -> str | None:
    """The overview's picture of the gap: city access by income quintile or education, with CIs, as inline SVG
    with its download link (HTML for ``charts.show_svg``); None when fewer than two groups have an estimate."""
    t = i18n.translator(lang)
    frame = overview_view.gradient_frame(built, indicator, domain_var, lang, t)
    if frame["estimate"].notna().sum() < 2:
        return None
    rows = [svg_charts.GroupEstimate(*r) for r in frame[["label", "estimate", "ci_low", "ci_high", "hover"]].itertuples(index=False)]
    synthetic = banners.survey_is_synthetic(banner_inputs(built)[0])
    svg = svg_charts.group_estimates(rows, lang=lang, title=t(f"domain_vars.{domain_var}"), missing_note=t("overview.gradient_missing"),
                                     notes=[t("overview.figure_synthetic")] if synthetic else [])
    name = vega_charts.file_slug(t("overview.file_gradient"), indicator, domain_var) + ".svg"
    return svg + svg_charts.download_link(svg, name, t("overview.download_svg"))


@st.cache_data(show_spinner=False, max_entries=64, hash_funcs=HASH_BUILT)
def context_figure(built: Built, indicator: str, lang: str) -> str:
    """DKI against Indonesia for one BPS indicator as inline SVG with its download link (``charts.show_svg``)."""
    t = i18n.translator(lang)
    series = overview_view.bps_series(built.bps, indicator, lang, t("overview.dki"), t("overview.indonesia"), built.published)
    points = [svg_charts.SeriesPoint(r, int(y), float(v), h) for r, y, v, h in zip(series["region"], series["year"], series["value"], series["hover"])]
    svg = svg_charts.line_series(points, lang=lang, title=overview_view.bps_label(indicator, t), percent=bool(series["percent"].all()) if len(series) else True,
                                 gap_note=t("overview.series_gap"), notes=[t("overview.figure_source", sources=context_sources(built, indicator))])
    name = vega_charts.file_slug(t("overview.file_context"), indicator) + ".svg"
    return svg + svg_charts.download_link(svg, name, t("overview.download_svg"))


@st.cache_data(show_spinner=False, max_entries=64, hash_funcs=HASH_BUILT)
def context_sources(built: Built, indicator: str) -> str:
    return overview_view.bps_sources(built.bps, indicator)


@st.cache_data(show_spinner=False, max_entries=16, hash_funcs=HASH_BUILT)
def published_table(built: Built, lang: str) -> pd.DataFrame | None:
    return overview_view.published_table(built.published, lang, i18n.translator(lang))


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
    _LABELS_BY_BUILD.clear()
    _BANNER_INPUTS.clear()


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
    name = f"kelurahan-{hashlib.sha256(text.encode('utf-8')).hexdigest()[:16]}.json"
    path = STATIC_DIR / name
    if not path.is_file() or path.read_text(encoding="utf-8") != text:
        tables.atomic_write_text(path, text)
    os.utime(path, (GEOMETRY_MTIME, GEOMETRY_MTIME))
    return STATIC_URL + name, text


@st.cache_data(show_spinner=False, max_entries=32, hash_funcs=HASH_BUILT)
def map_png(built: Built, mode: str, indicator_id: str, lang: str, selected: str | None, title: str) -> bytes:
    """The map as a titled PNG (rendered on the first download of each view, then kept)."""
    spec = values_from_layer(map_spec(built, mode, indicator_id, lang, selected))
    return vega_charts.to_png(vega_charts.inline_geometry(spec, map_geometry(built)), title)


def map_spec(built: Built, mode: str, indicator_id: str, lang: str, selected: str | None) -> dict | None:
    """The Vega-Lite choropleth of ``indicator_id`` (``mode`` direct | sae | gap) for every kelurahan, or None."""
    spec = _map_spec_json(built, mode, indicator_id, lang, selected, map_geometry_url(built))
    return None if spec is None else json.loads(spec)


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
    """The inverse of ``values_in_layer`` (``data.values`` and ``transform`` at the top again), for the PNG,
    tests and tools that read the map's spec; any other spec is returned as it is."""
    inner = spec.get("layer", [{}])[0] if len(spec.get("layer", ())) == 1 else {}
    if "data" in spec or "transform" not in inner or "data" not in inner:
        return spec
    return {**spec, "data": inner["data"], "transform": inner["transform"], "layer": inner["layer"]}


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
    spec = _real_map_spec_json(built, layer, lang, selected, map_geometry_url(built))
    return None if spec is None else json.loads(spec)


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


@st.cache_data(show_spinner=False, max_entries=512, hash_funcs=HASH_BUILT)
def real_profile(built: Built, code: str, lang: str) -> pd.DataFrame | None:
    return real_view.profile_rows(code, built, lang, i18n.translator(lang))


@st.cache_data(show_spinner=False, max_entries=4, hash_funcs=HASH_BUILT)
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
