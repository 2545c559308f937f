"""The shared sidebar: language, indicator and kelurahan search. Drawn by ``dashboard.py`` on every run.

Each widget has its own key (``w_*``) and copies its value into the canonical state (``ui.state``) when the
user changes it; before drawing, the widget is given the canonical value, so a choice made elsewhere (a click
on the map, a shared link) shows in the sidebar too.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping

import streamlit as st
from streamlit.runtime.scriptrunner import get_script_run_ctx

from ui import i18n, state

NAV_PAGES = "_nav_pages"  # session state: (language, pages, overview twin) of this session
_PAGE_TEMPLATES: dict = {}  # (main script, pages, language) -> (pages, overview twin): once per process


def navigation_pages(page_list, lang: str):
    """This session's ``st.Page`` objects in ``lang``: ``({slug: page}, overview twin)``.

    ``page_list``: ``(url path, file, locale key of the title, icon)`` per page (``dashboard.PAGES``).
    ``st.Page`` resolves its file's path when it is made (an ``lstat`` per path component and a ``stat``:
    ~50 file-system calls for the 9 pages), and under 50 sessions at once each call that releases the GIL
    waits for it again (``bench/bench_load.py --profile``: 1.3 s of wall time in 50 first runs). So the
    pages are made once per process and language, and each session gets shallow copies, made on its first
    run and when its language changes. Copies, never the same objects: ``st.navigation`` marks the page it
    returns as the one this run may execute (``Page._can_be_called``), per object.
    """
    kept = st.session_state.get(NAV_PAGES)
    if kept is not None and kept[0] == lang:
        return kept[1], kept[2]
    ctx = get_script_run_ctx()
    key = (ctx.main_script_path if ctx else None, tuple(page_list), lang)
    template = _PAGE_TEMPLATES.get(key)
    if template is None:
        template = _PAGE_TEMPLATES[key] = _make_pages(page_list, lang)  # a race makes equal objects: no lock
    pages = {slug: copy.copy(page) for slug, page in template[0].items()}
    overview_link = copy.copy(template[1])
    st.session_state[NAV_PAGES] = (lang, pages, overview_link)
    return pages, overview_link


def _make_pages(page_list, lang: str):
    # The default page is served at "/" whatever its url_path (Streamlit matches a path against the public
    # pathname, "" for the default page), so /ringkasan would be "Page not found": the overview gets a hidden
    # twin at /ringkasan that hands over to it, and its own url_path is only an internal name.
    tr = i18n.translator(lang)
    first = page_list[0]
    pages = {
        slug: st.Page(path, title=tr(title_key), icon=icon, url_path="beranda" if slug == first[0] else slug, default=(slug == first[0]))
        for slug, path, title_key, icon in page_list
    }
    overview_link = st.Page(first[1], title=tr(first[2]), url_path=first[0], visibility="hidden")
    return pages, overview_link


def _copy(widget_key: str, canonical_key: str) -> None:
    st.session_state[canonical_key] = st.session_state.get(widget_key)


def _kelurahan_chosen() -> None:
    code = st.session_state.get("w_kel")
    st.session_state[state.K_KEL] = code
    if code:
        st.session_state[state.GOTO_PROFILE] = True  # searching a kelurahan opens its profile


def render(indicator_ids: list[str], indicator_labels: Mapping[str, str], kelurahan_labels: Mapping[str, str]) -> None:
    # The session's state is read once here, and the copy bound to its language once: every read of
    # ``st.session_state`` takes the session's lock (under 50 sessions at once, ~6% of the map page's server
    # time went to such reads, most of them the language looked up again for each label; issue 16).
    ss = st.session_state
    lang, chosen_indicator, chosen_kel = state.lang(), state.indicator(), state.kelurahan()
    tr = state.translator(lang)
    ss["w_lang"] = lang
    if indicator_ids:
        ss["w_indicator"] = chosen_indicator if chosen_indicator in indicator_ids else indicator_ids[0]
    if chosen_kel in kelurahan_labels:
        ss["w_kel"] = chosen_kel
    else:
        ss.pop("w_kel", None)
    with st.sidebar:
        st.radio(
            tr("sidebar.language"),
            options=list(i18n.LANGUAGES),
            format_func=lambda code: i18n.translate(code, "language_name"),
            key="w_lang",
            horizontal=True,
            on_change=_copy,
            args=("w_lang", state.K_LANG),
        )
        if indicator_ids:
            st.selectbox(
                tr("sidebar.indicator"),
                options=indicator_ids,
                format_func=lambda i: indicator_labels.get(i, i),
                key="w_indicator",
                on_change=_copy,
                args=("w_indicator", state.K_IND),
            )
        else:
            st.caption(tr("sidebar.no_indicators"))
        if kelurahan_labels:
            st.selectbox(
                tr("sidebar.kelurahan"),
                options=list(kelurahan_labels),
                format_func=lambda c: kelurahan_labels.get(c, c),
                index=None,
                placeholder=tr("sidebar.kelurahan_placeholder"),
                key="w_kel",
                on_change=_kelurahan_chosen,
                help=tr("sidebar.kelurahan_help"),
            )
        else:
            st.caption(tr("sidebar.no_register"))


def render_share(page_slug: str, params: dict[str, str]) -> None:
    """"Share this view": the link to what is on screen (``params``: the view's URL parameters, as
    ``state.sync_query_params`` wrote them after the page ran, so the page's own part (map layer, model outcome,
    compared kelurahan) is in it). ``st.code`` carries Streamlit's copy button, which works offline and needs no
    clipboard permission of its own.

    In a popover, not an expander: the browser draws a popover's content only when it is opened, so a first
    visit does not load ``st.code``'s syntax highlighter (1.5 MB of JavaScript, the largest chunk of a page;
    an expander draws its content while closed). Measured on the overview's first visit, headless Chromium
    (``bench/bench_dashboard.py``; issue 16)."""
    tr = state.translator()
    with st.sidebar.popover(tr("sidebar.share"), icon=":material/link:"):
        st.code(state.share_link(page_slug, params), language=None, wrap_lines=True)
        st.caption(tr("sidebar.share_help"))
