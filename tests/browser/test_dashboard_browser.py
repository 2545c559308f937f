"""End-to-end: the dashboard in headless Debian Chromium on the full build of the mirror."""

from __future__ import annotations

import re
from pathlib import Path
from urllib.parse import parse_qs, urlparse

import pandas as pd
import pytest

from tests.browser.conftest import ARTIFACTS
from tests.browser.server import wait_rendered
from ui import i18n

pytestmark = pytest.mark.browser

PAGES = ["ringkasan", "peta", "profil", "bandingkan", "model", "data", "metodologi"]
TENGAH = "31.75.04.1002"


def open_page(page, url):
    page.goto(url)
    wait_rendered(page)
    page.wait_for_selector("h1")


def query(page) -> dict:
    return {k: v[0] for k, v in parse_qs(urlparse(page.url).query).items()}


def h1(page) -> str:
    return page.locator("h1").first.inner_text().strip()


def shot(page, name):
    """Screenshot of the whole page: Streamlit scrolls inside its own container, so grow the viewport."""
    height = page.evaluate("() => { const m = document.querySelector('[data-testid=\"stMain\"]') || document.body; return Math.min(m.scrollHeight + 200, 6000); }")
    size = page.viewport_size
    page.set_viewport_size({"width": size["width"], "height": max(size["height"], height)})
    page.wait_for_timeout(500)
    page.screenshot(path=str(ARTIFACTS / name))
    page.set_viewport_size(size)


def map_loaded(page):
    """The Vega map has drawn its shapes (SVG renderer: one path per kelurahan and layer)."""
    page.wait_for_selector('[data-testid="stVegaLiteChart"] svg.marks path[aria-label*="(31."]', state="attached", timeout=60_000)


def point_inside(page, selector: str) -> list[float]:
    """A screen point where ``selector`` (an SVG shape) is the topmost element: its bounding box's centre is
    not inside a concave kelurahan, so scan a grid over the box."""
    return page.evaluate(
        """sel => { const el = document.querySelector(sel); const r = el.getBoundingClientRect();
        for (let i = 1; i < 12; i++) for (let j = 1; j < 12; j++) {
          const x = r.left + r.width * i / 12, y = r.top + r.height * j / 12;
          if (document.elementFromPoint(x, y) === el) return [x, y]; }
        return null; }""",
        selector,
    )


def test_each_page_renders_without_error(page, app_url):
    for slug in PAGES:
        open_page(page, f"{app_url}/{slug}?kel={TENGAH}")
        assert page.locator('[data-testid="stException"]').count() == 0, slug
        assert page.get_by_text("Page not found").count() == 0, slug  # every slug is a route, /ringkasan too
        assert h1(page), slug
        assert query(page)["page"] == slug
        shot(page, f"page-{slug}.png")


def test_no_request_leaves_the_server(page, app_url):
    """Offline for real: fonts, icons, favicons and charts all come from the dashboard's own server."""
    server = urlparse(app_url).netloc
    outside = []
    page.on("request", lambda r: outside.append(r.url) if urlparse(r.url).netloc not in (server, "") and not r.url.startswith(("data:", "blob:")) else None)
    for slug in [*PAGES, "unggah"]:
        open_page(page, f"{app_url}/{slug}?kel={TENGAH}&lang=en")
        page.wait_for_timeout(1500)  # favicons and lazy chunks come after the first render
    assert outside == []


def test_the_overview_answers_at_its_own_slug(page, app_url):
    open_page(page, f"{app_url}/ringkasan?lang=en")
    page.wait_for_timeout(1000)  # Streamlit's "Page not found" dialog comes after the first render
    assert page.get_by_text("Page not found").count() == 0
    assert h1(page) == i18n.translate("en", "overview.title")


def test_clicking_a_kelurahan_on_the_map_opens_its_profile(page, app_url, dashboard_data):
    open_page(page, f"{app_url}/peta?indicator=hh_internet&lang=id")
    map_loaded(page)
    # the top layer's shape for Tengah (the click and tooltip layer; its aria-label is "Tengah (code)")
    shape = f'[data-testid="stVegaLiteChart"] svg.marks path[aria-label="Tengah ({TENGAH})"]'
    page.locator(shape).last.scroll_into_view_if_needed()
    xy = point_inside(page, shape)
    assert xy, "Tengah is not clickable on the map"
    page.mouse.move(*xy)
    page.wait_for_selector("#vg-tooltip-element.visible", timeout=10_000)
    tooltip = page.locator("#vg-tooltip-element").inner_text()
    assert "Tengah" in tooltip and "SK 95%" in tooltip  # hover: the kelurahan, its value and CI
    page.screenshot(path=str(ARTIFACTS / "map-before-click.png"))
    page.mouse.click(*xy)
    page.wait_for_url(re.compile(r"/profil\?"), timeout=60_000)
    wait_rendered(page)
    assert h1(page) == "Kelurahan Tengah"
    assert query(page)["kel"] == TENGAH
    shot(page, "profile-after-map-click.png")


