"""Streamlit glue for the dashboard: state, sidebar, cached loaders and figures, page building blocks.

Modules that import streamlit: ``state``, ``data``, ``sidebar``, ``banners``, ``charts``, ``widgets``.
Pure modules (no streamlit, unit-tested directly): ``i18n``, ``views``, ``downloads``, ``report``.
``analysis/`` never imports from here.
"""
