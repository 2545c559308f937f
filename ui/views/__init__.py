"""Shaping processed tables into what a page shows: pure pandas, no Streamlit (unit-tested directly).

One module per page: ``map``, ``profile``, ``overview``, ``compare``, ``model``, ``about`` (methodology and
data), ``upload``; ``common`` holds what they share (labels, estimate rows, shown values, bars, significance).
Import the module you need (``from ui.views import map as map_view``); nothing is re-exported here.
"""
