"""Session and URL state: language, indicator, kelurahan and page, shareable as a link.

The canonical values live in ``st.session_state`` under ``lang``, ``indicator`` and ``kel``; the sidebar widgets
have their own keys (``w_*``) and copy into the canonical ones in their ``on_change`` callbacks. Streamlit drops
the state of a widget that is not drawn in a run, so keeping the canonical value apart from the widget means a
page that stops early never loses the user's choice.

The URL: on the first run of a session the query parameters (``?lang=en&indicator=...&kel=31.71.01.1001``) are
read into the state; on every run they are written back from the state. Streamlit clears the query string when
the user switches page, so writing them back on every run is what keeps a copied link complete. The page is the
URL path (``/peta``) and is also written as ``page=`` so that ``/?page=peta`` opens the map too.
"""

from __future__ import annotations

import streamlit as st

from ui import i18n

K_LANG, K_IND, K_KEL = "lang", "indicator", "kel"
QP_PAGE = "page"
PENDING_KEL = "_pending_kel"  # set by a page (map click), applied before the sidebar draws in the next run
GOTO_PROFILE = "_goto_profile"


def lang() -> str:
    value = st.session_state.get(K_LANG, i18n.DEFAULT_LANGUAGE)
    return value if value in i18n.LANGUAGES else i18n.DEFAULT_LANGUAGE


def tr(key: str, **fields) -> str:
    """The page copy for ``key`` in the current language."""
    return i18n.translate(lang(), key, **fields)


def indicator() -> str | None:
    return st.session_state.get(K_IND)


def kelurahan() -> str | None:
    return st.session_state.get(K_KEL)


def init(indicator_ids: list[str], kelurahan_codes: set[str], default_indicator: str | None) -> str | None:
    """Read the URL once per session, apply pending choices; return the page slug the URL asked for (first run)."""
    ss = st.session_state
    requested_page = None
    if not ss.get("_state_initialised"):
        qp = st.query_params
        if qp.get("lang") in i18n.LANGUAGES:
            ss[K_LANG] = qp.get("lang")
        if qp.get("indicator") in indicator_ids:
            ss[K_IND] = qp.get("indicator")
        if qp.get("kel") in kelurahan_codes:
            ss[K_KEL] = qp.get("kel")
        requested_page = qp.get(QP_PAGE)
        ss["_state_initialised"] = True
    ss.setdefault(K_LANG, i18n.DEFAULT_LANGUAGE)
    if ss.get(K_IND) not in indicator_ids:
        ss[K_IND] = default_indicator
    if PENDING_KEL in ss:
        code = ss.pop(PENDING_KEL)
        if code in kelurahan_codes:
            ss[K_KEL] = code
            ss[GOTO_PROFILE] = True
    return requested_page


def choose_kelurahan(code: str) -> None:
    """Called by a page (e.g. a click on the map): the next run selects ``code`` and opens its profile."""
    st.session_state[PENDING_KEL] = code


def sync_query_params(page_slug: str) -> None:
    """Write the current view into the URL (only when it changed, to avoid needless browser updates)."""
    desired = {QP_PAGE: page_slug, "lang": lang()}
    if indicator():
        desired["indicator"] = indicator()
    if kelurahan():
        desired["kel"] = kelurahan()
    if st.query_params.to_dict() != desired:
        st.query_params.from_dict(desired)


def translator(language: str | None = None):
    """``tr(key, **fields)`` bound to one language. Pages bind it once per run: a widget's ``format_func`` may be
    called after the run (outside the session), where reading the language from the session would fall back
    to the default."""
    return i18n.translator(language or lang())
