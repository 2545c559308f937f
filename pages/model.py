"""Model: who has access, by income and education (survey-weighted logistic regression), read plainly."""

import streamlit as st

from ui import frame

frame.require()  # run inside dashboard.py even when Streamlit runs this file on its own

from ui import cached, charts, data, state
from ui.views import model as model_view

lang = state.lang()
tr = state.translator(lang)
st.title(tr("model.title"))
st.markdown(tr("model.what_it_does"))

built = data.built()
outcomes = cached.model_outcomes(built)
if outcomes is None:
    st.info(tr("common.not_available", what=tr("artefacts.models")))
    frame.end_page()

outcomes = list(outcomes)
outcome = None
if len(outcomes) > 1:
    first = state.page_param_default("outcome", outcomes, outcomes[0])
    outcome = st.selectbox(tr("model.outcome"), outcomes, index=outcomes.index(first), format_func=lambda o: model_view.model_label(o, tr), key="model_outcome")
    state.page_param("outcome", outcome)
elif outcomes:
    outcome = outcomes[0]
page = cached.model_page(built, outcome, lang)

st.subheader(tr("model.odds_ratios"))
if page.odds is None:
    st.info(tr("common.not_available", what=tr("model.odds_ratios")))
else:
    charts.show(page.odds, f"model-or-{outcome}", key="forest_or")
    st.caption(tr("model.or_note"))

st.subheader(tr("model.predicted"))
specification = "main_effects"
if page.has_interaction:
    specification = st.radio(tr("model.specification"), ["main_effects", "interaction"], format_func=lambda s: tr(f"model.spec_{s}"), horizontal=True, key="model_spec")
if page.grid.get(specification) is None:
    st.info(tr("common.not_available", what=tr("model.predicted")))
else:
    charts.show(page.grid[specification], f"model-grid-{outcome}", key="heatmap")
    st.caption(tr("model.predicted_note"))

st.subheader(tr("model.marginal_effects"))
if page.effects is None:
    st.info(tr("common.not_available", what=tr("model.marginal_effects")))
else:
    charts.show(page.effects, f"model-ame-{outcome}", key="forest_ame")
    st.caption(tr("model.ame_note"))

if page.fit is not None:
    with st.expander(tr("model.fit")):
        st.table(page.fit)

st.subheader(tr("model.reading_title"))
st.markdown(tr("model.says"))
st.markdown(tr("model.does_not_say"))
