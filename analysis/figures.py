"""Plotly figure factories for the dashboard: pure functions from tidy frames to ``go.Figure``.

Rules every factory follows (see ``../shared/GUIDE.md``, stack notes):

- The template and every colour are set explicitly. Importing streamlit switches plotly's default template to
  "streamlit", whose colour scales are placeholders the browser fills in; a figure built on it and exported
  (PNG, HTML profile, tests) comes out black. ``TEMPLATE`` is plotly's own "plotly_white".
- Colour scales are colour-blind safe: viridis for sequential values (Smith & van der Walt 2015), and a
  ColorBrewer diverging scheme (PuOr, Brewer 2003: safe for the common colour-vision deficiencies) pinned at
  zero for gaps, so that "above the city" and "below the city" never swap colour when the range changes.
- Numbers in hover text are formatted by the caller (``analysis.formatting``) and passed in as text; axis
  ticks follow ``layout.separators`` (decimal comma in Indonesian).
- The map and the overview's BPS series are not here: they are Vega-Lite (``vega_charts.py``), so the pages
  a visitor opens first never load plotly.js.
- No copy lives here: every title, axis label and legend name is an argument (page copy is in ``locales/``).
"""

from __future__ import annotations

import plotly.graph_objects as go

TEMPLATE = "plotly_white"
SEQUENTIAL = "Viridis"
DIVERGING = "PuOr"
# Discrete colours: the Okabe & Ito (2008) colour-blind-safe palette.
OKABE_ITO = ["#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#D55E00", "#F0E442", "#000000"]
NO_ESTIMATE_GREY = "#d9d9d9"
FLAG_OUTLINE = "#000000"


def png_config(filename: str) -> dict:
    """plotly config for ``st.plotly_chart(config=...)``: the modebar's camera button saves a PNG."""
    return {
        "displaylogo": False,
        "toImageButtonOptions": {"format": "png", "filename": filename, "scale": 2},
        "modeBarButtonsToRemove": ["lasso2d", "select2d"],
    }


def _base_layout(fig: go.Figure, separators: str, title: str | None = None, height: int | None = None) -> go.Figure:
    fig.update_layout(
        template=TEMPLATE,
        separators=separators,
        title={"text": title} if title else None,
        margin={"l": 10, "r": 10, "t": 50 if title else 10, "b": 10},
        font={"family": "Liberation Sans, Arial, sans-serif", "size": 13},
    )
    if height:
        fig.update_layout(height=height)
    return fig


def estimate_bars(
    frame,
    *,
    separators: str,
    x_title: str,
    reference: float | None = None,
    reference_name: str | None = None,
    title: str | None = None,
    tickformat: str = ".0%",
    height: int | None = None,
) -> go.Figure:
    """Horizontal bars with 95% CI whiskers, one bar per row of ``frame``.

    ``frame``: ``label``, ``estimate``, ``ci_low``, ``ci_high``, ``hover`` and optionally ``group`` (colour,
    e.g. kelurahan / kota / city) and ``category`` (the y position; defaults to ``label``). ``reference`` draws
    a dashed vertical line (the city value).
    """
    fig = go.Figure()
    groups = list(dict.fromkeys(frame["group"])) if "group" in frame else [None]
    for i, group in enumerate(groups):
        part = frame if group is None else frame[frame["group"] == group]
        est = part["estimate"].astype(float)
        fig.add_trace(
            go.Bar(
                x=est.tolist(),
                y=(part["category"] if "category" in part else part["label"]).tolist(),
                orientation="h",
                name=str(group) if group is not None else "",
                marker={"color": OKABE_ITO[i % len(OKABE_ITO)]},
                error_x={
                    "type": "data",
                    "symmetric": False,
                    "array": (part["ci_high"].astype(float) - est).tolist(),
                    "arrayminus": (est - part["ci_low"].astype(float)).tolist(),
                    "color": "#333333",
                    "thickness": 1.2,
                },
                hovertext=part["hover"].tolist(),
                hovertemplate="%{hovertext}<extra></extra>",
                textposition="none",
                showlegend=group is not None,
            )
        )
    if reference is not None:
        fig.add_vline(x=float(reference), line={"dash": "dash", "color": "#000000", "width": 1.5})
        if reference_name:
            fig.add_annotation(x=float(reference), y=1.02, yref="paper", text=reference_name, showarrow=False, font={"size": 11})
    fig.update_layout(barmode="group", xaxis={"title": {"text": x_title}, "tickformat": tickformat, "rangemode": "tozero"}, yaxis={"autorange": "reversed"}, legend={"orientation": "h", "y": -0.15})
    n_rows = len(frame) if "category" not in frame else frame["category"].nunique() * max(1, len(groups))
    return _base_layout(fig, separators, title, height or max(220, 60 + 28 * n_rows))


