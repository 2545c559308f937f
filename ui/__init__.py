"""Streamlit glue for the dashboard: state, sidebar, cached loaders and figures, page building blocks.

Modules that import streamlit: ``state``, ``data`` (loaders and the build bundle ``Built``), ``cached`` (every cache of built content), ``sidebar``, ``banners``, ``charts``, ``frame``.
Pure modules (no streamlit, unit-tested directly): ``i18n``, ``views`` (a package: one module per page, ``common`` for what they share), ``downloads``, ``report``.
``analysis/`` never imports from here.
"""
