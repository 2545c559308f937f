"""The printable kelurahan profile: one self-contained HTML file (no script, no external request).

Print it from the browser (Ctrl+P) to get a PDF. Tables only, with inline CSS, so it prints the same
everywhere and opens offline. All text is passed in (page copy lives in ``locales/``); values are escaped.

Pure: no streamlit import.
"""

from __future__ import annotations

import html

import pandas as pd

CSS = """
body{font-family:'Liberation Sans',Arial,sans-serif;margin:2em;color:#111;max-width:60em}
h1{font-size:1.6em;margin-bottom:.2em} .sub{color:#444;margin-top:0}
table{border-collapse:collapse;width:100%;margin:1em 0;font-size:.9em}
th,td{border:1px solid #bbb;padding:.3em .5em;text-align:left;vertical-align:top} th{background:#eee}
.note{font-size:.85em;color:#333} .warn{background:#fff3cd;border:1px solid #e0c36a;padding:.5em}
@media print{body{margin:1cm} .noprint{display:none}}
"""


def _table(df: pd.DataFrame) -> str:
    head = "".join(f"<th>{html.escape(str(c))}</th>" for c in df.columns)
    body = "".join("<tr>" + "".join(f"<td>{html.escape(str(v))}</td>" for v in row) + "</tr>" for row in df.itertuples(index=False))
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


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
    """The profile as HTML bytes; ``warning`` (e.g. "synthetic data") is boxed at the top."""
    parts = [
        f"<!DOCTYPE html><html lang=\"{html.escape(lang)}\"><head><meta charset=\"utf-8\">",
        f"<title>{html.escape(title)}</title><style>{CSS}</style></head><body>",
        f"<h1>{html.escape(title)}</h1><p class=\"sub\">{_md_bold(subtitle)}</p>",
    ]
    if warning:
        parts.append(f"<p class=\"warn\">{html.escape(warning)}</p>")
    for note in notes:
        parts.append(f"<p class=\"note\">{html.escape(note)}</p>")
    if table is not None and not table.empty:
        parts.append(_table(table))
    if covariates is not None and not covariates.empty:
        parts.append(_table(covariates))
    parts.append(f"<p class=\"note\">{html.escape(footer)}</p></body></html>")
    return "".join(parts).encode("utf-8")


def _md_bold(text: str) -> str:
    """Escape, then render the only markdown the subtitle uses (``**bold**``)."""
    out, bold = [], False
    for i, chunk in enumerate(html.escape(text).split("**")):
        if i:
            out.append("</b>" if bold else "<b>")
            bold = not bold
        out.append(chunk)
    if bold:
        out.append("</b>")
    return "".join(out)
