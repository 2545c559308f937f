"""Model: who has access, by income and education (survey-weighted logistic regression), read plainly."""

import streamlit as st

from ui import frame

frame.require()  # run inside dashboard.py even when Streamlit runs this file on its own

from analysis import figures
from analysis import formatting as fmt
from ui import charts, data, state
from ui.views import model as model_view

lang = state.lang()
tr = state.translator(lang)
st.title(tr("model.title"))
st.markdown(tr("model.what_it_does"))

odds, effects, grid, fit = (data.table(n) for n in ("model_odds_ratios", "model_marginal_effects", "model_predicted_grid", "model_fit"))
if odds is None and effects is None and grid is None:
    st.info(tr("common.not_available", what=tr("artefacts.models")))
    frame.end_page()

outcomes = model_view.model_outcomes(odds, effects, grid)
outcome = None
if len(outcomes) > 1:
    first = state.page_param_default("outcome", outcomes, outcomes[0])
    outcome = st.selectbox(tr("model.outcome"), outcomes, index=outcomes.index(first), format_func=lambda o: model_view.model_label(o, tr), key="model_outcome")
    state.page_param("outcome", outcome)
elif outcomes:
    outcome = outcomes[0]

st.subheader(tr("model.odds_ratios"))
forest = model_view.model_forest(odds, outcome, "or", lang, tr)
if forest.empty:
    st.info(tr("common.not_available", what=tr("model.odds_ratios")))
else:
    charts.show(figures.forest_plot(forest, separators=fmt.plotly_separators(lang), x_title=tr("model.or_axis")), f"model-or-{outcome}", key="forest_or")
    st.caption(tr("model.or_note"))

st.subheader(tr("model.predicted"))
specification = "main_effects"
if grid is not None and "specification" in grid and grid["specification"].nunique() > 1:
    specification = st.radio(tr("model.specification"), ["main_effects", "interaction"], format_func=lambda s: tr(f"model.spec_{s}"), horizontal=True, key="model_spec")
heat = model_view.model_heatmap(grid, outcome, lang, tr, specification)
if heat is None:
    st.info(tr("common.not_available", what=tr("model.predicted")))
else:
    charts.show(figures.heatmap(heat["z"], heat["x"], heat["y"], heat["text"], heat["hover"], separators=fmt.plotly_separators(lang), x_title=tr("domain_vars.income_quintile"), y_title=tr("domain_vars.education"), legend_title=tr("model.predicted_short")), f"model-grid-{outcome}", key="heatmap")
    st.caption(tr("model.predicted_note"))

st.subheader(tr("model.marginal_effects"))
ame = model_view.model_forest(effects, outcome, "ame", lang, tr)
if ame.empty:
    st.info(tr("common.not_available", what=tr("model.marginal_effects")))
else:
    charts.show(figures.forest_plot(ame, separators=fmt.plotly_separators(lang), x_title=tr("model.ame_axis"), reference=0.0, log_x=False), f"model-ame-{outcome}", key="forest_ame")
    st.caption(tr("model.ame_note"))

if fit is not None and not fit.empty:
    with st.expander(tr("model.fit")):
        st.table(model_view.model_fit_table(fit, outcome, lang, tr).set_index(tr("model.fit_measure")))

st.subheader(tr("model.reading_title"))
st.markdown(tr("model.says"))
st.markdown(tr("model.does_not_say"))
