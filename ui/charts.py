"""Cached figures: each builder turns artefacts into a plotly figure or a Vega-Lite spec once per (inputs, language, build).

Why cached: Streamlit reruns the page on every widget change, and the map alone means joining the GeoJSON
with the estimates and formatting tooltips for 267 kelurahan (tens of milliseconds) before it is serialised. The cache key
is the builder's arguments plus ``data.data_version()`` (the build report's mtime), so a rebuild is shown at
once. ``st.cache_data`` returns a copy, so a page that tweaks a cached figure (e.g. height) cannot change the
cached one.
"""

from __future__ import annotations

import json

import pandas as pd
import plotly.graph_objects as go
import streamlit as st

from analysis import figures, vega_charts
from ui import data, i18n
from ui.views import common
from ui.views import map as map_view

KEPULAUAN_SERIBU = "31.01"  # Kemendagri code of the kabupaten drawn in the map's inset


def map_spec(mode: str, indicator_id: str, lang: str, selected: str | None, version: int) -> dict | None:
    """The Vega-Lite choropleth of ``indicator_id`` (``mode`` direct | sae | gap) for every kelurahan, or None.

    The cache holds the spec's JSON and each call parses a fresh dict from it, so a page cannot change the
    cached spec, and Streamlit sees the same spec on every rerun (it identifies a chart, and keeps its click
    selection, by the spec).
    """
    spec = _map_spec_json(mode, indicator_id, lang, selected, version)
    return None if spec is None else json.loads(spec)


@st.cache_data(show_spinner=False, max_entries=128)
def _map_spec_json(mode: str, indicator_id: str, lang: str, selected: str | None, version: int) -> str | None:
    geojson = data.web_geojson("boundaries_kelurahan")
    register = data.table("wilayah_register")
    if geojson is None or register is None:
        return None
    t = i18n.translator(lang)
    frame = map_view.map_frame(
        mode, indicator_id, register, lang, t,
        estimates=data.table("estimates"), sae=data.table("sae_estimates"), gaps=data.table("gaps"),
    )
    if (frame["status"] == "none").all():
        return None
    label = common.indicator_labels(data.table("indicators"), lang).get(indicator_id, indicator_id)
    spec = vega_charts.choropleth(
        geojson,
        frame,
        lang=lang,
        legend_title=t("map.legend_gap") if mode == "gap" else label,
        no_estimate_name=t("common.no_reliable_estimate"),
        diverging=mode == "gap",
        value_range=None if mode == "gap" else _common_range(mode, indicator_id),
        value_format=".0%",
        # gaps are differences of shares: the legend reads in percentage points ("+20"), as its title says
        legend_label_expr="format(datum.value * 100, '+.0f')" if mode == "gap" else None,
        selected=selected,
        inset_prefix=KEPULAUAN_SERIBU,
        inset_label=t("map.inset"),
    )
    return json.dumps(spec, separators=(",", ":"), ensure_ascii=False)


@st.cache_data(show_spinner=False, max_entries=128)
def map_table(mode: str, indicator_id: str, lang: str, version: int) -> pd.DataFrame:
    """The map's numbers as a table (its accessible twin), cached like the map."""
    return map_view.map_table(
        mode, indicator_id, data.table("wilayah_register"), lang, i18n.translator(lang),
        data.table("estimates"), data.table("sae_estimates"), data.table("gaps"),
    )


def _common_range(mode: str, indicator_id: str) -> tuple[float, float] | None:
    """Direct and small-area maps of one indicator share one colour range, so switching between them
    compares like with like (the same colour means the same value)."""
    values = []
    est = data.table("estimates")
    if est is not None:
        rows = est[(est["indicator_id"] == indicator_id) & (est["level"] == "kelurahan")]
        values += rows["estimate"].dropna().astype(float).tolist()
    sae = data.table("sae_estimates")
    if sae is not None:
        values += sae.loc[sae["indicator_id"] == indicator_id, "estimate"].dropna().astype(float).tolist()
    if not values:
        return None
    lo, hi = min(values), max(values)
    return (lo, hi) if hi > lo else (lo - 0.01, hi + 0.01)


def show(fig: go.Figure | dict, filename: str, key: str | None = None, **kwargs):
    """Draw a figure with our own template (``theme=None``: Streamlit's theme would override colours) and a
    modebar that saves a PNG named after the chart."""
    return st.plotly_chart(fig, theme=None, config=figures.png_config(filename), key=key, **kwargs)


def show_vega(spec: dict, key: str | None = None, **kwargs):
    """Draw a Vega-Lite spec with its own colours (``theme=None``). Streamlit's chart toolbar offers
    "Download as PNG" for every Vega chart."""
    return st.vega_lite_chart(spec, theme=None, width="stretch", key=key, **kwargs)
