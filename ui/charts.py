"""Cached figures: each builder turns artefacts into a plotly figure once per (inputs, language, build).

Why cached: Streamlit reruns the page on every widget change, and the map alone means filtering the GeoJSON
and formatting hover text for 267 kelurahan (tens of milliseconds) before plotly serialises it. The cache key
is the builder's arguments plus ``data.data_version()`` (the build report's mtime), so a rebuild is shown at
once. ``st.cache_data`` returns a copy, so a page that tweaks a cached figure (e.g. height) cannot change the
cached one.
"""

from __future__ import annotations

import json

import plotly.graph_objects as go
import streamlit as st

from analysis import figures
from analysis import formatting as fmt
from ui import data, i18n, views


def _t(lang: str):
    return lambda key, **kw: i18n.translate(lang, key, **kw)


def map_figure(mode: str, indicator_id: str, lang: str, selected: str | None, version: int) -> dict | None:
    """The choropleth of ``indicator_id`` (``mode`` direct | sae | gap) for every kelurahan, or None.

    The cache holds the figure's JSON, not the Figure: a Figure that went through pickle serialises slightly
    differently from a fresh one, and Streamlit identifies a chart by its spec, so the first click on a
    freshly built map would arrive at a "different" chart and its selection would be lost. It is handed to
    ``st.plotly_chart`` as a plain dict: serialising a dict is about three times faster than a Figure (about
    0.1 s saved on each rerun of the map page, measured in bench/bench_dashboard.py).
    """
    spec = _map_figure_json(mode, indicator_id, lang, selected, version)
    return None if spec is None else json.loads(spec)


@st.cache_data(show_spinner=False, max_entries=128)
def _map_figure_json(mode: str, indicator_id: str, lang: str, selected: str | None, version: int) -> str | None:
    geojson = data.web_geojson("boundaries_kelurahan")
    register = data.table("wilayah_register")
    if geojson is None or register is None:
        return None
    t = _t(lang)
    frame = views.map_frame(
        mode, indicator_id, register, lang, t,
        estimates=data.table("estimates"), sae=data.table("sae_estimates"), gaps=data.table("gaps"),
    )
    if (frame["status"] == "none").all():
        return None
    label = views.indicator_labels(data.table("indicators"), lang).get(indicator_id, indicator_id)
    return figures.choropleth(
        geojson,
        frame,
        separators=fmt.plotly_separators(lang),
        legend_title=t("map.legend_gap") if mode == "gap" else label,
        status_names={"ok": t("map.status_ok"), "flag": t("map.status_flag"), "none": t("common.no_reliable_estimate"), "selected": t("map.status_selected")},
        diverging=mode == "gap",
        value_range=None if mode == "gap" else _common_range(mode, indicator_id),
        tickformat="+.0%" if mode == "gap" else ".0%",
        selected=selected,
    ).to_json()


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
