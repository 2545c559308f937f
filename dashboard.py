"""Jakarta digital divide dashboard: navigation, language and the shared sidebar; nothing else.

Run with ``streamlit run dashboard.py``. Data: ``data/processed`` (or ``$DIGIDIV_DATA/processed``), written by
``python -m analysis build``. Page copy: ``locales/``. Page bodies: ``pages/``.
"""

from pathlib import Path

import streamlit as st

from ui import banners, cached, data, frame, sidebar, state
from ui.views import common

FAVICON = Path(__file__).resolve().parent / "ui" / "assets" / "favicon.png"

# The favicon is a file served by this server: a Material icon (page_icon or a page's icon) becomes a favicon
# fetched from fonts.gstatic.com, which fails offline and tells a third party who is reading.
st.set_page_config(page_title="Kesenjangan digital Jakarta / Jakarta digital divide", page_icon=str(FAVICON), layout="wide")

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
indicators, register = built.indicators, built.register
indicator_ids = list(indicators["indicator_id"]) if indicators is not None else []
kelurahan_labels = cached.kelurahan_labels(built)
cached.map_geometry_url(built)  # the map's geometry as a static file (written once per build; see ui/cached.py)

requested_page = state.init(indicator_ids, set(kelurahan_labels), indicator_ids[0] if indicator_ids else None)
NAV_PAGES = "_nav_pages"  # session state: (language, pages, overview twin) of this session


def navigation_pages(lang: str):
    """This session's ``st.Page`` objects in ``lang``, built on its first run and when the language changes.

    Why not on every run: ``st.Page`` resolves its file's path when it is made (an ``lstat`` per path component
    and a ``stat``: ~45 file-system calls for the 9 pages), and under 50 sessions at once each call that
    releases the GIL waits for it again (``bench/bench_load.py --profile``: ~35 ms of wall time per map run).
    Never shared between sessions: ``st.navigation`` marks the page it returns as the one to run.
    """
    kept = st.session_state.get(NAV_PAGES)
    if kept is not None and kept[0] == lang:
        return kept[1], kept[2]
    pages = {
        # The default page is served at "/" whatever its url_path (Streamlit matches a path against the public
        # pathname, "" for the default page), so /ringkasan would be "Page not found": the overview gets a hidden
        # twin at /ringkasan that hands over to it, and its own url_path is only an internal name.
        slug: st.Page(path, title=state.tr(title_key), icon=icon, url_path="beranda" if slug == "ringkasan" else slug, default=(slug == "ringkasan"))
        for slug, path, title_key, icon in PAGES
    }
    overview_link = st.Page(PAGES[0][1], title=state.tr(PAGES[0][2]), url_path="ringkasan", visibility="hidden")
    st.session_state[NAV_PAGES] = (lang, pages, overview_link)
    return pages, overview_link


pages, overview_link = navigation_pages(state.lang())
current = st.navigation([*pages.values(), overview_link])
if current is overview_link:
    st.switch_page(pages["ringkasan"])
current_slug = current.url_path or "ringkasan"
if requested_page in pages and requested_page != current_slug:
    st.switch_page(pages[requested_page])  # a link like /?page=peta opens the map
if st.session_state.pop(state.GOTO_PROFILE, False) and current_slug != "profil":
    st.switch_page(pages["profil"])  # a kelurahan chosen in the search or on the map opens its profile

sidebar.render(indicator_ids, common.indicator_labels(indicators, state.lang()), kelurahan_labels)
banners.render(data.build_report(), data.manifest_titles())
state.sync_query_params(current_slug)
with frame.inside():
    current.run()
# After the page, so its own URL parameters are in the link. A page that ends with st.stop() (nothing to show
# yet) gets no share box: after a stop request Streamlit refuses every further element of the run.
sidebar.render_share(current_slug)
