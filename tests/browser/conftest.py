"""Browser fixtures: the full build as DIGIDIV_DATA, one ``streamlit run dashboard.py`` per session, Chromium.

Debian's Chromium (``bash scripts/setup.sh --test``) driven by Playwright for Python; never ``playwright
install``. Screenshots go to ``test-artifacts/`` (git-ignored).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.browser.server import CHROMIUM, ROOT, launch_chromium, streamlit_server

ARTIFACTS = ROOT / "test-artifacts"


@pytest.fixture(scope="session")
def app_url(dashboard_data):
    ARTIFACTS.mkdir(exist_ok=True)
    with streamlit_server(ROOT / "dashboard.py", dashboard_data, log_path=ARTIFACTS / "streamlit-server.log") as (url, _):
        yield url


@pytest.fixture(scope="module")
def browser():
    """Module-scoped: a Playwright sync session must be closed before another test module starts its own."""
    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} is missing: run `bash scripts/setup.sh --test` (apt installs Debian's chromium)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = launch_chromium(p)
        yield b
        b.close()


@pytest.fixture
def page(browser):
    """A fresh browser context (a new Streamlit session) per test, downloads allowed."""
    context = browser.new_context(viewport={"width": 1400, "height": 1000}, accept_downloads=True, locale="id-ID")
    pg = context.new_page()
    pg.set_default_timeout(60_000)
    yield pg
    context.close()
