"""The overview's charts as inline SVG written on the server: a dot with its 95% CI per group (the gap by income
or education) and lines over the years (DKI Jakarta against Indonesia). Pure Python, no Streamlit.

Why not Vega-Lite for these (issue 16, ``bench/RESULTS.md``): Streamlit draws a page's elements once the
lazily loaded JavaScript of every element type on it has arrived, and a Vega chart needs Vega's ``embed``
(775 KB) and Arrow's ``arrowFormatUtils`` (743 KB). The overview is the page every visitor opens first; its
charts are SVG files shown as images (``image_figure``), which need neither.

Rules, as in ``vega_charts.py`` and ``figures.py``:
- colours from the project's palette (Okabe-Ito, ``figures.OKABE_ITO``), grey for what has no number;
- every title, label and note is an argument (copy lives in ``locales/``); numbers on axes follow
  ``formatting`` for ``lang`` (decimal comma in Indonesian), hover texts are formatted by the caller;
- accessible: the ``<svg>`` is ``role="img"`` with an ``aria-label`` (the title), a ``<title>`` and a
  ``<desc>`` listing every mark's text (the image's ``alt``); each mark (``<g class="mark">``) has a ``<title>``,
  shown on hover where the SVG is opened itself (the downloaded file); the values are written on the chart, as
  hover does not reach an image, a touch screen or a printout;
- a missing or suppressed value is a gap (no dot, no segment of line), said in a note under the chart.

The markup is one line with no blank line and every text is escaped, ``$`` and ``:`` included, so that it
can also be drawn inline through Streamlit's Markdown (as it was before issue 16's sixth pass): a blank line
would end Markdown's HTML block, and ``$...$`` / ``:word:`` would load KaTeX and the emoji plugin.
"""

from __future__ import annotations

import math
import xml.etree.ElementTree as ET  # noqa: N817 (parses this module's own output)
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from analysis import formatting as fmt
from analysis.figures import NO_ESTIMATE_GREY, OKABE_ITO

FONT = "Source Sans, Liberation Sans, Arial, sans-serif"
AXIS_GREY = "#6b6b6b"
GRID_GREY = "#e6e6e6"
MISSING_GREY = "#8a8a8a"  # the dash of a gap: darker than NO_ESTIMATE_GREY so it reads on white
CHAR_WIDTH = 6.4  # px per character of 12 px text, to make room for the longest group label


def escape(text) -> str:
    """``text`` safe as SVG/HTML text or a double-quoted attribute: ``& < > "`` and ``'`` as entities, and
    ``$`` and ``:`` too (see the module's docstring)."""
    return (
        str(text).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace('"', "&quot;")
        .replace("'", "&#39;").replace("$", "&#36;").replace(":", "&#58;")
    )


def _n(x: float) -> str:
    """A coordinate with at most one decimal (crisp enough, short markup)."""
    r = round(float(x), 1)
    return str(int(r)) if r == int(r) else str(r)


def nice_step(span: float, target: int = 5) -> float:
    """A round tick step (1, 2, 2.5 or 5 times a power of ten) giving at most ``target`` intervals over ``span``."""
    if span <= 0 or not math.isfinite(span):
        return 1.0
    raw = span / target
    power = 10 ** math.floor(math.log10(raw))
    for m in (1, 2, 2.5, 5, 10):
        if m * power >= raw:
            return m * power
    return 10 * power


def ticks(lo: float, hi: float, target: int = 5) -> list[float]:
    """Round tick values covering ``[lo, hi]`` (the first at or below ``lo``, the last at or above ``hi``)."""
    step = nice_step(hi - lo, target)
    first = math.floor(lo / step + 1e-9) * step
    out = []
    k = 0
    while True:
        v = round(first + k * step, 10)
        out.append(v)
        if v >= hi - 1e-9:
            return out
        k += 1


def _svg(body: list[str], *, width: int, height: int, title: str, desc: str, kind: str) -> str:
    # width 100% of the column up to 1.2 times the drawing's own size: text stays between 12 and ~15 px
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" class="svg-chart" data-chart="{escape(kind)}" role="img" '
        f'aria-label="{escape(title)}" viewBox="0 0 {width} {height}" width="100%" preserveAspectRatio="xMinYMin meet" '
        f'style="max-width:{width * 6 // 5}px;height:auto;font-family:{escape(FONT)}">'
        f"<title>{escape(title)}</title><desc>{escape(desc)}</desc>" + "".join(body) + "</svg>"
    )


