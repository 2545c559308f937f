"""Drawing markup written on the server: the overview's SVG charts (``analysis.svg_charts``) and HTML tables
(``analysis.html_tables``), through ``st.markdown(unsafe_allow_html=True)``.

Why Markdown and not ``st.html``: ``st.html``'s sanitiser keeps the HTML profile only and drops every SVG
element (checked in Chromium with Streamlit 1.67); Markdown with HTML keeps SVG as written, at the cost of its
raw-HTML plugin (``rehype-raw``, 189 KB, loaded once and only for this element), against the 1.5 MB of Vega
and Arrow JavaScript an ``st.vega_lite_chart`` or ``st.table`` waits for (issue 16, ``bench/RESULTS.md``).
"""

from __future__ import annotations

import streamlit as st


def show_svg(figure: str) -> None:
    """An inline SVG chart with its download link (``ui.cached.gradient_figure`` / ``context_figure``)."""
    st.markdown(figure, unsafe_allow_html=True)


def show_html(html: str) -> None:
    """HTML made on the server and kept (``ui.cached``: a table made once per build), drawn as it is."""
    st.markdown(html, unsafe_allow_html=True)
