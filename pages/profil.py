"""Profil kelurahan / Kelurahan profile: one kelurahan against its kota and the city, for every indicator."""

import streamlit as st

from ui import frame

frame.require()  # run inside dashboard.py even when Streamlit runs this file on its own

from analysis import figures
from analysis import formatting as fmt
from analysis.areas import CITY_CODE
from analysis.stats.estimates import DOMAIN_VARS
from ui import banners, cached, charts, data, report, state
from ui.views import common
from ui.views import profile as profile_view

lang = state.lang()
tr = state.translator(lang)
built = data.built()
register, indicators, estimates = built.register, built.indicators, built.estimates
code = state.kelurahan()
labels = common.kelurahan_labels(register)
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

if indicators is None or (estimates is None and built.sae is None):
    st.info(tr("common.not_available", what=tr("artefacts.estimates")))
    table = None
else:
    table = profile_view.profile_table(code, built, lang, tr)
    st.subheader(tr("profile.all_indicators"))
    st.dataframe(table.drop(columns=["indicator_id", "_kel_value", "_source"]), hide_index=True, width="stretch")
    st.caption(tr("profile.table_note") + " " + tr("common.sig_legend"))

    indicator = state.indicator()
    ind_label = common.indicator_labels(indicators, lang).get(indicator, indicator)
    st.subheader(tr("profile.selected_indicator", label=ind_label))
    bars = common.area_comparison(indicator, [code], built, lang, tr)
    if not bars.empty:
        city = common.city_row(estimates, indicator)
        fig = figures.estimate_bars(bars, separators=fmt.plotly_separators(lang), x_title=ind_label, reference=None if city is None else city["estimate"], reference_name=tr("common.city"))
        charts.show(fig, f"profil-{code}-{indicator}")

    st.subheader(tr("profile.breakdowns"))
    tabs = st.tabs([tr(f"domain_vars.{v}") for v in DOMAIN_VARS])
    for tab, var in zip(tabs, DOMAIN_VARS):
        with tab:
            # the smallest level the sample supports, next to the city, and which one it is, said plainly
            level = profile_view.breakdown_level(estimates, indicator, var, code, kota_code)
            local = {"kelurahan": code, "kota": kota_code}.get(level)
            rows = profile_view.breakdown_frame(estimates, indicator, var, [local, CITY_CODE], {code: name["kelurahan"], kota_code: kota_name, CITY_CODE: tr("common.city")}, lang, tr)
            if rows.empty:
                st.info(tr("profile.no_breakdown"))
            else:
                st.markdown(tr(f"profile.breakdown_level_{level or 'city'}", kelurahan=name["kelurahan"], kota=kota_name))
                charts.show(figures.estimate_bars(rows, separators=fmt.plotly_separators(lang), x_title=ind_label), f"profil-{code}-{indicator}-{var}", key=f"breakdown_{var}")
                st.caption(tr("profile.breakdown_note"))

    st.subheader(tr("profile.funnel"))
    funnel = profile_view.funnel_frame(code, kota_code, built, lang, tr)
    if funnel.empty:
        st.info(tr("common.not_available", what=tr("profile.funnel")))
    else:
        charts.show(figures.funnel(funnel, separators=fmt.plotly_separators(lang), x_title=tr("profile.share_households")), f"profil-{code}-jaki")
        st.caption(tr("profile.funnel_note"))

    st.subheader(tr("profile.channels"))
    channels = profile_view.channels_frame(code, built, lang, tr)
    if channels.empty:
        st.info(tr("common.not_available", what=tr("profile.channels")))
    else:
        charts.show(figures.estimate_bars(channels, separators=fmt.plotly_separators(lang), x_title=tr("profile.share_households")), f"profil-{code}-info")

st.subheader(tr("profile.covariates"))
cov = profile_view.covariate_comparison(built.covariates, code, lang, tr)
if cov.empty:
    st.info(tr("common.not_available", what=tr("artefacts.kelurahan_covariates")))
else:
    st.dataframe(cov, hide_index=True, width="stretch")
    st.caption(tr("profile.covariates_note"))

html = report.profile_html(
    title=tr("profile.title", name=name["kelurahan"]),
    subtitle=tr("profile.where", kecamatan=name["kecamatan"], kota=kota_name, code=code),
    lang=lang,
    table=None if table is None else table.drop(columns=["indicator_id", "_kel_value", "_source"]),
    covariates=cov,
    notes=[tr("profile.table_note"), tr("common.sig_legend")],
    footer=tr("profile.print_footer"),
    warning=tr("banner.synthetic") if banners.survey_is_synthetic(data.build_report()) else None,
)
st.download_button(tr("profile.download_html"), data=html, file_name=f"profil-{code}.html", mime="text/html", icon=":material/print:", on_click="ignore")