def _text(x: float, y: float, text: str, *, anchor: str = "start", size: int = 12, fill: str = "#262730", weight: str | None = None) -> str:
    bold = f' font-weight="{weight}"' if weight else ""
    return f'<text x="{_n(x)}" y="{_n(y)}" text-anchor="{anchor}" font-size="{size}" fill="{fill}"{bold}>{escape(text)}</text>'


def _notes(notes: Iterable[str], y: float, x: float = 4) -> tuple[list[str], float]:
    out = []
    for note in notes:
        if note:
            y += 16
            out.append(_text(x, y, note, size=11, fill=AXIS_GREY))
    return out, y


@dataclass(frozen=True)
class GroupEstimate:
    """One row of a dot-and-whisker chart: a group's label, its estimate and 95% CI (proportions; ``None``
    or NaN when there is no reliable estimate) and the text shown on hover."""

    label: str
    estimate: float | None
    ci_low: float | None
    ci_high: float | None
    hover: str


def group_estimates(
    rows: Sequence[GroupEstimate],
    *,
    lang: str,
    title: str,
    missing_note: str,
    notes: Sequence[str] = (),
    color: str = OKABE_ITO[0],
    width: int = 520,
    row_height: int = 28,
    value_width: int = 135,
) -> str:
    """A dot and its 95% CI per group, in the order given (quintile 1 to 5, no diploma to tertiary), as SVG.

    The axis is a share and starts where the data start (as the Vega chart did: a five-point gap between
    groups stays visible); the whisker says how far each dot can be trusted. A row with no estimate keeps
    its place and label and shows a grey dash, explained by ``missing_note`` under the chart; ``notes`` are
    further lines under it (e.g. that the survey is synthetic). No rows: the title and the notes only.
    Each estimate is also written at the right with its CI (``value_width``): the hover text is not all a
    reader gets, on a touch screen, in a printed copy or where the chart is drawn as an image (``ui.cached``).
    """
    label_w = min(200.0, max([len(r.label) for r in rows] + [4]) * CHAR_WIDTH + 14)
    x0, x1 = label_w, width - 10.0 - value_width
    top = 34.0
    drawn = [r for r in rows if not (fmt.is_missing(r.estimate) or fmt.is_missing(r.ci_low) or fmt.is_missing(r.ci_high))]
    if drawn:
        lo = max(0.0, min(float(r.ci_low) for r in drawn) - 0.02)
        hi = min(1.0, max(float(r.ci_high) for r in drawn) + 0.02)
    else:
        lo, hi = 0.0, 1.0
    tick_values = [v for v in ticks(lo, hi) if -1e-9 <= v <= 1 + 1e-9]
    lo, hi = min(lo, tick_values[0]), max(hi, tick_values[-1])
    span = hi - lo or 1.0

    def x(v: float) -> float:
        return x0 + (float(v) - lo) / span * (x1 - x0)

    body = [_text(4, 18, title, size=13)]
    plot_bottom = top + row_height * len(rows)
    step = tick_values[1] - tick_values[0] if len(tick_values) > 1 else 0.1
    decimals = 0 if step * 100 >= 1 - 1e-9 else 1
    axis = ['<g class="axis" aria-hidden="true">']
    for v in tick_values:
        axis.append(f'<line x1="{_n(x(v))}" x2="{_n(x(v))}" y1="{_n(top)}" y2="{_n(plot_bottom)}" stroke="{GRID_GREY}"/>')
        axis.append(_text(x(v), plot_bottom + 16, fmt.format_percent(v, lang, decimals), anchor="middle", size=11, fill=AXIS_GREY))
    axis.append(f'<line x1="{_n(x0)}" x2="{_n(x1)}" y1="{_n(plot_bottom)}" y2="{_n(plot_bottom)}" stroke="{AXIS_GREY}"/></g>')
    body += axis
    marks = ['<g class="marks">']
    any_missing = False
    for i, r in enumerate(rows):
        cy = top + row_height * (i + 0.5)
        marks.append(_text(x0 - 8, cy + 4, r.label, anchor="end"))
        if any(r is d for d in drawn):
            a, b, e = x(r.ci_low), x(r.ci_high), x(r.estimate)
            marks.append(
                f'<g class="mark"><title>{escape(r.hover)}</title>'
                f'<rect x="{_n(x0)}" y="{_n(cy - row_height / 2)}" width="{_n(x1 - x0)}" height="{row_height}" fill="#ffffff" fill-opacity="0"/>'
                f'<line x1="{_n(a)}" x2="{_n(b)}" y1="{_n(cy)}" y2="{_n(cy)}" stroke="{color}" stroke-width="2"/>'
                f'<line x1="{_n(a)}" x2="{_n(a)}" y1="{_n(cy - 5)}" y2="{_n(cy + 5)}" stroke="{color}" stroke-width="1.5"/>'
                f'<line x1="{_n(b)}" x2="{_n(b)}" y1="{_n(cy - 5)}" y2="{_n(cy + 5)}" stroke="{color}" stroke-width="1.5"/>'
                f'<circle cx="{_n(e)}" cy="{_n(cy)}" r="5.5" fill="{color}"/>'
                + _text(x1 + 10, cy + 4, fmt.format_percent(float(r.estimate), lang, 1))
                + _text(x1 + 56, cy + 4, f"({fmt.format_ci(r.ci_low, r.ci_high, lang)})", size=11, fill=AXIS_GREY)
                + "</g>"
            )
        else:
            any_missing = True
            marks.append(
                f'<g class="mark missing"><title>{escape(r.hover)}</title>'
                f'<rect x="{_n(x0)}" y="{_n(cy - row_height / 2)}" width="{_n(x1 - x0)}" height="{row_height}" fill="{NO_ESTIMATE_GREY}" fill-opacity="0.25"/>'
                + _text(x0 + 6, cy + 4, fmt.MISSING, fill=MISSING_GREY) + "</g>"
            )
    marks.append("</g>")
    body += marks
    return _finish(body, ([missing_note] if any_missing else []) + list(notes), plot_bottom + 20, [r.hover for r in rows],
                   width=width, title=title, kind="groups")


