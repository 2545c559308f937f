"""Bandingkan / Compare: several kelurahan against the city, side by side, with the gap decomposition."""

import streamlit as st

from ui import frame

frame.require()  # run inside dashboard.py even when Streamlit runs this file on its own

from analysis import figures
from analysis import formatting as fmt
from ui import charts, data, state
from ui.views import common
from ui.views import compare as compare_view

lang = state.lang()
tr = state.translator(lang)
st.title(tr("compare.title"))
st.markdown(tr("compare.intro"))

built = data.built()
register, indicators, estimates = built.register, built.indicators, built.estimates
labels = common.kelurahan_labels(register)
indicator = state.indicator()
if not labels or indicator is None or (estimates is None and built.sae is None):
    st.info(tr("common.not_available", what=tr("artefacts.estimates")))
    frame.end_page()

if "cmp_kel" not in st.session_state:  # a shared link's kel=a,b,c, else the sidebar's kelurahan
    linked = list(dict.fromkeys(c for c in (state.link_value("kel") or "").split(",") if c in labels))[:8]
    st.session_state["cmp_kel"] = linked or ([state.kelurahan()] if state.kelurahan() in labels else [])
chosen = st.multiselect(tr("compare.choose"), options=list(labels), format_func=labels.get, max_selections=8, key="cmp_kel", placeholder=tr("sidebar.kelurahan_placeholder"))
state.page_param("kel", ",".join(chosen) if chosen else None)
if not chosen:
    st.info(tr("compare.choose_help"))
    frame.end_page()

ind_label = common.indicator_labels(indicators, lang).get(indicator, indicator)
st.subheader(ind_label)
bars = common.area_comparison(indicator, chosen, built, lang, tr, with_kota=False)
city = common.city_row(estimates, indicator)
if not bars.empty:
    fig = figures.estimate_bars(bars, separators=fmt.plotly_separators(lang), x_title=ind_label, reference=None if city is None else city["estimate"], reference_name=tr("common.city"))
    charts.show(fig, f"bandingkan-{indicator}")
st.dataframe(compare_view.compare_table(indicator, chosen, built, lang, tr), hide_index=True, width="stretch")
st.caption(tr("compare.table_note") + " " + tr("common.sig_legend"))

st.subheader(tr("compare.decomposition"))
decomposition = compare_view.decomposition_table(built, indicator, chosen, lang, tr)
if decomposition is None:
    st.info(tr("common.not_available", what=tr("artefacts.gap_decomposition")))
elif decomposition.empty:
    st.info(tr("compare.no_decomposition"))
else:
    # the kelurahan column is wide enough for the whole name (st.dataframe's default width cuts long ones)
    st.dataframe(decomposition, hide_index=True, width="stretch", key="compare_decomposition",
                 column_config={tr("compare.decomp.kode_kemendagri"): st.column_config.TextColumn(width="large")})
    st.caption(tr("compare.decomposition_note") + " " + tr("common.decomposition_no_ci"))
