"""Ringkasan / Overview: city figures with CIs, the BPS context series, and the gap in one sentence each."""

import streamlit as st

from ui import frame

frame.require()  # run inside dashboard.py even when Streamlit runs this file on its own

from analysis import figures
from analysis import formatting as fmt
from ui import charts, data, state, views

lang = state.lang()
tr = state.translator(lang)
st.title(tr("overview.title"))
st.markdown(tr("overview.intro"))

indicators, estimates = data.table("indicators"), data.table("estimates")
indicator = state.indicator()

st.subheader(tr("overview.city_figures"))
summary = views.city_summary(estimates, indicators, lang)
if summary.empty:
    st.info(tr("common.not_available", what=tr("artefacts.estimates")))
else:
    cols = st.columns(3)
    for i, r in enumerate(views.headline(summary, indicator).itertuples()):
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
    with st.expander(tr("overview.all_city_figures")):
        st.dataframe(
            summary[["label", "value_text", "ci_text", "n", "reliability"]].rename(
                columns={"label": tr("common.indicator"), "value_text": tr("common.estimate"), "ci_text": tr("common.ci95"), "reliability": tr("common.reliability")}
            ),
            hide_index=True,
            width="stretch",
        )

st.subheader(tr("overview.readings"))
sentences = views.readings(indicator, lang, tr, indicators, estimates, data.table("gaps"), data.table("bps_indicators")) if indicator else []
if sentences:
    st.markdown("\n".join(f"- {s}" for s in sentences))
else:
    st.info(tr("common.not_available", what=tr("artefacts.estimates")))

st.subheader(tr("overview.context"))
bps = data.table("bps_indicators")
series_ids = views.bps_indicators_with_series(bps)
if not series_ids:
    st.info(tr("common.not_available", what=tr("artefacts.bps_indicators")))
else:
    chosen = st.selectbox(tr("overview.context_indicator"), series_ids, format_func=lambda i: views.bps_label(i, tr), key="ctx_indicator")
    series = views.bps_series(bps, chosen, lang, tr("overview.dki"), tr("overview.indonesia"), data.table("published_figures"))
    fig = figures.context_series(series, separators=fmt.plotly_separators(lang), y_title=views.bps_label(chosen, tr))
    charts.show(fig, f"bps-{chosen}")
    st.caption(tr("overview.context_source", sources=", ".join(sorted(set(bps.loc[bps["indicator"] == chosen, "source_id"].astype(str))))))

published = data.table("published_figures")
if published is not None and not published.empty:
    with st.expander(tr("overview.published")):
        label_col = "label_id" if lang == "id" else "label_en"
        st.dataframe(
            published.assign(value_text=[fmt.format_number(v, lang, 2) + (f" {u}" if u and u != "%" else "%" if u == "%" else "") for v, u in zip(published["value"], published["unit"].fillna(""))])[[label_col, "region", "year", "value_text", "citation"]].rename(
                columns={label_col: tr("common.indicator"), "region": tr("common.region"), "year": tr("common.year"), "value_text": tr("common.value"), "citation": tr("common.citation")}
            ),
            hide_index=True,
            width="stretch",
        )
