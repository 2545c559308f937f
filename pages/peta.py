"""Peta / Map: one indicator for all 267 kelurahan; click a kelurahan to open its profile."""

import streamlit as st

from ui import frame

frame.require()  # run inside dashboard.py even when Streamlit runs this file on its own

from analysis import html_tables, vega_charts
from ui import banners, cached, charts, data, markup, state
from ui.views import real as real_view

lang = state.lang()
tr = state.translator(lang)
st.title(tr("map.title"))

built = data.built()
indicator = state.indicator()
# One control for what the map shows: the survey's layers (direct, small-area, gap) and, next to them, the
# real-data layers (registers, the indirect estimate) with their own legend title and a note naming the source
# and year: never read as survey estimates. One widget, not two (a group, then a layer): each element is
# Streamlit work on every run, which 50 sessions at once wait for (issue 16, bench/bench_load.py).
survey_modes = [] if indicator is None else [
    m for m, table in (("direct", built.estimates), ("sae", built.sae), ("gap", built.gaps)) if table is not None]
real_layers = real_view.available_layers(built)
options = survey_modes + (["real"] if real_layers else [])
if not options:
    st.info(tr("common.not_available", what=tr("artefacts.indicators")) if indicator is None else tr("map.no_estimates"))
    frame.end_page()
# Default: the small-area layer, the one that covers every kelurahan (marked modelled); the direct estimates
# are one click away. A shared link's layer= wins (and an older link's group=real).
fallback = "sae" if "sae" in options else options[0]
if state.link_value("group") == "real" and "real" in options:
    fallback = "real"
default = state.page_param_default("layer", options, fallback)
mode = st.segmented_control(
    tr("map.mode"), options=options, format_func=lambda m: tr(f"map.mode_{m}"), default=default, key="map_mode",
    help=tr("map.mode_help"),
) or default
state.page_param("layer", mode)

if mode == "real":
    first = state.page_param_default("real", real_layers, real_layers[0])
    layer = st.selectbox(tr("real.layer_choose"), real_layers, index=real_layers.index(first), format_func=lambda k: tr(f"real.layer.{k}"), key="real_layer")
    state.page_param("real", layer)
    spec = cached.real_map_spec(built, layer, lang, state.kelurahan())
    if spec is None:
        st.info(tr("map.unavailable"))
        frame.end_page()
    modelled = layer == "indirect_internet"
    title = tr(f"real.layer.{layer}")
    source_note = tr("real.caption_indirect" if modelled else "real.caption_register")
    key, png = "real_map", lambda: cached.real_map_png(built, layer, lang, state.kelurahan(), title)
    values_table = lambda: cached.real_table(built, layer, lang)  # noqa: E731
    file_name = vega_charts.file_slug(tr("map.file_prefix"), "real", layer)
else:
    state.page_param("real", None)
    spec = cached.map_spec(built, mode, indicator, lang, state.kelurahan())
    if spec is None:
        st.info(tr("map.unavailable"))
        frame.end_page()
    modelled = False
    label = cached.indicator_labels(built, lang).get(indicator, indicator)
    title = f"{label}: {tr(f'map.mode_{mode}').lower()}"
    source_note = tr(f"map.legend_note_{mode}")
    if banners.survey_is_synthetic(cached.banner_inputs(built)[0]):
        source_note = tr("map.synthetic_layer") + " " + source_note
    key, png = "map", lambda: cached.map_png(built, mode, indicator, lang, state.kelurahan(), title)
    values_table = lambda: cached.map_table(built, mode, indicator, lang)  # noqa: E731
    file_name = vega_charts.file_slug(tr("map.file_prefix"), indicator, mode)

# The heading, how to use the map and what its colours mean (or the real layer's source and year) as one
# block above the map: one element instead of a subheader, a paragraph and a caption.
markup.show_block(html_tables.section(title, html_tables.note(tr("map.intro")), html_tables.note(source_note + " " + tr("map.inset_note"))))
if modelled:
    st.info(tr("real.assumption"))
event = charts.show_vega(spec, key=f"{key}_chart", on_select="rerun", selection_mode=vega_charts.PICK)
clicked = vega_charts.selected_code(event)
if clicked:
    state.choose_kelurahan(clicked)
    st.switch_page("pages/profil.py")
st.download_button(
    tr("map.download_png"), data=png, file_name=file_name + ".png", mime="image/png",
    icon=":material/image:", on_click="ignore", key=f"{key}_png",
)

# The table is drawn only when asked for: a 267-row data grid's JavaScript (1.2 MB) would otherwise be
# loaded by every visit to the map, the dashboard's busiest page (bench/bench_concurrency.py).
if st.toggle(tr("map.table"), key=f"{key}_table", help=tr("map.table_help")):
    st.dataframe(values_table(), hide_index=True, width="stretch")
