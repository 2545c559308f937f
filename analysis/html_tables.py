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
