"""Numbers as people read them: Indonesian (decimal comma) or English (decimal point).

Bahasa Indonesia writes ``95,4%`` and ``11.011.862`` (comma for decimals, dot for thousands; PUEBI / KBBI
usage, and BPS publications in Indonesian); English writes ``95.4%`` and ``11,011,862``. Every number a page
shows goes through this module so that a page never formats by hand, and so that tests can compare what is
on screen with the processed data by formatting the data the same way.

Estimates in ``data/processed`` are proportions in [0, 1] for proportion indicators (see
``docs/ARTEFACTS.md``); BPS tables are already in percent. ``format_percent`` takes a proportion by default
and ``scale=1`` for values already in percent.

Pure functions, no Streamlit.
"""

from __future__ import annotations

import math

LANGUAGES = ("id", "en")
MISSING = "–"  # en dash: shown for a missing or suppressed number, never a zero

# plotly ``layout.separators``: first char is the decimal mark, second the thousands separator.
_PLOTLY_SEPARATORS = {"id": ",.", "en": ".,"}


def _check_lang(lang: str) -> str:
    if lang not in LANGUAGES:
        raise ValueError(f"unknown language {lang!r}; expected one of {LANGUAGES}")
    return lang


def is_missing(x) -> bool:
    if x is None:
        return True
    try:
        return bool(math.isnan(float(x)))
    except (TypeError, ValueError):
        # pandas.NA and other non-numbers
        return True


def format_number(x, lang: str, decimals: int = 1) -> str:
    """``1234.5`` -> ``1.234,5`` (id) or ``1,234.5`` (en); missing -> ``–``."""
    _check_lang(lang)
    if is_missing(x):
        return MISSING
    value = round(float(x), decimals)
    if value == 0:
        value = 0.0  # never show "-0,0"
    text = f"{abs(value):,.{decimals}f}"  # English layout first
    if lang == "id":
        text = text.replace(",", "\x00").replace(".", ",").replace("\x00", ".")
    # a true minus sign (U+2212) reads better than a hyphen next to digits
    return ("\u2212" + text) if value < 0 else text


def format_int(x, lang: str) -> str:
    """``11011862`` -> ``11.011.862`` (id) or ``11,011,862`` (en)."""
    return format_number(x, lang, decimals=0)


def format_percent(x, lang: str, decimals: int = 1, scale: float = 100.0) -> str:
    """A proportion as a percentage: ``0.954`` -> ``95,4%`` (id) / ``95.4%`` (en).

    ``scale=1`` when ``x`` is already a percentage (BPS tables).
    """
    if is_missing(x):
        return MISSING
    return format_number(float(x) * scale, lang, decimals) + "%"


def format_points(x, lang: str, decimals: int = 1, scale: float = 100.0) -> str:
    """A difference of proportions in percentage points, signed: ``-0.052`` -> ``−5,2 poin persen``."""
    if is_missing(x):
        return MISSING
    value = float(x) * scale
    text = format_number(value, lang, decimals)
    if value > 0 and text != format_number(0, lang, decimals):
        text = "+" + text
    return text + (" poin persen" if lang == "id" else " percentage points")


def format_ci(low, high, lang: str, decimals: int = 1, scale: float = 100.0, percent: bool = True) -> str:
    """A 95% confidence interval: ``93,1–97,2%`` (id) / ``93.1–97.2%`` (en). An interval with a negative bound (a
    difference) is written with a word, ``−10,6 s.d. −0,4`` / ``−10.6 to −0.4``, because a dash between signed
    numbers (``−10.6–−0.4``, ``−9.4–0.6``) is easily read as a sign."""
    if is_missing(low) or is_missing(high):
        return MISSING
    lo = format_number(float(low) * scale, lang, decimals)
    hi = format_number(float(high) * scale, lang, decimals)
    sep = "–" if float(low) >= 0 else (" s.d. " if lang == "id" else " to ")
    return f"{lo}{sep}{hi}" + ("%" if percent else "")


def format_estimate(estimate, low, high, lang: str, decimals: int = 1, scale: float = 100.0) -> str:
    """``95,4% (93,1–97,2)``: an estimate with its 95% CI, the way every page shows one."""
    if is_missing(estimate):
        return MISSING
    value = format_percent(estimate, lang, decimals, scale)
    ci = format_ci(low, high, lang, decimals, scale, percent=False)
    return value if ci == MISSING else f"{value} ({ci})"


def format_p_value(p, lang: str) -> str:
    """``0.0004`` -> ``<0,001``; otherwise three decimals."""
    if is_missing(p):
        return MISSING
    if float(p) < 0.001:
        return "<" + format_number(0.001, lang, 3)
    return format_number(p, lang, 3)


def plotly_separators(lang: str) -> str:
    """plotly ``layout.separators`` for ``lang`` (axis ticks and hover numbers follow it)."""
    return _PLOTLY_SEPARATORS[_check_lang(lang)]
