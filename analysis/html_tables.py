"""A table as plain HTML: the overview's small static tables without Streamlit's Arrow table element.

``st.table`` sends an Arrow table that the browser reads with ``arrowFormatUtils``, a 743 KB chunk of
JavaScript loaded before the page's first element is drawn (issue 16, ``bench/RESULTS.md``). The overview's
tables are a few rows of already formatted text: as HTML in ``st.markdown(unsafe_allow_html=True)`` they need no
such chunk. Pure Python, no Streamlit.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

import pandas as pd

from analysis import formatting as fmt
from analysis.svg_charts import escape

# a cell that reads as a number: "12.345", "95,4%", "−0,3", "Rp 110.000 (105.000–115.000)", "35 / 44", "2019"
_NUMBER = re.compile(r"^(Rp\s*)?[−+-]?\d[\d.,]*\s*(%|/\s*[\d.,]+)?(\s*\(.*\))?(\s*†)?$")


def numeric_columns(frame: pd.DataFrame) -> list[str]:
    """Columns whose every shown cell (the missing dash aside) reads as a number: right-aligned."""
    out = []
    for col in frame.columns:
        cells = [str(v).strip() for v in frame[col] if not fmt.is_missing(v) or isinstance(v, str)]
        cells = [c for c in cells if c and c != fmt.MISSING]
        if cells and all(_NUMBER.match(c) for c in cells):
            out.append(col)
    return out


def html_table(frame: pd.DataFrame, *, caption: str | None = None, numeric: Iterable[str] | None = None) -> str:
    """``frame`` (cells already formatted for the page's language) as an HTML ``<table>``: headers and cells
    escaped, numbers right-aligned (``numeric``, else ``numeric_columns``), an optional ``<caption>``. One
    line, no blank line (a blank line would end Markdown's HTML block)."""
    right = set(numeric_columns(frame) if numeric is None else numeric)
    align = ' style="text-align:right"'

    def cell(tag: str, value, col) -> str:
        text = "" if value is None or (not isinstance(value, str) and fmt.is_missing(value)) else value
        return f"<{tag}{align if col in right else ''}>{escape(text)}</{tag}>"

    head = "".join(cell("th", col, col) for col in frame.columns)
    rows = "".join("<tr>" + "".join(cell("td", v, col) for v, col in zip(row, frame.columns)) + "</tr>" for row in frame.itertuples(index=False))
    cap = f'<caption style="caption-side:bottom;text-align:left;font-size:0.875rem;opacity:0.75">{escape(caption)}</caption>' if caption else ""
    return f'<table class="html-table">{cap}<thead><tr>{head}</tr></thead><tbody>{rows}</tbody></table>'


# Styles for the blocks drawn with ``st.html`` (``ui.markup.show_block``), which Streamlit leaves unstyled. Kept
# close to Streamlit's own look (its metric with a border, its Markdown tables and captions, its expander).
BLOCK_CSS = (
    "<style>"
    ".dd-cards{display:grid;grid-template-columns:repeat(auto-fill,minmax(16rem,1fr));gap:1rem;margin:0}"
    ".dd-cards .dd-card{border:1px solid rgba(49,51,63,.2);border-radius:.5rem;padding:calc(1rem - 1px);margin:0}"
    ".dd-card dt{font-size:.875rem;margin:0 0 .25rem 0}"
    ".dd-card dd{margin:0}"
    ".dd-card .dd-value{font-size:2.25rem;line-height:1.2;padding-bottom:.25rem}"
    ".dd-card .dd-note{font-size:.875rem;color:rgba(49,51,63,.6)}"
    ".dd-help{font-size:.875rem;line-height:1.6;color:rgba(49,51,63,.6);margin:.5rem 0 1rem 0}"
    ".dd-h{font-size:1.75rem;font-weight:600;line-height:1.2;margin:0;padding:.75rem 0 1rem 0}"
    ".dd-lead{font-weight:600;margin:1rem 0 .5rem 0}"
    "ul.dd-list{margin:0 0 1rem 0;padding:0}ul.dd-list li{margin:.2rem 0 .2rem 1.15rem;padding-left:.3rem;line-height:1.6}"
    "table.html-table{border-collapse:collapse;font-size:.875rem;margin:0 0 1rem 0}"
    "table.html-table th,table.html-table td{border:1px solid rgba(49,51,63,.1);padding:.25rem .375rem;vertical-align:top}"
    "table.html-table th{font-weight:600;text-align:left}"
    "details.dd-more{border:1px solid rgba(49,51,63,.2);border-radius:.5rem;margin:0}"
    "details.dd-more>summary{cursor:pointer;padding:.75rem 1rem;font-size:1rem}"
    "details.dd-more>summary:hover{color:#ff4b4b}"
    "details.dd-more>div{padding:0 1rem 1rem 1rem;overflow-x:auto}"
    ".dd-row{display:flex;flex-wrap:wrap;gap:1rem}.dd-row>*{flex:1 1 20rem;min-width:0}"
    ".dd-figure{margin:0 0 .5rem 0}.dd-figure figcaption{font-size:.875rem}"
    "</style>"
)


def metric_cards(cards: Iterable[tuple[str, str, str | None]], *, help_text: str | None = None) -> str:
    """The overview's city figures as one block of cards: ``(label, value, note)`` each (the note, e.g. the CI,
    may be None), as a description list, then ``help_text`` under them. One element instead of a metric and a
    caption per figure: the browser's first visit draws each Streamlit element with its own React and style
    work (issue 16, ``bench/RESULTS.md``)."""
    items = "".join(
        f'<dl class="dd-card"><dt>{escape(label)}</dt><dd class="dd-value">{escape(value)}</dd>'
        + (f'<dd class="dd-note">{escape(note)}</dd>' if note else "") + "</dl>"
        for label, value, note in cards)
    help_html = f'<p class="dd-help">{escape(help_text)}</p>' if help_text else ""
    return f'<div class="dd-cards">{items}</div>{help_html}'


def collapsed(summary: str, html: str) -> str:
    """``html`` behind a closed ``<details>`` with ``summary`` as its label: the browser's own disclosure, in place
    of ``st.expander`` (whose closed content Streamlit still draws, as React elements, on every first visit)."""
    return f'<details class="dd-more"><summary>{escape(summary)}</summary><div>{html}</div></details>'


def side_by_side(blocks: Iterable[str]) -> str:
    """HTML ``blocks`` in one row that wraps on a narrow screen (the overview's two charts of the gap): one
    element where ``st.columns`` would make a column element per block."""
    return '<div class="dd-row">' + "".join(f"<div>{b}</div>" for b in blocks) + "</div>"


def section(heading: str | None, *parts: str | None) -> str:
    """A part of a page as one HTML block: ``heading`` (styled as Streamlit's subheader) then the ``parts`` that
    are not None (HTML from this module: ``metric_cards``, ``bullets``, ``note``, ``collapsed``, tables, figures)."""
    head = f'<h3 class="dd-h">{escape(heading)}</h3>' if heading else ""
    return head + "".join(p for p in parts if p)


def bullets(items: Iterable[str]) -> str:
    """Plain-text ``items`` as a bulleted list (escaped: no Markdown)."""
    return '<ul class="dd-list">' + "".join(f"<li>{escape(i)}</li>" for i in items) + "</ul>"


def note(text: str, *, lead: bool = False) -> str:
    """A line of small grey text under a figure or table (as ``st.caption``), or with ``lead`` a bold line that
    introduces what follows."""
    return f'<p class="dd-lead">{escape(text)}</p>' if lead else f'<p class="dd-help">{escape(text)}</p>'
