"""The corpus of broken and hostile exports (tests/survey/bad_exports/cases.py): each refused with its exact
code and message, or accepted with its specific effect; no message ever quotes a cell."""

from __future__ import annotations

import pytest

from analysis.errors import InputError
from analysis.privacy import scan_for_pii
from analysis.survey.ingest import ERROR_CODES, ingest_export
from tests.survey.bad_exports.cases import ACCEPTED, CASES


@pytest.fixture(scope="module")
def register():
    from analysis.etl.registers import load_register

    return load_register()


def test_corpus_is_large_and_every_code_is_documented():
    assert len(CASES) + len(ACCEPTED) >= 30
    assert len(CASES) >= 30
    assert len({c.id for c in CASES} | {a.id for a in ACCEPTED}) == len(CASES) + len(ACCEPTED)
    for c in CASES:
        assert c.code in ERROR_CODES, c.id
        assert c.message, c.id


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_bad_export_gives_its_specific_error(case, register):
    with pytest.raises(InputError) as info:
        ingest_export(case.files(), register=register, source_name="upload", design=case.design() if case.design else None)
    err = info.value
    assert err.code == case.code
    assert str(err) == case.message
    # the error is detached from the parser's own exception (whose text may quote a cell)
    assert err.__cause__ is None and (err.__context__ is None or err.__suppress_context__)


@pytest.mark.parametrize("case", ACCEPTED, ids=[a.id for a in ACCEPTED])
def test_accepted_export_has_its_effect(case, register):
    r = ingest_export(case.files(), register=register, source_name="upload")
    counts = r.reject_counts()
    assert counts["households"] == case.households_rejected
    assert counts["persons"] == case.persons_rejected
    assert len(r.households) == case.households_out
    assert r.households_in == len(r.households) + len(r.household_rejects)
    assert r.persons_in == len(r.persons) + len(r.person_rejects)
    for kind, n in case.pii.items():
        assert r.pii_removed[kind] == n, kind
    for t in r.tables():
        t.check()
        assert scan_for_pii(t.data).clean
        assert scan_for_pii(t.rejects).clean


def test_labels_and_xml_exports_give_identical_tables(register):
    import pandas as pd

    from tests.survey.bad_exports.base import csv_export

    xml = ingest_export(csv_export(), register=register, source_name="upload", salt=b"compare")
    for case in ACCEPTED:
        if case.id in ("labels_id_semicolon", "labels_en_cp1252", "xml_xlsx", "no_group_paths"):
            other = ingest_export(case.files(), register=register, source_name="upload", salt=b"compare")
            pd.testing.assert_frame_equal(xml.households, other.households)
            pd.testing.assert_frame_equal(xml.persons, other.persons)


def test_misspelled_kelurahan_is_matched_to_its_code(register):
    case = next(a for a in ACCEPTED if a.id == "misspelled_kelurahan")
    r = ingest_export(case.files(), register=register, source_name="upload")
    assert "31.75.04.1005" in set(r.households["kode_kemendagri"])  # Balekambang, typed "kel. balekambng"
    assert any("matched to the register" in n for n in r.notes)


def test_free_text_is_scrubbed_and_never_kept(register):
    case = next(a for a in ACCEPTED if a.id == "pii_in_free_text")
    r = ingest_export(case.files(), register=register, source_name="upload")
    for df in (r.households, r.persons, r.household_rejects, r.person_rejects):
        text = df.astype(str).to_csv()
        for secret in ("3175044101850003", "3175040101090012", "0812-3456-7890", "Sari", "HYPERLINK"):
            assert secret not in text
    assert "catatan" not in r.households.columns and "enumerator" not in r.households.columns
