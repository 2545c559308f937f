"""Unggah / Upload: an NGO uploads its KoboToolbox/ODK export and reads its kampung against its kota and the city.

The page only lays out widgets: ``analysis.upload.handle_upload`` does the work (ingestion in memory, estimates,
contrasts, decomposition, cleaned tables) and never raises, and ``ui.views.upload`` shapes its tables and report. Privacy rules of this page:

- the upload is read from memory and the outcome kept only in this session's ``st.session_state`` (never in
  ``st.cache_data``, never on disk, never logged): another tab never sees it, and closing the tab (or emptying
  the uploader) forgets it;
- only the *city* artefacts are cached across sessions (``ui.cached.city_artefacts``: public, built data; keyed
  by the build).

Test hook: AppTest cannot drive ``st.file_uploader``, so when the uploader is empty the page reads
``{file name: bytes}`` from ``st.session_state[TEST_FILES]`` (and a design file from ``TEST_DESIGN``). Only
server-side code can set session state, so the hook opens nothing to a browser.
"""

import streamlit as st

from ui import frame

frame.require()  # run inside dashboard.py even when Streamlit runs this file on its own

from analysis import figures, upload
from analysis import formatting as fmt
from analysis.errors import InputError
from analysis.survey import sandbox
from ui import cached, charts, data, state
from ui.views import common, planner
from ui.views import upload as upload_view

TEST_FILES, TEST_DESIGN = "_upload_files_for_test", "_upload_design_for_test"
OUTCOME, FINGERPRINT = "upload_outcome", "upload_fingerprint"


tr, lang = state.tr, state.lang()
st.title(tr("upload.title"))
st.markdown(tr("upload.intro"))

with st.expander(tr("planner.title"), icon=":material/calculate:"):
    built = data.built()
    households, persons = data.table("survey_households"), data.table("survey_persons")
    choices = planner.plannable_indicators(built) if households is not None else []
    if not choices:
        st.info(tr("common.not_available", what=tr("artefacts.estimates")))
    else:
        labels = common.indicator_labels(built.indicators, lang)
        st.markdown(tr("planner.intro"))
        left, right = st.columns(2)
        indicator = left.selectbox(tr("planner.indicator"), choices, format_func=lambda i: labels.get(i, i), key="plan_indicator")
        gap = left.slider(tr("planner.gap"), min_value=-30, max_value=30, value=-10, step=1, key="plan_gap", help=tr("planner.gap_help"))
        per_cluster = right.slider(tr("planner.per_cluster"), min_value=4, max_value=30, value=12, key="plan_per_cluster", help=tr("planner.per_cluster_help"))
        power = right.select_slider(tr("planner.power"), options=[0.8, 0.9], value=0.8, format_func=lambda v: fmt.format_percent(v, lang, 0), key="plan_power")
        try:
            result, effect = planner.plan(built, households, persons, indicator, gap, per_cluster, power)
        except InputError:
            st.warning(tr("planner.impossible"))
        else:
            st.metric(tr("planner.households"), fmt.format_int(result.n_households, lang), help=tr("planner.households_help"))
            st.markdown(planner.plan_sentence(result, effect, lang, tr))
        st.caption(tr("planner.method"))

# The uploader's own words ("Upload", "50MB per file", "Drag and drop files here") are Streamlit's frontend, in
# English: st.file_uploader 1.67 has no parameter or config for them, so the page says it in its own language.
st.markdown(tr("upload.uploader_hint"))
uploaded = st.file_uploader(tr("upload.files"), type=["csv", "xlsx", "xls"], accept_multiple_files=True, help=tr("upload.files_help"), key="upload_files")
design_file = st.file_uploader(tr("upload.design"), type=["csv"], help=tr("upload.design_help"), key="upload_design")

files = {f.name: f.getvalue() for f in uploaded or []}
design = design_file.getvalue() if design_file is not None else None
if not files and st.session_state.get(TEST_FILES):
    files = dict(st.session_state[TEST_FILES])
    design = st.session_state.get(TEST_DESIGN)

if not files:
    st.session_state.pop(OUTCOME, None)  # the uploader was emptied: forget the upload
    st.session_state.pop(FINGERPRINT, None)
    st.info(tr("upload.waiting"))
    frame.end_page()

