"""The overview's content, computed once per (language, indicator, choice, build) and cached.

Why: the overview is the page every visitor opens first. Shaping its numbers (the city summary of 22
indicators, the readings with their contrasts, the BPS series joined with the published figures) is about
0.4 s of pandas work per run; a first visit should not pay it, and 20 visitors arriving together should not
pay it 20 times. ``st.cache_data`` hands each caller a copy, keyed by ``data.data_version()`` so a rebuild shows
at once.
"""

from __future__ import annotations

import json

import pandas as pd
import streamlit as st

from analysis import formatting as fmt
from analysis import vega_charts
from ui import data, i18n
from ui.views import overview as overview_view


@st.cache_data(show_spinner=False, max_entries=16)
def city_summary(lang: str, version: int) -> pd.DataFrame:
    return overview_view.city_summary(data.table("estimates"), data.table("indicators"), lang)


@st.cache_data(show_spinner=False, max_entries=256)
def readings(indicator: str, lang: str, version: int) -> list[str]:
    return overview_view.readings(indicator, lang, i18n.translator(lang), data.table("indicators"), data.table("estimates"), data.table("gaps"), data.table("bps_indicators"))


@st.cache_data(show_spinner=False, max_entries=4)
def bps_series_ids(version: int) -> list[str]:
    return overview_view.bps_indicators_with_series(data.table("bps_indicators"))


def context_spec(indicator: str, lang: str, version: int) -> dict:
    """The Vega-Lite spec of DKI against Indonesia for one BPS indicator (a fresh dict from the cached JSON)."""
    return json.loads(_context_spec_json(indicator, lang, version))


@st.cache_data(show_spinner=False, max_entries=64)
def _context_spec_json(indicator: str, lang: str, version: int) -> str:
    t = i18n.translator(lang)
    series = overview_view.bps_series(data.table("bps_indicators"), indicator, lang, t("overview.dki"), t("overview.indonesia"), data.table("published_figures"))
    spec = vega_charts.context_series(series, lang=lang, y_title=overview_view.bps_label(indicator, t))
    return json.dumps(spec, separators=(",", ":"), ensure_ascii=False)


@st.cache_data(show_spinner=False, max_entries=64)
def context_sources(indicator: str, version: int) -> str:
    bps = data.table("bps_indicators")
    return ", ".join(sorted(set(bps.loc[bps["indicator"] == indicator, "source_id"].astype(str))))


@st.cache_data(show_spinner=False, max_entries=16)
def published_table(lang: str, version: int) -> pd.DataFrame | None:
    """The typed published figures with their citations, formatted for ``lang``."""
    published = data.table("published_figures")
    if published is None or published.empty:
        return None
    t = i18n.translator(lang)
    label_col = "label_id" if lang == "id" else "label_en"
    value_text = [
        fmt.format_number(v, lang, 2) + (f" {u}" if u and u != "%" else "%" if u == "%" else "")
        for v, u in zip(published["value"], published["unit"].fillna(""))
    ]
    return published.assign(value_text=value_text)[[label_col, "region", "year", "value_text", "citation"]].rename(
        columns={label_col: t("common.indicator"), "region": t("common.region"), "year": t("common.year"), "value_text": t("common.value"), "citation": t("common.citation")}
    )
