"""Drawing figures the dashboard's way: plotly figures and Vega-Lite specs with their own colours and a PNG
download named after the chart. (Cached specs, e.g. the map's, are built in ``ui.cached``.)"""

from __future__ import annotations

import plotly.graph_objects as go
import streamlit as st

from analysis import figures


def show(fig: go.Figure | dict, filename: str, key: str | None = None, **kwargs):
    """Draw a figure with our own template (``theme=None``: Streamlit's theme would override colours) and a
    modebar that saves a PNG named after the chart."""
    return st.plotly_chart(fig, theme=None, config=figures.png_config(filename), key=key, **kwargs)


def show_vega(spec: dict, key: str | None = None, **kwargs):
    """Draw a Vega-Lite spec with its own colours (``theme=None``). Streamlit's chart toolbar offers
    "Download as PNG" for every Vega chart."""
    return st.vega_lite_chart(spec, theme=None, width="stretch", key=key, **kwargs)
