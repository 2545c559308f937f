"""Fixtures for the dashboard tests: a data directory holding the full build, an empty one, fresh caches.

``config.processed_dir()`` is ``$DIGIDIV_DATA/processed``; the shared ``built`` fixture writes into a pytest tmp
dir of another name, so ``dashboard_data`` links it as ``<tmp>/processed``.
"""

from __future__ import annotations

from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
DASHBOARD = ROOT / "dashboard.py"


@pytest.fixture(scope="session")
def empty_data(tmp_path_factory) -> Path:
    """A DIGIDIV_DATA directory with no build at all."""
    data = tmp_path_factory.mktemp("empty_data")
    (data / "processed").mkdir()
    return data


@pytest.fixture
def fresh_caches():
    """st.cache_data is shared across AppTest runs in one pytest process: start every test from empty."""
    import streamlit as st

    from ui import cached, downloads

    st.cache_data.clear()
    st.cache_resource.clear()
    cached.clear_memos()
    downloads.cached_csv.cache_clear()
    downloads.cached_file.cache_clear()
    downloads.cached_zip.cache_clear()
    yield
    st.cache_data.clear()
    st.cache_resource.clear()
    cached.clear_memos()


@pytest.fixture
def make_app(fresh_caches, monkeypatch):
    """``make_app(data_dir, **query_params)`` -> an AppTest of dashboard.py reading ``data_dir``, already run."""
    from streamlit.testing.v1 import AppTest

    def make(data_dir: Path, **query):
        monkeypatch.setenv("DIGIDIV_DATA", str(data_dir))
        at = AppTest.from_file(str(DASHBOARD), default_timeout=120)
        at.query_params.update(query)
        return at.run()

    return make
