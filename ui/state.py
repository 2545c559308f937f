"""Session and URL state: language, indicator, kelurahan and page, shareable as a link.

The canonical values live in ``st.session_state`` under ``lang``, ``indicator`` and ``kel``; the sidebar widgets
have their own keys (``w_*``) and copy into the canonical ones in their ``on_change`` callbacks. Streamlit drops
the state of a widget that is not drawn in a run, so keeping the canonical value apart from the widget means a
page that stops early never loses the user's choice.

The URL: on the first run of a session the query parameters (``?lang=en&indicator=...&kel=31.71.01.1001``) are
read into the state; on every run they are written back from the state, once, after the page ran. Streamlit clears the query string when
the user switches page, so writing them back on every run is what keeps a copied link complete. The page is the
URL path (``/peta``) and is also written as ``page=`` so that ``/?page=peta`` opens the map too.

A page adds its own part of the view with ``page_param`` (the map's ``layer``, the model's ``outcome``, the
compare page's several kelurahan as ``kel=a,b,c``): read from the link that opened the session, remembered per
page, and written into the URL only while that page is shown.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence

import streamlit as st

from ui import i18n

K_LANG, K_IND, K_KEL = "lang", "indicator", "kel"
QP_PAGE = "page"
LINK = "_link_params"  # the query parameters of the link that opened the session
PAGE_PARAMS = "_page_params"  # {page slug: {name: value}} each page's own part of the view
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


def init(indicator_ids: Sequence[str], kelurahan_codes: Collection[str], default_indicator: str | None) -> str | None:
    """Read the URL once per session, apply pending choices; return the page slug the URL asked for (first run)."""
    ss = st.session_state
    requested_page = None
    if not ss.get("_state_initialised"):
        qp = st.query_params
        if qp.get("lang") in i18n.LANGUAGES:
            ss[K_LANG] = qp.get("lang")
        if qp.get("indicator") in indicator_ids:
            ss[K_IND] = qp.get("indicator")
        ss[LINK] = qp.to_dict()
        # a compare link carries several codes (kel=a,b,c): the first valid one is the sidebar's kelurahan
        first_kel = next((c for c in str(qp.get("kel") or "").split(",") if c in kelurahan_codes), None)
        if first_kel:
            ss[K_KEL] = first_kel
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


def link_value(name: str) -> str | None:
    """The value of ``name`` in the link that opened this session (None when it had none)."""
    return st.session_state.get(LINK, {}).get(name)


def current_page() -> str | None:
    return st.session_state.get("_current_page")


def set_current_page(page_slug: str) -> None:
    """The page this run shows (``dashboard.py``, before the page runs): what ``page_param`` files a part under."""
    st.session_state["_current_page"] = page_slug


def page_param(name: str, value: str | None) -> None:
    """Make ``name=value`` part of the current page's URL (``None`` removes it); remembered for that page and
    written into the URL with the rest of the view by ``sync_query_params`` after the page ran."""
    slug = current_page()
    if slug is None:
        return
    params = st.session_state.setdefault(PAGE_PARAMS, {}).setdefault(slug, {})
    if value is None:
        params.pop(name, None)
    else:
        params[name] = str(value)


def page_param_default(name: str, allowed, fallback):
    """A page widget's first value: the link's ``name`` when it is one of ``allowed``, else ``fallback``."""
    value = link_value(name)
    return value if value in allowed else fallback


def sync_query_params(page_slug: str) -> dict[str, str]:
    """Write the current view into the URL, once per run after the page ran (so its own part is in it), and
    only when it changed (to avoid needless browser updates); return the view's parameters.

    Once per run, not at each change: every read or write of ``st.query_params`` goes through the session's
    lock and a write sends the browser a message; under 50 sessions at once these were ~3% of the server's
    time on the map page (``bench/bench_load.py``, issue 16)."""
    chosen_indicator, chosen_kel = indicator(), kelurahan()
    desired = {QP_PAGE: page_slug, "lang": lang()}
    if chosen_indicator:
        desired["indicator"] = chosen_indicator
    if chosen_kel:
        desired["kel"] = chosen_kel
    desired.update(st.session_state.get(PAGE_PARAMS, {}).get(page_slug, {}))
    if st.query_params.to_dict() != desired:
        st.query_params.from_dict(desired)
    return desired


def share_link(page_slug: str, params: dict[str, str]) -> str:
    """The link to the view on screen (``params``: what ``sync_query_params`` wrote), with the host the visitor
    used (for the "copy link" box)."""
    from urllib.parse import urlencode

    base = (st.context.url or "").split("?")[0].rstrip("/")
    root = base.rsplit("/", 1)[0] if base.rsplit("/", 1)[-1] == page_slug else base
    return f"{root}/{page_slug}?{urlencode(params, safe=',')}"


def translator(language: str | None = None):
    """``tr(key, **fields)`` bound to one language. Pages bind it once per run: a widget's ``format_func`` may be
    called after the run (outside the session), where reading the language from the session would fall back
    to the default."""
    return i18n.translator(language or lang())
