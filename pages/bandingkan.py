"""Bandingkan / Compare: several kelurahan against the city, side by side, with the gap decomposition."""

import streamlit as st

from ui import frame

frame.require()  # run inside dashboard.py even when Streamlit runs this file on its own

from ui import cached, charts, data, state

lang = state.lang()
tr = state.translator(lang)
st.title(tr("compare.title"))
st.markdown(tr("compare.intro"))

built = data.built()
estimates = built.estimates
labels = cached.kelurahan_labels(built)
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

ind_label = cached.indicator_labels(built, lang).get(indicator, indicator)
st.subheader(ind_label)
page = cached.compare_page(built, indicator, tuple(chosen), lang)
if page.bars is not None:
    charts.show(page.bars, f"bandingkan-{indicator}")
st.dataframe(page.table, hide_index=True, width="stretch")
st.caption(tr("compare.table_note") + " " + tr("common.sig_legend"))

st.subheader(tr("compare.decomposition"))
decomposition = page.decomposition
if decomposition is None:
    st.info(tr("common.not_available", what=tr("artefacts.gap_decomposition")))
elif decomposition.empty:
    st.info(tr("compare.no_decomposition"))
else:
    # the kelurahan column is wide enough for the whole name (st.dataframe's default width cuts long ones)
    st.dataframe(decomposition, hide_index=True, width="stretch", key="compare_decomposition",
                 column_config={tr("compare.decomp.kode_kemendagri"): st.column_config.TextColumn(width="large")})
    st.caption(tr("compare.decomposition_note") + " " + tr("common.decomposition_no_ci"))
