"""Peta / Map: one indicator for all 267 kelurahan; click a kelurahan to open its profile."""

import streamlit as st

from ui import frame

frame.require()  # run inside dashboard.py even when Streamlit runs this file on its own

from analysis import vega_charts
from ui import cached, charts, data, state
from ui.views import real as real_view

lang = state.lang()
tr = state.translator(lang)
st.title(tr("map.title"))
st.markdown(tr("map.intro"))

built = data.built()
# Real-data layers (registers, the indirect estimate) are a group of their own next to the survey layers,
# with their own legend title and a caption naming the source and year: never read as survey estimates.
real_layers = real_view.available_layers(built)
group = "survey"
if real_layers:
    group = st.segmented_control(
        tr("real.group"), options=["survey", "real"], format_func=lambda g: tr(f"real.group_{g}"),
        default=state.page_param_default("group", ["survey", "real"], "survey"), key="map_group",
    ) or "survey"
state.page_param("group", group if group == "real" else None)
if group != "real":
    state.page_param("real", None)
if group == "real":
    first = state.page_param_default("real", real_layers, real_layers[0])
    layer = st.selectbox(tr("real.layer_choose"), real_layers, index=real_layers.index(first), format_func=lambda k: tr(f"real.layer.{k}"), key="real_layer")
    state.page_param("real", layer)
    spec = cached.real_map_spec(built, layer, lang, state.kelurahan())
    if spec is None:
        st.info(tr("map.unavailable"))
        frame.end_page()
    modelled = layer == "indirect_internet"
    st.subheader(tr(f"real.layer.{layer}"))
    if modelled:
        st.info(tr("real.assumption"))
    event = charts.show_vega(spec, key="real_map_chart", on_select="rerun", selection_mode=vega_charts.PICK)
    clicked = vega_charts.selected_code(event)
    if clicked:
        state.choose_kelurahan(clicked)
        st.switch_page("pages/profil.py")
    st.caption(tr("real.caption_indirect" if modelled else "real.caption_register") + " " + tr("map.inset_note"))
    st.download_button(
        tr("map.download_png"), data=lambda: cached.real_map_png(built, layer, lang, state.kelurahan(), tr(f"real.layer.{layer}")),
        file_name=vega_charts.file_slug(tr("map.file_prefix"), "real", layer) + ".png", mime="image/png",
        icon=":material/image:", on_click="ignore", key="real_map_png",
    )
    if st.toggle(tr("map.table"), key="real_map_table", help=tr("map.table_help")):
        st.dataframe(cached.real_table(built, layer, lang), hide_index=True, width="stretch")
    frame.end_page()

indicator = state.indicator()
if indicator is None:
    st.info(tr("common.not_available", what=tr("artefacts.indicators")))
    frame.end_page()

available = [m for m, table in (("direct", built.estimates), ("sae", built.sae), ("gap", built.gaps)) if table is not None]
if not available:
    st.info(tr("map.no_estimates"))
    frame.end_page()
# default: the small-area layer, the one that covers every kelurahan (marked modelled); the direct estimates
# are one click away. A shared link's layer= wins.
default_mode = state.page_param_default("layer", available, "sae" if "sae" in available else available[0])
mode = st.segmented_control(
    tr("map.mode"), options=available, format_func=lambda m: tr(f"map.mode_{m}"), default=default_mode, key="map_mode", help=tr("map.mode_help")
) or default_mode
state.page_param("layer", mode)

spec = cached.map_spec(built, mode, indicator, lang, state.kelurahan())
if spec is None:
    st.info(tr("map.unavailable"))
    frame.end_page()
label = cached.indicator_labels(built, lang).get(indicator, indicator)
st.subheader(f"{label}: {tr(f'map.mode_{mode}').lower()}")
event = charts.show_vega(spec, key="map_chart", on_select="rerun", selection_mode=vega_charts.PICK)
clicked = vega_charts.selected_code(event)
if clicked:
    state.choose_kelurahan(clicked)
    st.switch_page("pages/profil.py")
st.caption(tr(f"map.legend_note_{mode}") + " " + tr("map.inset_note"))
title = f"{label}: {tr(f'map.mode_{mode}').lower()}"
st.download_button(
    tr("map.download_png"), data=lambda: cached.map_png(built, mode, indicator, lang, state.kelurahan(), title),
    file_name=vega_charts.file_slug(tr("map.file_prefix"), indicator, mode) + ".png", mime="image/png",
    icon=":material/image:", on_click="ignore", key="map_png",
)

# The table is drawn only when asked for: a 267-row data grid's JavaScript (1.2 MB) would otherwise be
# loaded by every visit to the map, the dashboard's busiest page (bench/bench_concurrency.py).
if st.toggle(tr("map.table"), key="map_table", help=tr("map.table_help")):
    st.dataframe(cached.map_table(built, mode, indicator, lang), hide_index=True, width="stretch")
