"""Jakarta digital divide dashboard: navigation, language and the shared sidebar; nothing else.

Run with ``streamlit run dashboard.py``. Data: ``data/processed`` (or ``$DIGIDIV_DATA/processed``), written by
``python -m analysis build``. Page copy: ``locales/``. Page bodies: ``pages/``.
"""

import streamlit as st

from ui import banners, data, sidebar, state, views

st.set_page_config(page_title="Kesenjangan digital Jakarta / Jakarta digital divide", page_icon=":material/map:", layout="wide")

# (url path, file, locale key of the title, icon). The url paths are stable in every language, so a shared
# link opens the same page whatever language it was copied in. File names deliberately differ from the url
# paths: Streamlit treats a ``pages/`` folder as the old automatic navigation until ``st.navigation`` has run
# once in the process, and a first request for ``/peta`` would otherwise run ``pages/peta.py`` on its own,
# without this file's sidebar and state.
PAGES = [
    ("ringkasan", "pages/overview.py", "nav.overview", ":material/dashboard:"),
    ("peta", "pages/map.py", "nav.map", ":material/map:"),
    ("profil", "pages/profile.py", "nav.profile", ":material/location_city:"),
    ("bandingkan", "pages/compare.py", "nav.compare", ":material/compare_arrows:"),
    ("model", "pages/access_model.py", "nav.model", ":material/functions:"),
    ("data", "pages/downloads.py", "nav.data", ":material/download:"),
    ("metodologi", "pages/methodology.py", "nav.methodology", ":material/menu_book:"),
    # Slot for the Upload page (an NGO uploads its KoboToolbox export; a later task):
    # ("unggah", "pages/upload.py", "nav.upload", ":material/upload_file:"),
]

indicators = data.table("indicators")
register = data.table("wilayah_register")
indicator_ids = list(indicators["indicator_id"]) if indicators is not None else []
kelurahan_labels = views.kelurahan_labels(register)

requested_page = state.init(indicator_ids, set(kelurahan_labels), indicator_ids[0] if indicator_ids else None)
pages = {
    slug: st.Page(path, title=state.tr(title_key), icon=icon, url_path=slug, default=(slug == "ringkasan"))
    for slug, path, title_key, icon in PAGES
}
current = st.navigation(list(pages.values()))
current_slug = current.url_path or "ringkasan"
if requested_page in pages and requested_page != current_slug:
    st.switch_page(pages[requested_page])  # a link like /?page=peta opens the map
if st.session_state.pop(state.GOTO_PROFILE, False) and current_slug != "profil":
    st.switch_page(pages["profil"])  # a kelurahan chosen in the search or on the map opens its profile

sidebar.render(indicator_ids, views.indicator_labels(indicators, state.lang()), kelurahan_labels)
banners.render(data.build_report(), data.manifest_titles())
state.sync_query_params(current_slug)
current.run()
