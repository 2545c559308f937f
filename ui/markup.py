"""Drawing HTML written on the server through ``st.html``: the overview's metric cards, tables, closed
``<details>`` and charts (``analysis.html_tables``; the charts are SVG files shown as images,
``analysis.svg_charts.image_figure``).

Why ``st.html`` (issue 16, ``bench/RESULTS.md``): the browser parses it natively after DOMPurify, where Markdown
with HTML runs its raw-HTML plugin (``rehype-raw``, 189 KB, loaded on first use) and builds a React element per
tag, and a metric, a caption or an expander per figure is a Streamlit element each with its own React and style
work. On the overview's first visit these were most of what a browser did beyond a bare app. ``st.html`` drops
inline SVG (its sanitiser keeps the HTML profile), hence charts as images.
"""

from __future__ import annotations

import streamlit as st

from analysis import html_tables


def show_block(html: str) -> None:
    """HTML with no SVG (``analysis.html_tables``: metric cards, tables, closed ``<details>``) through ``st.html``:
    the browser parses it natively (after DOMPurify), instead of Markdown's parser building a React element per
    tag, which is the largest share of the overview's first-visit work (issue 16)."""
    if html:
        st.html(html_tables.BLOCK_CSS + html)