@dataclass(frozen=True)
class SeriesPoint:
    """One point of a line chart: its line's name (``series``), the year, the value and the hover text."""

    series: str
    year: int
    value: float | None
    hover: str


def line_series(
    points: Sequence[SeriesPoint],
    *,
    lang: str,
    title: str,
    percent: bool,
    gap_note: str,
    notes: Sequence[str] = (),
    width: int = 820,
    height: int = 220,
) -> str:
    """Lines over the years, one per series in order of first appearance (DKI Jakarta, then Indonesia), each
    point a mark with its hover text, colours in Okabe-Ito order, as SVG.

    Years are evenly spaced categories (the years any series has), as the Vega chart's ordinal axis. A
    series with no value for a year inside its span has a gap there (the line is broken, not drawn across
    the missing year), said in ``gap_note``. ``percent``: values are percentages (0-100) and the axis reads
    "80%"; otherwise plain numbers. The value axis starts where the data start.
    """
    valued = [p for p in points if not fmt.is_missing(p.value)]
    years = sorted({int(p.year) for p in points})
    names = list(dict.fromkeys(p.series for p in points))
    left, right, top = 58.0, 56.0, 30.0  # room at the right for the last value's label
    plot_bottom = top + height
    body = [_text(4, 18, title, size=13)]
    if valued:
        vmin, vmax = min(float(p.value) for p in valued), max(float(p.value) for p in valued)
        pad = (vmax - vmin) * 0.08 or max(abs(vmax) * 0.05, 1.0)
        tick_values = ticks(vmin - pad, vmax + pad)
        if percent:
            tick_values = [v for v in tick_values if v >= 0] or [0.0]
        lo, hi = tick_values[0], tick_values[-1]
    else:
        lo, hi, tick_values = 0.0, 100.0 if percent else 1.0, []
    span = (hi - lo) or 1.0
    band = (width - left - right) / max(len(years), 1)

    def x(year: int) -> float:
        return left + band * (years.index(int(year)) + 0.5)

    def y(v: float) -> float:
        return plot_bottom - (float(v) - lo) / span * height

    step = tick_values[1] - tick_values[0] if len(tick_values) > 1 else 1.0
    decimals = 0 if step >= 1 - 1e-9 else 1
    axis = ['<g class="axis" aria-hidden="true">']
    for v in tick_values:
        label = fmt.format_percent(v, lang, decimals, scale=1) if percent else fmt.format_number(v, lang, decimals)
        axis.append(f'<line x1="{_n(left)}" x2="{_n(width - right)}" y1="{_n(y(v))}" y2="{_n(y(v))}" stroke="{GRID_GREY}"/>')
        axis.append(_text(left - 6, y(v) + 4, label, anchor="end", size=11, fill=AXIS_GREY))
    for yr in years:
        axis.append(_text(x(yr), plot_bottom + 16, str(yr), anchor="middle", size=11, fill=AXIS_GREY))
    axis.append(f'<line x1="{_n(left)}" x2="{_n(width - right)}" y1="{_n(plot_bottom)}" y2="{_n(plot_bottom)}" stroke="{AXIS_GREY}"/></g>')
    body += axis
    any_gap = False
    lines, marks = ['<g class="lines" aria-hidden="true">'], ['<g class="marks">']
    for k, name in enumerate(names):
        color = OKABE_ITO[k % len(OKABE_ITO)]
        own = {int(p.year): p for p in valued if p.series == name}
        if not own:
            continue
        segments: list[list[int]] = [[]]
        for yr in years[years.index(min(own)): years.index(max(own)) + 1]:
            if yr in own:
                segments[-1].append(yr)
            else:
                any_gap = True
                if segments[-1]:
                    segments.append([])
        for seg in segments:
            if len(seg) > 1:
                path = " ".join(f"{_n(x(yr))},{_n(y(own[yr].value))}" for yr in seg)
                lines.append(f'<polyline points="{path}" fill="none" stroke="{color}" stroke-width="2.5" stroke-linejoin="round"/>')
        last = max(own)
        for yr in sorted(own):
            p = own[yr]
            value_label = ""
            if yr == last:  # the latest value of each line in words: not only on hover (see group_estimates)
                text = fmt.format_percent(float(p.value), lang, 1, scale=1) if percent else fmt.format_number(float(p.value), lang, 1)
                value_label = _text(x(yr) + 8, y(p.value) - 8, text, fill=color, weight="600")
            marks.append(f'<g class="mark"><title>{escape(p.hover)}</title><circle cx="{_n(x(yr))}" cy="{_n(y(p.value))}" r="4.5" fill="{color}"/>{value_label}</g>')
    lines.append("</g>")
    marks.append("</g>")
    body += lines + marks
    legend_y = plot_bottom + 38
    legend, lx = ['<g class="legend">'], left
    for k, name in enumerate(names):
        color = OKABE_ITO[k % len(OKABE_ITO)]
        legend.append(f'<rect x="{_n(lx)}" y="{_n(legend_y - 9)}" width="12" height="12" fill="{color}"/>')
        legend.append(_text(lx + 17, legend_y + 1, name))
        lx += 17 + len(name) * CHAR_WIDTH + 22
    legend.append("</g>")
    body += legend
    return _finish(body, ([gap_note] if any_gap else []) + list(notes), legend_y + 4, [p.hover for p in valued],
                   width=width, title=title, kind="series")


