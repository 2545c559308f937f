"""The shared sidebar: language, indicator and kelurahan search. Drawn by ``dashboard.py`` on every run.

Each widget has its own key (``w_*``) and copies its value into the canonical state (``ui.state``) when the
user changes it; before drawing, the widget is given the canonical value, so a choice made elsewhere (a click
on the map, a shared link) shows in the sidebar too.
"""

from __future__ import annotations

import streamlit as st

from ui import i18n, state


def _copy(widget_key: str, canonical_key: str) -> None:
    st.session_state[canonical_key] = st.session_state.get(widget_key)


def _kelurahan_chosen() -> None:
    code = st.session_state.get("w_kel")
    st.session_state[state.K_KEL] = code
    if code:
        st.session_state[state.GOTO_PROFILE] = True  # searching a kelurahan opens its profile


def render(indicator_ids: list[str], indicator_labels: dict[str, str], kelurahan_labels: dict[str, str]) -> None:
    ss = st.session_state
    ss["w_lang"] = state.lang()
    if indicator_ids:
        ss["w_indicator"] = state.indicator() if state.indicator() in indicator_ids else indicator_ids[0]
    if state.kelurahan() in kelurahan_labels:
        ss["w_kel"] = state.kelurahan()
    else:
        ss.pop("w_kel", None)
    with st.sidebar:
        st.radio(
            state.tr("sidebar.language"),
            options=list(i18n.LANGUAGES),
            format_func=lambda lang: i18n.translate(lang, "language_name"),
            key="w_lang",
            horizontal=True,
            on_change=_copy,
            args=("w_lang", state.K_LANG),
        )
        if indicator_ids:
            st.selectbox(
                state.tr("sidebar.indicator"),
                options=indicator_ids,
                format_func=lambda i: indicator_labels.get(i, i),
                key="w_indicator",
                on_change=_copy,
                args=("w_indicator", state.K_IND),
            )
        else:
            st.caption(state.tr("sidebar.no_indicators"))
        if kelurahan_labels:
            st.selectbox(
                state.tr("sidebar.kelurahan"),
                options=list(kelurahan_labels),
                format_func=lambda c: kelurahan_labels.get(c, c),
                index=None,
                placeholder=state.tr("sidebar.kelurahan_placeholder"),
                key="w_kel",
                on_change=_kelurahan_chosen,
                help=state.tr("sidebar.kelurahan_help"),
            )
        else:
            st.caption(state.tr("sidebar.no_register"))


def render_share(page_slug: str) -> None:
    """"Share this view": the link to what is on screen, drawn after the page ran so that the page's own part
    (map layer, model outcome, compared kelurahan) is in it. ``st.code`` carries Streamlit's copy button, which
    works offline and needs no clipboard permission of its own."""
    with st.sidebar.expander(state.tr("sidebar.share"), icon=":material/link:"):
        st.code(state.share_link(page_slug), language=None, wrap_lines=True)
        st.caption(state.tr("sidebar.share_help"))