fingerprint = upload.fingerprint(files | ({"\x00design": design} if design is not None else {}))
if st.session_state.get(FINGERPRINT) != fingerprint or OUTCOME not in st.session_state:
    with st.spinner(tr("upload.working")):
        try:
            city = cached.city_artefacts(data.built())
        except Exception:  # noqa: BLE001 - a broken build must not show a traceback; handle_upload reports it
            city = None
        queued = st.empty()  # said only while this upload waits for a free reader (analysis.survey.sandbox.SLOTS)
        st.session_state[OUTCOME] = upload.handle_upload(
            files, city, design=design, on_wait=lambda: queued.info(tr("upload.queued", slots=sandbox.SLOTS), icon=":material/hourglass_top:"))
        queued.empty()
        st.session_state[FINGERPRINT] = fingerprint
outcome: upload.UploadOutcome = st.session_state[OUTCOME]

if not outcome.ok:
    st.error(upload_view.error_message(outcome.error_code, tr), icon=":material/block:")
    if outcome.detail:
        st.caption(tr("upload.detail", detail=outcome.detail))
    frame.end_page()

rep = outcome.report
st.success(tr("upload.success", households=fmt.format_int(rep["households"]["rows_out"], lang), persons=fmt.format_int(rep["persons"]["rows_out"], lang)), icon=":material/task_alt:")
if outcome.synthetic:
    st.warning(tr("upload.synthetic_upload"), icon=":material/science:")
if outcome.weighted:
    st.info(tr("upload.weighted"))
else:
    st.warning(tr("upload.unweighted"), icon=":material/balance:")
st.markdown(upload_view.pii_text(outcome, lang, tr))
with st.expander(tr("upload.summary")):
    st.dataframe(upload_view.summary_table(outcome, lang, tr), hide_index=True, width="stretch")

kel = outcome.kelurahan
codes = upload_view.kelurahan_choices(outcome)  # the most households first: the default
names = {r.kode_kemendagri: tr("upload.kampung_heading", kelurahan=r.kelurahan, kecamatan=r.kecamatan, kota=r.kab_kota) for r in kel.itertuples(index=False)}
code = codes[0] if len(codes) == 1 else st.selectbox(tr("upload.choose_kelurahan"), codes, format_func=names.get, key="upload_kel")
labels = common.indicator_labels(data.built().indicators, lang)

st.subheader(tr("upload.comparison"))
st.markdown(f"**{names[code]}**")
if outcome.comparison is None or outcome.comparison.empty:
    st.info(tr("upload.no_city"))
st.dataframe(upload_view.comparison_table(outcome, code, lang, tr, labels), hide_index=True, width="stretch", key="upload_comparison")
st.caption(tr("upload.table_note") + " " + tr("common.sig_legend"))
st.caption(upload_view.basis_note(outcome, code, lang, tr))

bars = upload_view.chart_frame(outcome, code, lang, tr, labels)
if not bars.empty:
    st.subheader(tr("upload.chart_title"))
    fig = figures.estimate_bars(bars, separators=fmt.plotly_separators(lang), x_title=tr("upload.chart_axis"))
    charts.show(fig, f"kampung-{code}", key="upload_chart")
    st.caption(tr("upload.chart_note"))

st.subheader(tr("upload.decomposition"))
decomposition = upload_view.decomposition_display(outcome, code, lang, tr)
if decomposition.empty:
    st.info(tr("upload.no_decomposition"))
else:
    st.dataframe(decomposition, hide_index=True, width="stretch", key="upload_decomposition",
                 column_config={tr("upload.col_indicator"): st.column_config.TextColumn(width="large")})
    st.caption(tr("upload.decomposition_note") + " " + tr("common.decomposition_no_ci"))

st.subheader(tr("upload.downloads"))
c1, c2, c3 = st.columns(3)
c1.download_button(tr("upload.download_households"), data=upload.cleaned_csv(outcome, "households"), file_name="kampung_households_clean.csv", mime="text/csv", icon=":material/table:", on_click="ignore", key="dl_households")
c2.download_button(tr("upload.download_persons"), data=upload.cleaned_csv(outcome, "persons"), file_name="kampung_persons_clean.csv", mime="text/csv", icon=":material/group:", on_click="ignore", key="dl_persons")
report_tr = state.translator(lang)  # the report is made when downloaded, outside this run: not state.tr
c3.download_button(tr("upload.download_report"), data=lambda: upload_view.report_html(outcome, lang, report_tr, labels), file_name="kampung_report.html", mime="text/html", icon=":material/print:", on_click="ignore", key="dl_report")
