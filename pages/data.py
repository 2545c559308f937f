"""Data: every processed table as CSV and Parquet (GeoJSON for geometry), the codebook, datapackage.json and
one zip of everything, each with its source, licence and citation (from datapackage.json)."""

import streamlit as st

from ui import frame

frame.require()  # run inside dashboard.py even when Streamlit runs this file on its own

from ui import data, downloads, state
from ui.views import about

lang = state.lang()
tr = state.translator(lang)
st.title(tr("data.title"))
st.markdown(tr("data.intro"))

package = data.datapackage()
if package is None:
    st.info(tr("common.not_available", what="datapackage.json"))
    frame.end_page()

processed = data.processed_dir()
version = data.data_version()
# Payloads are callables: Streamlit runs them only when the button is clicked, so drawing this page does not
# read and escape every table on each rerun (ui.downloads caches the bytes per file and build).
col1, col2, col3 = st.columns(3)
col1.download_button(tr("data.zip"), data=lambda: downloads.cached_zip(str(processed), version), file_name="jakarta-digital-divide.zip", mime="application/zip", icon=":material/folder_zip:", on_click="ignore", key="dl_zip")
col2.download_button("datapackage.json", data=lambda: downloads.cached_file(str(processed / "datapackage.json"), version), file_name="datapackage.json", mime="application/json", icon=":material/description:", on_click="ignore", key="dl_datapackage")
if data.file_path("codebook.csv"):
    col3.download_button(tr("data.codebook"), data=lambda: downloads.cached_csv(str(processed / "codebook.csv"), version), file_name="codebook.csv", mime="text/csv", icon=":material/menu_book:", on_click="ignore", key="dl_codebook")
st.caption(tr("data.licence_note"))
st.caption(tr("data.codebook_note"))

for entry in about.data_catalogue(package, processed, lang, tr):
    with st.expander(entry["heading"], expanded=False):
        st.markdown(entry["description"])
        st.markdown(entry["provenance"])
        cols = st.columns(max(3, len(entry["files"])))
        for col, (label, path, mime, escape) in zip(cols, entry["files"]):
            fetch = downloads.cached_csv if escape else downloads.cached_file
            col.download_button(
                label,
                data=(lambda p=path, f=fetch: f(p, version)),
                file_name=path.rsplit("/", 1)[-1],
                mime=mime,
                on_click="ignore",
                key=f"dl_{label.lower()}_{entry['name']}",
                icon=":material/download:",
            )
