"""The printable reports: one self-contained HTML builder and one CSS for both of them (the kelurahan
profile, and the Upload page's kampung report in ``ui.views.upload``). No script, no external request.

Print a report from the browser (Ctrl+P) to get a PDF. Tables only, with inline CSS, so it prints the same
everywhere and opens offline. All text is passed in (page copy lives in ``locales/``); values are escaped.

Pure: no streamlit import.
"""

from __future__ import annotations

import html
from collections.abc import Iterable

import pandas as pd

CSS = """
body{font-family:'Liberation Sans',Arial,sans-serif;margin:2em;color:#111;max-width:64em}
h1{font-size:1.6em;margin-bottom:.2em} h2{font-size:1.2em;margin-top:1.5em} .sub{color:#444;margin-top:0}
table{border-collapse:collapse;width:100%;margin:1em 0;font-size:.9em}
th,td{border:1px solid #bbb;padding:.3em .5em;text-align:left;vertical-align:top} th{background:#eee}
.note{font-size:.85em;color:#333} .warn{background:#fff3cd;border:1px solid #e0c36a;padding:.5em}
@media print{body{margin:1cm} .noprint{display:none}}
"""

# A report is a title and a list of blocks ``(kind, content)``: "sub" (a subtitle; ``**bold**`` rendered),
# "h2", "warn" (boxed), "note" (small print) with text, or "table" with a frame (left out when None or empty).
Block = tuple[str, "str | pd.DataFrame | None"]


def html_report(title: str, lang: str, blocks: Iterable[Block]) -> bytes:
    """The report as UTF-8 HTML bytes: ``<h1>`` title, then the blocks in order, every value escaped."""
    parts = [
        f"<!DOCTYPE html><html lang=\"{html.escape(lang)}\"><head><meta charset=\"utf-8\">",
        f"<title>{html.escape(title)}</title><style>{CSS}</style></head><body>",
        f"<h1>{html.escape(title)}</h1>",
    ]
    for kind, content in blocks:
        if kind == "table":
            if content is not None and not content.empty:
                parts.append(_table(content))
        elif kind == "sub":
            parts.append(f"<p class=\"sub\">{_md_bold(content)}</p>")
        elif kind == "h2":
            parts.append(f"<h2>{html.escape(content)}</h2>")
        elif kind in ("warn", "note"):
            parts.append(f"<p class=\"{kind}\">{html.escape(content)}</p>")
        else:
            raise ValueError(f"unknown report block {kind!r}")
    parts.append("</body></html>")
    return "".join(parts).encode("utf-8")


def profile_html(
    title: str,
    subtitle: str,
    lang: str,
    table: pd.DataFrame | None,
    covariates: pd.DataFrame | None,
    notes: list[str],
    footer: str,
    warning: str | None = None,
) -> bytes:
    """The kelurahan profile; ``warning`` (e.g. "synthetic data") is boxed at the top."""
    blocks: list[Block] = [("sub", subtitle)]
    if warning:
        blocks.append(("warn", warning))
    blocks += [("note", note) for note in notes]
    blocks += [("table", table), ("table", covariates), ("note", footer)]
    return html_report(title, lang, blocks)


def _table(df: pd.DataFrame) -> str:
    head = "".join(f"<th>{html.escape(str(c))}</th>" for c in df.columns)
    body = "".join("<tr>" + "".join(f"<td>{html.escape(str(v))}</td>" for v in row) + "</tr>" for row in df.itertuples(index=False))
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def _md_bold(text: str) -> str:
    """Escape, then render the only markdown a subtitle uses (``**bold**``)."""
    out, bold = [], False
    for i, chunk in enumerate(html.escape(text).split("**")):
        if i:
            out.append("</b>" if bold else "<b>")
            bold = not bold
        out.append(chunk)
    if bold:
        out.append("</b>")
    return "".join(out)
