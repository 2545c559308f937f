"""The questionnaire: pyxform converts it, the committed XLSForm matches its Python definition, and
``load_form`` gives ingestion what it needs (paths, choices in both languages, constraints, relevants)."""

from __future__ import annotations

import xml.etree.ElementTree as ET

import pytest

from analysis.survey import questionnaire as q
from analysis.survey import schema as S


@pytest.fixture(scope="module")
def form():
    return q.load_form()


def test_pyxform_converts_the_committed_form_without_warnings():
    xform, warnings = q.convert_to_xform()
    assert warnings == []
    root = ET.fromstring(xform)
    ns = {"x": "http://www.w3.org/2002/xforms", "h": "http://www.w3.org/1999/xhtml"}
    instance = root.find("h:head/x:model/x:instance/*", ns)  # the primary instance comes first
    assert instance.get("id") == q.FORM_ID
    assert instance.get("version") == q.FORM_VERSION
    # both languages are translations of the form
    langs = {t.get("lang") for t in root.iter("{http://www.w3.org/2002/xforms}translation")}
    assert langs == set(q.LANGS)


def test_committed_form_matches_the_python_definition(tmp_path, form):
    regenerated = q.load_form(q.write_xlsform(tmp_path / "form.xlsx"))
    assert regenerated.fields == form.fields
    assert regenerated.choices == form.choices
    assert (regenerated.form_id, regenerated.version) == (form.form_id, form.version)


def test_consent_first_and_everything_else_depends_on_it(form):
    names = [f.name for f in form.fields]
    assert names.index("consent") < names.index("kota")
    for f in form.fields:
        if f.name in ("start", "end", "today", "enumerator", "consent"):
            continue
        assert q.CONSENTED in f.group_relevants, f.name


def test_no_personal_identifiers_are_asked(form):
    for f in form.fields:
        text = " ".join([f.name, *f.labels.values()]).lower()
        if f.name == "used_bst_check":  # the question is *about* JAKI's check by NIK; the NIK is not asked
            continue
        assert "nik" not in text.split() and "nama" not in f.name, f.name


def test_paths_types_and_repeat(form):
    assert form.field("kota").path == "lokasi/kota"
    assert form.field("age").path == "anggota/age" and form.field("age").in_repeat
    assert (form.field("age").min, form.field("age").max) == (0, 110)
    assert form.field("connection").type == "select_multiple"
    assert form.field("uses_internet").relevant == "${age} >= 5"
    assert form.field("kelurahan_other").relevant == "${kelurahan} = 'other'"
    assert {f.name for f in form.repeat_fields} >= {"age", "sex", "education", "occupation", "literate",
                                                     "uses_internet", "owns_smartphone", "digital_skill_basic"}


def test_choice_lists_have_both_languages_and_required_options(form):
    for list_name, choices in form.choices.items():
        for c in choices:
            assert set(c.labels) == set(q.LANGS), (list_name, c.name)
    assert set(form.choice_names("jaki_reason")) == {"did_not_know", "no_smartphone", "no_quota",
                                                    "cannot_operate", "distrust", "other"}
    assert set(form.choice_names("connection")) == {"mobile_data", "fixed_broadband", "public_wifi", "none"}
    assert {"rt_rw", "kelurahan_office", "poster", "door_to_door", "whatsapp", "social_media", "online_news",
            "jaki", "tv_radio", "community_org"} <= set(form.choice_names("info_channel"))
    assert set(form.choice_names("education")) == set(S.EDUCATION_LEVEL)


def test_schema_vocabulary_is_the_forms_choice_lists_in_form_order(form):
    # analysis.survey.schema declares each category order once; the form's choice lists must agree with it
    assert form.choice_names("education") == list(S.DIPLOMAS)
    assert set(S.EDUCATION_LEVEL.values()) == set(S.EDUCATION_LEVELS)
    assert form.choice_names("expenditure") == list(S.EXPENDITURE_BRACKETS)
    assert form.choice_names("occupation") == list(S.OCCUPATIONS)
    assert form.choice_names("sex") == list(S.SEXES)


def test_cascading_location_lists_cover_the_267_kelurahan(form):
    kel = [c for c in form.choices["kelurahan"] if c.name != "other"]
    assert len(kel) == 267
    assert len(form.choices["kecamatan"]) == 44 and len(form.choices["kota"]) == 6
    kec_codes = {c.name for c in form.choices["kecamatan"]}
    assert all(c.filters["kecamatan"] in kec_codes for c in kel)
    tengah = [c for c in kel if c.labels["Indonesian (id)"] == "Tengah"]
    assert [c.name for c in tengah] == ["31.75.04.1002"]


def test_label_headers_map_back_to_xml_paths(form):
    m = form.header_map("English (en)")
    assert m["Age (years)"] == "anggota/age"
    assert m["Internet connections used at home/Mobile data (quota)"] == "rumah_tangga/connection/mobile_data"
    # label headers are unique, so a Labels export can be read back without ambiguity
    for lang in q.LANGS:
        heads = [h for f in form.fields for h in form.export_columns(f, lang)]
        assert len(heads) == len(set(heads)), lang
