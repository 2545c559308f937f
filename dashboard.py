"""Jakarta digital divide dashboard: navigation, language and the shared sidebar; nothing else.

Run with ``streamlit run dashboard.py``. Data: ``data/processed`` (or ``$DIGIDIV_DATA/processed``), written by
``python -m analysis build``. Page copy: ``locales/``. Page bodies: ``pages/``.
"""

import streamlit as st

from ui import banners, cached, data, frame, sidebar, state

# The favicon is a file served by this server: a Material icon (page_icon or a page's icon) becomes a favicon
# fetched from fonts.gstatic.com, which fails offline and tells a third party who is reading. It is one of the
# app's static files (``static/favicon.png``, ``server.enableStaticServing``), so a run passes only its URL:
# a file path made every run read the file, hash it and register it with the media file manager under its
# lock (with the path's ``resolve()``, ~20 ms of wall time per map run under 50 sessions, issue 16).
FAVICON_URL = "/app/static/favicon.png"
st.set_page_config(page_title="Kesenjangan digital Jakarta / Jakarta digital divide", page_icon=FAVICON_URL, layout="wide")

# (url path, file, locale key of the title, icon). The url paths are stable in every language, so a shared
# link opens the same page whatever language it was copied in. Each file name equals its url path, and each
# page starts with ``frame.require()`` so that it always runs inside this file (see ui/frame.py).
PAGES = [
    ("ringkasan", "pages/ringkasan.py", "nav.overview", ":material/dashboard:"),
    ("peta", "pages/peta.py", "nav.map", ":material/map:"),
    ("profil", "pages/profil.py", "nav.profile", ":material/location_city:"),
    ("bandingkan", "pages/bandingkan.py", "nav.compare", ":material/compare_arrows:"),
    ("model", "pages/model.py", "nav.model", ":material/functions:"),
    ("data", "pages/data.py", "nav.data", ":material/download:"),
    ("metodologi", "pages/metodologi.py", "nav.methodology", ":material/menu_book:"),
    # The Upload page: an NGO uploads its KoboToolbox export (issue 6).
    ("unggah", "pages/unggah.py", "nav.upload", ":material/upload_file:"),
]

built = data.built()
indicator_ids = cached.indicator_ids(built)
kelurahan_labels = cached.kelurahan_labels(built)
cached.map_geometry_url(built)  # the map's geometry as a static file (written once per build; see ui/cached.py)

requested_page = state.init(indicator_ids, kelurahan_labels, indicator_ids[0] if indicator_ids else None)
pages, overview_link = sidebar.navigation_pages(PAGES, state.lang())
current = st.navigation([*pages.values(), overview_link])
if current is overview_link:
    st.switch_page(pages["ringkasan"])
current_slug = current.url_path or "ringkasan"
if requested_page in pages and requested_page != current_slug:
    st.switch_page(pages[requested_page])  # a link like /?page=peta opens the map
if st.session_state.pop(state.GOTO_PROFILE, False) and current_slug != "profil":
    st.switch_page(pages["profil"])  # a kelurahan chosen in the search or on the map opens its profile

sidebar.render(indicator_ids, cached.indicator_labels(built, state.lang()), kelurahan_labels)
banners.render(*cached.banner_inputs(built))
state.set_current_page(current_slug)
with frame.inside():
    current.run()
# After the page, so its own URL parameters are in the URL and the link; also after a page that ended early
# (``frame.end_page()``: nothing to show yet).
sidebar.render_share(current_slug, state.sync_query_params(current_slug))
