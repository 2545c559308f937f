"""Ringkasan / Overview: city figures with CIs, the BPS context series, and the gap in one sentence each."""

import streamlit as st

from ui import frame

frame.require()  # run inside dashboard.py even when Streamlit runs this file on its own

from analysis import formatting as fmt
from ui import cached, data, markup, state
from ui.views import overview as overview_view

lang = state.lang()
tr = state.translator(lang)
built = data.built()
st.title(tr("overview.title"))
st.markdown(tr("overview.intro"))

indicator = state.indicator()

st.subheader(tr("overview.city_figures"))
summary = cached.city_summary(built, lang)
if summary.empty:
    st.info(tr("common.not_available", what=tr("artefacts.estimates")))
else:
    cols = st.columns(3)
    for i, r in enumerate(cached.headline(built, indicator, lang).itertuples()):
        with cols[i % 3]:
            suppressed = r.reliability == "suppressed" or fmt.is_missing(r.estimate)
            st.metric(
                r.label,
                tr("common.no_reliable_estimate") if suppressed else r.value_text + (" †" if r.reliability == "flag" else ""),
                border=True,
                help=tr("overview.metric_help"),
            )
            if not suppressed:
                st.caption(tr("overview.metric_caption", ci=r.ci_text, n=fmt.format_int(r.n, lang), cv=fmt.format_percent(r.cv, lang)))
    # Static HTML tables, neither data grids nor st.table: 22 and 9 rows need no sorting or scrolling, and the
    # grid's or Arrow's JavaScript (1.2 MB, 0.7 MB) held back every first visit (bench/RESULTS.md, overview).
    with st.expander(tr("overview.all_city_figures")):
        markup.show_html(cached.city_table_html(built, lang))

st.subheader(tr("overview.readings"))
sentences = cached.readings(built, indicator, lang) if indicator else []
if sentences:
    st.markdown("\n".join(f"- {s}" for s in sentences))
else:
    st.info(tr("common.not_available", what=tr("artefacts.estimates")))

quota = cached.quota_table_html(built, lang)
if quota is not None:
    with st.expander(tr("overview.quota_title")):
        markup.show_html(quota)

if indicator:
    pictures = [cached.gradient_figure(built, indicator, var, lang) for var in overview_view.GRADIENT_VARS]
    pictures = [figure for figure in pictures if figure is not None]
    if pictures:
        st.markdown(f"**{tr('overview.gradient_title')}**")
        for col, figure in zip(st.columns(len(pictures)), pictures):
            with col:
                markup.show_svg(figure)
        concentration = cached.concentration_caption(built, indicator, lang)
        st.caption(tr("overview.gradient_note") + (" " + concentration if concentration else ""))

st.subheader(tr("overview.context"))
series_ids = cached.bps_series_ids(built)
if not series_ids:
    st.info(tr("common.not_available", what=tr("artefacts.bps_indicators")))
else:
    chosen = st.selectbox(
        tr("overview.context_indicator"), series_ids, index=cached.default_series(built),
        format_func=lambda i: overview_view.bps_label(i, tr), key="ctx_indicator",
    )
    markup.show_svg(cached.context_figure(built, chosen, lang))
    st.caption(tr("overview.context_source", sources=cached.context_sources(built, chosen)))

kota = cached.kota_table_html(built, lang)
if kota is not None:
    st.subheader(tr("real.kota_title"))
    markup.show_html(kota)

published = cached.published_table_html(built, lang)
if published is not None:
    with st.expander(tr("overview.published")):
        markup.show_html(published)
