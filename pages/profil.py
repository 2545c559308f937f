"""Profil kelurahan / Kelurahan profile: one kelurahan against its kota and the city, for every indicator."""

import streamlit as st

from ui import frame

frame.require()  # run inside dashboard.py even when Streamlit runs this file on its own

from analysis.stats.estimates import DOMAIN_VARS
from ui import cached, charts, data, state
from ui.views import common

lang = state.lang()
tr = state.translator(lang)
built = data.built()
register = built.register
code = state.kelurahan()
labels = cached.kelurahan_labels(built)
if not code or code not in labels:
    st.title(tr("profile.title_empty"))
    st.info(tr("profile.choose"))
    frame.end_page()

name = register.loc[register["kode_kemendagri"] == code].iloc[0]
kota_code, kota_name = common.kota_of(register, code)
st.title(tr("profile.title", name=name["kelurahan"]))
st.markdown(tr("profile.where", kecamatan=name["kecamatan"], kota=kota_name, code=code))

# Real data first, in its own table: register facts (no CI) and the indirect estimate (modelled), never in the
# same table as the synthetic survey's estimates below.
real_rows = cached.real_profile(built, code, lang)
if real_rows is not None:
    st.subheader(tr("real.profile_title"))
    st.table(real_rows, hide_index=True)
    st.caption(tr("real.profile_note"))

tables = cached.profile_tables(built, code, lang)
if tables.table is None:
    st.info(tr("common.not_available", what=tr("artefacts.estimates")))
else:
    st.subheader(tr("profile.all_indicators"))
    st.dataframe(tables.table, hide_index=True, width="stretch")
    st.caption(tr("profile.table_note") + " " + tr("common.sig_legend"))

    indicator = state.indicator()
    ind_label = cached.indicator_labels(built, lang).get(indicator, indicator)
    st.subheader(tr("profile.selected_indicator", label=ind_label))
    drawn = cached.profile_figures(built, code, indicator, lang)
    if drawn.selected is not None:
        charts.show(drawn.selected, f"profil-{code}-{indicator}")

    st.subheader(tr("profile.breakdowns"))
    tabs = st.tabs([tr(f"domain_vars.{v}") for v in DOMAIN_VARS])
    for tab, (var, level, fig) in zip(tabs, drawn.breakdowns):
        with tab:
            if fig is None:
                st.info(tr("profile.no_breakdown"))
            else:
                st.markdown(tr(f"profile.breakdown_level_{level or 'city'}", kelurahan=name["kelurahan"], kota=kota_name))
                charts.show(fig, f"profil-{code}-{indicator}-{var}", key=f"breakdown_{var}")
                st.caption(tr("profile.breakdown_note"))

    st.subheader(tr("profile.funnel"))
    if drawn.funnel is None:
        st.info(tr("common.not_available", what=tr("profile.funnel")))
    else:
        charts.show(drawn.funnel, f"profil-{code}-jaki")
        st.caption(tr("profile.funnel_note"))

    st.subheader(tr("profile.channels"))
    if drawn.channels is None:
        st.info(tr("common.not_available", what=tr("profile.channels")))
    else:
        charts.show(drawn.channels, f"profil-{code}-info")

st.subheader(tr("profile.covariates"))
if tables.covariates.empty:
    st.info(tr("common.not_available", what=tr("artefacts.kelurahan_covariates")))
else:
    st.dataframe(tables.covariates, hide_index=True, width="stretch")
    st.caption(tr("profile.covariates_note"))

# The report is handed over when asked for (deferred): it is made once per kelurahan and language (above).
st.download_button(tr("profile.download_html"), data=lambda: tables.report_html, file_name=f"profil-{code}.html", mime="text/html",
                   icon=":material/print:", on_click="ignore")
