"""Metodologi / Methodology: definitions, survey design, estimation, calibration, suppression, small-area model, sources."""

import streamlit as st

from ui import frame

frame.require()  # run inside dashboard.py even when Streamlit runs this file on its own

from ui import data, state
from ui.views import about

lang = state.lang()
tr = state.translator(lang)
st.title(tr("method.title"))

for section in ("definitions", "design", "estimation", "calibration", "suppression", "sae", "models", "gaps", "planning"):
    st.subheader(tr(f"method.{section}_title"))
    st.markdown(tr(f"method.{section}_body"))
    if section == "definitions":
        indicators = data.built().indicators
        if indicators is not None:
            st.dataframe(about.indicator_definitions(indicators, lang, tr), hide_index=True, width="stretch")
    if section == "design":
        design = about.design_summary(data.table("survey_households"), data.table("survey_persons"), lang)
        if design:
            st.markdown(tr("method.design_numbers", **design))

st.subheader(tr("method.sources_title"))
st.markdown(tr("method.sources_body"))
st.dataframe(about.sources_table(data.manifest(), data.build_report(), tr), hide_index=True, width="stretch")
