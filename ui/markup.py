"""Drawing markup written on the server: the overview's SVG charts (``analysis.svg_charts``) and HTML tables
(``analysis.html_tables``), through ``st.markdown(unsafe_allow_html=True)``.

Why Markdown and not ``st.html``: ``st.html``'s sanitiser keeps the HTML profile only and drops every SVG
element (checked in Chromium with Streamlit 1.67); Markdown with HTML keeps SVG as written, at the cost of its
raw-HTML plugin (``rehype-raw``, 189 KB, loaded once and only for this element), against the 1.5 MB of Vega
and Arrow JavaScript an ``st.vega_lite_chart`` or ``st.table`` waits for (issue 16, ``bench/RESULTS.md``).
"""

from __future__ import annotations

from collections.abc import Iterable

import pandas as pd
import streamlit as st

from analysis import html_tables


def show_svg(figure: str) -> None:
    """An inline SVG chart with its download link (``ui.cached.gradient_figure`` / ``context_figure``)."""
    st.markdown(figure, unsafe_allow_html=True)


def show_table(frame: pd.DataFrame, *, caption: str | None = None, numeric: Iterable[str] | None = None) -> None:
    """A small static table (formatted cells) as HTML, its ``caption`` under it (``html_tables.html_table``)."""
    st.markdown(html_tables.html_table(frame, caption=caption, numeric=numeric), unsafe_allow_html=True)
