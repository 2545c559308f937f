"""End to end in headless Debian Chromium (Playwright, ``/usr/bin/chromium``; never ``playwright install``):
an NGO uploads a generated one-kelurahan kampung export on the Upload page, sees the comparison, downloads the
cleaned CSV and the report and finds no NIK, KK or phone pattern in either; two simultaneous browser sessions
uploading different kampung never see each other's results.

The city is a small SYNTHETIC build (``tests/pages/kampung_support.py``); the kampung exports are the
submissions of one kelurahan each, which the city sample does not contain (independent samples).
"""

from __future__ import annotations

import io

import pandas as pd
import pytest

from analysis.privacy import scan_for_pii
from tests.browser.server import ROOT, launch_chromium, streamlit_server, wait_rendered
from tests.pages import kampung_support as ks
from ui import i18n

pytestmark = pytest.mark.browser

EN = i18n.translator("en")


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    return ks.generate_demo(tmp_path_factory.mktemp("demo_e2e"))


@pytest.fixture(scope="module")
def exports(demo):
    city, tengah = ks.split_export(demo, ks.KAMPUNG_CODE)
    _, gedong = ks.split_export(demo, ks.OTHER_KAMPUNG_CODE)
    return {"city": city, "tengah": tengah, "gedong": gedong}


@pytest.fixture(scope="module")
def server(tmp_path_factory, demo, exports):
    data = tmp_path_factory.mktemp("data_e2e")
    ks.build_city(data / "processed", exports["city"], (demo / "design.csv").read_bytes())
    log = tmp_path_factory.mktemp("logs") / "streamlit.log"
    with streamlit_server(ROOT / "dashboard.py", data, log_path=log) as (url, _):
        yield url, log


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = launch_chromium(p)
        yield b
        b.close()


def payloads(files: dict[str, bytes]) -> list[dict]:
    return [{"name": name, "mimeType": "text/csv", "buffer": data} for name, data in files.items()]


def open_upload(context, url):
    page = context.new_page()
    page.goto(f"{url}/unggah?lang=en")
    wait_rendered(page)
    page.get_by_text(EN("upload.waiting")).wait_for()
    return page


def upload(page, files):
    # the export uploader is the one taking several files; the design file's takes one (under load the page's
    # elements can arrive in either order, so ``.first`` is not the export's)
    page.locator('input[data-testid="stFileUploaderDropzoneInput"][multiple]').set_input_files(payloads(files))


def wait_comparison(page, timeout=120_000):
    page.get_by_text(EN("upload.comparison")).wait_for(timeout=timeout)
    wait_rendered(page, timeout=timeout)


def test_upload_compare_and_download_without_personal_data(server, browser, exports, tmp_path):
    url, log = server
    context = browser.new_context(accept_downloads=True, viewport={"width": 1400, "height": 1800})
    page = open_upload(context, url)
    upload(page, exports["tengah"])
    wait_comparison(page)
    assert page.get_by_text("Kelurahan Tengah, Kecamatan Kramatjati").first.is_visible()
    assert page.get_by_text(EN("upload.unweighted")).is_visible()  # no design file: said so
    assert page.get_by_text(EN("upload.decomposition")).is_visible()
    assert page.locator('[data-testid="stException"]').count() == 0
    page.screenshot(path=str(tmp_path / "upload_tengah.png"), full_page=True)

    got = {}
    for key, name in (("upload.download_households", "h.csv"), ("upload.download_persons", "p.csv"), ("upload.download_report", "r.html")):
        with page.expect_download() as info:
            page.get_by_role("button", name=EN(key)).click()
        path = tmp_path / name
        info.value.save_as(path)
        got[name] = path
        scan = scan_for_pii(path)
        assert scan.clean, str(scan)
    households = pd.read_csv(got["h.csv"])
    assert set(households["kode_kemendagri"]) == {ks.KAMPUNG_CODE}
    assert households["synthetic"].all()
    main = pd.read_csv(io.BytesIO(exports["tengah"][ks.MAIN_NAME]), dtype=str)
    # every submission is a household, except the generator's pilot (test) submissions, made before fieldwork
    from analysis.survey.kobo_export import FIELDWORK_START

    pilot = pd.to_datetime(main["start"].str[:19], errors="coerce") < pd.Timestamp(FIELDWORK_START)
    assert len(households) == main.loc[~pilot, "_uuid"].nunique()
    html = got["r.html"].read_text(encoding="utf-8")
    assert "Tengah" in html and EN("upload.report_title") in html and "<script" not in html
    # nothing of the upload reached the server log
    text = log.read_text(encoding="utf-8", errors="replace")
    assert scan_for_pii(log).clean
    assert main["_uuid"].iloc[0] not in text
    context.close()


def test_two_simultaneous_sessions_never_see_each_others_upload(server, browser, exports, tmp_path):
    url, _ = server
    a_ctx, b_ctx = browser.new_context(), browser.new_context()
    a, b = open_upload(a_ctx, url), open_upload(b_ctx, url)
    upload(a, exports["tengah"])  # both uploads run on the server at the same time
    upload(b, exports["gedong"])
    wait_comparison(a)
    wait_comparison(b)
    a.screenshot(path=str(tmp_path / "session_a.png"), full_page=True)
    b.screenshot(path=str(tmp_path / "session_b.png"), full_page=True)
    assert a.get_by_text("Kelurahan Tengah").count() >= 1 and a.get_by_text("Kelurahan Gedong").count() == 0
    assert b.get_by_text("Kelurahan Gedong").count() >= 1 and b.get_by_text("Kelurahan Tengah").count() == 0
    # a third session opened afterwards sees no upload at all
    c_ctx = browser.new_context()
    c = open_upload(c_ctx, url)
    assert c.get_by_text(EN("upload.comparison")).count() == 0
    assert c.get_by_text("Kelurahan Tengah").count() == 0 and c.get_by_text("Kelurahan Gedong").count() == 0
    # reloading a tab starts a new session: the upload is forgotten
    a.reload()
    wait_rendered(a)
    a.get_by_text(EN("upload.waiting")).wait_for()
    assert a.get_by_text("Kelurahan Tengah").count() == 0
    for ctx in (a_ctx, b_ctx, c_ctx):
        ctx.close()
