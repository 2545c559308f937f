"""Jakarta digital-divide analysis library.

Everything the dashboard shows is computed here and written to ``data/processed``; the Streamlit pages only
read those artefacts. No module in this package imports Streamlit.
"""

__version__ = "0.1.0"
