"""Ringkasan / Overview: city figures with CIs, the BPS context series, and the gap in one sentence each.

Each part of the page is one ``st.html`` block (``analysis.html_tables``: heading, metric cards, lists, figures,
closed tables): the overview is every visitor's first page, and each Streamlit element costs the browser its
own React and style work on a first visit (issue 16, ``bench/RESULTS.md``). Only the BPS series selector is a
widget.
"""

import streamlit as st

from ui import frame

frame.require()  # run inside dashboard.py even when Streamlit runs this file on its own

from analysis import formatting as fmt
from analysis import html_tables as html
from ui import cached, data, markup, state
from ui.views import overview as overview_view

lang = state.lang()
tr = state.translator(lang)
built = data.built()
st.title(tr("overview.title"))
st.markdown(tr("overview.intro"))

indicator = state.indicator()
not_available = tr("common.not_available", what=tr("artefacts.estimates"))

summary = cached.city_summary(built, lang)
if summary.empty:
    st.subheader(tr("overview.city_figures"))
    st.info(not_available)
else:
    cards = []
    for r in cached.headline(built, indicator, lang).itertuples():
        suppressed = r.reliability == "suppressed" or fmt.is_missing(r.estimate)
        value = tr("common.no_reliable_estimate") if suppressed else r.value_text + (" †" if r.reliability == "flag" else "")
        caption = None if suppressed else tr("overview.metric_caption", ci=r.ci_text, n=fmt.format_int(r.n, lang), cv=fmt.format_percent(r.cv, lang))
        cards.append((r.label, value, caption))
    markup.show_block(html.section(
        tr("overview.city_figures"),
        html.metric_cards(cards, help_text=tr("overview.metric_help")),
        # a static HTML table, neither a data grid nor st.table: 22 rows need no sorting, and the grid's or
        # Arrow's JavaScript (1.2 MB, 0.7 MB) held back every first visit (bench/RESULTS.md, overview)
        html.collapsed(tr("overview.all_city_figures"), cached.city_table_html(built, lang)),
    ))

sentences = cached.readings(built, indicator, lang) if indicator else []
if not sentences:
    st.subheader(tr("overview.readings"))
    st.info(not_available)
quota = cached.quota_table_html(built, lang)
pictures = [cached.gradient_figure(built, indicator, var, lang) for var in overview_view.GRADIENT_VARS] if indicator else []
pictures = [figure for figure in pictures if figure is not None]
concentration = cached.concentration_caption(built, indicator, lang) if pictures else None
markup.show_block(html.section(
    tr("overview.readings") if sentences else None,
    html.bullets(sentences) if sentences else None,
    html.collapsed(tr("overview.quota_title"), quota) if quota is not None else None,
    html.note(tr("overview.gradient_title"), lead=True) if pictures else None,
    html.side_by_side(pictures) if pictures else None,
    html.note(tr("overview.gradient_note") + (" " + concentration if concentration else "")) if pictures else None,
))

st.subheader(tr("overview.context"))
series_ids = cached.bps_series_ids(built)
if not series_ids:
    st.info(tr("common.not_available", what=tr("artefacts.bps_indicators")))
else:
    chosen = st.selectbox(
        tr("overview.context_indicator"), series_ids, index=cached.default_series(built),
        format_func=lambda i: overview_view.bps_label(i, tr), key="ctx_indicator",
    )
    markup.show_block(html.section(
        None, cached.context_figure(built, chosen, lang), html.note(tr("overview.context_source", sources=cached.context_sources(built, chosen)))))

kota = cached.kota_table_html(built, lang)
published = cached.published_table_html(built, lang)
if kota is not None or published is not None:
    markup.show_block(html.section(
        tr("real.kota_title") if kota is not None else None,
        kota,
        html.collapsed(tr("overview.published"), published) if published is not None else None,
    ))