def forest_plot(
    frame,
    *,
    separators: str,
    x_title: str,
    reference: float = 1.0,
    log_x: bool = True,
    title: str | None = None,
) -> go.Figure:
    """A forest plot: point and 95% CI per row (``label``, ``estimate``, ``ci_low``, ``ci_high``, ``hover``).

    Odds ratios go on a log axis with the no-effect line at 1 (so that OR 2 and OR 0.5 sit equally far from
    it); marginal effects on a linear axis with the line at 0 (``log_x=False, reference=0``).
    """
    est = frame["estimate"].astype(float)
    fig = go.Figure(
        go.Scatter(
            x=est.tolist(),
            y=frame["label"].tolist(),
            mode="markers",
            marker={"color": OKABE_ITO[0], "size": 9, "symbol": "square"},
            error_x={
                "type": "data",
                "symmetric": False,
                "array": (frame["ci_high"].astype(float) - est).tolist(),
                "arrayminus": (est - frame["ci_low"].astype(float)).tolist(),
                "color": OKABE_ITO[0],
                "thickness": 1.5,
            },
            text=frame["hover"].tolist(),
            hovertemplate="%{text}<extra></extra>",
            showlegend=False,
        )
    )
    fig.add_vline(x=reference, line={"dash": "dash", "color": "#000000", "width": 1})
    fig.update_layout(xaxis={"title": {"text": x_title}, "type": "log" if log_x else "linear"}, yaxis={"autorange": "reversed"})
    return _base_layout(fig, separators, title, max(260, 60 + 30 * len(frame)))


def heatmap(
    z,
    x_labels: list[str],
    y_labels: list[str],
    text,
    hover,
    *,
    separators: str,
    x_title: str,
    y_title: str,
    legend_title: str,
    title: str | None = None,
    zrange: tuple[float, float] = (0.0, 1.0),
) -> go.Figure:
    """A heatmap of predicted access (rows ``y_labels`` x columns ``x_labels``) with text in each cell.

    Viridis on a fixed 0-100% range so that two heatmaps can be compared by colour.
    """
    fig = go.Figure(
        go.Heatmap(
            z=z,
            x=x_labels,
            y=y_labels,
            text=text,
            texttemplate="%{text}",
            customdata=hover,
            hovertemplate="%{customdata}<extra></extra>",
            colorscale=SEQUENTIAL,
            zmin=zrange[0],
            zmax=zrange[1],
            colorbar={"title": {"text": legend_title}, "tickformat": ".0%"},
        )
    )
    fig.update_layout(xaxis={"title": {"text": x_title}, "type": "category"}, yaxis={"title": {"text": y_title}, "type": "category"})
    return _base_layout(fig, separators, title, 420)


def funnel(frame, *, separators: str, x_title: str, title: str | None = None) -> go.Figure:
    """The JAKI funnel (knows -> installed -> used the BST check) for several areas, as grouped bars.

    ``frame``: ``stage`` (label, in funnel order), ``group`` (kelurahan / kota / city), ``estimate``,
    ``ci_low``, ``ci_high``, ``hover``. Grouped bars with CIs rather than plotly's funnel trace, which cannot
    draw intervals.
    """
    frame = frame.assign(category=frame["stage"], label=frame["stage"])
    return estimate_bars(frame, separators=separators, x_title=x_title, title=title)