def test_switching_language_changes_copy_numbers_and_url(page, app_url):
    open_page(page, f"{app_url}/")
    assert h1(page) == i18n.translate("id", "overview.title")
    first_metric = page.locator(".dd-cards .dd-value").first.inner_text()
    assert "," in first_metric  # decimal comma
    page.locator('[data-testid="stSidebar"]').get_by_text("English", exact=True).click()
    page.wait_for_function("t => document.querySelector('h1') && document.querySelector('h1').innerText.trim() === t", arg=i18n.translate("en", "overview.title"))
    wait_rendered(page)
    assert "." in page.locator(".dd-cards .dd-value").first.inner_text()
    assert query(page)["lang"] == "en"
    # the charts are SVG files shown as images (issue 16): each loads, and its link downloads that file
    page.wait_for_function("() => { const i = document.querySelectorAll('.dd-figure img'); return i.length >= 3 && Array.from(i).every(x => x.complete && x.naturalWidth > 0); }")
    with page.expect_download() as download:
        page.locator("a.svg-download").first.click()
    assert download.value.suggested_filename.endswith(".svg")
    assert Path(download.value.path()).read_text(encoding="utf-8").startswith("<svg ")
    page.screenshot(path=str(ARTIFACTS / "overview-english.png"))


def test_a_shared_link_reopens_the_same_view(page, app_url):
    open_page(page, f"{app_url}/profil?lang=en&indicator=jaki_aware&kel={TENGAH}")
    assert h1(page) == "Kelurahan Tengah"
    boxes = page.locator('[data-testid="stSidebar"] [data-testid="stSelectbox"] input')
    assert boxes.nth(0).input_value() == "Respondents who know the JAKI app"
    assert boxes.nth(1).input_value().startswith("Tengah (")
    assert query(page) == {"page": "profil", "lang": "en", "indicator": "jaki_aware", "kel": TENGAH}
    # switching page keeps the state in the URL (Streamlit clears it; the dashboard writes it back)
    page.locator('[data-testid="stSidebarNav"]').get_by_text("Map", exact=True).click()
    page.wait_for_url(re.compile(r"/peta\?"))
    wait_rendered(page)
    assert query(page) == {"page": "peta", "lang": "en", "indicator": "jaki_aware", "kel": TENGAH, "layer": "sae"}
    # the share box gives the same view as a link to copy
    page.locator('[data-testid="stSidebar"] [data-testid="stPopover"]').filter(has_text="Share this view").locator("button").click()
    shared = page.locator('[data-testid="stPopoverBody"] [data-testid="stCode"]').first.inner_text().strip()
    assert urlparse(shared).path.endswith("/peta") and {k: v[0] for k, v in parse_qs(urlparse(shared).query).items()} == query(page)


def test_download_a_csv_and_read_it_back(page, app_url, dashboard_data, tmp_path):
    open_page(page, f"{app_url}/data?lang=en")
    expander = page.locator('[data-testid="stExpander"]').filter(has_text="(estimates)").first
    expander.locator("summary").click()
    button = expander.locator('[data-testid="stDownloadButton"]').filter(has_text="CSV")
    button.wait_for(state="visible")
    with page.expect_download() as info:
        button.click()
    target = tmp_path / info.value.suggested_filename
    info.value.save_as(target)
    assert target.name == "estimates.csv"
    back = pd.read_csv(target)
    built = pd.read_parquet(dashboard_data / "processed" / "estimates.parquet")
    assert back.shape == built.shape
    assert back["estimate"].round(9).equals(built["estimate"].astype(float).round(9))
    assert not back.astype(str).apply(lambda c: c.str.match(r"^[=+@]")).any().any()


def test_the_map_downloads_as_png(page, app_url, tmp_path):
    open_page(page, f"{app_url}/peta?indicator=hh_internet&lang=en")
    map_loaded(page)
    chart = page.locator('[data-testid="stVegaLiteChart"]').first
    chart.hover()
    button = page.get_by_role("button", name="Download as PNG")
    button.wait_for(state="visible", timeout=10_000)
    with page.expect_download() as info:
        button.click()
    target = tmp_path / "map.png"
    info.value.save_as(target)
    data = target.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"  # a real PNG
    # the page's own PNG button: named after the indicator and the layer (the toolbar's is "<time>_chart.png")
    with page.expect_download(timeout=60_000) as named:
        page.get_by_role("button", name="Download this map (PNG)").click()
    assert named.value.suggested_filename == "map-hh_internet-sae.png"
    target = tmp_path / named.value.suggested_filename
    named.value.save_as(target)
    assert target.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    width, height = int.from_bytes(data[16:20], "big"), int.from_bytes(data[20:24], "big")
    assert width >= 600 and height >= 400, (width, height)  # the whole map, at least screen size