def _finish(body: list[str], notes: list[str], notes_top: float, hovers: list[str], *, width: int, title: str, kind: str) -> str:
    """The chart's notes under ``notes_top``, then the ``<svg>`` around ``body``, its ``<desc>`` every mark's hover text."""
    notes_svg, bottom = _notes(notes, notes_top)
    return _svg(body + notes_svg, width=width, height=int(bottom + 10), title=title, desc="; ".join(hovers), kind=kind)


def image_figure(svg: str, url: str, filename: str, label: str) -> str:
    """HTML that shows ``svg`` (a chart from this module, saved at ``url``) as an ``<img>``, with a link that
    downloads the same file as ``filename``: for ``st.html``, which the browser parses natively.

    Why an image and not the markup inline (issue 16, ``bench/RESULTS.md``): inline SVG needs Markdown with
    HTML, whose parser (``rehype-raw``, 189 KB, loaded on first use) builds a React element per SVG node; three
    charts cost a bare app ~0.35 s of its first visit, as images ~0.14 s. ``st.html``'s sanitiser would drop
    inline SVG. An image shows no hover texts, so the charts write their values (``group_estimates``,
    ``line_series``) and the ``alt`` text carries the title and every mark's text (the chart's ``<desc>``)."""
    root = ET.fromstring(svg)
    ns = {"s": "http://www.w3.org/2000/svg"}
    title = root.findtext("s:title", default="", namespaces=ns)
    desc = root.findtext("s:desc", default="", namespaces=ns)
    _, _, width, height = (float(v) for v in root.get("viewBox", "0 0 440 200").split())
    return (
        f'<figure class="dd-figure" data-chart="{escape(root.get("data-chart", ""))}">'
        f'<img class="svg-chart-img" src="{escape(url)}" alt="{escape(title + ". " + desc)}" width="{int(width)}" height="{int(height)}" '
        f'style="width:100%;max-width:{int(width) * 6 // 5}px;height:auto" decoding="async"/>'
        f'<figcaption><a class="svg-download" href="{escape(url)}" download="{escape(filename)}">{escape(label)}</a></figcaption></figure>'
    )
